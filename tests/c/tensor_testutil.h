/* tensor_testutil.h - small helpers for the tensor unit tests (header only).
 *
 *   sl_tensor *a = tt_arange(2, (int64_t[]){3, 4});   // float32 0..11 as [3x4]
 *   CHECK(tt_close(got, want, 1e-5));                  // prints max diff on failure
 */
#ifndef SL_TENSOR_TESTUTIL_H
#define SL_TENSOR_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor/tensor.h"
#include "tensor/view.h"

/* float32 tensor holding 0, 1, 2, ... in row-major order. */
static inline sl_tensor *tt_arange(int ndim, const int64_t *size)
{
    sl_tensor *t = sl_tensor_new(SL_FLOAT32, ndim, size);
    if (!t) return NULL;
    int64_t n = sl_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) sl_f32(t)[i] = (float)i;
    return t;
}

/* float32 tensor from values (row-major). */
static inline sl_tensor *tt_from(const float *v, int ndim, const int64_t *size)
{
    sl_tensor *t = sl_tensor_new(SL_FLOAT32, ndim, size);
    if (!t) return NULL;
    int64_t n = sl_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) sl_f32(t)[i] = v[i];
    return t;
}

/* Deterministic pseudo-random float32 values in [-1, 1) (not the Philox code under test). */
static inline sl_tensor *tt_rand(unsigned seed, int ndim, const int64_t *size)
{
    sl_tensor *t = sl_tensor_new(SL_FLOAT32, ndim, size);
    if (!t) return NULL;
    uint32_t s = seed * 2654435761u + 1;
    int64_t n = sl_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        sl_f32(t)[i] = (float)((s >> 8) / 8388608.0 - 1.0);
    }
    return t;
}

/* Step a row-major multi-index; returns false after the last element. */
static inline bool tt_next(int ndim, const int64_t *size, int64_t *pos)
{
    for (int d = ndim - 1; d >= 0; d--) {
        if (++pos[d] < size[d]) return true;
        pos[d] = 0;
    }
    return false;
}

static inline double tt_at(const sl_tensor *t, const int64_t *pos) { return sl_tensor_get(t, pos); }

/* Same shape and every element within tol (NaN equals NaN); prints the worst on failure. */
static inline bool tt_close(const sl_tensor *got, const sl_tensor *want, double tol)
{
    char a[128], b[128];
    if (!sl_tensor_same_shape(got, want)) {
        fprintf(stderr, "  shape %s vs expected %s\n", sl_shape_str(got, a, sizeof a), sl_shape_str(want, b, sizeof b));
        return false;
    }
    int64_t pos[SL_MAX_DIMS] = {0}, n = sl_tensor_numel(got), worst = -1;
    double maxdiff = 0;
    for (int64_t e = 0; e < n; e++) {
        double x = tt_at(got, pos), y = tt_at(want, pos);
        double d = (isnan(x) && isnan(y)) || x == y ? 0 : fabs(x - y);
        if (isnan(d)) d = INFINITY;
        if (d > maxdiff) maxdiff = d, worst = e;
        tt_next(got->ndim, got->size, pos);
    }
    if (maxdiff > tol) {
        fprintf(stderr, "  max diff %g at flat element %lld (tol %g)\n", maxdiff, (long long)worst, tol);
        return false;
    }
    return true;
}

/* Element of t at a flat row-major position (for 1..3-d checks). */
static inline double tt_flat(const sl_tensor *t, int64_t flat)
{
    int64_t pos[SL_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) {
        pos[d] = flat % t->size[d];
        flat /= t->size[d];
    }
    return tt_at(t, pos);
}

#endif
