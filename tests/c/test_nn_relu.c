/* test_nn_relu.c - relu forward/backward: exact values, in place, finite
 * differences away from the kink at 0, errors. */
#include "nn/nn.h"
#include "nn_testutil.h"

static void test_exact_and_in_place(void)
{
    float x[5] = {-2, -0.0f, 0, 0.5f, 3}, y[5], dy[5] = {1, 2, 3, 4, 5}, dx[5];
    CHECK(sl_relu_forward(x, y, 5) == SL_OK);
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 0.5f && y[4] == 3);
    CHECK(sl_relu_backward(y, dy, dx, 5) == SL_OK);
    CHECK(dx[0] == 0 && dx[1] == 0 && dx[2] == 0 && dx[3] == 4 && dx[4] == 5); /* gradient 0 at 0, as PyTorch */
    CHECK(sl_relu_forward(x, x, 5) == SL_OK);
    CHECK(memcmp(x, y, sizeof x) == 0);
    CHECK(sl_relu_backward(x, dy, dy, 5) == SL_OK);
    CHECK(memcmp(dx, dy, sizeof dx) == 0);
    CHECK(sl_relu_forward(NULL, NULL, 0) == SL_OK);
}

typedef struct {
    float *x, *y, *r;
    int64_t n;
} fd_ctx;

static double relu_loss(void *v)
{
    fd_ctx *c = v;
    sl_relu_forward(c->x, c->y, c->n);
    return tu_dot(c->y, c->r, c->n);
}

static void test_gradcheck(void)
{
    fd_ctx c = {.n = 300000}; /* large enough for the parallel path */
    c.x = tu_normal(c.n, 1, 1);
    for (int64_t i = 0; i < c.n; i++) /* keep |x| >= 0.05, well away from the kink */
        if (fabsf(c.x[i]) < 0.05f) c.x[i] = c.x[i] < 0 ? c.x[i] - 0.05f : c.x[i] + 0.05f;
    c.y = tu_zeros(c.n);
    c.r = tu_normal(c.n, 2, 1);
    float *dx = tu_zeros(c.n);
    sl_relu_forward(c.x, c.y, c.n);
    CHECK(sl_relu_backward(c.y, c.r, dx, c.n) == SL_OK);
    CHECK_GRAD("relu d/dx", relu_loss, &c, c.x, dx, c.n, 1e-2f, 1e-3, 1e-3, 20);
    sl_free(c.x); sl_free(c.y); sl_free(c.r); sl_free(dx);
}

static void test_errors(void)
{
    float b[2];
    CHECK_FAILS(sl_relu_forward(b, b, -1), "relu_forward: bad arguments, [-1] elements");
    CHECK_FAILS(sl_relu_backward(b, NULL, b, 2), "relu_backward");
}

int main(void)
{
    RUN(test_exact_and_in_place);
    RUN(test_gradcheck);
    RUN(test_errors);
    return test_summary();
}
