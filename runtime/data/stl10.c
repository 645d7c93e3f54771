/* stl10.c - STL-10 binary reader (see stl10.h). */
#include "data/stl10.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

enum { CHUNK_IMAGES = 64 };

/* One image: column-major channel planes -> row-major [3 x 96 x 96]. */
static void image_from_file_layout(const uint8_t *src, uint8_t *dst)
{
    enum { S = SL_STL10_SIDE };
    for (int c = 0; c < 3; c++) {
        const uint8_t *p = src + c * S * S;
        uint8_t *q = dst + c * S * S;
        for (int x = 0; x < S; x++)
            for (int y = 0; y < S; y++) q[y * S + x] = p[x * S + y];
    }
}

static int check_image_bytes(int64_t bytes, const char *name)
{
    if (bytes == 0) return sl_error("stl10: %s: empty file", name);
    if (bytes % SL_STL10_IMAGE_BYTES != 0)
        return sl_error("stl10: %s: truncated or wrong file: %lld bytes is not a multiple of the %d-byte "
                        "96x96x3 image (%lld whole images + %lld bytes)",
                        name, (long long)bytes, SL_STL10_IMAGE_BYTES, (long long)(bytes / SL_STL10_IMAGE_BYTES),
                        (long long)(bytes % SL_STL10_IMAGE_BYTES));
    return SL_OK;
}

static sl_tensor *images_new(int64_t n)
{
    int64_t size[4] = {n, 3, SL_STL10_SIDE, SL_STL10_SIDE};
    return sl_tensor_new(SL_UINT8, 4, size);
}

int sl_stl10_decode_images(const uint8_t *buf, size_t n, const char *name, sl_tensor **out)
{
    *out = NULL;
    if (!name) name = "<memory>";
    if (check_image_bytes((int64_t)n, name) != SL_OK) return SL_ERR;
    int64_t count = (int64_t)n / SL_STL10_IMAGE_BYTES;
    sl_tensor *t = images_new(count);
    if (!t) return sl_error_prefix("stl10: %s", name);
    for (int64_t i = 0; i < count; i++)
        image_from_file_layout(buf + i * SL_STL10_IMAGE_BYTES, sl_u8(t) + i * SL_STL10_IMAGE_BYTES);
    *out = t;
    return SL_OK;
}

int sl_stl10_load_images(const char *path, int64_t first, int64_t count, sl_tensor **out)
{
    *out = NULL;
    int status;
    FILE *fp = sl_file_open_read(path, "stl10", &status);
    if (!fp) return status;
    sl_tensor *t = NULL;
    uint8_t *chunk = NULL;
    int64_t bytes = sl_file_size(fp, "stl10", path);
    if (bytes < 0 || check_image_bytes(bytes, path) != SL_OK) goto fail;
    int64_t total = bytes / SL_STL10_IMAGE_BYTES;
    if (count < 0) count = total - first;
    if (first < 0 || count < 0 || first > total || count > total - first) {
        sl_error("stl10: %s: images %lld..%lld requested, the file has %lld", path, (long long)first,
                 (long long)(first + count - 1), (long long)total);
        goto fail;
    }
    t = images_new(count);
    chunk = sl_malloc((size_t)CHUNK_IMAGES * SL_STL10_IMAGE_BYTES);
    if (!t || !chunk) {
        sl_error_prefix("stl10: %s", path);
        goto fail;
    }
    if (fseeko(fp, (off_t)(first * SL_STL10_IMAGE_BYTES), SEEK_SET) != 0) {
        sl_error("stl10: %s: cannot seek to image %lld", path, (long long)first);
        goto fail;
    }
    for (int64_t done = 0; done < count;) {
        int64_t k = count - done < CHUNK_IMAGES ? count - done : CHUNK_IMAGES;
        size_t got = fread(chunk, SL_STL10_IMAGE_BYTES, (size_t)k, fp);
        if ((int64_t)got != k) {
            sl_error("stl10: %s: read error or file changed at image %lld", path, (long long)(first + done + got));
            goto fail;
        }
        for (int64_t i = 0; i < k; i++)
            image_from_file_layout(chunk + i * SL_STL10_IMAGE_BYTES, sl_u8(t) + (done + i) * SL_STL10_IMAGE_BYTES);
        done += k;
    }
    fclose(fp);
    sl_free(chunk);
    *out = t;
    return SL_OK;
fail:
    fclose(fp);
    sl_free(chunk);
    sl_tensor_free(t);
    return SL_ERR;
}

int sl_stl10_decode_labels(const uint8_t *buf, size_t n, const char *name, sl_tensor **out)
{
    *out = NULL;
    if (!name) name = "<memory>";
    if (n == 0) return sl_error("stl10: %s: empty label file", name);
    for (size_t i = 0; i < n; i++)
        if (buf[i] < 1 || buf[i] > 10)
            return sl_error("stl10: %s: label %d at index %zu out of range 1..10 (is this a label file?)", name,
                            buf[i], i);
    int64_t count = (int64_t)n;
    sl_tensor *t = sl_tensor_new(SL_INT64, 1, &count);
    if (!t) return sl_error_prefix("stl10: %s", name);
    for (size_t i = 0; i < n; i++) sl_i64(t)[i] = buf[i] - 1;
    *out = t;
    return SL_OK;
}

int sl_stl10_load_labels(const char *path, sl_tensor **out)
{
    *out = NULL;
    uint8_t *buf;
    size_t n;
    int rc = sl_file_read(path, "stl10", &buf, &n, 0);
    if (rc != SL_OK) return rc;
    rc = sl_stl10_decode_labels(buf, n, path, out);
    sl_free(buf);
    return rc;
}

int sl_stl10_load(const char *images_path, const char *labels_path, sl_tensor **images, sl_tensor **labels)
{
    *images = *labels = NULL;
    int rc = sl_stl10_load_labels(labels_path, labels);
    if (rc != SL_OK) return rc;
    rc = sl_stl10_load_images(images_path, 0, -1, images);
    if (rc != SL_OK) {
        sl_tensor_free(*labels);
        *labels = NULL;
        return rc;
    }
    if ((*images)->size[0] != (*labels)->size[0]) {
        sl_error("stl10: %s has %lld images but %s has %lld labels", images_path, (long long)(*images)->size[0],
                 labels_path, (long long)(*labels)->size[0]);
        sl_tensor_free(*images);
        sl_tensor_free(*labels);
        *images = *labels = NULL;
        return SL_ERR;
    }
    return SL_OK;
}
