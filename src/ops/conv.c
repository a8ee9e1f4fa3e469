/*
 * conv.c — 2-D convolution forward over channels-last tensors, for any kernel, stride,
 * padding, dilation and group count, with a fused epilogue (bias, activation, residual).
 *
 * Three paths, chosen from the shape:
 *   pointwise  1x1, stride 1, no padding, group 1: ONE GEMM over all N*OH*OW rows,
 *              (rows x Cin) * (Cin x Cout), then the epilogue in row blocks;
 *   depthwise  group == Cin == Cout: direct AVX-512 code vectorised over channels, one
 *              OpenMP task per output row (n, oy), epilogue applied in registers;
 *   general    everything else (dense 3x3, strided 1x1, grouped): NHWC im2col of a tile
 *              of output rows into scratch, GEMM per group, epilogue on the tile.
 * Packed weights: depthwise [KH][KW][C]; otherwise per group [G][KH][KW][Cin/G][Cout/G]
 * (the GEMM's K x N right-hand matrix, K ordered like the im2col rows).
 */
#include "ops/ops_internal.h"
#include "core/core.h"

#include <math.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

/* Floats of im2col scratch per tile (4 MB): bounds memory for any shape. */
#define IM2COL_BUDGET_DEFAULT (1 << 20)
static int64_t im2col_budget = IM2COL_BUDGET_DEFAULT;

void lqf_conv_set_im2col_budget(int64_t floats) {
    im2col_budget = floats > 0 ? floats : IM2COL_BUDGET_DEFAULT;
}

void lqf_conv_shape_init(lqf_conv_shape *s) {
    if (s->sh < 1) s->sh = 1;
    if (s->sw < 1) s->sw = 1;
    if (s->dh < 1) s->dh = 1;
    if (s->dw < 1) s->dw = 1;
    if (s->group < 1) s->group = 1;
    s->oh = (s->h + s->pt + s->pb - s->dh * (s->kh - 1) - 1) / s->sh + 1;
    s->ow = (s->w + s->pl + s->pr - s->dw * (s->kw - 1) - 1) / s->sw + 1;
    if (s->oh < 0) s->oh = 0;
    if (s->ow < 0) s->ow = 0;
}

static int is_depthwise(const lqf_conv_shape *s) {
    return s->group > 1 && s->group == s->cin && s->cout == s->cin;
}

static int is_pointwise(const lqf_conv_shape *s) {
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pl == 0 &&
           s->pb == 0 && s->pr == 0 && s->group == 1;
}

int64_t lqf_conv_macs(const lqf_conv_shape *s) {
    return (int64_t)s->oh * s->ow * s->cout * (s->cin / s->group) * s->kh * s->kw;
}

size_t lqf_conv_weight_size(const lqf_conv_shape *s) {
    return (size_t)s->cout * (size_t)(s->cin / s->group) * (size_t)s->kh * (size_t)s->kw;
}

/* Index of OIHW element (o, i, kh, kw) in the packed layout. */
static size_t packed_index(const lqf_conv_shape *s, int o, int i, int y, int x) {
    if (is_depthwise(s)) return ((size_t)y * s->kw + x) * s->cout + o;
    int cig = s->cin / s->group, cog = s->cout / s->group;
    int g = o / cog, og = o % cog;
    size_t k = ((size_t)y * s->kw + x) * cig + i;
    return (size_t)g * ((size_t)s->kh * s->kw * cig * cog) + k * cog + og;
}

void lqf_conv_pack_weights(const lqf_conv_shape *s, const float *w_oihw, float *w_packed) {
    int cig = s->cin / s->group;
    for (int o = 0; o < s->cout; o++)
        for (int i = 0; i < cig; i++)
            for (int y = 0; y < s->kh; y++)
                for (int x = 0; x < s->kw; x++)
                    w_packed[packed_index(s, o, i, y, x)] =
                        w_oihw[(((size_t)o * cig + i) * s->kh + y) * s->kw + x];
}

void lqf_conv_unpack_weights(const lqf_conv_shape *s, const float *w_packed, float *w_oihw) {
    int cig = s->cin / s->group;
    for (int o = 0; o < s->cout; o++)
        for (int i = 0; i < cig; i++)
            for (int y = 0; y < s->kh; y++)
                for (int x = 0; x < s->kw; x++)
                    w_oihw[(((size_t)o * cig + i) * s->kh + y) * s->kw + x] =
                        w_packed[packed_index(s, o, i, y, x)];
}

/* Output rows per im2col tile for a K-wide column matrix. */
static int64_t im2col_tile_rows(const lqf_conv_shape *s, int64_t k) {
    int64_t m = (int64_t)s->n * s->oh * s->ow;
    int64_t t = im2col_budget / (k > 0 ? k : 1);
    if (t < 16) t = 16;
    return t < m ? t : m;
}

size_t lqf_conv2d_scratch(const lqf_conv_shape *s) {
    if (is_depthwise(s) || is_pointwise(s)) return 0;
    int64_t k = (int64_t)s->kh * s->kw * (s->cin / s->group);
    return (size_t)(im2col_tile_rows(s, k) * k);
}

/* ------------------------------------------------------------------ pointwise */

/* Rows per epilogue block: a block of the output that stays in L2 (~256 KB). */
static int64_t epilogue_block_rows(int c) {
    int64_t r = 65536 / (c > 0 ? c : 1);
    return r < 1 ? 1 : r;
}

static void epilogue_parallel(const float *b, const lqf_epilogue *ep, int64_t m, int c, float *y) {
    if (lqf_epilogue_is_identity(b, ep)) return;
    int64_t br = epilogue_block_rows(c);
    int64_t nb = (m + br - 1) / br;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < nb; blk++) {
        int64_t r0 = blk * br;
        lqf_epilogue_rows(b, ep, r0, LQF_MIN(br, m - r0), c, y);
    }
}

/* x (M, Cin) * w (Cin, Cout) -> y (M, Cout) */
static void conv_pointwise(const lqf_conv_shape *s, const float *x, const float *w, const float *b,
                           const lqf_epilogue *ep, float *y) {
    int64_t m = (int64_t)s->n * s->h * s->w;
    lqf_sgemm(0, 0, m, s->cout, s->cin, 1.0f, x, s->cin, w, s->cout, 0.0f, y, s->cout);
    epilogue_parallel(b, ep, m, s->cout, y);
}

/* ------------------------------------------------------------------ depthwise */

#ifdef __AVX512F__
/* Epilogue on one 16-channel vector v of output row `r` (channels c..c+15 under mask m). */
static inline __m512 dw_act(__m512 v, const lqf_epilogue *ep, int c, __mmask16 m) {
    switch (ep->act) {
    case LQF_ACT_NONE: return v;
    case LQF_ACT_RELU: return _mm512_max_ps(v, _mm512_setzero_ps());
    case LQF_ACT_PRELU: {
        __m512 sl = ep->slope_shared ? _mm512_set1_ps(ep->slope[0])
                                     : _mm512_maskz_loadu_ps(m, ep->slope + c);
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(v, neg, v, sl);
    }
    case LQF_ACT_LEAKY: {
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(ep->alpha));
    }
    case LQF_ACT_SIGMOID: {
        float t[16];
        _mm512_storeu_ps(t, v);
        for (int i = 0; i < 16; i++) t[i] = 1.0f / (1.0f + expf(-t[i]));
        return _mm512_loadu_ps(t);
    }
    }
    return v;
}
#endif

/* One output row (n, oy) of a depthwise convolution: y[ox, c] for all ox, c. */
static void dw_row(const lqf_conv_shape *s, const float *x, const float *w, const float *b,
                   const lqf_epilogue *ep, int n, int oy, float *y) {
    const int C = s->cin, H = s->h, W = s->w;
    const float *xn = x + (size_t)n * H * W * C;
    int64_t row0 = ((int64_t)n * s->oh + oy) * s->ow;
    float *yr = y + row0 * C;
    const float *res = ep && ep->residual ? ep->residual + row0 * C : NULL;
    int ih0 = oy * s->sh - s->pt;
    int i0 = 0, i1 = s->kh;
    while (i0 < i1 && ih0 + i0 * s->dh < 0) i0++;
    while (i1 > i0 && ih0 + (i1 - 1) * s->dh >= H) i1--;
    for (int ox = 0; ox < s->ow; ox++) {
        int iw0 = ox * s->sw - s->pl;
        int j0 = 0, j1 = s->kw;
        while (j0 < j1 && iw0 + j0 * s->dw < 0) j0++;
        while (j1 > j0 && iw0 + (j1 - 1) * s->dw >= W) j1--;
        float *yo = yr + (size_t)ox * C;
#ifdef __AVX512F__
        for (int c = 0; c < C; c += 16) {
            __mmask16 m = C - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - c)) - 1);
            __m512 acc = b ? _mm512_maskz_loadu_ps(m, b + c) : _mm512_setzero_ps();
            for (int i = i0; i < i1; i++) {
                const float *xrow = xn + ((size_t)(ih0 + i * s->dh) * W) * C + c;
                const float *wrow = w + ((size_t)i * s->kw) * C + c;
                for (int j = j0; j < j1; j++) {
                    __m512 xv = _mm512_maskz_loadu_ps(m, xrow + (size_t)(iw0 + j * s->dw) * C);
                    __m512 wv = _mm512_maskz_loadu_ps(m, wrow + (size_t)j * C);
                    acc = _mm512_fmadd_ps(xv, wv, acc);
                }
            }
            if (ep) {
                acc = dw_act(acc, ep, c, m);
                if (res) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, res + (size_t)ox * C + c));
            }
            _mm512_mask_storeu_ps(yo + c, m, acc);
        }
#else
        for (int c = 0; c < C; c++) yo[c] = b ? b[c] : 0.0f;
        for (int i = i0; i < i1; i++) {
            const float *xrow = xn + ((size_t)(ih0 + i * s->dh) * W) * C;
            const float *wrow = w + ((size_t)i * s->kw) * C;
            for (int j = j0; j < j1; j++) {
                const float *xp = xrow + (size_t)(iw0 + j * s->dw) * C, *wp = wrow + (size_t)j * C;
#pragma omp simd
                for (int c = 0; c < C; c++) yo[c] += xp[c] * wp[c];
            }
        }
        lqf_epilogue_rows(NULL, ep, row0 + ox, 1, C, y);
#endif
    }
}

static void conv_depthwise(const lqf_conv_shape *s, const float *x, const float *w, const float *b,
                           const lqf_epilogue *ep, float *y) {
    int64_t rows = (int64_t)s->n * s->oh;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) dw_row(s, x, w, b, ep, (int)(r / s->oh), (int)(r % s->oh), y);
}

/* ------------------------------------------------------------------ general (im2col) */

/* col (nr, K) for output rows [r0, r0+nr) and group g, K ordered [kh][kw][cin/G]. */
static void im2col_tile(const lqf_conv_shape *s, const float *x, int g, int64_t r0, int64_t nr,
                        float *col) {
    const int cig = s->cin / s->group;
    const int64_t k = (int64_t)s->kh * s->kw * cig;
    const int64_t ohw = (int64_t)s->oh * s->ow;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < nr; r++) {
        int64_t p = r0 + r;
        int n = (int)(p / ohw);
        int rem = (int)(p % ohw);
        int oy = rem / s->ow, ox = rem % s->ow;
        float *dst = col + r * k;
        const float *xn = x + (size_t)n * s->h * s->w * s->cin + (size_t)g * cig;
        for (int i = 0; i < s->kh; i++) {
            int ih = oy * s->sh - s->pt + i * s->dh;
            if (ih < 0 || ih >= s->h) {
                memset(dst, 0, (size_t)s->kw * cig * sizeof(float));
                dst += (size_t)s->kw * cig;
                continue;
            }
            for (int j = 0; j < s->kw; j++, dst += cig) {
                int iw = ox * s->sw - s->pl + j * s->dw;
                if (iw < 0 || iw >= s->w) {
                    memset(dst, 0, (size_t)cig * sizeof(float));
                    continue;
                }
                const float *src = xn + ((size_t)ih * s->w + iw) * s->cin;
                if (cig <= 8) {
                    for (int c = 0; c < cig; c++) dst[c] = src[c];
                } else {
                    memcpy(dst, src, (size_t)cig * sizeof(float));
                }
            }
        }
    }
}

static void conv_general(const lqf_conv_shape *s, const float *x, const float *w, const float *b,
                         const lqf_epilogue *ep, float *y, float *col) {
    const int G = s->group, cig = s->cin / G, cog = s->cout / G;
    const int64_t k = (int64_t)s->kh * s->kw * cig;
    const int64_t m = (int64_t)s->n * s->oh * s->ow;
    const int64_t tile = im2col_tile_rows(s, k);
    for (int64_t r0 = 0; r0 < m; r0 += tile) {
        int64_t nr = LQF_MIN(tile, m - r0);
        for (int g = 0; g < G; g++) {
            im2col_tile(s, x, g, r0, nr, col);
            lqf_sgemm(0, 0, nr, cog, k, 1.0f, col, k, w + (size_t)g * k * cog, cog, 0.0f,
                      y + r0 * s->cout + (size_t)g * cog, s->cout);
        }
        if (!lqf_epilogue_is_identity(b, ep)) {
            int64_t br = epilogue_block_rows(s->cout);
            int64_t nb = (nr + br - 1) / br;
#pragma omp parallel for schedule(static)
            for (int64_t blk = 0; blk < nb; blk++) {
                int64_t q0 = r0 + blk * br;
                lqf_epilogue_rows(b, ep, q0, LQF_MIN(br, r0 + nr - q0), s->cout, y);
            }
        }
    }
}

void lqf_conv2d_forward(const lqf_conv_shape *s, const float *x, const float *w_packed,
                        const float *b, const lqf_epilogue *ep, float *y, float *scratch) {
    if ((int64_t)s->n * s->oh * s->ow == 0 || s->cout == 0) return;
    if (is_pointwise(s))
        conv_pointwise(s, x, w_packed, b, ep, y);
    else if (is_depthwise(s))
        conv_depthwise(s, x, w_packed, b, ep, y);
    else
        conv_general(s, x, w_packed, b, ep, y, scratch);
}
