/* test_io_safetensors.c - safetensors checkpoints: round trips, byte-exact output, every malformed kind, atomic writes.
 *
 * Files are written in a fresh directory under $TMPDIR (or /tmp), removed at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

static sl_tensor *make(sl_dtype dt, int ndim, const int64_t *size)
{
    sl_tensor *t = sl_tensor_new(dt, ndim, size);
    if (!t) {
        fprintf(stderr, "sl_tensor_new failed: %s\n", sl_last_error());
        exit(1);
    }
    return t;
}

static sl_tensor *f32_from(int ndim, const int64_t *size, const float *v)
{
    sl_tensor *t = make(SL_FLOAT32, ndim, size);
    memcpy(sl_f32(t), v, (size_t)sl_tensor_numel(t) * 4);
    return t;
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)len + 1);
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

/* A file: 8-byte length of `header`, the header, then data_len bytes 0, 1, 2, ... */
static void write_st(const char *path, const char *header, size_t data_len)
{
    size_t hl = strlen(header);
    uint8_t *buf = malloc(8 + hl + data_len + 1);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    for (size_t i = 0; i < data_len; i++) buf[8 + hl + i] = (uint8_t)i;
    write_bytes(path, buf, 8 + hl + data_len);
    free(buf);
}

static int count_temp_files(const char *prefix)
{
    DIR *d = opendir(".");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

static bool same_values(const sl_tensor *a, const sl_tensor *b)
{
    if (a->dtype != b->dtype || !sl_tensor_same_shape(a, b)) return false;
    int64_t n = sl_tensor_numel(a);
    return memcmp(sl_tensor_data(a), sl_tensor_data(b), (size_t)n * sl_dtype_size(a->dtype)) == 0;
}

/* ---- round trips ---------------------------------------------------------- */

static void test_round_trip(void)
{
    int64_t s23[2] = {2, 3}, s4[1] = {4}, s0[1] = {0}, s203[3] = {2, 0, 3}, s1111[4] = {1, 1, 1, 1};
    float v[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e30f};
    sl_tensor *w = f32_from(2, s23, v);
    sl_tensor *idx = make(SL_INT64, 1, s4);
    int64_t iv[4] = {INT64_MIN, -1, 0, INT64_MAX};
    memcpy(sl_i64(idx), iv, sizeof iv);
    sl_tensor *img = make(SL_UINT8, 2, s23);
    for (int i = 0; i < 6; i++) sl_u8(img)[i] = (uint8_t)(250 + i);
    sl_tensor *scalar = make(SL_FLOAT32, 0, NULL); /* 0-d */
    sl_f32(scalar)[0] = 42.0f;
    sl_tensor *empty = make(SL_FLOAT32, 1, s0);
    sl_tensor *empty3 = make(SL_INT64, 3, s203);
    sl_tensor *ones = make(SL_UINT8, 4, s1111);
    sl_u8(ones)[0] = 7;

    const char *names[] = {"encoder.conv1.weight", "queue.ptr", "image", "step", "empty", "empty3", "\xce\xbb \"q\"\n"};
    const sl_tensor *ts[] = {w, idx, img, scalar, empty, empty3, ones};
    const char *keys[] = {"epoch", "recipe", "note"};
    const char *vals[] = {"12", "mocov2", "tab\there \"quoted\" \xe2\x82\xac"};
    CHECK(sl_safetensors_save("rt.safetensors", 7, names, ts, 3, keys, vals) == SL_OK);

    sl_safetensors *ck = NULL;
    CHECK(sl_safetensors_load("rt.safetensors", &ck) == SL_OK);
    if (ck) {
        CHECK(ck->n_tensors == 7 && ck->n_meta == 3);
        for (int i = 0; i < 7; i++) {
            const sl_tensor *got = sl_safetensors_get(ck, names[i]);
            CHECK(got && same_values(got, ts[i]));
            if (got && sl_tensor_numel(got) > 0) CHECK(sl_tensor_is_contiguous(got));
        }
        CHECK(sl_safetensors_get(ck, "step")->ndim == 0 && sl_f32(sl_safetensors_get(ck, "step"))[0] == 42.0f);
        CHECK(sl_safetensors_get(ck, "nope") == NULL);
        for (int i = 0; i < 3; i++) CHECK(sl_safetensors_meta(ck, keys[i]) && strcmp(sl_safetensors_meta(ck, keys[i]), vals[i]) == 0);
        /* file order: I64 first, then F32, then U8, each by name */
        const char *order[] = {"empty3", "queue.ptr", "empty", "encoder.conv1.weight", "step", "image", names[6]};
        for (int i = 0; i < 7; i++) CHECK(strcmp(ck->names[i], order[i]) == 0);
    }
    sl_safetensors_free(ck);

    /* no tensors, no metadata */
    CHECK(sl_safetensors_save("rt0.safetensors", 0, NULL, NULL, 0, NULL, NULL) == SL_OK);
    CHECK(sl_safetensors_load("rt0.safetensors", &ck) == SL_OK && ck && ck->n_tensors == 0 && ck->n_meta == 0);
    sl_safetensors_free(ck);
    /* overwrite an existing file */
    CHECK(sl_safetensors_save("rt0.safetensors", 1, names, ts, 0, NULL, NULL) == SL_OK);
    CHECK(sl_safetensors_load("rt0.safetensors", &ck) == SL_OK && ck && ck->n_tensors == 1);
    sl_safetensors_free(ck);
    CHECK(count_temp_files("rt") == 0);

    sl_tensor_free(w), sl_tensor_free(idx), sl_tensor_free(img), sl_tensor_free(scalar);
    sl_tensor_free(empty), sl_tensor_free(empty3), sl_tensor_free(ones);
}

static void test_non_contiguous(void)
{
    /* base [2x3] = 0..5 as f32; views built by hand on its storage */
    int64_t s23[2] = {2, 3};
    float v[6] = {0, 1, 2, 3, 4, 5};
    sl_tensor *base = f32_from(2, s23, v);

    sl_tensor *tr = sl_tensor_view_new(base); /* transpose: [3x2], strides {1,3} */
    tr->size[0] = 3, tr->size[1] = 2, tr->stride[0] = 1, tr->stride[1] = 3;
    sl_tensor *col = sl_tensor_view_new(base); /* column 1: [2], stride 3, offset 1 */
    col->ndim = 1, col->size[0] = 2, col->stride[0] = 3, col->offset = 1;
    sl_tensor *bc = sl_tensor_view_new(base); /* row 1 expanded: [2x3], strides {0,1}, offset 3 */
    bc->stride[0] = 0, bc->offset = 3;
    sl_tensor *rev = sl_tensor_view_new(base); /* row 0 reversed: [3], stride -1, offset 2 */
    rev->ndim = 1, rev->size[0] = 3, rev->stride[0] = -1, rev->offset = 2;

    const char *names[] = {"tr", "col", "bc", "rev"};
    const sl_tensor *ts[] = {tr, col, bc, rev};
    CHECK(sl_safetensors_save("nc.safetensors", 4, names, ts, 0, NULL, NULL) == SL_OK);
    sl_safetensors *ck = NULL;
    CHECK(sl_safetensors_load("nc.safetensors", &ck) == SL_OK);
    if (ck) {
        const float want_tr[6] = {0, 3, 1, 4, 2, 5}, want_col[2] = {1, 4}, want_bc[6] = {3, 4, 5, 3, 4, 5},
                    want_rev[3] = {2, 1, 0};
        const sl_tensor *t = sl_safetensors_get(ck, "tr");
        CHECK(t && t->size[0] == 3 && t->size[1] == 2 && memcmp(sl_f32(t), want_tr, sizeof want_tr) == 0);
        t = sl_safetensors_get(ck, "col");
        CHECK(t && t->ndim == 1 && memcmp(sl_f32(t), want_col, sizeof want_col) == 0);
        t = sl_safetensors_get(ck, "bc");
        CHECK(t && memcmp(sl_f32(t), want_bc, sizeof want_bc) == 0);
        t = sl_safetensors_get(ck, "rev");
        CHECK(t && memcmp(sl_f32(t), want_rev, sizeof want_rev) == 0);
    }
    sl_safetensors_free(ck);

    /* a large strided tensor crosses the 64 KiB gather buffer */
    int64_t big[2] = {300, 200};
    sl_tensor *b = make(SL_INT64, 2, big);
    for (int64_t i = 0; i < 300 * 200; i++) sl_i64(b)[i] = i;
    sl_tensor *bt = sl_tensor_view_new(b);
    bt->size[0] = 200, bt->size[1] = 300, bt->stride[0] = 1, bt->stride[1] = 200;
    const char *bn[] = {"bt"};
    const sl_tensor *bts[] = {bt};
    uint8_t *bytes = NULL;
    size_t len = 0;
    CHECK(sl_safetensors_serialize(1, bn, bts, 0, NULL, NULL, &bytes, &len) == SL_OK);
    CHECK(sl_safetensors_parse(bytes, len, "mem", &ck) == SL_OK);
    if (ck) {
        const int64_t *d = sl_i64(ck->tensors[0]);
        bool ok = true;
        for (int64_t i = 0; i < 200 && ok; i++)
            for (int64_t j = 0; j < 300 && ok; j++) ok = d[i * 300 + j] == j * 200 + i;
        CHECK(ok);
    }
    sl_safetensors_free(ck);
    sl_free(bytes);
    sl_tensor_free(bt), sl_tensor_free(b);
    sl_tensor_free(tr), sl_tensor_free(col), sl_tensor_free(bc), sl_tensor_free(rev), sl_tensor_free(base);
}

/* ---- byte-exact compatibility with the Python/Rust writer ---------------------------- */

static void check_bytes(const char *label, const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
    bool same = got_len == want_len && memcmp(got, want, want_len) == 0;
    if (!same) {
        fprintf(stderr, "%s: %zu bytes, expected %zu\n  got:  ", label, got_len, want_len);
        for (size_t i = 0; i < got_len && i < 300; i++) fputc(got[i] >= 32 && got[i] < 127 ? got[i] : '.', stderr);
        fprintf(stderr, "\n  want: ");
        for (size_t i = 0; i < want_len && i < 300; i++) fputc(want[i] >= 32 && want[i] < 127 ? want[i] : '.', stderr);
        fprintf(stderr, "\n");
    }
    CHECK(same);
}

/* How the expected files are built (the safetensors spec + the Rust writer in
 * huggingface/safetensors safetensors/src/tensor.rs, `prepare` and `Metadata`'s
 * Serialize, which the Python package calls):
 *   - u64 little-endian header length N, then N bytes of JSON, then the data;
 *   - the JSON is compact serde_json: `__metadata__` first, then the tensors
 *     sorted by dtype, largest alignment first (I64 > F32 > U8), then name;
 *     each as {"dtype":..,"shape":[..],"data_offsets":[begin,end]};
 *   - N is padded with spaces to a multiple of 8;
 *   - data: each tensor's elements row-major, little-endian, back to back.
 * The first three vectors are the Rust crate's own tests (test_serialization,
 * test_serialization_forced_alignement, test_empty); the last is ours. */
static void test_byte_exact(void)
{
    uint8_t *got = NULL;
    size_t got_len = 0;

    /* 1. {"attn.0": F32 [1,2,3] = 0..5}: header is 64 bytes, no padding. */
    {
        static const char hdr[] = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        uint8_t want[8 + 64 + 24] = {64};
        CHECK(sizeof hdr - 1 == 64);
        memcpy(want + 8, hdr, 64);
        float v[6] = {0, 1, 2, 3, 4, 5};
        memcpy(want + 72, v, 24); /* little-endian host (asserted in safetensors.c) */
        int64_t s[3] = {1, 2, 3};
        sl_tensor *t = f32_from(3, s, v);
        const char *n[] = {"attn.0"};
        const sl_tensor *ts[] = {t};
        CHECK(sl_safetensors_serialize(1, n, ts, 0, NULL, NULL, &got, &got_len) == SL_OK);
        check_bytes("attn.0", got, got_len, want, sizeof want);
        sl_free(got);
        /* the same through a file */
        CHECK(sl_safetensors_save("exact1.safetensors", 1, n, ts, 0, NULL, NULL) == SL_OK);
        uint8_t *file = read_file("exact1.safetensors", &got_len);
        check_bytes("attn.0 file", file, got_len, want, sizeof want);
        free(file);
        /* 2. "attn0", shape [1,1,2,3]: 65 bytes of JSON + 7 spaces = 72. */
        static const char hdr2[] = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ";
        uint8_t want2[8 + 72 + 24] = {72};
        CHECK(sizeof hdr2 - 1 == 72);
        memcpy(want2 + 8, hdr2, 72);
        memcpy(want2 + 80, v, 24);
        t->ndim = 4, t->size[0] = 1, t->size[1] = 1, t->size[2] = 2, t->size[3] = 3;
        t->stride[0] = t->stride[1] = 6, t->stride[2] = 3, t->stride[3] = 1;
        n[0] = "attn0";
        CHECK(sl_safetensors_serialize(1, n, ts, 0, NULL, NULL, &got, &got_len) == SL_OK);
        check_bytes("attn0", got, got_len, want2, sizeof want2);
        sl_free(got);
        sl_tensor_free(t);
    }
    /* 3. No tensors: "{}" + 6 spaces; with metadata {"framework":"pt"}: 35 + 5 spaces. */
    {
        static const uint8_t want[] = "\x08\0\0\0\0\0\0\0{}      ";
        CHECK(sl_safetensors_serialize(0, NULL, NULL, 0, NULL, NULL, &got, &got_len) == SL_OK);
        check_bytes("empty", got, got_len, want, sizeof want - 1);
        sl_free(got);
        static const uint8_t want_m[] = "\x28\0\0\0\0\0\0\0{\"__metadata__\":{\"framework\":\"pt\"}}     ";
        const char *k[] = {"framework"}, *v[] = {"pt"};
        CHECK(sl_safetensors_serialize(0, NULL, NULL, 1, k, v, &got, &got_len) == SL_OK);
        check_bytes("empty+metadata", got, got_len, want_m, sizeof want_m - 1);
        sl_free(got);
    }
    /* 4. Mixed dtypes, given in the order bb (U8), a (F32), c (I64 scalar), with
     * metadata {"format":"pt"}. Sorted: c, a, bb. The JSON is 193 bytes, so 7
     * spaces of padding make N = 200 = 0xc8; data = 8 + 8 + 3 = 19 bytes. */
    {
        static const char hdr[] = "{\"__metadata__\":{\"format\":\"pt\"},"
                                  "\"c\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                                  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                                  "\"bb\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[16,19]}}"
                                  "       ";
        CHECK(sizeof hdr - 1 == 200);
        static const uint8_t data[19] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* c = -2 */
                                         0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, /* a = 1.0, -2.5 */
                                         0x01, 0x02, 0xff};                              /* bb = 1, 2, 255 */
        uint8_t want[8 + 200 + 19] = {0xc8};
        memcpy(want + 8, hdr, 200);
        memcpy(want + 208, data, 19);
        int64_t s2[1] = {2}, s3[1] = {3};
        sl_tensor *bb = make(SL_UINT8, 1, s3), *a = make(SL_FLOAT32, 1, s2), *c = make(SL_INT64, 0, NULL);
        sl_u8(bb)[0] = 1, sl_u8(bb)[1] = 2, sl_u8(bb)[2] = 255;
        sl_f32(a)[0] = 1.0f, sl_f32(a)[1] = -2.5f;
        sl_i64(c)[0] = -2;
        const char *n[] = {"bb", "a", "c"}, *k[] = {"format"}, *v[] = {"pt"};
        const sl_tensor *ts[] = {bb, a, c};
        CHECK(sl_safetensors_serialize(3, n, ts, 1, k, v, &got, &got_len) == SL_OK);
        check_bytes("mixed", got, got_len, want, sizeof want);
        sl_free(got);
        /* and the reader accepts the expected bytes */
        sl_safetensors *ck = NULL;
        CHECK(sl_safetensors_parse(want, sizeof want, "mixed", &ck) == SL_OK && ck && ck->n_tensors == 3);
        if (ck) CHECK(sl_i64(sl_safetensors_get(ck, "c"))[0] == -2 && sl_f32(sl_safetensors_get(ck, "a"))[1] == -2.5f);
        sl_safetensors_free(ck);
        sl_tensor_free(bb), sl_tensor_free(a), sl_tensor_free(c);
    }
    /* 5. serde_json escapes in names: control characters as \u00xx, '/' and non-ASCII verbatim. */
    {
        static const char hdr[] = "{\"a/\\u0001\\n\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}";
        uint8_t want[8 + 64] = {64}; /* exactly 64 bytes: no padding */
        CHECK(sizeof hdr - 1 == 64);
        memcpy(want + 8, hdr, 64);
        int64_t s0[1] = {0};
        sl_tensor *t = make(SL_UINT8, 1, s0);
        const char *n[] = {"a/\x01\n\xc3\xa9"};
        const sl_tensor *ts[] = {t};
        CHECK(sl_safetensors_serialize(1, n, ts, 0, NULL, NULL, &got, &got_len) == SL_OK);
        check_bytes("escapes", got, got_len, want, sizeof want);
        sl_free(got);
        sl_tensor_free(t);
    }
}

/* ---- malformed files ---------------------------------------------------------------- */

#define BAD "bad.safetensors"

/* Load BAD and expect failure with a message naming the file and containing needle. */
#define CHECK_BAD(needle)                                                                  \
    do {                                                                                   \
        sl_safetensors *ck_ = NULL;                                                        \
        CHECK_FAILS(sl_safetensors_load(BAD, &ck_), (needle));                             \
        CHECK(ck_ == NULL);                                                                \
        if (!strstr(sl_last_error(), "load: " BAD ": ")) {                                 \
            fprintf(stderr, "%s:%d: message does not name the file: %s\n", __FILE__, __LINE__, \
                    sl_last_error());                                                      \
            test_current_failed = 1;                                                       \
        }                                                                                  \
    } while (0)

#define T_F32_2 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

static void test_bad_prefix(void)
{
    write_bytes(BAD, "\x05\0\0\0\0", 5);
    CHECK_BAD("file is 5 bytes, shorter than the 8-byte header length");
    write_bytes(BAD, "", 0);
    CHECK_BAD("file is 0 bytes");
    write_bytes(BAD, "\x64\0\0\0\0\0\0\0{}", 10); /* N = 100, file 10 */
    CHECK_BAD("header length 100 is beyond the end of the file (10 bytes)");
    write_bytes(BAD, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10);
    CHECK_BAD("header length 18446744073709551615 exceeds the 100000000-byte limit");
    write_bytes(BAD, "\x00\xc2\xeb\x0b\0\0\0\0{}", 10); /* 200,000,000 */
    CHECK_BAD("header length 200000000 exceeds");
}

static void test_bad_json(void)
{
    write_st(BAD, "{\"a\":", 0);
    CHECK_BAD("header: json: byte 5");
    write_st(BAD, "{\"a\":" T_F32_2 "} x", 8);
    CHECK_BAD("trailing 'x'");
    write_st(BAD, "{\"a\xff\":" T_F32_2 "}", 8);
    CHECK_BAD("invalid UTF-8");
    write_st(BAD, "", 0);
    CHECK_BAD("header does not start with '{'");
    write_st(BAD, "[1, 2]", 0);
    CHECK_BAD("header does not start with '{'");
    write_st(BAD, " {}", 0); /* the spec: the header starts with '{' */
    CHECK_BAD("header does not start with '{'");
    write_st(BAD, "{\"a\":" T_F32_2 ",\"a\":" T_F32_2 "}", 8);
    CHECK_BAD("duplicate key \"a\"");
    write_st(BAD, "{\"a\":3}", 0);
    CHECK_BAD("tensor 'a': entry is a number, expected an object");
    /* deep nesting is refused, not a stack overflow */
    char deep[600] = "{\"a\":";
    for (int i = 5; i < 505; i++) deep[i] = '[';
    deep[505] = 0;
    write_st(BAD, deep, 0);
    CHECK_BAD("nesting deeper than");
}

static void test_bad_dtype(void)
{
    write_st(BAD, "{\"w\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("unknown dtype 'F33' for tensor 'w'");
    write_st(BAD, "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
    CHECK_BAD("unsupported dtype BF16 for tensor 'w'");
    write_st(BAD, "{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("unsupported dtype F64 for tensor 'w'");
    write_st(BAD, "{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("unknown dtype 'f32'");
    write_st(BAD, "{\"w\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("tensor 'w': dtype is a number, expected a string");
}

static void test_bad_shape(void)
{
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("tensor 'w': shape[0] = -1 is negative");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,1.5],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("tensor 'w': shape[1] = 1.5 is not an integer");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("shape[0] = 2e0 is not an integer");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("shape[0] is a string");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("shape[0] = 18446744073709551616 overflows a 64-bit integer");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("shape [4294967296x4294967296] is too large");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[0,4294967296,4294967296],\"data_offsets\":[0,0]}}", 0);
    CHECK_BAD("is too large");
    write_st(BAD, "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1);
    CHECK_BAD("shape has 9 dims (sslab supports at most 8)");
    write_st(BAD, "{\"w\":{\"dtype\":\"U8\",\"shape\":2,\"data_offsets\":[0,2]}}", 2);
    CHECK_BAD("tensor 'w': shape is a number, expected an array");
}

static void test_bad_offsets(void)
{
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
    CHECK_BAD("tensor 'w': data_offsets [0,16] beyond the data buffer (8 bytes)");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8);
    CHECK_BAD("data_offsets [8,0] end before they begin");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8);
    CHECK_BAD("tensor 'w': data_offsets must be an array [begin, end]");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}}", 8);
    CHECK_BAD("data_offsets[1] = -8 is negative");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.0]}}", 8);
    CHECK_BAD("data_offsets[1] = 8.0 is not an integer");
    /* size mismatch: the example from the design */
    write_st(BAD, "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[5,6],\"data_offsets\":[0,100]}}", 100);
    CHECK_BAD("tensor 'fc.weight': data_offsets [0,100] but shape [5x6] float32 needs 120 bytes");
    write_st(BAD, "{\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]}}", 4);
    CHECK_BAD("tensor 's': data_offsets [0,4] but shape [] int64 needs 8 bytes");
    /* overlapping tensors */
    write_st(BAD, "{\"a\":" T_F32_2 ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
    CHECK_BAD("tensors 'a' [0,8] and 'b' [4,12] overlap");
    write_st(BAD, "{\"a\":" T_F32_2 ",\"b\":" T_F32_2 "}", 8); /* the same bytes twice */
    CHECK_BAD("overlap");
    write_st(BAD, "{\"a\":" T_F32_2 ",\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8);
    CHECK_BAD("tensors 'a' [0,8] and 'e' [4,4] overlap");
    /* holes: between tensors, at the start, at the end */
    write_st(BAD, "{\"a\":" T_F32_2 ",\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[10,12]}}", 12);
    CHECK_BAD("hole in the data buffer: bytes [8,10) before tensor 'b' belong to no tensor");
    write_st(BAD, "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4);
    CHECK_BAD("bytes [0,2) before tensor 'b'");
    write_st(BAD, "{\"a\":" T_F32_2 "}", 12);
    CHECK_BAD("hole in the data buffer: bytes [8,12) at its end belong to no tensor");
    write_st(BAD, "{}", 1);
    CHECK_BAD("bytes [0,1) at its end");
}

static void test_bad_fields_and_metadata(void)
{
    write_st(BAD, "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("tensor 'w': missing field 'dtype'");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8);
    CHECK_BAD("tensor 'w': missing field 'shape'");
    write_st(BAD, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8);
    CHECK_BAD("tensor 'w': missing field 'data_offsets'");
    write_st(BAD, "{\"__metadata__\":{\"epoch\":3},\"a\":" T_F32_2 "}", 8);
    CHECK_BAD("__metadata__ value for key 'epoch' is a number, expected a string");
    write_st(BAD, "{\"__metadata__\":{\"ok\":\"x\",\"nested\":{\"a\":\"b\"}}}", 0);
    CHECK_BAD("__metadata__ value for key 'nested' is an object");
    write_st(BAD, "{\"__metadata__\":[\"a\"]}", 0);
    CHECK_BAD("__metadata__ is an array, expected an object of strings");
    write_st(BAD, "{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0);
    CHECK_BAD("__metadata__ value for key 'k' contains a NUL character");
    write_st(BAD, "{\"a\\u0000b\":" T_F32_2 "}", 8);
    CHECK_BAD("contains a NUL character");
    write_st(BAD, "{\"__metadata__\":{},\"__metadata__\":{}}", 0);
    CHECK_BAD("duplicate key \"__metadata__\"");
}

static void test_accepted_variants(void)
{
    /* What the reference accepts, we accept: any key order, null metadata,
     * extra fields (serde ignores them), whitespace and trailing spaces. */
    write_st(BAD, "{ \"b\" : {\"data_offsets\":[8,9],\"shape\":[1],\"dtype\":\"U8\",\"extra\":[1]},\n"
                  "  \"__metadata__\": null, \"a\":" T_F32_2 " }   ",
             9);
    sl_safetensors *ck = NULL;
    CHECK(sl_safetensors_load(BAD, &ck) == SL_OK);
    if (ck) {
        CHECK(ck->n_tensors == 2 && ck->n_meta == 0 && strcmp(ck->names[0], "a") == 0);
        CHECK(sl_u8(sl_safetensors_get(ck, "b"))[0] == 8); /* data byte i is i */
    }
    sl_safetensors_free(ck);
}

static void test_missing_file(void)
{
    sl_safetensors *ck = NULL;
    sl_clear_error();
    CHECK(sl_safetensors_load("no/such/file.safetensors", &ck) == SL_ENOENT && ck == NULL);
    CHECK(strstr(sl_last_error(), "no/such/file.safetensors"));
    mkdir("adir.safetensors", 0777);
    CHECK(sl_safetensors_load("adir.safetensors", &ck) == SL_ENOENT);
}

static void test_load_alloc_failures(void)
{
    int64_t s[2] = {3, 4};
    sl_tensor *t = make(SL_FLOAT32, 2, s);
    memset(sl_f32(t), 0, 48);
    const char *n[] = {"x", "y"}, *k[] = {"a", "b"}, *v[] = {"1", "2"};
    const sl_tensor *ts[] = {t, t};
    CHECK(sl_safetensors_save("af.safetensors", 2, n, ts, 2, k, v) == SL_OK);
    bool loaded = false;
    for (int i = 1; i < 200 && !loaded; i++) {
        sl_safetensors *ck = NULL;
        sl_alloc_fail_after(i);
        int rc = sl_safetensors_load("af.safetensors", &ck);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            loaded = true;
            sl_safetensors_free(ck);
        } else {
            CHECK(ck == NULL && strstr(sl_last_error(), "load: af.safetensors: ") && strstr(sl_last_error(), "out of memory"));
        }
    }
    CHECK(loaded);
    sl_tensor_free(t);
}

/* ---- saving: argument checks and atomicity ---------------------------------------------- */

static void test_save_arguments(void)
{
    int64_t s[1] = {2};
    sl_tensor *t = make(SL_FLOAT32, 1, s);
    sl_tensor *u = make(SL_UINT8, 1, s);
    const char *dup[] = {"w", "w"};
    const sl_tensor *tt[] = {t, u};
    CHECK_FAILS(sl_safetensors_save("args.safetensors", 2, dup, tt, 0, NULL, NULL),
                "save: args.safetensors: two tensors are named 'w'");
    const char *res[] = {"__metadata__"};
    CHECK_FAILS(sl_safetensors_save("args.safetensors", 1, res, tt, 0, NULL, NULL), "'__metadata__' is reserved");
    const char *bad[] = {"\xff"};
    CHECK_FAILS(sl_safetensors_save("args.safetensors", 1, bad, tt, 0, NULL, NULL), "tensor name '\xff' is not valid UTF-8");
    const char *ok[] = {"w"};
    const sl_tensor *nul[] = {NULL};
    CHECK_FAILS(sl_safetensors_save("args.safetensors", 1, ok, nul, 0, NULL, NULL), "tensor 'w' is NULL");
    const char *k[] = {"a", "a"}, *v[] = {"1", "2"};
    CHECK_FAILS(sl_safetensors_save("args.safetensors", 1, ok, tt, 2, k, v), "metadata key 'a' given twice");
    const char *vb[] = {"\xc3"};
    CHECK_FAILS(sl_safetensors_save("args.safetensors", 1, ok, tt, 1, k, vb), "metadata value for key 'a' is not valid UTF-8");
    CHECK(access("args.safetensors", F_OK) != 0); /* nothing written */
    CHECK(count_temp_files("args") == 0);
    sl_tensor_free(t), sl_tensor_free(u);
}

/* An existing file must survive any failed save, and no temporary file may remain. */
static void check_intact(const char *path, const uint8_t *orig, size_t orig_len)
{
    size_t n = 0;
    uint8_t *now = read_file(path, &n);
    CHECK(now && n == orig_len && memcmp(now, orig, n) == 0);
    free(now);
    CHECK(count_temp_files(path) == 0);
}

static void test_atomic_save(void)
{
    const char *path = "keep.safetensors";
    int64_t s[2] = {64, 64};
    sl_tensor *old = make(SL_FLOAT32, 1, s);
    sl_f32(old)[0] = 1, sl_f32(old)[1] = 2, sl_f32(old)[2] = 3, sl_f32(old)[3] = 4;
    old->size[0] = 4;
    const char *n[] = {"old"};
    const sl_tensor *ots[] = {old};
    CHECK(sl_safetensors_save(path, 1, n, ots, 0, NULL, NULL) == SL_OK);
    size_t orig_len = 0;
    uint8_t *orig = read_file(path, &orig_len);

    /* A transposed [64x64] view: saving allocates a gather buffer after the
     * temporary file exists, so injected failures hit every stage. */
    sl_tensor *big = make(SL_FLOAT32, 2, s);
    for (int i = 0; i < 64 * 64; i++) sl_f32(big)[i] = (float)i;
    sl_tensor *bt = sl_tensor_view_new(big);
    bt->stride[0] = 1, bt->stride[1] = 64;
    const char *bn[] = {"new"};
    const sl_tensor *bts[] = {bt};
    bool saved = false;
    int failures = 0;
    for (int k = 1; k < 100 && !saved; k++) {
        sl_alloc_fail_after(k);
        int rc = sl_safetensors_save(path, 1, bn, bts, 0, NULL, NULL);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) {
            saved = true;
        } else {
            failures++;
            CHECK(strstr(sl_last_error(), "save: keep.safetensors: ") && strstr(sl_last_error(), "out of memory"));
            check_intact(path, orig, orig_len);
        }
    }
    CHECK(saved && failures >= 3);
    /* restore the old content for the next checks */
    CHECK(sl_safetensors_save(path, 1, n, ots, 0, NULL, NULL) == SL_OK);
    check_intact(path, orig, orig_len);

    /* A write that fails half way (file size limit: EFBIG) */
    struct rlimit saved_lim, lim;
    getrlimit(RLIMIT_FSIZE, &saved_lim);
    void (*saved_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = saved_lim;
    lim.rlim_cur = 4096;
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        CHECK_FAILS(sl_safetensors_save(path, 1, bn, bts, 0, NULL, NULL), "save: keep.safetensors: write failed");
        setrlimit(RLIMIT_FSIZE, &saved_lim);
        check_intact(path, orig, orig_len);
    }
    signal(SIGXFSZ, saved_sig);

    /* The final name is a directory: the rename fails, the temporary file goes. */
    mkdir("dir.safetensors", 0777);
    CHECK_FAILS(sl_safetensors_save("dir.safetensors", 1, bn, bts, 0, NULL, NULL), "cannot rename");
    CHECK(count_temp_files("dir.safetensors") == 0);
    /* No such directory */
    CHECK_FAILS(sl_safetensors_save("no/such/dir/x.safetensors", 1, bn, bts, 0, NULL, NULL),
                "save: no/such/dir/x.safetensors: cannot create temporary file");
    /* A read-only directory (only meaningful when not root) */
    if (geteuid() != 0) {
        mkdir("ro", 0777);
        CHECK(sl_safetensors_save("ro/x.safetensors", 1, n, ots, 0, NULL, NULL) == SL_OK);
        size_t rl = 0;
        uint8_t *ro_orig = read_file("ro/x.safetensors", &rl);
        chmod("ro", 0555);
        CHECK_FAILS(sl_safetensors_save("ro/x.safetensors", 1, bn, bts, 0, NULL, NULL), "cannot create temporary file");
        chmod("ro", 0777);
        check_intact("ro/x.safetensors", ro_orig, rl);
        free(ro_orig);
    }
    free(orig);
    sl_tensor_free(bt), sl_tensor_free(big), sl_tensor_free(old);
}

/* Remove the files and (empty) directories test_dir holds, then the directory. */
static void remove_test_dir(const char *test_dir)
{
    DIR *d = opendir(".");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && unlink(e->d_name) != 0) rmdir(e->d_name);
    if (d) closedir(d);
    if (chdir("/") == 0) rmdir(test_dir);
}

int main(void)
{
    char test_dir[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/sslab_safetensors_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(test_dir) || chdir(test_dir) != 0) {
        perror(test_dir);
        return 1;
    }
    RUN(test_round_trip);
    RUN(test_non_contiguous);
    RUN(test_byte_exact);
    RUN(test_bad_prefix);
    RUN(test_bad_json);
    RUN(test_bad_dtype);
    RUN(test_bad_shape);
    RUN(test_bad_offsets);
    RUN(test_bad_fields_and_metadata);
    RUN(test_accepted_variants);
    RUN(test_missing_file);
    RUN(test_load_alloc_failures);
    RUN(test_save_arguments);
    RUN(test_atomic_save);
    if (!getenv("SSLAB_KEEP_TEST_FILES")) remove_test_dir(test_dir);
    else printf("files kept in %s\n", test_dir);
    return test_summary();
}
