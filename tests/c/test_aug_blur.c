/* test_aug_blur.c - Gaussian kernel, separable blur vs a naive 2-D reference. */
#include "test.h"

#include "aug/aug.h"

#include <stdlib.h>

static void test_kernel_size_helper(void)
{
    CHECK(sl_aug_blur_kernel_size(32) == 3);
    CHECK(sl_aug_blur_kernel_size(96) == 9);
    CHECK(sl_aug_blur_kernel_size(224) == 23);
    CHECK(sl_aug_blur_kernel_size(64) == 7);
    CHECK(sl_aug_blur_kernel_size(5) == 1);
    for (int s = 1; s < 600; s++) {
        int k = sl_aug_blur_kernel_size(s);
        CHECK(k % 2 == 1 && k >= 1 && fabs(k - 0.1 * s) <= 1.5);
    }
}

static void test_kernel_normalised_symmetric(void)
{
    float k[41];
    for (int ks = 1; ks <= 41; ks += 2) {
        for (float sigma = 0.1f; sigma < 5.0f; sigma *= 1.7f) {
            CHECK(sl_aug_gaussian_kernel1d(k, ks, sigma) == SL_OK);
            double sum = 0;
            for (int i = 0; i < ks; i++) sum += k[i];
            CHECK_NEAR(sum, 1.0, 1e-6);
            for (int i = 0; i < ks; i++) CHECK(k[i] == k[ks - 1 - i]);
            for (int i = 0; i < ks / 2; i++) CHECK(k[i] <= k[i + 1]); /* rises to the centre */
        }
    }
    /* torchvision _get_gaussian_kernel1d(3, 1.0) */
    CHECK(sl_aug_gaussian_kernel1d(k, 3, 1.0f) == SL_OK);
    CHECK_NEAR(k[0], 0.27406862, 1e-7);
    CHECK_NEAR(k[1], 0.45186276, 1e-7);
    CHECK_FAILS(sl_aug_gaussian_kernel1d(k, 4, 1.0f), "odd");
    CHECK_FAILS(sl_aug_gaussian_kernel1d(k, 3, 0.0f), "sigma");
}

static int reflect_ref(int i, int n) /* torch pad mode 'reflect', pad < n */
{
    if (i < 0) return -i;
    if (i >= n) return 2 * (n - 1) - i;
    return i;
}

static void test_blur_matches_2d_reference(void)
{
    enum { C = 3, H = 7, W = 9 };
    const int ksizes[3] = {3, 5, 7};
    float img[C * H * W], ref[C * H * W], orig[C * H * W], k[7];
    sl_rng rng;
    sl_rng_init(&rng, 21);
    sl_rng_fill_uniform(&rng, orig, C * H * W, 0.0f, 1.0f);
    float *scratch = sl_malloc(sl_aug_gaussian_blur_scratch(H, W, 7) * sizeof(float));
    for (int t = 0; t < 3; t++) {
        int ks = ksizes[t], half = ks / 2;
        float sigma = 0.7f + t * 0.6f;
        sl_aug_gaussian_kernel1d(k, ks, sigma);
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double acc = 0;
                    for (int a = 0; a < ks; a++)
                        for (int b = 0; b < ks; b++)
                            acc += (double)k[a] * k[b] *
                                   orig[(c * H + reflect_ref(y + a - half, H)) * W + reflect_ref(x + b - half, W)];
                    ref[(c * H + y) * W + x] = (float)acc;
                }
        memcpy(img, orig, sizeof img);
        CHECK(sl_aug_gaussian_blur(img, C, H, W, ks, sigma, scratch) == SL_OK);
        double maxdiff = 0;
        for (int i = 0; i < C * H * W; i++) maxdiff = fmax(maxdiff, fabs(img[i] - ref[i]));
        CHECK(maxdiff < 1e-6);
        if (maxdiff >= 1e-6) fprintf(stderr, "  ksize %d: max diff %g\n", ks, maxdiff);
    }
    sl_free(scratch);
}

static void test_blur_constant_stays_constant(void)
{
    /* including kernels wider than the image (periodic reflection) and 1-pixel sides */
    const int shapes[4][2] = {{8, 8}, {3, 3}, {1, 5}, {5, 1}};
    const int ksizes[3] = {3, 9, 23};
    for (int s = 0; s < 4; s++)
        for (int t = 0; t < 3; t++) {
            int H = shapes[s][0], W = shapes[s][1], ks = ksizes[t];
            float img[3 * 64];
            for (int i = 0; i < 3 * H * W; i++) img[i] = 0.37f;
            float *scratch = sl_malloc(sl_aug_gaussian_blur_scratch(H, W, ks) * sizeof(float));
            CHECK(sl_aug_gaussian_blur(img, 3, H, W, ks, 1.5f, scratch) == SL_OK);
            for (int i = 0; i < 3 * H * W; i++) CHECK_NEAR(img[i], 0.37, 1e-6);
            sl_free(scratch);
        }
}

static void test_blur_smooths_and_p(void)
{
    enum { H = 16, W = 16 };
    float img[H * W], ref[H * W];
    for (int i = 0; i < H * W; i++) ref[i] = ((i / W + i % W) % 2) ? 1.0f : 0.0f; /* checkerboard */
    float *scratch = sl_malloc(sl_aug_gaussian_blur_scratch(H, W, 5) * sizeof(float));
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_gaussian_blur(img, 1, H, W, 5, 2.0f, scratch) == SL_OK);
    double var0 = 0, var1 = 0;
    for (int i = 0; i < H * W; i++) {
        var0 += (ref[i] - 0.5) * (ref[i] - 0.5);
        var1 += (img[i] - 0.5) * (img[i] - 0.5);
        CHECK(img[i] >= 0.0f && img[i] <= 1.0f);
    }
    CHECK(var1 < 0.1 * var0);
    sl_rng rng;
    sl_rng_init(&rng, 2);
    memcpy(img, ref, sizeof img);
    CHECK(sl_aug_random_gaussian_blur(&rng, img, 1, H, W, 5, 0.1f, 2.0f, 0.0f, scratch) == SL_OK);
    CHECK(memcmp(img, ref, sizeof img) == 0);
    int n = 0;
    for (int i = 0; i < 400; i++) {
        memcpy(img, ref, sizeof img);
        CHECK(sl_aug_random_gaussian_blur(&rng, img, 1, H, W, 5, 0.1f, 2.0f, 0.5f, scratch) == SL_OK);
        n += memcmp(img, ref, sizeof img) != 0;
    }
    CHECK(n > 160 && n < 240);
    CHECK_FAILS(sl_aug_random_gaussian_blur(&rng, img, 1, H, W, 5, 2.0f, 0.1f, 0.5f, scratch), "sigma");
    CHECK_FAILS(sl_aug_random_gaussian_blur(&rng, img, 1, H, W, 4, 0.1f, 2.0f, 0.0f, scratch), "odd");
    sl_free(scratch);
}

int main(void)
{
    RUN(test_kernel_size_helper);
    RUN(test_kernel_normalised_symmetric);
    RUN(test_blur_matches_2d_reference);
    RUN(test_blur_constant_stays_constant);
    RUN(test_blur_smooths_and_p);
    return test_summary();
}
