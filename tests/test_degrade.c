/*
 * test_degrade.c — degradations against OpenCV dumps (tools/ref_degrade.py): resolution
 * loss (INTER_AREA down, INTER_LINEAR up) and Gaussian blur within 1 grey level; plus the
 * effect and determinism of noise, JPEG and the face-alignment-error perturbation.
 */
#include "augment/degrade.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 112
#define NPIX (S * S * 3)

static uint8_t *load_u8(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    rewind(f);
    uint8_t *d = malloc((size_t)*n);
    if (fread(d, 1, (size_t)*n, f) != (size_t)*n) *n = 0;
    fclose(f);
    return d;
}

static void diff_stats(const uint8_t *a, const uint8_t *b, size_t n, int *maxd, double *meand) {
    *maxd = 0;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > *maxd) *maxd = d;
        s += d;
    }
    *meand = s / n;
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return 10 * log10(255.0 * 255.0 / (se / n + 1e-12));
}

int main(void) {
    long ni, no;
    uint8_t *in = load_u8(tu_testdata("degrade/inputs.u8"), &ni);
    uint8_t *ref = load_u8(tu_testdata("degrade/outputs.u8"), &no);
    FILE *fc = fopen(tu_testdata("degrade/conditions.txt"), "r");
    if (!CHECK(in && ref && fc)) return tu_finish("test_degrade");
    char kind[16][16];
    double val[16];
    int nc = 0;
    while (nc < 16 && fscanf(fc, "%15s %lf", kind[nc], &val[nc]) == 2) nc++;
    fclose(fc);
    int nimg = (int)(ni / NPIX);
    CHECK(no == (long)nimg * nc * NPIX);
    for (int i = 0; i < nimg; i++)
        for (int c = 0; c < nc; c++) {
            lqf_image img = {S, S, 3, LQF_RGB, malloc(NPIX)};
            memcpy(img.data, in + (size_t)i * NPIX, NPIX);
            if (!strcmp(kind[c], "res")) CHECK(lqf_degrade_resolution(&img, (int)val[c]) == LQF_OK);
            else CHECK(lqf_degrade_blur(&img, val[c]) == LQF_OK);
            int maxd;
            double meand;
            diff_stats(img.data, ref + ((size_t)i * nc + c) * NPIX, NPIX, &maxd, &meand);
            printf("%s %-4g image %d: max diff %d, mean diff %.4f grey levels vs OpenCV\n", kind[c], val[c], i, maxd,
                   meand);
            CHECK(maxd <= 1);
            CHECK(meand < 0.05);
            free(img.data);
        }
    /* noise: the difference has the requested standard deviation; same seed, same noise */
    {
        lqf_image a = {S, S, 3, LQF_RGB, malloc(NPIX)}, b = {S, S, 3, LQF_RGB, malloc(NPIX)};
        for (int k = 0; k < NPIX; k++) a.data[k] = b.data[k] = 128;
        lqf_rng r1, r2;
        lqf_rng_seed(&r1, 7);
        lqf_rng_seed(&r2, 7);
        lqf_degrade_noise(&a, 10.0, &r1);
        lqf_degrade_noise(&b, 10.0, &r2);
        CHECK(memcmp(a.data, b.data, NPIX) == 0);
        double s = 0, s2 = 0;
        for (int k = 0; k < NPIX; k++) {
            s += a.data[k] - 128.0;
            s2 += (a.data[k] - 128.0) * (a.data[k] - 128.0);
        }
        double sd = sqrt(s2 / NPIX - (s / NPIX) * (s / NPIX));
        printf("noise sigma 10: measured std %.3f, mean %.3f\n", sd, s / NPIX);
        CHECK(fabs(sd - 10.0) < 0.3 && fabs(s / NPIX) < 0.3);
        free(a.data);
        free(b.data);
    }
    /* JPEG: lower quality, lower PSNR */
    {
        double p[2];
        int q[2] = {90, 10};
        for (int k = 0; k < 2; k++) {
            lqf_image img = {S, S, 3, LQF_RGB, malloc(NPIX)};
            memcpy(img.data, in, NPIX);
            CHECK(lqf_degrade_jpeg(&img, q[k]) == LQF_OK);
            p[k] = psnr(img.data, in, NPIX);
            free(img.data);
        }
        printf("jpeg PSNR: quality 90 %.2f dB, quality 10 %.2f dB\n", p[0], p[1]);
        CHECK(p[0] > 30 && p[1] < p[0] - 5);
    }
    /* face-alignment error: zero perturbation is the identity; the perturbation in the
     * template frame stays within its bounds; the seed fixes it */
    {
        const float lm[10] = {90.1f, 110.3f, 140.7f, 108.9f, 116.2f, 140.5f, 95.3f, 165.0f, 138.8f, 164.1f};
        float out[10], out2[10];
        lqf_rng r;
        lqf_rng_seed(&r, 1);
        lqf_perturb_landmarks(lm, 112, 0, 0, 0, &r, out);
        double md = 0;
        for (int k = 0; k < 10; k++) md = fmax(md, fabs(out[k] - lm[k]));
        CHECK(md < 1e-3);
        double M[6];
        float dst[10];
        for (int k = 0; k < 10; k++) dst[k] = lqf_arcface_template[k];
        CHECK(lqf_similarity_estimate(lm, dst, 5, M) == LQF_OK);
        lqf_rng_seed(&r, 42);
        lqf_perturb_landmarks(lm, 112, 0, 0, 4.0, &r, out);
        lqf_rng_seed(&r, 42);
        lqf_perturb_landmarks(lm, 112, 0, 0, 4.0, &r, out2);
        CHECK(memcmp(out, out2, sizeof out) == 0);
        /* pure shift: every landmark moves by the same vector in the template frame, |t| <= 4 */
        double dx0 = 0, dy0 = 0, spread = 0;
        for (int p = 0; p < 5; p++) {
            double qx = M[0] * out[2 * p] + M[1] * out[2 * p + 1] + M[2] - (M[0] * lm[2 * p] + M[1] * lm[2 * p + 1] + M[2]);
            double qy = M[3] * out[2 * p] + M[4] * out[2 * p + 1] + M[5] - (M[3] * lm[2 * p] + M[4] * lm[2 * p + 1] + M[5]);
            if (p == 0) {
                dx0 = qx;
                dy0 = qy;
            }
            spread = fmax(spread, fmax(fabs(qx - dx0), fabs(qy - dy0)));
        }
        printf("FAE shift 4 px: template-frame shift (%.3f, %.3f), spread %.2g\n", dx0, dy0, spread);
        CHECK(fabs(dx0) <= 4.0 + 1e-3 && fabs(dy0) <= 4.0 + 1e-3 && (fabs(dx0) > 0.01 || fabs(dy0) > 0.01));
        CHECK(spread < 1e-3);
    }
    free(in);
    free(ref);
    return tu_finish("test_degrade");
}
