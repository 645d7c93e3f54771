/* iter.c - strided multi-operand iteration with dim coalescing (see iter.h). */
#include "tensor/iter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PARALLEL_GRAIN = 1 << 15, CHUNK = 1 << 14 };

void sl_iter_init(sl_iter *it, int ndim, const int64_t *size, int nops, const int64_t *const *strides)
{
    it->nops = nops;
    it->ndim = 0;
    /* Walk the dims in the memory order of operand 0 (the output): largest stride
     * first. Element-wise results do not depend on the order, and a tensor laid out
     * channels last ([N x C x H x W] with memory [N x H x W x C]) then merges into
     * one run like a contiguous one. Stable, so contiguous tensors keep their order. */
    int order[SL_MAX_DIMS];
    for (int d = 0; d < ndim; d++) {
        int k = d;
        while (k > 0 && llabs(strides[0][order[k - 1]]) < llabs(strides[0][d])) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = d;
    }
    /* Drop size-1 dims, then merge dim d into d+1 when every operand is
     * contiguous across them (stride[d] == stride[d+1] * size[d+1]). */
    for (int j = 0; j < ndim; j++) {
        const int d = order[j];
        if (size[d] == 1) continue;
        int k = it->ndim;
        if (k > 0) {
            bool mergeable = true;
            for (int o = 0; o < nops; o++)
                if (it->stride[o][k - 1] != strides[o][d] * size[d]) mergeable = false;
            if (mergeable) {
                it->size[k - 1] *= size[d];
                for (int o = 0; o < nops; o++) it->stride[o][k - 1] = strides[o][d];
                continue;
            }
        }
        it->size[k] = size[d];
        for (int o = 0; o < nops; o++) it->stride[o][k] = strides[o][d];
        it->ndim++;
    }
    for (int d = 0; d < ndim; d++)
        if (size[d] == 0) { /* empty: one dim of size 0 */
            it->ndim = 1;
            it->size[0] = 0;
            for (int o = 0; o < nops; o++) it->stride[o][0] = 0;
        }
    if (it->ndim == 0) { /* scalar */
        it->ndim = 1;
        it->size[0] = 1;
        for (int o = 0; o < nops; o++) it->stride[o][0] = 0;
    }
}

int64_t sl_iter_numel(const sl_iter *it)
{
    int64_t n = 1;
    for (int d = 0; d < it->ndim; d++) n *= it->size[d];
    return n;
}

/* Offsets of the first element of outer row `row` (dims 0..ndim-2). */
static void row_offsets(const sl_iter *it, int64_t row, int64_t *off)
{
    for (int o = 0; o < it->nops; o++) off[o] = 0;
    for (int d = it->ndim - 2; d >= 0; d--) {
        int64_t i = row % it->size[d];
        row /= it->size[d];
        for (int o = 0; o < it->nops; o++) off[o] += i * it->stride[o][d];
    }
}

void sl_iter_run(const sl_iter *it, sl_iter_row_fn row, void *ctx, bool parallel)
{
    int64_t inner_n = it->size[it->ndim - 1];
    int64_t rows = sl_iter_numel(it) / (inner_n ? inner_n : 1);
    if (inner_n == 0) return;
    int64_t inner[SL_ITER_MAX_OPS];
    for (int o = 0; o < it->nops; o++) inner[o] = it->stride[o][it->ndim - 1];
    /* Split long rows into chunks so that a single contiguous row parallelises too. */
    int64_t chunks_per_row = (inner_n + CHUNK - 1) / CHUNK;
    int64_t tasks = rows * chunks_per_row;
    bool par = parallel && rows * inner_n >= PARALLEL_GRAIN && tasks > 1;
    #pragma omp parallel for schedule(static) if (par)
    for (int64_t task = 0; task < tasks; task++) {
        int64_t r = task / chunks_per_row, c = task % chunks_per_row;
        int64_t off[SL_ITER_MAX_OPS];
        row_offsets(it, r, off);
        int64_t start = c * CHUNK, n = inner_n - start < CHUNK ? inner_n - start : CHUNK;
        for (int o = 0; o < it->nops; o++) off[o] += start * inner[o];
        row(ctx, off, inner, n);
    }
}

int sl_broadcast_shape(const char *op, const sl_tensor *a, const sl_tensor *b, int *ndim, int64_t *size)
{
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < n; i++) {
        int da = a->ndim - n + i, db = b->ndim - n + i;
        int64_t sa = da >= 0 ? a->size[da] : 1, sb = db >= 0 ? b->size[db] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            char ba[128], bb[128];
            return sl_error("%s: shapes %s and %s cannot be broadcast (dim %d: %lld vs %lld)", op,
                            sl_shape_str(a, ba, sizeof ba), sl_shape_str(b, bb, sizeof bb), i + 1,
                            (long long)sa, (long long)sb);
        }
        size[i] = sa == 1 ? sb : sa;
    }
    *ndim = n;
    return SL_OK;
}

int sl_broadcast_strides(const sl_tensor *t, int ndim, const int64_t *size, int64_t *stride)
{
    for (int i = 0; i < ndim; i++) {
        int d = t->ndim - ndim + i;
        if (d < 0 || (t->size[d] == 1 && size[i] != 1)) stride[i] = 0;
        else if (t->size[d] == size[i]) stride[i] = t->stride[d];
        else {
            char b[128];
            return sl_error("cannot expand %s to size %lld in dim %d", sl_shape_str(t, b, sizeof b),
                            (long long)size[i], i + 1);
        }
    }
    return SL_OK;
}
