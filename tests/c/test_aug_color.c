/* test_aug_color.c - colour jitter, grayscale, solarize, normalise, to_float, flip. */
#include "test.h"

#include "aug/aug.h"

enum { H = 6, W = 5, P = H * W };

static void fill_random(float *x, size_t n, uint64_t seed)
{
    sl_rng rng;
    sl_rng_init(&rng, seed);
    sl_rng_fill_uniform(&rng, x, (int64_t)n, 0.0f, 1.0f);
}

static int all_in_01(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(x[i] >= 0.0f && x[i] <= 1.0f)) return 0;
    return 1;
}

static void test_jitter_zero_strength_is_identity(void)
{
    float img[3 * P], ref[3 * P], grey[P], gref[P];
    fill_random(img, 3 * P, 1);
    memcpy(ref, img, sizeof img);
    fill_random(grey, P, 2);
    memcpy(gref, grey, sizeof grey);
    for (int s = 0; s < 20; s++) {
        sl_rng rng;
        sl_rng_init(&rng, s);
        CHECK(sl_aug_color_jitter(&rng, img, 3, H, W, 0, 0, 0, 0, 1.0f) == SL_OK);
        CHECK(sl_aug_color_jitter(&rng, grey, 1, H, W, 0, 0, 0, 0, 1.0f) == SL_OK);
    }
    CHECK(memcmp(img, ref, sizeof img) == 0);
    CHECK(memcmp(grey, gref, sizeof grey) == 0);
    /* and each factor at its identity value */
    CHECK(sl_aug_adjust_brightness(img, 3, H, W, 1.0f) == SL_OK);
    CHECK(sl_aug_adjust_contrast(img, 3, H, W, 1.0f) == SL_OK);
    CHECK(sl_aug_adjust_saturation(img, 3, H, W, 1.0f) == SL_OK);
    CHECK(memcmp(img, ref, sizeof img) == 0);
    CHECK(sl_aug_adjust_hue(img, 3, H, W, 0.0f) == SL_OK);
    for (int i = 0; i < 3 * P; i++) CHECK_NEAR(img[i], ref[i], 1e-6); /* HSV round trip */
}

static void test_jitter_param_ranges(void)
{
    sl_rng rng;
    sl_rng_init(&rng, 77);
    int seen[4][4] = {{0}};
    float lo[4] = {9, 9, 9, 9}, hi[4] = {-9, -9, -9, -9};
    for (int i = 0; i < 4000; i++) {
        sl_aug_jitter j;
        CHECK(sl_aug_color_jitter_params(&rng, 0.4f, 0.4f, 0.4f, 0.1f, &j) == SL_OK);
        int mask = 0;
        for (int k = 0; k < 4; k++) {
            CHECK(j.active[k]);
            mask |= 1 << j.order[k];
            seen[k][j.order[k]]++;
            if (j.factor[k] < lo[k]) lo[k] = j.factor[k];
            if (j.factor[k] > hi[k]) hi[k] = j.factor[k];
        }
        CHECK(mask == 15); /* a permutation */
    }
    for (int k = 0; k < 3; k++) {
        CHECK(lo[k] >= 0.6f && lo[k] < 0.61f);
        CHECK(hi[k] <= 1.4f && hi[k] > 1.39f);
    }
    CHECK(lo[3] >= -0.1f && lo[3] < -0.099f);
    CHECK(hi[3] <= 0.1f && hi[3] > 0.099f);
    for (int k = 0; k < 4; k++) /* every function appears at every position ~1000 times */
        for (int f = 0; f < 4; f++) CHECK(seen[k][f] > 850 && seen[k][f] < 1150);
    /* strength above 1: the lower end is clipped at 0 */
    float mn = 9;
    for (int i = 0; i < 2000; i++) {
        sl_aug_jitter j;
        CHECK(sl_aug_color_jitter_params(&rng, 1.5f, 0, 0, 0, &j) == SL_OK);
        CHECK(j.factor[0] >= 0.0f && j.factor[0] <= 2.5f);
        CHECK(!j.active[1] && !j.active[2] && !j.active[3]);
        if (j.factor[0] < mn) mn = j.factor[0];
    }
    CHECK(mn < 0.01f);
    sl_aug_jitter j;
    CHECK_FAILS(sl_aug_color_jitter_params(&rng, 0.4f, 0.4f, 0.4f, 0.6f, &j), "hue");
    CHECK_FAILS(sl_aug_color_jitter_params(&rng, -0.1f, 0.4f, 0.4f, 0.1f, &j), "brightness");
}

static void test_jitter_clamps_and_p(void)
{
    float img[3 * P], ref[3 * P];
    fill_random(ref, 3 * P, 3);
    int changed = 0;
    for (int s = 0; s < 200; s++) {
        sl_rng rng;
        sl_rng_init(&rng, s);
        memcpy(img, ref, sizeof img);
        CHECK(sl_aug_color_jitter(&rng, img, 3, H, W, 0.9f, 0.9f, 0.9f, 0.5f, 0.5f) == SL_OK);
        CHECK(all_in_01(img, 3 * P));
        if (memcmp(img, ref, sizeof img) != 0) changed++;
    }
    CHECK(changed > 70 && changed < 130); /* p = 0.5 */
    sl_rng rng;
    sl_rng_init(&rng, 1);
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_color_jitter(&rng, img, 3, H, W, 0.9f, 0.9f, 0.9f, 0.5f, 0.0f) == SL_OK);
    CHECK(memcmp(img, ref, sizeof img) == 0);
    CHECK_FAILS(sl_aug_color_jitter(&rng, img, 3, H, W, 0.4f, 0.4f, 0.4f, 0.1f, 1.5f), "probability");
}

static void test_brightness_contrast_saturation(void)
{
    float img[3 * P], ref[3 * P];
    fill_random(ref, 3 * P, 4);
    /* brightness: x * f, clamped */
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_adjust_brightness(img, 3, H, W, 1.5f) == SL_OK);
    for (int i = 0; i < 3 * P; i++) CHECK_NEAR(img[i], fminf(1.0f, 1.5f * ref[i]), 1e-7);
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_adjust_brightness(img, 3, H, W, 0.0f) == SL_OK);
    for (int i = 0; i < 3 * P; i++) CHECK(img[i] == 0.0f);
    /* contrast 0: every pixel becomes the grayscale mean */
    double mean = 0;
    for (int i = 0; i < P; i++) mean += 0.299 * ref[i] + 0.587 * ref[P + i] + 0.114 * ref[2 * P + i];
    mean /= P;
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_adjust_contrast(img, 3, H, W, 0.0f) == SL_OK);
    for (int i = 0; i < 3 * P; i++) CHECK_NEAR(img[i], mean, 1e-6);
    /* contrast 0.5: halfway to the mean */
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_adjust_contrast(img, 3, H, W, 0.5f) == SL_OK);
    for (int i = 0; i < 3 * P; i++) CHECK_NEAR(img[i], 0.5 * ref[i] + 0.5 * mean, 1e-6);
    /* saturation 0: grayscale */
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_adjust_saturation(img, 3, H, W, 0.0f) == SL_OK);
    for (int i = 0; i < P; i++) {
        double l = 0.299 * ref[i] + 0.587 * ref[P + i] + 0.114 * ref[2 * P + i];
        CHECK_NEAR(img[i], l, 1e-6);
        CHECK_NEAR(img[P + i], l, 1e-6);
        CHECK_NEAR(img[2 * P + i], l, 1e-6);
    }
    /* saturation 2 clamps */
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_adjust_saturation(img, 3, H, W, 2.0f) == SL_OK);
    CHECK(all_in_01(img, 3 * P));
    CHECK_FAILS(sl_aug_adjust_contrast(img, 3, H, W, -1.0f), "factor");
}

static void test_hue_known_values(void)
{
    /* expected values from Python colorsys (same HSV model as torchvision) */
    const float px[4][3] = {{0.9f, 0.3f, 0.1f}, {0.2f, 0.4f, 0.6f}, {0.5f, 0.5f, 0.5f}, {0.1f, 0.8f, 0.3f}};
    const float shift[4] = {0.25f, -0.4f, 0.3f, 0.1f};
    const float want[4][3] = {{0.3f, 0.9f, 0.1f}, {0.56f, 0.6f, 0.2f}, {0.5f, 0.5f, 0.5f}, {0.1f, 0.8f, 0.72f}};
    for (int k = 0; k < 4; k++) {
        float img[3] = {px[k][0], px[k][1], px[k][2]};
        CHECK(sl_aug_adjust_hue(img, 3, 1, 1, shift[k]) == SL_OK);
        for (int c = 0; c < 3; c++) CHECK_NEAR(img[c], want[k][c], 2e-6);
    }
    /* pure red + 1/3 turn = green */
    float red[3] = {1, 0, 0};
    CHECK(sl_aug_adjust_hue(red, 3, 1, 1, 1.0f / 3.0f) == SL_OK);
    CHECK_NEAR(red[0], 0, 1e-6);
    CHECK_NEAR(red[1], 1, 1e-6);
    CHECK_NEAR(red[2], 0, 1e-6);
    /* +0.5 then -0.5 comes back; value (max channel) is preserved */
    float img[3 * P], ref[3 * P];
    fill_random(ref, 3 * P, 5);
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_adjust_hue(img, 3, H, W, 0.5f) == SL_OK);
    for (int i = 0; i < P; i++) {
        float v0 = fmaxf(ref[i], fmaxf(ref[P + i], ref[2 * P + i]));
        float v1 = fmaxf(img[i], fmaxf(img[P + i], img[2 * P + i]));
        CHECK_NEAR(v0, v1, 1e-6);
    }
    CHECK(sl_aug_adjust_hue(img, 3, H, W, -0.5f) == SL_OK);
    for (int i = 0; i < 3 * P; i++) CHECK_NEAR(img[i], ref[i], 1e-5);
    CHECK_FAILS(sl_aug_adjust_hue(img, 3, H, W, 0.6f), "hue_factor");
}

static void test_grayscale_weights(void)
{
    float img[3 * 3] = {1, 0, 0, /* r */ 0, 1, 0, /* g */ 0, 0, 1 /* b */}; /* 1x3 image: red, green, blue */
    CHECK(sl_aug_grayscale(img, 3, 1, 3) == SL_OK);
    const float want[3] = {0.299f, 0.587f, 0.114f};
    for (int x = 0; x < 3; x++)
        for (int c = 0; c < 3; c++) CHECK_NEAR(img[c * 3 + x], want[x], 1e-7);
    float white[3] = {1, 1, 1};
    CHECK(sl_aug_grayscale(white, 3, 1, 1) == SL_OK);
    CHECK_NEAR(white[0], 1.0, 1e-6);
    /* random grayscale: frequency ~ p, p = 0 never, p = 1 always */
    float ref[3 * P], im[3 * P];
    fill_random(ref, 3 * P, 6);
    sl_rng rng;
    sl_rng_init(&rng, 8);
    int n = 0;
    for (int i = 0; i < 1000; i++) {
        memcpy(im, ref, sizeof im);
        CHECK(sl_aug_random_grayscale(&rng, im, 3, H, W, 0.2f) == SL_OK);
        if (memcmp(im, ref, sizeof im) != 0) {
            n++;
            CHECK(im[0] == im[P] && im[P] == im[2 * P]);
        }
    }
    CHECK(n > 160 && n < 240);
    memcpy(im, ref, sizeof im);
    CHECK(sl_aug_random_grayscale(&rng, im, 3, H, W, 0.0f) == SL_OK);
    CHECK(memcmp(im, ref, sizeof im) == 0);
    CHECK(sl_aug_random_grayscale(&rng, im, 3, H, W, 1.0f) == SL_OK);
    CHECK(im[5] == im[P + 5] && im[5] == im[2 * P + 5]);
}

static void test_grey_images_through_colour_ops(void)
{
    float g[P], ref[P];
    fill_random(ref, P, 9);
    memcpy(g, ref, sizeof g);
    CHECK(sl_aug_adjust_saturation(g, 1, H, W, 0.0f) == SL_OK);
    CHECK(sl_aug_adjust_hue(g, 1, H, W, 0.3f) == SL_OK);
    CHECK(sl_aug_grayscale(g, 1, H, W) == SL_OK);
    CHECK(memcmp(g, ref, sizeof g) == 0);
    /* contrast on grey blends with the image's own mean */
    double mean = 0;
    for (int i = 0; i < P; i++) mean += ref[i];
    mean /= P;
    CHECK(sl_aug_adjust_contrast(g, 1, H, W, 0.0f) == SL_OK);
    for (int i = 0; i < P; i++) CHECK_NEAR(g[i], mean, 1e-6);
    /* full jitter works and stays in range */
    sl_rng rng;
    sl_rng_init(&rng, 10);
    for (int i = 0; i < 50; i++) {
        memcpy(g, ref, sizeof g);
        CHECK(sl_aug_color_jitter(&rng, g, 1, H, W, 0.8f, 0.8f, 0.8f, 0.2f, 1.0f) == SL_OK);
        CHECK(all_in_01(g, P));
    }
    CHECK_FAILS(sl_aug_grayscale(g, 2, H, W), "C must be 1 or 3");
}

static void test_solarize(void)
{
    float x[6] = {0.0f, 0.3f, 0.5f, 0.49f, 0.7f, 1.0f};
    CHECK(sl_aug_solarize(x, 1, 1, 6, 0.5f) == SL_OK);
    const float want[6] = {0.0f, 0.3f, 0.5f, 0.49f, 0.3f, 0.0f};
    for (int i = 0; i < 6; i++) CHECK_NEAR(x[i], want[i], 1e-7);
    sl_rng rng;
    sl_rng_init(&rng, 3);
    int n = 0;
    for (int i = 0; i < 1000; i++) {
        float y[1] = {0.9f};
        CHECK(sl_aug_random_solarize(&rng, y, 1, 1, 1, 0.5f, 0.2f) == SL_OK);
        n += y[0] < 0.5f;
    }
    CHECK(n > 160 && n < 240);
}

static void test_normalize_and_to_float(void)
{
    const uint8_t u[6] = {0, 51, 255, 128, 1, 254};
    float f[6];
    CHECK(sl_aug_to_float(u, f, 3, 1, 2) == SL_OK);
    CHECK(f[0] == 0.0f && f[2] == 1.0f);
    CHECK_NEAR(f[1], 0.2, 1e-7);
    CHECK_NEAR(f[3], 128.0 / 255.0, 1e-7);
    const float mean[3] = {0.5f, 0.25f, 0.0f}, std[3] = {0.5f, 0.25f, 2.0f};
    float x[6] = {0.0f, 1.0f, 0.25f, 0.5f, 1.0f, 0.5f}; /* [3 x 1 x 2] */
    CHECK(sl_aug_normalize(x, 3, 1, 2, mean, std) == SL_OK);
    const float want[6] = {-1.0f, 1.0f, 0.0f, 1.0f, 0.5f, 0.25f};
    for (int i = 0; i < 6; i++) CHECK_NEAR(x[i], want[i], 1e-7);
    const float zero[3] = {1, 0, 1};
    CHECK_FAILS(sl_aug_normalize(x, 3, 1, 2, mean, zero), "std[1]");
}

static void test_flip(void)
{
    float x[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; /* [2 x 2 x 3] */
    CHECK(sl_aug_hflip(x, 1, 4, 3) == SL_OK);
    const float want[12] = {3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10};
    CHECK(memcmp(x, want, sizeof x) == 0);
    float img[3 * P], ref[3 * P];
    fill_random(ref, 3 * P, 12);
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_hflip(img, 3, H, W) == SL_OK);
    CHECK(memcmp(img, ref, sizeof img) != 0);
    CHECK(img[2] == ref[2]); /* odd width: the middle column stays */
    CHECK(sl_aug_hflip(img, 3, H, W) == SL_OK);
    CHECK(memcmp(img, ref, sizeof img) == 0);
    sl_rng rng;
    sl_rng_init(&rng, 4);
    int n = 0;
    for (int i = 0; i < 1000; i++) {
        memcpy(img, ref, sizeof img);
        CHECK(sl_aug_random_hflip(&rng, img, 3, H, W, 0.5f) == SL_OK);
        n += memcmp(img, ref, sizeof img) != 0;
    }
    CHECK(n > 440 && n < 560);
}

int main(void)
{
    RUN(test_jitter_zero_strength_is_identity);
    RUN(test_jitter_param_ranges);
    RUN(test_jitter_clamps_and_p);
    RUN(test_brightness_contrast_saturation);
    RUN(test_hue_known_values);
    RUN(test_grayscale_weights);
    RUN(test_grey_images_through_colour_ops);
    RUN(test_solarize);
    RUN(test_normalize_and_to_float);
    RUN(test_flip);
    return test_summary();
}
