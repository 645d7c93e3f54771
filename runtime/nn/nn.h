/* nn.h - the catalog of neural-network kernels (runtime/nn/), one op per .c file.
 *
 * Plain C11 on raw, contiguous float32 pointers, llm.c style: every op has a
 * forward and a backward side by side in runtime/nn/<op>.c. Kernels are
 * stateless: weights, gradients, running statistics, saved buffers and the
 * shared convolution workspace belong to the caller (the Lua nn modules) and are
 * passed in. Argument order: inputs, outputs, parameters, saved buffers, then
 * sizes and options (THNN convention).
 *
 * Contract for every function here:
 *   - returns SL_OK, or SL_ERR after sl_error("<op>: ... [shapes]"); sizes are
 *     validated before anything is written; nothing aborts.
 *   - backward WRITES grad_input (overwrites) and ACCUMULATES parameter
 *     gradients with += (zero them once per step, as nn's zeroGradParameters).
 *   - [OPTIONAL] pointers may be NULL: a NULL gradient means "not needed"
 *     (a frozen layer passes grad_weight = NULL, the first layer grad_input =
 *     NULL); a NULL bias / gamma / beta means "no such parameter".
 *   - results do not depend on the number of threads (OpenMP only over
 *     independent outputs or fixed chunks; GEMMs through sl_gemm).
 *   - the shape comments give the layout of each buffer, row-major.
 *
 * Worked example, a conv -> BN -> ReLU block in training:
 *
 *   sl_conv2d_geom g;
 *   if (sl_conv2d_geom_init(&g, N, C, H, W, O, 3, 3, 1, 1) != SL_OK) return SL_ERR;
 *   float *ws = sl_malloc(sl_conv2d_workspace_size(&g) * sizeof(float)); // once, shared, max over layers
 *   sl_conv2d_forward(&g, x, y, w, NULL, ws);
 *   sl_batchnorm_params bp = sl_batchnorm_defaults(N, O, g.OH * g.OW);  // training, momentum .1, eps 1e-5
 *   sl_batchnorm_forward(&bp, y, z, gamma, beta, run_mean, run_var, save_mean, save_invstd);
 *   sl_relu_forward(z, z, (int64_t)N * O * g.OH * g.OW);                // in place
 *   ... backward in reverse order:
 *   sl_relu_backward(z, dz, dz, n);                                      // in place
 *   sl_batchnorm_backward(&bp, y, dz, dy, gamma, dgamma, dbeta, save_mean, save_invstd);
 *   sl_conv2d_backward(&g, x, dy, w, dx, dw, NULL, ws);
 */
#ifndef SL_NN_H
#define SL_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* {=========================================================================
 * conv2d.c - 2-D convolution (cross-correlation as PyTorch), dilation 1, groups 1.
 * Forward: im2col + sl_gemm (1x1 stride-1 unpadded skips im2col); several images
 * share one GEMM when the output plane is small. The batch is split into up to 4
 * groups (fixed by the shapes) run in parallel, each with its own workspace slice
 * and single-threaded GEMMs. Backward: grad_input is itself a convolution for
 * stride-1 square kernels with O <= C, else sl_gemm + col2im; grad_weight sums
 * one partial per group in group order (thread-count independent).
 * Channels last (the geometry's channels_last), the rows of the column matrix
 * are output pixels, so the GEMMs read x / grad_y and write y / grad_x in place,
 * the weights reordered per call in the workspace; grad_input is a convolution
 * only when O < C, and Winograd declines channels last for now.
 * ========================================================================= */

typedef struct sl_conv2d_geom {
    int N, C, H, W;        /* input  [N x C x H x W] */
    int O, KH, KW;         /* weight [O x C x KH x KW] */
    int stride, pad;       /* same along both axes */
    int OH, OW;            /* output [N x O x OH x OW], set by sl_conv2d_geom_init */
    bool channels_last;    /* input, output and their gradients are [N x H x W x C] and
                              [N x OH x OW x O] (PyTorch's channels_last); false after
                              sl_conv2d_geom_init. The weight is [O x C x KH x KW] either way. */
} sl_conv2d_geom;

/* Fill and validate a geometry: OH = (H + 2 pad - KH) / stride + 1, likewise OW. */
int sl_conv2d_geom_init(sl_conv2d_geom *g, int N, int C, int H, int W, int O, int KH, int KW,
                        int stride, int pad);
/* Floats of scratch that forward and backward need for this geometry (may be 0).
 * One buffer sized to the maximum over a network's convolutions serves all of them. */
size_t sl_conv2d_workspace_size(const sl_conv2d_geom *g);

int sl_conv2d_forward(const sl_conv2d_geom *g,
                      const float *x,      /* [N x C x H x W] */
                      float *y,            /* [N x O x OH x OW], written */
                      const float *weight, /* [O x C x KH x KW] */
                      const float *bias,   /* [O], OPTIONAL */
                      float *workspace);   /* [sl_conv2d_workspace_size(g)] */
int sl_conv2d_backward(const sl_conv2d_geom *g,
                       const float *x,          /* [N x C x H x W] */
                       const float *grad_y,     /* [N x O x OH x OW] */
                       const float *weight,     /* [O x C x KH x KW] */
                       float *grad_x,           /* [N x C x H x W], written, OPTIONAL */
                       float *grad_weight,      /* [O x C x KH x KW], +=, OPTIONAL */
                       float *grad_bias,        /* [O], +=, OPTIONAL */
                       float *workspace);       /* [sl_conv2d_workspace_size(g)] */
/* 3x3, stride-1, padding-1 convolutions (forward and both gradients) can use
 * Winograd's minimal filtering (conv2d_winograd.c: F(4x4, 3x3), 4x fewer multiplies
 * than im2col + GEMM). AUTO (the default) takes it when it pays: at least 8 input
 * and output channels and enough tiles per group of images; ALWAYS takes it for
 * every such convolution (tests), OFF never. Process-wide; change it between
 * calls, and size workspaces after changing it. */
typedef enum { SL_WINOGRAD_OFF, SL_WINOGRAD_AUTO, SL_WINOGRAD_ALWAYS } sl_winograd_mode;
void sl_conv2d_set_winograd(sl_winograd_mode mode);
sl_winograd_mode sl_conv2d_get_winograd(void);
/* Direct loops with double accumulation: the reference for tests. Same contract,
 * channels first only (a channels_last geometry is an error). */
int sl_conv2d_forward_naive(const sl_conv2d_geom *g, const float *x, float *y, const float *weight,
                            const float *bias);
int sl_conv2d_backward_naive(const sl_conv2d_geom *g, const float *x, const float *grad_y,
                             const float *weight, float *grad_x, float *grad_weight, float *grad_bias);

/* }========================================================================= */

/* {=========================================================================
 * batchnorm.c - BatchNorm2d (spatial = H*W) and BatchNorm1d (spatial = 1),
 * PyTorch semantics, with optional per-group statistics (shuffle-BN emulation).
 * x is [N x C x spatial]. Training normalises with the biased batch variance and
 * updates running_var with the unbiased one:
 *   running = (1 - momentum) * running + momentum * batch_stat.
 * With groups G > 1 the statistics are computed separately for each group of
 * N/G samples and the running stats move toward the MEAN of the group stats
 * (MoCo's SplitBatchNorm). Groups are contiguous blocks (sample n in group
 * n / (N/G)), or with `interleaved` sample n is in group n % G, which is what
 * SplitBatchNorm's x.view(-1, C*G, H, W) does.
 * Evaluation normalises with running_mean / running_var.
 * With channels_last, x is [N x spatial x C] (an NHWC image batch, or [N x C] for
 * BatchNorm1d, which is the same thing with spatial 1).
 * ========================================================================= */

typedef struct sl_batchnorm_params {
    int N, C, spatial;  /* x is [N x C x spatial] */
    int groups;         /* >= 1, divides N; 1 = plain BatchNorm */
    bool interleaved;   /* group of sample n is n % groups instead of n / (N / groups) */
    bool training;      /* batch statistics (true) or running statistics (false) */
    float momentum;     /* PyTorch convention, default 0.1 */
    float eps;          /* default 1e-5 */
    bool relu;          /* y = max(BN(x), 0): BatchNorm and the ReLU after it in one pass */
    bool channels_last; /* x, y and the gradients are [N x spatial x C] */
} sl_batchnorm_params;

/* {N, C, spatial, groups 1, contiguous, training, momentum 0.1, eps 1e-5, no relu, channels first}. */
sl_batchnorm_params sl_batchnorm_defaults(int N, int C, int spatial);

/* save_mean / save_invstd are [groups x C]: written in both modes (in evaluation
 * every row holds running_mean and 1/sqrt(running_var + eps)) and read by backward.
 * running_mean/var are required in evaluation; in training they are OPTIONAL
 * (NULL = track_running_stats=False). y may alias x. */
int sl_batchnorm_forward(const sl_batchnorm_params *p,
                         const float *x,       /* [N x C x spatial] */
                         float *y,             /* [N x C x spatial], written */
                         const float *gamma,   /* [C], OPTIONAL (no affine: 1) */
                         const float *beta,    /* [C], OPTIONAL (no affine: 0) */
                         float *running_mean,  /* [C], updated in training, OPTIONAL there */
                         float *running_var,   /* [C], updated in training, OPTIONAL there */
                         float *save_mean,     /* [groups x C], written */
                         float *save_invstd);  /* [groups x C], written */
/* Training backward includes the gradient through the batch statistics;
 * evaluation backward is the affine map's (dx = dy * gamma * invstd). */
int sl_batchnorm_backward(const sl_batchnorm_params *p,
                          const float *x,           /* [N x C x spatial], forward input */
                          const float *y,           /* [N x C x spatial], forward output: the ReLU mask
                                                       when p->relu, else unused (may be NULL) */
                          const float *grad_y,      /* [N x C x spatial] */
                          float *grad_x,            /* [N x C x spatial], written, OPTIONAL, may alias grad_y */
                          const float *gamma,       /* [C], OPTIONAL */
                          float *grad_gamma,        /* [C], +=, OPTIONAL */
                          float *grad_beta,         /* [C], +=, OPTIONAL */
                          const float *save_mean,   /* [groups x C] from forward */
                          const float *save_invstd); /* [groups x C] from forward */

/* }========================================================================= */

/* {=========================================================================
 * relu.c - y = max(x, 0). In place allowed (y == x; grad_x == grad_y).
 * Backward uses the forward OUTPUT as the mask (grad passes where y > 0), so an
 * in-place forward loses nothing.
 * ========================================================================= */
int sl_relu_forward(const float *x, /* [n] */ float *y, /* [n] */ int64_t n);
int sl_relu_backward(const float *y,      /* [n], forward output */
                     const float *grad_y, /* [n] */
                     float *grad_x,       /* [n], written */
                     int64_t n);
/* y = max(a + b, 0) in one pass (a residual block's sum and ReLU); y may alias a or b.
 * Its backward is sl_relu_backward on y. */
int sl_add_relu_forward(const float *a, const float *b, float *y, int64_t n);
/* }========================================================================= */

/* {=========================================================================
 * maxpool2d.c - max pooling, padding counts as -inf, floor mode, dilation 1.
 * indices hold the argmax as a flat offset in the H*W input plane (PyTorch's
 * return_indices); ties go to the first maximum in row-major window order.
 * With channels_last, x / grad_x are [N x H x W x C] and y / indices / grad_y
 * [N x OH x OW x C]; indices are still offsets h * W + w in the plane.
 * ========================================================================= */
typedef struct sl_maxpool2d_geom {
    int N, C, H, W;
    int KH, KW, stride, pad; /* pad <= KH/2 and KW/2, as PyTorch */
    int OH, OW;              /* set by sl_maxpool2d_geom_init */
    bool channels_last;      /* false after sl_maxpool2d_geom_init */
} sl_maxpool2d_geom;

int sl_maxpool2d_geom_init(sl_maxpool2d_geom *g, int N, int C, int H, int W, int KH, int KW,
                           int stride, int pad);
int sl_maxpool2d_forward(const sl_maxpool2d_geom *g,
                         const float *x,    /* [N x C x H x W] */
                         float *y,          /* [N x C x OH x OW], written */
                         int64_t *indices); /* [N x C x OH x OW], written, OPTIONAL (eval) */
int sl_maxpool2d_backward(const sl_maxpool2d_geom *g,
                          const float *grad_y,     /* [N x C x OH x OW] */
                          const int64_t *indices,  /* [N x C x OH x OW] from forward */
                          float *grad_x);          /* [N x C x H x W], written */
/* }========================================================================= */

/* {=========================================================================
 * avgpool.c - global average pooling to 1x1 (AdaptiveAvgPool2d(1) + flatten).
 * ========================================================================= */
int sl_global_avgpool_forward(const float *x, /* [N x C x H x W], or [N x H x W x C] with channels_last */
                              float *y,       /* [N x C], written */
                              int N, int C, int H, int W, bool channels_last);
int sl_global_avgpool_backward(const float *grad_y, /* [N x C] */
                               float *grad_x,       /* [N x C x H x W] or [N x H x W x C], written */
                               int N, int C, int H, int W, bool channels_last);
/* }========================================================================= */

/* {=========================================================================
 * linear.c - y = x W^T + b, W stored [out x in] as PyTorch.
 * ========================================================================= */
int sl_linear_forward(const float *x,      /* [N x in] */
                      float *y,            /* [N x out], written */
                      const float *weight, /* [out x in] */
                      const float *bias,   /* [out], OPTIONAL */
                      int N, int in, int out);
int sl_linear_backward(const float *x,      /* [N x in] */
                       const float *grad_y, /* [N x out] */
                       const float *weight, /* [out x in] */
                       float *grad_x,       /* [N x in], written, OPTIONAL */
                       float *grad_weight,  /* [out x in], +=, OPTIONAL */
                       float *grad_bias,    /* [out], +=, OPTIONAL */
                       int N, int in, int out);
/* }========================================================================= */

/* {=========================================================================
 * l2norm.c - y = x / max(||x||_2, eps) along the last dim (F.normalize, dim=-1).
 * ========================================================================= */
int sl_l2norm_forward(const float *x, /* [N x D] */
                      float *y,       /* [N x D], written, may alias x */
                      int N, int D, float eps);
int sl_l2norm_backward(const float *x,      /* [N x D], forward input */
                       const float *grad_y, /* [N x D] */
                       float *grad_x,       /* [N x D], written, may alias grad_y */
                       int N, int D, float eps);
/* }========================================================================= */

/* {=========================================================================
 * losses: cross_entropy.c, mse.c. Mean reduction; each call returns the loss and
 * (OPTIONAL) the gradient of that mean loss w.r.t. its input in one pass.
 * ========================================================================= */

/* Softmax cross-entropy from logits, PyTorch F.cross_entropy(reduction='mean',
 * label_smoothing=s): the target distribution is (1-s) one_hot(t) + s/K.
 * grad = (softmax(logits) - target_dist) / N. Targets must lie in [0, K). */
int sl_cross_entropy(const float *logits,   /* [N x K] */
                     const int64_t *target, /* [N], class indices */
                     float *loss,           /* scalar, written */
                     float *grad_logits,    /* [N x K], written, OPTIONAL */
                     int N, int K, float label_smoothing);

/* loss = mean((x - target)^2) over n elements; grad = 2 (x - target) / n. */
int sl_mse(const float *x,      /* [n] */
           const float *target, /* [n] */
           float *loss,         /* scalar, written */
           float *grad_x,       /* [n], written, OPTIONAL */
           int64_t n);

/* }========================================================================= */

#endif
