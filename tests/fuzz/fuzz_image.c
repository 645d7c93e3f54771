/* fuzz_image.c - libFuzzer target: PNG/JPEG decoding from memory.
 *
 * Any input must either decode or fail with a message; never crash, leak
 * (sl_malloc blocks are counted too) or run away with memory. Decoded images
 * are re-encoded as PNG (and JPEG when possible) to exercise the encoders.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "io/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t live = sl_alloc_live_blocks();
    sl_clear_error();
    sl_image_set_max_pixels((int64_t)1 << 22); /* keep single inputs cheap */
    sl_tensor *t = NULL;
    if (sl_image_decode(data, size, "fuzz", &t) == SL_OK) {
        uint8_t *buf = NULL;
        size_t n = 0;
        if (sl_png_encode(t, "fuzz.png", &buf, &n) != SL_OK) abort(); /* decoded images always encode */
        sl_free(buf);
        if (t->size[0] != 4 && sl_jpeg_encode(t, 75, "fuzz.jpg", &buf, &n) == SL_OK) sl_free(buf);
        sl_tensor_free(t);
    } else if (sl_last_error()[0] == '\0' || t != NULL) {
        abort(); /* a failure must leave a message and no result */
    }
    if (sl_alloc_live_blocks() != live) {
        fprintf(stderr, "fuzz_image: %lld sl_malloc blocks leaked\n",
                (long long)(sl_alloc_live_blocks() - live));
        abort();
    }
    return 0;
}

#include "fuzz_main.h"
