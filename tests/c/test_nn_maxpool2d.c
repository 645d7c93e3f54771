/* test_nn_maxpool2d.c - maxpool2d: hand-computed windows and indices, padding,
 * first-maximum ties, finite differences on tie-free inputs, errors. */
#include "nn/nn.h"
#include "nn_testutil.h"

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
    const int cases[][8] = {{2, 3, 7, 6, 3, 3, 2, 1}, {1, 2, 8, 8, 2, 2, 2, 0}, {3, 2, 5, 9, 3, 2, 1, 1}};
    for (int k = 0; k < 3; k++) {
        const int *s = cases[k];
        fd_ctx c;
        CHECK(sl_maxpool2d_geom_init(&c.g, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]) == SL_OK);
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
        CHECK_GRAD("maxpool2d d/dx", pool_loss, &c, c.x, dx, nx, 1e-2f, 1e-3, 1e-3, 400);
        sl_free(perm); sl_free(c.x); sl_free(c.y); sl_free(c.r); sl_free(idx); sl_free(dx);
    }
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
    g.OW = 3;
    CHECK_FAILS(sl_maxpool2d_forward(&g, b, b, NULL), "output 2x3 does not match");
}

int main(void)
{
    RUN(test_hand_computed);
    RUN(test_gradcheck);
    RUN(test_errors);
    return test_summary();
}
