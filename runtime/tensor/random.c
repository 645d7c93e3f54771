/* random.c - Philox4x32-10 counter-based generator (see random.h).
 *
 * Philox (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011)
 * maps (key, counter) to four 32-bit words; we use key = seed and counter =
 * index / 4, so draw i of a stream is independent of every other draw.
 */
#include "tensor/random.h"

#include <math.h>

#include "core/alloc.h"
#include "core/error.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void philox_block(uint64_t seed, uint64_t block, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0; k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

uint32_t sl_philox_u32(uint64_t seed, uint64_t index)
{
    uint32_t out[4];
    philox_block(seed, index >> 2, out);
    return out[index & 3];
}

/* splitmix64 finaliser: a good 64-bit mixing function for derived seeds. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t sl_rng_derive(uint64_t seed, uint64_t a, uint64_t b)
{
    return mix64(mix64(mix64(seed) ^ a) ^ (b * 0xD6E8FEB86659FD93ull));
}

void sl_rng_init(sl_rng *rng, uint64_t seed)
{
    rng->seed = seed;
    rng->counter = 0;
}

sl_rng *sl_rng_default(void)
{
    static sl_rng default_rng = {0x5EED, 0};
    return &default_rng;
}

/* Reserve n draws (rounded up to whole Philox blocks); returns the first index. */
static uint64_t reserve(sl_rng *rng, uint64_t n)
{
    uint64_t start = rng->counter;
    rng->counter += (n + 3) & ~(uint64_t)3;
    return start;
}

static inline double u01(uint32_t x) { return (x >> 8) * (1.0 / 16777216.0); } /* 24 bits, [0,1) */

uint32_t sl_rng_u32(sl_rng *rng) { return sl_philox_u32(rng->seed, reserve(rng, 1)); }

double sl_rng_uniform(sl_rng *rng)
{
    uint64_t i = reserve(rng, 2);
    uint64_t hi = sl_philox_u32(rng->seed, i), lo = sl_philox_u32(rng->seed, i + 1);
    return (double)((hi << 21) ^ (lo >> 11)) * (1.0 / 9007199254740992.0); /* 53 bits */
}

/* Box-Muller on draws (i, i+1). */
static double normal_at(uint64_t seed, uint64_t i, int second)
{
    double u1 = (sl_philox_u32(seed, i) + 1.0) * (1.0 / 4294967297.0); /* (0,1) */
    double u2 = sl_philox_u32(seed, i + 1) * (1.0 / 4294967296.0);
    double r = sqrt(-2.0 * log(u1));
    return second ? r * sin(2.0 * M_PI * u2) : r * cos(2.0 * M_PI * u2);
}

double sl_rng_normal(sl_rng *rng) { return normal_at(rng->seed, reserve(rng, 2), 0); }

int64_t sl_rng_below(sl_rng *rng, int64_t n)
{
    if (n <= 1) return 0;
    /* Rejection on 64-bit draws: unbiased for any n. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % (uint64_t)n;
    for (;;) {
        uint64_t i = reserve(rng, 2);
        uint64_t x = ((uint64_t)sl_philox_u32(rng->seed, i) << 32) | sl_philox_u32(rng->seed, i + 1);
        if (x < limit) return (int64_t)(x % (uint64_t)n);
    }
}

void sl_rng_fill_uniform(sl_rng *rng, float *out, int64_t n, float lo, float hi)
{
    uint64_t base = reserve(rng, (uint64_t)n);
    float span = hi - lo;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        float v = lo + span * (float)u01(sl_philox_u32(rng->seed, base + i));
        out[i] = v < hi ? v : lo; /* guard rounding up to hi */
    }
}

void sl_rng_fill_normal(sl_rng *rng, float *out, int64_t n, float mean, float std)
{
    uint64_t base = reserve(rng, 2 * (uint64_t)((n + 1) / 2));
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++)
        out[i] = mean + std * (float)normal_at(rng->seed, base + 2 * (i / 2), (int)(i & 1));
}

void sl_rng_fill_bernoulli(sl_rng *rng, float *out, int64_t n, float p)
{
    uint64_t base = reserve(rng, (uint64_t)n);
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++)
        out[i] = u01(sl_philox_u32(rng->seed, base + i)) < p ? 1.0f : 0.0f;
}

void sl_rng_randperm(sl_rng *rng, int64_t *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = i;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = sl_rng_below(rng, i + 1);
        int64_t t = out[i]; out[i] = out[j]; out[j] = t;
    }
}

int sl_rng_multinomial(sl_rng *rng, const float *weights, int64_t rows, int64_t k, int64_t n, bool replacement,
                       int64_t *out)
{
    if (k < 1) return sl_error("multinomial: no categories");
    double *cum = sl_malloc((size_t)k * sizeof *cum);
    if (!cum) return SL_ERR;
    for (int64_t r = 0; r < rows; r++) {
        const float *w = weights + r * k;
        double total = 0;
        for (int64_t j = 0; j < k; j++) {
            if (!(w[j] >= 0) || isinf(w[j])) {
                sl_free(cum);
                return sl_error("multinomial: weight %lld of row %lld is %g (must be finite and >= 0)",
                                (long long)j + 1, (long long)r + 1, w[j]);
            }
            total += w[j];
            cum[j] = total;
        }
        for (int64_t s = 0; s < n; s++) {
            if (!(total > 0)) {
                sl_free(cum);
                return sl_error("multinomial: row %lld has no positive weight left", (long long)r + 1);
            }
            double u = sl_rng_uniform(rng) * total;
            int64_t lo = 0, hi = k - 1; /* first j with cum[j] > u */
            while (lo < hi) {
                int64_t mid = (lo + hi) / 2;
                if (cum[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            while (lo > 0 && cum[lo] == cum[lo - 1]) lo--; /* only when rounding put u at the very top */
            out[r * n + s] = lo;
            if (!replacement) { /* remove category lo: subtract its weight from cum[lo..] */
                double wl = cum[lo] - (lo ? cum[lo - 1] : 0);
                for (int64_t j = lo; j < k; j++) cum[j] -= wl;
                total -= wl;
            }
        }
    }
    sl_free(cum);
    return SL_OK;
}
