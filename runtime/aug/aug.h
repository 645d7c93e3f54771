/* aug.h - image augmentation kernels for contrastive learning (plain C, no Lua).
 *
 * Images are float32 [C x H x W] in [0, 1], C = 1 (grey) or 3 (RGB), row-major,
 * contiguous. Every kernel follows torchvision's tensor semantics
 * (torchvision/transforms/functional_tensor.py and transforms.py) unless a
 * comment says otherwise; every random kernel draws only from the sl_rng it is
 * given (Philox, tensor/random.h), so a fixed seed gives the same image on any
 * thread. Kernels are single-threaded: the data loader parallelises over
 * samples, not inside one image.
 *
 * Two levels:
 *   1. kernels - sl_aug_crop_box, sl_aug_resize_bilinear, sl_aug_hflip,
 *      sl_aug_adjust_*, sl_aug_gaussian_blur, ... (in place unless they change
 *      the shape);
 *   2. pipelines - an array of sl_aug_op run by sl_aug_pipeline_apply on a
 *      uint8 (or float) sample, with one preallocated scratch buffer, no
 *      allocation per image. This is what a loader worker calls per view.
 *
 * Worked example, the MoCo v2 "aug+" two-view pipeline on 224x224 crops:
 *
 *   sl_aug_op ops[8];
 *   int n = sl_aug_preset_mocov2(ops, 8, 224);      // crop, jitter, gray, blur, flip, normalise
 *   size_t need;
 *   int oc, oh, ow;
 *   if (sl_aug_pipeline_check(ops, n, 3, H, W, &oc, &oh, &ow, &need)) return SL_ERR;
 *   float *scratch = sl_malloc(need * sizeof(float));     // once per worker
 *   sl_rng rng;
 *   sl_rng_init(&rng, sl_rng_derive(seed, epoch, index)); // per sample
 *   sl_aug_pipeline_apply(ops, n, &rng, pixels, 3, H, W, view1, oc, oh, ow, scratch, need);
 *   sl_aug_pipeline_apply(ops, n, &rng, pixels, 3, H, W, view2, oc, oh, ow, scratch, need);
 *
 * Deliberate differences from torchvision (see each function):
 *   - resize is bilinear with align_corners=False and NO antialiasing, i.e.
 *     torchvision on tensors with antialias=False (= F.interpolate). PIL-based
 *     pipelines (the original MoCo code) antialias when downscaling.
 *   - grayscale weights are ITU-R 601 0.299/0.587/0.114 (PIL's, SL_AUG_GRAY_*);
 *     torchvision's tensor path uses 0.2989 for red (differs by < 1.1e-4).
 *   - reflect padding in the blur also works when the kernel is wider than the
 *     image (torch's 'reflect' pad errors there); we reflect periodically.
 *   - the random streams are Philox, so the draws differ from torch's; the
 *     distributions and the order of operations are torchvision's.
 */
#ifndef SL_AUG_H
#define SL_AUG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "tensor/random.h"

/* Luma weights (ITU-R BT.601), used by grayscale, contrast and saturation. */
#define SL_AUG_GRAY_R 0.299f
#define SL_AUG_GRAY_G 0.587f
#define SL_AUG_GRAY_B 0.114f

/* A crop rectangle in pixels: rows [top, top+height), cols [left, left+width)
 * (torchvision's (i, j, h, w)). */
typedef struct sl_aug_box {
    int top, left, height, width;
} sl_aug_box;

/* {===== conversion and normalisation (normalize.c) ===================== */

/* uint8 -> float in [0, 1] (x / 255, as to_tensor / convert_image_dtype). */
int sl_aug_to_float(const uint8_t *src, /* [C x H x W] */
                    float *dst,         /* [C x H x W] */
                    int C, int H, int W);
/* In place: x[c] = (x[c] - mean[c]) / std[c]. std[c] must be nonzero. */
int sl_aug_normalize(float *img,         /* [C x H x W] */
                     int C, int H, int W,
                     const float *mean,  /* [C] */
                     const float *std);  /* [C] */

/* }===================================================================== */

/* {===== crops and resizing (crop.c) ===================================== */

/* RandomResizedCrop.get_params: up to 10 attempts with area fraction uniform in
 * [scale_min, scale_max] and log-uniform aspect ratio (w/h) in
 * [ratio_min, ratio_max]; w = round(sqrt(area * r)), h = round(sqrt(area / r))
 * (round half to even, as Python); accepted if 0 < w <= W and 0 < h <= H, then
 * top/left uniform over the valid positions. Otherwise the fallback: the
 * central crop of the whole image, narrowed to the ratio range (width W,
 * height round(W / ratio_min), or height H, width round(H * ratio_max)).
 * Needs 0 < scale_min <= scale_max and 0 < ratio_min <= ratio_max. */
int sl_aug_crop_box(sl_rng *rng, int H, int W,
                    double scale_min, double scale_max,
                    double ratio_min, double ratio_max,
                    sl_aug_box *box);
/* The centred crop_h x crop_w box (torchvision center_crop: top =
 * round((H - crop_h) / 2)). The crop must fit inside the image. */
int sl_aug_center_box(int H, int W, int crop_h, int crop_w, sl_aug_box *box);
/* torchvision Resize(int): the smaller side becomes `size`, the longer one
 * int(size * long / short) (truncated). */
int sl_aug_resize_short_size(int H, int W, int size, int *out_h, int *out_w);

/* Bilinear resize of the box of src to outH x outW: F.interpolate(mode=
 * 'bilinear', align_corners=False) without antialiasing, applied to the crop
 * (samples never read outside the box). box == NULL means the whole image. */
int sl_aug_resize_bilinear(const float *src, /* [C x H x W] */
                           int C, int H, int W,
                           const sl_aug_box *box,
                           float *dst,       /* [C x outH x outW] */
                           int outH, int outW);
/* Copy the box of src (no resampling). */
int sl_aug_crop(const float *src, /* [C x H x W] */
                int C, int H, int W,
                const sl_aug_box *box,
                float *dst);      /* [C x box.height x box.width] */
/* sl_aug_crop_box followed by sl_aug_resize_bilinear. */
int sl_aug_random_resized_crop(sl_rng *rng,
                               const float *src, /* [C x H x W] */
                               int C, int H, int W,
                               float *dst,       /* [C x outH x outW] */
                               int outH, int outW,
                               double scale_min, double scale_max,
                               double ratio_min, double ratio_max);

/* }===================================================================== */

/* {===== flips (flip.c) ================================================== */

/* In place: mirror left-right. */
int sl_aug_hflip(float *img, /* [C x H x W] */ int C, int H, int W);
/* With probability p (one uniform draw u, flip if u < p). */
int sl_aug_random_hflip(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W, float p);

/* }===================================================================== */

/* {===== colour (color.c) ================================================ */

/* All in place; all clamp the result to [0, 1]. */
/* blend with black: x * f (f >= 0). */
int sl_aug_adjust_brightness(float *img, /* [C x H x W] */ int C, int H, int W, float factor);
/* blend with the mean of the grayscale image (of the image itself if C = 1). */
int sl_aug_adjust_contrast(float *img, /* [C x H x W] */ int C, int H, int W, float factor);
/* blend with the grayscale image; no effect on C = 1. */
int sl_aug_adjust_saturation(float *img, /* [C x H x W] */ int C, int H, int W, float factor);
/* rotate the hue by hue_factor turns (in [-0.5, 0.5]) in HSV; no effect on C = 1. */
int sl_aug_adjust_hue(float *img, /* [C x H x W] */ int C, int H, int W, float hue_factor);
/* All channels := 0.299 r + 0.587 g + 0.114 b (C stays 3); no effect on C = 1. */
int sl_aug_grayscale(float *img, /* [C x H x W] */ int C, int H, int W);
/* RandomGrayscale(p): one draw u, grayscale if u < p. */
int sl_aug_random_grayscale(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W, float p);

/* ColorJitter's random parameters. order is a permutation of 0..3 (0 brightness,
 * 1 contrast, 2 saturation, 3 hue); factor[k] is uniform in [max(0, 1-s), 1+s]
 * for k < 3 (s = brightness, contrast, saturation) and uniform in [-hue, hue]
 * for k = 3. active[k] is 0 when that strength is 0 (torchvision's None: the
 * adjustment is skipped, so zero strength leaves the image exactly unchanged).
 * Always consumes the same number of draws. */
typedef struct sl_aug_jitter {
    int order[4];
    float factor[4];
    int active[4];
} sl_aug_jitter;
int sl_aug_color_jitter_params(sl_rng *rng, float brightness, float contrast, float saturation,
                               float hue, sl_aug_jitter *out);
int sl_aug_color_jitter_apply(float *img, /* [C x H x W] */ int C, int H, int W,
                              const sl_aug_jitter *j);
/* RandomApply([ColorJitter(b, c, s, h)], p): one draw u; if u < p draw the
 * parameters and apply them in their random order. brightness, contrast,
 * saturation >= 0, 0 <= hue <= 0.5.
 * SimCLR's colour "strength s" is (0.8s, 0.8s, 0.8s, 0.2s) with p = 0.8; see
 * sl_aug_op_color_jitter_simclr. */
int sl_aug_color_jitter(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W,
                        float brightness, float contrast, float saturation, float hue, float p);

/* }===================================================================== */

/* {===== Gaussian blur (blur.c) ========================================== */

/* An odd kernel size of about 10% of the side, as SimCLR:
 * 2 * ((side / 10) / 2) + 1 (32 -> 3, 96 -> 9, 224 -> 23); 1 below 20. */
int sl_aug_blur_kernel_size(int side);
/* torchvision _get_gaussian_kernel1d: x = linspace(-(k-1)/2, (k-1)/2, k),
 * exp(-x^2 / (2 sigma^2)), normalised to sum 1. ksize odd >= 1, sigma > 0. */
int sl_aug_gaussian_kernel1d(float *kernel, /* [ksize] */ int ksize, float sigma);
/* Floats of scratch sl_aug_gaussian_blur needs. */
size_t sl_aug_gaussian_blur_scratch(int H, int W, int ksize);
/* In place: separable blur with the same sigma on both axes, reflect padding
 * (edge pixel not repeated: -1 -> 1), as torchvision gaussian_blur. */
int sl_aug_gaussian_blur(float *img, /* [C x H x W] */ int C, int H, int W, int ksize, float sigma,
                         float *scratch); /* [sl_aug_gaussian_blur_scratch(H, W, ksize)] */
/* GaussianBlur(ksize, (sigma_min, sigma_max)) applied with probability p: one
 * draw u, then if u < p sigma uniform in [sigma_min, sigma_max]. */
int sl_aug_random_gaussian_blur(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W,
                                int ksize, float sigma_min, float sigma_max, float p,
                                float *scratch); /* [sl_aug_gaussian_blur_scratch(H, W, ksize)] */

/* }===================================================================== */

/* {===== solarize (solarize.c) =========================================== */

/* In place: x >= threshold -> 1 - x. */
int sl_aug_solarize(float *img, /* [C x H x W] */ int C, int H, int W, float threshold);
int sl_aug_random_solarize(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W,
                           float threshold, float p);

/* }===================================================================== */

/* {===== pipelines (pipeline.c) ========================================== */

typedef enum sl_aug_kind {
    SL_AUG_RANDOM_RESIZED_CROP = 1, /* rrc: out size, scale, ratio; always applied */
    SL_AUG_RESIZE,                  /* size: width 0 = smaller side to height */
    SL_AUG_CENTER_CROP,             /* size */
    SL_AUG_HFLIP,                   /* p */
    SL_AUG_COLOR_JITTER,            /* jitter, p */
    SL_AUG_GRAYSCALE,               /* p */
    SL_AUG_GAUSSIAN_BLUR,           /* blur, p */
    SL_AUG_SOLARIZE,                /* solarize, p */
    SL_AUG_NORMALIZE,               /* normalize; always applied */
    SL_AUG_NUM_KINDS
} sl_aug_kind;

/* One step of a pipeline. Build with the sl_aug_op_* constructors. Geometric
 * ops (crop, resize) ignore p; colour ops assume values in [0, 1], so put
 * NORMALIZE last. */
typedef struct sl_aug_op {
    sl_aug_kind kind;
    float p; /* probability of applying (1 for deterministic ops) */
    union {
        struct { int height, width; float scale_min, scale_max, ratio_min, ratio_max; } rrc;
        struct { int height, width; } size;
        struct { float brightness, contrast, saturation, hue; } jitter;
        struct { int ksize; float sigma_min, sigma_max; } blur; /* ksize 0: auto */
        struct { float threshold; } solarize;
        struct { float mean[3], std[3]; } normalize; /* C = 1 uses [0] */
    };
} sl_aug_op;

/* "random_resized_crop", "resize", ... (NULL for an unknown kind). */
const char *sl_aug_kind_name(sl_aug_kind kind);

sl_aug_op sl_aug_op_random_resized_crop(int height, int width, float scale_min, float scale_max,
                                        float ratio_min, float ratio_max);
/* width 0: Resize(height) on the smaller side; else exactly height x width. */
sl_aug_op sl_aug_op_resize(int height, int width);
sl_aug_op sl_aug_op_center_crop(int height, int width);
sl_aug_op sl_aug_op_hflip(float p);
sl_aug_op sl_aug_op_color_jitter(float brightness, float contrast, float saturation, float hue, float p);
/* SimCLR colour distortion of strength s: jitter (0.8s, 0.8s, 0.8s, 0.2s), p 0.8. */
sl_aug_op sl_aug_op_color_jitter_simclr(float strength);
sl_aug_op sl_aug_op_grayscale(float p);
/* ksize 0: sl_aug_blur_kernel_size(min(H, W)) of the image at that step. */
sl_aug_op sl_aug_op_gaussian_blur(int ksize, float sigma_min, float sigma_max, float p);
sl_aug_op sl_aug_op_solarize(float threshold, float p);
sl_aug_op sl_aug_op_normalize(const float *mean, const float *std); /* [C], C <= 3 */

/* Presets (fill ops, return the count, or -1 with an error if cap is short).
 * MoCo v2 aug+: RandomResizedCrop(size, 0.2-1), ColorJitter(.4,.4,.4,.1) p .8,
 *   Grayscale p .2, GaussianBlur sigma .1-2 p .5 (auto kernel), HFlip .5,
 *   Normalize(ImageNet mean/std). 6 ops.
 * SimCLR: RandomResizedCrop(size, 0.08-1), HFlip .5, jitter of strength s,
 *   Grayscale p .2, blur p .5 if blur != 0, Normalize(ImageNet). 5 or 6 ops. */
int sl_aug_preset_mocov2(sl_aug_op *ops, int cap, int size);
int sl_aug_preset_simclr(sl_aug_op *ops, int cap, int size, float strength, int blur);

/* Validate a pipeline for a C x H x W input: the parameters of every op, the
 * output shape (*out_c = C; the caller may still ask apply for 3 channels from
 * a grey input) and the scratch floats apply needs for this input shape. Any
 * output pointer may be NULL. Messages name the op: "aug pipeline: op 2
 * (color_jitter): hue 0.7 outside [0, 0.5]". */
int sl_aug_pipeline_check(const sl_aug_op *ops, int n_ops, int C, int H, int W,
                          int *out_c, int *out_h, int *out_w, size_t *scratch_floats);
/* Scratch floats for one input shape (0 if the pipeline is invalid there).
 * Inputs of different shapes may need different amounts: size for the
 * largest you will pass, or call per sample. */
size_t sl_aug_pipeline_scratch_size(const sl_aug_op *ops, int n_ops, int C, int H, int W);

/* Run the pipeline on one sample: to_float, then each op in order, then copy
 * into dst (which must have the checked output shape; outC may be 3 for a grey
 * input, replicating the channel). Allocates nothing.
 * Randomness: one 64-bit draw from rng gives a pipeline seed; op k draws from
 * its own stream sl_rng_derive(pipeline_seed, k, 0). So consecutive calls with
 * one rng give different views, and changing one op's parameters (say jitter
 * strength) leaves the other ops' draws (the crops) unchanged. Seed rng with
 * sl_rng_derive(seed, epoch, sample_index) for results independent of which
 * worker runs the sample. */
int sl_aug_pipeline_apply(const sl_aug_op *ops, int n_ops, sl_rng *rng,
                          const uint8_t *src, /* [C x H x W] */
                          int C, int H, int W,
                          float *dst,         /* [outC x outH x outW] */
                          int outC, int outH, int outW,
                          float *scratch,     /* [scratch_len] */
                          size_t scratch_len);
/* The same on a float input in [0, 1] (src is not modified). */
int sl_aug_pipeline_apply_float(const sl_aug_op *ops, int n_ops, sl_rng *rng,
                                const float *src, /* [C x H x W] */
                                int C, int H, int W,
                                float *dst,       /* [outC x outH x outW] */
                                int outC, int outH, int outW,
                                float *scratch,   /* [scratch_len] */
                                size_t scratch_len);

/* }===================================================================== */

#endif
