/* png.c - PNG decoding and encoding with libpng (see image.h).
 *
 * libpng reports errors through an error callback that must not return; ours
 * records the message and longjmps. Each entry point keeps all of its state
 * (libpng structs, pixel buffers, the result) in a struct owned by the outer
 * function and does the libpng work in a separate *_inner function that calls
 * setjmp; after a longjmp the inner function just returns SL_ERR and the outer
 * one frees whatever was allocated. No local variable of a function calling
 * setjmp is modified after it, so none needs to be volatile.
 */
#include "io/image.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

/* Where libpng errors go: the first message, and where to jump. */
typedef struct png_err {
    char msg[256];
    jmp_buf jmp;
} png_err;

typedef struct png_reader {
    const uint8_t *buf;
    size_t n, pos;
    const char *name;
    png_err err;
    png_structp png;
    png_infop info;
    uint8_t *pixels; /* [H x W x C] interleaved, as libpng writes it */
    png_bytep *rows;
    sl_tensor *t;
} png_reader;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_err *err = png_get_error_ptr(png);
    if (err->msg[0] == '\0') snprintf(err->msg, sizeof err->msg, "%s (libpng)", msg);
    longjmp(err->jmp, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void on_png_read(png_structp png, png_bytep out, size_t len)
{
    png_reader *r = png_get_io_ptr(png);
    if (len > r->n - r->pos) {
        snprintf(r->err.msg, sizeof r->err.msg, "truncated file (%zu bytes; needed %zu at offset %zu)", r->n, len,
                 r->pos);
        png_error(png, "truncated file");
    }
    memcpy(out, r->buf + r->pos, len);
    r->pos += len;
}

static int png_decode_inner(png_reader *r)
{
    if (setjmp(r->err.jmp)) return SL_ERR;
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r->err, on_png_error, on_png_warning);
    if (!r->png) return sl_error("png: %s: out of memory creating the decoder", r->name);
    r->info = png_create_info_struct(r->png);
    if (!r->info) return sl_error("png: %s: out of memory creating the decoder", r->name);
    png_set_read_fn(r->png, r, on_png_read);
    png_set_user_limits(r->png, 1u << 24, 1u << 24);
    png_set_chunk_malloc_max(r->png, (png_alloc_size_t)64 << 20);

    png_read_info(r->png, r->info);
    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(r->png, r->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    int64_t pixels = (int64_t)w * h;
    if (pixels > sl_image_max_pixels())
        return sl_error("png: %s: image too large (%ux%u = %lld pixels, limit %lld)", r->name, (unsigned)w,
                        (unsigned)h, (long long)pixels, (long long)sl_image_max_pixels());

    int trns = png_get_valid(r->png, r->info, PNG_INFO_tRNS) != 0;
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(r->png);
    if (trns) png_set_tRNS_to_alpha(r->png);
    if (depth == 16) png_set_scale_16(r->png);
    if (color == PNG_COLOR_TYPE_GRAY_ALPHA || (color == PNG_COLOR_TYPE_GRAY && trns)) png_set_gray_to_rgb(r->png);
    png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);

    int c = png_get_channels(r->png, r->info);
    size_t rowbytes = png_get_rowbytes(r->png, r->info);
    if ((c != 1 && c != 3 && c != 4) || png_get_bit_depth(r->png, r->info) != 8 || rowbytes != (size_t)w * c)
        return sl_error("png: %s: unsupported pixel layout after conversion (%d channels, %d bits)", r->name, c,
                        png_get_bit_depth(r->png, r->info));

    r->pixels = sl_malloc((size_t)pixels * c);
    r->rows = sl_malloc(sizeof(png_bytep) * (h ? h : 1));
    if (!r->pixels || !r->rows) return sl_error_prefix("png: %s", r->name);
    for (png_uint_32 y = 0; y < h; y++) r->rows[y] = r->pixels + (size_t)y * rowbytes;
    png_read_image(r->png, r->rows);
    png_read_end(r->png, NULL);

    int64_t size[3] = {c, h, w};
    r->t = sl_tensor_new(SL_UINT8, 3, size);
    if (!r->t) return sl_error_prefix("png: %s", r->name);
    sl_image_unpack_hwc(r->pixels, c, (int)h, (int)w, sl_u8(r->t));
    return SL_OK;
}

int sl_png_decode(const uint8_t *buf, size_t n, const char *name, sl_tensor **out)
{
    *out = NULL;
    png_reader r;
    memset(&r, 0, sizeof r);
    r.buf = buf, r.n = n, r.name = name ? name : "<memory>";
    if (n < 8 || png_sig_cmp(buf, 0, 8) != 0)
        return sl_error("png: %s: not a PNG file (bad signature)", r.name);
    int rc = png_decode_inner(&r);
    if (rc != SL_OK && r.err.msg[0]) sl_error("png: %s: %s", r.name, r.err.msg);
    if (r.png) png_destroy_read_struct(&r.png, r.info ? &r.info : NULL, NULL);
    sl_free(r.rows);
    sl_free(r.pixels);
    if (rc != SL_OK) {
        sl_tensor_free(r.t);
        return SL_ERR;
    }
    *out = r.t;
    return SL_OK;
}

/* ---- encoding ---------------------------------------------------------- */

typedef struct png_writer {
    const sl_tensor *img;
    const char *name;
    png_err err;
    png_structp png;
    png_infop info;
    uint8_t *pixels; /* [H x W x C] */
    png_bytep *rows;
    uint8_t *out; /* encoded bytes, sl_malloc'd */
    size_t n, cap;
} png_writer;

static void on_png_write(png_structp png, png_bytep data, size_t len)
{
    png_writer *wr = png_get_io_ptr(png);
    if (len > wr->cap - wr->n) {
        size_t cap = wr->cap ? wr->cap : 4096;
        while (cap - wr->n < len) cap *= 2;
        uint8_t *grown = sl_malloc(cap);
        if (!grown) {
            snprintf(wr->err.msg, sizeof wr->err.msg, "out of memory (%zu bytes for the encoded file)", cap);
            png_error(png, "out of memory");
        }
        if (wr->n) memcpy(grown, wr->out, wr->n);
        sl_free(wr->out);
        wr->out = grown, wr->cap = cap;
    }
    memcpy(wr->out + wr->n, data, len);
    wr->n += len;
}

static void on_png_flush(png_structp png) { (void)png; }

static int png_encode_inner(png_writer *wr, int c, int h, int w)
{
    if (setjmp(wr->err.jmp)) return SL_ERR;
    wr->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &wr->err, on_png_error, on_png_warning);
    if (!wr->png) return sl_error("png: %s: out of memory creating the encoder", wr->name);
    wr->info = png_create_info_struct(wr->png);
    if (!wr->info) return sl_error("png: %s: out of memory creating the encoder", wr->name);

    wr->pixels = sl_malloc((size_t)h * w * c);
    wr->rows = sl_malloc(sizeof(png_bytep) * h);
    if (!wr->pixels || !wr->rows) return sl_error_prefix("png: %s", wr->name);
    sl_image_pack_hwc(wr->img, c, h, w, wr->pixels);
    for (int y = 0; y < h; y++) wr->rows[y] = wr->pixels + (size_t)y * w * c;

    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, 0, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(wr->png, wr, on_png_write, on_png_flush);
    png_set_IHDR(wr->png, wr->info, (png_uint_32)w, (png_uint_32)h, 8, color_types[c], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(wr->png, wr->info);
    png_write_image(wr->png, wr->rows);
    png_write_end(wr->png, NULL);
    return SL_OK;
}

int sl_png_encode(const sl_tensor *img, const char *name, uint8_t **buf, size_t *n)
{
    *buf = NULL, *n = 0;
    png_writer wr;
    memset(&wr, 0, sizeof wr);
    wr.img = img, wr.name = name ? name : "<memory>";
    int c, h, w;
    if (sl_image_check_u8(img, "png", wr.name, (1u << 1) | (1u << 3) | (1u << 4), &c, &h, &w) != SL_OK)
        return SL_ERR;
    int rc = png_encode_inner(&wr, c, h, w);
    if (rc != SL_OK && wr.err.msg[0]) sl_error("png: %s: %s", wr.name, wr.err.msg);
    if (wr.png) png_destroy_write_struct(&wr.png, wr.info ? &wr.info : NULL);
    sl_free(wr.rows);
    sl_free(wr.pixels);
    if (rc != SL_OK) {
        sl_free(wr.out);
        return SL_ERR;
    }
    *buf = wr.out, *n = wr.n;
    return SL_OK;
}
