/* fuzz_safetensors.c - libFuzzer target for the safetensors reader and its JSON parser.
 *
 * Each input is tried as a whole safetensors file (sl_safetensors_parse, the
 * from-memory entry point of the loader) and as a bare JSON text
 * (sl_json_parse). Beyond "no crash, no sanitizer report", it checks:
 *   - a failure always sets a message naming the source ("load: fuzz: ...");
 *   - an accepted file survives a round trip: serialize what was loaded, load
 *     it again, and get the same names, dtypes, shapes, bytes and metadata;
 *   - nothing leaks: live sl_malloc blocks return to where they were.
 *
 * Build and run (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iruntime tests/fuzz/fuzz_safetensors.c \
 *       runtime/io/safetensors.c runtime/io/json.c runtime/io/file.c runtime/tensor/tensor.c \
 *       runtime/core/alloc.c runtime/core/error.c -o fuzz_safetensors
 *   ./fuzz_safetensors -max_len=4096 -dict=... corpus/
 * Without libFuzzer, -DSL_FUZZ_MAIN adds a main() (tests/fuzz/fuzz_main.h) that
 * runs the files named on the command line once each (to replay a crash with
 * gcc or valgrind). Seeds: tests/fuzz/corpus/fuzz_safetensors/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/json.h"
#include "io/safetensors.h"

#define FUZZ_CHECK(cond)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "fuzz_safetensors: check failed: %s (%s)\n", #cond, sl_last_error()); \
            abort();                                                               \
        }                                                                          \
    } while (0)

static void round_trip(const sl_safetensors *a)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    const sl_tensor *const *ts = (const sl_tensor *const *)a->tensors;
    int rc = sl_safetensors_serialize(a->n_tensors, (const char *const *)a->names, ts, a->n_meta,
                                      (const char *const *)a->meta_keys, (const char *const *)a->meta_values,
                                      &bytes, &len);
    /* Everything the reader accepts, the writer must accept. */
    FUZZ_CHECK(rc == SL_OK);
    sl_safetensors *b = NULL;
    FUZZ_CHECK(sl_safetensors_parse(bytes, len, "fuzz-rt", &b) == SL_OK);
    FUZZ_CHECK(b->n_tensors == a->n_tensors && b->n_meta == a->n_meta);
    for (size_t i = 0; i < a->n_tensors; i++) {
        const sl_tensor *x = a->tensors[i], *y = sl_safetensors_get(b, a->names[i]);
        FUZZ_CHECK(y != NULL);
        FUZZ_CHECK(x->dtype == y->dtype && sl_tensor_same_shape(x, y));
        size_t nb = (size_t)sl_tensor_numel(x) * sl_dtype_size(x->dtype);
        FUZZ_CHECK(nb == 0 || memcmp(sl_tensor_data(x), sl_tensor_data(y), nb) == 0);
    }
    for (size_t i = 0; i < a->n_meta; i++) {
        const char *v = sl_safetensors_meta(b, a->meta_keys[i]);
        FUZZ_CHECK(v && strcmp(v, a->meta_values[i]) == 0);
    }
    sl_safetensors_free(b);
    sl_free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t live = sl_alloc_live_blocks();

    sl_safetensors *st = NULL;
    sl_clear_error();
    int rc = sl_safetensors_parse(data, size, "fuzz", &st);
    if (rc == SL_OK) {
        round_trip(st);
        sl_safetensors_free(st);
    } else {
        FUZZ_CHECK(st == NULL);
        FUZZ_CHECK(strncmp(sl_last_error(), "load: fuzz: ", 12) == 0);
    }

    sl_json *j = NULL;
    sl_clear_error();
    if (sl_json_parse((const char *)data, size, 0, &j) == SL_OK) sl_json_free(j);
    else FUZZ_CHECK(j == NULL && strncmp(sl_last_error(), "json: ", 6) == 0);

    FUZZ_CHECK(sl_alloc_live_blocks() == live);
    return 0;
}

#ifdef SL_FUZZ_MAIN
#include "fuzz_main.h" /* main() running each file named on the command line once */
#endif
