/* blur.c - Gaussian blur (torchvision GaussianBlur / F.gaussian_blur).
 *
 * torchvision convolves the reflect-padded image with the outer product of a
 * 1-D kernel with itself; we do the same separably (a horizontal pass into a
 * scratch plane, then a vertical pass back), which is equal up to rounding.
 * `omp simd` marks the inner loops: GCC's -O2 cost model would not vectorise
 * them (4-8x slower); they carry no reductions, so the arithmetic is unchanged.
 */
#include "aug/aug.h"
#include "aug/check.h"

#include <math.h>
#include <string.h>

int sl_aug_blur_kernel_size(int side)
{
    if (side <= 0) return 1;
    return 2 * ((side / 10) / 2) + 1; /* SimCLR: kernel_size = side // 10, radius = k // 2, 2 r + 1 */
}

int sl_aug_gaussian_kernel1d(float *kernel, /* [ksize] */ int ksize, float sigma)
{
    if (!kernel) return sl_error("gaussian_kernel1d: kernel is NULL");
    if (ksize < 1 || ksize % 2 == 0) return sl_error("gaussian_kernel1d: ksize %d must be odd and >= 1", ksize);
    if (!(sigma > 0.0f)) return sl_error("gaussian_kernel1d: sigma %g must be > 0", (double)sigma);
    int half = ksize / 2;
    float sum = 0.0f;
    for (int i = 0; i < ksize; i++) {
        float x = (float)(i - half) / sigma; /* linspace(-half, half, ksize) / sigma */
        kernel[i] = expf(-0.5f * x * x);
        sum += kernel[i];
    }
    for (int i = 0; i < ksize; i++) kernel[i] /= sum;
    return SL_OK;
}

size_t sl_aug_gaussian_blur_scratch(int H, int W, int ksize)
{
    if (H <= 0 || W <= 0 || ksize < 1) return 0;
    return (size_t)H * W + (size_t)W + 2 * (size_t)ksize; /* plane + padded line + kernel */
}

/* torch 'reflect' padding index (-1 -> 1, n -> n - 2), extended periodically
 * when the padding is wider than the image. */
static inline int reflect(int i, int n)
{
    if (n == 1) return 0;
    int period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

int sl_aug_gaussian_blur(float *img, /* [C x H x W] */ int C, int H, int W, int ksize, float sigma,
                         float *scratch) /* [sl_aug_gaussian_blur_scratch(H, W, ksize)] */
{
    if (sl_aug_check_image("gaussian_blur", img, C, H, W)) return SL_ERR;
    if (!scratch) return sl_error("gaussian_blur: scratch is NULL");
    float *kernel = scratch;
    if (sl_aug_gaussian_kernel1d(kernel, ksize, sigma)) return sl_error_prefix("gaussian_blur");
    if (ksize == 1) return SL_OK; /* kernel {1}: identity */
    int half = ksize / 2;
    float *line = kernel + ksize;             /* [W + 2 half] */
    float *tmp = line + W + 2 * (size_t)half; /* [H x W] */
    for (int c = 0; c < C; c++) {
        float *x = img + (size_t)c * H * W;
        /* horizontal: x -> tmp */
        for (int y = 0; y < H; y++) {
            const float *row = x + (size_t)y * W;
            memcpy(line + half, row, (size_t)W * sizeof(float));
            for (int t = 0; t < half; t++) {
                line[t] = row[reflect(t - half, W)];
                line[half + W + t] = row[reflect(W + t, W)];
            }
            float *o = tmp + (size_t)y * W;
            /* the kernel is symmetric: pair taps t and ksize-1-t (half the
             * multiplies); loops over i vectorise */
            #pragma omp simd
            for (int i = 0; i < W; i++) o[i] = kernel[half] * line[i + half];
            for (int t = 0; t < half; t++) {
                float kt = kernel[t];
                const float *l0 = line + t, *l1 = line + ksize - 1 - t;
                #pragma omp simd
                for (int i = 0; i < W; i++) o[i] += kt * (l0[i] + l1[i]);
            }
        }
        /* vertical: tmp -> x */
        for (int y = 0; y < H; y++) {
            float *o = x + (size_t)y * W;
            const float *mid = tmp + (size_t)y * W;
            #pragma omp simd
            for (int i = 0; i < W; i++) o[i] = kernel[half] * mid[i];
            for (int t = 0; t < half; t++) {
                const float *s0 = tmp + (size_t)reflect(y + t - half, H) * W;
                const float *s1 = tmp + (size_t)reflect(y + half - t, H) * W;
                float kt = kernel[t];
                #pragma omp simd
                for (int i = 0; i < W; i++) o[i] += kt * (s0[i] + s1[i]);
            }
        }
    }
    return SL_OK;
}

int sl_aug_random_gaussian_blur(sl_rng *rng, float *img, /* [C x H x W] */ int C, int H, int W,
                                int ksize, float sigma_min, float sigma_max, float p,
                                float *scratch) /* [sl_aug_gaussian_blur_scratch(H, W, ksize)] */
{
    if (!rng) return sl_error("random_gaussian_blur: rng is NULL");
    if (sl_aug_check_p("random_gaussian_blur", p)) return SL_ERR;
    if (!(sigma_min > 0.0f && sigma_min <= sigma_max))
        return sl_error("random_gaussian_blur: sigma [%g, %g] needs 0 < min <= max", (double)sigma_min,
                        (double)sigma_max);
    if (ksize < 1 || ksize % 2 == 0) return sl_error("random_gaussian_blur: ksize %d must be odd and >= 1", ksize);
    double u = sl_rng_uniform(rng);
    float sigma = (float)(sigma_min + (sigma_max - sigma_min) * sl_rng_uniform(rng));
    if (u < p) return sl_aug_gaussian_blur(img, C, H, W, ksize, sigma, scratch);
    return sl_aug_check_image("random_gaussian_blur", img, C, H, W);
}
