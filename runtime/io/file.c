/* file.c - whole-file reads and atomic writes (see file.h). */
#include "io/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"

FILE *sl_file_open_read(const char *path, const char *what, int *status)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sl_error("%s: %s: %s", what, path, strerror(errno));
        *status = SL_ENOENT;
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        sl_error("%s: %s: is a directory", what, path);
        *status = SL_ENOENT;
        return NULL;
    }
    *status = SL_OK;
    return f;
}

int64_t sl_file_size(FILE *f, const char *what, const char *path)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        sl_error("%s: %s: %s", what, path, strerror(errno));
        return -1;
    }
    return (int64_t)st.st_size;
}

int sl_file_read(const char *path, const char *what, uint8_t **buf, size_t *n, int64_t max_bytes)
{
    *buf = NULL;
    *n = 0;
    int status;
    FILE *f = sl_file_open_read(path, what, &status);
    if (!f) return status;
    int64_t size = sl_file_size(f, what, path);
    if (size < 0) {
        fclose(f);
        return SL_ERR;
    }
    if (max_bytes > 0 && size > max_bytes) {
        fclose(f);
        return sl_error("%s: %s: file too large (%lld bytes, limit %lld)", what, path, (long long)size,
                        (long long)max_bytes);
    }
    uint8_t *data = sl_malloc((size_t)size + 1);
    if (!data) {
        fclose(f);
        return sl_error_prefix("%s: %s", what, path);
    }
    size_t got = fread(data, 1, (size_t)size, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != (size_t)size) {
        sl_free(data);
        return sl_error("%s: %s: read error (%zu of %lld bytes)", what, path, got, (long long)size);
    }
    *buf = data;
    *n = got;
    return SL_OK;
}

int sl_file_write(const char *path, const char *what, const void *buf, size_t n)
{
    size_t len = strlen(path);
    char *tmp = sl_malloc(len + 32);
    if (!tmp) return sl_error_prefix("%s: %s", what, path);
    snprintf(tmp, len + 32, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        sl_free(tmp);
        return sl_error("%s: %s: cannot write: %s", what, path, strerror(e));
    }
    size_t put = fwrite(buf, 1, n, f);
    int bad = put != n || fflush(f) != 0;
    int e = errno;
    if (fclose(f) != 0) bad = 1;
    if (bad || rename(tmp, path) != 0) {
        if (!bad) e = errno;
        remove(tmp);
        sl_free(tmp);
        return sl_error("%s: %s: write failed: %s", what, path, strerror(e));
    }
    sl_free(tmp);
    return SL_OK;
}
