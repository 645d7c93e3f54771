/* test_tensor_matmul.c - matmul/addmm/bmm vs sl_gemm_naive on every stride
 * combination (as stored, transposed, narrowed, non-unit column stride that
 * forces the copy fallback), 1-d operands, batched broadcast, K = 0; and
 * sl_gemm itself vs the naive reference (matmul.c, gemm.c). */
#include "test.h"
#include "tensor_testutil.h"

#include "tensor/gemm.h"
#include "tensor/matmul.h"
#include "tensor/tensor.h"
#include "tensor/view.h"

#define SZ(...) ((int64_t[]){__VA_ARGS__})

/* want[M x N] = a @ b by the naive GEMM on contiguous copies. */
static sl_tensor *ref_mm(const sl_tensor *a, const sl_tensor *b)
{
    sl_tensor *ac = sl_tensor_clone_new(a), *bc = sl_tensor_clone_new(b);
    int M = (int)a->size[0], K = (int)a->size[1], N = (int)b->size[1];
    sl_tensor *c = sl_tensor_zeros(SL_FLOAT32, 2, SZ(M, N));
    sl_gemm_naive(false, false, M, N, K, 1, sl_f32(ac), K > 0 ? K : 1, sl_f32(bc), N > 0 ? N : 1, 0, sl_f32(c),
                  N > 0 ? N : 1);
    sl_tensor_free(ac), sl_tensor_free(bc);
    return c;
}

/* An [r x c] operand in one of several layouts over fresh storage; *base gets the owner. */
enum { AS_STORED, TRANSPOSED, NARROWED, COL_STRIDE2, ROW_EXPANDED, NUM_LAYOUTS };
static const char *const layout_names[] = {"stored", "transposed", "narrowed", "col-stride-2", "row-expanded"};

static sl_tensor *make_operand(int layout, int64_t r, int64_t c, unsigned seed, sl_tensor **base)
{
    sl_tensor *v = NULL;
    switch (layout) {
    case AS_STORED:
        *base = tt_rand(seed, 2, SZ(r, c));
        v = sl_tensor_view_new(*base);
        break;
    case TRANSPOSED:
        *base = tt_rand(seed, 2, SZ(c, r));
        v = sl_tensor_transpose_new(*base, 0, 1);
        break;
    case NARROWED: { /* rows and columns from the middle of a bigger matrix: row stride > cols */
        *base = tt_rand(seed, 2, SZ(r + 3, c + 5));
        sl_tensor *n0 = sl_tensor_narrow_new(*base, 0, 2, r);
        v = sl_tensor_narrow_new(n0, 1, 3, c);
        sl_tensor_free(n0);
        break;
    }
    case COL_STRIDE2: { /* every other column: neither rows nor columns unit-stride */
        *base = tt_rand(seed, 2, SZ(r, 2 * c));
        v = sl_tensor_view_new(*base);
        v->stride[1] = 2;
        v->size[1] = c;
        break;
    }
    case ROW_EXPANDED: { /* one row repeated: row stride 0 */
        *base = tt_rand(seed, 2, SZ(1, c));
        v = sl_tensor_expand_new(*base, 2, SZ(r, c));
        break;
    }
    }
    return v;
}

static void test_matmul_all_layouts(void)
{
    const int64_t shapes[][3] = {{5, 7, 3}, {1, 4, 6}, {6, 1, 4}, {4, 5, 1}, {1, 1, 1}, {17, 33, 9}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int64_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        for (int la = 0; la < NUM_LAYOUTS; la++)
            for (int lb = 0; lb < NUM_LAYOUTS; lb++) {
                sl_tensor *ab, *bb;
                sl_tensor *a = make_operand(la, M, K, 1 + la, &ab), *b = make_operand(lb, K, N, 7 + lb, &bb);
                sl_tensor *want = ref_mm(a, b);
                sl_tensor *got = sl_tensor_matmul_new(a, b);
                bool ok = got && tt_close(got, want, 1e-5);
                if (!ok)
                    fprintf(stderr, "  matmul [%lldx%lld]@[%lldx%lld] a %s, b %s\n", (long long)M, (long long)K,
                            (long long)K, (long long)N, layout_names[la], layout_names[lb]);
                CHECK(ok);
                sl_tensor_free(got);
                sl_tensor_free(a), sl_tensor_free(ab), sl_tensor_free(b), sl_tensor_free(bb), sl_tensor_free(want);
            }
    }
}

/* addmm into outputs of every layout, with beta 0, 1 and 0.5. */
static void test_addmm_outputs(void)
{
    const int64_t M = 6, K = 5, N = 4;
    const float betas[] = {0, 1, 0.5f};
    for (int lo = 0; lo < COL_STRIDE2 + 1; lo++)
        for (int la = 0; la < NUM_LAYOUTS; la++)
            for (int bi = 0; bi < 3; bi++) {
                sl_tensor *ob, *ab, *bb;
                sl_tensor *out = make_operand(lo, M, N, 40, &ob);
                sl_tensor *a = make_operand(la, M, K, 41, &ab);
                sl_tensor *b = make_operand((la + 1) % NUM_LAYOUTS, K, N, 42, &bb);
                sl_tensor *prod = ref_mm(a, b);
                sl_tensor *want = sl_tensor_clone_new(out);
                int64_t pos[2] = {0, 0};
                do {
                    double w = betas[bi] * tt_at(out, pos) + 0.75 * tt_at(prod, pos);
                    sl_tensor_set(want, pos, betas[bi] == 0 ? 0.75 * tt_at(prod, pos) : w);
                } while (tt_next(2, want->size, pos));
                /* poison beta = 0 outputs with NaN: they must be ignored, as in BLAS */
                if (betas[bi] == 0) sl_tensor_fill(out, NAN);
                CHECK(sl_tensor_addmm(out, betas[bi], 0.75f, a, b) == SL_OK);
                bool ok = tt_close(out, want, 1e-5);
                if (!ok) fprintf(stderr, "  addmm out %s, a %s, beta %g\n", layout_names[lo], layout_names[la], betas[bi]);
                CHECK(ok);
                sl_tensor_free(out), sl_tensor_free(ob), sl_tensor_free(a), sl_tensor_free(ab), sl_tensor_free(b);
                sl_tensor_free(bb), sl_tensor_free(prod), sl_tensor_free(want);
            }
}

static void test_matmul_narrowed_output_untouched(void)
{
    sl_tensor *big = sl_tensor_zeros(SL_FLOAT32, 2, SZ(6, 7));
    sl_tensor_fill(big, 9);
    sl_tensor *n0 = sl_tensor_narrow_new(big, 0, 1, 3);
    sl_tensor *out = sl_tensor_narrow_new(n0, 1, 2, 4); /* [3x4] inside [6x7] */
    sl_tensor *a = tt_rand(1, 2, SZ(3, 2)), *b = tt_rand(2, 2, SZ(2, 4));
    CHECK(sl_tensor_addmm(out, 0, 1, a, b) == SL_OK);
    sl_tensor *want = ref_mm(a, b);
    CHECK(tt_close(out, want, 1e-5));
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 7; j++)
            if (!(i >= 1 && i < 4 && j >= 2 && j < 6)) CHECK(sl_f32(big)[i * 7 + j] == 9);
    sl_tensor_free(big), sl_tensor_free(n0), sl_tensor_free(out), sl_tensor_free(a), sl_tensor_free(b);
    sl_tensor_free(want);
}

static void test_matmul_1d_and_k0(void)
{
    sl_tensor *a = tt_rand(1, 2, SZ(3, 4)), *v = tt_rand(2, 1, SZ(4)), *w = tt_rand(3, 1, SZ(3));
    /* [3x4] @ [4] -> [3] */
    sl_tensor *mv = sl_tensor_matmul_new(a, v);
    CHECK(mv && mv->ndim == 1 && mv->size[0] == 3);
    for (int i = 0; i < 3; i++) {
        double acc = 0;
        for (int k = 0; k < 4; k++) acc += (double)sl_f32(a)[i * 4 + k] * sl_f32(v)[k];
        CHECK_NEAR(sl_f32(mv)[i], acc, 1e-5);
    }
    /* [3] @ [3x4] -> [4] */
    sl_tensor *vm = sl_tensor_matmul_new(w, a);
    CHECK(vm && vm->ndim == 1 && vm->size[0] == 4);
    for (int j = 0; j < 4; j++) {
        double acc = 0;
        for (int i = 0; i < 3; i++) acc += (double)sl_f32(w)[i] * sl_f32(a)[i * 4 + j];
        CHECK_NEAR(sl_f32(vm)[j], acc, 1e-5);
    }
    /* [4] @ [4] -> 0-d dot; with a strided 1-d operand (a column of a) */
    sl_tensor *col = sl_tensor_select_new(a, 1, 2); /* [3], stride 4 */
    sl_tensor *dot = sl_tensor_matmul_new(col, w);
    CHECK(dot && dot->ndim == 0);
    double acc = 0;
    for (int i = 0; i < 3; i++) acc += (double)sl_f32(a)[i * 4 + 2] * sl_f32(w)[i];
    CHECK_NEAR(sl_f32(dot)[0], acc, 1e-5);
    /* strided 1-d on the right: [4x3] @ column */
    sl_tensor *at = sl_tensor_transpose_new(a, 0, 1);
    sl_tensor *mv2 = sl_tensor_matmul_new(at, col);
    CHECK(mv2 && mv2->ndim == 1 && mv2->size[0] == 4);
    for (int j = 0; j < 4; j++) {
        double s = 0;
        for (int i = 0; i < 3; i++) s += (double)sl_f32(a)[i * 4 + j] * sl_f32(a)[i * 4 + 2];
        CHECK_NEAR(sl_f32(mv2)[j], s, 1e-5);
    }
    /* K = 0: the product is zeros (and addmm only scales by beta) */
    sl_tensor *e1 = sl_tensor_new(SL_FLOAT32, 2, SZ(3, 0)), *e2 = sl_tensor_new(SL_FLOAT32, 2, SZ(0, 5));
    sl_tensor *z = sl_tensor_matmul_new(e1, e2);
    CHECK(z && z->size[0] == 3 && z->size[1] == 5);
    for (int i = 0; i < 15; i++) CHECK(sl_f32(z)[i] == 0);
    sl_tensor_fill(z, 2);
    CHECK(sl_tensor_addmm(z, 0.5f, 1, e1, e2) == SL_OK && sl_f32(z)[7] == 1);
    sl_tensor *zt = sl_tensor_transpose_new(z, 0, 1); /* [5x3] out, transposed layout */
    sl_tensor *e3 = sl_tensor_new(SL_FLOAT32, 2, SZ(5, 0)), *e4 = sl_tensor_new(SL_FLOAT32, 2, SZ(0, 3));
    CHECK(sl_tensor_addmm(zt, 3, 1, e3, e4) == SL_OK && sl_f32(z)[7] == 3);
    /* M = 0 / N = 0 */
    sl_tensor *m0 = sl_tensor_new(SL_FLOAT32, 2, SZ(0, 4));
    sl_tensor *r0 = sl_tensor_matmul_new(m0, at); /* [0x4] @ [4x3] */
    CHECK(r0 && r0->size[0] == 0 && r0->size[1] == 3);
    sl_tensor *all[] = {a, v, w, mv, vm, col, dot, at, mv2, e1, e2, z, zt, e3, e4, m0, r0};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) sl_tensor_free(all[i]);
}

static void test_batched(void)
{
    /* [2x3x4x5] @ [3x5x2] (batch broadcast over the leading dim) and bmm */
    sl_tensor *a = tt_rand(1, 4, SZ(2, 3, 4, 5)), *b = tt_rand(2, 3, SZ(3, 5, 2));
    sl_tensor *r = sl_tensor_matmul_new(a, b);
    CHECK(r && r->ndim == 4 && r->size[0] == 2 && r->size[1] == 3 && r->size[2] == 4 && r->size[3] == 2);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            sl_tensor *ai = sl_tensor_select_new(a, 0, i), *aij = sl_tensor_select_new(ai, 0, j);
            sl_tensor *bj = sl_tensor_select_new(b, 0, j);
            sl_tensor *ri = sl_tensor_select_new(r, 0, i), *rij = sl_tensor_select_new(ri, 0, j);
            sl_tensor *want = ref_mm(aij, bj);
            CHECK(tt_close(rij, want, 1e-5));
            sl_tensor *ts[] = {ai, aij, bj, ri, rij, want};
            for (int k = 0; k < 6; k++) sl_tensor_free(ts[k]);
        }
    /* size-1 batch dim broadcast against 3, with a transposed batched operand */
    sl_tensor *c = tt_rand(3, 3, SZ(1, 4, 5)), *dbase = tt_rand(4, 3, SZ(3, 2, 5));
    sl_tensor *d = sl_tensor_transpose_new(dbase, 1, 2); /* [3x5x2], inner dims transposed */
    sl_tensor *r2 = sl_tensor_matmul_new(c, d);
    CHECK(r2 && r2->ndim == 3 && r2->size[0] == 3);
    sl_tensor *c0 = sl_tensor_select_new(c, 0, 0);
    for (int j = 0; j < 3; j++) {
        sl_tensor *dj = sl_tensor_select_new(d, 0, j), *rj = sl_tensor_select_new(r2, 0, j);
        sl_tensor *want = ref_mm(c0, dj);
        CHECK(tt_close(rj, want, 1e-5));
        sl_tensor_free(dj), sl_tensor_free(rj), sl_tensor_free(want);
    }
    /* batched @ 1-d and 1-d @ batched */
    sl_tensor *v = tt_rand(5, 1, SZ(5));
    sl_tensor *bv = sl_tensor_matmul_new(c, v);
    CHECK(bv && bv->ndim == 2 && bv->size[0] == 1 && bv->size[1] == 4);
    sl_tensor *u = tt_rand(6, 1, SZ(5));
    sl_tensor *ub = sl_tensor_matmul_new(u, d); /* [5] @ [3x5x2] -> [3x2] */
    CHECK(ub && ub->ndim == 2 && ub->size[0] == 3 && ub->size[1] == 2);
    for (int j = 0; j < 3; j++)
        for (int n = 0; n < 2; n++) {
            double acc = 0;
            for (int k = 0; k < 5; k++) acc += (double)sl_f32(u)[k] * tt_at(d, SZ(j, k, n));
            CHECK_NEAR(tt_at(ub, SZ(j, n)), acc, 1e-5);
        }
    /* bmm */
    sl_tensor *e = tt_rand(7, 3, SZ(3, 4, 5));
    sl_tensor *bm = sl_tensor_bmm_new(e, d);
    CHECK(bm && bm->size[0] == 3 && bm->size[1] == 4 && bm->size[2] == 2);
    sl_clear_error();
    CHECK(sl_tensor_bmm_new(c, d) == NULL && strstr(sl_last_error(), "bmm: needs [B x M x K] @ [B x K x N], got [1x4x5] @ [3x5x2]"));
    CHECK(sl_tensor_bmm_new(a, d) == NULL && strstr(sl_last_error(), "bmm:"));
    sl_tensor *f = tt_rand(8, 3, SZ(2, 4, 5));
    CHECK(sl_tensor_matmul_new(f, d) == NULL &&
          strstr(sl_last_error(), "matmul: [2x4x5] @ [3x5x2]: batch dims 2 and 3 differ"));
    sl_tensor *all[] = {a, b, r, c, dbase, d, r2, c0, v, bv, u, ub, e, bm, f};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) sl_tensor_free(all[i]);
}

static void test_matmul_errors(void)
{
    sl_tensor *a = tt_rand(1, 2, SZ(3, 4)), *b = tt_rand(2, 2, SZ(5, 2));
    sl_clear_error();
    CHECK(sl_tensor_matmul_new(a, b) == NULL);
    CHECK(strcmp(sl_last_error(), "matmul: [3x4] @ [5x2]: inner sizes 4 and 5 differ") == 0);
    sl_tensor *i = sl_tensor_zeros(SL_INT64, 2, SZ(4, 2));
    CHECK(sl_tensor_matmul_new(a, i) == NULL &&
          strstr(sl_last_error(), "matmul: needs float32 tensors, got int64 [4x2]"));
    sl_tensor *s = sl_tensor_new(SL_FLOAT32, 0, NULL);
    CHECK(sl_tensor_matmul_new(a, s) == NULL && strstr(sl_last_error(), "at least one dim"));
    sl_tensor *out = sl_tensor_zeros(SL_FLOAT32, 2, SZ(3, 3));
    CHECK_FAILS(sl_tensor_addmm(out, 0, 1, a, b), "addmm: [3x4] @ [5x2]: inner sizes 4 and 5 differ");
    sl_tensor *b2 = tt_rand(3, 2, SZ(4, 2));
    CHECK_FAILS(sl_tensor_addmm(out, 0, 1, a, b2), "addmm: [3x4] @ [4x2] does not fit output [3x3]");
    sl_tensor *v = tt_rand(3, 1, SZ(4));
    CHECK_FAILS(sl_tensor_addmm(out, 0, 1, a, v), "addmm: needs 2-d tensors");
    /* alloc failure in the copy fallback and the result: nothing leaks */
    sl_tensor *cs2 = sl_tensor_view_new(a);
    cs2->size[1] = 2, cs2->stride[1] = 2; /* [3x2], column stride 2: copied */
    sl_tensor *c2 = tt_rand(4, 2, SZ(2, 3));
    int64_t live = sl_alloc_live_blocks();
    for (int k = 1; k <= 6; k++) {
        sl_alloc_fail_after(k);
        sl_tensor *r = sl_tensor_matmul_new(cs2, c2);
        sl_alloc_fail_after(0);
        if (!r) CHECK(strstr(sl_last_error(), "out of memory") != NULL);
        sl_tensor_free(r);
        CHECK(sl_alloc_live_blocks() == live);
    }
    sl_tensor *all[] = {a, b, i, s, out, b2, v, cs2, c2};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) sl_tensor_free(all[k]);
}

/* sl_gemm (BLAS) vs sl_gemm_naive for all transposes, padded leading dims, alpha/beta. */
static void test_gemm_vs_naive(void)
{
    const int M = 7, N = 5, K = 6, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
            sl_tensor *A = tt_rand(1, 1, SZ((ta ? K : M) * lda)), *B = tt_rand(2, 1, SZ((tb ? N : K) * ldb));
            sl_tensor *C1 = tt_rand(3, 1, SZ(M * ldc)), *C2 = sl_tensor_clone_new(C1);
            sl_gemm(ta, tb, M, N, K, 0.5f, sl_f32(A), lda, sl_f32(B), ldb, 2.0f, sl_f32(C1), ldc);
            sl_gemm_naive(ta, tb, M, N, K, 0.5f, sl_f32(A), lda, sl_f32(B), ldb, 2.0f, sl_f32(C2), ldc);
            CHECK(tt_close(C1, C2, 1e-5)); /* padding columns untouched by both */
            sl_tensor_free(A), sl_tensor_free(B), sl_tensor_free(C1), sl_tensor_free(C2);
        }
    CHECK(sl_get_num_threads() >= 1);
}

int main(void)
{
    RUN(test_matmul_all_layouts);
    RUN(test_addmm_outputs);
    RUN(test_matmul_narrowed_output_untouched);
    RUN(test_matmul_1d_and_k0);
    RUN(test_batched);
    RUN(test_matmul_errors);
    RUN(test_gemm_vs_naive);
    return test_summary();
}
