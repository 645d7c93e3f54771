/* lua_image.c - sslab.image: PNG/JPEG files from Lua (C side: io/image.h).
 *
 *   local img, msg = sslab.image.load('cat.jpg')   -- uint8 [C x H x W]; nil, msg if the file is missing
 *   sslab.image.save('out.png', img)                -- uint8, or float32 in [0, 1] (clamped)
 *   sslab.image.save('out.jpg', x, {quality = 95})  -- format from the extension
 *   local bytes = sslab.image.encode(img, 'png')    -- a Lua string
 *   local img2 = sslab.image.decode(bytes)          -- format from the magic bytes
 *
 * load returns nil, msg when the file cannot be opened and raises when it
 * is corrupt (the message names the file); save and encode raise on a bad
 * tensor, a bad option or a failed write.
 */
#include <string.h>

#include "bind.h"
#include "core/alloc.h"
#include "io/image.h"

#define BUF_MT "sslab.ImageBuffer"

/* An encoded buffer owned by a userdata, so a Lua error cannot leak it. */
typedef struct image_buf {
    uint8_t *data;
    size_t n;
} image_buf;

static int buf_gc(lua_State *L)
{
    image_buf *b = luaL_checkudata(L, 1, BUF_MT);
    sl_free(b->data);
    b->data = NULL;
    return 0;
}

/* Options table at idx: only `quality` (integer 1..100) is known. */
static int opt_quality(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx)) return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    int quality = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!key || strcmp(key, "quality") != 0) {
            lua_pushvalue(L, -2);
            const char *name = luaL_tolstring(L, -1, NULL);
            luaL_argerror(L, idx, lua_pushfstring(L, "unknown option '%s' (known: quality)", name));
        }
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 100)
            luaL_argerror(L, idx, "quality must be an integer in 1..100");
        quality = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    return quality;
}

/* The image to encode: uint8 as is, float32 converted from [0, 1] into a
 * temporary tensor held by a userdata pushed on the stack. */
static const sl_tensor *check_image(lua_State *L, int idx)
{
    sl_tensor *t = sl_lua_check_tensor(L, idx);
    if (t->dtype == SL_UINT8) return t;
    if (t->dtype != SL_FLOAT32)
        luaL_argerror(L, idx,
                      lua_pushfstring(L, "expected a uint8 or float32 image, got %s", sl_dtype_name(t->dtype)));
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    sl_lua_check(L, sl_image_to_u8(t, slot));
    return *slot;
}

static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    int rc = sl_image_load(path, slot);
    if (rc == SL_ENOENT) {
        luaL_pushfail(L);
        lua_pushstring(L, sl_last_error());
        return 2;
    }
    sl_lua_check(L, rc);
    sl_lua_account(L, (*slot)->storage->nbytes);
    return 1;
}

static int l_decode(lua_State *L)
{
    size_t n;
    const char *bytes = luaL_checklstring(L, 1, &n);
    const char *name = luaL_optstring(L, 2, "<string>");
    sl_tensor **slot = sl_lua_new_tensor_slot(L);
    sl_lua_check(L, sl_image_decode((const uint8_t *)bytes, n, name, slot));
    sl_lua_account(L, (*slot)->storage->nbytes);
    return 1;
}

static int l_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    sl_lua_check_tensor(L, 2);
    int quality = opt_quality(L, 3);
    const sl_tensor *img = check_image(L, 2);
    sl_lua_check(L, sl_image_save(path, img, quality));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_encode(lua_State *L)
{
    static const char *const formats[] = {"png", "jpeg", "jpg", NULL};
    sl_lua_check_tensor(L, 1);
    int format = luaL_checkoption(L, 2, NULL, formats);
    int quality = opt_quality(L, 3);
    const sl_tensor *img = check_image(L, 1);
    image_buf *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->data = NULL, b->n = 0;
    luaL_setmetatable(L, BUF_MT);
    int rc = format == 0 ? sl_png_encode(img, NULL, &b->data, &b->n)
                         : sl_jpeg_encode(img, quality ? quality : 90, NULL, &b->data, &b->n);
    sl_lua_check(L, rc);
    lua_pushlstring(L, (const char *)b->data, b->n);
    sl_free(b->data);
    b->data = NULL;
    return 1;
}

void sl_bind_image(lua_State *L)
{
    if (luaL_newmetatable(L, BUF_MT)) {
        lua_pushcfunction(L, buf_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"load", l_load}, {"save", l_save}, {"decode", l_decode}, {"encode", l_encode}, {NULL, NULL},
    };
    luaL_newlib(L, fns);
    lua_setfield(L, -2, "image");
}
