/* rows.h - helpers shared by the runtime/ssl/ losses (internal, not API):
 * a float dot product, softmax cross-entropy of one logit row (loss, rank of
 * the target, gradient written in place), and the fixed-chunk layout that makes
 * summed losses independent of the thread count (as nn/cross_entropy.c).
 */
#ifndef SL_SSL_ROWS_H
#define SL_SSL_ROWS_H

#include <math.h>
#include <stdint.h>

#define SSL_MAX_CHUNKS 1024
/* Work (multiply-adds) above which the row loops go parallel. */
#define SSL_PAR_MIN 32768

/* Eight independent partial sums: vectorises without -ffast-math and is
 * accurate enough for D up to a few thousand. */
static inline float ssl_dot(const float *a, const float *b, int D)
{
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int d = 0;
    for (; d + 8 <= D; d += 8)
        for (int l = 0; l < 8; l++) acc[l] += a[d + l] * b[d + l];
    float tail = 0.0f;
    for (; d < D; d++) tail += a[d] * b[d];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

/* y += a * x over D floats. */
static inline void ssl_axpy(float *y, float a, const float *x, int D)
{
    for (int d = 0; d < D; d++) y[d] += a * x[d];
}

/* Cross-entropy of logits z[0..n) with target t (entries equal to -INFINITY are
 * masked out and get gradient 0). Returns lse - z[t]; *rank = number of entries
 * strictly above z[t]. If grad is not NULL it receives (softmax - onehot) * scale
 * (grad may alias z). One float exp per entry (the dominant cost at K = 65536),
 * summed in double. */
static inline double ssl_row_ce(const float *z, int64_t n, int64_t t, float *grad, double scale, int64_t *rank)
{
    const float zt = z[t];
    float mx = -INFINITY;
    int64_t above = 0;
    for (int64_t j = 0; j < n; j++) {
        mx = z[j] > mx ? z[j] : mx;
        above += z[j] > zt;
    }
    double se = 0.0;
    if (grad) {
        for (int64_t j = 0; j < n; j++) {
            const float e = expf(z[j] - mx);
            grad[j] = e;
            se += e;
        }
        const float c = (float)(scale / se);
        for (int64_t j = 0; j < n; j++) grad[j] *= c;
        grad[t] -= (float)scale;
    } else {
        for (int64_t j = 0; j < n; j++) se += expf(z[j] - mx);
    }
    if (rank) *rank = above;
    return (double)mx + log(se) - zt;
}

/* Split n rows into at most SSL_MAX_CHUNKS fixed chunks (depends on n only). */
static inline int ssl_nchunks(int64_t n, int64_t *chunk)
{
    const int64_t nc = n < SSL_MAX_CHUNKS ? n : SSL_MAX_CHUNKS;
    *chunk = nc > 0 ? (n + nc - 1) / nc : 1;
    return nc > 0 ? (int)((n + *chunk - 1) / *chunk) : 0;
}

#endif
