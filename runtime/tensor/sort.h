/* sort.h - stable sort and top-k along a dim (values + int64 indices).
 * NaN sorts above every number, as in PyTorch. */
#ifndef SL_SORT_H
#define SL_SORT_H

#include "tensor/tensor.h"

int sl_tensor_sort(const sl_tensor *t, int dim, bool descending, sl_tensor **values, sl_tensor **indices);
/* The k largest (or smallest) along dim, in sorted order. */
int sl_tensor_topk(const sl_tensor *t, int64_t k, int dim, bool largest, sl_tensor **values, sl_tensor **indices);

#endif
