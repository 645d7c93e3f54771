/* safetensors.h - checkpoints in the safetensors format (read, validate, write atomically).
 *
 * Format (https://github.com/huggingface/safetensors):
 *   8 bytes      N, u64 little-endian: the header length
 *   N bytes      UTF-8 JSON object: {"__metadata__": {"k": "v", ...},
 *                  "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
 *   rest         the byte buffer; [begin, end) are relative to its start; data is
 *                row-major and little-endian.
 * Supported dtypes: F32 <-> SL_FLOAT32, I64 <-> SL_INT64, U8 <-> SL_UINT8.
 *
 * Loading never executes anything and checks everything the Rust reference
 * checks, plus a few more: file >= 8 bytes, N within the file and <= 100 MB,
 * header starts with '{' and is strict JSON (no duplicate keys), known
 * dtypes, integer non-negative shapes without overflow, data_offsets
 * within the buffer and equal to numel * dtype size, no overlaps, and the
 * buffer exactly covered (no holes, no trailing bytes). As in the reference,
 * any key order is accepted, unknown fields inside a tensor entry are
 * ignored and "__metadata__": null means no metadata. Messages name the
 * file and the tensor:
 *   "load: ckpt.safetensors: tensor 'fc.weight': data_offsets [0,100] but shape [5x6] float32 needs 120 bytes"
 *
 * Saving writes what the Python `safetensors` package writes for the same
 * dict (byte for byte): tensors sorted by dtype alignment (I64, then F32,
 * then U8) then by name (bytewise), `__metadata__` first (its keys sorted
 * bytewise: the Rust writer uses a HashMap, so with more than one metadata
 * key its order is arbitrary anyway), compact JSON, header padded with spaces
 * to a multiple of 8 bytes. The file is written to "<path>.tmp.<pid>",
 * flushed and fsync'ed, renamed over `path`, and the directory fsync'ed; on
 * any failure the temporary file is removed and an existing `path` is left
 * untouched.
 *
 *   sl_safetensors *ck;
 *   int rc = sl_safetensors_load("ckpt.safetensors", &ck);
 *   if (rc == SL_ENOENT) ...          // could not open: expected runtime failure
 *   else if (rc != SL_OK) ...         // malformed: message says what and where
 *   for (size_t i = 0; i < ck->n_tensors; i++) use(ck->names[i], ck->tensors[i]);
 *   sl_safetensors_free(ck);
 *
 *   const char *names[] = {"w", "b"};  const sl_tensor *ts[] = {w, b};
 *   const char *keys[] = {"epoch"};    const char *vals[] = {"12"};
 *   if (sl_safetensors_save("ckpt.safetensors", 2, names, ts, 1, keys, vals) != SL_OK) ...
 */
#ifndef SL_IO_SAFETENSORS_H
#define SL_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "io/file.h" /* SL_ENOENT */
#include "tensor/tensor.h"

#define SL_SAFETENSORS_MAX_HEADER 100000000 /* bytes, as the Rust reference */

/* A loaded checkpoint. Tensors are in file (data offset) order; each is
 * contiguous in its own fresh storage and owned by this struct. */
typedef struct sl_safetensors {
    size_t n_tensors;
    char **names;         /* [n_tensors] NUL-terminated UTF-8 */
    sl_tensor **tensors;  /* [n_tensors] */
    size_t n_meta;
    char **meta_keys;     /* [n_meta], in header order */
    char **meta_values;   /* [n_meta] */
} sl_safetensors;

/* Read and validate `path`. SL_OK, SL_ENOENT (could not open: missing, no
 * permission, a directory) or SL_ERR (anything else); on failure *out = NULL.
 * Messages start with "load: <path>: ". */
int sl_safetensors_load(const char *path, sl_safetensors **out);

/* The same from bytes in memory; `what` names the source in messages
 * ("load: <what>: ..."). Used by the fuzzer and the tests. */
int sl_safetensors_parse(const void *bytes, size_t n, const char *what, sl_safetensors **out);

void sl_safetensors_free(sl_safetensors *st);

/* Tensor by name (NULL if absent); metadata value by key (NULL if absent). */
const sl_tensor *sl_safetensors_get(const sl_safetensors *st, const char *name);
const char *sl_safetensors_meta(const sl_safetensors *st, const char *key);

/* Write n tensors (any strides; written contiguously) and n_meta metadata
 * strings to `path`, atomically (see above). Names must be distinct, valid
 * UTF-8, without NUL, and not "__metadata__"; so must metadata keys. n_meta
 * = 0 writes no "__metadata__" entry (as Python's metadata=None).
 * Messages start with "save: <path>: ". */
int sl_safetensors_save(const char *path, size_t n, const char *const *names, const sl_tensor *const *tensors,
                        size_t n_meta, const char *const *meta_keys, const char *const *meta_values);

/* The same bytes into a new sl_malloc'd buffer (*bytes, *len; free with sl_free). */
int sl_safetensors_serialize(size_t n, const char *const *names, const sl_tensor *const *tensors, size_t n_meta,
                             const char *const *meta_keys, const char *const *meta_values, uint8_t **bytes,
                             size_t *len);

#endif
