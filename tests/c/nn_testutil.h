/* nn_testutil.h - helpers shared by the tests/c/test_nn_*.c files (header only):
 * random fills, tolerant array comparison, and a central-difference gradient check.
 *
 * Gradient checks use a scalar probe loss L = sum_i r_i * y_i (r random, fixed) that
 * the test evaluates in double; the analytic gradient is the backward pass fed
 * with grad_y = r. Each checked parameter p_j is nudged by +-h in float, and
 * (L(p+h) - L(p-h)) / 2h is compared with the analytic value:
 *     |analytic - numeric| <= atol + rtol * |numeric|.
 * Kinks (ReLU at 0, ties in max pooling) are avoided by the tests' choice of inputs.
 */
#ifndef SL_NN_TESTUTIL_H
#define SL_NN_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>

#include "core/alloc.h"
#include "tensor/random.h"
#include "test.h"

static inline float *tu_normal(int64_t n, uint64_t seed, float std)
{
    float *p = sl_malloc_aligned(sizeof(float) * (size_t)(n > 0 ? n : 1));
    sl_rng rng;
    sl_rng_init(&rng, seed);
    sl_rng_fill_normal(&rng, p, n, 0.0f, std);
    return p;
}

static inline float *tu_zeros(int64_t n)
{
    float *p = sl_malloc_aligned(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = 0.0f;
    return p;
}

static inline float *tu_copy(const float *a, int64_t n)
{
    float *p = sl_malloc_aligned(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = a[i];
    return p;
}

static inline double tu_dot(const float *a, const float *b, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* A new copy of x [N x C x S] laid out channels last, [N x S x C] (S = H * W), and back. */
static inline float *tu_to_channels_last(const float *x, int N, int C, int64_t S)
{
    float *y = sl_malloc((size_t)N * C * S * sizeof(float));
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int64_t s = 0; s < S; s++) y[((int64_t)n * S + s) * C + c] = x[((int64_t)n * C + c) * S + s];
    return y;
}

static inline float *tu_from_channels_last(const float *y, int N, int C, int64_t S)
{
    float *x = sl_malloc((size_t)N * C * S * sizeof(float));
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int64_t s = 0; s < S; s++) x[((int64_t)n * C + c) * S + s] = y[((int64_t)n * S + s) * C + c];
    return x;
}

/* Compare arrays; on failure print the worst element. Returns 1 if close. */
static inline int tu_close(const char *what, const float *got, const float *want, int64_t n, double atol, double rtol)
{
    int64_t worst = -1;
    double worst_excess = 0.0, max_diff = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        double excess = d - (atol + rtol * fabs((double)want[i]));
        if (d > max_diff || d != d) max_diff = d;
        if (excess > worst_excess || d != d) {
            worst_excess = d != d ? 1e300 : excess;
            worst = i;
        }
    }
    if (worst >= 0) {
        fprintf(stderr, "  %s: mismatch at [%lld]: got %.9g want %.9g (max diff %.3g, atol %g, rtol %g)\n", what,
                (long long)worst, got[worst], want[worst], max_diff, atol, rtol);
        return 0;
    }
    return 1;
}
#define CHECK_CLOSE(what, got, want, n, atol, rtol) CHECK(tu_close(what, got, want, n, atol, rtol))

typedef double (*tu_loss_fn)(void *ctx);

/* Check d loss / d p[j] against grad[j] for up to max_checks indices spread over p. */
static inline int tu_gradcheck(const char *what, tu_loss_fn loss, void *ctx, float *p, const float *grad, int64_t n,
                        float h, double atol, double rtol, int64_t max_checks)
{
    int64_t step = n <= max_checks ? 1 : (n + max_checks - 1) / max_checks;
    int ok = 1;
    for (int64_t j = (n <= max_checks ? 0 : step / 2); j < n; j += step) {
        const float saved = p[j];
        p[j] = saved + h;
        const double lp = loss(ctx);
        p[j] = saved - h;
        const double lm = loss(ctx);
        p[j] = saved;
        const double num = (lp - lm) / ((double)(saved + h) - (double)(saved - h));
        if (!(fabs(grad[j] - num) <= atol + rtol * fabs(num))) {
            if (ok)
                fprintf(stderr, "  %s: gradient at [%lld]: analytic %.9g numeric %.9g (atol %g, rtol %g)\n", what,
                        (long long)j, grad[j], num, atol, rtol);
            ok = 0;
        }
    }
    return ok;
}
#define CHECK_GRAD(what, fn, ctx, p, grad, n, h, atol, rtol, maxc) \
    CHECK(tu_gradcheck(what, fn, ctx, p, grad, n, h, atol, rtol, maxc))

#endif
