/* test_ssl_ntxent.c - NT-Xent: a hand-computed N = 1 case, forward against a
 * double-precision reference, finite-difference gradients, pos_rank, errors
 * and thread-count independence. */
#include "nn_testutil.h"
#include "ssl/ssl.h"
#include "tensor/gemm.h"

typedef struct {
    float *z;
    int N, D;
    double T;
} ref_ctx;

static double ref_loss(void *v)
{
    ref_ctx *c = v;
    const int R = 2 * c->N;
    double total = 0;
    for (int i = 0; i < R; i++) {
        double se = 0, zp = 0;
        for (int j = 0; j < R; j++) {
            if (j == i) continue;
            const double s = tu_dot(c->z + (int64_t)i * c->D, c->z + (int64_t)j * c->D, c->D) / c->T;
            se += exp(s);
            if (j == (i + c->N) % R) zp = s;
        }
        total += log(se) - zp;
    }
    return total / R;
}

static void test_hand(void)
{
    /* N = 1: each row's only other row is its positive: loss 0, gradient 0 */
    float z[4] = {1, 0, 0.6f, 0.8f}, g[4], work[4], loss;
    int64_t rank[2];
    CHECK(sl_ntxent(z, &loss, g, rank, work, 1, 2, 0.5f) == SL_OK);
    CHECK_NEAR(loss, 0, 1e-7);
    CHECK_NEAR(g[0], 0, 1e-7);
    CHECK(rank[0] == 0 && rank[1] == 0);
    /* N = 2, D = 1, z = (1, 1, 1, -1), T = 1: row 0: positive z0.z2 = 1, negatives z0.z1 = 1, z0.z3 = -1 */
    float z2[4] = {1, 1, 1, -1}, g2[4], w2[16];
    int64_t r2[4];
    CHECK(sl_ntxent(z2, &loss, g2, r2, w2, 2, 1, 1.0f) == SL_OK);
    const double l0 = log(exp(1) + exp(1) + exp(-1)) - 1; /* rows 0 and 2 (symmetric roles) */
    const double l1 = log(exp(1) + exp(1) + exp(-1)) + 1; /* row 1: positive z1.z3 = -1, negatives 1, 1 */
    const double l3 = log(3.0);                            /* row 3: all three similarities are -1 */
    CHECK_NEAR(loss, (l0 + l1 + l0 + l3) / 4, 1e-6);
    CHECK(r2[0] == 0 && r2[1] == 2 && r2[2] == 0 && r2[3] == 0);
}

static void test_grad(void)
{
    const int N = 6, D = 5;
    ref_ctx c = {.N = N, .D = D, .T = 0.3};
    c.z = tu_normal(2 * N * D, 11, 0.5f);
    float *g = tu_zeros(2 * N * D), *work = tu_zeros(4 * N * N), loss, loss2;
    CHECK(sl_ntxent(c.z, &loss, g, NULL, work, N, D, 0.3f) == SL_OK);
    CHECK_NEAR(loss, ref_loss(&c), 1e-5);
    CHECK_GRAD("ntxent d/dz", ref_loss, &c, c.z, g, 2 * N * D, 1e-3f, 1e-5, 1e-3, 100);
    /* loss only: same value; work holds the masked logits */
    CHECK(sl_ntxent(c.z, &loss2, NULL, NULL, work, N, D, 0.3f) == SL_OK);
    CHECK(loss == loss2);
    CHECK(isinf(work[0]) && work[0] < 0);
    CHECK_NEAR(work[1], tu_dot(c.z, c.z + D, D) / 0.3, 1e-5);
    sl_free(c.z); sl_free(g); sl_free(work);
}

static void test_errors(void)
{
    float z[4] = {0}, w[4], loss;
    CHECK_FAILS(sl_ntxent(z, &loss, NULL, NULL, w, 0, 2, 0.5f), "ntxent: sizes must be positive");
    CHECK_FAILS(sl_ntxent(z, &loss, NULL, NULL, w, 1, 2, -1.0f), "temperature");
    CHECK_FAILS(sl_ntxent(z, &loss, NULL, NULL, NULL, 1, 2, 0.5f), "NULL");
}

static void test_threads(void)
{
    const int N = 256, D = 64;
    float *z = tu_normal(2 * N * D, 12, 1), *w = tu_zeros(4 * N * N), *g1 = tu_zeros(2 * N * D);
    float *g2 = tu_zeros(2 * N * D), l1, l2;
    const int saved = sl_get_num_threads();
    sl_set_num_threads(1);
    CHECK(sl_ntxent(z, &l1, g1, NULL, w, N, D, 0.5f) == SL_OK);
    sl_set_num_threads(2);
    CHECK(sl_ntxent(z, &l2, g2, NULL, w, N, D, 0.5f) == SL_OK);
    sl_set_num_threads(saved);
    CHECK(l1 == l2);
    CHECK_CLOSE("ntxent grad 1 vs 2 threads", g1, g2, 2 * N * D, 0, 0);
    sl_free(z); sl_free(w); sl_free(g1); sl_free(g2);
}

int main(void)
{
    RUN(test_hand);
    RUN(test_grad);
    RUN(test_errors);
    RUN(test_threads);
    return test_summary();
}
