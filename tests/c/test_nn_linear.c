/* test_nn_linear.c - linear layer: vs plain loops, accumulation, optional
 * gradients, finite differences, hand-computed case, errors. */
#include "nn/nn.h"
#include "nn_testutil.h"

static void test_vs_loops(void)
{
    const int N = 7, in = 13, out = 5;
    float *x = tu_normal(N * in, 1, 1), *w = tu_normal(out * in, 2, 1), *b = tu_normal(out, 3, 1);
    float *dy = tu_normal(N * out, 4, 1), *y = tu_zeros(N * out), *y_ref = tu_zeros(N * out);
    float *dx = tu_zeros(N * in), *dx_ref = tu_zeros(N * in);
    float *dw = tu_normal(out * in, 5, 1), *dw_ref = tu_copy(dw, out * in);
    float *db = tu_normal(out, 6, 1), *db_ref = tu_copy(db, out), *dw0 = tu_copy(dw, out * in);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < out; j++) {
            double s = b[j];
            for (int i = 0; i < in; i++) s += (double)x[n * in + i] * w[j * in + i];
            y_ref[n * out + j] = (float)s;
            db_ref[j] += dy[n * out + j];
            for (int i = 0; i < in; i++) {
                dx_ref[n * in + i] += dy[n * out + j] * w[j * in + i];
                dw_ref[j * in + i] += dy[n * out + j] * x[n * in + i];
            }
        }
    CHECK(sl_linear_forward(x, y, w, b, N, in, out) == SL_OK);
    CHECK_CLOSE("linear y", y, y_ref, N * out, 1e-5, 1e-5);
    CHECK(sl_linear_backward(x, dy, w, dx, dw, db, N, in, out) == SL_OK);
    CHECK_CLOSE("linear dx", dx, dx_ref, N * in, 1e-5, 1e-5);
    CHECK_CLOSE("linear dw (+=)", dw, dw_ref, out * in, 1e-5, 1e-5);
    CHECK_CLOSE("linear db (+=)", db, db_ref, out, 1e-5, 1e-5);
    /* no bias; frozen layer (grad_x only); first layer (no grad_x) */
    CHECK(sl_linear_forward(x, y, w, NULL, N, in, out) == SL_OK);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < out; j++) CHECK_NEAR(y[n * out + j], y_ref[n * out + j] - b[j], 1e-5);
    float *dx2 = tu_zeros(N * in), *dw2 = tu_copy(dw, out * in);
    CHECK(sl_linear_backward(NULL, dy, w, dx2, NULL, NULL, N, in, out) == SL_OK);
    CHECK_CLOSE("linear dx only", dx2, dx_ref, N * in, 1e-5, 1e-5);
    CHECK(sl_linear_backward(x, dy, NULL, NULL, dw2, NULL, N, in, out) == SL_OK);
    for (int k = 0; k < out * in; k++) CHECK_NEAR(dw2[k] - dw[k], dw_ref[k] - dw0[k], 1e-4); /* one more += */
    sl_free(x); sl_free(w); sl_free(b); sl_free(dy); sl_free(y); sl_free(y_ref); sl_free(dx); sl_free(dx_ref);
    sl_free(dw); sl_free(dw_ref); sl_free(db); sl_free(db_ref); sl_free(dx2); sl_free(dw2); sl_free(dw0);
}

static void test_hand_computed(void)
{
    float x[2] = {1, 2}, w[4] = {1, 0, 3, -1}, b[2] = {0.5f, 0}, y[2];
    CHECK(sl_linear_forward(x, y, w, b, 1, 2, 2) == SL_OK);
    CHECK(y[0] == 1.5f && y[1] == 1);
    float dy[2] = {1, 2}, dx[2], dw[4] = {0}, db[2] = {0};
    CHECK(sl_linear_backward(x, dy, w, dx, dw, db, 1, 2, 2) == SL_OK);
    CHECK(dx[0] == 7 && dx[1] == -2);
    CHECK(dw[0] == 1 && dw[1] == 2 && dw[2] == 2 && dw[3] == 4);
    CHECK(db[0] == 1 && db[1] == 2);
}

typedef struct {
    float *x, *w, *b, *y, *r;
    int N, in, out;
} fd_ctx;

static double loss(void *v)
{
    fd_ctx *c = v;
    sl_linear_forward(c->x, c->y, c->w, c->b, c->N, c->in, c->out);
    return tu_dot(c->y, c->r, (int64_t)c->N * c->out);
}

static void test_gradcheck(void)
{
    fd_ctx c = {.N = 4, .in = 6, .out = 3};
    c.x = tu_normal(24, 1, 1); c.w = tu_normal(18, 2, 1); c.b = tu_normal(3, 3, 1);
    c.y = tu_zeros(12); c.r = tu_normal(12, 4, 1);
    float *dx = tu_zeros(24), *dw = tu_zeros(18), *db = tu_zeros(3);
    CHECK(sl_linear_backward(c.x, c.r, c.w, dx, dw, db, c.N, c.in, c.out) == SL_OK);
    CHECK_GRAD("linear d/dx", loss, &c, c.x, dx, 24, 0.25f, 1e-4, 1e-3, 100);
    CHECK_GRAD("linear d/dw", loss, &c, c.w, dw, 18, 0.25f, 1e-4, 1e-3, 100);
    CHECK_GRAD("linear d/db", loss, &c, c.b, db, 3, 0.25f, 1e-4, 1e-3, 100);
    sl_free(c.x); sl_free(c.w); sl_free(c.b); sl_free(c.y); sl_free(c.r); sl_free(dx); sl_free(dw); sl_free(db);
}

static void test_errors(void)
{
    float b[4];
    CHECK_FAILS(sl_linear_forward(b, b, b, NULL, 2, 0, 3), "linear_forward: sizes must be positive, input [2x0], weight [3x0]");
    CHECK_FAILS(sl_linear_forward(b, b, NULL, NULL, 1, 1, 1), "linear_forward: NULL");
    CHECK_FAILS(sl_linear_backward(NULL, b, b, NULL, b, NULL, 1, 1, 1), "linear_backward: NULL");
}

int main(void)
{
    RUN(test_vs_loops);
    RUN(test_hand_computed);
    RUN(test_gradcheck);
    RUN(test_errors);
    return test_summary();
}
