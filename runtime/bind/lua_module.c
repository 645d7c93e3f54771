/* lua_module.c - entry point of the C module 'sslab.core'.
 * Each area adds its functions to the module table (see bind.h). The Lua
 * side (lua/sslab/init.lua) requires this and builds the public 'sslab'. */
#include "bind.h"

#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
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
    lua_pushinteger(L, sl_alloc_live_bytes());
    return 1;
}

/* sslab.clock(): monotonic wall-clock seconds (os.clock is CPU time, which
 * counts every thread and so is useless for images/s). */
static int l_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + ts.tv_nsec * 1e-9);
    return 1;
}

/* sslab.isatty(fd): is file descriptor fd (1 = stdout, 2 = stderr) a terminal? */
static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
    return 1;
}

int luaopen_sslab_core(lua_State *L)
{
    lua_newtable(L);
    sl_bind_tensor(L);
    sl_bind_random(L);
    sl_bind_nn(L);
    sl_bind_optim(L);
    sl_bind_checkpoint(L);
    sl_bind_image(L);
    sl_bind_plot(L);
    lua_pushcfunction(L, l_set_num_threads), lua_setfield(L, -2, "set_num_threads");
    lua_pushcfunction(L, l_get_num_threads), lua_setfield(L, -2, "get_num_threads");
    lua_pushcfunction(L, l_live_bytes), lua_setfield(L, -2, "memory_in_use");
    lua_pushcfunction(L, l_clock), lua_setfield(L, -2, "clock");
    lua_pushcfunction(L, l_isatty), lua_setfield(L, -2, "isatty");
    return 1;
}
