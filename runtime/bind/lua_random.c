/* lua_random.c - generators and random tensors.
 *
 * sslab.manual_seed(n) seeds the default generator; sslab.Generator(seed)
 * makes an independent one that any random function accepts as its last
 * argument. A generator's state is an int64 tensor {seed, counter}
 * (get_state/set_state), so it saves into a checkpoint like any tensor.
 * Index-valued results (randperm, multinomial) are 1-based. */
#include <math.h>
#include <string.h>

#include "bind.h"
#include "core/alloc.h"
#include "tensor/random.h"

#define SL_GENERATOR_MT "sslab.Generator"

static sl_rng *check_generator(lua_State *L, int idx) { return luaL_checkudata(L, idx, SL_GENERATOR_MT); }

sl_rng *sl_lua_opt_rng(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx) || !luaL_testudata(L, idx, SL_GENERATOR_MT)) return sl_rng_default();
    return check_generator(L, idx);
}

/* The generator is the last argument if it is one. */
static sl_rng *trailing_rng(lua_State *L)
{
    int top = lua_gettop(L);
    if (top > 0 && luaL_testudata(L, top, SL_GENERATOR_MT)) {
        sl_rng *g = check_generator(L, top);
        lua_pop(L, 1);
        return g;
    }
    return sl_rng_default();
}

static int l_generator(lua_State *L)
{
    lua_Integer seed = luaL_optinteger(L, 1, 0x5EED);
    sl_rng *g = lua_newuserdatauv(L, sizeof *g, 0);
    sl_rng_init(g, (uint64_t)seed);
    luaL_setmetatable(L, SL_GENERATOR_MT);
    return 1;
}

static int l_manual_seed(lua_State *L)
{
    sl_rng *g = lua_gettop(L) >= 2 ? check_generator(L, 1) : sl_rng_default();
    sl_rng_init(g, (uint64_t)luaL_checkinteger(L, lua_gettop(L)));
    return 0;
}

static int push_state(lua_State *L, const sl_rng *g)
{
    int64_t n = 2;
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(SL_INT64, 1, &n));
    sl_i64(*slot)[0] = (int64_t)g->seed;
    sl_i64(*slot)[1] = (int64_t)g->counter;
    return 1;
}

static void set_state(lua_State *L, sl_rng *g, int idx)
{
    sl_tensor *s = sl_lua_check_tensor(L, idx);
    if (s->dtype != SL_INT64 || s->ndim != 1 || s->size[0] != 2 || !sl_tensor_is_contiguous(s))
        luaL_argerror(L, idx, "generator state must be an int64 tensor of 2 elements {seed, counter}");
    g->seed = (uint64_t)sl_i64(s)[0];
    g->counter = (uint64_t)sl_i64(s)[1];
}

static int l_get_rng_state(lua_State *L) { return push_state(L, sl_rng_default()); }
static int l_set_rng_state(lua_State *L) { set_state(L, sl_rng_default(), 1); return 0; }
static int g_get_state(lua_State *L) { return push_state(L, check_generator(L, 1)); }
static int g_set_state(lua_State *L) { set_state(L, check_generator(L, 1), 2); lua_settop(L, 1); return 1; }
static int g_seed(lua_State *L) { lua_pushinteger(L, (lua_Integer)check_generator(L, 1)->seed); return 1; }
static int g_manual_seed(lua_State *L)
{
    sl_rng_init(check_generator(L, 1), (uint64_t)luaL_checkinteger(L, 2));
    lua_settop(L, 1);
    return 1;
}
static int g_tostring(lua_State *L)
{
    sl_rng *g = check_generator(L, 1);
    lua_pushfstring(L, "sslab.Generator(seed=%I, counter=%I)", (lua_Integer)g->seed, (lua_Integer)g->counter);
    return 1;
}
/* g:uniform() / g:normal() / g:random(n) scalar draws (random(n): 1..n). */
static int g_uniform(lua_State *L)
{
    sl_rng *g = check_generator(L, 1);
    double lo = luaL_optnumber(L, 2, 0), hi = luaL_optnumber(L, 3, 1);
    lua_pushnumber(L, lo + (hi - lo) * sl_rng_uniform(g));
    return 1;
}
static int g_normal(lua_State *L)
{
    sl_rng *g = check_generator(L, 1);
    lua_pushnumber(L, luaL_optnumber(L, 2, 0) + luaL_optnumber(L, 3, 1) * sl_rng_normal(g));
    return 1;
}
static int g_random(lua_State *L)
{
    sl_rng *g = check_generator(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    if (n < 1) luaL_argerror(L, 2, "must be at least 1");
    lua_pushinteger(L, sl_rng_below(g, n) + 1);
    return 1;
}

/* Fill a new float tensor of the given sizes (args from 1). */
static sl_tensor *new_float(lua_State *L)
{
    int64_t size[SL_MAX_DIMS];
    int ndim = sl_lua_check_sizes(L, 1, size);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(SL_FLOAT32, ndim, size));
    sl_lua_account(L, (*slot)->storage->nbytes);
    return *slot;
}

static int l_rand(lua_State *L)
{
    sl_rng *g = trailing_rng(L);
    sl_tensor *t = new_float(L);
    sl_rng_fill_uniform(g, sl_f32(t), sl_tensor_numel(t), 0, 1);
    return 1;
}

static int l_randn(lua_State *L)
{
    sl_rng *g = trailing_rng(L);
    sl_tensor *t = new_float(L);
    sl_rng_fill_normal(g, sl_f32(t), sl_tensor_numel(t), 0, 1);
    return 1;
}

/* sslab.randint(low, high, sizes) -> int64 values in [low, high) as in PyTorch. */
static int l_randint(lua_State *L)
{
    sl_rng *g = trailing_rng(L);
    lua_Integer lo = luaL_checkinteger(L, 1), hi = luaL_checkinteger(L, 2);
    if (hi <= lo) luaL_error(L, "randint: high (%I) must be greater than low (%I)", hi, lo);
    uint64_t range = (uint64_t)hi - (uint64_t)lo; /* no signed overflow for extreme bounds */
    if (range > INT64_MAX) luaL_error(L, "randint: range [%I, %I) is too large", lo, hi);
    int64_t size[SL_MAX_DIMS];
    int ndim = sl_lua_check_sizes(L, 3, size);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(SL_INT64, ndim, size));
    int64_t n = sl_tensor_numel(*slot);
    for (int64_t i = 0; i < n; i++) sl_i64(*slot)[i] = lo + sl_rng_below(g, (int64_t)range);
    return 1;
}

/* sslab.randperm(n) -> int64 permutation of 1..n */
static int l_randperm(lua_State *L)
{
    sl_rng *g = trailing_rng(L);
    int64_t n = luaL_checkinteger(L, 1);
    if (n < 0) luaL_argerror(L, 1, "must be non-negative");
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(SL_INT64, 1, &n));
    sl_rng_randperm(g, sl_i64(*slot), n);
    for (int64_t i = 0; i < n; i++) sl_i64(*slot)[i] += 1;
    return 1;
}

/* sslab.multinomial(probs [R x K] or [K], n [, replacement]) -> int64 [R x n] of 1-based categories */
static int l_multinomial(lua_State *L)
{
    sl_rng *g = trailing_rng(L);
    sl_tensor *p = sl_lua_check_tensor(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    bool replacement = lua_toboolean(L, 3);
    char b[128];
    if (p->dtype != SL_FLOAT32 || p->ndim < 1 || p->ndim > 2 || !sl_tensor_is_contiguous(p))
        luaL_error(L, "multinomial: probs must be a contiguous 1-d or 2-d float32 tensor, got %s %s",
                   sl_dtype_name(p->dtype), sl_shape_str(p, b, sizeof b));
    int64_t rows = p->ndim == 2 ? p->size[0] : 1, k = p->size[p->ndim - 1];
    if (n < 0 || (!replacement && n > k))
        luaL_error(L, "multinomial: cannot draw %I samples from %I categories without replacement", n, (lua_Integer)k);
    int64_t size[2] = {rows, n};
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(SL_INT64, p->ndim, p->ndim == 2 ? size : size + 1));
    int status = sl_rng_multinomial(g, sl_f32(p), rows, k, n, replacement, sl_i64(*slot));
    sl_lua_check(L, status);
    for (int64_t i = 0; i < rows * n; i++) sl_i64(*slot)[i] += 1;
    return 1;
}

/* In-place fills: t:uniform_(lo, hi), t:normal_(mean, std), t:bernoulli_(p) (float32, contiguous). */
static sl_tensor *check_fill_target(lua_State *L, const char *op)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    char b[128];
    if (t->dtype != SL_FLOAT32 || !sl_tensor_is_contiguous(t))
        luaL_error(L, "%s: needs a contiguous float32 tensor, got %s %s", op, sl_dtype_name(t->dtype),
                   sl_shape_str(t, b, sizeof b));
    return t;
}

static int t_uniform_(lua_State *L)
{
    sl_rng *g = trailing_rng(L);
    sl_tensor *t = check_fill_target(L, "uniform_");
    sl_rng_fill_uniform(g, sl_f32(t), sl_tensor_numel(t), (float)luaL_optnumber(L, 2, 0), (float)luaL_optnumber(L, 3, 1));
    lua_settop(L, 1);
    return 1;
}

static int t_normal_(lua_State *L)
{
    sl_rng *g = trailing_rng(L);
    sl_tensor *t = check_fill_target(L, "normal_");
    sl_rng_fill_normal(g, sl_f32(t), sl_tensor_numel(t), (float)luaL_optnumber(L, 2, 0), (float)luaL_optnumber(L, 3, 1));
    lua_settop(L, 1);
    return 1;
}

static int t_bernoulli_(lua_State *L)
{
    sl_rng *g = trailing_rng(L);
    sl_tensor *t = check_fill_target(L, "bernoulli_");
    sl_rng_fill_bernoulli(g, sl_f32(t), sl_tensor_numel(t), (float)luaL_optnumber(L, 2, 0.5));
    lua_settop(L, 1);
    return 1;
}

static const luaL_Reg generator_methods[] = {
    {"get_state", g_get_state}, {"set_state", g_set_state}, {"seed", g_seed}, {"manual_seed", g_manual_seed},
    {"uniform", g_uniform}, {"normal", g_normal}, {"random", g_random}, {NULL, NULL}};

static const luaL_Reg random_functions[] = {
    {"Generator", l_generator}, {"manual_seed", l_manual_seed}, {"get_rng_state", l_get_rng_state},
    {"set_rng_state", l_set_rng_state}, {"rand", l_rand}, {"randn", l_randn}, {"randint", l_randint},
    {"randperm", l_randperm}, {"multinomial", l_multinomial}, {NULL, NULL}};

void sl_bind_random(lua_State *L)
{
    int module = lua_gettop(L);
    luaL_newmetatable(L, SL_GENERATOR_MT);
    lua_newtable(L);
    luaL_setfuncs(L, generator_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, g_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    luaL_setfuncs(L, random_functions, 0);
    /* tensor methods */
    lua_getfield(L, module, "Tensor");
    lua_pushcfunction(L, t_uniform_), lua_setfield(L, -2, "uniform_");
    lua_pushcfunction(L, t_normal_), lua_setfield(L, -2, "normal_");
    lua_pushcfunction(L, t_bernoulli_), lua_setfield(L, -2, "bernoulli_");
    lua_settop(L, module);
}
