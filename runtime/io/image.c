/* image.c - format detection, dispatch and pixel packing shared by png.c and
 * jpeg.c (see image.h). */
#include "io/image.h"

#include <ctype.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"

static atomic_llong max_pixels = SL_IMAGE_MAX_PIXELS_DEFAULT;

/* Largest encoded file sl_image_load reads (1 GiB). */
static const int64_t max_file_bytes = (int64_t)1 << 30;

void sl_image_set_max_pixels(int64_t n) { atomic_store(&max_pixels, n > 0 ? n : SL_IMAGE_MAX_PIXELS_DEFAULT); }
int64_t sl_image_max_pixels(void) { return atomic_load(&max_pixels); }

sl_image_format sl_image_detect(const uint8_t *buf, size_t n)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(buf, png_sig, 8) == 0) return SL_IMAGE_PNG;
    if (n >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff) return SL_IMAGE_JPEG;
    return SL_IMAGE_UNKNOWN;
}

const char *sl_image_format_name(sl_image_format f)
{
    switch (f) {
    case SL_IMAGE_PNG: return "png";
    case SL_IMAGE_JPEG: return "jpeg";
    default: return "unknown";
    }
}

int sl_image_decode(const uint8_t *buf, size_t n, const char *name, sl_tensor **out)
{
    *out = NULL;
    if (!name) name = "<memory>";
    switch (sl_image_detect(buf, n)) {
    case SL_IMAGE_PNG: return sl_png_decode(buf, n, name, out);
    case SL_IMAGE_JPEG: return sl_jpeg_decode(buf, n, name, out);
    default: break;
    }
    if (n == 0) return sl_error("image: %s: empty file", name);
    char hex[3 * 8 + 1] = "";
    int len = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        len += snprintf(hex + len, sizeof hex - len, "%s%02x", i ? " " : "", buf[i]);
    return sl_error("image: %s: unknown format (not PNG or JPEG; first bytes %s)", name, hex);
}

/* Read the whole file, then decode it with `decode` (messages name the file). */
static int load_with(const char *path, const char *what, sl_tensor **out,
                     int (*decode)(const uint8_t *, size_t, const char *, sl_tensor **))
{
    *out = NULL;
    uint8_t *buf;
    size_t n;
    int rc = sl_file_read(path, what, &buf, &n, max_file_bytes);
    if (rc != SL_OK) return rc;
    rc = decode(buf, n, path, out);
    sl_free(buf);
    return rc;
}

int sl_image_load(const char *path, sl_tensor **out) { return load_with(path, "image", out, sl_image_decode); }
int sl_png_load(const char *path, sl_tensor **out) { return load_with(path, "png", out, sl_png_decode); }
int sl_jpeg_load(const char *path, sl_tensor **out) { return load_with(path, "jpeg", out, sl_jpeg_decode); }

int sl_png_save(const char *path, const sl_tensor *img)
{
    uint8_t *buf;
    size_t n;
    if (sl_png_encode(img, path, &buf, &n) != SL_OK) return SL_ERR;
    int rc = sl_file_write(path, "png", buf, n);
    sl_free(buf);
    return rc;
}

int sl_jpeg_save(const char *path, const sl_tensor *img, int quality)
{
    uint8_t *buf;
    size_t n;
    if (sl_jpeg_encode(img, quality, path, &buf, &n) != SL_OK) return SL_ERR;
    int rc = sl_file_write(path, "jpeg", buf, n);
    sl_free(buf);
    return rc;
}

int sl_image_save(const char *path, const sl_tensor *img, int quality)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        if (strcasecmp(dot, ".png") == 0) return sl_png_save(path, img);
        if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
            return sl_jpeg_save(path, img, quality ? quality : 90);
    }
    return sl_error("image: %s: cannot tell the format from the extension (use .png, .jpg or .jpeg)", path);
}

int sl_image_check_u8(const sl_tensor *img, const char *what, const char *name, unsigned channel_mask, int *c,
                      int *h, int *w)
{
    char shape[128];
    if (!name) name = "<memory>";
    if (!img) return sl_error("%s: %s: no image given", what, name);
    if (img->dtype != SL_UINT8)
        return sl_error("%s: %s: expected a uint8 image, got %s %s", what, name, sl_dtype_name(img->dtype),
                        sl_shape_str(img, shape, sizeof shape));
    int64_t cc, hh, ww;
    if (img->ndim == 2) {
        cc = 1, hh = img->size[0], ww = img->size[1];
    } else if (img->ndim == 3) {
        cc = img->size[0], hh = img->size[1], ww = img->size[2];
    } else {
        return sl_error("%s: %s: expected an image [C x H x W] or [H x W], got %s", what, name,
                        sl_shape_str(img, shape, sizeof shape));
    }
    if (cc < 1 || cc > 4 || !(channel_mask & (1u << cc)))
        return sl_error("%s: %s: cannot encode %lld channels, shape %s", what, name, (long long)cc,
                        sl_shape_str(img, shape, sizeof shape));
    if (hh < 1 || ww < 1 || hh > 65535 || ww > 65535)
        return sl_error("%s: %s: image size %lldx%lld out of range 1..65535", what, name, (long long)hh,
                        (long long)ww);
    *c = (int)cc, *h = (int)hh, *w = (int)ww;
    return SL_OK;
}

void sl_image_unpack_hwc(const uint8_t *hwc, int c, int h, int w, uint8_t *chw)
{
    int64_t plane = (int64_t)h * w;
    if (c == 1) {
        memcpy(chw, hwc, (size_t)plane);
        return;
    }
    for (int k = 0; k < c; k++) {
        uint8_t *dst = chw + k * plane;
        const uint8_t *src = hwc + k;
        for (int64_t i = 0; i < plane; i++) dst[i] = src[i * c];
    }
}

void sl_image_pack_hwc(const sl_tensor *img, int c, int h, int w, uint8_t *hwc)
{
    const uint8_t *base = sl_u8(img);
    int64_t sc = 0, sh, sw;
    if (img->ndim == 2) {
        sh = img->stride[0], sw = img->stride[1];
    } else {
        sc = img->stride[0], sh = img->stride[1], sw = img->stride[2];
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) hwc[((int64_t)y * w + x) * c + k] = base[k * sc + y * sh + x * sw];
}

int sl_image_to_u8(const sl_tensor *src, sl_tensor **out)
{
    char shape[128];
    *out = NULL;
    int64_t c, h, w, sc = 0, sh, sw;
    if (src->ndim == 2) {
        c = 1, h = src->size[0], w = src->size[1], sh = src->stride[0], sw = src->stride[1];
    } else if (src->ndim == 3) {
        c = src->size[0], h = src->size[1], w = src->size[2];
        sc = src->stride[0], sh = src->stride[1], sw = src->stride[2];
    } else {
        return sl_error("image: expected an image [C x H x W] or [H x W], got %s",
                        sl_shape_str(src, shape, sizeof shape));
    }
    if (c != 1 && c != 3 && c != 4)
        return sl_error("image: expected 1, 3 or 4 channels, got shape %s", sl_shape_str(src, shape, sizeof shape));
    if (src->dtype != SL_UINT8 && src->dtype != SL_FLOAT32)
        return sl_error("image: expected a uint8 or float32 image, got %s", sl_dtype_name(src->dtype));
    int64_t size[3] = {c, h, w};
    sl_tensor *t = sl_tensor_new(SL_UINT8, 3, size);
    if (!t) return SL_ERR;
    uint8_t *dst = sl_u8(t);
    for (int64_t k = 0; k < c; k++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int64_t at = k * sc + y * sh + x * sw;
                uint8_t v;
                if (src->dtype == SL_UINT8) {
                    v = sl_u8(src)[at];
                } else {
                    float f = sl_f32(src)[at];
                    f = f != f ? 0.0f : f < 0.0f ? 0.0f : f > 1.0f ? 1.0f : f; /* NaN -> 0 */
                    v = (uint8_t)(f * 255.0f + 0.5f);
                }
                dst[(k * h + y) * w + x] = v;
            }
    *out = t;
    return SL_OK;
}
