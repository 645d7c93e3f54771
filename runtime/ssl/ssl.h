/* ssl.h - the catalog of contrastive-learning kernels (runtime/ssl/), one concept per .c file.
 *
 * Same contract as nn.h: plain C11 on raw, contiguous, row-major float32 (and
 * int64 index) buffers; stateless kernels; the queue, its pointer, the memory
 * bank, its normaliser Z, the RNG and every scratch buffer belong to the caller
 * (the Lua side owns them as tensors and checkpoints them) and are passed in.
 *
 *   - every fallible function returns SL_OK, or SL_ERR after
 *     sl_error("<op>: ... [shapes]"); sizes and indices are validated before
 *     anything is written; nothing aborts.
 *   - losses return the MEAN loss and, in the same call, the gradient of that
 *     mean loss w.r.t. their inputs. Gradients are WRITTEN (overwritten), as the
 *     nn losses' grad_logits; a caller that sums several terms adds them itself.
 *   - [OPTIONAL] pointers may be NULL ("not needed").
 *   - results do not depend on the number of threads: OpenMP runs over
 *     independent rows, losses are summed in fixed chunks added in order, GEMMs
 *     go through sl_gemm, random draws come from counter-based streams
 *     (tensor/random.h) derived per row.
 *   - indices are 0-based (the binding converts from Lua's 1-based).
 *
 * Worked example, one MoCo v2 step (N queries, queue of K keys, dim D):
 *
 *   // once: queue [K x D] with random unit rows; ptr = 0; scratch [N x (1+K)]
 *   sl_queue_init_random(queue, age, K, D, &rng);
 *   ...
 *   sl_l2norm_forward(q_raw, q, N, D, 1e-12f);  sl_l2norm_forward(k_raw, k, N, D, 1e-12f);
 *   sl_infonce(q, k, queue, &loss, dq, NULL, NULL, NULL, rank, work, N, K, D, 0.2f);
 *   //   top-1 pretext accuracy = mean(rank == 0), top-5 = mean(rank < 5)
 *   ... backward dq through the L2 norm, the head and the encoder, optimiser step ...
 *   sl_ema_update(params_k, params_q, n_params, 0.999f);      // key encoder
 *   sl_queue_enqueue(queue, &ptr, &count, age, K, D, k, N);    // after the loss
 *
 * With hard negatives (the paper's Figure 5) the loss uses per-query negatives:
 *   sl_hardneg_sample(q, queue, K, D, N, M, xi, omega, alpha, &rng, idx, NULL);
 *   sl_infonce_indexed(q, k, queue, idx, &loss, dq, NULL, rank, work, N, K, M, D, T);
 */
#ifndef SL_SSL_H
#define SL_SSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "tensor/random.h"

/* {=========================================================================
 * infonce.c - InfoNCE as MoCo computes it (moco/builder.py):
 *   logits[i] = [q_i . k_i, q_i . n_1, ..., q_i . n_K] / T          [N x (1+K)]
 *   loss      = mean_i cross_entropy(logits[i], target 0)
 * q and k are used as given (MoCo L2-normalises them before; do that with
 * sl_l2norm_forward and back-propagate through sl_l2norm_backward). The
 * negatives may be a ring buffer used as is: their order does not matter.
 * With G = (softmax(logits) - onehot(0)) / N:
 *   grad_q[i]  = (G[i,0] k_i + sum_j G[i,j] n_j) / T
 *   grad_k[i]  =  G[i,0] q_i / T
 *   grad_neg[j] = sum_i G[i,j] q_i / T
 * pos_rank[i] = number of logits of row i strictly greater than the positive's
 * (0 = the positive wins, i.e. pretext top-1 correct; < 5 = top-5).
 * `work` is caller-owned scratch of N*(1+K) floats (no allocation per call).
 * K = 0 is allowed (only the positive: loss 0).
 * ========================================================================= */
int sl_infonce(const float *q,     /* [N x D] queries */
               const float *k,     /* [N x D] positive keys */
               const float *neg,   /* [K x D] negatives (the queue) */
               float *loss,        /* scalar, written */
               float *grad_q,      /* [N x D], written, OPTIONAL */
               float *grad_k,      /* [N x D], written, OPTIONAL */
               float *grad_neg,    /* [K x D], written, OPTIONAL (in-batch / end-to-end variants) */
               float *logits,      /* [N x (1+K)], written, OPTIONAL: the logits, positive in column 0 */
               int64_t *pos_rank,  /* [N], written, OPTIONAL */
               float *work,        /* [N x (1+K)] scratch */
               int N, int K, int D, float T);

/* Per-query negatives: query i contrasts with its own M negatives neg[i] (hard-
 * negative mining). logits[i] = [q_i . k_i, q_i . neg[i][0..M)] / T. Same outputs;
 * grad_neg[i][j] = G[i,j] q_i / T. work: N*(1+M) floats. */
int sl_infonce_perquery(const float *q,    /* [N x D] */
                        const float *k,    /* [N x D] */
                        const float *neg,  /* [N x M x D] */
                        float *loss,       /* scalar, written */
                        float *grad_q,     /* [N x D], written, OPTIONAL */
                        float *grad_k,     /* [N x D], written, OPTIONAL */
                        float *grad_neg,   /* [N x M x D], written, OPTIONAL */
                        float *logits,     /* [N x (1+M)], written, OPTIONAL */
                        int64_t *pos_rank, /* [N], written, OPTIONAL */
                        float *work,       /* [N x (1+M)] scratch */
                        int N, int M, int D, float T);

/* The same without materialising [N x M x D]: query i's negatives are the queue
 * rows idx[i][0..M) (any order, repeats allowed, as sl_hardneg_sample returns).
 * Exactly sl_infonce_perquery on the gathered rows. No gradient w.r.t. the
 * queue (MoCo's queue is a constant). work: N*(1+M) floats. */
int sl_infonce_indexed(const float *q,      /* [N x D] */
                       const float *k,      /* [N x D] */
                       const float *queue,  /* [K x D] */
                       const int64_t *idx,  /* [N x M], each in [0, K) */
                       float *loss,         /* scalar, written */
                       float *grad_q,       /* [N x D], written, OPTIONAL */
                       float *grad_k,       /* [N x D], written, OPTIONAL */
                       int64_t *pos_rank,   /* [N], written, OPTIONAL */
                       float *work,         /* [N x (1+M)] scratch; holds the logits on return */
                       int N, int K, int M, int D, float T);
/* }========================================================================= */

/* {=========================================================================
 * ntxent.c - NT-Xent (SimCLR). Rows i and i+N of z are the two views of sample
 * i. With s_ij = z_i . z_j / T, row i's positive is p(i) = (i + N) mod 2N and its
 * negatives are the other 2N-2 rows (self-similarity masked out):
 *   loss = mean over all 2N rows of [ log sum_{j != i} exp(s_ij) - s_i,p(i) ]
 * (symmetric, mean over 2N rows, as lightly's / SupCon's NTXentLoss; SimCLR's
 * TF objective returns loss_a + loss_b, i.e. twice this). z is used as given:
 * SimCLR L2-normalises it first (sl_l2norm_forward), this kernel does not
 * require it. grad_z = (G + G^T) z / T with G = (softmax - onehot) / 2N.
 * work: (2N)*(2N) floats, caller-owned; holds the similarity logits s (with
 * the diagonal set to -inf) on return when grad_z is NULL.
 * ========================================================================= */
int sl_ntxent(const float *z,     /* [2N x D] */
              float *loss,        /* scalar, written */
              float *grad_z,      /* [2N x D], written, OPTIONAL */
              int64_t *pos_rank,  /* [2N], written, OPTIONAL: negatives scoring above the positive */
              float *work,        /* [2N x 2N] scratch */
              int N, int D, float T);
/* }========================================================================= */

/* {=========================================================================
 * queue.c - MoCo's negatives queue: a [K x D] ring buffer of keys owned by the
 * caller, with its write pointer, an OPTIONAL count of valid rows and an
 * OPTIONAL age per slot (enqueue calls since the slot was written).
 *
 * MoCo starts the queue full of random unit vectors (sl_queue_init_random) and
 * uses all K rows at once. A queue that starts empty instead: ptr = count = 0;
 * since writing starts at row 0, the valid keys are rows [0, count) until
 * count reaches K: pass (queue, count) as the negatives.
 * K need not be a multiple of the batch B: a batch that runs past row K-1
 * wraps to row 0 (the copy is split). A batch larger than K leaves only its
 * last K keys (each slot holds the newest key that was written to it).
 * ========================================================================= */
/* Rows ~ N(0, I) normalised to unit length (MoCo: randn(dim, K) normalised
 * along dim). age (OPTIONAL) is set to 0. */
int sl_queue_init_random(float *queue,   /* [K x D], written */
                         int64_t *age,   /* [K], written, OPTIONAL */
                         int K, int D, sl_rng *rng);
/* Write keys at rows ptr, ptr+1, ... (mod K); *ptr = (ptr + B) mod K;
 * *count = min(count + B, K) (OPTIONAL); every age += 1, then written slots 0. */
int sl_queue_enqueue(float *queue,        /* [K x D], updated */
                     int64_t *ptr,        /* scalar in [0, K), updated */
                     int64_t *count,      /* scalar in [0, K], updated, OPTIONAL */
                     int64_t *age,        /* [K], updated, OPTIONAL */
                     int K, int D,
                     const float *keys,   /* [B x D] */
                     int B);
/* }========================================================================= */

/* {=========================================================================
 * membank.c - InstDisc's memory bank (Wu et al. 2018, lemniscate.pytorch):
 * one D-dim entry per training image, [Nd x D].
 *
 * NCE (lib/NCEAverage.py + lib/NCECriterion.py): for feature f_b with positive
 * entry v = bank[pos[b]] and M noise entries bank[neg[b][j]],
 *   P_b0 = exp(v . f_b / T) / Z,  P_bj = exp(bank[neg[b][j]] . f_b / T) / Z
 *   loss = -(1/B) sum_b [ log(P_b0 / (P_b0 + M Pn + eps))
 *                        + sum_j log(M Pn / (P_bj + M Pn + eps)) ],  Pn = 1/Nd, eps = 1e-7
 * Z: if *Z <= 0 on entry it is estimated from this batch as in lemniscate,
 *   Z = mean over all B*(1+M) of exp(s/T) * Nd, and written back; the caller
 *   keeps it (a checkpointed scalar) and passes it unchanged afterwards.
 * grad_feat treats Z as a constant (as lemniscate's NCEFunction.backward):
 *   d loss / d s_b0 = -(M Pn + eps) / (P_b0 + M Pn + eps) / (T B)
 *   d loss / d s_bj = P_bj / (P_bj + M Pn + eps) / (T B)
 * lemniscate draws the noise indices uniformly over [0, Nd) (the positive
 * itself may be drawn): sl_membank_sample does the same.
 *
 * Full softmax (lib/LinearAverage.py + nn.CrossEntropyLoss, --nce-k 0):
 *   loss = mean_b cross_entropy(f_b . bank^T / T, target pos[b])
 *
 * Neither loss has a gradient w.r.t. the bank (it is a buffer); the bank moves
 * by sl_membank_update after the step, with the features of the batch.
 * ========================================================================= */
/* lemniscate's initialisation: uniform in [-s, s], s = 1 / sqrt(D / 3) (not
 * unit rows). For unit rows use sl_queue_init_random on the bank. */
int sl_membank_init(float *bank, /* [Nd x D], written */ int64_t Nd, int D, sl_rng *rng);
/* v = m v + (1 - m) f, then v /= ||v|| (left as is when ||v|| = 0), for each
 * bank row idx[b]. As lemniscate (index_copy_), repeated indices use the old
 * row and the last occurrence wins. */
int sl_membank_update(float *bank,          /* [Nd x D], updated */
                      const int64_t *idx,   /* [B], each in [0, Nd) */
                      const float *feat,    /* [B x D] */
                      int64_t Nd, int D, int B, float m);
/* neg[b][j] uniform in [0, Nd), with replacement; deterministic given rng
 * (draw (b, j) comes from a stream derived from (rng, b), so the result does
 * not depend on threads); rng advances by one draw. */
int sl_membank_sample(int64_t *neg,   /* [B x M], written */
                      int B, int M, int64_t Nd, sl_rng *rng);
int sl_membank_nce(const float *feat,    /* [B x D] */
                   const float *bank,    /* [Nd x D] */
                   const int64_t *pos,   /* [B], each in [0, Nd) */
                   const int64_t *neg,   /* [B x M], each in [0, Nd) */
                   float *Z,             /* scalar, read; estimated and written when <= 0 */
                   float *loss,          /* scalar, written */
                   float *grad_feat,     /* [B x D], written, OPTIONAL */
                   float *prob,          /* [B x (1+M)], written, OPTIONAL: P (positive in column 0) */
                   int64_t Nd, int D, int B, int M, float T);
int sl_membank_softmax(const float *feat,   /* [B x D] */
                       const float *bank,   /* [Nd x D] */
                       const int64_t *pos,  /* [B], each in [0, Nd) */
                       float *loss,         /* scalar, written */
                       float *grad_feat,    /* [B x D], written, OPTIONAL */
                       int64_t *pos_rank,   /* [B], written, OPTIONAL */
                       float *work,         /* [B x Nd] scratch; the logits on return if grad_feat is NULL */
                       int64_t Nd, int D, int B, float T);
/* }========================================================================= */

/* {=========================================================================
 * ema.c - the momentum (key) encoder update over flat buffers.
 *   sl_ema_update: target = m * target + (1 - m) * source   (MoCo: m = 0.999)
 *   sl_ema_copy:   target = source
 * What MoCo does (moco/builder.py _momentum_update_key_encoder): only the
 * key encoder's PARAMETERS move with momentum. Its BatchNorm running
 * statistics are buffers that are neither averaged nor copied: they come from
 * the key encoder's own forward passes in training mode. At construction
 * MoCo copies the parameters once (param_k.data.copy_(param_q.data)), which
 * is sl_ema_copy (or sl_ema_update with m = 0). Recipes that prefer to track
 * the query's BN statistics (as some BYOL code does) can sl_ema_copy or
 * sl_ema_update the buffers too.
 * sl_ema_update has the semantics of optim.h's sl_param_ema (it calls it).
 * ========================================================================= */
int sl_ema_update(float *target,        /* [n], updated */
                  const float *source,  /* [n] */
                  int64_t n, float m);
int sl_ema_copy(float *target,          /* [n], written */
                const float *source,    /* [n] */
                int64_t n);
/* BYOL / solo-learn cosine schedule of the momentum, step in [0, total]:
 *   m = 1 - (1 - m0) (cos(pi step / total) + 1) / 2     (m0 at 0, 1 at total) */
double sl_ema_cosine_momentum(double m0, int64_t step, int64_t total);
/* }========================================================================= */

/* {=========================================================================
 * hardneg.c - dynamic hard-negative sampling from the queue (the paper's
 * Figure 5). For each query the K keys are ranked by cosine similarity,
 * descending (rank 0 = the most similar = the hardest negative; ties by lower
 * index), and M ranks are drawn WITH replacement from a skew-normal
 * distribution over the rank fraction x = rank / K in [0, 1):
 *   x = xi + omega * z,  z ~ SN(alpha)   (Azzalini: z = delta |u0| + sqrt(1-delta^2) v,
 *                                          u0, v ~ N(0,1), delta = alpha / sqrt(1+alpha^2))
 *   rank = floor(x K)
 * xi (location), omega > 0 (scale) and alpha (shape) are in rank-fraction
 * units, so they do not depend on K. E.g. xi 0, omega 0.3, alpha 4: most draws
 * among the top ~30% (hard and semi-hard), few easy ones; alpha 0 with a large
 * omega is close to uniform. The distribution is TRUNCATED to [0, 1): rank r is
 * drawn with probability proportional to the skew-normal density integrated
 * over [r/K, (r+1)/K) (sl_hardneg_rank_probs), which is exactly "draw x,
 * redraw while x is outside [0, 1)" without a rejection loop. If no mass at all
 * is representable inside [0, 1) (e.g. xi = 50), every draw is the end nearer
 * the distribution's mean (rank 0 or K-1). M may equal K ("over-sampling so
 * that each query still contrasts with K negatives").
 * Each query's draws come from a stream derived from (rng seed, rng counter,
 * query), so results are deterministic and independent of the thread count;
 * the call advances rng by one draw.
 * ========================================================================= */
/* One skew-normal draw x = xi + omega z (no truncation); advances rng. */
double sl_skewnorm_draw(sl_rng *rng, double xi, double omega, double alpha);
/* The untruncated distribution's mean, variance and skewness (OPTIONAL outputs):
 *   mean = xi + omega delta sqrt(2/pi),  var = omega^2 (1 - 2 delta^2 / pi),
 *   skew = (4 - pi)/2 (delta sqrt(2/pi))^3 / (1 - 2 delta^2/pi)^(3/2) */
void sl_skewnorm_moments(double xi, double omega, double alpha, double *mean, double *var, double *skew);
/* The probability of each rank under the truncated distribution (sums to 1):
 * what sl_hardneg_sample draws from (for plots and tests). */
int sl_hardneg_rank_probs(double *prob, /* [K], written */ int K, double xi, double omega, double alpha);
/* Ranks the queue for each query and draws M negatives per query.
 * idx[i][j] is a 0-based queue row; ranks (OPTIONAL) the drawn rank of it.
 * Queries and keys need not be normalised (cosine uses the key norms; the
 * query norm does not change a ranking). Allocates scratch (sl_malloc) of
 * about (4 * 65 + 8 + 16 * threads) K bytes. */
int sl_hardneg_sample(const float *q,      /* [N x D] */
                      const float *queue,  /* [K x D] (pass the valid rows only) */
                      int K, int D, int N, int M,
                      double xi, double omega, double alpha,
                      sl_rng *rng,
                      int64_t *idx,        /* [N x M], written */
                      int64_t *ranks);     /* [N x M], written, OPTIONAL */
/* neg[i][j] = queue[idx[i][j]]: the per-query negatives for sl_infonce_perquery
 * (sl_infonce_indexed needs no gather). */
int sl_hardneg_gather(const float *queue,   /* [K x D] */
                      const int64_t *idx,   /* [N x M], each in [0, K) */
                      float *neg,           /* [N x M x D], written */
                      int K, int D, int N, int M);
/* }========================================================================= */

#endif
