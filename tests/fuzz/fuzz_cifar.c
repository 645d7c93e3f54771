/* fuzz_cifar.c - libFuzzer target: CIFAR-10/100 and STL-10 decoding from
 * memory (the fixed-record readers). */
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "data/cifar.h"
#include "data/stl10.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_labels(const sl_tensor *t, int64_t lo, int64_t hi)
{
    for (int64_t i = 0; t && i < t->size[0]; i++)
        if (sl_i64(t)[i] < lo || sl_i64(t)[i] > hi) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t live = sl_alloc_live_blocks();
    sl_clear_error();
    sl_tensor *x = NULL, *y = NULL, *c = NULL;
    if (sl_cifar_decode(SL_CIFAR10, data, size, "fuzz", &x, &y, NULL) == SL_OK) {
        check_labels(y, 0, 9);
        sl_tensor_free(x), sl_tensor_free(y);
    } else if (x || y) {
        abort();
    }
    if (sl_cifar_decode(SL_CIFAR100, data, size, "fuzz", &x, &y, &c) == SL_OK) {
        check_labels(y, 0, 99);
        check_labels(c, 0, 19);
        sl_tensor_free(x), sl_tensor_free(y), sl_tensor_free(c);
    } else if (x || y || c) {
        abort();
    }
    if (sl_stl10_decode_labels(data, size, "fuzz", &y) == SL_OK) {
        check_labels(y, 0, 9);
        sl_tensor_free(y);
    }
    if (sl_stl10_decode_images(data, size, "fuzz", &x) == SL_OK) sl_tensor_free(x);
    if (sl_alloc_live_blocks() != live) {
        fprintf(stderr, "fuzz_cifar: %lld sl_malloc blocks leaked\n",
                (long long)(sl_alloc_live_blocks() - live));
        abort();
    }
    return 0;
}

#include "fuzz_main.h"
