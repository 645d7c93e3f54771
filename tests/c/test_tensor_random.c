/* test_tensor_random.c - Philox4x32-10 known answers, determinism, thread-count
 * independence, distributions, randperm, multinomial, derived streams (random.c);
 * plus thread-count independence of the parallel elementwise/reduction paths. */
#include "test.h"
#include "tensor_testutil.h"

#include <omp.h>

#include "tensor/elementwise.h"
#include "tensor/random.h"
#include "tensor/reduce.h"

/* An independent Philox4x32-R written from the Random123 description
 * (philox.h: key bumped before rounds 2..R), used to extend the known-answer
 * vectors to counters our API can reach. */
static void ref_philox4x32(int rounds, const uint32_t ctr_in[4], const uint32_t key_in[2], uint32_t out[4])
{
    uint32_t c[4] = {ctr_in[0], ctr_in[1], ctr_in[2], ctr_in[3]}, k[2] = {key_in[0], key_in[1]};
    for (int r = 0; r < rounds; r++) {
        if (r > 0) k[0] += 0x9E3779B9u, k[1] += 0xBB67AE85u;
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0, hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        uint32_t n[4] = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
        memcpy(c, n, sizeof c);
    }
    memcpy(out, c, sizeof c);
}

static void test_philox_known_answers(void)
{
    /* Random123 kat_vectors, "philox4x32 10" lines: counter[4] key[2] -> out[4]. */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
    for (int v = 0; v < 3; v++) {
        uint32_t out[4];
        ref_philox4x32(10, kat[v], kat[v] + 4, out);
        for (int i = 0; i < 4; i++) CHECK(out[i] == kat[v][6 + i]);
    }
    /* Our mapping: counter = (block lo, block hi, 0, 0), key = (seed lo, seed hi).
     * The all-zero vector is reachable directly: seed 0, draws 0..3. */
    for (int i = 0; i < 4; i++) CHECK(sl_philox_u32(0, (uint64_t)i) == kat[0][6 + i]);
    /* Other (seed, block) pairs against the reference. */
    const uint64_t seeds[] = {1, 0x5EED, 0xa4093822299f31d0ull, 0x299f31d0a4093822ull, UINT64_MAX};
    const uint64_t blocks[] = {0, 1, 7, 0x05a308d3243f6a88ull, 0xffffffffull, 0x100000000ull, UINT64_MAX >> 2}; /* < 2^62: draw index = 4 * block + i */
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++)
        for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
            uint32_t ctr[4] = {(uint32_t)blocks[b], (uint32_t)(blocks[b] >> 32), 0, 0};
            uint32_t key[2] = {(uint32_t)seeds[s], (uint32_t)(seeds[s] >> 32)}, want[4];
            ref_philox4x32(10, ctr, key, want);
            for (int i = 0; i < 4; i++) CHECK(sl_philox_u32(seeds[s], blocks[b] * 4 + (uint64_t)i) == want[i]);
        }
}

static void test_generator_state_and_determinism(void)
{
    sl_rng a, b;
    sl_rng_init(&a, 42);
    sl_rng_init(&b, 42);
    CHECK(a.counter == 0);
    /* counter advances by whole blocks */
    (void)sl_rng_u32(&a);
    CHECK(a.counter == 4);
    (void)sl_rng_uniform(&a);
    CHECK(a.counter == 8);
    float x[5], y[5];
    sl_rng_fill_uniform(&a, x, 5, 0, 1);
    CHECK(a.counter == 16);
    /* same seed and counter -> same draws; saving the state is (seed, counter) */
    b.counter = 8;
    sl_rng_fill_uniform(&b, y, 5, 0, 1);
    CHECK(memcmp(x, y, sizeof x) == 0);
    sl_rng c = a;
    double u1 = sl_rng_uniform(&a), u2 = sl_rng_uniform(&c);
    CHECK(u1 == u2);
    /* a different seed differs */
    sl_rng d;
    sl_rng_init(&d, 43);
    d.counter = 8;
    sl_rng_fill_uniform(&d, y, 5, 0, 1);
    CHECK(memcmp(x, y, sizeof x) != 0);
    /* fills are a pure function of (seed, counter + i) */
    CHECK(sl_rng_u32(&b) == sl_philox_u32(42, 16));
    /* default generator exists and is stable across calls */
    CHECK(sl_rng_default() == sl_rng_default());
    /* derive: deterministic, sensitive to every argument */
    CHECK(sl_rng_derive(1, 2, 3) == sl_rng_derive(1, 2, 3));
    CHECK(sl_rng_derive(1, 2, 3) != sl_rng_derive(1, 3, 2));
    CHECK(sl_rng_derive(1, 2, 3) != sl_rng_derive(2, 2, 3));
    CHECK(sl_rng_derive(0, 0, 0) != 0);
    /* derived streams from consecutive worker ids do not collide */
    uint64_t seen[64];
    for (int i = 0; i < 64; i++) {
        seen[i] = sl_rng_derive(7, (uint64_t)i, 0);
        for (int j = 0; j < i; j++) CHECK(seen[j] != seen[i]);
    }
}

/* Bulk fills give bitwise the same result with 1 and 2 threads (n above the parallel threshold). */
static void test_thread_count_independence(void)
{
    enum { N = 200003 };
    float *x1 = sl_malloc(N * sizeof(float)), *x2 = sl_malloc(N * sizeof(float));
    for (int kind = 0; kind < 3; kind++) {
        sl_rng a, b;
        sl_rng_init(&a, 99);
        sl_rng_init(&b, 99);
        a.counter = b.counter = 12;
        omp_set_num_threads(1);
        if (kind == 0) sl_rng_fill_uniform(&a, x1, N, -2, 3);
        if (kind == 1) sl_rng_fill_normal(&a, x1, N, 1, 2);
        if (kind == 2) sl_rng_fill_bernoulli(&a, x1, N, 0.3f);
        omp_set_num_threads(2);
        if (kind == 0) sl_rng_fill_uniform(&b, x2, N, -2, 3);
        if (kind == 1) sl_rng_fill_normal(&b, x2, N, 1, 2);
        if (kind == 2) sl_rng_fill_bernoulli(&b, x2, N, 0.3f);
        CHECK(memcmp(x1, x2, N * sizeof(float)) == 0);
        CHECK(a.counter == b.counter);
    }
    sl_free(x1), sl_free(x2);

    /* elementwise and reductions: same bits with 1 and 2 threads */
    sl_tensor *t = tt_rand(3, 2, (int64_t[]){400, 301});
    sl_tensor *tt = sl_tensor_transpose_new(t, 0, 1);
    double r1, r2, m1, m2;
    sl_tensor *s1 = NULL, *s2 = NULL, *v1 = NULL, *v2 = NULL;
    omp_set_num_threads(1);
    sl_tensor_reduce_all(SL_RED_SUM, tt, 0, &r1);
    sl_tensor_reduce_all(SL_RED_VAR, t, 1, &m1);
    sl_tensor_binary(SL_OP_MUL, t, t, NULL, &s1);
    sl_tensor_reduce_dim(SL_RED_SUM, tt, 1, false, 0, &v1, NULL);
    omp_set_num_threads(2);
    sl_tensor_reduce_all(SL_RED_SUM, tt, 0, &r2);
    sl_tensor_reduce_all(SL_RED_VAR, t, 1, &m2);
    sl_tensor_binary(SL_OP_MUL, t, t, NULL, &s2);
    sl_tensor_reduce_dim(SL_RED_SUM, tt, 1, false, 0, &v2, NULL);
    CHECK(r1 == r2 && m1 == m2);
    CHECK(memcmp(sl_f32(s1), sl_f32(s2), 400 * 301 * sizeof(float)) == 0);
    CHECK(memcmp(sl_f32(v1), sl_f32(v2), 301 * sizeof(float)) == 0);
    sl_tensor_free(t), sl_tensor_free(tt), sl_tensor_free(s1), sl_tensor_free(s2), sl_tensor_free(v1),
        sl_tensor_free(v2);
}

static void test_distributions(void)
{
    enum { N = 100000 };
    float *x = sl_malloc(N * sizeof(float));
    sl_rng g;
    sl_rng_init(&g, 2024);
    /* uniform in [0, 1): bounds, mean 1/2, variance 1/12 */
    sl_rng_fill_uniform(&g, x, N, 0, 1);
    double s = 0, s2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < N; i++) s += x[i], s2 += (double)x[i] * x[i], lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
    CHECK(lo >= 0 && hi < 1);
    CHECK_NEAR(s / N, 0.5, 0.005);
    CHECK_NEAR(s2 / N - (s / N) * (s / N), 1.0 / 12, 0.002);
    /* [lo, hi) scaling, including a span that rounds up */
    sl_rng_fill_uniform(&g, x, N, 1.0f, 1.0000001f);
    for (int i = 0; i < N; i++) CHECK(x[i] >= 1.0f && x[i] < 1.0000001f);
    /* scalar uniform in [0, 1) */
    for (int i = 0; i < 1000; i++) {
        double u = sl_rng_uniform(&g);
        CHECK(u >= 0 && u < 1);
    }
    /* normal(mean 3, std 2) */
    sl_rng_fill_normal(&g, x, N, 3, 2);
    s = s2 = 0;
    for (int i = 0; i < N; i++) {
        s += x[i], s2 += (double)x[i] * x[i];
        CHECK(isfinite(x[i]));
    }
    double mean = s / N, sd = sqrt(s2 / N - mean * mean);
    CHECK_NEAR(mean, 3, 0.03);
    CHECK_NEAR(sd, 2, 0.03);
    /* odd count: the last element uses the first half of a pair */
    float odd[3];
    sl_rng_fill_normal(&g, odd, 3, 0, 1);
    CHECK(isfinite(odd[2]));
    /* scalar normal */
    s = 0;
    for (int i = 0; i < 10000; i++) s += sl_rng_normal(&g);
    CHECK_NEAR(s / 10000, 0, 0.05);
    /* bernoulli p = 0.25 */
    sl_rng_fill_bernoulli(&g, x, N, 0.25f);
    s = 0;
    for (int i = 0; i < N; i++) {
        s += x[i];
        CHECK(x[i] == 0 || x[i] == 1);
    }
    CHECK_NEAR(s / N, 0.25, 0.006);
    sl_rng_fill_bernoulli(&g, x, 1000, 0);
    for (int i = 0; i < 1000; i++) CHECK(x[i] == 0);
    sl_rng_fill_bernoulli(&g, x, 1000, 1);
    for (int i = 0; i < 1000; i++) CHECK(x[i] == 1);
    /* below(n): range and rough uniformity over 7 buckets */
    int count[7] = {0};
    for (int i = 0; i < 70000; i++) {
        int64_t k = sl_rng_below(&g, 7);
        CHECK(k >= 0 && k < 7);
        count[k]++;
    }
    for (int k = 0; k < 7; k++) CHECK_NEAR(count[k], 10000, 400);
    CHECK(sl_rng_below(&g, 1) == 0);
    int64_t big = sl_rng_below(&g, INT64_MAX);
    CHECK(big >= 0);
    sl_free(x);
}

static void test_randperm(void)
{
    sl_rng g;
    sl_rng_init(&g, 5);
    int64_t p[1000];
    bool seen[1000];
    for (int trial = 0; trial < 3; trial++) {
        sl_rng_randperm(&g, p, 1000);
        memset(seen, 0, sizeof seen);
        int fixed = 0;
        for (int i = 0; i < 1000; i++) {
            CHECK(p[i] >= 0 && p[i] < 1000 && !seen[p[i]]);
            if (p[i] >= 0 && p[i] < 1000) seen[p[i]] = true;
            fixed += p[i] == i;
        }
        CHECK(fixed < 10); /* expected about 1 */
    }
    /* position of element 0 over many permutations of 4 is uniform */
    int at[4] = {0};
    for (int t = 0; t < 8000; t++) {
        int64_t q[4];
        sl_rng_randperm(&g, q, 4);
        for (int i = 0; i < 4; i++)
            if (q[i] == 0) at[i]++;
    }
    for (int i = 0; i < 4; i++) CHECK_NEAR(at[i], 2000, 200);
    sl_rng_randperm(&g, p, 0);
    sl_rng_randperm(&g, p, 1);
    CHECK(p[0] == 0);
}

static void test_multinomial(void)
{
    sl_rng g;
    sl_rng_init(&g, 11);
    /* with replacement: frequencies follow the weights, zero weight never drawn */
    float w[2][4] = {{1, 0, 3, 4}, {0, 0, 0, 2}};
    enum { N = 40000 };
    int64_t *out = sl_malloc(2 * N * sizeof(int64_t));
    CHECK(sl_rng_multinomial(&g, &w[0][0], 2, 4, N, true, out) == SL_OK);
    int count[4] = {0};
    for (int i = 0; i < N; i++) count[out[i]]++;
    CHECK(count[1] == 0);
    CHECK_NEAR(count[0] / (double)N, 1.0 / 8, 0.01);
    CHECK_NEAR(count[2] / (double)N, 3.0 / 8, 0.01);
    CHECK_NEAR(count[3] / (double)N, 4.0 / 8, 0.01);
    for (int i = 0; i < N; i++) CHECK(out[N + i] == 3);
    /* without replacement: unique, all positive-weight categories when n = their count */
    float w2[5] = {0.1f, 0.2f, 0.3f, 0.4f, 0.7f};
    for (int trial = 0; trial < 2000; trial++) {
        int64_t o[5];
        CHECK(sl_rng_multinomial(&g, w2, 1, 5, 5, false, o) == SL_OK);
        bool seen[5] = {false};
        for (int i = 0; i < 5; i++) {
            CHECK(o[i] >= 0 && o[i] < 5 && !seen[o[i]]);
            if (o[i] >= 0 && o[i] < 5) seen[o[i]] = true;
        }
    }
    /* first draw without replacement follows the weights */
    int first[5] = {0};
    for (int trial = 0; trial < 17000; trial++) {
        int64_t o[2];
        sl_rng_multinomial(&g, w2, 1, 5, 2, false, o);
        first[o[0]]++;
    }
    for (int k = 0; k < 5; k++) CHECK_NEAR(first[k] / 17000.0, w2[k] / 1.7, 0.012);
    /* asking for more than the positive weights allow is an error, never a zero-weight pick */
    float w3[4] = {0.1f, 0, 0.2f, 0.3f};
    for (int trial = 0; trial < 2000; trial++) {
        int64_t o[4];
        sl_clear_error();
        int rc = sl_rng_multinomial(&g, w3, 1, 4, 4, false, o);
        CHECK(rc == SL_ERR && strstr(sl_last_error(), "multinomial: row 1 has no positive weight left"));
        if (rc == SL_OK) break;
    }
    float bad[3] = {1, -1, 2};
    int64_t o[1];
    CHECK_FAILS(sl_rng_multinomial(&g, bad, 1, 3, 1, true, o), "multinomial: weight 2 of row 1 is -1");
    float nanw[2] = {NAN, 1};
    CHECK_FAILS(sl_rng_multinomial(&g, nanw, 1, 2, 1, true, o), "must be finite and >= 0");
    float zeros[2] = {0, 0};
    CHECK_FAILS(sl_rng_multinomial(&g, zeros, 1, 2, 1, true, o), "no positive weight");
    CHECK_FAILS(sl_rng_multinomial(&g, zeros, 1, 0, 1, true, o), "multinomial: no categories");
    sl_free(out);
}

int main(void)
{
    RUN(test_philox_known_answers);
    RUN(test_generator_state_and_determinism);
    RUN(test_thread_count_independence);
    RUN(test_distributions);
    RUN(test_randperm);
    RUN(test_multinomial);
    return test_summary();
}
