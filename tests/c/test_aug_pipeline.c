/* test_aug_pipeline.c - sl_aug_op pipelines: shapes, scratch, determinism, streams. */
#include "test.h"

#include "aug/aug.h"

#include <stdlib.h>

enum { IC = 3, IH = 40, IW = 50, OUT = 32 };

static void make_image(uint8_t *px, int n, uint64_t seed)
{
    sl_rng rng;
    sl_rng_init(&rng, seed);
    for (int i = 0; i < n; i++) px[i] = (uint8_t)(sl_rng_u32(&rng) & 0xff);
}

typedef struct run {
    sl_aug_op ops[8];
    int n;
    float *scratch;
    size_t len;
} run;

static int run_init(run *r, int C, int H, int W)
{
    int oc, oh, ow;
    if (sl_aug_pipeline_check(r->ops, r->n, C, H, W, &oc, &oh, &ow, &r->len)) return SL_ERR;
    r->scratch = sl_malloc(r->len * sizeof(float));
    return r->scratch ? SL_OK : SL_ERR;
}

static void test_check_shapes_and_scratch(void)
{
    sl_aug_op ops[8];
    int n = sl_aug_preset_mocov2(ops, 8, OUT);
    CHECK(n == 6);
    int oc, oh, ow;
    size_t need;
    CHECK(sl_aug_pipeline_check(ops, n, IC, IH, IW, &oc, &oh, &ow, &need) == SL_OK);
    CHECK(oc == 3 && oh == OUT && ow == OUT);
    /* two buffers of the largest stage (the input here) + blur scratch (k = 3 at 32) */
    CHECK(need == 2 * (size_t)IC * IH * IW + sl_aug_gaussian_blur_scratch(OUT, OUT, 3));
    CHECK(sl_aug_pipeline_scratch_size(ops, n, IC, IH, IW) == need);
    /* eval pipeline: resize smaller side to 36, centre crop 32 */
    sl_aug_op ev[2] = {sl_aug_op_resize(36, 0), sl_aug_op_center_crop(32, 32)};
    CHECK(sl_aug_pipeline_check(ev, 2, 3, 40, 50, &oc, &oh, &ow, &need) == SL_OK);
    CHECK(oh == 32 && ow == 32);
    CHECK(need == 2 * (size_t)3 * 40 * 50);
    CHECK(sl_aug_pipeline_check(ev, 1, 3, 40, 50, &oc, &oh, &ow, NULL) == SL_OK);
    CHECK(oh == 36 && ow == 45);
    /* bad ops are reported with their index and kind */
    ops[1] = sl_aug_op_color_jitter(0.4f, 0.4f, 0.4f, 0.7f, 0.8f);
    CHECK_FAILS(sl_aug_pipeline_check(ops, n, IC, IH, IW, NULL, NULL, NULL, NULL), "op 1 (color_jitter): hue");
    CHECK(sl_aug_pipeline_scratch_size(ops, n, IC, IH, IW) == 0);
    sl_aug_op big[1] = {sl_aug_op_center_crop(64, 64)};
    CHECK_FAILS(sl_aug_pipeline_check(big, 1, 3, 40, 50, NULL, NULL, NULL, NULL), "op 0 (center_crop)");
    sl_aug_op blur[1] = {sl_aug_op_gaussian_blur(4, 0.1f, 2.0f, 0.5f)};
    CHECK_FAILS(sl_aug_pipeline_check(blur, 1, 3, 40, 50, NULL, NULL, NULL, NULL), "must be odd");
    sl_aug_op bad_p[1] = {sl_aug_op_hflip(1.5f)};
    CHECK_FAILS(sl_aug_pipeline_check(bad_p, 1, 3, 40, 50, NULL, NULL, NULL, NULL), "op 0 (hflip): probability");
    CHECK_FAILS(sl_aug_pipeline_check(ev, 2, 2, 40, 50, NULL, NULL, NULL, NULL), "C must be 1 or 3");
    CHECK(strcmp(sl_aug_kind_name(SL_AUG_GAUSSIAN_BLUR), "gaussian_blur") == 0);
    CHECK(sl_aug_kind_name((sl_aug_kind)0) == NULL);
}

static void test_determinism_and_views(void)
{
    static uint8_t px[IC * IH * IW];
    make_image(px, IC * IH * IW, 1);
    run r;
    r.n = sl_aug_preset_mocov2(r.ops, 8, OUT);
    CHECK(run_init(&r, IC, IH, IW) == SL_OK);
    static float v1[3 * OUT * OUT], v2[3 * OUT * OUT], w1[3 * OUT * OUT], w2[3 * OUT * OUT];
    sl_rng rng;
    sl_rng_init(&rng, sl_rng_derive(7, 0, 3));
    CHECK(sl_aug_pipeline_apply(r.ops, r.n, &rng, px, IC, IH, IW, v1, 3, OUT, OUT, r.scratch, r.len) == SL_OK);
    CHECK(sl_aug_pipeline_apply(r.ops, r.n, &rng, px, IC, IH, IW, v2, 3, OUT, OUT, r.scratch, r.len) == SL_OK);
    CHECK(memcmp(v1, v2, sizeof v1) != 0); /* two views differ */
    sl_rng_init(&rng, sl_rng_derive(7, 0, 3));
    CHECK(sl_aug_pipeline_apply(r.ops, r.n, &rng, px, IC, IH, IW, w1, 3, OUT, OUT, r.scratch, r.len) == SL_OK);
    CHECK(sl_aug_pipeline_apply(r.ops, r.n, &rng, px, IC, IH, IW, w2, 3, OUT, OUT, r.scratch, r.len) == SL_OK);
    CHECK(memcmp(v1, w1, sizeof v1) == 0 && memcmp(v2, w2, sizeof v2) == 0); /* same seed, same views */
    int differ = 0;
    for (int s = 0; s < 20; s++) {
        sl_rng_init(&rng, sl_rng_derive(7, 0, 100 + s));
        CHECK(sl_aug_pipeline_apply(r.ops, r.n, &rng, px, IC, IH, IW, w1, 3, OUT, OUT, r.scratch, r.len) == SL_OK);
        differ += memcmp(v1, w1, sizeof v1) != 0;
    }
    CHECK(differ == 20);
    /* output normalised with ImageNet statistics: within [(0 - m) / s, (1 - m) / s] */
    for (int i = 0; i < OUT * OUT; i++) CHECK(v1[i] >= -0.485f / 0.229f - 1e-5f && v1[i] <= 0.515f / 0.229f + 1e-5f);
    sl_free(r.scratch);
}

static void test_op_streams_are_independent(void)
{
    /* changing op 1's parameters must not change op 0's crop or op 2's flip */
    static uint8_t px[IC * IH * IW];
    make_image(px, IC * IH * IW, 2);
    run a, b;
    a.n = b.n = 3;
    a.ops[0] = b.ops[0] = sl_aug_op_random_resized_crop(OUT, OUT, 0.2f, 1.0f, 0.75f, 4.0f / 3.0f);
    a.ops[1] = sl_aug_op_color_jitter(0.0f, 0.0f, 0.0f, 0.0f, 1.0f); /* zero strength: identity */
    b.ops[1] = sl_aug_op_solarize(0.5f, 0.0f);                         /* p = 0: identity */
    a.ops[2] = b.ops[2] = sl_aug_op_hflip(0.5f);
    CHECK(run_init(&a, IC, IH, IW) == SL_OK);
    CHECK(run_init(&b, IC, IH, IW) == SL_OK);
    static float x[3 * OUT * OUT], y[3 * OUT * OUT];
    for (int s = 0; s < 10; s++) {
        sl_rng ra, rb;
        sl_rng_init(&ra, s);
        sl_rng_init(&rb, s);
        CHECK(sl_aug_pipeline_apply(a.ops, 3, &ra, px, IC, IH, IW, x, 3, OUT, OUT, a.scratch, a.len) == SL_OK);
        CHECK(sl_aug_pipeline_apply(b.ops, 3, &rb, px, IC, IH, IW, y, 3, OUT, OUT, b.scratch, b.len) == SL_OK);
        CHECK(memcmp(x, y, sizeof x) == 0);
        CHECK(ra.counter == rb.counter); /* one pipeline seed per call, whatever the ops */
    }
    sl_free(a.scratch);
    sl_free(b.scratch);
}

static void test_matches_kernels_by_hand(void)
{
    /* eval pipeline = to_float, resize short side, centre crop, normalise */
    static uint8_t px[IC * IH * IW];
    make_image(px, IC * IH * IW, 3);
    const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.247f, 0.243f, 0.261f};
    sl_aug_op ops[3] = {sl_aug_op_resize(36, 0), sl_aug_op_center_crop(32, 32), sl_aug_op_normalize(mean, std)};
    size_t len = sl_aug_pipeline_scratch_size(ops, 3, IC, IH, IW);
    float *scratch = sl_malloc(len * sizeof(float));
    static float out[3 * 32 * 32], f[IC * IH * IW], rs[3 * 36 * 45], want[3 * 32 * 32];
    sl_rng rng;
    sl_rng_init(&rng, 0);
    CHECK(sl_aug_pipeline_apply(ops, 3, &rng, px, IC, IH, IW, out, 3, 32, 32, scratch, len) == SL_OK);
    sl_aug_to_float(px, f, IC, IH, IW);
    sl_aug_resize_bilinear(f, 3, IH, IW, NULL, rs, 36, 45);
    sl_aug_box box;
    sl_aug_center_box(36, 45, 32, 32, &box);
    CHECK(box.top == 2 && box.left == 6); /* round(6.5) = 6 */
    sl_aug_crop(rs, 3, 36, 45, &box, want);
    sl_aug_normalize(want, 3, 32, 32, mean, std);
    CHECK(memcmp(out, want, sizeof out) == 0);
    /* float input path gives the same */
    static float out2[3 * 32 * 32];
    CHECK(sl_aug_pipeline_apply_float(ops, 3, &rng, f, IC, IH, IW, out2, 3, 32, 32, scratch, len) == SL_OK);
    CHECK(memcmp(out, out2, sizeof out) == 0);
    sl_free(scratch);
}

static void test_grey_input(void)
{
    enum { GH = 28, GW = 28 };
    uint8_t px[GH * GW];
    make_image(px, GH * GW, 4);
    sl_aug_op ops[8];
    int n = sl_aug_preset_simclr(ops, 8, 24, 1.0f, 1);
    CHECK(n == 6);
    int oc, oh, ow;
    size_t len;
    CHECK(sl_aug_pipeline_check(ops, n, 1, GH, GW, &oc, &oh, &ow, &len) == SL_OK);
    CHECK(oc == 1 && oh == 24 && ow == 24);
    float *scratch = sl_malloc(len * sizeof(float));
    static float g1[24 * 24], g3[3 * 24 * 24];
    for (int s = 0; s < 20; s++) {
        sl_rng rng, rng3;
        sl_rng_init(&rng, s);
        sl_rng_init(&rng3, s);
        CHECK(sl_aug_pipeline_apply(ops, n, &rng, px, 1, GH, GW, g1, 1, 24, 24, scratch, len) == SL_OK);
        /* 3-channel output from a grey input: the channel replicated */
        CHECK(sl_aug_pipeline_apply(ops, n, &rng3, px, 1, GH, GW, g3, 3, 24, 24, scratch, len) == SL_OK);
        CHECK(memcmp(g1, g3, sizeof g1) == 0 && memcmp(g1, g3 + 2 * 24 * 24, sizeof g1) == 0);
    }
    sl_free(scratch);
}

static void test_apply_errors_and_no_allocation(void)
{
    static uint8_t px[IC * IH * IW];
    make_image(px, IC * IH * IW, 5);
    sl_aug_op ops[8];
    int n = sl_aug_preset_mocov2(ops, 8, OUT);
    size_t len = sl_aug_pipeline_scratch_size(ops, n, IC, IH, IW);
    float *scratch = sl_malloc(len * sizeof(float));
    static float out[3 * OUT * OUT];
    sl_rng rng;
    sl_rng_init(&rng, 1);
    CHECK_FAILS(sl_aug_pipeline_apply(ops, n, &rng, px, IC, IH, IW, out, 3, OUT, 31, scratch, len), "dst is [3x32x31]");
    CHECK_FAILS(sl_aug_pipeline_apply(ops, n, &rng, px, IC, IH, IW, out, 1, OUT, OUT, scratch, len), "gives [3x32x32]");
    CHECK_FAILS(sl_aug_pipeline_apply(ops, n, &rng, px, IC, IH, IW, out, 3, OUT, OUT, scratch, len - 1), "scratch");
    CHECK_FAILS(sl_aug_pipeline_apply(ops, n, NULL, px, IC, IH, IW, out, 3, OUT, OUT, scratch, len), "rng");
    /* the hot path allocates nothing: with the next allocation set to fail it still succeeds */
    int64_t live = sl_alloc_live_blocks();
    sl_alloc_fail_after(1);
    for (int i = 0; i < 20; i++)
        CHECK(sl_aug_pipeline_apply(ops, n, &rng, px, IC, IH, IW, out, 3, OUT, OUT, scratch, len) == SL_OK);
    void *probe = sl_malloc(16); /* the armed failure is still pending */
    CHECK(probe == NULL);
    sl_alloc_fail_after(0);
    CHECK(sl_alloc_live_blocks() == live);
    sl_free(scratch);
}

static void test_worker_independent(void)
{
    /* per-sample streams from sl_rng_derive(seed, epoch, index): the same views
     * whichever thread runs a sample, in whatever order */
    enum { N = 16 };
    static uint8_t px[N][IC * IH * IW];
    for (int i = 0; i < N; i++) make_image(px[i], IC * IH * IW, 100 + i);
    sl_aug_op ops[8];
    int n = sl_aug_preset_mocov2(ops, 8, OUT);
    size_t len = sl_aug_pipeline_scratch_size(ops, n, IC, IH, IW);
    static float serial[N][2][3 * OUT * OUT], parallel[N][2][3 * OUT * OUT];
    float *scratch = sl_malloc(len * sizeof(float));
    for (int i = N - 1; i >= 0; i--) { /* reverse order */
        sl_rng rng;
        sl_rng_init(&rng, sl_rng_derive(42, 3, (uint64_t)i));
        sl_aug_pipeline_apply(ops, n, &rng, px[i], IC, IH, IW, serial[i][0], 3, OUT, OUT, scratch, len);
        sl_aug_pipeline_apply(ops, n, &rng, px[i], IC, IH, IW, serial[i][1], 3, OUT, OUT, scratch, len);
    }
    sl_free(scratch);
    int failures = 0;
    #pragma omp parallel num_threads(4) reduction(+ : failures)
    {
        float *s = malloc(len * sizeof(float)); /* plain malloc: sl_malloc counts are global anyway */
        #pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < N; i++) {
            sl_rng rng;
            sl_rng_init(&rng, sl_rng_derive(42, 3, (uint64_t)i));
            failures += sl_aug_pipeline_apply(ops, n, &rng, px[i], IC, IH, IW, parallel[i][0], 3, OUT, OUT, s, len) != SL_OK;
            failures += sl_aug_pipeline_apply(ops, n, &rng, px[i], IC, IH, IW, parallel[i][1], 3, OUT, OUT, s, len) != SL_OK;
        }
        free(s);
    }
    CHECK(failures == 0);
    CHECK(memcmp(serial, parallel, sizeof serial) == 0);
}

int main(void)
{
    RUN(test_check_shapes_and_scratch);
    RUN(test_determinism_and_views);
    RUN(test_op_streams_are_independent);
    RUN(test_matches_kernels_by_hand);
    RUN(test_grey_input);
    RUN(test_apply_errors_and_no_allocation);
    RUN(test_worker_independent);
    return test_summary();
}
