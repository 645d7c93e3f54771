/* test_nn_avgpool.c - global average pooling: exact values, finite differences, errors. */
#include "nn/nn.h"
#include "nn_testutil.h"

static void test_exact(void)
{
    float x[12] = {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}, y[2], dy[2] = {6, 12}, dx[12];
    CHECK(sl_global_avgpool_forward(x, y, 1, 2, 2, 3, false) == SL_OK);
    CHECK_NEAR(y[0], 3.5, 1e-6);
    CHECK_NEAR(y[1], 35, 1e-5);
    CHECK(sl_global_avgpool_backward(dy, dx, 1, 2, 2, 3, false) == SL_OK);
    for (int i = 0; i < 12; i++) CHECK_NEAR(dx[i], i < 6 ? 1 : 2, 1e-7);
    /* the same image channels last: pixel p holds (x[p], x[6 + p]) */
    float xl[12], dxl[12];
    for (int p = 0; p < 6; p++) xl[2 * p] = x[p], xl[2 * p + 1] = x[6 + p];
    CHECK(sl_global_avgpool_forward(xl, y, 1, 2, 2, 3, true) == SL_OK);
    CHECK_NEAR(y[0], 3.5, 1e-6);
    CHECK_NEAR(y[1], 35, 1e-5);
    CHECK(sl_global_avgpool_backward(dy, dxl, 1, 2, 2, 3, true) == SL_OK);
    for (int i = 0; i < 12; i++) CHECK_NEAR(dxl[i], i % 2 ? 2 : 1, 1e-7);
}

typedef struct {
    float *x, *y, *r;
    int N, C, H, W;
    bool channels_last;
} fd_ctx;

static double loss(void *v)
{
    fd_ctx *c = v;
    sl_global_avgpool_forward(c->x, c->y, c->N, c->C, c->H, c->W, c->channels_last);
    return tu_dot(c->y, c->r, (int64_t)c->N * c->C);
}

static void test_gradcheck(void)
{
    for (int cl = 0; cl < 2; cl++) {
    fd_ctx c = {.N = 3, .C = 4, .H = 5, .W = 3, .channels_last = cl};
    const int64_t nx = 3 * 4 * 5 * 3;
    c.x = tu_normal(nx, 1, 1);
    c.y = tu_zeros(12);
    c.r = tu_normal(12, 2, 1);
    float *dx = tu_zeros(nx);
    CHECK(sl_global_avgpool_backward(c.r, dx, c.N, c.C, c.H, c.W, c.channels_last) == SL_OK);
    CHECK_GRAD(cl ? "avgpool d/dx (channels last)" : "avgpool d/dx", loss, &c, c.x, dx, nx, 0.1f, 1e-4, 1e-3, 200);
    sl_free(c.x); sl_free(c.y); sl_free(c.r); sl_free(dx);
    }
}

static void test_errors(void)
{
    float b[4];
    CHECK_FAILS(sl_global_avgpool_forward(b, b, 2, 0, 3, 3, false), "global_avgpool_forward: sizes must be positive, input [2x0x3x3]");
    CHECK_FAILS(sl_global_avgpool_backward(NULL, b, 1, 1, 1, 1, true), "global_avgpool_backward: NULL");
}

int main(void)
{
    RUN(test_exact);
    RUN(test_gradcheck);
    RUN(test_errors);
    return test_summary();
}
