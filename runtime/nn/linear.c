/* linear.c - fully connected layer y = x W^T + b (W is [out x in], as PyTorch),
 * forward and backward through sl_gemm (see nn.h). */
#include "nn/nn.h"
#include "nn/parallel.h"

#include "tensor/gemm.h"

static int linear_check(int N, int in, int out, const char *op)
{
    if (N < 1 || in < 1 || out < 1)
        return sl_error("%s: sizes must be positive, input [%dx%d], weight [%dx%d]", op, N, in, out, in);
    return SL_OK;
}

int sl_linear_forward(const float *x, float *y, const float *weight, const float *bias, int N, int in, int out)
{
    if (linear_check(N, in, out, "linear_forward") != SL_OK) return SL_ERR;
    if (!x || !y || !weight)
        return sl_error("linear_forward: NULL input, output or weight (input [%dx%d], weight [%dx%d])", N, in,
                        out, in);
    if (bias) {
#pragma omp parallel for schedule(static) if ((int64_t)N * out > NN_PAR_WORK)
        for (int n = 0; n < N; n++)
            for (int j = 0; j < out; j++) y[(int64_t)n * out + j] = bias[j];
    }
    sl_gemm(false, true, N, out, in, 1.0f, x, in, weight, in, bias ? 1.0f : 0.0f, y, out);
    return SL_OK;
}

int sl_linear_backward(const float *x, const float *grad_y, const float *weight, float *grad_x,
                       float *grad_weight, float *grad_bias, int N, int in, int out)
{
    if (linear_check(N, in, out, "linear_backward") != SL_OK) return SL_ERR;
    if (!grad_y || (grad_x && !weight) || (grad_weight && !x))
        return sl_error("linear_backward: NULL input, grad_output or weight (input [%dx%d], weight [%dx%d])", N,
                        in, out, in);
    if (grad_x) sl_gemm(false, false, N, in, out, 1.0f, grad_y, out, weight, in, 0.0f, grad_x, in);
    if (grad_weight) sl_gemm(true, false, out, in, N, 1.0f, grad_y, out, x, in, 1.0f, grad_weight, in);
    if (grad_bias) {
#pragma omp parallel for schedule(static) if ((int64_t)N * out > NN_PAR_WORK)
        for (int j = 0; j < out; j++) {
            double s = 0.0;
            for (int n = 0; n < N; n++) s += grad_y[(int64_t)n * out + j];
            grad_bias[j] += (float)s;
        }
    }
    return SL_OK;
}
