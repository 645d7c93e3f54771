/* lua_tensor_math.c - tensor arithmetic, comparisons, unary math, reductions,
 * matrix products, sort/topk, and the operator metamethods.
 * One C function per family; the op is its upvalue. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "tensor/elementwise.h"
#include "tensor/matmul.h"
#include "tensor/reduce.h"
#include "tensor/sort.h"
#include "tensor/view.h"

static void push_new(lua_State *L, sl_tensor *t)
{
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, t);
    sl_lua_account(L, t->storage->nbytes);
}

/* a op b where either may be a number; out (may be NULL) receives in place. */
static int binary(lua_State *L, sl_binary_op op, int ia, int ib, sl_tensor *out)
{
    sl_tensor *result = NULL;
    int status;
    if (lua_type(L, ib) == LUA_TNUMBER)
        status = sl_tensor_binary_scalar(op, sl_lua_check_tensor(L, ia), lua_tonumber(L, ib), false, out, &result);
    else if (lua_type(L, ia) == LUA_TNUMBER)
        status = sl_tensor_binary_scalar(op, sl_lua_check_tensor(L, ib), lua_tonumber(L, ia), true, out, &result);
    else
        status = sl_tensor_binary(op, sl_lua_check_tensor(L, ia), sl_lua_check_tensor(L, ib), out, &result);
    sl_lua_check(L, status);
    if (out) lua_pushvalue(L, ia);
    else push_new(L, result);
    return 1;
}

/* t:add(x [, alpha]) etc.: alpha scales x for add/sub (out = t + alpha*x). */
static int m_binary(lua_State *L)
{
    sl_binary_op op = (sl_binary_op)lua_tointeger(L, lua_upvalueindex(1));
    bool inplace = lua_toboolean(L, lua_upvalueindex(2));
    sl_tensor *self = sl_lua_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) luaL_argerror(L, 2, "tensor or number expected");
    if ((op == SL_OP_ADD || op == SL_OP_SUB) && !lua_isnoneornil(L, 3)) {
        double alpha = luaL_checknumber(L, 3);
        if (lua_type(L, 2) == LUA_TNUMBER) {
            lua_pushnumber(L, lua_tonumber(L, 2) * alpha);
            lua_replace(L, 2);
        } else {
            sl_tensor *scaled = NULL;
            sl_lua_check(L, sl_tensor_binary_scalar(SL_OP_MUL, sl_lua_check_tensor(L, 2), alpha, false, NULL, &scaled));
            push_new(L, scaled);
            lua_replace(L, 2);
        }
    }
    return binary(L, op, 1, 2, inplace ? self : NULL);
}

/* Operators: either side may be a number. */
static int mm_binary(lua_State *L)
{
    sl_binary_op op = (sl_binary_op)lua_tointeger(L, lua_upvalueindex(1));
    return binary(L, op, 1, 2, NULL);
}

static int mm_unm(lua_State *L)
{
    sl_tensor *result = NULL;
    sl_lua_check(L, sl_tensor_unary(SL_OP_NEG, sl_lua_check_tensor(L, 1), NULL, &result));
    push_new(L, result);
    return 1;
}

static int m_unary(lua_State *L)
{
    sl_unary_op op = (sl_unary_op)lua_tointeger(L, lua_upvalueindex(1));
    bool inplace = lua_toboolean(L, lua_upvalueindex(2));
    sl_tensor *t = sl_lua_check_tensor(L, 1), *result = NULL;
    sl_lua_check(L, sl_tensor_unary(op, t, inplace ? t : NULL, &result));
    if (inplace) lua_settop(L, 1);
    else push_new(L, result);
    return 1;
}

/* t:clamp(lo, hi) with nil meaning unbounded. */
static int m_clamp(lua_State *L)
{
    bool inplace = lua_toboolean(L, lua_upvalueindex(1));
    sl_tensor *t = sl_lua_check_tensor(L, 1), *result = NULL;
    double lo = luaL_optnumber(L, 2, -INFINITY), hi = luaL_optnumber(L, 3, INFINITY);
    sl_lua_check(L, sl_tensor_clamp(t, lo, hi, inplace ? t : NULL, &result));
    if (inplace) lua_settop(L, 1);
    else push_new(L, result);
    return 1;
}

static int l_where(lua_State *L)
{
    sl_tensor *c = sl_lua_check_tensor(L, 1);
    sl_tensor scalar[2];
    float values[2];
    sl_storage storage[2];
    const sl_tensor *ab[2];
    for (int k = 0; k < 2; k++) { /* numbers become 0-d tensors on the C stack */
        if (lua_type(L, 2 + k) == LUA_TNUMBER) {
            values[k] = (float)lua_tonumber(L, 2 + k);
            storage[k] = (sl_storage){&values[k], 4, 1, true};
            scalar[k] = (sl_tensor){.dtype = SL_FLOAT32, .ndim = 0, .storage = &storage[k]};
            ab[k] = &scalar[k];
        } else {
            ab[k] = sl_lua_check_tensor(L, 2 + k);
        }
    }
    push_new(L, sl_lua_check_ptr(L, sl_tensor_where_new(c, ab[0], ab[1])));
    return 1;
}

/* ---- reductions --------------------------------------------------------------
 * t:sum() -> number;  t:sum(dim [, keepdim]) -> tensor.
 * t:max() -> number;  t:max(dim [, keepdim]) -> values, indices (1-based).
 * t:argmax() -> 1-based flat position; t:argmax(dim) -> int64 tensor (1-based).
 * t:norm([p [, dim [, keepdim]]]);  t:var([dim [, unbiased [, keepdim]]]). */

static void to_one_based(sl_tensor *ix)
{
    int64_t n = sl_tensor_numel(ix);
    for (int64_t i = 0; i < n; i++) sl_i64(ix)[i] += 1; /* fresh contiguous tensor */
}

static int reduce(lua_State *L, sl_reduction op, int dim_arg, double param, int keepdim_arg)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    if (lua_isnoneornil(L, dim_arg)) {
        double r;
        sl_lua_check(L, sl_tensor_reduce_all(op, t, param, &r));
        if (op == SL_RED_ARGMAX || op == SL_RED_ARGMIN) lua_pushinteger(L, (lua_Integer)r + 1);
        else if (t->dtype != SL_FLOAT32 && op != SL_RED_MEAN && op <= SL_RED_MIN) lua_pushinteger(L, (lua_Integer)r);
        else lua_pushnumber(L, r);
        return 1;
    }
    int dim = sl_lua_check_dim(L, dim_arg, t->ndim);
    bool keepdim = lua_toboolean(L, keepdim_arg);
    sl_tensor *values = NULL, *indices = NULL;
    bool with_indices = op == SL_RED_MAX || op == SL_RED_MIN;
    sl_lua_check(L, sl_tensor_reduce_dim(op, t, dim, keepdim, param, &values, with_indices ? &indices : NULL));
    sl_tensor **vs = sl_lua_new_tensor_slot(L);
    *vs = values;
    sl_lua_account(L, values->storage->nbytes + (indices ? indices->storage->nbytes : 0));
    if (op == SL_RED_ARGMAX || op == SL_RED_ARGMIN) to_one_based(values);
    if (!with_indices) return 1;
    sl_tensor **is = sl_lua_new_tensor_slot(L);
    *is = indices;
    to_one_based(indices);
    return 2;
}

static int m_reduce(lua_State *L)
{
    return reduce(L, (sl_reduction)lua_tointeger(L, lua_upvalueindex(1)), 2, 0, 3);
}

static int m_norm(lua_State *L)
{
    double p = luaL_optnumber(L, 2, 2);
    return reduce(L, SL_RED_NORM, 3, p, 4);
}

static int m_var(lua_State *L)
{
    sl_reduction op = (sl_reduction)lua_tointeger(L, lua_upvalueindex(1));
    bool unbiased = lua_isnoneornil(L, 3) ? true : lua_toboolean(L, 3);
    return reduce(L, op, 2, unbiased ? 1 : 0, 4);
}

/* ---- products ------------------------------------------------------------------ */

static int m_matmul(lua_State *L)
{
    push_new(L, sl_lua_check_ptr(L, sl_tensor_matmul_new(sl_lua_check_tensor(L, 1), sl_lua_check_tensor(L, 2))));
    return 1;
}

static int m_bmm(lua_State *L)
{
    push_new(L, sl_lua_check_ptr(L, sl_tensor_bmm_new(sl_lua_check_tensor(L, 1), sl_lua_check_tensor(L, 2))));
    return 1;
}

/* out:addmm_(a, b [, beta [, alpha]])  ->  out = beta*out + alpha*a@b */
static int m_addmm_(lua_State *L)
{
    sl_tensor *out = sl_lua_check_tensor(L, 1), *a = sl_lua_check_tensor(L, 2), *b = sl_lua_check_tensor(L, 3);
    float beta = (float)luaL_optnumber(L, 4, 1), alpha = (float)luaL_optnumber(L, 5, 1);
    sl_lua_check(L, sl_tensor_addmm(out, beta, alpha, a, b));
    lua_settop(L, 1);
    return 1;
}

/* ---- sort / topk ------------------------------------------------------------------ */

static int push_pair(lua_State *L, sl_tensor *values, sl_tensor *indices)
{
    sl_tensor **vs = sl_lua_new_tensor_slot(L);
    *vs = values;
    sl_tensor **is = sl_lua_new_tensor_slot(L);
    *is = indices;
    sl_lua_account(L, values->storage->nbytes + indices->storage->nbytes);
    to_one_based(indices);
    return 2;
}

/* t:sort([dim [, descending]]) -> values, indices (1-based); dim defaults to the last. */
static int m_sort(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1), *v, *i;
    int dim = lua_isnoneornil(L, 2) ? t->ndim - 1 : sl_lua_check_dim(L, 2, t->ndim);
    sl_lua_check(L, sl_tensor_sort(t, dim, lua_toboolean(L, 3), &v, &i));
    return push_pair(L, v, i);
}

/* t:topk(k [, dim [, largest = true]]) -> values, indices (1-based), sorted. */
static int m_topk(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1), *v, *i;
    lua_Integer k = luaL_checkinteger(L, 2);
    int dim = lua_isnoneornil(L, 3) ? t->ndim - 1 : sl_lua_check_dim(L, 3, t->ndim);
    bool largest = lua_isnoneornil(L, 4) ? true : lua_toboolean(L, 4);
    sl_lua_check(L, sl_tensor_topk(t, k, dim, largest, &v, &i));
    return push_pair(L, v, i);
}

/* ---- registration ------------------------------------------------------------------ */

static void set_op(lua_State *L, int table, const char *name, lua_CFunction f, int op, int flag)
{
    lua_pushinteger(L, op);
    lua_pushboolean(L, flag);
    lua_pushcclosure(L, f, 2);
    lua_setfield(L, table, name);
}

void sl_bind_tensor_math(lua_State *L, int methods)
{
    luaL_getmetatable(L, SL_TENSOR_MT);
    int mt = lua_gettop(L);
    char name[32];
    for (int op = 0; op < SL_NUM_BINARY_OPS; op++) {
        const char *base = sl_binary_op_name((sl_binary_op)op);
        set_op(L, methods, base, m_binary, op, 0);
        if (op < SL_OP_EQ) {
            snprintf(name, sizeof name, "%s_", base);
            set_op(L, methods, name, m_binary, op, 1);
        }
    }
    for (int op = 0; op < SL_NUM_UNARY_OPS; op++) {
        const char *base = sl_unary_op_name((sl_unary_op)op);
        set_op(L, methods, base, m_unary, op, 0);
        snprintf(name, sizeof name, "%s_", base);
        set_op(L, methods, name, m_unary, op, 1);
    }
    lua_pushboolean(L, 0);
    lua_pushcclosure(L, m_clamp, 1);
    lua_setfield(L, methods, "clamp");
    lua_pushboolean(L, 1);
    lua_pushcclosure(L, m_clamp, 1);
    lua_setfield(L, methods, "clamp_");
    static const struct { const char *name; sl_reduction op; } reductions[] = {
        {"sum", SL_RED_SUM}, {"mean", SL_RED_MEAN}, {"prod", SL_RED_PROD}, {"max", SL_RED_MAX},
        {"min", SL_RED_MIN}, {"argmax", SL_RED_ARGMAX}, {"argmin", SL_RED_ARGMIN}};
    for (size_t k = 0; k < sizeof reductions / sizeof *reductions; k++)
        set_op(L, methods, reductions[k].name, m_reduce, reductions[k].op, 0);
    set_op(L, methods, "var", m_var, SL_RED_VAR, 0);
    set_op(L, methods, "std", m_var, SL_RED_STD, 0);
    lua_pushcfunction(L, m_norm), lua_setfield(L, methods, "norm");
    lua_pushcfunction(L, m_matmul), lua_setfield(L, methods, "matmul");
    lua_pushcfunction(L, m_matmul), lua_setfield(L, methods, "mm");
    lua_pushcfunction(L, m_bmm), lua_setfield(L, methods, "bmm");
    lua_pushcfunction(L, m_addmm_), lua_setfield(L, methods, "addmm_");
    lua_pushcfunction(L, m_sort), lua_setfield(L, methods, "sort");
    lua_pushcfunction(L, m_topk), lua_setfield(L, methods, "topk");

    static const struct { const char *name; sl_binary_op op; } operators[] = {
        {"__add", SL_OP_ADD}, {"__sub", SL_OP_SUB}, {"__mul", SL_OP_MUL}, {"__div", SL_OP_DIV},
        {"__pow", SL_OP_POW}, {"__mod", SL_OP_REMAINDER}};
    for (size_t k = 0; k < sizeof operators / sizeof *operators; k++) {
        lua_pushinteger(L, operators[k].op);
        lua_pushcclosure(L, mm_binary, 1);
        lua_setfield(L, mt, operators[k].name);
    }
    lua_pushcfunction(L, mm_unm), lua_setfield(L, mt, "__unm");
    lua_pushcfunction(L, l_where), lua_setfield(L, methods, "where"); /* also sslab.where via init.lua */
    lua_settop(L, mt - 1);
}
