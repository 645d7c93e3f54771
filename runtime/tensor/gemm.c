/* gemm.c - the one GEMM entry point over OpenBLAS cblas_sgemm (see gemm.h). */
#include "tensor/gemm.h"

#include <cblas.h>
#include <omp.h>
#include <unistd.h>

void sl_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Reference: plain loops, double accumulation. */
void sl_gemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(long)k * lda + i] : A[(long)i * lda + k];
                float b = trans_b ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                acc += (double)a * b;
            }
            float prev = beta == 0.0f ? 0.0f : beta * C[(long)i * ldc + j];
            C[(long)i * ldc + j] = (float)(alpha * acc) + prev;
        }
}

static int num_threads;

void sl_set_num_threads(int n)
{
    if (n < 1) n = 1;
    num_threads = n;
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
}

int sl_get_num_threads(void)
{
    if (num_threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        num_threads = cores > 0 ? (int)cores : 1;
    }
    return num_threads;
}
