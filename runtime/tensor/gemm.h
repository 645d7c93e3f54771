/* gemm.h - the one GEMM entry point: C = alpha * op(A) @ op(B) + beta * C.
 *
 * Row-major, like cblas_sgemm with CblasRowMajor. Every matmul, linear layer
 * and convolution goes through sl_gemm so that threading and BLAS choice live
 * in one place. sl_gemm_naive is the plain triple loop used by the tests.
 *   A: op(A) is [M x K], lda = row stride of A as stored
 *   B: op(B) is [K x N], ldb = row stride of B as stored
 *   C: [M x N], ldc = row stride of C
 */
#ifndef SL_GEMM_H
#define SL_GEMM_H

#include <stdbool.h>

void sl_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
void sl_gemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* Threads OpenBLAS and sslab's own kernels may use (default: all cores). */
void sl_set_num_threads(int n);
int sl_get_num_threads(void);

#endif
