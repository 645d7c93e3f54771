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
    char prefix[256], old[SL_ERROR_CAP - 260];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", error_buffer);
    snprintf(error_buffer, sizeof error_buffer, "%s: %s", prefix, old);
    return SL_ERR;
}

const char *sl_last_error(void) { return error_buffer; }

void sl_clear_error(void) { error_buffer[0] = '\0'; }
