/* conv2d.c - 2-D convolution forward and backward via im2col + sl_gemm, and the
 * direct-loop reference (see nn.h for the contract).
 *
 * Channels first (NCHW), the column matrix for a chunk of B images (`cols` = B * OH * OW):
 *   col[(c * KH + kh) * KW + kw][i * OH * OW + oh * OW + ow] = x[n0 + i][c][oh*s - p + kh][ow*s - p + kw]
 * (0 outside the image). Then, with CKK = C * KH * KW:
 *   forward        Y[O x cols]      = W[O x CKK] @ col[CKK x cols]
 *   grad_weight   dW[O x CKK]     += dY[O x cols] @ col^T
 *                 (for O <= 64, O <= CKK: dW^T += col @ dY^T into the workspace, added
 *                 transposed at the end; OpenBLAS runs that 15-40% faster when O is small)
 *   grad_input   dcol[CKK x cols]   = W^T @ dY, then col2im (sum back into x's shape)
 * For one image, Y and dY are exactly y[n] and grad_y[n]. For B > 1 they are
 * [O x B x OHW] staging copies of [B x O x OHW]: the copy costs O(O * cols) while
 * the GEMM costs O(O * cols * CKK), and the wider GEMM runs much closer to peak
 * when OH * OW is small (late ResNet stages, CIFAR-sized inputs).
 * A 1x1, stride-1, unpadded conv on one image uses x itself as the column matrix.
 *
 * Channels last (NHWC: x [N x H x W x C], y [N x OH x OW x O]): the rows of the
 * column matrix are output pixels, P = B * OH * OW of them, and with K = KH * KW * C
 *   col[i * OH * OW + oh * OW + ow][(kh * KW + kw) * C + c] = x[n0 + i][oh*s - p + kh][ow*s - p + kw][c]
 * (0 outside the image). The weights are reordered once per call into the same
 * column order, Wr[o][(kh * KW + kw) * C + c] = weight[o][c][kh][kw] (for a 1x1
 * kernel Wr is the weight itself). Then
 *   forward        Y[P x O]    = col @ Wr^T        (+ bias: Y is prefilled and the GEMM adds to it)
 *   grad_weight  dWr[O x K]   += dY^T @ col        (reordered back into grad_weight at the end;
 *                                                  dWr^T += col^T @ dY when O is small, as above)
 *   grad_input  dcol[P x K]    = dY @ Wr, then col2im (or, at stride 1 with O < C, as a
 *                                                  convolution: see conv2d_grad_input_as_conv)
 * B NHWC images are contiguous, so Y and dY are y and grad_y themselves, for any B:
 * no staging. Each kernel row of a row of col is one run of KW * C contiguous input
 * floats; the part of the window in the padding is zero-filled by bounds checks,
 * so no padded copy of the input is needed. A 1x1, stride-1, unpadded conv uses x
 * itself as col and writes grad_x straight from the GEMM.
 *
 * Threading: the batch is split into min(N, SL_CONV2D_GROUPS) groups of images (a
 * function of the geometry, never of the thread count); OpenMP runs the groups in
 * parallel, each thread doing its own im2col / col2im / staging in its own lane of
 * the workspace and single-threaded GEMMs (the OpenMP build of OpenBLAS runs a
 * call made inside a parallel region on one thread), the Caffe/darknet scheme.
 * grad_weight is accumulated per group into fixed slots of the workspace and the
 * slots are added in group order, so every result is bit-identical for any number
 * of threads. Compared with serial copies + one multi-threaded GEMM per chunk
 * (one parallel region per GEMM, idle threads during the copies), this ran the
 * CIFAR ResNet-18 w16 training step 1.6-1.9x faster on 2 cores. With N = 1 there
 * is one group and OpenBLAS threads the GEMMs. With the pthread build of OpenBLAS
 * (CMake fallback) the groups run one after the other.
 */
#include "nn/nn.h"

#include <limits.h>
#include <string.h>

#include "nn/conv2d_winograd.h"
#include "tensor/gemm.h"

/* The copy loops run on short rows of unknown length; GCC's -O2 cost model does
 * not vectorise them, -O3 does (2x faster im2col/col2im on 28- and 56-wide rows).
 * No loop-to-memmove/memset rewriting: a library call per 4..28-float row costs
 * more than the copy. */
#if defined(__GNUC__) && !defined(__clang__)
#define CONV_VECTORIZE __attribute__((optimize("O3", "no-tree-loop-distribute-patterns")))
#else
#define CONV_VECTORIZE
#endif

/* Images share one GEMM until it is at least this many columns wide. */
#ifndef CONV_TARGET_COLS
#define CONV_TARGET_COLS 2048
#endif

int sl_conv2d_geom_init(sl_conv2d_geom *g, int N, int C, int H, int W, int O, int KH, int KW,
                        int stride, int pad)
{
    if (N < 1 || C < 1 || H < 1 || W < 1 || O < 1 || KH < 1 || KW < 1)
        return sl_error("conv2d: sizes must be positive: input [%dx%dx%dx%d], weight [%dx%dx%dx%d]",
                        N, C, H, W, O, C, KH, KW);
    if (stride < 1 || pad < 0)
        return sl_error("conv2d: stride %d must be >= 1 and padding %d >= 0", stride, pad);
    if (H + 2 * pad < KH || W + 2 * pad < KW)
        return sl_error("conv2d: kernel %dx%d larger than padded input %dx%d (input [%dx%dx%dx%d], padding %d)",
                        KH, KW, H + 2 * pad, W + 2 * pad, N, C, H, W, pad);
    int OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
    int64_t ckk = (int64_t)C * KH * KW, ohw = (int64_t)OH * OW;
    if (ckk > INT_MAX || (int64_t)N * ohw > INT_MAX || (int64_t)O * ohw > INT_MAX ||
        (int64_t)C * H * W > INT_MAX)
        return sl_error("conv2d: sizes too large: input [%dx%dx%dx%d], weight [%dx%dx%dx%d]",
                        N, C, H, W, O, C, KH, KW);
    *g = (sl_conv2d_geom){N, C, H, W, O, KH, KW, stride, pad, OH, OW, false};
    return SL_OK;
}

/* Re-validate a geometry passed in (it may have been edited by hand). */
static int conv2d_check(const sl_conv2d_geom *g, const char *op)
{
    sl_conv2d_geom ok;
    if (!g) return sl_error("%s: NULL geometry", op);
    if (sl_conv2d_geom_init(&ok, g->N, g->C, g->H, g->W, g->O, g->KH, g->KW, g->stride, g->pad) != SL_OK)
        return sl_error_prefix("%s", op);
    if (ok.OH != g->OH || ok.OW != g->OW)
        return sl_error("%s: output %dx%d does not match input [%dx%dx%dx%d], kernel %dx%d, stride %d, "
                        "padding %d (expected %dx%d)", op, g->OH, g->OW, g->N, g->C, g->H, g->W, g->KH,
                        g->KW, g->stride, g->pad, ok.OH, ok.OW);
    return SL_OK;
}

static bool conv2d_pointwise(const sl_conv2d_geom *g)
{
    return g->KH == 1 && g->KW == 1 && g->stride == 1 && g->pad == 0;
}

/* Images per GEMM: enough for CONV_TARGET_COLS columns, at most a group. */
static int conv2d_images_per_chunk(const sl_conv2d_geom *g)
{
    const int ohw = g->OH * g->OW, G = sl_conv2d_groups(g);
    const int group = (g->N + G - 1) / G;
    int b = (CONV_TARGET_COLS + ohw - 1) / ohw;
    return b < 1 ? 1 : b > group ? group : b;
}

static size_t conv2d_pad_size(const sl_conv2d_geom *g, int B);

/* Accumulate grad_weight transposed (see the top of the file)? Channels last
 * alike: dWr^T += col^T @ dY was 5-15% faster at O <= 64 (1x1 256 -> 64, the
 * stems, 3x3/2 32 -> 64) and 3% slower at O = 128, 256. */
static bool conv2d_weight_grad_transposed(const sl_conv2d_geom *g)
{
    const int ckk = g->C * g->KH * g->KW;
    return g->O <= 64 && g->O <= ckk;
}

/* grad_x of a stride-1 square convolution with pad <= K - 1 is itself a
 * convolution: grad_y padded by K - 1 - pad, correlated with the weights flipped
 * in space and with C and O swapped. Through im2col of grad_y this costs one
 * copy and a GEMM with K = O * KH * KW, instead of a GEMM with K = O writing
 * the C*KH*KW x cols matrix (OpenBLAS zero-fills it first) and col2im adding it
 * back (1.3-1.5x faster grad_x on the CIFAR ResNet-18 w16 3x3 shapes, O = C).
 * Channels last, col2im adds runs of KW * C floats and is cheap: there the
 * convolution only paid with O < C (1.5x at 32 -> 16 channels, 5-10% slower at
 * O = C = 16 and 128). */
static bool conv2d_grad_input_as_conv(const sl_conv2d_geom *g, sl_conv2d_geom *gt)
{
    if (g->stride != 1 || g->KH != g->KW || g->pad > g->KH - 1 || conv2d_pointwise(g) || g->O > g->C)
        return false; /* with O > C (a stem) grad_y's column matrix would be the larger one */
    if (g->channels_last && g->O == g->C) return false;
    *gt = (sl_conv2d_geom){g->N, g->O, g->OH, g->OW, g->C, g->KH, g->KW, 1, g->KH - 1 - g->pad, g->H, g->W, g->channels_last};
    return true;
}

/* Workspace layout, offsets in floats. One lane per group (a thread uses the lane
 * of its thread number): channels first [col: CKK x cols][stage: O x cols if
 * B > 1][padded input chunk if pad > 0], channels last [col: P x K] (none for a
 * 1x1 stride-1 unpadded conv), rounded up to 64 bytes, large enough for the
 * grad_x convolution's own lane as well; then one grad_weight partial sum per
 * group ([O x CKK], [CKK x O] when accumulated transposed, [O x K] in Wr's column
 * order channels last); then the weights rearranged for this call: the flipped
 * weights [C x O x KH x KW] of the grad_x convolution (channels first), or Wr
 * (channels last, none for a 1x1 kernel). */
typedef struct {
    size_t stage, pad, lane; /* within a lane */
    size_t dw, dw_size;      /* partial sums: dw + k * dw_size */
    size_t weights;          /* flipped weights or Wr */
    size_t total;
} conv2d_layout;

static conv2d_layout conv2d_lane_layout(const sl_conv2d_geom *g)
{
    const int b = conv2d_images_per_chunk(g);
    const size_t cols = (size_t)b * g->OH * g->OW, ckk = (size_t)g->C * g->KH * g->KW;
    conv2d_layout l = {0};
    if (g->channels_last) {
        l.lane = conv2d_pointwise(g) ? 0 : (ckk * cols + 15) / 16 * 16;
        return l;
    }
    const size_t col = (conv2d_pointwise(g) && b == 1) ? 0 : ckk * cols;
    l.stage = col;
    l.pad = l.stage + (b > 1 ? (size_t)g->O * cols : 0);
    l.lane = (l.pad + (col ? conv2d_pad_size(g, b) : 0) + 15) / 16 * 16;
    return l;
}

static conv2d_layout conv2d_workspace_layout(const sl_conv2d_geom *g)
{
    const int G = sl_conv2d_groups(g);
    const size_t ckk = (size_t)g->C * g->KH * g->KW;
    conv2d_layout l = conv2d_lane_layout(g);
    sl_conv2d_geom gt;
    const bool as_conv = conv2d_grad_input_as_conv(g, &gt);
    if (as_conv) {
        const size_t tl = conv2d_lane_layout(&gt).lane;
        if (tl > l.lane) l.lane = tl;
    }
    const bool rearranged = as_conv || (g->channels_last && g->KH * g->KW > 1);
    l.dw = (size_t)G * l.lane;
    l.dw_size = ((size_t)g->O * ckk + 15) / 16 * 16;
    l.weights = l.dw + (size_t)G * l.dw_size;
    l.total = l.weights + (rearranged ? (size_t)g->O * ckk : 0);
    return l;
}

size_t sl_conv2d_workspace_size(const sl_conv2d_geom *g)
{
    if (sl_conv2d_winograd_applies(g)) return sl_conv2d_winograd_workspace_size(g);
    return conv2d_workspace_layout(g).total;
}

/* {======================================================================
 * im2col / col2im for B images starting at x (x is [B x C x H x W]),
 * column matrix row stride B * OH * OW. With padding, the B images are first
 * copied into a zero-padded buffer [B x C x (H+2p) x (W+2p)] so that the copy
 * loops need no bounds tests (25-40% faster on 4x4..28x28 planes).
 * ======================================================================= */

static size_t conv2d_pad_size(const sl_conv2d_geom *g, int B)
{
    return g->pad > 0 ? (size_t)B * g->C * (g->H + 2 * g->pad) * (g->W + 2 * g->pad) : 0;
}

/* Row copies of n floats (n = OW or W, often 4..28; channels last KW * C, often
 * 9..64: too short for the compiler's vector loop to pay off, which left im2col
 * half scalar). Whole 16-, 8- or 4-float blocks, the last one overlapping the
 * previous: no scalar tail and nothing written outside [d, d + n). */
CONV_VECTORIZE static inline void copy_row(float *restrict d, const float *restrict s, int n)
{
    if (n >= 16) {
        int k = 0;
        for (; k + 16 <= n; k += 16) memcpy(d + k, s + k, 16 * sizeof(float));
        if (k < n) memcpy(d + n - 16, s + n - 16, 16 * sizeof(float));
    } else if (n >= 8) {
        memcpy(d, s, 8 * sizeof(float));
        memcpy(d + n - 8, s + n - 8, 8 * sizeof(float));
    } else if (n >= 4) {
        memcpy(d, s, 4 * sizeof(float));
        memcpy(d + n - 4, s + n - 4, 4 * sizeof(float));
    } else {
        for (int k = 0; k < n; k++) d[k] = s[k];
    }
}

/* d[0..n) += s[0..n) in blocks of 16, 8, 4, then single floats (fixed trip
 * counts, so each block is one vector add). */
CONV_VECTORIZE static inline void add_row(float *restrict d, const float *restrict s, int n)
{
    int k = 0;
    for (; k + 16 <= n; k += 16)
        for (int j = 0; j < 16; j++) d[k + j] += s[k + j];
    if (k + 8 <= n) {
        for (int j = 0; j < 8; j++) d[k + j] += s[k + j];
        k += 8;
    }
    if (k + 4 <= n) {
        for (int j = 0; j < 4; j++) d[k + j] += s[k + j];
        k += 4;
    }
    for (; k < n; k++) d[k] += s[k];
}

CONV_VECTORIZE static void im2col(const sl_conv2d_geom *g, const float *x, int B, float *col, float *padbuf)
{
    const int C = g->C, H = g->H, W = g->W, KH = g->KH, KW = g->KW, s = g->stride, p = g->pad;
    const int OH = g->OH, OW = g->OW, Hp = H + 2 * p, Wp = W + 2 * p;
    const int64_t php = (int64_t)Hp * Wp;
    const float *src = x;
    if (p > 0) {
        for (int64_t k = 0; k < (int64_t)B * C * php; k++) padbuf[k] = 0.0f;
        for (int64_t ic = 0; ic < (int64_t)B * C; ic++)
            for (int h = 0; h < H; h++) {
                copy_row(padbuf + ic * php + (int64_t)(h + p) * Wp + p, x + (ic * H + h) * W, W);
            }
        src = padbuf;
    }
    /* Row by row of col, so the writes stream; the reads (one plane per image)
     * come from a chunk small enough to stay in cache. */
    float *dst = col;
    for (int c = 0; c < C; c++)
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
                for (int i = 0; i < B; i++) {
                    const float *pp = src + ((int64_t)i * C + c) * php + (int64_t)kh * Wp + kw;
                    if (s == 1)
                        for (int oh = 0; oh < OH; oh++, dst += OW, pp += Wp) copy_row(dst, pp, OW);
                    else if (s == 2) /* a constant stride: vector loads + even-lane permutes */
                        for (int oh = 0; oh < OH; oh++, dst += OW, pp += 2 * (int64_t)Wp)
                            for (int ow = 0; ow < OW; ow++) dst[ow] = pp[2 * ow];
                    else
                        for (int oh = 0; oh < OH; oh++, dst += OW, pp += (int64_t)s * Wp)
                            for (int ow = 0; ow < OW; ow++) dst[ow] = pp[(int64_t)ow * s];
                }
}

/* dx (B images) = sum of the column entries that im2col copied from each pixel,
 * accumulated row by row of col in a fixed order (into the padded buffer when
 * there is padding, then cropped). */
CONV_VECTORIZE static void col2im(const sl_conv2d_geom *g, const float *col, int B, float *dx, float *padbuf)
{
    const int C = g->C, H = g->H, W = g->W, KH = g->KH, KW = g->KW, s = g->stride, p = g->pad;
    const int OH = g->OH, OW = g->OW, Hp = H + 2 * p, Wp = W + 2 * p;
    const int64_t php = (int64_t)Hp * Wp;
    float *acc = p > 0 ? padbuf : dx;
    for (int64_t k = 0; k < (int64_t)B * C * php; k++) acc[k] = 0.0f;
    const float *src = col;
    for (int c = 0; c < C; c++)
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
                for (int i = 0; i < B; i++) {
                    float *pp = acc + ((int64_t)i * C + c) * php + (int64_t)kh * Wp + kw;
                    if (s == 1)
                        for (int oh = 0; oh < OH; oh++, src += OW, pp += Wp) add_row(pp, src, OW);
                    else if (s == 2)
                        for (int oh = 0; oh < OH; oh++, src += OW, pp += 2 * (int64_t)Wp)
                            for (int ow = 0; ow < OW; ow++) pp[2 * ow] += src[ow];
                    else
                        for (int oh = 0; oh < OH; oh++, src += OW, pp += (int64_t)s * Wp)
                            for (int ow = 0; ow < OW; ow++) pp[(int64_t)ow * s] += src[ow];
                }
    if (p > 0)
        for (int64_t ic = 0; ic < (int64_t)B * C; ic++)
            for (int h = 0; h < H; h++) {
                copy_row(dx + (ic * H + h) * W, padbuf + ic * php + (int64_t)(h + p) * Wp + p, W);
            }
}

/* stage[o][i*ohw + q] <-> y[i][o][q] for B images. */
CONV_VECTORIZE static void stage_from_nchw(const float *y, float *stage, int B, int O, int64_t ohw)
{
    for (int io = 0; io < B * O; io++) {
        int i = io / O, o = io % O;
        float *dst = stage + (int64_t)o * B * ohw + i * ohw;
        const float *src = y + (int64_t)io * ohw;
        for (int64_t q = 0; q < ohw; q++) dst[q] = src[q];
    }
}

CONV_VECTORIZE static void stage_to_nchw(const float *stage, float *y, int B, int O, int64_t ohw, const float *bias)
{
    for (int io = 0; io < B * O; io++) {
        int i = io / O, o = io % O;
        const float *src = stage + (int64_t)o * B * ohw + i * ohw;
        float *dst = y + (int64_t)io * ohw;
        if (bias) {
            float b = bias[o];
            for (int64_t q = 0; q < ohw; q++) dst[q] = src[q] + b;
        } else {
            for (int64_t q = 0; q < ohw; q++) dst[q] = src[q];
        }
    }
}

/* }====================================================================== */

/* {======================================================================
 * Channels last: im2col / col2im for B NHWC images starting at x, rows of col
 * K = KH * KW * C floats long (see the top of the file).
 * ======================================================================= */

/* Taps [*lo, *hi) of a kernel row or column of k taps that fall inside an image
 * axis of n pixels, for a window starting at pixel i0 (negative in the padding). */
static inline void conv2d_taps(int i0, int k, int n, int *lo, int *hi)
{
    *lo = i0 < 0 ? (-i0 < k ? -i0 : k) : 0;
    *hi = n - i0 < k ? n - i0 : k;
    if (*hi < *lo) *hi = *lo;
}

/* Border windows only: a plain loop. */
CONV_VECTORIZE static inline void zero_row(float *d, int n)
{
    for (int k = 0; k < n; k++) d[k] = 0.0f;
}

/* The runs shared by im2col and col2im, in the order of col's rows: for each
 * kernel row of a window, the taps inside the image are one run of floats in
 * both the image and the row of col. to_col copies the runs from x into col
 * (rows of border windows zero-filled first), else adds them from col into dx
 * (zeroed first). Inlined into each with to_col constant. */
CONV_VECTORIZE static inline __attribute__((always_inline)) void nhwc_runs(const sl_conv2d_geom *g, const float *x,
                                                                          float *dx, float *col, int B, bool to_col)
{
    const int C = g->C, H = g->H, W = g->W, KH = g->KH, KW = g->KW, s = g->stride, p = g->pad;
    const int run = KW * C, K = KH * run;
    const int64_t wc = (int64_t)W * C, hwc = H * wc;
    if (!to_col) memset(dx, 0, (size_t)B * hwc * sizeof(float));
    float *row = col;
    for (int i = 0; i < B; i++)
        for (int oh = 0; oh < g->OH; oh++) {
            int kh_lo, kh_hi;
            const int ih0 = oh * s - p;
            conv2d_taps(ih0, KH, H, &kh_lo, &kh_hi);
            /* offset of the first kernel row inside the image, column 0 */
            const int64_t at = i * hwc + (ih0 + kh_lo) * wc;
            for (int ow = 0; ow < g->OW; ow++, row += K) {
                const int iw0 = ow * s - p;
                int kw_lo = 0, kw_hi = KW;
                if (iw0 < 0 || iw0 + KW > W) conv2d_taps(iw0, KW, W, &kw_lo, &kw_hi);
                const int n = (kw_hi - kw_lo) * C;
                if (to_col && (n < run || kh_hi - kh_lo < KH)) zero_row(row, K);
                if (n == 0 || kh_lo == kh_hi) continue; /* the window lies in the padding */
                float *r = row + kh_lo * run + kw_lo * C;
                int64_t a = at + (int64_t)(iw0 + kw_lo) * C;
                for (int kh = kh_lo; kh < kh_hi; kh++, r += run, a += wc) {
                    if (to_col)
                        copy_row(r, x + a, n);
                    else
                        add_row(dx + a, r, n);
                }
            }
        }
}

CONV_VECTORIZE static void im2col_nhwc(const sl_conv2d_geom *g, const float *x, int B, float *col)
{
    nhwc_runs(g, x, NULL, col, B, true);
}

/* dx (B images) = the sum of the entries of dcol that im2col_nhwc copied from
 * each pixel, added in a fixed order. */
CONV_VECTORIZE static void col2im_nhwc(const sl_conv2d_geom *g, float *dcol, int B, float *dx)
{
    nhwc_runs(g, NULL, dx, dcol, B, false);
}

/* }====================================================================== */

/* Forward for images [n_lo, n_hi) in chunks of nb, with one lane of the workspace. */
static void conv2d_forward_group(const sl_conv2d_geom *g, const float *x, float *y, const float *weight,
                                 const float *bias, float *lane, const conv2d_layout *lay, int n_lo, int n_hi)
{
    const int O = g->O, ckk = g->C * g->KH * g->KW, nb = conv2d_images_per_chunk(g);
    const int64_t ohw = (int64_t)g->OH * g->OW, chw = (int64_t)g->C * g->H * g->W;
    const bool pointwise = conv2d_pointwise(g);
    float *padbuf = lane ? lane + lay->pad : NULL;
    for (int n0 = n_lo; n0 < n_hi; n0 += nb) {
        const int B = n_hi - n0 < nb ? n_hi - n0 : nb;
        const int cols = (int)(B * ohw);
        const float *xn = x + n0 * chw;
        float *yn = y + n0 * O * ohw;
        const float *col = xn;
        if (!(pointwise && B == 1)) {
            im2col(g, xn, B, lane, padbuf);
            col = lane;
        }
        if (nb == 1) {
            sl_gemm(false, false, O, cols, ckk, 1.0f, weight, ckk, col, cols, 0.0f, yn, cols);
            if (bias) {
                for (int o = 0; o < O; o++)
                    for (int64_t q = 0; q < ohw; q++) yn[o * ohw + q] += bias[o];
            }
        } else {
            float *stage = lane + lay->stage;
            sl_gemm(false, false, O, cols, ckk, 1.0f, weight, ckk, col, cols, 0.0f, stage, cols);
            stage_to_nchw(stage, yn, B, O, ohw, bias);
        }
    }
}

/* Backward for images [n_lo, n_hi): grad_x written, dw (a zeroed partial sum,
 * [O x CKK] or [CKK x O] when wt) accumulated, with one lane of the workspace. */
static void conv2d_backward_group(const sl_conv2d_geom *g, const float *x, const float *grad_y,
                                  const float *weight, float *grad_x, float *dw, bool wt, const float *flipped,
                                  float *lane, const conv2d_layout *lay, int n_lo, int n_hi)
{
    const int O = g->O, ckk = g->C * g->KH * g->KW, nb = conv2d_images_per_chunk(g);
    const int64_t ohw = (int64_t)g->OH * g->OW, chw = (int64_t)g->C * g->H * g->W;
    const bool pointwise = conv2d_pointwise(g);
    float *padbuf = lane ? lane + lay->pad : NULL;
    for (int n0 = n_lo; n0 < n_hi && (dw || !flipped); n0 += nb) {
        const int B = n_hi - n0 < nb ? n_hi - n0 : nb;
        const int cols = (int)(B * ohw);
        const bool direct = pointwise && B == 1; /* x itself is the column matrix */
        const float *dy = grad_y + n0 * O * ohw;
        if (nb > 1) {
            float *stage = lane + lay->stage;
            stage_from_nchw(dy, stage, B, O, ohw);
            dy = stage;
        }
        if (dw) {
            const float *col = x + n0 * chw;
            if (!direct) {
                im2col(g, x + n0 * chw, B, lane, padbuf);
                col = lane;
            }
            if (wt)
                sl_gemm(false, true, ckk, O, cols, 1.0f, col, cols, dy, cols, 1.0f, dw, O);
            else
                sl_gemm(false, true, O, ckk, cols, 1.0f, dy, cols, col, cols, 1.0f, dw, ckk);
        }
        if (grad_x && !flipped) {
            if (direct) {
                sl_gemm(true, false, ckk, cols, O, 1.0f, weight, ckk, dy, cols, 0.0f, grad_x + n0 * chw, cols);
            } else {
                sl_gemm(true, false, ckk, cols, O, 1.0f, weight, ckk, dy, cols, 0.0f, lane, cols);
                col2im(g, lane, B, grad_x + n0 * chw, padbuf);
            }
        }
    }
    if (grad_x && flipped) {
        sl_conv2d_geom gt;
        conv2d_grad_input_as_conv(g, &gt);
        const conv2d_layout tl = conv2d_lane_layout(&gt);
        conv2d_forward_group(&gt, grad_y, grad_x, flipped, NULL, lane, &tl, n_lo, n_hi);
    }
}

/* y[r][0..O) = bias for P rows: the forward GEMM then adds to it (with beta = 0
 * OpenBLAS would zero-fill y first, so the bias costs no extra pass). */
CONV_VECTORIZE static void fill_bias_nhwc(float *y, const float *bias, int64_t P, int O)
{
    for (int64_t r = 0; r < P; r++) copy_row(y + r * O, bias, O);
}

/* Channels-last forward for images [n_lo, n_hi) in chunks of nb, wr the weights
 * in col's column order, col one lane of the workspace. */
static void conv2d_forward_group_nhwc(const sl_conv2d_geom *g, const float *x, float *y, const float *wr,
                                      const float *bias, float *col, int n_lo, int n_hi)
{
    const int O = g->O, K = g->C * g->KH * g->KW, nb = conv2d_images_per_chunk(g);
    const int64_t ohw = (int64_t)g->OH * g->OW, hwc = (int64_t)g->H * g->W * g->C;
    for (int n0 = n_lo; n0 < n_hi; n0 += nb) {
        const int B = n_hi - n0 < nb ? n_hi - n0 : nb;
        const int P = (int)(B * ohw);
        const float *a = x + n0 * hwc; /* x itself is col for a pointwise conv */
        float *yn = y + n0 * ohw * O;
        if (!conv2d_pointwise(g)) {
            im2col_nhwc(g, a, B, col);
            a = col;
        }
        if (bias) fill_bias_nhwc(yn, bias, P, O);
        sl_gemm(false, true, P, O, K, 1.0f, a, K, wr, K, bias ? 1.0f : 0.0f, yn, O);
    }
}

/* Channels-last backward for images [n_lo, n_hi): grad_x written (from wr, the
 * weights in col's column order, or by the grad_x convolution when as_conv, wr
 * then being its weights), dw (a zeroed [O x K] partial sum in wr's column order,
 * [K x O] when wt) accumulated, col one lane of the workspace. */
static void conv2d_backward_group_nhwc(const sl_conv2d_geom *g, const float *x, const float *grad_y,
                                       const float *wr, bool as_conv, float *grad_x, float *dw, bool wt,
                                       float *col, int n_lo, int n_hi)
{
    const int C = g->C, O = g->O, K = C * g->KH * g->KW, nb = conv2d_images_per_chunk(g);
    const int64_t ohw = (int64_t)g->OH * g->OW, hwc = (int64_t)g->H * g->W * C;
    const bool pointwise = conv2d_pointwise(g);
    for (int n0 = n_lo; n0 < n_hi && (dw || !as_conv); n0 += nb) {
        const int B = n_hi - n0 < nb ? n_hi - n0 : nb;
        const int P = (int)(B * ohw);
        const float *dy = grad_y + n0 * ohw * O;
        if (dw) {
            const float *a = x + n0 * hwc;
            if (!pointwise) {
                im2col_nhwc(g, a, B, col);
                a = col;
            }
            if (wt)
                sl_gemm(true, false, K, O, P, 1.0f, a, K, dy, O, 1.0f, dw, O);
            else
                sl_gemm(true, false, O, K, P, 1.0f, dy, O, a, K, 1.0f, dw, K);
        }
        if (grad_x && !as_conv) {
            float *dxn = grad_x + n0 * hwc;
            sl_gemm(false, false, P, K, O, 1.0f, dy, O, wr, K, 0.0f, pointwise ? dxn : col, K);
            if (!pointwise) col2im_nhwc(g, col, B, dxn);
        }
    }
    if (grad_x && as_conv) {
        sl_conv2d_geom gt;
        conv2d_grad_input_as_conv(g, &gt);
        conv2d_forward_group_nhwc(&gt, grad_y, grad_x, wr, NULL, col, n_lo, n_hi);
    }
}

/* The weights as this call's GEMMs read them, written to out unless they are
 * the weight itself (channels first, or a 1x1 kernel): the flipped weights of
 * the grad_x convolution (flip), flipped[c][o][kh][kw] = weight[o][c][KH-1-kh][KW-1-kw]
 * in its layout's column order, or else Wr. */
static const float *conv2d_arrange_weights(const sl_conv2d_geom *g, const float *weight, bool flip, float *out,
                                           int team)
{
    if (!flip && (!g->channels_last || g->KH * g->KW == 1)) return weight;
    const int O = g->O, C = g->C, khw = g->KH * g->KW;
    const size_t ckk = (size_t)C * khw;
    const bool cl = g->channels_last;
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && (int64_t)O * ckk > (1 << 16))
    for (int o = 0; o < O; o++) {
        const float *w = weight + o * ckk;
        if (flip) /* [C x O x KH x KW], channels last [C x KH*KW*O] (tap-major) */
            for (int c = 0; c < C; c++)
                for (int t = 0, f = khw - 1; t < khw; t++, f--)
                    out[(size_t)c * O * khw + (cl ? (size_t)f * O + o : (size_t)o * khw + f)] = w[c * khw + t];
        else /* Wr: one run of C channels per tap (written in PyTorch's order, with a
              * stride of C floats, this took 17% of ResNet-50's 7x7 3x3 forward) */
            for (int t = 0; t < khw; t++)
                for (int c = 0; c < C; c++) out[o * ckk + (size_t)t * C + c] = w[c * khw + t];
    }
    return out;
}

/* grad_bias += the sums of grad_y over images and pixels: per image in float,
 * across images in double. Channels last, in blocks of 64 channels so that each
 * row of grad_y is one vector add (stack buffers: no workspace needed). */
CONV_VECTORIZE static void conv2d_grad_bias(const sl_conv2d_geom *g, const float *grad_y, float *grad_bias)
{
    const int O = g->O;
    const int64_t ohw = (int64_t)g->OH * g->OW;
    if (!g->channels_last) {
        for (int o = 0; o < O; o++) {
            double acc = 0.0;
            for (int n = 0; n < g->N; n++) {
                const float *d = grad_y + ((int64_t)n * O + o) * ohw;
                float part = 0.0f;
                for (int64_t q = 0; q < ohw; q++) part += d[q];
                acc += part;
            }
            grad_bias[o] += (float)acc;
        }
        return;
    }
    enum { OB = 64 };
    for (int o0 = 0; o0 < O; o0 += OB) {
        const int m = O - o0 < OB ? O - o0 : OB;
        double acc[OB] = {0};
        for (int n = 0; n < g->N; n++) {
            float part[OB] = {0};
            for (int64_t q = 0; q < ohw; q++) {
                const float *d = grad_y + ((int64_t)n * ohw + q) * O + o0;
                for (int k = 0; k < m; k++) part[k] += d[k];
            }
            for (int k = 0; k < m; k++) acc[k] += part[k];
        }
        for (int k = 0; k < m; k++) grad_bias[o0 + k] += (float)acc[k];
    }
}

int sl_conv2d_forward(const sl_conv2d_geom *g, const float *x, float *y, const float *weight,
                      const float *bias, float *workspace)
{
    if (conv2d_check(g, "conv2d_forward") != SL_OK) return SL_ERR;
    if (!x || !y || !weight)
        return sl_error("conv2d_forward: NULL input, output or weight (input [%dx%dx%dx%d])", g->N, g->C,
                        g->H, g->W);
    if (!workspace && sl_conv2d_workspace_size(g) > 0)
        return sl_error("conv2d_forward: NULL workspace, need %zu floats", sl_conv2d_workspace_size(g));

    if (sl_conv2d_winograd_applies(g)) return sl_conv2d_winograd_forward(g, x, y, weight, bias, workspace);
    const conv2d_layout lay = conv2d_workspace_layout(g);
    const int G = sl_conv2d_groups(g), team = sl_conv2d_team(g);
    const float *wr = conv2d_arrange_weights(g, weight, false, workspace + lay.weights, team);
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
    for (int k = 0; k < G; k++) {
        float *lane = workspace ? workspace + (size_t)sl_conv2d_thread() * lay.lane : NULL;
        const int lo = sl_conv2d_group_start(g, k), hi = sl_conv2d_group_start(g, k + 1);
        if (g->channels_last)
            conv2d_forward_group_nhwc(g, x, y, wr, bias, lane, lo, hi);
        else
            conv2d_forward_group(g, x, y, weight, bias, lane, &lay, lo, hi);
    }
    return SL_OK;
}

int sl_conv2d_backward(const sl_conv2d_geom *g, const float *x, const float *grad_y, const float *weight,
                       float *grad_x, float *grad_weight, float *grad_bias, float *workspace)
{
    if (conv2d_check(g, "conv2d_backward") != SL_OK) return SL_ERR;
    if (!grad_y || !weight || (grad_weight && !x))
        return sl_error("conv2d_backward: NULL input, grad_output or weight (input [%dx%dx%dx%d])", g->N,
                        g->C, g->H, g->W);
    if (!workspace && sl_conv2d_workspace_size(g) > 0 && (grad_x || grad_weight))
        return sl_error("conv2d_backward: NULL workspace, need %zu floats", sl_conv2d_workspace_size(g));

    if (grad_bias) conv2d_grad_bias(g, grad_y, grad_bias);
    if (!grad_x && !grad_weight) return SL_OK;
    if (sl_conv2d_winograd_applies(g))
        return sl_conv2d_winograd_backward(g, x, grad_y, weight, grad_x, grad_weight, workspace);
    const conv2d_layout lay = conv2d_workspace_layout(g);
    const int G = sl_conv2d_groups(g), team = sl_conv2d_team(g);
    const bool wt = grad_weight && conv2d_weight_grad_transposed(g);
    const int64_t nw = (int64_t)g->O * g->C * g->KH * g->KW;
    sl_conv2d_geom gt;
    const bool as_conv = grad_x && conv2d_grad_input_as_conv(g, &gt);
    const float *wr = grad_x ? conv2d_arrange_weights(g, weight, as_conv, workspace + lay.weights, team) : weight;
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
    for (int k = 0; k < G; k++) {
        float *lane = workspace + (size_t)sl_conv2d_thread() * lay.lane;
        float *dw = grad_weight ? workspace + lay.dw + (size_t)k * lay.dw_size : NULL;
        const int lo = sl_conv2d_group_start(g, k), hi = sl_conv2d_group_start(g, k + 1);
        if (dw)
            for (int64_t i = 0; i < nw; i++) dw[i] = 0.0f;
        if (g->channels_last)
            conv2d_backward_group_nhwc(g, x, grad_y, wr, as_conv, grad_x, dw, wt, lane, lo, hi);
        else
            conv2d_backward_group(g, x, grad_y, weight, grad_x, dw, wt, as_conv ? wr : NULL, lane, &lay, lo, hi);
    }
    if (grad_weight) {
        /* grad_weight += the group sums, added in group order. Column j = u * nv + v
         * of a partial sum, in the layout's column order, is column pj of the
         * weight: channels last j = t * C + c, pj = c * KH*KW + t. */
        const float *dw = workspace + lay.dw;
        const size_t step = lay.dw_size;
        const int O = g->O, khw = g->KH * g->KW, ckk = g->C * khw;
        const bool cl = g->channels_last;
        const int nu = cl ? khw : g->C, nv = cl ? g->C : khw;
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && nw * G > (1 << 16))
        for (int o = 0; o < O; o++)
            for (int u = 0; u < nu; u++)
                for (int v = 0; v < nv; v++) {
                    const int j = u * nv + v, pj = cl ? v * khw + u : j;
                    const int64_t i = wt ? (int64_t)j * O + o : (int64_t)o * ckk + j;
                    float acc = dw[i];
                    for (int k = 1; k < G; k++) acc += dw[(size_t)k * step + i];
                    grad_weight[(int64_t)o * ckk + pj] += acc;
                }
    }
    return SL_OK;
}

/* {======================================================================
 * Reference: direct loops, double accumulation.
 * ======================================================================= */

int sl_conv2d_forward_naive(const sl_conv2d_geom *g, const float *x, float *y, const float *weight,
                            const float *bias)
{
    if (conv2d_check(g, "conv2d_forward_naive") != SL_OK) return SL_ERR;
    if (g->channels_last) return sl_error("conv2d_forward_naive: channels first only (the reference)");
    const int N = g->N, C = g->C, H = g->H, W = g->W, O = g->O, KH = g->KH, KW = g->KW;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int oh = 0; oh < g->OH; oh++)
                for (int ow = 0; ow < g->OW; ow++) {
                    double acc = bias ? bias[o] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int kh = 0; kh < KH; kh++)
                            for (int kw = 0; kw < KW; kw++) {
                                int ih = oh * g->stride - g->pad + kh, iw = ow * g->stride - g->pad + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                acc += (double)x[(((int64_t)n * C + c) * H + ih) * W + iw] *
                                       weight[(((int64_t)o * C + c) * KH + kh) * KW + kw];
                            }
                    y[(((int64_t)n * O + o) * g->OH + oh) * g->OW + ow] = (float)acc;
                }
    return SL_OK;
}

int sl_conv2d_backward_naive(const sl_conv2d_geom *g, const float *x, const float *grad_y,
                             const float *weight, float *grad_x, float *grad_weight, float *grad_bias)
{
    if (conv2d_check(g, "conv2d_backward_naive") != SL_OK) return SL_ERR;
    if (g->channels_last) return sl_error("conv2d_backward_naive: channels first only (the reference)");
    const int N = g->N, C = g->C, H = g->H, W = g->W, O = g->O, KH = g->KH, KW = g->KW;
    const int OH = g->OH, OW = g->OW;
#define DY(n, o, oh, ow) grad_y[(((int64_t)(n) * O + (o)) * OH + (oh)) * OW + (ow)]
    if (grad_bias)
        for (int o = 0; o < O; o++) {
            double acc = 0.0;
            for (int n = 0; n < N; n++)
                for (int q = 0; q < OH * OW; q++) acc += DY(n, o, 0, q);
            grad_bias[o] += (float)acc;
        }
    if (grad_weight)
        for (int o = 0; o < O; o++)
            for (int c = 0; c < C; c++)
                for (int kh = 0; kh < KH; kh++)
                    for (int kw = 0; kw < KW; kw++) {
                        double acc = 0.0;
                        for (int n = 0; n < N; n++)
                            for (int oh = 0; oh < OH; oh++)
                                for (int ow = 0; ow < OW; ow++) {
                                    int ih = oh * g->stride - g->pad + kh, iw = ow * g->stride - g->pad + kw;
                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                    acc += (double)DY(n, o, oh, ow) * x[(((int64_t)n * C + c) * H + ih) * W + iw];
                                }
                        grad_weight[(((int64_t)o * C + c) * KH + kh) * KW + kw] += (float)acc;
                    }
    if (grad_x)
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int ih = 0; ih < H; ih++)
                    for (int iw = 0; iw < W; iw++) {
                        double acc = 0.0;
                        for (int o = 0; o < O; o++)
                            for (int kh = 0; kh < KH; kh++)
                                for (int kw = 0; kw < KW; kw++) {
                                    int th = ih + g->pad - kh, tw = iw + g->pad - kw;
                                    if (th < 0 || tw < 0 || th % g->stride || tw % g->stride) continue;
                                    int oh = th / g->stride, ow = tw / g->stride;
                                    if (oh >= OH || ow >= OW) continue;
                                    acc += (double)DY(n, o, oh, ow) * weight[(((int64_t)o * C + c) * KH + kh) * KW + kw];
                                }
                        grad_x[(((int64_t)n * C + c) * H + ih) * W + iw] = (float)acc;
                    }
#undef DY
    return SL_OK;
}

/* }====================================================================== */
