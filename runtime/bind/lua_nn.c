/* lua_nn.c - thin bindings of the neural-network kernels (runtime/nn/nn.h) as
 * the table 'core.nn'. The Lua modules in lua/sslab/nn/ own every buffer:
 * outputs, gradients, saved statistics and the conv workspace are tensors
 * passed in, so nothing here allocates. Each function checks dtype (float32,
 * int64 for indices and targets), contiguity and exact shapes, and raises an
 * error naming the op and the shapes involved. Optional tensors are nil.
 *
 *   nn.conv2d_forward(x, weight, bias|nil, y, workspace|nil, stride, pad)
 *   nn.batchnorm_forward(x, y, gamma, beta, rmean, rvar, save_mean, save_invstd,
 *                        training, momentum, eps, groups, interleaved)
 *   loss = nn.cross_entropy(logits, target, grad|nil, smoothing, scratch)  -- targets 1-based
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "nn/nn.h"
#include "tensor/elementwise.h"
#include "tensor/view.h"

/* {======================================================================
 * argument checks
 * ======================================================================= */

#define SHAPE_BUF 96

/* Tensor at idx of dtype dt, any layout (NULL when optional and nil). */
static sl_tensor *arg_typed(lua_State *L, int idx, const char *op, const char *what, sl_dtype dt, bool optional)
{
    if (optional && lua_isnoneornil(L, idx)) return NULL;
    if (!sl_lua_is_tensor(L, idx))
        luaL_error(L, "%s: %s (argument #%d) must be a tensor, got %s", op, what, idx, luaL_typename(L, idx));
    sl_tensor *t = sl_lua_check_tensor(L, idx);
    char b[SHAPE_BUF];
    if (t->dtype != dt)
        luaL_error(L, "%s: %s must be %s, got %s %s", op, what, sl_dtype_name(dt), sl_dtype_name(t->dtype),
                   sl_shape_str(t, b, sizeof b));
    return t;
}

/* Tensor at idx: must be a contiguous tensor of dtype dt (or nil when optional). */
static sl_tensor *arg_tensor(lua_State *L, int idx, const char *op, const char *what, sl_dtype dt, bool optional)
{
    sl_tensor *t = arg_typed(L, idx, op, what, dt, optional);
    char b[SHAPE_BUF];
    if (t && !sl_tensor_is_contiguous(t))
        luaL_error(L, "%s: %s %s must be contiguous (call :contiguous())", op, what, sl_shape_str(t, b, sizeof b));
    return t;
}

static sl_tensor *arg_f32(lua_State *L, int idx, const char *op, const char *what)
{
    return arg_tensor(L, idx, op, what, SL_FLOAT32, false);
}

static sl_tensor *opt_f32(lua_State *L, int idx, const char *op, const char *what)
{
    return arg_tensor(L, idx, op, what, SL_FLOAT32, true);
}

/* Activations (images and their gradients) may be channels first (contiguous) or
 * channels last (sl_tensor_is_channels_last); a tensor whose memory reads the same
 * either way (one channel, 1x1 planes) is both. An op takes the format all its
 * activations share: *formats starts at FORMAT_ANY and each tensor narrows it. */
enum { FORMAT_FIRST = 1, FORMAT_LAST = 2, FORMAT_ANY = 3 };

static sl_tensor *arg_act(lua_State *L, int idx, const char *op, const char *what, sl_dtype dt, bool optional,
                          int *formats)
{
    sl_tensor *t = arg_typed(L, idx, op, what, dt, optional);
    if (!t) return NULL;
    char b[SHAPE_BUF];
    const int f = (sl_tensor_is_contiguous(t) ? FORMAT_FIRST : 0) | (sl_tensor_is_channels_last(t) ? FORMAT_LAST : 0);
    if (!f)
        luaL_error(L, "%s: %s %s must be contiguous or channels_last (call :contiguous())", op, what,
                   sl_shape_str(t, b, sizeof b));
    if (!(*formats & f))
        luaL_error(L, "%s: %s %s is %s but the tensors before it are %s (use one memory format)", op, what,
                   sl_shape_str(t, b, sizeof b), f == FORMAT_LAST ? "channels_last" : "channels-first",
                   f == FORMAT_LAST ? "channels-first" : "channels_last");
    *formats &= f;
    return t;
}

static sl_tensor *act_f32(lua_State *L, int idx, const char *op, const char *what, bool optional, int *formats)
{
    return arg_act(L, idx, op, what, SL_FLOAT32, optional, formats);
}

/* Raise unless t (may be NULL: nothing to check) has exactly these sizes. */
static void expect_shape(lua_State *L, const char *op, const char *what, const sl_tensor *t, int ndim,
                         const int64_t *size, const char *context)
{
    if (!t) return;
    bool ok = t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = t->size[d] == size[d];
    if (ok) return;
    sl_tensor want = {.dtype = SL_FLOAT32, .ndim = ndim};
    for (int d = 0; d < ndim; d++) want.size[d] = size[d];
    char a[SHAPE_BUF], b[SHAPE_BUF];
    luaL_error(L, "%s: %s is %s, expected %s (%s)", op, what, sl_shape_str(t, a, sizeof a),
               sl_shape_str(&want, b, sizeof b), context);
}

static int arg_int(lua_State *L, int idx, const char *op, const char *what)
{
    lua_Integer v = luaL_checkinteger(L, idx);
    if (v < 0 || v > INT_MAX) luaL_error(L, "%s: %s %I out of range", op, what, v);
    return (int)v;
}

/* A size of t as an int for the kernels. */
static int dim_int(lua_State *L, const char *op, const sl_tensor *t, int d)
{
    if (t->size[d] > INT_MAX) {
        char b[SHAPE_BUF];
        luaL_error(L, "%s: dimension %d of %s is too large", op, d + 1, sl_shape_str(t, b, sizeof b));
    }
    return (int)t->size[d];
}

static void expect_ndim(lua_State *L, const char *op, const char *what, const sl_tensor *t, int ndim)
{
    if (t->ndim != ndim) {
        char b[SHAPE_BUF];
        luaL_error(L, "%s: %s must be %d-d, got %s", op, what, ndim, sl_shape_str(t, b, sizeof b));
    }
}

/* Run a kernel status through sl_lua_check, prefixing nothing (kernel messages name the op). */
#define CHECK(call) sl_lua_check(L, (call))

/* }====================================================================== */

/* {======================================================================
 * conv2d
 * ======================================================================= */

/* nn.conv2d_winograd([mode]) -> the mode before the call: 'auto' (default: Winograd for
 * 3x3 stride-1 padding-1 convolutions where it pays), 'always' or 'off'. */
static int l_conv2d_winograd(lua_State *L)
{
    static const char *const modes[] = {"off", "auto", "always", NULL};
    lua_pushstring(L, modes[sl_conv2d_get_winograd()]);
    if (!lua_isnoneornil(L, 1)) sl_conv2d_set_winograd((sl_winograd_mode)luaL_checkoption(L, 1, NULL, modes));
    return 1;
}

/* nn.conv2d_geometry(N, C, H, W, O, KH, KW, stride, pad[, channels_last]) -> OH, OW, workspace floats */
static int l_conv2d_geometry(lua_State *L)
{
    const char *op = "conv2d";
    sl_conv2d_geom g;
    int v[9];
    static const char *const names[] = {"N", "C", "H", "W", "O", "KH", "KW", "stride", "pad"};
    for (int i = 0; i < 9; i++) v[i] = arg_int(L, i + 1, op, names[i]);
    CHECK(sl_conv2d_geom_init(&g, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]));
    g.channels_last = lua_toboolean(L, 10);
    lua_pushinteger(L, g.OH);
    lua_pushinteger(L, g.OW);
    lua_pushinteger(L, (lua_Integer)sl_conv2d_workspace_size(&g));
    return 3;
}

/* Geometry from x [N x C x H x W] and weight [O x C x KH x KW]; checks the workspace. */
static void conv_geom(lua_State *L, const char *op, const sl_tensor *x, const sl_tensor *w, const sl_tensor *ws,
                      bool need_ws, int stride, int pad, bool channels_last, sl_conv2d_geom *g, char *ctx, size_t nctx)
{
    char a[SHAPE_BUF], b[SHAPE_BUF];
    expect_ndim(L, op, "input", x, 4);
    expect_ndim(L, op, "weight", w, 4);
    snprintf(ctx, nctx, "input %s, weight %s, stride %d, pad %d", sl_shape_str(x, a, sizeof a),
             sl_shape_str(w, b, sizeof b), stride, pad);
    if (x->size[1] != w->size[1])
        luaL_error(L, "%s: input has %d channels but weight expects %d (%s)", op, (int)x->size[1], (int)w->size[1],
                   ctx);
    if (sl_conv2d_geom_init(g, dim_int(L, op, x, 0), dim_int(L, op, x, 1), dim_int(L, op, x, 2), dim_int(L, op, x, 3),
                            dim_int(L, op, w, 0), dim_int(L, op, w, 2), dim_int(L, op, w, 3), stride, pad) != SL_OK)
        luaL_error(L, "%s: %s (%s)", op, sl_last_error(), ctx);
    g->channels_last = channels_last;
    size_t need = sl_conv2d_workspace_size(g);
    if (need_ws && need > 0 && (!ws || (size_t)sl_tensor_numel(ws) < need))
        luaL_error(L, "%s: workspace has %I floats, needs %I (%s)", op, (lua_Integer)(ws ? sl_tensor_numel(ws) : 0),
                   (lua_Integer)need, ctx);
}

/* nn.conv2d_forward(x, weight, bias|nil, y, workspace|nil, stride, pad) */
static int l_conv2d_forward(lua_State *L)
{
    const char *op = "conv2d_forward";
    int formats = FORMAT_ANY;
    sl_tensor *x = act_f32(L, 1, op, "input", false, &formats), *w = arg_f32(L, 2, op, "weight");
    sl_tensor *bias = opt_f32(L, 3, op, "bias"), *y = act_f32(L, 4, op, "output", false, &formats);
    sl_tensor *ws = opt_f32(L, 5, op, "workspace");
    int stride = arg_int(L, 6, op, "stride"), pad = arg_int(L, 7, op, "pad");
    sl_conv2d_geom g;
    char ctx[256];
    conv_geom(L, op, x, w, ws, true, stride, pad, formats == FORMAT_LAST, &g, ctx, sizeof ctx);
    expect_shape(L, op, "bias", bias, 1, (int64_t[]){g.O}, ctx);
    expect_shape(L, op, "output", y, 4, (int64_t[]){g.N, g.O, g.OH, g.OW}, ctx);
    CHECK(sl_conv2d_forward(&g, sl_f32(x), sl_f32(y), sl_f32(w), bias ? sl_f32(bias) : NULL, ws ? sl_f32(ws) : NULL));
    return 0;
}

/* nn.conv2d_backward(x, grad_y, weight, grad_x|nil, grad_weight|nil, grad_bias|nil, workspace|nil, stride, pad) */
static int l_conv2d_backward(lua_State *L)
{
    const char *op = "conv2d_backward";
    int formats = FORMAT_ANY;
    sl_tensor *x = act_f32(L, 1, op, "input", false, &formats), *gy = act_f32(L, 2, op, "grad_output", false, &formats);
    sl_tensor *w = arg_f32(L, 3, op, "weight"), *gx = act_f32(L, 4, op, "grad_input", true, &formats);
    sl_tensor *gw = opt_f32(L, 5, op, "grad_weight"), *gb = opt_f32(L, 6, op, "grad_bias");
    sl_tensor *ws = opt_f32(L, 7, op, "workspace");
    int stride = arg_int(L, 8, op, "stride"), pad = arg_int(L, 9, op, "pad");
    sl_conv2d_geom g;
    char ctx[256];
    conv_geom(L, op, x, w, ws, gx || gw, stride, pad, formats == FORMAT_LAST, &g, ctx, sizeof ctx);
    expect_shape(L, op, "grad_output", gy, 4, (int64_t[]){g.N, g.O, g.OH, g.OW}, ctx);
    expect_shape(L, op, "grad_input", gx, 4, x->size, ctx);
    expect_shape(L, op, "grad_weight", gw, 4, w->size, ctx);
    expect_shape(L, op, "grad_bias", gb, 1, (int64_t[]){g.O}, ctx);
    CHECK(sl_conv2d_backward(&g, sl_f32(x), sl_f32(gy), sl_f32(w), gx ? sl_f32(gx) : NULL, gw ? sl_f32(gw) : NULL,
                             gb ? sl_f32(gb) : NULL, ws ? sl_f32(ws) : NULL));
    return 0;
}

/* }====================================================================== */

/* {======================================================================
 * batchnorm: x is [N x C] or [N x C x ...] (spatial = product of the rest)
 * ======================================================================= */

static void bn_params(lua_State *L, const char *op, const sl_tensor *x, bool training, double momentum, double eps,
                      int groups, bool interleaved, sl_batchnorm_params *p, char *ctx, size_t nctx)
{
    char a[SHAPE_BUF];
    if (x->ndim < 2) luaL_error(L, "%s: input must be [N x C] or [N x C x ...], got %s", op, sl_shape_str(x, a, sizeof a));
    int64_t spatial = 1;
    for (int d = 2; d < x->ndim; d++) spatial *= x->size[d];
    if (spatial > INT_MAX) luaL_error(L, "%s: input %s too large", op, sl_shape_str(x, a, sizeof a));
    *p = sl_batchnorm_defaults(dim_int(L, op, x, 0), dim_int(L, op, x, 1), (int)spatial);
    p->training = training;
    p->momentum = (float)momentum;
    p->eps = (float)eps;
    p->groups = groups;
    p->interleaved = interleaved;
    snprintf(ctx, nctx, "input %s, groups %d", sl_shape_str(x, a, sizeof a), groups);
}

/* nn.batchnorm_forward(x, y, gamma|nil, beta|nil, running_mean|nil, running_var|nil, save_mean, save_invstd,
 *                      training, momentum, eps, groups, interleaved[, relu]) */
static int l_batchnorm_forward(lua_State *L)
{
    const char *op = "batchnorm_forward";
    int formats = FORMAT_ANY;
    sl_tensor *x = act_f32(L, 1, op, "input", false, &formats), *y = act_f32(L, 2, op, "output", false, &formats);
    sl_tensor *gamma = opt_f32(L, 3, op, "weight"), *beta = opt_f32(L, 4, op, "bias");
    sl_tensor *rm = opt_f32(L, 5, op, "running_mean"), *rv = opt_f32(L, 6, op, "running_var");
    sl_tensor *sm = arg_f32(L, 7, op, "save_mean"), *si = arg_f32(L, 8, op, "save_invstd");
    bool training = lua_toboolean(L, 9);
    double momentum = luaL_checknumber(L, 10), eps = luaL_checknumber(L, 11);
    int groups = arg_int(L, 12, op, "groups");
    bool interleaved = lua_toboolean(L, 13);
    sl_batchnorm_params p;
    char ctx[160];
    bn_params(L, op, x, training, momentum, eps, groups, interleaved, &p, ctx, sizeof ctx);
    p.relu = lua_toboolean(L, 14);
    p.channels_last = formats == FORMAT_LAST;
    int64_t c[1] = {p.C}, gc[2] = {p.groups, p.C};
    expect_shape(L, op, "output", y, x->ndim, x->size, ctx);
    expect_shape(L, op, "weight", gamma, 1, c, ctx);
    expect_shape(L, op, "bias", beta, 1, c, ctx);
    expect_shape(L, op, "running_mean", rm, 1, c, ctx);
    expect_shape(L, op, "running_var", rv, 1, c, ctx);
    expect_shape(L, op, "save_mean", sm, 2, gc, ctx);
    expect_shape(L, op, "save_invstd", si, 2, gc, ctx);
    CHECK(sl_batchnorm_forward(&p, sl_f32(x), sl_f32(y), gamma ? sl_f32(gamma) : NULL, beta ? sl_f32(beta) : NULL,
                               rm ? sl_f32(rm) : NULL, rv ? sl_f32(rv) : NULL, sl_f32(sm), sl_f32(si)));
    return 0;
}

/* nn.batchnorm_backward(x, grad_y, grad_x|nil, gamma|nil, grad_gamma|nil, grad_beta|nil, save_mean, save_invstd,
 *                       training, eps, groups, interleaved[, relu_output])
 * relu_output: the forward output of a BatchNorm with a fused ReLU (its mask). */
static int l_batchnorm_backward(lua_State *L)
{
    const char *op = "batchnorm_backward";
    int formats = FORMAT_ANY;
    sl_tensor *x = act_f32(L, 1, op, "input", false, &formats), *gy = act_f32(L, 2, op, "grad_output", false, &formats);
    sl_tensor *gx = act_f32(L, 3, op, "grad_input", true, &formats), *gamma = opt_f32(L, 4, op, "weight");
    sl_tensor *gg = opt_f32(L, 5, op, "grad_weight"), *gbeta = opt_f32(L, 6, op, "grad_bias");
    sl_tensor *sm = arg_f32(L, 7, op, "save_mean"), *si = arg_f32(L, 8, op, "save_invstd");
    bool training = lua_toboolean(L, 9);
    double eps = luaL_checknumber(L, 10);
    int groups = arg_int(L, 11, op, "groups");
    bool interleaved = lua_toboolean(L, 12);
    sl_tensor *ry = act_f32(L, 13, op, "relu_output", true, &formats);
    sl_batchnorm_params p;
    char ctx[160];
    bn_params(L, op, x, training, 0.1, eps, groups, interleaved, &p, ctx, sizeof ctx);
    p.relu = ry != NULL;
    p.channels_last = formats == FORMAT_LAST;
    int64_t c[1] = {p.C}, gc[2] = {p.groups, p.C};
    expect_shape(L, op, "grad_output", gy, x->ndim, x->size, ctx);
    expect_shape(L, op, "relu_output", ry, x->ndim, x->size, ctx);
    expect_shape(L, op, "grad_input", gx, x->ndim, x->size, ctx);
    expect_shape(L, op, "weight", gamma, 1, c, ctx);
    expect_shape(L, op, "grad_weight", gg, 1, c, ctx);
    expect_shape(L, op, "grad_bias", gbeta, 1, c, ctx);
    expect_shape(L, op, "save_mean", sm, 2, gc, ctx);
    expect_shape(L, op, "save_invstd", si, 2, gc, ctx);
    CHECK(sl_batchnorm_backward(&p, sl_f32(x), ry ? sl_f32(ry) : NULL, sl_f32(gy), gx ? sl_f32(gx) : NULL, gamma ? sl_f32(gamma) : NULL,
                                gg ? sl_f32(gg) : NULL, gbeta ? sl_f32(gbeta) : NULL, sl_f32(sm), sl_f32(si)));
    return 0;
}

/* }====================================================================== */

/* {======================================================================
 * relu, pooling, linear, l2norm
 * ======================================================================= */

static void same_shape(lua_State *L, const char *op, const char *what, const sl_tensor *t, const sl_tensor *ref,
                       const char *refname)
{
    if (!t || sl_tensor_same_shape(t, ref)) return;
    char a[SHAPE_BUF], b[SHAPE_BUF];
    luaL_error(L, "%s: %s is %s but %s is %s", op, what, sl_shape_str(t, a, sizeof a), refname,
               sl_shape_str(ref, b, sizeof b));
}

/* nn.relu_forward(x, y): y may be x */
static int l_relu_forward(lua_State *L)
{
    const char *op = "relu_forward";
    int formats = FORMAT_ANY; /* element-wise: any format, the same for all */
    sl_tensor *x = act_f32(L, 1, op, "input", false, &formats), *y = act_f32(L, 2, op, "output", false, &formats);
    same_shape(L, op, "output", y, x, "input");
    CHECK(sl_relu_forward(sl_f32(x), sl_f32(y), sl_tensor_numel(x)));
    return 0;
}

/* nn.add_relu(y, a, b): y = max(a + b, 0), all the same shape */
static int l_add_relu(lua_State *L)
{
    const char *op = "add_relu";
    int formats = FORMAT_ANY;
    sl_tensor *y = act_f32(L, 1, op, "output", false, &formats), *a = act_f32(L, 2, op, "a", false, &formats);
    sl_tensor *b = act_f32(L, 3, op, "b", false, &formats);
    same_shape(L, op, "a", a, y, "output");
    same_shape(L, op, "b", b, y, "output");
    CHECK(sl_add_relu_forward(sl_f32(a), sl_f32(b), sl_f32(y), sl_tensor_numel(y)));
    return 0;
}

/* nn.relu_backward(y, grad_y, grad_x): y is the forward output; grad_x may be grad_y */
static int l_relu_backward(lua_State *L)
{
    const char *op = "relu_backward";
    int formats = FORMAT_ANY;
    sl_tensor *y = act_f32(L, 1, op, "output", false, &formats), *gy = act_f32(L, 2, op, "grad_output", false, &formats);
    sl_tensor *gx = act_f32(L, 3, op, "grad_input", false, &formats);
    same_shape(L, op, "grad_output", gy, y, "output");
    same_shape(L, op, "grad_input", gx, y, "output");
    CHECK(sl_relu_backward(sl_f32(y), sl_f32(gy), sl_f32(gx), sl_tensor_numel(y)));
    return 0;
}

/* nn.maxpool2d_geometry(N, C, H, W, k, stride, pad) -> OH, OW */
static int l_maxpool2d_geometry(lua_State *L)
{
    const char *op = "maxpool2d";
    int v[7];
    static const char *const names[] = {"N", "C", "H", "W", "kernel", "stride", "pad"};
    for (int i = 0; i < 7; i++) v[i] = arg_int(L, i + 1, op, names[i]);
    sl_maxpool2d_geom g;
    CHECK(sl_maxpool2d_geom_init(&g, v[0], v[1], v[2], v[3], v[4], v[4], v[5], v[6]));
    lua_pushinteger(L, g.OH);
    lua_pushinteger(L, g.OW);
    return 2;
}

static void pool_geom(lua_State *L, const char *op, const sl_tensor *x, int k, int stride, int pad,
                      sl_maxpool2d_geom *g, char *ctx, size_t nctx)
{
    char a[SHAPE_BUF];
    expect_ndim(L, op, "input", x, 4);
    snprintf(ctx, nctx, "input %s, kernel %d, stride %d, pad %d", sl_shape_str(x, a, sizeof a), k, stride, pad);
    if (sl_maxpool2d_geom_init(g, dim_int(L, op, x, 0), dim_int(L, op, x, 1), dim_int(L, op, x, 2),
                               dim_int(L, op, x, 3), k, k, stride, pad) != SL_OK)
        luaL_error(L, "%s: %s (%s)", op, sl_last_error(), ctx);
}

/* nn.maxpool2d_forward(x, y, indices|nil, k, stride, pad): indices int64, 0-based offsets in the plane */
static int l_maxpool2d_forward(lua_State *L)
{
    const char *op = "maxpool2d_forward";
    int formats = FORMAT_ANY;
    sl_tensor *x = act_f32(L, 1, op, "input", false, &formats), *y = act_f32(L, 2, op, "output", false, &formats);
    sl_tensor *ix = arg_act(L, 3, op, "indices", SL_INT64, true, &formats);
    int k = arg_int(L, 4, op, "kernel"), stride = arg_int(L, 5, op, "stride"), pad = arg_int(L, 6, op, "pad");
    sl_maxpool2d_geom g;
    char ctx[200];
    pool_geom(L, op, x, k, stride, pad, &g, ctx, sizeof ctx);
    g.channels_last = formats == FORMAT_LAST;
    int64_t ys[4] = {g.N, g.C, g.OH, g.OW};
    expect_shape(L, op, "output", y, 4, ys, ctx);
    expect_shape(L, op, "indices", ix, 4, ys, ctx);
    CHECK(sl_maxpool2d_forward(&g, sl_f32(x), sl_f32(y), ix ? sl_i64(ix) : NULL));
    return 0;
}

/* nn.maxpool2d_backward(grad_y, indices, grad_x, k, stride, pad) */
static int l_maxpool2d_backward(lua_State *L)
{
    const char *op = "maxpool2d_backward";
    int formats = FORMAT_ANY;
    sl_tensor *gy = act_f32(L, 1, op, "grad_output", false, &formats);
    sl_tensor *ix = arg_act(L, 2, op, "indices", SL_INT64, false, &formats);
    sl_tensor *gx = act_f32(L, 3, op, "grad_input", false, &formats);
    int k = arg_int(L, 4, op, "kernel"), stride = arg_int(L, 5, op, "stride"), pad = arg_int(L, 6, op, "pad");
    sl_maxpool2d_geom g;
    char ctx[200];
    pool_geom(L, op, gx, k, stride, pad, &g, ctx, sizeof ctx);
    g.channels_last = formats == FORMAT_LAST;
    int64_t ys[4] = {g.N, g.C, g.OH, g.OW};
    expect_shape(L, op, "grad_output", gy, 4, ys, ctx);
    expect_shape(L, op, "indices", ix, 4, ys, ctx);
    CHECK(sl_maxpool2d_backward(&g, sl_f32(gy), sl_i64(ix), sl_f32(gx)));
    return 0;
}

/* nn.global_avgpool_forward(x [N x C x H x W], y [N x C]) */
static int l_global_avgpool_forward(lua_State *L)
{
    const char *op = "global_avgpool_forward";
    int formats = FORMAT_ANY;
    sl_tensor *x = act_f32(L, 1, op, "input", false, &formats), *y = arg_f32(L, 2, op, "output");
    char a[SHAPE_BUF], ctx[120];
    expect_ndim(L, op, "input", x, 4);
    snprintf(ctx, sizeof ctx, "input %s", sl_shape_str(x, a, sizeof a));
    expect_shape(L, op, "output", y, 2, x->size, ctx);
    CHECK(sl_global_avgpool_forward(sl_f32(x), sl_f32(y), dim_int(L, op, x, 0), dim_int(L, op, x, 1),
                                    dim_int(L, op, x, 2), dim_int(L, op, x, 3), formats == FORMAT_LAST));
    return 0;
}

/* nn.global_avgpool_backward(grad_y [N x C], grad_x [N x C x H x W]) */
static int l_global_avgpool_backward(lua_State *L)
{
    const char *op = "global_avgpool_backward";
    int formats = FORMAT_ANY;
    sl_tensor *gy = arg_f32(L, 1, op, "grad_output"), *gx = act_f32(L, 2, op, "grad_input", false, &formats);
    char a[SHAPE_BUF], ctx[120];
    expect_ndim(L, op, "grad_input", gx, 4);
    snprintf(ctx, sizeof ctx, "grad_input %s", sl_shape_str(gx, a, sizeof a));
    expect_shape(L, op, "grad_output", gy, 2, gx->size, ctx);
    CHECK(sl_global_avgpool_backward(sl_f32(gy), sl_f32(gx), dim_int(L, op, gx, 0), dim_int(L, op, gx, 1),
                                     dim_int(L, op, gx, 2), dim_int(L, op, gx, 3), formats == FORMAT_LAST));
    return 0;
}

static void linear_ctx(lua_State *L, const char *op, const sl_tensor *x, const sl_tensor *w, char *ctx, size_t n)
{
    char a[SHAPE_BUF], b[SHAPE_BUF];
    expect_ndim(L, op, "input", x, 2);
    expect_ndim(L, op, "weight", w, 2);
    snprintf(ctx, n, "input %s, weight %s", sl_shape_str(x, a, sizeof a), sl_shape_str(w, b, sizeof b));
    if (x->size[1] != w->size[1])
        luaL_error(L, "%s: input has %d features but weight expects %d (%s)", op, (int)x->size[1], (int)w->size[1],
                   ctx);
}

/* nn.linear_forward(x [N x in], y [N x out], weight [out x in], bias [out] | nil) */
static int l_linear_forward(lua_State *L)
{
    const char *op = "linear_forward";
    sl_tensor *x = arg_f32(L, 1, op, "input"), *y = arg_f32(L, 2, op, "output");
    sl_tensor *w = arg_f32(L, 3, op, "weight"), *b = opt_f32(L, 4, op, "bias");
    char ctx[200];
    linear_ctx(L, op, x, w, ctx, sizeof ctx);
    expect_shape(L, op, "output", y, 2, (int64_t[]){x->size[0], w->size[0]}, ctx);
    expect_shape(L, op, "bias", b, 1, w->size, ctx);
    CHECK(sl_linear_forward(sl_f32(x), sl_f32(y), sl_f32(w), b ? sl_f32(b) : NULL, dim_int(L, op, x, 0),
                            dim_int(L, op, x, 1), dim_int(L, op, w, 0)));
    return 0;
}

/* nn.linear_backward(x, grad_y, weight, grad_x|nil, grad_weight|nil, grad_bias|nil) */
static int l_linear_backward(lua_State *L)
{
    const char *op = "linear_backward";
    sl_tensor *x = arg_f32(L, 1, op, "input"), *gy = arg_f32(L, 2, op, "grad_output");
    sl_tensor *w = arg_f32(L, 3, op, "weight"), *gx = opt_f32(L, 4, op, "grad_input");
    sl_tensor *gw = opt_f32(L, 5, op, "grad_weight"), *gb = opt_f32(L, 6, op, "grad_bias");
    char ctx[200];
    linear_ctx(L, op, x, w, ctx, sizeof ctx);
    expect_shape(L, op, "grad_output", gy, 2, (int64_t[]){x->size[0], w->size[0]}, ctx);
    expect_shape(L, op, "grad_input", gx, 2, x->size, ctx);
    expect_shape(L, op, "grad_weight", gw, 2, w->size, ctx);
    expect_shape(L, op, "grad_bias", gb, 1, w->size, ctx);
    CHECK(sl_linear_backward(sl_f32(x), sl_f32(gy), sl_f32(w), gx ? sl_f32(gx) : NULL, gw ? sl_f32(gw) : NULL,
                             gb ? sl_f32(gb) : NULL, dim_int(L, op, x, 0), dim_int(L, op, x, 1), dim_int(L, op, w, 0)));
    return 0;
}

/* nn.l2norm_forward(x [N x D], y, eps): y may be x */
static int l_l2norm_forward(lua_State *L)
{
    const char *op = "l2norm_forward";
    sl_tensor *x = arg_f32(L, 1, op, "input"), *y = arg_f32(L, 2, op, "output");
    double eps = luaL_checknumber(L, 3);
    expect_ndim(L, op, "input", x, 2);
    same_shape(L, op, "output", y, x, "input");
    CHECK(sl_l2norm_forward(sl_f32(x), sl_f32(y), dim_int(L, op, x, 0), dim_int(L, op, x, 1), (float)eps));
    return 0;
}

/* nn.l2norm_backward(x, grad_y, grad_x, eps): x is the forward input; grad_x may be grad_y */
static int l_l2norm_backward(lua_State *L)
{
    const char *op = "l2norm_backward";
    sl_tensor *x = arg_f32(L, 1, op, "input"), *gy = arg_f32(L, 2, op, "grad_output");
    sl_tensor *gx = arg_f32(L, 3, op, "grad_input");
    double eps = luaL_checknumber(L, 4);
    expect_ndim(L, op, "input", x, 2);
    same_shape(L, op, "grad_output", gy, x, "input");
    same_shape(L, op, "grad_input", gx, x, "input");
    CHECK(sl_l2norm_backward(sl_f32(x), sl_f32(gy), sl_f32(gx), dim_int(L, op, x, 0), dim_int(L, op, x, 1),
                             (float)eps));
    return 0;
}

/* }====================================================================== */

/* {======================================================================
 * losses
 * ======================================================================= */

/* nn.cross_entropy(logits [N x K], target int64 [N] (1-based), grad|nil, label_smoothing, scratch int64 [N])
 * -> loss. scratch receives the 0-based targets (the module owns it, so nothing is allocated here). */
static int l_cross_entropy(lua_State *L)
{
    const char *op = "cross_entropy";
    sl_tensor *logits = arg_f32(L, 1, op, "logits");
    sl_tensor *target = arg_tensor(L, 2, op, "target", SL_INT64, false);
    sl_tensor *grad = opt_f32(L, 3, op, "grad");
    double smoothing = luaL_optnumber(L, 4, 0.0);
    sl_tensor *scratch = arg_tensor(L, 5, op, "scratch", SL_INT64, false);
    char a[SHAPE_BUF], ctx[120];
    expect_ndim(L, op, "logits", logits, 2);
    snprintf(ctx, sizeof ctx, "logits %s", sl_shape_str(logits, a, sizeof a));
    int N = dim_int(L, op, logits, 0), K = dim_int(L, op, logits, 1);
    expect_shape(L, op, "target", target, 1, logits->size, ctx);
    expect_shape(L, op, "scratch", scratch, 1, logits->size, ctx);
    expect_shape(L, op, "grad", grad, 2, logits->size, ctx);
    const int64_t *t = sl_i64(target);
    int64_t *t0 = sl_i64(scratch);
    for (int i = 0; i < N; i++) {
        if (t[i] < 1 || t[i] > K)
            luaL_error(L, "%s: target %I at row %d is out of range 1..%d (class labels are 1-based; %s)", op,
                       (lua_Integer)t[i], i + 1, K, ctx);
        t0[i] = t[i] - 1;
    }
    float loss = 0.0f;
    CHECK(sl_cross_entropy(sl_f32(logits), t0, &loss, grad ? sl_f32(grad) : NULL, N, K, (float)smoothing));
    lua_pushnumber(L, loss);
    return 1;
}

/* nn.mse(x, target, grad|nil) -> loss (same shapes) */
static int l_mse(lua_State *L)
{
    const char *op = "mse";
    sl_tensor *x = arg_f32(L, 1, op, "input"), *target = arg_f32(L, 2, op, "target");
    sl_tensor *grad = opt_f32(L, 3, op, "grad");
    same_shape(L, op, "target", target, x, "input");
    same_shape(L, op, "grad", grad, x, "input");
    float loss = 0.0f;
    CHECK(sl_mse(sl_f32(x), sl_f32(target), &loss, grad ? sl_f32(grad) : NULL, sl_tensor_numel(x)));
    lua_pushnumber(L, loss);
    return 1;
}

/* }====================================================================== */

/* {======================================================================
 * helpers for the Lua modules
 * ======================================================================= */

/* nn.add(out, a, b): out = a + b elementwise into an existing tensor (no allocation). */
static int l_add(lua_State *L)
{
    sl_tensor *out = sl_lua_check_tensor(L, 1), *a = sl_lua_check_tensor(L, 2), *b = sl_lua_check_tensor(L, 3);
    sl_tensor *unused = NULL;
    CHECK(sl_tensor_binary(SL_OP_ADD, a, b, out, &unused));
    lua_settop(L, 1);
    return 1;
}

/* nn.set_(t, src): make the tensor object t a view of src's storage with src's header (Torch7 'set'),
 * so every Lua reference to t now sees src's memory. Shapes must match. Used to point parameters of
 * any module at a flat buffer. Returns t. */
static int l_set_(lua_State *L)
{
    sl_tensor **slot = luaL_checkudata(L, 1, SL_TENSOR_MT);
    sl_tensor *src = sl_lua_check_tensor(L, 2);
    if (!*slot) luaL_argerror(L, 1, "tensor has been freed");
    if ((*slot)->dtype != src->dtype || !sl_tensor_same_shape(*slot, src)) {
        char a[SHAPE_BUF], b[SHAPE_BUF];
        luaL_error(L, "set_: tensor is %s %s but source is %s %s", sl_dtype_name((*slot)->dtype),
                   sl_shape_str(*slot, a, sizeof a), sl_dtype_name(src->dtype), sl_shape_str(src, b, sizeof b));
    }
    sl_tensor *v = sl_lua_check_ptr(L, sl_tensor_view_new(src));
    sl_tensor_free(*slot);
    *slot = v;
    lua_settop(L, 1);
    return 1;
}

/* nn.same_storage(a, b) -> true when a and b share one storage; second result: element offsets. */
static int l_same_storage(lua_State *L)
{
    sl_tensor *a = sl_lua_check_tensor(L, 1), *b = sl_lua_check_tensor(L, 2);
    lua_pushboolean(L, a->storage == b->storage);
    lua_pushinteger(L, (lua_Integer)a->offset);
    lua_pushinteger(L, (lua_Integer)b->offset);
    return 3;
}

/* }====================================================================== */

static const luaL_Reg nn_functions[] = {
    {"conv2d_geometry", l_conv2d_geometry},
    {"conv2d_winograd", l_conv2d_winograd},
    {"conv2d_forward", l_conv2d_forward},
    {"conv2d_backward", l_conv2d_backward},
    {"batchnorm_forward", l_batchnorm_forward},
    {"batchnorm_backward", l_batchnorm_backward},
    {"relu_forward", l_relu_forward},
    {"relu_backward", l_relu_backward},
    {"maxpool2d_geometry", l_maxpool2d_geometry},
    {"maxpool2d_forward", l_maxpool2d_forward},
    {"maxpool2d_backward", l_maxpool2d_backward},
    {"global_avgpool_forward", l_global_avgpool_forward},
    {"global_avgpool_backward", l_global_avgpool_backward},
    {"linear_forward", l_linear_forward},
    {"linear_backward", l_linear_backward},
    {"l2norm_forward", l_l2norm_forward},
    {"l2norm_backward", l_l2norm_backward},
    {"cross_entropy", l_cross_entropy},
    {"mse", l_mse},
    {"add", l_add},
    {"add_relu", l_add_relu},
    {"set_", l_set_},
    {"same_storage", l_same_storage},
    {NULL, NULL}};

void sl_bind_nn(lua_State *L)
{
    lua_newtable(L);
    luaL_setfuncs(L, nn_functions, 0);
    lua_setfield(L, -2, "nn");
}
