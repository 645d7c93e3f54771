/* random.h - counter-based random numbers (Philox4x32-10).
 *
 * A generator is (seed, counter). Draw i of a request is a pure function of
 * (seed, counter + i), so results are identical across runs and do not depend
 * on how many threads fill a tensor; saving the state is saving two numbers.
 * Each request advances the counter by the number of 32-bit draws it used
 * (rounded up to a multiple of 4, one Philox block).
 *
 * Independent streams (e.g. one per data-loader sample) come from
 * sl_rng_derive(seed, a, b), a hash of the parent seed and two integers.
 */
#ifndef SL_RANDOM_H
#define SL_RANDOM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_rng {
    uint64_t seed;
    uint64_t counter; /* in 32-bit draws */
} sl_rng;

void sl_rng_init(sl_rng *rng, uint64_t seed);
/* A new seed derived from (seed, a, b): for per-sample / per-worker streams. */
uint64_t sl_rng_derive(uint64_t seed, uint64_t a, uint64_t b);
/* The process-wide default generator (sslab.manual_seed sets it). */
sl_rng *sl_rng_default(void);

/* Raw 32-bit draw number `index` of the stream `seed` (no state). */
uint32_t sl_philox_u32(uint64_t seed, uint64_t index);

/* Scalar draws (advance the generator). */
uint32_t sl_rng_u32(sl_rng *rng);
double sl_rng_uniform(sl_rng *rng);                 /* [0, 1) */
double sl_rng_normal(sl_rng *rng);                  /* N(0, 1) */
int64_t sl_rng_below(sl_rng *rng, int64_t n);       /* uniform in [0, n), n >= 1 */

/* Bulk fills (thread-count independent). */
void sl_rng_fill_uniform(sl_rng *rng, float *out, int64_t n, float lo, float hi);
void sl_rng_fill_normal(sl_rng *rng, float *out, int64_t n, float mean, float std);
void sl_rng_fill_bernoulli(sl_rng *rng, float *out, int64_t n, float p);
void sl_rng_randperm(sl_rng *rng, int64_t *out, int64_t n); /* 0..n-1 shuffled */
/* n draws per row from rows x k unnormalised non-negative weights; 0-based categories into out [rows x n]. */
int sl_rng_multinomial(sl_rng *rng, const float *weights, int64_t rows, int64_t k, int64_t n, bool replacement,
                       int64_t *out);

#endif
