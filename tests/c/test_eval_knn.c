/* test_eval_knn.c - weighted kNN scores against a brute-force reference. */
#include <math.h>
#include <stdlib.h>

#include "eval/knn.h"
#include "tensor/random.h"
#include "test.h"

/* Brute force: all cosine similarities, pick the k largest by repeated scans. */
static void reference(const float *tr, const int64_t *lab, const float *te, float *scores, int Ntr, int Nte, int D,
                      int C, int k, float T)
{
    double *sim = malloc(sizeof(double) * Ntr);
    char *used = malloc(Ntr);
    for (int i = 0; i < Nte; i++) {
        double nt = 0;
        for (int d = 0; d < D; d++) nt += te[i * D + d] * te[i * D + d];
        for (int j = 0; j < Ntr; j++) {
            double dot = 0, nr = 0;
            for (int d = 0; d < D; d++) dot += te[i * D + d] * tr[j * D + d], nr += tr[j * D + d] * tr[j * D + d];
            sim[j] = dot / sqrt(nt * nr);
            used[j] = 0;
        }
        for (int c = 0; c < C; c++) scores[i * C + c] = 0;
        for (int m = 0; m < k; m++) {
            int best = -1;
            for (int j = 0; j < Ntr; j++)
                if (!used[j] && (best < 0 || sim[j] > sim[best])) best = j;
            used[best] = 1;
            scores[i * C + lab[best]] += (float)exp(sim[best] / T);
        }
    }
    free(sim), free(used);
}

static void test_matches_brute_force(void)
{
    enum { NTR = 300, NTE = 270, D = 12, C = 5 };
    static float tr[NTR * D], te[NTE * D], got[NTE * C], want[NTE * C];
    static int64_t lab[NTR];
    sl_rng rng;
    sl_rng_init(&rng, 3);
    sl_rng_fill_normal(&rng, tr, NTR * D, 0, 1);
    sl_rng_fill_normal(&rng, te, NTE * D, 0, 1);
    for (int j = 0; j < NTR; j++) lab[j] = sl_rng_below(&rng, C);
    int ks[] = {1, 7, 50, 400};
    for (int t = 0; t < 4; t++) {
        CHECK(sl_knn_scores(tr, lab, te, got, NTR, NTE, D, C, ks[t], 0.1f) == SL_OK);
        reference(tr, lab, te, want, NTR, NTE, D, C, ks[t] > NTR ? NTR : ks[t], 0.1f);
        double worst = 0;
        for (int i = 0; i < NTE * C; i++) worst = fmax(worst, fabs(got[i] - want[i]) / (1 + fabs(want[i])));
        CHECK(worst < 1e-4);
    }
}

static void test_clusters_classify(void)
{
    /* two tight clusters; test points near each get their cluster's label */
    float tr[4 * 2] = {1, 0.1f, 1, -0.1f, -1, 0.1f, -1, -0.1f}, te[2 * 2] = {2, 0, -3, 0.5f}, s[2 * 2];
    int64_t lab[4] = {0, 0, 1, 1};
    CHECK(sl_knn_scores(tr, lab, te, s, 4, 2, 2, 2, 2, 0.1f) == SL_OK);
    CHECK(s[0] > s[1] && s[3] > s[2]);
    CHECK(s[1] == 0 && s[2] == 0);
}

static void test_errors(void)
{
    float x[2] = {1, 0}, s[2];
    int64_t bad[1] = {3};
    CHECK_FAILS(sl_knn_scores(x, bad, x, s, 1, 1, 2, 2, 1, 0.1f), "training label 4 (row 1) outside [1, 2]");
    int64_t ok[1] = {0};
    CHECK_FAILS(sl_knn_scores(x, ok, x, s, 1, 1, 2, 2, 0, 0.1f), "k must be >= 1");
    CHECK_FAILS(sl_knn_scores(x, ok, x, s, 1, 1, 2, 2, 1, 0.0f), "temperature");
}

int main(void)
{
    RUN(test_matches_brute_force);
    RUN(test_clusters_classify);
    RUN(test_errors);
    return test_summary();
}
