/* lua_optim.c - bindings of the optimiser update kernels (runtime/optim/optim.h)
 * as the table 'core.optim'. Arguments are contiguous float32 tensors of equal
 * element counts (usually views of one flat parameter buffer); state buffers
 * are owned by the Lua optimiser. Nothing is allocated here.
 *
 *   optim.sgd_step(param, grad, buf|nil, lr, momentum, dampening, weight_decay, nesterov, first)
 *   optim.adam_step(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled, step)
 *   trust = optim.lars_step(param, grad, buf, lr, momentum, weight_decay, eta, adapt, nesterov)
 *   optim.ema_(target, source, m)       -- target = m * target + (1 - m) * source
 */
#include "bind.h"
#include "optim/optim.h"

#define SHAPE_BUF 96

/* A contiguous float32 tensor with n elements (n < 0: any; the count is returned). */
static sl_tensor *arg_buf(lua_State *L, int idx, const char *op, const char *what, int64_t n, bool optional)
{
    if (optional && lua_isnoneornil(L, idx)) return NULL;
    if (!sl_lua_is_tensor(L, idx))
        luaL_error(L, "%s: %s (argument #%d) must be a tensor, got %s", op, what, idx, luaL_typename(L, idx));
    sl_tensor *t = sl_lua_check_tensor(L, idx);
    char b[SHAPE_BUF];
    if (t->dtype != SL_FLOAT32 || !sl_tensor_is_contiguous(t))
        luaL_error(L, "%s: %s must be a contiguous float32 tensor, got %s %s", op, what, sl_dtype_name(t->dtype),
                   sl_shape_str(t, b, sizeof b));
    if (n >= 0 && sl_tensor_numel(t) != n)
        luaL_error(L, "%s: %s %s has %I elements, the parameter has %I", op, what, sl_shape_str(t, b, sizeof b),
                   (lua_Integer)sl_tensor_numel(t), (lua_Integer)n);
    return t;
}

static float *f32_or_null(sl_tensor *t) { return t ? sl_f32(t) : NULL; }

static int l_sgd_step(lua_State *L)
{
    const char *op = "sgd_step";
    sl_tensor *p = arg_buf(L, 1, op, "param", -1, false);
    int64_t n = sl_tensor_numel(p);
    sl_tensor *g = arg_buf(L, 2, op, "grad", n, false), *buf = arg_buf(L, 3, op, "momentum buffer", n, true);
    sl_lua_check(L, sl_sgd_step(sl_f32(p), sl_f32(g), f32_or_null(buf), n, (float)luaL_checknumber(L, 4),
                                (float)luaL_checknumber(L, 5), (float)luaL_checknumber(L, 6),
                                (float)luaL_checknumber(L, 7), lua_toboolean(L, 8), lua_toboolean(L, 9)));
    return 0;
}

static int l_adam_step(lua_State *L)
{
    const char *op = "adam_step";
    sl_tensor *p = arg_buf(L, 1, op, "param", -1, false);
    int64_t n = sl_tensor_numel(p);
    sl_tensor *g = arg_buf(L, 2, op, "grad", n, false);
    sl_tensor *m = arg_buf(L, 3, op, "exp_avg", n, false), *v = arg_buf(L, 4, op, "exp_avg_sq", n, false);
    sl_lua_check(L, sl_adam_step(sl_f32(p), sl_f32(g), sl_f32(m), sl_f32(v), n, (float)luaL_checknumber(L, 5),
                                 (float)luaL_checknumber(L, 6), (float)luaL_checknumber(L, 7),
                                 (float)luaL_checknumber(L, 8), (float)luaL_checknumber(L, 9), lua_toboolean(L, 10),
                                 (int64_t)luaL_checkinteger(L, 11)));
    return 0;
}

static int l_lars_step(lua_State *L)
{
    const char *op = "lars_step";
    sl_tensor *p = arg_buf(L, 1, op, "param", -1, false);
    int64_t n = sl_tensor_numel(p);
    sl_tensor *g = arg_buf(L, 2, op, "grad", n, false), *buf = arg_buf(L, 3, op, "momentum buffer", n, false);
    float trust = 1.0f;
    sl_lua_check(L, sl_lars_step(sl_f32(p), sl_f32(g), sl_f32(buf), n, (float)luaL_checknumber(L, 4),
                                 (float)luaL_checknumber(L, 5), (float)luaL_checknumber(L, 6),
                                 (float)luaL_checknumber(L, 7), lua_toboolean(L, 8), lua_toboolean(L, 9), &trust));
    lua_pushnumber(L, trust);
    return 1;
}

static int l_ema_(lua_State *L)
{
    const char *op = "ema_";
    sl_tensor *t = arg_buf(L, 1, op, "target", -1, false);
    int64_t n = sl_tensor_numel(t);
    sl_tensor *s = arg_buf(L, 2, op, "source", n, false);
    sl_lua_check(L, sl_param_ema(sl_f32(t), sl_f32(s), n, (float)luaL_checknumber(L, 3)));
    lua_settop(L, 1);
    return 1;
}

static const luaL_Reg optim_functions[] = {
    {"sgd_step", l_sgd_step}, {"adam_step", l_adam_step}, {"lars_step", l_lars_step}, {"ema_", l_ema_},
    {NULL, NULL}};

void sl_bind_optim(lua_State *L)
{
    lua_newtable(L);
    luaL_setfuncs(L, optim_functions, 0);
    lua_setfield(L, -2, "optim");
}
