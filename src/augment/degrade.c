/*
 * degrade.c — the low-quality degradations declared in degrade.h: resolution loss, blur,
 * noise, JPEG and face-alignment error. Resizing follows OpenCV's conventions (INTER_AREA box/fractional coverage when shrinking,
 * INTER_LINEAR with half-pixel centres and clamped borders) so degraded faces match what
 * users of cv2-based pipelines (AdaFace, QGFace) see. Random draws come from lqf_rng
 * (core/rng.h).
 */
#include "augment/degrade.h"
#include "image/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* cvRound semantics: round half to even. */
static inline uint8_t sat_u8(double v) {
    long i = lrint(v);
    return (uint8_t)(i < 0 ? 0 : i > 255 ? 255 : i);
}

/* ------------------------------------------------------------------ resizing */
void lqf_resize_bilinear(const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh) {
    lqf_resize_linear_u8(src, w, h, 3, dst, ow, oh);
}

lqf_status lqf_degrade_resolution(lqf_image *img, int r) {
    if (r <= 0) return lqf_fail(LQF_ERR_ARG, "degrade: resolution must be positive (got %d)", r);
    if (r >= img->width && r >= img->height) return LQF_OK;
    uint8_t *small = malloc((size_t)r * r * 3);
    if (!small) return lqf_fail(LQF_ERR_NOMEM, "degrade: out of memory");
    lqf_resize_area(img->data, img->width, img->height, small, r, r);
    lqf_resize_bilinear(small, r, r, img->data, img->width, img->height);
    free(small);
    return LQF_OK;
}

/* ------------------------------------------------------------------ blur, noise, JPEG */
/* Source index of positions -r .. n+r-1 with OpenCV's BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba);
 * tab[i + r]. malloc'd. */
int *lqf_reflect101_table(int n, int r) {
    int *tab = malloc(sizeof(int) * (size_t)(n + 2 * r));
    if (!tab) return NULL;
    for (int i = -r; i < n + r; i++) {
        int v = i;
        while (n > 1 && (v < 0 || v >= n)) v = v < 0 ? -v : 2 * n - 2 - v;
        tab[i + r] = n > 1 ? v : 0;
    }
    return tab;
}


lqf_status lqf_degrade_blur(lqf_image *img, double sigma) {
    if (sigma <= 0) return LQF_OK;
    int k = ((int)lround(sigma * 3 * 2 + 1)) | 1, r = k / 2;
    double *g = malloc(sizeof(double) * (size_t)k), sum = 0;
    for (int i = 0; i < k; i++) sum += g[i] = exp(-(double)(i - r) * (i - r) / (2 * sigma * sigma));
    for (int i = 0; i < k; i++) g[i] /= sum;
    int W = img->width, H = img->height;
    float *tmp = malloc(sizeof(float) * (size_t)W * H * 3);
    int *xi = lqf_reflect101_table(W, r), *yi = lqf_reflect101_table(H, r);
    if (!g || !tmp || !xi || !yi) {
        free(g);
        free(tmp);
        free(xi);
        free(yi);
        return lqf_fail(LQF_ERR_NOMEM, "degrade: out of memory");
    }
#pragma omp parallel for schedule(static)
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                double acc = 0;
                for (int i = 0; i < k; i++) acc += g[i] * img->data[((size_t)y * W + xi[x + i]) * 3 + c];
                tmp[((size_t)y * W + x) * 3 + c] = (float)acc;
            }
#pragma omp parallel for schedule(static)
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                double acc = 0;
                for (int i = 0; i < k; i++) acc += g[i] * tmp[((size_t)yi[y + i] * W + x) * 3 + c];
                img->data[((size_t)y * W + x) * 3 + c] = sat_u8(acc);
            }
    free(g);
    free(tmp);
    free(xi);
    free(yi);
    return LQF_OK;
}

void lqf_degrade_noise(lqf_image *img, double sigma, lqf_rng *rng) {
    size_t n = (size_t)img->width * img->height * 3;
    for (size_t i = 0; i < n; i++) img->data[i] = sat_u8(img->data[i] + sigma * lqf_rng_normal(rng));
}

lqf_status lqf_degrade_jpeg(lqf_image *img, int quality) {
    uint8_t *buf = NULL;
    size_t len = 0;
    lqf_status st = lqf_image_encode_jpeg(img, quality, &buf, &len);
    if (st) return st;
    lqf_image *dec = NULL;
    st = lqf_image_decode(buf, len, "jpeg re-encode", img->order, &dec);
    free(buf);
    if (st) return st;
    memcpy(img->data, dec->data, (size_t)img->width * img->height * 3);
    lqf_image_free(dec);
    return LQF_OK;
}

/* ------------------------------------------------------------------ alignment error */
static void apply(const double M[6], double x, double y, double *ox, double *oy) {
    *ox = M[0] * x + M[1] * y + M[2];
    *oy = M[3] * x + M[4] * y + M[5];
}

void lqf_perturb_landmarks(const float lm[10], int size, double rot_deg, double scale, double shift_px,
                           lqf_rng *rng, float out[10]) {
    float dst[10];
    for (int i = 0; i < 10; i++) dst[i] = lqf_arcface_template[i] * (float)size / 112.0f;
    double M[6];
    if (lqf_similarity_estimate(lm, dst, 5, M) != LQF_OK) {
        memcpy(out, lm, sizeof(float) * 10);
        return;
    }
    double th = (2 * lqf_rng_uniform(rng) - 1) * rot_deg * M_PI / 180.0;
    double s = 1.0 + (2 * lqf_rng_uniform(rng) - 1) * scale;
    double tx = (2 * lqf_rng_uniform(rng) - 1) * shift_px, ty = (2 * lqf_rng_uniform(rng) - 1) * shift_px;
    double q[10], cx = 0, cy = 0;
    for (int p = 0; p < 5; p++) {
        apply(M, lm[2 * p], lm[2 * p + 1], &q[2 * p], &q[2 * p + 1]);
        cx += q[2 * p] / 5;
        cy += q[2 * p + 1] / 5;
    }
    /* inverse of the similarity M (template <- image) */
    double det = M[0] * M[4] - M[1] * M[3];
    double Mi[6] = {M[4] / det, -M[1] / det, 0, -M[3] / det, M[0] / det, 0};
    Mi[2] = -(Mi[0] * M[2] + Mi[1] * M[5]);
    Mi[5] = -(Mi[3] * M[2] + Mi[4] * M[5]);
    double c = cos(th), sn = sin(th);
    for (int p = 0; p < 5; p++) {
        double dx = q[2 * p] - cx, dy = q[2 * p + 1] - cy;
        double nx = s * (c * dx - sn * dy) + cx + tx, ny = s * (sn * dx + c * dy) + cy + ty;
        double ox, oy;
        apply(Mi, nx, ny, &ox, &oy);
        out[2 * p] = (float)ox;
        out[2 * p + 1] = (float)oy;
    }
}
