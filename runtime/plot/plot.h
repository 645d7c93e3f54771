/* plot.h - line and scatter plots rendered with cairo, to PNG or SVG.
 *
 * A figure is one or more panels side by side; each panel has a title, axis
 * labels, a legend and any number of series (lines, points, or both) on
 * linear axes with "nice" ticks (1, 2, 5 x 10^k). Text is real text (cairo's
 * toy font API, sans-serif), so SVG output stays editable.
 *
 *   double x[3] = {1, 2, 3}, y[3] = {2.3, 1.9, 1.6};
 *   sl_plot_series s = {.x = x, .y = y, .n = 3, .label = "loss", .lines = true};
 *   sl_plot_panel p = {.title = "training", .xlabel = "epoch", .ylabel = "loss", .series = &s, .nseries = 1};
 *   sl_plot_figure f = {.panels = &p, .npanels = 1, .width = 800, .height = 500};
 *   if (sl_plot_render(&f, "loss.png") != SL_OK) ...   // or "loss.svg"
 */
#ifndef SL_PLOT_H
#define SL_PLOT_H

#include <stdbool.h>

#include "core/error.h"

typedef struct sl_plot_series {
    const double *x, *y; /* [n]; non-finite points are skipped (lines break there) */
    int n;
    const char *label;   /* legend entry; NULL = none */
    bool lines, points;  /* draw style (neither set: lines) */
    double rgb[3];       /* colour; all 0 = automatic palette */
    double width;        /* line width, 0 = 2 */
} sl_plot_series;

typedef struct sl_plot_panel {
    const char *title, *xlabel, *ylabel;
    const sl_plot_series *series;
    int nseries;
    /* Axis ranges; when lo >= hi the range comes from the data. */
    double xmin, xmax, ymin, ymax;
} sl_plot_panel;

typedef struct sl_plot_figure {
    const sl_plot_panel *panels;
    int npanels;
    int width, height; /* pixels (SVG: points); 0 = 640 per panel x 480 */
    const char *title; /* over all panels, NULL = none */
} sl_plot_figure;

/* Render to path; the format comes from the extension (.png or .svg). */
int sl_plot_render(const sl_plot_figure *fig, const char *path);

/* Nice tick positions covering [lo, hi]: returns the count (<= max_ticks). */
int sl_plot_ticks(double lo, double hi, int target, double *ticks, int max_ticks);

#endif
