/* test_nn_l2norm.c - L2 row normalisation: exact values, the eps clamp, aliasing,
 * finite differences, errors. */
#include "nn/nn.h"
#include "nn_testutil.h"

static void test_exact(void)
{
    float x[4] = {3, 4, 0, 0}, y[4];
    CHECK(sl_l2norm_forward(x, y, 2, 2, 1e-12f) == SL_OK);
    CHECK_NEAR(y[0], 0.6, 1e-7);
    CHECK_NEAR(y[1], 0.8, 1e-7);
    CHECK(y[2] == 0 && y[3] == 0); /* zero row stays zero */
    /* gradient of y = x/||x|| at (3,4) with dy = (1,0): (1 - 0.36, -0.48) / 5 */
    float dy[4] = {1, 0, 1, 1}, dx[4];
    CHECK(sl_l2norm_backward(x, dy, dx, 2, 2, 1e-12f) == SL_OK);
    CHECK_NEAR(dx[0], 0.64 / 5, 1e-7);
    CHECK_NEAR(dx[1], -0.48 / 5, 1e-7);
    CHECK_NEAR(dx[2], 1e12, 1e5); /* below eps: dy / eps, as F.normalize */
    /* norm below eps: y = x / eps, dx = dy / eps */
    float xs[2] = {3e-3f, 4e-3f}, ys[2], ds[2] = {1, 2}, dxs[2];
    CHECK(sl_l2norm_forward(xs, ys, 1, 2, 0.01f) == SL_OK);
    CHECK_NEAR(ys[0], 0.3, 1e-6);
    CHECK(sl_l2norm_backward(xs, ds, dxs, 1, 2, 0.01f) == SL_OK);
    CHECK_NEAR(dxs[0], 100, 1e-4);
    CHECK_NEAR(dxs[1], 200, 1e-4);
    /* in place */
    CHECK(sl_l2norm_forward(x, x, 2, 2, 1e-12f) == SL_OK);
    CHECK(memcmp(x, y, sizeof y) == 0);
}

typedef struct {
    float *x, *y, *r;
    int N, D;
    float eps;
} fd_ctx;

static double loss(void *v)
{
    fd_ctx *c = v;
    sl_l2norm_forward(c->x, c->y, c->N, c->D, c->eps);
    return tu_dot(c->y, c->r, (int64_t)c->N * c->D);
}

static void test_gradcheck(void)
{
    fd_ctx c = {.N = 5, .D = 16, .eps = 1e-12f};
    c.x = tu_normal(80, 1, 1);
    c.y = tu_zeros(80);
    c.r = tu_normal(80, 2, 1);
    float *dx = tu_zeros(80), *dx2 = tu_copy(c.r, 80);
    CHECK(sl_l2norm_backward(c.x, c.r, dx, c.N, c.D, c.eps) == SL_OK);
    CHECK_GRAD("l2norm d/dx", loss, &c, c.x, dx, 80, 1e-2f, 1e-3, 2e-3, 80);
    CHECK(sl_l2norm_backward(c.x, dx2, dx2, c.N, c.D, c.eps) == SL_OK); /* grad_x aliases grad_y */
    CHECK(memcmp(dx, dx2, sizeof(float) * 80) == 0);
    /* gradient is orthogonal to y */
    sl_l2norm_forward(c.x, c.y, c.N, c.D, c.eps);
    for (int n = 0; n < c.N; n++) CHECK_NEAR(tu_dot(c.y + n * c.D, dx + n * c.D, c.D), 0, 1e-5);
    /* a row whose norm is below eps */
    for (int j = 0; j < c.D; j++) c.x[j] *= 1e-3f;
    c.eps = 0.1f;
    CHECK(sl_l2norm_backward(c.x, c.r, dx, c.N, c.D, c.eps) == SL_OK);
    CHECK_GRAD("l2norm d/dx (clamped row)", loss, &c, c.x, dx, c.D, 1e-4f, 1e-2, 1e-3, 16);
    sl_free(c.x); sl_free(c.y); sl_free(c.r); sl_free(dx); sl_free(dx2);
}

static void test_errors(void)
{
    float b[4];
    CHECK_FAILS(sl_l2norm_forward(b, b, 0, 4, 1e-12f), "l2norm_forward: sizes must be positive, input [0x4]");
    CHECK_FAILS(sl_l2norm_forward(b, b, 1, 4, -1.0f), "eps -1 must be >= 0");
    CHECK_FAILS(sl_l2norm_backward(b, b, NULL, 1, 4, 1e-12f), "l2norm_backward: NULL grad_input");
}

int main(void)
{
    RUN(test_exact);
    RUN(test_gradcheck);
    RUN(test_errors);
    return test_summary();
}
