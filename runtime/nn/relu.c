/* relu.c - rectified linear unit, forward and backward (see nn.h). In place is
 * fine both ways; backward masks with the forward output (y > 0). Both loops load
 * every operand unconditionally and select, so they vectorise (`omp simd`; a
 * conditional load of grad_y kept backward scalar and branchy, 9x slower). */
#include "nn/nn.h"
#include "nn/parallel.h"

int sl_relu_forward(const float *x, float *y, int64_t n)
{
    if (n < 0 || (n > 0 && (!x || !y)))
        return sl_error("relu_forward: bad arguments, [%lld] elements, x %p, y %p", (long long)n,
                        (const void *)x, (void *)y);
#pragma omp parallel for simd schedule(static) if (n > NN_PAR_WORK)
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
    return SL_OK;
}

int sl_relu_backward(const float *y, const float *grad_y, float *grad_x, int64_t n)
{
    if (n < 0 || (n > 0 && (!y || !grad_y || !grad_x)))
        return sl_error("relu_backward: bad arguments, [%lld] elements", (long long)n);
#pragma omp parallel for simd schedule(static) if (n > NN_PAR_WORK)
    for (int64_t i = 0; i < n; i++) {
        const float g = grad_y[i];
        grad_x[i] = y[i] > 0.0f ? g : 0.0f;
    }
    return SL_OK;
}

int sl_add_relu_forward(const float *a, const float *b, float *y, int64_t n)
{
    if (n < 0 || (n > 0 && (!a || !b || !y)))
        return sl_error("add_relu: bad arguments, [%lld] elements", (long long)n);
#pragma omp parallel for simd schedule(static) if (n > NN_PAR_WORK)
    for (int64_t i = 0; i < n; i++) {
        const float v = a[i] + b[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
    return SL_OK;
}
