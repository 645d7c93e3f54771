/* synthetic.c - procedurally drawn shapes on textured backgrounds (see
 * synthetic.h).
 *
 * Each sample draws its parameters (class, geometry, colours, background,
 * noise) from its own Philox stream, then renders pixel by pixel: background
 * colour, shape coverage, noise. Coverage is exact 0/1 where the pixel's
 * centre and four corners agree and a 4x4 supersample near edges, which
 * anti-aliases the outline at a fraction of the cost of supersampling
 * everything.
 */
#include "data/synthetic.h"

#include <math.h>
#include <string.h>

#include "tensor/random.h"

const char *const sl_synthetic_class_names[SL_SYNTHETIC_NUM_CLASSES] = {
    "circle", "square", "triangle", "star", "cross", "ring", "diamond", "hexagon", "crescent", "heart",
};

enum { BG_LINEAR, BG_RADIAL, BG_CHECKER, BG_STRIPES, BG_KINDS };
enum { NUM_PARAMS = 64 };

typedef struct scene {
    int cls, size;
    float cx, cy, r;       /* shape centre and radius, pixels */
    float cos_t, sin_t;    /* shape rotation */
    float col[3];          /* shape colour, 0..255 */
    float shade_x, shade_y; /* shading gradient across the shape */
    int bg;
    float bg_a[3], bg_b[3]; /* background colours */
    float dir_x, dir_y, ox, oy, period;
    float noise; /* pixel noise amplitude (+-), 0..255 scale */
    uint64_t noise_seed;
} scene;

/* ---- shapes: inside tests in unit coordinates (radius ~1) ----------------- */

static int inside_polygon_normals(float u, float v, int sides, float phase, float apothem)
{
    for (int k = 0; k < sides; k++) {
        float a = phase + (float)(2.0 * M_PI) * k / sides;
        if (u * cosf(a) + v * sinf(a) > apothem) return 0;
    }
    return 1;
}

static int inside_star(float u, float v)
{
    const float sector = (float)(2.0 * M_PI / 5.0), inner = 0.45f;
    float rho = sqrtf(u * u + v * v);
    if (rho > 1.0f) return 0;
    if (rho < inner * 0.8f) return 1;
    float a = atan2f(v, u) + (float)(M_PI / 2.0); /* a point straight up */
    a = fmodf(a + 4.0f * (float)M_PI, sector);
    float t = fabsf(a - sector * 0.5f);
    t = sector * 0.5f - t; /* 0 at a tip, sector/2 between tips */
    /* Edge from the tip (1, 0) to the inner vertex (inner cos s/2, inner sin s/2). */
    float px = rho * cosf(t), py = rho * sinf(t);
    float ex = inner * cosf(sector * 0.5f) - 1.0f, ey = inner * sinf(sector * 0.5f);
    return ex * py - ey * (px - 1.0f) >= 0.0f; /* on the centre side of the edge */
}

static int inside_heart(float u, float v)
{
    float x = u * 1.15f, y = -v * 1.15f + 0.15f; /* image v points down */
    float q = x * x + y * y - 1.0f;
    return q * q * q - x * x * y * y * y <= 0.0f;
}

static int inside(int cls, float u, float v)
{
    switch (cls) {
    case 0: return u * u + v * v <= 1.0f;                                                 /* circle */
    case 1: return fabsf(u) <= 0.8f && fabsf(v) <= 0.8f;                                  /* square */
    case 2: return inside_polygon_normals(u, v, 3, (float)(M_PI / 2.0), 0.5f);            /* triangle */
    case 3: return inside_star(u, v);                                                     /* star */
    case 4: return (fabsf(u) <= 0.3f && fabsf(v) <= 0.95f) || (fabsf(v) <= 0.3f && fabsf(u) <= 0.95f); /* cross */
    case 5: { float d = u * u + v * v; return d <= 1.0f && d >= 0.3f; }                   /* ring */
    case 6: return fabsf(u) / 0.6f + fabsf(v) <= 1.0f;                                    /* diamond */
    case 7: return inside_polygon_normals(u, v, 6, 0.0f, 0.87f);                          /* hexagon */
    case 8: { float du = u - 0.5f; return u * u + v * v <= 1.0f && du * du + v * v > 0.72f; } /* crescent */
    default: return inside_heart(u, v);                                                   /* heart */
    }
}

static int inside_px(const scene *s, float px, float py)
{
    float dx = px - s->cx, dy = py - s->cy;
    float u = (s->cos_t * dx + s->sin_t * dy) / s->r;
    float v = (-s->sin_t * dx + s->cos_t * dy) / s->r;
    return inside(s->cls, u, v);
}

/* Fraction of pixel (x, y) covered by the shape. */
static float coverage(const scene *s, int x, int y)
{
    float px = x + 0.5f, py = y + 0.5f;
    int c = inside_px(s, px, py);
    if (inside_px(s, px - 0.5f, py - 0.5f) == c && inside_px(s, px + 0.5f, py - 0.5f) == c &&
        inside_px(s, px - 0.5f, py + 0.5f) == c && inside_px(s, px + 0.5f, py + 0.5f) == c)
        return (float)c;
    int n = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 4; i++) n += inside_px(s, x + (i + 0.5f) * 0.25f, y + (j + 0.5f) * 0.25f);
    return n * (1.0f / 16.0f);
}

/* ---- background and noise ---------------------------------------------------- */

static void background(const scene *s, float px, float py, float out[3])
{
    float t;
    switch (s->bg) {
    case BG_LINEAR:
        t = ((px - s->ox) * s->dir_x + (py - s->oy) * s->dir_y) / s->size + 0.5f;
        break;
    case BG_RADIAL:
        t = sqrtf((px - s->ox) * (px - s->ox) + (py - s->oy) * (py - s->oy)) / (0.9f * s->size);
        break;
    case BG_CHECKER: {
        float a = (px * s->dir_x + py * s->dir_y) / s->period, b = (-px * s->dir_y + py * s->dir_x) / s->period;
        t = (float)(((long)floorf(a) + (long)floorf(b)) & 1);
        break;
    }
    default:
        t = 0.5f + 0.5f * sinf((float)(2.0 * M_PI) * (px * s->dir_x + py * s->dir_y) / s->period);
        break;
    }
    t = t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
    for (int k = 0; k < 3; k++) out[k] = s->bg_a[k] + (s->bg_b[k] - s->bg_a[k]) * t;
}

static inline float hash_unit(uint64_t z) /* [-1, 1) */
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

/* ---- parameters ---------------------------------------------------------------- */

static void make_scene(uint64_t seed, int64_t index, int size, scene *s)
{
    sl_rng rng;
    sl_rng_init(&rng, sl_rng_derive(seed, (uint64_t)index, 0));
    float p[NUM_PARAMS];
    sl_rng_fill_uniform(&rng, p, NUM_PARAMS, 0.0f, 1.0f);
    int k = 0;
#define DRAW() (p[k++])

    memset(s, 0, sizeof *s);
    s->size = size;
    s->cls = sl_synthetic_label(index);
    s->r = size * (0.20f + 0.16f * DRAW());
    float margin = 0.9f * s->r;
    s->cx = margin + (size - 2 * margin) * DRAW();
    s->cy = margin + (size - 2 * margin) * DRAW();
    float theta = (float)(2.0 * M_PI) * DRAW();
    s->cos_t = cosf(theta), s->sin_t = sinf(theta);
    float light = (float)(2.0 * M_PI) * DRAW(), amount = 0.35f * DRAW();
    s->shade_x = amount * cosf(light), s->shade_y = amount * sinf(light);

    s->bg = (int)(DRAW() * BG_KINDS) % BG_KINDS;
    float other[3];
    for (int c = 0; c < 3; c++) s->bg_a[c] = 255.0f * DRAW();
    for (int c = 0; c < 3; c++) other[c] = 255.0f * DRAW();
    float mix = (s->bg == BG_CHECKER || s->bg == BG_STRIPES) ? 0.25f + 0.4f * DRAW() : 0.5f + 0.5f * DRAW();
    for (int c = 0; c < 3; c++) s->bg_b[c] = s->bg_a[c] + (other[c] - s->bg_a[c]) * mix;
    float dir = (float)(2.0 * M_PI) * DRAW();
    s->dir_x = cosf(dir), s->dir_y = sinf(dir);
    s->ox = size * DRAW(), s->oy = size * DRAW();
    s->period = 3.0f + (size / 3.0f - 3.0f) * DRAW();
    s->noise = 14.0f * DRAW();
    s->noise_seed = sl_rng_derive(seed, (uint64_t)index, 1);

    /* Shape colour: far enough from the background's mean colour. */
    float mean[3], best[3] = {0}, best_d = -1.0f;
    for (int c = 0; c < 3; c++) mean[c] = 0.5f * (s->bg_a[c] + s->bg_b[c]);
    for (int tries = 0; tries < 8; tries++) {
        float col[3], d = 0.0f;
        for (int c = 0; c < 3; c++) {
            col[c] = 255.0f * DRAW();
            d += (col[c] - mean[c]) * (col[c] - mean[c]);
        }
        if (d > best_d) best_d = d, memcpy(best, col, sizeof best);
        if (d >= 110.0f * 110.0f) break;
    }
    if (best_d < 80.0f * 80.0f)
        for (int c = 0; c < 3; c++) best[c] = mean[c] < 128.0f ? 255.0f - 0.3f * best[c] : 0.3f * best[c];
    memcpy(s->col, best, sizeof best);
#undef DRAW
}

/* ---- rendering ------------------------------------------------------------------ */

int sl_synthetic_label(int64_t index) { return (int)(index % SL_SYNTHETIC_NUM_CLASSES); }

static void render(const scene *s, uint8_t *out)
{
    int size = s->size;
    int64_t plane = (int64_t)size * size;
    float reach = 1.35f * s->r + 1.0f; /* every shape fits in this radius */
    int x0 = (int)floorf(s->cx - reach), x1 = (int)ceilf(s->cx + reach);
    int y0 = (int)floorf(s->cy - reach), y1 = (int)ceilf(s->cy + reach);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float px = x + 0.5f, py = y + 0.5f, rgb[3];
            background(s, px, py, rgb);
            float cov = (x >= x0 && x <= x1 && y >= y0 && y <= y1) ? coverage(s, x, y) : 0.0f;
            float shade = 1.0f;
            if (cov > 0.0f) shade += ((px - s->cx) * s->shade_x + (py - s->cy) * s->shade_y) / s->r;
            int64_t at = (int64_t)y * size + x;
            for (int c = 0; c < 3; c++) {
                float v = rgb[c] + (s->col[c] * shade - rgb[c]) * cov;
                v += s->noise * hash_unit(s->noise_seed + (uint64_t)(at * 3 + c));
                v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
                out[c * plane + at] = (uint8_t)(v + 0.5f);
            }
        }
}

static int check_args(int64_t index, int size)
{
    if (size < SL_SYNTHETIC_MIN_SIZE || size > SL_SYNTHETIC_MAX_SIZE)
        return sl_error("synthetic: image size %d out of range %d..%d", size, SL_SYNTHETIC_MIN_SIZE,
                        SL_SYNTHETIC_MAX_SIZE);
    if (index < 0) return sl_error("synthetic: negative sample index %lld", (long long)index);
    return SL_OK;
}

int sl_synthetic_render(uint64_t seed, int64_t index, int size, uint8_t *out, int *label)
{
    if (check_args(index, size) != SL_OK) return SL_ERR;
    scene s;
    make_scene(seed, index, size, &s);
    render(&s, out);
    if (label) *label = s.cls;
    return SL_OK;
}

int sl_synthetic_render_batch(uint64_t seed, int64_t first, int64_t n, int size, uint8_t *out, int64_t *labels)
{
    if (n < 0) return sl_error("synthetic: negative batch size %lld", (long long)n);
    if (check_args(first, size) != SL_OK) return SL_ERR;
    int64_t per = 3 * (int64_t)size * size;
    #pragma omp parallel for schedule(dynamic, 4) if (n > 16)
    for (int64_t i = 0; i < n; i++) {
        scene s;
        make_scene(seed, first + i, size, &s);
        render(&s, out + i * per);
        if (labels) labels[i] = s.cls;
    }
    return SL_OK;
}
