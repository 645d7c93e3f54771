/* test_io_png.c - PNG decode/encode: round trips, every PNG flavour written
 * with libpng here, and one test per failure kind (missing, truncated,
 * corrupt, bad signature, too large, bad tensors, allocation failures). */
#include <png.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/image.h"
#include "test.h"
#include "test_files.h"

static sl_tensor *pattern(int c, int h, int w)
{
    int64_t size[3] = {c, h, w};
    sl_tensor *t = sl_tensor_new(SL_UINT8, 3, size);
    for (int64_t i = 0; i < (int64_t)c * h * w; i++) sl_u8(t)[i] = (uint8_t)(i * 37 + i / 7);
    return t;
}

static int same_pixels(const sl_tensor *a, const sl_tensor *b)
{
    return a && b && sl_tensor_same_shape(a, b) && memcmp(sl_u8(a), sl_u8(b), (size_t)sl_tensor_numel(a)) == 0;
}

/* Write a PNG with libpng directly: rows of raw samples in the file's own
 * layout (bit depth, colour type), optional palette / tRNS. */
static void write_png_raw(const char *path, int w, int h, int depth, int color, int interlace,
                          const uint8_t *data, size_t rowbytes, const png_color *palette, int npalette,
                          const uint8_t *trans, int ntrans, const png_color_16 *trans_color)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "libpng failed writing the test file %s\n", path);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npalette);
    if (trans || trans_color) png_set_tRNS(png, info, trans, ntrans, trans_color);
    png_write_info(png, info);
    if (depth == 16) png_set_swap(png); /* our test data is little-endian uint16 */
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)data + (size_t)y * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
}

static void test_round_trip_memory(void)
{
    for (int c = 1; c <= 4; c++) {
        if (c == 2) continue;
        sl_tensor *img = pattern(c, 5, 7), *back = NULL;
        uint8_t *buf;
        size_t n;
        CHECK(sl_png_encode(img, "x.png", &buf, &n) == SL_OK);
        CHECK(sl_image_detect(buf, n) == SL_IMAGE_PNG);
        CHECK(sl_png_decode(buf, n, "x.png", &back) == SL_OK);
        CHECK(same_pixels(img, back));
        sl_tensor_free(back);
        CHECK(sl_image_decode(buf, n, NULL, &back) == SL_OK);
        CHECK(same_pixels(img, back));
        sl_free(buf);
        sl_tensor_free(back);
        sl_tensor_free(img);
    }
}

static void test_round_trip_file(void)
{
    sl_tensor *img = pattern(3, 31, 17), *back = NULL;
    const char *path = tmp_path("rt.png");
    CHECK(sl_image_save(path, img, 0) == SL_OK);
    CHECK(sl_image_load(path, &back) == SL_OK);
    CHECK(same_pixels(img, back));
    sl_tensor_free(back);
    back = NULL;
    CHECK(sl_png_load(path, &back) == SL_OK);
    CHECK(same_pixels(img, back));
    sl_tensor_free(back);
    /* The format comes from the magic bytes, not the extension. */
    rename(path, tmp_path("rt.jpg"));
    CHECK(sl_image_load(tmp_path("rt.jpg"), &back) == SL_OK);
    CHECK(same_pixels(img, back));
    sl_tensor_free(back);
    remove(tmp_path("rt.jpg"));
    sl_tensor_free(img);
}

static void test_grey_2d_and_strided(void)
{
    /* [H x W] encodes as grey; a transposed view encodes its logical pixels. */
    int64_t size[2] = {4, 6};
    sl_tensor *g = sl_tensor_new(SL_UINT8, 2, size), *back = NULL;
    for (int i = 0; i < 24; i++) sl_u8(g)[i] = (uint8_t)(i * 10);
    uint8_t *buf;
    size_t n;
    CHECK(sl_png_encode(g, NULL, &buf, &n) == SL_OK);
    CHECK(sl_png_decode(buf, n, NULL, &back) == SL_OK);
    CHECK(back && back->ndim == 3 && back->size[0] == 1 && back->size[1] == 4 && back->size[2] == 6);
    CHECK(back && memcmp(sl_u8(back), sl_u8(g), 24) == 0);
    sl_free(buf);
    sl_tensor_free(back);

    sl_tensor *t = sl_tensor_view_new(g); /* transpose by hand: [6 x 4] */
    t->size[0] = 6, t->size[1] = 4, t->stride[0] = 1, t->stride[1] = 6;
    CHECK(sl_png_encode(t, NULL, &buf, &n) == SL_OK);
    CHECK(sl_png_decode(buf, n, NULL, &back) == SL_OK);
    int ok = back && back->size[1] == 6 && back->size[2] == 4;
    for (int y = 0; ok && y < 6; y++)
        for (int x = 0; x < 4; x++) ok &= sl_u8(back)[y * 4 + x] == sl_u8(g)[x * 6 + y];
    CHECK(ok);
    sl_free(buf);
    sl_tensor_free(back);
    sl_tensor_free(t);
    sl_tensor_free(g);
}

static sl_tensor *load_ok(const char *path)
{
    sl_tensor *t = NULL;
    int rc = sl_png_load(path, &t);
    if (rc != SL_OK) fprintf(stderr, "load %s: %s\n", path, sl_last_error());
    CHECK(rc == SL_OK);
    return t;
}

static void test_16bit(void)
{
    enum { W = 3, H = 2 };
    uint16_t data[H][W][3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 3; k++) data[y][x][k] = (uint16_t)(y * 20000 + x * 7000 + k * 1000 + 255);
    const char *path = tmp_path("rgb16.png");
    write_png_raw(path, W, H, 16, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, (uint8_t *)data, W * 6, NULL, 0, NULL, 0,
                  NULL);
    sl_tensor *t = load_ok(path);
    CHECK(t && t->ndim == 3 && t->size[0] == 3 && t->size[1] == H && t->size[2] == W);
    int ok = t != NULL;
    for (int y = 0; ok && y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 3; k++) {
                int want = (int)((data[y][x][k] * 255L + 32895) / 65535); /* libpng's scale_16 rounding */
                int got = sl_u8(t)[(k * H + y) * W + x];
                ok &= abs(got - want) <= 1;
            }
    CHECK(ok);
    sl_tensor_free(t);

    uint16_t grey[2] = {0, 65535};
    path = tmp_path("grey16.png");
    write_png_raw(path, 2, 1, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, (uint8_t *)grey, 4, NULL, 0, NULL, 0, NULL);
    t = load_ok(path);
    CHECK(t && t->size[0] == 1 && sl_u8(t)[0] == 0 && sl_u8(t)[1] == 255);
    sl_tensor_free(t);
}

static void test_palette(void)
{
    png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {10, 20, 30}};
    uint8_t idx[2][2] = {{0, 1}, {2, 0}};
    const char *path = tmp_path("pal.png");
    write_png_raw(path, 2, 2, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, &idx[0][0], 2, pal, 3, NULL, 0, NULL);
    sl_tensor *t = load_ok(path);
    CHECK(t && t->size[0] == 3);
    if (t) {
        const uint8_t *p = sl_u8(t); /* [3 x 2 x 2] */
        CHECK(p[0] == 255 && p[4 + 0] == 0 && p[8 + 0] == 0);    /* (0,0) red */
        CHECK(p[1] == 0 && p[4 + 1] == 255 && p[8 + 1] == 0);    /* (0,1) green */
        CHECK(p[2] == 10 && p[4 + 2] == 20 && p[8 + 2] == 30);   /* (1,0) */
    }
    sl_tensor_free(t);

    /* Palette with transparency -> RGBA. */
    uint8_t alpha[3] = {0, 128, 255};
    path = tmp_path("pal_trns.png");
    write_png_raw(path, 2, 2, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, &idx[0][0], 2, pal, 3, alpha, 3, NULL);
    t = load_ok(path);
    CHECK(t && t->size[0] == 4);
    if (t) {
        const uint8_t *a = sl_u8(t) + 3 * 4;
        CHECK(a[0] == 0 && a[1] == 128 && a[2] == 255 && a[3] == 0);
    }
    sl_tensor_free(t);

    /* 4-bit palette (packed samples). */
    uint8_t packed[2] = {0x01, 0x20}; /* row 0: 0,1 ; row 1: 2,0 */
    path = tmp_path("pal4.png");
    write_png_raw(path, 2, 2, 4, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, packed, 1, pal, 3, NULL, 0, NULL);
    t = load_ok(path);
    CHECK(t && t->size[0] == 3 && sl_u8(t)[0] == 255 && sl_u8(t)[2] == 10 && sl_u8(t)[4 + 1] == 255);
    sl_tensor_free(t);
}

static void test_grey_low_depth_and_alpha(void)
{
    uint8_t bits[1] = {0xA0}; /* 1-bit grey, 3 px: 1 0 1 */
    const char *path = tmp_path("grey1.png");
    write_png_raw(path, 3, 1, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, bits, 1, NULL, 0, NULL, 0, NULL);
    sl_tensor *t = load_ok(path);
    CHECK(t && t->size[0] == 1 && sl_u8(t)[0] == 255 && sl_u8(t)[1] == 0 && sl_u8(t)[2] == 255);
    sl_tensor_free(t);

    uint8_t ga[2][2] = {{100, 7}, {200, 250}}; /* grey+alpha, 2 px */
    path = tmp_path("ga.png");
    write_png_raw(path, 2, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_INTERLACE_NONE, &ga[0][0], 4, NULL, 0, NULL, 0, NULL);
    t = load_ok(path);
    CHECK(t && t->size[0] == 4);
    if (t) {
        const uint8_t *p = sl_u8(t); /* [4 x 1 x 2] */
        CHECK(p[0] == 100 && p[2] == 100 && p[4] == 100 && p[6] == 7);
        CHECK(p[1] == 200 && p[3] == 200 && p[5] == 200 && p[7] == 250);
    }
    sl_tensor_free(t);

    /* Grey with a tRNS colour key -> RGBA, alpha 0 exactly on the key. */
    uint8_t g[3] = {5, 9, 5};
    png_color_16 key = {0};
    key.gray = 5;
    path = tmp_path("grey_trns.png");
    write_png_raw(path, 3, 1, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, g, 3, NULL, 0, NULL, 0, &key);
    t = load_ok(path);
    CHECK(t && t->size[0] == 4);
    if (t) {
        const uint8_t *a = sl_u8(t) + 9;
        CHECK(a[0] == 0 && a[1] == 255 && a[2] == 0 && sl_u8(t)[1] == 9);
    }
    sl_tensor_free(t);
}

static void test_interlaced(void)
{
    enum { W = 13, H = 11 };
    uint8_t rgba[H][W][4];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 4; k++) rgba[y][x][k] = (uint8_t)(y * 17 + x * 5 + k * 60);
    const char *path = tmp_path("adam7.png");
    write_png_raw(path, W, H, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_ADAM7, &rgba[0][0][0], W * 4, NULL, 0,
                  NULL, 0, NULL);
    sl_tensor *t = load_ok(path);
    int ok = t && t->size[0] == 4 && t->size[1] == H && t->size[2] == W;
    for (int y = 0; ok && y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 4; k++) ok &= sl_u8(t)[(k * H + y) * W + x] == rgba[y][x][k];
    CHECK(ok);
    sl_tensor_free(t);
}

/* ---- failures ------------------------------------------------------------ */

static void encoded(int c, int h, int w, uint8_t **buf, size_t *n)
{
    sl_tensor *img = pattern(c, h, w);
    CHECK(sl_png_encode(img, NULL, buf, n) == SL_OK);
    sl_tensor_free(img);
}

static void test_missing_file(void)
{
    sl_tensor *t = (sl_tensor *)1;
    sl_clear_error();
    CHECK(sl_image_load(tmp_path("nope.png"), &t) == SL_ENOENT);
    CHECK(t == NULL);
    CHECK(strstr(sl_last_error(), "nope.png") != NULL);
    CHECK(sl_png_load(tmp_path("nope.png"), &t) == SL_ENOENT);
    CHECK(sl_image_load(tmpdir, &t) == SL_ENOENT); /* a directory */
}

static void test_truncated(void)
{
    uint8_t *buf;
    size_t n;
    encoded(3, 40, 40, &buf, &n);
    const char *path = tmp_path("trunc.png");
    size_t cuts[] = {8 + 10, n / 2, n - 5};
    for (int i = 0; i < 3; i++) {
        write_bytes(path, buf, cuts[i]);
        sl_tensor *t = NULL;
        CHECK_FAILS(sl_image_load(path, &t), "trunc.png: truncated file");
        CHECK(t == NULL);
    }
    CHECK_FAILS(sl_png_decode(buf, 7, "short.png", &(sl_tensor *){NULL}), "short.png: not a PNG");
    sl_free(buf);
}

static void test_bad_signature(void)
{
    uint8_t *buf;
    size_t n;
    encoded(1, 4, 4, &buf, &n);
    buf[1] = 'Q';
    const char *path = tmp_path("sig.png");
    write_bytes(path, buf, n);
    sl_tensor *t = NULL;
    CHECK_FAILS(sl_image_load(path, &t), "sig.png: unknown format");
    CHECK_FAILS(sl_png_load(path, &t), "sig.png: not a PNG file");
    write_bytes(path, "", 0);
    CHECK_FAILS(sl_image_load(path, &t), "sig.png: empty file");
    sl_free(buf);
}

static void test_corrupt_crc_and_data(void)
{
    uint8_t *buf;
    size_t n;
    encoded(3, 16, 16, &buf, &n);
    const char *path = tmp_path("crc.png");
    buf[8 + 8 + 3] ^= 0x40; /* a byte of the IHDR width: CRC mismatch */
    write_bytes(path, buf, n);
    sl_tensor *t = NULL;
    CHECK_FAILS(sl_png_load(path, &t), "crc.png: IHDR: CRC error");
    CHECK(t == NULL);
    buf[8 + 8 + 3] ^= 0x40;

    /* Garbage inside the compressed image data (CRC check off in the
     * chunk? no: libpng checks it, so this is caught as a CRC error too). */
    for (size_t i = 60; i < n - 20; i++) buf[i] ^= 0x5a;
    path = tmp_path("idat.png");
    write_bytes(path, buf, n);
    CHECK_FAILS(sl_png_load(path, &t), "idat.png: ");
    CHECK(t == NULL);
    sl_free(buf);
}

static void test_too_large(void)
{
    uint8_t *buf;
    size_t n;
    encoded(1, 20, 30, &buf, &n);
    sl_image_set_max_pixels(599);
    sl_tensor *t = NULL;
    CHECK_FAILS(sl_png_decode(buf, n, "big.png", &t), "big.png: image too large (30x20 = 600 pixels, limit 599)");
    sl_image_set_max_pixels(600);
    CHECK(sl_png_decode(buf, n, "big.png", &t) == SL_OK);
    sl_tensor_free(t);
    sl_image_set_max_pixels(0);
    CHECK(sl_image_max_pixels() == SL_IMAGE_MAX_PIXELS_DEFAULT);
    sl_free(buf);
}

static void test_bad_tensors(void)
{
    uint8_t *buf = NULL;
    size_t n;
    sl_tensor *two = pattern(2, 3, 3);
    CHECK_FAILS(sl_png_encode(two, "two.png", &buf, &n), "two.png: cannot encode 2 channels");
    sl_tensor_free(two);
    int64_t size[3] = {3, 2, 2};
    sl_tensor *f = sl_tensor_zeros(SL_FLOAT32, 3, size);
    CHECK_FAILS(sl_png_encode(f, "f.png", &buf, &n), "f.png: expected a uint8 image, got float32");
    CHECK_FAILS(sl_image_save(tmp_path("x.bmp"), f, 0), "cannot tell the format");
    CHECK(buf == NULL);

    /* sl_image_to_u8: float [0,1] -> uint8 with clamping and rounding. */
    sl_f32(f)[0] = -1.0f, sl_f32(f)[1] = 0.5f, sl_f32(f)[2] = 2.0f, sl_f32(f)[3] = 1.0f;
    sl_tensor *u = NULL;
    CHECK(sl_image_to_u8(f, &u) == SL_OK);
    CHECK(u && sl_u8(u)[0] == 0 && sl_u8(u)[1] == 128 && sl_u8(u)[2] == 255 && sl_u8(u)[3] == 255);
    CHECK(sl_image_save(tmp_path("f.png"), u, 0) == SL_OK);
    remove(tmp_path("f.png"));
    sl_tensor_free(u);
    sl_tensor_free(f);
    CHECK_FAILS(sl_image_save("/nonexistent-dir/x.png", (u = pattern(1, 2, 2)), 0), "/nonexistent-dir/x.png");
    sl_tensor_free(u);
}

static void test_alloc_failures(void)
{
    /* Fail each allocation in turn: always an error, never a leak or crash. */
    uint8_t *buf;
    size_t n;
    encoded(4, 9, 9, &buf, &n);
    int64_t live = sl_alloc_live_blocks();
    for (int k = 1; k <= 6; k++) {
        sl_tensor *t = NULL;
        sl_alloc_fail_after(k);
        int rc = sl_png_decode(buf, n, "oom.png", &t);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            sl_tensor_free(t);
            break;
        }
        CHECK(strstr(sl_last_error(), "oom.png") && strstr(sl_last_error(), "out of memory"));
        CHECK(sl_alloc_live_blocks() == live);
    }
    sl_tensor *img = pattern(3, 30, 30);
    live = sl_alloc_live_blocks();
    for (int k = 1; k <= 8; k++) {
        uint8_t *out = NULL;
        size_t m;
        sl_alloc_fail_after(k);
        int rc = sl_png_encode(img, "oom.png", &out, &m);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            sl_free(out);
            break;
        }
        CHECK(strstr(sl_last_error(), "oom.png") != NULL);
        CHECK(sl_alloc_live_blocks() == live);
    }
    sl_tensor_free(img);
    sl_free(buf);
}

int main(void)
{
    if (tmpdir_create("png") != 0) return 1;
    RUN(test_round_trip_memory);
    RUN(test_round_trip_file);
    RUN(test_grey_2d_and_strided);
    RUN(test_16bit);
    RUN(test_palette);
    RUN(test_grey_low_depth_and_alpha);
    RUN(test_interlaced);
    RUN(test_missing_file);
    RUN(test_truncated);
    RUN(test_bad_signature);
    RUN(test_corrupt_crc_and_data);
    RUN(test_too_large);
    RUN(test_bad_tensors);
    RUN(test_alloc_failures);
    tmpdir_remove();
    return test_summary();
}
