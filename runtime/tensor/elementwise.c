/* elementwise.c - broadcasting binary ops, unary math, clamp, where (see elementwise.h). */
#include "tensor/elementwise.h"

#include <math.h>
#include <string.h>

#include "tensor/iter.h"
#include "tensor/view.h"

static const char *const binary_names[SL_NUM_BINARY_OPS] = {
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "fmod", "remainder", "eq", "ne", "lt", "le", "gt", "ge"};
static const char *const unary_names[SL_NUM_UNARY_OPS] = {
    "neg", "abs", "exp", "log", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "floor", "ceil",
    "round", "sign", "sin", "cos", "log1p", "reciprocal", "square"};

const char *sl_binary_op_name(sl_binary_op op) { return binary_names[op]; }
const char *sl_unary_op_name(sl_unary_op op) { return unary_names[op]; }

static bool is_comparison(sl_binary_op op) { return op >= SL_OP_EQ; }

static sl_dtype result_dtype(sl_binary_op op, sl_dtype a, sl_dtype b)
{
    if (is_comparison(op)) return SL_UINT8;
    if (a == SL_FLOAT32 || b == SL_FLOAT32 || op == SL_OP_DIV) return SL_FLOAT32;
    if (a == SL_INT64 || b == SL_INT64) return SL_INT64;
    return SL_UINT8;
}

static inline double apply_binary(sl_binary_op op, double x, double y)
{
    switch (op) {
    case SL_OP_ADD: return x + y;
    case SL_OP_SUB: return x - y;
    case SL_OP_MUL: return x * y;
    case SL_OP_DIV: return x / y;
    case SL_OP_POW: return pow(x, y);
    case SL_OP_MAXIMUM: return isnan(x) || x > y ? x : y;
    case SL_OP_MINIMUM: return isnan(x) || x < y ? x : y;
    case SL_OP_FMOD: return fmod(x, y);
    case SL_OP_REMAINDER: {
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

typedef struct {
    sl_binary_op op;
    sl_dtype dt[3]; /* out, a, b */
    void *base[3];
} binary_ctx;

/* float32 op float32 -> float32, the hot case: one tight loop per op. */
static void binary_row_f32(const binary_ctx *c, const int64_t *off, const int64_t *in, int64_t n)
{
    float *o = (float *)c->base[0] + off[0];
    const float *a = (const float *)c->base[1] + off[1], *b = (const float *)c->base[2] + off[2];
    int64_t so = in[0], sa = in[1], sb = in[2];
    switch (c->op) {
    case SL_OP_ADD: for (int64_t i = 0; i < n; i++) o[i * so] = a[i * sa] + b[i * sb]; break;
    case SL_OP_SUB: for (int64_t i = 0; i < n; i++) o[i * so] = a[i * sa] - b[i * sb]; break;
    case SL_OP_MUL: for (int64_t i = 0; i < n; i++) o[i * so] = a[i * sa] * b[i * sb]; break;
    case SL_OP_DIV: for (int64_t i = 0; i < n; i++) o[i * so] = a[i * sa] / b[i * sb]; break;
    default:
        for (int64_t i = 0; i < n; i++) o[i * so] = (float)apply_binary(c->op, a[i * sa], b[i * sb]);
    }
}

static void binary_row(void *vctx, const int64_t *off, const int64_t *in, int64_t n)
{
    const binary_ctx *c = vctx;
    if (c->dt[0] == SL_FLOAT32 && c->dt[1] == SL_FLOAT32 && c->dt[2] == SL_FLOAT32) {
        binary_row_f32(c, off, in, n);
        return;
    }
    if (c->dt[0] == SL_INT64 && c->dt[1] == SL_INT64 && c->dt[2] == SL_INT64 && c->op <= SL_OP_MUL) {
        int64_t *o = (int64_t *)c->base[0] + off[0];
        const int64_t *a = (const int64_t *)c->base[1] + off[1], *b = (const int64_t *)c->base[2] + off[2];
        for (int64_t i = 0; i < n; i++) {
            int64_t x = a[i * in[1]], y = b[i * in[2]];
            /* unsigned arithmetic: wrap instead of undefined overflow */
            o[i * in[0]] = (int64_t)(c->op == SL_OP_ADD ? (uint64_t)x + (uint64_t)y
                                     : c->op == SL_OP_SUB ? (uint64_t)x - (uint64_t)y
                                                          : (uint64_t)x * (uint64_t)y);
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        double x = sl_load(c->dt[1], c->base[1], off[1] + i * in[1]);
        double y = sl_load(c->dt[2], c->base[2], off[2] + i * in[2]);
        sl_store(c->dt[0], c->base[0], off[0] + i * in[0], apply_binary(c->op, x, y));
    }
}

/* Prepare `out` (given or new) for an op producing shape (ndim, size). */
static int prepare_out(const char *op, sl_dtype dt, int ndim, const int64_t *size, sl_tensor *out,
                       sl_tensor **result, sl_tensor **target)
{
    if (out) {
        bool ok = out->ndim == ndim;
        for (int d = 0; ok && d < ndim; d++) ok = out->size[d] == size[d];
        if (!ok) {
            char b[128];
            return sl_error("%s: output %s does not match the result shape (%d dims)", op,
                            sl_shape_str(out, b, sizeof b), ndim);
        }
        *target = out;
        if (result) *result = NULL;
        return SL_OK;
    }
    *target = sl_tensor_new(dt, ndim, size);
    if (!*target) return SL_ERR;
    *result = *target;
    return SL_OK;
}

int sl_tensor_binary(sl_binary_op op, const sl_tensor *a, const sl_tensor *b, sl_tensor *out, sl_tensor **result)
{
    int ndim;
    int64_t size[SL_MAX_DIMS], sa[SL_MAX_DIMS], sb[SL_MAX_DIMS];
    if (sl_broadcast_shape(binary_names[op], a, b, &ndim, size) != SL_OK) return SL_ERR;
    sl_tensor *o;
    if (prepare_out(binary_names[op], result_dtype(op, a->dtype, b->dtype), ndim, size, out, result, &o) != SL_OK)
        return SL_ERR;
    sl_broadcast_strides(a, ndim, size, sa);
    sl_broadcast_strides(b, ndim, size, sb);
    const int64_t *strides[3] = {o->stride, sa, sb};
    sl_iter it;
    sl_iter_init(&it, ndim, size, 3, strides);
    binary_ctx c = {op, {o->dtype, a->dtype, b->dtype}, {sl_tensor_data(o), sl_tensor_data(a), sl_tensor_data(b)}};
    sl_iter_run(&it, binary_row, &c, true);
    return SL_OK;
}

int sl_tensor_binary_scalar(sl_binary_op op, const sl_tensor *a, double s, bool scalar_left, sl_tensor *out,
                            sl_tensor **result)
{
    /* A 0-d tensor on the stack holding the scalar in a's dtype family. */
    bool integral = s == floor(s) && fabs(s) < 9e15 && a->dtype != SL_FLOAT32;
    union { float f; int64_t i; } value;
    sl_storage storage = {&value, sizeof value, 1, true};
    sl_tensor scalar = {.dtype = integral ? SL_INT64 : SL_FLOAT32, .ndim = 0, .storage = &storage};
    if (integral) value.i = (int64_t)s;
    else value.f = (float)s;
    if (integral && a->dtype == SL_UINT8 && s >= 0 && s <= 255 && !is_comparison(op)) scalar.dtype = SL_INT64;
    return scalar_left ? sl_tensor_binary(op, &scalar, a, out, result) : sl_tensor_binary(op, a, &scalar, out, result);
}

/* ---- unary ------------------------------------------------------------ */

static inline float apply_unary(sl_unary_op op, float x)
{
    switch (op) {
    case SL_OP_NEG: return -x;
    case SL_OP_ABS: return fabsf(x);
    case SL_OP_EXP: return expf(x);
    case SL_OP_LOG: return logf(x);
    case SL_OP_SQRT: return sqrtf(x);
    case SL_OP_RSQRT: return 1.0f / sqrtf(x);
    case SL_OP_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case SL_OP_TANH: return tanhf(x);
    case SL_OP_RELU: return x > 0 ? x : 0;
    case SL_OP_FLOOR: return floorf(x);
    case SL_OP_CEIL: return ceilf(x);
    case SL_OP_ROUND: return nearbyintf(x);
    case SL_OP_SIGN: return (float)((x > 0) - (x < 0));
    case SL_OP_SIN: return sinf(x);
    case SL_OP_COS: return cosf(x);
    case SL_OP_LOG1P: return log1pf(x);
    case SL_OP_RECIPROCAL: return 1.0f / x;
    case SL_OP_SQUARE: return x * x;
    default: return x;
    }
}

typedef struct {
    sl_unary_op op;
    sl_dtype dt;
    void *base[2];
    double lo, hi; /* clamp */
} unary_ctx;

static void unary_row(void *vctx, const int64_t *off, const int64_t *in, int64_t n)
{
    const unary_ctx *c = vctx;
    if (c->dt == SL_FLOAT32) {
        float *o = (float *)c->base[0] + off[0];
        const float *a = (const float *)c->base[1] + off[1];
        for (int64_t i = 0; i < n; i++) o[i * in[0]] = apply_unary(c->op, a[i * in[1]]);
        return;
    }
    for (int64_t i = 0; i < n; i++) { /* integer neg/abs/sign */
        double x = sl_load(c->dt, c->base[1], off[1] + i * in[1]);
        double y = c->op == SL_OP_NEG ? -x : c->op == SL_OP_ABS ? fabs(x) : (double)((x > 0) - (x < 0));
        sl_store(c->dt, c->base[0], off[0] + i * in[0], y);
    }
}

static void clamp_row(void *vctx, const int64_t *off, const int64_t *in, int64_t n)
{
    const unary_ctx *c = vctx;
    if (c->dt == SL_FLOAT32) {
        float *o = (float *)c->base[0] + off[0];
        const float *a = (const float *)c->base[1] + off[1];
        float lo = (float)c->lo, hi = (float)c->hi;
        for (int64_t i = 0; i < n; i++) {
            float x = a[i * in[1]];
            x = x < lo ? lo : x; /* NaN bounds compare false: no bound */
            o[i * in[0]] = x > hi ? hi : x;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        double x = sl_load(c->dt, c->base[1], off[1] + i * in[1]);
        x = x < c->lo ? c->lo : x;
        sl_store(c->dt, c->base[0], off[0] + i * in[0], x > c->hi ? c->hi : x);
    }
}

static int run_unary(const char *name, unary_ctx *c, sl_iter_row_fn row, const sl_tensor *a, sl_tensor *out,
                     sl_tensor **result)
{
    sl_tensor *o;
    if (prepare_out(name, a->dtype, a->ndim, a->size, out, result, &o) != SL_OK) return SL_ERR;
    if (o->dtype != a->dtype) {
        if (result && *result) sl_tensor_free(*result), *result = NULL;
        return sl_error("%s: output is %s but input is %s", name, sl_dtype_name(o->dtype), sl_dtype_name(a->dtype));
    }
    const int64_t *strides[2] = {o->stride, a->stride};
    sl_iter it;
    sl_iter_init(&it, a->ndim, a->size, 2, strides);
    c->dt = a->dtype;
    c->base[0] = sl_tensor_data(o);
    c->base[1] = sl_tensor_data(a);
    sl_iter_run(&it, row, c, true);
    return SL_OK;
}

int sl_tensor_unary(sl_unary_op op, const sl_tensor *a, sl_tensor *out, sl_tensor **result)
{
    bool int_ok = op == SL_OP_NEG || op == SL_OP_ABS || op == SL_OP_SIGN;
    if (a->dtype != SL_FLOAT32 && !(int_ok && a->dtype == SL_INT64)) {
        char b[128];
        return sl_error("%s: needs a float32 tensor, got %s %s", unary_names[op], sl_dtype_name(a->dtype),
                        sl_shape_str(a, b, sizeof b));
    }
    unary_ctx c = {.op = op};
    return run_unary(unary_names[op], &c, unary_row, a, out, result);
}

int sl_tensor_clamp(const sl_tensor *a, double lo, double hi, sl_tensor *out, sl_tensor **result)
{
    if (lo > hi) return sl_error("clamp: min %g is greater than max %g", lo, hi);
    unary_ctx c = {.lo = lo, .hi = hi};
    return run_unary("clamp", &c, clamp_row, a, out, result);
}

/* ---- where ------------------------------------------------------------- */

typedef struct {
    sl_dtype dt[4];
    void *base[4];
} where_ctx;

static void where_row(void *vctx, const int64_t *off, const int64_t *in, int64_t n)
{
    const where_ctx *c = vctx;
    for (int64_t i = 0; i < n; i++) {
        bool take_a = sl_load(c->dt[1], c->base[1], off[1] + i * in[1]) != 0;
        double v = take_a ? sl_load(c->dt[2], c->base[2], off[2] + i * in[2])
                          : sl_load(c->dt[3], c->base[3], off[3] + i * in[3]);
        sl_store(c->dt[0], c->base[0], off[0] + i * in[0], v);
    }
}

sl_tensor *sl_tensor_where_new(const sl_tensor *cond, const sl_tensor *a, const sl_tensor *b)
{
    int nd1, nd;
    int64_t s1[SL_MAX_DIMS], size[SL_MAX_DIMS], sc[SL_MAX_DIMS], sa[SL_MAX_DIMS], sb[SL_MAX_DIMS];
    if (sl_broadcast_shape("where", a, b, &nd1, s1) != SL_OK) return NULL;
    sl_tensor shape1 = {.ndim = nd1};
    memcpy(shape1.size, s1, sizeof s1);
    if (sl_broadcast_shape("where", cond, &shape1, &nd, size) != SL_OK) return NULL;
    sl_tensor *o = sl_tensor_new(result_dtype(SL_OP_ADD, a->dtype, b->dtype), nd, size);
    if (!o) return NULL;
    sl_broadcast_strides(cond, nd, size, sc);
    sl_broadcast_strides(a, nd, size, sa);
    sl_broadcast_strides(b, nd, size, sb);
    const int64_t *strides[4] = {o->stride, sc, sa, sb};
    sl_iter it;
    sl_iter_init(&it, nd, size, 4, strides);
    where_ctx c = {{o->dtype, cond->dtype, a->dtype, b->dtype},
                   {sl_tensor_data(o), sl_tensor_data(cond), sl_tensor_data(a), sl_tensor_data(b)}};
    sl_iter_run(&it, where_row, &c, true);
    return o;
}

typedef struct {
    float alpha;
    float *o;
    const float *x;
} axpy_ctx;

static void axpy_row(void *vctx, const int64_t *off, const int64_t *in, int64_t n)
{
    const axpy_ctx *c = vctx;
    float *o = c->o + off[0];
    const float *x = c->x + off[1];
    for (int64_t i = 0; i < n; i++) o[i * in[0]] += c->alpha * x[i * in[1]];
}

int sl_tensor_axpy(sl_tensor *out, float alpha, const sl_tensor *x)
{
    int64_t sx[SL_MAX_DIMS];
    char a[128], b[128];
    if (out->dtype != SL_FLOAT32 || x->dtype != SL_FLOAT32)
        return sl_error("axpy: needs float32 tensors, got %s and %s", sl_dtype_name(out->dtype),
                        sl_dtype_name(x->dtype));
    if (x->ndim > out->ndim || sl_broadcast_strides(x, out->ndim, out->size, sx) != SL_OK)
        return sl_error("axpy: %s does not broadcast to %s", sl_shape_str(x, a, sizeof a),
                        sl_shape_str(out, b, sizeof b));
    const int64_t *strides[2] = {out->stride, sx};
    sl_iter it;
    sl_iter_init(&it, out->ndim, out->size, 2, strides);
    axpy_ctx c = {alpha, sl_f32(out), sl_f32(x)};
    sl_iter_run(&it, axpy_row, &c, true);
    return SL_OK;
}
