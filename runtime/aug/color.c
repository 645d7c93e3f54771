/* color.c - brightness, contrast, saturation, hue, grayscale and ColorJitter.
 *
 * Follows torchvision's functional_tensor: each adjustment is a blend
 * f * img + (1 - f) * other, clamped to [0, 1], where other is black
 * (brightness), the mean grayscale value (contrast) or the grayscale image
 * (saturation); hue rotates H in HSV (_rgb2hsv / _hsv2rgb, reproduced below).
 * Grayscale uses the ITU-R 601 weights SL_AUG_GRAY_* (see aug.h).
 */
#include "aug/aug.h"
#include "aug/check.h"

#include <math.h>

static inline float clamp01(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

static inline float luma(float r, float g, float b)
{
    return SL_AUG_GRAY_R * r + SL_AUG_GRAY_G * g + SL_AUG_GRAY_B * b;
}

int sl_aug_adjust_brightness(float *img, /* [C x H x W] */ int C, int H, int W, float factor)
{
    if (sl_aug_check_image("adjust_brightness", img, C, H, W)) return SL_ERR;
    if (!(factor >= 0.0f)) return sl_error("adjust_brightness: factor %g must be >= 0", (double)factor);
    size_t n = (size_t)C * H * W;
    #pragma omp simd
    for (size_t i = 0; i < n; i++) img[i] = clamp01(factor * img[i]);
    return SL_OK;
}

int sl_aug_adjust_contrast(float *img, /* [C x H x W] */ int C, int H, int W, float factor)
{
    if (sl_aug_check_image("adjust_contrast", img, C, H, W)) return SL_ERR;
    if (!(factor >= 0.0f)) return sl_error("adjust_contrast: factor %g must be >= 0", (double)factor);
    size_t plane = (size_t)H * W, n = (size_t)C * plane;
    double sum = 0.0;
    if (C == 3) {
        const float *r = img, *g = img + plane, *b = img + 2 * plane;
        for (size_t i = 0; i < plane; i++) sum += luma(r[i], g[i], b[i]);
    } else {
        for (size_t i = 0; i < plane; i++) sum += img[i];
    }
    float mean = (float)(sum / (double)plane);
    float other = (1.0f - factor) * mean;
    #pragma omp simd
    for (size_t i = 0; i < n; i++) img[i] = clamp01(factor * img[i] + other);
    return SL_OK;
}

int sl_aug_adjust_saturation(float *img, /* [C x H x W] */ int C, int H, int W, float factor)
{
    if (sl_aug_check_image("adjust_saturation", img, C, H, W)) return SL_ERR;
    if (!(factor >= 0.0f)) return sl_error("adjust_saturation: factor %g must be >= 0", (double)factor);
    if (C == 1) return SL_OK; /* torchvision: no-op on grey images */
    size_t plane = (size_t)H * W;
    float *r = img, *g = img + plane, *b = img + 2 * plane;
    float keep = 1.0f - factor;
    #pragma omp simd
    for (size_t i = 0; i < plane; i++) {
        float l = keep * luma(r[i], g[i], b[i]);
        r[i] = clamp01(factor * r[i] + l);
        g[i] = clamp01(factor * g[i] + l);
        b[i] = clamp01(factor * b[i] + l);
    }
    return SL_OK;
}

/* torchvision _rgb2hsv for one pixel. Branch-free (selects), so the loop in
 * sl_aug_adjust_hue vectorises. */
static inline void rgb_to_hsv(float r, float g, float b, float *h, float *s, float *v)
{
    float maxc = r > g ? r : g, minc = r < g ? r : g; /* not fmaxf: it does not vectorise */
    maxc = maxc > b ? maxc : b;
    minc = minc < b ? minc : b;
    int eqc = maxc == minc;
    float cr = maxc - minc;
    /* torchvision divides by where(eqc, 1, maxc) and where(eqc, 1, cr); adding
     * 1 when eqc gives the same quotients (cr = 0 then) and, unlike a select
     * in the denominator, vectorises */
    float one_if_eq = eqc ? 1.0f : 0.0f;
    *s = cr / (maxc + one_if_eq);
    float div = cr + one_if_eq;
    float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
    /* exactly one of torchvision's hr, hg, hb is selected */
    float hh = maxc == r ? bc - gc : (maxc == g ? 2.0f + rc - bc : 4.0f + gc - rc);
    /* fmod(hh / 6 + 1, 1): hh is in [-1, 5], so hh / 6 + 1 is in [5/6, 11/6]
     * and fmod is one exact subtraction (Sterbenz) */
    float h1 = hh / 6.0f + 1.0f;
    *h = h1 >= 1.0f ? h1 - 1.0f : h1;
    *v = maxc;
}

/* torchvision _hsv2rgb for one pixel (its six-way table as selects). */
static inline void hsv_to_rgb(float h, float s, float v, float *r, float *g, float *b)
{
    int i = (int)(h * 6.0f); /* floor: h * 6 >= 0 (not floorf: it does not vectorise) */
    float f = h * 6.0f - (float)i;
    i = i >= 6 ? i - 6 : i; /* h in [0, 1): i in 0..6 (6 only by rounding up) */
    float p = clamp01(v * (1.0f - s));
    float q = clamp01(v * (1.0f - s * f));
    float t = clamp01(v * (1.0f - s * (1.0f - f)));
    /* i:   0  1  2  3  4  5
     * r:   v  q  p  p  t  v
     * g:   t  v  v  q  p  p
     * b:   p  p  t  v  v  q */
    *r = (i == 0 || i == 5) ? v : (i == 1 ? q : (i == 4 ? t : p));
    *g = (i == 1 || i == 2) ? v : (i == 0 ? t : (i == 3 ? q : p));
    *b = (i == 3 || i == 4) ? v : (i == 2 ? t : (i == 5 ? q : p));
}

int sl_aug_adjust_hue(float *img, /* [C x H x W] */ int C, int H, int W, float hue_factor)
{
    if (sl_aug_check_image("adjust_hue", img, C, H, W)) return SL_ERR;
    if (!(hue_factor >= -0.5f && hue_factor <= 0.5f))
        return sl_error("adjust_hue: hue_factor %g outside [-0.5, 0.5]", (double)hue_factor);
    if (C == 1) return SL_OK; /* torchvision: no-op on grey images */
    size_t plane = (size_t)H * W;
    float *r = img, *g = img + plane, *b = img + 2 * plane;
    #pragma omp simd
    for (size_t i = 0; i < plane; i++) {
        float h, s, v, ro, go, bo;
        rgb_to_hsv(r[i], g[i], b[i], &h, &s, &v);
        h += hue_factor;
        /* Python's h % 1.0, i.e. h - floor(h); h is in [-0.5, 1.5) */
        h = h < 0.0f ? h + 1.0f : (h >= 1.0f ? h - 1.0f : h);
        hsv_to_rgb(h, s, v, &ro, &go, &bo);
        r[i] = ro;
        g[i] = go;
        b[i] = bo;
    }
    return SL_OK;
}

int sl_aug_grayscale(float *img, /* [C x H x W] */ int C, int H, int W)
{
    if (sl_aug_check_image("grayscale", img, C, H, W)) return SL_ERR;
    if (C == 1) return SL_OK;
    size_t plane = (size_t)H * W;
    float *r = img, *g = img + plane, *b = img + 2 * plane;
    #pragma omp simd
    for (size_t i = 0; i < plane; i++) {
        float l = luma(r[i], g[i], b[i]);
        r[i] = g[i] = b[i] = l;
    }
    return SL_OK;
}

int sl_aug_random_grayscale(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W, float p)
{
    if (!rng) return sl_error("random_grayscale: rng is NULL");
    if (sl_aug_check_p("random_grayscale", p)) return SL_ERR;
    if (sl_aug_check_image("random_grayscale", img, C, H, W)) return SL_ERR;
    if (sl_rng_uniform(rng) < p) return sl_aug_grayscale(img, C, H, W);
    return SL_OK;
}

static int check_strengths(const char *op, float brightness, float contrast, float saturation, float hue)
{
    if (!(brightness >= 0.0f && contrast >= 0.0f && saturation >= 0.0f))
        return sl_error("%s: brightness %g, contrast %g, saturation %g must be >= 0", op, (double)brightness,
                        (double)contrast, (double)saturation);
    if (!(hue >= 0.0f && hue <= 0.5f)) return sl_error("%s: hue %g outside [0, 0.5]", op, (double)hue);
    return SL_OK;
}

int sl_aug_color_jitter_params(sl_rng *rng, float brightness, float contrast, float saturation,
                               float hue, sl_aug_jitter *out)
{
    if (!rng || !out) return sl_error("color_jitter: rng or out is NULL");
    if (check_strengths("color_jitter", brightness, contrast, saturation, hue)) return SL_ERR;
    int64_t perm[4];
    sl_rng_randperm(rng, perm, 4); /* torchvision draws the order first */
    for (int k = 0; k < 4; k++) out->order[k] = (int)perm[k];
    const float strength[3] = {brightness, contrast, saturation};
    for (int k = 0; k < 3; k++) {
        float lo = 1.0f - strength[k] > 0.0f ? 1.0f - strength[k] : 0.0f, hi = 1.0f + strength[k];
        double u = sl_rng_uniform(rng);
        out->active[k] = strength[k] != 0.0f;
        out->factor[k] = out->active[k] ? (float)(lo + (hi - lo) * u) : 1.0f;
    }
    double u = sl_rng_uniform(rng);
    out->active[3] = hue != 0.0f;
    out->factor[3] = out->active[3] ? (float)(-hue + 2.0 * hue * u) : 0.0f;
    return SL_OK;
}

int sl_aug_color_jitter_apply(float *img, /* [C x H x W] */ int C, int H, int W,
                              const sl_aug_jitter *j)
{
    if (sl_aug_check_image("color_jitter", img, C, H, W)) return SL_ERR;
    if (!j) return sl_error("color_jitter: parameters are NULL");
    for (int k = 0; k < 4; k++) {
        int fn = j->order[k];
        if (fn < 0 || fn > 3) return sl_error("color_jitter: order[%d] = %d outside 0..3", k, fn);
        if (!j->active[fn]) continue;
        int rc = SL_OK;
        switch (fn) {
        case 0: rc = sl_aug_adjust_brightness(img, C, H, W, j->factor[0]); break;
        case 1: rc = sl_aug_adjust_contrast(img, C, H, W, j->factor[1]); break;
        case 2: rc = sl_aug_adjust_saturation(img, C, H, W, j->factor[2]); break;
        case 3: rc = sl_aug_adjust_hue(img, C, H, W, j->factor[3]); break;
        }
        if (rc) return rc;
    }
    return SL_OK;
}

int sl_aug_color_jitter(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W,
                        float brightness, float contrast, float saturation, float hue, float p)
{
    if (!rng) return sl_error("color_jitter: rng is NULL");
    if (sl_aug_check_p("color_jitter", p)) return SL_ERR;
    if (sl_aug_check_image("color_jitter", img, C, H, W)) return SL_ERR;
    double u = sl_rng_uniform(rng);
    sl_aug_jitter j;
    /* Draw the parameters either way, so the stream advances the same amount. */
    if (sl_aug_color_jitter_params(rng, brightness, contrast, saturation, hue, &j)) return SL_ERR;
    if (u < p) return sl_aug_color_jitter_apply(img, C, H, W, &j);
    return SL_OK;
}
