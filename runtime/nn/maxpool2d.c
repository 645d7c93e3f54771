/* maxpool2d.c - 2-D max pooling with argmax indices, forward and backward (see nn.h),
 * channels first or channels last.
 * Padding behaves as -inf; a NaN in a window wins (propagates), as in PyTorch.
 *
 * One walker serves both layouts: channels first, [N x C x H x W] is N*C planes of
 * one channel, [H x W x 1]; channels last, N images [H x W x C]. Either is a "unit"
 * of H x W pixels, each a contiguous run of ch channels (1 or C), so every step of a
 * window compares a run of ch floats (vectorised channels last). */
#include "nn/nn.h"
#include "nn/parallel.h"

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

/* The input rows [*h0, *h1) and columns [*w0, *w1) under output pixel (oh, ow),
 * padding clipped off; never empty, as pad <= KH/2 and KW/2. */
static inline void pool_window(const sl_maxpool2d_geom *g, int oh, int ow, int *h0, int *h1, int *w0, int *w1)
{
    const int hs = oh * g->stride - g->pad, ws = ow * g->stride - g->pad;
    *h0 = hs > 0 ? hs : 0;
    *h1 = hs + g->KH < g->H ? hs + g->KH : g->H;
    *w0 = ws > 0 ? ws : 0;
    *w1 = ws + g->KW < g->W ? ws + g->KW : g->W;
}

/* v replaces the running maximum m if larger, or if it is the window's first NaN:
 * a NaN is never replaced, so the first one wins (and propagates). */
static inline bool pool_takes(float v, float m) { return v > m || (v != v && m == m); }

/* One output pixel of a unit xu (rows of W pixels of ch channels): y[c] and
 * idx[c] (idx may be NULL) get the maximum of channel c over the window and its
 * offset ih * W + iw. The window's first pixel seeds the maximum, so a window of
 * -inf still reports the first of them; later pixels replace it only if
 * pool_takes, which keeps the first maximum in row-major order. Loads and
 * selects are unconditional so that the channel loops vectorise. */
static inline void pool_pixel(const float *restrict xu, int W, int ch, int h0, int h1, int w0, int w1,
                              float *restrict y, int64_t *restrict idx)
{
    const int64_t first = (int64_t)h0 * W + w0;
    memcpy(y, xu + first * ch, sizeof(float) * ch);
    if (idx)
        for (int c = 0; c < ch; c++) idx[c] = first;
    for (int ih = h0; ih < h1; ih++)
        for (int iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
            const int64_t at = (int64_t)ih * W + iw;
            const float *xp = xu + at * ch;
            if (idx) {
#pragma omp simd
                for (int c = 0; c < ch; c++) {
                    const bool t = pool_takes(xp[c], y[c]);
                    y[c] = t ? xp[c] : y[c];
                    idx[c] = t ? at : idx[c];
                }
            } else {
#pragma omp simd
                for (int c = 0; c < ch; c++) y[c] = pool_takes(xp[c], y[c]) ? xp[c] : y[c];
            }
        }
}

int sl_maxpool2d_forward(const sl_maxpool2d_geom *g, const float *x, float *y, int64_t *indices)
{
    if (maxpool2d_check(g, "maxpool2d_forward") != SL_OK) return SL_ERR;
    if (!x || !y) return sl_error("maxpool2d_forward: NULL input or output");
    const int H = g->H, W = g->W, OH = g->OH, OW = g->OW;
    const int ch = g->channels_last ? g->C : 1;
    const int64_t rows = (g->channels_last ? g->N : (int64_t)g->N * g->C) * OH; /* units x OH */
    /* every output pixel is computed alone: the result does not depend on the threads */
#pragma omp parallel for schedule(static) if (rows * OW * ch * g->KH * g->KW > NN_PAR_WORK)
    for (int64_t r = 0; r < rows; r++) {
        const float *xu = x + r / OH * H * W * ch;
        const int oh = (int)(r % OH);
        for (int ow = 0; ow < OW; ow++) {
            int h0, h1, w0, w1;
            pool_window(g, oh, ow, &h0, &h1, &w0, &w1);
            const int64_t o = (r * OW + ow) * ch;
            int64_t *io = indices ? indices + o : NULL;
            /* channels first, a literal 1 makes the channel loops scalar code */
            if (ch == 1) pool_pixel(xu, W, 1, h0, h1, w0, w1, y + o, io);
            else pool_pixel(xu, W, ch, h0, h1, w0, w1, y + o, io);
        }
    }
    return SL_OK;
}

/* The gradient of one unit: dx (hw pixels of ch channels) zeroed, then each of
 * the ohw x ch values of gy added at its argmax. Returns 1 if an index lies
 * outside the plane (that value is skipped). */
static inline int pool_scatter(float *restrict dx, const float *restrict gy, const int64_t *restrict idx,
                               int64_t hw, int64_t ohw, int ch)
{
    int bad = 0;
    memset(dx, 0, sizeof(float) * hw * ch);
    for (int64_t q = 0; q < ohw; q++)
        for (int c = 0; c < ch; c++) {
            const int64_t i = idx[q * ch + c];
            if (i < 0 || i >= hw) {
                bad = 1;
                continue;
            }
            dx[i * ch + c] += gy[q * ch + c];
        }
    return bad;
}

int sl_maxpool2d_backward(const sl_maxpool2d_geom *g, const float *grad_y, const int64_t *indices,
                          float *grad_x)
{
    if (maxpool2d_check(g, "maxpool2d_backward") != SL_OK) return SL_ERR;
    if (!grad_y || !indices || !grad_x)
        return sl_error("maxpool2d_backward: NULL grad_output, indices or grad_input");
    const int64_t hw = (int64_t)g->H * g->W, ohw = (int64_t)g->OH * g->OW;
    const int ch = g->channels_last ? g->C : 1;
    const int64_t units = g->channels_last ? g->N : (int64_t)g->N * g->C;
    int bad = 0;
    /* overlapping windows share input pixels: a thread owns whole units, and adds
     * into each in output order whatever the layout or the thread count */
#pragma omp parallel for schedule(static) if (units * ohw * ch > NN_PAR_WORK) reduction(| : bad)
    for (int64_t u = 0; u < units; u++) {
        float *dx = grad_x + u * hw * ch;
        const float *gy = grad_y + u * ohw * ch;
        const int64_t *iu = indices + u * ohw * ch;
        bad |= ch == 1 ? pool_scatter(dx, gy, iu, hw, ohw, 1) : pool_scatter(dx, gy, iu, hw, ohw, ch);
    }
    if (bad) {
        const bool cl = g->channels_last;
        return sl_error("maxpool2d_backward: an index lies outside the %dx%d input plane (indices [%dx%dx%dx%d]%s)",
                        g->H, g->W, g->N, cl ? g->OH : g->C, cl ? g->OW : g->OH, cl ? g->C : g->OW,
                        cl ? ", channels last" : "");
    }
    return SL_OK;
}
