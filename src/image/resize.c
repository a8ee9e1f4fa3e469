/*
 * resize.c — 8-bit image resizing shared by detection (letterbox), the degradations and the
 * augmentations: bilinear bit-identical to OpenCV's cv2.resize(INTER_LINEAR) and area
 * averaging as cv2.resize(INTER_AREA) when shrinking.
 *
 * OpenCV's 8-bit linear resize (modules/imgproc/src/resize.cpp, 4.x): source coordinate
 * f = (float)((d + 0.5) * (src/dst) - 0.5), s = floor(f), weights round((1-f')*2048) and
 * round(f'*2048) (f' = f - s); columns clamp to the border (weight 0), rows clamp their
 * indices. Horizontal pass in int (S*alpha), vertical pass
 * ((b0*(H0>>4))>>16) + ((b1*(H1>>4))>>16) + 2) >> 2. An exact 2x downscale in both axes
 * is OpenCV's "area fast" path: (a+b+c+d+2) >> 2.
 */
#include "image/resize.h"
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The coefficient arithmetic must round exactly like OpenCV's (no fused multiply-add). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define RESIZE_COEF_SCALE 2048.f


/* One coordinate's source index and fixed-point weights, as OpenCV computes them. */
static void linear_coef(int d, double scale, int *s, short *a0, short *a1) {
    float f = (float)((d + 0.5) * scale - 0.5);
    int si = (int)floorf(f);
    f -= (float)si;
    *s = si;
    *a0 = (short)lrintf((1.f - f) * RESIZE_COEF_SCALE);
    *a1 = (short)lrintf(f * RESIZE_COEF_SCALE);
}

/* Horizontal pass of one source row: hrow (nw*c) = S[x0]*a0 + S[x1]*a1, x1 = x0 + 1 except at
 * the right border, where x1 = x0 and a1 = 0. */
static void hpass(const uint8_t *row, int c, int nw, const int *xofs, const short *alpha, int *hrow) {
    for (int dx = 0; dx < nw; dx++) {
        const uint8_t *p0 = row + xofs[2 * dx], *p1 = row + xofs[2 * dx + 1];
        int a0 = alpha[2 * dx], a1 = alpha[2 * dx + 1];
        for (int k = 0; k < c; k++) hrow[dx * c + k] = p0[k] * a0 + p1[k] * a1;
    }
}

lqf_status lqf_resize_linear_u8(const uint8_t *src, int w, int h, int c, uint8_t *dst, int nw, int nh) {
    if (nw == w && nh == h) {
        memcpy(dst, src, (size_t)w * h * c);
        return LQF_OK;
    }
    double scale_x = 1.0 / ((double)nw / w), scale_y = 1.0 / ((double)nh / h);
    if (w == 2 * nw && h == 2 * nh && scale_x == 2.0 && scale_y == 2.0) {
        /* OpenCV switches INTER_LINEAR to its fast 2x2 area average here. */
        for (int y = 0; y < nh; y++) {
            const uint8_t *r0 = src + (size_t)(2 * y) * w * c, *r1 = r0 + (size_t)w * c;
            uint8_t *o = dst + (size_t)y * nw * c;
            for (int x = 0; x < nw; x++)
                for (int k = 0; k < c; k++) {
                    int i = 2 * x * c + k;
                    o[x * c + k] = (uint8_t)((r0[i] + r0[i + c] + r1[i] + r1[i + c] + 2) >> 2);
                }
        }
        return LQF_OK;
    }
    /* Column table: source byte offsets of the two taps and their weights. At the borders
     * OpenCV uses the edge pixel with weights (2048, 0). */
    int *xofs = malloc(sizeof(int) * 2 * (size_t)nw + sizeof(short) * 2 * (size_t)nw);
    if (!xofs) return lqf_fail(LQF_ERR_NOMEM, "resize: out of memory (%dx%d)", nw, nh);
    short *alpha = (short *)(xofs + 2 * (size_t)nw);
    for (int dx = 0; dx < nw; dx++) {
        int s;
        short a0, a1;
        linear_coef(dx, scale_x, &s, &a0, &a1);
        if (s < 0) { s = 0; a0 = (short)RESIZE_COEF_SCALE; a1 = 0; }
        if (s >= w - 1) { s = w - 1; a0 = (short)RESIZE_COEF_SCALE; a1 = 0; }
        xofs[2 * dx] = s * c;
        xofs[2 * dx + 1] = LQF_MIN(s + 1, w - 1) * c;
        alpha[2 * dx] = a0;
        alpha[2 * dx + 1] = a1;
    }
    int failed = 0;
    /* Output rows in contiguous blocks, one per thread, each with its own two cached rows of
     * the horizontal pass. */
#pragma omp parallel if ((size_t)nw * nh * c > 65536) reduction(| : failed)
    {
        int nt = 1, t = 0;
#ifdef _OPENMP
        nt = omp_get_num_threads();
        t = omp_get_thread_num();
#endif
        const int y0 = (int)((int64_t)nh * t / nt), y1 = (int)((int64_t)nh * (t + 1) / nt);
        int *h0 = y1 > y0 ? malloc(sizeof(int) * 2 * (size_t)nw * c) : NULL;
        if (y1 > y0 && !h0) failed = 1;
        if (h0) {
            int *h1 = h0 + (size_t)nw * c, *block = h0;
            int row0 = -1, row1 = -1; /* source rows cached in h0, h1 */
            for (int dy = y0; dy < y1; dy++) {
                int sy;
                short b0, b1;
                linear_coef(dy, scale_y, &sy, &b0, &b1);
                int ya = LQF_MIN(LQF_MAX(sy, 0), h - 1), yb = LQF_MIN(LQF_MAX(sy + 1, 0), h - 1);
                if (ya != row0) {
                    if (ya == row1) {
                        int *tmp = h0; h0 = h1; h1 = tmp;
                        row0 = row1; row1 = -1;
                    } else {
                        hpass(src + (size_t)ya * w * c, c, nw, xofs, alpha, h0);
                        row0 = ya;
                    }
                }
                if (yb != row1) {
                    if (yb == row0) memcpy(h1, h0, sizeof(int) * nw * c);
                    else hpass(src + (size_t)yb * w * c, c, nw, xofs, alpha, h1);
                    row1 = yb;
                }
                uint8_t *o = dst + (size_t)dy * nw * c;
                for (int i = 0; i < nw * c; i++) {
                    int v = ((b0 * (h0[i] >> 4)) >> 16) + ((b1 * (h1[i] >> 4)) >> 16);
                    v = (v + 2) >> 2;
                    o[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
            }
            free(block);
        }
    }
    free(xofs);
    if (failed) return lqf_fail(LQF_ERR_NOMEM, "resize: out of memory (%dx%d)", nw, nh);
    return LQF_OK;
}

/* cvRound semantics: round half to even. */
static inline uint8_t round_u8(double v) {
    long i = lrint(v);
    return (uint8_t)(i < 0 ? 0 : i > 255 ? 255 : i);
}

/* Per output index: the source cells it covers and their weights (INTER_AREA). */
typedef struct { int src; float w; } area_tap;

static int area_taps(int in, int out, area_tap *taps, int *start) {
    double scale = (double)in / out;
    int n = 0;
    for (int o = 0; o < out; o++) {
        double f0 = o * scale, f1 = f0 + scale;
        int s0 = (int)ceil(f0 - 1e-9), s1 = (int)floor(f1 + 1e-9);
        start[o] = n;
        if (s0 - f0 > 1e-6) taps[n++] = (area_tap){s0 - 1, (float)((s0 - f0) / scale)};
        for (int s = s0; s < s1; s++) taps[n++] = (area_tap){s, (float)(1.0 / scale)};
        if (f1 - s1 > 1e-6 && s1 < in) taps[n++] = (area_tap){s1, (float)((f1 - s1) / scale)};
    }
    start[out] = n;
    return n;
}

void lqf_resize_area(const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh) {
    if (ow > w || oh > h) {
        lqf_resize_linear_u8(src, w, h, 3, dst, ow, oh);
        return;
    }
    if (w == 2 * ow && h == 2 * oh) { /* OpenCV's SIMD 2x path rounds half up */
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                for (int c = 0; c < 3; c++) {
                    const uint8_t *p = src + ((size_t)2 * y * w + 2 * x) * 3 + c;
                    int sum = p[0] + p[3] + p[(size_t)w * 3] + p[(size_t)w * 3 + 3];
                    dst[((size_t)y * ow + x) * 3 + c] = (uint8_t)((sum + 2) >> 2);
                }
        return;
    }
    area_tap *tx = malloc(sizeof(area_tap) * (size_t)(2 * w + 2 * ow + 4));
    area_tap *ty = malloc(sizeof(area_tap) * (size_t)(2 * h + 2 * oh + 4));
    int *sx = malloc(sizeof(int) * (size_t)(ow + 1)), *sy = malloc(sizeof(int) * (size_t)(oh + 1));
    area_taps(w, ow, tx, sx);
    area_taps(h, oh, ty, sy);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++) {
                double acc = 0;
                for (int j = sy[y]; j < sy[y + 1]; j++) {
                    const uint8_t *row = src + (size_t)ty[j].src * w * 3;
                    double racc = 0;
                    for (int i = sx[x]; i < sx[x + 1]; i++) racc += tx[i].w * row[tx[i].src * 3 + c];
                    acc += ty[j].w * racc;
                }
                dst[((size_t)y * ow + x) * 3 + c] = round_u8(acc);
            }
    free(tx);
    free(ty);
    free(sx);
    free(sy);
}

