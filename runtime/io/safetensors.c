/* safetensors.c - read, validate and atomically write safetensors checkpoints (see safetensors.h). */
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "io/json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "safetensors.c assumes a little-endian host (safetensors data is little-endian)"
#endif

enum { JSON_MAX_DEPTH = 64, GATHER_BYTES = 1 << 16 };

/* {===================================================================
 * dtypes
 * =================================================================== */

/* The safetensors names we map, and the order the Rust writer sorts by
 * (descending position in its Dtype enum: ... U8 ... F32, F64, I64 ...). */
static const struct {
    const char *name;
    sl_dtype dtype;
    int rank;
} supported[] = {{"F32", SL_FLOAT32, 11}, {"U8", SL_UINT8, 1}, {"I64", SL_INT64, 13}};

/* Valid safetensors dtypes that sslab has no tensor type for. */
static const char *const unsupported[] = {"BOOL", "I8",  "I16", "U16", "F16", "BF16",    "I32",     "U32",
                                          "F64",  "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3",
                                          "F6_E3M2", "C64"};

static const char *st_dtype_name(sl_dtype dt)
{
    for (size_t i = 0; i < sizeof supported / sizeof *supported; i++)
        if (supported[i].dtype == dt) return supported[i].name;
    return NULL;
}

static int st_dtype_rank(sl_dtype dt)
{
    for (size_t i = 0; i < sizeof supported / sizeof *supported; i++)
        if (supported[i].dtype == dt) return supported[i].rank;
    return 0;
}

/* }=================================================================== */

/* {===================================================================
 * Reading
 * =================================================================== */

typedef struct st_entry {
    const char *name; /* points into the JSON tree */
    sl_dtype dtype;
    int ndim;
    int64_t shape[SL_MAX_DIMS];
    uint64_t begin, end;
    size_t order; /* position in the header, to keep sorting deterministic */
} st_entry;

typedef struct st_plan {
    sl_json *root;
    st_entry *entries;
    size_t n;
    const sl_json *meta; /* the __metadata__ object, or NULL */
} st_plan;

static void plan_free(st_plan *p)
{
    sl_json_free(p->root);
    sl_free(p->entries);
    memset(p, 0, sizeof *p);
}

static int load_fail(const char *what, const char *fmt, ...) SL_PRINTF(2, 3);
static int load_fail(const char *what, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_error("load: %s: %s", what, msg);
}

/* "a number", "an object", ... for messages. */
static const char *a_type(const sl_json *v)
{
    switch (v->type) {
    case SL_JSON_NULL: return "null";
    case SL_JSON_BOOL: return "a boolean";
    case SL_JSON_NUMBER: return "a number";
    case SL_JSON_STRING: return "a string";
    case SL_JSON_ARRAY: return "an array";
    default: return "an object";
    }
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && used < n; d++)
        used += (size_t)snprintf(buf + used, n - used, d ? "x%lld" : "%lld", (long long)shape[d]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

/* A non-negative integer from a JSON number; `field` names it in messages. */
static int get_count(const char *what, const char *name, const char *field, const sl_json *v, int64_t *out)
{
    if (v->type != SL_JSON_NUMBER)
        return load_fail(what, "tensor '%s': %s is %s, expected a non-negative integer", name, field, a_type(v));
    if (!v->is_int) {
        bool integral = !strpbrk(v->str, ".eE");
        if (integral)
            return load_fail(what, "tensor '%s': %s = %.40s overflows a 64-bit integer", name, field, v->str);
        return load_fail(what, "tensor '%s': %s = %.40s is not an integer", name, field, v->str);
    }
    if (v->integer < 0)
        return load_fail(what, "tensor '%s': %s = %lld is negative", name, field, (long long)v->integer);
    *out = v->integer;
    return SL_OK;
}

static int parse_dtype(const char *what, const char *name, const sl_json *v, sl_dtype *out)
{
    if (!v) return load_fail(what, "tensor '%s': missing field 'dtype'", name);
    if (v->type != SL_JSON_STRING)
        return load_fail(what, "tensor '%s': dtype is %s, expected a string", name, a_type(v));
    for (size_t i = 0; i < sizeof supported / sizeof *supported; i++)
        if (strcmp(v->str, supported[i].name) == 0 && v->len == strlen(supported[i].name)) {
            *out = supported[i].dtype;
            return SL_OK;
        }
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (strcmp(v->str, unsupported[i]) == 0 && v->len == strlen(unsupported[i]))
            return load_fail(what, "unsupported dtype %s for tensor '%s' (sslab reads F32, I64 and U8)", v->str,
                             name);
    return load_fail(what, "unknown dtype '%.40s' for tensor '%s'", v->str, name);
}

static int parse_shape(const char *what, const char *name, const sl_json *v, st_entry *e)
{
    char field[32];
    if (!v) return load_fail(what, "tensor '%s': missing field 'shape'", name);
    if (v->type != SL_JSON_ARRAY)
        return load_fail(what, "tensor '%s': shape is %s, expected an array", name, a_type(v));
    if (v->count > SL_MAX_DIMS)
        return load_fail(what, "tensor '%s': shape has %zu dims (sslab supports at most %d)", name, v->count,
                         SL_MAX_DIMS);
    e->ndim = (int)v->count;
    for (size_t d = 0; d < v->count; d++) {
        snprintf(field, sizeof field, "shape[%zu]", d);
        if (get_count(what, name, field, &v->items[d], &e->shape[d]) != SL_OK) return SL_ERR;
    }
    return SL_OK;
}

static int parse_offsets(const char *what, const char *name, const sl_json *v, st_entry *e)
{
    int64_t o[2];
    if (!v) return load_fail(what, "tensor '%s': missing field 'data_offsets'", name);
    if (v->type != SL_JSON_ARRAY || v->count != 2)
        return load_fail(what, "tensor '%s': data_offsets must be an array [begin, end]", name);
    if (get_count(what, name, "data_offsets[0]", &v->items[0], &o[0]) != SL_OK ||
        get_count(what, name, "data_offsets[1]", &v->items[1], &o[1]) != SL_OK)
        return SL_ERR;
    e->begin = (uint64_t)o[0];
    e->end = (uint64_t)o[1];
    return SL_OK;
}

/* Size in bytes the shape needs; guards overflow even through zero-sized dims
 * (the tensor's strides are products of the sizes). */
static int shape_bytes(const char *what, const char *name, const st_entry *e, uint64_t *out)
{
    const uint64_t limit = (uint64_t)INT64_MAX / 8;
    uint64_t prod = 1, numel = 1;
    for (int d = 0; d < e->ndim; d++) {
        uint64_t s = (uint64_t)e->shape[d];
        if (s > 1 && prod > limit / s) {
            char sh[200];
            shape_str(e->shape, e->ndim, sh, sizeof sh);
            return load_fail(what, "tensor '%s': shape %s is too large (element count overflows)", name, sh);
        }
        prod *= s ? s : 1;
        numel *= s;
    }
    *out = numel * sl_dtype_size(e->dtype);
    return SL_OK;
}

static int parse_metadata(const char *what, const sl_json *m, st_plan *plan)
{
    if (m->type == SL_JSON_NULL) return SL_OK; /* as serde's Option: no metadata */
    if (m->type != SL_JSON_OBJECT)
        return load_fail(what, "__metadata__ is %s, expected an object of strings", a_type(m));
    for (size_t i = 0; i < m->count; i++) {
        const sl_json *v = &m->items[i];
        if (strlen(v->key) != v->key_len)
            return load_fail(what, "__metadata__ key '%s...' contains a NUL character", v->key);
        if (v->type != SL_JSON_STRING)
            return load_fail(what, "__metadata__ value for key '%s' is %s, expected a string", v->key, a_type(v));
        if (strlen(v->str) != v->len)
            return load_fail(what, "__metadata__ value for key '%s' contains a NUL character", v->key);
    }
    plan->meta = m;
    return SL_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Parse and validate the header against a data buffer of data_len bytes. */
static int parse_header(const char *what, const char *hdr, size_t hlen, uint64_t data_len, st_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    if (hlen == 0 || hdr[0] != '{') return load_fail(what, "header does not start with '{' (not a JSON object)");
    if (sl_json_parse(hdr, hlen, JSON_MAX_DEPTH, &plan->root) != SL_OK) {
        char msg[800];
        snprintf(msg, sizeof msg, "%s", sl_last_error());
        return load_fail(what, "header: %s", msg);
    }
    const sl_json *root = plan->root;
    plan->entries = sl_calloc(root->count ? root->count : 1, sizeof *plan->entries);
    if (!plan->entries) return sl_error_prefix("load: %s", what);

    for (size_t i = 0; i < root->count; i++) {
        const sl_json *t = &root->items[i];
        const char *name = t->key;
        if (strcmp(name, "__metadata__") == 0 && t->key_len == strlen("__metadata__")) {
            if (parse_metadata(what, t, plan) != SL_OK) return SL_ERR;
            continue;
        }
        if (strlen(name) != t->key_len) return load_fail(what, "tensor name '%s...' contains a NUL character", name);
        if (t->type != SL_JSON_OBJECT)
            return load_fail(what, "tensor '%s': entry is %s, expected an object", name, a_type(t));
        st_entry *e = &plan->entries[plan->n];
        e->name = name;
        e->order = plan->n;
        if (parse_dtype(what, name, sl_json_get(t, "dtype"), &e->dtype) != SL_OK ||
            parse_shape(what, name, sl_json_get(t, "shape"), e) != SL_OK ||
            parse_offsets(what, name, sl_json_get(t, "data_offsets"), e) != SL_OK)
            return SL_ERR;
        uint64_t need = 0;
        if (shape_bytes(what, name, e, &need) != SL_OK) return SL_ERR;
        if (e->begin > e->end)
            return load_fail(what, "tensor '%s': data_offsets [%llu,%llu] end before they begin", name,
                             (unsigned long long)e->begin, (unsigned long long)e->end);
        if (e->end > data_len)
            return load_fail(what, "tensor '%s': data_offsets [%llu,%llu] beyond the data buffer (%llu bytes)", name,
                             (unsigned long long)e->begin, (unsigned long long)e->end,
                             (unsigned long long)data_len);
        if (e->end - e->begin != need) {
            char sh[200];
            shape_str(e->shape, e->ndim, sh, sizeof sh);
            return load_fail(what, "tensor '%s': data_offsets [%llu,%llu] but shape %s %s needs %llu bytes", name,
                             (unsigned long long)e->begin, (unsigned long long)e->end, sh,
                             sl_dtype_name(e->dtype), (unsigned long long)need);
        }
        plan->n++;
    }

    /* The tensors must tile the buffer exactly: no overlap, no hole, nothing after. */
    qsort(plan->entries, plan->n, sizeof *plan->entries, entry_cmp);
    uint64_t pos = 0;
    const st_entry *prev = NULL;
    for (size_t i = 0; i < plan->n; i++) {
        const st_entry *e = &plan->entries[i];
        if (e->begin < pos)
            return load_fail(what, "tensors '%s' [%llu,%llu] and '%s' [%llu,%llu] overlap", prev->name,
                             (unsigned long long)prev->begin, (unsigned long long)prev->end, e->name,
                             (unsigned long long)e->begin, (unsigned long long)e->end);
        if (e->begin > pos)
            return load_fail(what, "hole in the data buffer: bytes [%llu,%llu) before tensor '%s' belong to no tensor",
                             (unsigned long long)pos, (unsigned long long)e->begin, e->name);
        prev = e;
        pos = e->end; /* begin == pos <= end */
    }
    if (pos != data_len)
        return load_fail(what, "hole in the data buffer: bytes [%llu,%llu) at its end belong to no tensor",
                         (unsigned long long)pos, (unsigned long long)data_len);
    return SL_OK;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = sl_malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

void sl_safetensors_free(sl_safetensors *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->n_tensors; i++) {
        if (st->names) sl_free(st->names[i]);
        if (st->tensors) sl_tensor_free(st->tensors[i]);
    }
    for (size_t i = 0; i < st->n_meta; i++) {
        if (st->meta_keys) sl_free(st->meta_keys[i]);
        if (st->meta_values) sl_free(st->meta_values[i]);
    }
    sl_free(st->names);
    sl_free(st->tensors);
    sl_free(st->meta_keys);
    sl_free(st->meta_values);
    sl_free(st);
}

/* The result with names, metadata and (uninitialised) tensors allocated. */
static sl_safetensors *result_new(const char *what, const st_plan *plan)
{
    sl_safetensors *st = sl_calloc(1, sizeof *st);
    if (!st) goto fail;
    size_t nm = plan->meta ? plan->meta->count : 0;
    st->names = sl_calloc(plan->n + 1, sizeof *st->names);
    st->tensors = sl_calloc(plan->n + 1, sizeof *st->tensors);
    st->meta_keys = sl_calloc(nm + 1, sizeof *st->meta_keys);
    st->meta_values = sl_calloc(nm + 1, sizeof *st->meta_values);
    if (!st->names || !st->tensors || !st->meta_keys || !st->meta_values) goto fail;
    st->n_tensors = plan->n;
    st->n_meta = nm;
    for (size_t i = 0; i < nm; i++) {
        st->meta_keys[i] = dup_str(plan->meta->items[i].key);
        st->meta_values[i] = dup_str(plan->meta->items[i].str);
        if (!st->meta_keys[i] || !st->meta_values[i]) goto fail;
    }
    for (size_t i = 0; i < plan->n; i++) {
        const st_entry *e = &plan->entries[i];
        st->names[i] = dup_str(e->name);
        if (!st->names[i]) goto fail;
        st->tensors[i] = sl_tensor_new(e->dtype, e->ndim, e->shape);
        if (!st->tensors[i]) goto fail;
    }
    return st;
fail:
    sl_error_prefix("load: %s", what);
    sl_safetensors_free(st);
    return NULL;
}

static uint64_t read_u64le(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

/* Checks on the 8-byte length prefix shared by file and memory loading. */
static int check_prefix(const char *what, uint64_t total, uint64_t hlen)
{
    if (hlen > SL_SAFETENSORS_MAX_HEADER)
        return load_fail(what, "header length %llu exceeds the %d-byte limit", (unsigned long long)hlen,
                         SL_SAFETENSORS_MAX_HEADER);
    if (hlen > total - 8)
        return load_fail(what, "header length %llu is beyond the end of the file (%llu bytes)",
                         (unsigned long long)hlen, (unsigned long long)total);
    return SL_OK;
}

int sl_safetensors_parse(const void *bytes, size_t n, const char *what, sl_safetensors **out)
{
    *out = NULL;
    const unsigned char *b = bytes;
    if (n < 8) return load_fail(what, "file is %zu bytes, shorter than the 8-byte header length", n);
    uint64_t hlen = read_u64le(b);
    if (check_prefix(what, n, hlen) != SL_OK) return SL_ERR;
    st_plan plan;
    if (parse_header(what, (const char *)b + 8, (size_t)hlen, n - 8 - hlen, &plan) != SL_OK) {
        plan_free(&plan);
        return SL_ERR;
    }
    sl_safetensors *st = result_new(what, &plan);
    if (st) {
        const unsigned char *data = b + 8 + hlen;
        for (size_t i = 0; i < plan.n; i++)
            if (plan.entries[i].end > plan.entries[i].begin)
                memcpy(sl_tensor_data(st->tensors[i]), data + plan.entries[i].begin,
                       plan.entries[i].end - plan.entries[i].begin);
    }
    plan_free(&plan);
    *out = st;
    return st ? SL_OK : SL_ERR;
}

static int read_exact(FILE *f, void *buf, size_t n, const char *what)
{
    if (n && fread(buf, 1, n, f) != n) {
        if (ferror(f)) return load_fail(what, "read error: %s", strerror(errno));
        return load_fail(what, "file ended early (was it truncated while reading?)");
    }
    return SL_OK;
}

int sl_safetensors_load(const char *path, sl_safetensors **out)
{
    *out = NULL;
    int status;
    FILE *f = sl_file_open_read(path, "load", &status);
    if (!f) return status;
    char *hdr = NULL;
    st_plan plan = {0};
    sl_safetensors *st = NULL;
    int rc = SL_ERR;
    unsigned char prefix[8];
    int64_t total = sl_file_size(f, "load", path);
    if (total < 0) goto done;
    if (total < 8) {
        load_fail(path, "file is %lld bytes, shorter than the 8-byte header length", (long long)total);
        goto done;
    }
    if (read_exact(f, prefix, 8, path) != SL_OK) goto done;
    uint64_t hlen = read_u64le(prefix);
    if (check_prefix(path, (uint64_t)total, hlen) != SL_OK) goto done;
    hdr = sl_malloc((size_t)hlen + 1);
    if (!hdr) {
        sl_error_prefix("load: %s", path);
        goto done;
    }
    if (read_exact(f, hdr, (size_t)hlen, path) != SL_OK) goto done;
    if (parse_header(path, hdr, (size_t)hlen, (uint64_t)total - 8 - hlen, &plan) != SL_OK) goto done;
    st = result_new(path, &plan);
    if (!st) goto done;
    /* The entries are sorted by offset and tile the buffer, so one sequential pass reads it all. */
    for (size_t i = 0; i < plan.n; i++)
        if (read_exact(f, sl_tensor_data(st->tensors[i]), plan.entries[i].end - plan.entries[i].begin, path) != SL_OK)
            goto done;
    rc = SL_OK;
done:
    fclose(f);
    sl_free(hdr);
    plan_free(&plan);
    if (rc != SL_OK) {
        sl_safetensors_free(st);
        st = NULL;
    }
    *out = st;
    return rc;
}

const sl_tensor *sl_safetensors_get(const sl_safetensors *st, const char *name)
{
    for (size_t i = 0; i < st->n_tensors; i++)
        if (strcmp(st->names[i], name) == 0) return st->tensors[i];
    return NULL;
}

const char *sl_safetensors_meta(const sl_safetensors *st, const char *key)
{
    for (size_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

/* }=================================================================== */

/* {===================================================================
 * Writing
 * =================================================================== */

typedef struct st_write {
    const sl_tensor *const *tensors;
    size_t *order;     /* tensor indices in file order */
    uint64_t *nbytes;  /* per tensor (by input index) */
    int *ranks;        /* per tensor: dtype sort rank */
    sl_strbuf header;  /* the padded JSON */
    uint64_t data_len;
} st_write;

static void write_free(st_write *w)
{
    sl_free(w->order);
    sl_free(w->nbytes);
    sl_free(w->ranks);
    sl_strbuf_free(&w->header);
}

/* For sorting names: tensors by (dtype rank descending, name), metadata keys by name. */
typedef struct sort_item {
    const char *name;
    int rank;
    size_t idx;
} sort_item;

static int sort_item_cmp(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->rank != y->rank) return x->rank > y->rank ? -1 : 1;
    return strcmp(x->name, y->name); /* compares as unsigned char: the bytewise order of Rust's String */
}

/* Indices of names[0..n) sorted by (rank, name) into order[]; *dup = the
 * first duplicate (name, rank) pair's name or NULL. ranks may be NULL. */
static int sort_names(const char *const *names, const int *ranks, size_t n, size_t *order, const char **dup)
{
    *dup = NULL;
    sort_item *items = sl_malloc((n ? n : 1) * sizeof *items);
    if (!items) return SL_ERR;
    for (size_t i = 0; i < n; i++) items[i] = (sort_item){names[i], ranks ? ranks[i] : 0, i};
    qsort(items, n, sizeof *items, sort_item_cmp);
    for (size_t i = 0; i < n; i++) {
        order[i] = items[i].idx;
        if (i && !*dup && items[i].rank == items[i - 1].rank && strcmp(items[i].name, items[i - 1].name) == 0)
            *dup = items[i].name;
    }
    sl_free(items);
    return SL_OK;
}

static int check_key(const char *kind, const char *s)
{
    if (!s) return sl_error("%s is NULL", kind);
    if (!sl_utf8_valid(s, strlen(s))) return sl_error("%s '%.60s' is not valid UTF-8", kind, s);
    return SL_OK;
}

/* Validate the inputs and build the header; messages without the "save: path" prefix. */
static int prepare(st_write *w, size_t n, const char *const *names, const sl_tensor *const *tensors, size_t n_meta,
                   const char *const *meta_keys, const char *const *meta_values)
{
    memset(w, 0, sizeof *w);
    w->tensors = tensors;
    w->order = sl_calloc(n + n_meta + 1, sizeof *w->order);
    w->nbytes = sl_calloc(n + 1, sizeof *w->nbytes);
    w->ranks = sl_calloc(n + 1, sizeof *w->ranks);
    if (!w->order || !w->nbytes || !w->ranks) return SL_ERR;

    for (size_t i = 0; i < n; i++) {
        if (check_key("tensor name", names[i]) != SL_OK) return SL_ERR;
        if (strcmp(names[i], "__metadata__") == 0)
            return sl_error("'__metadata__' is reserved and cannot name a tensor");
        const sl_tensor *t = tensors[i];
        if (!t) return sl_error("tensor '%s' is NULL", names[i]);
        if (!st_dtype_name(t->dtype) || t->ndim < 0 || t->ndim > SL_MAX_DIMS)
            return sl_error("tensor '%s' has a bad header (dtype %d, %d dims)", names[i], (int)t->dtype, t->ndim);
        uint64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->size[d] < 0) return sl_error("tensor '%s' has a negative size", names[i]);
            numel *= (uint64_t)t->size[d];
        }
        w->nbytes[i] = numel * sl_dtype_size(t->dtype);
        w->ranks[i] = st_dtype_rank(t->dtype);
    }
    for (size_t i = 0; i < n_meta; i++) {
        if (check_key("metadata key", meta_keys[i]) != SL_OK) return SL_ERR;
        if (!meta_values[i]) return sl_error("metadata value for key '%s' is NULL", meta_keys[i]);
        if (!sl_utf8_valid(meta_values[i], strlen(meta_values[i])))
            return sl_error("metadata value for key '%s' is not valid UTF-8", meta_keys[i]);
    }
    const char *dup;
    if (sort_names(names, NULL, n, w->order, &dup) != SL_OK) return SL_ERR; /* by name alone: dups across dtypes */
    if (dup) return sl_error("two tensors are named '%s'", dup);

    /* Header: {"__metadata__":{"k":"v",...},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[b,e]},...} */
    sl_strbuf *h = &w->header;
    if (sl_strbuf_puts(h, "{") != SL_OK) return SL_ERR;
    bool first = true;
    if (n_meta) {
        if (sort_names(meta_keys, NULL, n_meta, w->order, &dup) != SL_OK) return SL_ERR;
        if (dup) return sl_error("metadata key '%s' given twice", dup);
        if (sl_strbuf_puts(h, "\"__metadata__\":{") != SL_OK) return SL_ERR;
        for (size_t k = 0; k < n_meta; k++) {
            size_t i = w->order[k];
            if ((k && sl_strbuf_puts(h, ",") != SL_OK) ||
                sl_json_write_string(h, meta_keys[i], strlen(meta_keys[i])) != SL_OK ||
                sl_strbuf_puts(h, ":") != SL_OK ||
                sl_json_write_string(h, meta_values[i], strlen(meta_values[i])) != SL_OK)
                return SL_ERR;
        }
        if (sl_strbuf_puts(h, "}") != SL_OK) return SL_ERR;
        first = false;
    }
    if (sort_names(names, w->ranks, n, w->order, &dup) != SL_OK) return SL_ERR;
    uint64_t offset = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = w->order[k];
        const sl_tensor *t = tensors[i];
        if ((!first && sl_strbuf_puts(h, ",") != SL_OK) ||
            sl_json_write_string(h, names[i], strlen(names[i])) != SL_OK ||
            sl_strbuf_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(t->dtype)) != SL_OK)
            return SL_ERR;
        first = false;
        for (int d = 0; d < t->ndim; d++)
            if (sl_strbuf_printf(h, d ? ",%lld" : "%lld", (long long)t->size[d]) != SL_OK) return SL_ERR;
        if (sl_strbuf_printf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                             (unsigned long long)(offset + w->nbytes[i])) != SL_OK)
            return SL_ERR;
        offset += w->nbytes[i];
    }
    if (sl_strbuf_puts(h, "}") != SL_OK) return SL_ERR;
    while (h->len % 8) /* pad with spaces so the data starts 8-byte aligned */
        if (sl_strbuf_puts(h, " ") != SL_OK) return SL_ERR;
    w->data_len = offset;
    return SL_OK;
}

/* Where bytes go: a FILE or a memory buffer. */
typedef struct sink {
    FILE *f;
    uint8_t *mem;
    size_t pos;
} sink;

static int sink_write(sink *s, const void *p, size_t n)
{
    if (!n) return SL_OK;
    if (s->f) {
        if (fwrite(p, 1, n, s->f) != n) return sl_error("write failed: %s", strerror(errno));
    } else {
        memcpy(s->mem + s->pos, p, n);
    }
    s->pos += n;
    return SL_OK;
}

/* Write t's elements in row-major order, whatever its strides. */
static int write_tensor(sink *s, const sl_tensor *t)
{
    size_t es = sl_dtype_size(t->dtype);
    int64_t numel = sl_tensor_numel(t);
    if (numel == 0) return SL_OK;
    const char *base = sl_tensor_data(t);
    if (sl_tensor_is_contiguous(t)) return sink_write(s, base, (size_t)numel * es);

    size_t cap = (size_t)numel * es < GATHER_BYTES ? (size_t)numel * es : GATHER_BYTES;
    char *buf = sl_malloc(cap);
    if (!buf) return SL_ERR;
    int nd = t->ndim;
    int64_t idx[SL_MAX_DIMS] = {0};
    int64_t inner_n = t->size[nd - 1], inner_s = t->stride[nd - 1] * (int64_t)es;
    size_t fill = 0;
    int rc = SL_OK;
    for (int64_t row = 0; row < numel / inner_n && rc == SL_OK; row++) {
        int64_t off = 0;
        for (int d = 0; d < nd - 1; d++) off += idx[d] * t->stride[d];
        const char *p = base + off * (int64_t)es;
        for (int64_t j = 0; j < inner_n; j++, p += inner_s) {
            memcpy(buf + fill, p, es);
            fill += es;
            if (fill == cap) {
                if ((rc = sink_write(s, buf, fill)) != SL_OK) break;
                fill = 0;
            }
        }
        for (int d = nd - 2; d >= 0; d--) { /* next row index, odometer style */
            if (++idx[d] < t->size[d]) break;
            idx[d] = 0;
        }
    }
    if (rc == SL_OK) rc = sink_write(s, buf, fill);
    sl_free(buf);
    return rc;
}

static int write_all(sink *s, const st_write *w, size_t n)
{
    unsigned char prefix[8];
    uint64_t hlen = w->header.len;
    for (int i = 0; i < 8; i++) prefix[i] = (unsigned char)(hlen >> (8 * i));
    if (sink_write(s, prefix, 8) != SL_OK || sink_write(s, w->header.data, w->header.len) != SL_OK) return SL_ERR;
    for (size_t k = 0; k < n; k++)
        if (write_tensor(s, w->tensors[w->order[k]]) != SL_OK) return SL_ERR;
    return SL_OK;
}

int sl_safetensors_serialize(size_t n, const char *const *names, const sl_tensor *const *tensors, size_t n_meta,
                             const char *const *meta_keys, const char *const *meta_values, uint8_t **bytes,
                             size_t *len)
{
    *bytes = NULL;
    *len = 0;
    st_write w;
    int rc = prepare(&w, n, names, tensors, n_meta, meta_keys, meta_values);
    if (rc == SL_OK) {
        uint64_t total = 8 + (uint64_t)w.header.len + w.data_len;
        sink s = {NULL, sl_malloc((size_t)total), 0};
        if (!s.mem || write_all(&s, &w, n) != SL_OK) {
            sl_free(s.mem);
            rc = SL_ERR;
        } else {
            *bytes = s.mem;
            *len = (size_t)total;
        }
    }
    write_free(&w);
    if (rc != SL_OK) sl_error_prefix("serialize");
    return rc;
}

/* fsync the directory holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sl_error("cannot open directory '%s' to sync it: %s", dir, strerror(errno));
    int r = fsync(fd);
    int err = errno;
    close(fd);
    if (r != 0 && err != EINVAL && err != EROFS) /* some filesystems cannot sync directories */
        return sl_error("fsync of directory '%s' failed: %s", dir, strerror(err));
    return SL_OK;
}

int sl_safetensors_save(const char *path, size_t n, const char *const *names, const sl_tensor *const *tensors,
                        size_t n_meta, const char *const *meta_keys, const char *const *meta_values)
{
    st_write w;
    char *tmp = NULL;
    FILE *f = NULL;
    bool created = false;
    int rc = prepare(&w, n, names, tensors, n_meta, meta_keys, meta_values);
    if (rc != SL_OK) goto done;
    rc = SL_ERR;
    size_t tn = strlen(path) + 32;
    tmp = sl_malloc(tn);
    if (!tmp) goto done;
    snprintf(tmp, tn, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST) { /* left by a crashed process that had our pid */
        unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    }
    if (fd < 0) {
        sl_error("cannot create temporary file '%s': %s", tmp, strerror(errno));
        goto done;
    }
    created = true;
    f = fdopen(fd, "wb");
    if (!f) {
        sl_error("fdopen failed: %s", strerror(errno));
        close(fd);
        goto done;
    }
    sink s = {f, NULL, 0};
    if (write_all(&s, &w, n) != SL_OK) goto done;
    if (fflush(f) != 0) {
        sl_error("write failed: %s", strerror(errno));
        goto done;
    }
    if (fsync(fileno(f)) != 0) {
        sl_error("fsync failed: %s", strerror(errno));
        goto done;
    }
    int r = fclose(f);
    f = NULL;
    if (r != 0) {
        sl_error("close failed: %s", strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        sl_error("cannot rename '%s' to the final name: %s", tmp, strerror(errno));
        goto done;
    }
    created = false;
    rc = sync_dir(path);
done:
    if (f) fclose(f);
    if (created) unlink(tmp);
    sl_free(tmp);
    write_free(&w);
    if (rc != SL_OK) sl_error_prefix("save: %s", path);
    return rc;
}

/* }=================================================================== */
