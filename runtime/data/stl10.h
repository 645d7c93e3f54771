/* stl10.h - STL-10 binary files (train_X.bin, test_X.bin, unlabeled_X.bin,
 * train_y.bin, test_y.bin).
 *
 * Image files hold 96x96 RGB images, 27648 bytes each: three channel planes
 * (R, G, B), each stored column-major (x outer, y inner), which is the
 * layout the reference Python reader undoes with transpose(0, 3, 2, 1).
 * They are returned row-major as uint8 [N x 3 x 96 x 96]. Label files hold
 * one byte per image, 1..10, returned as int64 0..9.
 *
 *   sl_tensor *x, *y;
 *   int rc = sl_stl10_load("train_X.bin", "train_y.bin", &x, &y);
 *   // x: uint8 [5000 x 3 x 96 x 96], y: int64 [5000]
 *   rc = sl_stl10_load_images("unlabeled_X.bin", 0, 1000, &x);   // a slice of the 100000
 *
 * Messages name the file; paths that cannot be opened give SL_ENOENT.
 */
#ifndef SL_DATA_STL10_H
#define SL_DATA_STL10_H

#include <stddef.h>
#include <stdint.h>

#include "io/file.h"
#include "tensor/tensor.h"

#define SL_STL10_SIDE 96
#define SL_STL10_IMAGE_BYTES (3 * 96 * 96)

/* Images first .. first+count-1 (count < 0: to the end) -> uint8 [count x 3 x 96 x 96]. */
int sl_stl10_load_images(const char *path, int64_t first, int64_t count, sl_tensor **out);
/* A label file -> int64 [N] in 0..9. */
int sl_stl10_load_labels(const char *path, sl_tensor **out);
/* Both files of a split; the counts must agree. On failure both are NULL. */
int sl_stl10_load(const char *images_path, const char *labels_path, sl_tensor **images, sl_tensor **labels);

/* From memory (whole files); `name` is used in messages. */
int sl_stl10_decode_images(const uint8_t *buf, size_t n, const char *name, sl_tensor **out);
int sl_stl10_decode_labels(const uint8_t *buf, size_t n, const char *name, sl_tensor **out);

#endif
