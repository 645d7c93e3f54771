/* test_aug_crop.c - RandomResizedCrop box sampling, centre crop, bilinear resize. */
#include "test.h"

#include "aug/aug.h"

#include <stdlib.h>

/* Does some real-valued (w*, h*) that rounds to (w, h) satisfy
 * area in [smin, smax] * A and ratio w / h in [rmin, rmax]? Checked on the
 * rounding intervals separately (a box-level bound). */
static int box_consistent(const sl_aug_box *b, int H, int W, double smin, double smax, double rmin, double rmax)
{
    double A = (double)H * W;
    double wl = b->width - 0.5, wh = b->width + 0.5, hl = b->height - 0.5, hh = b->height + 0.5;
    if (wl < 0) wl = 0;
    if (hl < 0) hl = 0;
    int area_ok = wl * hl <= smax * A + 1e-9 && wh * hh >= smin * A - 1e-9;
    int ratio_ok = (hh > 0 && wl / hh <= rmax + 1e-12) && (hl <= 0 || wh / hl >= rmin - 1e-12);
    return area_ok && ratio_ok;
}

static int box_inside(const sl_aug_box *b, int H, int W)
{
    return b->top >= 0 && b->left >= 0 && b->height > 0 && b->width > 0 && b->top + b->height <= H &&
           b->left + b->width <= W;
}

static void test_crop_box_ranges(void)
{
    const int shapes[][2] = {{224, 224}, {32, 32}, {375, 500}, {500, 375}, {96, 96}};
    for (int s = 0; s < 5; s++) {
        int H = shapes[s][0], W = shapes[s][1];
        sl_rng rng;
        sl_rng_init(&rng, 1234 + s);
        int bad = 0, outside = 0, wide = 0, tall = 0;
        double area_sum = 0;
        int tops_differ = 0, first_top = -1;
        for (int i = 0; i < 2000; i++) {
            sl_aug_box b;
            CHECK(sl_aug_crop_box(&rng, H, W, 0.2, 1.0, 3.0 / 4.0, 4.0 / 3.0, &b) == SL_OK);
            if (!box_inside(&b, H, W)) outside++;
            if (!box_consistent(&b, H, W, 0.2, 1.0, 3.0 / 4.0, 4.0 / 3.0)) bad++;
            area_sum += (double)b.width * b.height / ((double)H * W);
            if (b.width > b.height) wide++;
            if (b.width < b.height) tall++;
            if (first_top < 0) first_top = b.top;
            else if (b.top != first_top) tops_differ = 1;
        }
        CHECK(outside == 0);
        CHECK(bad == 0);
        /* area fraction uniform on [0.2, 1], but large boxes are rejected more
         * often (and redrawn), so the mean is ~0.5-0.55 rather than 0.6 */
        CHECK(area_sum / 2000 > 0.45 && area_sum / 2000 < 0.62);
        CHECK(wide > 500 && tall > 500);
        CHECK(tops_differ);
    }
}

static void test_crop_box_extreme_scale(void)
{
    /* MoCo "extreme" crops 2%-10%, and a tiny image */
    sl_rng rng;
    sl_rng_init(&rng, 7);
    for (int i = 0; i < 1000; i++) {
        sl_aug_box b;
        CHECK(sl_aug_crop_box(&rng, 224, 224, 0.02, 0.1, 3.0 / 4.0, 4.0 / 3.0, &b) == SL_OK);
        CHECK(box_inside(&b, 224, 224));
        CHECK(box_consistent(&b, 224, 224, 0.02, 0.1, 3.0 / 4.0, 4.0 / 3.0));
        CHECK(sl_aug_crop_box(&rng, 3, 2, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, &b) == SL_OK);
        CHECK(box_inside(&b, 3, 2));
    }
}

static void test_crop_box_fallback(void)
{
    sl_rng rng;
    sl_rng_init(&rng, 99);
    sl_aug_box b;
    /* tall image: no 90-100% box with ratio >= 3/4 fits; fallback w = W, h = round(10 / 0.75) = 13 */
    CHECK(sl_aug_crop_box(&rng, 100, 10, 0.9, 1.0, 3.0 / 4.0, 4.0 / 3.0, &b) == SL_OK);
    CHECK(b.top == 43 && b.left == 0 && b.height == 13 && b.width == 10);
    /* wide image: h = H, w = round(10 * 4/3) = 13 */
    CHECK(sl_aug_crop_box(&rng, 10, 100, 0.9, 1.0, 3.0 / 4.0, 4.0 / 3.0, &b) == SL_OK);
    CHECK(b.top == 0 && b.left == 43 && b.height == 10 && b.width == 13);
    /* area larger than the image: every attempt fails; ratio 1 in range -> whole image */
    CHECK(sl_aug_crop_box(&rng, 50, 50, 2.0, 3.0, 3.0 / 4.0, 4.0 / 3.0, &b) == SL_OK);
    CHECK(b.top == 0 && b.left == 0 && b.height == 50 && b.width == 50);
    /* fallback consumes exactly 10 attempts x 2 uniform draws (4 counters each) */
    sl_rng_init(&rng, 5);
    CHECK(sl_aug_crop_box(&rng, 50, 50, 2.0, 3.0, 3.0 / 4.0, 4.0 / 3.0, &b) == SL_OK);
    CHECK(rng.counter == 10 * 2 * 4);
}

static void test_crop_box_determinism(void)
{
    sl_rng a, b;
    int differ = 0;
    for (int s = 0; s < 100; s++) {
        sl_aug_box b1, b2, b3;
        sl_rng_init(&a, sl_rng_derive(42, 0, s));
        sl_rng_init(&b, sl_rng_derive(42, 0, s));
        sl_aug_crop_box(&a, 224, 224, 0.08, 1.0, 0.75, 4.0 / 3.0, &b1);
        sl_aug_crop_box(&b, 224, 224, 0.08, 1.0, 0.75, 4.0 / 3.0, &b2);
        CHECK(memcmp(&b1, &b2, sizeof b1) == 0);
        sl_rng_init(&b, sl_rng_derive(42, 0, s + 1000));
        sl_aug_crop_box(&b, 224, 224, 0.08, 1.0, 0.75, 4.0 / 3.0, &b3);
        if (memcmp(&b1, &b3, sizeof b1) != 0) differ++;
    }
    CHECK(differ >= 98);
}

static void test_crop_box_errors(void)
{
    sl_rng rng;
    sl_aug_box b;
    sl_rng_init(&rng, 1);
    CHECK_FAILS(sl_aug_crop_box(&rng, 10, 10, 0.0, 1.0, 0.75, 1.33, &b), "scale");
    CHECK_FAILS(sl_aug_crop_box(&rng, 10, 10, 0.5, 0.2, 0.75, 1.33, &b), "scale");
    CHECK_FAILS(sl_aug_crop_box(&rng, 10, 10, 0.2, 1.0, 1.5, 1.33, &b), "ratio");
    CHECK_FAILS(sl_aug_crop_box(&rng, 0, 10, 0.2, 1.0, 0.75, 1.33, &b), "crop_box");
}

static void fill_random(float *x, size_t n, uint64_t seed)
{
    sl_rng rng;
    sl_rng_init(&rng, seed);
    sl_rng_fill_uniform(&rng, x, (int64_t)n, 0.0f, 1.0f);
}

static void test_resize_identity(void)
{
    float src[3 * 7 * 5], dst[3 * 7 * 5];
    fill_random(src, 105, 3);
    CHECK(sl_aug_resize_bilinear(src, 3, 7, 5, NULL, dst, 7, 5) == SL_OK);
    CHECK(memcmp(src, dst, sizeof src) == 0);
    sl_aug_box whole = {0, 0, 7, 5};
    memset(dst, 0, sizeof dst);
    CHECK(sl_aug_resize_bilinear(src, 3, 7, 5, &whole, dst, 7, 5) == SL_OK);
    CHECK(memcmp(src, dst, sizeof src) == 0);
    /* a box resized to its own size is the plain crop */
    sl_aug_box box = {2, 1, 3, 4};
    float a[3 * 3 * 4], c[3 * 3 * 4];
    CHECK(sl_aug_resize_bilinear(src, 3, 7, 5, &box, a, 3, 4) == SL_OK);
    CHECK(sl_aug_crop(src, 3, 7, 5, &box, c) == SL_OK);
    CHECK(memcmp(a, c, sizeof a) == 0);
    CHECK(c[0] == src[2 * 5 + 1] && c[12 + 5] == src[35 + 3 * 5 + 2]);
}

static void test_resize_known_values(void)
{
    /* F.interpolate([[0,1],[2,3]], size=4, mode='bilinear', align_corners=False) */
    const float src[4] = {0, 1, 2, 3};
    const float want[16] = {0.0f, 0.25f, 0.75f, 1.0f, 0.5f, 0.75f, 1.25f, 1.5f,
                            1.5f, 1.75f, 2.25f, 2.5f, 2.0f, 2.25f, 2.75f, 3.0f};
    float dst[16];
    CHECK(sl_aug_resize_bilinear(src, 1, 2, 2, NULL, dst, 4, 4) == SL_OK);
    for (int i = 0; i < 16; i++) CHECK_NEAR(dst[i], want[i], 1e-6);
    /* downscale without antialiasing: [0 1 2 3] -> [0.5 2.5] */
    const float row[4] = {0, 1, 2, 3};
    float half[2];
    CHECK(sl_aug_resize_bilinear(row, 1, 1, 4, NULL, half, 1, 2) == SL_OK);
    CHECK_NEAR(half[0], 0.5, 1e-6);
    CHECK_NEAR(half[1], 2.5, 1e-6);
    /* 3 -> 2: scale 1.5, src x = 0.25 and 1.75 */
    const float r3[3] = {0, 10, 20};
    CHECK(sl_aug_resize_bilinear(r3, 1, 1, 3, NULL, half, 1, 2) == SL_OK);
    CHECK_NEAR(half[0], 2.5, 1e-5);
    CHECK_NEAR(half[1], 17.5, 1e-5);
}

static void test_resize_stays_in_box(void)
{
    /* pixels outside the box are 100; every output must come from inside */
    float src[10 * 10];
    for (int i = 0; i < 100; i++) src[i] = 100.0f;
    sl_aug_box box = {3, 2, 4, 5};
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 5; x++) src[(3 + y) * 10 + 2 + x] = (float)(y * 5 + x) / 20.0f;
    float dst[9 * 11];
    CHECK(sl_aug_resize_bilinear(src, 1, 10, 10, &box, dst, 9, 11) == SL_OK);
    for (int i = 0; i < 99; i++) CHECK(dst[i] >= 0.0f && dst[i] <= 1.0f);
    CHECK_NEAR(dst[0], 0.0, 1e-6); /* corners map to the box corners */
    CHECK_NEAR(dst[98], 19.0 / 20.0, 1e-6);
    sl_aug_box bad = {8, 0, 4, 4};
    CHECK_FAILS(sl_aug_resize_bilinear(src, 1, 10, 10, &bad, dst, 2, 2), "not inside");
}

static void test_center_and_short_side(void)
{
    sl_aug_box b;
    CHECK(sl_aug_center_box(256, 256, 224, 224, &b) == SL_OK);
    CHECK(b.top == 16 && b.left == 16 && b.height == 224 && b.width == 224);
    CHECK(sl_aug_center_box(5, 7, 2, 2, &b) == SL_OK); /* round(1.5) = 2, round(2.5) = 2 */
    CHECK(b.top == 2 && b.left == 2);
    CHECK_FAILS(sl_aug_center_box(5, 7, 6, 2, &b), "does not fit");
    int h, w;
    CHECK(sl_aug_resize_short_size(375, 500, 256, &h, &w) == SL_OK);
    CHECK(h == 256 && w == 341);
    CHECK(sl_aug_resize_short_size(500, 375, 256, &h, &w) == SL_OK);
    CHECK(h == 341 && w == 256);
    CHECK(sl_aug_resize_short_size(32, 32, 36, &h, &w) == SL_OK);
    CHECK(h == 36 && w == 36);
}

static void test_random_resized_crop(void)
{
    float src[3 * 20 * 30], a[3 * 8 * 8], b[3 * 8 * 8];
    fill_random(src, sizeof src / sizeof *src, 11);
    sl_rng r1, r2;
    sl_rng_init(&r1, 5);
    sl_rng_init(&r2, 5);
    CHECK(sl_aug_random_resized_crop(&r1, src, 3, 20, 30, a, 8, 8, 0.08, 1.0, 0.75, 4.0 / 3.0) == SL_OK);
    CHECK(sl_aug_random_resized_crop(&r2, src, 3, 20, 30, b, 8, 8, 0.08, 1.0, 0.75, 4.0 / 3.0) == SL_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(sl_aug_random_resized_crop(&r2, src, 3, 20, 30, b, 8, 8, 0.08, 1.0, 0.75, 4.0 / 3.0) == SL_OK);
    CHECK(memcmp(a, b, sizeof a) != 0);
    for (int i = 0; i < 3 * 64; i++) CHECK(a[i] >= 0.0f && a[i] <= 1.0f);
}

int main(void)
{
    RUN(test_crop_box_ranges);
    RUN(test_crop_box_extreme_scale);
    RUN(test_crop_box_fallback);
    RUN(test_crop_box_determinism);
    RUN(test_crop_box_errors);
    RUN(test_resize_identity);
    RUN(test_resize_known_values);
    RUN(test_resize_stays_in_box);
    RUN(test_center_and_short_side);
    RUN(test_random_resized_crop);
    return test_summary();
}
