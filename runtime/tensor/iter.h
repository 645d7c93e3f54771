/* iter.h - strided iteration over up to 4 operands sharing one shape.
 *
 * Used by the elementwise, copy and reduction code. The caller gives the
 * iteration shape and, per operand, its strides (0 in a broadcast dim).
 * sl_iter_init coalesces dims that are contiguous for every operand, so a
 * contiguous op becomes one long row. sl_iter_run then calls `row` on chunks
 * of the innermost dim, in parallel when the work is large; each chunk gets
 * the element offsets of its first element and the inner strides.
 */
#ifndef SL_ITER_H
#define SL_ITER_H

#include "tensor/tensor.h"

#define SL_ITER_MAX_OPS 4

typedef struct sl_iter {
    int ndim, nops;
    int64_t size[SL_MAX_DIMS];
    int64_t stride[SL_ITER_MAX_OPS][SL_MAX_DIMS];
} sl_iter;

/* A row callback: n elements, operand k starts at offset[k] with step inner[k]. */
typedef void (*sl_iter_row_fn)(void *ctx, const int64_t *offset, const int64_t *inner, int64_t n);

void sl_iter_init(sl_iter *it, int ndim, const int64_t *size, int nops, const int64_t *const *strides);
int64_t sl_iter_numel(const sl_iter *it);
/* Calls row() over every element; parallel (OpenMP) when numel >= grain and allowed. */
void sl_iter_run(const sl_iter *it, sl_iter_row_fn row, void *ctx, bool parallel);

/* Broadcast shapes a and b (numpy rules) into out; message names `op`. */
int sl_broadcast_shape(const char *op, const sl_tensor *a, const sl_tensor *b, int *ndim, int64_t *size);
/* Strides of t viewed at the broadcast shape (0 where t has size 1 or is missing). */
int sl_broadcast_strides(const sl_tensor *t, int ndim, const int64_t *size, int64_t *stride);

#endif
