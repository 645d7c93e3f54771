/* test_ssl_queue.c - the negatives queue: order and wrap-around with K not a
 * multiple of B, batches longer than the queue, count and age, the random
 * unit-row initialisation, errors. */
#include "nn_testutil.h"
#include "ssl/ssl.h"

/* keys of batch b: row t holds (100 b + t, -(100 b + t)) */
static void make_keys(float *keys, int b, int B)
{
    for (int t = 0; t < B; t++) {
        keys[2 * t] = (float)(100 * b + t);
        keys[2 * t + 1] = -(float)(100 * b + t);
    }
}

static void test_wrap(void)
{
    const int K = 7, D = 2, B = 3;
    float queue[14], keys[6];
    int64_t ptr = 0, count = 0, age[7];
    for (int r = 0; r < 14; r++) queue[r] = -1;
    for (int r = 0; r < K; r++) age[r] = 0;
    /* batches 0, 1, 2: rows 0-2, 3-5, then 6, 0, 1 (split copy) */
    for (int b = 0; b < 3; b++) {
        make_keys(keys, b, B);
        CHECK(sl_queue_enqueue(queue, &ptr, &count, age, K, D, keys, B) == SL_OK);
        if (b == 0) CHECK(count == 3 && ptr == 3);
    }
    CHECK(ptr == (3 * B) % K);
    CHECK(count == K);
    const float want[7] = {201, 202, 2, 100, 101, 102, 200};
    for (int r = 0; r < K; r++) {
        CHECK_NEAR(queue[2 * r], want[r], 0);
        CHECK_NEAR(queue[2 * r + 1], -want[r], 0);
    }
    const int64_t want_age[7] = {0, 0, 2, 1, 1, 1, 0};
    for (int r = 0; r < K; r++) CHECK(age[r] == want_age[r]);
    /* B = 0 is a no-op except for ages */
    CHECK(sl_queue_enqueue(queue, &ptr, &count, age, K, D, NULL, 0) == SL_OK);
    CHECK(ptr == 2 && age[0] == 1);
}

static void test_partial_fill(void)
{
    /* a queue that starts empty: valid rows are [0, count) until it is full */
    const int K = 10, D = 2;
    float queue[20] = {0}, keys[8];
    int64_t ptr = 0, count = 0;
    make_keys(keys, 1, 4);
    CHECK(sl_queue_enqueue(queue, &ptr, &count, NULL, K, D, keys, 4) == SL_OK);
    CHECK(count == 4 && ptr == 4);
    CHECK(sl_queue_enqueue(queue, &ptr, &count, NULL, K, D, keys, 4) == SL_OK);
    CHECK(count == 8 && queue[2 * 7] == 103);
    CHECK(sl_queue_enqueue(queue, &ptr, &count, NULL, K, D, keys, 4) == SL_OK);
    CHECK(count == 10 && ptr == 2 && queue[0] == 102 && queue[2 * 9] == 101);
}

static void test_batch_longer_than_queue(void)
{
    /* B = 8 > K = 3 from ptr 1: keys 0..7 would land on rows 1,2,0,1,2,0,1,2; keys 5,6,7 survive */
    const int K = 3, D = 2, B = 8;
    float queue[6] = {0}, keys[16];
    int64_t ptr = 1, age[3] = {5, 5, 5};
    make_keys(keys, 0, B);
    CHECK(sl_queue_enqueue(queue, &ptr, NULL, age, K, D, keys, B) == SL_OK);
    CHECK(ptr == (1 + B) % K);
    CHECK(queue[0] == 5 && queue[2] == 6 && queue[4] == 7);
    CHECK(age[0] == 0 && age[1] == 0 && age[2] == 0);
}

/* Compare with a slot-by-slot model for many (K, B, start) combinations. */
static void test_against_model(void)
{
    const int D = 3;
    for (int K = 1; K <= 9; K++)
        for (int B = 1; B <= 11; B++) {
            float queue[27], model[27], keys[33];
            int64_t ptr = K / 2, mptr = K / 2;
            for (int t = 0; t < 27; t++) queue[t] = model[t] = -1;
            for (int step = 0; step < 4; step++) {
                for (int t = 0; t < B * D; t++) keys[t] = (float)(1000 * step + t);
                CHECK(sl_queue_enqueue(queue, &ptr, NULL, NULL, K, D, keys, B) == SL_OK);
                for (int t = 0; t < B; t++, mptr = (mptr + 1) % K)
                    for (int d = 0; d < D; d++) model[mptr * D + d] = keys[t * D + d];
                CHECK(ptr == mptr);
            }
            CHECK_CLOSE("queue vs model", queue, model, K * D, 0, 0);
        }
}

static void test_init_random(void)
{
    const int K = 16, D = 128;
    float *q1 = tu_zeros(K * D), *q2 = tu_zeros(K * D);
    int64_t age[16];
    sl_rng r1, r2;
    sl_rng_init(&r1, 42);
    sl_rng_init(&r2, 42);
    CHECK(sl_queue_init_random(q1, age, K, D, &r1) == SL_OK);
    CHECK(sl_queue_init_random(q2, NULL, K, D, &r2) == SL_OK);
    CHECK_CLOSE("same seed, same queue", q1, q2, K * D, 0, 0);
    double mean = 0;
    for (int r = 0; r < K; r++) {
        CHECK_NEAR(tu_dot(q1 + r * D, q1 + r * D, D), 1.0, 1e-5);
        CHECK(age[r] == 0);
        for (int d = 0; d < D; d++) mean += q1[r * D + d];
    }
    CHECK_NEAR(mean / (K * D), 0, 0.02);
    sl_free(q1); sl_free(q2);
}

static void test_errors(void)
{
    float queue[4], keys[2] = {1, 2};
    int64_t ptr = 2, count = 0;
    CHECK_FAILS(sl_queue_enqueue(queue, &ptr, NULL, NULL, 2, 2, keys, 1), "pointer 2 out of range for queue [2x2]");
    ptr = 0;
    count = 3;
    CHECK_FAILS(sl_queue_enqueue(queue, &ptr, &count, NULL, 2, 2, keys, 1), "count 3 out of range");
    CHECK_FAILS(sl_queue_enqueue(queue, &ptr, NULL, NULL, 0, 2, keys, 1), "queue_enqueue: bad sizes");
    CHECK_FAILS(sl_queue_init_random(queue, NULL, 2, 2, NULL), "NULL");
}

int main(void)
{
    RUN(test_wrap);
    RUN(test_partial_fill);
    RUN(test_batch_longer_than_queue);
    RUN(test_against_model);
    RUN(test_init_random);
    RUN(test_errors);
    return test_summary();
}
