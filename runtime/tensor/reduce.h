/* reduce.h - reductions along one dim or over all elements.
 * Sums accumulate in double; results do not depend on the thread count. */
#ifndef SL_REDUCE_H
#define SL_REDUCE_H

#include "tensor/tensor.h"

typedef enum {
    SL_RED_SUM, SL_RED_MEAN, SL_RED_PROD, SL_RED_MAX, SL_RED_MIN, SL_RED_ARGMAX, SL_RED_ARGMIN,
    SL_RED_NORM, /* param = p (p-norm, p > 0; inf for max-abs) */
    SL_RED_VAR,  /* param = correction (1 = unbiased) */
    SL_RED_STD,
    SL_NUM_REDUCTIONS
} sl_reduction;

const char *sl_reduction_name(sl_reduction op);

/* Reduce along dim. *values gets the result (float32, or the input dtype for
 * sum/prod/max/min of integers); for max/min, *indices (if non-NULL) gets the
 * int64 positions of the first extreme; argmax/argmin put positions in *values. */
int sl_tensor_reduce_dim(sl_reduction op, const sl_tensor *t, int dim, bool keepdim, double param,
                         sl_tensor **values, sl_tensor **indices);
/* Reduce all elements; argmax/argmin give the flat 0-based position. */
int sl_tensor_reduce_all(sl_reduction op, const sl_tensor *t, double param, double *result);

#endif
