/* tensor.h - strided, reference-counted tensors (float32, uint8, int64).
 *
 * A tensor is a small header (dtype, ndim, sizes, strides in elements, offset
 * in elements) pointing at a reference-counted storage. Views (narrow, select,
 * transpose, permute, view, expand) share the storage and only edit the
 * header. Ownership is in the name: sl_tensor_new* and every function that
 * returns an sl_tensor * gives the caller one reference, dropped with
 * sl_tensor_free(). Ops that write into a result take it first (`out`) and
 * check its shape.
 *
 *   int64_t size[2] = {3, 4};
 *   sl_tensor *a = sl_tensor_new(SL_FLOAT32, 2, size);      // uninitialised
 *   if (!a) return SL_ERR;                                   // message set
 *   sl_tensor_fill(a, 1.0);
 *   sl_tensor *at = sl_tensor_transpose_new(a, 0, 1);        // a view, [4x3]
 *   sl_tensor_free(at); sl_tensor_free(a);
 *
 * Errors follow core/error.h: SL_ERR / NULL with a message naming the op and
 * the shapes, e.g. "matmul: [3x4] @ [5x2]: inner sizes 4 and 5 differ".
 * Dims are 0-based in C; the Lua binding converts from 1-based.
 */
#ifndef SL_TENSOR_H
#define SL_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define SL_MAX_DIMS 8

typedef enum { SL_FLOAT32 = 0, SL_UINT8 = 1, SL_INT64 = 2, SL_NUM_DTYPES = 3 } sl_dtype;

typedef struct sl_storage {
    void *data;
    int64_t nbytes;
    int refcount;  /* atomic via __atomic builtins */
    bool borrowed; /* data not owned (e.g. a mapped file); not freed */
} sl_storage;

typedef struct sl_tensor {
    sl_dtype dtype;
    int ndim;
    int64_t size[SL_MAX_DIMS];
    int64_t stride[SL_MAX_DIMS]; /* in elements */
    int64_t offset;              /* in elements, into storage */
    sl_storage *storage;
} sl_tensor;

/* ---- dtype helpers ---------------------------------------------------- */
size_t sl_dtype_size(sl_dtype dt);
const char *sl_dtype_name(sl_dtype dt); /* "float32", "uint8", "int64" */
int sl_dtype_from_name(const char *name, sl_dtype *out);

/* ---- creation and lifetime -------------------------------------------- */
sl_tensor *sl_tensor_new(sl_dtype dt, int ndim, const int64_t *size);   /* uninitialised */
sl_tensor *sl_tensor_zeros(sl_dtype dt, int ndim, const int64_t *size);
sl_tensor *sl_tensor_new_like(const sl_tensor *t);                      /* same dtype+shape, contiguous */
sl_tensor *sl_tensor_view_new(const sl_tensor *t);                      /* new header, same storage */
void sl_tensor_free(sl_tensor *t);

/* ---- shape queries ---------------------------------------------------- */
int64_t sl_tensor_numel(const sl_tensor *t);
bool sl_tensor_is_contiguous(const sl_tensor *t);
/* A 4-d [N x C x H x W] tensor whose memory is [N x H x W x C] (PyTorch's
 * channels_last memory format; sizes of 1 place no constraint, as above). */
bool sl_tensor_is_channels_last(const sl_tensor *t);
bool sl_tensor_same_shape(const sl_tensor *a, const sl_tensor *b);
/* "[3x4]" (no sizes: "[]"); returns buf. */
const char *sl_shape_str(const sl_tensor *t, char *buf, size_t n);
/* Pointer to element 0 of the view. Typed versions for the kernels. */
void *sl_tensor_data(const sl_tensor *t);
static inline float *sl_f32(const sl_tensor *t) { return (float *)t->storage->data + t->offset; }
static inline uint8_t *sl_u8(const sl_tensor *t) { return (uint8_t *)t->storage->data + t->offset; }
static inline int64_t *sl_i64(const sl_tensor *t) { return (int64_t *)t->storage->data + t->offset; }

/* Check that t has dtype dt and exactly these sizes; message names `what`. */
int sl_tensor_check(const sl_tensor *t, const char *what, sl_dtype dt, int ndim, const int64_t *size);

#endif
