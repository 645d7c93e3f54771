/* membank.c - InstDisc's memory bank (Wu et al. 2018, lemniscate.pytorch):
 * initialisation, momentum update with renormalisation, uniform noise
 * sampling, the NCE loss with a once-estimated normaliser Z, and the full
 * non-parametric softmax (see ssl.h for the formulas).
 */
#include "ssl/ssl.h"

#include <math.h>
#include <string.h>

#include "ssl/rows.h"
#include "tensor/gemm.h"

#define NCE_EPS 1e-7 /* lemniscate lib/NCECriterion.py */

int sl_membank_init(float *bank, int64_t Nd, int D, sl_rng *rng)
{
    if (Nd < 1 || D < 1) return sl_error("membank_init: sizes must be positive, bank [%lldx%d]", (long long)Nd, D);
    if (!bank || !rng) return sl_error("membank_init: NULL bank or rng, bank [%lldx%d]", (long long)Nd, D);
    const float s = (float)(1.0 / sqrt(D / 3.0));
    sl_rng_fill_uniform(rng, bank, Nd * D, -s, s);
    return SL_OK;
}

static int check_indices(const char *op, const char *what, const int64_t *idx, int64_t n, int64_t cols, int64_t Nd,
                         int D)
{
    for (int64_t t = 0; t < n; t++)
        if (idx[t] < 0 || idx[t] >= Nd)
            return sl_error("%s: %s index %lld at [%lld,%lld] is out of range for bank [%lldx%d]", op, what,
                            (long long)idx[t], (long long)(t / cols), (long long)(t % cols), (long long)Nd, D);
    return SL_OK;
}

int sl_membank_update(float *bank, const int64_t *idx, const float *feat, int64_t Nd, int D, int B, float m)
{
    if (Nd < 1 || D < 1 || B < 0)
        return sl_error("membank_update: bad sizes, bank [%lldx%d], features [%dx%d]", (long long)Nd, D, B, D);
    if (!bank || (B > 0 && (!idx || !feat)))
        return sl_error("membank_update: NULL bank, indices or features (bank [%lldx%d])", (long long)Nd, D);
    if (!(m >= 0.0f && m <= 1.0f)) return sl_error("membank_update: momentum %g must lie in [0, 1]", (double)m);
    if (check_indices("membank_update", "", idx, B, B, Nd, D) != SL_OK) return SL_ERR;
    /* a repeated index: only its last occurrence is applied (it would be
     * computed from the old row anyway); the rest are then distinct rows */
#pragma omp parallel for schedule(static) if ((int64_t)B * D > SSL_PAR_MIN)
    for (int b = 0; b < B; b++) {
        bool later = false;
        for (int c = b + 1; c < B && !later; c++) later = idx[c] == idx[b];
        if (later) continue;
        float *v = bank + idx[b] * D;
        const float *f = feat + (int64_t)b * D;
        double s = 0.0;
        for (int d = 0; d < D; d++) {
            v[d] = v[d] * m + f[d] * (1.0f - m);
            s += (double)v[d] * v[d];
        }
        if (s > 0.0) {
            const float inv = (float)(1.0 / sqrt(s));
            for (int d = 0; d < D; d++) v[d] *= inv;
        }
    }
    return SL_OK;
}

int sl_membank_sample(int64_t *neg, int B, int M, int64_t Nd, sl_rng *rng)
{
    if (B < 0 || M < 0 || Nd < 1)
        return sl_error("membank_sample: bad sizes, indices [%dx%d], bank of %lld", B, M, (long long)Nd);
    if (!rng || ((int64_t)B * M > 0 && !neg)) return sl_error("membank_sample: NULL indices or rng [%dx%d]", B, M);
    const uint64_t seed = rng->seed, ctr = rng->counter;
#pragma omp parallel for schedule(static) if ((int64_t)B * M > 4096)
    for (int b = 0; b < B; b++) {
        sl_rng r;
        sl_rng_init(&r, sl_rng_derive(seed, ctr, (uint64_t)b));
        for (int j = 0; j < M; j++) neg[(int64_t)b * M + j] = sl_rng_below(&r, Nd);
    }
    (void)sl_rng_u32(rng); /* advance: the next call gets fresh streams */
    return SL_OK;
}

int sl_membank_nce(const float *feat, const float *bank, const int64_t *pos, const int64_t *neg, float *Z,
                   float *loss, float *grad_feat, float *prob, int64_t Nd, int D, int B, int M, float T)
{
    if (Nd < 1 || D < 1 || B < 1 || M < 0)
        return sl_error("membank_nce: bad sizes, features [%dx%d], bank [%lldx%d], noise [%dx%d]", B, D,
                        (long long)Nd, D, B, M);
    if (!feat || !bank || !pos || !Z || !loss || (M > 0 && !neg))
        return sl_error("membank_nce: NULL features, bank, indices, Z or loss (features [%dx%d])", B, D);
    if (!(T > 0.0f) || !isfinite(T)) return sl_error("membank_nce: temperature %g must be positive", (double)T);
    if (!isfinite(*Z)) return sl_error("membank_nce: normaliser Z is %g", (double)*Z);
    if (check_indices("membank_nce", "positive", pos, B, B, Nd, D) != SL_OK) return SL_ERR;
    if (check_indices("membank_nce", "noise", neg, (int64_t)B * M, M, Nd, D) != SL_OK) return SL_ERR;

    const int64_t L = 1 + (int64_t)M;
    const double invT = 1.0 / T;
    int64_t chunk;
    const int nchunks = ssl_nchunks(B, &chunk);
    double partial[SSL_MAX_CHUNKS];

    /* pass 1 (only when Z is to be estimated): sum of exp(s / T) in fixed chunks */
    double Zv = *Z;
    if (!(Zv > 0.0)) {
#pragma omp parallel for schedule(static) if ((int64_t)B * L * D > SSL_PAR_MIN)
        for (int c = 0; c < nchunks; c++) {
            double acc = 0.0;
            const int64_t b1 = (c + 1) * chunk < B ? (c + 1) * chunk : B;
            for (int64_t b = c * chunk; b < b1; b++) {
                const float *f = feat + b * D;
                acc += exp(ssl_dot(bank + pos[b] * D, f, D) * invT);
                for (int j = 0; j < M; j++) acc += exp(ssl_dot(bank + neg[b * M + j] * D, f, D) * invT);
            }
            partial[c] = acc;
        }
        double total = 0.0;
        for (int c = 0; c < nchunks; c++) total += partial[c];
        Zv = (double)(float)(total / ((double)B * L) * (double)Nd); /* kept as a float, as lemniscate's params */
        if (!(Zv > 0.0) || !isfinite(Zv))
            return sl_error("membank_nce: estimated normaliser Z = %g is not a positive number", Zv);
        *Z = (float)Zv;
    }

    const double c_noise = (double)M / (double)Nd; /* M * Pn */
    const double invZ = 1.0 / Zv, invB = 1.0 / B;
#pragma omp parallel for schedule(static) if ((int64_t)B * L * D > SSL_PAR_MIN)
    for (int c = 0; c < nchunks; c++) {
        double acc = 0.0;
        const int64_t b1 = (c + 1) * chunk < B ? (c + 1) * chunk : B;
        for (int64_t b = c * chunk; b < b1; b++) {
            const float *f = feat + b * D;
            float *gf = grad_feat ? grad_feat + b * D : NULL;
            if (gf) memset(gf, 0, sizeof(float) * (size_t)D);
            for (int64_t j = 0; j < L; j++) {
                const float *w = bank + (j == 0 ? pos[b] : neg[b * M + j - 1]) * D;
                const double P = exp(ssl_dot(w, f, D) * invT) * invZ;
                const double den = P + c_noise + NCE_EPS;
                double g; /* d loss / d s */
                if (j == 0) {
                    acc -= log(P / den);
                    g = -(c_noise + NCE_EPS) / den;
                } else {
                    acc -= log(c_noise / den);
                    g = P / den;
                }
                if (prob) prob[b * L + j] = (float)P;
                if (gf) ssl_axpy(gf, (float)(g * invT * invB), w, D);
            }
        }
        partial[c] = acc;
    }
    double total = 0.0;
    for (int c = 0; c < nchunks; c++) total += partial[c];
    *loss = (float)(total * invB);
    return SL_OK;
}

int sl_membank_softmax(const float *feat, const float *bank, const int64_t *pos, float *loss, float *grad_feat,
                       int64_t *pos_rank, float *work, int64_t Nd, int D, int B, float T)
{
    if (Nd < 1 || D < 1 || B < 1)
        return sl_error("membank_softmax: bad sizes, features [%dx%d], bank [%lldx%d]", B, D, (long long)Nd, D);
    if (Nd > 2147483647) return sl_error("membank_softmax: bank [%lldx%d] exceeds the GEMM's int sizes", (long long)Nd, D);
    if (!feat || !bank || !pos || !loss || !work)
        return sl_error("membank_softmax: NULL features, bank, indices, loss or work (features [%dx%d])", B, D);
    if (!(T > 0.0f) || !isfinite(T)) return sl_error("membank_softmax: temperature %g must be positive", (double)T);
    if (check_indices("membank_softmax", "positive", pos, B, B, Nd, D) != SL_OK) return SL_ERR;

    const float invT = 1.0f / T;
    sl_gemm(false, true, B, (int)Nd, D, invT, feat, D, bank, D, 0.0f, work, (int)Nd);
    int64_t chunk;
    const int nchunks = ssl_nchunks(B, &chunk);
    double partial[SSL_MAX_CHUNKS];
    const double invB = 1.0 / B;
#pragma omp parallel for schedule(static) if ((int64_t)B * Nd > SSL_PAR_MIN)
    for (int c = 0; c < nchunks; c++) {
        double acc = 0.0;
        const int64_t b1 = (c + 1) * chunk < B ? (c + 1) * chunk : B;
        for (int64_t b = c * chunk; b < b1; b++) {
            float *z = work + b * Nd;
            acc += ssl_row_ce(z, Nd, pos[b], grad_feat ? z : NULL, invB, pos_rank ? pos_rank + b : NULL);
        }
        partial[c] = acc;
    }
    double total = 0.0;
    for (int c = 0; c < nchunks; c++) total += partial[c];
    *loss = (float)(total * invB);
    if (grad_feat) sl_gemm(false, false, B, D, (int)Nd, invT, work, (int)Nd, bank, D, 0.0f, grad_feat, D);
    return SL_OK;
}
