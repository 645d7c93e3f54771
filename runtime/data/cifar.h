/* cifar.h - CIFAR-10 and CIFAR-100 binary batches.
 *
 * CIFAR-10 records are 1 label byte + 3072 pixel bytes; CIFAR-100 records
 * are a coarse label byte, a fine label byte, then 3072 pixel bytes. Pixels
 * are stored as three 32x32 planes (R, G, B), row-major: exactly the
 * [3 x 32 x 32] layout, so no reordering is needed.
 *
 *   const char *files[] = {"data_batch_1.bin", "data_batch_2.bin"};
 *   sl_tensor *x, *y;
 *   int rc = sl_cifar_load(SL_CIFAR10, files, 2, &x, &y, NULL);
 *   // x: uint8 [20000 x 3 x 32 x 32], y: int64 [20000] in 0..9
 *
 * Several files are concatenated in order. Each file's length must be a
 * multiple of the record size and every label in range (0..9; CIFAR-100:
 * fine 0..99, coarse 0..19); messages name the file and the record. Paths
 * that cannot be opened give SL_ENOENT.
 */
#ifndef SL_DATA_CIFAR_H
#define SL_DATA_CIFAR_H

#include <stddef.h>
#include <stdint.h>

#include "io/file.h"
#include "tensor/tensor.h"

typedef enum { SL_CIFAR10 = 10, SL_CIFAR100 = 100 } sl_cifar_kind;

#define SL_CIFAR_PIXELS (3 * 32 * 32)

/* Bytes per record: 3073 (CIFAR-10) or 3074 (CIFAR-100). */
int sl_cifar_record_size(sl_cifar_kind kind);

/* images: uint8 [N x 3 x 32 x 32]; labels: int64 [N] (CIFAR-100: fine);
 * coarse: CIFAR-100 coarse labels int64 [N], or NULL if not wanted (must be
 * NULL for CIFAR-10). On failure all outputs are NULL. */
int sl_cifar_load(sl_cifar_kind kind, const char *const *paths, int npaths, sl_tensor **images,
                  sl_tensor **labels, sl_tensor **coarse);
/* Same from one in-memory batch; `name` is used in messages. */
int sl_cifar_decode(sl_cifar_kind kind, const uint8_t *buf, size_t n, const char *name, sl_tensor **images,
                    sl_tensor **labels, sl_tensor **coarse);

#endif
