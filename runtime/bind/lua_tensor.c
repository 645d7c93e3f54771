/* lua_tensor.c - the sslab.Tensor userdata: metatable, constructors, shape and
 * view methods, element access, conversion to and from Lua tables/strings.
 * Arithmetic, reductions and products are in lua_tensor_math.c. */
#include <math.h>
#include <string.h>

#include "bind.h"
#include "core/alloc.h"
#include "tensor/format.h"
#include "tensor/view.h"

/* ---- lifetime ------------------------------------------------------------ */

static int t_gc(lua_State *L)
{
    sl_tensor **slot = luaL_checkudata(L, 1, SL_TENSOR_MT);
    sl_tensor_free(*slot);
    *slot = NULL;
    return 0;
}

static int t_tostring(lua_State *L)
{
    sl_tensor **slot = luaL_checkudata(L, 1, SL_TENSOR_MT);
    if (!*slot) {
        lua_pushliteral(L, "sslab.Tensor (freed)");
        return 1;
    }
    char *s = sl_lua_check_ptr(L, sl_tensor_format(*slot));
    lua_pushstring(L, s);
    sl_free(s);
    return 1;
}

/* ---- constructors -------------------------------------------------------- */

/* Shape of a nested table (rectangular), filling size; returns ndim. */
static int nested_shape(lua_State *L, int idx, int64_t *size)
{
    int ndim = 0;
    lua_pushvalue(L, idx);
    while (lua_istable(L, -1)) {
        if (ndim == SL_MAX_DIMS) luaL_error(L, "tensor: nesting deeper than %d", SL_MAX_DIMS);
        size[ndim++] = (int64_t)lua_rawlen(L, -1);
        if (lua_rawlen(L, -1) == 0) break;
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
    return ndim;
}

static void fill_nested(lua_State *L, int idx, sl_tensor *t, int d, int64_t *pos)
{
    int64_t n = (int64_t)lua_rawlen(L, idx);
    if (n != t->size[d]) {
        luaL_error(L, "tensor: ragged nested table (dim %d has %I entries, expected %I)", d + 1, (lua_Integer)n,
                   (lua_Integer)t->size[d]);
    }
    for (int64_t i = 0; i < n; i++) {
        pos[d] = i;
        lua_rawgeti(L, idx, i + 1);
        if (d + 1 < t->ndim) {
            if (!lua_istable(L, -1)) luaL_error(L, "tensor: expected a table at depth %d", d + 2);
            fill_nested(L, lua_gettop(L), t, d + 1, pos);
        } else {
            int isnum;
            lua_Number v = lua_tonumberx(L, -1, &isnum);
            if (!isnum) {
                if (lua_isboolean(L, -1)) v = lua_toboolean(L, -1);
                else luaL_error(L, "tensor: element %I at depth %d is a %s, not a number", (lua_Integer)i + 1, d + 1,
                                luaL_typename(L, -1));
            }
            if (lua_isinteger(L, -1) && t->dtype == SL_INT64) { /* keep exact 64-bit integers */
                int64_t off = 0;
                for (int k = 0; k < t->ndim; k++) off += pos[k] * t->stride[k];
                sl_i64(t)[off] = lua_tointeger(L, -1);
            } else {
                sl_tensor_set(t, pos, v);
            }
        }
        lua_pop(L, 1);
    }
}

/* sslab.tensor(nested_table | number [, dtype]) */
static int l_tensor(lua_State *L)
{
    int64_t size[SL_MAX_DIMS], pos[SL_MAX_DIMS] = {0};
    sl_dtype dt = sl_lua_opt_dtype(L, 2, SL_FLOAT32);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    if (lua_type(L, 1) == LUA_TNUMBER) {
        *slot = sl_lua_check_ptr(L, sl_tensor_new(dt, 0, size));
        sl_tensor_set(*slot, pos, lua_tonumber(L, 1));
        return 1;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    int ndim = nested_shape(L, 1, size);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(dt, ndim, size));
    sl_lua_account(L, (*slot)->storage->nbytes);
    fill_nested(L, 1, *slot, 0, pos); /* also when empty: {{}, {1}} is ragged */
    return 1;
}

/* Constructors taking sizes then options: zeros(2, 3), zeros({2, 3}, 'int64'). */
static sl_tensor **new_sized(lua_State *L, int first, sl_dtype def, int *next)
{
    int64_t size[SL_MAX_DIMS];
    int ndim = sl_lua_check_sizes(L, first, size);
    int after = lua_istable(L, first) ? first + 1 : first + ndim;
    sl_dtype dt = sl_lua_opt_dtype(L, after, def);
    if (next) *next = after + 1;
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(dt, ndim, size));
    sl_lua_account(L, (*slot)->storage->nbytes);
    return slot;
}

static int l_empty(lua_State *L) { new_sized(L, 1, SL_FLOAT32, NULL); return 1; }
static int l_zeros(lua_State *L) { sl_tensor_fill(*new_sized(L, 1, SL_FLOAT32, NULL), 0); return 1; }
static int l_ones(lua_State *L) { sl_tensor_fill(*new_sized(L, 1, SL_FLOAT32, NULL), 1); return 1; }

/* sslab.full(sizes_table, value [, dtype]) */
static int l_full(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    double v = luaL_checknumber(L, 2);
    int64_t size[SL_MAX_DIMS];
    int ndim = sl_lua_check_sizes(L, 1, size);
    sl_dtype dt = sl_lua_opt_dtype(L, 3, SL_FLOAT32);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(dt, ndim, size));
    sl_lua_account(L, (*slot)->storage->nbytes);
    sl_tensor_fill(*slot, v);
    return 1;
}

/* sslab.arange(n): values 0..n-1 as in PyTorch (values, not indices); arange(a, b[, step][, dtype]). */
static int l_arange(lua_State *L)
{
    double start = 0, stop, step = 1;
    int nargs = lua_gettop(L);
    int dtype_arg;
    if (nargs >= 2 && lua_type(L, 2) == LUA_TNUMBER) {
        start = luaL_checknumber(L, 1), stop = luaL_checknumber(L, 2);
        if (nargs >= 3 && lua_type(L, 3) == LUA_TNUMBER) step = luaL_checknumber(L, 3), dtype_arg = 4;
        else dtype_arg = 3;
    } else {
        stop = luaL_checknumber(L, 1), dtype_arg = 2;
    }
    if (step == 0) luaL_argerror(L, 3, "step must be non-zero");
    double count = ceil((stop - start) / step);
    if (!(count >= 0)) count = 0;
    if (count > 1e12) luaL_error(L, "arange: %f elements requested", count);
    bool all_int = start == floor(start) && stop == floor(stop) && step == floor(step);
    sl_dtype dt = sl_lua_opt_dtype(L, dtype_arg, all_int ? SL_INT64 : SL_FLOAT32);
    int64_t n = (int64_t)count;
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(dt, 1, &n));
    sl_lua_account(L, (*slot)->storage->nbytes);
    for (int64_t i = 0; i < n; i++) sl_store(dt, (*slot)->storage->data, i, start + (double)i * step);
    return 1;
}

static int l_eye(lua_State *L)
{
    int64_t size[2] = {luaL_checkinteger(L, 1), luaL_optinteger(L, 2, luaL_checkinteger(L, 1))};
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_zeros(SL_FLOAT32, 2, size));
    sl_lua_account(L, (*slot)->storage->nbytes);
    for (int64_t i = 0; i < size[0] && i < size[1]; i++) sl_f32(*slot)[i * size[1] + i] = 1;
    return 1;
}

/* sslab.from_string(bytes, dtype, shape_table) */
static int l_from_string(lua_State *L)
{
    size_t len;
    const char *bytes = luaL_checklstring(L, 1, &len);
    sl_dtype dt = sl_lua_opt_dtype(L, 2, SL_FLOAT32);
    int64_t size[SL_MAX_DIMS];
    int ndim;
    if (lua_isnoneornil(L, 3)) {
        ndim = 1;
        size[0] = (int64_t)(len / sl_dtype_size(dt));
    } else {
        luaL_checktype(L, 3, LUA_TTABLE);
        ndim = sl_lua_check_sizes(L, 3, size);
    }
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(dt, ndim, size));
    size_t need = (size_t)(*slot)->storage->nbytes;
    if (need != len) {
        char b[128];
        luaL_error(L, "from_string: %I bytes given, but %s %s needs %I", (lua_Integer)len, sl_dtype_name(dt),
                   sl_shape_str(*slot, b, sizeof b), (lua_Integer)need);
    }
    memcpy((*slot)->storage->data, bytes, len);
    return 1;
}

/* sslab.cat(list, dim) and sslab.stack(list, dim) */
static int cat_or_stack(lua_State *L, bool stack)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2); /* the scratch userdata below must not land in the dim slot */
    int n = (int)lua_rawlen(L, 1);
    if (n < 1) luaL_argerror(L, 1, "empty list of tensors");
    sl_tensor **parts = lua_newuserdatauv(L, (size_t)n * sizeof *parts, 0); /* GC-owned scratch */
    sl_tensor **views = lua_newuserdatauv(L, (size_t)n * sizeof *views, 0);
    memset(views, 0, (size_t)n * sizeof *views);
    int ndim0 = 0;
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        if (!sl_lua_is_tensor(L, -1)) luaL_error(L, "%s: entry %d is a %s, not a tensor", stack ? "stack" : "cat", i + 1,
                                                  luaL_typename(L, -1));
        parts[i] = sl_lua_check_tensor(L, -1);
        lua_pop(L, 1); /* still referenced by the list */
    }
    ndim0 = parts[0]->ndim + (stack ? 1 : 0);
    int dim = lua_isnoneornil(L, 2) ? 0 : sl_lua_check_dim(L, 2, ndim0);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    if (stack) {
        for (int i = 0; i < n; i++) {
            views[i] = sl_tensor_unsqueeze_new(parts[i], dim);
            if (!views[i]) break;
        }
        bool ok = true;
        for (int i = 0; i < n; i++) ok = ok && views[i];
        if (ok) {
            for (int i = 1; i < n; i++)
                if (!sl_tensor_same_shape(parts[i], parts[0])) {
                    char a[128], b[128];
                    for (int k = 0; k < n; k++) sl_tensor_free(views[k]);
                    luaL_error(L, "stack: tensor %d is %s but tensor 1 is %s", i + 1,
                               sl_shape_str(parts[i], a, sizeof a), sl_shape_str(parts[0], b, sizeof b));
                }
            *slot = sl_tensor_cat_new(views, n, dim);
        }
        for (int i = 0; i < n; i++) sl_tensor_free(views[i]);
    } else {
        *slot = sl_tensor_cat_new(parts, n, dim);
    }
    sl_lua_check_ptr(L, *slot);
    sl_lua_account(L, (*slot)->storage->nbytes);
    return 1;
}

static int l_cat(lua_State *L) { return cat_or_stack(L, false); }
static int l_stack(lua_State *L) { return cat_or_stack(L, true); }

static int l_is_tensor(lua_State *L)
{
    lua_pushboolean(L, sl_lua_is_tensor(L, 1));
    return 1;
}

/* ---- shape --------------------------------------------------------------- */

static int t_shape(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    lua_createtable(L, t->ndim, 0);
    for (int d = 0; d < t->ndim; d++) {
        lua_pushinteger(L, t->size[d]);
        lua_rawseti(L, -2, d + 1);
    }
    return 1;
}

static int t_size(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) return t_shape(L);
    lua_pushinteger(L, t->size[sl_lua_check_dim(L, 2, t->ndim)]);
    return 1;
}

static int t_stride(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        lua_pushinteger(L, t->stride[sl_lua_check_dim(L, 2, t->ndim)]);
        return 1;
    }
    lua_createtable(L, t->ndim, 0);
    for (int d = 0; d < t->ndim; d++) {
        lua_pushinteger(L, t->stride[d]);
        lua_rawseti(L, -2, d + 1);
    }
    return 1;
}

static int t_dim(lua_State *L) { lua_pushinteger(L, sl_lua_check_tensor(L, 1)->ndim); return 1; }
static int t_numel(lua_State *L) { lua_pushinteger(L, sl_tensor_numel(sl_lua_check_tensor(L, 1))); return 1; }
static int t_dtype(lua_State *L) { lua_pushstring(L, sl_dtype_name(sl_lua_check_tensor(L, 1)->dtype)); return 1; }
/* The memory formats of t:is_contiguous([format]) and t:contiguous([format]). */
static const char *const memory_formats[] = {"contiguous", "channels_last", NULL};

static int t_is_contiguous(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    const int f = luaL_checkoption(L, 2, "contiguous", memory_formats);
    lua_pushboolean(L, f == 0 ? sl_tensor_is_contiguous(t) : sl_tensor_is_channels_last(t));
    return 1;
}

static int t_len(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    lua_pushinteger(L, t->ndim ? t->size[0] : 0);
    return 1;
}

/* ---- views ----------------------------------------------------------------- */

static int push_view(lua_State *L, sl_tensor *v)
{
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, v);
    return 1;
}

static int t_view(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int64_t size[SL_MAX_DIMS];
    int n = sl_lua_check_sizes(L, 2, size);
    return push_view(L, sl_tensor_view_shape_new(t, n, size));
}

static int t_reshape(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int64_t size[SL_MAX_DIMS];
    int n = sl_lua_check_sizes(L, 2, size);
    return push_view(L, sl_tensor_reshape_new(t, n, size));
}

static int t_flatten(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int start = lua_isnoneornil(L, 2) ? 0 : sl_lua_check_dim(L, 2, t->ndim);
    int64_t size[SL_MAX_DIMS];
    for (int d = 0; d < start; d++) size[d] = t->size[d];
    size[start] = -1;
    if (t->ndim == 0) return push_view(L, sl_tensor_reshape_new(t, 1, (int64_t[]){1}));
    return push_view(L, sl_tensor_reshape_new(t, start + 1, size));
}

static int t_narrow(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int dim = sl_lua_check_dim(L, 2, t->ndim);
    lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
    if (start < 0) start += t->size[dim] + 1;
    return push_view(L, sl_tensor_narrow_new(t, dim, start - 1, len));
}

static int t_select(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int dim = sl_lua_check_dim(L, 2, t->ndim);
    lua_Integer i = luaL_checkinteger(L, 3);
    if (i < 0) i += t->size[dim] + 1;
    return push_view(L, sl_tensor_select_new(t, dim, i - 1));
}

static int t_transpose(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2) && t->ndim == 2) return push_view(L, sl_tensor_transpose_new(t, 0, 1));
    int d0 = sl_lua_check_dim(L, 2, t->ndim), d1 = sl_lua_check_dim(L, 3, t->ndim);
    return push_view(L, sl_tensor_transpose_new(t, d0, d1));
}

static int t_t(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    if (t->ndim != 2) {
        char b[128];
        luaL_error(L, "t: needs a 2-d tensor, got %s", sl_shape_str(t, b, sizeof b));
    }
    return push_view(L, sl_tensor_transpose_new(t, 0, 1));
}

static int t_permute(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int64_t p[SL_MAX_DIMS];
    int n = sl_lua_check_sizes(L, 2, p);
    int perm[SL_MAX_DIMS];
    for (int i = 0; i < n; i++) perm[i] = (int)(p[i] < 0 ? p[i] + t->ndim : p[i] - 1);
    return push_view(L, sl_tensor_permute_new(t, n, perm));
}

static int t_expand(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int64_t size[SL_MAX_DIMS];
    int n = sl_lua_check_sizes(L, 2, size);
    return push_view(L, sl_tensor_expand_new(t, n, size));
}

static int t_unsqueeze(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    return push_view(L, sl_tensor_unsqueeze_new(t, sl_lua_check_dim(L, 2, t->ndim + 1)));
}

static int t_squeeze(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? -1 : sl_lua_check_dim(L, 2, t->ndim);
    return push_view(L, sl_tensor_squeeze_new(t, dim));
}

static int t_contiguous(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    if (luaL_checkoption(L, 2, "contiguous", memory_formats) == 0) return push_view(L, sl_tensor_contiguous_new(t));
    return push_view(L, sl_tensor_channels_last_new(t));
}

static int t_clone(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_clone_new(t));
    sl_lua_account(L, (*slot)->storage->nbytes);
    return 1;
}

static int to_dtype(lua_State *L, sl_dtype dt)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    if (t->dtype == dt) {
        lua_settop(L, 1);
        return 1;
    }
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_to_dtype_new(t, dt));
    sl_lua_account(L, (*slot)->storage->nbytes);
    return 1;
}

static int t_to(lua_State *L) { return to_dtype(L, sl_lua_opt_dtype(L, 2, SL_FLOAT32)); }
static int t_float(lua_State *L) { return to_dtype(L, SL_FLOAT32); }
static int t_long(lua_State *L) { return to_dtype(L, SL_INT64); }
static int t_byte(lua_State *L) { return to_dtype(L, SL_UINT8); }

/* ---- indices (1-based in Lua, 0-based in C) ---------------------------------- */

static int t_index_select(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int dim = sl_lua_check_dim(L, 2, t->ndim);
    sl_tensor *ix = sl_lua_positions(L, 3, 0, "index_select: index"); /* range checked with the dim */
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_index_select_new(t, dim, ix));
    sl_lua_account(L, (*slot)->storage->nbytes);
    return 1;
}

static int index_copy_impl(lua_State *L, bool accumulate)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int dim = sl_lua_check_dim(L, 2, t->ndim);
    sl_tensor *ix = sl_lua_positions(L, 3, 0, accumulate ? "index_add_: index" : "index_copy_: index");
    sl_tensor *src = sl_lua_check_tensor(L, 4);
    sl_lua_check(L, sl_tensor_index_copy(t, dim, ix, src, accumulate));
    lua_settop(L, 1);
    return 1;
}

static int t_index_copy_(lua_State *L) { return index_copy_impl(L, false); }
static int t_index_add_(lua_State *L) { return index_copy_impl(L, true); }

/* ---- element access and conversion ---------------------------------------- */

static void push_element(lua_State *L, const sl_tensor *t, const int64_t *pos)
{
    int64_t off = t->offset;
    for (int d = 0; d < t->ndim; d++) off += pos[d] * t->stride[d];
    if (t->dtype == SL_INT64) lua_pushinteger(L, ((int64_t *)t->storage->data)[off]);
    else if (t->dtype == SL_UINT8) lua_pushinteger(L, ((uint8_t *)t->storage->data)[off]);
    else lua_pushnumber(L, ((float *)t->storage->data)[off]);
}

static int t_item(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    if (sl_tensor_numel(t) != 1) {
        char b[128];
        luaL_error(L, "item: tensor %s has %I elements, not 1", sl_shape_str(t, b, sizeof b),
                   (lua_Integer)sl_tensor_numel(t));
    }
    int64_t pos[SL_MAX_DIMS] = {0};
    push_element(L, t, pos);
    return 1;
}

static void push_nested(lua_State *L, const sl_tensor *t, int d, int64_t *pos)
{
    if (d == t->ndim) {
        push_element(L, t, pos);
        return;
    }
    luaL_checkstack(L, 4, "totable: nesting too deep");
    lua_createtable(L, (int)t->size[d], 0);
    for (int64_t i = 0; i < t->size[d]; i++) {
        pos[d] = i;
        push_nested(L, t, d + 1, pos);
        lua_rawseti(L, -2, i + 1);
    }
}

static int t_totable(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int64_t pos[SL_MAX_DIMS] = {0};
    push_nested(L, t, 0, pos);
    return 1;
}

static int t_to_string(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    if (sl_tensor_is_contiguous(t)) {
        lua_pushlstring(L, sl_tensor_data(t), (size_t)sl_tensor_numel(t) * sl_dtype_size(t->dtype));
        return 1;
    }
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_clone_new(t));
    lua_pushlstring(L, sl_tensor_data(*slot), (size_t)sl_tensor_numel(*slot) * sl_dtype_size(t->dtype));
    return 1;
}

static int t_copy_(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1), *src = sl_lua_check_tensor(L, 2);
    sl_lua_check(L, sl_tensor_copy(t, src));
    lua_settop(L, 1);
    return 1;
}

static int t_fill_(lua_State *L)
{
    sl_tensor_fill(sl_lua_check_tensor(L, 1), luaL_checknumber(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int t_zero_(lua_State *L)
{
    sl_tensor_fill(sl_lua_check_tensor(L, 1), 0);
    lua_settop(L, 1);
    return 1;
}

/* t[i]: a number for 1-d tensors, else the view t:select(1, i); t.name: a method. */
static int t_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TNUMBER) {
        sl_tensor *t = sl_lua_check_tensor(L, 1);
        int isint;
        lua_Integer i = lua_tointegerx(L, 2, &isint);
        if (!isint) luaL_error(L, "tensor index must be an integer, got %s", lua_tostring(L, 2));
        if (t->ndim == 0) luaL_error(L, "cannot index a 0-d tensor (use item())");
        if (i < 0) i += t->size[0] + 1;
        if (i < 1 || i > t->size[0]) {
            char b[128];
            luaL_error(L, "index %I out of range for dim 1 of %s (indices are 1-based)", lua_tointeger(L, 2),
                       sl_shape_str(t, b, sizeof b));
        }
        if (t->ndim == 1) {
            int64_t pos[1] = {i - 1};
            push_element(L, t, pos);
            return 1;
        }
        return push_view(L, sl_tensor_select_new(t, 0, i - 1));
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1)); /* methods table */
    return 1;
}

/* t[i] = number | tensor */
static int t_newindex(lua_State *L)
{
    sl_tensor *t = sl_lua_check_tensor(L, 1);
    int isint;
    lua_Integer i = lua_tointegerx(L, 2, &isint);
    if (!isint) luaL_error(L, "tensor index must be an integer, got %s", luaL_typename(L, 2));
    if (t->ndim == 0) luaL_error(L, "cannot index a 0-d tensor");
    if (i < 0) i += t->size[0] + 1;
    if (i < 1 || i > t->size[0]) {
        char b[128];
        luaL_error(L, "index %I out of range for dim 1 of %s (indices are 1-based)", lua_tointeger(L, 2),
                   sl_shape_str(t, b, sizeof b));
    }
    sl_tensor row = *t; /* a header on the stack: no allocation, no reference */
    row.offset += (i - 1) * t->stride[0];
    for (int d = 0; d < t->ndim - 1; d++) row.size[d] = t->size[d + 1], row.stride[d] = t->stride[d + 1];
    row.ndim--;
    if (lua_type(L, 3) == LUA_TNUMBER) sl_tensor_fill(&row, lua_tonumber(L, 3));
    else sl_lua_check(L, sl_tensor_copy(&row, sl_lua_check_tensor(L, 3)));
    return 0;
}

static const luaL_Reg tensor_methods[] = {
    {"shape", t_shape}, {"size", t_size}, {"stride", t_stride}, {"dim", t_dim}, {"numel", t_numel},
    {"dtype", t_dtype}, {"is_contiguous", t_is_contiguous},
    {"view", t_view}, {"reshape", t_reshape}, {"flatten", t_flatten}, {"narrow", t_narrow}, {"select", t_select},
    {"transpose", t_transpose}, {"t", t_t}, {"permute", t_permute}, {"expand", t_expand},
    {"unsqueeze", t_unsqueeze}, {"squeeze", t_squeeze}, {"contiguous", t_contiguous}, {"clone", t_clone},
    {"to", t_to}, {"float", t_float}, {"long", t_long}, {"byte", t_byte},
    {"index_select", t_index_select}, {"index_copy_", t_index_copy_}, {"index_add_", t_index_add_},
    {"item", t_item}, {"totable", t_totable}, {"to_string", t_to_string},
    {"copy_", t_copy_}, {"fill_", t_fill_}, {"zero_", t_zero_},
    {"free", t_gc},
    {NULL, NULL}};

static const luaL_Reg tensor_functions[] = {
    {"tensor", l_tensor}, {"empty", l_empty}, {"zeros", l_zeros}, {"ones", l_ones}, {"full", l_full},
    {"arange", l_arange}, {"eye", l_eye}, {"from_string", l_from_string}, {"cat", l_cat}, {"stack", l_stack},
    {"is_tensor", l_is_tensor},
    {NULL, NULL}};

void sl_bind_tensor(lua_State *L)
{
    int module = lua_gettop(L);
    luaL_newmetatable(L, SL_TENSOR_MT);
    int mt = lua_gettop(L);
    lua_newtable(L); /* methods */
    int methods = lua_gettop(L);
    luaL_setfuncs(L, tensor_methods, 0);
    sl_bind_tensor_math(L, methods); /* arithmetic methods and metamethods */
    lua_pushvalue(L, methods);
    lua_setfield(L, module, "Tensor"); /* sslab.Tensor: the method table, for extension */
    lua_pushvalue(L, methods);
    lua_pushcclosure(L, t_index, 1);
    lua_setfield(L, mt, "__index");
    lua_pushcfunction(L, t_newindex);
    lua_setfield(L, mt, "__newindex");
    lua_pushcfunction(L, t_gc);
    lua_setfield(L, mt, "__gc");
    lua_pushcfunction(L, t_gc);
    lua_setfield(L, mt, "__close");
    lua_pushcfunction(L, t_tostring);
    lua_setfield(L, mt, "__tostring");
    lua_pushcfunction(L, t_len);
    lua_setfield(L, mt, "__len");
    lua_pushvalue(L, methods);
    lua_setfield(L, mt, "methods"); /* for REPL completion */
    lua_settop(L, module);
    luaL_setfuncs(L, tensor_functions, 0);
}
