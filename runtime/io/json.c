/* json.c - strict JSON parser into an sl_malloc'd tree, and a serde_json-compatible string escaper (see json.h). */
#include "io/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

enum { DEFAULT_MAX_DEPTH = 64, SMALL_OBJECT = 16 };

/* {===================================================================
 * UTF-8
 * =================================================================== */

/* Length (1-4) of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F; /* no UTF-16 surrogates */
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F; /* <= U+10FFFF */
    else return 0;
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

bool sl_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq_len(p + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* }=================================================================== */

/* {===================================================================
 * Parser
 * =================================================================== */

typedef struct parser {
    const unsigned char *start, *p, *end;
    int depth, max_depth;
} parser;

static int fail_at(const parser *ps, const unsigned char *at, const char *fmt, ...) SL_PRINTF(3, 4);
static int fail_at(const parser *ps, const unsigned char *at, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t line = 1, col = 1;
    for (const unsigned char *q = ps->start; q < at; q++) {
        if (*q == '\n') line++, col = 1;
        else col++;
    }
    return sl_error("json: byte %zu (line %zu, column %zu): %s", (size_t)(at - ps->start), line, col, what);
}

/* A printable description of the byte at p (or "end of input"). */
static const char *describe(const parser *ps, const unsigned char *p, char buf[16])
{
    if (p >= ps->end) return "end of input";
    if (*p >= 0x20 && *p < 0x7F) snprintf(buf, 16, "'%c'", *p);
    else snprintf(buf, 16, "byte 0x%02x", *p);
    return buf;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static int hex4(parser *ps, const unsigned char *at, uint32_t *out)
{
    if (ps->end - at < 4) return fail_at(ps, at, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = at[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return fail_at(ps, at + i, "bad hex digit in \\u escape");
    }
    *out = v;
    return SL_OK;
}

/* Parse a string starting at the opening quote into a new NUL-terminated buffer. */
static int parse_string(parser *ps, char **out, size_t *out_len)
{
    const unsigned char *q = ps->p + 1;
    /* Find the closing quote first: the decoded text is never longer than the raw span. */
    const unsigned char *close = q;
    while (close < ps->end && *close != '"') {
        if (*close == '\\' && ps->end - close < 2) close = ps->end;
        else close += (*close == '\\') ? 2 : 1;
    }
    if (close >= ps->end) return fail_at(ps, ps->p, "unterminated string");
    char *buf = sl_malloc((size_t)(close - q) + 1);
    if (!buf) return sl_error_prefix("json");
    size_t n = 0;
    while (q < close) {
        unsigned char c = *q;
        if (c == '\\') {
            unsigned char e = q[1];
            switch (e) {
            case '"': buf[n++] = '"'; q += 2; break;
            case '\\': buf[n++] = '\\'; q += 2; break;
            case '/': buf[n++] = '/'; q += 2; break;
            case 'b': buf[n++] = '\b'; q += 2; break;
            case 'f': buf[n++] = '\f'; q += 2; break;
            case 'n': buf[n++] = '\n'; q += 2; break;
            case 'r': buf[n++] = '\r'; q += 2; break;
            case 't': buf[n++] = '\t'; q += 2; break;
            case 'u': {
                uint32_t cp;
                if (hex4(ps, q + 2, &cp) != SL_OK) goto fail;
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    fail_at(ps, q, "lone low surrogate \\u%04X", (unsigned)cp);
                    goto fail;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (close - (q + 6) < 6 || q[6] != '\\' || q[7] != 'u') {
                        fail_at(ps, q, "lone high surrogate \\u%04X (no low surrogate follows)", (unsigned)cp);
                        goto fail;
                    }
                    if (hex4(ps, q + 8, &lo) != SL_OK) goto fail;
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        fail_at(ps, q, "high surrogate \\u%04X followed by \\u%04X, not a low surrogate",
                                (unsigned)cp, (unsigned)lo);
                        goto fail;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    q += 12;
                } else {
                    q += 6;
                }
                n += utf8_encode(cp, buf + n);
                break;
            }
            default: {
                char d[16];
                fail_at(ps, q, "bad escape '\\' followed by %s", describe(ps, q + 1, d));
                goto fail;
            }
            }
        } else if (c < 0x20) {
            fail_at(ps, q, "raw control character 0x%02x in string (must be escaped)", c);
            goto fail;
        } else {
            size_t k = utf8_seq_len(q, (size_t)(close - q));
            if (!k) {
                fail_at(ps, q, "invalid UTF-8 in string");
                goto fail;
            }
            memcpy(buf + n, q, k);
            n += k;
            q += k;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    ps->p = close + 1;
    return SL_OK;
fail:
    sl_free(buf);
    return SL_ERR;
}

static int parse_number(parser *ps, sl_json *node)
{
    const unsigned char *s = ps->p, *q = ps->p;
    bool neg = false, is_int = true, overflow = false;
    uint64_t mag = 0;
    if (q < ps->end && *q == '-') neg = true, q++;
    if (q >= ps->end || *q < '0' || *q > '9') return fail_at(ps, q, "expected a digit");
    if (*q == '0') {
        q++;
        if (q < ps->end && *q >= '0' && *q <= '9') return fail_at(ps, s, "leading zero in number");
    } else {
        const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        while (q < ps->end && *q >= '0' && *q <= '9') {
            unsigned d = (unsigned)(*q - '0');
            if (mag > (limit - d) / 10) overflow = true;
            else mag = mag * 10 + d;
            q++;
        }
    }
    if (q < ps->end && *q == '.') {
        is_int = false;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') return fail_at(ps, q, "expected a digit after '.'");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        is_int = false;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || *q < '0' || *q > '9') return fail_at(ps, q, "expected a digit in exponent");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - s);
    node->type = SL_JSON_NUMBER;
    node->str = sl_malloc(n + 1);
    if (!node->str) return sl_error_prefix("json");
    memcpy(node->str, s, n);
    node->str[n] = '\0';
    node->len = n;
    node->is_int = is_int && !overflow;
    if (node->is_int)
        node->integer = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    ps->p = q;
    return SL_OK;
}

/* Append a zeroed node to parent's items; returns it or NULL (message set). */
static sl_json *push_item(sl_json *parent, size_t *cap)
{
    if (parent->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        sl_json *items = sl_malloc(ncap * sizeof *items);
        if (!items) return NULL;
        if (parent->count) memcpy(items, parent->items, parent->count * sizeof *items);
        sl_free(parent->items);
        parent->items = items;
        *cap = ncap;
    }
    sl_json *it = &parent->items[parent->count++];
    memset(it, 0, sizeof *it);
    return it;
}

static int key_order(const sl_json *x, const sl_json *y)
{
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static int key_cmp(const void *a, const void *b)
{
    return key_order(*(const sl_json *const *)a, *(const sl_json *const *)b);
}

static int check_duplicates(parser *ps, const sl_json *obj, const unsigned char *at)
{
    const sl_json *dup = NULL;
    if (obj->count <= SMALL_OBJECT) {
        for (size_t i = 1; i < obj->count && !dup; i++)
            for (size_t j = 0; j < i; j++)
                if (key_order(&obj->items[i], &obj->items[j]) == 0) {
                    dup = &obj->items[i];
                    break;
                }
    } else {
        const sl_json **idx = sl_malloc(obj->count * sizeof *idx);
        if (!idx) return sl_error_prefix("json");
        for (size_t i = 0; i < obj->count; i++) idx[i] = &obj->items[i];
        qsort(idx, obj->count, sizeof *idx, key_cmp);
        for (size_t i = 1; i < obj->count && !dup; i++)
            if (key_order(idx[i - 1], idx[i]) == 0) dup = idx[i];
        sl_free(idx);
    }
    if (dup) return fail_at(ps, at, "duplicate key \"%.100s\" in object", dup->key);
    return SL_OK;
}

static int parse_value(parser *ps, sl_json *node);

static int parse_container(parser *ps, sl_json *node, bool is_object)
{
    const unsigned char *open = ps->p;
    char d[16];
    size_t cap = 0;
    node->type = is_object ? SL_JSON_OBJECT : SL_JSON_ARRAY;
    if (++ps->depth > ps->max_depth) return fail_at(ps, open, "nesting deeper than %d levels", ps->max_depth);
    ps->p++;
    skip_ws(ps);
    const unsigned char close = is_object ? '}' : ']';
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return SL_OK;
    }
    for (;;) {
        skip_ws(ps);
        sl_json *item = push_item(node, &cap);
        if (!item) return sl_error_prefix("json");
        if (is_object) {
            if (ps->p >= ps->end || *ps->p != '"')
                return fail_at(ps, ps->p, "expected a string key, got %s", describe(ps, ps->p, d));
            if (parse_string(ps, &item->key, &item->key_len) != SL_OK) return SL_ERR;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail_at(ps, ps->p, "expected ':' after key, got %s", describe(ps, ps->p, d));
            ps->p++;
        }
        if (parse_value(ps, item) != SL_OK) return SL_ERR;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) break;
        return fail_at(ps, ps->p, "expected ',' or '%c', got %s", close, describe(ps, ps->p, d));
    }
    if (is_object && check_duplicates(ps, node, open) != SL_OK) return SL_ERR;
    ps->p++;
    ps->depth--;
    return SL_OK;
}

static int parse_literal(parser *ps, sl_json *node, const char *word, sl_json_type type, bool value)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail_at(ps, ps->p, "invalid literal (expected '%s')", word);
    node->type = type;
    node->boolean = value;
    ps->p += n;
    return SL_OK;
}

static int parse_value(parser *ps, sl_json *node)
{
    char d[16];
    skip_ws(ps);
    if (ps->p >= ps->end) return fail_at(ps, ps->p, "unexpected end of input (expected a value)");
    switch (*ps->p) {
    case '{': return parse_container(ps, node, true);
    case '[': return parse_container(ps, node, false);
    case '"':
        node->type = SL_JSON_STRING;
        return parse_string(ps, &node->str, &node->len);
    case 't': return parse_literal(ps, node, "true", SL_JSON_BOOL, true);
    case 'f': return parse_literal(ps, node, "false", SL_JSON_BOOL, false);
    case 'n': return parse_literal(ps, node, "null", SL_JSON_NULL, false);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return parse_number(ps, node);
        return fail_at(ps, ps->p, "unexpected %s (expected a value)", describe(ps, ps->p, d));
    }
}

static void free_node(sl_json *n)
{
    for (size_t i = 0; i < n->count; i++) free_node(&n->items[i]);
    sl_free(n->items);
    sl_free(n->str);
    sl_free(n->key);
}

void sl_json_free(sl_json *root)
{
    if (!root) return;
    free_node(root);
    sl_free(root);
}

int sl_json_parse(const char *text, size_t len, int max_depth, sl_json **out)
{
    *out = NULL;
    parser ps = {(const unsigned char *)text, (const unsigned char *)text, (const unsigned char *)text + len, 0,
                 max_depth > 0 ? max_depth : DEFAULT_MAX_DEPTH};
    sl_json *root = sl_malloc(sizeof *root);
    if (!root) return sl_error_prefix("json");
    memset(root, 0, sizeof *root);
    if (parse_value(&ps, root) != SL_OK) {
        sl_json_free(root);
        return SL_ERR;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        char d[16];
        fail_at(&ps, ps.p, "trailing %s after the value", describe(&ps, ps.p, d));
        sl_json_free(root);
        return SL_ERR;
    }
    *out = root;
    return SL_OK;
}

const sl_json *sl_json_get(const sl_json *obj, const char *key)
{
    if (!obj || obj->type != SL_JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->count; i++)
        if (obj->items[i].key_len == n && memcmp(obj->items[i].key, key, n) == 0) return &obj->items[i];
    return NULL;
}

const char *sl_json_type_name(sl_json_type t)
{
    static const char *const names[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t <= SL_JSON_OBJECT ? names[t] : "?";
}

/* }=================================================================== */

/* {===================================================================
 * Writing
 * =================================================================== */

static int strbuf_reserve(sl_strbuf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len - 1) return sl_error("json: string buffer too large");
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return SL_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) ncap *= 2;
    char *d = sl_malloc(ncap);
    if (!d) return SL_ERR;
    if (b->len) memcpy(d, b->data, b->len);
    d[b->len] = '\0';
    sl_free(b->data);
    b->data = d;
    b->cap = ncap;
    return SL_OK;
}

int sl_strbuf_append(sl_strbuf *b, const void *s, size_t n)
{
    if (strbuf_reserve(b, n) != SL_OK) return SL_ERR;
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SL_OK;
}

int sl_strbuf_puts(sl_strbuf *b, const char *s) { return sl_strbuf_append(b, s, strlen(s)); }

int sl_strbuf_printf(sl_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return sl_error("json: bad format");
    if (strbuf_reserve(b, (size_t)n) != SL_OK) return SL_ERR;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SL_OK;
}

void sl_strbuf_free(sl_strbuf *b)
{
    sl_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int sl_json_write_string(sl_strbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!sl_utf8_valid(s, n)) return sl_error("json: string \"%.60s\" is not valid UTF-8", s);
    if (sl_strbuf_append(b, "\"", 1) != SL_OK) return SL_ERR;
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t k = 0;
        switch (c) {
        case '"': k = 2, esc[0] = '\\', esc[1] = '"'; break;
        case '\\': k = 2, esc[0] = '\\', esc[1] = '\\'; break;
        case '\b': k = 2, esc[0] = '\\', esc[1] = 'b'; break;
        case '\f': k = 2, esc[0] = '\\', esc[1] = 'f'; break;
        case '\n': k = 2, esc[0] = '\\', esc[1] = 'n'; break;
        case '\r': k = 2, esc[0] = '\\', esc[1] = 'r'; break;
        case '\t': k = 2, esc[0] = '\\', esc[1] = 't'; break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                k = 6;
            }
        }
        if (!k) continue;
        if (sl_strbuf_append(b, s + run, i - run) != SL_OK || sl_strbuf_append(b, esc, k) != SL_OK) return SL_ERR;
        run = i + 1;
    }
    if (sl_strbuf_append(b, s + run, n - run) != SL_OK) return SL_ERR;
    return sl_strbuf_append(b, "\"", 1);
}

/* }=================================================================== */
