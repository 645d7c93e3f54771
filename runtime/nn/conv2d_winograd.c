/* conv2d_winograd.c - 3x3, stride-1, padding-1 convolution by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016): forward, grad_input and grad_weight.
 *
 * Each 2x2 block of outputs ("tile") reads a 4x4 patch d of the zero-padded input:
 *   y = A^T [ sum_c (G g G^T) .* (B^T d B) ] A
 * 16 multiplies per tile and (o, c) pair instead of im2col's 36. Writing
 *   U[xi][o][c] = (G g[o][c] G^T)[xi]   (16 transformed weights per pair)
 *   V[xi][c][t] = (B^T d[c][t] B)[xi]   (16 transformed values per tile t)
 * the sum over c is 16 independent GEMMs M[xi] = U[xi] @ V[xi] ([O x C] @ [C x T]),
 * and y is the output transform of M. The gradients follow from the same
 * factorisation (everything is linear):
 *   dM[xi][o][t] = (A dy[o][t] A^T)[xi]          (the transpose of the output transform)
 *   dU[xi]      += dM[xi] @ V[xi]^T               ([O x T] @ [T x C])
 *   grad_weight += G^T dU[o][c] G
 * grad_input of a 3x3 stride-1 padding-1 convolution is the same convolution of
 * grad_y with the weights flipped in space and C, O swapped, so it runs the forward.
 *
 * Transform matrices (F(2x2, 3x3)):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * Rounding: |error| stays within a few ulps of the sum's magnitude (the transforms
 * only add and halve), well inside the 1e-4 the PyTorch fixtures allow.
 *
 * Work is split exactly like conv2d.c: the batch in min(N, 4) groups of images
 * (fixed by the geometry, so results do not depend on the thread count), one
 * OpenMP thread per group with single-threaded GEMMs; each group walks its
 * images in chunks small enough that V and M stay in the core's L2 cache.
 */
#include "nn/conv2d_winograd.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "tensor/gemm.h"

#if defined(__GNUC__) && !defined(__clang__)
#define WG_VECTORIZE __attribute__((optimize("O3", "no-tree-loop-distribute-patterns")))
#else
#define WG_VECTORIZE
#endif

/* Floats of V + M per chunk: 2 MB, half an L2 of the development machine. */
#define WG_CHUNK_FLOATS (1 << 19)
/* ...but at least this many tiles, so the GEMMs are not too narrow. */
#define WG_MIN_TILES 128

static bool winograd_enabled = true;

/* Channels rounded up to whole 16-float vectors (the channel-minor row length). */
static int wg_round(int c)
{
    return (c + 15) / 16 * 16;
}

void sl_conv2d_set_winograd(bool on)
{
    winograd_enabled = on;
}

bool sl_conv2d_get_winograd(void)
{
    return winograd_enabled;
}

bool sl_conv2d_winograd_applies(const sl_conv2d_geom *g)
{
    /* with few channels (a stem) the GEMMs are too thin to pay for the transforms */
    return winograd_enabled && g->KH == 3 && g->KW == 3 && g->stride == 1 && g->pad == 1 && g->C >= 8 && g->O >= 8;
}

/* Tile grid and per-chunk sizes of a geometry. */
typedef struct {
    int TH, TW;      /* tiles per plane: ceil(OH / 2) x ceil(OW / 2) */
    int Hp, Wp;      /* padded input plane: 2 TH + 2 rows, 2 TW + 2 columns */
    int nb;          /* images per chunk */
    int64_t T;       /* tiles per full chunk: nb * TH * TW */
    size_t lane;     /* floats of one thread's scratch */
} wg_plan;

static int wg_groups(const sl_conv2d_geom *g)
{
    return g->N < SL_CONV2D_GROUPS ? g->N : SL_CONV2D_GROUPS;
}

static int wg_group_start(const sl_conv2d_geom *g, int k)
{
    return (int)((int64_t)k * g->N / wg_groups(g));
}

static wg_plan wg_make_plan(const sl_conv2d_geom *g)
{
    wg_plan p;
    p.TH = (g->OH + 1) / 2;
    p.TW = (g->OW + 1) / 2;
    p.Hp = 2 * p.TH + 2;
    p.Wp = 2 * p.TW + 2;
    const int64_t per_image = (int64_t)p.TH * p.TW;
    const int G = wg_groups(g), group = (g->N + G - 1) / G;
    const int Cp = wg_round(g->C), Op = wg_round(g->O), Mp = Cp > Op ? Cp : Op;
    int64_t nb = WG_CHUNK_FLOATS / (16 * (int64_t)(Cp + Op) * per_image);
    const int64_t nb_min = (WG_MIN_TILES + per_image - 1) / per_image;
    if (nb < nb_min) nb = nb_min;
    if (nb > group) nb = group;
    if (nb < 1) nb = 1;
    p.nb = (int)nb;
    p.T = nb * per_image;
    /* V and M (or V and dM), then one channel-minor padded plane */
    const size_t scratch = (size_t)p.Hp * p.Wp * Mp;
    p.lane = ((size_t)16 * p.T * (Cp + Op) + scratch + 15) / 16 * 16;
    return p;
}

/* Workspace: [one lane per group][U: 16 x O x C][dU partial sums: one per group]. */
typedef struct {
    size_t U, dU, dU_size, total;
} wg_layout;

static wg_layout wg_make_layout(const sl_conv2d_geom *g, const wg_plan *p)
{
    wg_layout l;
    const int G = wg_groups(g);
    l.dU_size = ((size_t)16 * g->O * g->C + 15) / 16 * 16;
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

static int wg_team(const sl_conv2d_geom *g)
{
#if defined(_OPENMP) && defined(SSLAB_OPENBLAS_OPENMP)
    const int G = wg_groups(g), t = omp_get_max_threads();
    return t < G ? t : G;
#else
    (void)g;
    return 1;
#endif
}

static int wg_thread(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* {======================================================================
 * Transforms. Inside a chunk everything is channel-minor, so that every
 * transform is a loop over C (or O) contiguous floats, a full vector even for
 * the 16-channel stages and 2x2-tile planes:
 *   V[xi][t][c], M / dM[xi][t][o], U[xi][c][o], dU[xi][o][c],
 * and each image is transposed once from [C x H x W] into a zero-padded
 * [Hp x Wp x C] plane (and outputs back from [2TH x 2TW x O]).
 * ======================================================================= */

/* U[xi][c][o] = G g G^T for the 3x3 kernel g = weight[o][c] (flip: the kernel of the
 * grad_input convolution, weight[c][o] rotated by 180 degrees, with O and C the
 * output and input channels of that convolution). */
static void wg_transform_weights(const float *weight, int O, int C, bool flip, float *U)
{
    const int64_t OC = (int64_t)O * C;
#pragma omp parallel for schedule(static) if (OC > 4096)
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) {
            float k[9];
            if (flip) {
                const float *w = weight + ((int64_t)c * O + o) * 9;
                for (int i = 0; i < 9; i++) k[i] = w[8 - i];
            } else {
                memcpy(k, weight + ((int64_t)o * C + c) * 9, sizeof k);
            }
            float r[4][3]; /* G g */
            for (int j = 0; j < 3; j++) {
                const float a = k[j], b = k[3 + j], d = k[6 + j];
                r[0][j] = a;
                r[1][j] = 0.5f * (a + b + d);
                r[2][j] = 0.5f * (a - b + d);
                r[3][j] = d;
            }
            float *u = U + (int64_t)c * O + o;
            for (int i = 0; i < 4; i++) { /* (G g) G^T */
                const float a = r[i][0], b = r[i][1], d = r[i][2];
                u[(i * 4 + 0) * OC] = a;
                u[(i * 4 + 1) * OC] = 0.5f * (a + b + d);
                u[(i * 4 + 2) * OC] = 0.5f * (a - b + d);
                u[(i * 4 + 3) * OC] = d;
            }
        }
}

/* grad_weight[o][c] += G^T dU[o][c] G. */
static void wg_weight_grad_finish(const float *dU, int O, int C, float *grad_weight)
{
    const int64_t OC = (int64_t)O * C;
#pragma omp parallel for schedule(static) if (OC > 4096)
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) {
            const float *u = dU + (int64_t)o * C + c;
            float r[3][4]; /* G^T dU */
            for (int j = 0; j < 4; j++) {
                const float a = u[j * OC], b = u[(4 + j) * OC], d = u[(8 + j) * OC], e = u[(12 + j) * OC];
                r[0][j] = a + 0.5f * (b + d);
                r[1][j] = 0.5f * (b - d);
                r[2][j] = 0.5f * (b + d) + e;
            }
            float *w = grad_weight + ((int64_t)o * C + c) * 9;
            for (int i = 0; i < 3; i++) { /* (G^T dU) G */
                const float a = r[i][0], b = r[i][1], d = r[i][2], e = r[i][3];
                w[i * 3 + 0] += a + 0.5f * (b + d);
                w[i * 3 + 1] += 0.5f * (b - d);
                w[i * 3 + 2] += 0.5f * (b + d) + e;
            }
        }
}

/* 16 floats, one AVX-512 register (GCC and Clang split it on narrower CPUs).
 * Channel-minor rows are padded to whole vectors (wg_round), so the transforms
 * have no scalar tails; the pad lanes hold zeros or values nobody reads. */
typedef float wg_vec __attribute__((vector_size(64)));
#define WG_LANES 16

static inline wg_vec wg_load(const float *p)
{
    wg_vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void wg_store(float *p, wg_vec v)
{
    memcpy(p, &v, sizeof v);
}

/* In-place transpose of a 16 x 16 block held in 16 vectors: four rounds of
 * "perfect shuffle" (row 2i <- low halves of rows i and i + 8 interleaved, row
 * 2i + 1 <- high halves), one two-source permute per row and round. */
static inline void wg_transpose16(wg_vec r[16])
{
    typedef int wg_idx __attribute__((vector_size(64)));
    const wg_idx lo = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
    const wg_idx hi = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    for (int round = 0; round < 4; round++) {
        wg_vec t[16];
        for (int i = 0; i < 8; i++) {
            t[2 * i] = __builtin_shuffle(r[i], r[i + 8], lo);
            t[2 * i + 1] = __builtin_shuffle(r[i], r[i + 8], hi);
        }
        memcpy(r, t, sizeof t);
    }
}

/* Where pixel p of a W-wide plane lands in a channel-minor plane whose pixel
 * (h, w) sits at row r0 + h, column c0 + w (rows `row` floats, pixels Cp). */
static inline int64_t wg_pixel_at(int64_t p, int W, int64_t row, int Cp, int r0, int c0)
{
    return (r0 + p / W) * row + (c0 + p % W) * (int64_t)Cp;
}

/* dst[pixel (h, w)][c] = src[c][h][w]: one [C x H x W] image into a channel-minor
 * plane (see wg_pixel_at), 16 x 16 blocks through registers. */
static void wg_to_channel_minor(const float *restrict src, int C, int H, int W, float *restrict dst, int64_t row,
                                int Cp, int r0, int c0)
{
    const int64_t HW = (int64_t)H * W, P16 = HW / 16 * 16;
    const int C16 = C / 16 * 16;
    for (int c = 0; c < C16; c += 16) {
        for (int64_t p = 0; p < P16; p += 16) {
            wg_vec r[16];
            for (int i = 0; i < 16; i++) r[i] = wg_load(src + (c + i) * HW + p);
            wg_transpose16(r);
            for (int j = 0; j < 16; j++) wg_store(dst + wg_pixel_at(p + j, W, row, Cp, r0, c0) + c, r[j]);
        }
        for (int64_t p = P16; p < HW; p++) {
            float *d = dst + wg_pixel_at(p, W, row, Cp, r0, c0);
            for (int i = c; i < c + 16; i++) d[i] = src[i * HW + p];
        }
    }
    for (int64_t p = 0; p < HW && C16 < C; p++) {
        float *d = dst + wg_pixel_at(p, W, row, Cp, r0, c0);
        for (int i = C16; i < C; i++) d[i] = src[i * HW + p];
    }
}

/* dst[o][h][w] = src[pixel (h, w)][o] + bias[o]: the inverse of wg_to_channel_minor
 * for an [O x H x W] image read from a channel-minor plane (r0 = c0 = 0). */
static void wg_from_channel_minor(const float *restrict src, int64_t row, int Op, int O, int H, int W,
                                  const float *bias, float *restrict dst)
{
    const int64_t HW = (int64_t)H * W, P16 = HW / 16 * 16;
    const int O16 = O / 16 * 16;
    for (int o = 0; o < O16; o += 16) {
        for (int64_t p = 0; p < P16; p += 16) {
            wg_vec r[16];
            for (int j = 0; j < 16; j++) r[j] = wg_load(src + wg_pixel_at(p + j, W, row, Op, 0, 0) + o);
            wg_transpose16(r);
            for (int i = 0; i < 16; i++) wg_store(dst + (o + i) * HW + p, r[i] + (bias ? bias[o + i] : 0.0f));
        }
        for (int64_t p = P16; p < HW; p++) {
            const float *s = src + wg_pixel_at(p, W, row, Op, 0, 0);
            for (int i = o; i < o + 16; i++) dst[i * HW + p] = s[i] + (bias ? bias[i] : 0.0f);
        }
    }
    for (int64_t p = 0; p < HW && O16 < O; p++) {
        const float *s = src + wg_pixel_at(p, W, row, Op, 0, 0);
        for (int i = O16; i < O; i++) dst[i * HW + p] = s[i] + (bias ? bias[i] : 0.0f);
    }
}

/* V[xi][t0 + tile][c] = B^T d B for every tile of B images x[B x C x H x W];
 * rows of V are Cp floats, TC = T * Cp apart from one component to the next. */
static void wg_transform_input(const sl_conv2d_geom *g, const wg_plan *p, const float *x, int B, float *restrict V,
                               int64_t T, float *restrict pad)
{
    const int C = g->C, H = g->H, W = g->W, TH = p->TH, TW = p->TW, Cp = wg_round(C);
    const int64_t row = (int64_t)p->Wp * Cp, TC = T * Cp;
    memset(pad, 0, (size_t)p->Hp * row * sizeof(float)); /* border and pad lanes stay 0 */
    for (int i = 0; i < B; i++) {
        wg_to_channel_minor(x + (int64_t)i * C * H * W, C, H, W, pad, row, Cp, 1, 1);
        for (int th = 0; th < TH; th++)
            for (int tw = 0; tw < TW; tw++) {
                const float *d = pad + (int64_t)(2 * th) * row + (int64_t)(2 * tw) * Cp;
                float *v = V + ((int64_t)i * TH * TW + (int64_t)th * TW + tw) * Cp;
                for (int c = 0; c < Cp; c += WG_LANES) {
                    wg_vec r[4][4]; /* B^T d */
                    for (int b = 0; b < 4; b++) {
                        const wg_vec d0 = wg_load(d + b * Cp + c), d1 = wg_load(d + row + b * Cp + c),
                                     d2 = wg_load(d + 2 * row + b * Cp + c), d3 = wg_load(d + 3 * row + b * Cp + c);
                        r[0][b] = d0 - d2;
                        r[1][b] = d1 + d2;
                        r[2][b] = d2 - d1;
                        r[3][b] = d1 - d3;
                    }
                    for (int a = 0; a < 4; a++) { /* (B^T d) B */
                        wg_store(v + (4 * a + 0) * TC + c, r[a][0] - r[a][2]);
                        wg_store(v + (4 * a + 1) * TC + c, r[a][1] + r[a][2]);
                        wg_store(v + (4 * a + 2) * TC + c, r[a][2] - r[a][1]);
                        wg_store(v + (4 * a + 3) * TC + c, r[a][1] - r[a][3]);
                    }
                }
            }
    }
}

/* y[B x O x OH x OW] = A^T M A (+ bias) for every tile; rows of M are Op floats,
 * TO = T * Op apart. */
WG_VECTORIZE static void wg_transform_output(const sl_conv2d_geom *g, const wg_plan *p, const float *restrict M,
                                            int B, int64_t T, float *y, const float *bias, float *restrict out)
{
    const int O = g->O, OH = g->OH, OW = g->OW, TH = p->TH, TW = p->TW, Op = wg_round(O);
    const int64_t row = (int64_t)2 * TW * Op, TO = T * Op;
    for (int i = 0; i < B; i++) {
        for (int th = 0; th < TH; th++)
            for (int tw = 0; tw < TW; tw++) {
                const float *m = M + ((int64_t)i * TH * TW + (int64_t)th * TW + tw) * Op;
                float *y0 = out + (int64_t)(2 * th) * row + (int64_t)(2 * tw) * Op;
                for (int o = 0; o < Op; o += WG_LANES) {
                    wg_vec s0[4], s1[4]; /* A^T m */
                    for (int k = 0; k < 4; k++) {
                        const wg_vec a = wg_load(m + k * TO + o), e = wg_load(m + (4 + k) * TO + o),
                                     f = wg_load(m + (8 + k) * TO + o), h = wg_load(m + (12 + k) * TO + o);
                        s0[k] = a + e + f;
                        s1[k] = e - f - h;
                    }
                    wg_store(y0 + o, s0[0] + s0[1] + s0[2]);
                    wg_store(y0 + Op + o, s0[1] - s0[2] - s0[3]);
                    wg_store(y0 + row + o, s1[0] + s1[1] + s1[2]);
                    wg_store(y0 + row + Op + o, s1[1] - s1[2] - s1[3]);
                }
            }
        /* back to [O x OH x OW], cropping the odd edge */
        wg_from_channel_minor(out, row, Op, O, OH, OW, bias, y + (int64_t)i * O * OH * OW);
    }
}

/* dM[xi][t0 + tile][o] = A dy A^T for every tile of dy[B x O x OH x OW] (outputs
 * past an odd edge count as 0); rows of dM are Op floats, TO = T * Op apart. */
static void wg_transform_grad_output(const sl_conv2d_geom *g, const wg_plan *p, const float *dy, int B,
                                     float *restrict dM, int64_t T, float *restrict pad)
{
    const int O = g->O, OH = g->OH, OW = g->OW, TH = p->TH, TW = p->TW, Op = wg_round(O);
    const int64_t row = (int64_t)2 * TW * Op, TO = T * Op;
    memset(pad, 0, (size_t)2 * TH * row * sizeof(float));
    for (int i = 0; i < B; i++) {
        wg_to_channel_minor(dy + (int64_t)i * O * OH * OW, O, OH, OW, pad, row, Op, 0, 0);
        for (int th = 0; th < TH; th++)
            for (int tw = 0; tw < TW; tw++) {
                const float *a0 = pad + (int64_t)(2 * th) * row + (int64_t)(2 * tw) * Op;
                float *d = dM + ((int64_t)i * TH * TW + (int64_t)th * TW + tw) * Op;
                for (int o = 0; o < Op; o += WG_LANES) {
                    const wg_vec u0 = wg_load(a0 + o), v0 = wg_load(a0 + Op + o), u1 = wg_load(a0 + row + o),
                                 v1 = wg_load(a0 + row + Op + o);
                    /* rows of A dy: (u0 v0), (u0+u1 v0+v1), (u0-u1 v0-v1), (-u1 -v1);
                     * then each row (u v) -> (u, u+v, u-v, -v) */
                    const wg_vec ru[4] = {u0, u0 + u1, u0 - u1, -u1}, rv[4] = {v0, v0 + v1, v0 - v1, -v1};
                    for (int r = 0; r < 4; r++) {
                        wg_store(d + (4 * r + 0) * TO + o, ru[r]);
                        wg_store(d + (4 * r + 1) * TO + o, ru[r] + rv[r]);
                        wg_store(d + (4 * r + 2) * TO + o, ru[r] - rv[r]);
                        wg_store(d + (4 * r + 3) * TO + o, -rv[r]);
                    }
                }
            }
    }
}

/* }====================================================================== */

/* Forward of images [n_lo, n_hi) with transformed weights U, in chunks. */
static void wg_forward_group(const sl_conv2d_geom *g, const wg_plan *p, const float *x, float *y, const float *U,
                             const float *bias, float *lane, int n_lo, int n_hi)
{
    const int C = g->C, O = g->O, Cp = wg_round(C), Op = wg_round(O);
    const int64_t chw = (int64_t)C * g->H * g->W, ohw = (int64_t)O * g->OH * g->OW;
    float *V = lane, *M = lane + (size_t)16 * p->T * Cp, *scratch = M + (size_t)16 * p->T * Op;
    for (int n0 = n_lo; n0 < n_hi; n0 += p->nb) {
        const int B = n_hi - n0 < p->nb ? n_hi - n0 : p->nb;
        const int64_t T = (int64_t)B * p->TH * p->TW;
        wg_transform_input(g, p, x + n0 * chw, B, V, T, scratch);
        for (int xi = 0; xi < 16; xi++)
            sl_gemm(false, false, (int)T, O, C, 1.0f, V + (int64_t)xi * T * Cp, Cp, U + (int64_t)xi * C * O, O, 0.0f,
                    M + (int64_t)xi * T * Op, Op);
        wg_transform_output(g, p, M, B, T, y + n0 * ohw, bias, scratch);
    }
}

/* dU += sum over images [n_lo, n_hi) of dM @ V^T. */
static void wg_weight_grad_group(const sl_conv2d_geom *g, const wg_plan *p, const float *x, const float *grad_y,
                                 float *dU, float *lane, int n_lo, int n_hi)
{
    const int C = g->C, O = g->O, Cp = wg_round(C), Op = wg_round(O);
    const int64_t chw = (int64_t)C * g->H * g->W, ohw = (int64_t)O * g->OH * g->OW;
    float *V = lane, *dM = lane + (size_t)16 * p->T * Cp, *scratch = dM + (size_t)16 * p->T * Op;
    for (int n0 = n_lo; n0 < n_hi; n0 += p->nb) {
        const int B = n_hi - n0 < p->nb ? n_hi - n0 : p->nb;
        const int64_t T = (int64_t)B * p->TH * p->TW;
        wg_transform_input(g, p, x + n0 * chw, B, V, T, scratch);
        wg_transform_grad_output(g, p, grad_y + n0 * ohw, B, dM, T, scratch);
        for (int xi = 0; xi < 16; xi++)
            sl_gemm(true, false, O, C, (int)T, 1.0f, dM + (int64_t)xi * T * Op, Op, V + (int64_t)xi * T * Cp, Cp, 1.0f,
                    dU + (int64_t)xi * O * C, C);
    }
}

int sl_conv2d_winograd_forward(const sl_conv2d_geom *g, const float *x, float *y, const float *weight,
                               const float *bias, float *workspace)
{
    const wg_plan p = wg_make_plan(g);
    const wg_layout l = wg_make_layout(g, &p);
    float *U = workspace + l.U;
    wg_transform_weights(weight, g->O, g->C, false, U);
    const int G = wg_groups(g), team = wg_team(g);
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
    for (int k = 0; k < G; k++)
        wg_forward_group(g, &p, x, y, U, bias, workspace + (size_t)wg_thread() * p.lane, wg_group_start(g, k),
                         wg_group_start(g, k + 1));
    return SL_OK;
}

int sl_conv2d_winograd_backward(const sl_conv2d_geom *g, const float *x, const float *grad_y, const float *weight,
                                float *grad_x, float *grad_weight, float *workspace)
{
    const wg_plan p = wg_make_plan(g);
    const wg_layout l = wg_make_layout(g, &p);
    const int G = wg_groups(g), team = wg_team(g), O = g->O, C = g->C;
    /* grad_x = the forward convolution of grad_y ([N x O x OH x OW], OH = H) with
     * the flipped kernels, C and O swapped; same tiles, same lane size. */
    const sl_conv2d_geom gt = {g->N, O, g->OH, g->OW, C, 3, 3, 1, 1, g->H, g->W};
    float *U = workspace + l.U;
    if (grad_x) wg_transform_weights(weight, C, O, true, U);
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
    for (int k = 0; k < G; k++) {
        float *lane = workspace + (size_t)wg_thread() * p.lane;
        const int lo = wg_group_start(g, k), hi = wg_group_start(g, k + 1);
        if (grad_weight) {
            float *dU = workspace + l.dU + (size_t)k * l.dU_size;
            memset(dU, 0, (size_t)16 * O * C * sizeof(float));
            wg_weight_grad_group(g, &p, x, grad_y, dU, lane, lo, hi);
        }
        if (grad_x) wg_forward_group(&gt, &p, grad_y, grad_x, U, NULL, lane, lo, hi);
    }
    if (grad_weight) {
        /* partial sums added in group order, then back to the 3x3 domain */
        float *dU = workspace + l.dU;
        const int64_t n = (int64_t)16 * O * C;
        for (int k = 1; k < G; k++) {
            const float *part = dU + (size_t)k * l.dU_size;
            for (int64_t i = 0; i < n; i++) dU[i] += part[i];
        }
        wg_weight_grad_finish(dU, O, C, grad_weight);
    }
    return SL_OK;
}
