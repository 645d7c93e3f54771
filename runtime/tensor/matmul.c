/* matmul.c - matmul, addmm and bmm over the one GEMM wrapper (see matmul.h). */
#include "tensor/matmul.h"

#include <string.h>

#include "tensor/elementwise.h"
#include "tensor/gemm.h"
#include "tensor/view.h"

/* How BLAS can read a 2-d view: as stored (trans=false, ld = row stride) or
 * transposed (trans=true, ld = column stride). Returns false if neither. */
static bool blas_layout(const sl_tensor *m, bool *trans, int *ld)
{
    int64_t rows = m->size[0], cols = m->size[1], rs = m->stride[0], cs = m->stride[1];
    if ((cs == 1 || cols == 1) && (rs >= (cols > 1 ? cols : 1) || rows == 1)) {
        *trans = false;
        *ld = (int)(rows == 1 ? (cols > 1 ? cols : 1) : rs);
        return *ld <= INT32_MAX;
    }
    if ((rs == 1 || rows == 1) && (cs >= (rows > 1 ? rows : 1) || cols == 1)) {
        *trans = true;
        *ld = (int)(cols == 1 ? (rows > 1 ? rows : 1) : cs);
        return *ld <= INT32_MAX;
    }
    return false;
}

static int check_f32(const char *op, const sl_tensor *t)
{
    char b[128];
    if (t->dtype != SL_FLOAT32)
        return sl_error("%s: needs float32 tensors, got %s %s", op, sl_dtype_name(t->dtype),
                        sl_shape_str(t, b, sizeof b));
    return SL_OK;
}

/* out[M x N] = beta*out + alpha*a@b with all three 2-d views. */
static int gemm_2d(sl_tensor *out, float beta, float alpha, const sl_tensor *a, const sl_tensor *b)
{
    bool ta, tb, to;
    int lda, ldb, ldc;
    int M = (int)a->size[0], K = (int)a->size[1], N = (int)b->size[1];
    sl_tensor *ac = NULL, *bc = NULL, *oc = NULL;
    if (!blas_layout(a, &ta, &lda)) {
        if (!(ac = sl_tensor_clone_new(a))) return SL_ERR;
        a = ac, ta = false, lda = K > 1 ? K : 1;
    }
    if (!blas_layout(b, &tb, &ldb)) {
        if (!(bc = sl_tensor_clone_new(b))) goto fail;
        b = bc, tb = false, ldb = N > 1 ? N : 1;
    }
    sl_tensor *o = out;
    if (!blas_layout(out, &to, &ldc) || to) { /* C must be row-major for cblas */
        if (!(oc = sl_tensor_clone_new(out))) goto fail;
        o = oc, ldc = N > 1 ? N : 1;
    }
    if (K == 0) {
        if (beta == 0) sl_tensor_fill(o, 0);
        else if (beta != 1) sl_tensor_binary_scalar(SL_OP_MUL, o, beta, false, o, NULL);
    } else {
        sl_gemm(ta, tb, M, N, K, alpha, sl_f32(a), lda, sl_f32(b), ldb, beta, sl_f32(o), ldc);
    }
    if (oc) sl_tensor_copy(out, oc);
    sl_tensor_free(ac), sl_tensor_free(bc), sl_tensor_free(oc);
    return SL_OK;
fail:
    sl_tensor_free(ac), sl_tensor_free(bc), sl_tensor_free(oc);
    return SL_ERR;
}

int sl_tensor_addmm(sl_tensor *out, float beta, float alpha, const sl_tensor *a, const sl_tensor *b)
{
    char sa[128], sb[128], so[128];
    if (check_f32("addmm", a) || check_f32("addmm", b) || check_f32("addmm", out)) return SL_ERR;
    if (a->ndim != 2 || b->ndim != 2 || out->ndim != 2)
        return sl_error("addmm: needs 2-d tensors, got %s @ %s into %s", sl_shape_str(a, sa, sizeof sa),
                        sl_shape_str(b, sb, sizeof sb), sl_shape_str(out, so, sizeof so));
    if (a->size[1] != b->size[0])
        return sl_error("addmm: %s @ %s: inner sizes %lld and %lld differ", sl_shape_str(a, sa, sizeof sa),
                        sl_shape_str(b, sb, sizeof sb), (long long)a->size[1], (long long)b->size[0]);
    if (out->size[0] != a->size[0] || out->size[1] != b->size[1])
        return sl_error("addmm: %s @ %s does not fit output %s", sl_shape_str(a, sa, sizeof sa),
                        sl_shape_str(b, sb, sizeof sb), sl_shape_str(out, so, sizeof so));
    if (a->size[0] > INT32_MAX || a->size[1] > INT32_MAX || b->size[1] > INT32_MAX)
        return sl_error("addmm: sizes beyond 2^31 are not supported");
    return gemm_2d(out, beta, alpha, a, b);
}

/* Matrix i of a batched view: select the batch index, keep the last two dims. */
static sl_tensor matrix_of(const sl_tensor *t, const int64_t *batch_index, int nbatch)
{
    sl_tensor m = *t;
    int tb = t->ndim - 2; /* batch dims of t, right-aligned against nbatch */
    for (int d = 0; d < tb; d++) {
        int64_t i = batch_index[nbatch - tb + d];
        if (t->size[d] == 1) i = 0;
        m.offset += i * t->stride[d];
    }
    m.ndim = 2;
    m.size[0] = t->size[tb], m.size[1] = t->size[tb + 1];
    m.stride[0] = t->stride[tb], m.stride[1] = t->stride[tb + 1];
    return m;
}

sl_tensor *sl_tensor_matmul_new(const sl_tensor *a, const sl_tensor *b)
{
    char sa[128], sb[128];
    if (check_f32("matmul", a) || check_f32("matmul", b)) return NULL;
    if (a->ndim == 0 || b->ndim == 0) {
        sl_error("matmul: needs tensors with at least one dim, got %s @ %s", sl_shape_str(a, sa, sizeof sa),
                 sl_shape_str(b, sb, sizeof sb));
        return NULL;
    }
    /* Promote 1-d operands to matrices (removed from the result below). */
    sl_tensor A = *a, B = *b;
    if (a->ndim == 1) {
        A.ndim = 2, A.size[0] = 1, A.size[1] = a->size[0], A.stride[0] = a->size[0], A.stride[1] = a->stride[0];
    }
    if (b->ndim == 1) {
        B.ndim = 2, B.size[0] = b->size[0], B.size[1] = 1, B.stride[0] = b->stride[0], B.stride[1] = 1;
    }
    int64_t M = A.size[A.ndim - 2], K = A.size[A.ndim - 1], K2 = B.size[B.ndim - 2], N = B.size[B.ndim - 1];
    if (K != K2) {
        sl_error("matmul: %s @ %s: inner sizes %lld and %lld differ", sl_shape_str(a, sa, sizeof sa),
                 sl_shape_str(b, sb, sizeof sb), (long long)K, (long long)K2);
        return NULL;
    }
    /* Broadcast batch dims. */
    int nba = A.ndim - 2, nbb = B.ndim - 2, nb = nba > nbb ? nba : nbb;
    int64_t bsize[SL_MAX_DIMS];
    int64_t nbatch = 1;
    for (int i = 0; i < nb; i++) {
        int da = nba - nb + i, db = nbb - nb + i;
        int64_t xa = da >= 0 ? A.size[da] : 1, xb = db >= 0 ? B.size[db] : 1;
        if (xa != xb && xa != 1 && xb != 1) {
            sl_error("matmul: %s @ %s: batch dims %lld and %lld differ", sl_shape_str(a, sa, sizeof sa),
                     sl_shape_str(b, sb, sizeof sb), (long long)xa, (long long)xb);
            return NULL;
        }
        bsize[i] = xa > xb ? xa : xb;
        nbatch *= bsize[i];
    }
    if (nb + 2 > SL_MAX_DIMS) {
        sl_error("matmul: too many dims");
        return NULL;
    }
    int64_t osize[SL_MAX_DIMS];
    memcpy(osize, bsize, (size_t)nb * sizeof *bsize);
    osize[nb] = M, osize[nb + 1] = N;
    sl_tensor *out = sl_tensor_new(SL_FLOAT32, nb + 2, osize);
    if (!out) return NULL;
    int64_t idx[SL_MAX_DIMS] = {0};
    for (int64_t k = 0; k < nbatch; k++) {
        sl_tensor ma = matrix_of(&A, idx, nb), mb = matrix_of(&B, idx, nb), mo = matrix_of(out, idx, nb);
        if (sl_tensor_addmm(&mo, 0.0f, 1.0f, &ma, &mb) != SL_OK) {
            sl_tensor_free(out);
            return NULL;
        }
        for (int d = nb - 1; d >= 0 && ++idx[d] == bsize[d]; d--) idx[d] = 0;
    }
    /* Drop the dims added for 1-d operands: N first (the last dim), then M. */
    if (b->ndim == 1) out->ndim--;
    if (a->ndim == 1) {
        for (int d = nb; d < out->ndim - 1; d++) out->size[d] = out->size[d + 1], out->stride[d] = out->stride[d + 1];
        out->ndim--;
    }
    return out;
}

sl_tensor *sl_tensor_bmm_new(const sl_tensor *a, const sl_tensor *b)
{
    char sa[128], sb[128];
    if (a->ndim != 3 || b->ndim != 3 || a->size[0] != b->size[0]) {
        sl_error("bmm: needs [B x M x K] @ [B x K x N], got %s @ %s", sl_shape_str(a, sa, sizeof sa),
                 sl_shape_str(b, sb, sizeof sb));
        return NULL;
    }
    return sl_tensor_matmul_new(a, b);
}
