/* format.h - text form of a tensor, PyTorch-like:
 *   tensor([[ 1.0000, -2.5000],
 *           [ 3.0000,  4.0000]])
 *   [float32 2x2]
 * Large tensors (more than 1000 elements) show 3 items at each end of every dim
 * with "..." between. Returns a string allocated with sl_malloc (sl_free it). */
#ifndef SL_FORMAT_H
#define SL_FORMAT_H

#include "tensor/tensor.h"

char *sl_tensor_format(const sl_tensor *t);

#endif
