/* test.h - a tiny assertion kit for the C unit tests (header only).
 *
 *   static void test_add(void) { CHECK(1 + 1 == 2); CHECK_NEAR(x, 0.5, 1e-6); }
 *   int main(void) { RUN(test_add); return test_summary(); }
 *
 * test_summary() prints "N passed, M failed" and also fails when runtime/
 * allocations are still live (a leak in sl_malloc'd memory).
 */
#ifndef SL_TEST_H
#define SL_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

static int test_checks_failed;
static int test_current_failed;
static int tests_passed, tests_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            test_current_failed = 1;                                                 \
            test_checks_failed++;                                                    \
        }                                                                            \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double a_ = (a), b_ = (b);                                                         \
        if (!(fabs(a_ - b_) <= (tol))) {                                                   \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g (tol %g)\n",   \
                    __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol));                    \
            test_current_failed = 1;                                                       \
            test_checks_failed++;                                                          \
        }                                                                                  \
    } while (0)

/* Expect a call to fail with SL_ERR and a message containing `needle`. */
#define CHECK_FAILS(call, needle)                                                       \
    do {                                                                                \
        sl_clear_error();                                                               \
        int rc_ = (call);                                                               \
        if (rc_ != SL_ERR || !strstr(sl_last_error(), (needle))) {                      \
            fprintf(stderr, "%s:%d: expected failure containing '%s', got rc=%d msg='%s'\n", \
                    __FILE__, __LINE__, (needle), rc_, sl_last_error());                \
            test_current_failed = 1;                                                    \
            test_checks_failed++;                                                       \
        }                                                                               \
    } while (0)

#define RUN(fn)                                                        \
    do {                                                               \
        test_current_failed = 0;                                       \
        fn();                                                          \
        if (test_current_failed) {                                     \
            tests_failed++;                                            \
            fprintf(stderr, "FAIL %s\n", #fn);                         \
        } else {                                                       \
            tests_passed++;                                            \
            printf("ok   %s\n", #fn);                                  \
        }                                                              \
    } while (0)

static inline int test_summary(void)
{
    long long live = (long long)sl_alloc_live_blocks();
    if (live != 0) {
        fprintf(stderr, "leak: %lld runtime allocations still live at exit\n", live);
        tests_failed++;
    }
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed ? 1 : 0;
}

#endif
