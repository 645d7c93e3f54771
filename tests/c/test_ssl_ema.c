/* test_ssl_ema.c - momentum-encoder helpers: EMA values, copy, the cosine
 * momentum schedule, errors. */
#include "nn_testutil.h"
#include "ssl/ssl.h"

static void test_ema(void)
{
    float t[3] = {1, 2, 3}, s[3] = {3, 2, 1};
    CHECK(sl_ema_update(t, s, 3, 0.75f) == SL_OK);
    CHECK_NEAR(t[0], 0.75 * 1 + 0.25 * 3, 1e-7);
    CHECK_NEAR(t[1], 2, 1e-7);
    CHECK_NEAR(t[2], 0.75 * 3 + 0.25 * 1, 1e-7);
    /* m = 1: frozen; m = 0: copy (MoCo's initialisation) */
    CHECK(sl_ema_update(t, s, 3, 1.0f) == SL_OK);
    CHECK_NEAR(t[0], 1.5, 1e-7);
    CHECK(sl_ema_update(t, s, 3, 0.0f) == SL_OK);
    CHECK(t[0] == 3 && t[1] == 2 && t[2] == 1);
    /* repeated updates converge geometrically: target - source = m^n (t0 - s) */
    float a[1] = {1}, b[1] = {0};
    for (int i = 0; i < 100; i++) sl_ema_update(a, b, 1, 0.99f);
    CHECK_NEAR(a[0], pow(0.99, 100), 1e-5);
    /* a long buffer (the parallel path) */
    const int n = 100000;
    float *x = tu_normal(n, 1, 1), *y = tu_normal(n, 2, 1), *x0 = tu_copy(x, n);
    CHECK(sl_ema_update(x, y, n, 0.999f) == SL_OK);
    int bad = 0;
    for (int i = 0; i < n; i++) bad += fabsf(x[i] - (0.999f * x0[i] + 0.001f * y[i])) > 1e-6f;
    CHECK(bad == 0);
    sl_free(x); sl_free(y); sl_free(x0);
}

static void test_copy_and_schedule(void)
{
    float t[4] = {0}, s[4] = {1, 2, 3, 4};
    CHECK(sl_ema_copy(t, s, 4) == SL_OK);
    CHECK(t[0] == 1 && t[3] == 4);
    CHECK(sl_ema_copy(NULL, NULL, 0) == SL_OK);
    CHECK_NEAR(sl_ema_cosine_momentum(0.99, 0, 100), 0.99, 1e-12);
    CHECK_NEAR(sl_ema_cosine_momentum(0.99, 50, 100), 0.995, 1e-12);
    CHECK_NEAR(sl_ema_cosine_momentum(0.99, 100, 100), 1.0, 1e-12);
    CHECK_NEAR(sl_ema_cosine_momentum(0.996, 200, 100), 1.0, 1e-12);
}

static void test_errors(void)
{
    float t[1], s[1];
    CHECK_FAILS(sl_ema_update(t, s, 1, 1.5f), "ema_update");
    CHECK_FAILS(sl_ema_update(t, s, 1, 1.5f), "momentum 1.5");
    CHECK_FAILS(sl_ema_copy(NULL, s, 1), "ema_copy: NULL");
    CHECK_FAILS(sl_ema_copy(t, s, -1), "negative size");
}

int main(void)
{
    RUN(test_ema);
    RUN(test_copy_and_schedule);
    RUN(test_errors);
    return test_summary();
}
