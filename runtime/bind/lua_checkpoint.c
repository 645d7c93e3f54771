/* lua_checkpoint.c - sslab.save / sslab.load: safetensors checkpoints from Lua (C side: io/safetensors.h).
 *
 *   sslab.save('ckpt.safetensors', {['fc.weight'] = w, step = s}, {epoch = '12'})  --> true
 *   local tensors, meta = sslab.load('ckpt.safetensors')     -- tensors.step, meta.epoch
 *   local t, msg = sslab.load('missing.safetensors')         -- nil, "load: missing...: No such file..."
 *
 * save raises on a bad argument (naming the key) and on a failed write (the
 * old file, if any, is left untouched); load returns nil, msg when the file
 * cannot be opened and raises when it is malformed.
 */
#include <string.h>

#include "bind.h"
#include "io/safetensors.h"

#define BOX_MT "sslab.CheckpointBox"

/* ---- save ----------------------------------------------------------------- */

/* Count the entries of the table at idx. */
static size_t table_count(lua_State *L, int idx)
{
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        n++;
        lua_pop(L, 1);
    }
    return n;
}

/* A string key of the table being traversed (at -2), or raise naming argument arg. */
static const char *check_key(lua_State *L, int arg, const char *what)
{
    if (lua_type(L, -2) != LUA_TSTRING) {
        const char *type = luaL_typename(L, -2);
        lua_pushvalue(L, -2); /* luaL_tolstring on a copy, so lua_next's key stays untouched */
        const char *k = luaL_tolstring(L, -1, NULL);
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be strings, got %s key %s", what, type, k));
    }
    size_t len;
    const char *k = lua_tolstring(L, -2, &len);
    if (strlen(k) != len) luaL_argerror(L, arg, lua_pushfstring(L, "%s '%s...' contains a NUL byte", what, k));
    return k;
}

static int l_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);

    /* Scratch arrays live in userdata, so an error below cannot leak them. */
    size_t n = table_count(L, 2);
    size_t nm = lua_isnil(L, 3) ? 0 : table_count(L, 3);
    const char **names = lua_newuserdatauv(L, (n + 1) * sizeof *names, 0);
    const sl_tensor **tensors = lua_newuserdatauv(L, (n + 1) * sizeof *tensors, 0);
    const char **keys = lua_newuserdatauv(L, (nm + 1) * sizeof *keys, 0);
    const char **values = lua_newuserdatauv(L, (nm + 1) * sizeof *values, 0);

    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        const char *name = check_key(L, 2, "tensor names");
        if (!sl_lua_is_tensor(L, -1))
            luaL_argerror(L, 2, lua_pushfstring(L, "value for key '%s' is a %s, expected sslab.Tensor", name,
                                                luaL_typename(L, -1)));
        sl_tensor *t = *(sl_tensor **)lua_touserdata(L, -1);
        if (!t) luaL_argerror(L, 2, lua_pushfstring(L, "tensor '%s' has been freed", name));
        names[i] = name; /* stays valid: the table holds the key */
        tensors[i] = t;
        i++;
        lua_pop(L, 1);
    }
    i = 0;
    if (nm) {
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            const char *key = check_key(L, 3, "metadata keys");
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, 3, lua_pushfstring(L, "metadata value for key '%s' is a %s, expected a string", key,
                                                    luaL_typename(L, -1)));
            size_t len;
            const char *v = lua_tolstring(L, -1, &len);
            if (strlen(v) != len)
                luaL_argerror(L, 3, lua_pushfstring(L, "metadata value for key '%s' contains a NUL byte", key));
            keys[i] = key;
            values[i] = v;
            i++;
            lua_pop(L, 1);
        }
    }
    sl_lua_check(L, sl_safetensors_save(path, n, names, tensors, nm, keys, values));
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- load ----------------------------------------------------------------- */

static int box_gc(lua_State *L)
{
    sl_safetensors **box = luaL_checkudata(L, 1, BOX_MT);
    sl_safetensors_free(*box);
    *box = NULL;
    return 0;
}

static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    /* Push before fill: the loaded checkpoint sits in a box whose __gc frees
     * it, so a Lua error while building the tables cannot leak it. */
    sl_safetensors **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, BOX_MT);
    int box_idx = lua_gettop(L);
    int rc = sl_safetensors_load(path, box);
    if (rc == SL_ENOENT) {
        luaL_pushfail(L);
        lua_pushstring(L, sl_last_error());
        return 2;
    }
    sl_lua_check(L, rc);
    sl_safetensors *ck = *box;

    lua_createtable(L, 0, (int)ck->n_tensors);
    for (size_t i = 0; i < ck->n_tensors; i++) {
        sl_tensor **slot = sl_lua_new_tensor_slot(L);
        *slot = ck->tensors[i]; /* move: the userdata owns it now */
        ck->tensors[i] = NULL;
        sl_lua_account(L, (*slot)->storage->nbytes);
        lua_setfield(L, -2, ck->names[i]);
    }
    lua_createtable(L, 0, (int)ck->n_meta);
    for (size_t i = 0; i < ck->n_meta; i++) {
        lua_pushstring(L, ck->meta_values[i]);
        lua_setfield(L, -2, ck->meta_keys[i]);
    }
    sl_safetensors_free(ck);
    *(sl_safetensors **)lua_touserdata(L, box_idx) = NULL;
    return 2;
}

void sl_bind_checkpoint(lua_State *L)
{
    if (luaL_newmetatable(L, BOX_MT)) {
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_save), lua_setfield(L, -2, "save");
    lua_pushcfunction(L, l_load), lua_setfield(L, -2, "load");
}
