/* normalize.c - uint8 -> float conversion and per-channel normalisation. */
#include "aug/aug.h"
#include "aug/check.h"

int sl_aug_to_float(const uint8_t *src, /* [C x H x W] */
                    float *dst,         /* [C x H x W] */
                    int C, int H, int W)
{
    if (sl_aug_check_image("to_float", src, C, H, W)) return SL_ERR;
    if (!dst) return sl_error("to_float: dst is NULL");
    size_t n = (size_t)C * H * W;
    #pragma omp simd
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i] / 255.0f; /* a division, as torch's div(255) */
    return SL_OK;
}

int sl_aug_normalize(float *img,        /* [C x H x W] */
                     int C, int H, int W,
                     const float *mean, /* [C] */
                     const float *std)  /* [C] */
{
    if (sl_aug_check_image("normalize", img, C, H, W)) return SL_ERR;
    if (!mean || !std) return sl_error("normalize: mean or std is NULL");
    for (int c = 0; c < C; c++)
        if (std[c] == 0.0f) return sl_error("normalize: std[%d] is 0", c);
    size_t plane = (size_t)H * W;
    for (int c = 0; c < C; c++) {
        float m = mean[c], s = std[c];
        float *x = img + (size_t)c * plane;
        #pragma omp simd
        for (size_t i = 0; i < plane; i++) x[i] = (x[i] - m) / s; /* sub_ then div_, as torchvision */
    }
    return SL_OK;
}
