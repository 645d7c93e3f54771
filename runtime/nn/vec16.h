/* vec16.h - 16 floats as one value (internal to nn/): one AVX-512 register, which
 * GCC and Clang split into narrower ones on other CPUs. For the loops GCC's
 * vectoriser leaves half scalar (BatchNorm's statistics, the Winograd transforms). */
#ifndef SL_NN_VEC16_H
#define SL_NN_VEC16_H

#include <string.h>

typedef float sl_vec16 __attribute__((vector_size(64)));

/* Built without AVX-512 (the sanitizer and fuzzing builds), GCC and Clang note that
 * passing these vectors by value has another ABI; they only pass between static
 * functions. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

static inline sl_vec16 sl_vec16_load(const float *p)
{
    sl_vec16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void sl_vec16_store(float *p, sl_vec16 v)
{
    memcpy(p, &v, sizeof v);
}

#endif
