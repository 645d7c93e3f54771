/* mse.c - mean squared error, loss and gradient in one pass (see nn.h):
 *   loss = sum (x - t)^2 / n,  grad = 2 (x - t) / n.
 * Partial sums over fixed chunks, added in order: independent of thread count. */
#include "nn/nn.h"
#include "nn/parallel.h"

#define MSE_MAX_CHUNKS 1024

int sl_mse(const float *x, const float *target, float *loss, float *grad_x, int64_t n)
{
    if (n < 1) return sl_error("mse: need at least one element, got [%lld]", (long long)n);
    if (!x || !target || !loss) return sl_error("mse: NULL input, target or loss ([%lld] elements)", (long long)n);
    const int64_t nchunks = n < MSE_MAX_CHUNKS ? n : MSE_MAX_CHUNKS;
    const int64_t chunk = (n + nchunks - 1) / nchunks;
    double partial[MSE_MAX_CHUNKS];
    const float g = (float)(2.0 / (double)n);
#pragma omp parallel for schedule(static) if (n > NN_PAR_WORK)
    for (int64_t ch = 0; ch < nchunks; ch++) {
        const int64_t i1 = (ch + 1) * chunk < n ? (ch + 1) * chunk : n;
        double acc = 0.0;
        for (int64_t i = ch * chunk; i < i1; i++) {
            const float d = x[i] - target[i];
            acc += (double)d * d;
            if (grad_x) grad_x[i] = g * d;
        }
        partial[ch] = acc;
    }
    double total = 0.0;
    for (int64_t ch = 0; ch < nchunks; ch++) total += partial[ch];
    *loss = (float)(total / (double)n);
    return SL_OK;
}
