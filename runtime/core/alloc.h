/* alloc.h - counted heap allocation for everything runtime/ allocates.
 *
 * sl_malloc/sl_calloc/sl_free count live blocks and bytes so tests can assert
 * that nothing leaks (sl_alloc_live_blocks() == 0 at the end) and so the Lua
 * binding can tell the garbage collector how much C memory tensors hold.
 * sl_alloc_fail_after(n) makes the n-th next allocation fail, to exercise
 * error paths (as Lua's ltests.c does). On failure the functions return NULL
 * and set the error message.
 */
#ifndef SL_ALLOC_H
#define SL_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *sl_malloc(size_t nbytes);
void *sl_calloc(size_t count, size_t size);
/* 64-byte aligned, for SIMD kernels and tensor storage. Free with sl_free. */
void *sl_malloc_aligned(size_t nbytes);
void sl_free(void *ptr);

int64_t sl_alloc_live_blocks(void);
int64_t sl_alloc_live_bytes(void);
/* Blocks allocated since the start (never decreases): a loop that allocates
 * nothing leaves it unchanged. */
int64_t sl_alloc_total_blocks(void);
/* Make the n-th next allocation (1 = the next one) fail; 0 disables. */
void sl_alloc_fail_after(int64_t n);

#endif
