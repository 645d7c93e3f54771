/* bench_conv.c - conv2d throughput vs raw SGEMM of the same size.
 *
 * For each convolution shape it times (median of `reps` runs after a warm-up):
 *   fwd   sl_conv2d_forward
 *   bwdD  sl_conv2d_backward with grad_input only
 *   bwdW  sl_conv2d_backward with grad_weight (+ grad_bias) only
 *   gemm  one sl_gemm of the same size as the forward, O x (N*OH*OW) x (C*KH*KW),
 *         on preallocated operands: the ceiling im2col + GEMM can approach.
 * and prints GFLOP/s (2 * O * C*KH*KW * N*OH*OW flop per pass) and fwd/gemm.
 *
 * On the Intel dev machines (CPU model 207) OpenBLAS 0.3.21 does not recognise
 * the CPU and falls back to its Prescott (SSE3) kernels, 4-5x slower: run with
 * OPENBLAS_CORETYPE=Cooperlake (the header line shows the setting).
 * With 1 thread it times process CPU time, which a busy shared machine disturbs
 * far less than wall time; with more threads, wall time.
 *
 *   bench_conv [threads] [reps] [resnet50-batch] [cifar-batch] [filter] [layout] [winograd]
 *   (defaults: all cores, 5, 8, 256, all shapes, first, auto; filter = substring
 *   of the shape name, "" for all)
 * layout: "first" (NCHW) or "last" (NHWC) times that layout as above; "both" times
 * the two on the same shapes, alternating them rep by rep (the machine's speed
 * drifts), and prints milliseconds per pass for each and their ratio (no gemm).
 * "both" runs without bias, as ResNet's convolutions: channels first, grad_bias
 * is a serial float sum per image and channel (milliseconds on the CIFAR shapes)
 * that would blur the comparison of the two GEMM paths.
 * winograd: auto, off or always (sl_conv2d_set_winograd).
 * Suites: ResNet-50 (torchvision v1.5, 224x224 input) and a CIFAR-style
 * ResNet-18 of base width 16 on 28x28 inputs (3x3 stem, no max pool).
 */
#include <omp.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "nn/nn.h"
#include "tensor/gemm.h"
#include "tensor/random.h"

typedef struct {
    const char *name;
    int C, H, W, O, K, stride, pad;
    int suite; /* 0: ResNet-50, 1: CIFAR ResNet-18 w16 */
} conv_shape;

static const conv_shape shapes[] = {
    {"r50.stem 7x7/2 3-64 @224", 3, 224, 224, 64, 7, 2, 3, 0},
    {"r50.l1 1x1 64-64 @56", 64, 56, 56, 64, 1, 1, 0, 0},
    {"r50.l1 3x3 64-64 @56", 64, 56, 56, 64, 3, 1, 1, 0},
    {"r50.l1 1x1 64-256 @56", 64, 56, 56, 256, 1, 1, 0, 0},
    {"r50.l1 1x1 256-64 @56", 256, 56, 56, 64, 1, 1, 0, 0},
    {"r50.l2 3x3/2 128-128 @56", 128, 56, 56, 128, 3, 2, 1, 0},
    {"r50.l2 3x3 128-128 @28", 128, 28, 28, 128, 3, 1, 1, 0},
    {"r50.l2 1x1 512-128 @28", 512, 28, 28, 128, 1, 1, 0, 0},
    {"r50.l2 ds 1x1/2 256-512 @56", 256, 56, 56, 512, 1, 2, 0, 0},
    {"r50.l3 3x3 256-256 @14", 256, 14, 14, 256, 3, 1, 1, 0},
    {"r50.l3 1x1 256-1024 @14", 256, 14, 14, 1024, 1, 1, 0, 0},
    {"r50.l4 3x3 512-512 @7", 512, 7, 7, 512, 3, 1, 1, 0},
    {"r50.l4 1x1 2048-512 @7", 2048, 7, 7, 512, 1, 1, 0, 0},
    {"c18.stem 3x3 3-16 @28", 3, 28, 28, 16, 3, 1, 1, 1},
    {"c18.l1 3x3 16-16 @28", 16, 28, 28, 16, 3, 1, 1, 1},
    {"c18.l2 3x3/2 16-32 @28", 16, 28, 28, 32, 3, 2, 1, 1},
    {"c18.l2 3x3 32-32 @14", 32, 14, 14, 32, 3, 1, 1, 1},
    {"c18.l2 ds 1x1/2 16-32 @28", 16, 28, 28, 32, 1, 2, 0, 1},
    {"c18.l3 3x3/2 32-64 @14", 32, 14, 14, 64, 3, 2, 1, 1},
    {"c18.l3 3x3 64-64 @7", 64, 7, 7, 64, 3, 1, 1, 1},
    {"c18.l3 ds 1x1/2 32-64 @14", 32, 14, 14, 64, 1, 2, 0, 1},
    {"c18.l4 3x3/2 64-128 @7", 64, 7, 7, 128, 3, 2, 1, 1},
    {"c18.l4 ds 1x1/2 64-128 @7", 64, 7, 7, 128, 1, 2, 0, 1},
    {"c18.l4 3x3 128-128 @4", 128, 4, 4, 128, 3, 1, 1, 1},
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int use_cpu_time;

static double now(void)
{
    if (!use_cpu_time) return omp_get_wtime();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#define MAX_REPS 64
#define TIME(reps, stmt)                                      \
    ({                                                        \
        double t_[MAX_REPS];                                  \
        stmt;                                                 \
        for (int r_ = 0; r_ < (reps); r_++) {                 \
            double t0_ = now();                          \
            stmt;                                             \
            t_[r_] = now() - t0_;                             \
        }                                                     \
        qsort(t_, (reps), sizeof(double), cmp_double);        \
        t_[(reps) / 2];                                       \
    })

/* Median wall (or CPU) seconds of forward, grad_input and grad_weight (+ bias if b)
 * for each of the ng geometries (the same convolution in different layouts: the
 * buffers are random, so either layout reads them), the geometries taking turns
 * rep by rep after one warm-up round. */
static void time_passes(const sl_conv2d_geom *gs, int ng, int reps, const float *x, float *y, const float *w,
                        const float *b, const float *dy, float *dx, float *dw, float *db, float *ws,
                        double out[][3])
{
    double t[2][3][MAX_REPS];
    for (int r = -1; r < reps; r++)
        for (int l = 0; l < ng; l++) {
            const sl_conv2d_geom *g = &gs[l];
            double t0 = now();
            sl_conv2d_forward(g, x, y, w, b, ws);
            double t1 = now();
            sl_conv2d_backward(g, x, dy, w, dx, NULL, NULL, ws);
            double t2 = now();
            sl_conv2d_backward(g, x, dy, w, NULL, dw, db, ws);
            double t3 = now();
            if (r < 0) continue;
            t[l][0][r] = t1 - t0;
            t[l][1][r] = t2 - t1;
            t[l][2][r] = t3 - t2;
        }
    for (int l = 0; l < ng; l++)
        for (int k = 0; k < 3; k++) {
            qsort(t[l][k], reps, sizeof(double), cmp_double);
            out[l][k] = t[l][k][reps / 2];
        }
}

static float *alloc_normal(size_t n, uint64_t seed)
{
    float *p = sl_malloc_aligned(n * sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory (%zu floats)\n", n);
        exit(1);
    }
    sl_rng rng;
    sl_rng_init(&rng, seed);
    sl_rng_fill_normal(&rng, p, (int64_t)n, 0.0f, 1.0f);
    return p;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    int batch[2] = {argc > 3 ? atoi(argv[3]) : 8, argc > 4 ? atoi(argv[4]) : 256};
    const char *filter = argc > 5 && argv[5][0] ? argv[5] : NULL;
    const char *layout = argc > 6 ? argv[6] : "first", *winograd = argc > 7 ? argv[7] : "auto";
    const bool both = !strcmp(layout, "both"), last = !strcmp(layout, "last");
    if (!both && !last && strcmp(layout, "first")) {
        fprintf(stderr, "layout must be first, last or both, not '%s'\n", layout);
        return 1;
    }
    if (!strcmp(winograd, "off")) sl_conv2d_set_winograd(SL_WINOGRAD_OFF);
    else if (!strcmp(winograd, "always")) sl_conv2d_set_winograd(SL_WINOGRAD_ALWAYS);
    else if (strcmp(winograd, "auto")) {
        fprintf(stderr, "winograd must be auto, off or always, not '%s'\n", winograd);
        return 1;
    }
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    if (threads > 0) sl_set_num_threads(threads);
    else sl_set_num_threads(sl_get_num_threads());
    use_cpu_time = sl_get_num_threads() == 1;
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("OPENBLAS_CORETYPE=%s, ", coretype ? coretype : "(unset)");
    printf("threads %d (%s time), median of %d, ResNet-50 batch %d, CIFAR ResNet-18 w16 batch %d, "
           "channels %s%s, Winograd %s\n", sl_get_num_threads(), use_cpu_time ? "CPU" : "wall", reps, batch[0],
           batch[1], layout, both ? " (no bias)" : "", winograd);
    if (both)
        printf("%-30s %9s | %7s %7s %7s | %7s %7s %7s | %6s %6s %6s\n", "shape (ms per pass)", "GFLOP", "fwd",
               "bwdD", "bwdW", "fwd", "bwdD", "bwdW", "fwd", "bwdD", "bwdW");
    if (both)
        printf("%-30s %9s | %23s | %23s | %20s\n", "", "", "NCHW", "NHWC", "NHWC / NCHW");
    else
        printf("%-30s %9s %7s %7s %7s %7s %8s  (GFLOP/s)\n", "shape", "GFLOP", "fwd", "bwdD", "bwdW", "gemm",
               "fwd/gemm");

    double tot_flop[2] = {0}, tot_time[2][2] = {{0}}, tot_gemm[2] = {0};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const conv_shape *s = &shapes[i];
        if (filter && !strstr(s->name, filter)) continue;
        sl_conv2d_geom gs[2];
        if (sl_conv2d_geom_init(&gs[0], batch[s->suite], s->C, s->H, s->W, s->O, s->K, s->K, s->stride, s->pad) !=
            SL_OK) {
            fprintf(stderr, "%s\n", sl_last_error());
            return 1;
        }
        gs[1] = gs[0];
        gs[0].channels_last = last;
        gs[1].channels_last = true;
        const int ng = both ? 2 : 1;
        const sl_conv2d_geom g = gs[0];
        const size_t nx = (size_t)g.N * g.C * g.H * g.W, nw = (size_t)g.O * g.C * g.KH * g.KW;
        const size_t ny = (size_t)g.N * g.O * g.OH * g.OW, ckk = (size_t)g.C * g.KH * g.KW;
        const size_t cols = (size_t)g.N * g.OH * g.OW;
        float *x = alloc_normal(nx, 1), *w = alloc_normal(nw, 2), *b = alloc_normal(g.O, 3);
        float *y = alloc_normal(ny, 4), *dy = alloc_normal(ny, 5), *dx = alloc_normal(nx, 6);
        float *dw = alloc_normal(nw, 7), *db = alloc_normal(g.O, 8);
        size_t wsn = 1;
        for (int l = 0; l < ng; l++)
            if (sl_conv2d_workspace_size(&gs[l]) > wsn) wsn = sl_conv2d_workspace_size(&gs[l]);
        float *ws = sl_malloc_aligned(wsn * sizeof(float));
        const double flop = 2.0 * g.O * ckk * cols;

        double t[2][3];
        time_passes(gs, ng, reps, x, y, w, both ? NULL : b, dy, dx, dw, both ? NULL : db, ws, t);
        sl_free(dx);
        sl_free(dy);
        tot_flop[s->suite] += 3 * flop;
        for (int l = 0; l < ng; l++) tot_time[s->suite][l] += t[l][0] + t[l][1] + t[l][2];
        if (both) {
            printf("%-30s %9.2f | %7.2f %7.2f %7.2f | %7.2f %7.2f %7.2f | %6.2f %6.2f %6.2f\n", s->name, flop * 1e-9,
                   1e3 * t[0][0], 1e3 * t[0][1], 1e3 * t[0][2], 1e3 * t[1][0], 1e3 * t[1][1], 1e3 * t[1][2],
                   t[1][0] / t[0][0], t[1][1] / t[0][1], t[1][2] / t[0][2]);
        } else {
            float *B = alloc_normal(ckk * cols, 9), *Cm = alloc_normal((size_t)g.O * cols, 10);
            double tg = TIME(reps, sl_gemm(false, false, g.O, (int)cols, (int)ckk, 1.0f, w, (int)ckk, B, (int)cols,
                                          0.0f, Cm, (int)cols));
            printf("%-30s %9.2f %7.1f %7.1f %7.1f %7.1f %7.0f%%\n", s->name, flop * 1e-9, flop / t[0][0] * 1e-9,
                   flop / t[0][1] * 1e-9, flop / t[0][2] * 1e-9, flop / tg * 1e-9, 100.0 * tg / t[0][0]);
            tot_gemm[s->suite] += 3 * tg;
            sl_free(B); sl_free(Cm);
        }
        fflush(stdout);
        sl_free(x); sl_free(w); sl_free(b); sl_free(y); sl_free(dw); sl_free(db); sl_free(ws);
    }
    const char *suite[2] = {"ResNet-50 shapes", "CIFAR ResNet-18 w16"};
    for (int k = 0; k < 2; k++) {
        if (tot_flop[k] == 0) continue;
        if (both)
            printf("%s, fwd+bwdD+bwdW together: NCHW %.1f GFLOP/s, NHWC %.1f GFLOP/s\n", suite[k],
                   tot_flop[k] / tot_time[k][0] * 1e-9, tot_flop[k] / tot_time[k][1] * 1e-9);
        else
            printf("%s, fwd+bwdD+bwdW together: %.1f GFLOP/s (raw SGEMM of the same sizes: %.1f GFLOP/s)\n",
                   suite[k], tot_flop[k] / tot_time[k][0] * 1e-9, tot_flop[k] / tot_gemm[k] * 1e-9);
    }
    return 0;
}
