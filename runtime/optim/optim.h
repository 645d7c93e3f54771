/* optim.h - optimiser update kernels over flat float32 arrays (runtime/optim/).
 *
 * Each function updates one contiguous run of parameters in place: the Lua
 * optimisers (lua/sslab/optim.lua) call it once per run of the flat parameter
 * buffer that shares one setting (learning rate, weight decay, ...), or once
 * per parameter where a per-parameter quantity is needed (LARS trust ratio).
 * State buffers (momentum, Adam moments) belong to the caller. Elementwise
 * work is parallel over independent elements, and the norms LARS needs are
 * summed serially in double, so results do not depend on the thread count.
 * Return SL_OK, or SL_ERR with a message for bad options; nothing aborts.
 */
#ifndef SL_OPTIM_H
#define SL_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* {=========================================================================
 * sgd.c - SGD with momentum, dampening, Nesterov and L2 weight decay, exactly
 * as torch.optim.SGD:
 *   g = grad + weight_decay * param
 *   buf = first ? g : momentum * buf + (1 - dampening) * g      (momentum != 0)
 *   g = nesterov ? g + momentum * buf : buf
 *   param -= lr * g
 * ========================================================================= */
int sl_sgd_step(float *param,        /* [n], updated */
                const float *grad,   /* [n] */
                float *momentum_buf, /* [n], updated; OPTIONAL when momentum == 0 */
                int64_t n, float lr, float momentum, float dampening, float weight_decay, bool nesterov,
                bool first);          /* first step: the buffer starts as g */

/* }========================================================================= */

/* {=========================================================================
 * adam.c - Adam / AdamW as torch.optim.Adam(W), step t >= 1 (counted after
 * this update):
 *   g = grad + weight_decay * param            (Adam: L2 in the gradient)
 *   param *= 1 - lr * weight_decay             (AdamW, decoupled; g = grad)
 *   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
 *   param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * ========================================================================= */
int sl_adam_step(float *param,      /* [n], updated */
                 const float *grad, /* [n] */
                 float *exp_avg,    /* [n], updated (m) */
                 float *exp_avg_sq, /* [n], updated (v) */
                 int64_t n, float lr, float beta1, float beta2, float eps, float weight_decay, bool decoupled,
                 int64_t step);

/* }========================================================================= */

/* {=========================================================================
 * lars.c - LARS as SimCLR's TensorFlow implementation (one parameter per call):
 *   g = grad + weight_decay * param                      (weight_decay 0 = excluded)
 *   trust = adapt && ||param|| > 0 && ||g|| > 0 ? eta * ||param|| / ||g|| : 1
 *   buf = momentum * buf + lr * trust * g
 *   param -= nesterov ? momentum * buf + lr * trust * g : buf
 * (The learning rate lives inside the momentum buffer, as in SimCLR.) The trust
 * ratio used is returned through *trust_out (OPTIONAL) for logging and tests.
 * ========================================================================= */
int sl_lars_step(float *param,        /* [n], updated */
                 const float *grad,   /* [n] */
                 float *momentum_buf, /* [n], updated */
                 int64_t n, float lr, float momentum, float weight_decay, float eta, bool adapt, bool nesterov,
                 float *trust_out);

/* }========================================================================= */

/* {=========================================================================
 * ema.c - exponential moving average, the momentum-encoder update:
 *   target = m * target + (1 - m) * source
 * ========================================================================= */
int sl_param_ema(float *target,       /* [n], updated */
                  const float *source, /* [n] */
                  int64_t n, float m);

/* }========================================================================= */

#endif
