/* knn.h - the weighted kNN classifier used to monitor representations
 * (InstDisc / MoCo's CIFAR demo / solo-learn): cosine similarity between
 * L2-normalised features, the k most similar training samples vote with
 * weight exp(sim / T) for their class; the prediction ranks the classes by
 * their summed weight.
 */
#ifndef SL_EVAL_KNN_H
#define SL_EVAL_KNN_H

#include <stdint.h>

#include "core/error.h"

/* scores[i][c] = sum over the k nearest training rows j of test row i with
 * label c of exp(cos(test_i, train_j) / T). Features need not be normalised
 * (rows are normalised internally). Labels are 0-based in [0, C).
 * Work runs in blocks of test rows (sl_gemm per block), OpenMP over rows. */
int sl_knn_scores(const float *train,          /* [Ntr x D] */
                  const int64_t *train_labels, /* [Ntr] */
                  const float *test,           /* [Nte x D] */
                  float *scores,               /* [Nte x C], written */
                  int64_t Ntr, int64_t Nte, int D, int C, int k, float T);

#endif
