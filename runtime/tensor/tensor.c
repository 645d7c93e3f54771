/* tensor.c - tensor headers, storage reference counting, shape helpers. */
#include "tensor/tensor.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

static const char *const dtype_names[SL_NUM_DTYPES] = {"float32", "uint8", "int64"};
static const size_t dtype_sizes[SL_NUM_DTYPES] = {4, 1, 8};

size_t sl_dtype_size(sl_dtype dt) { return dtype_sizes[dt]; }
const char *sl_dtype_name(sl_dtype dt) { return (unsigned)dt < SL_NUM_DTYPES ? dtype_names[dt] : "?"; }

int sl_dtype_from_name(const char *name, sl_dtype *out)
{
    for (int i = 0; i < SL_NUM_DTYPES; i++)
        if (strcmp(name, dtype_names[i]) == 0) {
            *out = (sl_dtype)i;
            return SL_OK;
        }
    if (strcmp(name, "float") == 0) { *out = SL_FLOAT32; return SL_OK; }
    if (strcmp(name, "long") == 0) { *out = SL_INT64; return SL_OK; }
    if (strcmp(name, "byte") == 0) { *out = SL_UINT8; return SL_OK; }
    return sl_error("unknown dtype '%s' (expected float32, uint8 or int64)", name);
}

static sl_storage *storage_new(int64_t nbytes)
{
    sl_storage *s = sl_malloc(sizeof *s);
    if (!s) return NULL;
    s->data = sl_malloc_aligned((size_t)(nbytes > 0 ? nbytes : 1));
    if (!s->data) {
        sl_free(s);
        return NULL;
    }
    s->nbytes = nbytes;
    s->refcount = 1;
    s->borrowed = false;
    return s;
}

static void storage_release(sl_storage *s)
{
    if (!s) return;
    if (__atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) == 0) {
        if (!s->borrowed) sl_free(s->data);
        sl_free(s);
    }
}

/* Validate sizes and compute the element count, guarding overflow. */
static int check_sizes(int ndim, const int64_t *size, int64_t *numel)
{
    if (ndim < 0 || ndim > SL_MAX_DIMS)
        return sl_error("tensor: %d dimensions requested (at most %d)", ndim, SL_MAX_DIMS);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (size[d] < 0) return sl_error("tensor: negative size %lld in dim %d", (long long)size[d], d + 1);
        if (size[d] && n > INT64_MAX / 8 / size[d])
            return sl_error("tensor: size overflow (dim %d = %lld)", d + 1, (long long)size[d]);
        n *= size[d];
    }
    *numel = n;
    return SL_OK;
}

static void set_contiguous_strides(sl_tensor *t)
{
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        t->stride[d] = s;
        s *= t->size[d] > 0 ? t->size[d] : 1;
    }
}

sl_tensor *sl_tensor_new(sl_dtype dt, int ndim, const int64_t *size)
{
    int64_t numel = 0;
    if ((unsigned)dt >= SL_NUM_DTYPES) {
        sl_error("tensor: bad dtype %d", (int)dt);
        return NULL;
    }
    if (check_sizes(ndim, size, &numel) != SL_OK) return NULL;
    sl_tensor *t = sl_malloc(sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->storage = storage_new(numel * (int64_t)dtype_sizes[dt]);
    if (!t->storage) {
        sl_free(t);
        return NULL;
    }
    t->dtype = dt;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->size[d] = size[d];
    set_contiguous_strides(t);
    return t;
}

sl_tensor *sl_tensor_zeros(sl_dtype dt, int ndim, const int64_t *size)
{
    sl_tensor *t = sl_tensor_new(dt, ndim, size);
    if (t) memset(t->storage->data, 0, (size_t)t->storage->nbytes);
    return t;
}

sl_tensor *sl_tensor_new_like(const sl_tensor *t) { return sl_tensor_new(t->dtype, t->ndim, t->size); }

sl_tensor *sl_tensor_view_new(const sl_tensor *t)
{
    sl_tensor *v = sl_malloc(sizeof *v);
    if (!v) return NULL;
    *v = *t;
    __atomic_add_fetch(&t->storage->refcount, 1, __ATOMIC_RELAXED);
    return v;
}

void sl_tensor_free(sl_tensor *t)
{
    if (!t) return;
    storage_release(t->storage);
    sl_free(t);
}

int64_t sl_tensor_numel(const sl_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->size[d];
    return n;
}

/* t's elements fill its storage densely with the dims in memory order `order`
 * (outermost first); sizes of 1 place no constraint. */
static bool dense_in_order(const sl_tensor *t, const int *order)
{
    if (sl_tensor_numel(t) == 0) return true; /* no element to misplace */
    int64_t s = 1;
    for (int k = t->ndim - 1; k >= 0; k--) {
        const int d = order ? order[k] : k;
        if (t->size[d] != 1 && t->stride[d] != s) return false;
        s *= t->size[d];
    }
    return true;
}

bool sl_tensor_is_contiguous(const sl_tensor *t)
{
    return dense_in_order(t, NULL);
}

bool sl_tensor_is_channels_last(const sl_tensor *t)
{
    static const int nhwc[4] = {0, 2, 3, 1}; /* memory order N, H, W, C */
    return t->ndim == 4 && dense_in_order(t, nhwc);
}

bool sl_tensor_same_shape(const sl_tensor *a, const sl_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->size[d] != b->size[d]) return false;
    return true;
}

const char *sl_shape_str(const sl_tensor *t, char *buf, size_t n)
{
    size_t used = 0;
    used += (size_t)snprintf(buf + used, n - used, "[");
    for (int d = 0; d < t->ndim && used < n; d++)
        used += (size_t)snprintf(buf + used, n - used, d ? "x%lld" : "%lld", (long long)t->size[d]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

void *sl_tensor_data(const sl_tensor *t)
{
    return (char *)t->storage->data + t->offset * (int64_t)dtype_sizes[t->dtype];
}

int sl_tensor_check(const sl_tensor *t, const char *what, sl_dtype dt, int ndim, const int64_t *size)
{
    char got[128];
    if (t->dtype != dt)
        return sl_error("%s: expected a %s tensor, got %s %s", what, sl_dtype_name(dt), sl_dtype_name(t->dtype),
                        sl_shape_str(t, got, sizeof got));
    bool ok = t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = size[d] < 0 || t->size[d] == size[d];
    if (!ok) {
        char want[128] = "[";
        size_t used = 1;
        for (int d = 0; d < ndim; d++)
            used += (size_t)(size[d] < 0 ? snprintf(want + used, sizeof want - used, d ? "x*" : "*")
                                         : snprintf(want + used, sizeof want - used, d ? "x%lld" : "%lld",
                                                    (long long)size[d]));
        snprintf(want + used, sizeof want - used, "]");
        return sl_error("%s: expected shape %s, got %s", what, want, sl_shape_str(t, got, sizeof got));
    }
    return SL_OK;
}
