/* lua_module.c - entry point of the C module 'sslab.core'.
 * Each area adds its functions to the module table (see bind.h). The Lua
 * side (lua/sslab/init.lua) requires this and builds the public 'sslab'. */
#include "bind.h"

#include "tensor/gemm.h"

static int l_set_num_threads(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1) luaL_argerror(L, 1, "must be at least 1");
    sl_set_num_threads((int)n);
    return 0;
}

static int l_get_num_threads(lua_State *L)
{
    lua_pushinteger(L, sl_get_num_threads());
    return 1;
}

static int l_live_bytes(lua_State *L)
{
    extern int64_t sl_alloc_live_bytes(void);
    lua_pushinteger(L, sl_alloc_live_bytes());
    return 1;
}

int luaopen_sslab_core(lua_State *L)
{
    lua_newtable(L);
    sl_bind_tensor(L);
    sl_bind_random(L);
    sl_bind_checkpoint(L);
    lua_pushcfunction(L, l_set_num_threads), lua_setfield(L, -2, "set_num_threads");
    lua_pushcfunction(L, l_get_num_threads), lua_setfield(L, -2, "get_num_threads");
    lua_pushcfunction(L, l_live_bytes), lua_setfield(L, -2, "memory_in_use");
    return 1;
}
