/* crop.c - RandomResizedCrop box sampling, centre crops and bilinear resizing.
 *
 * The box arithmetic is torchvision's RandomResizedCrop.get_params; the
 * resampling is torch's upsample_bilinear2d (align_corners=False, antialias
 * off), i.e. torchvision's F.resized_crop on tensors with antialias=False.
 */
#include "aug/aug.h"
#include "aug/check.h"

#include <math.h>
#include <string.h>

/* Python's round(): half to even (rint in the default rounding mode). */
static int round_half_even(double x) { return (int)rint(x); }

int sl_aug_crop_box(sl_rng *rng, int H, int W,
                    double scale_min, double scale_max,
                    double ratio_min, double ratio_max,
                    sl_aug_box *box)
{
    if (!rng || !box) return sl_error("crop_box: rng or box is NULL");
    if (H <= 0 || W <= 0) return sl_error("crop_box: image %dx%d must be non-empty", H, W);
    if (!(scale_min > 0.0 && scale_min <= scale_max))
        return sl_error("crop_box: scale [%g, %g] needs 0 < min <= max", scale_min, scale_max);
    if (!(ratio_min > 0.0 && ratio_min <= ratio_max))
        return sl_error("crop_box: ratio [%g, %g] needs 0 < min <= max", ratio_min, ratio_max);

    double area = (double)H * (double)W;
    double log_rmin = log(ratio_min), log_rmax = log(ratio_max);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target_area = area * (scale_min + (scale_max - scale_min) * sl_rng_uniform(rng));
        double aspect = exp(log_rmin + (log_rmax - log_rmin) * sl_rng_uniform(rng));
        int w = round_half_even(sqrt(target_area * aspect));
        int h = round_half_even(sqrt(target_area / aspect));
        if (w > 0 && w <= W && h > 0 && h <= H) {
            box->top = (int)sl_rng_below(rng, H - h + 1);
            box->left = (int)sl_rng_below(rng, W - w + 1);
            box->height = h;
            box->width = w;
            return SL_OK;
        }
    }
    /* Fallback: central crop, narrowed to the ratio range. */
    double in_ratio = (double)W / (double)H;
    int w, h;
    if (in_ratio < ratio_min) {
        w = W;
        h = round_half_even(w / ratio_min);
    } else if (in_ratio > ratio_max) {
        h = H;
        w = round_half_even(h * ratio_max);
    } else {
        w = W;
        h = H;
    }
    if (h < 1) h = 1; /* only for extreme ratios; torchvision would return an empty box */
    if (w < 1) w = 1;
    if (h > H) h = H;
    if (w > W) w = W;
    box->top = (H - h) / 2;
    box->left = (W - w) / 2;
    box->height = h;
    box->width = w;
    return SL_OK;
}

int sl_aug_center_box(int H, int W, int crop_h, int crop_w, sl_aug_box *box)
{
    if (!box) return sl_error("center_crop: box is NULL");
    if (crop_h <= 0 || crop_w <= 0 || crop_h > H || crop_w > W)
        return sl_error("center_crop: crop %dx%d does not fit in image %dx%d", crop_h, crop_w, H, W);
    box->top = round_half_even((H - crop_h) / 2.0);
    box->left = round_half_even((W - crop_w) / 2.0);
    box->height = crop_h;
    box->width = crop_w;
    return SL_OK;
}

int sl_aug_resize_short_size(int H, int W, int size, int *out_h, int *out_w)
{
    if (H <= 0 || W <= 0 || size <= 0)
        return sl_error("resize: image %dx%d to smaller side %d: sizes must be positive", H, W, size);
    int shortside = W <= H ? W : H, longside = W <= H ? H : W;
    int new_long = (int)((int64_t)size * longside / shortside); /* int(size * long / short) */
    if (W <= H) {
        *out_w = size;
        *out_h = new_long;
    } else {
        *out_h = size;
        *out_w = new_long;
    }
    return SL_OK;
}

static int check_box(const char *op, const sl_aug_box *b, int H, int W)
{
    if (b->height <= 0 || b->width <= 0 || b->top < 0 || b->left < 0 ||
        b->top + b->height > H || b->left + b->width > W)
        return sl_error("%s: box (top %d, left %d, %dx%d) not inside image %dx%d", op, b->top, b->left,
                        b->height, b->width, H, W);
    return SL_OK;
}

/* torch's compute_source_index_and_lambda for linear modes, align_corners=False. */
static inline void source_index(int out_i, int in_size, int out_size, float scale,
                                int *i0, int *i1, float *l0, float *l1)
{
    if (in_size == out_size) {
        *i0 = *i1 = out_i;
        *l0 = 1.0f;
        *l1 = 0.0f;
        return;
    }
    float real = scale * ((float)out_i + 0.5f) - 0.5f;
    if (real < 0.0f) real = 0.0f;
    int idx = (int)floorf(real);
    if (idx > in_size - 1) idx = in_size - 1;
    float lambda = real - (float)idx;
    if (lambda < 0.0f) lambda = 0.0f;
    if (lambda > 1.0f) lambda = 1.0f;
    *i0 = idx;
    *i1 = idx + (idx < in_size - 1 ? 1 : 0);
    *l1 = lambda;
    *l0 = 1.0f - lambda;
}

int sl_aug_resize_bilinear(const float *src, /* [C x H x W] */
                           int C, int H, int W,
                           const sl_aug_box *box,
                           float *dst,       /* [C x outH x outW] */
                           int outH, int outW)
{
    if (sl_aug_check_image("resize_bilinear", src, C, H, W)) return SL_ERR;
    if (!dst) return sl_error("resize_bilinear: dst is NULL");
    if (outH <= 0 || outW <= 0) return sl_error("resize_bilinear: output size %dx%d must be positive", outH, outW);
    sl_aug_box whole = {0, 0, H, W};
    const sl_aug_box *b = box ? box : &whole;
    if (check_box("resize_bilinear", b, H, W)) return SL_ERR;

    int bh = b->height, bw = b->width;
    float scale_h = (float)bh / (float)outH, scale_w = (float)bw / (float)outW;
    /* column indices and weights, computed once per chunk of output columns */
    enum { CHUNK = 256 };
    int cx0[CHUNK], cx1[CHUNK];
    float cw0[CHUNK], cw1[CHUNK];
    for (int xs = 0; xs < outW; xs += CHUNK) {
        int nx = outW - xs < CHUNK ? outW - xs : CHUNK;
        for (int k = 0; k < nx; k++) source_index(xs + k, bw, outW, scale_w, &cx0[k], &cx1[k], &cw0[k], &cw1[k]);
        for (int c = 0; c < C; c++) {
            const float *in = src + (size_t)c * H * W + (size_t)b->top * W + b->left;
            float *out = dst + (size_t)c * outH * outW + xs;
            for (int y = 0; y < outH; y++) {
                int y0, y1;
                float hl0, hl1;
                source_index(y, bh, outH, scale_h, &y0, &y1, &hl0, &hl1);
                const float *r0 = in + (size_t)y0 * W, *r1 = in + (size_t)y1 * W;
                float *o = out + (size_t)y * outW;
                for (int k = 0; k < nx; k++)
                    o[k] = hl0 * (cw0[k] * r0[cx0[k]] + cw1[k] * r0[cx1[k]]) +
                           hl1 * (cw0[k] * r1[cx0[k]] + cw1[k] * r1[cx1[k]]);
            }
        }
    }
    return SL_OK;
}

int sl_aug_crop(const float *src, /* [C x H x W] */
                int C, int H, int W,
                const sl_aug_box *box,
                float *dst)       /* [C x box.height x box.width] */
{
    if (sl_aug_check_image("crop", src, C, H, W)) return SL_ERR;
    if (!dst || !box) return sl_error("crop: dst or box is NULL");
    if (check_box("crop", box, H, W)) return SL_ERR;
    for (int c = 0; c < C; c++)
        for (int y = 0; y < box->height; y++)
            memcpy(dst + ((size_t)c * box->height + y) * box->width,
                   src + ((size_t)c * H + box->top + y) * W + box->left, (size_t)box->width * sizeof(float));
    return SL_OK;
}

int sl_aug_random_resized_crop(sl_rng *rng,
                               const float *src, /* [C x H x W] */
                               int C, int H, int W,
                               float *dst,       /* [C x outH x outW] */
                               int outH, int outW,
                               double scale_min, double scale_max,
                               double ratio_min, double ratio_max)
{
    sl_aug_box box;
    if (sl_aug_check_image("random_resized_crop", src, C, H, W)) return SL_ERR;
    if (sl_aug_crop_box(rng, H, W, scale_min, scale_max, ratio_min, ratio_max, &box)) return SL_ERR;
    return sl_aug_resize_bilinear(src, C, H, W, &box, dst, outH, outW);
}
