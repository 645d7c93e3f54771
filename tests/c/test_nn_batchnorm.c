/* test_nn_batchnorm.c - batchnorm: hand-computed statistics and running-stat
 * updates (plain, grouped, interleaved groups), groups == separate BNs, formula
 * reference, finite-difference gradients in training and evaluation, errors. */
#include "nn/nn.h"
#include "nn_golden.h"
#include "nn_testutil.h"
#include "tensor/gemm.h"

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

static void gradcheck_case(int N, int C, int S, int G, bool interleaved, bool training, bool affine)
{
    fd_ctx c;
    c.p = sl_batchnorm_defaults(N, C, S);
    c.p.groups = G;
    c.p.interleaved = interleaved;
    c.p.training = training;
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
    snprintf(what, sizeof what, "bn d/dx [%dx%dx%d] G%d%s %s", N, C, S, G, interleaved ? "i" : "",
             training ? "train" : "eval");
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
    gradcheck_case(4, 3, 5, 1, false, true, true);   /* BatchNorm2d */
    gradcheck_case(8, 4, 1, 1, false, true, true);   /* BatchNorm1d */
    gradcheck_case(6, 2, 4, 3, false, true, true);   /* grouped */
    gradcheck_case(6, 2, 4, 2, true, true, true);    /* grouped, interleaved */
    gradcheck_case(4, 3, 5, 1, false, true, false);  /* no affine */
    gradcheck_case(4, 3, 5, 1, false, false, true);  /* evaluation */
    gradcheck_case(1, 3, 6, 1, false, true, true);   /* batch 1, spatial 6 */
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
    gradcheck_case(6, 70, 1, 2, false, true, true);
    gradcheck_case(3, 3, 37, 1, false, true, true);
}

/* Statistics are one pass over x - k: a mean 1e4 times the std (where sum x^2 / m - mean^2
 * would lose every digit in float) and planes longer than one float-lane run (1024). The
 * saved mean and 1 / std are compared with double two-pass statistics. (y itself is
 * x * scale + shift, as in PyTorch, which at this ratio rounds to ~1e-3.) */
static void test_large_mean_long_planes(void)
{
    const int N = 3, C = 2, S = 2500;
    const int64_t n = (int64_t)N * C * S;
    float *x = tu_normal(n, 61, 0.01f), *y = tu_zeros(n);
    for (int64_t i = 0; i < n; i++) x[i] += 100.0f;
    float *sm = tu_zeros(C), *si = tu_zeros(C), g[2] = {1, 1}, b[2] = {0, 0};
    sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
    p.eps = 0.0f;
    CHECK(sl_batchnorm_forward(&p, x, y, g, b, NULL, NULL, sm, si) == SL_OK);
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
    sl_free(x); sl_free(y); sl_free(sm); sl_free(si);
}

static void test_thread_independent(void)
{
    const int shapes[][3] = {{8, 64, 1024}, {256, 2048, 1}};
    const int saved = sl_get_num_threads();
    for (int k = 0; k < 2; k++) {
        const int N = shapes[k][0], C = shapes[k][1], S = shapes[k][2];
        const int64_t n = (int64_t)N * C * S;
        float *x = tu_normal(n, 100 + k, 1), *dy = tu_normal(n, 110 + k, 1), *g = tu_normal(C, 120, 1);
        float *y[2], *dx[2], *dg[2], *rv[2], *sm = tu_zeros(2 * C), *si = tu_zeros(2 * C);
        for (int t = 0; t < 2; t++) {
            sl_set_num_threads(t + 1);
            y[t] = tu_zeros(n); dx[t] = tu_zeros(n); dg[t] = tu_zeros(C); rv[t] = tu_zeros(2 * C);
            sl_batchnorm_params p = sl_batchnorm_defaults(N, C, S);
            p.groups = 2;
            CHECK(sl_batchnorm_forward(&p, x, y[t], g, NULL, rv[t], rv[t] + C, sm, si) == SL_OK);
            CHECK(sl_batchnorm_backward(&p, x, NULL, dy, dx[t], g, dg[t], NULL, sm, si) == SL_OK);
        }
        CHECK(memcmp(y[0], y[1], sizeof(float) * n) == 0);
        CHECK(memcmp(dx[0], dx[1], sizeof(float) * n) == 0);
        CHECK(memcmp(dg[0], dg[1], sizeof(float) * C) == 0);
        CHECK(memcmp(rv[0], rv[1], sizeof(float) * 2 * C) == 0);
        for (int t = 0; t < 2; t++) { sl_free(y[t]); sl_free(dx[t]); sl_free(dg[t]); sl_free(rv[t]); }
        sl_free(x); sl_free(dy); sl_free(g); sl_free(sm); sl_free(si);
    }
    sl_set_num_threads(saved);
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
    RUN(test_pytorch_golden);
    RUN(test_thread_independent);
    RUN(test_errors);
    return test_summary();
}
