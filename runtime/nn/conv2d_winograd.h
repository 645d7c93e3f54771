/* conv2d_winograd.h - internal to nn/: the batch split both convolution paths
 * share, and the Winograd path of conv2d.
 *
 * conv2d.c sends 3x3, stride-1, padding-1 convolutions to conv2d_winograd.c
 * (ResNet's 3x3 convs and their grad_input convolutions), which says how it works.
 * The workspace is the caller's, sized by sl_conv2d_workspace_size as for the GEMM path.
 */
#ifndef SL_NN_CONV2D_WINOGRAD_H
#define SL_NN_CONV2D_WINOGRAD_H

#include <stdbool.h>

#include "nn/nn.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* {======================================================================
 * The batch split both convolution paths share (see conv2d.c): at most
 * SL_CONV2D_GROUPS groups of images, a function of the geometry only (NOT of
 * the thread count), so chunks, GEMM shapes and the order of every sum are the
 * same for any number of threads; one OpenMP thread per group at a time.
 * ======================================================================= */
#define SL_CONV2D_GROUPS 4

static inline int sl_conv2d_groups(const sl_conv2d_geom *g)
{
    return g->N < SL_CONV2D_GROUPS ? g->N : SL_CONV2D_GROUPS;
}

/* First image of group k (groups differ in size by at most one image). */
static inline int sl_conv2d_group_start(const sl_conv2d_geom *g, int k)
{
    return (int)((int64_t)k * g->N / sl_conv2d_groups(g));
}

/* Threads for the group loop: at most one per group; the GEMMs inside then run on
 * one thread each (the OpenMP build of OpenBLAS does not thread a call made inside
 * a parallel region). With the pthread build of OpenBLAS the groups run one after
 * the other and OpenBLAS threads each GEMM (same results: only the order of
 * independent work changes). */
static inline int sl_conv2d_team(const sl_conv2d_geom *g)
{
#if defined(_OPENMP) && defined(SSLAB_OPENBLAS_OPENMP)
    const int G = sl_conv2d_groups(g), t = omp_get_max_threads();
    return t < G ? t : G;
#else
    (void)g;
    return 1;
#endif
}

/* This thread's lane of the workspace. */
static inline int sl_conv2d_thread(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* }====================================================================== */

bool sl_conv2d_winograd_applies(const sl_conv2d_geom *g);
size_t sl_conv2d_winograd_workspace_size(const sl_conv2d_geom *g);
/* Same contracts as sl_conv2d_forward / sl_conv2d_backward (grad_bias is the caller's). */
int sl_conv2d_winograd_forward(const sl_conv2d_geom *g, const float *x, float *y, const float *weight,
                               const float *bias, float *workspace);
int sl_conv2d_winograd_backward(const sl_conv2d_geom *g, const float *x, const float *grad_y, const float *weight,
                                float *grad_x, float *grad_weight, float *workspace);

#endif
