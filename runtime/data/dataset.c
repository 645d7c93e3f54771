/* dataset.c - in-memory, synthetic, file-list and subset datasets (see dataset.h). */
#include "data/dataset.h"

#include <string.h>

#include "core/alloc.h"
#include "data/synthetic.h"
#include "io/image.h"
#include "tensor/view.h"

int sl_dataset_get(const sl_dataset *ds, int64_t i, sl_tensor **image, int64_t *label)
{
    *image = NULL;
    if (i < 0 || i >= ds->length)
        return sl_error("dataset: index %lld out of range [1, %lld]", (long long)i + 1, (long long)ds->length);
    return ds->vt->get(ds, i, image, label);
}

void sl_dataset_retain(sl_dataset *ds) { __atomic_add_fetch(&ds->refcount, 1, __ATOMIC_RELAXED); }

void sl_dataset_free(sl_dataset *ds)
{
    if (ds && __atomic_sub_fetch(&ds->refcount, 1, __ATOMIC_ACQ_REL) == 0) ds->vt->destroy(ds);
}

/* ---- tensor ------------------------------------------------------------- */

typedef struct {
    sl_dataset base;
    sl_tensor *images, *labels;
} tensor_dataset;

static int tensor_get(const sl_dataset *ds, int64_t i, sl_tensor **image, int64_t *label)
{
    const tensor_dataset *t = (const tensor_dataset *)ds;
    sl_tensor *row = sl_tensor_select_new(t->images, 0, i);
    if (!row) return SL_ERR;
    if (row->ndim == 2) { /* [H x W] -> [1 x H x W] */
        sl_tensor *v = sl_tensor_unsqueeze_new(row, 0);
        sl_tensor_free(row);
        if (!v) return SL_ERR;
        row = v;
    }
    *image = row;
    if (label) *label = t->labels ? sl_i64(t->labels)[i * t->labels->stride[0]] : -1;
    return SL_OK;
}

static void tensor_destroy(sl_dataset *ds)
{
    tensor_dataset *t = (tensor_dataset *)ds;
    sl_tensor_free(t->images);
    sl_tensor_free(t->labels);
    sl_free(t);
}

static const sl_dataset_vtable tensor_vt = {"tensor", tensor_get, tensor_destroy};

sl_dataset *sl_dataset_from_tensors(sl_tensor *images, sl_tensor *labels, int num_classes)
{
    char a[128], b[128];
    if (images->dtype != SL_UINT8 || (images->ndim != 3 && images->ndim != 4)) {
        sl_error("dataset: images must be uint8 [N x C x H x W] or [N x H x W], got %s %s",
                 sl_dtype_name(images->dtype), sl_shape_str(images, a, sizeof a));
        return NULL;
    }
    if (labels && (labels->dtype != SL_INT64 || labels->ndim != 1 || labels->size[0] != images->size[0])) {
        sl_error("dataset: labels must be int64 [%lld], got %s %s", (long long)images->size[0],
                 sl_dtype_name(labels->dtype), sl_shape_str(labels, b, sizeof b));
        return NULL;
    }
    tensor_dataset *t = sl_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->images = sl_tensor_view_new(images);
    t->labels = labels ? sl_tensor_view_new(labels) : NULL;
    if (!t->images || (labels && !t->labels)) {
        sl_tensor_free(t->images), sl_tensor_free(t->labels), sl_free(t);
        return NULL;
    }
    t->base = (sl_dataset){&tensor_vt, images->size[0], 1, num_classes};
    return &t->base;
}

/* ---- synthetic ------------------------------------------------------------ */

typedef struct {
    sl_dataset base;
    uint64_t seed;
    int size;
} synthetic_dataset;

static int synthetic_get(const sl_dataset *ds, int64_t i, sl_tensor **image, int64_t *label)
{
    const synthetic_dataset *s = (const synthetic_dataset *)ds;
    int64_t size[3] = {3, s->size, s->size};
    sl_tensor *img = sl_tensor_new(SL_UINT8, 3, size);
    int lab;
    if (!img) return SL_ERR;
    if (sl_synthetic_render(s->seed, i, s->size, sl_u8(img), &lab) != SL_OK) {
        sl_tensor_free(img);
        return SL_ERR;
    }
    *image = img;
    if (label) *label = lab;
    return SL_OK;
}

static void plain_destroy(sl_dataset *ds) { sl_free(ds); }

static const sl_dataset_vtable synthetic_vt = {"synthetic", synthetic_get, plain_destroy};

sl_dataset *sl_dataset_synthetic(uint64_t seed, int64_t n, int size)
{
    if (n < 0) {
        sl_error("synthetic: n must be >= 0, got %lld", (long long)n);
        return NULL;
    }
    if (size < SL_SYNTHETIC_MIN_SIZE || size > SL_SYNTHETIC_MAX_SIZE) {
        sl_error("synthetic: size %d outside [%d, %d]", size, SL_SYNTHETIC_MIN_SIZE, SL_SYNTHETIC_MAX_SIZE);
        return NULL;
    }
    synthetic_dataset *s = sl_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->base = (sl_dataset){&synthetic_vt, n, 1, SL_SYNTHETIC_NUM_CLASSES};
    s->seed = seed;
    s->size = size;
    return &s->base;
}

/* ---- files -------------------------------------------------------------------- */

typedef struct {
    sl_dataset base;
    char **paths;
    int64_t *labels;
} files_dataset;

static int files_get(const sl_dataset *ds, int64_t i, sl_tensor **image, int64_t *label)
{
    const files_dataset *f = (const files_dataset *)ds;
    int rc = sl_image_load(f->paths[i], image);
    if (rc != SL_OK) return SL_ERR; /* a missing file is an error here: the list said it exists */
    if (label) *label = f->labels ? f->labels[i] : -1;
    return SL_OK;
}

static void files_destroy(sl_dataset *ds)
{
    files_dataset *f = (files_dataset *)ds;
    for (int64_t i = 0; f->paths && i < f->base.length; i++) sl_free(f->paths[i]);
    sl_free(f->paths);
    sl_free(f->labels);
    sl_free(f);
}

static const sl_dataset_vtable files_vt = {"files", files_get, files_destroy};

sl_dataset *sl_dataset_files(const char *const *paths, const int64_t *labels, int64_t n, int num_classes)
{
    files_dataset *f = sl_calloc(1, sizeof *f);
    if (!f) return NULL;
    f->base = (sl_dataset){&files_vt, 0, 1, num_classes};
    f->paths = sl_calloc((size_t)(n > 0 ? n : 1), sizeof *f->paths);
    f->labels = labels ? sl_malloc((size_t)(n > 0 ? n : 1) * sizeof *f->labels) : NULL;
    if (!f->paths || (labels && !f->labels)) goto fail;
    for (int64_t i = 0; i < n; i++) {
        size_t len = strlen(paths[i]);
        if (!(f->paths[i] = sl_malloc(len + 1))) goto fail;
        memcpy(f->paths[i], paths[i], len + 1);
        f->base.length = i + 1;
        if (labels) f->labels[i] = labels[i];
    }
    f->base.length = n;
    return &f->base;
fail:
    files_destroy(&f->base);
    return NULL;
}

/* ---- subset -------------------------------------------------------------------- */

typedef struct {
    sl_dataset base;
    sl_dataset *parent;
    int64_t *indices;
} subset_dataset;

static int subset_get(const sl_dataset *ds, int64_t i, sl_tensor **image, int64_t *label)
{
    const subset_dataset *s = (const subset_dataset *)ds;
    return sl_dataset_get(s->parent, s->indices[i], image, label);
}

static void subset_destroy(sl_dataset *ds)
{
    subset_dataset *s = (subset_dataset *)ds;
    sl_dataset_free(s->parent);
    sl_free(s->indices);
    sl_free(s);
}

static const sl_dataset_vtable subset_vt = {"subset", subset_get, subset_destroy};

sl_dataset *sl_dataset_subset(sl_dataset *parent, const int64_t *indices, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (indices[i] < 0 || indices[i] >= parent->length) {
            sl_error("subset: index %lld (entry %lld) out of range [1, %lld]", (long long)indices[i] + 1,
                     (long long)i + 1, (long long)parent->length);
            return NULL;
        }
    subset_dataset *s = sl_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->indices = sl_malloc((size_t)(n > 0 ? n : 1) * sizeof *s->indices);
    if (!s->indices) {
        sl_free(s);
        return NULL;
    }
    memcpy(s->indices, indices, (size_t)n * sizeof *indices);
    sl_dataset_retain(parent);
    s->parent = parent;
    s->base = (sl_dataset){&subset_vt, n, 1, parent->num_classes};
    return &s->base;
}
