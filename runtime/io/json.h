/* json.h - a small, defensive JSON parser and a string escaper (for safetensors headers).
 *
 * Parsing builds a tree of sl_json nodes in sl_malloc'd memory, freed with one
 * sl_json_free(root). The parser is strict RFC 8259 and refuses, with a
 * message giving the byte offset, line and column:
 *   - invalid UTF-8 (overlong, surrogate code points, > U+10FFFF) and raw
 *     control characters inside strings; lone surrogates in \uXXXX escapes
 *     (a valid pair becomes one 4-byte UTF-8 sequence);
 *   - nesting deeper than max_depth; duplicate keys in one object;
 *   - anything but whitespace after the top-level value.
 * Numbers keep their source text; integer literals (no fraction, no exponent)
 * that fit int64 also have is_int set, so a caller needing an integer can
 * tell "1.5" and "1e3" (not integers) from "99999999999999999999" (overflow).
 *
 *   sl_json *root;
 *   if (sl_json_parse(text, len, 64, &root) != SL_OK) return SL_ERR;   // message set
 *   const sl_json *shape = sl_json_get(root, "shape");                  // NULL if absent
 *   for (size_t i = 0; shape && i < shape->count; i++) use(shape->items[i].integer);
 *   sl_json_free(root);
 *
 * Writing: sl_json_write_string appends a quoted string escaped exactly as
 * serde_json (the Rust safetensors writer) does: \" \\ \b \f \n \r \t, other
 * control characters as \u00xx (lowercase hex), everything else verbatim.
 */
#ifndef SL_IO_JSON_H
#define SL_IO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum {
    SL_JSON_NULL,
    SL_JSON_BOOL,
    SL_JSON_NUMBER,
    SL_JSON_STRING,
    SL_JSON_ARRAY,
    SL_JSON_OBJECT,
} sl_json_type;

typedef struct sl_json sl_json;
struct sl_json {
    sl_json_type type;
    bool boolean;      /* BOOL */
    bool is_int;       /* NUMBER: an integer literal that fits int64 */
    int64_t integer;   /* NUMBER with is_int */
    char *str;         /* STRING: value (UTF-8, NUL-terminated, may hold \0: see len);
                          NUMBER: its source text */
    size_t len;        /* bytes in str */
    char *key;         /* member name when this node is an object member, else NULL */
    size_t key_len;
    sl_json *items;    /* ARRAY elements / OBJECT members, in document order */
    size_t count;
};

/* Parse text[0..len) into *out (free with sl_json_free). max_depth <= 0
 * means the default (64). Messages start with "json: ". */
int sl_json_parse(const char *text, size_t len, int max_depth, sl_json **out);
void sl_json_free(sl_json *root);

/* Member `key` of an object (NULL if absent or not an object). */
const sl_json *sl_json_get(const sl_json *obj, const char *key);
/* "null", "boolean", "number", "string", "array", "object" */
const char *sl_json_type_name(sl_json_type t);

/* ---- writing ------------------------------------------------------------ */

/* A growable byte buffer (sl_malloc'd; data is always NUL-terminated). */
typedef struct sl_strbuf {
    char *data;
    size_t len, cap;
} sl_strbuf;

int sl_strbuf_append(sl_strbuf *b, const void *s, size_t n);
int sl_strbuf_puts(sl_strbuf *b, const char *s);
int sl_strbuf_printf(sl_strbuf *b, const char *fmt, ...) SL_PRINTF(2, 3);
void sl_strbuf_free(sl_strbuf *b);

/* Append s[0..n) as a quoted JSON string. Refuses invalid UTF-8. */
int sl_json_write_string(sl_strbuf *b, const char *s, size_t n);
/* Is s[0..n) valid UTF-8 (no surrogates, no overlongs, <= U+10FFFF)? */
bool sl_utf8_valid(const char *s, size_t n);

#endif
