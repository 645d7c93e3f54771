/* queue.c - MoCo's negatives queue as a caller-owned [K x D] ring buffer with
 * a write pointer, an optional valid count and optional per-slot ages (see ssl.h).
 */
#include "ssl/ssl.h"

#include <math.h>
#include <string.h>

int sl_queue_init_random(float *queue, int64_t *age, int K, int D, sl_rng *rng)
{
    if (K < 1 || D < 1) return sl_error("queue_init_random: sizes must be positive, queue [%dx%d]", K, D);
    if (!queue || !rng) return sl_error("queue_init_random: NULL queue or rng, queue [%dx%d]", K, D);
    sl_rng_fill_normal(rng, queue, (int64_t)K * D, 0.0f, 1.0f);
    for (int r = 0; r < K; r++) {
        float *row = queue + (int64_t)r * D;
        double s = 0.0;
        for (int d = 0; d < D; d++) s += (double)row[d] * row[d];
        const double nrm = sqrt(s);
        const float inv = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12)); /* F.normalize's eps */
        for (int d = 0; d < D; d++) row[d] *= inv;
        if (age) age[r] = 0;
    }
    return SL_OK;
}

int sl_queue_enqueue(float *queue, int64_t *ptr, int64_t *count, int64_t *age, int K, int D, const float *keys, int B)
{
    if (K < 1 || D < 1 || B < 0)
        return sl_error("queue_enqueue: bad sizes, queue [%dx%d], keys [%dx%d]", K, D, B, D);
    if (!queue || !ptr || (B > 0 && !keys))
        return sl_error("queue_enqueue: NULL queue, ptr or keys (queue [%dx%d], keys [%dx%d])", K, D, B, D);
    if (*ptr < 0 || *ptr >= K)
        return sl_error("queue_enqueue: pointer %lld out of range for queue [%dx%d]", (long long)*ptr, K, D);
    if (count && (*count < 0 || *count > K))
        return sl_error("queue_enqueue: count %lld out of range for queue [%dx%d]", (long long)*count, K, D);

    /* a batch longer than the queue: only its last K keys survive, written
     * where the full batch would have left them */
    const int skip = B > K ? B - K : 0;
    const int n = B - skip;
    const int64_t start = (*ptr + skip) % K;
    const int64_t first = n < K - start ? n : K - start; /* rows until the end, then wrap */
    if (n > 0) memcpy(queue + start * D, keys + (int64_t)skip * D, sizeof(float) * (size_t)(first * D));
    if (n > first) memcpy(queue, keys + ((int64_t)skip + first) * D, sizeof(float) * (size_t)((n - first) * D));

    if (age) {
        for (int r = 0; r < K; r++) age[r] += 1;
        for (int t = 0; t < n; t++) age[(start + t) % K] = 0;
    }
    *ptr = (int64_t)((*ptr + (int64_t)B) % K);
    if (count) *count = *count + B < K ? *count + B : K;
    return SL_OK;
}
