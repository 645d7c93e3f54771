/* cross_entropy.c - softmax cross-entropy from logits with mean reduction and
 * optional label smoothing, PyTorch semantics, loss and gradient in one pass
 * (see nn.h). Per row, with lse = log sum exp(z), q = (1-s) one_hot(t) + s/K:
 *   loss_n = sum_k q_k (lse - z_k) = (1-s)(lse - z_t) + s/K * sum_k (lse - z_k)
 *   grad_n = (softmax(z) - q) / N
 * Rows are processed in parallel; the row losses are summed in fixed chunks
 * whose partial sums are added in order, so the loss does not depend on threads.
 */
#include "nn/nn.h"
#include "nn/parallel.h"

#include <math.h>

#define CE_MAX_CHUNKS 1024

int sl_cross_entropy(const float *logits, const int64_t *target, float *loss, float *grad_logits, int N, int K,
                     float label_smoothing)
{
    if (N < 1 || K < 1) return sl_error("cross_entropy: sizes must be positive, logits [%dx%d]", N, K);
    if (!logits || !target || !loss)
        return sl_error("cross_entropy: NULL logits, target or loss (logits [%dx%d])", N, K);
    if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f))
        return sl_error("cross_entropy: label_smoothing %g must lie in [0, 1]", (double)label_smoothing);
    for (int n = 0; n < N; n++)
        if (target[n] < 0 || target[n] >= K)
            return sl_error("cross_entropy: target %lld at row %d is out of range for %d classes (logits [%dx%d])",
                            (long long)target[n], n, K, N, K);

    const int nchunks = N < CE_MAX_CHUNKS ? N : CE_MAX_CHUNKS;
    const int chunk = (N + nchunks - 1) / nchunks;
    double partial[CE_MAX_CHUNKS];
    const double s = label_smoothing, invN = 1.0 / N;

#pragma omp parallel for schedule(static) if ((int64_t)N * K > NN_PAR_WORK_HEAVY)
    for (int ch = 0; ch < nchunks; ch++) {
        double acc = 0.0;
        const int n1 = (ch + 1) * chunk < N ? (ch + 1) * chunk : N;
        for (int n = ch * chunk; n < n1; n++) {
            const float *z = logits + (int64_t)n * K;
            const int t = (int)target[n];
            float mx = z[0];
            for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
            double se = 0.0, sz = 0.0;
            for (int k = 0; k < K; k++) {
                se += exp((double)z[k] - mx);
                sz += z[k];
            }
            const double lse = mx + log(se);
            acc += (1.0 - s) * (lse - z[t]) + (s > 0.0 ? s / K * (K * lse - sz) : 0.0);
            if (grad_logits) {
                float *gz = grad_logits + (int64_t)n * K;
                const double off = s / K;
                for (int k = 0; k < K; k++) gz[k] = (float)((exp((double)z[k] - lse) - off) * invN);
                gz[t] -= (float)((1.0 - s) * invN);
            }
        }
        partial[ch] = acc;
    }
    double total = 0.0;
    for (int ch = 0; ch < nchunks; ch++) total += partial[ch];
    *loss = (float)(total * invN);
    return SL_OK;
}
