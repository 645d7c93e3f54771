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
 * Statistics take one pass (sums of x - k and (x - k)^2, k a value of the
 * channel) in 16 float lanes folded into doubles every 1024 values (see
 * bn_sums): vector speed, double accuracy across planes. BatchNorm2d runs over channels, one
 * (channel, sample) plane at a time; BatchNorm1d (spatial = 1) runs over blocks
 * of 64 channels and streams the rows. OpenMP splits channels only; every sum
 * is taken in a fixed order, so nothing depends on the thread count.
 */
#include "nn/nn.h"
#include "nn/parallel.h"
#include "nn/vec16.h"

#include <math.h>
#include <string.h>

#define BN_LANES 16  /* accumulators per block */
#define BN_CBLOCK 64 /* channels per block in the BatchNorm1d path */

#if defined(__GNUC__) && !defined(__clang__)
#define BN_VECTORIZE __attribute__((optimize("O3")))
#else
#define BN_VECTORIZE
#endif

sl_batchnorm_params sl_batchnorm_defaults(int N, int C, int spatial)
{
    return (sl_batchnorm_params){.N = N, .C = C, .spatial = spatial, .groups = 1, .interleaved = false,
                                 .training = true, .momentum = 0.1f, .eps = 1e-5f, .relu = false,
                                 .channels_last = false};
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

/* {======================================================================
 * Per-channel sums in vector lanes, and the element-wise passes.
 * ======================================================================= */

/* Sums over the planes of one (group, channel) in BN_LANES float lanes, folded
 * into double lanes whenever BN_FOLD values have gone in (so at most 2 * BN_FOLD
 * / BN_LANES = 128 terms per float sum): vector speed, double accuracy across
 * the batch, and no per-plane reduction for small (4x4) planes. Values are
 * shifted by a constant of the channel (its first value) so that the one-pass
 * variance, sum (x - k)^2 / m - (sum (x - k) / m)^2, does not cancel when
 * |mean| >> std. */
#define BN_FOLD 1024

_Static_assert(sizeof(sl_vec16) == BN_LANES * sizeof(float), "the float lanes are one sl_vec16");

typedef struct {
    double d1[BN_LANES], d2[BN_LANES]; /* folded sums */
    sl_vec16 f1, f2;                   /* running float sums, lane j = values j mod 16 of each block */
    int64_t pending;                   /* values in the float sums */
} bn_sums;

static inline void sums_fold(bn_sums *a, bool force)
{
    if (!force && a->pending < BN_FOLD) return;
    for (int j = 0; j < BN_LANES; j++) {
        a->d1[j] += a->f1[j];
        a->d2[j] += a->f2[j];
    }
    a->f1 = a->f2 = (sl_vec16){0};
    a->pending = 0;
}

/* The lanes added in a fixed order. */
static double lanes_total(const double *acc)
{
    double s = 0.0;
    for (int j = 0; j < BN_LANES; j++) s += acc[j];
    return s;
}

/* f1 += x - shift, f2 += (x - shift)^2 over x[0, n) */
static void block_moments(bn_sums *a, const float *x, int64_t n, float shift)
{
    for (int64_t i0 = 0; i0 < n; i0 += BN_FOLD) {
        const int64_t end = n - i0 < BN_FOLD ? n : i0 + BN_FOLD;
        sl_vec16 f1 = a->f1, f2 = a->f2;
        int64_t i = i0;
        for (; i + BN_LANES <= end; i += BN_LANES) {
            const sl_vec16 d = sl_vec16_load(x + i) - shift;
            f1 += d;
            f2 += d * d;
        }
        for (int j = 0; i + j < end; j++) {
            const float d = x[i + j] - shift;
            f1[j] += d;
            f2[j] += d * d;
        }
        a->f1 = f1, a->f2 = f2;
        a->pending += end - i0;
        sums_fold(a, false);
    }
}

/* The gradient that reaches BatchNorm through a fused ReLU: dy[i] where the output
 * relu_y[i] is positive, else 0 (dy[i] itself without a fused ReLU). */
static inline float bn_relu_grad(const float *dy, const float *relu_y, int64_t i)
{
    return relu_y && !(relu_y[i] > 0.0f) ? 0.0f : dy[i];
}

/* The same for 16 values at once. */
static inline sl_vec16 bn_relu_mask(sl_vec16 g, sl_vec16 y)
{
    typedef int32_t bn_ivec __attribute__((vector_size(sizeof(sl_vec16))));
    return (sl_vec16)((bn_ivec)g & (y > 0.0f));
}

/* f1 += dy, f2 += dy * (x - mean) over [0, n); with relu_y, dy is first masked by
 * relu_y > 0 (BatchNorm followed by a fused ReLU). */
static void block_dy(bn_sums *a, const float *dy, const float *x, const float *relu_y, int64_t n, float mean)
{
    for (int64_t i0 = 0; i0 < n; i0 += BN_FOLD) {
        const int64_t end = n - i0 < BN_FOLD ? n : i0 + BN_FOLD;
        sl_vec16 f1 = a->f1, f2 = a->f2;
        int64_t i = i0;
        for (; i + BN_LANES <= end; i += BN_LANES) {
            sl_vec16 g = sl_vec16_load(dy + i);
            if (relu_y) g = bn_relu_mask(g, sl_vec16_load(relu_y + i));
            f1 += g;
            f2 += g * (sl_vec16_load(x + i) - mean);
        }
        for (int j = 0; i + j < end; j++) {
            const float g = bn_relu_grad(dy, relu_y, i + j);
            f1[j] += g;
            f2[j] += g * (x[i + j] - mean);
        }
        a->f1 = f1, a->f2 = f2;
        a->pending += end - i0;
        sums_fold(a, false);
    }
}

BN_VECTORIZE static void affine_block(const float *x, float *y, int64_t n, float scale, float shift, bool relu)
{
    if (relu)
        for (int64_t i = 0; i < n; i++) {
            const float v = x[i] * scale + shift;
            y[i] = v > 0.0f ? v : 0.0f;
        }
    else
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

BN_VECTORIZE static void dx_block(const float *dy, const float *x, const float *relu_y, float *dx, int64_t n, float k,
                                  float mdy, float mdyx, float mean, float invstd)
{
    if (relu_y)
        for (int64_t i = 0; i < n; i++) {
            const float g = bn_relu_grad(dy, relu_y, i);
            dx[i] = k * (g - mdy - (x[i] - mean) * invstd * mdyx);
        }
    else
        for (int64_t i = 0; i < n; i++) dx[i] = k * (dy[i] - mdy - (x[i] - mean) * invstd * mdyx);
}

/* }====================================================================== */

/* Statistics of one (group, channel) from its sum and sum of squared deviations:
 * save them and add to the running-update sums. */
static inline void finish_stats(const sl_batchnorm_params *p, int g, int c, double mean, double ssdev,
                                float *save_mean, float *save_invstd, double *mean_sum, double *var_sum,
                                double *invstd_out)
{
    const int64_t m = (int64_t)(p->N / p->groups) * p->spatial;
    const double invstd = 1.0 / sqrt(ssdev / (double)m + p->eps);
    if (save_mean) save_mean[(int64_t)g * p->C + c] = (float)mean;
    if (save_invstd) save_invstd[(int64_t)g * p->C + c] = (float)invstd;
    *mean_sum += mean;
    *var_sum += ssdev / (double)(m - 1);
    *invstd_out = invstd;
}

static inline void update_running(const sl_batchnorm_params *p, int c, double mean_sum, double var_sum,
                                  float *running_mean, float *running_var)
{
    const double mo = p->momentum;
    running_mean[c] = (float)((1.0 - mo) * running_mean[c] + mo * (mean_sum / p->groups));
    running_var[c] = (float)((1.0 - mo) * running_var[c] + mo * (var_sum / p->groups));
}

/* BatchNorm1d-shaped data (spatial = 1): stream rows over a block of channels. */
BN_VECTORIZE static void forward_rows(const sl_batchnorm_params *p, const float *x, float *y, const float *gamma,
                                      const float *beta, float *running_mean, float *running_var, float *save_mean,
                                      float *save_invstd)
{
    const int C = p->C, G = p->groups, per = p->N / p->groups;
    const int nblocks = (C + BN_CBLOCK - 1) / BN_CBLOCK;
#pragma omp parallel for schedule(static) if ((int64_t)p->N * C > NN_PAR_WORK)
    for (int cb = 0; cb < nblocks; cb++) {
        const int c0 = cb * BN_CBLOCK, nc = C - c0 < BN_CBLOCK ? C - c0 : BN_CBLOCK;
        double msum[BN_CBLOCK] = {0}, vsum[BN_CBLOCK] = {0};
        for (int g = 0; g < G; g++) {
            double mean[BN_CBLOCK], acc[BN_CBLOCK] = {0};
            float scale[BN_CBLOCK], shift[BN_CBLOCK];
            if (p->training) {
                for (int r = 0; r < per; r++) {
                    const float *row = x + (int64_t)group_sample(p, g, r) * C + c0;
                    for (int j = 0; j < nc; j++) acc[j] += row[j];
                }
                for (int j = 0; j < nc; j++) {
                    mean[j] = acc[j] / per;
                    acc[j] = 0.0;
                }
                for (int r = 0; r < per; r++) {
                    const float *row = x + (int64_t)group_sample(p, g, r) * C + c0;
                    for (int j = 0; j < nc; j++) {
                        double d = row[j] - mean[j];
                        acc[j] += d * d;
                    }
                }
            }
            for (int j = 0; j < nc; j++) {
                const int c = c0 + j;
                double invstd;
                if (p->training) {
                    finish_stats(p, g, c, mean[j], acc[j], save_mean, save_invstd, &msum[j], &vsum[j], &invstd);
                } else {
                    mean[j] = running_mean[c];
                    invstd = 1.0 / sqrt((double)running_var[c] + p->eps);
                    if (save_mean) save_mean[(int64_t)g * C + c] = (float)mean[j];
                    if (save_invstd) save_invstd[(int64_t)g * C + c] = (float)invstd;
                }
                const double w = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
                scale[j] = (float)(invstd * w);
                shift[j] = (float)(b - mean[j] * invstd * w);
            }
            for (int r = 0; r < per; r++) {
                const int64_t off = (int64_t)group_sample(p, g, r) * C + c0;
                for (int j = 0; j < nc; j++) {
                    const float v = x[off + j] * scale[j] + shift[j];
                    y[off + j] = p->relu && !(v > 0.0f) ? 0.0f : v;
                }
            }
        }
        if (p->training && running_mean)
            for (int j = 0; j < nc; j++) update_running(p, c0 + j, msum[j], vsum[j], running_mean, running_var);
    }
}

/* BatchNorm2d-shaped data: one channel at a time, contiguous planes. */
static void forward_planes(const sl_batchnorm_params *p, const float *x, float *y, const float *gamma,
                           const float *beta, float *running_mean, float *running_var, float *save_mean,
                           float *save_invstd)
{
    const int C = p->C, G = p->groups, per = p->N / p->groups;
    const int64_t S = p->spatial, m = (int64_t)per * S;
#pragma omp parallel for schedule(static) if ((int64_t)p->N * C * S > NN_PAR_WORK)
    for (int c = 0; c < C; c++) {
        double msum = 0.0, vsum = 0.0;
        for (int g = 0; g < G; g++) {
            double mean, invstd;
            if (p->training) {
                bn_sums a = {0};
                const float shift = x[((int64_t)group_sample(p, g, 0) * C + c) * S];
                for (int r = 0; r < per; r++) block_moments(&a, x + ((int64_t)group_sample(p, g, r) * C + c) * S, S, shift);
                sums_fold(&a, true);
                const double d = lanes_total(a.d1) / (double)m, var = lanes_total(a.d2) / (double)m - d * d;
                mean = shift + d;
                finish_stats(p, g, c, mean, (var > 0.0 ? var : 0.0) * (double)m, save_mean, save_invstd, &msum,
                             &vsum, &invstd);
            } else {
                mean = running_mean[c];
                invstd = 1.0 / sqrt((double)running_var[c] + p->eps);
                if (save_mean) save_mean[(int64_t)g * C + c] = (float)mean;
                if (save_invstd) save_invstd[(int64_t)g * C + c] = (float)invstd;
            }
            const double w = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
            const float scale = (float)(invstd * w), shift = (float)(b - mean * invstd * w);
            for (int r = 0; r < per; r++) {
                const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                affine_block(x + off, y + off, S, scale, shift, p->relu);
            }
        }
        if (p->training && running_mean) update_running(p, c, msum, vsum, running_mean, running_var);
    }
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
    if (p->spatial == 1)
        forward_rows(p, x, y, gamma, beta, running_mean, running_var, save_mean, save_invstd);
    else
        forward_planes(p, x, y, gamma, beta, running_mean, running_var, save_mean, save_invstd);
    return SL_OK;
}

BN_VECTORIZE static void backward_rows(const sl_batchnorm_params *p, const float *x, const float *relu_y, const float *grad_y,
                                       float *grad_x, const float *gamma, float *grad_gamma, float *grad_beta,
                                       const float *save_mean, const float *save_invstd)
{
    const int C = p->C, G = p->groups, per = p->N / p->groups;
    const int nblocks = (C + BN_CBLOCK - 1) / BN_CBLOCK;
#pragma omp parallel for schedule(static) if ((int64_t)p->N * C > NN_PAR_WORK)
    for (int cb = 0; cb < nblocks; cb++) {
        const int c0 = cb * BN_CBLOCK, nc = C - c0 < BN_CBLOCK ? C - c0 : BN_CBLOCK;
        double dgamma[BN_CBLOCK] = {0}, dbeta[BN_CBLOCK] = {0};
        for (int g = 0; g < G; g++) {
            const float *mean = save_mean + (int64_t)g * C + c0, *invstd = save_invstd + (int64_t)g * C + c0;
            double sdy[BN_CBLOCK] = {0}, sdyx[BN_CBLOCK] = {0};
            for (int r = 0; r < per; r++) {
                const int64_t off = (int64_t)group_sample(p, g, r) * C + c0;
                for (int j = 0; j < nc; j++) {
                    const float g = bn_relu_grad(grad_y, relu_y, off + j);
                    sdy[j] += g;
                    sdyx[j] += (double)g * (x[off + j] - mean[j]);
                }
            }
            float k[BN_CBLOCK], mdy[BN_CBLOCK], mdyx[BN_CBLOCK];
            for (int j = 0; j < nc; j++) {
                sdyx[j] *= invstd[j];
                dgamma[j] += sdyx[j];
                dbeta[j] += sdy[j];
                k[j] = (float)((gamma ? gamma[c0 + j] : 1.0) * invstd[j]);
                mdy[j] = p->training ? (float)(sdy[j] / per) : 0.0f;
                mdyx[j] = p->training ? (float)(sdyx[j] / per) : 0.0f;
            }
            if (!grad_x) continue;
            for (int r = 0; r < per; r++) {
                const int64_t off = (int64_t)group_sample(p, g, r) * C + c0;
                for (int j = 0; j < nc; j++) {
                    const float g = bn_relu_grad(grad_y, relu_y, off + j);
                    grad_x[off + j] = k[j] * (g - mdy[j] - (x[off + j] - mean[j]) * invstd[j] * mdyx[j]);
                }
            }
        }
        for (int j = 0; j < nc; j++) {
            if (grad_gamma) grad_gamma[c0 + j] += (float)dgamma[j];
            if (grad_beta) grad_beta[c0 + j] += (float)dbeta[j];
        }
    }
}

static void backward_planes(const sl_batchnorm_params *p, const float *x, const float *relu_y, const float *grad_y, float *grad_x,
                            const float *gamma, float *grad_gamma, float *grad_beta, const float *save_mean,
                            const float *save_invstd)
{
    const int C = p->C, G = p->groups, per = p->N / p->groups;
    const int64_t S = p->spatial, m = (int64_t)per * S;
#pragma omp parallel for schedule(static) if ((int64_t)p->N * C * S > NN_PAR_WORK)
    for (int c = 0; c < C; c++) {
        const double w = gamma ? gamma[c] : 1.0;
        double dgamma = 0.0, dbeta = 0.0;
        for (int g = 0; g < G; g++) {
            const double mean = save_mean[(int64_t)g * C + c], invstd = save_invstd[(int64_t)g * C + c];
            bn_sums a = {0};
            for (int r = 0; r < per; r++) {
                const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                block_dy(&a, grad_y + off, x + off, relu_y ? relu_y + off : NULL, S, (float)mean);
            }
            sums_fold(&a, true);
            const double sdy = lanes_total(a.d1), sdyx = lanes_total(a.d2) * invstd; /* sum dy, sum dy * xhat */
            dgamma += sdyx;
            dbeta += sdy;
            if (!grad_x) continue;
            const float k = (float)(w * invstd);
            const float mdy = p->training ? (float)(sdy / (double)m) : 0.0f;
            const float mdyx = p->training ? (float)(sdyx / (double)m) : 0.0f;
            for (int r = 0; r < per; r++) {
                const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                dx_block(grad_y + off, x + off, relu_y ? relu_y + off : NULL, grad_x + off, S, k, mdy, mdyx, (float)mean,
                         (float)invstd);
            }
        }
        if (grad_gamma) grad_gamma[c] += (float)dgamma;
        if (grad_beta) grad_beta[c] += (float)dbeta;
    }
}

int sl_batchnorm_backward(const sl_batchnorm_params *p, const float *x, const float *y, const float *grad_y, float *grad_x,
                          const float *gamma, float *grad_gamma, float *grad_beta, const float *save_mean,
                          const float *save_invstd)
{
    if (batchnorm_check(p, "batchnorm_backward") != SL_OK) return SL_ERR;
    if (!x || !grad_y || !save_mean || !save_invstd)
        return sl_error("batchnorm_backward: NULL input, grad_output or saved statistics (input [%dx%dx%d])",
                        p->N, p->C, p->spatial);
    if (p->relu && !y)
        return sl_error("batchnorm_backward: with a fused ReLU the forward output is needed (input [%dx%dx%d])", p->N,
                        p->C, p->spatial);
    const float *relu_y = p->relu ? y : NULL;
    if (p->spatial == 1)
        backward_rows(p, x, relu_y, grad_y, grad_x, gamma, grad_gamma, grad_beta, save_mean, save_invstd);
    else
        backward_planes(p, x, relu_y, grad_y, grad_x, gamma, grad_gamma, grad_beta, save_mean, save_invstd);
    return SL_OK;
}
