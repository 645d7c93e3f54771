/* synthetic.h - a built-in colour image dataset that needs no files.
 *
 * Sample `index` of the dataset `seed` is one anti-aliased shape of one of
 * ten classes, with random colour, position, scale, rotation and shading,
 * over a random textured background (linear or radial gradient, checker
 * board or soft stripes, in random colours, plus pixel noise). Colour, crop
 * and flip augmentations therefore matter much as they do on natural images,
 * while a small network can still learn the classes.
 *
 * A sample is a pure function of (seed, index, size): its parameters come
 * from the Philox stream sl_rng_derive(seed, index, 0), so any sample can be
 * drawn in any order, from any thread. Labels are balanced: index % 10.
 *
 *   uint8_t img[3 * 32 * 32];
 *   int label;
 *   sl_synthetic_render(42, 7, 32, img, &label);   // label 7: "hexagon"
 */
#ifndef SL_DATA_SYNTHETIC_H
#define SL_DATA_SYNTHETIC_H

#include <stdint.h>

#include "core/error.h"

#define SL_SYNTHETIC_NUM_CLASSES 10
#define SL_SYNTHETIC_MIN_SIZE 8
#define SL_SYNTHETIC_MAX_SIZE 1024

/* "circle", "square", "triangle", "star", "cross", "ring", "diamond",
 * "hexagon", "crescent", "heart" (index = label). */
extern const char *const sl_synthetic_class_names[SL_SYNTHETIC_NUM_CLASSES];

/* The label of sample `index` (index % 10), without rendering it. */
int sl_synthetic_label(int64_t index);

/* Render sample `index` (>= 0) at size x size pixels, size in 8..1024.
 * label may be NULL. */
int sl_synthetic_render(uint64_t seed, int64_t index, int size, uint8_t *out /* [3 x size x size] */,
                        int *label);

/* Samples first .. first+n-1 (OpenMP over samples; the result does not depend
 * on the thread count). labels may be NULL. */
int sl_synthetic_render_batch(uint64_t seed, int64_t first, int64_t n, int size,
                              uint8_t *out /* [n x 3 x size x size] */, int64_t *labels /* [n] */);

#endif
