/* ntxent.c - NT-Xent, SimCLR's contrastive loss over 2N rows (see ssl.h).
 * s = z z^T / T by sl_gemm into the caller's [2N x 2N] scratch, the diagonal set
 * to -inf (masked), one cross-entropy per row with target (i + N) mod 2N, mean
 * over the 2N rows. The row gradients G are symmetrised in place (G + G^T,
 * serial, fixed order) so that grad_z = (G + G^T) z / T is a single GEMM.
 */
#include "ssl/ssl.h"

#include "ssl/rows.h"
#include "tensor/gemm.h"

int sl_ntxent(const float *z, float *loss, float *grad_z, int64_t *pos_rank, float *work, int N, int D, float T)
{
    if (N < 1 || D < 1) return sl_error("ntxent: sizes must be positive, z [%dx%d] (2N x D)", 2 * N, D);
    if (N > 23000) return sl_error("ntxent: z [%dx%d]: the [2Nx2N] similarity matrix is too large", 2 * N, D);
    if (!z || !loss || !work) return sl_error("ntxent: NULL z, loss or work (z [%dx%d])", 2 * N, D);
    if (!(T > 0.0f) || !isfinite(T)) return sl_error("ntxent: temperature %g must be positive", (double)T);

    const int R = 2 * N;
    const float invT = 1.0f / T;
    sl_gemm(false, true, R, R, D, invT, z, D, z, D, 0.0f, work, R);
    for (int i = 0; i < R; i++) work[(int64_t)i * R + i] = -INFINITY;

    int64_t chunk;
    const int nchunks = ssl_nchunks(R, &chunk);
    double partial[SSL_MAX_CHUNKS];
    const double invR = 1.0 / R;
#pragma omp parallel for schedule(static) if ((int64_t)R * R > SSL_PAR_MIN)
    for (int c = 0; c < nchunks; c++) {
        double acc = 0.0;
        const int64_t i1 = (c + 1) * chunk < R ? (c + 1) * chunk : R;
        for (int64_t i = c * chunk; i < i1; i++) {
            float *s = work + i * R;
            const int64_t p = (i + N) % R;
            acc += ssl_row_ce(s, R, p, grad_z ? s : NULL, invR, pos_rank ? pos_rank + i : NULL);
        }
        partial[c] = acc;
    }
    double total = 0.0;
    for (int c = 0; c < nchunks; c++) total += partial[c];
    *loss = (float)(total * invR);
    if (!grad_z) return SL_OK;

    /* diagonal gradients are exactly 0 (exp(-inf) = 0); symmetrise */
    for (int i = 0; i < R; i++)
        for (int j = i + 1; j < R; j++) {
            const float s = work[(int64_t)i * R + j] + work[(int64_t)j * R + i];
            work[(int64_t)i * R + j] = s;
            work[(int64_t)j * R + i] = s;
        }
    sl_gemm(false, false, R, D, R, invT, work, R, z, D, 0.0f, grad_z, D);
    return SL_OK;
}
