/* lua_module.c - entry point of the C module 'sslab.core'.
 * Each area adds its functions to the module table (see bind.h). The Lua
 * side (lua/sslab/init.lua) requires this and builds the public 'sslab'. */
#include "bind.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <sys/stat.h>
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

/* sslab.allocations() -> C heap blocks allocated so far (tensors, workspaces, ...) */
static int l_allocations(lua_State *L)
{
    lua_pushinteger(L, sl_alloc_total_blocks());
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

/* sslab.mkdir(path): create a directory and its missing parents; true, or nil + message. */
static int l_mkdir(lua_State *L)
{
    size_t len;
    const char *path = luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, len + 1);
    memcpy(p, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            lua_pushnil(L);
            lua_pushfstring(L, "mkdir: %s: %s", p, strerror(errno));
            return 2;
        }
        p[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lua_pushnil(L);
        lua_pushfstring(L, "mkdir: %s: not a directory", path);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* Tensors of a training step are freed and allocated again at the same sizes every
 * step. glibc gives large blocks back to the kernel (mmap/trim) on free, so each new
 * tensor would page-fault its memory in again (measured: a 1024x1024 matmul lost
 * 25-30% to the fresh output's page faults). Keep freed memory in the heap instead,
 * as PyTorch's CPU allocator effectively does. */
static void keep_freed_memory(void)
{
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's maximum on 64-bit; larger blocks still use mmap */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

int luaopen_sslab_core(lua_State *L)
{
    keep_freed_memory();
    lua_newtable(L);
    sl_bind_tensor(L);
    sl_bind_random(L);
    sl_bind_nn(L);
    sl_bind_optim(L);
    sl_bind_checkpoint(L);
    sl_bind_data(L);
    sl_bind_aug(L);
    sl_bind_image(L);
    sl_bind_plot(L);
    sl_bind_ssl(L);
    lua_pushcfunction(L, l_set_num_threads), lua_setfield(L, -2, "set_num_threads");
    lua_pushcfunction(L, l_get_num_threads), lua_setfield(L, -2, "get_num_threads");
    lua_pushcfunction(L, l_live_bytes), lua_setfield(L, -2, "memory_in_use");
    lua_pushcfunction(L, l_allocations), lua_setfield(L, -2, "allocations");
    lua_pushcfunction(L, l_clock), lua_setfield(L, -2, "clock");
    lua_pushcfunction(L, l_isatty), lua_setfield(L, -2, "isatty");
    lua_pushcfunction(L, l_mkdir), lua_setfield(L, -2, "mkdir");
    return 1;
}
