/* avgpool.c - global average pooling to 1x1 (AdaptiveAvgPool2d(1) then flatten),
 * forward and backward (see nn.h), channels first or channels last. */
#include "nn/nn.h"
#include "nn/parallel.h"

static int avgpool_check(const void *a, const void *b, int N, int C, int H, int W, const char *op)
{
    if (N < 1 || C < 1 || H < 1 || W < 1)
        return sl_error("%s: sizes must be positive, input [%dx%dx%dx%d]", op, N, C, H, W);
    if (!a || !b) return sl_error("%s: NULL buffer, input [%dx%dx%dx%d]", op, N, C, H, W);
    return SL_OK;
}

int sl_global_avgpool_forward(const float *x, float *y, int N, int C, int H, int W, bool channels_last)
{
    if (avgpool_check(x, y, N, C, H, W, "global_avgpool_forward") != SL_OK) return SL_ERR;
    const int64_t planes = (int64_t)N * C, hw = (int64_t)H * W;
    if (channels_last) {
        /* image n is hw rows of C: sum the rows, one double per channel */
#pragma omp parallel for schedule(static) if (planes * hw > NN_PAR_WORK)
        for (int n = 0; n < N; n++) {
            const float *xn = x + (int64_t)n * hw * C;
            float *yn = y + (int64_t)n * C;
            for (int c0 = 0; c0 < C; c0 += 64) {
                const int nc = C - c0 < 64 ? C - c0 : 64;
                double s[64] = {0};
                for (int64_t i = 0; i < hw; i++)
                    for (int j = 0; j < nc; j++) s[j] += xn[i * C + c0 + j];
                for (int j = 0; j < nc; j++) yn[c0 + j] = (float)(s[j] / (double)hw);
            }
        }
        return SL_OK;
    }
#pragma omp parallel for schedule(static) if (planes * hw > NN_PAR_WORK)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * hw;
        double s = 0.0;
        for (int64_t i = 0; i < hw; i++) s += xp[i];
        y[pl] = (float)(s / (double)hw);
    }
    return SL_OK;
}

int sl_global_avgpool_backward(const float *grad_y, float *grad_x, int N, int C, int H, int W, bool channels_last)
{
    if (avgpool_check(grad_y, grad_x, N, C, H, W, "global_avgpool_backward") != SL_OK) return SL_ERR;
    const int64_t planes = (int64_t)N * C, hw = (int64_t)H * W;
    if (channels_last) {
#pragma omp parallel for schedule(static) if (planes * hw > NN_PAR_WORK)
        for (int n = 0; n < N; n++) {
            const float *gy = grad_y + (int64_t)n * C;
            float *dx = grad_x + (int64_t)n * hw * C;
            for (int64_t i = 0; i < hw; i++)
                for (int c = 0; c < C; c++) dx[i * C + c] = gy[c] / (float)hw;
        }
        return SL_OK;
    }
#pragma omp parallel for schedule(static) if (planes * hw > NN_PAR_WORK)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float v = grad_y[pl] / (float)hw;
        float *dx = grad_x + pl * hw;
        for (int64_t i = 0; i < hw; i++) dx[i] = v;
    }
    return SL_OK;
}
