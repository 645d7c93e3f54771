/* test_data_loader.c - datasets and the prefetching loader: determinism across
 * worker counts, order, drop_last, resume, kept batches, worker errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "io/image.h"
#include "tensor/view.h"
#include "test.h"

static int make_ops(sl_aug_op *ops)
{
    ops[0] = sl_aug_op_random_resized_crop(16, 16, 0.2f, 1.0f, 3.0f / 4, 4.0f / 3);
    ops[1] = sl_aug_op_color_jitter(0.4f, 0.4f, 0.4f, 0.1f, 0.8f);
    ops[2] = sl_aug_op_hflip(0.5f);
    return 3;
}

/* All batches of one epoch, concatenated, for a given worker count. */
static sl_tensor *run_epoch(sl_dataset *ds, int workers, int64_t epoch, int64_t first, sl_tensor **labels_out)
{
    sl_aug_op ops[4];
    int n = make_ops(ops);
    sl_loader_config cfg = sl_loader_defaults(7);
    cfg.workers = workers;
    cfg.nviews = 2;
    cfg.ops[0] = cfg.ops[1] = ops;
    cfg.nops[0] = cfg.nops[1] = n;
    cfg.seed = 99;
    sl_loader *l = sl_loader_new(ds, &cfg);
    CHECK(l != NULL);
    if (!l) return NULL;
    CHECK(sl_loader_num_batches(l) == ds->length / 7);
    CHECK(sl_loader_start_epoch(l, epoch, first) == SL_OK);
    int64_t nb = sl_loader_num_batches(l) - first;
    int64_t size[4] = {nb * 7 * 2, 3, 16, 16}, lsize = nb * 7;
    sl_tensor *all = sl_tensor_new(SL_FLOAT32, 4, size), *labels = sl_tensor_new(SL_INT64, 1, &lsize);
    const sl_loader_batch *b;
    int64_t k = 0;
    while (sl_loader_next(l, &b) == SL_OK && b) {
        CHECK(b->number == first + k);
        CHECK(b->size == 7);
        size_t bytes = 7 * 3 * 16 * 16 * sizeof(float);
        memcpy(sl_f32(all) + (2 * k) * 7 * 3 * 16 * 16, sl_f32(b->views[0]), bytes);
        memcpy(sl_f32(all) + (2 * k + 1) * 7 * 3 * 16 * 16, sl_f32(b->views[1]), bytes);
        memcpy(sl_i64(labels) + k * 7, sl_i64(b->labels), 7 * sizeof(int64_t));
        k++;
    }
    CHECK(k == nb);
    sl_loader_free(l);
    *labels_out = labels;
    return all;
}

static bool same(const sl_tensor *a, const sl_tensor *b)
{
    return sl_tensor_same_shape(a, b) &&
           memcmp(sl_tensor_data(a), sl_tensor_data(b), (size_t)sl_tensor_numel(a) * sl_dtype_size(a->dtype)) == 0;
}

static void test_workers_do_not_change_results(void)
{
    sl_dataset *ds = sl_dataset_synthetic(5, 50, 24);
    sl_tensor *l0, *l1, *l3;
    sl_tensor *a = run_epoch(ds, 0, 1, 0, &l0), *b = run_epoch(ds, 1, 1, 0, &l1), *c = run_epoch(ds, 3, 1, 0, &l3);
    CHECK(a && b && c);
    CHECK(same(a, b));
    CHECK(same(a, c));
    CHECK(same(l0, l1));
    /* the two views of a sample differ */
    sl_tensor *v1 = sl_tensor_select_new(a, 0, 0), *v2 = sl_tensor_select_new(a, 0, 7);
    CHECK(!same(v1, v2));
    sl_tensor_free(v1), sl_tensor_free(v2);
    /* another epoch gives another order and other crops */
    sl_tensor *le;
    sl_tensor *e2 = run_epoch(ds, 2, 2, 0, &le);
    CHECK(!same(a, e2));
    sl_tensor_free(a), sl_tensor_free(b), sl_tensor_free(c), sl_tensor_free(e2);
    sl_tensor_free(l0), sl_tensor_free(l1), sl_tensor_free(l3), sl_tensor_free(le);
    sl_dataset_free(ds);
}

static void test_resume_mid_epoch(void)
{
    sl_dataset *ds = sl_dataset_synthetic(5, 50, 24);
    sl_tensor *lf, *lr;
    sl_tensor *full = run_epoch(ds, 2, 3, 0, &lf), *rest = run_epoch(ds, 2, 3, 4, &lr);
    sl_tensor *tail = sl_tensor_narrow_new(full, 0, 4 * 14, full->size[0] - 4 * 14);
    CHECK(same(tail, rest));
    sl_tensor_free(tail), sl_tensor_free(full), sl_tensor_free(rest), sl_tensor_free(lf), sl_tensor_free(lr);
    sl_dataset_free(ds);
}

static void test_order_and_drop_last(void)
{
    int64_t size[4] = {10, 1, 4, 4}, n = 10;
    sl_tensor *x = sl_tensor_new(SL_UINT8, 4, size), *y = sl_tensor_new(SL_INT64, 1, &n);
    for (int64_t i = 0; i < 10; i++) {
        memset(sl_u8(x) + i * 16, (int)i * 10, 16);
        sl_i64(y)[i] = i % 3;
    }
    sl_dataset *ds = sl_dataset_from_tensors(x, y, 3);
    sl_tensor_free(x), sl_tensor_free(y);
    sl_loader_config cfg = sl_loader_defaults(4);
    cfg.shuffle = false;
    cfg.drop_last = false;
    cfg.workers = 2;
    sl_loader *l = sl_loader_new(ds, &cfg);
    CHECK(l && sl_loader_num_batches(l) == 3);
    sl_loader_start_epoch(l, 0, 0);
    const sl_loader_batch *b;
    int64_t seen = 0;
    while (sl_loader_next(l, &b) == SL_OK && b) {
        for (int64_t k = 0; k < b->size; k++) {
            CHECK(sl_i64(b->indices)[k] == seen);
            CHECK(sl_i64(b->labels)[k] == seen % 3);
            CHECK_NEAR(sl_f32(b->views[0])[k * 16], seen * 10 / 255.0, 1e-6);
            seen++;
        }
    }
    CHECK(seen == 10);
    sl_loader_free(l);
    /* shuffled: every index once */
    cfg.shuffle = true;
    cfg.drop_last = true;
    l = sl_loader_new(ds, &cfg);
    CHECK(sl_loader_num_batches(l) == 2);
    sl_loader_start_epoch(l, 0, 0);
    int count[10] = {0};
    while (sl_loader_next(l, &b) == SL_OK && b)
        for (int64_t k = 0; k < b->size; k++) count[sl_i64(b->indices)[k]]++;
    int total = 0;
    for (int i = 0; i < 10; i++) {
        CHECK(count[i] <= 1);
        total += count[i];
    }
    CHECK(total == 8);
    sl_loader_free(l);
    sl_dataset_free(ds);
}

static void test_kept_batch_is_not_overwritten(void)
{
    sl_dataset *ds = sl_dataset_synthetic(1, 40, 16);
    sl_loader_config cfg = sl_loader_defaults(4);
    cfg.workers = 1;
    cfg.prefetch = 2;
    sl_loader *l = sl_loader_new(ds, &cfg);
    sl_loader_start_epoch(l, 0, 0);
    const sl_loader_batch *b;
    sl_loader_next(l, &b);
    sl_tensor *kept = sl_tensor_view_new(b->views[0]), *copy = sl_tensor_clone_new(b->views[0]);
    for (int i = 0; i < 5; i++) sl_loader_next(l, &b);
    CHECK(same(kept, copy));
    sl_tensor_free(kept), sl_tensor_free(copy);
    sl_loader_free(l);
    sl_dataset_free(ds);
}

static void test_worker_error_reaches_caller(void)
{
    char dir[] = "/tmp/sl_loader_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char good[256], bad[256];
    snprintf(good, sizeof good, "%s/good.png", dir);
    snprintf(bad, sizeof bad, "%s/missing.png", dir);
    int64_t size[3] = {3, 8, 8};
    sl_tensor *img = sl_tensor_zeros(SL_UINT8, 3, size);
    CHECK(sl_image_save(good, img, 90) == SL_OK);
    sl_tensor_free(img);
    const char *paths[] = {good, good, good, bad, good, good};
    sl_dataset *ds = sl_dataset_files(paths, NULL, 6, 0);
    sl_loader_config cfg = sl_loader_defaults(2);
    cfg.shuffle = false;
    for (int workers = 0; workers <= 2; workers++) {
        cfg.workers = workers;
        sl_loader *l = sl_loader_new(ds, &cfg);
        CHECK(l != NULL);
        sl_loader_start_epoch(l, 0, 0);
        const sl_loader_batch *b;
        CHECK(sl_loader_next(l, &b) == SL_OK && b);
        CHECK_FAILS(sl_loader_next(l, &b), "missing.png");
        CHECK(sl_loader_next(l, &b) == SL_OK && b == NULL); /* the epoch ends there */
        sl_loader_free(l);
    }
    sl_dataset_free(ds);
    unlink(good);
    rmdir(dir);
}

static void test_bad_config(void)
{
    sl_dataset *ds = sl_dataset_synthetic(1, 10, 16);
    sl_loader_config cfg = sl_loader_defaults(0);
    CHECK(sl_loader_new(ds, &cfg) == NULL && strstr(sl_last_error(), "batch"));
    cfg = sl_loader_defaults(20);
    CHECK(sl_loader_new(ds, &cfg) == NULL && strstr(sl_last_error(), "no full batch"));
    int64_t idx[2] = {0, 10};
    CHECK(sl_dataset_subset(ds, idx, 2) == NULL && strstr(sl_last_error(), "out of range"));
    idx[1] = 9;
    sl_dataset *sub = sl_dataset_subset(ds, idx, 2);
    CHECK(sub && sub->length == 2);
    sl_tensor *im;
    int64_t label;
    CHECK(sl_dataset_get(sub, 1, &im, &label) == SL_OK && label == 9);
    sl_tensor_free(im);
    CHECK_FAILS(sl_dataset_get(sub, 2, &im, &label), "out of range");
    sl_dataset_free(sub);
    sl_dataset_free(ds);
}

int main(void)
{
    RUN(test_workers_do_not_change_results);
    RUN(test_resume_mid_epoch);
    RUN(test_order_and_drop_last);
    RUN(test_kept_batch_is_not_overwritten);
    RUN(test_worker_error_reaches_caller);
    RUN(test_bad_config);
    return test_summary();
}
