/* test_data_cifar.c - CIFAR-10/100 reader: batches written here (one and
 * several files, from memory), and one test per failure kind. */
#include <stdlib.h>
#include <unistd.h>

#include "data/cifar.h"
#include "test.h"
#include "test_files.h"

/* n records; record i has label (i + seed) % classes, coarse (i % 20), and
 * pixel p = (i * 7 + p + seed) & 255. */
static uint8_t *make_batch(sl_cifar_kind kind, int n, int seed, size_t *bytes)
{
    int rs = sl_cifar_record_size(kind), nl = kind == SL_CIFAR100 ? 2 : 1;
    *bytes = (size_t)n * rs;
    uint8_t *b = malloc(*bytes);
    for (int i = 0; i < n; i++) {
        uint8_t *r = b + (size_t)i * rs;
        if (nl == 2) r[0] = (uint8_t)(i % 20);
        r[nl - 1] = (uint8_t)((i + seed) % (kind == SL_CIFAR100 ? 100 : 10));
        for (int p = 0; p < SL_CIFAR_PIXELS; p++) r[nl + p] = (uint8_t)(i * 7 + p + seed);
    }
    return b;
}

static void test_cifar10_files(void)
{
    size_t n1, n2;
    uint8_t *a = make_batch(SL_CIFAR10, 5, 0, &n1), *b = make_batch(SL_CIFAR10, 3, 4, &n2);
    write_bytes(tmp_path("data_batch_1.bin"), a, n1);
    write_bytes(tmp_path("data_batch_2.bin"), b, n2);
    const char *files[2] = {tmp_path("data_batch_1.bin"), tmp_path("data_batch_2.bin")};
    sl_tensor *x = NULL, *y = NULL;
    CHECK(sl_cifar_load(SL_CIFAR10, files, 2, &x, &y, NULL) == SL_OK);
    CHECK(x && x->dtype == SL_UINT8 && x->ndim == 4 && x->size[0] == 8 && x->size[1] == 3 && x->size[2] == 32 &&
          x->size[3] == 32);
    CHECK(y && y->dtype == SL_INT64 && y->size[0] == 8);
    if (x && y) {
        CHECK(sl_i64(y)[0] == 0 && sl_i64(y)[4] == 4 && sl_i64(y)[5] == 4 && sl_i64(y)[7] == 6);
        CHECK(memcmp(sl_u8(x), a + 1, SL_CIFAR_PIXELS) == 0);                      /* record 0 */
        CHECK(memcmp(sl_u8(x) + 6 * SL_CIFAR_PIXELS, b + 3073 + 1, SL_CIFAR_PIXELS) == 0); /* file 2, record 1 */
        /* Layout: plane R, then G, then B, each row-major. */
        CHECK(sl_u8(x)[1 * 1024 + 2 * 32 + 5] == a[1 + 1024 + 69]);
    }
    sl_tensor_free(x);
    sl_tensor_free(y);
    free(a), free(b);
}

static void test_cifar100_memory(void)
{
    size_t n;
    uint8_t *a = make_batch(SL_CIFAR100, 25, 90, &n);
    sl_tensor *x = NULL, *y = NULL, *c = NULL;
    CHECK(sl_cifar_decode(SL_CIFAR100, a, n, "train.bin", &x, &y, &c) == SL_OK);
    CHECK(x && x->size[0] == 25 && y && c && c->size[0] == 25);
    if (y && c) CHECK(sl_i64(y)[0] == 90 && sl_i64(y)[10] == 0 && sl_i64(c)[21] == 1);
    if (x) CHECK(memcmp(sl_u8(x) + 3 * SL_CIFAR_PIXELS, a + 3 * 3074 + 2, SL_CIFAR_PIXELS) == 0);
    sl_tensor_free(x), sl_tensor_free(y), sl_tensor_free(c);
    /* Coarse labels are optional. */
    CHECK(sl_cifar_decode(SL_CIFAR100, a, n, "train.bin", &x, &y, NULL) == SL_OK);
    sl_tensor_free(x), sl_tensor_free(y);
    free(a);
}

static void test_many_records_chunked(void)
{
    /* More records than one read chunk (512), to cross chunk boundaries. */
    size_t n;
    uint8_t *a = make_batch(SL_CIFAR10, 1100, 1, &n);
    write_bytes(tmp_path("big.bin"), a, n);
    const char *files[1] = {tmp_path("big.bin")};
    sl_tensor *x = NULL, *y = NULL;
    CHECK(sl_cifar_load(SL_CIFAR10, files, 1, &x, &y, NULL) == SL_OK);
    int ok = x && y;
    for (int i = 0; ok && i < 1100; i++)
        ok &= sl_i64(y)[i] == (i + 1) % 10 &&
              memcmp(sl_u8(x) + (size_t)i * SL_CIFAR_PIXELS, a + (size_t)i * 3073 + 1, SL_CIFAR_PIXELS) == 0;
    CHECK(ok);
    sl_tensor_free(x), sl_tensor_free(y);
    free(a);
}

static void test_missing(void)
{
    size_t n;
    uint8_t *a = make_batch(SL_CIFAR10, 1, 0, &n);
    write_bytes(tmp_path("one.bin"), a, n);
    const char *files[2] = {tmp_path("one.bin"), tmp_path("two.bin")};
    sl_tensor *x = NULL, *y = NULL;
    sl_clear_error();
    CHECK(sl_cifar_load(SL_CIFAR10, files, 2, &x, &y, NULL) == SL_ENOENT);
    CHECK(strstr(sl_last_error(), "two.bin") != NULL && x == NULL && y == NULL);
    free(a);
}

static void test_truncated(void)
{
    size_t n;
    uint8_t *a = make_batch(SL_CIFAR10, 3, 0, &n);
    write_bytes(tmp_path("cut.bin"), a, n - 100);
    const char *files[1] = {tmp_path("cut.bin")};
    sl_tensor *x = NULL, *y = NULL;
    CHECK_FAILS(sl_cifar_load(SL_CIFAR10, files, 1, &x, &y, NULL),
                "cut.bin: truncated or wrong file: 9119 bytes is not a multiple of the 3073-byte CIFAR-10 record");
    CHECK_FAILS(sl_cifar_decode(SL_CIFAR10, a, 3072, "short", &x, &y, NULL), "short: truncated");
    write_bytes(tmp_path("empty.bin"), a, 0);
    files[0] = tmp_path("empty.bin");
    CHECK_FAILS(sl_cifar_load(SL_CIFAR10, files, 1, &x, &y, NULL), "empty.bin: empty file");
    CHECK(x == NULL && y == NULL);
    free(a);
}

static void test_wrong_kind(void)
{
    /* A CIFAR-100 file read as CIFAR-10: 3074-byte records do not divide. */
    size_t n;
    uint8_t *a = make_batch(SL_CIFAR100, 4, 0, &n);
    sl_tensor *x = NULL, *y = NULL, *c = NULL;
    CHECK_FAILS(sl_cifar_decode(SL_CIFAR10, a, n, "c100.bin", &x, &y, NULL), "c100.bin: truncated or wrong file");
    CHECK_FAILS(sl_cifar_decode((sl_cifar_kind)7, a, n, "k.bin", &x, &y, NULL), "unknown kind 7");
    CHECK_FAILS(sl_cifar_decode(SL_CIFAR10, a, 3073, "k.bin", &x, &y, &c), "CIFAR-10 has no coarse labels");
    CHECK_FAILS(sl_cifar_load(SL_CIFAR10, NULL, 0, &x, &y, NULL), "no files");
    CHECK(x == NULL && y == NULL && c == NULL);
    free(a);
}

static void test_label_range(void)
{
    size_t n;
    uint8_t *a = make_batch(SL_CIFAR10, 4, 0, &n);
    a[2 * 3073] = 10;
    write_bytes(tmp_path("lab.bin"), a, n);
    const char *files[1] = {tmp_path("lab.bin")};
    sl_tensor *x = NULL, *y = NULL, *c = NULL;
    CHECK_FAILS(sl_cifar_load(SL_CIFAR10, files, 1, &x, &y, NULL), "lab.bin: record 2: label 10 out of range 0..9");
    free(a);
    a = make_batch(SL_CIFAR100, 4, 0, &n);
    a[3 * 3074 + 1] = 100;
    CHECK_FAILS(sl_cifar_decode(SL_CIFAR100, a, n, "fine.bin", &x, &y, &c), "fine.bin: record 3: label 100");
    a[3 * 3074 + 1] = 99;
    a[1 * 3074] = 20;
    CHECK_FAILS(sl_cifar_decode(SL_CIFAR100, a, n, "coarse.bin", &x, &y, &c),
                "coarse.bin: record 1: coarse label 20 out of range 0..19");
    CHECK(x == NULL && y == NULL && c == NULL);
    free(a);
}

static void test_alloc_failures(void)
{
    size_t n;
    uint8_t *a = make_batch(SL_CIFAR100, 3, 0, &n);
    write_bytes(tmp_path("oom.bin"), a, n);
    const char *files[1] = {tmp_path("oom.bin")};
    int64_t live = sl_alloc_live_blocks();
    for (int k = 1; k <= 12; k++) {
        sl_tensor *x = NULL, *y = NULL, *c = NULL;
        sl_alloc_fail_after(k);
        int rc = sl_cifar_load(SL_CIFAR100, files, 1, &x, &y, &c);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            sl_tensor_free(x), sl_tensor_free(y), sl_tensor_free(c);
            break;
        }
        CHECK(strstr(sl_last_error(), "oom.bin") && strstr(sl_last_error(), "out of memory"));
        CHECK(x == NULL && y == NULL && c == NULL && sl_alloc_live_blocks() == live);
    }
    free(a);
}

int main(void)
{
    if (tmpdir_create("cifar") != 0) return 1;
    RUN(test_cifar10_files);
    RUN(test_cifar100_memory);
    RUN(test_many_records_chunked);
    RUN(test_missing);
    RUN(test_truncated);
    RUN(test_wrong_kind);
    RUN(test_label_range);
    RUN(test_alloc_failures);
    tmpdir_remove();
    return test_summary();
}
