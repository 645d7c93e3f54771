/* vec16.h - 16 floats as one value (internal to nn/): one AVX-512 register, which
 * GCC and Clang split into narrower ones on other CPUs. For the loops GCC's
 * vectoriser leaves half scalar (BatchNorm's statistics, the Winograd transforms). */
#ifndef SL_NN_VEC16_H
#define SL_NN_VEC16_H

#include <string.h>

typedef float sl_vec16 __attribute__((vector_size(64)));

#if defined(__GNUC__) && !defined(__clang__)
/* Built without AVX-512 (e.g. the sanitizer build), GCC notes that passing these
 * vectors by value has another ABI; they only pass between static functions. */
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
