/* test_io_jpeg.c - JPEG decode/encode: round trips within a tolerance, grey
 * and progressive files, and one test per failure kind (missing, truncated,
 * garbage, CMYK, bad arguments, allocation failures). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jpeglib.h>

#include "io/image.h"
#include "test.h"
#include "test_files.h"

/* A smooth colour image (JPEG-friendly): gradients plus a soft blob. */
static sl_tensor *smooth(int c, int h, int w)
{
    int64_t size[3] = {c, h, w};
    sl_tensor *t = sl_tensor_new(SL_UINT8, 3, size);
    for (int k = 0; k < c; k++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double v = 40 + 120.0 * x / w + 60.0 * y / h + 30.0 * k;
                double dx = x - w / 2.0, dy = y - h / 3.0;
                v += 40.0 * exp(-(dx * dx + dy * dy) / (w * h / 8.0));
                sl_u8(t)[(k * h + y) * w + x] = (uint8_t)(v > 255 ? 255 : v);
            }
    return t;
}

static void diff_stats(const sl_tensor *a, const sl_tensor *b, double *mean, int *max)
{
    int64_t n = sl_tensor_numel(a);
    double s = 0;
    *max = 0;
    for (int64_t i = 0; i < n; i++) {
        int d = abs((int)sl_u8(a)[i] - (int)sl_u8(b)[i]);
        s += d;
        if (d > *max) *max = d;
    }
    *mean = s / n;
}

static void test_round_trip_rgb(void)
{
    sl_tensor *img = smooth(3, 48, 64), *back = NULL;
    uint8_t *buf;
    size_t n;
    CHECK(sl_jpeg_encode(img, 95, "rt.jpg", &buf, &n) == SL_OK);
    CHECK(sl_image_detect(buf, n) == SL_IMAGE_JPEG);
    CHECK(sl_jpeg_decode(buf, n, "rt.jpg", &back) == SL_OK);
    CHECK(back && sl_tensor_same_shape(img, back));
    if (back) {
        double mean;
        int max;
        diff_stats(img, back, &mean, &max);
        if (mean > 1.5 || max > 12) fprintf(stderr, "jpeg q95: mean |diff| %.3f, max %d\n", mean, max);
        CHECK(mean <= 1.5 && max <= 12);
    }
    sl_free(buf);
    sl_tensor_free(back);

    /* Lower quality: smaller file, larger error. */
    size_t n95 = n;
    CHECK(sl_jpeg_encode(img, 20, NULL, &buf, &n) == SL_OK);
    CHECK(n < n95);
    sl_free(buf);
    sl_tensor_free(img);
}

static void test_round_trip_grey_file(void)
{
    sl_tensor *img = smooth(1, 33, 21), *back = NULL;
    const char *path = tmp_path("grey.jpeg");
    CHECK(sl_image_save(path, img, 95) == SL_OK);
    CHECK(sl_image_load(path, &back) == SL_OK);
    CHECK(back && back->ndim == 3 && back->size[0] == 1 && back->size[1] == 33 && back->size[2] == 21);
    if (back) {
        double mean;
        int max;
        diff_stats(img, back, &mean, &max);
        CHECK(mean <= 1.5 && max <= 12);
    }
    sl_tensor_free(back);
    back = NULL;
    CHECK(sl_jpeg_load(path, &back) == SL_OK);
    sl_tensor_free(back);
    /* Default quality through sl_image_save (0 -> 90). */
    CHECK(sl_image_save(tmp_path("q.JPG"), img, 0) == SL_OK);
    sl_tensor_free(img);
}

/* Encode with libjpeg directly (progressive, or CMYK) for the decoder tests. */
static size_t write_jpeg_raw(const char *path, int w, int h, int comps, J_COLOR_SPACE cs, int progressive)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr err;
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_compress(&cinfo);
    FILE *f = fopen(path, "wb");
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = w, cinfo.image_height = h;
    cinfo.input_components = comps, cinfo.in_color_space = cs;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 90, TRUE);
    if (progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    unsigned char *row = malloc((size_t)w * comps);
    while (cinfo.next_scanline < cinfo.image_height) {
        for (int i = 0; i < w * comps; i++) row[i] = (unsigned char)(i * 3 + cinfo.next_scanline * 5);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(row);
    long n = ftell(f);
    fclose(f);
    return (size_t)n;
}

static void test_progressive(void)
{
    const char *path = tmp_path("prog.jpg");
    write_jpeg_raw(path, 40, 24, 3, JCS_RGB, 1);
    sl_tensor *t = NULL;
    CHECK(sl_image_load(path, &t) == SL_OK);
    CHECK(t && t->size[0] == 3 && t->size[1] == 24 && t->size[2] == 40);
    sl_tensor_free(t);
}

static void test_cmyk_rejected(void)
{
    const char *path = tmp_path("cmyk.jpg");
    write_jpeg_raw(path, 16, 16, 4, JCS_CMYK, 0);
    sl_tensor *t = NULL;
    CHECK_FAILS(sl_image_load(path, &t), "cmyk.jpg: CMYK JPEGs are not supported");
    CHECK(t == NULL);
}

static void test_missing_file(void)
{
    sl_tensor *t = NULL;
    sl_clear_error();
    CHECK(sl_jpeg_load(tmp_path("missing.jpg"), &t) == SL_ENOENT);
    CHECK(strstr(sl_last_error(), "missing.jpg") != NULL);
    CHECK(t == NULL);
}

static void test_truncated(void)
{
    sl_tensor *img = smooth(3, 64, 64);
    uint8_t *buf;
    size_t n;
    CHECK(sl_jpeg_encode(img, 90, NULL, &buf, &n) == SL_OK);
    const char *path = tmp_path("cut.jpg");
    sl_tensor *t = NULL;
    write_bytes(path, buf, n / 2); /* inside the entropy-coded data */
    CHECK_FAILS(sl_image_load(path, &t), "cut.jpg: truncated file");
    write_bytes(path, buf, 40); /* inside the headers */
    CHECK_FAILS(sl_image_load(path, &t), "cut.jpg: ");
    CHECK(t == NULL);
    CHECK_FAILS(sl_jpeg_decode(buf, 2, "two.jpg", &t), "two.jpg: not a JPEG file");
    sl_free(buf);
    sl_tensor_free(img);
}

static void test_garbage(void)
{
    uint8_t junk[300] = {0xff, 0xd8, 0xff};
    for (int i = 3; i < 300; i++) junk[i] = (uint8_t)(i * 77 + 13);
    const char *path = tmp_path("junk.jpg");
    write_bytes(path, junk, sizeof junk);
    sl_tensor *t = NULL;
    CHECK_FAILS(sl_image_load(path, &t), "junk.jpg: ");
    CHECK(strstr(sl_last_error(), "libjpeg") != NULL);
    CHECK(t == NULL);

    /* Corrupt entropy-coded data: an error naming the file, or (when the
     * damage happens to decode) an image; never a crash. */
    sl_tensor *img = smooth(3, 64, 64);
    uint8_t *buf;
    size_t n;
    CHECK(sl_jpeg_encode(img, 90, NULL, &buf, &n) == SL_OK);
    for (size_t i = n / 2; i < n / 2 + 40; i++) buf[i] = 0xff;
    int rc = sl_jpeg_decode(buf, n, "bits.jpg", &t);
    CHECK(rc == SL_OK || strstr(sl_last_error(), "bits.jpg") != NULL);
    sl_tensor_free(t);
    sl_free(buf);
    sl_tensor_free(img);
}

static void test_bad_arguments(void)
{
    uint8_t *buf = NULL;
    size_t n;
    sl_tensor *img = smooth(3, 8, 8), *rgba = smooth(4, 8, 8);
    CHECK_FAILS(sl_jpeg_encode(img, 0, "q.jpg", &buf, &n), "q.jpg: quality 0 out of range 1..100");
    CHECK_FAILS(sl_jpeg_encode(img, 101, "q.jpg", &buf, &n), "quality 101");
    CHECK_FAILS(sl_jpeg_encode(rgba, 90, "a.jpg", &buf, &n), "a.jpg: cannot encode 4 channels");
    CHECK_FAILS(sl_image_save(tmp_path("a.jpg"), rgba, 90), "a.jpg: cannot encode 4 channels");
    CHECK(buf == NULL);
    sl_tensor_free(rgba);
    sl_tensor_free(img);
}

static void test_too_large(void)
{
    sl_tensor *img = smooth(3, 10, 10), *t = NULL;
    uint8_t *buf;
    size_t n;
    CHECK(sl_jpeg_encode(img, 90, NULL, &buf, &n) == SL_OK);
    sl_image_set_max_pixels(99);
    CHECK_FAILS(sl_jpeg_decode(buf, n, "big.jpg", &t), "big.jpg: image too large (10x10 = 100 pixels, limit 99)");
    sl_image_set_max_pixels(0);
    sl_free(buf);
    sl_tensor_free(img);
}

static void test_alloc_failures(void)
{
    sl_tensor *img = smooth(3, 16, 16);
    uint8_t *buf;
    size_t n;
    CHECK(sl_jpeg_encode(img, 90, NULL, &buf, &n) == SL_OK);
    int64_t live = sl_alloc_live_blocks();
    for (int k = 1; k <= 8; k++) {
        sl_tensor *t = NULL;
        sl_alloc_fail_after(k);
        int rc = sl_jpeg_decode(buf, n, "oom.jpg", &t);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            sl_tensor_free(t);
            break;
        }
        CHECK(strstr(sl_last_error(), "oom.jpg") || strstr(sl_last_error(), "out of memory"));
        CHECK(sl_alloc_live_blocks() == live);
    }
    for (int k = 1; k <= 8; k++) {
        uint8_t *out = NULL;
        size_t m;
        sl_alloc_fail_after(k);
        int rc = sl_jpeg_encode(img, 80, "oom.jpg", &out, &m);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            sl_free(out);
            break;
        }
        CHECK(sl_alloc_live_blocks() == live);
    }
    sl_free(buf);
    sl_tensor_free(img);
}

int main(void)
{
    if (tmpdir_create("jpeg") != 0) return 1;
    RUN(test_round_trip_rgb);
    RUN(test_round_trip_grey_file);
    RUN(test_progressive);
    RUN(test_cmyk_rejected);
    RUN(test_missing_file);
    RUN(test_truncated);
    RUN(test_garbage);
    RUN(test_bad_arguments);
    RUN(test_too_large);
    RUN(test_alloc_failures);
    tmpdir_remove();
    return test_summary();
}
