/* test_tensor_sort.c - sort/topk: stability, NaN ordering, strided inputs,
 * every dim, large parallel inputs, errors (sort.c). */
#include "test.h"
#include "tensor_testutil.h"

#include "tensor/sort.h"
#include "tensor/tensor.h"
#include "tensor/view.h"

#define SZ(...) ((int64_t[]){__VA_ARGS__})

static void test_sort_stable_and_nan(void)
{
    float v[9] = {3, NAN, 1, 3, -INFINITY, 1, NAN, INFINITY, 3};
    sl_tensor *t = tt_from(v, 1, SZ(9));
    sl_tensor *vals, *ix;
    CHECK(sl_tensor_sort(t, 0, false, &vals, &ix) == SL_OK);
    /* ascending: NaN last, ties in input order */
    int64_t want_asc[9] = {4, 2, 5, 0, 3, 8, 7, 1, 6};
    for (int i = 0; i < 9; i++) CHECK(sl_i64(ix)[i] == want_asc[i]);
    for (int i = 0; i < 9; i++) {
        float w = v[want_asc[i]];
        CHECK(isnan(w) ? isnan(sl_f32(vals)[i]) : sl_f32(vals)[i] == w);
    }
    sl_tensor_free(vals), sl_tensor_free(ix);
    CHECK(sl_tensor_sort(t, 0, true, &vals, &ix) == SL_OK);
    /* descending: NaN first, ties still in input order (stable) */
    int64_t want_desc[9] = {1, 6, 7, 0, 3, 8, 2, 5, 4};
    for (int i = 0; i < 9; i++) CHECK(sl_i64(ix)[i] == want_desc[i]);
    sl_tensor_free(vals), sl_tensor_free(ix);
    sl_tensor_free(t);
}

/* Sort along each dim of a strided 3-d view; every line sorted and a permutation of its input. */
static void test_sort_every_dim_strided(void)
{
    sl_tensor *base = tt_rand(5, 3, SZ(4, 6, 5));
    for (int i = 0; i < 120; i++) sl_f32(base)[i] = floorf(sl_f32(base)[i] * 3); /* many ties */
    sl_tensor *t = sl_tensor_permute_new(base, 3, (int[]){2, 0, 1}); /* [5x4x6] */
    for (int dim = 0; dim < 3; dim++)
        for (int desc = 0; desc < 2; desc++) {
            sl_tensor *vals, *ix;
            CHECK(sl_tensor_sort(t, dim, desc, &vals, &ix) == SL_OK);
            CHECK(sl_tensor_same_shape(vals, t) && sl_tensor_same_shape(ix, t) && ix->dtype == SL_INT64);
            int64_t pos[3] = {0, 0, 0}, osize[3] = {t->size[0], t->size[1], t->size[2]};
            osize[dim] = 1;
            bool ok = true;
            do {
                int64_t n = t->size[dim], p[3] = {pos[0], pos[1], pos[2]}, q[3] = {pos[0], pos[1], pos[2]};
                bool seen[8] = {false};
                for (int64_t i = 0; i < n; i++) {
                    p[dim] = i;
                    int64_t j = (int64_t)tt_at(ix, p);
                    if (j < 0 || j >= n || seen[j]) { ok = false; break; }
                    seen[j] = true;
                    q[dim] = j;
                    if (tt_at(vals, p) != tt_at(t, q)) ok = false;
                    if (i > 0) {
                        int64_t pp[3] = {p[0], p[1], p[2]};
                        pp[dim] = i - 1;
                        double prev = tt_at(vals, pp), cur = tt_at(vals, p);
                        if (desc ? prev < cur : prev > cur) ok = false;
                        if (prev == cur && tt_at(ix, pp) > j) ok = false; /* stability */
                    }
                }
            } while (tt_next(3, osize, pos));
            if (!ok) fprintf(stderr, "  sort dim %d desc %d wrong\n", dim, desc);
            CHECK(ok);
            sl_tensor_free(vals), sl_tensor_free(ix);
        }
    sl_tensor_free(t), sl_tensor_free(base);
}

static void test_topk(void)
{
    float v[2][6] = {{5, 1, 4, 1, 5, 9}, {NAN, 2, 7, 2, 0, -1}};
    sl_tensor *t = tt_from(&v[0][0], 2, SZ(2, 6));
    sl_tensor *vals, *ix;
    CHECK(sl_tensor_topk(t, 3, 1, true, &vals, &ix) == SL_OK);
    CHECK(vals->size[0] == 2 && vals->size[1] == 3);
    CHECK(sl_f32(vals)[0] == 9 && sl_f32(vals)[1] == 5 && sl_f32(vals)[2] == 5);
    CHECK(sl_i64(ix)[0] == 5 && sl_i64(ix)[1] == 0 && sl_i64(ix)[2] == 4);
    CHECK(isnan(sl_f32(vals)[3]) && sl_i64(ix)[3] == 0 && sl_f32(vals)[4] == 7); /* NaN is largest */
    sl_tensor_free(vals), sl_tensor_free(ix);
    CHECK(sl_tensor_topk(t, 2, 1, false, &vals, &ix) == SL_OK);
    CHECK(sl_f32(vals)[0] == 1 && sl_i64(ix)[0] == 1 && sl_i64(ix)[1] == 3);
    CHECK(sl_f32(vals)[2] == -1 && sl_f32(vals)[3] == 0);
    sl_tensor_free(vals), sl_tensor_free(ix);
    /* along dim 0 of the transposed view, k = 0 and k = n */
    sl_tensor *tt = sl_tensor_transpose_new(t, 0, 1); /* [6x2] */
    CHECK(sl_tensor_topk(tt, 1, 0, true, &vals, &ix) == SL_OK && vals->size[0] == 1 && vals->size[1] == 2);
    CHECK(sl_f32(vals)[0] == 9 && sl_i64(ix)[0] == 5 && isnan(sl_f32(vals)[1]));
    sl_tensor_free(vals), sl_tensor_free(ix);
    CHECK(sl_tensor_topk(tt, 0, 0, true, &vals, &ix) == SL_OK && sl_tensor_numel(vals) == 0);
    sl_tensor_free(vals), sl_tensor_free(ix);
    CHECK(sl_tensor_topk(tt, 6, 0, true, &vals, &ix) == SL_OK && sl_tensor_numel(vals) == 12);
    sl_tensor_free(vals), sl_tensor_free(ix);
    CHECK_FAILS(sl_tensor_topk(t, 7, 1, true, &vals, &ix), "topk: k = 7 out of range for dim 2 of size 6");
    CHECK(vals == NULL && ix == NULL);
    CHECK_FAILS(sl_tensor_topk(t, -1, 1, true, &vals, &ix), "topk: k = -1 out of range");
    CHECK_FAILS(sl_tensor_sort(t, 2, false, &vals, &ix), "sort: dim 3 out of range for [2x6]");
    sl_tensor *s = sl_tensor_new(SL_FLOAT32, 0, NULL);
    CHECK_FAILS(sl_tensor_sort(s, 0, false, &vals, &ix), "sort: needs at least one dim");
    sl_tensor_free(t), sl_tensor_free(tt), sl_tensor_free(s);
}

static void test_sort_int_and_large(void)
{
    /* int64 values beyond 2^24 keep exact values */
    sl_tensor *i = sl_tensor_new(SL_INT64, 1, SZ(3));
    sl_i64(i)[0] = 100000001, sl_i64(i)[1] = -5, sl_i64(i)[2] = 100000000;
    sl_tensor *vals, *ix;
    CHECK(sl_tensor_sort(i, 0, false, &vals, &ix) == SL_OK && vals->dtype == SL_INT64);
    CHECK(sl_i64(vals)[0] == -5 && sl_i64(vals)[1] == 100000000 && sl_i64(vals)[2] == 100000001);
    sl_tensor_free(vals), sl_tensor_free(ix), sl_tensor_free(i);
    /* many lines: the parallel path gives the same as a serial check */
    sl_tensor *big = tt_rand(9, 2, SZ(300, 100));
    CHECK(sl_tensor_sort(big, 1, true, &vals, &ix) == SL_OK);
    bool ok = true;
    for (int r = 0; r < 300; r++)
        for (int c = 0; c < 100; c++) {
            float x = sl_f32(vals)[r * 100 + c];
            if (x != sl_f32(big)[r * 100 + sl_i64(ix)[r * 100 + c]]) ok = false;
            if (c && x > sl_f32(vals)[r * 100 + c - 1]) ok = false;
        }
    CHECK(ok);
    sl_tensor_free(vals), sl_tensor_free(ix), sl_tensor_free(big);
    /* empty dim */
    sl_tensor *e = sl_tensor_new(SL_FLOAT32, 2, SZ(3, 0));
    CHECK(sl_tensor_sort(e, 1, false, &vals, &ix) == SL_OK && vals->size[0] == 3 && vals->size[1] == 0);
    sl_tensor_free(vals), sl_tensor_free(ix), sl_tensor_free(e);
    /* allocation failure leaks nothing */
    sl_tensor *t = tt_rand(2, 2, SZ(3, 4));
    int64_t live = sl_alloc_live_blocks();
    for (int k = 1; k <= 4; k++) {
        sl_alloc_fail_after(k);
        int rc = sl_tensor_sort(t, 1, false, &vals, &ix);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) sl_tensor_free(vals), sl_tensor_free(ix);
        else CHECK(vals == NULL && ix == NULL && strstr(sl_last_error(), "out of memory"));
        CHECK(sl_alloc_live_blocks() == live);
    }
    sl_tensor_free(t);
}

int main(void)
{
    RUN(test_sort_stable_and_nan);
    RUN(test_sort_every_dim_strided);
    RUN(test_topk);
    RUN(test_sort_int_and_large);
    return test_summary();
}
