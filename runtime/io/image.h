/* image.h - PNG and JPEG decoding and encoding to and from uint8 tensors.
 *
 * Images are contiguous uint8 tensors [C x H x W], C = 1 (grey), 3 (RGB) or
 * 4 (RGBA). Decoding normalises every PNG flavour to one of those: 16-bit
 * samples are scaled to 8 bits, palettes expand to RGB (RGBA when the file
 * has transparency), 1/2/4-bit grey expands to 8 bits, grey+alpha becomes
 * RGBA. Grey JPEGs stay 1 channel; CMYK/YCCK JPEGs are refused.
 *
 *   sl_tensor *img;
 *   int rc = sl_image_load("cat.jpg", &img);   // format from magic bytes
 *   if (rc == SL_ENOENT) ...                     // missing file: not an error
 *   else if (rc != SL_OK) ...                    // corrupt: sl_last_error()
 *   sl_image_save("cat.png", img, 0);            // format from the extension
 *   sl_tensor_free(img);
 *
 * Failures return SL_ERR (or SL_ENOENT when the file cannot be opened) with a
 * message naming the file and the problem, e.g.
 *   "png: foo.png: truncated file (3000 bytes; needed 8192 at offset 41)"
 * Decoders never terminate the process (libpng's longjmp and libjpeg's
 * error_exit are caught) and free everything on every failure path.
 * Images above sl_image_max_pixels() pixels (default 2^28) are refused before
 * any pixel memory is allocated (decompression bombs).
 */
#ifndef SL_IO_IMAGE_H
#define SL_IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "io/file.h"
#include "tensor/tensor.h"

#define SL_IMAGE_MAX_PIXELS_DEFAULT ((int64_t)1 << 28)

typedef enum { SL_IMAGE_UNKNOWN = 0, SL_IMAGE_PNG = 1, SL_IMAGE_JPEG = 2 } sl_image_format;

/* Format from the first bytes (PNG signature, JPEG SOI marker FF D8 FF). */
sl_image_format sl_image_detect(const uint8_t *buf, size_t n);
const char *sl_image_format_name(sl_image_format f); /* "png", "jpeg", "unknown" */

/* Pixel limit for all decoders (process-wide; <= 0 restores the default). */
void sl_image_set_max_pixels(int64_t max_pixels);
int64_t sl_image_max_pixels(void);

/* ---- any format -------------------------------------------------------- */
/* Decode a file, format from its magic bytes. SL_OK, SL_ENOENT or SL_ERR. */
int sl_image_load(const char *path, sl_tensor **out /* uint8 [C x H x W] */);
/* Decode from memory; `name` is only used in messages (may be NULL). */
int sl_image_decode(const uint8_t *buf, size_t n, const char *name, sl_tensor **out);
/* Encode by the extension of path: .png, or .jpg/.jpeg (quality 1..100,
 * 0 = default 90). img: uint8 [C x H x W] or [H x W], any strides. */
int sl_image_save(const char *path, const sl_tensor *img, int quality);
/* A contiguous uint8 [C x H x W] copy of an image-shaped tensor: uint8 is
 * copied, float32 is taken as [0, 1], clamped and rounded (x * 255 + 0.5).
 * [H x W] becomes [1 x H x W]; C must be 1, 3 or 4. */
int sl_image_to_u8(const sl_tensor *src, sl_tensor **out);

/* ---- PNG (png.c) ------------------------------------------------------- */
int sl_png_decode(const uint8_t *buf, size_t n, const char *name, sl_tensor **out);
int sl_png_load(const char *path, sl_tensor **out); /* SL_OK, SL_ENOENT, SL_ERR */
/* Encode to a new sl_malloc'd buffer (*buf, *n); free it with sl_free. */
int sl_png_encode(const sl_tensor *img, const char *name, uint8_t **buf, size_t *n);
int sl_png_save(const char *path, const sl_tensor *img);

/* ---- JPEG (jpeg.c) ----------------------------------------------------- */
int sl_jpeg_decode(const uint8_t *buf, size_t n, const char *name, sl_tensor **out);
int sl_jpeg_load(const char *path, sl_tensor **out); /* SL_OK, SL_ENOENT, SL_ERR */
/* C must be 1 or 3; quality 1..100. Quality >= 90 disables chroma subsampling. */
int sl_jpeg_encode(const sl_tensor *img, int quality, const char *name, uint8_t **buf, size_t *n);
int sl_jpeg_save(const char *path, const sl_tensor *img, int quality);

/* ---- shared by png.c and jpeg.c ----------------------------------------- */
/* Check that img is uint8 [C x H x W] (or [H x W]) with C in the allowed set
 * (bitmask: bit c set = c channels allowed); writes C, H, W. */
int sl_image_check_u8(const sl_tensor *img, const char *what, const char *name, unsigned channel_mask,
                      int *c, int *h, int *w);
/* Interleaved HWC <-> planar CHW, for a contiguous [C x H x W] tensor; the
 * packing side honours img's strides. */
void sl_image_unpack_hwc(const uint8_t *hwc, int c, int h, int w, uint8_t *chw);
void sl_image_pack_hwc(const sl_tensor *img, int c, int h, int w, uint8_t *hwc);

#endif
