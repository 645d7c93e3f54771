/* error.c - thread-local error message buffer (see error.h). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { SL_ERROR_CAP = 1024 };
static _Thread_local char error_buffer[SL_ERROR_CAP];

int sl_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_buffer, sizeof error_buffer, fmt, ap);
    va_end(ap);
    return SL_ERR;
}

int sl_error_prefix(const char *fmt, ...)
{
    char old[SL_ERROR_CAP];
    memcpy(old, error_buffer, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(error_buffer, sizeof error_buffer, fmt, ap);
    va_end(ap);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof error_buffer ? (size_t)n : sizeof error_buffer - 1;
    error_buffer[used] = '\0';
    strncat(error_buffer, ": ", sizeof error_buffer - used - 1);
    strncat(error_buffer, old, sizeof error_buffer - strlen(error_buffer) - 1);
    return SL_ERR;
}

const char *sl_last_error(void) { return error_buffer; }

void sl_clear_error(void) { error_buffer[0] = '\0'; }
