/* conv2d_winograd.h - the Winograd F(2x2, 3x3) path of conv2d (internal to nn/).
 *
 * conv2d.c sends 3x3, stride-1, padding-1 convolutions here (ResNet's 3x3 convs
 * and their grad_input convolutions); conv2d_winograd.c says how it works. The
 * workspace is the caller's, sized by sl_conv2d_workspace_size as for the GEMM path.
 */
#ifndef SL_NN_CONV2D_WINOGRAD_H
#define SL_NN_CONV2D_WINOGRAD_H

#include <stdbool.h>

#include "nn/nn.h"

/* The batch is split into at most this many groups of images, run in parallel
 * (both convolution paths; see conv2d.c). */
#define SL_CONV2D_GROUPS 4

bool sl_conv2d_winograd_applies(const sl_conv2d_geom *g);
size_t sl_conv2d_winograd_workspace_size(const sl_conv2d_geom *g);
/* Same contracts as sl_conv2d_forward / sl_conv2d_backward (grad_bias is the caller's). */
int sl_conv2d_winograd_forward(const sl_conv2d_geom *g, const float *x, float *y, const float *weight,
                               const float *bias, float *workspace);
int sl_conv2d_winograd_backward(const sl_conv2d_geom *g, const float *x, const float *grad_y, const float *weight,
                                float *grad_x, float *grad_weight, float *workspace);

#endif
