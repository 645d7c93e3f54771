/* bench_aug.c - throughput of the MoCo v2 two-view augmentation pipeline (C only).
 *
 * For each image: two sl_aug_pipeline_apply calls (view 1, view 2) of the
 * MoCo v2 aug+ preset (RandomResizedCrop 0.2-1, ColorJitter .4/.4/.4/.1 p .8,
 * Grayscale p .2, GaussianBlur sigma .1-2 p .5 with a ~10% kernel, HFlip,
 * Normalize), from a uint8 [3 x S x S] source to [3 x S x S] views, S = 32 and
 * 224. Reports images/s (two views each) on one thread, then with OpenMP
 * over samples (one scratch per thread, as the loader's workers do).
 *
 * Usage (the bench/run.sh convention): bench_aug [threads]; each case runs
 * for SSLAB_BENCH_SECONDS seconds (default 2). Without the CMake target:
 *   cc -O2 -march=native -fopenmp -Iruntime bench/bench_aug.c runtime/aug/*.c \
 *      runtime/core/alloc.c runtime/core/error.c runtime/tensor/random.c -lm -o bench_aug
 */
#include "aug/aug.h"
#include "core/alloc.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

enum { NSRC = 64 }; /* distinct source images, cycled */

static int bench(int side, double seconds, int threads)
{
    sl_aug_op ops[8];
    int n = sl_aug_preset_mocov2(ops, 8, side);
    int oc, oh, ow;
    size_t len;
    if (sl_aug_pipeline_check(ops, n, 3, side, side, &oc, &oh, &ow, &len)) {
        fprintf(stderr, "bench_aug: %s\n", sl_last_error());
        return 1;
    }
    size_t in_n = (size_t)3 * side * side, out_n = (size_t)oc * oh * ow;
    uint8_t *src = malloc(NSRC * in_n);
    sl_rng rng;
    sl_rng_init(&rng, 1);
    for (size_t i = 0; i < NSRC * in_n; i++) src[i] = (uint8_t)(sl_rng_u32(&rng) >> 24);

    long images = 0;
    int errors = 0;
    double t0 = now(), elapsed = 0;
    #pragma omp parallel num_threads(threads) reduction(+ : images, errors)
    {
        float *scratch = malloc(len * sizeof(float));
        float *view = malloc(2 * out_n * sizeof(float));
        long i = omp_get_thread_num();
        while (now() - t0 < seconds) {
            for (int rep = 0; rep < 8; rep++, i += omp_get_num_threads()) {
                sl_rng r;
                sl_rng_init(&r, sl_rng_derive(0, 0, (uint64_t)i));
                const uint8_t *s = src + (i % NSRC) * in_n;
                errors += sl_aug_pipeline_apply(ops, n, &r, s, 3, side, side, view, oc, oh, ow, scratch, len) != SL_OK;
                errors += sl_aug_pipeline_apply(ops, n, &r, s, 3, side, side, view + out_n, oc, oh, ow, scratch, len) != SL_OK;
                images++;
            }
        }
        free(view);
        free(scratch);
    }
    elapsed = now() - t0;
    printf("mocov2 two-view  %3dx%-3d  threads %d  %9.0f images/s  (%ld images, %.2f s%s)\n", side, side, threads,
           images / elapsed, images, elapsed, errors ? ", ERRORS" : "");
    free(src);
    return errors != 0;
}

int main(int argc, char **argv)
{
    int maxt = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
    const char *env = getenv("SSLAB_BENCH_SECONDS");
    double seconds = env ? atof(env) : 2.0;
    if (maxt < 1) maxt = 1;
    int rc = 0;
    const int sides[2] = {32, 224};
    for (int k = 0; k < 2; k++) {
        rc |= bench(sides[k], seconds, 1);
        if (maxt > 1) rc |= bench(sides[k], seconds, maxt);
    }
    return rc;
}
