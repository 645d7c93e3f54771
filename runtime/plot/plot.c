/* plot.c - figures of line/scatter panels with cairo (see plot.h). */
#include "plot/plot.h"

#include <cairo.h>
#include <cairo-svg.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A colour-blind-friendly palette (Okabe & Ito). */
static const double palette[][3] = {
    {0.000, 0.447, 0.698}, {0.835, 0.369, 0.000}, {0.000, 0.620, 0.451}, {0.800, 0.475, 0.655},
    {0.941, 0.894, 0.259}, {0.337, 0.706, 0.914}, {0.902, 0.624, 0.000}, {0.0, 0.0, 0.0}};
enum { PALETTE = sizeof palette / sizeof *palette };

int sl_plot_ticks(double lo, double hi, int target, double *ticks, int max_ticks)
{
    if (!(hi > lo) || target < 2) return 0;
    double raw = (hi - lo) / (target - 1), mag = pow(10, floor(log10(raw))), step = mag;
    double norm = raw / mag;
    step = norm < 1.5 ? mag : norm < 3 ? 2 * mag : norm < 7 ? 5 * mag : 10 * mag;
    int n = 0;
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9 && n < max_ticks; t += step)
        ticks[n++] = fabs(t) < step * 1e-9 ? 0 : t;
    return n;
}

static void data_range(const sl_plot_panel *p, bool want_x, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (int s = 0; s < p->nseries; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double v = want_x ? p->series[s].x[i] : p->series[s].y[i];
            double other = want_x ? p->series[s].y[i] : p->series[s].x[i];
            if (!isfinite(v) || !isfinite(other)) continue;
            *lo = fmin(*lo, v), *hi = fmax(*hi, v);
        }
    if (*lo > *hi) *lo = 0, *hi = 1;                       /* no data */
    if (*lo == *hi) *lo -= 0.5 + fabs(*lo) * 0.05, *hi += 0.5 + fabs(*hi) * 0.05;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - e.x_bearing - e.width * ax, y - e.y_bearing - e.height * ay);
    cairo_show_text(cr, s);
}

static void format_tick(char *buf, size_t n, double v, double step)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) >= 1e5 || (v != 0 && fabs(v) < 1e-4)) snprintf(buf, n, "%.2g", v);
    else snprintf(buf, n, "%.*f", decimals > 6 ? 6 : decimals, v);
}

static void draw_panel(cairo_t *cr, const sl_plot_panel *p, double x0, double y0, double w, double h)
{
    double left = 70, right = 20, top = p->title ? 36 : 16, bottom = 52;
    double px = x0 + left, py = y0 + top, pw = w - left - right, ph = h - top - bottom;
    double xlo, xhi, ylo, yhi;
    data_range(p, true, &xlo, &xhi);
    data_range(p, false, &ylo, &yhi);
    if (p->xmin < p->xmax) xlo = p->xmin, xhi = p->xmax;
    if (p->ymin < p->ymax) ylo = p->ymin, yhi = p->ymax;
    else { double pad = (yhi - ylo) * 0.05; ylo -= pad, yhi += pad; }
    double xt[32], yt[32];
    int nx = sl_plot_ticks(xlo, xhi, 6, xt, 32), ny = sl_plot_ticks(ylo, yhi, 6, yt, 32);
#define MAPX(v) (px + ((v) - xlo) / (xhi - xlo) * pw)
#define MAPY(v) (py + ph - ((v) - ylo) / (yhi - ylo) * ph)
    /* grid and ticks */
    cairo_set_font_size(cr, 12);
    cairo_set_line_width(cr, 1);
    char label[64];
    for (int i = 0; i < ny; i++) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, px, MAPY(yt[i]) + 0.5), cairo_line_to(cr, px + pw, MAPY(yt[i]) + 0.5), cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        format_tick(label, sizeof label, yt[i], ny > 1 ? yt[1] - yt[0] : 1);
        text_at(cr, px - 6, MAPY(yt[i]), label, 1.0, 0.5);
    }
    for (int i = 0; i < nx; i++) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, MAPX(xt[i]) + 0.5, py), cairo_line_to(cr, MAPX(xt[i]) + 0.5, py + ph), cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        format_tick(label, sizeof label, xt[i], nx > 1 ? xt[1] - xt[0] : 1);
        text_at(cr, MAPX(xt[i]), py + ph + 6, label, 0.5, 0.0);
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_rectangle(cr, px + 0.5, py + 0.5, pw, ph);
    cairo_stroke(cr);
    /* labels */
    cairo_set_font_size(cr, 13);
    if (p->xlabel) text_at(cr, px + pw / 2, py + ph + 28, p->xlabel, 0.5, 0.0);
    if (p->ylabel) {
        cairo_save(cr);
        cairo_translate(cr, x0 + 16, py + ph / 2);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, 0, 0, p->ylabel, 0.5, 0.5);
        cairo_restore(cr);
    }
    if (p->title) {
        cairo_set_font_size(cr, 15);
        text_at(cr, px + pw / 2, y0 + 10, p->title, 0.5, 0.0);
    }
    /* series, clipped to the plot area */
    cairo_save(cr);
    cairo_rectangle(cr, px, py, pw, ph);
    cairo_clip(cr);
    for (int s = 0; s < p->nseries; s++) {
        const sl_plot_series *se = &p->series[s];
        const double *c = (se->rgb[0] || se->rgb[1] || se->rgb[2]) ? se->rgb : palette[s % PALETTE];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_set_line_width(cr, se->width > 0 ? se->width : 2);
        bool lines = se->lines || !se->points;
        if (lines) {
            bool pen = false;
            for (int i = 0; i < se->n; i++) {
                if (!isfinite(se->x[i]) || !isfinite(se->y[i])) { pen = false; continue; }
                if (pen) cairo_line_to(cr, MAPX(se->x[i]), MAPY(se->y[i]));
                else cairo_move_to(cr, MAPX(se->x[i]), MAPY(se->y[i]));
                pen = true;
            }
            cairo_stroke(cr);
        }
        if (se->points)
            for (int i = 0; i < se->n; i++) {
                if (!isfinite(se->x[i]) || !isfinite(se->y[i])) continue;
                cairo_arc(cr, MAPX(se->x[i]), MAPY(se->y[i]), lines ? 3 : 2, 0, 2 * M_PI);
                cairo_fill(cr);
            }
    }
    cairo_restore(cr);
    /* legend, top right inside the panel */
    int entries = 0;
    double lw = 0;
    cairo_set_font_size(cr, 12);
    for (int s = 0; s < p->nseries; s++)
        if (p->series[s].label) {
            cairo_text_extents_t e;
            cairo_text_extents(cr, p->series[s].label, &e);
            lw = fmax(lw, e.x_advance);
            entries++;
        }
    if (entries) {
        double bw = lw + 40, bh = entries * 18 + 8, bx = px + pw - bw - 8, by = py + 8;
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
        cairo_rectangle(cr, bx, by, bw, bh);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
        int k = 0;
        for (int s = 0; s < p->nseries; s++) {
            const sl_plot_series *se = &p->series[s];
            if (!se->label) continue;
            const double *c = (se->rgb[0] || se->rgb[1] || se->rgb[2]) ? se->rgb : palette[s % PALETTE];
            double ly = by + 13 + k * 18;
            cairo_set_source_rgb(cr, c[0], c[1], c[2]);
            cairo_set_line_width(cr, 2);
            cairo_move_to(cr, bx + 6, ly), cairo_line_to(cr, bx + 26, ly), cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
            text_at(cr, bx + 32, ly, se->label, 0.0, 0.5);
            k++;
        }
    }
#undef MAPX
#undef MAPY
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int sl_plot_render(const sl_plot_figure *fig, const char *path)
{
    if (fig->npanels < 1) return sl_error("plot: %s: no panels to draw", path);
    for (int k = 0; k < fig->npanels; k++)
        for (int s = 0; s < fig->panels[k].nseries; s++)
            if (fig->panels[k].series[s].n < 0 || (fig->panels[k].series[s].n > 0 &&
                                                    (!fig->panels[k].series[s].x || !fig->panels[k].series[s].y)))
                return sl_error("plot: %s: series %d of panel %d has no data", path, s + 1, k + 1);
    bool svg = ends_with(path, ".svg");
    if (!svg && !ends_with(path, ".png"))
        return sl_error("plot: %s: unknown format (use a .png or .svg file name)", path);
    int width = fig->width > 0 ? fig->width : 640 * fig->npanels, height = fig->height > 0 ? fig->height : 480;
    if (width > 20000 || height > 20000) return sl_error("plot: %s: %dx%d is too large", path, width, height);
    cairo_surface_t *surface = svg ? cairo_svg_surface_create(path, width, height)
                                   : cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        int rc = sl_error("plot: %s: %s", path, cairo_status_to_string(cairo_surface_status(surface)));
        cairo_surface_destroy(surface);
        return rc;
    }
    cairo_t *cr = cairo_create(surface);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    double top = 0;
    if (fig->title) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_font_size(cr, 17);
        text_at(cr, width / 2.0, 8, fig->title, 0.5, 0.0);
        top = 30;
    }
    double pw = (double)width / fig->npanels;
    for (int k = 0; k < fig->npanels; k++) draw_panel(cr, &fig->panels[k], k * pw, top, pw, height - top);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS && !svg) st = cairo_surface_write_to_png(surface, path);
    cairo_surface_finish(surface);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (st != CAIRO_STATUS_SUCCESS) return sl_error("plot: %s: %s", path, cairo_status_to_string(st));
    return SL_OK;
}
