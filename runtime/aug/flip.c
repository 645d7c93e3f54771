/* flip.c - horizontal flip (RandomHorizontalFlip). */
#include "aug/aug.h"
#include "aug/check.h"

int sl_aug_hflip(float *img, /* [C x H x W] */ int C, int H, int W)
{
    if (sl_aug_check_image("hflip", img, C, H, W)) return SL_ERR;
    for (size_t r = 0; r < (size_t)C * H; r++) {
        float *row = img + r * W;
        for (int a = 0, b = W - 1; a < b; a++, b--) {
            float t = row[a];
            row[a] = row[b];
            row[b] = t;
        }
    }
    return SL_OK;
}

int sl_aug_random_hflip(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W, float p)
{
    if (!rng) return sl_error("random_hflip: rng is NULL");
    if (sl_aug_check_p("random_hflip", p)) return SL_ERR;
    if (sl_aug_check_image("random_hflip", img, C, H, W)) return SL_ERR;
    if (sl_rng_uniform(rng) < p) return sl_aug_hflip(img, C, H, W);
    return SL_OK;
}
