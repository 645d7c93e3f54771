/* test_nn_mse.c - mean squared error: exact values, finite differences, errors. */
#include "nn/nn.h"
#include "nn_testutil.h"

static void test_exact(void)
{
    float x[3] = {1, 2, 3}, t[3] = {0, 2, 5}, l, g[3];
    CHECK(sl_mse(x, t, &l, g, 3) == SL_OK);
    CHECK_NEAR(l, 5.0 / 3, 1e-6);
    CHECK_NEAR(g[0], 2.0 / 3, 1e-7);
    CHECK(g[1] == 0);
    CHECK_NEAR(g[2], -4.0 / 3, 1e-7);
}

typedef struct {
    float *x, *t;
    int64_t n;
} fd_ctx;

static double loss_fn(void *v)
{
    fd_ctx *c = v;
    float l;
    sl_mse(c->x, c->t, &l, NULL, c->n);
    return l;
}

static void test_gradcheck(void)
{
    fd_ctx c = {.n = 300000}; /* parallel path */
    c.x = tu_normal(c.n, 1, 1);
    c.t = tu_normal(c.n, 2, 1);
    float *g = tu_zeros(c.n), l;
    CHECK(sl_mse(c.x, c.t, &l, g, c.n) == SL_OK);
    double ref = 0;
    for (int64_t i = 0; i < c.n; i++) ref += ((double)c.x[i] - c.t[i]) * ((double)c.x[i] - c.t[i]);
    CHECK_NEAR(l, ref / c.n, 1e-6);
    CHECK_GRAD("mse d/dx", loss_fn, &c, c.x, g, c.n, 0.5f, 5e-7, 1e-2, 10); /* the loss is a float: ~2.4e-7 resolution */
    sl_free(c.x); sl_free(c.t); sl_free(g);
}

static void test_errors(void)
{
    float b[1], l;
    CHECK_FAILS(sl_mse(b, b, &l, NULL, 0), "mse: need at least one element, got [0]");
    CHECK_FAILS(sl_mse(b, NULL, &l, NULL, 1), "mse: NULL");
}

int main(void)
{
    RUN(test_exact);
    RUN(test_gradcheck);
    RUN(test_errors);
    return test_summary();
}
