/* lua_aug.c - compiling Lua augmentation descriptions into C pipelines.
 *
 * lua/sslab/aug.lua describes each op as a small table, e.g.
 *   {op = 'random_resized_crop', size = {224, 224}, scale = {0.2, 1}, ratio = {3/4, 4/3}}
 *   {op = 'color_jitter', brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.1, p = 0.8}
 * core._aug.compile(list) turns a list of such tables into an "sslab.AugOps"
 * userdata holding an sl_aug_op array (runtime/aug/aug.h), which the loader's
 * worker threads run without Lua, and which ops:apply(img[, generator]) runs
 * here on one image. The userdata owns no C memory (the ops live inside it).
 */
#include <string.h>

#include "aug/aug.h"
#include "bind.h"
#include "core/alloc.h"
#include "tensor/view.h"

#define SL_AUG_OPS_MT "sslab.AugOps"

typedef struct aug_ops_ud {
    int n;
    sl_aug_op ops[];
} aug_ops_ud;

const sl_aug_op *sl_lua_check_aug_ops(lua_State *L, int idx, int *n)
{
    aug_ops_ud *u = luaL_checkudata(L, idx, SL_AUG_OPS_MT);
    *n = u->n;
    return u->ops;
}

/* {===== reading one op table =========================================== */

/* Field `key` of the op table at idx as a number; def when absent and has_def, else required. */
static double num_field(lua_State *L, int idx, int step, const char *op, const char *key, int has_def, double def)
{
    lua_getfield(L, idx, key);
    int isnum;
    double v = lua_tonumberx(L, -1, &isnum);
    if (!isnum) {
        if (lua_isnil(L, -1) && has_def) v = def;
        else luaL_error(L, "aug: step %d (%s): '%s' must be a number, got %s", step, op, key, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return v;
}

/* A {min, max} pair (or one number x meaning {x, x}). */
static void pair_field(lua_State *L, int idx, int step, const char *op, const char *key, double def_lo, double def_hi,
                       double *lo, double *hi)
{
    lua_getfield(L, idx, key);
    if (lua_isnil(L, -1)) {
        *lo = def_lo, *hi = def_hi;
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
        *lo = *hi = lua_tonumber(L, -1);
    } else if (lua_istable(L, -1) && lua_rawlen(L, -1) == 2) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        int ok1, ok2;
        *lo = lua_tonumberx(L, -2, &ok1);
        *hi = lua_tonumberx(L, -1, &ok2);
        if (!ok1 || !ok2) luaL_error(L, "aug: step %d (%s): '%s' must hold two numbers", step, op, key);
        lua_pop(L, 2);
    } else {
        luaL_error(L, "aug: step %d (%s): '%s' must be {min, max}, got %s", step, op, key, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
}

/* size = n (square; for resize: the smaller side) or {h, w}. */
static void size_field(lua_State *L, int idx, int step, const char *op, int square_if_number, int *h, int *w)
{
    lua_getfield(L, idx, "size");
    int ok;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        *h = (int)lua_tointegerx(L, -1, &ok);
        if (!ok) luaL_error(L, "aug: step %d (%s): size must be an integer", step, op);
        *w = square_if_number ? *h : 0;
    } else if (lua_istable(L, -1) && lua_rawlen(L, -1) == 2) {
        lua_rawgeti(L, -1, 1);
        *h = (int)lua_tointegerx(L, -1, &ok);
        lua_rawgeti(L, -2, 2);
        int ok2;
        *w = (int)lua_tointegerx(L, -1, &ok2);
        if (!ok || !ok2) luaL_error(L, "aug: step %d (%s): size must be {height, width} integers", step, op);
        lua_pop(L, 2);
    } else {
        luaL_error(L, "aug: step %d (%s): size must be a number or {height, width}, got %s", step, op,
                   luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    if (*h <= 0 || *w < 0 || (square_if_number && *w <= 0))
        luaL_error(L, "aug: step %d (%s): size %dx%d must be positive", step, op, *h, *w);
}

static void triple_field(lua_State *L, int idx, int step, const char *op, const char *key, float *out)
{
    lua_getfield(L, idx, key);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        out[0] = out[1] = out[2] = (float)lua_tonumber(L, -1);
    } else if (lua_istable(L, -1) && (lua_rawlen(L, -1) == 1 || lua_rawlen(L, -1) == 3)) {
        int n = (int)lua_rawlen(L, -1);
        for (int c = 0; c < 3; c++) {
            lua_rawgeti(L, -1, c < n ? c + 1 : 1);
            int ok;
            out[c] = (float)lua_tonumberx(L, -1, &ok);
            if (!ok) luaL_error(L, "aug: step %d (%s): '%s' must hold numbers", step, op, key);
            lua_pop(L, 1);
        }
    } else {
        luaL_error(L, "aug: step %d (%s): '%s' must be a number or a list of 1 or 3 numbers", step, op, key);
    }
    lua_pop(L, 1);
}

static const char *const op_names[] = {"random_resized_crop", "resize", "center_crop", "hflip", "color_jitter",
                                       "grayscale", "gaussian_blur", "solarize", "normalize", "to_float", NULL};

/* Parse the op table at idx (step is 1-based, for messages); returns 0 for a no-op (to_float). */
static int parse_op(lua_State *L, int idx, int step, sl_aug_op *op)
{
    if (!lua_istable(L, idx)) luaL_error(L, "aug: step %d is a %s, not an op table", step, luaL_typename(L, idx));
    lua_getfield(L, idx, "op");
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "aug: step %d has no 'op' name", step);
    const char *name = lua_tostring(L, -1);
    int k = 0;
    while (op_names[k] && strcmp(op_names[k], name) != 0) k++;
    if (!op_names[k]) luaL_error(L, "aug: step %d: unknown op '%s'", step, name);
    lua_pop(L, 1);
    name = op_names[k];
    float p = (float)num_field(L, idx, step, name, "p", 1, 1.0);
    double lo, hi, rlo, rhi;
    int h, w;
    switch (k) {
    case 0:
        size_field(L, idx, step, name, 1, &h, &w);
        pair_field(L, idx, step, name, "scale", 0.08, 1.0, &lo, &hi);
        pair_field(L, idx, step, name, "ratio", 3.0 / 4.0, 4.0 / 3.0, &rlo, &rhi);
        *op = sl_aug_op_random_resized_crop(h, w, (float)lo, (float)hi, (float)rlo, (float)rhi);
        return 1;
    case 1:
        size_field(L, idx, step, name, 0, &h, &w);
        *op = sl_aug_op_resize(h, w);
        return 1;
    case 2:
        size_field(L, idx, step, name, 1, &h, &w);
        *op = sl_aug_op_center_crop(h, w);
        return 1;
    case 3:
        *op = sl_aug_op_hflip(p);
        return 1;
    case 4:
        *op = sl_aug_op_color_jitter((float)num_field(L, idx, step, name, "brightness", 1, 0),
                                     (float)num_field(L, idx, step, name, "contrast", 1, 0),
                                     (float)num_field(L, idx, step, name, "saturation", 1, 0),
                                     (float)num_field(L, idx, step, name, "hue", 1, 0), p);
        return 1;
    case 5:
        *op = sl_aug_op_grayscale(p);
        return 1;
    case 6:
        pair_field(L, idx, step, name, "sigma", 0.1, 2.0, &lo, &hi);
        *op = sl_aug_op_gaussian_blur((int)num_field(L, idx, step, name, "kernel", 1, 0), (float)lo, (float)hi, p);
        return 1;
    case 7:
        *op = sl_aug_op_solarize((float)num_field(L, idx, step, name, "threshold", 1, 0.5), p);
        return 1;
    case 8: {
        float mean[3], std[3];
        triple_field(L, idx, step, name, "mean", mean);
        triple_field(L, idx, step, name, "std", std);
        *op = sl_aug_op_normalize(mean, std);
        return 1;
    }
    default:
        return 0; /* to_float: the pipeline always starts with it */
    }
}

/* core._aug.compile(list_of_op_tables) -> sslab.AugOps */
static int l_compile(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)lua_rawlen(L, 1);
    aug_ops_ud *u = lua_newuserdatauv(L, sizeof *u + (size_t)(n > 0 ? n : 1) * sizeof(sl_aug_op), 0);
    u->n = 0;
    luaL_setmetatable(L, SL_AUG_OPS_MT);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        if (parse_op(L, lua_gettop(L), i, &u->ops[u->n])) u->n++;
        lua_pop(L, 1);
    }
    return 1;
}

/* }===================================================================== */

/* {===== methods ========================================================= */

static int o_len(lua_State *L)
{
    int n;
    sl_lua_check_aug_ops(L, 1, &n);
    lua_pushinteger(L, n);
    return 1;
}

/* ops:output_shape(C, H, W) -> C, H, W of the result (raises if invalid there). */
static int o_output_shape(lua_State *L)
{
    int n;
    const sl_aug_op *ops = sl_lua_check_aug_ops(L, 1, &n);
    int c, h, w;
    sl_lua_check(L, sl_aug_pipeline_check(ops, n, (int)luaL_checkinteger(L, 2), (int)luaL_checkinteger(L, 3),
                                          (int)luaL_checkinteger(L, 4), &c, &h, &w, NULL));
    lua_pushinteger(L, c);
    lua_pushinteger(L, h);
    lua_pushinteger(L, w);
    return 3;
}

/* ops:apply(img[, generator][, channels]) -> float32 [C x H x W].
 * img: uint8 (0..255) or float32 ([0, 1]) tensor [C x H x W] or [H x W].
 * channels 3 on a grey image replicates the result. */
static int o_apply(lua_State *L)
{
    int n;
    const sl_aug_op *ops = sl_lua_check_aug_ops(L, 1, &n);
    sl_tensor *img = sl_lua_check_tensor(L, 2);
    sl_rng *rng = sl_lua_opt_rng(L, 3);
    int channels = (int)luaL_optinteger(L, 4, 0);
    if (img->dtype == SL_INT64 || (img->ndim != 2 && img->ndim != 3)) {
        char b[128];
        luaL_error(L, "aug apply: image must be uint8 or float32 [C x H x W] or [H x W], got %s %s",
                   sl_dtype_name(img->dtype), sl_shape_str(img, b, sizeof b));
    }
    sl_tensor **src = sl_lua_new_tensor_slot(L); /* contiguous input */
    *src = sl_lua_check_ptr(L, sl_tensor_contiguous_new(img));
    int C = img->ndim == 3 ? (int)img->size[0] : 1;
    int H = (int)img->size[img->ndim - 2], W = (int)img->size[img->ndim - 1];
    int oc, oh, ow;
    size_t need;
    sl_lua_check(L, sl_aug_pipeline_check(ops, n, C, H, W, &oc, &oh, &ow, &need));
    if (channels) {
        if (channels != oc && !(oc == 1 && channels == 3))
            luaL_error(L, "aug apply: cannot make %d channels from %d", channels, oc);
        oc = channels;
    }
    sl_tensor **scratch = sl_lua_new_tensor_slot(L);
    int64_t ns = (int64_t)(need > 0 ? need : 1);
    *scratch = sl_lua_check_ptr(L, sl_tensor_new(SL_FLOAT32, 1, &ns));
    sl_tensor **out = sl_lua_new_tensor_slot(L);
    int64_t osize[3] = {oc, oh, ow};
    *out = sl_lua_check_ptr(L, sl_tensor_new(SL_FLOAT32, 3, osize));
    sl_lua_account(L, (*out)->storage->nbytes);
    int rc = img->dtype == SL_UINT8
                 ? sl_aug_pipeline_apply(ops, n, rng, sl_u8(*src), C, H, W, sl_f32(*out), oc, oh, ow,
                                         sl_f32(*scratch), (size_t)ns)
                 : sl_aug_pipeline_apply_float(ops, n, rng, sl_f32(*src), C, H, W, sl_f32(*out), oc, oh, ow,
                                               sl_f32(*scratch), (size_t)ns);
    sl_tensor_free(*scratch); /* free the big scratch now rather than at the next GC */
    *scratch = NULL;
    sl_lua_check(L, rc);
    return 1;
}

static int o_tostring(lua_State *L)
{
    int n;
    const sl_aug_op *ops = sl_lua_check_aug_ops(L, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "sslab.AugOps {");
    for (int i = 0; i < n; i++) {
        if (i) luaL_addstring(&b, ", ");
        luaL_addstring(&b, sl_aug_kind_name(ops[i].kind));
    }
    luaL_addstring(&b, "}");
    luaL_pushresult(&b);
    return 1;
}

/* }===================================================================== */

static const luaL_Reg ops_methods[] = {{"apply", o_apply}, {"output_shape", o_output_shape}, {NULL, NULL}};

/* core._aug = {compile = ...} */
void sl_bind_aug(lua_State *L)
{
    luaL_newmetatable(L, SL_AUG_OPS_MT);
    lua_newtable(L);
    luaL_setfuncs(L, ops_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, o_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, o_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, l_compile);
    lua_setfield(L, -2, "compile");
    lua_setfield(L, -2, "_aug");
}
