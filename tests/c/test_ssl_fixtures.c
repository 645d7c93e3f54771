/* test_ssl_fixtures.c - the ssl losses against PyTorch golden files written by
 * tools/make_fixtures.py (tests/fixtures/ssl_*.safetensors): MoCo's InfoNCE
 * (shared and per-query negatives), SimCLR's NT-Xent, lemniscate's NCE and
 * full-softmax memory-bank losses and the bank update. Forward values must
 * agree to a relative error of 1e-4, gradients to 1e-3 (relative to the
 * largest magnitude of the reference tensor); the largest difference is
 * printed on failure. The fixtures are found beside this file
 * (__FILE__/../fixtures) or in $SSLAB_TEST_DIR/fixtures. */
#include <stdlib.h>

#include "io/safetensors.h"
#include "nn_testutil.h"
#include "ssl/ssl.h"

static sl_safetensors *load(const char *name)
{
    char path[4096];
    const char *dir = getenv("SSLAB_TEST_DIR");
    if (dir) {
        snprintf(path, sizeof path, "%s/fixtures/%s", dir, name);
    } else {
        const char *f = __FILE__, *slash = strrchr(f, '/');
        int n = slash ? (int)(slash - f) : 1;
        snprintf(path, sizeof path, "%.*s/../fixtures/%s", n, slash ? f : ".", name);
    }
    sl_safetensors *st = NULL;
    if (sl_safetensors_load(path, &st) != SL_OK) {
        fprintf(stderr, "  cannot load %s: %s\n", path, sl_last_error());
        CHECK(0);
        return NULL;
    }
    return st;
}

/* Tensor `name` as a float or int64 pointer, checking its element count. */
static void *get(const sl_safetensors *st, const char *name, sl_dtype dt, int64_t numel)
{
    const sl_tensor *t = sl_safetensors_get(st, name);
    if (!t || t->dtype != dt || sl_tensor_numel(t) != numel) {
        fprintf(stderr, "  fixture tensor '%s': missing or not %s with %lld elements\n", name, sl_dtype_name(dt),
                (long long)numel);
        CHECK(0);
        return NULL;
    }
    return sl_tensor_data(t);
}

static int64_t dim(const sl_safetensors *st, const char *name, int d)
{
    const sl_tensor *t = sl_safetensors_get(st, name);
    return t && d < t->ndim ? t->size[d] : 0;
}

/* max |got - want| <= rtol * max(|want|), reporting the largest difference. */
static int rel_close(const char *what, const float *got, const float *want, int64_t n, double rtol)
{
    double scale = 0, worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - want[i]);
        if (d > worst || d != d) { worst = d != d ? INFINITY : d; at = i; }
    }
    if (!(worst <= rtol * scale)) {
        fprintf(stderr, "  %s: largest difference %.3g at [%lld] (got %.9g, want %.9g), allowed %.3g (rtol %g x %.3g)\n",
                what, worst, (long long)at, got[at], want[at], rtol * scale, rtol, scale);
        return 0;
    }
    return 1;
}
#define CHECK_REL(what, got, want, n, rtol) CHECK(rel_close(what, got, want, n, rtol))

static void test_infonce(void)
{
    sl_safetensors *st = load("ssl_infonce.safetensors");
    if (!st) return;
    const int N = (int)dim(st, "q", 0), D = (int)dim(st, "q", 1), K = (int)dim(st, "queue", 0);
    const int M = (int)dim(st, "pq_neg", 1);
    float *q = get(st, "q", SL_FLOAT32, N * D), *k = get(st, "k", SL_FLOAT32, N * D);
    float *queue = get(st, "queue", SL_FLOAT32, K * D), *T = get(st, "T", SL_FLOAT32, 1);
    float *loss_ref = get(st, "loss", SL_FLOAT32, 1), *logits_ref = get(st, "logits", SL_FLOAT32, N * (1 + K));
    float *gq_ref = get(st, "grad_q", SL_FLOAT32, N * D), *gk_ref = get(st, "grad_k", SL_FLOAT32, N * D);
    float *pq_neg = get(st, "pq_neg", SL_FLOAT32, N * M * D), *pq_loss = get(st, "pq_loss", SL_FLOAT32, 1);
    float *pq_gq = get(st, "pq_grad_q", SL_FLOAT32, N * D), *pq_gk = get(st, "pq_grad_k", SL_FLOAT32, N * D);
    float *pq_gn = get(st, "pq_grad_neg", SL_FLOAT32, N * M * D);
    if (q && k && queue && T && loss_ref && logits_ref && gq_ref && gk_ref && pq_neg && pq_loss && pq_gq && pq_gk &&
        pq_gn) {
        float *work = tu_zeros(N * (1 + K)), *logits = tu_zeros(N * (1 + K)), *gq = tu_zeros(N * D);
        float *gk = tu_zeros(N * D), *gn = tu_zeros(N * M * D), loss;
        CHECK(sl_infonce(q, k, queue, &loss, gq, gk, NULL, logits, NULL, work, N, K, D, T[0]) == SL_OK);
        CHECK_REL("infonce loss", &loss, loss_ref, 1, 1e-4);
        CHECK_REL("infonce logits", logits, logits_ref, N * (1 + K), 1e-4);
        CHECK_REL("infonce grad_q", gq, gq_ref, N * D, 1e-3);
        CHECK_REL("infonce grad_k", gk, gk_ref, N * D, 1e-3);
        CHECK(sl_infonce_perquery(q, k, pq_neg, &loss, gq, gk, gn, NULL, NULL, work, N, M, D, T[0]) == SL_OK);
        CHECK_REL("perquery loss", &loss, pq_loss, 1, 1e-4);
        CHECK_REL("perquery grad_q", gq, pq_gq, N * D, 1e-3);
        CHECK_REL("perquery grad_k", gk, pq_gk, N * D, 1e-3);
        CHECK_REL("perquery grad_neg", gn, pq_gn, N * M * D, 1e-3);
        sl_free(work); sl_free(logits); sl_free(gq); sl_free(gk); sl_free(gn);
    }
    sl_safetensors_free(st);
}

static void test_ntxent(void)
{
    sl_safetensors *st = load("ssl_ntxent.safetensors");
    if (!st) return;
    const int R = (int)dim(st, "z", 0), D = (int)dim(st, "z", 1), N = R / 2;
    float *z = get(st, "z", SL_FLOAT32, R * D), *T = get(st, "T", SL_FLOAT32, 1);
    float *loss_ref = get(st, "loss", SL_FLOAT32, 1), *simclr = get(st, "loss_simclr", SL_FLOAT32, 1);
    float *g_ref = get(st, "grad", SL_FLOAT32, R * D);
    if (z && T && loss_ref && simclr && g_ref) {
        float *work = tu_zeros(R * R), *g = tu_zeros(R * D), loss;
        CHECK(sl_ntxent(z, &loss, g, NULL, work, N, D, T[0]) == SL_OK);
        CHECK_REL("ntxent loss", &loss, loss_ref, 1, 1e-4);
        float twice = 2 * loss;
        CHECK_REL("ntxent loss x 2 = SimCLR's loss_a + loss_b", &twice, simclr, 1, 1e-4);
        CHECK_REL("ntxent grad", g, g_ref, R * D, 1e-3);
        sl_free(work); sl_free(g);
    }
    sl_safetensors_free(st);
}

static void test_membank(void)
{
    sl_safetensors *st = load("ssl_membank.safetensors");
    if (!st) return;
    const int B = (int)dim(st, "features", 0), D = (int)dim(st, "features", 1), M = (int)dim(st, "neg", 1);
    const int64_t Nd = dim(st, "bank", 0);
    float *feat = get(st, "features", SL_FLOAT32, B * D), *bank = get(st, "bank", SL_FLOAT32, Nd * D);
    int64_t *pos = get(st, "pos", SL_INT64, B), *neg = get(st, "neg", SL_INT64, B * M);
    float *T = get(st, "T", SL_FLOAT32, 1), *Zref = get(st, "Z", SL_FLOAT32, 1);
    float *nce_loss = get(st, "nce_loss", SL_FLOAT32, 1), *nce_prob = get(st, "nce_prob", SL_FLOAT32, B * (1 + M));
    float *nce_grad = get(st, "nce_grad", SL_FLOAT32, B * D);
    float *sm_loss = get(st, "softmax_loss", SL_FLOAT32, 1), *sm_grad = get(st, "softmax_grad", SL_FLOAT32, B * D);
    float *mom = get(st, "momentum", SL_FLOAT32, 1), *updated = get(st, "bank_updated", SL_FLOAT32, Nd * D);
    if (feat && bank && pos && neg && T && Zref && nce_loss && nce_prob && nce_grad && sm_loss && sm_grad && mom &&
        updated) {
        float *g = tu_zeros(B * D), *prob = tu_zeros(B * (1 + M)), *work = tu_zeros(B * Nd), Z = 0, loss;
        /* first batch: Z estimated as lemniscate does */
        CHECK(sl_membank_nce(feat, bank, pos, neg, &Z, &loss, g, prob, Nd, D, B, M, T[0]) == SL_OK);
        CHECK_REL("nce Z", &Z, Zref, 1, 1e-4);
        CHECK_REL("nce loss", &loss, nce_loss, 1, 1e-4);
        CHECK_REL("nce P", prob, nce_prob, B * (1 + M), 1e-4);
        CHECK_REL("nce grad", g, nce_grad, B * D, 1e-3);
        /* later batches: Z given */
        Z = Zref[0];
        CHECK(sl_membank_nce(feat, bank, pos, neg, &Z, &loss, g, NULL, Nd, D, B, M, T[0]) == SL_OK);
        CHECK(Z == Zref[0]);
        CHECK_REL("nce loss (Z given)", &loss, nce_loss, 1, 1e-4);
        CHECK(sl_membank_softmax(feat, bank, pos, &loss, g, NULL, work, Nd, D, B, T[0]) == SL_OK);
        CHECK_REL("softmax loss", &loss, sm_loss, 1, 1e-4);
        CHECK_REL("softmax grad", g, sm_grad, B * D, 1e-3);
        float *b2 = tu_copy(bank, Nd * D);
        CHECK(sl_membank_update(b2, pos, feat, Nd, D, B, mom[0]) == SL_OK);
        CHECK_REL("bank update", b2, updated, Nd * D, 1e-4);
        sl_free(g); sl_free(prob); sl_free(work); sl_free(b2);
    }
    sl_safetensors_free(st);
}

int main(void)
{
    RUN(test_infonce);
    RUN(test_ntxent);
    RUN(test_membank);
    return test_summary();
}
