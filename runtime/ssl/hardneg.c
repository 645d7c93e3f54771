/* hardneg.c - dynamic hard-negative sampling (the paper's Figure 5): rank the
 * queue by cosine similarity to each query, draw ranks from a skew-normal over
 * the rank fraction, return queue indices (see ssl.h).
 *
 * Similarities come from sl_gemm on blocks of HN_BLOCK queries ([HN_BLOCK x K]
 * scratch), divided by the key norms. Each query's K keys are then sorted
 * (descending similarity, ties by lower index) with a stable 4-pass LSD radix
 * sort of (key, index) pairs: O(K) per query, no comparator calls. Queries run
 * in parallel, each with its own random stream, so nothing depends on threads.
 *
 * The ranks are drawn exactly from the skew-normal truncated to [0, 1): the
 * probability of each rank bin [r/K, (r+1)/K) is the density integrated by
 * Simpson's rule (sl_hardneg_rank_probs), computed once per call, and a draw is
 * one uniform number and a binary search in the cumulative probabilities. No
 * rejection loop, so a wide or off-centre distribution costs nothing extra.
 */
#include "ssl/ssl.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/alloc.h"
#include "tensor/gemm.h"

#define HN_BLOCK 64

double sl_skewnorm_draw(sl_rng *rng, double xi, double omega, double alpha)
{
    const double delta = alpha / sqrt(1.0 + alpha * alpha);
    const double u0 = sl_rng_normal(rng), v = sl_rng_normal(rng);
    return xi + omega * (delta * fabs(u0) + sqrt(1.0 - delta * delta) * v);
}

void sl_skewnorm_moments(double xi, double omega, double alpha, double *mean, double *var, double *skew)
{
    const double pi = 3.14159265358979323846;
    const double delta = alpha / sqrt(1.0 + alpha * alpha);
    const double b = delta * sqrt(2.0 / pi);
    if (mean) *mean = xi + omega * b;
    if (var) *var = omega * omega * (1.0 - b * b);
    if (skew) *skew = (4.0 - pi) / 2.0 * b * b * b / pow(1.0 - b * b, 1.5);
}

/* Sort key: ascending key = descending similarity; NaN last. */
static inline uint32_t desc_key(float f)
{
    if (f != f) return 0xFFFFFFFFu;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* monotone in f */
    return ~u;
}

/* Stable LSD radix sort of n items by their upper 32 bits; result in a. */
static void radix_sort_hi32(uint64_t *a, uint64_t *tmp, int64_t n)
{
    for (int shift = 32; shift < 64; shift += 8) {
        int64_t cnt[257] = {0};
        for (int64_t t = 0; t < n; t++) cnt[((a[t] >> shift) & 0xFF) + 1]++;
        if (cnt[((a[0] >> shift) & 0xFF) + 1] == n) continue; /* all in one bucket: pass is a no-op */
        for (int bkt = 0; bkt < 256; bkt++) cnt[bkt + 1] += cnt[bkt];
        for (int64_t t = 0; t < n; t++) tmp[cnt[(a[t] >> shift) & 0xFF]++] = a[t];
        memcpy(a, tmp, sizeof(uint64_t) * (size_t)n);
    }
}

/* Skew-normal density at x: 2/omega phi(z) Phi(alpha z), z = (x - xi) / omega. */
static double skewnorm_pdf(double x, double xi, double omega, double alpha)
{
    const double z = (x - xi) / omega;
    return 2.0 / omega * exp(-0.5 * z * z) * 0.3989422804014327 * 0.5 * erfc(-alpha * z * 0.7071067811865476);
}

int sl_hardneg_rank_probs(double *prob, int K, double xi, double omega, double alpha)
{
    if (K < 1 || !prob) return sl_error("hardneg_rank_probs: need K >= 1 (got %d) and an output [K]", K);
    if (!(omega > 0.0) || !isfinite(omega) || !isfinite(xi) || !isfinite(alpha))
        return sl_error("hardneg_rank_probs: skew-normal xi %g, omega %g, alpha %g: need finite values and omega > 0",
                        xi, omega, alpha);
    /* Simpson's rule on each bin [r/K, (r+1)/K) with S subintervals, S even and
     * large enough that a narrow density (omega << 1/K) is still resolved */
    double sub = ceil(8.0 / (K * omega));
    int S = sub < 2.0 ? 2 : sub > 4096.0 ? 4096 : (int)sub;
    S += S & 1;
    const double h = 1.0 / ((double)K * S);
    double total = 0.0;
    for (int r = 0; r < K; r++) {
        const double x0 = (double)r / K;
        double acc = skewnorm_pdf(x0, xi, omega, alpha) + skewnorm_pdf(x0 + S * h, xi, omega, alpha);
        for (int t = 1; t < S; t++) acc += (t & 1 ? 4.0 : 2.0) * skewnorm_pdf(x0 + t * h, xi, omega, alpha);
        prob[r] = acc * h / 3.0;
        total += prob[r];
    }
    if (!(total > 0.0) || !isfinite(total)) {
        /* no representable mass inside [0, 1): all of it at the nearer end */
        double mean;
        sl_skewnorm_moments(xi, omega, alpha, &mean, NULL, NULL);
        for (int r = 0; r < K; r++) prob[r] = 0.0;
        prob[mean < 0.5 ? 0 : K - 1] = 1.0;
        return SL_OK;
    }
    for (int r = 0; r < K; r++) prob[r] /= total;
    return SL_OK;
}

int sl_hardneg_sample(const float *q, const float *queue, int K, int D, int N, int M, double xi, double omega,
                      double alpha, sl_rng *rng, int64_t *idx, int64_t *ranks)
{
    if (K < 1 || D < 1 || N < 1 || M < 0)
        return sl_error("hardneg_sample: bad sizes, q [%dx%d], queue [%dx%d], %d draws per query", N, D, K, D, M);
    if (!q || !queue || !rng || (M > 0 && !idx))
        return sl_error("hardneg_sample: NULL q, queue, rng or indices (q [%dx%d], queue [%dx%d])", N, D, K, D);
    if (!(omega > 0.0) || !isfinite(omega) || !isfinite(xi) || !isfinite(alpha))
        return sl_error("hardneg_sample: skew-normal xi %g, omega %g, alpha %g: need finite values and omega > 0", xi,
                        omega, alpha);
    if (M == 0) return SL_OK;

    const int nthreads = omp_get_max_threads();
    const int QB = N < HN_BLOCK ? N : HN_BLOCK;
    float *knorm = sl_malloc(sizeof(float) * (size_t)K);
    float *sim = sl_malloc(sizeof(float) * (size_t)QB * K);
    double *cum = sl_malloc(sizeof(double) * (size_t)K);
    uint64_t *sortbuf = sl_malloc(sizeof(uint64_t) * (size_t)nthreads * 2 * K);
    if (!knorm || !sim || !cum || !sortbuf) {
        sl_free(knorm); sl_free(sim); sl_free(cum); sl_free(sortbuf);
        return sl_error_prefix("hardneg_sample: scratch for queue [%dx%d]", K, D);
    }
    /* the rank distribution, shared by all queries: cumulative probabilities */
    sl_hardneg_rank_probs(cum, K, xi, omega, alpha);
    for (int r = 1; r < K; r++) cum[r] += cum[r - 1];
    for (int j = 0; j < K; j++) {
        const float *r = queue + (int64_t)j * D;
        double s = 0.0;
        for (int d = 0; d < D; d++) s += (double)r[d] * r[d];
        const double nrm = sqrt(s);
        knorm[j] = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12));
    }
    const uint64_t seed = rng->seed, ctr = rng->counter;
    const double top = cum[K - 1];

    for (int i0 = 0; i0 < N; i0 += QB) {
        const int nb = N - i0 < QB ? N - i0 : QB;
        sl_gemm(false, true, nb, K, D, 1.0f, q + (int64_t)i0 * D, D, queue, D, 0.0f, sim, K);
#pragma omp parallel for schedule(static)
        for (int ib = 0; ib < nb; ib++) {
            const int i = i0 + ib;
            uint64_t *items = sortbuf + (size_t)omp_get_thread_num() * 2 * K, *tmp = items + K;
            const float *s = sim + (int64_t)ib * K;
            for (int j = 0; j < K; j++) items[j] = ((uint64_t)desc_key(s[j] * knorm[j]) << 32) | (uint32_t)j;
            radix_sort_hi32(items, tmp, K);

            sl_rng r;
            sl_rng_init(&r, sl_rng_derive(seed, ctr, (uint64_t)i));
            for (int t = 0; t < M; t++) {
                const double u = sl_rng_uniform(&r) * top;
                int lo = 0, hi = K - 1; /* first rank with cum > u */
                while (lo < hi) {
                    const int mid = (lo + hi) / 2;
                    if (cum[mid] > u) hi = mid;
                    else lo = mid + 1;
                }
                idx[(int64_t)i * M + t] = (int64_t)(items[lo] & 0xFFFFFFFFu);
                if (ranks) ranks[(int64_t)i * M + t] = lo;
            }
        }
    }
    sl_free(knorm);
    sl_free(sim);
    sl_free(cum);
    sl_free(sortbuf);
    (void)sl_rng_u32(rng); /* advance: the next call gets fresh streams */
    return SL_OK;
}

int sl_hardneg_gather(const float *queue, const int64_t *idx, float *neg, int K, int D, int N, int M)
{
    if (K < 1 || D < 1 || N < 0 || M < 0)
        return sl_error("hardneg_gather: bad sizes, queue [%dx%d], indices [%dx%d]", K, D, N, M);
    const int64_t n = (int64_t)N * M;
    if (n > 0 && (!queue || !idx || !neg))
        return sl_error("hardneg_gather: NULL queue, indices or output (queue [%dx%d], indices [%dx%d])", K, D, N, M);
    for (int64_t t = 0; t < n; t++)
        if (idx[t] < 0 || idx[t] >= K)
            return sl_error("hardneg_gather: index %lld at [%lld,%lld] is out of range for queue [%dx%d]",
                            (long long)idx[t], (long long)(t / M), (long long)(t % M), K, D);
#pragma omp parallel for schedule(static) if (n * D > 65536)
    for (int64_t t = 0; t < n; t++) memcpy(neg + t * D, queue + idx[t] * D, sizeof(float) * (size_t)D);
    return SL_OK;
}
