/* test_nn_conv2d.c - conv2d: im2col+GEMM and Winograd paths vs direct loops,
 * channels first and channels last (the data converted, the reference run on
 * the channels-first copy), finite-difference gradients, hand-computed cases,
 * shape errors, thread-count independence. */
#include <omp.h>

#include "nn/nn.h"
#include "nn_testutil.h"
#include "tensor/gemm.h"

typedef struct {
    int N, C, H, W, O, KH, KW, stride, pad;
} shape;

static const shape shapes[] = {
    {2, 3, 7, 7, 4, 3, 3, 1, 1},    /* 3x3 same padding, batched GEMM */
    {3, 2, 9, 6, 5, 3, 3, 2, 1},    /* stride 2, non-square input */
    {2, 3, 8, 10, 2, 2, 3, 2, 0},   /* non-square kernel, no padding */
    {1, 4, 5, 5, 3, 3, 3, 1, 1},    /* batch 1 */
    {4, 6, 5, 4, 7, 1, 1, 1, 0},    /* 1x1 pointwise, batched (copies x) */
    {2, 5, 48, 46, 3, 1, 1, 1, 0},  /* 1x1 pointwise, one image per GEMM: x is the column matrix */
    {3, 4, 9, 9, 6, 1, 1, 2, 0},    /* 1x1 stride 2 (ResNet downsample) */
    {2, 2, 47, 50, 3, 3, 3, 1, 1},  /* one image per GEMM (OH*OW >= 2048) */
    {50, 3, 7, 7, 4, 3, 3, 1, 1},   /* several chunks with a short last one (42 + 8 images) */
    {2, 3, 12, 11, 4, 7, 7, 2, 3},  /* ResNet stem geometry */
    {2, 2, 3, 3, 3, 5, 5, 1, 2},    /* kernel wider than the input, padding makes it fit */
    {2, 3, 6, 6, 2, 3, 3, 3, 2},    /* stride 3 with padding: rows fully in the padding */
    {2, 8, 5, 5, 72, 3, 3, 1, 1},   /* O > 64: grad_weight accumulated untransposed */
    {3, 70, 4, 4, 66, 1, 1, 1, 0},  /* 1x1, O > 64, batched */
    {5, 6, 9, 9, 4, 3, 3, 1, 1},    /* O < C, stride 1, four parallel groups of images */
    {3, 4, 6, 7, 4, 3, 3, 1, 0},    /* O == C, no padding, non-square input, uneven groups */
    {2, 5, 6, 6, 5, 5, 5, 1, 4},    /* padding K - 1 */
    {2, 4, 46, 45, 4, 3, 3, 1, 1},  /* O == C, one image per GEMM */
    {3, 1, 9, 8, 4, 3, 3, 1, 1},    /* C = 1 stem: channels-last runs of 3 floats */
    {6, 1, 11, 9, 8, 3, 3, 2, 1},   /* C = 1, stride 2, groups of 1-2 images */
    {22, 3, 40, 60, 5, 3, 3, 2, 1}, /* stride 2, groups of 5-6 images in chunks of 4 + 1..2 */
    {2, 3, 5, 4, 4, 1, 1, 2, 1},    /* 1x1 with padding: border rows of the column matrix all zero */
    /* Winograd (3x3, stride 1, padding 1, C and O >= 8): F(4x4, 3x3) */
    {3, 16, 7, 7, 16, 3, 3, 1, 1},  /* 7 = 4 + 3: the last tile row/column cropped, uneven groups */
    {5, 20, 6, 9, 12, 3, 3, 1, 1},  /* C, O not whole 16-float vectors, O < C */
    {2, 9, 1, 1, 40, 3, 3, 1, 1},   /* 1x1 plane: one tile, mostly padding */
    {20, 8, 32, 31, 8, 3, 3, 1, 1}, /* groups of 5 images walked in chunks of 4 + 1 */
    {4, 33, 4, 4, 70, 3, 3, 1, 1},  /* O > C, many channels over a one-tile plane */
    /* ... and F(2x2, 3x3) on planes narrower than 3 */
    {3, 16, 2, 2, 16, 3, 3, 1, 1},  /* one tile */
    {2, 12, 2, 5, 8, 3, 3, 1, 1},   /* 1 x 3 tiles, the last cropped */
};

/* A copy of a [N x C x S] array in the layout under test, and back. */
static float *to_layout(const float *a, int N, int C, int64_t S, bool channels_last)
{
    return channels_last ? tu_to_channels_last(a, N, C, S) : tu_copy(a, (int64_t)N * C * S);
}

static float *from_layout(const float *a, int N, int C, int64_t S, bool channels_last)
{
    return channels_last ? tu_from_channels_last(a, N, C, S) : tu_copy(a, (int64_t)N * C * S);
}

/* The fast path in the given layout vs the direct loops (channels first). */
static void run_shape(const shape *s, bool with_bias, bool channels_last)
{
    sl_conv2d_geom g;
    CHECK(sl_conv2d_geom_init(&g, s->N, s->C, s->H, s->W, s->O, s->KH, s->KW, s->stride, s->pad) == SL_OK);
    const int64_t nx = (int64_t)g.N * g.C * g.H * g.W, nw = (int64_t)g.O * g.C * g.KH * g.KW;
    const int64_t ny = (int64_t)g.N * g.O * g.OH * g.OW, S = (int64_t)g.H * g.W, OS = (int64_t)g.OH * g.OW;
    float *x = tu_normal(nx, 1, 1.0f), *w = tu_normal(nw, 2, 0.5f), *b = tu_normal(g.O, 3, 1.0f);
    float *dy = tu_normal(ny, 4, 1.0f);
    float *y_ref = tu_zeros(ny);
    CHECK(sl_conv2d_forward_naive(&g, x, y_ref, w, with_bias ? b : NULL) == SL_OK);
    float *dx_ref = tu_zeros(nx), *dw_ref = tu_normal(nw, 6, 1.0f), *db_ref = tu_normal(g.O, 7, 1.0f);
    float *dw = tu_copy(dw_ref, nw), *db = tu_copy(db_ref, g.O);
    CHECK(sl_conv2d_backward_naive(&g, x, dy, w, dx_ref, dw_ref, with_bias ? db_ref : NULL) == SL_OK);
    float *dw2_ref = tu_zeros(nw);
    CHECK(sl_conv2d_backward_naive(&g, x, dy, w, NULL, dw2_ref, NULL) == SL_OK);

    g.channels_last = channels_last;
    float *xl = to_layout(x, g.N, g.C, S, channels_last), *dyl = to_layout(dy, g.N, g.O, OS, channels_last);
    float *yl = tu_zeros(ny);
    size_t wsn = sl_conv2d_workspace_size(&g);
    float *ws = wsn ? sl_malloc(wsn * sizeof(float)) : NULL;
    for (size_t i = 0; i < wsn; i++) ws[i] = NAN; /* scratch read before it is written shows */
    CHECK(sl_conv2d_forward(&g, xl, yl, w, with_bias ? b : NULL, ws) == SL_OK);
    float *y = from_layout(yl, g.N, g.O, OS, channels_last);
    char what[160];
    snprintf(what, sizeof what, "forward [%dx%dx%dx%d] k%dx%d s%d p%d%s", s->N, s->C, s->H, s->W, s->KH, s->KW,
             s->stride, s->pad, channels_last ? " channels last" : "");
    CHECK_CLOSE(what, y, y_ref, ny, 1e-4, 1e-4);

    /* backward: grad_x starts as noise to check it is overwritten, the parameter
     * gradients non-zero to check accumulation */
    float *dxl = tu_normal(nx, 5, 1.0f);
    CHECK(sl_conv2d_backward(&g, xl, dyl, w, dxl, dw, with_bias ? db : NULL, ws) == SL_OK);
    float *dx = from_layout(dxl, g.N, g.C, S, channels_last);
    snprintf(what, sizeof what, "grad_x [%dx%dx%dx%d] k%dx%d s%d p%d%s", s->N, s->C, s->H, s->W, s->KH, s->KW,
             s->stride, s->pad, channels_last ? " channels last" : "");
    CHECK_CLOSE(what, dx, dx_ref, nx, 1e-4, 1e-4);
    CHECK_CLOSE("grad_weight", dw, dw_ref, nw, 1e-3, 1e-4);
    CHECK_CLOSE("grad_bias", db, db_ref, g.O, 1e-3, 1e-4);

    /* optional gradients: only weight, only input, only bias (no workspace needed) */
    float *dw2 = tu_zeros(nw), *dx2l = tu_zeros(nx), *db3 = tu_zeros(g.O), *db3_ref = tu_zeros(g.O);
    CHECK(sl_conv2d_backward(&g, xl, dyl, w, NULL, dw2, NULL, ws) == SL_OK);
    CHECK_CLOSE("grad_weight only", dw2, dw2_ref, nw, 1e-3, 1e-4);
    CHECK(sl_conv2d_backward(&g, NULL, dyl, w, dx2l, NULL, NULL, ws) == SL_OK);
    float *dx2 = from_layout(dx2l, g.N, g.C, S, channels_last);
    CHECK_CLOSE("grad_x only", dx2, dx_ref, nx, 1e-4, 1e-4);
    CHECK(sl_conv2d_backward(&g, NULL, dyl, w, NULL, NULL, db3, NULL) == SL_OK);
    g.channels_last = false;
    CHECK(sl_conv2d_backward_naive(&g, NULL, dy, w, NULL, NULL, db3_ref) == SL_OK);
    CHECK_CLOSE("grad_bias only", db3, db3_ref, g.O, 1e-4, 1e-4);

    sl_free(x); sl_free(w); sl_free(b); sl_free(dy); sl_free(y); sl_free(y_ref); sl_free(yl);
    sl_free(xl); sl_free(dyl); sl_free(dxl); sl_free(dx2l); sl_free(db3); sl_free(db3_ref);
    sl_free(dx); sl_free(dx_ref); sl_free(dw); sl_free(dw_ref); sl_free(db); sl_free(db_ref);
    sl_free(dw2); sl_free(dw2_ref); sl_free(dx2); sl_free(ws);
}

static void test_fast_matches_naive(void)
{
    /* im2col + GEMM everywhere, the default (auto) choice, Winograd wherever it can
     * run (channels last: im2col + GEMM in every mode while Winograd declines it) */
    for (int mode = SL_WINOGRAD_OFF; mode <= SL_WINOGRAD_ALWAYS; mode++) {
        sl_conv2d_set_winograd((sl_winograd_mode)mode);
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            for (int cl = 0; cl <= 1; cl++) {
                run_shape(&shapes[i], true, cl);
                run_shape(&shapes[i], false, cl);
            }
        }
    }
    sl_conv2d_set_winograd(SL_WINOGRAD_AUTO);
}

/* ---- finite differences ------------------------------------------------ */

typedef struct {
    sl_conv2d_geom g;
    float *x, *w, *b, *y, *r, *ws;
} fd_ctx;

static double conv_loss(void *p)
{
    fd_ctx *c = p;
    sl_conv2d_forward(&c->g, c->x, c->y, c->w, c->b, c->ws);
    return tu_dot(c->y, c->r, (int64_t)c->g.N * c->g.O * c->g.OH * c->g.OW);
}

static void test_gradcheck(void)
{
    sl_conv2d_set_winograd(SL_WINOGRAD_ALWAYS); /* the last case runs through Winograd (channels first) */
    const shape cases[] = {{2, 3, 6, 5, 4, 3, 3, 2, 1}, {3, 2, 4, 4, 3, 1, 1, 1, 0}, {1, 2, 5, 7, 2, 3, 2, 1, 1},
                           {5, 3, 9, 8, 4, 3, 3, 1, 1}, {2, 3, 11, 10, 2, 7, 7, 2, 3},
                           {2, 8, 5, 6, 9, 3, 3, 1, 1} /* Winograd */};
    for (int cl = 0; cl <= 1; cl++)
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            const shape *s = &cases[k];
            fd_ctx c;
            CHECK(sl_conv2d_geom_init(&c.g, s->N, s->C, s->H, s->W, s->O, s->KH, s->KW, s->stride, s->pad) == SL_OK);
            c.g.channels_last = cl; /* x, r and the gradients all in that layout */
            const int64_t nx = (int64_t)s->N * s->C * s->H * s->W, nw = (int64_t)s->O * s->C * s->KH * s->KW;
            const int64_t ny = (int64_t)s->N * s->O * c.g.OH * c.g.OW;
            c.x = tu_normal(nx, 11, 1.0f);
            c.w = tu_normal(nw, 12, 0.5f);
            c.b = tu_normal(s->O, 13, 1.0f);
            c.r = tu_normal(ny, 14, 1.0f);
            c.y = tu_zeros(ny);
            c.ws = sl_malloc((sl_conv2d_workspace_size(&c.g) + 1) * sizeof(float));
            float *dx = tu_zeros(nx), *dw = tu_zeros(nw), *db = tu_zeros(s->O);
            CHECK(sl_conv2d_backward(&c.g, c.x, c.r, c.w, dx, dw, db, c.ws) == SL_OK);
            /* conv is linear in each argument: central differences are exact up to rounding */
            CHECK_GRAD("conv2d d/dx", conv_loss, &c, c.x, dx, nx, 0.25f, 2e-3, 2e-3, 200);
            CHECK_GRAD("conv2d d/dw", conv_loss, &c, c.w, dw, nw, 0.25f, 2e-3, 2e-3, 200);
            CHECK_GRAD("conv2d d/db", conv_loss, &c, c.b, db, s->O, 0.25f, 2e-3, 2e-3, 200);
            sl_free(c.x); sl_free(c.w); sl_free(c.b); sl_free(c.r); sl_free(c.y); sl_free(c.ws);
            sl_free(dx); sl_free(dw); sl_free(db);
        }
    sl_conv2d_set_winograd(SL_WINOGRAD_AUTO);
}

/* ---- exact small cases ---------------------------------------------------- */

static void test_hand_computed(void)
{
    /* 1x1x3x3 input 1..9, 2x2 kernel of ones, stride 1, no padding: window sums */
    sl_conv2d_geom g;
    CHECK(sl_conv2d_geom_init(&g, 1, 1, 3, 3, 1, 2, 2, 1, 0) == SL_OK);
    CHECK(g.OH == 2 && g.OW == 2);
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, b[1] = {0.5f}, y[4];
    float ws[128];
    CHECK(sl_conv2d_workspace_size(&g) <= 128);
    CHECK(sl_conv2d_forward(&g, x, y, w, b, ws) == SL_OK);
    CHECK(y[0] == 12.5f && y[1] == 16.5f && y[2] == 24.5f && y[3] == 28.5f);
    /* backward with dy = 1: dx counts how many windows cover each pixel */
    float dy[4] = {1, 1, 1, 1}, dx[9], dw[4] = {0}, db[1] = {10};
    CHECK(sl_conv2d_backward(&g, x, dy, w, dx, dw, db, ws) == SL_OK);
    const float cover[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    for (int i = 0; i < 9; i++) CHECK(dx[i] == cover[i]);
    CHECK(dw[0] == 12 && dw[1] == 16 && dw[2] == 24 && dw[3] == 28);
    CHECK(db[0] == 14);

    /* 3x3 kernel with padding 1, stride 2 on a 3x3 input: output 2x2, centre tap only on the corner */
    CHECK(sl_conv2d_geom_init(&g, 1, 1, 3, 3, 1, 3, 3, 2, 1) == SL_OK);
    CHECK(g.OH == 2 && g.OW == 2);
    CHECK(sl_conv2d_workspace_size(&g) <= 128);
    float wc[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    CHECK(sl_conv2d_forward(&g, x, y, wc, NULL, ws) == SL_OK);
    CHECK(y[0] == 1 && y[1] == 3 && y[2] == 7 && y[3] == 9);
}

static void test_errors(void)
{
    sl_conv2d_geom g;
    CHECK_FAILS(sl_conv2d_geom_init(&g, 2, 3, 4, 4, 8, 5, 5, 1, 0), "conv2d: kernel 5x5 larger than padded input 4x4");
    CHECK_FAILS(sl_conv2d_geom_init(&g, 2, 3, 4, 4, 8, 3, 3, 0, 0), "stride 0");
    CHECK_FAILS(sl_conv2d_geom_init(&g, 0, 3, 4, 4, 8, 3, 3, 1, 0), "[0x3x4x4]");
    CHECK_FAILS(sl_conv2d_geom_init(&g, 2, 3, 4, 4, 8, 3, 3, 1, -1), "padding -1");
    CHECK(sl_conv2d_geom_init(&g, 2, 3, 8, 8, 4, 3, 3, 1, 1) == SL_OK);
    float buf[4] = {0};
    sl_conv2d_geom bad = g;
    bad.OH = 7;
    CHECK_FAILS(sl_conv2d_forward(&bad, buf, buf, buf, NULL, buf), "output 7x8 does not match input [2x3x8x8]");
    bad = g;
    bad.C = 0;
    CHECK_FAILS(sl_conv2d_backward(&bad, buf, buf, buf, buf, NULL, NULL, buf), "conv2d_backward");
    CHECK_FAILS(sl_conv2d_forward(&g, buf, buf, buf, NULL, NULL), "NULL workspace");
    CHECK_FAILS(sl_conv2d_forward(&g, NULL, buf, buf, NULL, buf), "NULL input");
    CHECK_FAILS(sl_conv2d_backward(&g, NULL, buf, buf, NULL, buf, NULL, buf), "conv2d_backward: NULL");
    bad = g;
    bad.channels_last = true;
    CHECK_FAILS(sl_conv2d_forward_naive(&bad, buf, buf, buf, NULL), "conv2d_forward_naive: channels first only");
    CHECK_FAILS(sl_conv2d_backward_naive(&bad, buf, buf, buf, buf, NULL, NULL), "channels first only");
}

/* The same answer bit for bit with 1, 2 and 3 threads (7 images make uneven
 * groups; 3 threads share 4 groups unevenly). */
static void check_thread_independent(int N, int C, int O, int k, int stride, int pad, bool channels_last)
{
    sl_conv2d_geom g;
    CHECK(sl_conv2d_geom_init(&g, N, C, 14, 14, O, k, k, stride, pad) == SL_OK);
    g.channels_last = channels_last;
    const int64_t nx = (int64_t)g.N * g.C * g.H * g.W, nw = (int64_t)g.O * g.C * k * k, ny = (int64_t)g.N * g.O * g.OH * g.OW;
    float *x = tu_normal(nx, 21, 1), *w = tu_normal(nw, 22, 1), *dy = tu_normal(ny, 23, 1);
    float *ws = sl_malloc(sl_conv2d_workspace_size(&g) * sizeof(float));
    float *y[3], *dx[3], *dw[3], *db[3];
    const int saved = sl_get_num_threads();
    for (int t = 0; t < 3; t++) {
        sl_set_num_threads(t + 1);
        y[t] = tu_zeros(ny); dx[t] = tu_zeros(nx); dw[t] = tu_zeros(nw); db[t] = tu_zeros(g.O);
        CHECK(sl_conv2d_forward(&g, x, y[t], w, NULL, ws) == SL_OK);
        CHECK(sl_conv2d_backward(&g, x, dy, w, dx[t], dw[t], db[t], ws) == SL_OK);
    }
    sl_set_num_threads(saved);
    for (int t = 1; t < 3; t++) {
        CHECK(memcmp(y[0], y[t], sizeof(float) * ny) == 0);
        CHECK(memcmp(dx[0], dx[t], sizeof(float) * nx) == 0);
        CHECK(memcmp(dw[0], dw[t], sizeof(float) * nw) == 0);
        CHECK(memcmp(db[0], db[t], sizeof(float) * g.O) == 0);
    }
    for (int t = 0; t < 3; t++) { sl_free(y[t]); sl_free(dx[t]); sl_free(dw[t]); sl_free(db[t]); }
    sl_free(x); sl_free(w); sl_free(dy); sl_free(ws);
}

static void test_thread_independent(void)
{
    sl_conv2d_set_winograd(SL_WINOGRAD_ALWAYS);
    check_thread_independent(8, 16, 24, 3, 1, 1, false);
    check_thread_independent(7, 16, 16, 3, 1, 1, false);
    sl_conv2d_set_winograd(SL_WINOGRAD_OFF); /* im2col + GEMM */
    check_thread_independent(8, 16, 24, 3, 1, 1, false);
    check_thread_independent(7, 16, 16, 3, 1, 1, false);
    for (int mode = SL_WINOGRAD_OFF; mode <= SL_WINOGRAD_ALWAYS; mode++) {
        sl_conv2d_set_winograd((sl_winograd_mode)mode); /* channels last: im2col + GEMM in every mode */
        check_thread_independent(8, 16, 24, 3, 1, 1, true);
        check_thread_independent(7, 16, 16, 3, 1, 1, true);
        check_thread_independent(7, 16, 8, 3, 1, 1, true); /* grad_x as a convolution */
        check_thread_independent(7, 16, 32, 3, 2, 1, true);
        check_thread_independent(9, 16, 32, 1, 2, 0, true);
        check_thread_independent(7, 24, 8, 1, 1, 0, true);
    }
    sl_conv2d_set_winograd(SL_WINOGRAD_AUTO);
}

/* The two paths of a Winograd-shaped convolution agree (each also matches the
 * direct loops above; this checks the switch and the workspace sizes). */
static void test_winograd_switch(void)
{
    sl_conv2d_geom g;
    CHECK(sl_conv2d_geom_init(&g, 6, 16, 9, 10, 24, 3, 3, 1, 1) == SL_OK);
    const int64_t nx = (int64_t)g.N * g.C * g.H * g.W, nw = (int64_t)g.O * g.C * 9, ny = (int64_t)g.N * g.O * g.OH * g.OW;
    float *x = tu_normal(nx, 31, 1), *w = tu_normal(nw, 32, 1), *dy = tu_normal(ny, 33, 1);
    float *y[2], *dx[2], *dw[2];
    for (int k = 0; k < 2; k++) {
        sl_conv2d_set_winograd(k == 0 ? SL_WINOGRAD_ALWAYS : SL_WINOGRAD_OFF);
        float *ws = sl_malloc(sl_conv2d_workspace_size(&g) * sizeof(float));
        y[k] = tu_zeros(ny); dx[k] = tu_zeros(nx); dw[k] = tu_zeros(nw);
        CHECK(sl_conv2d_forward(&g, x, y[k], w, NULL, ws) == SL_OK);
        CHECK(sl_conv2d_backward(&g, x, dy, w, dx[k], dw[k], NULL, ws) == SL_OK);
        sl_free(ws);
    }
    sl_conv2d_set_winograd(SL_WINOGRAD_AUTO);
    CHECK_CLOSE("winograd vs gemm forward", y[0], y[1], ny, 1e-4, 1e-4);
    CHECK_CLOSE("winograd vs gemm grad_x", dx[0], dx[1], nx, 1e-4, 1e-4);
    CHECK_CLOSE("winograd vs gemm grad_weight", dw[0], dw[1], nw, 1e-3, 1e-4); /* sums of 540 products */
    for (int k = 0; k < 2; k++) { sl_free(y[k]); sl_free(dx[k]); sl_free(dw[k]); }
    sl_free(x); sl_free(w); sl_free(dy);
}

int main(void)
{
    RUN(test_fast_matches_naive);
    RUN(test_gradcheck);
    RUN(test_hand_computed);
    RUN(test_errors);
    RUN(test_thread_independent);
    RUN(test_winograd_switch);
    return test_summary();
}
