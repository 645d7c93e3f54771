/* tune.c - pick OpenBLAS kernels that match this CPU before anything runs.
 *
 * OpenBLAS (Debian's DYNAMIC_ARCH build) chooses its kernels when it loads,
 * from the CPU model. A CPU newer than the OpenBLAS release (e.g. a recent
 * Xeon with OpenBLAS 0.3.21) is not recognised and gets the generic Prescott
 * (SSE3) kernels: every GEMM, hence every convolution, runs 4-5x slower. The
 * choice can only be changed through OPENBLAS_CORETYPE before the library
 * loads, so when OpenBLAS fell back to an old core on a CPU with AVX-512 or
 * AVX2, the program sets that variable and re-executes itself once.
 * OPENBLAS_CORETYPE set by the user is always respected; SSLAB_NO_TUNE=1
 * turns this off.
 */
#include "cli.h"

#include <cblas.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Cores OpenBLAS falls back to when it does not know the CPU. */
static bool is_fallback_core(const char *name)
{
    static const char *const old[] = {"prescott", "core2", "katmai", "coppermine", "northwood", "banias",
                                      "atom", "nehalem", "unknown", NULL};
    for (int i = 0; old[i]; i++)
        if (name && strcasecmp(name, old[i]) == 0) return true;
    return false;
}

void sl_tune_environment(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("SSLAB_NO_TUNE")) return;
    const char *core = openblas_get_corename();
    if (!is_fallback_core(core)) return;
    const char *better = NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) better = __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
    else if (__builtin_cpu_supports("avx2")) better = "Haswell";
    if (!better) return;
    setenv("OPENBLAS_CORETYPE", better, 1);
    setenv("SSLAB_NO_TUNE", "1", 1); /* never loop */
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): carry on with the slow kernels */
}
