/* parallel.h - when the nn kernels open an OpenMP parallel region (internal).
 *
 * A region costs microseconds on an idle machine but milliseconds when other
 * processes (data-loader threads, a second job) hold the cores: the worker must
 * be scheduled before the region can finish. Measured on the 2-core machine
 * under load: ~8 ms per region, whatever its size. So a kernel goes parallel
 * only above NN_PAR_WORK elements of simple work (about 0.1-0.3 ms serial);
 * kernels with costlier elements (exp) use NN_PAR_WORK_HEAVY.
 */
#ifndef SL_NN_PARALLEL_H
#define SL_NN_PARALLEL_H

#define NN_PAR_WORK (1 << 18)
#define NN_PAR_WORK_HEAVY (1 << 15)

#endif
