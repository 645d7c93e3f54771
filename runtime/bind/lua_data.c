/* lua_data.c - C datasets, the dataset file readers, directory listing and
 * the multi-threaded batch loader, for lua/sslab/data.lua (table core._data).
 *
 * Lua surface conventions: sample indices and labels are 1-based (the C
 * side is 0-based; the conversion happens here only). A file that cannot be
 * opened gives nil, message; a file that is wrong raises, naming the file.
 *
 *   local ds = core._data.synthetic(seed, n, size)   -- sslab.Dataset userdata
 *   local img, label = ds:get(1)                      -- uint8 [3 x size x size], 1-based label
 *   local l = core._data.loader(ds, {batch = 8, workers = 2, seed = 1}, ops1, ops2)
 *   l:start(epoch, 1)
 *   local number, v1, v2, labels, indices = l:next() -- nil at the end of the epoch
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bind.h"
#include "core/alloc.h"
#include "data/cifar.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "data/loader.h"
#include "data/stl10.h"
#include "io/file.h"
#include "tensor/random.h"
#include "tensor/view.h"

#define SL_DATASET_MT "sslab.Dataset"
#define SL_LOADER_MT "sslab.Loader"
#define SL_GENERATOR_MT "sslab.Generator" /* registered by lua_random.c */

/* {===== helpers ========================================================= */

/* Raise for SL_ERR; for SL_ENOENT push nil, message and return 2; 0 if ok. */
static int file_status(lua_State *L, int rc)
{
    if (rc == SL_ENOENT) {
        luaL_pushfail(L);
        lua_pushstring(L, sl_last_error());
        return 2;
    }
    sl_lua_check(L, rc);
    return 0;
}

/* Push a tensor owned by C (takes the reference). */
static void push_owned(lua_State *L, sl_tensor *t)
{
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = t;
    sl_lua_account(L, t->storage->nbytes);
}

/* In place: int64 values += delta (labels and indices between 0- and 1-based). */
static void shift_i64(sl_tensor *t, int64_t delta)
{
    int64_t n = sl_tensor_numel(t);
    int64_t *p = sl_i64(t);
    for (int64_t i = 0; i < n; i++) p[i * (t->ndim ? t->stride[0] : 1)] += delta;
}

/* }===================================================================== */

/* {===== datasets ======================================================== */

static sl_dataset *check_dataset(lua_State *L, int idx)
{
    sl_dataset **slot = luaL_checkudata(L, idx, SL_DATASET_MT);
    if (!*slot) luaL_argerror(L, idx, "dataset has been freed");
    return *slot;
}

static sl_dataset **new_dataset_slot(lua_State *L)
{
    sl_dataset **slot = lua_newuserdatauv(L, sizeof *slot, 0);
    *slot = NULL;
    luaL_setmetatable(L, SL_DATASET_MT);
    return slot;
}

static int d_gc(lua_State *L)
{
    sl_dataset **slot = luaL_checkudata(L, 1, SL_DATASET_MT);
    sl_dataset_free(*slot);
    *slot = NULL;
    return 0;
}

static int d_len(lua_State *L)
{
    lua_pushinteger(L, check_dataset(L, 1)->length);
    return 1;
}

/* ds:get(i) -> image (uint8 [C x H x W]; for in-memory sets a view of the
 * dataset's memory: clone before writing), label (1-based) or nil. */
static int d_get(lua_State *L)
{
    sl_dataset *ds = check_dataset(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    if (i < 1 || i > ds->length)
        luaL_error(L, "dataset:get: index %I out of range [1, %I]", i, (lua_Integer)ds->length);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    int64_t label = -1;
    sl_lua_check(L, sl_dataset_get(ds, i - 1, slot, &label));
    if (label >= 0) lua_pushinteger(L, label + 1);
    else lua_pushnil(L);
    return 2;
}

static int d_kind(lua_State *L)
{
    lua_pushstring(L, check_dataset(L, 1)->vt->kind);
    return 1;
}

static int d_num_classes(lua_State *L)
{
    lua_pushinteger(L, check_dataset(L, 1)->num_classes);
    return 1;
}

/* ds:subset(indices) with 1-based indices (table or int64 tensor). */
static int d_subset(lua_State *L)
{
    sl_dataset *ds = check_dataset(L, 1);
    sl_tensor *ix = sl_lua_positions(L, 2, 0, "subset: indices"); /* range checked by sl_dataset_subset */
    sl_dataset **slot = new_dataset_slot(L);
    *slot = sl_lua_check_ptr(L, sl_dataset_subset(ds, sl_i64(ix), ix->size[0]));
    return 1;
}

/* core._data.from_tensors(images uint8 [N x C x H x W] | [N x H x W], labels int64 [N] 1-based | nil, num_classes) */
static int l_from_tensors(lua_State *L)
{
    sl_tensor *images = sl_lua_check_tensor(L, 1);
    sl_tensor *labels = sl_lua_opt_tensor(L, 2);
    int num_classes = (int)luaL_optinteger(L, 3, 0);
    sl_tensor **lab0 = sl_lua_new_tensor_slot(L);
    if (labels) {
        if (labels->dtype != SL_INT64 || labels->ndim != 1)
            luaL_error(L, "dataset: labels must be a 1-d int64 tensor (1-based), got %s", sl_dtype_name(labels->dtype));
        *lab0 = sl_lua_check_ptr(L, sl_tensor_clone_new(labels));
        shift_i64(*lab0, -1);
        for (int64_t i = 0; i < (*lab0)->size[0]; i++) {
            int64_t v = sl_i64(*lab0)[i];
            if (v < 0 || (num_classes > 0 && v >= num_classes))
                luaL_error(L, "dataset: label %I (entry %I) outside [1, %d]", (lua_Integer)v + 1, (lua_Integer)i + 1,
                           num_classes > 0 ? num_classes : (int)INT32_MAX);
        }
    }
    sl_tensor **img = sl_lua_new_tensor_slot(L);
    *img = sl_lua_check_ptr(L, sl_tensor_contiguous_new(images));
    sl_dataset **slot = new_dataset_slot(L);
    *slot = sl_lua_check_ptr(L, sl_dataset_from_tensors(*img, *lab0, num_classes));
    return 1;
}

/* core._data.synthetic(seed, n, size) */
static int l_synthetic(lua_State *L)
{
    lua_Integer seed = luaL_checkinteger(L, 1), n = luaL_checkinteger(L, 2), size = luaL_checkinteger(L, 3);
    sl_dataset **slot = new_dataset_slot(L);
    *slot = sl_lua_check_ptr(L, sl_dataset_synthetic((uint64_t)seed, n, (int)size));
    return 1;
}

/* core._data.files(paths, labels (1-based) | nil, num_classes): images decoded on each get. */
static int l_files(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int64_t n = (int64_t)lua_rawlen(L, 1);
    int has_labels = !lua_isnoneornil(L, 2);
    if (has_labels) luaL_checktype(L, 2, LUA_TTABLE);
    int num_classes = (int)luaL_optinteger(L, 3, 0);
    /* scratch owned by Lua: an array of string pointers (kept alive by the table) and labels */
    const char **paths = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *paths, 0);
    int64_t *labels = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *labels, 0);
    for (int64_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "files: path %I is not a string", (lua_Integer)i + 1);
        paths[i] = lua_tostring(L, -1);
        lua_pop(L, 1); /* the string stays referenced by the table */
        if (has_labels) {
            lua_rawgeti(L, 2, i + 1);
            int ok;
            labels[i] = lua_tointegerx(L, -1, &ok) - 1;
            if (!ok || labels[i] < 0) luaL_error(L, "files: label %I must be an integer >= 1", (lua_Integer)i + 1);
            lua_pop(L, 1);
        }
    }
    sl_dataset **slot = new_dataset_slot(L);
    *slot = sl_lua_check_ptr(L, sl_dataset_files(paths, has_labels ? labels : NULL, n, num_classes));
    return 1;
}

/* }===================================================================== */

/* {===== file readers ==================================================== */

/* core._data.idx_load(path) -> uint8 tensor with the file's dims | nil, msg */
static int l_idx_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    int r = file_status(L, sl_idx_load(path, slot));
    if (r) return r;
    sl_lua_account(L, (*slot)->storage->nbytes);
    return 1;
}

/* core._data.idx_load_pair(images, labels, num_classes) -> uint8 [N x H x W], int64 [N] (1-based) | nil, msg */
static int l_idx_load_pair(lua_State *L)
{
    const char *ip = luaL_checkstring(L, 1), *lp = luaL_checkstring(L, 2);
    int num_classes = (int)luaL_optinteger(L, 3, 0);
    sl_tensor *x = NULL, *y = NULL;
    int r = file_status(L, sl_idx_load_pair(ip, lp, num_classes, &x, &y));
    if (r) return r;
    push_owned(L, x);
    shift_i64(y, 1);
    push_owned(L, y);
    return 2;
}

/* core._data.cifar_load(10 | 100, {paths}) -> images, labels (1-based), coarse (CIFAR-100, 1-based) | nil, msg */
static int l_cifar_load(lua_State *L)
{
    int kind = (int)luaL_checkinteger(L, 1);
    if (kind != 10 && kind != 100) luaL_argerror(L, 1, "10 or 100");
    luaL_checktype(L, 2, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 2);
    if (n < 1) luaL_argerror(L, 2, "no files");
    const char **paths = lua_newuserdatauv(L, (size_t)n * sizeof *paths, 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 2, i + 1);
        paths[i] = luaL_checkstring(L, -1);
        lua_pop(L, 1);
    }
    sl_tensor *x = NULL, *y = NULL, *c = NULL;
    int r = file_status(L, sl_cifar_load(kind == 10 ? SL_CIFAR10 : SL_CIFAR100, paths, n, &x, &y,
                                         kind == 100 ? &c : NULL));
    if (r) return r;
    push_owned(L, x);
    shift_i64(y, 1);
    push_owned(L, y);
    if (c) {
        shift_i64(c, 1);
        push_owned(L, c);
    } else {
        lua_pushnil(L);
    }
    return 3;
}

/* core._data.stl10_load_images(path[, first (1-based), count]) -> uint8 [N x 3 x 96 x 96] | nil, msg */
static int l_stl10_load_images(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer first = luaL_optinteger(L, 2, 1), count = luaL_optinteger(L, 3, -1);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    int r = file_status(L, sl_stl10_load_images(path, first - 1, count, slot));
    if (r) return r;
    sl_lua_account(L, (*slot)->storage->nbytes);
    return 1;
}

/* core._data.stl10_load_labels(path) -> int64 [N] (1-based) | nil, msg */
static int l_stl10_load_labels(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    int r = file_status(L, sl_stl10_load_labels(path, slot));
    if (r) return r;
    shift_i64(*slot, 1);
    return 1;
}

/* }===================================================================== */

/* {===== directories ===================================================== */

typedef struct dir_entry {
    char *name;
    char kind; /* 'f' file, 'd' directory, 'o' other */
} dir_entry;

typedef struct dir_box {
    dir_entry *e;
    size_t n, cap;
} dir_box;

static int dirbox_gc(lua_State *L)
{
    dir_box *b = lua_touserdata(L, 1);
    for (size_t i = 0; i < b->n; i++) sl_free(b->e[i].name);
    sl_free(b->e);
    b->e = NULL;
    b->n = b->cap = 0;
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const dir_entry *)a)->name, ((const dir_entry *)b)->name);
}

static char path_kind(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return 'o';
    return S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : 'o';
}

/* core._data.listdir(path) -> names (sorted byte-wise, without . and ..),
 * kinds ('file', 'directory' or 'other', following symlinks) | nil, msg */
static int l_listdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    /* entries live in a boxed userdata whose __gc frees them, so a Lua error cannot leak them */
    dir_box *box = lua_newuserdatauv(L, sizeof *box, 0);
    memset(box, 0, sizeof *box);
    lua_newtable(L);
    lua_pushcfunction(L, dirbox_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    DIR *d = opendir(path);
    if (!d) {
        luaL_pushfail(L);
        lua_pushfstring(L, "listdir: %s: %s", path, strerror(errno));
        return 2;
    }
    size_t plen = strlen(path);
    struct dirent *de;
    int failed = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (box->n == box->cap) {
            size_t cap = box->cap ? 2 * box->cap : 64;
            dir_entry *e = sl_malloc(cap * sizeof *e);
            if (!e) { failed = 1; break; }
            if (box->n) memcpy(e, box->e, box->n * sizeof *e);
            sl_free(box->e);
            box->e = e;
            box->cap = cap;
        }
        size_t len = strlen(de->d_name);
        char *name = sl_malloc(len + 1);
        if (!name) { failed = 1; break; }
        memcpy(name, de->d_name, len + 1);
        char kind = 'o';
#ifdef DT_DIR
        if (de->d_type == DT_DIR) kind = 'd';
        else if (de->d_type == DT_REG) kind = 'f';
        else
#endif
        { /* unknown or a symlink: ask stat */
            char *full = sl_malloc(plen + len + 2);
            if (!full) { sl_free(name); failed = 1; break; }
            memcpy(full, path, plen);
            full[plen] = '/';
            memcpy(full + plen + 1, name, len + 1);
            kind = path_kind(full);
            sl_free(full);
        }
        box->e[box->n].name = name;
        box->e[box->n].kind = kind;
        box->n++;
    }
    closedir(d);
    if (failed) luaL_error(L, "listdir: %s: out of memory", path);
    if (box->n > 1) qsort(box->e, box->n, sizeof *box->e, entry_cmp);
    lua_createtable(L, (int)box->n, 0);
    lua_createtable(L, (int)box->n, 0);
    for (size_t i = 0; i < box->n; i++) {
        lua_pushstring(L, box->e[i].name);
        lua_rawseti(L, -3, (lua_Integer)i + 1);
        lua_pushstring(L, box->e[i].kind == 'd' ? "directory" : box->e[i].kind == 'f' ? "file" : "other");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 2;
}

/* core._data.stat(path) -> 'file' | 'directory' | 'other', size in bytes | nil, msg */
static int l_stat(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    if (stat(path, &st) != 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "stat: %s: %s", path, strerror(errno));
        return 2;
    }
    lua_pushstring(L, S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "file" : "other");
    lua_pushinteger(L, (lua_Integer)st.st_size);
    return 2;
}

/* }===================================================================== */

/* {===== the loader and the per-sample streams ========================== */

#define SEEN_STORAGES 64

typedef struct loader_ud {
    sl_loader *l;
    int nviews;
    const void *seen[SEEN_STORAGES]; /* storages already reported to the GC */
    int seen_next;
} loader_ud;

static loader_ud *check_loader(lua_State *L, int idx)
{
    loader_ud *u = luaL_checkudata(L, idx, SL_LOADER_MT);
    if (!u->l) luaL_argerror(L, idx, "loader has been closed");
    return u;
}

static int ld_gc(lua_State *L)
{
    loader_ud *u = luaL_checkudata(L, 1, SL_LOADER_MT);
    sl_loader_free(u->l); /* joins the workers */
    u->l = NULL;
    return 0;
}

static int opt_int_field(lua_State *L, int idx, const char *key, lua_Integer def, lua_Integer *out)
{
    lua_getfield(L, idx, key);
    int ok = 1;
    *out = lua_isnil(L, -1) ? def : lua_tointegerx(L, -1, &ok);
    lua_pop(L, 1);
    if (!ok) luaL_error(L, "loader: option '%s' must be an integer", key);
    return 0;
}

static bool opt_bool_field(lua_State *L, int idx, const char *key, bool def)
{
    lua_getfield(L, idx, key);
    bool v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* core._data.loader(ds, {batch, shuffle, drop_last, workers, prefetch, seed, channels}, ops1[, ops2]) */
static int l_loader(lua_State *L)
{
    sl_dataset *ds = check_dataset(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    sl_loader_config cfg = sl_loader_defaults(1);
    lua_Integer v;
    opt_int_field(L, 2, "batch", 0, &v);
    if (v < 1) luaL_error(L, "loader: batch must be >= 1, got %I", v);
    cfg.batch = v;
    cfg.shuffle = opt_bool_field(L, 2, "shuffle", true);
    cfg.drop_last = opt_bool_field(L, 2, "drop_last", true);
    opt_int_field(L, 2, "workers", 2, &v), cfg.workers = (int)v;
    opt_int_field(L, 2, "prefetch", 0, &v), cfg.prefetch = (int)v;
    opt_int_field(L, 2, "seed", 0, &v), cfg.seed = (uint64_t)v;
    opt_int_field(L, 2, "channels", 0, &v), cfg.channels = (int)v;
    cfg.nviews = lua_isnoneornil(L, 4) ? 1 : 2;
    for (int k = 0; k < cfg.nviews; k++) cfg.ops[k] = sl_lua_check_aug_ops(L, 3 + k, &cfg.nops[k]);
    loader_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, SL_LOADER_MT);
    u->nviews = cfg.nviews;
    u->l = sl_lua_check_ptr(L, sl_loader_new(ds, &cfg));
    return 1;
}

static int ld_num_batches(lua_State *L)
{
    lua_pushinteger(L, sl_loader_num_batches(check_loader(L, 1)->l));
    return 1;
}

/* l:view_shape(v) -> C, H, W of view v (1-based) */
static int ld_view_shape(lua_State *L)
{
    loader_ud *u = check_loader(L, 1);
    lua_Integer v = luaL_optinteger(L, 2, 1);
    if (v < 1 || v > u->nviews) luaL_argerror(L, 2, "no such view");
    int c, h, w;
    sl_loader_view_shape(u->l, (int)v - 1, &c, &h, &w);
    lua_pushinteger(L, c);
    lua_pushinteger(L, h);
    lua_pushinteger(L, w);
    return 3;
}

/* l:start(epoch, first_batch (1-based)) */
static int ld_start(lua_State *L)
{
    loader_ud *u = check_loader(L, 1);
    lua_Integer epoch = luaL_checkinteger(L, 2), first = luaL_optinteger(L, 3, 1);
    sl_lua_check(L, sl_loader_start_epoch(u->l, epoch, first - 1));
    return 0;
}

/* Push a new view of a slot tensor; report its storage to the GC the first time we see it. */
static void push_batch_view(lua_State *L, loader_ud *u, const sl_tensor *t)
{
    const void *st = t->storage;
    bool seen = false;
    for (int i = 0; i < SEEN_STORAGES; i++) seen = seen || u->seen[i] == st;
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_view_new(t));
    if (!seen) {
        u->seen[u->seen_next] = st;
        u->seen_next = (u->seen_next + 1) % SEEN_STORAGES;
        sl_lua_account(L, t->storage->nbytes);
    }
}

/* l:next() -> number (1-based), view1, view2 | nil, labels (1-based; nil if unlabelled) | nil, indices (1-based);
 * nothing at the end of the epoch. Raises a worker's error. */
static int ld_next(lua_State *L)
{
    loader_ud *u = check_loader(L, 1);
    const sl_loader_batch *b;
    sl_lua_check(L, sl_loader_next(u->l, &b));
    if (!b) return 0;
    lua_pushinteger(L, b->number + 1);
    for (int v = 0; v < SL_LOADER_MAX_VIEWS; v++) {
        if (v < u->nviews) push_batch_view(L, u, b->views[v]);
        else lua_pushnil(L);
    }
    /* the batch is ours until the next call: make labels and indices 1-based in place */
    bool labelled = false;
    for (int64_t i = 0; i < b->size; i++) labelled = labelled || sl_i64(b->labels)[i] >= 0;
    if (labelled) {
        shift_i64(b->labels, 1);
        push_batch_view(L, u, b->labels);
    } else {
        lua_pushnil(L);
    }
    shift_i64(b->indices, 1);
    push_batch_view(L, u, b->indices);
    return 5;
}

/* core._data.sample_generator(seed, epoch, index) -> the sslab.Generator the
 * loader uses for sample `index` (1-based) of `epoch`. */
static int l_sample_generator(lua_State *L)
{
    lua_Integer seed = luaL_checkinteger(L, 1), epoch = luaL_checkinteger(L, 2), index = luaL_checkinteger(L, 3);
    sl_rng *g = lua_newuserdatauv(L, sizeof *g, 0);
    sl_rng_init(g, sl_rng_derive((uint64_t)seed, (uint64_t)epoch, (uint64_t)index));
    luaL_setmetatable(L, SL_GENERATOR_MT);
    return 1;
}

/* core._data.epoch_order(n, seed, epoch, shuffle) -> int64 [n]: the loader's
 * visiting order (1-based indices). */
static int l_epoch_order(lua_State *L)
{
    int64_t n = luaL_checkinteger(L, 1);
    lua_Integer seed = luaL_checkinteger(L, 2), epoch = luaL_checkinteger(L, 3);
    int shuffle = lua_toboolean(L, 4);
    if (n < 0) luaL_argerror(L, 1, "must be >= 0");
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    *slot = sl_lua_check_ptr(L, sl_tensor_new(SL_INT64, 1, &n));
    if (shuffle) {
        sl_rng rng;
        sl_rng_init(&rng, sl_rng_derive((uint64_t)seed, (uint64_t)epoch, 0));
        sl_rng_randperm(&rng, sl_i64(*slot), n);
        shift_i64(*slot, 1);
    } else {
        for (int64_t i = 0; i < n; i++) sl_i64(*slot)[i] = i + 1;
    }
    return 1;
}

/* }===================================================================== */

static const luaL_Reg dataset_methods[] = {{"get", d_get},         {"subset", d_subset}, {"kind", d_kind},
                                           {"num_classes", d_num_classes}, {"free", d_gc}, {NULL, NULL}};

static const luaL_Reg loader_methods[] = {{"start", ld_start},           {"next", ld_next},
                                          {"num_batches", ld_num_batches}, {"view_shape", ld_view_shape},
                                          {"close", ld_gc},                {NULL, NULL}};

static const luaL_Reg data_functions[] = {
    {"from_tensors", l_from_tensors},
    {"synthetic", l_synthetic},
    {"files", l_files},
    {"idx_load", l_idx_load},
    {"idx_load_pair", l_idx_load_pair},
    {"cifar_load", l_cifar_load},
    {"stl10_load_images", l_stl10_load_images},
    {"stl10_load_labels", l_stl10_load_labels},
    {"listdir", l_listdir},
    {"stat", l_stat},
    {"loader", l_loader},
    {"sample_generator", l_sample_generator},
    {"epoch_order", l_epoch_order},
    {NULL, NULL}};

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc, lua_CFunction len)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__close");
    if (len) {
        lua_pushcfunction(L, len);
        lua_setfield(L, -2, "__len");
    }
    lua_pop(L, 1);
}

/* core._data = {...} */
void sl_bind_data(lua_State *L)
{
    new_class(L, SL_DATASET_MT, dataset_methods, d_gc, d_len);
    new_class(L, SL_LOADER_MT, loader_methods, ld_gc, NULL);
    lua_newtable(L);
    luaL_setfuncs(L, data_functions, 0);
    lua_setfield(L, -2, "_data");
}
