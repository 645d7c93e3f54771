/* view.h - views (shared storage, new header) and copies.
 * Dims are 0-based here. Every *_new returns an owned reference (or NULL with
 * a message set). */
#ifndef SL_VIEW_H
#define SL_VIEW_H

#include "tensor/tensor.h"

/* View with new sizes (one may be -1). Fails unless t is contiguous. */
sl_tensor *sl_tensor_view_shape_new(const sl_tensor *t, int ndim, const int64_t *size);
/* Like view, but copies when t is not contiguous. */
sl_tensor *sl_tensor_reshape_new(const sl_tensor *t, int ndim, const int64_t *size);
sl_tensor *sl_tensor_narrow_new(const sl_tensor *t, int dim, int64_t start, int64_t length);
sl_tensor *sl_tensor_select_new(const sl_tensor *t, int dim, int64_t index);
sl_tensor *sl_tensor_transpose_new(const sl_tensor *t, int d0, int d1);
sl_tensor *sl_tensor_permute_new(const sl_tensor *t, int ndim, const int *perm);
/* Broadcast view to size (size -1 keeps the dim); stride 0 in expanded dims. */
sl_tensor *sl_tensor_expand_new(const sl_tensor *t, int ndim, const int64_t *size);
sl_tensor *sl_tensor_unsqueeze_new(const sl_tensor *t, int dim);
/* dim < 0: squeeze every size-1 dim. */
sl_tensor *sl_tensor_squeeze_new(const sl_tensor *t, int dim);
/* t itself (new reference) if contiguous, else a contiguous copy. */
sl_tensor *sl_tensor_contiguous_new(const sl_tensor *t);
/* t itself (a view) if it is channels last (sl_tensor_is_channels_last), else a
 * channels-last copy; t must be 4-d. */
sl_tensor *sl_tensor_channels_last_new(const sl_tensor *t);
sl_tensor *sl_tensor_clone_new(const sl_tensor *t);
sl_tensor *sl_tensor_to_dtype_new(const sl_tensor *t, sl_dtype dt);

/* dst[...] = src broadcast to dst's shape, converting dtype. */
int sl_tensor_copy(sl_tensor *dst, const sl_tensor *src);
void sl_tensor_fill(sl_tensor *t, double value);

/* Rows of t along dim picked by idx (int64, 1-d, 0-based values). */
sl_tensor *sl_tensor_index_select_new(const sl_tensor *t, int dim, const sl_tensor *idx);
/* dst.select(dim, idx[i]) = src.select(dim, i)  (accumulate: +=). */
int sl_tensor_index_copy(sl_tensor *dst, int dim, const sl_tensor *idx, const sl_tensor *src, bool accumulate);
/* Concatenate n tensors along dim (same dtype, other sizes equal). */
sl_tensor *sl_tensor_cat_new(sl_tensor *const *ts, int n, int dim);

/* Element access as double (index: one per dim, 0-based, checked by caller). */
double sl_tensor_get(const sl_tensor *t, const int64_t *index);
void sl_tensor_set(sl_tensor *t, const int64_t *index, double value);
/* Load / store element at an element offset of storage, converting. */
double sl_load(sl_dtype dt, const void *base, int64_t offset);
void sl_store(sl_dtype dt, void *base, int64_t offset, double v);

#endif
