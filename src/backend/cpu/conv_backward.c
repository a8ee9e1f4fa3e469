/*
 * conv_backward.c — backward of the 2-D convolution over channels-last tensors (the
 * training half of conv.c): gradients with respect to the input (backward-data) and to the
 * packed weights and bias (backward-weights), with the same three paths as the forward:
 *   pointwise  1x1 s1 unpadded ungrouped: dx += dy W^T, ONE GEMM over all N*H*W rows
 *              (oneDNN threads it); dW += x^T dy with the rows split between threads
 *              (one GEMM each into a partial, then reduced);
 *   depthwise  direct code vectorised over channels: backward-data as a race-free gather
 *              (one task per input row), backward-weights with per-thread partial sums;
 *   small groups  Cin/G = Cout/G <= 4 (MobileFaceNet's groups=64 over 128 channels): as
 *              2r-1 channel-shifted depthwise convolutions, vectorised over channels;
 *   general    dense, strided 1x1, grouped: per image, tiles of output rows; data:
 *              dcol = dy_tile W_g^T (GEMM) then col2im adds the columns into dx; weights:
 *              im2col of the tile then dW_g += col^T dy_tile (GEMM). Threads take whole
 *              images (col2im of one image never races another); each thread sums weight
 *              gradients into its own partial buffer, reduced at the end. With fewer images
 *              than threads the images run one after another with threaded GEMMs instead.
 * Every function ADDS into its outputs (backend.h backward conventions).
 */
#include "backend/cpu/cpu.h"
#include "backend/cpu/cpu_internal.h"
#include "core/core.h"

#include <omp.h>
#include <string.h>

/* Floats of column scratch per tile: big tiles give the weight-gradient GEMM a long inner
 * dimension (it accumulates a K x Cout/G block per tile). */
#define BW_BUDGET (1 << 20)
#define BW_SLOTS 8

static int is_depthwise(const lqf_conv_shape *s) {
    return s->group > 1 && s->group == s->cin && s->cout == s->cin;
}

static int is_pointwise(const lqf_conv_shape *s) {
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pl == 0 &&
           s->pb == 0 && s->pr == 0 && s->group == 1;
}

/* Grouped with few channels per group, as many in as out (MobileFaceNet's groups=64
 * convolution over 128 channels): direct kernels beat an im2col GEMM per group. */
#define SMALL_GROUP_MAX 4
static int small_group(const lqf_conv_shape *s) {
    if (s->group <= 1 || is_depthwise(s)) return 0;
    int cig = s->cin / s->group, cog = s->cout / s->group;
    return cig == cog && cig <= SMALL_GROUP_MAX;
}

static int bw_slots(void) {
    int n = omp_get_max_threads();
    return n < 1 ? 1 : n > BW_SLOTS ? BW_SLOTS : n;
}

/* Output rows per tile (within one image) for a K-wide column matrix. */
static int64_t bw_tile_rows(const lqf_conv_shape *s, int64_t k) {
    int64_t ohw = (int64_t)s->oh * s->ow;
    int64_t t = BW_BUDGET / (k > 0 ? k : 1);
    if (t < 32) t = 32;
    return t < ohw ? t : ohw;
}

/* Sized for BW_SLOTS threads whatever the current thread count, so a later change of
 * OMP_NUM_THREADS cannot overrun it (the calls use min(threads, BW_SLOTS) slots). */
size_t lqf_conv2d_backward_scratch(const lqf_conv_shape *s) {
    int slots = BW_SLOTS;
    if (is_pointwise(s)) return (size_t)slots * s->cin * s->cout;
    if (is_depthwise(s)) return (size_t)slots * s->kh * s->kw * s->cin;
    if (small_group(s)) {
        int r = s->cin / s->group;
        return (size_t)(slots + 1) * (2 * r - 1) * s->kh * s->kw * s->cin;
    }
    int64_t k = (int64_t)s->kh * s->kw * (s->cin / s->group);
    return (size_t)slots * ((size_t)bw_tile_rows(s, k) * k + lqf_conv_weight_size(s));
}

void lqf_bias_backward(int64_t rows, int c, const float *dy, float *db) {
    int nth = rows * c > 32768 ? omp_get_max_threads() : 1;
    double *part = calloc((size_t)nth * c, sizeof(double));
    LQF_ASSERT(part);
#pragma omp parallel num_threads(nth)
    {
        double *a = part + (size_t)omp_get_thread_num() * c;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *d = dy + r * c;
#pragma omp simd
            for (int k = 0; k < c; k++) a[k] += d[k];
        }
    }
    for (int k = 0; k < c; k++) {
        double v = 0;
        for (int t = 0; t < nth; t++) v += part[(size_t)t * c + k];
        db[k] += (float)v;
    }
    free(part);
}

/* ------------------------------------------------------------------ general (im2col) */

/* dx[n] += col2im(col) for rows [r0, r0+nr) of image n, group g. */
static void col2im_img(const lqf_conv_shape *s, const float *col, int n, int g, int64_t r0, int64_t nr,
                       float *dx) {
    const int cig = s->cin / s->group;
    const int64_t k = (int64_t)s->kh * s->kw * cig;
    float *dxn = dx + (size_t)n * s->h * s->w * s->cin + (size_t)g * cig;
    for (int64_t r = 0; r < nr; r++) {
        int p = (int)(r0 + r), oy = p / s->ow, ox = p % s->ow;
        const float *src = col + r * k;
        for (int i = 0; i < s->kh; i++) {
            int ih = oy * s->sh - s->pt + i * s->dh;
            if (ih < 0 || ih >= s->h) {
                src += (size_t)s->kw * cig;
                continue;
            }
            float *drow = dxn + (size_t)ih * s->w * s->cin;
            for (int j = 0; j < s->kw; j++, src += cig) {
                int iw = ox * s->sw - s->pl + j * s->dw;
                if (iw < 0 || iw >= s->w) continue;
                float *d = drow + (size_t)iw * s->cin;
#pragma omp simd
                for (int c = 0; c < cig; c++) d[c] += src[c];
            }
        }
    }
}

/* One image's backward-data: tiles of its output rows. */
static void general_data_img(const lqf_conv_shape *s, const float *dy, const float *w, float *dx,
                             float *col, int n) {
    const int G = s->group, cig = s->cin / G, cog = s->cout / G;
    const int64_t k = (int64_t)s->kh * s->kw * cig;
    const int64_t ohw = (int64_t)s->oh * s->ow, tile = bw_tile_rows(s, k);
    for (int64_t r0 = 0; r0 < ohw; r0 += tile) {
        int64_t nr = LQF_MIN(tile, ohw - r0);
        const float *dyt = dy + ((int64_t)n * ohw + r0) * s->cout;
        for (int g = 0; g < G; g++) {
            /* dcol (nr x K) = dy_g (nr x cog) * W_g^T, W_g (K x cog) */
            lqf_sgemm(0, 1, nr, k, cog, 1.0f, dyt + (size_t)g * cog, s->cout, w + (size_t)g * k * cog, cog,
                      0.0f, col, k);
            col2im_img(s, col, n, g, r0, nr, dx);
        }
    }
}

/* One image's backward-weights into dw (packed, accumulated). */
static void general_weights_img(const lqf_conv_shape *s, const float *x, const float *dy, float *dw,
                                float *col, int n) {
    const int G = s->group, cig = s->cin / G, cog = s->cout / G;
    const int64_t k = (int64_t)s->kh * s->kw * cig;
    const int64_t ohw = (int64_t)s->oh * s->ow, tile = bw_tile_rows(s, k);
    for (int64_t r0 = 0; r0 < ohw; r0 += tile) {
        int64_t nr = LQF_MIN(tile, ohw - r0);
        const float *dyt = dy + ((int64_t)n * ohw + r0) * s->cout;
        for (int g = 0; g < G; g++) {
            lqf_conv_im2col(s, x, g, (int64_t)n * s->oh * s->ow + r0, nr, col);
            /* dW_g (K x cog) += col^T (K x nr) * dy_g (nr x cog) */
            lqf_sgemm(1, 0, k, cog, nr, 1.0f, col, k, dyt + (size_t)g * cog, s->cout, 1.0f,
                      dw + (size_t)g * k * cog, cog);
        }
    }
}

/* ------------------------------------------------------------------ depthwise */

/* dx row (n, iy) += sum over taps of dy * w (gather: no two tasks write the same row). */
static void dw_data_row(const lqf_conv_shape *s, const float *dy, const float *w, float *dx, int n, int iy) {
    const int C = s->cin;
    float *dxr = dx + ((size_t)n * s->h + iy) * s->w * C;
    for (int i = 0; i < s->kh; i++) {
        int t = iy + s->pt - i * s->dh;
        if (t < 0 || t % s->sh) continue;
        int oy = t / s->sh;
        if (oy >= s->oh) continue;
        const float *dyr = dy + ((size_t)n * s->oh + oy) * s->ow * C;
        for (int j = 0; j < s->kw; j++) {
            const float *wp = w + ((size_t)i * s->kw + j) * C;
            for (int ox = 0; ox < s->ow; ox++) {
                int ix = ox * s->sw - s->pl + j * s->dw;
                if (ix < 0 || ix >= s->w) continue;
                float *d = dxr + (size_t)ix * C;
                const float *g = dyr + (size_t)ox * C;
#pragma omp simd
                for (int c = 0; c < C; c++) d[c] += g[c] * wp[c];
            }
        }
    }
}

/* part (KH*KW*C) += contributions of output row (n, oy). */
static void dw_weights_row(const lqf_conv_shape *s, const float *x, const float *dy, float *part, int n,
                           int oy) {
    const int C = s->cin;
    const float *dyr = dy + ((size_t)n * s->oh + oy) * s->ow * C;
    for (int i = 0; i < s->kh; i++) {
        int iy = oy * s->sh - s->pt + i * s->dh;
        if (iy < 0 || iy >= s->h) continue;
        const float *xr = x + ((size_t)n * s->h + iy) * s->w * C;
        for (int j = 0; j < s->kw; j++) {
            float *pw = part + ((size_t)i * s->kw + j) * C;
            for (int ox = 0; ox < s->ow; ox++) {
                int ix = ox * s->sw - s->pl + j * s->dw;
                if (ix < 0 || ix >= s->w) continue;
                const float *xp = xr + (size_t)ix * C, *g = dyr + (size_t)ox * C;
#pragma omp simd
                for (int c = 0; c < C; c++) pw[c] += xp[c] * g[c];
            }
        }
    }
}

/* ------------------------------------------------------------------ small groups */

/* With r = Cin/G = Cout/G, output channel c = g*r + co reads input channels g*r + ci, i.e.
 * c + d for d = ci - co in [-(r-1), r-1]: the convolution is 2r-1 channel-shifted
 * depthwise convolutions with weights wd[d][tap][c] = W[g][tap][co+d][co] (0 where co+d
 * falls outside the group). wd is (2r-1) x KH*KW x C. */
static void small_group_expand(const lqf_conv_shape *s, const float *w, float *wd) {
    const int r = s->cin / s->group, C = s->cout, khw = s->kh * s->kw;
    for (int d = -(r - 1); d <= r - 1; d++)
        for (int t = 0; t < khw; t++) {
            float *o = wd + ((size_t)(d + r - 1) * khw + t) * C;
            for (int c = 0; c < C; c++) {
                int g = c / r, co = c % r, ci = co + d;
                o[c] = ci >= 0 && ci < r ? w[(size_t)g * khw * r * r + ((size_t)t * r + ci) * r + co] : 0.0f;
            }
        }
}

/* dx row (n, iy) += contributions of every output pixel reading it (gather, race-free). */
static void sg_data_row(const lqf_conv_shape *s, const float *dy, const float *wd, float *dx, int n, int iy) {
    const int C = s->cin, r = C / s->group, khw = s->kh * s->kw;
    float *dxr = dx + ((size_t)n * s->h + iy) * s->w * C;
    for (int i = 0; i < s->kh; i++) {
        int t = iy + s->pt - i * s->dh;
        if (t < 0 || t % s->sh) continue;
        int oy = t / s->sh;
        if (oy >= s->oh) continue;
        const float *dyr = dy + ((size_t)n * s->oh + oy) * s->ow * C;
        for (int j = 0; j < s->kw; j++)
            for (int ox = 0; ox < s->ow; ox++) {
                int ix = ox * s->sw - s->pl + j * s->dw;
                if (ix < 0 || ix >= s->w) continue;
                float *dp = dxr + (size_t)ix * C;
                const float *g = dyr + (size_t)ox * C;
                for (int d = -(r - 1); d <= r - 1; d++) {
                    const float *wp = wd + ((size_t)(d + r - 1) * khw + i * s->kw + j) * C;
                    int c0 = d < 0 ? -d : 0, c1 = d > 0 ? C - d : C;
#pragma omp simd
                    for (int c = c0; c < c1; c++) dp[c + d] += g[c] * wp[c];
                }
            }
    }
}

/* part[d][tap][c] += x[.., c + d] * dy[.., c] over output row (n, oy). */
static void sg_weights_row(const lqf_conv_shape *s, const float *x, const float *dy, float *part, int n, int oy) {
    const int C = s->cin, r = C / s->group, khw = s->kh * s->kw;
    const float *dyr = dy + ((size_t)n * s->oh + oy) * s->ow * C;
    for (int i = 0; i < s->kh; i++) {
        int iy = oy * s->sh - s->pt + i * s->dh;
        if (iy < 0 || iy >= s->h) continue;
        const float *xr = x + ((size_t)n * s->h + iy) * s->w * C;
        for (int j = 0; j < s->kw; j++)
            for (int ox = 0; ox < s->ow; ox++) {
                int ix = ox * s->sw - s->pl + j * s->dw;
                if (ix < 0 || ix >= s->w) continue;
                const float *xp = xr + (size_t)ix * C, *g = dyr + (size_t)ox * C;
                for (int d = -(r - 1); d <= r - 1; d++) {
                    float *pw = part + ((size_t)(d + r - 1) * khw + i * s->kw + j) * C;
                    int c0 = d < 0 ? -d : 0, c1 = d > 0 ? C - d : C;
#pragma omp simd
                    for (int c = c0; c < c1; c++) pw[c] += xp[c + d] * g[c];
                }
            }
    }
}

/* ------------------------------------------------------------------ entry points */

void lqf_conv2d_backward_data(const lqf_conv_shape *s, const float *dy, const float *w_packed,
                              float *dx, float *scratch) {
    if ((int64_t)s->n * s->oh * s->ow == 0 || s->cout == 0 || s->cin == 0) return;
    if (is_pointwise(s)) {
        int64_t m = (int64_t)s->n * s->h * s->w;
        /* dx (m x Cin) += dy (m x Cout) * W^T, W (Cin x Cout) */
        lqf_sgemm(0, 1, m, s->cin, s->cout, 1.0f, dy, s->cout, w_packed, s->cout, 1.0f, dx, s->cin);
        return;
    }
    if (is_depthwise(s)) {
        int64_t rows = (int64_t)s->n * s->h;
#pragma omp parallel for schedule(dynamic, 4)
        for (int64_t r = 0; r < rows; r++) dw_data_row(s, dy, w_packed, dx, (int)(r / s->h), (int)(r % s->h));
        return;
    }
    if (small_group(s)) {
        small_group_expand(s, w_packed, scratch);
        int64_t rows = (int64_t)s->n * s->h;
#pragma omp parallel for schedule(dynamic, 4)
        for (int64_t r = 0; r < rows; r++) sg_data_row(s, dy, scratch, dx, (int)(r / s->h), (int)(r % s->h));
        return;
    }
    const int64_t k = (int64_t)s->kh * s->kw * (s->cin / s->group);
    const size_t slot = (size_t)bw_tile_rows(s, k) * k + lqf_conv_weight_size(s);
    int nth = bw_slots();
    if (s->n >= 2 && nth > 1) {
        if (nth > s->n) nth = s->n;
#pragma omp parallel num_threads(nth)
        {
            float *col = scratch + (size_t)omp_get_thread_num() * slot;
#pragma omp for schedule(dynamic, 1)
            for (int n = 0; n < s->n; n++) general_data_img(s, dy, w_packed, dx, col, n);
        }
    } else {
        for (int n = 0; n < s->n; n++) general_data_img(s, dy, w_packed, dx, scratch, n);
    }
}

void lqf_conv2d_backward_weights(const lqf_conv_shape *s, const float *x, const float *dy,
                                 float *dw_packed, float *db, float *scratch) {
    if ((int64_t)s->n * s->oh * s->ow == 0 || s->cout == 0) return;
    if (db) lqf_bias_backward((int64_t)s->n * s->oh * s->ow, s->cout, dy, db);
    if (!dw_packed || s->cin == 0) return;
    int nth = bw_slots();
    if (is_pointwise(s)) {
        int64_t m = (int64_t)s->n * s->h * s->w;
        const size_t ws = (size_t)s->cin * s->cout;
        if (nth < 2 || m < 1024) {
            /* dW (Cin x Cout) += x^T (Cin x m) * dy (m x Cout) */
            lqf_sgemm(1, 0, s->cin, s->cout, m, 1.0f, x, s->cin, dy, s->cout, 1.0f, dw_packed, s->cout);
            return;
        }
        /* a small output with a long inner dimension: split the rows between threads (one
         * GEMM each into its own partial), then reduce; oneDNN alone splits it poorly */
#pragma omp parallel for num_threads(nth) schedule(static, 1)
        for (int t = 0; t < nth; t++) {
            int64_t m0 = m * t / nth, m1 = m * (t + 1) / nth;
            lqf_sgemm(1, 0, s->cin, s->cout, m1 - m0, 1.0f, x + m0 * s->cin, s->cin, dy + m0 * s->cout, s->cout,
                      0.0f, scratch + (size_t)t * ws, s->cout);
        }
#pragma omp parallel for schedule(static) if (ws > 16384)
        for (size_t i = 0; i < ws; i++) {
            float acc = 0.0f;
            for (int t = 0; t < nth; t++) acc += scratch[(size_t)t * ws + i];
            dw_packed[i] += acc;
        }
        return;
    }
    if (is_depthwise(s)) {
        const size_t ws = (size_t)s->kh * s->kw * s->cin;
        int64_t rows = (int64_t)s->n * s->oh;
        memset(scratch, 0, (size_t)nth * ws * sizeof(float));
#pragma omp parallel num_threads(nth)
        {
            float *part = scratch + (size_t)omp_get_thread_num() * ws;
#pragma omp for schedule(static) /* fixed rows per thread: the sums are reproducible */
            for (int64_t r = 0; r < rows; r++) dw_weights_row(s, x, dy, part, (int)(r / s->oh), (int)(r % s->oh));
        }
        for (int t = 0; t < nth; t++)
            for (size_t i = 0; i < ws; i++) dw_packed[i] += scratch[(size_t)t * ws + i];
        return;
    }
    if (small_group(s)) {
        const int r = s->cin / s->group, C = s->cin, khw = s->kh * s->kw;
        const size_t ps = (size_t)(2 * r - 1) * khw * C;
        int64_t rows = (int64_t)s->n * s->oh;
        memset(scratch, 0, (size_t)nth * ps * sizeof(float));
#pragma omp parallel num_threads(nth)
        {
            float *part = scratch + (size_t)omp_get_thread_num() * ps;
#pragma omp for schedule(static) /* fixed rows per thread: the sums are reproducible */
            for (int64_t q = 0; q < rows; q++) sg_weights_row(s, x, dy, part, (int)(q / s->oh), (int)(q % s->oh));
        }
        for (int d = -(r - 1); d <= r - 1; d++)
            for (int t = 0; t < khw; t++)
                for (int c = 0; c < C; c++) {
                    int g = c / r, co = c % r, ci = co + d;
                    if (ci < 0 || ci >= r) continue;
                    size_t idx = ((size_t)(d + r - 1) * khw + t) * C + c;
                    float acc = 0.0f;
                    for (int th = 0; th < nth; th++) acc += scratch[(size_t)th * ps + idx];
                    dw_packed[(size_t)g * khw * r * r + ((size_t)t * r + ci) * r + co] += acc;
                }
        return;
    }
    const int64_t k = (int64_t)s->kh * s->kw * (s->cin / s->group);
    const size_t ws = lqf_conv_weight_size(s);
    const size_t colsz = (size_t)bw_tile_rows(s, k) * k, slot = colsz + ws;
    if (s->n >= 2 && nth > 1) {
        if (nth > s->n) nth = s->n;
#pragma omp parallel num_threads(nth)
        {
            float *col = scratch + (size_t)omp_get_thread_num() * slot, *part = col + colsz;
            memset(part, 0, ws * sizeof(float));
#pragma omp for schedule(static) /* fixed images per thread: the sums are reproducible */
            for (int n = 0; n < s->n; n++) general_weights_img(s, x, dy, part, col, n);
        }
        /* reduce the partial sums, parallel over weight elements */
#pragma omp parallel for schedule(static) if (ws > 16384)
        for (size_t i = 0; i < ws; i++) {
            float acc = 0.0f;
            for (int t = 0; t < nth; t++) acc += scratch[(size_t)t * slot + colsz + i];
            dw_packed[i] += acc;
        }
    } else {
        for (int n = 0; n < s->n; n++) general_weights_img(s, x, dy, dw_packed, scratch, n);
    }
}
