/* tune.c - settings that must be in the environment before the libraries load.
 *
 * 1. OpenBLAS kernels that match this CPU.
 * OpenBLAS (Debian's DYNAMIC_ARCH build) chooses its kernels when it loads,
 * from the CPU model. A CPU newer than the OpenBLAS release (e.g. a recent
 * Xeon with OpenBLAS 0.3.21) is not recognised and gets the generic Prescott
 * (SSE3) kernels: every GEMM, hence every convolution, runs 4-5x slower. The
 * choice can only be changed through OPENBLAS_CORETYPE before the library
 * loads, so when OpenBLAS fell back to an old core on a CPU with AVX-512 or
 * AVX2, the program sets that variable and re-executes itself once.
 *
 * 2. OMP_WAIT_POLICY=passive: idle OpenMP threads sleep instead of spinning.
 * On an idle machine it costs nothing measurable (340-358 img/s either way on
 * the ResNet-18 step); when other processes want the cores (a second job,
 * ctest -j) spinning threads steal them and steps get 1.3-1.7x (up to 10x)
 * slower. libgomp reads it once, when it loads.
 *
 * Variables the user set are always respected; SSLAB_NO_TUNE=1 turns this off.
 * When something must change, the program re-executes itself once.
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
    if (getenv("SSLAB_NO_TUNE")) return;
    bool changed = false;
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        changed = true;
    }
    if (!getenv("OPENBLAS_CORETYPE") && is_fallback_core(openblas_get_corename())) {
        __builtin_cpu_init();
        const char *better = NULL;
        if (__builtin_cpu_supports("avx512f")) better = __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
        else if (__builtin_cpu_supports("avx2")) better = "Haswell";
        if (better) {
            setenv("OPENBLAS_CORETYPE", better, 1);
            changed = true;
        }
    }
    if (!changed) return;
    setenv("SSLAB_NO_TUNE", "1", 1); /* never loop */
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): carry on as we are */
}
