/* conv2d_winograd.c - 3x3, stride-1, padding-1 convolution by Winograd's minimal
 * filtering (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016): forward, grad_input and grad_weight, with tiles of 4x4 outputs,
 * F(4x4, 3x3), or on planes narrower than 3, 2x2 outputs, F(2x2, 3x3).
 *
 * Each m x m block of outputs ("tile") reads an a x a patch d (a = m + 2) of the
 * zero-padded input:
 *   y = A^T [ sum_c (G g G^T) .* (B^T d B) ] A
 * a^2 multiplies per tile and (o, c) pair instead of 9 m^2 (F(4x4): 36 for 144).
 * Writing
 *   U[xi][c][o] = (G g[o][c] G^T)[xi]   (a^2 transformed weights per pair)
 *   V[xi][t][c] = (B^T d[c][t] B)[xi]   (a^2 transformed values per tile t)
 * the sum over c is a^2 independent GEMMs M[xi] = V[xi] @ U[xi] ([T x C] @ [C x O]),
 * and y is the output transform of M. The gradients follow from the same
 * factorisation (everything is linear):
 *   dM[xi][t][o] = (A dy[o][t] A^T)[xi]          (the transpose of the output transform)
 *   dU[xi]      += dM[xi]^T @ V[xi]               ([O x T] @ [T x C])
 *   grad_weight += G^T dU[o][c] G
 * grad_input of a 3x3 stride-1 padding-1 convolution is the same convolution of
 * grad_y with the weights flipped in space and C, O swapped, so it runs the forward.
 *
 * Rounding: F(2x2) only adds and halves; F(4x4)'s transforms (entries up to 8
 * and 1/24) give relative errors of ~4e-6 per output in float32 (measured
 * against a double direct convolution), inside the 1e-4 the PyTorch fixtures allow.
 *
 * Work is split exactly like conv2d.c: the batch in min(N, 4) groups of images
 * (fixed by the geometry, so results do not depend on the thread count), one
 * OpenMP thread per group with single-threaded GEMMs; each group walks its
 * images in chunks small enough that V and M stay in the core's L2 cache.
 */
#include "nn/conv2d_winograd.h"
#include "nn/vec16.h"

#include <string.h>

#include "tensor/gemm.h"

/* Floats of V + M per chunk: 2 MB, half an L2 of the development machine; 1 MB
 * when the GEMMs are thin (Cp + Op <= 64), whose rows are cheap: the CIFAR 16- and
 * 32-channel layers ran 5-9% faster (1 thread), while ResNet-50's 128..512-channel
 * ones lose 10-30% with the GEMMs' fewer rows. */
#define WG_CHUNK_FLOATS (1 << 19)
#define WG_CHUNK_FLOATS_THIN (1 << 18)
/* ...but at least this many tiles, so the GEMMs are not too narrow. */
#define WG_MIN_TILES 128
#define WG_AMAX 6 /* largest input tile */

static sl_winograd_mode winograd_mode = SL_WINOGRAD_AUTO;

void sl_conv2d_set_winograd(sl_winograd_mode mode)
{
    winograd_mode = mode;
}

sl_winograd_mode sl_conv2d_get_winograd(void)
{
    return winograd_mode;
}

/* {======================================================================
 * The two algorithms: output tile m, input tile a = m + 2, and the
 * transform matrices B^T [a x a], G [a x 3], A^T [m x a] (row-major).
 * ======================================================================= */

typedef struct {
    int m, a;
    const float *BT, *G, *AT;
} wg_algo;

static const float F2_BT[16] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const float F2_G[12] = {1, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f, -0.5f, 0.5f, 0, 0, 1};
static const float F2_AT[8] = {1, 1, 1, 0, 0, 1, -1, -1};
static const wg_algo F2 = {2, 4, F2_BT, F2_G, F2_AT};

static const float F4_BT[36] = {4, 0, -5, 0, 1, 0, 0, -4, -4, 1,  1, 0, 0, 4, -4, -1, 1, 0,
                                0, -2, -1, 2, 1, 0, 0, 2, -1, -2, 1, 0, 0, 4, 0,  -5, 0, 1};
static const float F4_G[18] = {1.0f / 4,  0,         0,        -1.0f / 6, -1.0f / 6, -1.0f / 6,
                               -1.0f / 6, 1.0f / 6,  -1.0f / 6, 1.0f / 24, 1.0f / 12, 1.0f / 6,
                               1.0f / 24, -1.0f / 12, 1.0f / 6, 0,         0,         1};
static const float F4_AT[24] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1};
static const wg_algo F4 = {4, 6, F4_BT, F4_G, F4_AT};

/* F(4x4) unless the plane is narrower than 3 (a 4x4 tile would be mostly padding). */
static const wg_algo *wg_algo_of(const sl_conv2d_geom *g)
{
    return g->OH >= 3 && g->OW >= 3 ? &F4 : &F2;
}

/* Tiles a group of images must give at least: below, the a^2 GEMMs are too short
 * (few rows) for the transformed weights (a^2 C O of them, and a^2 C O partial
 * sums of grad_weight per group) to pay. ResNet-50's 7x7 stage at batch 8 ran at
 * a third of the im2col path's speed (8 tiles per group); at 32 tiles the two paths
 * were even. */
#define WG_MIN_GROUP_TILES 32

bool sl_conv2d_winograd_applies(const sl_conv2d_geom *g)
{
    if (winograd_mode == SL_WINOGRAD_OFF || g->KH != 3 || g->KW != 3 || g->stride != 1 || g->pad != 1) return false;
    if (winograd_mode == SL_WINOGRAD_ALWAYS) return true;
    /* with few channels (a stem) the GEMMs are too thin to pay for the transforms */
    if (g->C < 8 || g->O < 8) return false;
    const int m = wg_algo_of(g)->m, G = sl_conv2d_groups(g);
    const int64_t tiles = (int64_t)((g->OH + m - 1) / m) * ((g->OW + m - 1) / m) * ((g->N + G - 1) / G);
    return tiles >= WG_MIN_GROUP_TILES;
}

/* }====================================================================== */

/* Channels rounded up to whole 16-float vectors (the channel-minor row length). */
static int wg_round(int c)
{
    return (c + 15) / 16 * 16;
}

/* Tile grid and per-chunk sizes of a geometry. */
typedef struct {
    const wg_algo *al;
    int TH, TW;  /* tiles per plane: ceil(OH / m) x ceil(OW / m) */
    int Hp, Wp;  /* padded input plane: m TH + 2 rows, m TW + 2 columns */
    int nb;      /* images per chunk */
    int64_t T;   /* tiles per full chunk: nb * TH * TW */
    size_t lane; /* floats of one thread's scratch */
} wg_plan;



static wg_plan wg_make_plan(const sl_conv2d_geom *g)
{
    wg_plan p;
    p.al = wg_algo_of(g);
    const int m = p.al->m, a2 = p.al->a * p.al->a;
    p.TH = (g->OH + m - 1) / m;
    p.TW = (g->OW + m - 1) / m;
    p.Hp = m * p.TH + 2;
    p.Wp = m * p.TW + 2;
    const int64_t per_image = (int64_t)p.TH * p.TW;
    const int G = sl_conv2d_groups(g), group = (g->N + G - 1) / G;
    const int Cp = wg_round(g->C), Op = wg_round(g->O), Mp = Cp > Op ? Cp : Op;
    const int64_t chunk = Cp + Op <= 64 ? WG_CHUNK_FLOATS_THIN : WG_CHUNK_FLOATS;
    int64_t nb = chunk / (a2 * (int64_t)(Cp + Op) * per_image);
    const int64_t nb_min = (WG_MIN_TILES + per_image - 1) / per_image;
    if (nb < nb_min) nb = nb_min;
    if (nb > group) nb = group;
    if (nb < 1) nb = 1;
    p.nb = (int)nb;
    p.T = nb * per_image;
    /* forward: V and M; backward: V (then M of grad_x), dM and V' of grad_y (see
     * wg_backward_group); then one channel-minor padded plane */
    const size_t scratch = (size_t)p.Hp * p.Wp * Mp;
    p.lane = ((size_t)a2 * p.T * (Cp + Op + Mp) + scratch + 15) / 16 * 16;
    return p;
}

/* Workspace: [one lane per group][U: a^2 x C x O][dU partial sums: one per group]. */
typedef struct {
    size_t U, dU, dU_size, total;
} wg_layout;

static wg_layout wg_make_layout(const sl_conv2d_geom *g, const wg_plan *p)
{
    wg_layout l;
    const int G = sl_conv2d_groups(g), a2 = p->al->a * p->al->a;
    l.dU_size = ((size_t)a2 * g->O * g->C + 15) / 16 * 16;
    l.U = (size_t)G * p->lane;
    l.dU = l.U + l.dU_size;
    l.total = l.dU + (size_t)G * l.dU_size;
    return l;
}

size_t sl_conv2d_winograd_workspace_size(const sl_conv2d_geom *g)
{
    const wg_plan p = wg_make_plan(g);
    return wg_make_layout(g, &p).total;
}



/* {======================================================================
 * Transforms. Inside a chunk everything is channel-minor, so that every
 * transform works on vectors of 16 channels, full even for the 16-channel
 * stages and 1-tile planes:
 *   V[xi][t][c], M / dM[xi][t][o], U[xi][c][o], dU[xi][o][c],
 * and each image is transposed once from [C x H x W] into a zero-padded
 * [Hp x Wp x C] plane (and outputs back from [m TH x m TW x O]).
 * ======================================================================= */

/* Channel-minor rows are padded to whole 16-float vectors (wg_round), so the
 * transforms have no scalar tails; the pad lanes hold zeros or values nobody reads. */

/* a0 b0 a1 b1 ... a7 b7 and a8 b8 ... a15 b15: one two-source permute each
 * (GCC's and Clang's builtins differ). */
static inline sl_vec16 wg_interleave_lo(sl_vec16 a, sl_vec16 b)
{
#if defined(__clang__)
    return __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
#else
    typedef int wg_idx __attribute__((vector_size(64)));
    return __builtin_shuffle(a, b, (wg_idx){0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23});
#endif
}

static inline sl_vec16 wg_interleave_hi(sl_vec16 a, sl_vec16 b)
{
#if defined(__clang__)
    return __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
#else
    typedef int wg_idx __attribute__((vector_size(64)));
    return __builtin_shuffle(a, b, (wg_idx){8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31});
#endif
}

/* In-place transpose of a 16 x 16 block held in 16 vectors: four rounds of
 * "perfect shuffle" (row 2i <- low halves of rows i and i + 8 interleaved, row
 * 2i + 1 <- high halves). */
static inline void wg_transpose16(sl_vec16 r[16])
{
    for (int round = 0; round < 4; round++) {
        sl_vec16 t[16];
        for (int i = 0; i < 8; i++) {
            t[2 * i] = wg_interleave_lo(r[i], r[i + 8]);
            t[2 * i + 1] = wg_interleave_hi(r[i], r[i + 8]);
        }
        memcpy(r, t, sizeof t);
    }
}

/* Offsets in a channel-minor plane (rows `row` floats, pixels Cp floats, pixel
 * (h, w) of the image at row r0 + h, column c0 + w) of 16 consecutive pixels
 * p .. p + 15 of a W-wide image: one division per block, not per pixel. */
static inline void wg_pixel_offsets(int64_t p, int W, int64_t row, int Cp, int r0, int c0, int64_t off[16])
{
    int64_t h = p / W;
    int w = (int)(p % W);
    for (int j = 0; j < 16; j++) {
        off[j] = (r0 + h) * row + (int64_t)(c0 + w) * Cp;
        if (++w == W) w = 0, h++;
    }
}

/* dst[pixel (h, w)][c] = src[c][h][w]: one [C x H x W] image into a channel-minor
 * plane (see wg_pixel_offsets), 16 x 16 blocks through registers. */
static void wg_to_channel_minor(const float *restrict src, int C, int H, int W, float *restrict dst, int64_t row,
                                int Cp, int r0, int c0)
{
    const int64_t HW = (int64_t)H * W;
    int64_t off[16];
    for (int64_t p = 0; p < HW; p += 16) {
        const int np = HW - p < 16 ? (int)(HW - p) : 16;
        wg_pixel_offsets(p, W, row, Cp, r0, c0, off);
        int c = 0;
        if (np == 16)
            for (; c + 16 <= C; c += 16) {
                sl_vec16 r[16];
                for (int i = 0; i < 16; i++) r[i] = sl_vec16_load(src + (c + i) * HW + p);
                wg_transpose16(r);
                for (int j = 0; j < 16; j++) sl_vec16_store(dst + off[j] + c, r[j]);
            }
        for (int j = 0; j < np; j++)
            for (int i = c; i < C; i++) dst[off[j] + i] = src[i * HW + p + j];
    }
}

/* dst[o][h][w] = src[pixel (h, w)][o] + bias[o]: the inverse of wg_to_channel_minor
 * for an [O x H x W] image read from a channel-minor plane (r0 = c0 = 0). */
static void wg_from_channel_minor(const float *restrict src, int64_t row, int Op, int O, int H, int W,
                                  const float *bias, float *restrict dst)
{
    const int64_t HW = (int64_t)H * W;
    int64_t off[16];
    for (int64_t p = 0; p < HW; p += 16) {
        const int np = HW - p < 16 ? (int)(HW - p) : 16;
        wg_pixel_offsets(p, W, row, Op, 0, 0, off);
        int o = 0;
        if (np == 16)
            for (; o + 16 <= O; o += 16) {
                sl_vec16 r[16];
                for (int j = 0; j < 16; j++) r[j] = sl_vec16_load(src + off[j] + o);
                wg_transpose16(r);
                for (int i = 0; i < 16; i++) sl_vec16_store(dst + (o + i) * HW + p, r[i] + (bias ? bias[o + i] : 0.0f));
            }
        for (int j = 0; j < np; j++)
            for (int i = o; i < O; i++) dst[i * HW + p + j] = src[off[j] + i] + (bias ? bias[i] : 0.0f);
    }
}

/* The channels-last counterpart of wg_to_channel_minor: an [H x W x C] image into
 * the plane, rows copied as they are (pixel by pixel when C is not a whole number
 * of vectors, leaving the pad lanes alone). */
static void wg_rows_to_plane(const float *restrict src, int C, int H, int W, float *restrict dst, int64_t row, int Cp,
                             int r0, int c0)
{
    for (int h = 0; h < H; h++) {
        const float *s = src + (int64_t)h * W * C;
        float *d = dst + (r0 + h) * row + (int64_t)c0 * Cp;
        if (C == Cp) memcpy(d, s, (size_t)W * C * sizeof(float));
        else
            for (int w = 0; w < W; w++) memcpy(d + (int64_t)w * Cp, s + (int64_t)w * C, (size_t)C * sizeof(float));
    }
}

/* One image of x ([C x H x W], or [H x W x C] channels last) into a channel-minor plane. */
static void wg_image_to_plane(bool channels_last, const float *src, int C, int H, int W, float *dst, int64_t row,
                              int Cp, int r0, int c0)
{
    if (channels_last) wg_rows_to_plane(src, C, H, W, dst, row, Cp, r0, c0);
    else wg_to_channel_minor(src, C, H, W, dst, row, Cp, r0, c0);
}

#define WG_INLINE static inline __attribute__((always_inline))

/* out[r * os] = sum_k Mat[r][k] in[k * is] for an R x K constant matrix (or, with
 * trans, Mat^T for a K x R one). Inlined with constant arguments, the loops
 * unroll and the zero / +-1 coefficients fold away. */
WG_INLINE void wg_mul(int R, int K, const float *Mat, bool trans, const sl_vec16 *in, int is, sl_vec16 *out, int os)
{
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        sl_vec16 acc = {0};
        bool first = true;
#pragma GCC unroll 8
        for (int k = 0; k < K; k++) {
            const float c = trans ? Mat[k * R + r] : Mat[r * K + k];
            if (c == 0.0f) continue;
            const sl_vec16 t = c == 1.0f ? in[k * is] : c == -1.0f ? -in[k * is] : c * in[k * is];
            acc = first ? t : acc + t;
            first = false;
        }
        out[r * os] = acc;
    }
}

/* Two-sided product X = L Y L^T of small matrices of vectors (Y [Ri x Ri], X
 * [Ro x Ro]), as two wg_mul passes: L is [Ro x Ri], or with trans the transpose
 * of the stored [Ri x Ro] matrix. Every transform of this file is one. */
WG_INLINE void wg_sandwich(int Ro, int Ri, const float *L, bool trans, const sl_vec16 *in, sl_vec16 *out)
{
    sl_vec16 t[WG_AMAX * WG_AMAX];
#pragma GCC unroll 8
    for (int j = 0; j < Ri; j++) wg_mul(Ro, Ri, L, trans, in + j, Ri, t + j, Ri); /* columns: t = L in */
#pragma GCC unroll 8
    for (int i = 0; i < Ro; i++) wg_mul(Ro, Ri, L, trans, t + i * Ri, 1, out + i * Ro, 1); /* rows: t L^T */
}

/* U[xi][c][o] = G g G^T for the 3x3 kernels g = weight[o][c], 16 output channels
 * per vector (flip: the kernels of the grad_input convolution, weight[c][o]
 * rotated by 180 degrees, with O and C the output and input channels of that
 * convolution). */
WG_INLINE void wg_weights_impl(const wg_algo *al, const float *weight, int O, int C, bool flip, float *U)
{
    const int a = al->a;
    const int64_t CO = (int64_t)C * O;
    const int nob = (O + 15) / 16;
#pragma omp parallel for schedule(static) if (CO > 4096)
    for (int ob = 0; ob < nob; ob++) {
        const int o0 = ob * 16, n = O - o0 < 16 ? O - o0 : 16;
        for (int c = 0; c < C; c++) {
            sl_vec16 g[9] = {{0}}, u[WG_AMAX * WG_AMAX];
            for (int l = 0; l < n; l++) {
                const int o = o0 + l;
                for (int i = 0; i < 9; i++)
                    g[i][l] = flip ? weight[((int64_t)c * O + o) * 9 + 8 - i] : weight[((int64_t)o * C + c) * 9 + i];
            }
            wg_sandwich(a, 3, al->G, false, g, u);
            for (int xi = 0; xi < a * a; xi++) {
                float *dst = U + xi * CO + (int64_t)c * O + o0;
                if (n == 16) sl_vec16_store(dst, u[xi]);
                else
                    for (int l = 0; l < n; l++) dst[l] = u[xi][l];
            }
        }
    }
}

static void wg_transform_weights(const wg_algo *al, const float *weight, int O, int C, bool flip, float *U)
{
    if (al->m == 4) wg_weights_impl(&F4, weight, O, C, flip, U);
    else wg_weights_impl(&F2, weight, O, C, flip, U);
}

/* grad_weight[o][c] += G^T dU[o][c] G, 16 input channels per vector. */
WG_INLINE void wg_weight_grad_impl(const wg_algo *al, const float *dU, int O, int C, float *grad_weight)
{
    const int a = al->a;
    const int64_t OC = (int64_t)O * C;
    const int ncb = (C + 15) / 16;
#pragma omp parallel for schedule(static) if (OC > 4096)
    for (int o = 0; o < O; o++)
        for (int cb = 0; cb < ncb; cb++) {
            const int c0 = cb * 16, n = C - c0 < 16 ? C - c0 : 16;
            sl_vec16 u[WG_AMAX * WG_AMAX], w[9];
            for (int xi = 0; xi < a * a; xi++) {
                const float *src = dU + xi * OC + (int64_t)o * C + c0;
                if (n == 16) {
                    u[xi] = sl_vec16_load(src);
                } else {
                    u[xi] = (sl_vec16){0};
                    for (int l = 0; l < n; l++) u[xi][l] = src[l];
                }
            }
            wg_sandwich(3, a, al->G, true, u, w);
            for (int l = 0; l < n; l++) {
                float *dst = grad_weight + ((int64_t)o * C + c0 + l) * 9;
                for (int i = 0; i < 9; i++) dst[i] += w[i][l];
            }
        }
}

static void wg_weight_grad_finish(const wg_algo *al, const float *dU, int O, int C, float *grad_weight)
{
    if (al->m == 4) wg_weight_grad_impl(&F4, dU, O, C, grad_weight);
    else wg_weight_grad_impl(&F2, dU, O, C, grad_weight);
}

/* The a^2 transformed components of every tile of one image held in a channel-minor
 * plane (rows `row` floats, pixels Cp; tile (th, tw) starts at row m th, column
 * m tw), into rows t0.. of X (rows Cp floats, components TC = T * Cp apart):
 *   input:        X = B^T d B   for the a x a window d (a zero-padded image at row
 *                 h + 1, column w + 1), giving V;
 *   grad_output:  X = A dy A^T  for the m x m window dy (grad_y at row h, column w,
 *                 zero past the edge up to m TH x m TW), giving dM. */
WG_INLINE void wg_tiles_impl(const wg_algo *al, bool grad_output, const wg_plan *p, const float *plane, int64_t row,
                             int Cp, float *restrict X, int64_t t0, int64_t TC)
{
    const int m = al->m, a = al->a, TH = p->TH, TW = p->TW, win = grad_output ? m : a;
    const float *L = grad_output ? al->AT : al->BT;
    for (int th = 0; th < TH; th++)
        for (int tw = 0; tw < TW; tw++) {
            const float *d = plane + (int64_t)(m * th) * row + (int64_t)(m * tw) * Cp;
            float *x = X + (t0 + (int64_t)th * TW + tw) * Cp;
            for (int c = 0; c < Cp; c += 16) {
                sl_vec16 in[WG_AMAX * WG_AMAX], out[WG_AMAX * WG_AMAX];
                for (int r = 0; r < win; r++)
                    for (int s = 0; s < win; s++) in[r * win + s] = sl_vec16_load(d + r * row + s * Cp + c);
                wg_sandwich(a, win, L, grad_output, in, out);
                for (int xi = 0; xi < a * a; xi++) sl_vec16_store(x + xi * TC + c, out[xi]);
            }
        }
}

static void wg_input_tiles(const wg_plan *p, const float *plane, int64_t row, int Cp, float *V, int64_t t0,
                           int64_t TC)
{
    if (p->al->m == 4) wg_tiles_impl(&F4, false, p, plane, row, Cp, V, t0, TC);
    else wg_tiles_impl(&F2, false, p, plane, row, Cp, V, t0, TC);
}

static void wg_grad_output_tiles(const wg_plan *p, const float *plane, int64_t row, int Op, float *dM, int64_t t0,
                                 int64_t TO)
{
    if (p->al->m == 4) wg_tiles_impl(&F4, true, p, plane, row, Op, dM, t0, TO);
    else wg_tiles_impl(&F2, true, p, plane, row, Op, dM, t0, TO);
}

/* The same for B images x[B x C x H x W], through one padded plane `pad`. */
static void wg_transform_input(const sl_conv2d_geom *g, const wg_plan *p, const float *x, int B, float *V, int64_t T,
                               float *pad)
{
    const int C = g->C, H = g->H, W = g->W, Cp = wg_round(C);
    const int64_t row = (int64_t)p->Wp * Cp;
    memset(pad, 0, (size_t)p->Hp * row * sizeof(float)); /* border and pad lanes stay 0 */
    for (int i = 0; i < B; i++) {
        wg_image_to_plane(g->channels_last, x + (int64_t)i * C * H * W, C, H, W, pad, row, Cp, 1, 1);
        wg_input_tiles(p, pad, row, Cp, V, (int64_t)i * p->TH * p->TW, T * Cp);
    }
}

/* y[B x O x OH x OW] = A^T M A (+ bias) for every tile; rows of M are Op floats,
 * TO = T * Op apart. Channels first, each image's tiles go to a channel-minor plane
 * `out` and then transposed; channels last, straight into y ([B x OH x OW x O]),
 * cropping the edge tiles. */
WG_INLINE void wg_output_impl(const wg_algo *al, const sl_conv2d_geom *g, const wg_plan *p, const float *restrict M,
                              int B, int64_t T, float *y, const float *bias, float *restrict out)
{
    const int m = al->m, a = al->a;
    const int O = g->O, OH = g->OH, OW = g->OW, TH = p->TH, TW = p->TW, Op = wg_round(O);
    const bool cl = g->channels_last;
    const int64_t TO = T * Op;
    /* where tile (th, tw) starts, and the distance between its rows and pixels */
    const int64_t row = cl ? (int64_t)OW * O : (int64_t)m * TW * Op, pix = cl ? O : Op;
    for (int i = 0; i < B; i++) {
        float *dst = cl ? y + (int64_t)i * OH * OW * O : out;
        for (int th = 0; th < TH; th++)
            for (int tw = 0; tw < TW; tw++) {
                const float *mm = M + ((int64_t)i * TH * TW + (int64_t)th * TW + tw) * Op;
                float *y0 = dst + (int64_t)(m * th) * row + (int64_t)(m * tw) * pix;
                const int rows = cl && OH - m * th < m ? OH - m * th : m, cols = cl && OW - m * tw < m ? OW - m * tw : m;
                for (int o = 0; o < Op; o += 16) {
                    sl_vec16 in[WG_AMAX * WG_AMAX], res[16];
                    for (int xi = 0; xi < a * a; xi++) in[xi] = sl_vec16_load(mm + xi * TO + o);
                    wg_sandwich(m, a, al->AT, false, in, res); /* A^T M A */
                    if (!cl) {
                        for (int r = 0; r < m; r++)
                            for (int s = 0; s < m; s++) sl_vec16_store(y0 + r * row + s * Op + o, res[r * m + s]);
                        continue;
                    }
                    const int n = O - o < 16 ? O - o : 16;
                    sl_vec16 b = {0};
                    if (bias) memcpy(&b, bias + o, (size_t)n * sizeof(float));
                    if (rows == m && cols == m && n == 16) { /* constant bounds: res stays in registers */
                        for (int r = 0; r < m; r++)
                            for (int s = 0; s < m; s++) sl_vec16_store(y0 + r * row + s * O + o, res[r * m + s] + b);
                        continue;
                    }
                    for (int r = 0; r < rows; r++)
                        for (int s = 0; s < cols; s++) {
                            const sl_vec16 v = res[r * m + s] + b;
                            memcpy(y0 + r * row + s * O + o, &v, (size_t)n * sizeof(float));
                        }
                }
            }
        /* back to [O x OH x OW], cropping the edge tiles */
        if (!cl) wg_from_channel_minor(out, row, Op, O, OH, OW, bias, y + (int64_t)i * O * OH * OW);
    }
}

static void wg_transform_output(const sl_conv2d_geom *g, const wg_plan *p, const float *M, int B, int64_t T, float *y,
                                const float *bias, float *out)
{
    if (p->al->m == 4) wg_output_impl(&F4, g, p, M, B, T, y, bias, out);
    else wg_output_impl(&F2, g, p, M, B, T, y, bias, out);
}

/* }====================================================================== */

/* Forward of images [n_lo, n_hi) with transformed weights U, in chunks. */
static void wg_forward_group(const sl_conv2d_geom *g, const wg_plan *p, const float *x, float *y, const float *U,
                             const float *bias, float *lane, int n_lo, int n_hi)
{
    const int C = g->C, O = g->O, Cp = wg_round(C), Op = wg_round(O), a2 = p->al->a * p->al->a;
    const int64_t chw = (int64_t)C * g->H * g->W, ohw = (int64_t)O * g->OH * g->OW;
    float *V = lane, *M = lane + (size_t)a2 * p->T * Cp, *scratch = M + (size_t)a2 * p->T * Op;
    for (int n0 = n_lo; n0 < n_hi; n0 += p->nb) {
        const int B = n_hi - n0 < p->nb ? n_hi - n0 : p->nb;
        const int64_t T = (int64_t)B * p->TH * p->TW;
        wg_transform_input(g, p, x + n0 * chw, B, V, T, scratch);
        for (int xi = 0; xi < a2; xi++)
            sl_gemm(false, false, (int)T, O, C, 1.0f, V + (int64_t)xi * T * Cp, Cp, U + (int64_t)xi * C * O, O, 0.0f,
                    M + (int64_t)xi * T * Op, Op);
        wg_transform_output(g, p, M, B, T, y + n0 * ohw, bias, scratch);
    }
}

/* Backward of images [n_lo, n_hi) in chunks: dU += dM^T @ V (when dU) and grad_x =
 * the forward of the grad_input convolution gt with its transformed kernels Ut (when
 * grad_x). Each image of grad_y is transposed once, into a plane padded as gt's
 * input, and both its transforms read it: dM from the image (offset 1, 1), V' for
 * grad_x from the padded plane. Lane: V [a^2 T Cp] (then gt's M), dM and V'
 * [a^2 T Op each], a scratch plane. */
static void wg_backward_group(const sl_conv2d_geom *g, const sl_conv2d_geom *gt, const wg_plan *p, const float *x,
                              const float *grad_y, float *dU, const float *Ut, float *grad_x, float *lane, int n_lo,
                              int n_hi)
{
    const int C = g->C, O = g->O, Cp = wg_round(C), Op = wg_round(O), a2 = p->al->a * p->al->a;
    const int64_t chw = (int64_t)C * g->H * g->W, ohw = (int64_t)O * g->OH * g->OW, per = (int64_t)p->TH * p->TW;
    const int64_t row = (int64_t)p->Wp * Op;
    float *V = lane, *dM = V + (size_t)a2 * p->T * Cp, *Vt = dM + (size_t)a2 * p->T * Op;
    float *scratch = Vt + (size_t)a2 * p->T * Op;
    for (int n0 = n_lo; n0 < n_hi; n0 += p->nb) {
        const int B = n_hi - n0 < p->nb ? n_hi - n0 : p->nb;
        const int64_t T = (int64_t)B * per;
        if (dU) wg_transform_input(g, p, x + n0 * chw, B, V, T, scratch);
        memset(scratch, 0, (size_t)p->Hp * row * sizeof(float));
        for (int i = 0; i < B; i++) {
            wg_image_to_plane(g->channels_last, grad_y + (n0 + i) * ohw, O, g->OH, g->OW, scratch, row, Op, 1, 1);
            if (dU) wg_grad_output_tiles(p, scratch + row + Op, row, Op, dM, i * per, T * Op);
            if (grad_x) wg_input_tiles(p, scratch, row, Op, Vt, i * per, T * Op);
        }
        if (dU)
            for (int xi = 0; xi < a2; xi++)
                sl_gemm(true, false, O, C, (int)T, 1.0f, dM + (int64_t)xi * T * Op, Op, V + (int64_t)xi * T * Cp, Cp,
                        1.0f, dU + (int64_t)xi * O * C, C);
        if (grad_x) {
            float *Mt = V; /* gt's output channels are C */
            for (int xi = 0; xi < a2; xi++)
                sl_gemm(false, false, (int)T, C, O, 1.0f, Vt + (int64_t)xi * T * Op, Op, Ut + (int64_t)xi * O * C, C,
                        0.0f, Mt + (int64_t)xi * T * Cp, Cp);
            wg_transform_output(gt, p, Mt, B, T, grad_x + n0 * chw, NULL, scratch);
        }
    }
}

int sl_conv2d_winograd_forward(const sl_conv2d_geom *g, const float *x, float *y, const float *weight,
                               const float *bias, float *workspace)
{
    const wg_plan p = wg_make_plan(g);
    const wg_layout l = wg_make_layout(g, &p);
    float *U = workspace + l.U;
    wg_transform_weights(p.al, weight, g->O, g->C, false, U);
    const int G = sl_conv2d_groups(g), team = sl_conv2d_team(g);
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
    for (int k = 0; k < G; k++)
        wg_forward_group(g, &p, x, y, U, bias, workspace + (size_t)sl_conv2d_thread() * p.lane, sl_conv2d_group_start(g, k),
                         sl_conv2d_group_start(g, k + 1));
    return SL_OK;
}

int sl_conv2d_winograd_backward(const sl_conv2d_geom *g, const float *x, const float *grad_y, const float *weight,
                                float *grad_x, float *grad_weight, float *workspace)
{
    const wg_plan p = wg_make_plan(g);
    const wg_layout l = wg_make_layout(g, &p);
    const int G = sl_conv2d_groups(g), team = sl_conv2d_team(g), O = g->O, C = g->C, a2 = p.al->a * p.al->a;
    /* grad_x = the forward convolution of grad_y ([N x O x OH x OW], OH = H) with
     * the flipped kernels, C and O swapped; same tiles, same lane size. */
    const sl_conv2d_geom gt = {g->N, O, g->OH, g->OW, C, 3, 3, 1, 1, g->H, g->W, g->channels_last};
    float *U = workspace + l.U;
    if (grad_x) wg_transform_weights(p.al, weight, C, O, true, U);
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
    for (int k = 0; k < G; k++) {
        float *dU = grad_weight ? workspace + l.dU + (size_t)k * l.dU_size : NULL;
        if (dU) memset(dU, 0, (size_t)a2 * O * C * sizeof(float));
        wg_backward_group(g, &gt, &p, x, grad_y, dU, U, grad_x, workspace + (size_t)sl_conv2d_thread() * p.lane,
                          sl_conv2d_group_start(g, k), sl_conv2d_group_start(g, k + 1));
    }
    if (grad_weight) {
        /* partial sums added in group order (each element on its own, so threads
         * can split the elements), then back to the 3x3 domain */
        float *dU = workspace + l.dU;
        const int64_t n = (int64_t)a2 * O * C;
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1 && n > 4096)
        for (int64_t i = 0; i < n; i++) {
            float acc = dU[i];
            for (int k = 1; k < G; k++) acc += dU[(size_t)k * l.dU_size + i];
            dU[i] = acc;
        }
        wg_weight_grad_finish(p.al, dU, O, C, grad_weight);
    }
    return SL_OK;
}
