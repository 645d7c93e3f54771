/* knn.c - weighted kNN scores (see knn.h). */
#include "eval/knn.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/alloc.h"
#include "tensor/gemm.h"

enum { BLOCK = 256 };

/* Copy rows with unit L2 norm (zero rows stay zero). */
static void normalise_rows(const float *src, float *dst, int64_t n, int D)
{
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int d = 0; d < D; d++) s += (double)src[i * D + d] * src[i * D + d];
        float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (int d = 0; d < D; d++) dst[i * D + d] = src[i * D + d] * inv;
    }
}

/* Keep the k largest (value, index) in a min-heap of size k. */
static void heap_push(float *hv, int64_t *hi, int *size, int k, float v, int64_t idx)
{
    int pos;
    if (*size < k) {
        pos = (*size)++;
        while (pos > 0 && hv[(pos - 1) / 2] > v) {
            hv[pos] = hv[(pos - 1) / 2], hi[pos] = hi[(pos - 1) / 2];
            pos = (pos - 1) / 2;
        }
    } else {
        if (!(v > hv[0])) return;
        pos = 0;
        for (;;) { /* sift down from the root */
            int l = 2 * pos + 1, r = l + 1, m = pos;
            float mv = v;
            if (l < k && hv[l] < mv) m = l, mv = hv[l];
            if (r < k && hv[r] < mv) m = r;
            if (m == pos) break;
            hv[pos] = hv[m], hi[pos] = hi[m];
            pos = m;
        }
    }
    hv[pos] = v, hi[pos] = idx;
}

int sl_knn_scores(const float *train, const int64_t *train_labels, const float *test, float *scores, int64_t Ntr,
                  int64_t Nte, int D, int C, int k, float T)
{
    if (Ntr < 1 || Nte < 0 || D < 1 || C < 1) return sl_error("knn: empty inputs (train %lld x %d, %d classes)",
                                                            (long long)Ntr, D, C);
    if (k < 1) return sl_error("knn: k must be >= 1, got %d", k);
    if (!(T > 0)) return sl_error("knn: temperature must be positive, got %g", T);
    for (int64_t j = 0; j < Ntr; j++)
        if (train_labels[j] < 0 || train_labels[j] >= C)
            return sl_error("knn: training label %lld (row %lld) outside [1, %d]", (long long)train_labels[j] + 1,
                            (long long)j + 1, C);
    if (k > Ntr) k = (int)Ntr;
    int threads = omp_get_max_threads();
    float *tr = sl_malloc((size_t)Ntr * D * sizeof(float));
    float *te = sl_malloc((size_t)(Nte > 0 ? Nte : 1) * D * sizeof(float));
    float *sim = sl_malloc((size_t)BLOCK * Ntr * sizeof(float));
    float *hv = sl_malloc((size_t)threads * k * sizeof(float));
    int64_t *hi = sl_malloc((size_t)threads * k * sizeof(int64_t));
    if (!tr || !te || !sim || !hv || !hi) {
        sl_free(tr), sl_free(te), sl_free(sim), sl_free(hv), sl_free(hi);
        return SL_ERR;
    }
    normalise_rows(train, tr, Ntr, D);
    normalise_rows(test, te, Nte, D);
    for (int64_t b0 = 0; b0 < Nte; b0 += BLOCK) {
        int nb = (int)(Nte - b0 < BLOCK ? Nte - b0 : BLOCK);
        sl_gemm(false, true, nb, (int)Ntr, D, 1.0f, te + b0 * D, D, tr, D, 0.0f, sim, (int)Ntr);
        #pragma omp parallel for schedule(static)
        for (int i = 0; i < nb; i++) {
            int t = omp_get_thread_num();
            float *v = hv + (size_t)t * k;
            int64_t *ix = hi + (size_t)t * k;
            int size = 0;
            const float *row = sim + (int64_t)i * Ntr;
            for (int64_t j = 0; j < Ntr; j++) heap_push(v, ix, &size, k, row[j], j);
            float *out = scores + (b0 + i) * C;
            memset(out, 0, (size_t)C * sizeof(float));
            for (int m = 0; m < size; m++) out[train_labels[ix[m]]] += expf(v[m] / T);
        }
    }
    sl_free(tr), sl_free(te), sl_free(sim), sl_free(hv), sl_free(hi);
    return SL_OK;
}
