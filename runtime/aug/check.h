/* check.h - argument checks shared by the runtime/aug kernels (internal, not API). */
#ifndef SL_AUG_CHECK_H
#define SL_AUG_CHECK_H

#include <stddef.h>

#include "core/error.h"

/* An image pointer with C in {1, 3} and positive H, W. */
static inline int sl_aug_check_image(const char *op, const void *img, int C, int H, int W)
{
    if (!img) return sl_error("%s: image pointer is NULL", op);
    if (C != 1 && C != 3) return sl_error("%s: image [%dx%dx%d]: C must be 1 or 3", op, C, H, W);
    if (H <= 0 || W <= 0) return sl_error("%s: image [%dx%dx%d]: H and W must be positive", op, C, H, W);
    return SL_OK;
}

static inline int sl_aug_check_p(const char *op, float p)
{
    if (!(p >= 0.0f && p <= 1.0f)) return sl_error("%s: probability p = %g outside [0, 1]", op, (double)p);
    return SL_OK;
}

#endif
