/*
 * quality.c — the Laplacian-energy image quality of quality.h: luminance, the 4-neighbour
 * Laplacian with reflect-101 borders (cv2.Laplacian ksize 1), mean square, log(1 + E).
 * One row of luminance is kept per neighbour row (three rolling rows), so the cost is one
 * pass over the image and O(w) memory.
 */
#include "augment/quality.h"
#include "augment/degrade.h"

#include <math.h>
#include <stdlib.h>

/* Luminance row i of the image, through a reader of pixel (i, j) channel c. */
typedef struct {
    const uint8_t *u8;
    const float *f32;
    int w;
    float wr, wg, wb;          /* weights of channels 0, 1, 2 */
    float mean[3], std[3];     /* f32 only */
} lum_src;

static void lum_row(const lum_src *s, int i, float *out) {
    const int w = s->w;
    if (s->u8) {
        const uint8_t *p = s->u8 + (size_t)i * w * 3;
        for (int j = 0; j < w; j++) out[j] = s->wr * p[3 * j] + s->wg * p[3 * j + 1] + s->wb * p[3 * j + 2];
    } else {
        const float *p = s->f32 + (size_t)i * w * 3;
        for (int j = 0; j < w; j++) {
            float r = p[3 * j] * s->std[0] + s->mean[0], g = p[3 * j + 1] * s->std[1] + s->mean[1],
                  b = p[3 * j + 2] * s->std[2] + s->mean[2];
            out[j] = s->wr * r + s->wg * g + s->wb * b;
        }
    }
}

static double laplacian_quality(lum_src *s, int h, lqf_channel_order order) {
    const int w = s->w;
    if (w < 2 || h < 2) return 0.0;
    s->wr = order == LQF_BGR ? 0.114f : 0.299f;
    s->wg = 0.587f;
    s->wb = order == LQF_BGR ? 0.299f : 0.114f;
    float *buf = malloc(3 * (size_t)w * sizeof(float));
    int *xi = lqf_reflect101_table(w, 1), *yi = lqf_reflect101_table(h, 1); /* index p -> tab[p + 1] */
    if (!buf || !xi || !yi) {
        free(buf), free(xi), free(yi);
        return NAN;
    }
    float *up = buf, *mid = buf + w, *dn = buf + 2 * w;
    lum_row(s, yi[0], up);
    lum_row(s, 0, mid);
    double e = 0;
    for (int i = 0; i < h; i++) {
        lum_row(s, yi[i + 2], dn);
        double re = 0;
        for (int j = 0; j < w; j++) {
            float l = up[j] + dn[j] + mid[xi[j]] + mid[xi[j + 2]] - 4.0f * mid[j];
            re += (double)l * l;
        }
        e += re;
        float *t = up;
        up = mid, mid = dn, dn = t;
    }
    free(buf), free(xi), free(yi);
    return log1p(e / ((double)w * h));
}

double lqf_laplacian_quality_u8(const uint8_t *img, int w, int h, lqf_channel_order order) {
    lum_src s = {img, NULL, w, 0, 0, 0, {0, 0, 0}, {1, 1, 1}};
    return laplacian_quality(&s, h, order);
}

double lqf_laplacian_quality_f32(const float *x, int w, int h, lqf_channel_order order, const float mean[3],
                                 const float std[3]) {
    lum_src s = {NULL, x, w, 0, 0, 0, {mean[0], mean[1], mean[2]}, {std[0], std[1], std[2]}};
    return laplacian_quality(&s, h, order);
}

lqf_status lqf_laplacian_quality_batch(const float *x, int n, int w, int h, lqf_channel_order order,
                                       const float mean[3], const float std[3], float *q) {
    if (!x || !q || n < 0 || w < 2 || h < 2)
        return lqf_fail(LQF_ERR_ARG, "laplacian quality: bad batch (n %d, %d x %d)", n, w, h);
    int bad = -1;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; b++) {
        double v = lqf_laplacian_quality_f32(x + (size_t)b * w * h * 3, w, h, order, mean, std);
        q[b] = (float)v;
        if (!isfinite(v)) {
#pragma omp critical
            bad = b;
        }
    }
    if (bad >= 0) return lqf_fail(LQF_ERR_NOMEM, "laplacian quality: image %d: out of memory or not finite", bad);
    return LQF_OK;
}
