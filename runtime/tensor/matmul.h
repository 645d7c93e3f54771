/* matmul.h - matrix products through sl_gemm, mapping strides to transposes.
 *
 * A 2-d operand whose rows or columns are unit-stride is handed to BLAS as is
 * (with the transpose flag when its columns are the strided ones); anything
 * else is copied to a contiguous temporary first.
 */
#ifndef SL_MATMUL_H
#define SL_MATMUL_H

#include "tensor/tensor.h"

/* out = beta * out + alpha * a @ b; a [M x K], b [K x N], out [M x N] float32. */
int sl_tensor_addmm(sl_tensor *out, float beta, float alpha, const sl_tensor *a, const sl_tensor *b);
/* torch.matmul semantics for 1-d, 2-d and batched (>= 3-d, batch dims broadcast). */
sl_tensor *sl_tensor_matmul_new(const sl_tensor *a, const sl_tensor *b);
/* a [B x M x K] @ b [B x K x N] -> [B x M x N]. */
sl_tensor *sl_tensor_bmm_new(const sl_tensor *a, const sl_tensor *b);

#endif
