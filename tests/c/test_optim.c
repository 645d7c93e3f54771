/* test_optim.c - optimiser update kernels (runtime/optim/): SGD, Adam/AdamW, LARS and
 * the parameter EMA against double-precision references written from the formulas in
 * optim.h, several steps, sizes above the threading threshold, thread-count
 * independence, and option errors. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "nn_testutil.h"
#include "optim/optim.h"
#include "tensor/gemm.h"

#define N_BIG 100003 /* above the parallel threshold, odd */

static double max_abs_diff(const float *a, const double *b, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static double *to_double(const float *a, int64_t n)
{
    double *d = sl_malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

static void sgd_case(int64_t n, float momentum, float dampening, float wd, bool nesterov)
{
    float *p = tu_normal(n, 1, 1.0f), *g = tu_normal(n, 2, 1.0f), *buf = tu_zeros(n);
    double *rp = to_double(p, n), *rb = sl_malloc(sizeof(double) * (size_t)n);
    const float lr = 0.05f;
    for (int step = 0; step < 3; step++) {
        CHECK(sl_sgd_step(p, g, momentum != 0.0f ? buf : NULL, n, lr, momentum, dampening, wd, nesterov, step == 0)
              == SL_OK);
        for (int64_t i = 0; i < n; i++) {
            double gg = g[i] + (double)wd * rp[i];
            if (momentum != 0.0f) {
                rb[i] = step == 0 ? gg : momentum * rb[i] + (1.0 - dampening) * gg;
                gg = nesterov ? gg + momentum * rb[i] : rb[i];
            }
            rp[i] -= lr * gg;
        }
    }
    CHECK(max_abs_diff(p, rp, n) < 1e-5);
    if (momentum != 0.0f) CHECK(max_abs_diff(buf, rb, n) < 1e-5);
    sl_free(p), sl_free(g), sl_free(buf), sl_free(rp), sl_free(rb);
}

static void test_sgd(void)
{
    sgd_case(17, 0.0f, 0.0f, 0.0f, false);
    sgd_case(17, 0.0f, 0.0f, 0.1f, false);
    sgd_case(17, 0.9f, 0.0f, 1e-2f, false);
    sgd_case(17, 0.9f, 0.5f, 0.0f, false);
    sgd_case(N_BIG, 0.9f, 0.0f, 5e-4f, true);
    float p = 1, g = 1;
    CHECK_FAILS(sl_sgd_step(&p, &g, NULL, 1, 0.1f, 0.9f, 0.0f, 0.0f, false, true), "needs a buffer");
    CHECK_FAILS(sl_sgd_step(&p, &g, &p, 1, 0.1f, 0.0f, 0.0f, 0.0f, true, true), "nesterov needs momentum > 0");
    CHECK_FAILS(sl_sgd_step(&p, &g, NULL, 1, -0.1f, 0.0f, 0.0f, 0.0f, false, true), "must be >= 0");
}

static void adam_case(int64_t n, float wd, bool decoupled)
{
    float *p = tu_normal(n, 3, 1.0f), *g = tu_normal(n, 4, 1.0f), *m = tu_zeros(n), *v = tu_zeros(n);
    double *rp = to_double(p, n), *rm = sl_calloc((size_t)n, sizeof(double)), *rv = sl_calloc((size_t)n, sizeof(double));
    const double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int t = 1; t <= 3; t++) {
        CHECK(sl_adam_step(p, g, m, v, n, (float)lr, (float)b1, (float)b2, (float)eps, wd, decoupled, t) == SL_OK);
        for (int64_t i = 0; i < n; i++) {
            double gg = g[i];
            if (decoupled) rp[i] *= 1.0 - lr * wd;
            else gg += wd * rp[i];
            rm[i] = b1 * rm[i] + (1 - b1) * gg;
            rv[i] = b2 * rv[i] + (1 - b2) * gg * gg;
            double mh = rm[i] / (1 - pow(b1, t)), vh = rv[i] / (1 - pow(b2, t));
            rp[i] -= lr * mh / (sqrt(vh) + eps);
        }
    }
    CHECK(max_abs_diff(p, rp, n) < 2e-5);
    sl_free(p), sl_free(g), sl_free(m), sl_free(v), sl_free(rp), sl_free(rm), sl_free(rv);
}

static void test_adam(void)
{
    adam_case(13, 0.0f, false);
    adam_case(13, 0.1f, false);
    adam_case(N_BIG, 0.1f, true);
    float p = 1, g = 1, m = 0, v = 0;
    CHECK_FAILS(sl_adam_step(&p, &g, &m, &v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, false, 0), "step 0 must be >= 1");
    CHECK_FAILS(sl_adam_step(&p, &g, &m, &v, 1, 0.1f, 1.0f, 0.999f, 1e-8f, 0.0f, false, 1), "betas");
}

static void test_lars(void)
{
    const int64_t n = N_BIG;
    float *p = tu_normal(n, 5, 1.0f), *g = tu_normal(n, 6, 0.1f), *buf = tu_zeros(n);
    double *rp = to_double(p, n), *rb = sl_calloc((size_t)n, sizeof(double));
    const double lr = 0.5, mom = 0.9, wd = 1e-4, eta = 1e-3;
    for (int step = 0; step < 2; step++) {
        float trust = 0;
        CHECK(sl_lars_step(p, g, buf, n, (float)lr, (float)mom, (float)wd, (float)eta, true, false, &trust) == SL_OK);
        double pp = 0, gg = 0;
        for (int64_t i = 0; i < n; i++) {
            double gi = g[i] + wd * rp[i];
            pp += rp[i] * rp[i];
            gg += gi * gi;
        }
        double tr = eta * sqrt(pp) / sqrt(gg);
        CHECK_NEAR(trust, tr, 1e-6 * tr);
        for (int64_t i = 0; i < n; i++) {
            double gi = g[i] + wd * rp[i];
            rb[i] = mom * rb[i] + lr * tr * gi;
            rp[i] -= rb[i];
        }
    }
    CHECK(max_abs_diff(p, rp, n) < 1e-6);
    /* not adapted: trust 1; zero gradient: trust 1 */
    float q[2] = {3, 4}, dq[2] = {0.3f, 0.4f}, b2[2] = {0, 0}, trust = 0;
    CHECK(sl_lars_step(q, dq, b2, 2, 1.0f, 0.9f, 0.0f, 1e-3f, false, false, &trust) == SL_OK);
    CHECK(trust == 1.0f);
    CHECK_NEAR(q[0], 2.7, 1e-6);
    float z[2] = {0, 0};
    CHECK(sl_lars_step(q, z, b2, 2, 1.0f, 0.9f, 0.0f, 1e-3f, true, false, &trust) == SL_OK);
    CHECK(trust == 1.0f);
    CHECK_FAILS(sl_lars_step(q, dq, b2, 2, 1.0f, 0.9f, 0.0f, 0.0f, true, false, NULL), "eta");
    sl_free(p), sl_free(g), sl_free(buf), sl_free(rp), sl_free(rb);
}

static void test_ema(void)
{
    float *t = tu_normal(N_BIG, 7, 1.0f), *s = tu_normal(N_BIG, 8, 1.0f);
    double *rt = to_double(t, N_BIG);
    CHECK(sl_param_ema(t, s, N_BIG, 0.99f) == SL_OK);
    for (int64_t i = 0; i < N_BIG; i++) rt[i] = 0.99 * rt[i] + 0.01 * s[i];
    CHECK(max_abs_diff(t, rt, N_BIG) < 1e-6);
    CHECK_FAILS(sl_param_ema(t, s, N_BIG, 1.5f), "momentum 1.5 must lie in [0, 1]");
    sl_free(t), sl_free(s), sl_free(rt);
}

/* Same bits with 1 and 2 threads. */
static void test_threads(void)
{
    const int64_t n = N_BIG;
    float *g = tu_normal(n, 9, 1.0f);
    float *p1 = tu_normal(n, 10, 1.0f), *p2 = tu_copy(p1, n), *b1 = tu_zeros(n), *b2 = tu_zeros(n);
    int saved = sl_get_num_threads();
    sl_set_num_threads(1);
    CHECK(sl_lars_step(p1, g, b1, n, 0.1f, 0.9f, 1e-4f, 1e-3f, true, true, NULL) == SL_OK);
    CHECK(sl_sgd_step(p1, g, b1, n, 0.1f, 0.9f, 0.0f, 1e-4f, true, false) == SL_OK);
    sl_set_num_threads(2);
    CHECK(sl_lars_step(p2, g, b2, n, 0.1f, 0.9f, 1e-4f, 1e-3f, true, true, NULL) == SL_OK);
    CHECK(sl_sgd_step(p2, g, b2, n, 0.1f, 0.9f, 0.0f, 1e-4f, true, false) == SL_OK);
    sl_set_num_threads(saved);
    CHECK(memcmp(p1, p2, sizeof(float) * (size_t)n) == 0);
    CHECK(memcmp(b1, b2, sizeof(float) * (size_t)n) == 0);
    sl_free(g), sl_free(p1), sl_free(p2), sl_free(b1), sl_free(b2);
}

int main(void)
{
    RUN(test_sgd);
    RUN(test_adam);
    RUN(test_lars);
    RUN(test_ema);
    RUN(test_threads);
    return test_summary();
}
