/* bind.c - shared helpers of the Lua binding (see bind.h): the one place a C
 * error becomes a Lua error, tensor userdata slots, GC accounting, argument
 * parsing. */
#include "bind.h"

#include <string.h>

#include "core/alloc.h"
#include "tensor/random.h"

void sl_lua_check(lua_State *L, int status)
{
    if (status != SL_OK) luaL_error(L, "%s", sl_last_error());
}

void *sl_lua_check_ptr(lua_State *L, void *p)
{
    if (!p) luaL_error(L, "%s", sl_last_error());
    return p;
}

sl_tensor *sl_lua_check_tensor(lua_State *L, int idx)
{
    sl_tensor **slot = luaL_checkudata(L, idx, SL_TENSOR_MT);
    if (!*slot) luaL_argerror(L, idx, "tensor has been freed");
    return *slot;
}

int sl_lua_is_tensor(lua_State *L, int idx) { return luaL_testudata(L, idx, SL_TENSOR_MT) != NULL; }

sl_tensor *sl_lua_opt_tensor(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) ? NULL : sl_lua_check_tensor(L, idx);
}

sl_tensor **sl_lua_new_tensor_slot(lua_State *L)
{
    sl_tensor **slot = lua_newuserdatauv(L, sizeof *slot, 0);
    *slot = NULL;
    luaL_setmetatable(L, SL_TENSOR_MT);
    return slot;
}

void sl_lua_push_tensor(lua_State *L, sl_tensor *t)
{
    if (!t) luaL_error(L, "%s", sl_last_error());
    /* Push-before-fill would be safer, but lua_newuserdatauv can only fail
     * by raising out-of-memory; free t first in that case via a protected
     * slot: create the slot, then store. */
    sl_tensor **slot = lua_newuserdatauv(L, sizeof *slot, 0);
    *slot = t;
    luaL_setmetatable(L, SL_TENSOR_MT);
    sl_lua_account(L, t->storage->refcount == 1 ? t->storage->nbytes : 0);
}

/* GC pacing: Lua sees only the 8-byte userdata of a tensor, not its storage.
 * Once C allocations since the last full collection exceed the live bytes
 * seen then (at least 64 MB), run a full collection, so a loop that makes
 * temporaries stays within about twice its live memory. */
static int64_t bytes_since_collect;
static int64_t live_after_collect;

void sl_lua_account(lua_State *L, int64_t nbytes)
{
    bytes_since_collect += nbytes;
    int64_t threshold = live_after_collect > (64 << 20) ? live_after_collect : (64 << 20);
    if (bytes_since_collect > threshold) {
        lua_gc(L, LUA_GCCOLLECT);
        bytes_since_collect = 0;
        live_after_collect = sl_alloc_live_bytes();
    }
}

int sl_lua_check_dim(lua_State *L, int idx, int ndim)
{
    lua_Integer d = luaL_checkinteger(L, idx);
    lua_Integer n = ndim > 0 ? ndim : 1;
    if (d < 0) d += n + 1;
    if (d < 1 || d > n) /* argerror names the function: "bad argument #2 to 'sum' (dim 3 out of range ...)" */
        luaL_argerror(L, idx, lua_pushfstring(L, "dim %I out of range (tensor has %d dims; dims are 1-based)",
                                              luaL_checkinteger(L, idx), ndim));
    return (int)d - 1;
}

int sl_lua_check_sizes(lua_State *L, int idx, int64_t *size)
{
    int n = 0;
    if (lua_istable(L, idx)) {
        n = (int)lua_rawlen(L, idx);
        if (n > SL_MAX_DIMS) luaL_error(L, "too many dims (%d, at most %d)", n, SL_MAX_DIMS);
        for (int i = 0; i < n; i++) {
            lua_rawgeti(L, idx, i + 1);
            int ok;
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            if (!ok) luaL_error(L, "size %d is not an integer", i + 1);
            size[i] = v;
            lua_pop(L, 1);
        }
        return n;
    }
    int top = lua_gettop(L);
    for (int i = idx; i <= top && lua_type(L, i) == LUA_TNUMBER; i++) {
        if (n == SL_MAX_DIMS) luaL_error(L, "too many dims (at most %d)", SL_MAX_DIMS);
        int ok;
        lua_Integer v = lua_tointegerx(L, i, &ok);
        if (!ok) luaL_argerror(L, i, "size must be an integer");
        size[n++] = v;
    }
    return n;
}

sl_dtype sl_lua_opt_dtype(lua_State *L, int idx, sl_dtype def)
{
    if (lua_isnoneornil(L, idx)) return def;
    static const char *const names[] = {"float32", "uint8", "int64", NULL};
    return (sl_dtype)luaL_checkoption(L, idx, NULL, names);
}

sl_tensor *sl_lua_positions(lua_State *L, int idx, int64_t limit, const char *what)
{
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    int64_t n;
    if (lua_istable(L, idx)) {
        n = (int64_t)lua_rawlen(L, idx);
        *slot = sl_lua_check_ptr(L, sl_tensor_new(SL_INT64, 1, &n));
        for (int64_t i = 0; i < n; i++) {
            lua_rawgeti(L, idx, i + 1);
            int ok;
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            if (!ok) luaL_error(L, "%s entry %I is not an integer", what, (lua_Integer)i + 1);
            sl_i64(*slot)[i] = v == LUA_MININTEGER ? v : v - 1;
            lua_pop(L, 1);
        }
    } else {
        sl_tensor *t = sl_lua_check_tensor(L, idx);
        if (t->dtype != SL_INT64 || t->ndim != 1) {
            char b[128];
            luaL_error(L, "%s must be a 1-d int64 tensor or a table, got %s %s", what, sl_dtype_name(t->dtype),
                       sl_shape_str(t, b, sizeof b));
        }
        n = t->size[0];
        *slot = sl_lua_check_ptr(L, sl_tensor_new(SL_INT64, 1, &n));
        for (int64_t i = 0; i < n; i++) {
            int64_t v = sl_i64(t)[i * t->stride[0]];
            sl_i64(*slot)[i] = v == INT64_MIN ? v : v - 1;
        }
    }
    for (int64_t i = 0; limit > 0 && i < n; i++) {
        int64_t v = sl_i64(*slot)[i];
        if (v < 0 || v >= limit)
            luaL_error(L, "%s[%I] = %I out of range [1, %I]", what, (lua_Integer)i + 1, (lua_Integer)(v + 1),
                       (lua_Integer)limit);
    }
    return *slot;
}
