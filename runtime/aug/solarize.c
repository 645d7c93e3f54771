/* solarize.c - invert pixels at or above a threshold (RandomSolarize). */
#include "aug/aug.h"
#include "aug/check.h"

int sl_aug_solarize(float *img, /* [C x H x W] */ int C, int H, int W, float threshold)
{
    if (sl_aug_check_image("solarize", img, C, H, W)) return SL_ERR;
    size_t n = (size_t)C * H * W;
    for (size_t i = 0; i < n; i++)
        if (img[i] >= threshold) img[i] = 1.0f - img[i];
    return SL_OK;
}

int sl_aug_random_solarize(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W,
                           float threshold, float p)
{
    if (!rng) return sl_error("random_solarize: rng is NULL");
    if (sl_aug_check_p("random_solarize", p)) return SL_ERR;
    if (sl_aug_check_image("random_solarize", img, C, H, W)) return SL_ERR;
    if (sl_rng_uniform(rng) < p) return sl_aug_solarize(img, C, H, W, threshold);
    return SL_OK;
}
