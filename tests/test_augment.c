/*
 * test_augment.c — training augmentations against the dumps of tools/ref_augment.py:
 * OpenCV's five interpolations (shrink and enlarge, each pass alone and chained), torchvision's
 * colour-jitter formulas, RandomResizedCrop's parameters and AdaFace's paste-back, the
 * motion-blur kernel through cv2.filter2D; then effects (low resolution removes high
 * frequencies, JPEG error grows as quality drops), how often each augmentation fires against
 * its probability, cross-resolution positions and determinism under a seed.
 */
#include "augment/augment.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 112
#define NPIX (S * S * 3)

static uint8_t *load_bytes(const char *path, long *n) {
    uint8_t *d = NULL;
    size_t len = 0;
    if (lqf_read_file(path, &d, &len) != LQF_OK) return NULL;
    *n = (long)len;
    return d;
}

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n, double *mean) {
    int m = 0;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        m = d > m ? d : m;
        s += d;
    }
    if (mean) *mean = s / n;
    return m;
}

/* Energy of the discrete Laplacian (high frequencies) of an image's samples. */
static double hf_energy(const lqf_image *im) {
    double e = 0;
    int W = im->width, H = im->height;
    for (int y = 1; y < H - 1; y++)
        for (int x = 1; x < W - 1; x++)
            for (int c = 0; c < 3; c++) {
                const uint8_t *p = im->data + ((size_t)y * W + x) * 3 + c;
                double l = 4.0 * p[0] - p[-3] - p[3] - p[-(long)W * 3] - p[(long)W * 3];
                e += l * l;
            }
    return e / ((double)(W - 2) * (H - 2) * 3);
}

static lqf_image *image_from(const uint8_t *data, int w, int h) {
    lqf_image *im = NULL;
    if (lqf_image_create(w, h, LQF_RGB, &im)) return NULL;
    memcpy(im->data, data, (size_t)w * h * 3);
    return im;
}

static void test_resize(const uint8_t *face) {
    long n;
    uint8_t *ref = load_bytes(tu_testdata("augment/resize.u8"), &n);
    FILE *f = fopen(tu_testdata("augment/resize.txt"), "r");
    int sides[2] = {0, 0};
    if (!CHECK(ref && f && fscanf(f, "%d %d", &sides[0], &sides[1]) == 2)) {
        if (f) fclose(f);
        free(ref);
        return;
    }
    fclose(f);
    const uint8_t *p = ref;
    for (int m = 0; m < LQF_INTERP_COUNT; m++)
        for (int s = 0; s < 2; s++) {
            int side = sides[s];
            size_t ns = (size_t)side * side * 3;
            CHECK((long)(p - ref + ns + NPIX) <= n);
            uint8_t *small = malloc(ns), *big = malloc(NPIX);
            CHECK(lqf_resize_interp(face, S, S, small, side, side, (lqf_interp)m) == LQF_OK);
            double mean_s, mean_b, mean_c;
            int ds = max_diff(small, p, ns, &mean_s);
            /* the enlarging pass alone, from OpenCV's small image */
            CHECK(lqf_resize_interp(p, side, side, big, S, S, (lqf_interp)m) == LQF_OK);
            int db = max_diff(big, p + ns, NPIX, &mean_b);
            /* the whole AdaFace step */
            lqf_image *im = image_from(face, S, S);
            CHECK(lqf_augment_lowres(im, side, (lqf_interp)m, (lqf_interp)m) == LQF_OK);
            int dc = max_diff(im->data, p + ns, NPIX, &mean_c);
            printf("resize %-8s 112->%d: max diff %d (mean %.4f); %d->112: %d (mean %.4f); chained: %d (mean %.4f)\n",
                   lqf_interp_name((lqf_interp)m), side, ds, mean_s, side, db, mean_b, dc, mean_c);
            CHECK(ds <= 1 && mean_s < 0.05);
            CHECK(db <= 1 && mean_b < 0.05);
            CHECK(dc <= 1 && mean_c < 0.05);
            lqf_image_free(im);
            free(small);
            free(big);
            p += ns + NPIX;
        }
    CHECK(p - ref == n);
    free(ref);
    /* different interpolations down and up */
    ref = load_bytes(tu_testdata("augment/resize_mixed.u8"), &n);
    f = fopen(tu_testdata("augment/resize_mixed.txt"), "r");
    if (!CHECK(ref && f)) {
        if (f) fclose(f);
        free(ref);
        return;
    }
    int down, up, side, k = 0;
    while (fscanf(f, "%d %d %d", &down, &up, &side) == 3) {
        lqf_image *im = image_from(face, S, S);
        CHECK(lqf_augment_lowres(im, side, (lqf_interp)down, (lqf_interp)up) == LQF_OK);
        double mean = 0;
        int d = (long)(k + 1) * NPIX <= n ? max_diff(im->data, ref + (size_t)k * NPIX, NPIX, &mean) : 999;
        printf("resize %s down to %d, %s up: max diff %d (mean %.4f)\n", lqf_interp_name((lqf_interp)down), side,
               lqf_interp_name((lqf_interp)up), d, mean);
        CHECK(d <= 1 && mean < 0.05);
        lqf_image_free(im);
        k++;
    }
    fclose(f);
    CHECK(k == 3 && (long)k * NPIX == n);
    free(ref);
}

static void test_jitter(const uint8_t *face) {
    long n;
    uint8_t *ref = load_bytes(tu_testdata("augment/jitter.u8"), &n);
    FILE *f = fopen(tu_testdata("augment/jitter.txt"), "r");
    if (!CHECK(ref && f)) {
        if (f) fclose(f);
        free(ref);
        return;
    }
    const int P = 56;
    uint8_t patch[56 * 56 * 3];
    for (int y = 0; y < P; y++) memcpy(patch + y * P * 3, face + ((size_t)(y + 28) * S + 28) * 3, P * 3);
    char kind[32];
    double v;
    int k = 0;
    while (fscanf(f, "%31s %lf", kind, &v) == 2) {
        lqf_image *im = image_from(patch, P, P);
        if (!strcmp(kind, "brightness")) lqf_adjust_brightness(im, (float)v);
        else if (!strcmp(kind, "contrast")) lqf_adjust_contrast(im, (float)v);
        else lqf_adjust_saturation(im, (float)v);
        CHECK((long)(k + 1) * P * P * 3 <= n);
        double mean;
        int d = max_diff(im->data, ref + (size_t)k * P * P * 3, (size_t)P * P * 3, &mean);
        printf("jitter %-10s %.2f: max diff %d (mean %.4f) vs torchvision formulas\n", kind, v, d, mean);
        CHECK(d <= 1 && mean < 0.02);
        /* BGR images give the same result in their own order */
        lqf_image *bgr = image_from(patch, P, P);
        lqf_image_set_order(bgr, LQF_BGR);
        if (!strcmp(kind, "brightness")) lqf_adjust_brightness(bgr, (float)v);
        else if (!strcmp(kind, "contrast")) lqf_adjust_contrast(bgr, (float)v);
        else lqf_adjust_saturation(bgr, (float)v);
        lqf_image_set_order(bgr, LQF_RGB);
        CHECK(memcmp(bgr->data, im->data, (size_t)P * P * 3) == 0);
        lqf_image_free(bgr);
        lqf_image_free(im);
        k++;
    }
    fclose(f);
    CHECK(k == 6 && (long)k * P * P * 3 == n);
    free(ref);
}

static void test_crop(const uint8_t *face) {
    FILE *f = fopen(tu_testdata("augment/crop.txt"), "r");
    if (!CHECK(f != NULL)) return;
    int W, H, want[4], first[4] = {0}, cases = 0, exact = 0, fallback = 0;
    double s0, s1, r0, r1, u[40];
    while (fscanf(f, "%d %d %lf %lf %lf %lf", &W, &H, &s0, &s1, &r0, &r1) == 6) {
        for (int k = 0; k < 40; k++)
            if (fscanf(f, "%lf", &u[k]) != 1) break;
        if (fscanf(f, "%d %d %d %d", &want[0], &want[1], &want[2], &want[3]) != 4) break;
        int got[4];
        lqf_rrc_params(W, H, s0, s1, r0, r1, u, got);
        exact += !memcmp(got, want, sizeof got);
        if (memcmp(got, want, sizeof got))
            fprintf(stderr, "crop %dx%d: got i=%d j=%d h=%d w=%d, want %d %d %d %d\n", W, H, got[0], got[1], got[2],
                    got[3], want[0], want[1], want[2], want[3]);
        fallback += s0 > 1;
        if (!cases) memcpy(first, want, sizeof first);
        cases++;
    }
    fclose(f);
    printf("crop: %d/%d RandomResizedCrop parameter sets identical (%d centre-crop fallbacks)\n", exact, cases,
           fallback);
    CHECK(cases == 60 && exact == cases && fallback == 10);
    long n;
    uint8_t *ref = load_bytes(tu_testdata("augment/crop.u8"), &n);
    if (CHECK(ref && n == NPIX)) {
        lqf_image *im = image_from(face, S, S);
        lqf_crop_paste(im, first[0], first[1], first[2], first[3]);
        CHECK(memcmp(im->data, ref, NPIX) == 0);
        lqf_image_free(im);
    }
    free(ref);
}

static void test_motion(const uint8_t *face) {
    long nk, no;
    uint8_t *kref = load_bytes(tu_testdata("augment/motion.f32"), &nk);
    uint8_t *oref = load_bytes(tu_testdata("augment/motion.u8"), &no);
    FILE *f = fopen(tu_testdata("augment/motion.txt"), "r");
    if (!CHECK(kref && oref && f)) {
        if (f) fclose(f);
        free(kref);
        free(oref);
        return;
    }
    int len, k = 0;
    double angle;
    size_t koff = 0;
    while (fscanf(f, "%d %lf", &len, &angle) == 2) {
        float *ker = malloc(sizeof(float) * len * len), *want = malloc(sizeof(float) * len * len);
        lqf_motion_kernel(len, angle, ker);
        CHECK((long)((koff + (size_t)len * len) * 4) <= nk);
        memcpy(want, kref + koff * 4, sizeof(float) * len * len);
        char what[64];
        snprintf(what, sizeof what, "motion kernel %d @ %.1f deg", len, angle);
        tu_close(what, ker, want, (size_t)len * len, 1e-6, 0);
        lqf_image *im = image_from(face, S, S);
        CHECK(lqf_augment_motion_blur(im, len, angle) == LQF_OK);
        double mean;
        int d = max_diff(im->data, oref + (size_t)k * NPIX, NPIX, &mean);
        printf("motion blur %d @ %.1f deg: max diff %d (mean %.4f) vs cv2.filter2D\n", len, angle, d, mean);
        CHECK(d <= 1 && mean < 0.05);
        lqf_image_free(im);
        free(ker);
        free(want);
        koff += (size_t)len * len;
        k++;
    }
    fclose(f);
    CHECK(k == 3 && (long)koff * 4 == nk && (long)k * NPIX == no);
    free(kref);
    free(oref);
}

/* Correlation of the Laplacians of two images: how much of a's fine detail b keeps. */
static double hf_fidelity(const lqf_image *a, const lqf_image *b) {
    double ab = 0, aa = 0, bb = 0;
    int W = a->width, H = a->height;
    for (int y = 1; y < H - 1; y++)
        for (int x = 1; x < W - 1; x++)
            for (int c = 0; c < 3; c++) {
                size_t o = ((size_t)y * W + x) * 3 + c;
                long st = (long)W * 3;
                double la = 4.0 * a->data[o] - a->data[o - 3] - a->data[o + 3] - a->data[o - st] - a->data[o + st];
                double lb = 4.0 * b->data[o] - b->data[o - 3] - b->data[o + 3] - b->data[o - st] - b->data[o + st];
                ab += la * lb, aa += la * la, bb += lb * lb;
            }
    return ab / sqrt(aa * bb + 1e-30);
}

static void test_effects(const uint8_t *face) {
    lqf_image *ref = image_from(face, S, S);
    double e0 = hf_energy(ref);
    /* Low resolution: the fine detail of the face is lost more and more as the side drops
     * (all five); the smooth interpolations also lower the high-frequency energy (nearest and
     * area-upscale add block edges of their own instead). */
    for (int m = 0; m < LQF_INTERP_COUNT; m++) {
        double prev_e = e0, prev_fid = 1.0;
        int smooth = m == LQF_INTERP_LINEAR || m == LQF_INTERP_CUBIC || m == LQF_INTERP_LANCZOS4;
        int ok_e = 1, ok_f = 1;
        for (int side = 84; side >= 21; side /= 2) {
            lqf_image *im = image_from(face, S, S);
            CHECK(lqf_augment_lowres(im, side, (lqf_interp)m, (lqf_interp)m) == LQF_OK);
            double e = hf_energy(im), fid = hf_fidelity(ref, im);
            ok_e &= e < prev_e;
            ok_f &= fid < prev_fid;
            prev_e = e, prev_fid = fid;
            lqf_image_free(im);
        }
        printf("low resolution %-8s: detail correlation 1 at 112 -> %.3f at 21 px (decreasing: %s); "
               "high-frequency energy %.1f -> %.1f%s\n",
               lqf_interp_name((lqf_interp)m), prev_fid, ok_f ? "yes" : "no", e0, prev_e,
               smooth ? (ok_e ? " (decreasing)" : " (NOT decreasing)") : "");
        CHECK(ok_f && prev_fid < 0.5);
        if (smooth) CHECK(ok_e && prev_e < 0.5 * e0);
    }
    /* JPEG through the recipe at fixed qualities: error grows as quality drops */
    lqf_augment_config c;
    lqf_augment_preset_none(&c);
    c.p_jpeg = 1;
    double prev_mse = 0;
    int qs[3] = {90, 50, 10};
    for (int k = 0; k < 3; k++) {
        c.jpeg_lo = c.jpeg_hi = qs[k];
        lqf_image *im = image_from(face, S, S);
        lqf_rng r;
        lqf_rng_seed(&r, 1);
        unsigned fired;
        CHECK(lqf_augment_apply(&c, im, &r, 0, 0, &fired) == LQF_OK && fired == LQF_AUG_JPEG);
        double mse = 0;
        for (int i = 0; i < NPIX; i++) mse += ((double)im->data[i] - face[i]) * ((double)im->data[i] - face[i]);
        mse /= NPIX;
        printf("jpeg quality %d: MSE %.2f\n", qs[k], mse);
        CHECK(mse > prev_mse);
        prev_mse = mse;
        lqf_image_free(im);
    }
    /* Gaussian blur and motion blur lower the high frequencies; noise raises them */
    {
        lqf_augment_preset_none(&c);
        c.p_gblur = 1, c.gblur_lo = 1.0f, c.gblur_hi = 1.5f;
        lqf_image *im = image_from(face, S, S);
        lqf_rng r;
        lqf_rng_seed(&r, 2);
        CHECK(lqf_augment_apply(&c, im, &r, 0, 0, NULL) == LQF_OK);
        double eg = hf_energy(im);
        lqf_image_free(im);
        lqf_augment_preset_none(&c);
        c.p_noise = 1, c.noise_lo = 8, c.noise_hi = 8;
        im = image_from(face, S, S);
        CHECK(lqf_augment_apply(&c, im, &r, 0, 0, NULL) == LQF_OK);
        double en = hf_energy(im);
        lqf_image_free(im);
        printf("high-frequency energy: clean %.1f, Gaussian blur %.1f, noise sigma 8 %.1f\n", e0, eg, en);
        CHECK(eg < 0.5 * e0 && en > e0);
    }
    lqf_image_free(ref);
}

/* How often each augmentation fires, against its probability (4.5 sigma binomial bounds). */
static void test_probabilities(const uint8_t *face) {
    const int N = 1500;
    uint8_t small[32 * 32 * 3];
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) memcpy(small + (y * 32 + x) * 3, face + ((size_t)(y * 3 + 8) * S + x * 3 + 8) * 3, 3);
    lqf_augment_config c[2];
    lqf_augment_preset_adaface(&c[0]);
    lqf_augment_preset_none(&c[1]);
    c[1].p_gblur = 0.3f, c[1].p_mblur = 0.15f, c[1].p_noise = 0.4f, c[1].p_jpeg = 0.25f, c[1].p_flip = 0.1f;
    static const char *names[9] = {"crop", "lowres", "crossres", "gblur", "mblur", "jitter", "noise", "jpeg", "flip"};
    for (int k = 0; k < 2; k++) {
        int count[9] = {0};
        for (int i = 0; i < N; i++) {
            lqf_image *im = image_from(small, 32, 32);
            lqf_rng r;
            lqf_rng_seed(&r, lqf_augment_seed(99, 0, (uint64_t)i));
            unsigned fired;
            CHECK(lqf_augment_apply(&c[k], im, &r, 0, 0, &fired) == LQF_OK);
            for (int b = 0; b < 9; b++) count[b] += (fired >> b) & 1;
            lqf_image_free(im);
        }
        float p[9] = {c[k].p_crop, c[k].p_lowres, 0, c[k].p_gblur, c[k].p_mblur, c[k].p_jitter, c[k].p_noise,
                      c[k].p_jpeg, c[k].p_flip};
        printf("%s preset, %d draws:", k ? "blur/noise/jpeg" : "AdaFace", N);
        for (int b = 0; b < 9; b++) {
            double sd = sqrt(p[b] * (1 - p[b]) / N), fr = (double)count[b] / N;
            if (p[b] > 0) printf(" %s %.3f (p %.2f)", names[b], fr, p[b]);
            CHECK(fabs(fr - p[b]) <= 4.5 * sd + 1e-12);
        }
        printf("\n");
    }
}

static void test_crossres_and_determinism(const uint8_t *face) {
    lqf_augment_config c;
    lqf_augment_preset_none(&c);
    c.cross_share = 0.3f, c.n_cross = 2, c.cross_res[0] = 14, c.cross_res[1] = 28;
    int pos_ok = 1;
    for (int pos = 0; pos < 10; pos++) {
        lqf_image *im = image_from(face, S, S), *want = image_from(face, S, S);
        lqf_rng r;
        lqf_rng_seed(&r, 5);
        unsigned fired;
        CHECK(lqf_augment_apply(&c, im, &r, pos, 10, &fired) == LQF_OK);
        if (pos < 3) CHECK(lqf_degrade_resolution(want, c.cross_res[pos % 2]) == LQF_OK);
        pos_ok &= (pos < 3) == !!(fired & LQF_AUG_CROSSRES) && !memcmp(im->data, want->data, NPIX);
        lqf_image_free(im);
        lqf_image_free(want);
    }
    printf("cross resolution: share 0.3 of a batch of 10 -> positions 0-2 at 14/28/14 px: %s\n", pos_ok ? "yes" : "no");
    CHECK(pos_ok);
    /* determinism: a full recipe under the same per-sample seed gives the same bytes */
    lqf_augment_preset_adaface(&c);
    c.p_crop = c.p_lowres = c.p_jitter = 0.7f;
    c.p_gblur = c.p_mblur = c.p_noise = c.p_jpeg = 0.5f;
    int same = 0, differ = 0;
    for (int i = 0; i < 8; i++) {
        lqf_image *a = image_from(face, S, S), *b = image_from(face, S, S), *o = image_from(face, S, S);
        lqf_rng ra, rb, ro;
        lqf_rng_seed(&ra, lqf_augment_seed(7, 3, (uint64_t)i));
        lqf_rng_seed(&rb, lqf_augment_seed(7, 3, (uint64_t)i));
        lqf_rng_seed(&ro, lqf_augment_seed(7, 4, (uint64_t)i)); /* next epoch */
        CHECK(lqf_augment_apply(&c, a, &ra, 0, 0, NULL) == LQF_OK);
        CHECK(lqf_augment_apply(&c, b, &rb, 0, 0, NULL) == LQF_OK);
        CHECK(lqf_augment_apply(&c, o, &ro, 0, 0, NULL) == LQF_OK);
        same += !memcmp(a->data, b->data, NPIX);
        differ += !!memcmp(a->data, o->data, NPIX);
        lqf_image_free(a);
        lqf_image_free(b);
        lqf_image_free(o);
    }
    printf("determinism: %d/8 identical under the same (seed, epoch, index), %d/8 differ in the next epoch\n", same,
           differ);
    CHECK(same == 8 && differ >= 7);
    CHECK(lqf_augment_seed(1, 0, 0) != lqf_augment_seed(1, 0, 1) && lqf_augment_seed(1, 0, 0) != lqf_augment_seed(1, 1, 0) &&
          lqf_augment_seed(1, 0, 0) != lqf_augment_seed(2, 0, 0));
    /* the QGFace LQ view always lowers resolution and re-encodes */
    lqf_augment_preset_qgface_lq(&c);
    lqf_image *q = image_from(face, S, S);
    lqf_rng r;
    lqf_rng_seed(&r, 11);
    unsigned fired;
    CHECK(lqf_augment_apply(&c, q, &r, 0, 0, &fired) == LQF_OK);
    CHECK((fired & (LQF_AUG_LOWRES | LQF_AUG_JPEG)) == (LQF_AUG_LOWRES | LQF_AUG_JPEG));
    lqf_image_free(q);
    /* bad arguments are errors, not crashes */
    uint8_t px[3] = {0};
    CHECK(lqf_resize_interp(px, 1, 1, px, 0, 1, LQF_INTERP_CUBIC) == LQF_ERR_ARG);
    CHECK(lqf_filter2d(&(lqf_image){1, 1, 3, LQF_RGB, px}, (const float[4]){0}, 2) == LQF_ERR_ARG);
}

int main(void) {
    long n;
    uint8_t *face = load_bytes(tu_testdata("augment/face.u8"), &n);
    if (!CHECK(face && n == NPIX)) return tu_finish("test_augment");
    test_resize(face);
    test_jitter(face);
    test_crop(face);
    test_motion(face);
    test_effects(face);
    test_probabilities(face);
    test_crossres_and_determinism(face);
    free(face);
    return tu_finish("test_augment");
}
