/* idx.c - IDX reader, raw or gzip (see idx.h).
 *
 * The bytes come from a small source that either copies from memory or
 * inflates a gzip stream on the fly, so the header is read first and the
 * data is inflated straight into the tensor: no second full-size buffer, and
 * a gzip "bomb" is refused before anything large is allocated (the header's
 * size must be one deflate could plausibly produce from the compressed bytes).
 */
#include "data/idx.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"

enum { IDX_UBYTE = 0x08, IDX_MAX_DIMS = 4 };

/* Deflate expands at most ~1032:1; allow some slack. */
static const int64_t max_inflate_ratio = 1100;

/* ---- byte source: memory or gzip-in-memory -------------------------------- */

typedef struct idx_src {
    const uint8_t *buf;
    size_t n, pos; /* pos: next unread compressed (or raw) byte */
    const char *name;
    int gz;
    int z_open, z_done; /* inflate initialised; last member ended */
    z_stream zs;
} idx_src;

static int src_open(idx_src *s, const uint8_t *buf, size_t n, const char *name)
{
    memset(s, 0, sizeof *s);
    s->buf = buf, s->n = n, s->name = name;
    s->gz = n >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
    if (!s->gz) return SL_OK;
    if (inflateInit2(&s->zs, 15 + 16) != Z_OK) return sl_error("idx: %s: cannot start gzip decoding", name);
    s->z_open = 1;
    return SL_OK;
}

static void src_close(idx_src *s)
{
    if (s->z_open) inflateEnd(&s->zs);
    s->z_open = 0;
}

/* Read up to len bytes into dst; *got < len only at the end of the data. */
static int src_read(idx_src *s, uint8_t *dst, size_t len, size_t *got)
{
    *got = 0;
    if (!s->gz) {
        size_t k = len < s->n - s->pos ? len : s->n - s->pos;
        memcpy(dst, s->buf + s->pos, k);
        s->pos += k;
        *got = k;
        return SL_OK;
    }
    while (*got < len && !s->z_done) {
        size_t in_left = s->n - s->pos;
        size_t out_left = len - *got;
        s->zs.next_in = (Bytef *)(s->buf + s->pos);
        s->zs.avail_in = (uInt)(in_left < UINT_MAX ? in_left : UINT_MAX);
        s->zs.next_out = dst + *got;
        s->zs.avail_out = (uInt)(out_left < UINT_MAX ? out_left : UINT_MAX);
        uInt in_before = s->zs.avail_in, out_before = s->zs.avail_out;
        int zr = inflate(&s->zs, Z_NO_FLUSH);
        s->pos += in_before - s->zs.avail_in;
        *got += out_before - s->zs.avail_out;
        if (zr == Z_STREAM_END) {
            /* Another gzip member may follow (as `cat a.gz b.gz` makes). */
            if (s->n - s->pos >= 2 && s->buf[s->pos] == 0x1f && s->buf[s->pos + 1] == 0x8b) {
                inflateReset(&s->zs);
            } else {
                s->z_done = 1;
            }
        } else if (zr == Z_DATA_ERROR) {
            return sl_error("idx: %s: corrupt gzip data (zlib: %s)", s->name, s->zs.msg ? s->zs.msg : "data error");
        } else if (zr == Z_MEM_ERROR) {
            return sl_error("idx: %s: out of memory in zlib", s->name);
        } else if (zr == Z_BUF_ERROR || (zr == Z_OK && in_before == s->zs.avail_in && out_before == s->zs.avail_out)) {
            if (s->pos >= s->n)
                return sl_error("idx: %s: truncated gzip stream (ends after %zu compressed bytes)", s->name, s->n);
            return sl_error("idx: %s: gzip decoding made no progress (zlib error %d)", s->name, zr);
        } else if (zr != Z_OK) {
            return sl_error("idx: %s: gzip decoding failed (zlib error %d)", s->name, zr);
        }
    }
    return SL_OK;
}

/* ---- the IDX format ---------------------------------------------------------- */

int sl_idx_decode(const uint8_t *buf, size_t n, const char *name, sl_tensor **out)
{
    *out = NULL;
    if (!name) name = "<memory>";
    idx_src s;
    if (src_open(&s, buf, n, name) != SL_OK) return SL_ERR;
    sl_tensor *t = NULL;
    uint8_t head[4 + 4 * IDX_MAX_DIMS];
    size_t got;
    if (src_read(&s, head, 4, &got) != SL_OK) goto fail;
    if (got < 4) {
        sl_error("idx: %s: truncated header (%zu bytes, need at least 4)", name, got);
        goto fail;
    }
    if (head[0] != 0 || head[1] != 0) {
        sl_error("idx: %s: bad magic %02x %02x %02x %02x (an IDX file starts 00 00 08 <ndim>)", name, head[0],
                 head[1], head[2], head[3]);
        goto fail;
    }
    if (head[2] != IDX_UBYTE) {
        sl_error("idx: %s: unsupported data type 0x%02x (only 0x08, unsigned byte)", name, head[2]);
        goto fail;
    }
    int ndim = head[3];
    if (ndim < 1 || ndim > IDX_MAX_DIMS) {
        sl_error("idx: %s: wrong number of dims %d (expected 1..%d)", name, ndim, IDX_MAX_DIMS);
        goto fail;
    }
    if (src_read(&s, head + 4, 4 * (size_t)ndim, &got) != SL_OK) goto fail;
    if (got < 4 * (size_t)ndim) {
        sl_error("idx: %s: truncated header (%zu of %d dim bytes)", name, got, 4 * ndim);
        goto fail;
    }
    int64_t size[IDX_MAX_DIMS];
    int64_t total = 1;
    for (int d = 0; d < ndim; d++) {
        const uint8_t *p = head + 4 + 4 * d;
        size[d] = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        if (size[d] && total > ((int64_t)1 << 40) / size[d]) {
            sl_error("idx: %s: dims too large", name);
            goto fail;
        }
        total *= size[d];
    }
    size_t header_bytes = 4 + 4 * (size_t)ndim;
    if (!s.gz && (uint64_t)total != n - header_bytes) {
        if ((uint64_t)total > n - header_bytes)
            sl_error("idx: %s: truncated data (header declares %lld bytes, file holds %zu)", name, (long long)total,
                     n - header_bytes);
        else
            sl_error("idx: %s: size mismatch: header declares %lld bytes of data, file holds %zu", name,
                     (long long)total, n - header_bytes);
        goto fail;
    }
    if (s.gz && total > max_inflate_ratio * (int64_t)n + 4096) {
        sl_error("idx: %s: header declares %lld bytes, more than a %zu-byte gzip file can hold", name,
                 (long long)total, n);
        goto fail;
    }
    t = sl_tensor_new(SL_UINT8, ndim, size);
    if (!t) {
        sl_error_prefix("idx: %s", name);
        goto fail;
    }
    if (src_read(&s, sl_u8(t), (size_t)total, &got) != SL_OK) goto fail;
    if (got < (size_t)total) {
        sl_error("idx: %s: truncated data (header declares %lld bytes, stream holds %zu)", name, (long long)total,
                 got);
        goto fail;
    }
    if (s.gz) { /* drain: the CRC check happens at the end, and nothing may follow */
        uint8_t extra[64];
        if (src_read(&s, extra, sizeof extra, &got) != SL_OK) goto fail;
        if (got) {
            sl_error("idx: %s: size mismatch: data continues after the %lld bytes the header declares", name,
                     (long long)total);
            goto fail;
        }
        if (s.pos != n) {
            sl_error("idx: %s: %zu bytes of garbage after the gzip stream", name, n - s.pos);
            goto fail;
        }
    }
    src_close(&s);
    *out = t;
    return SL_OK;
fail:
    src_close(&s);
    sl_tensor_free(t);
    return SL_ERR;
}

int sl_idx_load(const char *path, sl_tensor **out)
{
    *out = NULL;
    uint8_t *buf;
    size_t n;
    int rc = sl_file_read(path, "idx", &buf, &n, 0);
    if (rc != SL_OK) return rc;
    rc = sl_idx_decode(buf, n, path, out);
    sl_free(buf);
    return rc;
}

int sl_idx_load_images(const char *path, sl_tensor **out)
{
    int rc = sl_idx_load(path, out);
    if (rc != SL_OK) return rc;
    if ((*out)->ndim != 3) {
        char shape[128];
        sl_error("idx: %s: expected images [N x H x W], got %d dims %s", path, (*out)->ndim,
                 sl_shape_str(*out, shape, sizeof shape));
        sl_tensor_free(*out);
        *out = NULL;
        return SL_ERR;
    }
    return SL_OK;
}

/* uint8 [N] -> int64 [N] with a range check; frees raw. */
static int labels_from_raw(sl_tensor *raw, const char *name, int num_classes, sl_tensor **out)
{
    *out = NULL;
    if (raw->ndim != 1) {
        char shape[128];
        sl_error("idx: %s: expected labels [N], got %d dims %s", name, raw->ndim,
                 sl_shape_str(raw, shape, sizeof shape));
        sl_tensor_free(raw);
        return SL_ERR;
    }
    const uint8_t *src = sl_u8(raw);
    for (int64_t i = 0; num_classes > 0 && i < raw->size[0]; i++)
        if (src[i] >= num_classes) {
            sl_error("idx: %s: label %d at index %lld out of range 0..%d", name, src[i], (long long)i,
                     num_classes - 1);
            sl_tensor_free(raw);
            return SL_ERR;
        }
    sl_tensor *t = sl_tensor_new(SL_INT64, 1, raw->size);
    if (!t) {
        sl_tensor_free(raw);
        return sl_error_prefix("idx: %s", name);
    }
    for (int64_t i = 0; i < raw->size[0]; i++) sl_i64(t)[i] = src[i];
    sl_tensor_free(raw);
    *out = t;
    return SL_OK;
}

int sl_idx_decode_labels(const uint8_t *buf, size_t n, const char *name, int num_classes, sl_tensor **out)
{
    sl_tensor *raw;
    *out = NULL;
    if (!name) name = "<memory>";
    if (sl_idx_decode(buf, n, name, &raw) != SL_OK) return SL_ERR;
    return labels_from_raw(raw, name, num_classes, out);
}

int sl_idx_load_labels(const char *path, int num_classes, sl_tensor **out)
{
    sl_tensor *raw;
    *out = NULL;
    int rc = sl_idx_load(path, &raw);
    if (rc != SL_OK) return rc;
    return labels_from_raw(raw, path, num_classes, out);
}

int sl_idx_load_pair(const char *images_path, const char *labels_path, int num_classes, sl_tensor **images,
                     sl_tensor **labels)
{
    *images = *labels = NULL;
    int rc = sl_idx_load_images(images_path, images);
    if (rc != SL_OK) return rc;
    rc = sl_idx_load_labels(labels_path, num_classes, labels);
    if (rc != SL_OK) {
        sl_tensor_free(*images);
        *images = NULL;
        return rc;
    }
    if ((*images)->size[0] != (*labels)->size[0]) {
        sl_error("idx: %s has %lld images but %s has %lld labels", images_path, (long long)(*images)->size[0],
                 labels_path, (long long)(*labels)->size[0]);
        sl_tensor_free(*images);
        sl_tensor_free(*labels);
        *images = *labels = NULL;
        return SL_ERR;
    }
    return SL_OK;
}
