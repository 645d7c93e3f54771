/* test_nn_maxpool2d.c - maxpool2d: hand-computed windows and indices, padding,
 * first-maximum ties, finite differences on tie-free inputs, errors; channels last
 * by hand and against channels first on the transposed data (exact), thread-count
 * independence. */
#include <string.h>

#include "nn/nn.h"
#include "nn_testutil.h"
#include "tensor/gemm.h"

static void test_hand_computed(void)
{
    sl_maxpool2d_geom g;
    /* 1x1x4x4, 2x2 stride 2 */
    float x[16] = {1, 5, 2, 0, 3, 4, 8, 7, 9, 1, 0, 2, 6, 6, 3, 11}, y[4];
    int64_t idx[4];
    CHECK(sl_maxpool2d_geom_init(&g, 1, 1, 4, 4, 2, 2, 2, 0) == SL_OK);
    CHECK(g.OH == 2 && g.OW == 2);
    CHECK(sl_maxpool2d_forward(&g, x, y, idx) == SL_OK);
    CHECK(y[0] == 5 && y[1] == 8 && y[2] == 9 && y[3] == 11);
    CHECK(idx[0] == 1 && idx[1] == 6 && idx[2] == 8 && idx[3] == 15);
    float dy[4] = {1, 2, 3, 4}, dx[16];
    CHECK(sl_maxpool2d_backward(&g, dy, idx, dx) == SL_OK);
    for (int i = 0; i < 16; i++)
        CHECK(dx[i] == (i == 1 ? 1 : i == 6 ? 2 : i == 8 ? 3 : i == 15 ? 4 : 0));

    /* ResNet stem: 3x3 stride 2 padding 1 on 4x4 -> 2x2; overlapping windows accumulate */
    CHECK(sl_maxpool2d_geom_init(&g, 1, 1, 4, 4, 3, 3, 2, 1) == SL_OK);
    CHECK(g.OH == 2 && g.OW == 2);
    float xs[16] = {-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16};
    CHECK(sl_maxpool2d_forward(&g, xs, y, idx) == SL_OK); /* padding is -inf, never chosen */
    CHECK(y[0] == -1 && y[1] == -2 && y[2] == -5 && y[3] == -6);
    CHECK(idx[0] == 0 && idx[1] == 1 && idx[2] == 4 && idx[3] == 5);
    float xo[16] = {0};
    xo[5] = 1; /* the centre of all four windows */
    CHECK(sl_maxpool2d_forward(&g, xo, y, idx) == SL_OK);
    CHECK(idx[0] == 5 && idx[1] == 5 && idx[2] == 5 && idx[3] == 5);
    CHECK(sl_maxpool2d_backward(&g, dy, idx, dx) == SL_OK);
    CHECK(dx[5] == 10 && dx[0] == 0);

    /* ties: the first maximum in window order wins */
    float xt[4] = {2, 2, 2, 2};
    CHECK(sl_maxpool2d_geom_init(&g, 1, 1, 2, 2, 2, 2, 1, 0) == SL_OK);
    CHECK(sl_maxpool2d_forward(&g, xt, y, idx) == SL_OK);
    CHECK(idx[0] == 0);
    /* NaN propagates */
    xt[2] = NAN;
    CHECK(sl_maxpool2d_forward(&g, xt, y, NULL) == SL_OK);
    CHECK(isnan(y[0]));
}

/* One 4x4 image, 3x3 stride 2 padding 1 (-> 2x2), channels last with C = 4 so
 * each channel has its own argmax: a wrong channel stride or an index counted in
 * floats instead of pixels gives other numbers. */
static void test_hand_computed_channels_last(void)
{
    enum { C = 4 };
    sl_maxpool2d_geom g;
    CHECK(sl_maxpool2d_geom_init(&g, 1, C, 4, 4, 3, 3, 2, 1) == SL_OK);
    g.channels_last = true;
    float x[16 * C], y[4 * C], dy[4 * C], dx[16 * C];
    int64_t idx[4 * C];
    for (int p = 0; p < 16; p++) {
        x[p * C + 0] = (float)(-1 - p); /* decreasing: the window's first valid pixel, padding never */
        x[p * C + 1] = (float)p;        /* increasing: the window's last pixel */
        x[p * C + 2] = 2;               /* all tied: the first valid pixel */
        x[p * C + 3] = p == 6 || p == 9 ? NAN : (float)p; /* the first NaN in row-major order */
    }
    CHECK(sl_maxpool2d_forward(&g, x, y, idx) == SL_OK);
    /* windows: (0,0) rows 0-1 cols 0-1; (0,1) rows 0-1 cols 1-3; (1,0) rows 1-3 cols 0-1;
     * (1,1) rows 1-3 cols 1-3 */
    const int64_t want[C][4] = {{0, 1, 4, 5}, {5, 7, 13, 15}, {0, 1, 4, 5}, {5, 6, 9, 6}};
    for (int q = 0; q < 4; q++)
        for (int c = 0; c < C; c++) {
            CHECK(idx[q * C + c] == want[c][q]);
            if (c == 3 && q > 0) CHECK(isnan(y[q * C + c]));
            else CHECK(y[q * C + c] == x[want[c][q] * C + c]);
        }
    float yn[4 * C];
    CHECK(sl_maxpool2d_forward(&g, x, yn, NULL) == SL_OK);
    CHECK(memcmp(y, yn, sizeof y) == 0);
    /* the gradient lands on each channel's own argmax, summed where windows share it */
    for (int i = 0; i < 4 * C; i++) dy[i] = (float)(1 + i);
    CHECK(sl_maxpool2d_backward(&g, dy, idx, dx) == SL_OK);
    for (int p = 0; p < 16; p++)
        for (int c = 0; c < C; c++) {
            float sum = 0;
            for (int q = 0; q < 4; q++)
                if (want[c][q] == p) sum += dy[q * C + c];
            CHECK(dx[p * C + c] == sum);
        }
    CHECK(dx[6 * C + 3] == dy[1 * C + 3] + dy[3 * C + 3]);

    /* a window all -inf still names its first pixel, as channels first */
    for (int i = 0; i < 16 * C; i++) x[i] = -INFINITY;
    CHECK(sl_maxpool2d_forward(&g, x, y, idx) == SL_OK);
    for (int q = 0; q < 4; q++)
        for (int c = 0; c < C; c++) CHECK(y[q * C + c] == -INFINITY && idx[q * C + c] == want[0][q]);
}

static int64_t *to_channels_last_i64(const int64_t *a, int N, int C, int64_t S)
{
    int64_t *b = sl_malloc(sizeof(int64_t) * (size_t)N * C * S);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int64_t s = 0; s < S; s++) b[((int64_t)n * S + s) * C + c] = a[((int64_t)n * C + c) * S + s];
    return b;
}

typedef struct {
    int N, C, H, W, K, stride, pad;
} shape;

static const shape shapes[] = {
    {1, 1, 4, 4, 2, 2, 0},       /* test_hand_computed's */
    {1, 1, 4, 4, 3, 2, 1},
    {1, 1, 2, 2, 2, 1, 0},
    {2, 3, 7, 6, 3, 2, 1},       /* test_gradcheck's (square kernels here) */
    {1, 2, 8, 8, 2, 2, 0},
    {3, 2, 5, 9, 3, 1, 1},
    {2, 64, 112, 112, 3, 2, 1},  /* ResNet's stem pool */
    {2, 1, 9, 7, 3, 2, 1},       /* odd channel counts: below, at and past a vector */
    {3, 3, 10, 11, 2, 2, 0},
    {2, 17, 13, 6, 3, 1, 1},
    {1, 17, 5, 5, 5, 3, 2},
};

/* Quantised normals (many ties), some -inf and NaN: channels last must give
 * channels first's y, indices and grad_x on the transposed data, bit for bit. */
static void test_channels_last_matches(void)
{
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const shape s = shapes[k];
        sl_maxpool2d_geom g;
        CHECK(sl_maxpool2d_geom_init(&g, s.N, s.C, s.H, s.W, s.K, s.K, s.stride, s.pad) == SL_OK);
        const int64_t S = (int64_t)s.H * s.W, OS = (int64_t)g.OH * g.OW;
        const int64_t nx = s.N * s.C * S, ny = s.N * s.C * OS;
        float *x = tu_normal(nx, 200 + k, 1), *dy = tu_normal(ny, 300 + k, 1);
        for (int64_t i = 0; i < nx; i++) {
            x[i] = roundf(2 * x[i]) / 2;
            if (i % 37 == 5) x[i] = -INFINITY;
            if (i % 101 == 7) x[i] = NAN;
        }
        float *y = tu_zeros(ny), *dx = tu_zeros(nx);
        int64_t *idx = sl_malloc(sizeof(int64_t) * ny);
        CHECK(sl_maxpool2d_forward(&g, x, y, idx) == SL_OK);
        CHECK(sl_maxpool2d_backward(&g, dy, idx, dx) == SL_OK);

        g.channels_last = true;
        float *xl = tu_to_channels_last(x, s.N, s.C, S), *dyl = tu_to_channels_last(dy, s.N, s.C, OS);
        float *yl = tu_zeros(ny), *yln = tu_zeros(ny), *dxl = tu_normal(nx, 400, 1); /* overwritten */
        int64_t *idxl = sl_malloc(sizeof(int64_t) * ny);
        CHECK(sl_maxpool2d_forward(&g, xl, yl, idxl) == SL_OK);
        CHECK(sl_maxpool2d_forward(&g, xl, yln, NULL) == SL_OK);
        CHECK(sl_maxpool2d_backward(&g, dyl, idxl, dxl) == SL_OK);
        float *yt = tu_to_channels_last(y, s.N, s.C, OS), *dxt = tu_to_channels_last(dx, s.N, s.C, S);
        int64_t *idxt = to_channels_last_i64(idx, s.N, s.C, OS);
        const int ok = memcmp(yl, yt, sizeof(float) * ny) == 0 && memcmp(yln, yt, sizeof(float) * ny) == 0 &&
                       memcmp(idxl, idxt, sizeof(int64_t) * ny) == 0 && memcmp(dxl, dxt, sizeof(float) * nx) == 0;
        if (!ok)
            fprintf(stderr, "  shape [%dx%dx%dx%d] kernel %d stride %d pad %d\n", s.N, s.C, s.H, s.W, s.K,
                    s.stride, s.pad);
        CHECK(ok);
        sl_free(x); sl_free(dy); sl_free(y); sl_free(dx); sl_free(idx);
        sl_free(xl); sl_free(dyl); sl_free(yl); sl_free(yln); sl_free(dxl); sl_free(idxl);
        sl_free(yt); sl_free(dxt); sl_free(idxt);
    }
}

typedef struct {
    sl_maxpool2d_geom g;
    float *x, *y, *r;
} fd_ctx;

static double pool_loss(void *v)
{
    fd_ctx *c = v;
    sl_maxpool2d_forward(&c->g, c->x, c->y, NULL);
    return tu_dot(c->y, c->r, (int64_t)c->g.N * c->g.C * c->g.OH * c->g.OW);
}

static void test_gradcheck(void)
{
    const int cases[][8] = {{2, 3, 7, 6, 3, 3, 2, 1}, {1, 2, 8, 8, 2, 2, 2, 0}, {3, 2, 5, 9, 3, 2, 1, 1},
                            {2, 17, 6, 5, 3, 3, 2, 1}};
    for (int cl = 0; cl < 2; cl++)
        for (int k = 0; k < 4; k++) {
            const int *s = cases[k];
            fd_ctx c;
            CHECK(sl_maxpool2d_geom_init(&c.g, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]) == SL_OK);
            c.g.channels_last = cl;
            const int64_t nx = (int64_t)s[0] * s[1] * s[2] * s[3], ny = (int64_t)s[0] * s[1] * c.g.OH * c.g.OW;
            /* distinct values 0.1 apart in random order: no ties within a +-0.01 nudge */
            int64_t *perm = sl_malloc(sizeof(int64_t) * nx);
            sl_rng rng;
            sl_rng_init(&rng, 50 + k);
            sl_rng_randperm(&rng, perm, nx);
            c.x = tu_zeros(nx);
            for (int64_t i = 0; i < nx; i++) c.x[i] = 0.1f * (float)(perm[i] - nx / 2);
            c.y = tu_zeros(ny);
            c.r = tu_normal(ny, 60 + k, 1);
            int64_t *idx = sl_malloc(sizeof(int64_t) * ny);
            float *dx = tu_normal(nx, 70, 1); /* overwritten */
            CHECK(sl_maxpool2d_forward(&c.g, c.x, c.y, idx) == SL_OK);
            CHECK(sl_maxpool2d_backward(&c.g, c.r, idx, dx) == SL_OK);
            CHECK_GRAD(cl ? "maxpool2d d/dx (channels last)" : "maxpool2d d/dx", pool_loss, &c, c.x, dx, nx, 1e-2f,
                       1e-3, 1e-3, 400);
            sl_free(perm); sl_free(c.x); sl_free(c.y); sl_free(c.r); sl_free(idx); sl_free(dx);
        }
}

/* ResNet's stem pool is large enough to go parallel both ways: 1, 2 and 3
 * threads give the same bits, channels first and last. */
static void test_thread_independent(void)
{
    sl_maxpool2d_geom g;
    CHECK(sl_maxpool2d_geom_init(&g, 2, 64, 112, 112, 3, 3, 2, 1) == SL_OK);
    const int64_t nx = (int64_t)g.N * g.C * g.H * g.W, ny = (int64_t)g.N * g.C * g.OH * g.OW;
    float *x = tu_normal(nx, 500, 1), *dy = tu_normal(ny, 501, 1);
    for (int64_t i = 0; i < nx; i++) x[i] = roundf(4 * x[i]); /* ties, to be broken alike */
    const int saved = sl_get_num_threads();
    for (int cl = 0; cl < 2; cl++) {
        g.channels_last = cl;
        float *y[3], *dx[3];
        int64_t *idx[3];
        for (int t = 0; t < 3; t++) {
            sl_set_num_threads(t + 1);
            y[t] = tu_zeros(ny); dx[t] = tu_zeros(nx);
            idx[t] = sl_malloc(sizeof(int64_t) * ny);
            CHECK(sl_maxpool2d_forward(&g, x, y[t], idx[t]) == SL_OK);
            CHECK(sl_maxpool2d_backward(&g, dy, idx[t], dx[t]) == SL_OK);
        }
        for (int t = 1; t < 3; t++) {
            CHECK(memcmp(y[0], y[t], sizeof(float) * ny) == 0);
            CHECK(memcmp(idx[0], idx[t], sizeof(int64_t) * ny) == 0);
            CHECK(memcmp(dx[0], dx[t], sizeof(float) * nx) == 0);
        }
        for (int t = 0; t < 3; t++) { sl_free(y[t]); sl_free(dx[t]); sl_free(idx[t]); }
    }
    sl_set_num_threads(saved);
    sl_free(x); sl_free(dy);
}

static void test_errors(void)
{
    sl_maxpool2d_geom g;
    CHECK_FAILS(sl_maxpool2d_geom_init(&g, 1, 1, 4, 4, 3, 3, 2, 2), "padding 2 must be at most half the kernel 3x3");
    CHECK_FAILS(sl_maxpool2d_geom_init(&g, 1, 1, 2, 2, 5, 5, 1, 1), "kernel 5x5 larger than padded input 4x4");
    CHECK_FAILS(sl_maxpool2d_geom_init(&g, 1, 0, 2, 2, 2, 2, 1, 0), "[1x0x2x2]");
    CHECK(sl_maxpool2d_geom_init(&g, 1, 1, 4, 4, 2, 2, 2, 0) == SL_OK);
    float b[16] = {0};
    int64_t idx[4] = {0, 1, 16, 2};
    CHECK_FAILS(sl_maxpool2d_backward(&g, b, idx, b), "index lies outside the 4x4 input plane");
    g.channels_last = true; /* checked per channel too: idx is [1x2x2x1] */
    CHECK_FAILS(sl_maxpool2d_backward(&g, b, idx, b), "(indices [1x2x2x1], channels last)");
    g.OW = 3;
    CHECK_FAILS(sl_maxpool2d_forward(&g, b, b, NULL), "output 2x3 does not match");
}

int main(void)
{
    RUN(test_hand_computed);
    RUN(test_hand_computed_channels_last);
    RUN(test_channels_last_matches);
    RUN(test_gradcheck);
    RUN(test_thread_independent);
    RUN(test_errors);
    return test_summary();
}
