/* pipeline.c - a whole augmentation pipeline as data (sl_aug_op[]) run in C.
 *
 * The loader's worker threads call sl_aug_pipeline_apply once per view; it
 * converts the uint8 sample to float, runs each op on one of two ping-pong
 * buffers carved out of the caller's scratch, and copies the result out.
 */
#include "aug/aug.h"
#include "aug/check.h"

#include <string.h>

static const char *const kind_names[SL_AUG_NUM_KINDS] = {
    [SL_AUG_RANDOM_RESIZED_CROP] = "random_resized_crop",
    [SL_AUG_RESIZE] = "resize",
    [SL_AUG_CENTER_CROP] = "center_crop",
    [SL_AUG_HFLIP] = "hflip",
    [SL_AUG_COLOR_JITTER] = "color_jitter",
    [SL_AUG_GRAYSCALE] = "grayscale",
    [SL_AUG_GAUSSIAN_BLUR] = "gaussian_blur",
    [SL_AUG_SOLARIZE] = "solarize",
    [SL_AUG_NORMALIZE] = "normalize",
};
_Static_assert(SL_AUG_NUM_KINDS == 10, "add the new kind to kind_names");

const char *sl_aug_kind_name(sl_aug_kind kind)
{
    if ((int)kind <= 0 || kind >= SL_AUG_NUM_KINDS) return NULL;
    return kind_names[kind];
}

/* {===== constructors ==================================================== */

static sl_aug_op op_new(sl_aug_kind kind, float p)
{
    sl_aug_op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.p = p;
    return op;
}

sl_aug_op sl_aug_op_random_resized_crop(int height, int width, float scale_min, float scale_max,
                                        float ratio_min, float ratio_max)
{
    sl_aug_op op = op_new(SL_AUG_RANDOM_RESIZED_CROP, 1.0f);
    op.rrc.height = height;
    op.rrc.width = width;
    op.rrc.scale_min = scale_min;
    op.rrc.scale_max = scale_max;
    op.rrc.ratio_min = ratio_min;
    op.rrc.ratio_max = ratio_max;
    return op;
}

sl_aug_op sl_aug_op_resize(int height, int width)
{
    sl_aug_op op = op_new(SL_AUG_RESIZE, 1.0f);
    op.size.height = height;
    op.size.width = width;
    return op;
}

sl_aug_op sl_aug_op_center_crop(int height, int width)
{
    sl_aug_op op = op_new(SL_AUG_CENTER_CROP, 1.0f);
    op.size.height = height;
    op.size.width = width;
    return op;
}

sl_aug_op sl_aug_op_hflip(float p) { return op_new(SL_AUG_HFLIP, p); }

sl_aug_op sl_aug_op_color_jitter(float brightness, float contrast, float saturation, float hue, float p)
{
    sl_aug_op op = op_new(SL_AUG_COLOR_JITTER, p);
    op.jitter.brightness = brightness;
    op.jitter.contrast = contrast;
    op.jitter.saturation = saturation;
    op.jitter.hue = hue;
    return op;
}

sl_aug_op sl_aug_op_color_jitter_simclr(float s)
{
    return sl_aug_op_color_jitter(0.8f * s, 0.8f * s, 0.8f * s, 0.2f * s, 0.8f);
}

sl_aug_op sl_aug_op_grayscale(float p) { return op_new(SL_AUG_GRAYSCALE, p); }

sl_aug_op sl_aug_op_gaussian_blur(int ksize, float sigma_min, float sigma_max, float p)
{
    sl_aug_op op = op_new(SL_AUG_GAUSSIAN_BLUR, p);
    op.blur.ksize = ksize;
    op.blur.sigma_min = sigma_min;
    op.blur.sigma_max = sigma_max;
    return op;
}

sl_aug_op sl_aug_op_solarize(float threshold, float p)
{
    sl_aug_op op = op_new(SL_AUG_SOLARIZE, p);
    op.solarize.threshold = threshold;
    return op;
}

sl_aug_op sl_aug_op_normalize(const float *mean, const float *std)
{
    sl_aug_op op = op_new(SL_AUG_NORMALIZE, 1.0f);
    for (int c = 0; c < 3; c++) {
        op.normalize.mean[c] = mean ? mean[c] : 0.0f;
        op.normalize.std[c] = std ? std[c] : 1.0f;
    }
    return op;
}

static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

int sl_aug_preset_mocov2(sl_aug_op *ops, int cap, int size)
{
    if (!ops || cap < 6) return sl_error("aug preset mocov2: needs room for 6 ops, got %d", cap), -1;
    ops[0] = sl_aug_op_random_resized_crop(size, size, 0.2f, 1.0f, 3.0f / 4.0f, 4.0f / 3.0f);
    ops[1] = sl_aug_op_color_jitter(0.4f, 0.4f, 0.4f, 0.1f, 0.8f);
    ops[2] = sl_aug_op_grayscale(0.2f);
    ops[3] = sl_aug_op_gaussian_blur(0, 0.1f, 2.0f, 0.5f);
    ops[4] = sl_aug_op_hflip(0.5f);
    ops[5] = sl_aug_op_normalize(imagenet_mean, imagenet_std);
    return 6;
}

int sl_aug_preset_simclr(sl_aug_op *ops, int cap, int size, float strength, int blur)
{
    int n = blur ? 6 : 5;
    if (!ops || cap < n) return sl_error("aug preset simclr: needs room for %d ops, got %d", n, cap), -1;
    int k = 0;
    ops[k++] = sl_aug_op_random_resized_crop(size, size, 0.08f, 1.0f, 3.0f / 4.0f, 4.0f / 3.0f);
    ops[k++] = sl_aug_op_hflip(0.5f);
    ops[k++] = sl_aug_op_color_jitter_simclr(strength);
    ops[k++] = sl_aug_op_grayscale(0.2f);
    if (blur) ops[k++] = sl_aug_op_gaussian_blur(0, 0.1f, 2.0f, 0.5f);
    ops[k++] = sl_aug_op_normalize(imagenet_mean, imagenet_std);
    return k;
}

/* }===================================================================== */

/* {===== checking ======================================================== */

typedef struct plan {
    int C, H, W;        /* output shape */
    size_t buf_floats;  /* each of the two ping-pong buffers */
    size_t tmp_floats;  /* blur scratch */
} plan;

static int blur_ksize(const sl_aug_op *op, int H, int W)
{
    return op->blur.ksize ? op->blur.ksize : sl_aug_blur_kernel_size(H < W ? H : W);
}

static int check_op(const sl_aug_op *op, int *C, int *H, int *W, size_t *tmp)
{
    if (!(op->p >= 0.0f && op->p <= 1.0f)) return sl_error("probability p = %g outside [0, 1]", (double)op->p);
    switch (op->kind) {
    case SL_AUG_RANDOM_RESIZED_CROP:
        if (op->rrc.height <= 0 || op->rrc.width <= 0)
            return sl_error("output size %dx%d must be positive", op->rrc.height, op->rrc.width);
        if (!(op->rrc.scale_min > 0.0f && op->rrc.scale_min <= op->rrc.scale_max))
            return sl_error("scale [%g, %g] needs 0 < min <= max", (double)op->rrc.scale_min,
                            (double)op->rrc.scale_max);
        if (!(op->rrc.ratio_min > 0.0f && op->rrc.ratio_min <= op->rrc.ratio_max))
            return sl_error("ratio [%g, %g] needs 0 < min <= max", (double)op->rrc.ratio_min,
                            (double)op->rrc.ratio_max);
        *H = op->rrc.height;
        *W = op->rrc.width;
        return SL_OK;
    case SL_AUG_RESIZE:
        if (op->size.height <= 0 || op->size.width < 0)
            return sl_error("size %dx%d must be positive (width 0: smaller side)", op->size.height, op->size.width);
        if (op->size.width == 0) return sl_aug_resize_short_size(*H, *W, op->size.height, H, W);
        *H = op->size.height;
        *W = op->size.width;
        return SL_OK;
    case SL_AUG_CENTER_CROP: {
        sl_aug_box box;
        if (sl_aug_center_box(*H, *W, op->size.height, op->size.width, &box)) return SL_ERR;
        *H = op->size.height;
        *W = op->size.width;
        return SL_OK;
    }
    case SL_AUG_HFLIP:
    case SL_AUG_GRAYSCALE:
    case SL_AUG_SOLARIZE:
        return SL_OK;
    case SL_AUG_COLOR_JITTER:
        if (!(op->jitter.brightness >= 0.0f && op->jitter.contrast >= 0.0f && op->jitter.saturation >= 0.0f))
            return sl_error("brightness %g, contrast %g, saturation %g must be >= 0", (double)op->jitter.brightness,
                            (double)op->jitter.contrast, (double)op->jitter.saturation);
        if (!(op->jitter.hue >= 0.0f && op->jitter.hue <= 0.5f))
            return sl_error("hue %g outside [0, 0.5]", (double)op->jitter.hue);
        return SL_OK;
    case SL_AUG_GAUSSIAN_BLUR: {
        if (op->blur.ksize < 0 || (op->blur.ksize > 0 && op->blur.ksize % 2 == 0))
            return sl_error("kernel size %d must be odd (or 0 for ~10%% of the side)", op->blur.ksize);
        if (!(op->blur.sigma_min > 0.0f && op->blur.sigma_min <= op->blur.sigma_max))
            return sl_error("sigma [%g, %g] needs 0 < min <= max", (double)op->blur.sigma_min,
                            (double)op->blur.sigma_max);
        size_t need = sl_aug_gaussian_blur_scratch(*H, *W, blur_ksize(op, *H, *W));
        if (need > *tmp) *tmp = need;
        return SL_OK;
    }
    case SL_AUG_NORMALIZE:
        for (int c = 0; c < *C; c++)
            if (op->normalize.std[c] == 0.0f) return sl_error("std[%d] is 0", c);
        return SL_OK;
    default:
        return sl_error("unknown kind %d", (int)op->kind);
    }
}

static int make_plan(const sl_aug_op *ops, int n_ops, int C, int H, int W, plan *pl)
{
    if (n_ops < 0 || (n_ops > 0 && !ops)) return sl_error("aug pipeline: %d ops at %p", n_ops, (const void *)ops);
    if ((C != 1 && C != 3) || H <= 0 || W <= 0)
        return sl_error("aug pipeline: input [%dx%dx%d]: C must be 1 or 3, H and W positive", C, H, W);
    pl->buf_floats = (size_t)C * H * W;
    pl->tmp_floats = 0;
    for (int k = 0; k < n_ops; k++) {
        if (check_op(&ops[k], &C, &H, &W, &pl->tmp_floats)) {
            const char *name = sl_aug_kind_name(ops[k].kind);
            return sl_error_prefix("aug pipeline: op %d (%s)", k, name ? name : "?");
        }
        size_t n = (size_t)C * H * W;
        if (n > pl->buf_floats) pl->buf_floats = n;
    }
    pl->C = C;
    pl->H = H;
    pl->W = W;
    return SL_OK;
}

int sl_aug_pipeline_check(const sl_aug_op *ops, int n_ops, int C, int H, int W,
                          int *out_c, int *out_h, int *out_w, size_t *scratch_floats)
{
    plan pl;
    if (make_plan(ops, n_ops, C, H, W, &pl)) return SL_ERR;
    if (out_c) *out_c = pl.C;
    if (out_h) *out_h = pl.H;
    if (out_w) *out_w = pl.W;
    if (scratch_floats) *scratch_floats = 2 * pl.buf_floats + pl.tmp_floats;
    return SL_OK;
}

size_t sl_aug_pipeline_scratch_size(const sl_aug_op *ops, int n_ops, int C, int H, int W)
{
    size_t need = 0;
    if (sl_aug_pipeline_check(ops, n_ops, C, H, W, NULL, NULL, NULL, &need)) return 0;
    return need;
}

/* }===================================================================== */

/* {===== running ========================================================= */

/* Run op on img ([C x *H x *W]). Ops that change the shape write into other
 * and set *moved; the rest work in place. */
static int run_op(const sl_aug_op *op, sl_rng *rng, float *img, float *other, int C, int *H, int *W,
                  float *tmp, int *moved)
{
    *moved = 0;
    switch (op->kind) {
    case SL_AUG_RANDOM_RESIZED_CROP: {
        sl_aug_box box;
        if (sl_aug_crop_box(rng, *H, *W, op->rrc.scale_min, op->rrc.scale_max, op->rrc.ratio_min,
                            op->rrc.ratio_max, &box))
            return SL_ERR;
        if (sl_aug_resize_bilinear(img, C, *H, *W, &box, other, op->rrc.height, op->rrc.width)) return SL_ERR;
        *H = op->rrc.height;
        *W = op->rrc.width;
        break;
    }
    case SL_AUG_RESIZE: {
        int oh = op->size.height, ow = op->size.width;
        if (ow == 0 && sl_aug_resize_short_size(*H, *W, op->size.height, &oh, &ow)) return SL_ERR;
        if (oh == *H && ow == *W) return SL_OK; /* bilinear at scale 1 is the identity */
        if (sl_aug_resize_bilinear(img, C, *H, *W, NULL, other, oh, ow)) return SL_ERR;
        *H = oh;
        *W = ow;
        break;
    }
    case SL_AUG_CENTER_CROP: {
        sl_aug_box box;
        if (sl_aug_center_box(*H, *W, op->size.height, op->size.width, &box)) return SL_ERR;
        if (sl_aug_crop(img, C, *H, *W, &box, other)) return SL_ERR;
        *H = box.height;
        *W = box.width;
        break;
    }
    case SL_AUG_HFLIP:
        return sl_aug_random_hflip(rng, img, C, *H, *W, op->p);
    case SL_AUG_COLOR_JITTER:
        return sl_aug_color_jitter(rng, img, C, *H, *W, op->jitter.brightness, op->jitter.contrast,
                                   op->jitter.saturation, op->jitter.hue, op->p);
    case SL_AUG_GRAYSCALE:
        return sl_aug_random_grayscale(rng, img, C, *H, *W, op->p);
    case SL_AUG_GAUSSIAN_BLUR:
        return sl_aug_random_gaussian_blur(rng, img, C, *H, *W, blur_ksize(op, *H, *W), op->blur.sigma_min,
                                           op->blur.sigma_max, op->p, tmp);
    case SL_AUG_SOLARIZE:
        return sl_aug_random_solarize(rng, img, C, *H, *W, op->solarize.threshold, op->p);
    case SL_AUG_NORMALIZE:
        if (op->p < 1.0f && !(sl_rng_uniform(rng) < op->p)) return SL_OK;
        return sl_aug_normalize(img, C, *H, *W, op->normalize.mean, op->normalize.std);
    default:
        return sl_error("unknown kind %d", (int)op->kind);
    }
    *moved = 1;
    return SL_OK;
}

static int pipeline_run(const sl_aug_op *ops, int n_ops, sl_rng *rng, const uint8_t *src8, const float *srcf,
                        int C, int H, int W, float *dst, int outC, int outH, int outW, float *scratch,
                        size_t scratch_len)
{
    plan pl;
    if (!rng) return sl_error("aug pipeline: rng is NULL");
    if (!(src8 || srcf) || !dst || !scratch) return sl_error("aug pipeline: src, dst or scratch is NULL");
    if (make_plan(ops, n_ops, C, H, W, &pl)) return SL_ERR;
    if (outH != pl.H || outW != pl.W || !(outC == pl.C || (pl.C == 1 && outC == 3)))
        return sl_error("aug pipeline: input [%dx%dx%d] gives [%dx%dx%d], dst is [%dx%dx%d]", C, H, W, pl.C, pl.H,
                        pl.W, outC, outH, outW);
    size_t need = 2 * pl.buf_floats + pl.tmp_floats;
    if (scratch_len < need)
        return sl_error("aug pipeline: scratch holds %zu floats, input [%dx%dx%d] needs %zu", scratch_len, C, H, W,
                        need);
    float *cur = scratch, *other = scratch + pl.buf_floats, *tmp = scratch + 2 * pl.buf_floats;
    size_t n_in = (size_t)C * H * W;
    if (src8) {
        if (sl_aug_to_float(src8, cur, C, H, W)) return SL_ERR;
    } else {
        memcpy(cur, srcf, n_in * sizeof(float));
    }

    uint64_t hi = sl_rng_u32(rng), lo = sl_rng_u32(rng);
    uint64_t pipeline_seed = (hi << 32) | lo;
    for (int k = 0; k < n_ops; k++) {
        sl_rng op_rng;
        sl_rng_init(&op_rng, sl_rng_derive(pipeline_seed, (uint64_t)k, 0));
        int moved;
        if (run_op(&ops[k], &op_rng, cur, other, C, &H, &W, tmp, &moved)) {
            const char *name = sl_aug_kind_name(ops[k].kind);
            return sl_error_prefix("aug pipeline: op %d (%s)", k, name ? name : "?");
        }
        if (moved) { /* the result is in `other`: swap the buffers */
            float *t = cur;
            cur = other;
            other = t;
        }
    }
    size_t plane = (size_t)H * W;
    if (outC == C) {
        memcpy(dst, cur, (size_t)C * plane * sizeof(float));
    } else { /* grey input, 3-channel output: replicate */
        for (int c = 0; c < outC; c++) memcpy(dst + (size_t)c * plane, cur, plane * sizeof(float));
    }
    return SL_OK;
}

int sl_aug_pipeline_apply(const sl_aug_op *ops, int n_ops, sl_rng *rng,
                          const uint8_t *src, /* [C x H x W] */
                          int C, int H, int W,
                          float *dst,         /* [outC x outH x outW] */
                          int outC, int outH, int outW,
                          float *scratch,     /* [scratch_len] */
                          size_t scratch_len)
{
    if (!src) return sl_error("aug pipeline: src is NULL");
    return pipeline_run(ops, n_ops, rng, src, NULL, C, H, W, dst, outC, outH, outW, scratch, scratch_len);
}

int sl_aug_pipeline_apply_float(const sl_aug_op *ops, int n_ops, sl_rng *rng,
                                const float *src, /* [C x H x W] */
                                int C, int H, int W,
                                float *dst,       /* [outC x outH x outW] */
                                int outC, int outH, int outW,
                                float *scratch,   /* [scratch_len] */
                                size_t scratch_len)
{
    if (!src) return sl_error("aug pipeline: src is NULL");
    return pipeline_run(ops, n_ops, rng, NULL, src, C, H, W, dst, outC, outH, outW, scratch, scratch_len);
}

/* }===================================================================== */
