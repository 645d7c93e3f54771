/* error.h - the one way C code in runtime/ reports failure.
 *
 * Every fallible function returns int: SL_OK (0) or SL_ERR (-1). On failure it
 * first calls sl_error(), which formats a message into a thread-local buffer;
 * the Lua binding (runtime/bind/) turns that message into a Lua error in one
 * place (sl_check). Nothing in runtime/ ever calls exit() or abort().
 *
 *   if (a->size[1] != b->size[0])
 *       return sl_error("matmul: %s @ %s: inner sizes %lld and %lld differ", ...);
 */
#ifndef SL_ERROR_H
#define SL_ERROR_H

#define SL_OK 0
#define SL_ERR (-1)

#if defined(__GNUC__)
#define SL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SL_PRINTF(f, a)
#endif

/* Format a message into this thread's error buffer; always returns SL_ERR. */
int sl_error(const char *fmt, ...) SL_PRINTF(1, 2);
/* Prefix the current message with "prefix: " (adds context on the way up). */
int sl_error_prefix(const char *fmt, ...) SL_PRINTF(1, 2);
/* The last message set on this thread ("" if none). */
const char *sl_last_error(void);
void sl_clear_error(void);

#endif
