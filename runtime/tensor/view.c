/* view.c - views that edit only the header, and copies (see view.h). */
#include "tensor/view.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "tensor/iter.h"

double sl_load(sl_dtype dt, const void *base, int64_t offset)
{
    switch (dt) {
    case SL_FLOAT32: return ((const float *)base)[offset];
    case SL_UINT8: return ((const uint8_t *)base)[offset];
    case SL_INT64: return (double)((const int64_t *)base)[offset];
    default: return 0;
    }
}

void sl_store(sl_dtype dt, void *base, int64_t offset, double v)
{
    switch (dt) {
    case SL_FLOAT32: ((float *)base)[offset] = (float)v; break;
    case SL_UINT8: /* saturate, as image code expects; NaN -> 0 */
        ((uint8_t *)base)[offset] = !(v > 0) ? 0 : v >= 255 ? 255 : (uint8_t)v;
        break;
    case SL_INT64:
        ((int64_t *)base)[offset] = isnan(v) ? 0 : v >= 9.2233720368547758e18 ? INT64_MAX
                                    : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v;
        break;
    default: break;
    }
}

static int64_t element_offset(const sl_tensor *t, const int64_t *index)
{
    int64_t off = t->offset;
    for (int d = 0; d < t->ndim; d++) off += index[d] * t->stride[d];
    return off;
}

double sl_tensor_get(const sl_tensor *t, const int64_t *index)
{
    return sl_load(t->dtype, t->storage->data, element_offset(t, index));
}

void sl_tensor_set(sl_tensor *t, const int64_t *index, double value)
{
    sl_store(t->dtype, t->storage->data, element_offset(t, index), value);
}

static int check_dim(const char *op, const sl_tensor *t, int dim)
{
    if (dim < 0 || dim >= t->ndim) {
        char b[128];
        return sl_error("%s: dim %d out of range for %s (%d dims)", op, dim + 1, sl_shape_str(t, b, sizeof b),
                        t->ndim);
    }
    return SL_OK;
}

/* Resolve one -1 and check the element count matches. */
static int infer_sizes(const char *op, const sl_tensor *t, int ndim, const int64_t *in, int64_t *out)
{
    int64_t known = 1, numel = sl_tensor_numel(t);
    int infer = -1;
    if (ndim > SL_MAX_DIMS) return sl_error("%s: %d dims requested (at most %d)", op, ndim, SL_MAX_DIMS);
    for (int d = 0; d < ndim; d++) {
        if (in[d] == -1) {
            if (infer >= 0) return sl_error("%s: only one size may be -1", op);
            infer = d;
        } else if (in[d] < 0) {
            return sl_error("%s: invalid size %lld", op, (long long)in[d]);
        } else if (in[d] && known > INT64_MAX / in[d]) { /* no overflow */
            char b[128];
            return sl_error("%s: new shape is too large for %s with %lld elements", op, sl_shape_str(t, b, sizeof b),
                            (long long)numel);
        } else {
            known *= in[d];
        }
        out[d] = in[d];
    }
    if (infer >= 0) {
        if (known == 0 || numel % known) {
            char b[128];
            return sl_error("%s: cannot infer size -1 for %s with %lld elements", op, sl_shape_str(t, b, sizeof b),
                            (long long)numel);
        }
        out[infer] = numel / known;
        known = numel;
    }
    if (known != numel) {
        char b[128];
        return sl_error("%s: shape %s has %lld elements, the new shape %lld", op, sl_shape_str(t, b, sizeof b),
                        (long long)numel, (long long)known);
    }
    return SL_OK;
}

sl_tensor *sl_tensor_view_shape_new(const sl_tensor *t, int ndim, const int64_t *size)
{
    int64_t sz[SL_MAX_DIMS];
    if (infer_sizes("view", t, ndim, size, sz) != SL_OK) return NULL;
    if (!sl_tensor_is_contiguous(t)) {
        char b[128];
        sl_error("view: tensor %s is not contiguous (use reshape or contiguous)", sl_shape_str(t, b, sizeof b));
        return NULL;
    }
    sl_tensor *v = sl_tensor_view_new(t);
    if (!v) return NULL;
    v->ndim = ndim;
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        v->size[d] = sz[d];
        v->stride[d] = s;
        s *= sz[d] ? sz[d] : 1;
    }
    return v;
}

sl_tensor *sl_tensor_reshape_new(const sl_tensor *t, int ndim, const int64_t *size)
{
    int64_t sz[SL_MAX_DIMS];
    if (infer_sizes("reshape", t, ndim, size, sz) != SL_OK) return NULL;
    sl_tensor *c = sl_tensor_contiguous_new(t);
    if (!c) return NULL;
    sl_tensor *v = sl_tensor_view_shape_new(c, ndim, sz);
    sl_tensor_free(c);
    return v;
}

sl_tensor *sl_tensor_narrow_new(const sl_tensor *t, int dim, int64_t start, int64_t length)
{
    if (check_dim("narrow", t, dim) != SL_OK) return NULL;
    if (start < 0 || length < 0 || start > t->size[dim] || length > t->size[dim] - start) { /* no overflow */
        char b[128];
        int64_t end = length > INT64_MAX - start ? INT64_MAX : start + length; /* saturate, for the message */
        sl_error("narrow: range [%lld, %lld] out of bounds for dim %d of %s",
                 start == INT64_MAX ? (long long)start : (long long)start + 1, (long long)end, dim + 1,
                 sl_shape_str(t, b, sizeof b));
        return NULL;
    }
    sl_tensor *v = sl_tensor_view_new(t);
    if (!v) return NULL;
    v->offset += start * t->stride[dim];
    v->size[dim] = length;
    return v;
}

sl_tensor *sl_tensor_select_new(const sl_tensor *t, int dim, int64_t index)
{
    if (check_dim("select", t, dim) != SL_OK) return NULL;
    if (index < 0 || index >= t->size[dim]) {
        char b[128];
        sl_error("select: index %lld out of range for dim %d of %s", (long long)index + 1, dim + 1,
                 sl_shape_str(t, b, sizeof b));
        return NULL;
    }
    sl_tensor *v = sl_tensor_view_new(t);
    if (!v) return NULL;
    v->offset += index * t->stride[dim];
    for (int d = dim; d < t->ndim - 1; d++) {
        v->size[d] = t->size[d + 1];
        v->stride[d] = t->stride[d + 1];
    }
    v->ndim--;
    return v;
}

sl_tensor *sl_tensor_transpose_new(const sl_tensor *t, int d0, int d1)
{
    if (check_dim("transpose", t, d0) != SL_OK || check_dim("transpose", t, d1) != SL_OK) return NULL;
    sl_tensor *v = sl_tensor_view_new(t);
    if (!v) return NULL;
    v->size[d0] = t->size[d1], v->size[d1] = t->size[d0];
    v->stride[d0] = t->stride[d1], v->stride[d1] = t->stride[d0];
    return v;
}

sl_tensor *sl_tensor_permute_new(const sl_tensor *t, int ndim, const int *perm)
{
    char b[128];
    if (ndim != t->ndim) {
        sl_error("permute: %d dims given for %s", ndim, sl_shape_str(t, b, sizeof b));
        return NULL;
    }
    bool seen[SL_MAX_DIMS] = {false};
    for (int d = 0; d < ndim; d++) {
        if (perm[d] < 0 || perm[d] >= ndim || seen[perm[d]]) {
            sl_error("permute: %d is not a valid permutation entry for %s", perm[d] + 1,
                     sl_shape_str(t, b, sizeof b));
            return NULL;
        }
        seen[perm[d]] = true;
    }
    sl_tensor *v = sl_tensor_view_new(t);
    if (!v) return NULL;
    for (int d = 0; d < ndim; d++) {
        v->size[d] = t->size[perm[d]];
        v->stride[d] = t->stride[perm[d]];
    }
    return v;
}

sl_tensor *sl_tensor_expand_new(const sl_tensor *t, int ndim, const int64_t *size)
{
    char b[128];
    if (ndim < t->ndim || ndim > SL_MAX_DIMS) {
        sl_error("expand: cannot expand %s to %d dims", sl_shape_str(t, b, sizeof b), ndim);
        return NULL;
    }
    int64_t sz[SL_MAX_DIMS], st[SL_MAX_DIMS];
    for (int i = 0; i < ndim; i++) {
        int d = t->ndim - ndim + i;
        sz[i] = size[i] == -1 && d >= 0 ? t->size[d] : size[i];
        if (sz[i] < 0) {
            sl_error("expand: invalid size %lld", (long long)size[i]);
            return NULL;
        }
    }
    if (sl_broadcast_strides(t, ndim, sz, st) != SL_OK) {
        sl_error_prefix("expand");
        return NULL;
    }
    sl_tensor *v = sl_tensor_view_new(t);
    if (!v) return NULL;
    v->ndim = ndim;
    memcpy(v->size, sz, sizeof sz);
    memcpy(v->stride, st, sizeof st);
    return v;
}

sl_tensor *sl_tensor_unsqueeze_new(const sl_tensor *t, int dim)
{
    if (dim < 0 || dim > t->ndim || t->ndim >= SL_MAX_DIMS) {
        char b[128];
        sl_error("unsqueeze: dim %d out of range for %s", dim + 1, sl_shape_str(t, b, sizeof b));
        return NULL;
    }
    sl_tensor *v = sl_tensor_view_new(t);
    if (!v) return NULL;
    for (int d = t->ndim; d > dim; d--) {
        v->size[d] = t->size[d - 1];
        v->stride[d] = t->stride[d - 1];
    }
    v->size[dim] = 1;
    v->stride[dim] = dim < t->ndim ? t->stride[dim] * t->size[dim] : 1;
    v->ndim++;
    return v;
}

sl_tensor *sl_tensor_squeeze_new(const sl_tensor *t, int dim)
{
    if (dim >= 0 && check_dim("squeeze", t, dim) != SL_OK) return NULL;
    sl_tensor *v = sl_tensor_view_new(t);
    if (!v) return NULL;
    int k = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->size[d] == 1 && (dim < 0 || d == dim)) continue;
        v->size[k] = t->size[d];
        v->stride[k] = t->stride[d];
        k++;
    }
    v->ndim = k;
    return v;
}

/* ---- copies ----------------------------------------------------------- */

typedef struct {
    sl_dtype dt_dst, dt_src;
    void *dst;
    const void *src;
} copy_ctx;

static void copy_row(void *vctx, const int64_t *off, const int64_t *inner, int64_t n)
{
    copy_ctx *c = vctx;
    if (c->dt_dst == SL_FLOAT32 && c->dt_src == SL_FLOAT32) {
        float *d = (float *)c->dst + off[0];
        const float *s = (const float *)c->src + off[1];
        if (inner[0] == 1 && inner[1] == 1) memcpy(d, s, (size_t)n * sizeof *d);
        else for (int64_t i = 0; i < n; i++) d[i * inner[0]] = s[i * inner[1]];
        return;
    }
    if (c->dt_dst == c->dt_src && inner[0] == 1 && inner[1] == 1) {
        size_t es = sl_dtype_size(c->dt_dst);
        memcpy((char *)c->dst + off[0] * es, (const char *)c->src + off[1] * es, (size_t)n * es);
        return;
    }
    if (c->dt_dst == SL_FLOAT32 && c->dt_src == SL_UINT8) {
        float *d = (float *)c->dst + off[0];
        const uint8_t *s = (const uint8_t *)c->src + off[1];
        for (int64_t i = 0; i < n; i++) d[i * inner[0]] = s[i * inner[1]];
        return;
    }
    if (c->dt_dst == SL_INT64 && c->dt_src == SL_INT64) {
        int64_t *d = (int64_t *)c->dst + off[0];
        const int64_t *s = (const int64_t *)c->src + off[1];
        for (int64_t i = 0; i < n; i++) d[i * inner[0]] = s[i * inner[1]];
        return;
    }
    for (int64_t i = 0; i < n; i++)
        sl_store(c->dt_dst, c->dst, off[0] + i * inner[0], sl_load(c->dt_src, c->src, off[1] + i * inner[1]));
}

int sl_tensor_copy(sl_tensor *dst, const sl_tensor *src)
{
    int64_t sstride[SL_MAX_DIMS];
    if (sl_broadcast_strides(src, dst->ndim, dst->size, sstride) != SL_OK || src->ndim > dst->ndim) {
        char a[128], b[128];
        return sl_error("copy: source %s does not match destination %s", sl_shape_str(src, a, sizeof a),
                        sl_shape_str(dst, b, sizeof b));
    }
    const int64_t *strides[2] = {dst->stride, sstride};
    sl_iter it;
    sl_iter_init(&it, dst->ndim, dst->size, 2, strides);
    copy_ctx c = {dst->dtype, src->dtype, (char *)dst->storage->data + dst->offset * (int64_t)sl_dtype_size(dst->dtype),
                  (const char *)src->storage->data + src->offset * (int64_t)sl_dtype_size(src->dtype)};
    sl_iter_run(&it, copy_row, &c, true);
    return SL_OK;
}

typedef struct {
    sl_dtype dt;
    void *dst;
    double value;
} fill_ctx;

static void fill_row(void *vctx, const int64_t *off, const int64_t *inner, int64_t n)
{
    fill_ctx *c = vctx;
    if (c->dt == SL_FLOAT32) {
        float *d = (float *)c->dst + off[0], v = (float)c->value;
        for (int64_t i = 0; i < n; i++) d[i * inner[0]] = v;
    } else {
        for (int64_t i = 0; i < n; i++) sl_store(c->dt, c->dst, off[0] + i * inner[0], c->value);
    }
}

void sl_tensor_fill(sl_tensor *t, double value)
{
    const int64_t *strides[1] = {t->stride};
    sl_iter it;
    sl_iter_init(&it, t->ndim, t->size, 1, strides);
    fill_ctx c = {t->dtype, sl_tensor_data(t), value};
    sl_iter_run(&it, fill_row, &c, true);
}

sl_tensor *sl_tensor_clone_new(const sl_tensor *t) { return sl_tensor_to_dtype_new(t, t->dtype); }

sl_tensor *sl_tensor_to_dtype_new(const sl_tensor *t, sl_dtype dt)
{
    sl_tensor *c = sl_tensor_new(dt, t->ndim, t->size);
    if (c) sl_tensor_copy(c, t);
    return c;
}

sl_tensor *sl_tensor_contiguous_new(const sl_tensor *t)
{
    return sl_tensor_is_contiguous(t) ? sl_tensor_view_new(t) : sl_tensor_clone_new(t);
}

sl_tensor *sl_tensor_channels_last_new(const sl_tensor *t)
{
    char b[128];
    if (t->ndim != 4) {
        sl_error("channels_last: expected a 4-d [N x C x H x W] tensor, got %s", sl_shape_str(t, b, sizeof b));
        return NULL;
    }
    if (sl_tensor_is_channels_last(t)) return sl_tensor_view_new(t);
    const int64_t N = t->size[0], C = t->size[1], H = t->size[2], W = t->size[3];
    sl_tensor *c = sl_tensor_new(t->dtype, 4, (int64_t[]){N, H, W, C});
    if (!c) return NULL;
    /* the same memory seen as [N x C x H x W] */
    c->size[1] = C, c->size[2] = H, c->size[3] = W;
    c->stride[0] = H * W * C, c->stride[1] = 1, c->stride[2] = W * C, c->stride[3] = C;
    if (sl_tensor_copy(c, t) != SL_OK) {
        sl_tensor_free(c);
        return NULL;
    }
    return c;
}

/* ---- gather / scatter along a dim ------------------------------------ */

static int check_index(const char *op, const sl_tensor *idx, int64_t limit)
{
    char b[128];
    if (idx->dtype != SL_INT64 || idx->ndim != 1)
        return sl_error("%s: index must be a 1-d int64 tensor, got %s %s", op, sl_dtype_name(idx->dtype),
                        sl_shape_str(idx, b, sizeof b));
    for (int64_t i = 0; i < idx->size[0]; i++) {
        int64_t v = sl_i64(idx)[i * idx->stride[0]];
        if (v < 0 || v >= limit)
            return sl_error("%s: index %lld (entry %lld) out of range [1, %lld]", op, (long long)v + 1,
                            (long long)i + 1, (long long)limit);
    }
    return SL_OK;
}

sl_tensor *sl_tensor_index_select_new(const sl_tensor *t, int dim, const sl_tensor *idx)
{
    if (check_dim("index_select", t, dim) != SL_OK || check_index("index_select", idx, t->size[dim]) != SL_OK)
        return NULL;
    int64_t size[SL_MAX_DIMS];
    memcpy(size, t->size, sizeof size);
    size[dim] = idx->size[0];
    sl_tensor *out = sl_tensor_new(t->dtype, t->ndim, size);
    if (!out) return NULL;
    for (int64_t i = 0; i < idx->size[0]; i++) {
        sl_tensor src = *t, dst = *out;
        int64_t row = sl_i64(idx)[i * idx->stride[0]];
        src.offset += row * t->stride[dim];
        dst.offset += i * out->stride[dim];
        src.size[dim] = dst.size[dim] = 1;
        sl_tensor_copy(&dst, &src);
    }
    return out;
}

int sl_tensor_index_copy(sl_tensor *dst, int dim, const sl_tensor *idx, const sl_tensor *src, bool accumulate)
{
    const char *op = accumulate ? "index_add" : "index_copy";
    char a[128], b[128];
    if (check_dim(op, dst, dim) != SL_OK || check_index(op, idx, dst->size[dim]) != SL_OK) return SL_ERR;
    bool ok = src->ndim == dst->ndim && src->size[dim] == idx->size[0];
    for (int d = 0; ok && d < dst->ndim; d++) ok = d == dim || src->size[d] == dst->size[d];
    if (!ok)
        return sl_error("%s: source %s does not fit destination %s with %lld indices along dim %d", op,
                        sl_shape_str(src, a, sizeof a), sl_shape_str(dst, b, sizeof b), (long long)idx->size[0],
                        dim + 1);
    for (int64_t i = 0; i < idx->size[0]; i++) {
        sl_tensor s = *src, d = *dst;
        s.offset += i * src->stride[dim];
        d.offset += sl_i64(idx)[i * idx->stride[0]] * dst->stride[dim];
        s.size[dim] = d.size[dim] = 1;
        if (!accumulate) {
            sl_tensor_copy(&d, &s);
            continue;
        }
        int64_t n = sl_tensor_numel(&d), pos[SL_MAX_DIMS] = {0};
        for (int64_t e = 0; e < n; e++) {
            sl_tensor_set(&d, pos, sl_tensor_get(&d, pos) + sl_tensor_get(&s, pos));
            for (int k = d.ndim - 1; k >= 0 && ++pos[k] == d.size[k]; k--) pos[k] = 0;
        }
    }
    return SL_OK;
}

sl_tensor *sl_tensor_cat_new(sl_tensor *const *ts, int n, int dim)
{
    char a[128], b[128];
    if (n < 1) {
        sl_error("cat: no tensors given");
        return NULL;
    }
    if (check_dim("cat", ts[0], dim) != SL_OK) return NULL;
    int64_t size[SL_MAX_DIMS];
    memcpy(size, ts[0]->size, sizeof size);
    size[dim] = 0;
    for (int i = 0; i < n; i++) {
        bool ok = ts[i]->ndim == ts[0]->ndim && ts[i]->dtype == ts[0]->dtype;
        for (int d = 0; ok && d < ts[0]->ndim; d++) ok = d == dim || ts[i]->size[d] == ts[0]->size[d];
        if (!ok) {
            sl_error("cat: tensor %d (%s %s) does not match tensor 1 (%s %s) outside dim %d", i + 1,
                     sl_dtype_name(ts[i]->dtype), sl_shape_str(ts[i], a, sizeof a), sl_dtype_name(ts[0]->dtype),
                     sl_shape_str(ts[0], b, sizeof b), dim + 1);
            return NULL;
        }
        size[dim] += ts[i]->size[dim];
    }
    sl_tensor *out = sl_tensor_new(ts[0]->dtype, ts[0]->ndim, size);
    if (!out) return NULL;
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        sl_tensor part = *out;
        part.offset += at * out->stride[dim];
        part.size[dim] = ts[i]->size[dim];
        sl_tensor_copy(&part, ts[i]);
        at += ts[i]->size[dim];
    }
    return out;
}
