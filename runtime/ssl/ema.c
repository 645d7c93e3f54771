/* ema.c - momentum-encoder updates over flat buffers: EMA, copy, and the
 * cosine momentum schedule (see ssl.h for what MoCo does with BN buffers).
 */
#include "ssl/ssl.h"

#include <math.h>
#include <string.h>

#include "optim/optim.h"

int sl_ema_update(float *target, const float *source, int64_t n, float m)
{
    if (sl_param_ema(target, source, n, m) != SL_OK) return sl_error_prefix("ema_update");
    return SL_OK;
}

int sl_ema_copy(float *target, const float *source, int64_t n)
{
    if (n < 0) return sl_error("ema_copy: negative size %lld", (long long)n);
    if (n > 0 && (!target || !source)) return sl_error("ema_copy: NULL target or source [%lld]", (long long)n);
    if (n > 0 && target != source) memmove(target, source, sizeof(float) * (size_t)n);
    return SL_OK;
}

double sl_ema_cosine_momentum(double m0, int64_t step, int64_t total)
{
    if (total <= 0) return m0;
    if (step < 0) step = 0;
    if (step > total) step = total;
    const double pi = 3.14159265358979323846;
    return 1.0 - (1.0 - m0) * (cos(pi * (double)step / (double)total) + 1.0) / 2.0;
}
