/* file.h - whole-file reads and writes shared by the image and dataset readers.
 *
 * A missing or unreadable file is an expected runtime failure (the Lua side
 * returns nil, msg for it), while a file that exists but is wrong is an error
 * (the Lua side raises). The status SL_ENOENT tells the two apart:
 *
 *   uint8_t *buf; size_t n;
 *   int rc = sl_file_read("x.png", &buf, &n, 0);
 *   if (rc == SL_ENOENT) ...   // "x.png: No such file or directory"
 *   else if (rc != SL_OK) ...  // read error, too large, out of memory
 *   sl_free(buf);
 */
#ifndef SL_IO_FILE_H
#define SL_IO_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

/* The file could not be opened (missing, a directory, no permission). The
 * message is set as for SL_ERR. Any status other than SL_OK is a failure. */
#ifndef SL_ENOENT
#define SL_ENOENT (-2)
#endif

/* Open `path` for reading ("rb"); on failure sets "<what>: <path>: <strerror>"
 * and returns NULL with *status = SL_ENOENT. */
FILE *sl_file_open_read(const char *path, const char *what, int *status);

/* Size of an open file in bytes (via fstat); -1 with a message on failure. */
int64_t sl_file_size(FILE *f, const char *what, const char *path);

/* Read the whole file into a new sl_malloc'd buffer (free with sl_free).
 * max_bytes > 0 refuses larger files. `what` prefixes messages ("png"). */
int sl_file_read(const char *path, const char *what, uint8_t **buf, size_t *n, int64_t max_bytes);

/* Write n bytes to path, via a temporary file renamed into place, so a
 * crash never leaves a half-written file under the final name. */
int sl_file_write(const char *path, const char *what, const void *buf, size_t n);

#endif
