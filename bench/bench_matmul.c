/* bench_matmul.c - matmul through the sslab Lua binding against cblas_sgemm
 * called directly, in one run, on the same thread count. Prints GFLOP/s of
 * each and their ratio; the binding should add no measurable overhead at
 * 1024 x 1024.
 *
 *   build/bench/bench_matmul [threads]
 */
#include <cblas.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/alloc.h"
#include "tensor/gemm.h"
#include "tensor/random.h"

int luaopen_sslab_core(lua_State *L);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, now());
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { REPS = 7 };

/* Median seconds of `reps` cblas_sgemm calls on preallocated n x n matrices. */
static double time_cblas(int n)
{
    float *a = sl_malloc((size_t)n * n * 4), *b = sl_malloc((size_t)n * n * 4), *c = sl_malloc((size_t)n * n * 4);
    sl_rng rng;
    sl_rng_init(&rng, 1);
    sl_rng_fill_normal(&rng, a, (int64_t)n * n, 0, 1);
    sl_rng_fill_normal(&rng, b, (int64_t)n * n, 0, 1);
    double t[REPS];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n); /* warm-up */
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        t[r] = now() - t0;
    }
    sl_free(a), sl_free(b), sl_free(c);
    qsort(t, REPS, sizeof *t, cmp_double);
    return t[REPS / 2];
}

static const char *lua_bench =
    "local core, n, reps, now = ...\n"
    "local a, b = core.randn(n, n), core.randn(n, n)\n"
    "local c = a:matmul(b)\n" /* warm-up */
    "local t = {}\n"
    "for r = 1, reps do local t0 = now(); c = a:matmul(b); t[r] = now() - t0 end\n"
    "table.sort(t)\n"
    "return t[(reps + 1) // 2]\n";

static double time_lua(lua_State *L, int n)
{
    if (luaL_loadstring(L, lua_bench) != LUA_OK) goto fail;
    lua_getglobal(L, "core");
    lua_pushinteger(L, n);
    lua_pushinteger(L, REPS);
    lua_pushcfunction(L, l_now);
    if (lua_pcall(L, 4, 1, 0) != LUA_OK) goto fail;
    double t = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return t;
fail:
    fprintf(stderr, "bench_matmul: %s\n", lua_tostring(L, -1));
    exit(1);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : sl_get_num_threads();
    sl_set_num_threads(threads);
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "core", luaopen_sslab_core, 1);
    lua_pop(L, 1);
    printf("matmul, float32, square n x n, %d thread(s), median of %d\n", threads, REPS);
    printf("%6s %16s %16s %8s\n", "n", "cblas GFLOP/s", "sslab GFLOP/s", "ratio");
    static const int sizes[] = {128, 256, 512, 1024, 2048};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        int n = sizes[i];
        double flops = 2.0 * n * n * n;
        double tc = time_cblas(n), tl = time_lua(L, n);
        printf("%6d %16.1f %16.1f %8.3f\n", n, flops / tc * 1e-9, flops / tl * 1e-9, tc / tl);
    }
    lua_close(L);
    return 0;
}
