/* jpeg.c - JPEG decoding and encoding with libjpeg(-turbo) (see image.h).
 *
 * libjpeg reports fatal errors through err->error_exit, which must not
 * return; ours formats the message and longjmps back. As in png.c, all state
 * lives in a struct owned by the outer function, the libjpeg work happens in
 * a *_inner function that calls setjmp, and the outer function cleans up.
 *
 * Corrupt-data warnings (premature end of file, bad Huffman code, a marker in
 * the middle of entropy-coded data) are treated as errors: libjpeg would
 * otherwise return a grey-filled or garbled image silently. Harmless warnings
 * (extraneous bytes before a marker, odd Adobe markers) are ignored.
 */
#include "io/image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "core/alloc.h"

/* Progressive files with more scans than this are refused (a known way to
 * make a small file take minutes to decode; libjpeg-turbo's TJFLAG_LIMITSCANS
 * uses the same bound). */
enum { MAX_SCANS = 500 };

typedef struct jpeg_err {
    struct jpeg_error_mgr mgr; /* first member: libjpeg passes &mgr as cinfo->err */
    char msg[JMSG_LENGTH_MAX + 64];
    jmp_buf jmp;
} jpeg_err;

static void on_jpeg_error(j_common_ptr cinfo)
{
    jpeg_err *err = (jpeg_err *)cinfo->err;
    if (err->msg[0] == '\0') {
        char text[JMSG_LENGTH_MAX];
        err->mgr.format_message(cinfo, text);
        snprintf(err->msg, sizeof err->msg, "%s (libjpeg)", text);
    }
    longjmp(err->jmp, 1);
}

static void on_jpeg_message(j_common_ptr cinfo, int level)
{
    if (level >= 0) return; /* trace messages */
    int code = cinfo->err->msg_code;
    if (code == JWRN_JPEG_EOF) {
        jpeg_err *err = (jpeg_err *)cinfo->err;
        snprintf(err->msg, sizeof err->msg, "truncated file (libjpeg: premature end of data)");
        on_jpeg_error(cinfo);
    }
    if (code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE || code == JWRN_MUST_RESYNC ||
        code == JWRN_NOT_SEQUENTIAL || code == JWRN_BOGUS_PROGRESSION)
        on_jpeg_error(cinfo);
    cinfo->err->num_warnings++;
}

static void on_jpeg_progress(j_common_ptr cinfo)
{
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->progressive_mode && d->input_scan_number > MAX_SCANS) {
        jpeg_err *err = (jpeg_err *)cinfo->err;
        snprintf(err->msg, sizeof err->msg, "too many progressive scans (more than %d)", MAX_SCANS);
        on_jpeg_error(cinfo);
    }
}

static void jpeg_err_init(jpeg_err *err)
{
    jpeg_std_error(&err->mgr);
    err->mgr.error_exit = on_jpeg_error;
    err->mgr.emit_message = on_jpeg_message;
    err->msg[0] = '\0';
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct jpeg_reader {
    const uint8_t *buf;
    size_t n;
    const char *name;
    jpeg_err err;
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    int created;
    uint8_t *pixels; /* [H x W x C] */
    sl_tensor *t;
} jpeg_reader;

static const char *color_space_name(J_COLOR_SPACE cs)
{
    switch (cs) {
    case JCS_CMYK: return "CMYK";
    case JCS_YCCK: return "YCCK";
    default: return "unknown";
    }
}

static int jpeg_decode_inner(jpeg_reader *r)
{
    j_decompress_ptr cinfo = &r->cinfo;
    if (setjmp(r->err.jmp)) return SL_ERR;
    cinfo->err = &r->err.mgr;
    r->created = 1; /* jpeg_destroy copes with a half-created struct (mem == NULL) */
    jpeg_create_decompress(cinfo);
    r->progress.progress_monitor = on_jpeg_progress;
    cinfo->progress = &r->progress;
    cinfo->mem->max_memory_to_use = (long)1 << 30;
    jpeg_mem_src(cinfo, (const unsigned char *)r->buf, (unsigned long)r->n);
    jpeg_read_header(cinfo, TRUE);

    int64_t pixels = (int64_t)cinfo->image_width * cinfo->image_height;
    if (pixels > sl_image_max_pixels())
        return sl_error("jpeg: %s: image too large (%ux%u = %lld pixels, limit %lld)", r->name,
                        (unsigned)cinfo->image_width, (unsigned)cinfo->image_height, (long long)pixels,
                        (long long)sl_image_max_pixels());
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)
        return sl_error("jpeg: %s: %s JPEGs are not supported (convert to RGB first)", r->name,
                        color_space_name(cinfo->jpeg_color_space));
    if (cinfo->num_components == 1) {
        cinfo->out_color_space = JCS_GRAYSCALE;
    } else if (cinfo->num_components == 3) {
        cinfo->out_color_space = JCS_RGB;
    } else {
        return sl_error("jpeg: %s: unsupported number of components (%d)", r->name, cinfo->num_components);
    }
    jpeg_start_decompress(cinfo);
    int c = cinfo->output_components, h = (int)cinfo->output_height, w = (int)cinfo->output_width;
    if (c != 1 && c != 3)
        return sl_error("jpeg: %s: unexpected %d output components", r->name, c);

    r->pixels = sl_malloc((size_t)h * w * c);
    if (!r->pixels) return sl_error_prefix("jpeg: %s", r->name);
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = r->pixels + (size_t)cinfo->output_scanline * w * c;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);

    int64_t size[3] = {c, h, w};
    r->t = sl_tensor_new(SL_UINT8, 3, size);
    if (!r->t) return sl_error_prefix("jpeg: %s", r->name);
    sl_image_unpack_hwc(r->pixels, c, h, w, sl_u8(r->t));
    return SL_OK;
}

int sl_jpeg_decode(const uint8_t *buf, size_t n, const char *name, sl_tensor **out)
{
    *out = NULL;
    jpeg_reader *r = sl_calloc(1, sizeof *r); /* big (libjpeg structs, jmp_buf): keep off the stack */
    if (!r) return SL_ERR;
    r->buf = buf, r->n = n, r->name = name ? name : "<memory>";
    if (n < 3 || buf[0] != 0xff || buf[1] != 0xd8 || buf[2] != 0xff) {
        sl_error("jpeg: %s: not a JPEG file (bad signature)", r->name);
        sl_free(r);
        return SL_ERR;
    }
    jpeg_err_init(&r->err);
    int rc = jpeg_decode_inner(r);
    if (rc != SL_OK && r->err.msg[0]) sl_error("jpeg: %s: %s", r->name, r->err.msg);
    if (r->created) jpeg_destroy_decompress(&r->cinfo);
    sl_free(r->pixels);
    if (rc == SL_OK) *out = r->t;
    else sl_tensor_free(r->t);
    sl_free(r);
    return rc;
}

/* ---- encoding ---------------------------------------------------------- */

typedef struct jpeg_writer {
    const sl_tensor *img;
    const char *name;
    jpeg_err err;
    struct jpeg_compress_struct cinfo;
    int created;
    uint8_t *pixels;   /* [H x W x C] */
    unsigned char *mem; /* libjpeg's output buffer (malloc'd by jpeg_mem_dest) */
    unsigned long mem_size;
    uint8_t *out;
    size_t n;
} jpeg_writer;

static int jpeg_encode_inner(jpeg_writer *wr, int c, int h, int w, int quality)
{
    j_compress_ptr cinfo = &wr->cinfo;
    if (setjmp(wr->err.jmp)) return SL_ERR;
    cinfo->err = &wr->err.mgr;
    wr->created = 1;
    jpeg_create_compress(cinfo);

    wr->pixels = sl_malloc((size_t)h * w * c);
    if (!wr->pixels) return sl_error_prefix("jpeg: %s", wr->name);
    sl_image_pack_hwc(wr->img, c, h, w, wr->pixels);

    jpeg_mem_dest(cinfo, &wr->mem, &wr->mem_size);
    cinfo->image_width = (JDIMENSION)w;
    cinfo->image_height = (JDIMENSION)h;
    cinfo->input_components = c;
    cinfo->in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, quality, TRUE);
    if (c == 3 && quality >= 90) /* 4:4:4: no chroma subsampling at high quality */
        for (int k = 0; k < 3; k++) cinfo->comp_info[k].h_samp_factor = cinfo->comp_info[k].v_samp_factor = 1;
    jpeg_start_compress(cinfo, TRUE);
    while (cinfo->next_scanline < cinfo->image_height) {
        JSAMPROW row = wr->pixels + (size_t)cinfo->next_scanline * w * c;
        jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);

    wr->out = sl_malloc(wr->mem_size ? wr->mem_size : 1);
    if (!wr->out) return sl_error_prefix("jpeg: %s", wr->name);
    memcpy(wr->out, wr->mem, wr->mem_size);
    wr->n = wr->mem_size;
    return SL_OK;
}

int sl_jpeg_encode(const sl_tensor *img, int quality, const char *name, uint8_t **buf, size_t *n)
{
    *buf = NULL, *n = 0;
    if (!name) name = "<memory>";
    int c, h, w;
    if (sl_image_check_u8(img, "jpeg", name, (1u << 1) | (1u << 3), &c, &h, &w) != SL_OK) return SL_ERR;
    if (quality < 1 || quality > 100) return sl_error("jpeg: %s: quality %d out of range 1..100", name, quality);
    jpeg_writer *wr = sl_calloc(1, sizeof *wr);
    if (!wr) return SL_ERR;
    wr->img = img, wr->name = name;
    jpeg_err_init(&wr->err);
    int rc = jpeg_encode_inner(wr, c, h, w, quality);
    if (rc != SL_OK && wr->err.msg[0]) sl_error("jpeg: %s: %s", name, wr->err.msg);
    if (wr->created) jpeg_destroy_compress(&wr->cinfo);
    free(wr->mem); /* jpeg_mem_dest leaves its buffer to the caller, even on error */
    sl_free(wr->pixels);
    if (rc == SL_OK) *buf = wr->out, *n = wr->n;
    else sl_free(wr->out);
    sl_free(wr);
    return rc;
}
