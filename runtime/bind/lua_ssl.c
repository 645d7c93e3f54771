/* lua_ssl.c - core.ssl and core.eval: the contrastive-learning kernels of
 * runtime/ssl/ and the kNN scorer of runtime/eval/ on tensors.
 *
 * These are the raw kernels; lua/sslab/ssl.lua wraps them in objects that own
 * their buffers. Every function checks dtype, contiguity and shapes and names
 * them in its errors; outputs and scratch are tensors passed in, so a
 * training step allocates nothing. Positions that come from the Lua user
 * (dataset indices, labels) are 1-based; index tensors produced and consumed
 * only by these kernels (hard-negative and memory-bank draws) stay 0-based.
 */
#include <string.h>

#include "bind.h"
#include "core/alloc.h"
#include "eval/knn.h"
#include "ssl/ssl.h"
#include "tensor/random.h"

/* A float32 (or int64) contiguous tensor of exactly these sizes (-1: any). */
static sl_tensor *arg(lua_State *L, int idx, const char *op, const char *name, sl_dtype dt, int ndim,
                      const int64_t *size)
{
    sl_tensor *t = sl_lua_check_tensor(L, idx);
    char what[96];
    snprintf(what, sizeof what, "%s: %s", op, name);
    sl_lua_check(L, sl_tensor_check(t, what, dt, ndim, size));
    if (!sl_tensor_is_contiguous(t)) {
        char b[128];
        luaL_error(L, "%s: %s %s must be contiguous", op, name, sl_shape_str(t, b, sizeof b));
    }
    return t;
}

static sl_tensor *opt_arg(lua_State *L, int idx, const char *op, const char *name, sl_dtype dt, int ndim,
                          const int64_t *size)
{
    return lua_isnoneornil(L, idx) ? NULL : arg(L, idx, op, name, dt, ndim, size);
}

#define F32(t) ((t) ? sl_f32(t) : NULL)
#define I64(t) ((t) ? sl_i64(t) : NULL)

/* Push loss and, when the rank of each positive was asked for, the top-1 pretext
 * accuracy (the fraction with rank 0; counted here so a training step allocates
 * no temporaries for it). Returns the number of results. */
static int push_loss_top1(lua_State *L, float loss, const sl_tensor *rank)
{
    lua_pushnumber(L, loss);
    if (!rank) return 1;
    const int64_t *r = sl_i64(rank), n = rank->size[0];
    int64_t hits = 0;
    for (int64_t i = 0; i < n; i++) hits += r[i] == 0;
    lua_pushnumber(L, n ? (double)hits / (double)n : 0.0);
    return 2;
}

/* loss[, top1] = infonce(q, k, neg, T, grad_q [, grad_k [, rank [, work]]]) */
static int l_infonce(lua_State *L)
{
    sl_tensor *q = arg(L, 1, "infonce", "q", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    int64_t N = q->size[0], D = q->size[1];
    sl_tensor *k = arg(L, 2, "infonce", "k", SL_FLOAT32, 2, (int64_t[]){N, D});
    sl_tensor *neg = arg(L, 3, "infonce", "negatives", SL_FLOAT32, 2, (int64_t[]){-1, D});
    int64_t K = neg->size[0];
    float T = (float)luaL_checknumber(L, 4);
    sl_tensor *gq = opt_arg(L, 5, "infonce", "grad_q", SL_FLOAT32, 2, (int64_t[]){N, D});
    sl_tensor *gk = opt_arg(L, 6, "infonce", "grad_k", SL_FLOAT32, 2, (int64_t[]){N, D});
    sl_tensor *rank = opt_arg(L, 7, "infonce", "rank", SL_INT64, 1, (int64_t[]){N});
    sl_tensor *work = arg(L, 8, "infonce", "work", SL_FLOAT32, 2, (int64_t[]){N, 1 + K});
    float loss;
    sl_lua_check(L, sl_infonce(sl_f32(q), sl_f32(k), sl_f32(neg), &loss, F32(gq), F32(gk), NULL, NULL, I64(rank),
                               sl_f32(work), (int)N, (int)K, (int)D, T));
    return push_loss_top1(L, loss, rank);
}

/* loss[, top1] = infonce_indexed(q, k, queue, idx0 [N x M] (0-based), T, grad_q [, grad_k [, rank]], work) */
static int l_infonce_indexed(lua_State *L)
{
    sl_tensor *q = arg(L, 1, "infonce_indexed", "q", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    int64_t N = q->size[0], D = q->size[1];
    sl_tensor *k = arg(L, 2, "infonce_indexed", "k", SL_FLOAT32, 2, (int64_t[]){N, D});
    sl_tensor *queue = arg(L, 3, "infonce_indexed", "queue", SL_FLOAT32, 2, (int64_t[]){-1, D});
    sl_tensor *idx = arg(L, 4, "infonce_indexed", "indices", SL_INT64, 2, (int64_t[]){N, -1});
    int64_t K = queue->size[0], M = idx->size[1];
    float T = (float)luaL_checknumber(L, 5);
    sl_tensor *gq = opt_arg(L, 6, "infonce_indexed", "grad_q", SL_FLOAT32, 2, (int64_t[]){N, D});
    sl_tensor *gk = opt_arg(L, 7, "infonce_indexed", "grad_k", SL_FLOAT32, 2, (int64_t[]){N, D});
    sl_tensor *rank = opt_arg(L, 8, "infonce_indexed", "rank", SL_INT64, 1, (int64_t[]){N});
    sl_tensor *work = arg(L, 9, "infonce_indexed", "work", SL_FLOAT32, 2, (int64_t[]){N, 1 + M});
    float loss;
    sl_lua_check(L, sl_infonce_indexed(sl_f32(q), sl_f32(k), sl_f32(queue), sl_i64(idx), &loss, F32(gq), F32(gk),
                                       I64(rank), sl_f32(work), (int)N, (int)K, (int)M, (int)D, T));
    return push_loss_top1(L, loss, rank);
}

/* loss[, top1] = ntxent(z [2N x D], T, grad_z [, rank], work [2N x 2N]) */
static int l_ntxent(lua_State *L)
{
    sl_tensor *z = arg(L, 1, "ntxent", "z", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    int64_t N2 = z->size[0], D = z->size[1];
    if (N2 % 2) luaL_error(L, "ntxent: z has %d rows; it needs 2N (two views of N samples)", (int)N2);
    float T = (float)luaL_checknumber(L, 2);
    sl_tensor *gz = opt_arg(L, 3, "ntxent", "grad_z", SL_FLOAT32, 2, (int64_t[]){N2, D});
    sl_tensor *rank = opt_arg(L, 4, "ntxent", "rank", SL_INT64, 1, (int64_t[]){N2});
    sl_tensor *work = arg(L, 5, "ntxent", "work", SL_FLOAT32, 2, (int64_t[]){N2, N2});
    float loss;
    sl_lua_check(L, sl_ntxent(sl_f32(z), &loss, F32(gz), I64(rank), sl_f32(work), (int)(N2 / 2), (int)D, T));
    return push_loss_top1(L, loss, rank);
}

/* queue_init(queue [K x D] [, age [K]] [, generator]) */
static int l_queue_init(lua_State *L)
{
    sl_tensor *queue = arg(L, 1, "queue_init", "queue", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    sl_tensor *age = sl_lua_is_tensor(L, 2) ? arg(L, 2, "queue_init", "age", SL_INT64, 1, queue->size) : NULL;
    sl_lua_check(L, sl_queue_init_random(sl_f32(queue), I64(age), (int)queue->size[0], (int)queue->size[1],
                                         sl_lua_opt_rng(L, 3)));
    return 0;
}

/* queue_enqueue(queue, ptr [1], count [1] | nil, age [K] | nil, keys [B x D]) */
static int l_queue_enqueue(lua_State *L)
{
    sl_tensor *queue = arg(L, 1, "queue_enqueue", "queue", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    int64_t K = queue->size[0], D = queue->size[1];
    sl_tensor *ptr = arg(L, 2, "queue_enqueue", "ptr", SL_INT64, 1, (int64_t[]){1});
    sl_tensor *count = opt_arg(L, 3, "queue_enqueue", "count", SL_INT64, 1, (int64_t[]){1});
    sl_tensor *age = opt_arg(L, 4, "queue_enqueue", "age", SL_INT64, 1, (int64_t[]){K});
    sl_tensor *keys = arg(L, 5, "queue_enqueue", "keys", SL_FLOAT32, 2, (int64_t[]){-1, D});
    sl_lua_check(L, sl_queue_enqueue(sl_f32(queue), sl_i64(ptr), I64(count), I64(age), (int)K, (int)D, sl_f32(keys),
                                     (int)keys->size[0]));
    return 0;
}

/* membank_init(bank [Nd x D] [, generator]) */
static int l_membank_init(lua_State *L)
{
    sl_tensor *bank = arg(L, 1, "membank_init", "bank", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    sl_lua_check(L, sl_membank_init(sl_f32(bank), bank->size[0], (int)bank->size[1], sl_lua_opt_rng(L, 2)));
    return 0;
}

/* membank_update(bank, positions [B] (1-based), feat [B x D], momentum) */
static int l_membank_update(lua_State *L)
{
    sl_tensor *bank = arg(L, 1, "membank_update", "bank", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    sl_tensor *pos = arg(L, 2, "membank_update", "positions", SL_INT64, 1, (int64_t[]){-1});
    sl_tensor *feat = arg(L, 3, "membank_update", "features", SL_FLOAT32, 2, (int64_t[]){pos->size[0], bank->size[1]});
    int64_t *idx = sl_i64(sl_lua_positions(L, 2, bank->size[0], "membank_update: positions"));
    sl_lua_check(L, sl_membank_update(sl_f32(bank), idx, sl_f32(feat), bank->size[0], (int)bank->size[1],
                                      (int)pos->size[0], (float)luaL_checknumber(L, 4)));
    return 0;
}

/* membank_sample(neg0 [B x M] (0-based, written), Nd [, generator]) */
static int l_membank_sample(lua_State *L)
{
    sl_tensor *neg = arg(L, 1, "membank_sample", "negatives", SL_INT64, 2, (int64_t[]){-1, -1});
    int64_t Nd = luaL_checkinteger(L, 2);
    sl_lua_check(L, sl_membank_sample(sl_i64(neg), (int)neg->size[0], (int)neg->size[1], Nd, sl_lua_opt_rng(L, 3)));
    return 0;
}

/* loss = membank_nce(feat, bank, positions (1-based), neg0 [B x M], Z [1], T, grad_feat) */
static int l_membank_nce(lua_State *L)
{
    sl_tensor *feat = arg(L, 1, "membank_nce", "features", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    int64_t B = feat->size[0], D = feat->size[1];
    sl_tensor *bank = arg(L, 2, "membank_nce", "bank", SL_FLOAT32, 2, (int64_t[]){-1, D});
    arg(L, 3, "membank_nce", "positions", SL_INT64, 1, (int64_t[]){B});
    sl_tensor *neg = arg(L, 4, "membank_nce", "negatives", SL_INT64, 2, (int64_t[]){B, -1});
    sl_tensor *Z = arg(L, 5, "membank_nce", "Z", SL_FLOAT32, 1, (int64_t[]){1});
    float T = (float)luaL_checknumber(L, 6);
    sl_tensor *grad = opt_arg(L, 7, "membank_nce", "grad", SL_FLOAT32, 2, (int64_t[]){B, D});
    int64_t *p = sl_i64(sl_lua_positions(L, 3, bank->size[0], "membank_nce: positions"));
    float loss;
    sl_lua_check(L, sl_membank_nce(sl_f32(feat), sl_f32(bank), p, sl_i64(neg), sl_f32(Z), &loss, F32(grad), NULL,
                                   bank->size[0], (int)D, (int)B, (int)neg->size[1], T));
    lua_pushnumber(L, loss);
    return 1;
}

/* loss[, top1] = membank_softmax(feat, bank, positions (1-based), T, grad_feat, rank | nil, work [B x Nd]) */
static int l_membank_softmax(lua_State *L)
{
    sl_tensor *feat = arg(L, 1, "membank_softmax", "features", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    int64_t B = feat->size[0], D = feat->size[1];
    sl_tensor *bank = arg(L, 2, "membank_softmax", "bank", SL_FLOAT32, 2, (int64_t[]){-1, D});
    arg(L, 3, "membank_softmax", "positions", SL_INT64, 1, (int64_t[]){B});
    float T = (float)luaL_checknumber(L, 4);
    sl_tensor *grad = opt_arg(L, 5, "membank_softmax", "grad", SL_FLOAT32, 2, (int64_t[]){B, D});
    sl_tensor *rank = opt_arg(L, 6, "membank_softmax", "rank", SL_INT64, 1, (int64_t[]){B});
    sl_tensor *work = arg(L, 7, "membank_softmax", "work", SL_FLOAT32, 2, (int64_t[]){B, bank->size[0]});
    int64_t *p = sl_i64(sl_lua_positions(L, 3, bank->size[0], "membank_softmax: positions"));
    float loss;
    sl_lua_check(L, sl_membank_softmax(sl_f32(feat), sl_f32(bank), p, &loss, F32(grad), I64(rank), sl_f32(work),
                                       bank->size[0], (int)D, (int)B, T));
    return push_loss_top1(L, loss, rank);
}

/* ema(target, source, m): target = m target + (1 - m) source (same numel, float32, contiguous) */
static int l_ema(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1), *s = sl_lua_check_tensor(L, 2);
    double m = luaL_checknumber(L, 3);
    char a[128], b[128];
    if (t->dtype != SL_FLOAT32 || s->dtype != SL_FLOAT32 || !sl_tensor_is_contiguous(t) ||
        !sl_tensor_is_contiguous(s) || sl_tensor_numel(t) != sl_tensor_numel(s))
        luaL_error(L, "ema: target %s and source %s must be contiguous float32 tensors of the same size",
                   sl_shape_str(t, a, sizeof a), sl_shape_str(s, b, sizeof b));
    sl_lua_check(L, sl_ema_update(sl_f32(t), sl_f32(s), sl_tensor_numel(t), (float)m));
    return 0;
}

/* idx0 = hardneg_sample(q [N x D], queue [K x D], xi, omega, alpha, idx0 [N x M] (written) [, ranks] [, generator]) */
static int l_hardneg_sample(lua_State *L)
{
    sl_tensor *q = arg(L, 1, "hardneg_sample", "q", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    int64_t N = q->size[0], D = q->size[1];
    sl_tensor *queue = arg(L, 2, "hardneg_sample", "queue", SL_FLOAT32, 2, (int64_t[]){-1, D});
    double xi = luaL_checknumber(L, 3), omega = luaL_checknumber(L, 4), alpha = luaL_checknumber(L, 5);
    sl_tensor *idx = arg(L, 6, "hardneg_sample", "indices", SL_INT64, 2, (int64_t[]){N, -1});
    sl_tensor *ranks = sl_lua_is_tensor(L, 7) ? arg(L, 7, "hardneg_sample", "ranks", SL_INT64, 2, idx->size) : NULL;
    sl_lua_check(L, sl_hardneg_sample(sl_f32(q), sl_f32(queue), (int)queue->size[0], (int)D, (int)N,
                                      (int)idx->size[1], xi, omega, alpha, sl_lua_opt_rng(L, ranks ? 8 : 7),
                                      sl_i64(idx), I64(ranks)));
    return 0;
}

/* x = skewnorm_draw(xi, omega, alpha [, generator]); mean, var, skew = skewnorm_moments(xi, omega, alpha) */
static int l_skewnorm_draw(lua_State *L)
{
    double xi = luaL_checknumber(L, 1), omega = luaL_checknumber(L, 2), alpha = luaL_checknumber(L, 3);
    lua_pushnumber(L, sl_skewnorm_draw(sl_lua_opt_rng(L, 4), xi, omega, alpha));
    return 1;
}

static int l_skewnorm_moments(lua_State *L)
{
    double mean, var, skew;
    sl_skewnorm_moments(luaL_checknumber(L, 1), luaL_checknumber(L, 2), luaL_checknumber(L, 3), &mean, &var, &skew);
    lua_pushnumber(L, mean), lua_pushnumber(L, var), lua_pushnumber(L, skew);
    return 3;
}

/* scores [Nte x C] = knn_scores(train [Ntr x D], train_labels [Ntr] (1-based), test [Nte x D], C, k, T) */
static int l_knn_scores(lua_State *L)
{
    sl_tensor *train = arg(L, 1, "knn", "train features", SL_FLOAT32, 2, (int64_t[]){-1, -1});
    int64_t Ntr = train->size[0], D = train->size[1];
    arg(L, 2, "knn", "train labels", SL_INT64, 1, (int64_t[]){Ntr});
    sl_tensor *test = arg(L, 3, "knn", "test features", SL_FLOAT32, 2, (int64_t[]){-1, D});
    lua_Integer C = luaL_checkinteger(L, 4), k = luaL_checkinteger(L, 5);
    double T = luaL_checknumber(L, 6);
    if (C < 1 || C > 1000000) luaL_argerror(L, 4, "number of classes out of range");
    int64_t *lab0 = sl_i64(sl_lua_positions(L, 2, C, "knn: train labels"));
    int64_t size[2] = {test->size[0], C};
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(SL_FLOAT32, 2, size));
    sl_lua_check(L, sl_knn_scores(sl_f32(train), lab0, sl_f32(test), sl_f32(*slot), Ntr, test->size[0], (int)D,
                                  (int)C, (int)k, (float)T));
    return 1;
}

/* {======================================================================
 * Shuffle BN without allocating: a permutation drawn into an existing tensor,
 * and rows moved through it (MoCo's key batch, --bn_splits > 1).
 * ======================================================================= */

/* randperm_(perm int64 [N] [, generator]) -> perm, a 1-based permutation of 1..N */
static int l_randperm_(lua_State *L)
{
    sl_tensor *perm = arg(L, 1, "randperm_", "perm", SL_INT64, 1, (int64_t[]){-1});
    const int64_t n = perm->size[0];
    int64_t *p = sl_i64(perm);
    sl_rng_randperm(sl_lua_opt_rng(L, 2), p, n);
    for (int64_t i = 0; i < n; i++) p[i] += 1;
    lua_settop(L, 1);
    return 1;
}

/* permute_rows(dst, src, perm [N] (1-based), inverse): dst[i] = src[perm[i]], or with
 * inverse dst[perm[i]] = src[i]; dst and src float32 [N x ...] of the same shape. */
static int l_permute_rows(lua_State *L)
{
    const char *op = "permute_rows";
    sl_tensor *src = sl_lua_check_tensor(L, 2);
    if (src->ndim < 1) luaL_error(L, "%s: src must have at least one dim", op);
    src = arg(L, 2, op, "src", SL_FLOAT32, src->ndim, src->size); /* float32, contiguous */
    sl_tensor *dst = arg(L, 1, op, "dst", SL_FLOAT32, src->ndim, src->size);
    const int64_t n = src->size[0], row = n ? sl_tensor_numel(src) / n : 0;
    sl_tensor *perm = arg(L, 3, op, "perm", SL_INT64, 1, (int64_t[]){n});
    const bool inverse = lua_toboolean(L, 4);
    if (dst->storage == src->storage) luaL_error(L, "%s: dst and src must not share storage", op);
    const int64_t *p = sl_i64(perm);
    for (int64_t i = 0; i < n; i++)
        if (p[i] < 1 || p[i] > n) luaL_error(L, "%s: perm[%I] = %I is outside 1..%I", op, (lua_Integer)i + 1,
                                             (lua_Integer)p[i], (lua_Integer)n);
    float *d = sl_f32(dst);
    const float *x = sl_f32(src);
    for (int64_t i = 0; i < n; i++) {
        const int64_t j = p[i] - 1;
        if (inverse) memcpy(d + j * row, x + i * row, (size_t)row * sizeof(float));
        else memcpy(d + i * row, x + j * row, (size_t)row * sizeof(float));
    }
    lua_settop(L, 1);
    return 1;
}

/* }====================================================================== */

static const luaL_Reg ssl_functions[] = {
    {"randperm_", l_randperm_}, {"permute_rows", l_permute_rows},
    {"infonce", l_infonce}, {"infonce_indexed", l_infonce_indexed}, {"ntxent", l_ntxent},
    {"queue_init", l_queue_init}, {"queue_enqueue", l_queue_enqueue}, {"membank_init", l_membank_init},
    {"membank_update", l_membank_update}, {"membank_sample", l_membank_sample}, {"membank_nce", l_membank_nce},
    {"membank_softmax", l_membank_softmax}, {"ema", l_ema}, {"hardneg_sample", l_hardneg_sample},
    {"skewnorm_draw", l_skewnorm_draw}, {"skewnorm_moments", l_skewnorm_moments}, {NULL, NULL}};

void sl_bind_ssl(lua_State *L)
{
    lua_newtable(L);
    luaL_setfuncs(L, ssl_functions, 0);
    lua_setfield(L, -2, "ssl");
    lua_newtable(L);
    lua_pushcfunction(L, l_knn_scores);
    lua_setfield(L, -2, "knn_scores");
    lua_setfield(L, -2, "eval");
}
