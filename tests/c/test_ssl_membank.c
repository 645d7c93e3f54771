/* test_ssl_membank.c - InstDisc memory bank: momentum update and
 * renormalisation (repeated indices), uniform noise sampling (range,
 * determinism, thread independence), the NCE loss (hand case, Z estimation,
 * finite differences with Z fixed), the full softmax (reference and finite
 * differences), initialisation, errors. */
#include <stdlib.h>

#include "nn_testutil.h"
#include "ssl/ssl.h"
#include "tensor/gemm.h"

static void test_update(void)
{
    float bank[6] = {1, 0, 0, 1, 0.6f, 0.8f}, feat[4] = {0, 1, 1, 0};
    int64_t idx[2] = {0, 2};
    CHECK(sl_membank_update(bank, idx, feat, 3, 2, 2, 0.5f) == SL_OK);
    const double r = 1 / sqrt(0.5);
    CHECK_NEAR(bank[0], 0.5 * r, 1e-6); /* (0.5, 0.5) normalised */
    CHECK_NEAR(bank[1], 0.5 * r, 1e-6);
    CHECK(bank[2] == 0 && bank[3] == 1); /* untouched */
    const double a = 0.3 + 0.5, b = 0.4, n = sqrt(a * a + b * b);
    CHECK_NEAR(bank[4], a / n, 1e-6);
    CHECK_NEAR(bank[5], b / n, 1e-6);
    /* repeated index: the last occurrence wins, computed from the old row */
    float bank2[4] = {1, 0, 0, 1}, f2[6] = {0, 1, 5, 5, -1, 0};
    int64_t idx2[3] = {0, 1, 0};
    CHECK(sl_membank_update(bank2, idx2, f2, 2, 2, 3, 0.5f) == SL_OK);
    CHECK_NEAR(bank2[0], 0, 1e-7); /* (1,0)*.5 + (-1,0)*.5 = 0 -> (0, 0) left as is */
    CHECK_NEAR(bank2[1], 0, 1e-7);
    CHECK_NEAR(bank2[2], 2.5 / sqrt(2.5 * 2.5 + 3 * 3), 1e-6); /* (0,1)*.5 + (5,5)*.5 = (2.5, 3) */
    CHECK_NEAR(bank2[3], 3 / sqrt(2.5 * 2.5 + 3 * 3), 1e-6);
    /* m = 0 with unit features: the rows become the features */
    float bank3[4] = {1, 0, 0, 1}, f3[2] = {0.6f, -0.8f};
    int64_t idx3[1] = {1};
    CHECK(sl_membank_update(bank3, idx3, f3, 2, 2, 1, 0.0f) == SL_OK);
    CHECK_NEAR(bank3[2], 0.6, 1e-6);
    CHECK_NEAR(bank3[3], -0.8, 1e-6);
}

static void test_sample(void)
{
    const int B = 37, M = 50;
    const int64_t Nd = 11;
    int64_t *a = sl_malloc(sizeof(int64_t) * B * M), *b = sl_malloc(sizeof(int64_t) * B * M);
    sl_rng r1, r2;
    sl_rng_init(&r1, 7);
    sl_rng_init(&r2, 7);
    const int saved = sl_get_num_threads();
    sl_set_num_threads(1);
    CHECK(sl_membank_sample(a, B, M, Nd, &r1) == SL_OK);
    sl_set_num_threads(2);
    CHECK(sl_membank_sample(b, B, M, Nd, &r2) == SL_OK);
    sl_set_num_threads(saved);
    int same = 1, counts[11] = {0};
    for (int t = 0; t < B * M; t++) {
        same &= a[t] == b[t];
        CHECK(a[t] >= 0 && a[t] < Nd);
        counts[a[t]]++;
    }
    CHECK(same);
    CHECK(r1.counter == r2.counter && r1.counter > 0);
    for (int c = 0; c < Nd; c++) CHECK(counts[c] > B * M / Nd / 2); /* roughly uniform (expected 168) */
    CHECK(sl_membank_sample(b, B, M, Nd, &r2) == SL_OK);            /* advanced: a new draw */
    int diff = 0;
    for (int t = 0; t < B * M; t++) diff += a[t] != b[t];
    CHECK(diff > B * M / 2);
    sl_free(a); sl_free(b);
}

/* NCE reference in double, Z fixed. */
typedef struct {
    float *feat, *bank;
    int64_t *pos, *neg, Nd;
    int B, M, D;
    double T, Z;
} nce_ctx;

static double nce_ref(void *v)
{
    nce_ctx *c = v;
    const double cn = (double)c->M / c->Nd, eps = 1e-7;
    double total = 0;
    for (int b = 0; b < c->B; b++) {
        const float *f = c->feat + (int64_t)b * c->D;
        double P = exp(tu_dot(c->bank + c->pos[b] * c->D, f, c->D) / c->T) / c->Z;
        total += log(P / (P + cn + eps));
        for (int j = 0; j < c->M; j++) {
            P = exp(tu_dot(c->bank + c->neg[b * c->M + j] * c->D, f, c->D) / c->T) / c->Z;
            total += log(cn / (P + cn + eps));
        }
    }
    return -total / c->B;
}

static double softmax_ref(void *v)
{
    nce_ctx *c = v;
    double total = 0;
    for (int b = 0; b < c->B; b++) {
        double se = 0;
        const float *f = c->feat + (int64_t)b * c->D;
        for (int64_t r = 0; r < c->Nd; r++) se += exp(tu_dot(c->bank + r * c->D, f, c->D) / c->T);
        total += log(se) - tu_dot(c->bank + c->pos[b] * c->D, f, c->D) / c->T;
    }
    return total / c->B;
}

static void unit_rows(float *x, int64_t n, int D)
{
    for (int64_t r = 0; r < n; r++) {
        double s = sqrt(tu_dot(x + r * D, x + r * D, D));
        for (int d = 0; d < D; d++) x[r * D + d] = (float)(x[r * D + d] / s);
    }
}

static void test_nce(void)
{
    /* hand case: B = 1, M = 1, Nd = 2, D = 1, bank (1, -1), feature 1, T = 1, Z = 1 */
    float bank1[2] = {1, -1}, f1[1] = {1}, Z = 1, loss, g1[1], prob[2];
    int64_t p1[1] = {0}, n1[1] = {1};
    CHECK(sl_membank_nce(f1, bank1, p1, n1, &Z, &loss, g1, prob, 2, 1, 1, 1, 1.0f) == SL_OK);
    const double P0 = exp(1.0), P1 = exp(-1.0), cn = 0.5, eps = 1e-7;
    CHECK_NEAR(loss, -(log(P0 / (P0 + cn + eps)) + log(cn / (P1 + cn + eps))), 1e-6);
    CHECK_NEAR(prob[0], P0, 1e-6);
    CHECK_NEAR(prob[1], P1, 1e-6);
    CHECK_NEAR(g1[0], -(cn + eps) / (P0 + cn + eps) * 1 + P1 / (P1 + cn + eps) * -1, 1e-6);
    CHECK(Z == 1);

    const int B = 5, M = 7, D = 6;
    const int64_t Nd = 23;
    nce_ctx c = {.B = B, .M = M, .D = D, .Nd = Nd, .T = 0.1};
    c.feat = tu_normal(B * D, 21, 1);
    c.bank = tu_normal(Nd * D, 22, 1);
    unit_rows(c.feat, B, D);
    unit_rows(c.bank, Nd, D);
    c.pos = sl_malloc(sizeof(int64_t) * B);
    c.neg = sl_malloc(sizeof(int64_t) * B * M);
    for (int b = 0; b < B; b++) c.pos[b] = (b * 4 + 1) % Nd;
    sl_rng rng;
    sl_rng_init(&rng, 3);
    CHECK(sl_membank_sample(c.neg, B, M, Nd, &rng) == SL_OK);
    /* Z estimated from the batch: mean exp(s / T) * Nd */
    float *g = tu_zeros(B * D);
    Z = 0;
    CHECK(sl_membank_nce(c.feat, c.bank, c.pos, c.neg, &Z, &loss, g, NULL, Nd, D, B, M, 0.1f) == SL_OK);
    double se = 0;
    for (int b = 0; b < B; b++) {
        se += exp(tu_dot(c.bank + c.pos[b] * D, c.feat + b * D, D) / 0.1);
        for (int j = 0; j < M; j++) se += exp(tu_dot(c.bank + c.neg[b * M + j] * D, c.feat + b * D, D) / 0.1);
    }
    CHECK_NEAR(Z / (se / (B * (M + 1)) * Nd), 1, 1e-5);
    c.Z = Z;
    CHECK_NEAR(loss / nce_ref(&c), 1, 1e-5);
    CHECK_GRAD("nce d/dfeat", nce_ref, &c, c.feat, g, B * D, 1e-3f, 1e-5, 1e-3, 100);
    /* Z given: kept, same loss */
    float loss2, Zkeep = Z;
    CHECK(sl_membank_nce(c.feat, c.bank, c.pos, c.neg, &Z, &loss2, NULL, NULL, Nd, D, B, M, 0.1f) == SL_OK);
    CHECK(Z == Zkeep && loss2 == loss);

    /* full softmax */
    float *w = tu_zeros(B * Nd);
    int64_t rank[5];
    CHECK(sl_membank_softmax(c.feat, c.bank, c.pos, &loss, g, rank, w, Nd, D, B, 0.1f) == SL_OK);
    CHECK_NEAR(loss, softmax_ref(&c), 1e-5);
    CHECK_GRAD("softmax d/dfeat", softmax_ref, &c, c.feat, g, B * D, 1e-3f, 1e-5, 1e-3, 100);
    CHECK(sl_membank_softmax(c.feat, c.bank, c.pos, &loss2, NULL, NULL, w, Nd, D, B, 0.1f) == SL_OK);
    CHECK(loss2 == loss);
    for (int b = 0; b < B; b++) {
        int64_t above = 0;
        for (int64_t r = 0; r < Nd; r++) above += w[b * Nd + r] > w[b * Nd + c.pos[b]];
        CHECK(rank[b] == above);
    }
    sl_free(c.feat); sl_free(c.bank); sl_free(c.pos); sl_free(c.neg); sl_free(g); sl_free(w);
}

static void test_init_and_errors(void)
{
    const int64_t Nd = 100;
    const int D = 12;
    float *bank = tu_zeros(Nd * D), Z = 0, loss;
    sl_rng rng;
    sl_rng_init(&rng, 1);
    CHECK(sl_membank_init(bank, Nd, D, &rng) == SL_OK);
    const double s = 1 / sqrt(D / 3.0);
    float lo = 1, hi = -1;
    for (int64_t t = 0; t < Nd * D; t++) {
        lo = bank[t] < lo ? bank[t] : lo;
        hi = bank[t] > hi ? bank[t] : hi;
    }
    CHECK(lo >= -s && hi <= s && lo < -0.9 * s && hi > 0.9 * s);
    int64_t pos[1] = {100}, neg[1] = {0};
    CHECK_FAILS(sl_membank_nce(bank, bank, pos, neg, &Z, &loss, NULL, NULL, Nd, D, 1, 1, 0.1f),
                "positive index 100 at [0,0] is out of range for bank [100x12]");
    pos[0] = 0;
    neg[0] = -1;
    CHECK_FAILS(sl_membank_nce(bank, bank, pos, neg, &Z, &loss, NULL, NULL, Nd, D, 1, 1, 0.1f), "noise index -1");
    CHECK_FAILS(sl_membank_update(bank, pos, bank, Nd, D, 1, 2.0f), "momentum 2");
    CHECK_FAILS(sl_membank_softmax(bank, bank, pos, &loss, NULL, NULL, NULL, Nd, D, 1, 0.1f), "NULL");
    sl_free(bank);
}

int main(void)
{
    RUN(test_update);
    RUN(test_sample);
    RUN(test_nce);
    RUN(test_init_and_errors);
    return test_summary();
}
