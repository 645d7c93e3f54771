/* test_data_stl10.c - STL-10 reader: files written here in the STL-10
 * layout (column-major channel planes), slices, and one test per failure. */
#include <stdlib.h>
#include <unistd.h>

#include "data/stl10.h"
#include "test.h"
#include "test_files.h"

enum { S = SL_STL10_SIDE, IMG = SL_STL10_IMAGE_BYTES };

/* The value of image i, channel c, row y, column x (not symmetric in x, y). */
static uint8_t pixel(int i, int c, int y, int x) { return (uint8_t)(i * 13 + c * 50 + y + x * 7); }

/* n images in the file layout: plane c, then x outer, y inner. */
static uint8_t *make_images(int n)
{
    uint8_t *b = malloc((size_t)n * IMG);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < S; x++)
                for (int y = 0; y < S; y++) b[(size_t)i * IMG + c * S * S + x * S + y] = pixel(i, c, y, x);
    return b;
}

static int check_pixels(const sl_tensor *t, int first, int n)
{
    if (!t || t->ndim != 4 || t->size[0] != n || t->size[1] != 3 || t->size[2] != S || t->size[3] != S) return 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++)
                    if (sl_u8(t)[(((size_t)i * 3 + c) * S + y) * S + x] != pixel(first + i, c, y, x)) return 0;
    return 1;
}

static void test_images_and_labels(void)
{
    uint8_t *img = make_images(4), lab[4] = {1, 10, 3, 7};
    write_bytes(tmp_path("train_X.bin"), img, 4 * IMG);
    write_bytes(tmp_path("train_y.bin"), lab, 4);
    sl_tensor *x = NULL, *y = NULL;
    CHECK(sl_stl10_load(tmp_path("train_X.bin"), tmp_path("train_y.bin"), &x, &y) == SL_OK);
    CHECK(check_pixels(x, 0, 4));
    CHECK(y && y->dtype == SL_INT64 && y->size[0] == 4);
    if (y) CHECK(sl_i64(y)[0] == 0 && sl_i64(y)[1] == 9 && sl_i64(y)[2] == 2 && sl_i64(y)[3] == 6);
    sl_tensor_free(x), sl_tensor_free(y);

    CHECK(sl_stl10_decode_images(img, 4 * IMG, "mem", &x) == SL_OK);
    CHECK(check_pixels(x, 0, 4));
    sl_tensor_free(x);
    free(img);
}

static void test_slices(void)
{
    uint8_t *img = make_images(70); /* more than one read chunk (64) */
    write_bytes(tmp_path("unlabeled_X.bin"), img, 70 * (size_t)IMG);
    sl_tensor *x = NULL;
    CHECK(sl_stl10_load_images(tmp_path("unlabeled_X.bin"), 0, -1, &x) == SL_OK);
    CHECK(check_pixels(x, 0, 70));
    sl_tensor_free(x);
    CHECK(sl_stl10_load_images(tmp_path("unlabeled_X.bin"), 5, 3, &x) == SL_OK);
    CHECK(check_pixels(x, 5, 3));
    sl_tensor_free(x);
    CHECK(sl_stl10_load_images(tmp_path("unlabeled_X.bin"), 69, -1, &x) == SL_OK);
    CHECK(check_pixels(x, 69, 1));
    sl_tensor_free(x);
    x = NULL;
    CHECK_FAILS(sl_stl10_load_images(tmp_path("unlabeled_X.bin"), 68, 5, &x),
                "unlabeled_X.bin: images 68..72 requested, the file has 70");
    CHECK(x == NULL);
    free(img);
}

static void test_missing(void)
{
    sl_tensor *x = NULL, *y = NULL;
    sl_clear_error();
    CHECK(sl_stl10_load_images(tmp_path("test_X.bin"), 0, -1, &x) == SL_ENOENT);
    CHECK(strstr(sl_last_error(), "test_X.bin") != NULL);
    CHECK(sl_stl10_load(tmp_path("test_X.bin"), tmp_path("test_y.bin"), &x, &y) == SL_ENOENT);
    CHECK(x == NULL && y == NULL);
}

static void test_truncated(void)
{
    uint8_t *img = make_images(2);
    write_bytes(tmp_path("cut_X.bin"), img, 2 * IMG - 1);
    sl_tensor *x = NULL;
    CHECK_FAILS(sl_stl10_load_images(tmp_path("cut_X.bin"), 0, -1, &x),
                "cut_X.bin: truncated or wrong file: 55295 bytes is not a multiple of the 27648-byte");
    write_bytes(tmp_path("empty_X.bin"), img, 0);
    CHECK_FAILS(sl_stl10_load_images(tmp_path("empty_X.bin"), 0, -1, &x), "empty_X.bin: empty file");
    CHECK_FAILS(sl_stl10_decode_images(img, 100, "short", &x), "short: truncated or wrong file");
    CHECK(x == NULL);
    free(img);
}

static void test_label_range(void)
{
    uint8_t lab[3] = {1, 0, 5};
    write_bytes(tmp_path("bad_y.bin"), lab, 3);
    sl_tensor *y = NULL;
    CHECK_FAILS(sl_stl10_load_labels(tmp_path("bad_y.bin"), &y), "bad_y.bin: label 0 at index 1 out of range 1..10");
    lab[1] = 11;
    CHECK_FAILS(sl_stl10_decode_labels(lab, 3, "y11", &y), "y11: label 11 at index 1");
    CHECK_FAILS(sl_stl10_decode_labels(lab, 0, "y0", &y), "y0: empty label file");
    CHECK(y == NULL);
    /* An image file passed as labels is caught by the range check. */
    uint8_t *img = make_images(1);
    CHECK_FAILS(sl_stl10_decode_labels(img, IMG, "train_X.bin", &y), "train_X.bin: label");
    free(img);
}

static void test_count_mismatch(void)
{
    uint8_t *img = make_images(3), lab[2] = {1, 2};
    write_bytes(tmp_path("x3.bin"), img, 3 * IMG);
    write_bytes(tmp_path("y2.bin"), lab, 2);
    sl_tensor *x = NULL, *y = NULL;
    CHECK_FAILS(sl_stl10_load(tmp_path("x3.bin"), tmp_path("y2.bin"), &x, &y), "x3.bin has 3 images but");
    CHECK(x == NULL && y == NULL);
    free(img);
}

static void test_alloc_failures(void)
{
    uint8_t *img = make_images(2), lab[2] = {1, 2};
    write_bytes(tmp_path("o_X.bin"), img, 2 * IMG);
    write_bytes(tmp_path("o_y.bin"), lab, 2);
    int64_t live = sl_alloc_live_blocks();
    for (int k = 1; k <= 12; k++) {
        sl_tensor *x = NULL, *y = NULL;
        sl_alloc_fail_after(k);
        int rc = sl_stl10_load(tmp_path("o_X.bin"), tmp_path("o_y.bin"), &x, &y);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            sl_tensor_free(x), sl_tensor_free(y);
            break;
        }
        CHECK(strstr(sl_last_error(), "out of memory") != NULL);
        CHECK(x == NULL && y == NULL && sl_alloc_live_blocks() == live);
    }
    free(img);
}

int main(void)
{
    if (tmpdir_create("stl10") != 0) return 1;
    RUN(test_images_and_labels);
    RUN(test_slices);
    RUN(test_missing);
    RUN(test_truncated);
    RUN(test_label_range);
    RUN(test_count_mismatch);
    RUN(test_alloc_failures);
    tmpdir_remove();
    return test_summary();
}
