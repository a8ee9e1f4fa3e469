/*
 * letterbox.c — the detector's input preparation: a bilinear resize of 8-bit images that is
 * bit-identical to OpenCV's cv2.resize(INTER_LINEAR) (the reference every YuNet/RetinaFace
 * user feeds the network with), and the letterbox that places the resized image in the
 * top-left corner of a zero SxS canvas and writes planar float input in a chosen channel
 * order. Not a general image-processing module: only what detection needs.
 *
 * OpenCV's 8-bit linear resize (modules/imgproc/src/resize.cpp, 4.x): source coordinate
 * f = (float)((d + 0.5) * (src/dst) - 0.5), s = floor(f), weights round((1-f')*2048) and
 * round(f'*2048) (f' = f - s); columns clamp to the border (weight 0), rows clamp their
 * indices. Horizontal pass in int (S*alpha), vertical pass
 * ((b0*(H0>>4))>>16) + ((b1*(H1>>4))>>16) + 2) >> 2. An exact 2x downscale in both axes
 * is OpenCV's "area fast" path: (a+b+c+d+2) >> 2.
 */
#include "detect/yunet.h"
#include "core/core.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The coefficient arithmetic must round exactly like OpenCV's (no fused multiply-add). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#define RESIZE_COEF_SCALE 2048.f

void lqf_letterbox_size(int w, int h, int S, int *nw, int *nh, float *scale) {
    double s = LQF_MIN((double)S / w, (double)S / h);
    int a = (int)(w * s + 0.5), b = (int)(h * s + 0.5);
    *nw = LQF_MAX(1, LQF_MIN(S, a));
    *nh = LQF_MAX(1, LQF_MIN(S, b));
    *scale = (float)s;
}

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

lqf_status lqf_letterbox_strided(const lqf_image *img, int S, lqf_channel_order order, const float mean[3],
                                 float *out, const int64_t strides[3], float *scale) {
    if (!img || !img->data || img->width <= 0 || img->height <= 0 || !out || S <= 0 || !strides || !scale)
        return lqf_fail(LQF_ERR_ARG, "letterbox: invalid image or size");
    if (img->channels != 3)
        return lqf_fail(LQF_ERR_SHAPE, "letterbox: expected a 3-channel image, got %d channels",
                        img->channels);
    int nw, nh;
    float sc;
    lqf_letterbox_size(img->width, img->height, S, &nw, &nh, &sc);
    uint8_t *rs = malloc((size_t)nw * nh * 3);
    if (!rs) return lqf_fail(LQF_ERR_NOMEM, "letterbox: out of memory (%dx%d)", nw, nh);
    lqf_status st = lqf_resize_linear_u8(img->data, img->width, img->height, 3, rs, nw, nh);
    if (st != LQF_OK) {
        free(rs);
        return st;
    }
    const int swap = img->order != order;
    const int64_t cs = strides[0], ys = strides[1], xs = strides[2];
    float m[3];
    for (int k = 0; k < 3; k++) m[k] = mean ? mean[k] : 0.f;
#pragma omp parallel for if ((size_t)S * S > 65536) schedule(static)
    for (int y = 0; y < S; y++) {
        float *row = out + y * ys;
        int x = 0;
        if (y < nh) {
            const uint8_t *r = rs + (size_t)y * nw * 3;
            for (; x < nw; x++)
                for (int k = 0; k < 3; k++) row[x * xs + k * cs] = (float)r[3 * x + (swap ? 2 - k : k)] - m[k];
        }
        for (; x < S; x++)
            for (int k = 0; k < 3; k++) row[x * xs + k * cs] = -m[k];
    }
    free(rs);
    *scale = sc;
    return LQF_OK;
}

lqf_status lqf_letterbox(const lqf_image *img, int S, lqf_channel_order order, const float mean[3],
                         float *out, float *scale) {
    const int64_t planar[3] = {(int64_t)S * S, S, 1};
    return lqf_letterbox_strided(img, S, order, mean, out, planar, scale);
}
