/* alloc.c - counted allocation (see alloc.h).
 *
 * Each block carries a 64-byte header recording its size, so sl_free can
 * update the byte count and the data stays 64-byte aligned.
 */
#include "core/alloc.h"
#include "core/error.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { HEADER = 64 };

static atomic_llong live_blocks;
static atomic_llong live_bytes;
static atomic_llong total_blocks; /* allocations ever made */
static atomic_llong fail_countdown;

static int should_fail(void)
{
    if (atomic_load(&fail_countdown) <= 0) return 0;
    return atomic_fetch_sub(&fail_countdown, 1) == 1;
}

void *sl_malloc_aligned(size_t nbytes)
{
    if (nbytes > SIZE_MAX - HEADER) {
        sl_error("out of memory: %zu bytes requested", nbytes);
        return NULL;
    }
    if (should_fail()) {
        sl_error("out of memory: %zu bytes requested (injected failure)", nbytes);
        return NULL;
    }
    unsigned char *raw = aligned_alloc(HEADER, (nbytes + HEADER + HEADER - 1) / HEADER * HEADER);
    if (!raw) {
        sl_error("out of memory: %zu bytes requested", nbytes);
        return NULL;
    }
    memcpy(raw, &nbytes, sizeof nbytes);
    atomic_fetch_add(&live_blocks, 1);
    atomic_fetch_add(&total_blocks, 1);
    atomic_fetch_add(&live_bytes, (long long)nbytes);
    return raw + HEADER;
}

void *sl_malloc(size_t nbytes) { return sl_malloc_aligned(nbytes); }

void *sl_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        sl_error("out of memory: %zu x %zu bytes requested", count, size);
        return NULL;
    }
    void *p = sl_malloc_aligned(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void sl_free(void *ptr)
{
    if (!ptr) return;
    unsigned char *raw = (unsigned char *)ptr - HEADER;
    size_t nbytes;
    memcpy(&nbytes, raw, sizeof nbytes);
    atomic_fetch_sub(&live_blocks, 1);
    atomic_fetch_sub(&live_bytes, (long long)nbytes);
    free(raw);
}

int64_t sl_alloc_live_blocks(void) { return atomic_load(&live_blocks); }
int64_t sl_alloc_live_bytes(void) { return atomic_load(&live_bytes); }
int64_t sl_alloc_total_blocks(void) { return atomic_load(&total_blocks); }
void sl_alloc_fail_after(int64_t n) { atomic_store(&fail_countdown, n); }
