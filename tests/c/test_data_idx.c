/* test_data_idx.c - IDX reader: raw and gzip files written here, and one
 * test per failure kind; every message must name the file. */
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "data/idx.h"
#include "test.h"
#include "test_files.h"

static void write_gz(const char *path, const void *data, size_t n)
{
    gzFile g = gzopen(path, "wb");
    gzwrite(g, data, (unsigned)n);
    gzclose(g);
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

/* An IDX ubyte file image in memory: header + data (caller frees). */
static uint8_t *make_idx(int ndim, const uint32_t *dims, size_t *n, int seed)
{
    size_t total = 1;
    for (int d = 0; d < ndim; d++) total *= dims[d];
    *n = 4 + 4 * (size_t)ndim + total;
    uint8_t *b = malloc(*n);
    b[0] = 0, b[1] = 0, b[2] = 0x08, b[3] = (uint8_t)ndim;
    for (int d = 0; d < ndim; d++) {
        uint8_t *p = b + 4 + 4 * d;
        p[0] = (uint8_t)(dims[d] >> 24), p[1] = (uint8_t)(dims[d] >> 16), p[2] = (uint8_t)(dims[d] >> 8),
        p[3] = (uint8_t)dims[d];
    }
    for (size_t i = 0; i < total; i++) b[4 + 4 * ndim + i] = (uint8_t)(i * 31 + seed);
    return b;
}

static uint8_t *make_labels(uint32_t n_items, size_t *n)
{
    uint8_t *b = make_idx(1, &n_items, n, 0);
    for (uint32_t i = 0; i < n_items; i++) b[8 + i] = (uint8_t)(i % 10);
    return b;
}

static void test_raw_pair(void)
{
    uint32_t dims[3] = {5, 28, 28};
    size_t ni, nl;
    uint8_t *img = make_idx(3, dims, &ni, 3), *lab = make_labels(5, &nl);
    write_bytes(tmp_path("img.idx"), img, ni);
    write_bytes(tmp_path("lab.idx"), lab, nl);
    sl_tensor *x = NULL, *y = NULL;
    CHECK(sl_idx_load_pair(tmp_path("img.idx"), tmp_path("lab.idx"), 10, &x, &y) == SL_OK);
    CHECK(x && x->dtype == SL_UINT8 && x->ndim == 3 && x->size[0] == 5 && x->size[1] == 28 && x->size[2] == 28);
    CHECK(x && memcmp(sl_u8(x), img + 16, 5 * 28 * 28) == 0);
    CHECK(y && y->dtype == SL_INT64 && y->ndim == 1 && y->size[0] == 5);
    CHECK(y && sl_i64(y)[0] == 0 && sl_i64(y)[3] == 3);
    sl_tensor_free(x);
    sl_tensor_free(y);
    free(img);
    free(lab);
}

static void test_gzip_pair(void)
{
    uint32_t dims[3] = {12, 7, 9};
    size_t ni, nl;
    uint8_t *img = make_idx(3, dims, &ni, 11), *lab = make_labels(12, &nl);
    write_gz(tmp_path("img.gz"), img, ni);
    write_gz(tmp_path("lab.bin"), lab, nl); /* gzip detected from the magic, not the name */
    sl_tensor *x = NULL, *y = NULL;
    CHECK(sl_idx_load_pair(tmp_path("img.gz"), tmp_path("lab.bin"), 10, &x, &y) == SL_OK);
    CHECK(x && x->size[0] == 12 && x->size[1] == 7 && x->size[2] == 9 && memcmp(sl_u8(x), img + 16, 12 * 63) == 0);
    CHECK(y && y->size[0] == 12 && sl_i64(y)[11] == 1);
    sl_tensor_free(x);
    sl_tensor_free(y);

    /* Two gzip members concatenated (cat a.gz b.gz) decode as one stream. */
    size_t half = ni / 2, n1, n2;
    write_gz(tmp_path("a.gz"), img, half);
    write_gz(tmp_path("b.gz"), img + half, ni - half);
    uint8_t *a = read_all(tmp_path("a.gz"), &n1), *b = read_all(tmp_path("b.gz"), &n2);
    uint8_t *ab = malloc(n1 + n2);
    memcpy(ab, a, n1);
    memcpy(ab + n1, b, n2);
    CHECK(sl_idx_decode(ab, n1 + n2, "ab.gz", &x) == SL_OK);
    CHECK(x && memcmp(sl_u8(x), img + 16, 12 * 63) == 0);
    sl_tensor_free(x);
    free(a), free(b), free(ab), free(img), free(lab);
}

static void test_dims_1_to_4(void)
{
    uint32_t dims[4] = {2, 3, 4, 5};
    for (int nd = 1; nd <= 4; nd++) {
        size_t n;
        uint8_t *b = make_idx(nd, dims, &n, nd);
        sl_tensor *t = NULL;
        CHECK(sl_idx_decode(b, n, "nd.idx", &t) == SL_OK);
        CHECK(t && t->ndim == nd && t->size[nd - 1] == dims[nd - 1]);
        sl_tensor_free(t);
        free(b);
    }
}

static void test_missing(void)
{
    sl_tensor *x = NULL, *y = NULL;
    sl_clear_error();
    CHECK(sl_idx_load(tmp_path("none.idx"), &x) == SL_ENOENT);
    CHECK(strstr(sl_last_error(), "none.idx") != NULL);
    uint32_t dims[3] = {1, 2, 2};
    size_t n;
    uint8_t *img = make_idx(3, dims, &n, 0);
    write_bytes(tmp_path("one.idx"), img, n);
    CHECK(sl_idx_load_pair(tmp_path("one.idx"), tmp_path("nolabels.idx"), 10, &x, &y) == SL_ENOENT);
    CHECK(x == NULL && y == NULL && strstr(sl_last_error(), "nolabels.idx"));
    free(img);
}

static void test_bad_magic(void)
{
    uint32_t dims[1] = {4};
    size_t n;
    uint8_t *b = make_idx(1, dims, &n, 0);
    b[0] = 0x1f; /* not 00 00 */
    write_bytes(tmp_path("magic.idx"), b, n);
    sl_tensor *t = NULL;
    CHECK_FAILS(sl_idx_load(tmp_path("magic.idx"), &t), "magic.idx: bad magic 1f 00 08 01");
    b[0] = 0, b[2] = 0x0d; /* float data */
    write_bytes(tmp_path("dtype.idx"), b, n);
    CHECK_FAILS(sl_idx_load(tmp_path("dtype.idx"), &t), "dtype.idx: unsupported data type 0x0d");
    CHECK(t == NULL);
    free(b);
}

static void test_wrong_dims(void)
{
    uint8_t zero[4] = {0, 0, 8, 0}, five[4 + 20] = {0, 0, 8, 5};
    sl_tensor *t = NULL;
    CHECK_FAILS(sl_idx_decode(zero, 4, "d0.idx", &t), "d0.idx: wrong number of dims 0");
    CHECK_FAILS(sl_idx_decode(five, sizeof five, "d5.idx", &t), "d5.idx: wrong number of dims 5");
    /* A labels file where images are expected, and the reverse. */
    size_t n;
    uint8_t *lab = make_labels(3, &n);
    write_bytes(tmp_path("lab3.idx"), lab, n);
    CHECK_FAILS(sl_idx_load_images(tmp_path("lab3.idx"), &t), "lab3.idx: expected images [N x H x W], got 1 dims");
    uint32_t dims[3] = {3, 2, 2};
    uint8_t *img = make_idx(3, dims, &n, 0);
    write_bytes(tmp_path("img3.idx"), img, n);
    CHECK_FAILS(sl_idx_load_labels(tmp_path("img3.idx"), 10, &t), "img3.idx: expected labels [N], got 3 dims");
    CHECK(t == NULL);
    free(lab), free(img);
}

static void test_truncated_header(void)
{
    uint32_t dims[3] = {2, 3, 3};
    size_t n;
    uint8_t *b = make_idx(3, dims, &n, 0);
    sl_tensor *t = NULL;
    write_bytes(tmp_path("h2.idx"), b, 2);
    CHECK_FAILS(sl_idx_load(tmp_path("h2.idx"), &t), "h2.idx: truncated header");
    write_bytes(tmp_path("h9.idx"), b, 9);
    CHECK_FAILS(sl_idx_load(tmp_path("h9.idx"), &t), "h9.idx: truncated header (5 of 12 dim bytes)");
    write_gz(tmp_path("h9.gz"), b, 9);
    CHECK_FAILS(sl_idx_load(tmp_path("h9.gz"), &t), "h9.gz: truncated header");
    CHECK(t == NULL);
    free(b);
}

static void test_truncated_data(void)
{
    uint32_t dims[3] = {4, 5, 5};
    size_t n;
    uint8_t *b = make_idx(3, dims, &n, 0);
    sl_tensor *t = NULL;
    write_bytes(tmp_path("d.idx"), b, n - 1);
    CHECK_FAILS(sl_idx_load(tmp_path("d.idx"), &t), "d.idx: truncated data (header declares 100 bytes, file holds 99)");
    write_gz(tmp_path("d.gz"), b, n - 10);
    CHECK_FAILS(sl_idx_load(tmp_path("d.gz"), &t), "d.gz: truncated data (header declares 100 bytes, stream holds 90)");
    /* Extra bytes after the data: a size mismatch too. */
    uint8_t *longer = malloc(n + 3);
    memcpy(longer, b, n);
    memset(longer + n, 7, 3);
    write_bytes(tmp_path("x.idx"), longer, n + 3);
    CHECK_FAILS(sl_idx_load(tmp_path("x.idx"), &t), "x.idx: size mismatch");
    write_gz(tmp_path("x.gz"), longer, n + 3);
    CHECK_FAILS(sl_idx_load(tmp_path("x.gz"), &t), "x.gz: size mismatch");
    CHECK(t == NULL);
    free(longer), free(b);
}

static void test_gzip_corruption(void)
{
    uint32_t dims[3] = {20, 10, 10};
    size_t n, gn;
    uint8_t *b = make_idx(3, dims, &n, 5);
    write_gz(tmp_path("ok.gz"), b, n);
    uint8_t *g = read_all(tmp_path("ok.gz"), &gn);
    sl_tensor *t = NULL;

    /* Flip bits in the deflate data: a data error or a CRC mismatch. */
    uint8_t *bad = malloc(gn);
    memcpy(bad, g, gn);
    for (size_t i = gn / 2; i < gn / 2 + 4; i++) bad[i] ^= 0xa5;
    CHECK_FAILS(sl_idx_decode(bad, gn, "flip.gz", &t), "flip.gz: ");
    CHECK(strstr(sl_last_error(), "gzip") || strstr(sl_last_error(), "mismatch"));
    /* Wrong CRC32 in the trailer. */
    memcpy(bad, g, gn);
    bad[gn - 8] ^= 1;
    CHECK_FAILS(sl_idx_decode(bad, gn, "crc.gz", &t), "crc.gz: corrupt gzip data (zlib: incorrect data check)");
    /* Cut inside the trailer, and inside the deflate data. */
    CHECK_FAILS(sl_idx_decode(g, gn - 3, "cut.gz", &t), "cut.gz: truncated gzip stream");
    CHECK_FAILS(sl_idx_decode(g, gn / 2, "half.gz", &t), "half.gz: truncated");
    /* Garbage after the stream. */
    uint8_t *tail = malloc(gn + 5);
    memcpy(tail, g, gn);
    memset(tail + gn, 0x33, 5);
    CHECK_FAILS(sl_idx_decode(tail, gn + 5, "tail.gz", &t), "tail.gz: 5 bytes of garbage after the gzip stream");
    CHECK(t == NULL);
    free(tail), free(bad), free(g), free(b);
}

static void test_gzip_bomb(void)
{
    /* A tiny gzip file whose header claims 4 G bytes: refused before allocating. */
    uint8_t head[16] = {0, 0, 8, 3, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 1, 0};
    write_gz(tmp_path("bomb.gz"), head, sizeof head);
    sl_tensor *t = NULL;
    CHECK_FAILS(sl_idx_load(tmp_path("bomb.gz"), &t), "bomb.gz: header declares 268435456 bytes, more than");
    CHECK(t == NULL);
}

static void test_label_range(void)
{
    size_t n;
    uint8_t *lab = make_labels(6, &n);
    lab[8 + 4] = 10;
    write_bytes(tmp_path("range.idx"), lab, n);
    sl_tensor *t = NULL;
    CHECK_FAILS(sl_idx_load_labels(tmp_path("range.idx"), 10, &t), "range.idx: label 10 at index 4 out of range 0..9");
    CHECK(sl_idx_load_labels(tmp_path("range.idx"), 0, &t) == SL_OK); /* no check */
    CHECK(t && sl_i64(t)[4] == 10);
    sl_tensor_free(t);
    CHECK(sl_idx_decode_labels(lab, n, "mem", 11, &t) == SL_OK);
    sl_tensor_free(t);
    free(lab);
}

static void test_count_mismatch(void)
{
    uint32_t dims[3] = {4, 2, 2};
    size_t ni, nl;
    uint8_t *img = make_idx(3, dims, &ni, 0), *lab = make_labels(3, &nl);
    write_bytes(tmp_path("i4.idx"), img, ni);
    write_bytes(tmp_path("l3.idx"), lab, nl);
    sl_tensor *x = NULL, *y = NULL;
    CHECK_FAILS(sl_idx_load_pair(tmp_path("i4.idx"), tmp_path("l3.idx"), 10, &x, &y), "i4.idx has 4 images but");
    CHECK(strstr(sl_last_error(), "l3.idx has 3 labels") != NULL);
    CHECK(x == NULL && y == NULL);
    free(img), free(lab);
}

static void test_alloc_failures(void)
{
    uint32_t dims[3] = {3, 4, 4};
    size_t n, nl;
    uint8_t *b = make_idx(3, dims, &n, 0), *lab = make_labels(3, &nl);
    write_gz(tmp_path("oom.gz"), b, n);
    write_bytes(tmp_path("oom_l.idx"), lab, nl);
    int64_t live = sl_alloc_live_blocks();
    for (int k = 1; k <= 12; k++) {
        sl_tensor *x = NULL, *y = NULL;
        sl_alloc_fail_after(k);
        int rc = sl_idx_load_pair(tmp_path("oom.gz"), tmp_path("oom_l.idx"), 10, &x, &y);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            sl_tensor_free(x), sl_tensor_free(y);
            break;
        }
        CHECK(strstr(sl_last_error(), "out of memory") != NULL);
        CHECK(x == NULL && y == NULL && sl_alloc_live_blocks() == live);
    }
    free(b), free(lab);
}

int main(void)
{
    if (tmpdir_create("idx") != 0) return 1;
    RUN(test_raw_pair);
    RUN(test_gzip_pair);
    RUN(test_dims_1_to_4);
    RUN(test_missing);
    RUN(test_bad_magic);
    RUN(test_wrong_dims);
    RUN(test_truncated_header);
    RUN(test_truncated_data);
    RUN(test_gzip_corruption);
    RUN(test_gzip_bomb);
    RUN(test_label_range);
    RUN(test_count_mismatch);
    RUN(test_alloc_failures);
    tmpdir_remove();
    return test_summary();
}
