/* loader.h - batches of augmented samples, prepared ahead on worker threads.
 *
 * An epoch visits the dataset in a permutation drawn from (seed, epoch) (or
 * in order without shuffle). Sample i of an epoch is augmented with a
 * generator seeded by sl_rng_derive(seed, epoch, i + 1), so a batch is the
 * same whatever the number of workers and whichever worker made it. Batches
 * come out in order; a worker error is reported by sl_loader_next with its
 * message (never a hang).
 *
 * Buffers: `prefetch` batch slots are allocated once and reused. The batch
 * returned by sl_loader_next stays valid until the next call; a slot whose
 * tensors are still referenced elsewhere (someone kept a view) gets fresh
 * storage instead of being overwritten, so kept batches never change.
 *
 *   sl_loader_config cfg = sl_loader_defaults(256);
 *   cfg.nviews = 2; cfg.ops[0] = cfg.ops[1] = ops; cfg.nops[0] = cfg.nops[1] = n;
 *   sl_loader *l = sl_loader_new(ds, &cfg);
 *   sl_loader_start_epoch(l, epoch, 0);
 *   const sl_loader_batch *b;
 *   while (sl_loader_next(l, &b) == SL_OK && b) train(b->views[0], b->views[1]);
 *   sl_loader_free(l);
 */
#ifndef SL_DATA_LOADER_H
#define SL_DATA_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "aug/aug.h"
#include "data/dataset.h"

#define SL_LOADER_MAX_VIEWS 2

typedef struct sl_loader_config {
    int64_t batch;       /* samples per batch, >= 1 */
    bool shuffle;        /* permutation per epoch (else dataset order) */
    bool drop_last;      /* drop a short final batch */
    int workers;         /* threads; 0 = prepare batches in the calling thread */
    int prefetch;        /* batch slots (>= 1; default 2 per worker) */
    uint64_t seed;
    int nviews;          /* 1 or 2 augmented views per sample */
    const sl_aug_op *ops[SL_LOADER_MAX_VIEWS]; /* pipeline per view (may be empty: to-float only) */
    int nops[SL_LOADER_MAX_VIEWS];
    int channels;        /* output channels (0: the images' own; 3 from grey replicates) */
} sl_loader_config;

typedef struct sl_loader_batch {
    int64_t number;                          /* 0-based batch number in the epoch */
    int64_t size;                            /* samples in this batch */
    sl_tensor *views[SL_LOADER_MAX_VIEWS];   /* float32 [size x C x H x W] */
    sl_tensor *labels;                       /* int64 [size], 0-based (-1 unlabelled) */
    sl_tensor *indices;                      /* int64 [size], 0-based dataset indices */
} sl_loader_batch;

typedef struct sl_loader sl_loader;

sl_loader_config sl_loader_defaults(int64_t batch);
/* Validates the config and the pipelines against sample 0's shape. Retains ds. */
sl_loader *sl_loader_new(sl_dataset *ds, const sl_loader_config *cfg);
void sl_loader_free(sl_loader *l);
/* Batches per epoch. */
int64_t sl_loader_num_batches(const sl_loader *l);
/* Output shape of view v: C, H, W. */
void sl_loader_view_shape(const sl_loader *l, int v, int *C, int *H, int *W);
/* Begin epoch `epoch` at batch `first` (to resume mid-epoch); starts the workers. */
int sl_loader_start_epoch(sl_loader *l, int64_t epoch, int64_t first);
/* The next batch, or *batch = NULL at the end of the epoch. */
int sl_loader_next(sl_loader *l, const sl_loader_batch **batch);

#endif
