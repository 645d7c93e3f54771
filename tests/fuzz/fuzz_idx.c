/* fuzz_idx.c - libFuzzer target: IDX decoding (raw and gzip) from memory. */
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "data/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t live = sl_alloc_live_blocks();
    sl_clear_error();
    sl_tensor *t = NULL;
    if (sl_idx_decode(data, size, "fuzz", &t) == SL_OK) {
        int64_t n = sl_tensor_numel(t);
        if (n < 0 || (t->ndim < 1 || t->ndim > 4)) abort();
        sl_tensor_free(t);
    } else if (t != NULL || sl_last_error()[0] == '\0') {
        abort();
    }
    t = NULL;
    if (sl_idx_decode_labels(data, size, "fuzz", 10, &t) == SL_OK) {
        for (int64_t i = 0; i < t->size[0]; i++)
            if (sl_i64(t)[i] < 0 || sl_i64(t)[i] > 9) abort();
        sl_tensor_free(t);
    }
    if (sl_alloc_live_blocks() != live) {
        fprintf(stderr, "fuzz_idx: %lld sl_malloc blocks leaked\n",
                (long long)(sl_alloc_live_blocks() - live));
        abort();
    }
    return 0;
}

#include "fuzz_main.h"
