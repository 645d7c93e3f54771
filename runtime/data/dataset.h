/* dataset.h - a dataset the loader's worker threads can read without Lua.
 *
 * A dataset is a length and a thread-safe `get` that gives sample i as a
 * uint8 image [C x H x W] and a 0-based label (-1 when unlabelled). Kinds:
 *   tensor     - images held in memory (IDX, CIFAR, STL-10): get is a view;
 *   synthetic  - rendered on demand from (seed, index);
 *   files      - a list of image files (ImageFolder), decoded lazily;
 *   subset     - a list of indices into another dataset.
 * Datasets are reference counted (sl_dataset_retain / sl_dataset_free), so
 * a subset keeps its parent alive. Indices here are 0-based.
 */
#ifndef SL_DATA_DATASET_H
#define SL_DATA_DATASET_H

#include <stdint.h>

#include "tensor/tensor.h"

typedef struct sl_dataset sl_dataset;

typedef struct sl_dataset_vtable {
    const char *kind;
    /* Sample i (0 <= i < length): *image gets an owned uint8 [C x H x W]
     * tensor (possibly a view of shared memory: do not write to it). */
    int (*get)(const sl_dataset *ds, int64_t i, sl_tensor **image, int64_t *label);
    void (*destroy)(sl_dataset *ds);
} sl_dataset_vtable;

struct sl_dataset {
    const sl_dataset_vtable *vt;
    int64_t length;
    int refcount;
    int num_classes; /* 0 if unknown */
};

int sl_dataset_get(const sl_dataset *ds, int64_t i, sl_tensor **image, int64_t *label);
void sl_dataset_retain(sl_dataset *ds);
void sl_dataset_free(sl_dataset *ds);

/* images uint8 [N x C x H x W] or [N x H x W] (one channel); labels int64 [N]
 * or NULL. Takes new references to both tensors. */
sl_dataset *sl_dataset_from_tensors(sl_tensor *images, sl_tensor *labels, int num_classes);
/* The synthetic shapes set (data/synthetic.h): n samples of size x size. */
sl_dataset *sl_dataset_synthetic(uint64_t seed, int64_t n, int size);
/* Image files with their labels (labels may be NULL). Copies the strings. */
sl_dataset *sl_dataset_files(const char *const *paths, const int64_t *labels, int64_t n, int num_classes);
/* Samples indices[0..n-1] of parent (0-based, checked). */
sl_dataset *sl_dataset_subset(sl_dataset *parent, const int64_t *indices, int64_t n);

#endif
