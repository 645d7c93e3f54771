/* idx.h - IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST), raw or gzip.
 *
 * An IDX file is a 4-byte magic (0x00 0x00, data type, number of dims), the
 * dims as big-endian uint32, then the data. Only the unsigned-byte data type
 * (0x08) is read; 1 to 4 dims. gzip compression is detected from the magic
 * bytes (1f 8b), not the file name, and the whole stream is checked (CRC,
 * length, nothing after the data).
 *
 *   sl_tensor *x, *y;
 *   int rc = sl_idx_load_pair("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 10, &x, &y);
 *   // x: uint8 [60000 x 28 x 28], y: int64 [60000], every label in 0..9
 *
 * Every failure names the file: "idx: t10k-labels.gz: truncated data
 * (header declares 10000 bytes, file holds 9000)". Functions taking a path
 * return SL_ENOENT (message set) when it cannot be opened.
 */
#ifndef SL_DATA_IDX_H
#define SL_DATA_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "io/file.h"
#include "tensor/tensor.h"

/* The raw array: uint8 tensor with the file's dims. */
int sl_idx_load(const char *path, sl_tensor **out);
/* Same from memory (raw or gzip bytes); `name` is used in messages. */
int sl_idx_decode(const uint8_t *buf, size_t n, const char *name, sl_tensor **out);

/* Images: a 3-dim file [N x H x W] -> uint8 [N x H x W]. */
int sl_idx_load_images(const char *path, sl_tensor **out);
/* Labels: a 1-dim file [N] -> int64 [N]; with num_classes > 0 every label
 * must lie in 0..num_classes-1. */
int sl_idx_load_labels(const char *path, int num_classes, sl_tensor **out);
int sl_idx_decode_labels(const uint8_t *buf, size_t n, const char *name, int num_classes, sl_tensor **out);

/* Both files of a split; the counts must agree. On failure both are NULL. */
int sl_idx_load_pair(const char *images_path, const char *labels_path, int num_classes, sl_tensor **images,
                     sl_tensor **labels);

#endif
