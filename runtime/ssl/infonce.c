/* infonce.c - InfoNCE (MoCo's contrastive loss): shared negatives through
 * sl_gemm, and per-query negatives (explicit [N x M x D] or indices into the
 * queue) through row-wise dot products; loss and gradients in one call (see
 * ssl.h). Rows are independent and processed in parallel; the row losses are
 * summed in fixed chunks added in order, so nothing depends on the threads.
 */
#include "ssl/ssl.h"

#include <string.h>

#include "ssl/rows.h"
#include "tensor/gemm.h"

static int infonce_check(const char *op, const float *q, const float *k, const void *neg, const float *loss,
                         const float *work, int N, int K, int D, float T, const char *negshape)
{
    if (N < 1 || D < 1 || K < 0)
        return sl_error("%s: bad sizes, q [%dx%d], %s with %d negatives", op, N, D, negshape, K);
    if (!q || !k || !loss || !work || (K > 0 && !neg))
        return sl_error("%s: NULL q, k, negatives, loss or work (q [%dx%d], %d negatives)", op, N, D, K);
    if (!(T > 0.0f) || !isfinite(T)) return sl_error("%s: temperature %g must be positive", op, (double)T);
    if ((int64_t)N * (1 + (int64_t)K) > INT64_MAX / 8)
        return sl_error("%s: logits [%dx%d] too large", op, N, 1 + K);
    return SL_OK;
}

/* Row losses of the logits in work [N x L] (positive in column 0), in place:
 * work becomes G = (softmax - onehot) / N when `grad` is set. Returns the mean. */
static double rows_ce(float *work, int64_t N, int64_t L, bool grad, int64_t *pos_rank)
{
    int64_t chunk;
    const int nchunks = ssl_nchunks(N, &chunk);
    double partial[SSL_MAX_CHUNKS];
    const double invN = 1.0 / (double)N;
#pragma omp parallel for schedule(static) if (N * L > SSL_PAR_MIN)
    for (int c = 0; c < nchunks; c++) {
        double acc = 0.0;
        const int64_t i1 = (c + 1) * chunk < N ? (c + 1) * chunk : N;
        for (int64_t i = c * chunk; i < i1; i++) {
            float *z = work + i * L;
            acc += ssl_row_ce(z, L, 0, grad ? z : NULL, invN, pos_rank ? pos_rank + i : NULL);
        }
        partial[c] = acc;
    }
    double total = 0.0;
    for (int c = 0; c < nchunks; c++) total += partial[c];
    return total * invN;
}

int sl_infonce(const float *q, const float *k, const float *neg, float *loss, float *grad_q, float *grad_k,
               float *grad_neg, float *logits, int64_t *pos_rank, float *work, int N, int K, int D, float T)
{
    if (infonce_check("infonce", q, k, neg, loss, work, N, K, D, T, "queue") != SL_OK) return SL_ERR;
    const int64_t L = 1 + (int64_t)K;
    if (L > 2147483647) return sl_error("infonce: %d negatives exceed the GEMM's int sizes", K);
    const float invT = 1.0f / T;

    /* logits: column 0 = q_i . k_i / T, columns 1.. = q @ neg^T / T */
    if (K > 0) sl_gemm(false, true, N, K, D, invT, q, D, neg, D, 0.0f, work + 1, (int)L);
#pragma omp parallel for schedule(static) if ((int64_t)N * D > SSL_PAR_MIN)
    for (int i = 0; i < N; i++)
        work[(int64_t)i * L] = ssl_dot(q + (int64_t)i * D, k + (int64_t)i * D, D) * invT;
    if (logits) memcpy(logits, work, sizeof(float) * (size_t)(N * L));

    const bool grad = grad_q || grad_k || grad_neg;
    *loss = (float)rows_ce(work, N, L, grad, pos_rank);
    if (!grad) return SL_OK;

    /* work now holds G [N x (1+K)] */
    if (grad_q) {
        if (K > 0) sl_gemm(false, false, N, D, K, invT, work + 1, (int)L, neg, D, 0.0f, grad_q, D);
        else memset(grad_q, 0, sizeof(float) * (size_t)N * D);
#pragma omp parallel for schedule(static) if ((int64_t)N * D > SSL_PAR_MIN)
        for (int i = 0; i < N; i++)
            ssl_axpy(grad_q + (int64_t)i * D, work[(int64_t)i * L] * invT, k + (int64_t)i * D, D);
    }
    if (grad_k) {
#pragma omp parallel for schedule(static) if ((int64_t)N * D > SSL_PAR_MIN)
        for (int i = 0; i < N; i++) {
            const float g = work[(int64_t)i * L] * invT;
            const float *qi = q + (int64_t)i * D;
            float *gk = grad_k + (int64_t)i * D;
            for (int d = 0; d < D; d++) gk[d] = g * qi[d];
        }
    }
    if (grad_neg && K > 0) sl_gemm(true, false, K, D, N, invT, work + 1, (int)L, q, D, 0.0f, grad_neg, D);
    return SL_OK;
}

/* Per-query negatives: row pointer of negative j of query i is either
 * neg + (i M + j) D (explicit) or queue + idx[i M + j] D (indexed). */
static int perquery(const float *q, const float *k, const float *neg, const int64_t *idx, float *loss,
                    float *grad_q, float *grad_k, float *grad_neg, float *logits, int64_t *pos_rank,
                    float *work, int N, int M, int D, float T)
{
    const int64_t L = 1 + (int64_t)M;
    const float invT = 1.0f / T;
#define NEGROW(i, j) (idx ? neg + idx[(int64_t)(i) * M + (j)] * (int64_t)D : neg + ((int64_t)(i) * M + (j)) * D)
#pragma omp parallel for schedule(static) if ((int64_t)N * L * D > SSL_PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *qi = q + (int64_t)i * D;
        float *z = work + i * L;
        z[0] = ssl_dot(qi, k + (int64_t)i * D, D) * invT;
        for (int j = 0; j < M; j++) z[1 + j] = ssl_dot(qi, NEGROW(i, j), D) * invT;
    }
    if (logits) memcpy(logits, work, sizeof(float) * (size_t)(N * L));

    const bool grad = grad_q || grad_k || grad_neg;
    *loss = (float)rows_ce(work, N, L, grad, pos_rank);
    if (!grad) return SL_OK;

#pragma omp parallel for schedule(static) if ((int64_t)N * L * D > SSL_PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float *g = work + i * L, *qi = q + (int64_t)i * D, *ki = k + (int64_t)i * D;
        if (grad_q) {
            float *gq = grad_q + (int64_t)i * D;
            const float g0 = g[0] * invT;
            for (int d = 0; d < D; d++) gq[d] = g0 * ki[d];
            for (int j = 0; j < M; j++) ssl_axpy(gq, g[1 + j] * invT, NEGROW(i, j), D);
        }
        if (grad_k) {
            float *gk = grad_k + (int64_t)i * D;
            const float g0 = g[0] * invT;
            for (int d = 0; d < D; d++) gk[d] = g0 * qi[d];
        }
        if (grad_neg) {
            for (int j = 0; j < M; j++) {
                float *gn = grad_neg + ((int64_t)i * M + j) * D;
                const float gj = g[1 + j] * invT;
                for (int d = 0; d < D; d++) gn[d] = gj * qi[d];
            }
        }
    }
#undef NEGROW
    return SL_OK;
}

int sl_infonce_perquery(const float *q, const float *k, const float *neg, float *loss, float *grad_q,
                        float *grad_k, float *grad_neg, float *logits, int64_t *pos_rank, float *work, int N, int M,
                        int D, float T)
{
    if (infonce_check("infonce_perquery", q, k, neg, loss, work, N, M, D, T, "negatives [NxMxD]") != SL_OK)
        return SL_ERR;
    return perquery(q, k, neg, NULL, loss, grad_q, grad_k, grad_neg, logits, pos_rank, work,
                    N, M, D, T);
}

int sl_infonce_indexed(const float *q, const float *k, const float *queue, const int64_t *idx, float *loss,
                       float *grad_q, float *grad_k, int64_t *pos_rank, float *work, int N, int K, int M, int D,
                       float T)
{
    if (infonce_check("infonce_indexed", q, k, queue, loss, work, N, M, D, T, "indices [NxM]") != SL_OK)
        return SL_ERR;
    if (M > 0 && (!idx || K < 1))
        return sl_error("infonce_indexed: NULL indices or empty queue [%dx%d], indices [%dx%d]", K, D, N, M);
    for (int64_t t = 0; t < (int64_t)N * M; t++)
        if (idx[t] < 0 || idx[t] >= K)
            return sl_error("infonce_indexed: index %lld at [%lld,%lld] is out of range for queue [%dx%d]",
                            (long long)idx[t], (long long)(t / M), (long long)(t % M), K, D);
    return perquery(q, k, queue, idx, loss, grad_q, grad_k, NULL, NULL, pos_rank, work, N, M,
                    D, T);
}
