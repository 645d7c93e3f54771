/* l2norm.c - L2 normalisation of the rows of an [N x D] matrix, forward and
 * backward, as F.normalize(x, dim=-1, eps): y = x / max(||x||, eps) (see nn.h).
 * Backward, with r = max(||x||, eps):
 *   ||x|| >= eps:  dx = (dy - y (y . dy)) / r
 *   ||x|| <  eps:  dx = dy / eps          (the clamp cuts the path through the norm)
 */
#include "nn/nn.h"
#include "nn/parallel.h"

#include <math.h>

static int l2norm_check(const void *a, const void *b, int N, int D, float eps, const char *op)
{
    if (N < 1 || D < 1) return sl_error("%s: sizes must be positive, input [%dx%d]", op, N, D);
    if (!(eps >= 0.0f)) return sl_error("%s: eps %g must be >= 0, input [%dx%d]", op, (double)eps, N, D);
    if (!a || !b) return sl_error("%s: NULL buffer, input [%dx%d]", op, N, D);
    return SL_OK;
}

static double row_norm(const float *x, int D)
{
    double s = 0.0;
    for (int j = 0; j < D; j++) s += (double)x[j] * x[j];
    return sqrt(s);
}

int sl_l2norm_forward(const float *x, float *y, int N, int D, float eps)
{
    if (l2norm_check(x, y, N, D, eps, "l2norm_forward") != SL_OK) return SL_ERR;
#pragma omp parallel for schedule(static) if ((int64_t)N * D > NN_PAR_WORK)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (int64_t)n * D;
        float *yr = y + (int64_t)n * D;
        double nrm = row_norm(xr, D);
        const float inv = (float)(1.0 / (nrm > eps ? nrm : eps));
        for (int j = 0; j < D; j++) yr[j] = xr[j] * inv;
    }
    return SL_OK;
}

int sl_l2norm_backward(const float *x, const float *grad_y, float *grad_x, int N, int D, float eps)
{
    if (l2norm_check(x, grad_y, N, D, eps, "l2norm_backward") != SL_OK) return SL_ERR;
    if (!grad_x) return sl_error("l2norm_backward: NULL grad_input, input [%dx%d]", N, D);
#pragma omp parallel for schedule(static) if ((int64_t)N * D > NN_PAR_WORK)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (int64_t)n * D, *dyr = grad_y + (int64_t)n * D;
        float *dxr = grad_x + (int64_t)n * D;
        const double nrm = row_norm(xr, D);
        if (nrm >= eps && nrm > 0.0) {
            double dot = 0.0; /* x . dy */
            for (int j = 0; j < D; j++) dot += (double)xr[j] * dyr[j];
            const float inv = (float)(1.0 / nrm), c = (float)(dot / (nrm * nrm * nrm));
            for (int j = 0; j < D; j++) dxr[j] = dyr[j] * inv - xr[j] * c;
        } else {
            const float inv = eps > 0.0f ? 1.0f / eps : 0.0f;
            for (int j = 0; j < D; j++) dxr[j] = dyr[j] * inv;
        }
    }
    return SL_OK;
}
