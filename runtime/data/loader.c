/* loader.c - the prefetching, multi-threaded batch loader (see loader.h).
 *
 * Slots form a ring: batch j of the epoch goes to slot j % nslots. Workers
 * claim the next unclaimed batch as long as it is fewer than nslots ahead of
 * the consumer, fill its slot, and mark it ready; the consumer waits for the
 * slot of the batch it wants. All shared state is guarded by one mutex.
 */
#include "data/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "tensor/random.h"
#include "tensor/view.h"

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY };
enum { MAX_WORKERS = 64 };

typedef struct {
    sl_loader_batch batch;
    int state;
    int status;
    char error[512];
} slot;

typedef struct {
    float *scratch;
    size_t scratch_len;
} worker_scratch;

struct sl_loader {
    sl_dataset *ds;
    sl_loader_config cfg;
    sl_aug_op *ops[SL_LOADER_MAX_VIEWS];   /* owned copies */
    int out_c[SL_LOADER_MAX_VIEWS], out_h[SL_LOADER_MAX_VIEWS], out_w[SL_LOADER_MAX_VIEWS];
    int64_t nbatches;
    int64_t *order;                        /* [ds->length] visiting order of this epoch */
    int64_t epoch;
    slot *slots;
    int nslots;
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int64_t next_claim;                    /* next batch a worker may take */
    int64_t consumed;                      /* batches handed out; the last one is still in use */
    int64_t end;                           /* nbatches */
    bool stop;
    pthread_t threads[MAX_WORKERS];
    int nthreads;
    worker_scratch inline_scratch;         /* for workers = 0 */
};

sl_loader_config sl_loader_defaults(int64_t batch)
{
    sl_loader_config c;
    memset(&c, 0, sizeof c);
    c.batch = batch;
    c.shuffle = true;
    c.drop_last = true;
    c.workers = 2;
    c.nviews = 1;
    c.seed = 0;
    return c;
}

int64_t sl_loader_num_batches(const sl_loader *l) { return l->nbatches; }

void sl_loader_view_shape(const sl_loader *l, int v, int *C, int *H, int *W)
{
    *C = l->out_c[v], *H = l->out_h[v], *W = l->out_w[v];
}

/* Make sure a slot tensor exists with `size` and is not shared with anyone. */
static int own_tensor(sl_tensor **t, sl_dtype dt, int ndim, const int64_t *size)
{
    if (*t && __atomic_load_n(&(*t)->storage->refcount, __ATOMIC_ACQUIRE) == 1) {
        /* reuse: reshape the header in place (size may only shrink for the last batch) */
        int64_t numel = 1;
        for (int d = 0; d < ndim; d++) numel *= size[d];
        if (numel * (int64_t)sl_dtype_size(dt) <= (*t)->storage->nbytes) {
            (*t)->ndim = ndim;
            (*t)->offset = 0;
            int64_t s = 1;
            for (int d = ndim - 1; d >= 0; d--) (*t)->size[d] = size[d], (*t)->stride[d] = s, s *= size[d];
            return SL_OK;
        }
    }
    sl_tensor_free(*t);
    *t = sl_tensor_new(dt, ndim, size);
    return *t ? SL_OK : SL_ERR;
}

static int grow_scratch(worker_scratch *ws, size_t need)
{
    if (need <= ws->scratch_len) return SL_OK;
    sl_free(ws->scratch);
    ws->scratch = sl_malloc(need * sizeof(float));
    ws->scratch_len = ws->scratch ? need : 0;
    return ws->scratch ? SL_OK : SL_ERR;
}

/* Fill slot s with batch j. Runs without the lock. */
static int fill_batch(sl_loader *l, slot *s, int64_t j, worker_scratch *ws)
{
    int64_t first = j * l->cfg.batch, n = l->ds->length - first < l->cfg.batch ? l->ds->length - first : l->cfg.batch;
    sl_loader_batch *b = &s->batch;
    b->number = j;
    b->size = n;
    for (int v = 0; v < l->cfg.nviews; v++) {
        int64_t size[4] = {n, l->out_c[v], l->out_h[v], l->out_w[v]};
        if (own_tensor(&b->views[v], SL_FLOAT32, 4, size) != SL_OK) return SL_ERR;
    }
    if (own_tensor(&b->labels, SL_INT64, 1, &n) != SL_OK || own_tensor(&b->indices, SL_INT64, 1, &n) != SL_OK)
        return SL_ERR;
    for (int64_t k = 0; k < n; k++) {
        int64_t index = l->order[first + k];
        sl_tensor *img = NULL;
        int64_t label = -1;
        if (sl_dataset_get(l->ds, index, &img, &label) != SL_OK) return SL_ERR;
        sl_tensor *c = sl_tensor_contiguous_new(img); /* a view when already contiguous */
        sl_tensor_free(img);
        if (!c) return SL_ERR;
        sl_rng rng;
        sl_rng_init(&rng, sl_rng_derive(l->cfg.seed, (uint64_t)l->epoch, (uint64_t)index + 1));
        int rc = SL_OK;
        int C = (int)c->size[0], H = (int)c->size[1], W = (int)c->size[2];
        for (int v = 0; v < l->cfg.nviews && rc == SL_OK; v++) {
            int oc, oh, ow;
            size_t need;
            rc = sl_aug_pipeline_check(l->ops[v], l->cfg.nops[v], C, H, W, &oc, &oh, &ow, &need);
            if (rc == SL_OK && (oh != l->out_h[v] || ow != l->out_w[v]))
                rc = sl_error("loader: sample %lld gives a %dx%d view %d but the batch holds %dx%d (add a crop or "
                              "resize to the transform)", (long long)index + 1, oh, ow, v + 1, l->out_h[v],
                              l->out_w[v]);
            if (rc == SL_OK) rc = grow_scratch(ws, need);
            float *dst = sl_f32(b->views[v]) + k * (int64_t)l->out_c[v] * l->out_h[v] * l->out_w[v];
            if (rc == SL_OK)
                rc = sl_aug_pipeline_apply(l->ops[v], l->cfg.nops[v], &rng, sl_u8(c), C, H, W, dst, l->out_c[v],
                                           l->out_h[v], l->out_w[v], ws->scratch, ws->scratch_len);
        }
        sl_tensor_free(c);
        if (rc != SL_OK) return sl_error_prefix("loader: sample %lld", (long long)index + 1);
        sl_i64(b->labels)[k] = label;
        sl_i64(b->indices)[k] = index;
    }
    return SL_OK;
}

static void *worker_main(void *arg)
{
    sl_loader *l = arg;
    worker_scratch ws = {NULL, 0};
    pthread_mutex_lock(&l->mu);
    for (;;) {
        /* A slot is freed only once its previous batch was consumed, so this
         * also keeps workers at most nslots batches ahead of the consumer. */
        while (!l->stop && !(l->next_claim < l->end && l->slots[l->next_claim % l->nslots].state == SLOT_FREE))
            pthread_cond_wait(&l->cond, &l->mu);
        if (l->stop) break;
        int64_t j = l->next_claim++;
        slot *s = &l->slots[j % l->nslots];
        s->state = SLOT_FILLING;
        pthread_mutex_unlock(&l->mu);
        int status = fill_batch(l, s, j, &ws);
        pthread_mutex_lock(&l->mu);
        s->status = status;
        if (status != SL_OK) snprintf(s->error, sizeof s->error, "%s", sl_last_error());
        s->state = SLOT_READY;
        pthread_cond_broadcast(&l->cond);
    }
    pthread_mutex_unlock(&l->mu);
    sl_free(ws.scratch);
    return NULL;
}

static void stop_workers(sl_loader *l)
{
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->nthreads; i++) pthread_join(l->threads[i], NULL);
    l->nthreads = 0;
    l->stop = false;
}

sl_loader *sl_loader_new(sl_dataset *ds, const sl_loader_config *cfg)
{
    if (cfg->batch < 1) return sl_error("loader: batch must be >= 1, got %lld", (long long)cfg->batch), NULL;
    if (cfg->nviews < 1 || cfg->nviews > SL_LOADER_MAX_VIEWS)
        return sl_error("loader: %d views requested (1 or 2)", cfg->nviews), NULL;
    if (cfg->workers < 0 || cfg->workers > MAX_WORKERS)
        return sl_error("loader: workers must be in [0, %d], got %d", MAX_WORKERS, cfg->workers), NULL;
    if (ds->length < 1) return sl_error("loader: the dataset is empty"), NULL;
    sl_loader *l = sl_calloc(1, sizeof *l);
    if (!l) return NULL;
    l->cfg = *cfg;
    l->ds = ds;
    sl_dataset_retain(ds);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cond, NULL);
    /* Output shapes from sample 0. */
    sl_tensor *img = NULL;
    if (sl_dataset_get(ds, 0, &img, NULL) != SL_OK) goto fail;
    int C = (int)img->size[0], H = (int)img->size[1], W = (int)img->size[2];
    sl_tensor_free(img);
    for (int v = 0; v < cfg->nviews; v++) {
        int n = cfg->nops[v];
        l->ops[v] = sl_malloc((size_t)(n > 0 ? n : 1) * sizeof(sl_aug_op));
        if (!l->ops[v]) goto fail;
        if (n) memcpy(l->ops[v], cfg->ops[v], (size_t)n * sizeof(sl_aug_op));
        l->cfg.ops[v] = l->ops[v];
        if (sl_aug_pipeline_check(l->ops[v], n, C, H, W, &l->out_c[v], &l->out_h[v], &l->out_w[v], NULL) != SL_OK) {
            sl_error_prefix("loader: view %d", v + 1);
            goto fail;
        }
        if (cfg->channels) l->out_c[v] = cfg->channels;
        if (l->out_c[v] != C && !(C == 1 && l->out_c[v] == 3)) {
            sl_error("loader: cannot make %d channels from %d", l->out_c[v], C);
            goto fail;
        }
    }
    l->nbatches = cfg->drop_last ? ds->length / cfg->batch : (ds->length + cfg->batch - 1) / cfg->batch;
    if (l->nbatches < 1) {
        sl_error("loader: %lld samples make no full batch of %lld (set drop_last = false)", (long long)ds->length,
                 (long long)cfg->batch);
        goto fail;
    }
    l->nslots = cfg->prefetch > 0 ? cfg->prefetch : 2 * (cfg->workers > 0 ? cfg->workers : 1);
    if (l->nslots < 2) l->nslots = 2;
    l->slots = sl_calloc((size_t)l->nslots, sizeof *l->slots);
    l->order = sl_malloc((size_t)ds->length * sizeof *l->order);
    if (!l->slots || !l->order) goto fail;
    l->end = 0;
    return l;
fail:
    sl_loader_free(l);
    return NULL;
}

void sl_loader_free(sl_loader *l)
{
    if (!l) return;
    stop_workers(l);
    for (int i = 0; l->slots && i < l->nslots; i++) {
        sl_loader_batch *b = &l->slots[i].batch;
        for (int v = 0; v < SL_LOADER_MAX_VIEWS; v++) sl_tensor_free(b->views[v]);
        sl_tensor_free(b->labels);
        sl_tensor_free(b->indices);
    }
    for (int v = 0; v < SL_LOADER_MAX_VIEWS; v++) sl_free(l->ops[v]);
    sl_free(l->slots);
    sl_free(l->order);
    sl_free(l->inline_scratch.scratch);
    sl_dataset_free(l->ds);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cond);
    sl_free(l);
}

int sl_loader_start_epoch(sl_loader *l, int64_t epoch, int64_t first)
{
    if (first < 0 || first > l->nbatches)
        return sl_error("loader: first batch %lld out of range [1, %lld]", (long long)first + 1,
                        (long long)l->nbatches);
    stop_workers(l);
    l->epoch = epoch;
    if (l->cfg.shuffle) {
        sl_rng rng;
        sl_rng_init(&rng, sl_rng_derive(l->cfg.seed, (uint64_t)epoch, 0));
        sl_rng_randperm(&rng, l->order, l->ds->length);
    } else {
        for (int64_t i = 0; i < l->ds->length; i++) l->order[i] = i;
    }
    for (int i = 0; i < l->nslots; i++) l->slots[i].state = SLOT_FREE;
    l->next_claim = first;
    l->consumed = first;
    l->end = l->nbatches;
    for (int i = 0; i < l->cfg.workers; i++) {
        if (pthread_create(&l->threads[i], NULL, worker_main, l) != 0) {
            stop_workers(l);
            return sl_error("loader: could not start worker thread %d", i + 1);
        }
        l->nthreads++;
    }
    return SL_OK;
}

int sl_loader_next(sl_loader *l, const sl_loader_batch **batch)
{
    *batch = NULL;
    pthread_mutex_lock(&l->mu);
    /* Release the batch handed out last time. */
    if (l->consumed > 0 && l->slots[(l->consumed - 1) % l->nslots].state == SLOT_READY &&
        l->slots[(l->consumed - 1) % l->nslots].batch.number == l->consumed - 1) {
        l->slots[(l->consumed - 1) % l->nslots].state = SLOT_FREE;
        pthread_cond_broadcast(&l->cond);
    }
    int64_t j = l->consumed;
    if (j >= l->end) {
        pthread_mutex_unlock(&l->mu);
        return SL_OK;
    }
    slot *s = &l->slots[j % l->nslots];
    if (l->nthreads == 0) { /* no workers: make it here */
        s->state = SLOT_FILLING;
        l->next_claim = j + 1;
        pthread_mutex_unlock(&l->mu);
        s->status = fill_batch(l, s, j, &l->inline_scratch);
        if (s->status != SL_OK) snprintf(s->error, sizeof s->error, "%s", sl_last_error());
        pthread_mutex_lock(&l->mu);
        s->state = SLOT_READY;
    }
    while (!(s->state == SLOT_READY && s->batch.number == j)) pthread_cond_wait(&l->cond, &l->mu);
    l->consumed = j + 1;
    int status = s->status;
    pthread_mutex_unlock(&l->mu);
    if (status != SL_OK) {
        sl_error("%s", s->error);
        pthread_mutex_lock(&l->mu);
        l->end = j; /* the epoch cannot go on past a failed batch */
        pthread_mutex_unlock(&l->mu);
        return SL_ERR;
    }
    *batch = &s->batch;
    return SL_OK;
}
