/* reduce.c - reductions (see reduce.h).
 *
 * Along a dim: every output element is an independent loop over the reduced
 * dim, so outputs are computed in parallel without changing any sum's order.
 * Over all elements: the tensor is made contiguous and summed in fixed-size
 * blocks whose partial results are added in order.
 */
#include "tensor/reduce.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "tensor/view.h"

static const char *const reduction_names[SL_NUM_REDUCTIONS] = {
    "sum", "mean", "prod", "max", "min", "argmax", "argmin", "norm", "var", "std"};

const char *sl_reduction_name(sl_reduction op) { return reduction_names[op]; }

typedef struct {
    double value;
    int64_t index;
} red_result;

/* Reduce n elements x[0], x[s], ... (dtype dt at base+off). */
static red_result reduce_line(sl_reduction op, sl_dtype dt, const void *base, int64_t off, int64_t s, int64_t n,
                              double param)
{
    red_result r = {0, 0};
    const float *f = dt == SL_FLOAT32 ? (const float *)base + off : NULL;
#define X(i) (f ? (double)f[(i) * s] : sl_load(dt, base, off + (i) * s))
    switch (op) {
    case SL_RED_SUM:
    case SL_RED_MEAN: {
        double acc = 0;
        for (int64_t i = 0; i < n; i++) acc += X(i);
        r.value = op == SL_RED_MEAN ? (n ? acc / n : NAN) : acc;
        break;
    }
    case SL_RED_PROD: {
        double acc = 1;
        for (int64_t i = 0; i < n; i++) acc *= X(i);
        r.value = acc;
        break;
    }
    case SL_RED_MAX: case SL_RED_MIN: case SL_RED_ARGMAX: case SL_RED_ARGMIN: {
        bool want_max = op == SL_RED_MAX || op == SL_RED_ARGMAX;
        double best = X(0);
        int64_t at = 0;
        for (int64_t i = 1; i < n && !isnan(best); i++) {
            double x = X(i);
            if (isnan(x) || (want_max ? x > best : x < best)) best = x, at = i; /* NaN wins, as in PyTorch */
        }
        r.value = best;
        r.index = at;
        break;
    }
    case SL_RED_NORM: {
        double acc = 0;
        if (isinf(param)) {
            for (int64_t i = 0; i < n; i++) { /* not fmax: it drops NaN, the norm must be NaN */
                double a = fabs(X(i));
                if (a > acc || isnan(a)) acc = a;
                if (isnan(acc)) break;
            }
            r.value = acc;
        } else if (param == 2) {
            for (int64_t i = 0; i < n; i++) acc += X(i) * X(i);
            r.value = sqrt(acc);
        } else if (param == 1) {
            for (int64_t i = 0; i < n; i++) acc += fabs(X(i));
            r.value = acc;
        } else {
            for (int64_t i = 0; i < n; i++) acc += pow(fabs(X(i)), param);
            r.value = pow(acc, 1.0 / param);
        }
        break;
    }
    case SL_RED_VAR: case SL_RED_STD: {
        double mean = 0, m2 = 0;
        for (int64_t i = 0; i < n; i++) mean += X(i);
        mean = n ? mean / n : 0;
        for (int64_t i = 0; i < n; i++) m2 += (X(i) - mean) * (X(i) - mean);
        double denom = (double)n - param;
        r.value = denom > 0 ? m2 / denom : NAN;
        if (op == SL_RED_STD) r.value = sqrt(r.value);
        break;
    }
    default: break;
    }
#undef X
    return r;
}

static sl_dtype value_dtype(sl_reduction op, sl_dtype in)
{
    if (op == SL_RED_ARGMAX || op == SL_RED_ARGMIN) return SL_INT64;
    if (in != SL_FLOAT32 && (op == SL_RED_MAX || op == SL_RED_MIN)) return in;
    if (in != SL_FLOAT32 && (op == SL_RED_SUM || op == SL_RED_PROD)) return SL_INT64;
    return SL_FLOAT32;
}

static bool needs_nonempty(sl_reduction op)
{
    return op == SL_RED_MAX || op == SL_RED_MIN || op == SL_RED_ARGMAX || op == SL_RED_ARGMIN;
}

int sl_tensor_reduce_dim(sl_reduction op, const sl_tensor *t, int dim, bool keepdim, double param,
                         sl_tensor **values, sl_tensor **indices)
{
    char b[128];
    const char *name = reduction_names[op];
    *values = NULL;
    if (indices) *indices = NULL;
    if (dim < 0 || dim >= t->ndim)
        return sl_error("%s: dim %d out of range for %s", name, dim + 1, sl_shape_str(t, b, sizeof b));
    if (needs_nonempty(op) && t->size[dim] == 0)
        return sl_error("%s: cannot reduce an empty dim %d of %s", name, dim + 1, sl_shape_str(t, b, sizeof b));
    if (op == SL_RED_NORM && !(param > 0))
        return sl_error("norm: p must be positive, got %g", param);

    /* Output shape: t's with size[dim] = 1 (kept or squeezed at the end). */
    int64_t size[SL_MAX_DIMS];
    memcpy(size, t->size, sizeof size);
    size[dim] = 1;
    sl_tensor *v = sl_tensor_new(value_dtype(op, t->dtype), t->ndim, size);
    sl_tensor *ix = indices && (op == SL_RED_MAX || op == SL_RED_MIN) ? sl_tensor_new(SL_INT64, t->ndim, size) : NULL;
    if (!v || (indices && (op == SL_RED_MAX || op == SL_RED_MIN) && !ix)) {
        sl_tensor_free(v);
        sl_tensor_free(ix);
        return SL_ERR;
    }
    int64_t nout = sl_tensor_numel(v), n = t->size[dim], s = t->stride[dim];
    const void *base = t->storage->data;
    #pragma omp parallel for schedule(static) if (nout * n > 32768)
    for (int64_t o = 0; o < nout; o++) {
        /* Input offset of output element o (v is contiguous with v's strides). */
        int64_t rem = o, off = t->offset;
        for (int d = t->ndim - 1; d >= 0; d--) {
            int64_t i = rem % size[d];
            rem /= size[d];
            off += i * t->stride[d];
        }
        red_result r = reduce_line(op, t->dtype, base, off, s, n, param);
        if (op == SL_RED_ARGMAX || op == SL_RED_ARGMIN) sl_i64(v)[o] = r.index;
        else sl_store(v->dtype, v->storage->data, o, r.value);
        if (ix) sl_i64(ix)[o] = r.index;
    }
    if (!keepdim) {
        for (int d = dim; d < t->ndim - 1; d++) {
            v->size[d] = v->size[d + 1], v->stride[d] = v->stride[d + 1];
            if (ix) ix->size[d] = ix->size[d + 1], ix->stride[d] = ix->stride[d + 1];
        }
        v->ndim--;
        if (ix) ix->ndim--;
    }
    *values = v;
    if (indices) *indices = ix;
    return SL_OK;
}

enum { BLOCK = 4096 };

int sl_tensor_reduce_all(sl_reduction op, const sl_tensor *t, double param, double *result)
{
    int64_t n = sl_tensor_numel(t);
    if (needs_nonempty(op) && n == 0) return sl_error("%s: cannot reduce an empty tensor", reduction_names[op]);
    if (op == SL_RED_NORM && !(param > 0)) return sl_error("norm: p must be positive, got %g", param);
    sl_tensor *c = sl_tensor_contiguous_new(t);
    if (!c) return SL_ERR;
    const void *base = c->storage->data;
    if ((op == SL_RED_SUM || op == SL_RED_MEAN) && n > BLOCK) {
        int64_t nblocks = (n + BLOCK - 1) / BLOCK;
        double *partial = sl_malloc((size_t)nblocks * sizeof *partial);
        if (!partial) {
            sl_tensor_free(c);
            return SL_ERR;
        }
        #pragma omp parallel for schedule(static)
        for (int64_t k = 0; k < nblocks; k++) {
            int64_t len = n - k * BLOCK < BLOCK ? n - k * BLOCK : BLOCK;
            partial[k] = reduce_line(SL_RED_SUM, c->dtype, base, c->offset + k * BLOCK, 1, len, 0).value;
        }
        double acc = 0;
        for (int64_t k = 0; k < nblocks; k++) acc += partial[k];
        sl_free(partial);
        *result = op == SL_RED_MEAN ? acc / n : acc;
    } else {
        red_result r = reduce_line(op, c->dtype, base, c->offset, 1, n, param);
        *result = op == SL_RED_ARGMAX || op == SL_RED_ARGMIN ? (double)r.index : r.value;
    }
    sl_tensor_free(c);
    return SL_OK;
}
