/* batchnorm.c - batch normalisation forward and backward for BatchNorm1d/2d, with
 * per-group statistics for shuffle-BN emulation (see nn.h for the contract).
 *
 * For channel c and group g (m = (N / G) * spatial values):
 *   mean = sum x / m,  var = sum (x - mean)^2 / m,  invstd = 1 / sqrt(var + eps)
 *   y = (x - mean) * invstd * gamma[c] + beta[c]
 *   running_mean = (1 - momentum) running_mean + momentum * mean_g(mean)
 *   running_var  = (1 - momentum) running_var  + momentum * mean_g(var * m / (m - 1))
 * Backward (training), xhat = (x - mean) * invstd:
 *   dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))   (means over the group)
 *   dgamma += sum dy * xhat,  dbeta += sum dy                           (sums over everything)
 * Statistics are accumulated in double, two passes. OpenMP runs over channels;
 * groups are visited in order inside a channel, so nothing depends on threads.
 */
#include "nn/nn.h"

#include <math.h>

sl_batchnorm_params sl_batchnorm_defaults(int N, int C, int spatial)
{
    return (sl_batchnorm_params){.N = N, .C = C, .spatial = spatial, .groups = 1, .interleaved = false,
                                 .training = true, .momentum = 0.1f, .eps = 1e-5f};
}

static int batchnorm_check(const sl_batchnorm_params *p, const char *op)
{
    if (!p) return sl_error("%s: NULL parameters", op);
    if (p->N < 1 || p->C < 1 || p->spatial < 1)
        return sl_error("%s: sizes must be positive, input [%dx%dx%d]", op, p->N, p->C, p->spatial);
    if (p->groups < 1 || p->N % p->groups != 0)
        return sl_error("%s: groups %d must be >= 1 and divide the batch size %d (input [%dx%dx%d])", op,
                        p->groups, p->N, p->N, p->C, p->spatial);
    if (!(p->eps >= 0.0f)) return sl_error("%s: eps %g must be >= 0", op, (double)p->eps);
    if (p->training && (int64_t)(p->N / p->groups) * p->spatial < 2)
        return sl_error("%s: expected more than 1 value per channel%s when training, got input [%dx%dx%d]"
                        " with %d group(s)", op, p->groups > 1 ? " and group" : "", p->N, p->C,
                        p->spatial, p->groups);
    return SL_OK;
}

/* The r-th sample of group g. */
static inline int group_sample(const sl_batchnorm_params *p, int g, int r)
{
    return p->interleaved ? r * p->groups + g : g * (p->N / p->groups) + r;
}

int sl_batchnorm_forward(const sl_batchnorm_params *p, const float *x, float *y, const float *gamma,
                         const float *beta, float *running_mean, float *running_var, float *save_mean,
                         float *save_invstd)
{
    if (batchnorm_check(p, "batchnorm_forward") != SL_OK) return SL_ERR;
    if (!x || !y) return sl_error("batchnorm_forward: NULL input or output [%dx%dx%d]", p->N, p->C, p->spatial);
    if (!running_mean != !running_var)
        return sl_error("batchnorm_forward: pass both running_mean and running_var [%d] or neither", p->C);
    if (!p->training && !running_mean)
        return sl_error("batchnorm_forward: evaluation needs running_mean and running_var [%d]", p->C);

    const int C = p->C, G = p->groups, per = p->N / p->groups;
    const int64_t S = p->spatial, m = (int64_t)per * S;

#pragma omp parallel for schedule(static) if ((int64_t)p->N * C * S > 16384)
    for (int c = 0; c < C; c++) {
        const float w = gamma ? gamma[c] : 1.0f, b = beta ? beta[c] : 0.0f;
        double mean_sum = 0.0, var_sum = 0.0; /* over groups, for the running update */
        for (int g = 0; g < G; g++) {
            double mean, invstd;
            if (p->training) {
                double s = 0.0;
                for (int r = 0; r < per; r++) {
                    const float *xp = x + ((int64_t)group_sample(p, g, r) * C + c) * S;
                    for (int64_t i = 0; i < S; i++) s += xp[i];
                }
                mean = s / (double)m;
                double ss = 0.0;
                for (int r = 0; r < per; r++) {
                    const float *xp = x + ((int64_t)group_sample(p, g, r) * C + c) * S;
                    for (int64_t i = 0; i < S; i++) {
                        double d = xp[i] - mean;
                        ss += d * d;
                    }
                }
                invstd = 1.0 / sqrt(ss / (double)m + p->eps);
                mean_sum += mean;
                var_sum += ss / (double)(m - 1);
            } else {
                mean = running_mean[c];
                invstd = 1.0 / sqrt((double)running_var[c] + p->eps);
            }
            if (save_mean) save_mean[(int64_t)g * C + c] = (float)mean;
            if (save_invstd) save_invstd[(int64_t)g * C + c] = (float)invstd;
            const float scale = (float)(invstd * w), shift = (float)(b - mean * invstd * w);
            for (int r = 0; r < per; r++) {
                const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                for (int64_t i = 0; i < S; i++) y[off + i] = x[off + i] * scale + shift;
            }
        }
        if (p->training && running_mean) {
            const double mo = p->momentum;
            running_mean[c] = (float)((1.0 - mo) * running_mean[c] + mo * (mean_sum / G));
            running_var[c] = (float)((1.0 - mo) * running_var[c] + mo * (var_sum / G));
        }
    }
    return SL_OK;
}

int sl_batchnorm_backward(const sl_batchnorm_params *p, const float *x, const float *grad_y, float *grad_x,
                          const float *gamma, float *grad_gamma, float *grad_beta, const float *save_mean,
                          const float *save_invstd)
{
    if (batchnorm_check(p, "batchnorm_backward") != SL_OK) return SL_ERR;
    if (!x || !grad_y || !save_mean || !save_invstd)
        return sl_error("batchnorm_backward: NULL input, grad_output or saved statistics (input [%dx%dx%d])",
                        p->N, p->C, p->spatial);

    const int C = p->C, G = p->groups, per = p->N / p->groups;
    const int64_t S = p->spatial, m = (int64_t)per * S;

#pragma omp parallel for schedule(static) if ((int64_t)p->N * C * S > 16384)
    for (int c = 0; c < C; c++) {
        const float w = gamma ? gamma[c] : 1.0f;
        double dgamma = 0.0, dbeta = 0.0;
        for (int g = 0; g < G; g++) {
            const double mean = save_mean[(int64_t)g * C + c], invstd = save_invstd[(int64_t)g * C + c];
            double sdy = 0.0, sdyx = 0.0; /* sum dy, sum dy * xhat */
            for (int r = 0; r < per; r++) {
                const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                for (int64_t i = 0; i < S; i++) {
                    sdy += grad_y[off + i];
                    sdyx += grad_y[off + i] * ((x[off + i] - mean) * invstd);
                }
            }
            dgamma += sdyx;
            dbeta += sdy;
            if (!grad_x) continue;
            const float k = (float)(w * invstd);
            if (p->training) {
                const float mdy = (float)(sdy / (double)m), mdyx = (float)(sdyx / (double)m);
                const float fmean = (float)mean, finv = (float)invstd;
                for (int r = 0; r < per; r++) {
                    const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                    for (int64_t i = 0; i < S; i++) {
                        float xhat = (x[off + i] - fmean) * finv;
                        grad_x[off + i] = k * (grad_y[off + i] - mdy - xhat * mdyx);
                    }
                }
            } else {
                for (int r = 0; r < per; r++) {
                    const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                    for (int64_t i = 0; i < S; i++) grad_x[off + i] = k * grad_y[off + i];
                }
            }
        }
        if (grad_gamma) grad_gamma[c] += (float)dgamma;
        if (grad_beta) grad_beta[c] += (float)dbeta;
    }
    return SL_OK;
}
