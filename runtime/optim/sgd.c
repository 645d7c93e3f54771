/* sgd.c - SGD step with momentum, dampening, Nesterov and weight decay (see optim.h). */
#include "optim/optim.h"

#include <math.h>

#define PAR_MIN 32768 /* elements below which threads do not pay */

int sl_sgd_step(float *param, const float *grad, float *momentum_buf, int64_t n, float lr, float momentum,
                float dampening, float weight_decay, bool nesterov, bool first)
{
    if (n < 0) return sl_error("sgd_step: negative size %lld", (long long)n);
    if (!param || !grad) return sl_error("sgd_step: NULL param or grad [%lld]", (long long)n);
    if (!(lr >= 0.0f) || !(momentum >= 0.0f) || !(weight_decay >= 0.0f))
        return sl_error("sgd_step: lr %g, momentum %g and weight_decay %g must be >= 0", (double)lr,
                        (double)momentum, (double)weight_decay);
    if (nesterov && (momentum <= 0.0f || dampening != 0.0f))
        return sl_error("sgd_step: nesterov needs momentum > 0 and dampening 0 (momentum %g, dampening %g)",
                        (double)momentum, (double)dampening);
    if (momentum != 0.0f && !momentum_buf) return sl_error("sgd_step: momentum %g needs a buffer", (double)momentum);

    if (momentum == 0.0f) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) param[i] -= lr * (grad[i] + weight_decay * param[i]);
        return SL_OK;
    }
    const float keep = 1.0f - dampening;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        float b = first ? g : momentum * momentum_buf[i] + keep * g;
        momentum_buf[i] = b;
        param[i] -= lr * (nesterov ? g + momentum * b : b);
    }
    return SL_OK;
}
