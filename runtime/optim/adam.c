/* adam.c - Adam and AdamW steps (see optim.h). */
#include "optim/optim.h"

#include <math.h>

#define PAR_MIN 32768

int sl_adam_step(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, int64_t n, float lr,
                 float beta1, float beta2, float eps, float weight_decay, bool decoupled, int64_t step)
{
    if (n < 0) return sl_error("adam_step: negative size %lld", (long long)n);
    if (!param || !grad || !exp_avg || !exp_avg_sq)
        return sl_error("adam_step: NULL param, grad or moment buffer [%lld]", (long long)n);
    if (step < 1) return sl_error("adam_step: step %lld must be >= 1 (count this update)", (long long)step);
    if (!(beta1 >= 0.0f && beta1 < 1.0f) || !(beta2 >= 0.0f && beta2 < 1.0f))
        return sl_error("adam_step: betas (%g, %g) must lie in [0, 1)", (double)beta1, (double)beta2);
    if (!(lr >= 0.0f) || !(eps >= 0.0f) || !(weight_decay >= 0.0f))
        return sl_error("adam_step: lr %g, eps %g and weight_decay %g must be >= 0", (double)lr, (double)eps,
                        (double)weight_decay);
    const double bc1 = 1.0 - pow((double)beta1, (double)step);
    const double bc2 = 1.0 - pow((double)beta2, (double)step);
    const float step_size = (float)(lr / bc1);
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float l2 = decoupled ? 0.0f : weight_decay;
    const float shrink = decoupled ? 1.0f - lr * weight_decay : 1.0f;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float p = param[i] * shrink;
        float g = grad[i] + l2 * param[i];
        float m = beta1 * exp_avg[i] + (1.0f - beta1) * g;
        float v = beta2 * exp_avg_sq[i] + (1.0f - beta2) * g * g;
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        param[i] = p - step_size * m / (sqrtf(v) * inv_sqrt_bc2 + eps);
    }
    return SL_OK;
}
