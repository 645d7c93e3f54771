/* maxpool2d.c - 2-D max pooling with argmax indices, forward and backward (see nn.h).
 * Padding behaves as -inf; a NaN in a window wins (propagates), as in PyTorch. */
#include "nn/nn.h"
#include "nn/parallel.h"

#include <math.h>
#include <string.h>

int sl_maxpool2d_geom_init(sl_maxpool2d_geom *g, int N, int C, int H, int W, int KH, int KW, int stride,
                           int pad)
{
    if (N < 1 || C < 1 || H < 1 || W < 1 || KH < 1 || KW < 1)
        return sl_error("maxpool2d: sizes must be positive: input [%dx%dx%dx%d], kernel %dx%d", N, C, H, W,
                        KH, KW);
    if (stride < 1 || pad < 0)
        return sl_error("maxpool2d: stride %d must be >= 1 and padding %d >= 0", stride, pad);
    if (2 * pad > KH || 2 * pad > KW)
        return sl_error("maxpool2d: padding %d must be at most half the kernel %dx%d", pad, KH, KW);
    if (H + 2 * pad < KH || W + 2 * pad < KW)
        return sl_error("maxpool2d: kernel %dx%d larger than padded input %dx%d (input [%dx%dx%dx%d])", KH,
                        KW, H + 2 * pad, W + 2 * pad, N, C, H, W);
    int OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
    *g = (sl_maxpool2d_geom){N, C, H, W, KH, KW, stride, pad, OH, OW, false};
    return SL_OK;
}

static int maxpool2d_check(const sl_maxpool2d_geom *g, const char *op)
{
    sl_maxpool2d_geom ok;
    if (!g) return sl_error("%s: NULL geometry", op);
    if (sl_maxpool2d_geom_init(&ok, g->N, g->C, g->H, g->W, g->KH, g->KW, g->stride, g->pad) != SL_OK)
        return sl_error_prefix("%s", op);
    if (ok.OH != g->OH || ok.OW != g->OW)
        return sl_error("%s: output %dx%d does not match input [%dx%dx%dx%d], kernel %dx%d, stride %d, "
                        "padding %d (expected %dx%d)", op, g->OH, g->OW, g->N, g->C, g->H, g->W, g->KH,
                        g->KW, g->stride, g->pad, ok.OH, ok.OW);
    return SL_OK;
}

int sl_maxpool2d_forward(const sl_maxpool2d_geom *g, const float *x, float *y, int64_t *indices)
{
    if (maxpool2d_check(g, "maxpool2d_forward") != SL_OK) return SL_ERR;
    if (!x || !y) return sl_error("maxpool2d_forward: NULL input or output");
    const int H = g->H, W = g->W, OH = g->OH, OW = g->OW;
    const int64_t planes = (int64_t)g->N * g->C;
#pragma omp parallel for schedule(static) if (planes * OH * OW * g->KH * g->KW > NN_PAR_WORK)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const int h0 = oh * g->stride - g->pad, w0 = ow * g->stride - g->pad;
                float best = -INFINITY;
                int64_t arg = -1;
                for (int kh = 0; kh < g->KH; kh++) {
                    const int ih = h0 + kh;
                    if (ih < 0 || ih >= H) continue;
                    for (int kw = 0; kw < g->KW; kw++) {
                        const int iw = w0 + kw;
                        if (iw < 0 || iw >= W) continue;
                        const float v = xp[ih * W + iw];
                        if (v > best || isnan(v) || arg < 0) {
                            best = v;
                            arg = (int64_t)ih * W + iw;
                            if (isnan(v)) goto done;
                        }
                    }
                }
            done:;
                const int64_t o = (pl * OH + oh) * OW + ow;
                y[o] = best;
                if (indices) indices[o] = arg;
            }
    }
    return SL_OK;
}

int sl_maxpool2d_backward(const sl_maxpool2d_geom *g, const float *grad_y, const int64_t *indices,
                          float *grad_x)
{
    if (maxpool2d_check(g, "maxpool2d_backward") != SL_OK) return SL_ERR;
    if (!grad_y || !indices || !grad_x)
        return sl_error("maxpool2d_backward: NULL grad_output, indices or grad_input");
    const int64_t hw = (int64_t)g->H * g->W, ohw = (int64_t)g->OH * g->OW;
    const int64_t planes = (int64_t)g->N * g->C;
    int bad = 0;
#pragma omp parallel for schedule(static) if (planes * ohw > NN_PAR_WORK) reduction(| : bad)
    for (int64_t pl = 0; pl < planes; pl++) {
        float *dx = grad_x + pl * hw;
        memset(dx, 0, sizeof(float) * hw);
        for (int64_t q = 0; q < ohw; q++) {
            const int64_t i = indices[pl * ohw + q];
            if (i < 0 || i >= hw) {
                bad = 1;
                continue;
            }
            dx[i] += grad_y[pl * ohw + q];
        }
    }
    if (bad)
        return sl_error("maxpool2d_backward: an index lies outside the %dx%d input plane (indices [%dx%dx%dx%d])",
                        g->H, g->W, g->N, g->C, g->OH, g->OW);
    return SL_OK;
}
