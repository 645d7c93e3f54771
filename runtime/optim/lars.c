/* lars.c - LARS step as in SimCLR (see optim.h). */
#include "optim/optim.h"

#include <math.h>

#define PAR_MIN 32768

int sl_lars_step(float *param, const float *grad, float *momentum_buf, int64_t n, float lr, float momentum,
                 float weight_decay, float eta, bool adapt, bool nesterov, float *trust_out)
{
    if (n < 0) return sl_error("lars_step: negative size %lld", (long long)n);
    if (!param || !grad || !momentum_buf)
        return sl_error("lars_step: NULL param, grad or momentum buffer [%lld]", (long long)n);
    if (!(lr >= 0.0f) || !(momentum >= 0.0f) || !(weight_decay >= 0.0f) || !(eta > 0.0f))
        return sl_error("lars_step: lr %g, momentum %g, weight_decay %g must be >= 0 and eta %g > 0", (double)lr,
                        (double)momentum, (double)weight_decay, (double)eta);
    float trust = 1.0f;
    if (adapt) {
        /* Serial double sums: independent of the thread count. */
        double pp = 0.0, gg = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double p = param[i], g = (double)grad[i] + (double)weight_decay * p;
            pp += p * p;
            gg += g * g;
        }
        double pn = sqrt(pp), gn = sqrt(gg);
        if (pn > 0.0 && gn > 0.0) trust = (float)(eta * pn / gn);
    }
    if (trust_out) *trust_out = trust;
    const float scaled = lr * trust;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        float b = momentum * momentum_buf[i] + scaled * g;
        momentum_buf[i] = b;
        param[i] -= nesterov ? momentum * b + scaled * g : b;
    }
    return SL_OK;
}
