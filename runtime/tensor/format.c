/* format.c - PyTorch-like printing of tensors (see format.h). */
#include "tensor/format.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "tensor/view.h"

enum { SUMMARY_THRESHOLD = 1000, EDGE_ITEMS = 3 };

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
} strbuf;

static void put(strbuf *s, const char *fmt, ...)
{
    if (s->failed) return;
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (n < 0) { s->failed = true; return; }
        if (s->len + (size_t)n < s->cap) { s->len += (size_t)n; return; }
        size_t cap = (s->cap + (size_t)n + 1) * 2;
        char *nb = sl_malloc(cap);
        if (!nb) { s->failed = true; return; }
        memcpy(nb, s->buf, s->len + 1);
        sl_free(s->buf);
        s->buf = nb, s->cap = cap;
    }
}

typedef struct {
    bool summarize, integral, sci;
    int width, precision;
} style;

static bool shown(const sl_tensor *t, int d, int64_t i, bool summarize)
{
    return !summarize || t->size[d] <= 2 * EDGE_ITEMS || i < EDGE_ITEMS || i >= t->size[d] - EDGE_ITEMS;
}

static void format_value(char *out, size_t n, double v, const style *st)
{
    if (isnan(v)) snprintf(out, n, "nan");
    else if (isinf(v)) snprintf(out, n, v > 0 ? "inf" : "-inf");
    else if (st->integral) snprintf(out, n, "%.0f", v);
    else if (st->sci) snprintf(out, n, "%.*e", st->precision, v);
    else snprintf(out, n, "%.*f", st->precision, v);
}

/* Choose one format for all shown values (as PyTorch does). */
static void choose_style(const sl_tensor *t, style *st)
{
    int64_t n = sl_tensor_numel(t), idx[SL_MAX_DIMS] = {0};
    double maxabs = 0, minabs = INFINITY;
    bool all_int = true;
    st->summarize = n > SUMMARY_THRESHOLD;
    for (int64_t e = 0; e < n; e++) {
        bool visible = true;
        for (int d = 0; d < t->ndim; d++) visible = visible && shown(t, d, idx[d], st->summarize);
        if (visible) {
            double v = sl_tensor_get(t, idx);
            if (isfinite(v)) {
                maxabs = fmax(maxabs, fabs(v));
                if (v != 0) minabs = fmin(minabs, fabs(v));
                if (v != floor(v)) all_int = false;
            }
        }
        for (int d = t->ndim - 1; d >= 0 && ++idx[d] == t->size[d]; d--) idx[d] = 0;
    }
    st->integral = t->dtype != SL_FLOAT32;
    st->precision = 4;
    st->sci = !st->integral && (maxabs >= 1e8 || (minabs < 1e-4 && minabs > 0) ||
                                (maxabs > 0 && minabs < INFINITY && maxabs / minabs > 1e3 && maxabs >= 1e3));
    if (!st->integral && all_int && !st->sci) st->precision = 0;
    /* Width of the widest shown value. */
    st->width = 1;
    memset(idx, 0, sizeof idx);
    for (int64_t e = 0; e < n; e++) {
        bool visible = true;
        for (int d = 0; d < t->ndim; d++) visible = visible && shown(t, d, idx[d], st->summarize);
        if (visible) {
            char b[64];
            format_value(b, sizeof b, sl_tensor_get(t, idx), st);
            if ((int)strlen(b) + (st->precision == 0 && !st->integral) > st->width)
                st->width = (int)strlen(b) + (st->precision == 0 && !st->integral);
        }
        for (int d = t->ndim - 1; d >= 0 && ++idx[d] == t->size[d]; d--) idx[d] = 0;
    }
}

static void format_dim(strbuf *s, const sl_tensor *t, int d, int64_t *idx, const style *st, int indent)
{
    if (d == t->ndim) {
        char b[64];
        format_value(b, sizeof b, sl_tensor_get(t, idx), st);
        if (st->precision == 0 && !st->integral && strcmp(b, "nan") && strcmp(b, "inf") && strcmp(b, "-inf"))
            strcat(b, ".");
        put(s, "%*s", st->width, b);
        return;
    }
    put(s, "[");
    for (int64_t i = 0; i < t->size[d]; i++) {
        if (!shown(t, d, i, st->summarize)) {
            put(s, d == t->ndim - 1 ? "..., " : "...,\n%*s", indent + 1, "");
            i = t->size[d] - EDGE_ITEMS - 1;
            continue;
        }
        idx[d] = i;
        format_dim(s, t, d + 1, idx, st, indent + 1);
        if (i + 1 < t->size[d]) {
            if (d == t->ndim - 1) put(s, ", ");
            else {
                put(s, ",");
                for (int k = 0; k < t->ndim - d - 1; k++) put(s, "\n");
                put(s, "%*s", indent + 1, "");
            }
        }
    }
    put(s, "]");
}

char *sl_tensor_format(const sl_tensor *t)
{
    strbuf s = {sl_malloc(256), 0, 256, false};
    if (!s.buf) return NULL;
    s.buf[0] = '\0';
    char shape[160];
    sl_shape_str(t, shape, sizeof shape);
    int64_t n = sl_tensor_numel(t);
    if (n == 0) {
        put(&s, "tensor([])\n[%s %s", sl_dtype_name(t->dtype), shape + 1); /* shape + 1 ends in "]" */
    } else {
        style st;
        choose_style(t, &st);
        int64_t idx[SL_MAX_DIMS] = {0};
        put(&s, "tensor(");
        format_dim(&s, t, 0, idx, &st, 7);
        put(&s, ")\n[%s ", sl_dtype_name(t->dtype));
        put(&s, "%s", t->ndim ? shape + 1 : "scalar]");
    }
    if (s.failed) {
        sl_free(s.buf);
        return NULL;
    }
    return s.buf;
}
