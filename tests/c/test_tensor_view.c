/* test_tensor_view.c - tensor headers, views, copies, gather/scatter, cat,
 * error messages and allocation-failure paths (tensor.c, view.c, iter.c). */
#include "test.h"
#include "tensor_testutil.h"
#include "tensor/iter.h"

#include "tensor/elementwise.h"
#include "tensor/format.h"
#include "tensor/tensor.h"
#include "tensor/view.h"

#define SZ(...) ((int64_t[]){__VA_ARGS__})

static void test_new_and_shape(void)
{
    sl_tensor *t = sl_tensor_zeros(SL_FLOAT32, 3, SZ(2, 3, 4));
    CHECK(t && t->ndim == 3 && sl_tensor_numel(t) == 24);
    CHECK(t->stride[0] == 12 && t->stride[1] == 4 && t->stride[2] == 1);
    CHECK(sl_tensor_is_contiguous(t));
    char b[64];
    CHECK(strcmp(sl_shape_str(t, b, sizeof b), "[2x3x4]") == 0);
    for (int i = 0; i < 24; i++) CHECK(sl_f32(t)[i] == 0);
    sl_tensor_free(t);

    sl_tensor *s = sl_tensor_new(SL_INT64, 0, NULL); /* 0-d */
    CHECK(s && sl_tensor_numel(s) == 1 && strcmp(sl_shape_str(s, b, sizeof b), "[]") == 0);
    sl_tensor_free(s);

    sl_tensor *e = sl_tensor_new(SL_UINT8, 2, SZ(0, 5));
    CHECK(e && sl_tensor_numel(e) == 0 && sl_tensor_is_contiguous(e));
    sl_tensor_free(e);

    sl_dtype dt;
    CHECK(sl_dtype_from_name("int64", &dt) == SL_OK && dt == SL_INT64);
    CHECK(sl_dtype_from_name("byte", &dt) == SL_OK && dt == SL_UINT8);
    CHECK_FAILS(sl_dtype_from_name("float64", &dt), "unknown dtype 'float64'");
    CHECK(strcmp(sl_dtype_name(SL_UINT8), "uint8") == 0 && sl_dtype_size(SL_INT64) == 8);
}

static void test_new_errors(void)
{
    sl_clear_error();
    CHECK(sl_tensor_new(SL_FLOAT32, 2, SZ(3, -1)) == NULL);
    CHECK(strstr(sl_last_error(), "negative size -1 in dim 2") != NULL);
    CHECK(sl_tensor_new(SL_FLOAT32, 9, SZ(1, 1, 1, 1, 1, 1, 1, 1, 1)) == NULL);
    CHECK(strstr(sl_last_error(), "at most 8") != NULL);
    CHECK(sl_tensor_new(SL_FLOAT32, 2, SZ(INT64_MAX / 2, 4)) == NULL);
    CHECK(strstr(sl_last_error(), "overflow") != NULL);
    CHECK(sl_tensor_new((sl_dtype)7, 1, SZ(3)) == NULL);
    CHECK(strstr(sl_last_error(), "bad dtype") != NULL);

    sl_tensor *t = sl_tensor_zeros(SL_FLOAT32, 2, SZ(3, 4));
    CHECK_FAILS(sl_tensor_check(t, "linear weight", SL_FLOAT32, 2, SZ(3, 5)),
                "linear weight: expected shape [3x5], got [3x4]");
    CHECK_FAILS(sl_tensor_check(t, "x", SL_INT64, 2, SZ(3, 4)), "x: expected a int64 tensor, got float32 [3x4]");
    CHECK(sl_tensor_check(t, "x", SL_FLOAT32, 2, SZ(-1, 4)) == SL_OK);
    CHECK_FAILS(sl_tensor_check(t, "x", SL_FLOAT32, 2, SZ(-1, 5)), "expected shape [*x5]");
    sl_tensor_free(t);
}

/* Every view shares storage and reads the right elements of a [2x3x4] arange. */
static void test_views_share_storage(void)
{
    sl_tensor *t = tt_arange(3, SZ(2, 3, 4));
    /* narrow dim 2 (0-based 1) rows 1..2 */
    sl_tensor *n = sl_tensor_narrow_new(t, 1, 1, 2);
    CHECK(n && n->storage == t->storage && t->storage->refcount == 2);
    CHECK(n->size[1] == 2 && !sl_tensor_is_contiguous(n));
    int64_t pos[3] = {1, 1, 3};
    CHECK(tt_at(n, pos) == 1 * 12 + 2 * 4 + 3);

    sl_tensor *s = sl_tensor_select_new(t, 2, 3); /* [2x3], t[.., .., 3] */
    CHECK(s && s->ndim == 2 && s->size[0] == 2 && s->size[1] == 3 && s->storage == t->storage);
    CHECK(tt_at(s, SZ(1, 2)) == 12 + 8 + 3);

    sl_tensor *tr = sl_tensor_transpose_new(t, 0, 2); /* [4x3x2] */
    CHECK(tr && tr->size[0] == 4 && tr->size[2] == 2 && tr->storage == t->storage);
    CHECK(tt_at(tr, SZ(3, 1, 1)) == 12 + 4 + 3);

    sl_tensor *p = sl_tensor_permute_new(t, 3, (int[]){1, 2, 0}); /* [3x4x2], p[i,j,k] = t[k,i,j] */
    CHECK(p && p->size[0] == 3 && p->size[1] == 4 && p->size[2] == 2);
    CHECK(tt_at(p, SZ(2, 1, 1)) == 12 + 2 * 4 + 1);

    sl_tensor *u = sl_tensor_unsqueeze_new(t, 1); /* [2x1x3x4] */
    CHECK(u && u->ndim == 4 && u->size[1] == 1 && sl_tensor_is_contiguous(u));
    CHECK(tt_at(u, SZ(1, 0, 2, 3)) == 23);
    sl_tensor *u_end = sl_tensor_unsqueeze_new(t, 3); /* [2x3x4x1] */
    CHECK(u_end && u_end->size[3] == 1 && sl_tensor_is_contiguous(u_end));
    sl_tensor *sq = sl_tensor_squeeze_new(u, -1);
    CHECK(sq && sq->ndim == 3 && sl_tensor_same_shape(sq, t));
    sl_tensor *sq1 = sl_tensor_squeeze_new(u, 0); /* size 2: unchanged */
    CHECK(sq1 && sq1->ndim == 4);

    sl_tensor *v = sl_tensor_view_shape_new(t, 2, SZ(6, -1)); /* [6x4] */
    CHECK(v && v->size[1] == 4 && v->storage == t->storage && tt_at(v, SZ(5, 3)) == 23);

    sl_tensor *row = sl_tensor_narrow_new(t, 0, 1, 1); /* [1x3x4] */
    sl_tensor *e = sl_tensor_expand_new(row, 3, SZ(5, -1, -1));
    CHECK(e && e->size[0] == 5 && e->stride[0] == 0 && e->storage == t->storage);
    CHECK(tt_at(e, SZ(4, 2, 1)) == 12 + 8 + 1);
    sl_tensor *e2 = sl_tensor_expand_new(s, 3, SZ(7, 2, 3)); /* new leading dim */
    CHECK(e2 && e2->size[0] == 7 && e2->stride[0] == 0 && tt_at(e2, SZ(6, 1, 2)) == 23);

    /* writes through a view are seen by the base */
    sl_tensor_fill(s, -1);
    CHECK(sl_f32(t)[3] == -1 && sl_f32(t)[23] == -1 && sl_f32(t)[22] == 22);
    CHECK(t->storage->refcount == 13); /* t and 12 views */

    sl_tensor *views[] = {n, s, tr, p, u, u_end, sq, sq1, v, row, e, e2};
    for (size_t i = 0; i < sizeof views / sizeof *views; i++) sl_tensor_free(views[i]);
    CHECK(t->storage->refcount == 1);
    sl_tensor_free(t);
}

static void test_view_errors(void)
{
    sl_tensor *t = tt_arange(2, SZ(3, 4));
    sl_tensor *tr = sl_tensor_transpose_new(t, 0, 1);
    sl_clear_error();
    CHECK(sl_tensor_view_shape_new(tr, 1, SZ(12)) == NULL);
    CHECK(strstr(sl_last_error(), "view: tensor [4x3] is not contiguous") != NULL);
    CHECK(sl_tensor_view_shape_new(t, 2, SZ(5, -1)) == NULL);
    CHECK(strstr(sl_last_error(), "cannot infer size -1 for [3x4] with 12 elements") != NULL);
    CHECK(sl_tensor_view_shape_new(t, 2, SZ(5, 2)) == NULL);
    CHECK(strstr(sl_last_error(), "view: shape [3x4] has 12 elements, the new shape 10") != NULL);
    CHECK(sl_tensor_view_shape_new(t, 2, SZ(-1, -1)) == NULL);
    CHECK(strstr(sl_last_error(), "only one size may be -1") != NULL);
    CHECK(sl_tensor_narrow_new(t, 1, 2, 3) == NULL);
    CHECK(strstr(sl_last_error(), "narrow: range [3, 5] out of bounds for dim 2 of [3x4]") != NULL);
    CHECK(sl_tensor_narrow_new(t, 2, 0, 1) == NULL);
    CHECK(strstr(sl_last_error(), "narrow: dim 3 out of range for [3x4] (2 dims)") != NULL);
    CHECK(sl_tensor_select_new(t, 0, 3) == NULL);
    CHECK(strstr(sl_last_error(), "select: index 4 out of range for dim 1 of [3x4]") != NULL);
    CHECK(sl_tensor_select_new(t, 0, -1) == NULL);
    CHECK(sl_tensor_transpose_new(t, 0, 2) == NULL);
    CHECK(strstr(sl_last_error(), "transpose: dim 3 out of range") != NULL);
    CHECK(sl_tensor_permute_new(t, 2, (int[]){0, 0}) == NULL);
    CHECK(strstr(sl_last_error(), "permute: 1 is not a valid permutation entry for [3x4]") != NULL);
    CHECK(sl_tensor_permute_new(t, 3, (int[]){0, 1, 2}) == NULL);
    CHECK(strstr(sl_last_error(), "permute: 3 dims given for [3x4]") != NULL);
    CHECK(sl_tensor_expand_new(t, 2, SZ(3, 5)) == NULL);
    CHECK(strstr(sl_last_error(), "expand: cannot expand [3x4] to size 5 in dim 2") != NULL);
    CHECK(sl_tensor_expand_new(t, 1, SZ(12)) == NULL);
    CHECK(strstr(sl_last_error(), "expand: cannot expand [3x4] to 1 dims") != NULL);
    CHECK(sl_tensor_unsqueeze_new(t, 3) == NULL);
    CHECK(strstr(sl_last_error(), "unsqueeze: dim 4 out of range for [3x4]") != NULL);
    CHECK(sl_tensor_squeeze_new(t, 5) == NULL);
    CHECK(strstr(sl_last_error(), "squeeze: dim 6 out of range") != NULL);
    sl_tensor_free(tr);
    sl_tensor_free(t);
}

static void test_reshape_copies_when_needed(void)
{
    sl_tensor *t = tt_arange(2, SZ(3, 4));
    sl_tensor *r = sl_tensor_reshape_new(t, 1, SZ(-1)); /* contiguous: a view */
    CHECK(r && r->storage == t->storage && r->size[0] == 12);
    sl_tensor *tr = sl_tensor_transpose_new(t, 0, 1);
    sl_tensor *r2 = sl_tensor_reshape_new(tr, 2, SZ(2, 6)); /* copy of the transposed order */
    CHECK(r2 && r2->storage != t->storage && sl_tensor_is_contiguous(r2));
    float want[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
    for (int i = 0; i < 12; i++) CHECK(sl_f32(r2)[i] == want[i]);
    sl_tensor *c = sl_tensor_contiguous_new(t);
    CHECK(c && c->storage == t->storage);
    sl_tensor *c2 = sl_tensor_contiguous_new(tr);
    CHECK(c2 && c2->storage != t->storage && sl_tensor_is_contiguous(c2) && sl_f32(c2)[1] == 4);
    sl_tensor *flat0 = sl_tensor_reshape_new(t, 0, NULL); /* 12 elements into a 0-d: error */
    CHECK(flat0 == NULL && strstr(sl_last_error(), "reshape") != NULL);
    sl_tensor_free(r), sl_tensor_free(tr), sl_tensor_free(r2), sl_tensor_free(c), sl_tensor_free(c2);
    sl_tensor_free(t);
}

/* copy/fill/clone on transposed, narrowed, expanded sources and targets. */
static void test_copy_fill_clone_strided(void)
{
    sl_tensor *t = tt_arange(2, SZ(4, 5));
    sl_tensor *tr = sl_tensor_transpose_new(t, 0, 1); /* [5x4] */
    sl_tensor *c = sl_tensor_clone_new(tr);
    CHECK(c && sl_tensor_is_contiguous(c) && c->storage != t->storage);
    CHECK(tt_close(c, tr, 0));
    int64_t pos[2] = {0, 0};
    do CHECK(tt_at(c, pos) == pos[1] * 5 + pos[0]); while (tt_next(2, c->size, pos));

    /* narrowed destination: columns 1..2 of a zero [4x5] get a [4x2] block */
    sl_tensor *z = sl_tensor_zeros(SL_FLOAT32, 2, SZ(4, 5));
    sl_tensor *zn = sl_tensor_narrow_new(z, 1, 1, 2);
    sl_tensor *src = sl_tensor_narrow_new(t, 1, 3, 2);
    CHECK(sl_tensor_copy(zn, src) == SL_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++)
            CHECK(sl_f32(z)[i * 5 + j] == (j == 1 || j == 2 ? (float)(i * 5 + j + 2) : 0.0f));

    /* broadcast copy: a [5] row into every row of a transposed destination */
    sl_tensor *row = tt_arange(1, SZ(4));
    CHECK(sl_tensor_copy(tr, row) == SL_OK); /* tr[i][j] = j, so t[j][i] = j */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++) CHECK(sl_f32(t)[i * 5 + j] == i);
    CHECK_FAILS(sl_tensor_copy(tr, z), "copy: source [4x5] does not match destination [5x4]");

    /* fill on a non-contiguous view touches only the view */
    sl_tensor *col = sl_tensor_select_new(t, 1, 2); /* column 3, stride 5 */
    sl_tensor_fill(col, 7);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++) CHECK(sl_f32(t)[i * 5 + j] == (j == 2 ? 7 : i));

    /* dtype conversion: float -> uint8 saturates, NaN -> 0; int64 exact */
    float vals[5] = {-3.5f, 0.5f, 254.9f, 1000.0f, NAN};
    sl_tensor *f = tt_from(vals, 1, SZ(5));
    sl_tensor *u8 = sl_tensor_to_dtype_new(f, SL_UINT8);
    uint8_t want_u8[5] = {0, 0, 254, 255, 0};
    for (int i = 0; i < 5; i++) CHECK(sl_u8(u8)[i] == want_u8[i]);
    sl_tensor *i64 = sl_tensor_to_dtype_new(f, SL_INT64);
    int64_t want_i64[5] = {-3, 0, 254, 1000, 0};
    for (int i = 0; i < 5; i++) CHECK(sl_i64(i64)[i] == want_i64[i]);
    sl_tensor *back = sl_tensor_to_dtype_new(u8, SL_FLOAT32);
    CHECK(sl_f32(back)[2] == 254);

    /* copy of a large strided tensor (parallel path) equals the element loop */
    sl_tensor *big = tt_rand(3, 2, SZ(300, 257));
    sl_tensor *bigt = sl_tensor_transpose_new(big, 0, 1);
    sl_tensor *bigc = sl_tensor_clone_new(bigt);
    CHECK(tt_close(bigc, bigt, 0));

    sl_tensor *all[] = {t, tr, c, z, zn, src, row, col, f, u8, i64, back, big, bigt, bigc};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) sl_tensor_free(all[i]);
}

static void test_fill_dtypes(void)
{
    sl_tensor *a = sl_tensor_new(SL_INT64, 2, SZ(2, 3));
    sl_tensor_fill(a, -5);
    for (int i = 0; i < 6; i++) CHECK(sl_i64(a)[i] == -5);
    sl_tensor *b = sl_tensor_new(SL_UINT8, 1, SZ(4));
    sl_tensor_fill(b, 300);
    for (int i = 0; i < 4; i++) CHECK(sl_u8(b)[i] == 255);
    sl_tensor *e = sl_tensor_new(SL_FLOAT32, 2, SZ(0, 3)); /* empty: no-op */
    sl_tensor_fill(e, 1);
    sl_tensor *s = sl_tensor_new(SL_FLOAT32, 0, NULL);
    sl_tensor_fill(s, 2.5);
    CHECK(sl_f32(s)[0] == 2.5f);
    int64_t idx0[1] = {0};
    sl_tensor_set(a, (int64_t[]){1, 2}, 42);
    CHECK(sl_tensor_get(a, (int64_t[]){1, 2}) == 42 && sl_i64(a)[5] == 42);
    (void)idx0;
    sl_tensor_free(a), sl_tensor_free(b), sl_tensor_free(e), sl_tensor_free(s);
}

static sl_tensor *index_tensor(int n, const int64_t *v)
{
    sl_tensor *t = sl_tensor_new(SL_INT64, 1, SZ(n));
    for (int i = 0; i < n; i++) sl_i64(t)[i] = v[i];
    return t;
}

static void test_index_select_copy_add(void)
{
    sl_tensor *t = tt_arange(2, SZ(4, 3));
    sl_tensor *ix = index_tensor(3, SZ(2, 0, 2));
    sl_tensor *r = sl_tensor_index_select_new(t, 0, ix); /* rows 2, 0, 2 */
    CHECK(r && r->size[0] == 3 && r->size[1] == 3);
    float want_r[9] = {6, 7, 8, 0, 1, 2, 6, 7, 8};
    for (int i = 0; i < 9; i++) CHECK(sl_f32(r)[i] == want_r[i]);
    sl_tensor *tr = sl_tensor_transpose_new(t, 0, 1); /* [3x4]: select columns of the transposed view */
    sl_tensor *rc = sl_tensor_index_select_new(tr, 1, ix);
    CHECK(rc && rc->size[0] == 3 && rc->size[1] == 3);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) CHECK(tt_at(rc, SZ(i, j)) == want_r[j * 3 + i]);
    /* index given as a strided (non-contiguous) int64 view */
    sl_tensor *ix2 = index_tensor(6, SZ(3, 99, 1, 99, 0, 99));
    sl_tensor *ix2s = sl_tensor_view_new(ix2);
    ix2s->size[0] = 3, ix2s->stride[0] = 2;
    sl_tensor *r2 = sl_tensor_index_select_new(t, 0, ix2s);
    CHECK(r2 && tt_at(r2, SZ(0, 0)) == 9 && tt_at(r2, SZ(1, 0)) == 3 && tt_at(r2, SZ(2, 2)) == 2);

    /* index_copy: rows of src into rows 3 and 1 of dst */
    sl_tensor *dst = sl_tensor_zeros(SL_FLOAT32, 2, SZ(4, 3));
    sl_tensor *src = tt_arange(2, SZ(2, 3));
    sl_tensor *ixc = index_tensor(2, SZ(3, 1));
    CHECK(sl_tensor_index_copy(dst, 0, ixc, src, false) == SL_OK);
    float want_c[12] = {0, 0, 0, 3, 4, 5, 0, 0, 0, 0, 1, 2};
    for (int i = 0; i < 12; i++) CHECK(sl_f32(dst)[i] == want_c[i]);
    /* index_add with a repeated index accumulates */
    sl_tensor *ixa = index_tensor(2, SZ(1, 1));
    CHECK(sl_tensor_index_copy(dst, 0, ixa, src, true) == SL_OK);
    CHECK(sl_f32(dst)[3] == 3 + 0 + 3 && sl_f32(dst)[5] == 5 + 2 + 5);
    /* along dim 1 */
    sl_tensor *col = tt_arange(2, SZ(4, 1));
    sl_tensor *ixd = index_tensor(1, SZ(2));
    CHECK(sl_tensor_index_copy(dst, 1, ixd, col, false) == SL_OK);
    for (int i = 0; i < 4; i++) CHECK(sl_f32(dst)[i * 3 + 2] == i);

    /* errors: 1-based numbers in the message */
    sl_tensor *bad = index_tensor(2, SZ(0, 4));
    sl_clear_error();
    CHECK(sl_tensor_index_select_new(t, 0, bad) == NULL);
    CHECK(strstr(sl_last_error(), "index_select: index 5 (entry 2) out of range [1, 4]") != NULL);
    CHECK_FAILS(sl_tensor_index_copy(dst, 0, ixc, tr, false), "index_copy: source [3x4] does not fit destination");
    CHECK_FAILS(sl_tensor_index_copy(dst, 0, bad, src, true), "index_add: index 5 (entry 2) out of range [1, 4]");
    CHECK(sl_tensor_index_select_new(t, 0, t) == NULL);
    CHECK(strstr(sl_last_error(), "index must be a 1-d int64 tensor, got float32 [4x3]") != NULL);
    CHECK(sl_tensor_index_select_new(t, 2, ix) == NULL);
    CHECK(strstr(sl_last_error(), "index_select: dim 3 out of range") != NULL);

    sl_tensor *all[] = {t, ix, r, tr, rc, ix2, ix2s, r2, dst, src, ixc, ixa, col, ixd, bad};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) sl_tensor_free(all[i]);
}

static void test_cat(void)
{
    sl_tensor *a = tt_arange(2, SZ(2, 3));
    sl_tensor *b = tt_arange(2, SZ(1, 3));
    sl_tensor *bt = tt_arange(2, SZ(3, 2));
    sl_tensor *btt = sl_tensor_transpose_new(bt, 0, 1); /* [2x3], strided */
    sl_tensor *ts0[] = {a, b, a};
    sl_tensor *c0 = sl_tensor_cat_new(ts0, 3, 0);
    CHECK(c0 && c0->size[0] == 5 && c0->size[1] == 3);
    float want0[15] = {0, 1, 2, 3, 4, 5, 0, 1, 2, 0, 1, 2, 3, 4, 5};
    for (int i = 0; i < 15; i++) CHECK(sl_f32(c0)[i] == want0[i]);
    sl_tensor *ts1[] = {a, btt};
    sl_tensor *c1 = sl_tensor_cat_new(ts1, 2, 1);
    CHECK(c1 && c1->size[0] == 2 && c1->size[1] == 6);
    float want1[12] = {0, 1, 2, 0, 2, 4, 3, 4, 5, 1, 3, 5};
    for (int i = 0; i < 12; i++) CHECK(sl_f32(c1)[i] == want1[i]);
    /* empty parts are fine */
    sl_tensor *e = sl_tensor_new(SL_FLOAT32, 2, SZ(0, 3));
    sl_tensor *ts2[] = {e, a, e};
    sl_tensor *c2 = sl_tensor_cat_new(ts2, 3, 0);
    CHECK(c2 && c2->size[0] == 2 && tt_close(c2, a, 0));

    sl_clear_error();
    sl_tensor *ts3[] = {a, bt};
    CHECK(sl_tensor_cat_new(ts3, 2, 0) == NULL);
    CHECK(strstr(sl_last_error(), "cat: tensor 2 (float32 [3x2]) does not match tensor 1 (float32 [2x3]) outside dim 1") !=
          NULL);
    sl_tensor *i64 = sl_tensor_zeros(SL_INT64, 2, SZ(2, 3));
    sl_tensor *ts4[] = {a, i64};
    CHECK(sl_tensor_cat_new(ts4, 2, 0) == NULL && strstr(sl_last_error(), "int64") != NULL);
    CHECK(sl_tensor_cat_new(ts4, 0, 0) == NULL && strstr(sl_last_error(), "cat: no tensors given") != NULL);
    CHECK(sl_tensor_cat_new(ts0, 1, 2) == NULL && strstr(sl_last_error(), "cat: dim 3 out of range") != NULL);
    sl_tensor *all[] = {a, b, bt, btt, c0, c1, e, c2, i64};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) sl_tensor_free(all[i]);
}

/* Every function that allocates fails cleanly when allocation k fails, for every k. */
static void test_alloc_failure_injection(void)
{
    sl_tensor *t = tt_arange(2, SZ(4, 6));
    sl_tensor *tr = sl_tensor_transpose_new(t, 0, 1);
    sl_tensor *ix = index_tensor(2, SZ(1, 3));
    int64_t live = sl_alloc_live_blocks();
    for (int which = 0; which < 9; which++) {
        for (int k = 1; k <= 4; k++) {
            sl_clear_error();
            sl_alloc_fail_after(k);
            sl_tensor *r = NULL;
            int rc = SL_OK;
            char *s = NULL;
            switch (which) {
            case 0: r = sl_tensor_new(SL_FLOAT32, 2, SZ(3, 3)); break;
            case 1: r = sl_tensor_clone_new(tr); break;
            case 2: r = sl_tensor_reshape_new(tr, 1, SZ(24)); break;
            case 3: r = sl_tensor_index_select_new(t, 0, ix); break;
            case 4: { sl_tensor *ts[] = {t, t}; r = sl_tensor_cat_new(ts, 2, 1); break; }
            case 5: r = sl_tensor_narrow_new(tr, 0, 1, 2); break;
            case 6: rc = sl_tensor_binary(SL_OP_ADD, t, t, NULL, &r); break;
            case 7: s = sl_tensor_format(tr); break;
            case 8: r = sl_tensor_to_dtype_new(tr, SL_INT64); break;
            }
            sl_alloc_fail_after(0);
            bool ok = (which == 7 ? s != NULL : r != NULL) && rc == SL_OK;
            if (!ok) CHECK(strstr(sl_last_error(), "out of memory") != NULL);
            sl_tensor_free(r);
            sl_free(s);
            CHECK(sl_alloc_live_blocks() == live);
        }
    }
    sl_tensor_free(t), sl_tensor_free(tr), sl_tensor_free(ix);
}

/* Element-wise iteration follows the output's memory order: channels-last operands
 * ([N x C x H x W] with memory [N x H x W x C]) coalesce into one unit-stride run,
 * and a channels-last output fed from a channels-first input walks the output in order. */
static void test_iter_memory_order(void)
{
    const int64_t size[4] = {2, 3, 4, 5}, cl[4] = {60, 1, 15, 3}, cf[4] = {60, 20, 5, 1};
    sl_iter it;
    const int64_t *both_cl[3] = {cl, cl, cl};
    sl_iter_init(&it, 4, size, 3, both_cl);
    CHECK(it.ndim == 1 && it.size[0] == 120 && it.stride[0][0] == 1 && it.stride[2][0] == 1);
    const int64_t *mixed[2] = {cl, cf};
    sl_iter_init(&it, 4, size, 2, mixed);
    CHECK(it.ndim == 3 && it.stride[0][it.ndim - 1] == 1 && it.stride[1][it.ndim - 1] == 20);
    const int64_t *both_cf[2] = {cf, cf};
    sl_iter_init(&it, 4, size, 2, both_cf);
    CHECK(it.ndim == 1 && it.size[0] == 120);
    /* and the values: a channels-last copy of a channels-first tensor */
    sl_tensor *a = sl_tensor_new(SL_FLOAT32, 4, size);
    for (int i = 0; i < 120; i++) sl_f32(a)[i] = (float)i;
    sl_tensor *b = sl_tensor_channels_last_new(a);
    CHECK(b && sl_tensor_is_channels_last(b) && !sl_tensor_is_contiguous(b));
    CHECK(sl_f32(b)[1] == 20.0f && sl_f32(b)[3] == 1.0f); /* (n0, h0, w0, c1) then (n0, h0, w1, c0) */
    sl_tensor_free(a);
    sl_tensor_free(b);
}

int main(void)
{
    RUN(test_new_and_shape);
    RUN(test_new_errors);
    RUN(test_views_share_storage);
    RUN(test_view_errors);
    RUN(test_reshape_copies_when_needed);
    RUN(test_copy_fill_clone_strided);
    RUN(test_fill_dtypes);
    RUN(test_index_select_copy_add);
    RUN(test_cat);
    RUN(test_alloc_failure_injection);
    RUN(test_iter_memory_order);
    return test_summary();
}
