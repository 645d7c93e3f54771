/* sort.c - stable merge sort of (value, index) pairs per line (see sort.h).
 * Lines are independent, so they are sorted in parallel. */
#include "tensor/sort.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/alloc.h"
#include "tensor/view.h"

typedef struct {
    double v;
    int64_t i;
} pair;

/* a before b?  (ties keep input order: the merge takes from the left run first) */
static inline bool before(const pair *a, const pair *b, bool descending)
{
    bool an = isnan(a->v), bn = isnan(b->v);
    if (an || bn) return descending ? an && !bn : !an && bn;
    return descending ? a->v > b->v : a->v < b->v;
}

static void merge_sort(pair *p, pair *tmp, int64_t n, bool descending)
{
    for (int64_t width = 1; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = before(&p[j], &p[i], descending) ? p[j++] : p[i++];
            while (i < mid) tmp[k++] = p[i++];
            while (j < hi) tmp[k++] = p[j++];
        }
        memcpy(p, tmp, (size_t)n * sizeof *p);
    }
}

/* Sort every line along dim; keep the first k of each into values/indices. */
static int sort_lines(const char *op, const sl_tensor *t, int dim, bool descending, int64_t k, sl_tensor **values,
                      sl_tensor **indices)
{
    char b[128];
    *values = *indices = NULL;
    if (t->ndim == 0) return sl_error("%s: needs at least one dim", op);
    if (dim < 0 || dim >= t->ndim)
        return sl_error("%s: dim %d out of range for %s", op, dim + 1, sl_shape_str(t, b, sizeof b));
    int64_t n = t->size[dim];
    if (k < 0 || k > n)
        return sl_error("%s: k = %lld out of range for dim %d of size %lld", op, (long long)k, dim + 1, (long long)n);
    int64_t size[SL_MAX_DIMS];
    memcpy(size, t->size, sizeof size);
    size[dim] = k;
    sl_tensor *v = sl_tensor_new(t->dtype, t->ndim, size), *ix = sl_tensor_new(SL_INT64, t->ndim, size);
    int64_t lines = n ? sl_tensor_numel(t) / n : 0;
    bool parallel = lines > 1 && lines * n > 16384;
    int nthreads = parallel ? omp_get_max_threads() : 1;
    pair *buf = sl_malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof(pair) * (size_t)nthreads);
    if (!v || !ix || !buf) {
        sl_tensor_free(v), sl_tensor_free(ix), sl_free(buf);
        return SL_ERR;
    }
    #pragma omp parallel for schedule(static) if (parallel) num_threads(nthreads)
    for (int64_t line = 0; line < lines; line++) {
        pair *p = buf + (size_t)omp_get_thread_num() * 2 * (size_t)n, *tmp = p + n; /* this thread's scratch */
        int64_t rem = line, in_off = t->offset, out_off = 0;
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (d == dim) continue;
            int64_t i = rem % t->size[d];
            rem /= t->size[d];
            in_off += i * t->stride[d];
            out_off += i * v->stride[d];
        }
        for (int64_t i = 0; i < n; i++) {
            p[i].v = sl_load(t->dtype, t->storage->data, in_off + i * t->stride[dim]);
            p[i].i = i;
        }
        merge_sort(p, tmp, n, descending);
        for (int64_t i = 0; i < k; i++) {
            sl_store(v->dtype, v->storage->data, out_off + i * v->stride[dim], p[i].v);
            sl_i64(ix)[out_off + i * ix->stride[dim]] = p[i].i;
        }
    }
    sl_free(buf);
    *values = v;
    *indices = ix;
    return SL_OK;
}

int sl_tensor_sort(const sl_tensor *t, int dim, bool descending, sl_tensor **values, sl_tensor **indices)
{
    return sort_lines("sort", t, dim, descending, dim >= 0 && dim < t->ndim ? t->size[dim] : 0, values, indices);
}

int sl_tensor_topk(const sl_tensor *t, int64_t k, int dim, bool largest, sl_tensor **values, sl_tensor **indices)
{
    return sort_lines("topk", t, dim, largest, k, values, indices);
}
