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
 * channel), in float vector lanes folded into doubles every BN_FOLD values (at
 * most 128 terms per float sum): vector speed, double accuracy, and no
 * cancellation when |mean| >> std. The backward sums (dy and dy * (x - mean)) are
 * taken the same way.
 *
 * Two layouts:
 *  - planes (channels first, [N x C x spatial], spatial > 1): one channel at a
 *    time, its (sample, channel) planes contiguous, 16 lanes along the plane.
 *    OpenMP splits the channels.
 *  - rows (channels last, [N x spatial x C], and BatchNorm1d, which is that with
 *    spatial 1): a lane per channel, blocks of 64 channels (4 vectors) streamed
 *    down the rows. Each (256 channels, group) column is cut into a number of row
 *    chunks fixed by the shapes; the threads of one OpenMP region share the
 *    (column, chunk) items, the chunks' partial sums are added in chunk order, and
 *    after one barrier the element-wise pass (y or dx) runs over the same items.
 *    Statistics then normalisation make two sweeps over the tensor where the
 *    planes path re-reads a channel from cache: slower once a tensor outgrows
 *    the cache (~1.1-1.3x at 100 MB), faster below.
 * Every sum is taken in an order fixed by the shapes, so nothing depends on the
 * thread count, and nothing is allocated.
 */
#include "nn/nn.h"
#include "nn/parallel.h"
#include "nn/vec16.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define BN_LANES 16  /* accumulators per block */
#define BN_CBLOCK 64 /* channels per block in the rows path */

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

/* p + o, or NULL for an absent tensor. */
static inline const float *opt_at(const float *p, int64_t o)
{
    return p ? p + o : NULL;
}

/* Rows layout: channels last, or BatchNorm1d (the same with spatial 1). */
static inline bool rows_layout(const sl_batchnorm_params *p)
{
    return p->channels_last || p->spatial == 1;
}

/* The offset of group g's first value of channel c: its shift k (a value of the channel). */
static inline int64_t group_first(const sl_batchnorm_params *p, int g, int c)
{
    const int64_t n = group_sample(p, g, 0);
    return rows_layout(p) ? n * p->spatial * p->C + c : (n * p->C + c) * p->spatial;
}

/* {======================================================================
 * Sums in vector lanes, and the planes' element-wise passes.
 * ======================================================================= */

/* Sums in BN_LANES float lanes, folded into double lanes whenever BN_FOLD values
 * have gone in (so at most 2 * BN_FOLD / BN_LANES = 128 terms per float sum):
 * vector speed, double accuracy across the batch, and no per-plane reduction for
 * small (4x4) planes. The planes of one (group, channel) share one bn_sums; in
 * the rows path lane j of a bn_sums is one channel. Values are shifted by a
 * constant of the channel (its first value) so that the one-pass variance,
 * sum (x - k)^2 / m - (sum (x - k) / m)^2, does not cancel when |mean| >> std. */
#define BN_FOLD 1024

_Static_assert(sizeof(sl_vec16) == BN_LANES * sizeof(float), "the float lanes are one sl_vec16");

typedef struct {
    double d1[BN_LANES], d2[BN_LANES]; /* folded sums */
    sl_vec16 f1, f2;                   /* running float sums: lane j = values j mod 16 of a plane, or channel j */
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

/* {======================================================================
 * Per-channel coefficients, shared by both layouts.
 * ======================================================================= */

/* Normalisation of (group g, channel c): in training from the one-pass sums
 * s1 = sum (x - k), s2 = sum (x - k)^2 over its m values (adding its mean and
 * unbiased variance to the running-update sums), in evaluation from the running
 * statistics; saves mean and invstd, and gives y = x * scale + shift. The save
 * and sum pointers may be NULL (nothing saved or added). */
static void channel_affine(const sl_batchnorm_params *p, int g, int c, double k, double s1, double s2,
                           const float *gamma, const float *beta, const float *running_mean,
                           const float *running_var, float *save_mean, float *save_invstd, double *mean_sum,
                           double *var_sum, float *scale, float *shift)
{
    double mean, invstd;
    if (p->training) {
        const int64_t m = (int64_t)(p->N / p->groups) * p->spatial;
        const double d = s1 / (double)m, dvar = s2 / (double)m - d * d, var = dvar > 0.0 ? dvar : 0.0;
        mean = k + d;
        invstd = 1.0 / sqrt(var + p->eps);
        if (mean_sum) *mean_sum += mean;
        if (var_sum) *var_sum += var * (double)m / (double)(m - 1);
    } else {
        mean = running_mean[c];
        invstd = 1.0 / sqrt((double)running_var[c] + p->eps);
    }
    if (save_mean) save_mean[(int64_t)g * p->C + c] = (float)mean;
    if (save_invstd) save_invstd[(int64_t)g * p->C + c] = (float)invstd;
    const double w = gamma ? gamma[c] : 1.0, b = beta ? beta[c] : 0.0;
    *scale = (float)(invstd * w);
    *shift = (float)(b - mean * invstd * w);
}

static inline void update_running(const sl_batchnorm_params *p, int c, double mean_sum, double var_sum,
                                  float *running_mean, float *running_var)
{
    const double mo = p->momentum;
    running_mean[c] = (float)((1.0 - mo) * running_mean[c] + mo * (mean_sum / p->groups));
    running_var[c] = (float)((1.0 - mo) * running_var[c] + mo * (var_sum / p->groups));
}

/* Backward of (group g, channel c) from sdy = sum dy and sdyx = sum dy * (x - mean):
 * adds to the dgamma / dbeta sums (unless NULL) and gives dx = k * (dy - mdy - xhat * mdyx). */
static void channel_grad(const sl_batchnorm_params *p, int g, int c, double sdy, double sdyx, const float *gamma,
                         const float *save_invstd, double *dgamma, double *dbeta, float *k, float *mdy, float *mdyx)
{
    const int64_t m = (int64_t)(p->N / p->groups) * p->spatial;
    const double invstd = save_invstd[(int64_t)g * p->C + c], sdyxhat = sdyx * invstd;
    if (dgamma) *dgamma += sdyxhat;
    if (dbeta) *dbeta += sdy;
    *k = (float)((gamma ? gamma[c] : 1.0) * invstd);
    *mdy = p->training ? (float)(sdy / (double)m) : 0.0f;
    *mdyx = p->training ? (float)(sdyxhat / (double)m) : 0.0f;
}

/* }====================================================================== */

/* {======================================================================
 * Channels first: (sample, channel) planes.
 * ======================================================================= */

static void forward_planes(const sl_batchnorm_params *p, const float *x, float *y, const float *gamma,
                           const float *beta, float *running_mean, float *running_var, float *save_mean,
                           float *save_invstd)
{
    const int C = p->C, G = p->groups, per = p->N / p->groups;
    const int64_t S = p->spatial;
#pragma omp parallel for schedule(static) if ((int64_t)p->N * C * S > NN_PAR_WORK)
    for (int c = 0; c < C; c++) {
        double msum = 0.0, vsum = 0.0;
        for (int g = 0; g < G; g++) {
            bn_sums a = {0};
            const float k = x[group_first(p, g, c)];
            if (p->training) {
                for (int r = 0; r < per; r++) block_moments(&a, x + ((int64_t)group_sample(p, g, r) * C + c) * S, S, k);
                sums_fold(&a, true);
            }
            float scale, shift;
            channel_affine(p, g, c, k, lanes_total(a.d1), lanes_total(a.d2), gamma, beta, running_mean, running_var,
                           save_mean, save_invstd, &msum, &vsum, &scale, &shift);
            for (int r = 0; r < per; r++) {
                const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                affine_block(x + off, y + off, S, scale, shift, p->relu);
            }
        }
        if (p->training && running_mean) update_running(p, c, msum, vsum, running_mean, running_var);
    }
}

static void backward_planes(const sl_batchnorm_params *p, const float *x, const float *relu_y, const float *grad_y,
                            float *grad_x, const float *gamma, float *grad_gamma, float *grad_beta,
                            const float *save_mean, const float *save_invstd)
{
    const int C = p->C, G = p->groups, per = p->N / p->groups;
    const int64_t S = p->spatial;
#pragma omp parallel for schedule(static) if ((int64_t)p->N * C * S > NN_PAR_WORK)
    for (int c = 0; c < C; c++) {
        double dgamma = 0.0, dbeta = 0.0;
        for (int g = 0; g < G; g++) {
            const float mean = save_mean[(int64_t)g * C + c], invstd = save_invstd[(int64_t)g * C + c];
            bn_sums a = {0};
            for (int r = 0; r < per; r++) {
                const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                block_dy(&a, grad_y + off, x + off, opt_at(relu_y, off), S, mean);
            }
            sums_fold(&a, true);
            float k, mdy, mdyx;
            channel_grad(p, g, c, lanes_total(a.d1), lanes_total(a.d2), gamma, save_invstd, &dgamma, &dbeta, &k, &mdy,
                         &mdyx);
            if (!grad_x) continue;
            for (int r = 0; r < per; r++) {
                const int64_t off = ((int64_t)group_sample(p, g, r) * C + c) * S;
                dx_block(grad_y + off, x + off, opt_at(relu_y, off), grad_x + off, S, k, mdy, mdyx, mean,
                         invstd);
            }
        }
        if (grad_gamma) grad_gamma[c] += (float)dgamma;
        if (grad_beta) grad_beta[c] += (float)dbeta;
    }
}

/* }====================================================================== */

/* {======================================================================
 * Channels last: rows of C channels, a vector lane per channel.
 * ======================================================================= */

#define BN_VECS (BN_CBLOCK / BN_LANES) /* vectors per channel block (the kernels' registers) */
#define BN_COLUMN (4 * BN_CBLOCK)      /* channels per column: 1 KB of each row, read together */
#define BN_CVECS (BN_COLUMN / BN_LANES)
#define BN_ITEMS 8   /* (column, chunk) items per round: 40 KB of partial sums, 24 KB of coefficients a thread */
#define BN_TILE 64   /* rows an item runs through all its blocks at a time */

/* The first n <= 16 lanes of a vector: a block's last vector (C not a multiple of
 * 16) neither reads nor writes past the end of a row. */
static inline sl_vec16 vec_load_n(const float *p, int n)
{
    if (n >= BN_LANES) return sl_vec16_load(p);
    sl_vec16 v = {0};
    memcpy(&v, p, sizeof(float) * (size_t)n);
    return v;
}

static inline void vec_store_n(float *p, sl_vec16 v, int n)
{
    if (n >= BN_LANES)
        sl_vec16_store(p, v);
    else
        memcpy(p, &v, sizeof(float) * (size_t)n);
}

/* nc <= BN_COLUMN per-channel values as vectors. */
static inline void load_block(sl_vec16 *v, const float *p, int nc)
{
    for (int j = 0; j * BN_LANES < nc; j++)
        v[j] = vec_load_n(p + j * BN_LANES, nc - j * BN_LANES < BN_LANES ? nc - j * BN_LANES : BN_LANES);
}

/* The work of one call, fixed by the shapes. A column is a (range of BN_COLUMN
 * channels, group) pair, numbered channel-major so that the groups of a channel
 * come in order (the running statistics and dgamma / dbeta add them up); its
 * rows, (sample, position) pairs in group order, are cut into nchunk chunks. A
 * round is the round_cols consecutive columns whose partial sums fit on the
 * stack: round_cols * nchunk <= BN_ITEMS. */
typedef struct {
    int64_t rows; /* per group, (N / groups) * spatial */
    int ncols, nchunk, round_cols;
} bn_plan;

static bn_plan rows_plan(const sl_batchnorm_params *p)
{
    bn_plan pl;
    pl.rows = (int64_t)(p->N / p->groups) * p->spatial;
    pl.ncols = (p->C + BN_COLUMN - 1) / BN_COLUMN * p->groups;
    pl.nchunk = pl.ncols >= BN_ITEMS ? 1 : BN_ITEMS / pl.ncols;
    if (pl.nchunk > pl.rows) pl.nchunk = (int)pl.rows;
    pl.round_cols = BN_ITEMS / pl.nchunk;
    return pl;
}

/* Column col: its group, first channel and channel count. */
static inline int column(const sl_batchnorm_params *p, int col, int *c0, int *nc)
{
    *c0 = col / p->groups * BN_COLUMN;
    *nc = p->C - *c0 < BN_COLUMN ? p->C - *c0 : BN_COLUMN;
    return col % p->groups;
}

/* Rows [i, end) of group g begin with a run of consecutive rows in memory (all
 * of them for contiguous groups, the rest of one sample's for interleaved ones):
 * returns its length and sets *row to the tensor row it starts at. */
static inline int64_t group_run(const sl_batchnorm_params *p, int g, int64_t i, int64_t end, int64_t *row)
{
    const int64_t S = p->spatial;
    if (!p->interleaved) {
        *row = (int64_t)g * (p->N / p->groups) * S + i;
        return end - i;
    }
    const int64_t s = i % S, n = S - s;
    *row = (int64_t)group_sample(p, g, (int)(i / S)) * S + s;
    return end - i < n ? end - i : n;
}

/* The kernels below take a block's nc channels as nc / 16 full vectors, in a loop
 * whose loads are plain (no call to spill the accumulators around), then the
 * partial vector, if any, in a loop of its own; one step function per kernel
 * serves both. Rows are n, of stride C. */

/* f1 += a, f2 += a * (x - ref) for one vector, where a = x - ref for the statistics
 * (dy NULL) and a = dy, masked by relu_y > 0 when given, for the backward sums. */
static inline void sums_step(sl_vec16 *f1, sl_vec16 *f2, const float *x, const float *dy, const float *relu_y,
                             sl_vec16 ref, int lanes)
{
    const sl_vec16 d = vec_load_n(x, lanes) - ref;
    sl_vec16 a = d;
    if (dy) a = vec_load_n(dy, lanes);
    if (relu_y) a = bn_relu_mask(a, vec_load_n(relu_y, lanes));
    *f1 += a;
    *f2 += a * d;
}

/* sums_step over the rows for every channel of the block (lane j of s[v] is channel
 * 16 v + j). A row puts 16 values in each vector, so the floats are folded into
 * s's doubles every BN_FOLD / 16 = 64 rows: every float sum takes at most 64
 * terms, as a plane's lanes do. */
BN_VECTORIZE static void rows_sums(bn_sums *s, const float *x, const float *dy, const float *relu_y, int64_t n,
                                   int64_t C, const sl_vec16 *ref, int nc)
{
    const int nfull = nc / BN_LANES, tail = nc % BN_LANES, nv = (nc + BN_LANES - 1) / BN_LANES;
    for (int64_t i0 = 0; i0 < n;) {
        const int64_t room = (BN_FOLD - s[0].pending) / BN_LANES, end = n - i0 < room ? n : i0 + room;
        sl_vec16 f1[BN_VECS], f2[BN_VECS];
        for (int v = 0; v < BN_VECS; v++) f1[v] = s[v].f1, f2[v] = s[v].f2;
        for (int64_t i = i0; i < end; i++)
            for (int v = 0; v < BN_VECS && v < nfull; v++) {
                const int64_t o = i * C + v * BN_LANES;
                sums_step(&f1[v], &f2[v], x + o, opt_at(dy, o), opt_at(relu_y, o), ref[v], BN_LANES);
            }
        for (int v = 0; v < BN_VECS; v++) s[v].f1 = f1[v], s[v].f2 = f2[v];
        if (tail)
            for (int64_t i = i0; i < end; i++) {
                const int64_t o = i * C + nfull * BN_LANES;
                sums_step(&s[nfull].f1, &s[nfull].f2, x + o, opt_at(dy, o), opt_at(relu_y, o), ref[nfull], tail);
            }
        for (int v = 0; v < nv; v++) {
            s[v].pending += (end - i0) * BN_LANES;
            sums_fold(&s[v], false);
        }
        i0 = end;
    }
}

/* y = x * scale + shift, then the ReLU, for one vector. */
static inline void affine_step(float *y, const float *x, sl_vec16 scale, sl_vec16 shift, bool relu, int lanes)
{
    sl_vec16 t = vec_load_n(x, lanes) * scale + shift;
    if (relu) t = bn_relu_mask(t, t);
    vec_store_n(y, t, lanes);
}

BN_VECTORIZE static void rows_affine(const float *x, float *y, int64_t n, int64_t C, const sl_vec16 *scale,
                                     const sl_vec16 *shift, int nc, bool relu)
{
    const int nfull = nc / BN_LANES, tail = nc % BN_LANES;
    for (int64_t i = 0; i < n; i++)
        for (int v = 0; v < BN_VECS && v < nfull; v++) {
            const int64_t o = i * C + v * BN_LANES;
            affine_step(y + o, x + o, scale[v], shift[v], relu, BN_LANES);
        }
    if (tail)
        for (int64_t i = 0; i < n; i++) {
            const int64_t o = i * C + nfull * BN_LANES;
            affine_step(y + o, x + o, scale[nfull], shift[nfull], relu, tail);
        }
}

/* dx = k * (dy - mdy - (x - mean) * invstd * mdyx) for vector v of a column, dy
 * masked by relu_y > 0 when given; q holds k, mdy, mdyx, mean, invstd. */
static inline void dx_step(float *dx, const float *dy, const float *x, const float *relu_y,
                           const sl_vec16 (*q)[BN_CVECS], int v, int lanes)
{
    sl_vec16 g = vec_load_n(dy, lanes);
    if (relu_y) g = bn_relu_mask(g, vec_load_n(relu_y, lanes));
    const sl_vec16 xhat = (vec_load_n(x, lanes) - q[3][v]) * q[4][v];
    vec_store_n(dx, q[0][v] * (g - q[1][v] - xhat * q[2][v]), lanes);
}

/* The same down the rows for the block whose first vector in the column is v0. */
BN_VECTORIZE static void rows_dx(const float *dy, const float *x, const float *relu_y, float *dx, int64_t n,
                                 int64_t C, const sl_vec16 (*q)[BN_CVECS], int v0, int nc)
{
    const int nfull = nc / BN_LANES, tail = nc % BN_LANES;
    for (int64_t i = 0; i < n; i++)
        for (int v = 0; v < BN_VECS && v < nfull; v++) {
            const int64_t o = i * C + v * BN_LANES;
            dx_step(dx + o, dy + o, x + o, opt_at(relu_y, o), q, v0 + v, BN_LANES);
        }
    if (tail)
        for (int64_t i = 0; i < n; i++) {
            const int64_t o = i * C + nfull * BN_LANES;
            dx_step(dx + o, dy + o, x + o, opt_at(relu_y, o), q, v0 + nfull, tail);
        }
}

/* What a pass over a round's items does with each run of rows of a block. */
typedef enum { PASS_STATS, PASS_GRAD_SUMS, PASS_AFFINE, PASS_DX } bn_pass;

/* One item's sums: the chunk's, per channel of the column, and the shift k of the
 * statistics (recorded here so that nothing reads x once y, which may be x, is
 * being written). */
typedef struct {
    double s1[BN_COLUMN], s2[BN_COLUMN];
    float k[BN_COLUMN];
} bn_part;

/* The tensors of a pass, and the round's partial sums, [item]. */
typedef struct {
    const float *x, *dy, *relu_y, *save_mean, *save_invstd;
    float *out;
    bn_part *part;
} bn_io;

/* Per-channel coefficients of a round's columns: scale, shift (forward) or k, mdy,
 * mdyx (backward). Each thread has its own. */
typedef float bn_coef[BN_ITEMS][3][BN_COLUMN];

/* The pass on n rows of the block of nc channels at offset off, whose vectors in
 * the column (s, q) start at v0. */
static inline void block_run(const sl_batchnorm_params *p, bn_pass pass, const bn_io *io, bn_sums *s,
                             const sl_vec16 (*q)[BN_CVECS], int v0, int64_t off, int64_t n, int nc)
{
    const int64_t C = p->C;
    const float *relu_y = opt_at(io->relu_y, off);
    switch (pass) {
    case PASS_STATS: rows_sums(s + v0, io->x + off, NULL, NULL, n, C, q[0] + v0, nc); break;
    case PASS_GRAD_SUMS: rows_sums(s + v0, io->x + off, io->dy + off, relu_y, n, C, q[0] + v0, nc); break;
    case PASS_AFFINE: rows_affine(io->x + off, io->out + off, n, C, q[0] + v0, q[1] + v0, nc, p->relu); break;
    case PASS_DX: rows_dx(io->dy + off, io->x + off, relu_y, io->out + off, n, C, q, v0, nc); break;
    }
}

/* Item it, (column, chunk), of a pass over the round starting at column col0. */
static void rows_item(const sl_batchnorm_params *p, const bn_plan *pl, bn_pass pass, int col0, int it,
                      const bn_io *io, bn_coef coef)
{
    const int64_t C = p->C;
    const int lc = it / pl->nchunk, chunk = it % pl->nchunk;
    int c0, nc;
    const int g = column(p, col0 + lc, &c0, &nc);
    sl_vec16 q[5][BN_CVECS] = {{{0}}};
    bn_sums s[BN_CVECS] = {0};
    if (pass == PASS_STATS) { /* k */
        load_block(q[0], io->x + group_first(p, g, c0), nc);
        memcpy(io->part[it].k, io->x + group_first(p, g, c0), sizeof(float) * (size_t)nc);
    } else if (pass == PASS_GRAD_SUMS) {
        load_block(q[0], io->save_mean + (int64_t)g * C + c0, nc);
    } else {
        for (int t = 0; t < 3; t++) load_block(q[t], coef[lc][t], nc);
        if (pass == PASS_DX) {
            load_block(q[3], io->save_mean + (int64_t)g * C + c0, nc);
            load_block(q[4], io->save_invstd + (int64_t)g * C + c0, nc);
        }
    }
    /* BN_TILE rows at a time through every block: the column's part of a row is
     * read at once, not a block's 256 bytes of it down the whole chunk (~30%
     * slower at C = 256) */
    const int64_t lo = pl->rows * chunk / pl->nchunk, hi = pl->rows * (chunk + 1) / pl->nchunk;
    const int64_t tile = nc > BN_CBLOCK ? BN_TILE : hi - lo;
    for (int64_t t = lo; t < hi; t += tile) {
        const int64_t tend = hi - t < tile ? hi : t + tile;
        for (int64_t i = t, n, row; i < tend; i += n) {
            n = group_run(p, g, i, tend, &row);
            for (int b = 0; b * BN_CBLOCK < nc; b++)
                block_run(p, pass, io, s, q, b * BN_VECS, row * C + c0 + b * BN_CBLOCK, n,
                          nc - b * BN_CBLOCK < BN_CBLOCK ? nc - b * BN_CBLOCK : BN_CBLOCK);
        }
    }
    if (pass == PASS_STATS || pass == PASS_GRAD_SUMS)
        for (int v = 0; v < BN_CVECS; v++) {
            sums_fold(&s[v], true);
            memcpy(io->part[it].s1 + v * BN_LANES, s[v].d1, sizeof s[v].d1);
            memcpy(io->part[it].s2 + v * BN_LANES, s[v].d2, sizeof s[v].d2);
        }
}

/* Items in the round starting at column col0. */
static inline int round_items(const bn_plan *pl, int col0)
{
    return (pl->ncols - col0 < pl->round_cols ? pl->ncols - col0 : pl->round_cols) * pl->nchunk;
}

/* Channel j's sums over the chunks of column lc of the round, in chunk order. */
static inline void column_sums(const bn_plan *pl, const bn_part *part, int lc, int j, double *s1, double *s2)
{
    *s1 = *s2 = 0.0;
    for (int k = 0; k < pl->nchunk; k++) {
        *s1 += part[lc * pl->nchunk + k].s1[j];
        *s2 += part[lc * pl->nchunk + k].s2[j];
    }
}

/* A round's scale and shift from its chunks' sums. Every thread takes them for
 * itself (no wait for one to share them); the one given msum / vsum (the
 * running-update sums over a channel's groups, which may span rounds) also saves
 * the statistics and updates the running ones. */
static void forward_coefs(const sl_batchnorm_params *p, const bn_plan *pl, int col0, const bn_part *part,
                          const float *gamma, const float *beta, float *running_mean, float *running_var,
                          float *save_mean, float *save_invstd, double *msum, double *vsum, bn_coef coef)
{
    for (int lc = 0; lc < pl->round_cols && col0 + lc < pl->ncols; lc++) {
        int c0, nc;
        const int g = column(p, col0 + lc, &c0, &nc);
        for (int j = 0; j < nc; j++) {
            double s1 = 0.0, s2 = 0.0, k = 0.0;
            if (p->training) {
                column_sums(pl, part, lc, j, &s1, &s2);
                k = part[lc * pl->nchunk].k[j];
            }
            if (msum && g == 0) msum[j] = vsum[j] = 0.0;
            channel_affine(p, g, c0 + j, k, s1, s2, gamma, beta, running_mean, running_var,
                           msum ? save_mean : NULL, msum ? save_invstd : NULL, msum ? &msum[j] : NULL,
                           msum ? &vsum[j] : NULL, &coef[lc][0][j], &coef[lc][1][j]);
            if (msum && g == p->groups - 1 && p->training && running_mean)
                update_running(p, c0 + j, msum[j], vsum[j], running_mean, running_var);
        }
    }
}

/* The same for the backward: k, mdy, mdyx; the thread given dgamma / dbeta adds to
 * grad_gamma / grad_beta. */
static void backward_coefs(const sl_batchnorm_params *p, const bn_plan *pl, int col0, const bn_part *part,
                           const float *gamma, const float *save_invstd, float *grad_gamma, float *grad_beta,
                           double *dgamma, double *dbeta, bn_coef coef)
{
    for (int lc = 0; lc < pl->round_cols && col0 + lc < pl->ncols; lc++) {
        int c0, nc;
        const int g = column(p, col0 + lc, &c0, &nc);
        for (int j = 0; j < nc; j++) {
            double sdy, sdyx;
            column_sums(pl, part, lc, j, &sdy, &sdyx);
            if (dgamma && g == 0) dgamma[j] = dbeta[j] = 0.0;
            channel_grad(p, g, c0 + j, sdy, sdyx, gamma, save_invstd, dgamma ? &dgamma[j] : NULL,
                         dbeta ? &dbeta[j] : NULL, &coef[lc][0][j], &coef[lc][1][j], &coef[lc][2][j]);
            if (!dgamma || g < p->groups - 1) continue;
            if (grad_gamma) grad_gamma[c0 + j] += (float)dgamma[j];
            if (grad_beta) grad_beta[c0 + j] += (float)dbeta[j];
        }
    }
}

/* One parallel region for the whole call, the rounds' passes in it as worksharing
 * loops: with passive OpenMP threads on a busy machine each region costs a wake-up
 * (~100 us measured), a barrier between two loops much less. */
static void forward_rows(const sl_batchnorm_params *p, const float *x, float *y, const float *gamma,
                         const float *beta, float *running_mean, float *running_var, float *save_mean,
                         float *save_invstd)
{
    const bn_plan pl = rows_plan(p);
    bn_part part[BN_ITEMS];
    double msum[BN_COLUMN], vsum[BN_COLUMN]; /* thread 0's, see forward_coefs */
    const bn_io io = {.x = x, .out = y, .part = part};
#pragma omp parallel if ((int64_t)p->N * p->C * p->spatial > NN_PAR_WORK)
    for (int col0 = 0; col0 < pl.ncols; col0 += pl.round_cols) {
        const int items = round_items(&pl, col0);
        const bool first = omp_get_thread_num() == 0;
        bn_coef coef;
        if (p->training) {
#pragma omp for schedule(static)
            for (int it = 0; it < items; it++) rows_item(p, &pl, PASS_STATS, col0, it, &io, NULL);
        }
        forward_coefs(p, &pl, col0, part, gamma, beta, running_mean, running_var, save_mean, save_invstd,
                      first ? msum : NULL, first ? vsum : NULL, coef);
#pragma omp for schedule(static) nowait
        for (int it = 0; it < items; it++) rows_item(p, &pl, PASS_AFFINE, col0, it, &io, coef);
        if (col0 + pl.round_cols < pl.ncols) { /* part is the next round's */
#pragma omp barrier
        }
    }
}

static void backward_rows(const sl_batchnorm_params *p, const float *x, const float *relu_y, const float *grad_y,
                          float *grad_x, const float *gamma, float *grad_gamma, float *grad_beta,
                          const float *save_mean, const float *save_invstd)
{
    const bn_plan pl = rows_plan(p);
    bn_part part[BN_ITEMS];
    double dgamma[BN_COLUMN], dbeta[BN_COLUMN]; /* thread 0's, see backward_coefs */
    const bn_io io = {.x = x, .dy = grad_y, .relu_y = relu_y, .save_mean = save_mean, .save_invstd = save_invstd,
                      .out = grad_x, .part = part};
#pragma omp parallel if ((int64_t)p->N * p->C * p->spatial > NN_PAR_WORK)
    for (int col0 = 0; col0 < pl.ncols; col0 += pl.round_cols) {
        const int items = round_items(&pl, col0);
        const bool first = omp_get_thread_num() == 0;
        bn_coef coef;
#pragma omp for schedule(static)
        for (int it = 0; it < items; it++) rows_item(p, &pl, PASS_GRAD_SUMS, col0, it, &io, NULL);
        backward_coefs(p, &pl, col0, part, gamma, save_invstd, grad_gamma, grad_beta, first ? dgamma : NULL,
                       first ? dbeta : NULL, coef);
        if (grad_x) {
#pragma omp for schedule(static) nowait
            for (int it = 0; it < items; it++) rows_item(p, &pl, PASS_DX, col0, it, &io, coef);
        }
        if (col0 + pl.round_cols < pl.ncols) { /* part is the next round's */
#pragma omp barrier
        }
    }
}

/* }====================================================================== */

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
    if (rows_layout(p))
        forward_rows(p, x, y, gamma, beta, running_mean, running_var, save_mean, save_invstd);
    else
        forward_planes(p, x, y, gamma, beta, running_mean, running_var, save_mean, save_invstd);
    return SL_OK;
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
    if (rows_layout(p))
        backward_rows(p, x, relu_y, grad_y, grad_x, gamma, grad_gamma, grad_beta, save_mean, save_invstd);
    else
        backward_planes(p, x, relu_y, grad_y, grad_x, gamma, grad_gamma, grad_beta, save_mean, save_invstd);
    return SL_OK;
}
