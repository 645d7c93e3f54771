/* cifar.c - CIFAR-10/100 binary batch reader (see cifar.h).
 *
 * Files are sized first (fstat), so the output tensors are allocated once
 * and each file is read in chunks of records straight into them.
 */
#include "data/cifar.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

enum { CHUNK_RECORDS = 512 };

int sl_cifar_record_size(sl_cifar_kind kind) { return (kind == SL_CIFAR100 ? 2 : 1) + SL_CIFAR_PIXELS; }

typedef struct cifar_out {
    sl_tensor *images, *labels, *coarse;
} cifar_out;

static int check_kind(sl_cifar_kind kind, sl_tensor **coarse)
{
    if (kind != SL_CIFAR10 && kind != SL_CIFAR100)
        return sl_error("cifar: unknown kind %d (expected 10 or 100)", (int)kind);
    if (kind == SL_CIFAR10 && coarse) return sl_error("cifar: CIFAR-10 has no coarse labels (pass NULL)");
    return SL_OK;
}

static int out_alloc(cifar_out *o, int64_t n, int want_coarse)
{
    int64_t isize[4] = {n, 3, 32, 32};
    o->images = sl_tensor_new(SL_UINT8, 4, isize);
    o->labels = sl_tensor_new(SL_INT64, 1, &n);
    if (want_coarse) o->coarse = sl_tensor_new(SL_INT64, 1, &n);
    return o->images && o->labels && (!want_coarse || o->coarse) ? SL_OK : SL_ERR;
}

static void out_free(cifar_out *o)
{
    sl_tensor_free(o->images);
    sl_tensor_free(o->labels);
    sl_tensor_free(o->coarse);
    o->images = o->labels = o->coarse = NULL;
}

/* Copy `count` records into the outputs from row `at`; `first` is the record
 * number within the file, for messages. */
static int parse_records(sl_cifar_kind kind, const uint8_t *rec, int64_t count, const char *name, int64_t first,
                         cifar_out *o, int64_t at)
{
    int rs = sl_cifar_record_size(kind), nl = kind == SL_CIFAR100 ? 2 : 1;
    int fine_max = kind == SL_CIFAR100 ? 100 : 10;
    for (int64_t i = 0; i < count; i++, rec += rs) {
        int fine = rec[nl - 1];
        if (fine >= fine_max)
            return sl_error("cifar: %s: record %lld: label %d out of range 0..%d", name, (long long)(first + i), fine,
                            fine_max - 1);
        if (nl == 2 && rec[0] >= 20)
            return sl_error("cifar: %s: record %lld: coarse label %d out of range 0..19", name,
                            (long long)(first + i), rec[0]);
        sl_i64(o->labels)[at + i] = fine;
        if (o->coarse) sl_i64(o->coarse)[at + i] = rec[0];
        memcpy(sl_u8(o->images) + (at + i) * SL_CIFAR_PIXELS, rec + nl, SL_CIFAR_PIXELS);
    }
    return SL_OK;
}

static int check_length(sl_cifar_kind kind, int64_t bytes, const char *name)
{
    int rs = sl_cifar_record_size(kind);
    if (bytes == 0) return sl_error("cifar: %s: empty file", name);
    if (bytes % rs != 0)
        return sl_error("cifar: %s: truncated or wrong file: %lld bytes is not a multiple of the %d-byte "
                        "CIFAR-%d record (%lld whole records + %lld bytes)",
                        name, (long long)bytes, rs, (int)kind, (long long)(bytes / rs), (long long)(bytes % rs));
    return SL_OK;
}

int sl_cifar_decode(sl_cifar_kind kind, const uint8_t *buf, size_t n, const char *name, sl_tensor **images,
                    sl_tensor **labels, sl_tensor **coarse)
{
    *images = *labels = NULL;
    if (coarse) *coarse = NULL;
    if (!name) name = "<memory>";
    if (check_kind(kind, coarse) != SL_OK || check_length(kind, (int64_t)n, name) != SL_OK) return SL_ERR;
    int64_t count = (int64_t)n / sl_cifar_record_size(kind);
    cifar_out o = {0};
    if (out_alloc(&o, count, coarse != NULL) != SL_OK) {
        out_free(&o);
        return sl_error_prefix("cifar: %s", name);
    }
    if (parse_records(kind, buf, count, name, 0, &o, 0) != SL_OK) {
        out_free(&o);
        return SL_ERR;
    }
    *images = o.images, *labels = o.labels;
    if (coarse) *coarse = o.coarse;
    return SL_OK;
}

int sl_cifar_load(sl_cifar_kind kind, const char *const *paths, int npaths, sl_tensor **images,
                  sl_tensor **labels, sl_tensor **coarse)
{
    *images = *labels = NULL;
    if (coarse) *coarse = NULL;
    if (check_kind(kind, coarse) != SL_OK) return SL_ERR;
    if (npaths < 1) return sl_error("cifar: no files given");
    int rs = sl_cifar_record_size(kind);

    /* Pass 1: size and validate every file before allocating. */
    int64_t total = 0;
    for (int f = 0; f < npaths; f++) {
        int status;
        FILE *fp = sl_file_open_read(paths[f], "cifar", &status);
        if (!fp) return status;
        int64_t bytes = sl_file_size(fp, "cifar", paths[f]);
        fclose(fp);
        if (bytes < 0 || check_length(kind, bytes, paths[f]) != SL_OK) return SL_ERR;
        total += bytes / rs;
    }

    cifar_out o = {0};
    uint8_t *chunk = NULL;
    if (out_alloc(&o, total, coarse != NULL) != SL_OK) goto oom;
    chunk = sl_malloc((size_t)CHUNK_RECORDS * rs);
    if (!chunk) goto oom;

    /* Pass 2: read records in chunks into the outputs. */
    int64_t at = 0;
    for (int f = 0; f < npaths; f++) {
        int status;
        FILE *fp = sl_file_open_read(paths[f], "cifar", &status);
        if (!fp) goto fail;
        int64_t done = 0;
        for (;;) {
            size_t got = fread(chunk, 1, (size_t)CHUNK_RECORDS * rs, fp);
            int64_t recs = (int64_t)(got / rs);
            if (at + recs > total || got % rs) {
                fclose(fp);
                sl_error("cifar: %s: file changed while reading", paths[f]);
                goto fail;
            }
            if (parse_records(kind, chunk, recs, paths[f], done, &o, at) != SL_OK) {
                fclose(fp);
                goto fail;
            }
            at += recs, done += recs;
            if (got < (size_t)CHUNK_RECORDS * rs) break;
        }
        int bad = ferror(fp);
        fclose(fp);
        if (bad) {
            sl_error("cifar: %s: read error", paths[f]);
            goto fail;
        }
    }
    if (at != total) {
        sl_error("cifar: %s: file changed while reading", paths[npaths - 1]);
        goto fail;
    }
    sl_free(chunk);
    *images = o.images, *labels = o.labels;
    if (coarse) *coarse = o.coarse;
    return SL_OK;
oom:
    sl_error_prefix("cifar: %s", paths[0]);
fail:
    sl_free(chunk);
    out_free(&o);
    return SL_ERR;
}
