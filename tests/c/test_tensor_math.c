/* test_tensor_math.c - broadcasting binary ops, unary math, clamp, where, axpy
 * and reductions, each against a scalar reference loop on contiguous,
 * transposed, narrowed and expanded inputs (elementwise.c, reduce.c, iter.c). */
#include "test.h"
#include "tensor_testutil.h"

#include "tensor/elementwise.h"
#include "tensor/reduce.h"
#include "tensor/tensor.h"
#include "tensor/view.h"

#define SZ(...) ((int64_t[]){__VA_ARGS__})

static double ref_binary(sl_binary_op op, double x, double y)
{
    switch (op) {
    case SL_OP_ADD: return (float)x + (float)y;
    case SL_OP_SUB: return (float)x - (float)y;
    case SL_OP_MUL: return (float)x * (float)y;
    case SL_OP_DIV: return (float)x / (float)y;
    case SL_OP_POW: return pow(x, y);
    case SL_OP_MAXIMUM: return x > y ? x : y;
    case SL_OP_MINIMUM: return x < y ? x : y;
    case SL_OP_FMOD: return fmod(x, y);
    case SL_OP_REMAINDER: { /* floored, as Lua's % */
        double m = fmod(x, y);
        return m != 0 && (m < 0) != (y < 0) ? m + y : m;
    }
    case SL_OP_EQ: return x == y;
    case SL_OP_NE: return x != y;
    case SL_OP_LT: return x < y;
    case SL_OP_LE: return x <= y;
    case SL_OP_GT: return x > y;
    case SL_OP_GE: return x >= y;
    default: return 0;
    }
}

/* a op b vs the reference loop over the broadcast shape [ndim, size]. */
static bool check_binary(sl_binary_op op, const sl_tensor *a, const sl_tensor *b, int ndim, const int64_t *size)
{
    sl_tensor *r = NULL;
    if (sl_tensor_binary(op, a, b, NULL, &r) != SL_OK) {
        fprintf(stderr, "  %s failed: %s\n", sl_binary_op_name(op), sl_last_error());
        return false;
    }
    bool ok = r->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = r->size[d] == size[d];
    int64_t pos[SL_MAX_DIMS] = {0}, pa[SL_MAX_DIMS], pb[SL_MAX_DIMS];
    double maxdiff = 0;
    if (ok && sl_tensor_numel(r) > 0) do {
        for (int d = 0; d < a->ndim; d++) pa[d] = a->size[d] == 1 ? 0 : pos[ndim - a->ndim + d];
        for (int d = 0; d < b->ndim; d++) pb[d] = b->size[d] == 1 ? 0 : pos[ndim - b->ndim + d];
        double want = ref_binary(op, tt_at(a, pa), tt_at(b, pb)), got = tt_at(r, pos);
        double diff = fabs(got - want) / (1 + fabs(want));
        if (!(diff <= maxdiff) && !(isnan(got) && isnan(want))) maxdiff = isnan(diff) ? INFINITY : diff;
    } while (tt_next(ndim, size, pos));
    if (maxdiff > 1e-6) {
        fprintf(stderr, "  %s: max rel diff %g\n", sl_binary_op_name(op), maxdiff);
        ok = false;
    }
    sl_tensor_free(r);
    return ok;
}

static void test_binary_broadcast_layouts(void)
{
    sl_tensor *a = tt_rand(1, 2, SZ(5, 7));
    sl_tensor *b = tt_rand(2, 2, SZ(5, 7));
    for (int i = 0; i < 35; i++) sl_f32(b)[i] += sl_f32(b)[i] >= 0 ? 0.5f : -0.5f; /* no division by ~0 */
    sl_tensor *bt_base = tt_rand(3, 2, SZ(7, 5));
    sl_tensor *bt = sl_tensor_transpose_new(bt_base, 0, 1);            /* [5x7], strides (1, 5) */
    sl_tensor *wide = tt_rand(4, 2, SZ(9, 11));
    sl_tensor *nr0 = sl_tensor_narrow_new(wide, 0, 2, 5);
    sl_tensor *nr = sl_tensor_narrow_new(nr0, 1, 3, 7);                /* [5x7] inside [9x11] */
    sl_tensor *row = tt_rand(5, 1, SZ(7));                            /* broadcast [7] */
    sl_tensor *col = tt_rand(6, 2, SZ(5, 1));                         /* broadcast [5x1] */
    sl_tensor *ex = sl_tensor_expand_new(col, 2, SZ(5, 7));           /* stride 0 */
    sl_tensor *scalar = sl_tensor_new(SL_FLOAT32, 0, NULL);
    sl_f32(scalar)[0] = 1.25f;
    const sl_tensor *rhs[] = {b, bt, nr, row, col, ex, scalar};
    const sl_tensor *lhs[] = {a, bt, nr, ex};
    for (int op = 0; op < SL_NUM_BINARY_OPS; op++)
        for (size_t i = 0; i < sizeof lhs / sizeof *lhs; i++)
            for (size_t j = 0; j < sizeof rhs / sizeof *rhs; j++) {
                bool ok = check_binary((sl_binary_op)op, lhs[i], rhs[j], 2, SZ(5, 7));
                if (!ok) fprintf(stderr, "  (lhs %zu, rhs %zu)\n", i, j);
                CHECK(ok);
            }
    /* [5x1] op [7] -> [5x7]; [7] op [5x1] too */
    CHECK(check_binary(SL_OP_SUB, col, row, 2, SZ(5, 7)));
    CHECK(check_binary(SL_OP_DIV, row, col, 2, SZ(5, 7)));
    /* 3-d with size-1 dims in the middle */
    sl_tensor *c3 = tt_rand(7, 3, SZ(4, 1, 6)), *d3 = tt_rand(8, 3, SZ(1, 3, 6));
    CHECK(check_binary(SL_OP_MUL, c3, d3, 3, SZ(4, 3, 6)));
    /* large enough for the parallel, chunked path */
    sl_tensor *big = tt_rand(9, 2, SZ(300, 200)), *bigb = tt_rand(10, 1, SZ(200));
    sl_tensor *bigt_base = tt_rand(11, 2, SZ(200, 300));
    sl_tensor *bigt = sl_tensor_transpose_new(bigt_base, 0, 1);
    CHECK(check_binary(SL_OP_ADD, big, bigb, 2, SZ(300, 200)));
    CHECK(check_binary(SL_OP_MUL, big, bigt, 2, SZ(300, 200)));

    sl_tensor *all[] = {a, b, bt_base, bt, wide, nr0, nr, row, col, ex, scalar, c3, d3, big, bigb, bigt_base, bigt};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) sl_tensor_free(all[i]);
}

static void test_binary_dtypes_and_scalars(void)
{
    sl_tensor *i = sl_tensor_new(SL_INT64, 1, SZ(4));
    int64_t iv[4] = {-7, -1, 3, INT64_MAX};
    for (int k = 0; k < 4; k++) sl_i64(i)[k] = iv[k];
    sl_tensor *r = NULL;
    /* int64 + int64 stays int64 and exact beyond 2^53; overflow wraps */
    CHECK(sl_tensor_binary(SL_OP_ADD, i, i, NULL, &r) == SL_OK && r->dtype == SL_INT64);
    CHECK(sl_i64(r)[0] == -14 && sl_i64(r)[3] == (int64_t)((uint64_t)INT64_MAX * 2));
    sl_tensor_free(r);
    /* int64 / int64 is float32 */
    CHECK(sl_tensor_binary(SL_OP_DIV, i, i, NULL, &r) == SL_OK && r->dtype == SL_FLOAT32 && sl_f32(r)[0] == 1);
    sl_tensor_free(r);
    /* scalar integral: stays int64; non-integral: float32 */
    CHECK(sl_tensor_binary_scalar(SL_OP_MUL, i, 3, false, NULL, &r) == SL_OK && r->dtype == SL_INT64);
    CHECK(sl_i64(r)[0] == -21 && sl_i64(r)[2] == 9);
    sl_tensor_free(r);
    CHECK(sl_tensor_binary_scalar(SL_OP_ADD, i, 0.5, false, NULL, &r) == SL_OK && r->dtype == SL_FLOAT32);
    CHECK(sl_f32(r)[0] == -6.5f);
    sl_tensor_free(r);
    /* scalar on the left: 10 - t */
    CHECK(sl_tensor_binary_scalar(SL_OP_SUB, i, 10, true, NULL, &r) == SL_OK && sl_i64(r)[0] == 17);
    sl_tensor_free(r);
    /* remainder (Lua's %, floored) vs fmod (truncated) */
    CHECK(sl_tensor_binary_scalar(SL_OP_REMAINDER, i, 3, false, NULL, &r) == SL_OK);
    CHECK(sl_tensor_get(r, SZ(0)) == 2 && sl_tensor_get(r, SZ(1)) == 2 && sl_tensor_get(r, SZ(2)) == 0);
    sl_tensor_free(r);
    CHECK(sl_tensor_binary_scalar(SL_OP_FMOD, i, 3, false, NULL, &r) == SL_OK);
    CHECK(sl_tensor_get(r, SZ(0)) == -1 && sl_tensor_get(r, SZ(1)) == -1);
    sl_tensor_free(r);
    float fv[3] = {-5.5f, 5.5f, -0.0f};
    sl_tensor *f = tt_from(fv, 1, SZ(3));
    CHECK(sl_tensor_binary_scalar(SL_OP_REMAINDER, f, -2, false, NULL, &r) == SL_OK);
    CHECK(sl_f32(r)[0] == -1.5f && sl_f32(r)[1] == -0.5f);
    sl_tensor_free(r);
    /* comparisons give uint8 masks */
    CHECK(sl_tensor_binary_scalar(SL_OP_GT, i, 0, false, NULL, &r) == SL_OK && r->dtype == SL_UINT8);
    CHECK(sl_u8(r)[0] == 0 && sl_u8(r)[1] == 0 && sl_u8(r)[2] == 1 && sl_u8(r)[3] == 1);
    sl_tensor_free(r);
    /* uint8 + uint8 saturates in uint8 */
    sl_tensor *u = sl_tensor_new(SL_UINT8, 1, SZ(2));
    sl_u8(u)[0] = 200, sl_u8(u)[1] = 10;
    CHECK(sl_tensor_binary(SL_OP_ADD, u, u, NULL, &r) == SL_OK && r->dtype == SL_UINT8 && sl_u8(r)[0] == 255);
    sl_tensor_free(r);
    /* NaN propagates through maximum/minimum from either side */
    float nv[2] = {NAN, 1};
    sl_tensor *n = tt_from(nv, 1, SZ(2));
    sl_tensor *n2 = tt_from((float[]){2, NAN}, 1, SZ(2));
    CHECK(sl_tensor_binary(SL_OP_MAXIMUM, n, n2, NULL, &r) == SL_OK && isnan(sl_f32(r)[0]) && isnan(sl_f32(r)[1]));
    sl_tensor_free(r);
    CHECK(sl_tensor_binary(SL_OP_MINIMUM, n2, n, NULL, &r) == SL_OK && isnan(sl_f32(r)[0]) && isnan(sl_f32(r)[1]));
    sl_tensor_free(r);
    sl_tensor_free(i), sl_tensor_free(f), sl_tensor_free(u), sl_tensor_free(n), sl_tensor_free(n2);
}

static void test_binary_inplace_and_errors(void)
{
    sl_tensor *a = tt_arange(2, SZ(3, 4));
    sl_tensor *row = tt_arange(1, SZ(4));
    sl_tensor *r = (sl_tensor *)1;
    CHECK(sl_tensor_binary(SL_OP_ADD, a, row, a, &r) == SL_OK && r == NULL); /* a += row */
    for (int k = 0; k < 12; k++) CHECK(sl_f32(a)[k] == k + k % 4);
    /* in place into a transposed view of itself-sized output */
    sl_tensor *at = sl_tensor_transpose_new(a, 0, 1);
    CHECK(sl_tensor_binary_scalar(SL_OP_MUL, at, 2, false, at, NULL) == SL_OK);
    for (int k = 0; k < 12; k++) CHECK(sl_f32(a)[k] == 2 * (k + k % 4));
    sl_tensor *b = tt_arange(2, SZ(3, 5));
    CHECK_FAILS(sl_tensor_binary(SL_OP_ADD, a, b, NULL, &r),
                "add: shapes [3x4] and [3x5] cannot be broadcast (dim 2: 4 vs 5)");
    CHECK_FAILS(sl_tensor_binary(SL_OP_ADD, a, row, row, NULL), "add: output [4] does not match the result shape");
    sl_tensor_free(a), sl_tensor_free(row), sl_tensor_free(at), sl_tensor_free(b);
}

static double ref_unary(sl_unary_op op, double x)
{
    switch (op) {
    case SL_OP_NEG: return -x;
    case SL_OP_ABS: return fabs(x);
    case SL_OP_EXP: return exp(x);
    case SL_OP_LOG: return log(x);
    case SL_OP_SQRT: return sqrt(x);
    case SL_OP_RSQRT: return 1 / sqrt(x);
    case SL_OP_SIGMOID: return 1 / (1 + exp(-x));
    case SL_OP_TANH: return tanh(x);
    case SL_OP_RELU: return x > 0 ? x : 0;
    case SL_OP_FLOOR: return floor(x);
    case SL_OP_CEIL: return ceil(x);
    case SL_OP_ROUND: return nearbyint(x);
    case SL_OP_SIGN: return (x > 0) - (x < 0);
    case SL_OP_SIN: return sin(x);
    case SL_OP_COS: return cos(x);
    case SL_OP_LOG1P: return log1p(x);
    case SL_OP_RECIPROCAL: return 1 / x;
    case SL_OP_SQUARE: return x * x;
    default: return NAN;
    }
}

static void test_unary(void)
{
    sl_tensor *base = tt_rand(12, 2, SZ(6, 8));
    for (int i = 0; i < 48; i++) sl_f32(base)[i] *= 3; /* [-3, 3) */
    sl_f32(base)[0] = 2.5f, sl_f32(base)[1] = -2.5f, sl_f32(base)[2] = 0; /* round half to even, sign 0 */
    sl_tensor *tr = sl_tensor_transpose_new(base, 0, 1);
    sl_tensor *nr = sl_tensor_narrow_new(base, 1, 2, 5);
    const sl_tensor *ins[] = {base, tr, nr};
    for (int op = 0; op < SL_NUM_UNARY_OPS; op++)
        for (int k = 0; k < 3; k++) {
            sl_tensor *r = NULL;
            CHECK(sl_tensor_unary((sl_unary_op)op, ins[k], NULL, &r) == SL_OK);
            int64_t pos[2] = {0, 0};
            double maxdiff = 0;
            do {
                double want = ref_unary((sl_unary_op)op, tt_at(ins[k], pos)), got = tt_at(r, pos);
                if ((isnan(want) && isnan(got)) || got == want) continue; /* incl. equal infinities */
                double d = fabs(got - want) / (1 + fabs(want));
                if (!(d <= maxdiff)) maxdiff = isnan(d) ? INFINITY : d;
            } while (tt_next(2, ins[k]->size, pos));
            if (maxdiff > 1e-5) fprintf(stderr, "  %s on input %d: max rel diff %g\n", sl_unary_op_name(op), k, maxdiff);
            CHECK(maxdiff <= 1e-5);
            sl_tensor_free(r);
        }
    CHECK(sl_f32(base)[0] == 2.5f);
    /* in place on a non-contiguous view */
    CHECK(sl_tensor_unary(SL_OP_NEG, tr, tr, NULL) == SL_OK && sl_f32(base)[0] == -2.5f);
    /* int64: neg/abs/sign allowed, exp not */
    sl_tensor *i = sl_tensor_new(SL_INT64, 1, SZ(3));
    sl_i64(i)[0] = -4, sl_i64(i)[1] = 0, sl_i64(i)[2] = 9;
    sl_tensor *r = NULL;
    CHECK(sl_tensor_unary(SL_OP_ABS, i, NULL, &r) == SL_OK && r->dtype == SL_INT64 && sl_i64(r)[0] == 4);
    sl_tensor_free(r);
    CHECK(sl_tensor_unary(SL_OP_SIGN, i, NULL, &r) == SL_OK && sl_i64(r)[0] == -1 && sl_i64(r)[1] == 0);
    sl_tensor_free(r);
    CHECK_FAILS(sl_tensor_unary(SL_OP_EXP, i, NULL, &r), "exp: needs a float32 tensor, got int64 [3]");
    CHECK_FAILS(sl_tensor_unary(SL_OP_NEG, base, i, NULL), "neg: output [3] does not match");
    sl_tensor *fi = sl_tensor_new(SL_FLOAT32, 1, SZ(3));
    CHECK_FAILS(sl_tensor_unary(SL_OP_NEG, i, fi, NULL), "neg: output is float32 but input is int64");
    sl_tensor_free(base), sl_tensor_free(tr), sl_tensor_free(nr), sl_tensor_free(i), sl_tensor_free(fi);
}

static void test_clamp_where_axpy(void)
{
    float v[6] = {-2, -0.5f, 0, 0.5f, 2, NAN};
    sl_tensor *a = tt_from(v, 1, SZ(6));
    sl_tensor *r = NULL;
    CHECK(sl_tensor_clamp(a, -1, 1, NULL, &r) == SL_OK);
    float want[6] = {-1, -0.5f, 0, 0.5f, 1};
    for (int k = 0; k < 5; k++) CHECK(sl_f32(r)[k] == want[k]);
    CHECK(isnan(sl_f32(r)[5])); /* NaN stays NaN */
    sl_tensor_free(r);
    CHECK(sl_tensor_clamp(a, NAN, 0.25, NULL, &r) == SL_OK); /* NaN bound = no bound */
    CHECK(sl_f32(r)[0] == -2 && sl_f32(r)[4] == 0.25f);
    sl_tensor_free(r);
    CHECK(sl_tensor_clamp(a, -INFINITY, 0, a, NULL) == SL_OK && sl_f32(a)[3] == 0 && sl_f32(a)[0] == -2);
    CHECK_FAILS(sl_tensor_clamp(a, 1, -1, NULL, &r), "clamp: min 1 is greater than max -1");
    /* clamp an int64 tensor */
    sl_tensor *i = sl_tensor_new(SL_INT64, 1, SZ(3));
    sl_i64(i)[0] = -10, sl_i64(i)[1] = 5, sl_i64(i)[2] = 100;
    CHECK(sl_tensor_clamp(i, 0, 50, NULL, &r) == SL_OK && sl_i64(r)[0] == 0 && sl_i64(r)[2] == 50);
    sl_tensor_free(r);

    /* where: cond [3x1] (uint8), a [3x4] transposed view, b 0-d -> [3x4] */
    sl_tensor *cond = sl_tensor_new(SL_UINT8, 2, SZ(3, 1));
    sl_u8(cond)[0] = 1, sl_u8(cond)[1] = 0, sl_u8(cond)[2] = 7;
    sl_tensor *abase = tt_arange(2, SZ(4, 3));
    sl_tensor *at = sl_tensor_transpose_new(abase, 0, 1);
    sl_tensor *b = sl_tensor_new(SL_FLOAT32, 0, NULL);
    sl_f32(b)[0] = -1;
    sl_tensor *w = sl_tensor_where_new(cond, at, b);
    CHECK(w && w->ndim == 2 && w->size[0] == 3 && w->size[1] == 4);
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 4; q++) CHECK(tt_at(w, SZ(p, q)) == (p == 1 ? -1 : q * 3 + p));
    sl_tensor *bad = tt_arange(1, SZ(5));
    sl_clear_error();
    CHECK(sl_tensor_where_new(cond, at, bad) == NULL && strstr(sl_last_error(), "where: shapes [3x4] and [5]") != NULL);

    /* axpy: out += alpha * x, x broadcast */
    sl_tensor *out = sl_tensor_zeros(SL_FLOAT32, 2, SZ(3, 4));
    sl_tensor *x = tt_arange(1, SZ(4));
    CHECK(sl_tensor_axpy(out, 2, x) == SL_OK && sl_f32(out)[7] == 6);
    CHECK_FAILS(sl_tensor_axpy(out, 1, bad), "axpy: [5] does not broadcast to [3x4]");
    CHECK_FAILS(sl_tensor_axpy(out, 1, i), "axpy: needs float32 tensors");
    sl_tensor *all[] = {a, i, cond, abase, at, b, w, bad, out, x};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) sl_tensor_free(all[k]);
}

/* ---- reductions ------------------------------------------------------------ */

/* Reference reduction of the line t[.., i, ..] along dim. */
static double ref_reduce(sl_reduction op, const sl_tensor *t, int dim, const int64_t *opos, double param,
                         int64_t *index)
{
    int64_t pos[SL_MAX_DIMS], n = t->size[dim];
    memcpy(pos, opos, sizeof pos);
    double acc = op == SL_RED_PROD ? 1 : 0, best = 0, mean = 0;
    *index = 0;
    for (int64_t i = 0; i < n; i++) {
        pos[dim] = i;
        double x = tt_at(t, pos);
        switch (op) {
        case SL_RED_SUM: case SL_RED_MEAN: acc += x; break;
        case SL_RED_PROD: acc *= x; break;
        case SL_RED_MAX: case SL_RED_ARGMAX: if (i == 0 || x > best) best = x, *index = i; break;
        case SL_RED_MIN: case SL_RED_ARGMIN: if (i == 0 || x < best) best = x, *index = i; break;
        case SL_RED_NORM: acc = isinf(param) ? fmax(acc, fabs(x)) : acc + pow(fabs(x), param); break;
        case SL_RED_VAR: case SL_RED_STD: mean += x / n; break;
        default: break;
        }
    }
    if (op == SL_RED_VAR || op == SL_RED_STD) {
        for (int64_t i = 0; i < n; i++) {
            pos[dim] = i;
            acc += (tt_at(t, pos) - mean) * (tt_at(t, pos) - mean);
        }
        acc /= n - param;
        return op == SL_RED_STD ? sqrt(acc) : acc;
    }
    if (op == SL_RED_MEAN) return acc / n;
    if (op == SL_RED_NORM) return isinf(param) ? acc : pow(acc, 1 / param);
    if (op >= SL_RED_MAX && op <= SL_RED_ARGMIN) return op >= SL_RED_ARGMAX ? (double)*index : best;
    return acc;
}

static void test_reduce_dim_vs_reference(void)
{
    sl_tensor *base = tt_rand(21, 3, SZ(3, 4, 5));
    sl_tensor *tr = sl_tensor_permute_new(base, 3, (int[]){2, 0, 1}); /* [5x3x4] strided */
    sl_tensor *wide = tt_rand(22, 3, SZ(3, 6, 5));
    sl_tensor *nr = sl_tensor_narrow_new(wide, 1, 1, 4);             /* [3x4x5] narrowed */
    const sl_tensor *ins[] = {base, tr, nr};
    struct { sl_reduction op; double param; } cases[] = {
        {SL_RED_SUM, 0}, {SL_RED_MEAN, 0}, {SL_RED_PROD, 0}, {SL_RED_MAX, 0}, {SL_RED_MIN, 0},
        {SL_RED_ARGMAX, 0}, {SL_RED_ARGMIN, 0}, {SL_RED_NORM, 1}, {SL_RED_NORM, 2}, {SL_RED_NORM, 3},
        {SL_RED_NORM, INFINITY}, {SL_RED_VAR, 1}, {SL_RED_VAR, 0}, {SL_RED_STD, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (int k = 0; k < 3; k++)
            for (int dim = 0; dim < 3; dim++)
                for (int keep = 0; keep < 2; keep++) {
                    const sl_tensor *t = ins[k];
                    sl_tensor *v = NULL, *ix = NULL;
                    bool want_ix = cases[c].op == SL_RED_MAX || cases[c].op == SL_RED_MIN;
                    CHECK(sl_tensor_reduce_dim(cases[c].op, t, dim, keep, cases[c].param, &v, want_ix ? &ix : NULL) ==
                          SL_OK);
                    CHECK(v->ndim == (keep ? 3 : 2) && (!want_ix || (ix && ix->ndim == v->ndim)));
                    int64_t pos[SL_MAX_DIMS] = {0}, opos[SL_MAX_DIMS];
                    double maxdiff = 0;
                    bool ix_ok = true;
                    int64_t osize[SL_MAX_DIMS];
                    memcpy(osize, t->size, sizeof osize);
                    osize[dim] = 1;
                    do {
                        int64_t index;
                        double want = ref_reduce(cases[c].op, t, dim, pos, cases[c].param, &index);
                        int od = 0;
                        for (int d = 0; d < 3; d++)
                            if (keep || d != dim) opos[od++] = pos[d];
                        double got = tt_at(v, opos);
                        double diff = fabs(got - want) / (1 + fabs(want));
                        if (!(diff <= maxdiff)) maxdiff = isnan(diff) ? INFINITY : diff;
                        if (ix && tt_at(ix, opos) != index) ix_ok = false;
                    } while (tt_next(3, osize, pos));
                    if (maxdiff > 1e-5 || !ix_ok)
                        fprintf(stderr, "  %s(p=%g) input %d dim %d keep %d: max rel diff %g, indices %s\n",
                                sl_reduction_name(cases[c].op), cases[c].param, k, dim, keep, maxdiff,
                                ix_ok ? "ok" : "wrong");
                    CHECK(maxdiff <= 1e-5 && ix_ok);
                    if (cases[c].op == SL_RED_ARGMAX) CHECK(v->dtype == SL_INT64);
                    sl_tensor_free(v), sl_tensor_free(ix);
                }
    sl_tensor_free(base), sl_tensor_free(tr), sl_tensor_free(wide), sl_tensor_free(nr);
}

static void test_reduce_hand_values(void)
{
    float v[6] = {1, -2, 3, 4, 0, -6}; /* [[1, -2, 3], [4, 0, -6]] */
    sl_tensor *t = tt_from(v, 2, SZ(2, 3));
    double r;
    CHECK(sl_tensor_reduce_all(SL_RED_SUM, t, 0, &r) == SL_OK && r == 0);
    CHECK(sl_tensor_reduce_all(SL_RED_PROD, t, 0, &r) == SL_OK && r == 0);
    CHECK(sl_tensor_reduce_all(SL_RED_MAX, t, 0, &r) == SL_OK && r == 4);
    CHECK(sl_tensor_reduce_all(SL_RED_MIN, t, 0, &r) == SL_OK && r == -6);
    CHECK(sl_tensor_reduce_all(SL_RED_ARGMAX, t, 0, &r) == SL_OK && r == 3);
    CHECK(sl_tensor_reduce_all(SL_RED_ARGMIN, t, 0, &r) == SL_OK && r == 5);
    CHECK(sl_tensor_reduce_all(SL_RED_NORM, t, 1, &r) == SL_OK && r == 16);
    CHECK(sl_tensor_reduce_all(SL_RED_NORM, t, 2, &r) == SL_OK && fabs(r - sqrt(66)) < 1e-12);
    CHECK(sl_tensor_reduce_all(SL_RED_NORM, t, INFINITY, &r) == SL_OK && r == 6);
    CHECK(sl_tensor_reduce_all(SL_RED_MEAN, t, 0, &r) == SL_OK && r == 0);
    CHECK(sl_tensor_reduce_all(SL_RED_VAR, t, 1, &r) == SL_OK && fabs(r - 66.0 / 5) < 1e-12);
    CHECK(sl_tensor_reduce_all(SL_RED_VAR, t, 0, &r) == SL_OK && fabs(r - 11) < 1e-12);
    CHECK(sl_tensor_reduce_all(SL_RED_STD, t, 0, &r) == SL_OK && fabs(r - sqrt(11)) < 1e-12);
    /* transposed: the same values */
    sl_tensor *tt = sl_tensor_transpose_new(t, 0, 1);
    CHECK(sl_tensor_reduce_all(SL_RED_ARGMAX, tt, 0, &r) == SL_OK && r == 1); /* flat position in [3x2] */
    /* ties: the first extreme wins */
    float ties[5] = {1, 5, 5, 0, 5};
    sl_tensor *ti = tt_from(ties, 1, SZ(5));
    sl_tensor *vals = NULL, *ix = NULL;
    CHECK(sl_tensor_reduce_dim(SL_RED_MAX, ti, 0, false, 0, &vals, &ix) == SL_OK);
    CHECK(vals->ndim == 0 && sl_f32(vals)[0] == 5 && sl_i64(ix)[0] == 1);
    sl_tensor_free(vals), sl_tensor_free(ix);
    /* integer sums stay integers; int max keeps the dtype */
    sl_tensor *u = sl_tensor_new(SL_UINT8, 1, SZ(3));
    sl_u8(u)[0] = 200, sl_u8(u)[1] = 200, sl_u8(u)[2] = 7;
    CHECK(sl_tensor_reduce_dim(SL_RED_SUM, u, 0, false, 0, &vals, NULL) == SL_OK && vals->dtype == SL_INT64 &&
          sl_i64(vals)[0] == 407);
    sl_tensor_free(vals);
    CHECK(sl_tensor_reduce_dim(SL_RED_MAX, u, 0, true, 0, &vals, NULL) == SL_OK && vals->dtype == SL_UINT8 &&
          vals->ndim == 1 && sl_u8(vals)[0] == 200);
    sl_tensor_free(vals);
    /* a large sum (blocked, parallel) is exact for small integers and matches a double loop */
    sl_tensor *big = tt_rand(30, 1, SZ(100003));
    double want = 0;
    for (int k = 0; k < 100003; k++) want += sl_f32(big)[k];
    CHECK(sl_tensor_reduce_all(SL_RED_SUM, big, 0, &r) == SL_OK && fabs(r - want) < 1e-9);
    CHECK(sl_tensor_reduce_all(SL_RED_MEAN, big, 0, &r) == SL_OK && fabs(r - want / 100003) < 1e-12);
    sl_tensor_free(t), sl_tensor_free(tt), sl_tensor_free(ti), sl_tensor_free(u), sl_tensor_free(big);
}

static void test_reduce_nan_and_empty(void)
{
    float v[4] = {1, NAN, 3, -7};
    sl_tensor *t = tt_from(v, 1, SZ(4));
    double r;
    CHECK(sl_tensor_reduce_all(SL_RED_SUM, t, 0, &r) == SL_OK && isnan(r));
    CHECK(sl_tensor_reduce_all(SL_RED_MAX, t, 0, &r) == SL_OK && isnan(r));
    CHECK(sl_tensor_reduce_all(SL_RED_MIN, t, 0, &r) == SL_OK && isnan(r));
    CHECK(sl_tensor_reduce_all(SL_RED_ARGMAX, t, 0, &r) == SL_OK && r == 1);
    CHECK(sl_tensor_reduce_all(SL_RED_ARGMIN, t, 0, &r) == SL_OK && r == 1);
    CHECK(sl_tensor_reduce_all(SL_RED_NORM, t, 2, &r) == SL_OK && isnan(r));
    CHECK(sl_tensor_reduce_all(SL_RED_NORM, t, 1, &r) == SL_OK && isnan(r));
    CHECK(sl_tensor_reduce_all(SL_RED_NORM, t, INFINITY, &r) == SL_OK && isnan(r));
    CHECK(sl_tensor_reduce_all(SL_RED_VAR, t, 1, &r) == SL_OK && isnan(r));
    float first_nan[3] = {NAN, 5, NAN};
    sl_tensor *fn = tt_from(first_nan, 1, SZ(3));
    sl_tensor *vals = NULL, *ix = NULL;
    CHECK(sl_tensor_reduce_dim(SL_RED_MIN, fn, 0, false, 0, &vals, &ix) == SL_OK && isnan(sl_f32(vals)[0]) &&
          sl_i64(ix)[0] == 0);
    sl_tensor_free(vals), sl_tensor_free(ix);
    /* empty */
    sl_tensor *e = sl_tensor_new(SL_FLOAT32, 2, SZ(0, 3));
    CHECK(sl_tensor_reduce_all(SL_RED_SUM, e, 0, &r) == SL_OK && r == 0);
    CHECK(sl_tensor_reduce_all(SL_RED_PROD, e, 0, &r) == SL_OK && r == 1);
    CHECK(sl_tensor_reduce_all(SL_RED_MEAN, e, 0, &r) == SL_OK && isnan(r));
    CHECK_FAILS(sl_tensor_reduce_all(SL_RED_MAX, e, 0, &r), "max: cannot reduce an empty tensor");
    CHECK(sl_tensor_reduce_dim(SL_RED_SUM, e, 0, false, 0, &vals, NULL) == SL_OK && vals->size[0] == 3 &&
          sl_f32(vals)[2] == 0);
    sl_tensor_free(vals);
    CHECK(sl_tensor_reduce_dim(SL_RED_SUM, e, 1, true, 0, &vals, NULL) == SL_OK && vals->size[0] == 0 &&
          vals->size[1] == 1);
    sl_tensor_free(vals);
    CHECK_FAILS(sl_tensor_reduce_dim(SL_RED_ARGMAX, e, 0, false, 0, &vals, NULL),
                "argmax: cannot reduce an empty dim 1 of [0x3]");
    CHECK(vals == NULL);
    CHECK_FAILS(sl_tensor_reduce_dim(SL_RED_SUM, t, 1, false, 0, &vals, NULL), "sum: dim 2 out of range for [4]");
    CHECK_FAILS(sl_tensor_reduce_dim(SL_RED_NORM, t, 0, false, -1, &vals, NULL), "norm: p must be positive, got -1");
    CHECK_FAILS(sl_tensor_reduce_all(SL_RED_NORM, t, 0, &r), "norm: p must be positive, got 0");
    /* alloc failure: nothing leaks */
    int64_t live = sl_alloc_live_blocks();
    for (int k = 1; k <= 2; k++) {
        sl_alloc_fail_after(k);
        int rc = sl_tensor_reduce_dim(SL_RED_MAX, t, 0, false, 0, &vals, &ix);
        sl_alloc_fail_after(0);
        if (rc == SL_OK) sl_tensor_free(vals), sl_tensor_free(ix);
        else CHECK(vals == NULL && ix == NULL && strstr(sl_last_error(), "out of memory"));
        CHECK(sl_alloc_live_blocks() == live);
    }
    sl_tensor_free(t), sl_tensor_free(fn), sl_tensor_free(e);
}

int main(void)
{
    RUN(test_binary_broadcast_layouts);
    RUN(test_binary_dtypes_and_scalars);
    RUN(test_binary_inplace_and_errors);
    RUN(test_unary);
    RUN(test_clamp_where_axpy);
    RUN(test_reduce_dim_vs_reference);
    RUN(test_reduce_hand_values);
    RUN(test_reduce_nan_and_empty);
    return test_summary();
}
