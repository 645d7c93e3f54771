/* lua_plot.c - sslab.core.plot_render(figure_table, path): the cairo plots of
 * runtime/plot/ for Lua (lua/sslab/plot.lua builds the table). Series data may
 * be Lua arrays of numbers or 1-d tensors. */
#include <string.h>

#include "bind.h"
#include "tensor/view.h"

#ifdef SSLAB_HAVE_CAIRO
#include "plot/plot.h"

/* GC-owned scratch blocks, kept alive by the anchor table at stack index
 * ANCHOR until the function returns, so a Lua error never leaks them. */
enum { ANCHOR = 3 };

static void *scratch(lua_State *L, size_t n)
{
    void *p = lua_newuserdatauv(L, n ? n : 1, 0);
    memset(p, 0, n ? n : 1);
    lua_rawseti(L, ANCHOR, (lua_Integer)lua_rawlen(L, ANCHOR) + 1);
    return p;
}

/* String field (NULL if absent); it stays alive as part of the argument table. */
static const char *opt_string(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "plot: field '%s' must be a string", key);
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1);
    return s;
}

/* Field `key` of table t (array of numbers or 1-d tensor) as doubles; returns
 * the count, or -1 if the field is absent. */
static int numbers(lua_State *L, int t, const char *key, double **out, int panel, int series)
{
    lua_getfield(L, t, key);
    int n = -1;
    if (lua_isnil(L, -1)) {
        *out = NULL;
    } else if (sl_lua_is_tensor(L, -1)) {
        sl_tensor *v = sl_lua_check_tensor(L, -1);
        if (v->ndim != 1) luaL_error(L, "plot: panel %d series %d: '%s' must be a 1-d tensor", panel, series, key);
        n = (int)v->size[0];
        *out = scratch(L, (size_t)n * sizeof **out);
        for (int i = 0; i < n; i++) (*out)[i] = sl_tensor_get(v, (int64_t[]){i});
    } else if (lua_istable(L, -1)) {
        n = (int)lua_rawlen(L, -1);
        *out = scratch(L, (size_t)n * sizeof **out);
        for (int i = 0; i < n; i++) {
            lua_rawgeti(L, -1, i + 1);
            int ok;
            (*out)[i] = lua_tonumberx(L, -1, &ok);
            if (!ok) luaL_error(L, "plot: panel %d series %d: %s[%d] is not a number", panel, series, key, i + 1);
            lua_pop(L, 1);
        }
    } else {
        luaL_error(L, "plot: panel %d series %d: '%s' must be an array of numbers or a tensor", panel, series, key);
    }
    lua_pop(L, 1);
    return n;
}

static void range(lua_State *L, int t, const char *key, double *lo, double *hi)
{
    lua_getfield(L, t, key);
    if (lua_istable(L, -1)) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        *lo = luaL_checknumber(L, -2), *hi = luaL_checknumber(L, -1);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

static void read_series(lua_State *L, int se, sl_plot_series *out, int panel, int series)
{
    double *x, *y;
    int ny = numbers(L, se, "y", &y, panel, series);
    if (ny < 0) luaL_error(L, "plot: panel %d series %d has no 'y'", panel, series);
    int nx = numbers(L, se, "x", &x, panel, series);
    if (nx < 0) { /* x defaults to 1..n */
        nx = ny;
        x = scratch(L, (size_t)nx * sizeof *x);
        for (int i = 0; i < nx; i++) x[i] = i + 1;
    }
    if (nx != ny) luaL_error(L, "plot: panel %d series %d: %d x values but %d y values", panel, series, nx, ny);
    out->x = x, out->y = y, out->n = nx;
    out->label = opt_string(L, se, "label");
    const char *style = opt_string(L, se, "style");
    if (style && strcmp(style, "line") && strcmp(style, "points") && strcmp(style, "both"))
        luaL_error(L, "plot: panel %d series %d: style '%s' (line, points or both)", panel, series, style);
    out->lines = !style || strcmp(style, "points") != 0;
    out->points = style && strcmp(style, "line") != 0;
    lua_getfield(L, se, "color");
    if (lua_istable(L, -1))
        for (int c = 0; c < 3; c++) {
            lua_rawgeti(L, -1, c + 1);
            out->rgb[c] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    lua_pop(L, 1);
    lua_getfield(L, se, "width");
    out->width = luaL_optnumber(L, -1, 0);
    lua_pop(L, 1);
}

/* core.plot_render({title=, width=, height=, panels = {{title=, xlabel=, ylabel=,
 *   xlim=, ylim=, series = {{x=, y=, label=, style=, color=, width=}, ...}}, ...}}, path) */
static int l_plot_render(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *path = luaL_checkstring(L, 2);
    lua_settop(L, 2);
    lua_newtable(L); /* ANCHOR */
    sl_plot_figure fig = {0};
    fig.title = opt_string(L, 1, "title");
    lua_getfield(L, 1, "width");
    fig.width = (int)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 1, "height");
    fig.height = (int)luaL_optinteger(L, -1, 0);
    lua_pop(L, 2);
    lua_getfield(L, 1, "panels");
    if (!lua_istable(L, -1)) luaL_error(L, "plot: 'panels' must be a list of panel tables");
    int panels_idx = lua_gettop(L);
    fig.npanels = (int)lua_rawlen(L, panels_idx);
    if (fig.npanels < 1 || fig.npanels > 16) luaL_error(L, "plot: %d panels (1 to 16)", fig.npanels);
    sl_plot_panel *panels = scratch(L, (size_t)fig.npanels * sizeof *panels);
    fig.panels = panels;
    for (int k = 0; k < fig.npanels; k++) {
        lua_rawgeti(L, panels_idx, k + 1);
        int pt = lua_gettop(L);
        if (!lua_istable(L, pt)) luaL_error(L, "plot: panel %d is not a table", k + 1);
        sl_plot_panel *p = &panels[k];
        p->title = opt_string(L, pt, "title");
        p->xlabel = opt_string(L, pt, "xlabel");
        p->ylabel = opt_string(L, pt, "ylabel");
        range(L, pt, "xlim", &p->xmin, &p->xmax);
        range(L, pt, "ylim", &p->ymin, &p->ymax);
        lua_getfield(L, pt, "series");
        if (!lua_istable(L, -1)) luaL_error(L, "plot: panel %d needs a 'series' list", k + 1);
        int st = lua_gettop(L);
        p->nseries = (int)lua_rawlen(L, st);
        sl_plot_series *series = scratch(L, (size_t)p->nseries * sizeof *series);
        p->series = series;
        for (int s = 0; s < p->nseries; s++) {
            lua_rawgeti(L, st, s + 1);
            if (!lua_istable(L, -1)) luaL_error(L, "plot: panel %d series %d is not a table", k + 1, s + 1);
            read_series(L, lua_gettop(L), &series[s], k + 1, s + 1);
            lua_pop(L, 1);
        }
        lua_pop(L, 2); /* series list, panel */
    }
    sl_lua_check(L, sl_plot_render(&fig, path));
    lua_pushstring(L, path);
    return 1;
}
#endif

void sl_bind_plot(lua_State *L)
{
#ifdef SSLAB_HAVE_CAIRO
    lua_pushcfunction(L, l_plot_render);
    lua_setfield(L, -2, "plot_render");
#else
    (void)L;
#endif
}
