/* test_data_synthetic.c - the built-in synthetic dataset: determinism,
 * balanced labels, pixel variety, argument checks and speed. */
#include <stdlib.h>
#include <time.h>

#include "data/synthetic.h"
#include "test.h"

enum { S = 32, PIX = 3 * S * S };

static void test_class_names(void)
{
    CHECK(strcmp(sl_synthetic_class_names[0], "circle") == 0);
    CHECK(strcmp(sl_synthetic_class_names[9], "heart") == 0);
    for (int i = 0; i < SL_SYNTHETIC_NUM_CLASSES; i++)
        for (int j = 0; j < i; j++) CHECK(strcmp(sl_synthetic_class_names[i], sl_synthetic_class_names[j]) != 0);
}

static void test_deterministic(void)
{
    uint8_t a[PIX], b[PIX];
    int la, lb;
    CHECK(sl_synthetic_render(42, 1234, S, a, &la) == SL_OK);
    CHECK(sl_synthetic_render(42, 1234, S, b, &lb) == SL_OK);
    CHECK(memcmp(a, b, PIX) == 0 && la == lb && la == 4);
    /* Order does not matter: render others in between, then again. */
    CHECK(sl_synthetic_render(42, 99, S, b, NULL) == SL_OK);
    CHECK(memcmp(a, b, PIX) != 0);
    CHECK(sl_synthetic_render(7, 1234, S, b, &lb) == SL_OK); /* another seed: another image, same label */
    CHECK(memcmp(a, b, PIX) != 0 && lb == la);
    CHECK(sl_synthetic_render(42, 1234, S, b, NULL) == SL_OK);
    CHECK(memcmp(a, b, PIX) == 0);
}

static void test_batch_matches_single(void)
{
    enum { N = 40 };
    uint8_t *batch = malloc((size_t)N * PIX), one[PIX];
    int64_t labels[N];
    CHECK(sl_synthetic_render_batch(3, 100, N, S, batch, labels) == SL_OK);
    int ok = 1;
    for (int i = 0; i < N; i++) {
        int l;
        sl_synthetic_render(3, 100 + i, S, one, &l);
        ok &= memcmp(one, batch + (size_t)i * PIX, PIX) == 0 && l == labels[i] && l == sl_synthetic_label(100 + i);
    }
    CHECK(ok);
    CHECK(sl_synthetic_render_batch(3, 0, 0, S, batch, NULL) == SL_OK);
    free(batch);
}

static void test_balanced_labels(void)
{
    int count[SL_SYNTHETIC_NUM_CLASSES] = {0};
    for (int64_t i = 0; i < 1000; i++) count[sl_synthetic_label(i)]++;
    for (int c = 0; c < SL_SYNTHETIC_NUM_CLASSES; c++) CHECK(count[c] == 100);
    int label = -1;
    uint8_t img[PIX];
    sl_synthetic_render(0, 5, S, img, &label);
    CHECK(label == 5);
}

static void test_pixel_variety(void)
{
    /* Each image uses many grey levels and has real contrast; image means
     * vary across samples (random colours), in every channel. */
    enum { N = 200 };
    uint8_t img[PIX];
    double mean_sum[3] = {0}, mean_sq[3] = {0};
    int flat_images = 0;
    for (int i = 0; i < N; i++) {
        sl_synthetic_render(11, i, S, img, NULL);
        int seen[256] = {0}, distinct = 0;
        double m = 0, v = 0;
        for (int p = 0; p < PIX; p++) {
            distinct += !seen[img[p]]++;
            m += img[p];
        }
        m /= PIX;
        for (int p = 0; p < PIX; p++) v += (img[p] - m) * (img[p] - m);
        if (distinct < 30 || sqrt(v / PIX) < 10.0) flat_images++;
        for (int c = 0; c < 3; c++) {
            double cm = 0;
            for (int p = 0; p < S * S; p++) cm += img[c * S * S + p];
            cm /= S * S;
            mean_sum[c] += cm, mean_sq[c] += cm * cm;
        }
    }
    CHECK(flat_images <= 2);
    for (int c = 0; c < 3; c++) {
        double mu = mean_sum[c] / N, sd = sqrt(mean_sq[c] / N - mu * mu);
        CHECK(mu > 60 && mu < 200);
        CHECK(sd > 25); /* colours really vary between images */
    }
}

static void test_shape_visible(void)
{
    /* The shape differs from its surroundings: the centre-of-image statistics
     * of two renders of the same sample at different seeds differ, and the
     * same sample at twice the size keeps the label. */
    uint8_t small[PIX], *big = malloc(3 * 64 * 64);
    int l1, l2;
    sl_synthetic_render(5, 17, S, small, &l1);
    sl_synthetic_render(5, 17, 64, big, &l2);
    CHECK(l1 == l2 && l1 == 7);
    /* Downsampled big ~ small (same scene, different resolution). */
    double diff = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int b = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) b += big[(c * 64 + 2 * y + dy) * 64 + 2 * x + dx];
                diff += fabs(b / 4.0 - small[(c * S + y) * S + x]);
            }
    CHECK(diff / PIX < 20.0);
    free(big);
}

static void test_bad_arguments(void)
{
    uint8_t img[PIX];
    CHECK_FAILS(sl_synthetic_render(0, 0, 4, img, NULL), "synthetic: image size 4 out of range 8..1024");
    CHECK_FAILS(sl_synthetic_render(0, -1, S, img, NULL), "negative sample index -1");
    CHECK_FAILS(sl_synthetic_render_batch(0, 0, -2, S, img, NULL), "negative batch size");
}

static void test_speed(void)
{
    enum { N = 2000 };
    uint8_t *out = malloc((size_t)N * PIX);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++) sl_synthetic_render(1, i, S, out + (size_t)i * PIX, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    printf("     %d images of 32x32 in %.3f s (%.0f/s, one thread)\n", N, s, N / s);
    CHECK(s < 4.0); /* ~0.2 s normally; generous for a loaded machine */
    free(out);
}

int main(void)
{
    RUN(test_class_names);
    RUN(test_deterministic);
    RUN(test_batch_matches_single);
    RUN(test_balanced_labels);
    RUN(test_pixel_variety);
    RUN(test_shape_visible);
    RUN(test_bad_arguments);
    RUN(test_speed);
    return test_summary();
}
