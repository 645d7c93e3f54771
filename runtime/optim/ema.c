/* ema.c - exponential moving average of parameters (momentum encoder), see optim.h. */
#include "optim/optim.h"

#define PAR_MIN 32768

int sl_param_ema(float *target, const float *source, int64_t n, float m)
{
    if (n < 0) return sl_error("param_ema: negative size %lld", (long long)n);
    if (!target || !source) return sl_error("param_ema: NULL target or source [%lld]", (long long)n);
    if (!(m >= 0.0f && m <= 1.0f)) return sl_error("param_ema: momentum %g must lie in [0, 1]", (double)m);
    const float a = 1.0f - m;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) target[i] = m * target[i] + a * source[i];
    return SL_OK;
}
