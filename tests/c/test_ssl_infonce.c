/* test_ssl_infonce.c - InfoNCE: the N=1, K=1 closed form, forward against a
 * double-precision reference, finite-difference gradients (w.r.t. q, k and the
 * negatives; shared, per-query and indexed negatives), pos_rank, K = 0,
 * argument errors, and independence from the thread count. */
#include <stdlib.h>

#include "nn_testutil.h"
#include "ssl/ssl.h"
#include "tensor/gemm.h"

/* Double-precision reference: negatives of query i are rows neg + off(i, j) * D. */
typedef struct {
    float *q, *k, *neg;
    const int64_t *idx; /* indexed mode */
    int N, M, D, mode;  /* mode 0: shared [M x D]; 1: per query [N x M x D]; 2: indexed */
    double T;
} ref_ctx;

static const float *ref_neg(const ref_ctx *c, int i, int j)
{
    if (c->mode == 0) return c->neg + (int64_t)j * c->D;
    if (c->mode == 1) return c->neg + ((int64_t)i * c->M + j) * c->D;
    return c->neg + c->idx[(int64_t)i * c->M + j] * c->D;
}

static double ref_loss(void *v)
{
    ref_ctx *c = v;
    double total = 0;
    for (int i = 0; i < c->N; i++) {
        const float *qi = c->q + (int64_t)i * c->D;
        double zp = tu_dot(qi, c->k + (int64_t)i * c->D, c->D) / c->T, mx = zp;
        double *z = malloc(sizeof(double) * (size_t)(c->M + 1));
        z[0] = zp;
        for (int j = 0; j < c->M; j++) {
            z[1 + j] = tu_dot(qi, ref_neg(c, i, j), c->D) / c->T;
            if (z[1 + j] > mx) mx = z[1 + j];
        }
        double se = 0;
        for (int j = 0; j <= c->M; j++) se += exp(z[j] - mx);
        total += mx + log(se) - zp;
        free(z);
    }
    return total / c->N;
}

static void test_closed_form(void)
{
    /* N = 1, K = 1: loss = log(1 + exp((n - p) / T)) with p = q.k, n = q.neg */
    float q[2] = {0.6f, 0.8f}, k[2] = {1, 0}, neg[2] = {0, 1}, work[2], loss, gq[2], gk[2], gn[2], logits[2];
    int64_t rank;
    const double T = 0.5, p = 0.6, n = 0.8;
    CHECK(sl_infonce(q, k, neg, &loss, gq, gk, gn, logits, &rank, work, 1, 1, 2, (float)T) == SL_OK);
    CHECK_NEAR(loss, log(1 + exp((n - p) / T)), 1e-6);
    CHECK_NEAR(logits[0], p / T, 1e-6);
    CHECK_NEAR(logits[1], n / T, 1e-6);
    CHECK(rank == 1);
    /* d loss / d(n - p) = sigmoid((n - p) / T) / T */
    const double s = 1 / (1 + exp(-(n - p) / T)) / T;
    CHECK_NEAR(gq[0], s * (neg[0] - k[0]), 1e-6);
    CHECK_NEAR(gq[1], s * (neg[1] - k[1]), 1e-6);
    CHECK_NEAR(gk[0], -s * q[0], 1e-6);
    CHECK_NEAR(gn[1], s * q[1], 1e-6);
    /* K = 0: only the positive, loss 0, zero gradients */
    CHECK(sl_infonce(q, k, NULL, &loss, gq, gk, NULL, NULL, &rank, work, 1, 0, 2, (float)T) == SL_OK);
    CHECK_NEAR(loss, 0, 1e-7);
    CHECK_NEAR(gq[0], 0, 1e-7);
    CHECK(rank == 0);
}

static void normalise_rows(float *x, int64_t n, int D)
{
    for (int64_t r = 0; r < n; r++) {
        double s = sqrt(tu_dot(x + r * D, x + r * D, D));
        for (int d = 0; d < D; d++) x[r * D + d] = (float)(x[r * D + d] / s);
    }
}

static void test_shared_grad(void)
{
    const int N = 5, K = 11, D = 7;
    const float T = 0.2f;
    ref_ctx c = {.N = N, .M = K, .D = D, .mode = 0, .T = T};
    c.q = tu_normal(N * D, 1, 1); c.k = tu_normal(N * D, 2, 1); c.neg = tu_normal(K * D, 3, 1);
    normalise_rows(c.q, N, D); normalise_rows(c.k, N, D); normalise_rows(c.neg, K, D);
    float *gq = tu_zeros(N * D), *gk = tu_zeros(N * D), *gn = tu_zeros(K * D), *work = tu_zeros(N * (1 + K));
    float *logits = tu_zeros(N * (1 + K)), loss;
    int64_t rank[5];
    CHECK(sl_infonce(c.q, c.k, c.neg, &loss, gq, gk, gn, logits, rank, work, N, K, D, T) == SL_OK);
    CHECK_NEAR(loss, ref_loss(&c), 1e-5);
    for (int i = 0; i < N; i++) { /* rank = logits above the positive */
        int64_t above = 0;
        for (int j = 1; j <= K; j++) above += logits[i * (1 + K) + j] > logits[i * (1 + K)];
        CHECK(rank[i] == above);
        CHECK_NEAR(logits[i * (1 + K) + 2], tu_dot(c.q + i * D, c.neg + 1 * D, D) / T, 1e-5);
    }
    CHECK_GRAD("infonce d/dq", ref_loss, &c, c.q, gq, N * D, 1e-3f, 1e-5, 1e-3, 100);
    CHECK_GRAD("infonce d/dk", ref_loss, &c, c.k, gk, N * D, 1e-3f, 1e-5, 1e-3, 100);
    CHECK_GRAD("infonce d/dneg", ref_loss, &c, c.neg, gn, K * D, 1e-3f, 1e-5, 1e-3, 100);
    /* loss only: same value, logits left in work */
    float loss2;
    CHECK(sl_infonce(c.q, c.k, c.neg, &loss2, NULL, NULL, NULL, NULL, NULL, work, N, K, D, T) == SL_OK);
    CHECK(loss2 == loss);
    CHECK_CLOSE("work holds logits", work, logits, N * (1 + K), 0, 0);
    sl_free(c.q); sl_free(c.k); sl_free(c.neg); sl_free(gq); sl_free(gk); sl_free(gn); sl_free(work);
    sl_free(logits);
}

static void test_perquery_and_indexed(void)
{
    const int N = 4, M = 6, D = 9, K = 13;
    const float T = 0.3f;
    ref_ctx c = {.N = N, .M = M, .D = D, .mode = 1, .T = T};
    c.q = tu_normal(N * D, 4, 0.5f); c.k = tu_normal(N * D, 5, 0.5f); c.neg = tu_normal(N * M * D, 6, 0.5f);
    float *gq = tu_zeros(N * D), *gk = tu_zeros(N * D), *gn = tu_zeros(N * M * D), *work = tu_zeros(N * (1 + M));
    float loss;
    CHECK(sl_infonce_perquery(c.q, c.k, c.neg, &loss, gq, gk, gn, NULL, NULL, work, N, M, D, T) == SL_OK);
    CHECK_NEAR(loss, ref_loss(&c), 1e-5);
    CHECK_GRAD("perquery d/dq", ref_loss, &c, c.q, gq, N * D, 1e-3f, 1e-5, 1e-3, 100);
    CHECK_GRAD("perquery d/dk", ref_loss, &c, c.k, gk, N * D, 1e-3f, 1e-5, 1e-3, 100);
    CHECK_GRAD("perquery d/dneg", ref_loss, &c, c.neg, gn, N * M * D, 1e-3f, 1e-5, 1e-3, 100);

    /* indexed: the same as perquery on the gathered rows (repeats included) */
    float *queue = tu_normal(K * D, 7, 0.5f), *gathered = tu_zeros(N * M * D), *gq2 = tu_zeros(N * D);
    float *gk2 = tu_zeros(N * D), loss2;
    int64_t idx[24], r1[4], r2[4];
    for (int t = 0; t < N * M; t++) idx[t] = (t * 5 + 3) % K;
    idx[1] = idx[0];
    CHECK(sl_hardneg_gather(queue, idx, gathered, K, D, N, M) == SL_OK);
    CHECK(sl_infonce_perquery(c.q, c.k, gathered, &loss, gq, gk, NULL, NULL, r1, work, N, M, D, T) == SL_OK);
    CHECK(sl_infonce_indexed(c.q, c.k, queue, idx, &loss2, gq2, gk2, r2, work, N, K, M, D, T) == SL_OK);
    CHECK(loss == loss2);
    CHECK_CLOSE("indexed grad_q", gq2, gq, N * D, 0, 0);
    CHECK_CLOSE("indexed grad_k", gk2, gk, N * D, 0, 0);
    for (int i = 0; i < N; i++) CHECK(r1[i] == r2[i]);
    ref_ctx ci = {.q = c.q, .k = c.k, .neg = queue, .idx = idx, .N = N, .M = M, .D = D, .mode = 2, .T = T};
    CHECK_GRAD("indexed d/dq", ref_loss, &ci, c.q, gq2, N * D, 1e-3f, 1e-5, 1e-3, 100);
    /* shared negatives == per-query negatives that are all the same queue */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < M; j++) idx[i * M + j] = j;
    float *wk = tu_zeros(N * (1 + M));
    CHECK(sl_infonce_indexed(c.q, c.k, queue, idx, &loss2, NULL, NULL, NULL, work, N, K, M, D, T) == SL_OK);
    CHECK(sl_infonce(c.q, c.k, queue, &loss, NULL, NULL, NULL, NULL, NULL, wk, N, M, D, T) == SL_OK);
    CHECK_NEAR(loss, loss2, 1e-5);
    sl_free(c.q); sl_free(c.k); sl_free(c.neg); sl_free(gq); sl_free(gk); sl_free(gn); sl_free(work);
    sl_free(queue); sl_free(gathered); sl_free(gq2); sl_free(gk2); sl_free(wk);
}

static void test_errors(void)
{
    float q[4] = {1, 0, 0, 1}, work[8], loss;
    int64_t idx[2] = {0, 5};
    CHECK_FAILS(sl_infonce(q, q, q, &loss, NULL, NULL, NULL, NULL, NULL, work, 2, 1, 2, 0.0f), "temperature");
    CHECK_FAILS(sl_infonce(q, q, q, &loss, NULL, NULL, NULL, NULL, NULL, work, 0, 1, 2, 0.1f), "infonce: bad sizes");
    CHECK_FAILS(sl_infonce(q, q, q, &loss, NULL, NULL, NULL, NULL, NULL, NULL, 2, 1, 2, 0.1f), "NULL");
    CHECK_FAILS(sl_infonce_indexed(q, q, q, idx, &loss, NULL, NULL, NULL, work, 1, 2, 2, 2, 0.1f),
                "index 5 at [0,1] is out of range for queue [2x2]");
}

/* A MoCo-sized call gives bit-identical results with 1 and 2 threads. */
static void test_threads(void)
{
    const int N = 64, K = 1024, D = 32, M = 200;
    float *q = tu_normal(N * D, 8, 1), *k = tu_normal(N * D, 9, 1), *neg = tu_normal(K * D, 10, 1);
    float *w = tu_zeros(N * (1 + K)), *g1 = tu_zeros(N * D), *g2 = tu_zeros(N * D), l1, l2, l3, l4;
    int64_t *idx = sl_malloc(sizeof(int64_t) * N * M);
    for (int t = 0; t < N * M; t++) idx[t] = (t * 7919) % K;
    const int saved = sl_get_num_threads();
    sl_set_num_threads(1);
    CHECK(sl_infonce(q, k, neg, &l1, g1, NULL, NULL, NULL, NULL, w, N, K, D, 0.07f) == SL_OK);
    CHECK(sl_infonce_indexed(q, k, neg, idx, &l3, NULL, NULL, NULL, w, N, K, M, D, 0.07f) == SL_OK);
    sl_set_num_threads(2);
    CHECK(sl_infonce(q, k, neg, &l2, g2, NULL, NULL, NULL, NULL, w, N, K, D, 0.07f) == SL_OK);
    CHECK(sl_infonce_indexed(q, k, neg, idx, &l4, NULL, NULL, NULL, w, N, K, M, D, 0.07f) == SL_OK);
    sl_set_num_threads(saved);
    CHECK(l1 == l2);
    CHECK(l3 == l4);
    CHECK_CLOSE("grad_q 1 vs 2 threads", g1, g2, N * D, 0, 0);
    sl_free(q); sl_free(k); sl_free(neg); sl_free(w); sl_free(g1); sl_free(g2); sl_free(idx);
}

int main(void)
{
    RUN(test_closed_form);
    RUN(test_shared_grad);
    RUN(test_perquery_and_indexed);
    RUN(test_errors);
    RUN(test_threads);
    return test_summary();
}
