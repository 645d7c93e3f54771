/* test_ssl_hardneg.c - hard-negative sampling: the skew-normal sampler's
 * mean, variance and skewness against the formulas for several alpha; ranking
 * of a hand-made queue (permuted keys, ties); concentration on the hardest
 * keys for a large alpha and a near-uniform spread for alpha 0 with a wide
 * omega; determinism, thread-count independence and speed at N = 256,
 * K = M = 4096; the gather; errors. */
#include <stdlib.h>
#include <time.h>

#include "nn_testutil.h"
#include "ssl/ssl.h"
#include "tensor/gemm.h"

static void test_skewnorm_moments(void)
{
    const double alphas[4] = {0.0, 2.0, -3.0, 8.0};
    const int n = 200000;
    for (int a = 0; a < 4; a++) {
        const double xi = 0.1, omega = 0.5, alpha = alphas[a];
        sl_rng rng;
        sl_rng_init(&rng, 100 + a);
        double s1 = 0, s2 = 0, s3 = 0;
        double *x = malloc(sizeof(double) * n);
        for (int i = 0; i < n; i++) {
            x[i] = sl_skewnorm_draw(&rng, xi, omega, alpha);
            s1 += x[i];
        }
        const double mean = s1 / n;
        for (int i = 0; i < n; i++) {
            const double d = x[i] - mean;
            s2 += d * d;
            s3 += d * d * d;
        }
        const double var = s2 / n, skew = s3 / n / pow(var, 1.5);
        double m, v, k;
        sl_skewnorm_moments(xi, omega, alpha, &m, &v, &k);
        CHECK_NEAR(mean, m, 0.005);   /* standard error ~0.001 */
        CHECK_NEAR(var / v, 1, 0.02); /* ~0.3-0.5% */
        CHECK_NEAR(skew, k, 0.03);    /* ~0.006 */
        free(x);
    }
    double m, v, k;
    sl_skewnorm_moments(0.2, 2.0, 0.0, &m, &v, &k);
    CHECK_NEAR(m, 0.2, 1e-12);
    CHECK_NEAR(v, 4.0, 1e-12);
    CHECK_NEAR(k, 0.0, 1e-12);
    sl_skewnorm_moments(0.0, 1.0, 1e6, &m, &v, &k); /* half-normal limit */
    CHECK_NEAR(m, sqrt(2 / M_PI), 1e-6);
    CHECK_NEAR(v, 1 - 2 / M_PI, 1e-6);
    CHECK_NEAR(k, 0.99527, 1e-4);
}

/* A queue of K unit keys in the plane; key perm[r] is at angle r * step from
 * the query's direction, so its rank is r. */
static float *make_queue(int K, int **perm_out)
{
    float *queue = tu_zeros(2 * K);
    int *perm = malloc(sizeof(int) * K);
    for (int r = 0; r < K; r++) perm[r] = (int)(((int64_t)r * 37 + 11) % K); /* 37 coprime with K */
    for (int r = 0; r < K; r++) {
        const double ang = r * (3.0 / K);
        queue[2 * perm[r]] = (float)(cos(ang) * (1 + r % 3)); /* norms vary: cosine must ignore them */
        queue[2 * perm[r] + 1] = (float)(sin(ang) * (1 + r % 3));
    }
    *perm_out = perm;
    return queue;
}

static void test_ranking_and_shape(void)
{
    const int K = 200, M = 4000, N = 2;
    int *perm;
    float *queue = make_queue(K, &perm);
    float q[4] = {2, 0, 0.5f, 0}; /* both queries along +x */
    int64_t *idx = sl_malloc(sizeof(int64_t) * N * M), *rank = sl_malloc(sizeof(int64_t) * N * M);
    sl_rng rng;
    sl_rng_init(&rng, 5);
    /* alpha large: draws concentrate on the top-ranked (hardest) keys */
    CHECK(sl_hardneg_sample(q, queue, K, 2, N, M, 0.0, 0.1, 20.0, &rng, idx, rank) == SL_OK);
    int top = 0, ok = 1;
    for (int t = 0; t < N * M; t++) {
        ok &= rank[t] >= 0 && rank[t] < K && idx[t] == perm[rank[t]];
        top += rank[t] < K / 3;
    }
    CHECK(ok);
    CHECK(top > 0.99 * N * M); /* half-normal, scale 0.1: P(x < 1/3) = 0.9991 */
    /* and the rank fractions follow the (untruncated, nearly all inside [0,1)) half-normal: mean 0.1 sqrt(2/pi) */
    double mean = 0;
    for (int t = 0; t < N * M; t++) mean += (rank[t] + 0.5) / K;
    CHECK_NEAR(mean / (N * M), 0.1 * sqrt(2 / M_PI), 0.005);
    /* alpha 0, wide omega, centred: close to uniform over the ranks */
    CHECK(sl_hardneg_sample(q, queue, K, 2, N, M, 0.5, 10.0, 0.0, &rng, idx, rank) == SL_OK);
    int bins[4] = {0};
    for (int t = 0; t < N * M; t++) bins[rank[t] * 4 / K]++;
    for (int b = 0; b < 4; b++) CHECK_NEAR(bins[b] / (double)(N * M), 0.25, 0.025);
    /* location in the middle, negative skew: mostly semi-hard-to-easy ranks above 0.2 */
    CHECK(sl_hardneg_sample(q, queue, K, 2, N, M, 0.9, 0.3, -4.0, &rng, idx, NULL) == SL_OK);
    free(perm);
    sl_free(queue); sl_free(idx); sl_free(rank);
}

/* The rank probabilities are the skew-normal redrawn until inside [0, 1). */
static void test_rank_probs(void)
{
    const int K = 10, n = 400000;
    const double cases[3][3] = {{0.1, 0.3, 3.0}, {0.5, 10.0, 0.0}, {0.8, 0.05, -2.0}};
    for (int c = 0; c < 3; c++) {
        double p[10], freq[10] = {0}, sum = 0;
        CHECK(sl_hardneg_rank_probs(p, K, cases[c][0], cases[c][1], cases[c][2]) == SL_OK);
        sl_rng rng;
        sl_rng_init(&rng, 200 + c);
        for (int i = 0; i < n; i++) {
            double x;
            do x = sl_skewnorm_draw(&rng, cases[c][0], cases[c][1], cases[c][2]);
            while (!(x >= 0 && x < 1));
            freq[(int)(x * K)] += 1.0 / n;
        }
        for (int r = 0; r < K; r++) {
            CHECK_NEAR(p[r], freq[r], 0.003);
            sum += p[r];
        }
        CHECK_NEAR(sum, 1, 1e-12);
    }
    /* a density far narrower than a rank bin is still integrated */
    double p[4];
    CHECK(sl_hardneg_rank_probs(p, 4, 0.6, 1e-4, 0.0) == SL_OK);
    CHECK_NEAR(p[2], 1, 1e-9);
    CHECK_FAILS(sl_hardneg_rank_probs(p, 4, 0.6, -1, 0.0), "omega > 0");
}

static void test_ties_and_clamp(void)
{
    /* identical keys: ranks follow the index order */
    float queue[8] = {1, 0, 1, 0, 1, 0, 1, 0}, q[2] = {1, 0};
    int64_t idx[400], rank[400];
    sl_rng rng;
    sl_rng_init(&rng, 9);
    CHECK(sl_hardneg_sample(q, queue, 4, 2, 1, 400, 0.5, 10.0, 0.0, &rng, idx, rank) == SL_OK);
    for (int t = 0; t < 400; t++) CHECK(idx[t] == rank[t]);
    /* a location far outside [0,1): no mass inside, every draw is the nearer end */
    CHECK(sl_hardneg_sample(q, queue, 4, 2, 1, 10, 50.0, 0.01, 0.0, &rng, idx, rank) == SL_OK);
    for (int t = 0; t < 10; t++) CHECK(rank[t] == 3);
    CHECK(sl_hardneg_sample(q, queue, 4, 2, 1, 10, -50.0, 0.01, 0.0, &rng, idx, rank) == SL_OK);
    for (int t = 0; t < 10; t++) CHECK(rank[t] == 0);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_determinism_threads_speed(void)
{
    const int N = 256, K = 4096, D = 128, M = 4096;
    float *q = tu_normal((int64_t)N * D, 31, 1), *queue = tu_normal((int64_t)K * D, 32, 1);
    int64_t *a = sl_malloc(sizeof(int64_t) * N * M), *b = sl_malloc(sizeof(int64_t) * N * M);
    sl_rng r1, r2;
    sl_rng_init(&r1, 77);
    sl_rng_init(&r2, 77);
    const int saved = sl_get_num_threads();
    sl_set_num_threads(1);
    double t0 = seconds();
    CHECK(sl_hardneg_sample(q, queue, K, D, N, M, 0.0, 0.3, 4.0, &r1, a, NULL) == SL_OK);
    const double t1 = seconds() - t0;
    sl_set_num_threads(2);
    t0 = seconds();
    CHECK(sl_hardneg_sample(q, queue, K, D, N, M, 0.0, 0.3, 4.0, &r2, b, NULL) == SL_OK);
    const double t2 = seconds() - t0;
    sl_set_num_threads(saved);
    printf("     hardneg N=%d K=%d M=%d D=%d: %.3f s (1 thread), %.3f s (2 threads)\n", N, K, M, D, t1, t2);
    CHECK(memcmp(a, b, sizeof(int64_t) * N * M) == 0);
    CHECK(r1.counter == r2.counter);
    /* the next call differs */
    CHECK(sl_hardneg_sample(q, queue, K, D, N, M, 0.0, 0.3, 4.0, &r2, b, NULL) == SL_OK);
    CHECK(memcmp(a, b, sizeof(int64_t) * N * M) != 0);
    /* spot check one query's ranking against a direct cosine computation */
    const int i = 17;
    sl_rng r3;
    sl_rng_init(&r3, 1);
    int64_t idx[64], rk[64];
    CHECK(sl_hardneg_sample(q + (int64_t)i * D, queue, K, D, 1, 64, 0.2, 0.3, 1.0, &r3, idx, rk) == SL_OK);
    int ok = 1;
    for (int t = 0; t < 64; t++) {
        const float *kj = queue + idx[t] * D;
        const double cj = tu_dot(q + (int64_t)i * D, kj, D) / sqrt(tu_dot(kj, kj, D));
        int64_t above = 0;
        for (int j = 0; j < K; j++) {
            const float *kk = queue + (int64_t)j * D;
            above += tu_dot(q + (int64_t)i * D, kk, D) / sqrt(tu_dot(kk, kk, D)) > cj + 1e-6;
        }
        ok &= above <= rk[t] && rk[t] <= above + 1; /* float vs double rounding of near-ties */
    }
    CHECK(ok);
    sl_free(q); sl_free(queue); sl_free(a); sl_free(b);
}

static void test_gather_and_errors(void)
{
    float queue[6] = {1, 2, 3, 4, 5, 6}, neg[8], q[2] = {1, 0};
    int64_t idx[4] = {2, 0, 1, 2};
    CHECK(sl_hardneg_gather(queue, idx, neg, 3, 2, 2, 2) == SL_OK);
    const float want[8] = {5, 6, 1, 2, 3, 4, 5, 6};
    CHECK_CLOSE("gather", neg, want, 8, 0, 0);
    idx[3] = 3;
    CHECK_FAILS(sl_hardneg_gather(queue, idx, neg, 3, 2, 2, 2), "index 3 at [1,1] is out of range for queue [3x2]");
    sl_rng rng;
    sl_rng_init(&rng, 1);
    CHECK_FAILS(sl_hardneg_sample(q, queue, 3, 2, 1, 2, 0.0, 0.0, 1.0, &rng, idx, NULL), "omega > 0");
    CHECK_FAILS(sl_hardneg_sample(q, queue, 0, 2, 1, 2, 0.0, 1.0, 1.0, &rng, idx, NULL), "hardneg_sample: bad sizes");
    CHECK_FAILS(sl_hardneg_sample(q, queue, 3, 2, 1, 2, 0.0, 1.0, 1.0, NULL, idx, NULL), "NULL");
}

int main(void)
{
    RUN(test_skewnorm_moments);
    RUN(test_ranking_and_shape);
    RUN(test_rank_probs);
    RUN(test_ties_and_clamp);
    RUN(test_determinism_threads_speed);
    RUN(test_gather_and_errors);
    return test_summary();
}
