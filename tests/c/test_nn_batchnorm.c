/* test_nn_batchnorm.c - batchnorm: hand-computed statistics and running-stat
 * updates (plain, grouped, interleaved groups), groups == separate BNs, formula
 * reference, finite-difference gradients in training and evaluation, accuracy of
 * the one-pass statistics, thread-count independence, errors; channels last
 * against channels first and a double reference in every configuration. */
#include "nn/nn.h"
#include "nn_golden.h"
#include "nn_testutil.h"
#include "tensor/gemm.h"

#include <stdlib.h>

static void test_running_stats_hand_computed(void)
{
    /* x = 1,2,3,4 (BatchNorm1d, N=4, C=1): mean 2.5, biased var 1.25, unbiased 5/3 */
    float x[4] = {1, 2, 3, 4}, y[4], rm[1] = {0}, rv[1] = {1}, sm[1], si[1];
    sl_batchnorm_params p = sl_batchnorm_defaults(4, 1, 1);
    CHECK(sl_batchnorm_forward(&p, x, y, NULL, NULL, rm, rv, sm, si) == SL_OK);
    CHECK_NEAR(rm[0], 0.25, 1e-7);
    CHECK_NEAR(rv[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6);
    CHECK_NEAR(sm[0], 2.5, 1e-7);
    CHECK_NEAR(si[0], 1.0 / sqrt(1.25 + 1e-5), 1e-6);
    for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], (x[i] - 2.5) / sqrt(1.25 + 1e-5), 1e-6);
    /* a second step moves the running stats again */
    CHECK(sl_batchnorm_forward(&p, x, y, NULL, NULL, rm, rv, sm, si) == SL_OK);
    CHECK_NEAR(rm[0], 0.9 * 0.25 + 0.25, 1e-6);
    CHECK_NEAR(rv[0], 0.9 * (0.9 + 0.1 * 5.0 / 3.0) + 0.1 * 5.0 / 3.0, 1e-6);

    /* affine, momentum 0.5 */
    float g[1] = {2}, b[1] = {-1};
    rm[0] = 1; rv[0] = 2;
    p.momentum = 0.5f;
    CHECK(sl_batchnorm_forward(&p, x, y, g, b, rm, rv, sm, si) == SL_OK);
    CHECK_NEAR(rm[0], 0.5 * 1 + 0.5 * 2.5, 1e-6);
    CHECK_NEAR(rv[0], 0.5 * 2 + 0.5 * 5.0 / 3.0, 1e-6);
    CHECK_NEAR(y[0], 2 * (1 - 2.5) / sqrt(1.25 + 1e-5) - 1, 1e-5);

    /* evaluation: running stats, no update */
    p.training = false;
    float rm2[1] = {1}, rv2[1] = {3};
    CHECK(sl_batchnorm_forward(&p, x, y, g, b, rm2, rv2, sm, si) == SL_OK);
    CHECK(rm2[0] == 1 && rv2[0] == 3);
    CHECK_NEAR(y[3], 2 * (4 - 1) / sqrt(3 + 1e-5) - 1, 1e-5);
    CHECK_NEAR(sm[0], 1, 0);
    CHECK_NEAR(si[0], 1.0 / sqrt(3 + 1e-5), 1e-6);
}

static void test_groups_hand_computed(void)
{
    /* x = 1,2,10,14 with 2 groups.
     * contiguous {1,2},{10,14}: means 1.5, 12; unbiased vars 0.5, 8
     * interleaved {1,10},{2,14}: means 5.5, 8; unbiased vars 40.5, 72 */
    float x[4] = {1, 2, 10, 14}, y[4], rm[1] = {0}, rv[1] = {1}, sm[2], si[2];
    sl_batchnorm_params p = sl_batchnorm_defaults(4, 1, 1);
    p.groups = 2;
    CHECK(sl_batchnorm_forward(&p, x, y, NULL, NULL, rm, rv, sm, si) == SL_OK);
    CHECK_NEAR(sm[0], 1.5, 1e-7);
    CHECK_NEAR(sm[1], 12, 1e-6);
    CHECK_NEAR(rm[0], 0.1 * (1.5 + 12) / 2, 1e-6);
    CHECK_NEAR(rv[0], 0.9 + 0.1 * (0.5 + 8) / 2, 1e-6);
    CHECK_NEAR(y[0], -0.5 / sqrt(0.25 + 1e-5), 1e-5);
    CHECK_NEAR(y[3], 2 / sqrt(4 + 1e-5), 1e-5);

    rm[0] = 0; rv[0] = 1;
    p.interleaved = true;
    CHECK(sl_batchnorm_forward(&p, x, y, NULL, NULL, rm, rv, sm, si) == SL_OK);
    CHECK_NEAR(sm[0], 5.5, 1e-6);
    CHECK_NEAR(sm[1], 8, 1e-6);
    CHECK_NEAR(rm[0], 0.1 * (5.5 + 8) / 2, 1e-6);
    CHECK_NEAR(rv[0], 0.9 + 0.1 * (40.5 + 72) / 2, 1e-5);
    CHECK_NEAR(y[0], -4.5 / sqrt(20.25 + 1e-5), 1e-5);
    CHECK_NEAR(y[1], -6 / sqrt(36 + 1e-5), 1e-5);
}

/* Plain formula in double, for one group of samples [n0, n0 + per). */
static void reference_bn(const float *x, float *y, const float *gamma, const float *beta, int N, int C, int S,
                         float eps)
{
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < S; i++) s += x[((int64_t)n * C + c) * S + i];
        double mean = s / ((double)N * S);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < S; i++) {
                double d = x[((int64_t)n * C + c) * S + i] - mean;
                ss += d * d;
            }
        double inv = 1 / sqrt(ss / ((double)N * S) + eps);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < S; i++) {
                int64_t k = ((int64_t)n * C + c) * S + i;
                y[k] = (float)((x[k] - mean) * inv * gamma[c] + beta[c]);
            }
    }
}

/* groups = G gives the same outputs and gradients as G separate BNs on the blocks,
 * and the running stats are the mean of the G separate updates. */
static void test_groups_equal_separate(void)
{
    const int N = 6, C = 3, S = 5, G = 3, per = N / G;
    const int64_t n = (int64_t)N * C * S, blk = (int64_t)per * C * S;
    float *x = tu_normal(n, 1, 2), *dy = tu_normal(n, 2, 1), *gm = tu_normal(C, 3, 1), *bt = tu_normal(C, 4, 1);
    float *y = tu_zeros(n), *y_sep = tu_zeros(n), *y_ref = tu_zeros(n), *dx = tu_zeros(n), *dx_sep = tu_zeros(n);
    float rm[3] = {0.1f, 0.2f, 0.3f}, rv[3] = {1, 2, 3}, sm[9], si[9];
    float dg[3] = {0}, db[3] = {0}, dg_sep[3] = {0}, db_sep[3] = {0};
    float rm_sum[3] = {0}, rv_sum[3] = {0};
    sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
    p.groups = G;
    CHECK(sl_batchnorm_forward(&p, x, y, gm, bt, rm, rv, sm, si) == SL_OK);
    CHECK(sl_batchnorm_backward(&p, x, NULL, dy, dx, gm, dg, db, sm, si) == SL_OK);
    sl_batchnorm_params q = sl_batchnorm_defaults(per, C, S);
    for (int g = 0; g < G; g++) {
        float rmg[3] = {0.1f, 0.2f, 0.3f}, rvg[3] = {1, 2, 3}, smg[3], sig[3];
        CHECK(sl_batchnorm_forward(&q, x + g * blk, y_sep + g * blk, gm, bt, rmg, rvg, smg, sig) == SL_OK);
        CHECK(sl_batchnorm_backward(&q, x + g * blk, NULL, dy + g * blk, dx_sep + g * blk, gm, dg_sep, db_sep, smg, sig) ==
              SL_OK);
        reference_bn(x + g * blk, y_ref + g * blk, gm, bt, per, C, S, q.eps);
        for (int c = 0; c < C; c++) {
            rm_sum[c] += rmg[c];
            rv_sum[c] += rvg[c];
        }
    }
    CHECK_CLOSE("grouped y vs separate", y, y_sep, n, 1e-6, 1e-6);
    CHECK_CLOSE("grouped y vs formula", y, y_ref, n, 1e-5, 1e-5);
    CHECK_CLOSE("grouped dx vs separate", dx, dx_sep, n, 1e-6, 1e-6);
    CHECK_CLOSE("grouped dgamma", dg, dg_sep, C, 1e-5, 1e-5);
    CHECK_CLOSE("grouped dbeta", db, db_sep, C, 1e-5, 1e-5);
    for (int c = 0; c < C; c++) {
        CHECK_NEAR(rm[c], rm_sum[c] / G, 1e-6);
        CHECK_NEAR(rv[c], rv_sum[c] / G, 1e-5);
    }
    sl_free(x); sl_free(dy); sl_free(gm); sl_free(bt); sl_free(y); sl_free(y_sep); sl_free(y_ref);
    sl_free(dx); sl_free(dx_sep);
}

/* ---- finite differences ------------------------------------------------ */

typedef struct {
    sl_batchnorm_params p;
    float *x, *y, *gamma, *beta, *rm, *rv, *sm, *si, *r;
} fd_ctx;

static double bn_loss(void *v)
{
    fd_ctx *c = v;
    /* running stats are not updated here (NULL in training) so every call sees the same state */
    sl_batchnorm_forward(&c->p, c->x, c->y, c->gamma, c->beta, c->p.training ? NULL : c->rm,
                         c->p.training ? NULL : c->rv, c->sm, c->si);
    return tu_dot(c->y, c->r, (int64_t)c->p.N * c->p.C * c->p.spatial);
}

static void gradcheck_case(int N, int C, int S, int G, bool interleaved, bool training, bool affine, bool channels_last)
{
    fd_ctx c;
    c.p = sl_batchnorm_defaults(N, C, S);
    c.p.groups = G;
    c.p.interleaved = interleaved;
    c.p.training = training;
    c.p.channels_last = channels_last;
    const int64_t n = (int64_t)N * C * S;
    c.x = tu_normal(n, 31, 1.5f);
    c.r = tu_normal(n, 32, 1.0f);
    c.y = tu_zeros(n);
    c.gamma = affine ? tu_normal(C, 33, 1.0f) : NULL;
    c.beta = affine ? tu_normal(C, 34, 1.0f) : NULL;
    c.rm = tu_normal(C, 35, 0.5f);
    c.rv = tu_normal(C, 36, 0.5f);
    for (int i = 0; i < C; i++) c.rv[i] = 0.5f + c.rv[i] * c.rv[i];
    c.sm = tu_zeros((int64_t)G * C);
    c.si = tu_zeros((int64_t)G * C);
    float *dx = tu_zeros(n), *dg = tu_zeros(C), *db = tu_zeros(C);
    bn_loss(&c);
    CHECK(sl_batchnorm_backward(&c.p, c.x, NULL, c.r, dx, c.gamma, affine ? dg : NULL, affine ? db : NULL, c.sm, c.si) ==
          SL_OK);
    char what[96];
    snprintf(what, sizeof what, "bn d/dx [%dx%dx%d] G%d%s %s%s", N, C, S, G, interleaved ? "i" : "",
             training ? "train" : "eval", channels_last ? " channels last" : "");
    CHECK_GRAD(what, bn_loss, &c, c.x, dx, n, 1e-2f, 3e-3, 3e-3, 150);
    if (affine) {
        CHECK_GRAD("bn d/dgamma", bn_loss, &c, c.gamma, dg, C, 1e-2f, 3e-3, 3e-3, 50);
        CHECK_GRAD("bn d/dbeta", bn_loss, &c, c.beta, db, C, 1e-2f, 3e-3, 3e-3, 50);
    }
    sl_free(c.x); sl_free(c.r); sl_free(c.y); sl_free(c.rm); sl_free(c.rv); sl_free(c.sm); sl_free(c.si);
    if (affine) { sl_free(c.gamma); sl_free(c.beta); }
    sl_free(dx); sl_free(dg); sl_free(db);
}

static void test_gradcheck(void)
{
    gradcheck_case(4, 3, 5, 1, false, true, true, false);   /* BatchNorm2d */
    gradcheck_case(8, 4, 1, 1, false, true, true, false);   /* BatchNorm1d */
    gradcheck_case(6, 2, 4, 3, false, true, true, false);   /* grouped */
    gradcheck_case(6, 2, 4, 2, true, true, true, false);    /* grouped, interleaved */
    gradcheck_case(4, 3, 5, 1, false, true, false, false);  /* no affine */
    gradcheck_case(4, 3, 5, 1, false, false, true, false);  /* evaluation */
    gradcheck_case(1, 3, 6, 1, false, true, true, false);   /* batch 1, spatial 6 */
    gradcheck_case(4, 3, 5, 1, false, true, true, true);    /* channels last */
    gradcheck_case(6, 20, 4, 2, true, true, true, true);    /* channels last, interleaved, a partial vector */
    gradcheck_case(6, 70, 3, 3, false, true, false, true);  /* channels last, two blocks, grouped, no affine */
    gradcheck_case(4, 3, 5, 1, false, false, true, true);   /* channels last, evaluation */
    gradcheck_case(1, 3, 6, 1, false, true, true, true);    /* channels last, batch 1 */
}

static void test_in_place_and_accumulate(void)
{
    const int N = 5, C = 4, S = 3;
    const int64_t n = (int64_t)N * C * S;
    float *x = tu_normal(n, 41, 1), *dy = tu_normal(n, 42, 1), *g = tu_normal(C, 43, 1);
    float *y = tu_zeros(n), *z = tu_copy(x, n), *dx = tu_zeros(n), *dz = tu_copy(dy, n);
    float sm[4], si[4], dg[4] = {1, 1, 1, 1}, db[4] = {2, 2, 2, 2}, dg0[4] = {0}, db0[4] = {0};
    sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
    CHECK(sl_batchnorm_forward(&p, x, y, g, NULL, NULL, NULL, sm, si) == SL_OK);
    CHECK(sl_batchnorm_forward(&p, z, z, g, NULL, NULL, NULL, sm, si) == SL_OK); /* y aliases x */
    CHECK(memcmp(y, z, sizeof(float) * n) == 0);
    CHECK(sl_batchnorm_backward(&p, x, NULL, dy, dx, g, dg0, db0, sm, si) == SL_OK);
    CHECK(sl_batchnorm_backward(&p, x, NULL, dz, dz, g, dg, db, sm, si) == SL_OK);     /* grad_x aliases grad_y */
    CHECK(memcmp(dx, dz, sizeof(float) * n) == 0);
    for (int c = 0; c < C; c++) {
        CHECK_NEAR(dg[c], dg0[c] + 1, 1e-6);
        CHECK_NEAR(db[c], db0[c] + 2, 1e-6);
    }
    /* training-mode dx sums to zero per channel, as the mean is subtracted */
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < S; k++) s += dx[((int64_t)i * C + c) * S + k];
        CHECK_NEAR(s, 0, 1e-5);
    }
    sl_free(x); sl_free(dy); sl_free(g); sl_free(y); sl_free(z); sl_free(dx); sl_free(dz);
}

/* Shapes that leave remainders: lanes (spatial 37), channel blocks (C = 70, 1d). */
static void test_odd_shapes_vs_formula(void)
{
    const int shapes[][3] = {{6, 70, 1}, {3, 3, 37}, {2, 5, 16}, {5, 130, 1}};
    for (int k = 0; k < 4; k++) {
        const int N = shapes[k][0], C = shapes[k][1], S = shapes[k][2];
        const int64_t n = (int64_t)N * C * S;
        float *x = tu_normal(n, 80 + k, 3), *y = tu_zeros(n), *y_ref = tu_zeros(n);
        for (int64_t i = 0; i < n; i++) x[i] += 5.0f; /* an offset, so the mean matters */
        float *g = tu_normal(C, 90 + k, 1), *b = tu_normal(C, 95 + k, 1), *sm = tu_zeros(C), *si = tu_zeros(C);
        sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
        CHECK(sl_batchnorm_forward(&p, x, y, g, b, NULL, NULL, sm, si) == SL_OK);
        reference_bn(x, y_ref, g, b, N, C, S, p.eps);
        CHECK_CLOSE("odd shape y vs formula", y, y_ref, n, 1e-5, 1e-5);
        sl_free(x); sl_free(y); sl_free(y_ref); sl_free(g); sl_free(b); sl_free(sm); sl_free(si);
    }
    gradcheck_case(6, 70, 1, 2, false, true, true, false);
    gradcheck_case(3, 3, 37, 1, false, true, true, false);
}

/* Statistics are one pass over x - k: a mean 1e4 times the std (where sum x^2 / m - mean^2
 * would lose every digit in float) and more values than one float run (1024 per plane,
 * 64 rows channels last). The saved mean and 1 / std are compared with double two-pass
 * statistics. (y itself is x * scale + shift, as in PyTorch, which at this ratio rounds
 * to ~1e-3.) */
static void large_mean_case(int N, int C, int S, bool channels_last)
{
    const int64_t n = (int64_t)N * C * S;
    float *x = tu_normal(n, 61, 0.01f), *y = tu_zeros(n);
    for (int64_t i = 0; i < n; i++) x[i] += 100.0f;
    float *xin = channels_last ? tu_to_channels_last(x, N, C, S) : x;
    float *sm = tu_zeros(C), *si = tu_zeros(C);
    sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
    p.eps = 0.0f;
    p.channels_last = channels_last;
    CHECK(sl_batchnorm_forward(&p, xin, y, NULL, NULL, NULL, NULL, sm, si) == SL_OK);
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int k = 0; k < N; k++)
            for (int i = 0; i < S; i++) s += x[((int64_t)k * C + c) * S + i];
        const double mean = s / ((double)N * S);
        for (int k = 0; k < N; k++)
            for (int i = 0; i < S; i++) {
                const double d = x[((int64_t)k * C + c) * S + i] - mean;
                ss += d * d;
            }
        const double invstd = 1.0 / sqrt(ss / ((double)N * S));
        CHECK(fabs(sm[c] - mean) <= 1e-6 * fabs(mean));
        CHECK(fabs(si[c] - invstd) <= 1e-4 * invstd);
    }
    if (channels_last) sl_free(xin);
    sl_free(x); sl_free(y); sl_free(sm); sl_free(si);
}

static void test_large_mean_long_planes(void)
{
    large_mean_case(3, 2, 2500, false);
    large_mean_case(8, 20, 4096, true); /* 8 chunks of 4096 rows, a partial vector */
    large_mean_case(4096, 20, 1, true); /* BatchNorm1d: 8 chunks of 512 rows */
}

/* Float sums stay short (folded into doubles every 64 terms): over 2^18 values a
 * channel's statistics match double ones to 2e-7, in both layouts, where one float
 * sum per chunk would be off by ~1e-5. */
static void test_long_sums_accuracy(void)
{
    const int n1 = 1 << 18, C = 16;
    const int64_t n = (int64_t)n1 * C;
    float *x = tu_normal(n, 71, 1.0f), *y = tu_zeros(n), *sm = tu_zeros(C), *si = tu_zeros(C);
    for (int64_t i = 0; i < n; i++) x[i] += 3.0f;
    for (int cl = 0; cl < 2; cl++) { /* [1 x C x 2^18] channels first, [2^18 x C] (BatchNorm1d) */
        sl_batchnorm_params p = cl ? sl_batchnorm_defaults(n1, C, 1) : sl_batchnorm_defaults(1, C, n1);
        p.eps = 0.0f;
        CHECK(sl_batchnorm_forward(&p, x, y, NULL, NULL, NULL, NULL, sm, si) == SL_OK);
        for (int c = 0; c < C; c++) {
            double s = 0, ss = 0;
            for (int i = 0; i < n1; i++) s += x[cl ? (int64_t)i * C + c : (int64_t)c * n1 + i];
            const double mean = s / n1;
            for (int i = 0; i < n1; i++) {
                const double d = x[cl ? (int64_t)i * C + c : (int64_t)c * n1 + i] - mean;
                ss += d * d;
            }
            const double invstd = 1.0 / sqrt(ss / n1);
            CHECK(fabs(sm[c] - mean) <= 2e-7 * fabs(mean));
            CHECK(fabs(si[c] - invstd) <= 2e-7 * invstd);
        }
    }
    sl_free(x); sl_free(y); sl_free(sm); sl_free(si);
}

/* Bit-identical results with 1, 2 and 3 threads, on shapes big enough to run in
 * parallel: channels first, BatchNorm1d, channels last with one block cut into
 * chunks, with interleaved groups and a partial vector, and with 2 rounds of
 * columns. Grouped, fused ReLU. */
static void test_thread_independent(void)
{
    const int shapes[][5] = {/* N, C, S, channels_last, interleaved */
                             {8, 64, 1024, 0, 0}, {256, 2048, 1, 0, 0}, {8, 64, 1024, 1, 0},
                             {64, 130, 49, 1, 1}, {16, 2048, 16, 1, 0}};
    const int saved = sl_get_num_threads();
    for (int k = 0; k < 5; k++) {
        const int N = shapes[k][0], C = shapes[k][1], S = shapes[k][2];
        const int64_t n = (int64_t)N * C * S;
        float *x = tu_normal(n, 100 + k, 1), *dy = tu_normal(n, 110 + k, 1), *g = tu_normal(C, 120, 1);
        float *y[3], *dx[3], *dg[3], *db[3], *run[3], *sm[3], *si[3];
        for (int t = 0; t < 3; t++) {
            sl_set_num_threads(t + 1);
            y[t] = tu_zeros(n); dx[t] = tu_zeros(n); dg[t] = tu_zeros(C); db[t] = tu_zeros(C);
            run[t] = tu_zeros(2 * C); sm[t] = tu_zeros(2 * C); si[t] = tu_zeros(2 * C);
            sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
            p.groups = 2;
            p.channels_last = shapes[k][3];
            p.interleaved = shapes[k][4];
            p.relu = true;
            CHECK(sl_batchnorm_forward(&p, x, y[t], g, NULL, run[t], run[t] + C, sm[t], si[t]) == SL_OK);
            CHECK(sl_batchnorm_backward(&p, x, y[t], dy, dx[t], g, dg[t], db[t], sm[t], si[t]) == SL_OK);
        }
        for (int t = 1; t < 3; t++) {
            CHECK(memcmp(y[0], y[t], sizeof(float) * n) == 0);
            CHECK(memcmp(dx[0], dx[t], sizeof(float) * n) == 0);
            CHECK(memcmp(dg[0], dg[t], sizeof(float) * C) == 0);
            CHECK(memcmp(db[0], db[t], sizeof(float) * C) == 0);
            CHECK(memcmp(run[0], run[t], sizeof(float) * 2 * C) == 0);
            CHECK(memcmp(sm[0], sm[t], sizeof(float) * 2 * C) == 0);
            CHECK(memcmp(si[0], si[t], sizeof(float) * 2 * C) == 0);
        }
        for (int t = 0; t < 3; t++) {
            sl_free(y[t]); sl_free(dx[t]); sl_free(dg[t]); sl_free(db[t]); sl_free(run[t]); sl_free(sm[t]);
            sl_free(si[t]);
        }
        sl_free(x); sl_free(dy); sl_free(g);
    }
    sl_set_num_threads(saved);
}

/* ---- channels last ---------------------------------------------------- */

typedef struct {
    int groups;
    bool interleaved, training, relu, affine, running;
} cl_opts;

/* BatchNorm in double on channels-first data, two-pass statistics: the reference
 * for every layout. Its backward starts, as the kernels', from the saved float
 * statistics (with 2 values per group dx hangs on how the mean rounds), and with
 * p->relu masks the gradient by mask_y > 0 (the float output under test, so that a
 * value rounding to either side of 0 cannot split the two). rm / rv are updated
 * in training when given. */
static void reference_full(const sl_batchnorm_params *p, const float *x, const float *dy, const float *mask_y,
                           const float *gamma, const float *beta, float *rm, float *rv, float *y, float *dx, float *dg,
                           float *db, float *sm, float *si)
{
    const int N = p->N, C = p->C, S = p->spatial, G = p->groups, per = N / G;
    const double m = (double)per * S;
    for (int c = 0; c < C; c++) {
        double msum = 0, vsum = 0, dgc = 0, dbc = 0;
        const double w = gamma ? gamma[c] : 1, b = beta ? beta[c] : 0;
        for (int g = 0; g < G; g++) {
#define REF_AT(r, i) (((int64_t)(p->interleaved ? (r) * G + g : g * per + (r)) * C + c) * S + (i))
            double s = 0, ss = 0, mean, invstd;
            for (int r = 0; r < per; r++)
                for (int i = 0; i < S; i++) s += x[REF_AT(r, i)];
            mean = s / m;
            for (int r = 0; r < per; r++)
                for (int i = 0; i < S; i++) ss += (x[REF_AT(r, i)] - mean) * (x[REF_AT(r, i)] - mean);
            if (p->training) {
                invstd = 1 / sqrt(ss / m + p->eps);
                msum += mean;
                vsum += ss / (m - 1);
            } else {
                mean = rm[c];
                invstd = 1 / sqrt((double)rv[c] + p->eps);
            }
            sm[g * C + c] = (float)mean;
            si[g * C + c] = (float)invstd;
            mean = sm[g * C + c];
            invstd = si[g * C + c];
            double sdy = 0, sdyx = 0;
            for (int r = 0; r < per; r++)
                for (int i = 0; i < S; i++) {
                    const int64_t k = REF_AT(r, i);
                    const double v = (x[k] - mean) * invstd * w + b; /* the output from the float statistics */
                    y[k] = (float)(p->relu && v < 0 ? 0 : v);
                    const double gy = p->relu && !(mask_y[k] > 0) ? 0 : dy[k];
                    sdy += gy;
                    sdyx += gy * (x[k] - mean) * invstd;
                }
            dgc += sdyx;
            dbc += sdy;
            for (int r = 0; r < per; r++)
                for (int i = 0; i < S; i++) {
                    const int64_t k = REF_AT(r, i);
                    const double gy = p->relu && !(mask_y[k] > 0) ? 0 : dy[k];
                    const double xhat = (x[k] - mean) * invstd;
                    dx[k] = (float)(w * invstd * (p->training ? gy - sdy / m - xhat * sdyx / m : gy));
                }
#undef REF_AT
        }
        if (p->training && rm) {
            rm[c] = (float)((1 - p->momentum) * rm[c] + p->momentum * msum / G);
            rv[c] = (float)((1 - p->momentum) * rv[c] + p->momentum * vsum / G);
        }
        dg[c] += (float)dgc;
        db[c] += (float)dbc;
    }
}

/* One configuration channels first, channels last and in double: channels last
 * must match the other two (forward output, saved and running statistics, every
 * gradient), be bit-identical in place (y == x, grad_x == grad_y), and give the same
 * parameter gradients without grad_x. */
static void cl_case(int N, int C, int S, cl_opts o)
{
    const int64_t n = (int64_t)N * C * S, gc = (int64_t)o.groups * C;
    const uint64_t seed = 1000u + (uint64_t)N * 7 + (uint64_t)C * 131 + (uint64_t)S * 17 + (uint64_t)o.groups;
    float *x = tu_normal(n, seed, 1.5f), *dy = tu_normal(n, seed + 1, 1.0f);
    for (int64_t i = 0; i < n; i++) x[i] += 0.5f + (float)(i / S % C % 7) * 0.5f; /* a mean per channel */
    float *gamma = o.affine ? tu_normal(C, seed + 2, 1.0f) : NULL;
    float *beta = o.affine ? tu_normal(C, seed + 3, 1.0f) : NULL;
    float *rm[3], *rv[3], *sm[3], *si[3], *dg[3], *db[3], *y[3], *dx[3];
    for (int t = 0; t < 3; t++) { /* 0 channels first, 1 channels last, 2 reference */
        rm[t] = tu_normal(C, seed + 4, 0.5f);
        rv[t] = tu_normal(C, seed + 5, 0.5f);
        for (int c = 0; c < C; c++) rv[t][c] = 0.5f + rv[t][c] * rv[t][c];
        sm[t] = tu_zeros(gc); si[t] = tu_zeros(gc); dg[t] = tu_zeros(C); db[t] = tu_zeros(C);
        y[t] = tu_zeros(n); dx[t] = tu_zeros(n);
    }
    float *run_m = o.running || !o.training ? rm[0] : NULL, *run_v = o.running || !o.training ? rv[0] : NULL;
    sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
    p.groups = o.groups;
    p.interleaved = o.interleaved;
    p.training = o.training;
    p.relu = o.relu;
    CHECK(sl_batchnorm_forward(&p, x, y[0], gamma, beta, run_m, run_v, sm[0], si[0]) == SL_OK);
    CHECK(sl_batchnorm_backward(&p, x, y[0], dy, dx[0], gamma, dg[0], db[0], sm[0], si[0]) == SL_OK);
    reference_full(&p, x, dy, y[0], gamma, beta, run_m ? rm[2] : NULL, rv[2], y[2], dx[2], dg[2], db[2], sm[2], si[2]);

    /* channels last; backward masks with the channels-first output, see reference_full */
    sl_batchnorm_params q = p;
    q.channels_last = true;
    float *xl = tu_to_channels_last(x, N, C, S), *dyl = tu_to_channels_last(dy, N, C, S);
    float *y0l = tu_to_channels_last(y[0], N, C, S), *yl = tu_zeros(n), *dxl = tu_zeros(n);
    float *rm_in = tu_copy(rm[1], C), *rv_in = tu_copy(rv[1], C);
    CHECK(sl_batchnorm_forward(&q, xl, yl, gamma, beta, run_m ? rm[1] : NULL, run_m ? rv[1] : NULL, sm[1], si[1]) ==
          SL_OK);
    CHECK(sl_batchnorm_backward(&q, xl, y0l, dyl, dxl, gamma, dg[1], db[1], sm[1], si[1]) == SL_OK);
    float *t = tu_from_channels_last(yl, N, C, S);
    memcpy(y[1], t, sizeof(float) * n);
    sl_free(t);
    t = tu_from_channels_last(dxl, N, C, S);
    memcpy(dx[1], t, sizeof(float) * n);
    sl_free(t);

    char what[128];
    const char *names[2] = {"channels first", "reference"};
    for (int r = 0; r < 2; r++) {
        const int w = r ? 2 : 0;
        const double tol = r ? 1e-4 : 1e-5; /* the reference is double, channels first float */
#define CL_CHECK(name, a, b, len, atol)                                                                                \
    snprintf(what, sizeof what, "[%dx%dx%d] G%d%s%s%s%s %s vs %s", N, C, S, o.groups, o.interleaved ? "i" : "",     \
             o.training ? " train" : " eval", o.relu ? " relu" : "", o.affine ? "" : " no-affine", name, names[r]);   \
    CHECK_CLOSE(what, a, b, len, atol, tol)
        CL_CHECK("y", y[1], y[w], n, tol);
        CL_CHECK("save_mean", sm[1], sm[w], gc, tol);
        CL_CHECK("save_invstd", si[1], si[w], gc, 0);
        CL_CHECK("running_mean", rm[1], rm[w], C, tol);
        CL_CHECK("running_var", rv[1], rv[w], C, 0);
        CL_CHECK("grad_x", dx[1], dx[w], n, tol);
        CL_CHECK("grad_gamma", dg[1], dg[w], C, tol * sqrt((double)n / C));
        CL_CHECK("grad_beta", db[1], db[w], C, tol * sqrt((double)n / C));
#undef CL_CHECK
    }

    /* in place, and grad_x NULL, from the same running stats */
    float *z = tu_copy(xl, n), *dz = tu_copy(dyl, n), *sm2 = tu_zeros(gc), *si2 = tu_zeros(gc);
    float *dg2 = tu_zeros(C), *db2 = tu_zeros(C);
    CHECK(sl_batchnorm_forward(&q, z, z, gamma, beta, run_m ? rm_in : NULL, run_m ? rv_in : NULL, sm2, si2) ==
          SL_OK);
    CHECK(memcmp(z, yl, sizeof(float) * n) == 0);
    CHECK(memcmp(sm2, sm[1], sizeof(float) * gc) == 0 && memcmp(si2, si[1], sizeof(float) * gc) == 0);
    if (run_m) CHECK(memcmp(rm_in, rm[1], sizeof(float) * C) == 0 && memcmp(rv_in, rv[1], sizeof(float) * C) == 0);
    CHECK(sl_batchnorm_backward(&q, xl, y0l, dz, dz, gamma, dg2, db2, sm[1], si[1]) == SL_OK);
    CHECK(memcmp(dz, dxl, sizeof(float) * n) == 0);
    CHECK(sl_batchnorm_backward(&q, xl, y0l, dyl, NULL, gamma, dg2, db2, sm[1], si[1]) == SL_OK);
    for (int c = 0; c < C; c++) { /* accumulated twice */
        CHECK_NEAR(dg2[c], 2 * dg[1][c], 1e-5 * (1 + fabs(dg[1][c])));
        CHECK_NEAR(db2[c], 2 * db[1][c], 1e-5 * (1 + fabs(db[1][c])));
    }

    for (int k = 0; k < 3; k++) {
        sl_free(rm[k]); sl_free(rv[k]); sl_free(sm[k]); sl_free(si[k]); sl_free(dg[k]); sl_free(db[k]);
        sl_free(y[k]); sl_free(dx[k]);
    }
    sl_free(x); sl_free(dy); sl_free(xl); sl_free(dyl); sl_free(y0l); sl_free(yl); sl_free(dxl);
    sl_free(rm_in); sl_free(rv_in); sl_free(z); sl_free(dz); sl_free(sm2); sl_free(si2); sl_free(dg2); sl_free(db2);
    if (gamma) { sl_free(gamma); sl_free(beta); }
}

/* Every channel count (one vector, several, a partial one alone or after full ones,
 * several blocks) at every spatial size, BatchNorm1d included. */
static void test_channels_last_shapes(void)
{
    const int Cs[] = {1, 3, 16, 20, 70, 130}, Ss[] = {1, 4, 49, 784};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) {
            const int N = Ss[j] == 784 ? 4 : 8;
            cl_case(N, Cs[i], Ss[j], (cl_opts){1, false, true, true, true, true});
            cl_case(N, Cs[i], Ss[j], (cl_opts){4, true, true, false, true, false});
            cl_case(N, Cs[i], Ss[j], (cl_opts){2, false, false, true, false, true});
        }
    /* more columns (256 channels x group) than one round holds (8), with a channel's
     * groups split between rounds (the running statistics and dgamma / dbeta add up
     * across them), and a last column of several blocks, the last partial */
    cl_case(6, 1024, 2, (cl_opts){3, false, true, true, true, true});
    cl_case(9, 1030, 1, (cl_opts){3, true, true, false, true, true});
    cl_case(6, 1024, 2, (cl_opts){3, true, false, true, true, true});
    cl_case(4, 600, 4, (cl_opts){2, false, true, true, true, true});
}

/* Every option: groups (contiguous, interleaved), training / evaluation, fused ReLU,
 * affine or not, running statistics or not. */
static void test_channels_last_options(void)
{
    const int shapes[][3] = {{8, 20, 49}, {8, 70, 1}, {16, 130, 4}};
    const int groups[][2] = {{1, 0}, {2, 0}, {4, 0}, {2, 1}, {4, 1}};
    for (int k = 0; k < 3; k++)
        for (int gi = 0; gi < 5; gi++)
            for (int bits = 0; bits < 16; bits++)
                cl_case(shapes[k][0], shapes[k][1], shapes[k][2],
                        (cl_opts){groups[gi][0], groups[gi][1], bits & 1, bits & 2, bits & 4, bits & 8});
}

/* A block's last, partial vector stays inside its row: nothing is written past the
 * tensors (sentinels after y and grad_x survive) and, in the sanitizer build, nothing
 * is read past them (plain malloc of the exact size, where sl_malloc rounds up). */
static void test_channels_last_row_ends(void)
{
    const int Cs[] = {1, 3, 20, 70};
    for (int k = 0; k < 4; k++) {
        const int N = 4, S = 3, C = Cs[k], pad = 16;
        const int64_t n = (int64_t)N * S * C;
        float *x = malloc(sizeof(float) * n), *dy = malloc(sizeof(float) * n);
        float *y = malloc(sizeof(float) * (n + pad)), *dx = malloc(sizeof(float) * (n + pad));
        float *xs = tu_normal(n, 300 + k, 1), *dys = tu_normal(n, 310 + k, 1), *sm = tu_zeros(C), *si = tu_zeros(C);
        float *rm = tu_zeros(C), *rv = tu_zeros(C);
        memcpy(x, xs, sizeof(float) * n);
        memcpy(dy, dys, sizeof(float) * n);
        for (int i = 0; i < pad; i++) y[n + i] = dx[n + i] = 12345.0f;
        for (int c = 0; c < C; c++) rv[c] = 1;
        sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
        p.channels_last = true;
        p.relu = true;
        CHECK(sl_batchnorm_forward(&p, x, y, NULL, NULL, rm, rv, sm, si) == SL_OK);
        CHECK(sl_batchnorm_backward(&p, x, y, dy, dx, NULL, NULL, NULL, sm, si) == SL_OK);
        p.training = false;
        CHECK(sl_batchnorm_forward(&p, x, y, NULL, NULL, rm, rv, sm, si) == SL_OK);
        CHECK(sl_batchnorm_backward(&p, x, y, dy, dx, NULL, NULL, NULL, sm, si) == SL_OK);
        for (int i = 0; i < pad; i++) CHECK(y[n + i] == 12345.0f && dx[n + i] == 12345.0f);
        free(x); free(dy); free(y); free(dx);
        sl_free(xs); sl_free(dys); sl_free(sm); sl_free(si); sl_free(rm); sl_free(rv);
    }
}

/* Inputs of tools/gen_nn_golden.py (exact in float). */
static double xval(int i) { return ((i * 7) % 11 - 5) * 0.25 + ((i * 3) % 4) * 0.125; }
static double dyval(int i) { return ((i * 5) % 7 - 3) * 0.5; }

static void golden_case(const char *what, int N, int C, int S, int groups, const double *y_ref, const double *dx_ref,
                        const double *dg_ref, const double *db_ref, const double *rm_ref, const double *rv_ref)
{
    const int n = N * C * S;
    float x[32], dy[32], y[32], dx[32], g[2], b[2], rm[2], rv[2], sm[4], si[4], dg[2] = {0}, db[2] = {0};
    float yr[32], dxr[32], dgr[2], dbr[2], rmr[2], rvr[2];
    for (int i = 0; i < n; i++) {
        x[i] = (float)xval(i);
        dy[i] = (float)dyval(i);
        yr[i] = (float)y_ref[i];
        dxr[i] = (float)dx_ref[i];
    }
    for (int c = 0; c < C; c++) {
        g[c] = 1.5f - 2.0f * c;
        b[c] = 0.1f * (c + 1);
        rm[c] = 0.5f * c;
        rv[c] = 1.0f + c;
        dgr[c] = (float)dg_ref[c]; dbr[c] = (float)db_ref[c]; rmr[c] = (float)rm_ref[c]; rvr[c] = (float)rv_ref[c];
    }
    sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
    p.groups = groups;
    p.interleaved = true; /* SplitBatchNorm's view(-1, C * G, H, W) */
    CHECK(sl_batchnorm_forward(&p, x, y, g, b, rm, rv, sm, si) == SL_OK);
    CHECK(sl_batchnorm_backward(&p, x, NULL, dy, dx, g, dg, db, sm, si) == SL_OK);
    char buf[64];
    snprintf(buf, sizeof buf, "%s y", what);
    CHECK_CLOSE(buf, y, yr, n, 2e-6, 2e-6);
    snprintf(buf, sizeof buf, "%s dx", what);
    CHECK_CLOSE(buf, dx, dxr, n, 2e-6, 2e-6);
    CHECK_CLOSE("dgamma", dg, dgr, C, 2e-6, 2e-6);
    CHECK_CLOSE("dbeta", db, dbr, C, 2e-6, 2e-6);
    CHECK_CLOSE("running_mean", rm, rmr, C, 1e-7, 1e-6);
    CHECK_CLOSE("running_var", rv, rvr, C, 1e-7, 1e-6);
}

/* Against PyTorch: BatchNorm2d and MoCo's SplitBatchNorm (tests/c/nn_golden.h). */
static void test_pytorch_golden(void)
{
    golden_case("BatchNorm2d", 3, 2, 4, 1, golden_bn_y, golden_bn_dx, golden_bn_dgamma, golden_bn_dbeta,
                golden_bn_running_mean, golden_bn_running_var);
    golden_case("SplitBatchNorm", 4, 2, 2, 2, golden_splitbn_y, golden_splitbn_dx, golden_splitbn_dgamma,
                golden_splitbn_dbeta, golden_splitbn_running_mean, golden_splitbn_running_var);
}

static void test_errors(void)
{
    float b[64] = {0}, rm[4] = {0}, rv[4] = {1, 1, 1, 1};
    sl_batchnorm_params p = sl_batchnorm_defaults(6, 2, 3);
    p.groups = 4;
    CHECK_FAILS(sl_batchnorm_forward(&p, b, b, NULL, NULL, rm, rv, b, b), "groups 4 must be >= 1 and divide the batch size 6");
    p = sl_batchnorm_defaults(1, 2, 1);
    CHECK_FAILS(sl_batchnorm_forward(&p, b, b, NULL, NULL, rm, rv, b, b), "expected more than 1 value per channel");
    p = sl_batchnorm_defaults(4, 2, 1);
    p.groups = 4;
    CHECK_FAILS(sl_batchnorm_forward(&p, b, b, NULL, NULL, rm, rv, b, b), "input [4x2x1] with 4 group(s)");
    p = sl_batchnorm_defaults(4, 2, 1);
    p.training = false;
    CHECK_FAILS(sl_batchnorm_forward(&p, b, b, NULL, NULL, NULL, NULL, b, b), "evaluation needs running_mean");
    p.training = true;
    CHECK_FAILS(sl_batchnorm_forward(&p, b, b, NULL, NULL, rm, NULL, b, b), "both running_mean and running_var");
    p.C = 0;
    CHECK_FAILS(sl_batchnorm_forward(&p, b, b, NULL, NULL, NULL, NULL, b, b), "batchnorm_forward: sizes must be positive, input [4x0x1]");
    p = sl_batchnorm_defaults(4, 2, 1);
    CHECK_FAILS(sl_batchnorm_backward(&p, b, NULL, b, b, NULL, NULL, NULL, NULL, b), "batchnorm_backward: NULL");
    /* evaluation with running stats only: one value per channel is fine */
    p = sl_batchnorm_defaults(1, 2, 1);
    p.training = false;
    CHECK(sl_batchnorm_forward(&p, b, b, NULL, NULL, rm, rv, NULL, NULL) == SL_OK);
}

int main(void)
{
    RUN(test_running_stats_hand_computed);
    RUN(test_groups_hand_computed);
    RUN(test_groups_equal_separate);
    RUN(test_gradcheck);
    RUN(test_in_place_and_accumulate);
    RUN(test_odd_shapes_vs_formula);
    RUN(test_large_mean_long_planes);
    RUN(test_long_sums_accuracy);
    RUN(test_pytorch_golden);
    RUN(test_thread_independent);
    RUN(test_channels_last_shapes);
    RUN(test_channels_last_options);
    RUN(test_channels_last_row_ends);
    RUN(test_errors);
    return test_summary();
}
