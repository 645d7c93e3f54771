/* test_nn_cross_entropy.c - softmax cross-entropy: exact values with and without
 * label smoothing, finite differences, large logits, target validation. */
#include "nn/nn.h"
#include "nn_golden.h"
#include "nn_testutil.h"
#include "tensor/gemm.h"

static void test_exact(void)
{
    float z[4] = {0, 0, 1, 3}, loss, g[4];
    int64_t t[2] = {0, 1};
    /* row 0: log 2; row 1: lse(1,3) - 3 */
    const double r1 = log(exp(1.0) + exp(3.0)) - 3;
    CHECK(sl_cross_entropy(z, t, &loss, g, 2, 2, 0.0f) == SL_OK);
    CHECK_NEAR(loss, (log(2.0) + r1) / 2, 1e-6);
    CHECK_NEAR(g[0], (0.5 - 1) / 2, 1e-7);
    CHECK_NEAR(g[1], 0.5 / 2, 1e-7);
    const double p13 = exp(1.0) / (exp(1.0) + exp(3.0));
    CHECK_NEAR(g[2], p13 / 2, 1e-7);
    CHECK_NEAR(g[3], (1 - p13 - 1) / 2, 1e-7);
    /* label smoothing 0.2, K = 2: target dist (0.9, 0.1) for row 0 */
    CHECK(sl_cross_entropy(z, t, &loss, g, 2, 2, 0.2f) == SL_OK);
    const double l0 = log(2.0), l1a = log(exp(1.0) + exp(3.0)) - 1;
    CHECK_NEAR(loss, (l0 + (0.9 * r1 + 0.1 * l1a)) / 2, 1e-6);
    CHECK_NEAR(g[0], (0.5 - 0.9) / 2, 1e-7);
    CHECK_NEAR(g[2], (p13 - 0.1) / 2, 1e-7);
    /* no gradient requested; large logits do not overflow */
    float big[3] = {1000, 0, -1000};
    int64_t tb[1] = {1};
    CHECK(sl_cross_entropy(big, tb, &loss, NULL, 1, 3, 0.0f) == SL_OK);
    CHECK_NEAR(loss, 1000, 1e-3);
}

typedef struct {
    float *z;
    int64_t *t;
    int N, K;
    float s;
} fd_ctx;

static double loss_fn(void *v)
{
    fd_ctx *c = v;
    float l;
    sl_cross_entropy(c->z, c->t, &l, NULL, c->N, c->K, c->s);
    return l;
}

static void test_gradcheck(void)
{
    const float smooth[2] = {0.0f, 0.1f};
    for (int k = 0; k < 2; k++) {
        fd_ctx c = {.N = 6, .K = 7, .s = smooth[k]};
        c.z = tu_normal(42, 1, 2);
        c.t = sl_malloc(sizeof(int64_t) * 6);
        for (int n = 0; n < 6; n++) c.t[n] = (n * 3) % 7;
        float *g = tu_zeros(42), l;
        CHECK(sl_cross_entropy(c.z, c.t, &l, g, c.N, c.K, c.s) == SL_OK);
        CHECK_GRAD("cross_entropy d/dlogits", loss_fn, &c, c.z, g, 42, 1e-2f, 2e-4, 2e-3, 42);
        for (int n = 0; n < 6; n++) { /* each gradient row sums to zero */
            double s = 0;
            for (int j = 0; j < 7; j++) s += g[n * 7 + j];
            CHECK_NEAR(s, 0, 1e-6);
        }
        sl_free(c.z); sl_free(c.t); sl_free(g);
    }
}

/* Many rows: the chunked parallel sum equals a serial double sum. */
static void test_many_rows(void)
{
    const int N = 3000, K = 10;
    float *z = tu_normal((int64_t)N * K, 5, 1), l;
    int64_t *t = sl_malloc(sizeof(int64_t) * N);
    for (int n = 0; n < N; n++) t[n] = n % K;
    CHECK(sl_cross_entropy(z, t, &l, NULL, N, K, 0.0f) == SL_OK);
    double ref = 0;
    for (int n = 0; n < N; n++) {
        double se = 0;
        for (int j = 0; j < K; j++) se += exp((double)z[n * K + j]);
        ref += log(se) - z[n * K + t[n]];
    }
    CHECK_NEAR(l, ref / N, 1e-6);
    sl_free(z); sl_free(t);
}

static void test_thread_independent(void)
{
    const int N = 600, K = 100;
    float *z = tu_normal((int64_t)N * K, 7, 2), *g[2], l[2];
    int64_t *t = sl_malloc(sizeof(int64_t) * N);
    for (int n = 0; n < N; n++) t[n] = (n * 7) % K;
    const int saved = sl_get_num_threads();
    for (int k = 0; k < 2; k++) {
        sl_set_num_threads(k + 1);
        g[k] = tu_zeros((int64_t)N * K);
        CHECK(sl_cross_entropy(z, t, &l[k], g[k], N, K, 0.1f) == SL_OK);
    }
    sl_set_num_threads(saved);
    CHECK(l[0] == l[1]);
    CHECK(memcmp(g[0], g[1], sizeof(float) * N * K) == 0);
    sl_free(z); sl_free(t); sl_free(g[0]); sl_free(g[1]);
}

/* Against PyTorch F.cross_entropy(label_smoothing=0.15) (tests/c/nn_golden.h). */
static void test_pytorch_golden(void)
{
    float z[12], g[12], gr[12], l;
    int64_t t[3] = {2, 0, 3};
    for (int i = 0; i < 12; i++) {
        z[i] = (float)(((i * 3) % 5 - 2) * 0.7);
        gr[i] = (float)golden_ce_grad[i];
    }
    CHECK(sl_cross_entropy(z, t, &l, g, 3, 4, 0.15f) == SL_OK);
    CHECK_NEAR(l, golden_ce_loss[0], 1e-6);
    CHECK_CLOSE("cross_entropy grad vs PyTorch", g, gr, 12, 1e-7, 1e-6);
}

static void test_errors(void)
{
    float z[6] = {0}, l;
    int64_t t[2] = {1, 5};
    CHECK_FAILS(sl_cross_entropy(z, t, &l, NULL, 2, 3, 0.0f), "target 5 at row 1 is out of range for 3 classes");
    t[1] = -1;
    CHECK_FAILS(sl_cross_entropy(z, t, &l, NULL, 2, 3, 0.0f), "target -1 at row 1");
    t[1] = 0;
    CHECK_FAILS(sl_cross_entropy(z, t, &l, NULL, 2, 3, 1.5f), "label_smoothing 1.5");
    CHECK_FAILS(sl_cross_entropy(z, t, &l, NULL, 0, 3, 0.0f), "logits [0x3]");
}

int main(void)
{
    RUN(test_exact);
    RUN(test_gradcheck);
    RUN(test_many_rows);
    RUN(test_thread_independent);
    RUN(test_pytorch_golden);
    RUN(test_errors);
    return test_summary();
}
