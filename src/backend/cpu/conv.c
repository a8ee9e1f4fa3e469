/*
 * conv.c — 2-D convolution forward over channels-last tensors, for any kernel, stride,
 * padding, dilation and group count, with a fused epilogue (bias, activation, residual).
 *
 * Four paths, chosen from the shape:
 *   pointwise  1x1, stride 1, no padding, group 1: one GEMM over all N*OH*OW rows,
 *              (rows x Cin) * (Cin x Cout), cut into row tiles that threads take
 *              dynamically; each tile's epilogue runs right after its GEMM, in cache;
 *   depthwise  group == Cin == Cout: direct AVX-512 code vectorised over channels, one
 *              task per output row (n, oy); 3x3 stride 1/2 keeps the 9 weight vectors in
 *              registers and computes 4 outputs per step; epilogue applied in registers;
 *   few input  dense, Cin <= 4 (stems): direct broadcast-FMA code over blocks of output
 *   channels   pixels x 16-channel output blocks, no im2col;
 *   general    everything else (dense 3x3, strided 1x1, grouped): NHWC im2col of a tile
 *              of output rows into the thread's scratch slot, GEMM per group, epilogue.
 * Packed weights: depthwise [KH][KW][C]; otherwise per group [G][KH][KW][Cin/G][Cout/G]
 * (the GEMM's K x N right-hand matrix, K ordered like the im2col rows). x, y and the
 * residual must not alias.
 */
#include "backend/cpu/cpu_internal.h"
#include "core/core.h"

#include <math.h>
#include <omp.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

/* Floats of im2col scratch per tile (256 KB, an L2-sized tile) and tiles in flight at once
 * (at most this many threads work on one im2col convolution): scratch is bounded for any
 * shape and does not depend on the thread count. */
#define IM2COL_BUDGET_DEFAULT (1 << 16)
#define CONV_SLOTS 8
/* Multiply-adds below which a convolution runs on the calling thread alone: a parallel
 * region costs microseconds when the machine is idle and a scheduler quantum when another
 * process holds a core, more than tiny layers (batch 1, 7x7 maps) take. */
#define PAR_MIN_MACS_DEFAULT (1 << 20)
#define PAR_MIN_MACS_DW_DEFAULT (1 << 18)
static int64_t par_min_macs = PAR_MIN_MACS_DEFAULT, par_min_macs_dw = PAR_MIN_MACS_DW_DEFAULT;
static int64_t im2col_budget = IM2COL_BUDGET_DEFAULT;

void lqf_conv_set_im2col_budget(int64_t floats) {
    im2col_budget = floats > 0 ? floats : IM2COL_BUDGET_DEFAULT;
    par_min_macs = floats > 0 ? 0 : PAR_MIN_MACS_DEFAULT;
    par_min_macs_dw = floats > 0 ? 0 : PAR_MIN_MACS_DW_DEFAULT;
}

/* One filter per channel (also the single-channel dense conv, whose packed layout is the
 * same). */
static int is_depthwise(const lqf_conv_shape *s) {
    return s->group == s->cin && s->cout == s->cin;
}

static int is_pointwise(const lqf_conv_shape *s) {
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pl == 0 &&
           s->pb == 0 && s->pr == 0 && s->group == 1;
}

static int is_few_channels(const lqf_conv_shape *s);

/* Kernel taps [*t0, *t1) of a window starting at input position `base` (o*stride - pad)
 * that fall inside an input of extent n. */
static inline void tap_range(int base, int k, int dil, int n, int *t0, int *t1) {
    int a = 0, b = k;
    while (a < b && base + a * dil < 0) a++;
    while (b > a && base + (b - 1) * dil >= n) b--;
    *t0 = a;
    *t1 = b;
}

/* Output columns [*oa, *ob) whose horizontal taps all lie inside the input. */
static inline void interior_cols(const lqf_conv_shape *s, int *oa, int *ob) {
    int a = (s->pl + s->sw - 1) / s->sw;
    int last = s->w - 1 - (s->kw - 1) * s->dw + s->pl; /* ox * sw <= last */
    int b = last < 0 ? 0 : last / s->sw + 1;
    if (b > s->ow) b = s->ow;
    if (a > b) a = b;
    *oa = a;
    *ob = b;
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

/* Output rows per im2col tile for a K-wide column matrix (the most a tile may hold). */
static int64_t im2col_tile_rows(const lqf_conv_shape *s, int64_t k) {
    int64_t m = (int64_t)s->n * s->oh * s->ow;
    int64_t t = im2col_budget / (k > 0 ? k : 1);
    if (t < 16) t = 16;
    if (t > 1024) t = 1024;
    return t < m ? t : m;
}

size_t lqf_conv2d_scratch(const lqf_conv_shape *s) {
    if (is_depthwise(s) || is_pointwise(s) || is_few_channels(s)) return 0;
    int64_t k = (int64_t)s->kh * s->kw * (s->cin / s->group);
    return (size_t)(CONV_SLOTS * im2col_tile_rows(s, k) * k);
}

/* ------------------------------------------------------------------ pointwise */

/* The tiled paths call one single-threaded GEMM per tile from inside a parallel region.
 * When the region's if-clause serialised it (small layers), oneDNN would not see an active
 * region and would open a nested team of its own, creating threads on every call (10x the
 * time of the product itself); this keeps it on the calling thread. The setting belongs
 * to the region's implicit task and ends with the region. */
static inline void gemm_on_this_thread(void) {
    if (!omp_in_parallel()) omp_set_num_threads(1);
}

/* Row tiles for m output rows split between nth threads: at least 4 tiles per thread
 * when the shape allows (dynamic scheduling then evens out a thread that the OS delays),
 * a multiple of 16 rows, at most cap rows. */
static int64_t balanced_tile(int64_t m, int nth, int64_t cap) {
    int64_t t = (m + 4 * nth - 1) / (4 * nth);
    t = (t + 15) / 16 * 16;
    if (t > cap) t = cap;
    return t < 1 ? 1 : t;
}

/* x (M, Cin) * w (Cin, Cout) -> y (M, Cout), M = N*H*W: one GEMM over all rows, cut into
 * row tiles that threads take dynamically; each tile's epilogue runs right after its
 * (single-threaded) GEMM while the tile is in cache. */
static void conv_pointwise(const lqf_conv_shape *s, const float *x, const float *w, const float *b,
                           const lqf_epilogue *ep, float *y) {
    const int64_t m = (int64_t)s->n * s->h * s->w;
    const int nth = omp_get_max_threads();
    const int par = nth > 1 && m * s->cin * s->cout >= par_min_macs;
    const int64_t tile = par ? balanced_tile(m, nth, 1024) : LQF_MIN(m, 1024);
    const int64_t ntiles = (m + tile - 1) / tile;
#pragma omp parallel if (par && ntiles > 1)
    {
        gemm_on_this_thread();
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntiles; t++) {
            int64_t r0 = t * tile, nr = LQF_MIN(tile, m - r0);
            lqf_sgemm(0, 0, nr, s->cout, s->cin, 1.0f, x + r0 * s->cin, s->cin, w, s->cout, 0.0f,
                      y + r0 * s->cout, s->cout);
            lqf_epilogue_rows(b, ep, r0, nr, s->cout, y);
        }
    }
}

/* ------------------------------------------------------------------ depthwise */

#ifdef __AVX512F__
/* Per-16-channel-block epilogue state: bias, slope (PReLU/LeakyReLU/ReLU all become
 * "multiply the negatives by slope"), residual row. */
typedef struct {
    int act;      /* 0 none, 1 negative-slope, 2 sigmoid */
    __m512 slope;
} dw_ep;

static inline dw_ep dw_ep_block(const lqf_epilogue *ep, int c, __mmask16 m) {
    dw_ep e = {0, _mm512_setzero_ps()};
    if (!ep) return e;
    switch (ep->act) {
    case LQF_ACT_NONE: break;
    case LQF_ACT_RELU: e.act = 1; break;
    case LQF_ACT_PRELU:
        e.act = 1;
        e.slope = ep->slope_shared ? _mm512_set1_ps(ep->slope[0]) : _mm512_maskz_loadu_ps(m, ep->slope + c);
        break;
    case LQF_ACT_LEAKY: e.act = 1; e.slope = _mm512_set1_ps(ep->alpha); break;
    case LQF_ACT_SIGMOID: e.act = 2; break;
    }
    return e;
}

/* act(acc) + residual, stored to y under mask m. */
static inline void dw_store(__m512 acc, const dw_ep *e, const float *res, float *y, __mmask16 m) {
    if (e->act == 1) {
        __mmask16 neg = _mm512_cmp_ps_mask(acc, _mm512_setzero_ps(), _CMP_LT_OQ);
        acc = _mm512_mask_mul_ps(acc, neg, acc, e->slope);
    } else if (e->act == 2) {
        float t[16];
        _mm512_storeu_ps(t, acc);
        for (int i = 0; i < 16; i++) t[i] = 1.0f / (1.0f + expf(-t[i]));
        acc = _mm512_loadu_ps(t);
    }
    if (res) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, res));
    _mm512_mask_storeu_ps(y, m, acc);
}

/* 3x3 depthwise, no dilation, stride SW (1 or 2), over the interior columns [oxa, oxb) of
 * one output row: 4 outputs at a time share their input loads (6 loads per kernel row for
 * 12 FMAs at stride 1). CT is the channel count when known at compile time (0: runtime C),
 * so input offsets become immediate displacements. xr[i] points at input row i of the
 * window at column 0, or is NULL where that row lies in the padding. */
#define DW_FMA3(acc, va, vb, vc, w0, w1, w2) \
    acc = _mm512_fmadd_ps(va, w0, acc);      \
    acc = _mm512_fmadd_ps(vb, w1, acc);      \
    acc = _mm512_fmadd_ps(vc, w2, acc)

static inline __attribute__((always_inline)) void
dw3_row4(const int SW, const float *p, const int64_t C, const __m512 w0, const __m512 w1, const __m512 w2,
         __m512 *a0, __m512 *a1, __m512 *a2, __m512 *a3, __mmask16 m) {
#define DW_LD(q) _mm512_maskz_loadu_ps(m, p + (q) * C)
    if (SW == 1) {
        __m512 v0 = DW_LD(0), v1 = DW_LD(1), v2 = DW_LD(2), v3 = DW_LD(3), v4 = DW_LD(4), v5 = DW_LD(5);
        DW_FMA3(*a0, v0, v1, v2, w0, w1, w2);
        DW_FMA3(*a1, v1, v2, v3, w0, w1, w2);
        DW_FMA3(*a2, v2, v3, v4, w0, w1, w2);
        DW_FMA3(*a3, v3, v4, v5, w0, w1, w2);
    } else {
        __m512 v0 = DW_LD(0), v1 = DW_LD(1), v2 = DW_LD(2), v3 = DW_LD(3), v4 = DW_LD(4);
        DW_FMA3(*a0, v0, v1, v2, w0, w1, w2);
        DW_FMA3(*a1, v2, v3, v4, w0, w1, w2);
        __m512 v5 = DW_LD(5), v6 = DW_LD(6), v7 = DW_LD(7), v8 = DW_LD(8);
        DW_FMA3(*a2, v4, v5, v6, w0, w1, w2);
        DW_FMA3(*a3, v6, v7, v8, w0, w1, w2);
    }
#undef DW_LD
}

static inline __attribute__((always_inline)) void
dw3_span(const int CT, const int SW, int Crt, int pl, int W, int ow, const float *const xr[3], const float *w,
         const float *b, const lqf_epilogue *ep, int oxa, int oxb, const float *res, float *yr) {
    const int64_t C = CT ? CT : Crt;
    const int has[3] = {xr[0] != NULL, xr[1] != NULL, xr[2] != NULL};
    const float *x0 = xr[0], *x1 = xr[1], *x2 = xr[2];
    for (int64_t c = 0; c < C; c += 16) {
        __mmask16 m = CT || C - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - c)) - 1);
        const __m512 bias = b ? _mm512_maskz_loadu_ps(m, b + c) : _mm512_setzero_ps();
        /* Weights of the 16-channel block in registers; a kernel row in the padding gets
         * zero weights and is then not read (has[]). */
        __m512 wv[9];
        for (int t = 0; t < 9; t++)
            wv[t] = has[t / 3] ? _mm512_maskz_loadu_ps(m, w + t * C + c) : _mm512_setzero_ps();
        const dw_ep e = dw_ep_block(ep, (int)c, m);
        /* Border columns: taps outside the input skipped (j0 <= j < j1). */
        for (int bx = 0; bx < ow; bx++) {
            if (bx == oxa) bx = oxb > oxa ? oxb : oxa;
            if (bx >= ow) break;
            const int iw0 = bx * SW - pl, j0 = iw0 < 0 ? -iw0 : 0, j1 = W - iw0 < 3 ? W - iw0 : 3;
            __m512 a0 = bias;
            for (int i = 0; i < 3; i++) {
                if (!has[i]) continue;
                const float *xrow = i == 0 ? x0 : i == 1 ? x1 : x2;
                for (int j = j0; j < j1; j++)
                    a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xrow + (int64_t)(iw0 + j) * C + c),
                                         _mm512_maskz_loadu_ps(m, w + (i * 3 + j) * C + c), a0);
            }
            const int64_t o = (int64_t)bx * C + c;
            dw_store(a0, &e, res ? res + o : NULL, yr + o, m);
        }
        int ox = oxa;
        for (; ox + 4 <= oxb; ox += 4) {
            const int64_t base = (int64_t)(ox * SW - pl) * C + c, o = (int64_t)ox * C + c;
            __m512 a0 = bias, a1 = bias, a2 = bias, a3 = bias;
            if (has[0]) dw3_row4(SW, x0 + base, C, wv[0], wv[1], wv[2], &a0, &a1, &a2, &a3, m);
            if (has[1]) dw3_row4(SW, x1 + base, C, wv[3], wv[4], wv[5], &a0, &a1, &a2, &a3, m);
            if (has[2]) dw3_row4(SW, x2 + base, C, wv[6], wv[7], wv[8], &a0, &a1, &a2, &a3, m);
            const float *rc = res ? res + o : NULL;
            dw_store(a0, &e, rc, yr + o, m);
            dw_store(a1, &e, rc ? rc + C : NULL, yr + o + C, m);
            dw_store(a2, &e, rc ? rc + 2 * C : NULL, yr + o + 2 * C, m);
            dw_store(a3, &e, rc ? rc + 3 * C : NULL, yr + o + 3 * C, m);
        }
        for (; ox < oxb; ox++) {
            const int64_t base = (int64_t)(ox * SW - pl) * C + c, o = (int64_t)ox * C + c;
            __m512 a0 = bias;
            const float *p;
            if (has[0]) {
                p = x0 + base;
                DW_FMA3(a0, _mm512_maskz_loadu_ps(m, p), _mm512_maskz_loadu_ps(m, p + C),
                        _mm512_maskz_loadu_ps(m, p + 2 * C), wv[0], wv[1], wv[2]);
            }
            if (has[1]) {
                p = x1 + base;
                DW_FMA3(a0, _mm512_maskz_loadu_ps(m, p), _mm512_maskz_loadu_ps(m, p + C),
                        _mm512_maskz_loadu_ps(m, p + 2 * C), wv[3], wv[4], wv[5]);
            }
            if (has[2]) {
                p = x2 + base;
                DW_FMA3(a0, _mm512_maskz_loadu_ps(m, p), _mm512_maskz_loadu_ps(m, p + C),
                        _mm512_maskz_loadu_ps(m, p + 2 * C), wv[6], wv[7], wv[8]);
            }
            dw_store(a0, &e, res ? res + o : NULL, yr + o, m);
        }
    }
}

static void dw3_span_dispatch(int sw, int C, int pl, int W, int ow, const float *const xr[3], const float *w,
                              const float *b, const lqf_epilogue *ep, int oxa, int oxb, const float *res, float *yr) {
#define DW_CASE(CT)                                                                          \
    if (sw == 1) dw3_span(CT, 1, C, pl, W, ow, xr, w, b, ep, oxa, oxb, res, yr);              \
    else dw3_span(CT, 2, C, pl, W, ow, xr, w, b, ep, oxa, oxb, res, yr);                      \
    return
    switch (C) {
    case 16: DW_CASE(16);
    case 32: DW_CASE(32);
    case 64: DW_CASE(64);
    case 128: DW_CASE(128);
    case 256: DW_CASE(256);
    case 512: DW_CASE(512);
    default: DW_CASE(0);
    }
#undef DW_CASE
}

/* Output pixel ox of the row, all channels, taps clipped to the input (any kernel). */
static void dw_pixel(const lqf_conv_shape *s, const float *xn, const float *w, const float *b,
                     const lqf_epilogue *ep, int ih0, int i0, int i1, int ox, const float *res, float *yo) {
    const int C = s->cin, W = s->w;
    int iw0 = ox * s->sw - s->pl;
    int j0, j1;
    tap_range(iw0, s->kw, s->dw, W, &j0, &j1);
    for (int c = 0; c < C; c += 16) {
        __mmask16 m = C - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (C - c)) - 1);
        __m512 acc0 = b ? _mm512_maskz_loadu_ps(m, b + c) : _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        for (int i = i0; i < i1; i++) {
            const float *xrow = xn + ((size_t)(ih0 + i * s->dh) * W) * C + c;
            const float *wrow = w + ((size_t)i * s->kw) * C + c;
            int j = j0;
            for (; j + 1 < j1; j += 2) {
                acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xrow + (size_t)(iw0 + j * s->dw) * C),
                                       _mm512_maskz_loadu_ps(m, wrow + (size_t)j * C), acc0);
                acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xrow + (size_t)(iw0 + (j + 1) * s->dw) * C),
                                       _mm512_maskz_loadu_ps(m, wrow + (size_t)(j + 1) * C), acc1);
            }
            if (j < j1)
                acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xrow + (size_t)(iw0 + j * s->dw) * C),
                                       _mm512_maskz_loadu_ps(m, wrow + (size_t)j * C), acc0);
        }
        dw_ep e = dw_ep_block(ep, c, m);
        dw_store(_mm512_add_ps(acc0, acc1), &e, res ? res + c : NULL, yo + c, m);
    }
}
#endif

/* One output row (n, oy) of a depthwise convolution: y[ox, c] for all ox, c. */
static void dw_row(const lqf_conv_shape *s, const float *x, const float *w, const float *b,
                   const lqf_epilogue *ep, int n, int oy, float *y) {
    const int C = s->cin, H = s->h, W = s->w;
    const float *xn = x + (size_t)n * H * W * C;
    int64_t row0 = ((int64_t)n * s->oh + oy) * s->ow;
    float *yr = y + row0 * C;
    int ih0 = oy * s->sh - s->pt, i0, i1;
    tap_range(ih0, s->kh, s->dh, H, &i0, &i1);
#ifdef __AVX512F__
    const float *res = ep && ep->residual ? ep->residual + row0 * C : NULL;
    int oxa, oxb;
    interior_cols(s, &oxa, &oxb);
    /* Fast path: 3x3, no dilation, stride 1 or 2; kernel rows in the padding are skipped. */
    int fast = s->kh == 3 && s->kw == 3 && s->dh == 1 && s->dw == 1 && (s->sw == 1 || s->sw == 2) && i1 > i0;
    if (fast) {
        const float *xr[3];
        for (int i = 0; i < 3; i++) xr[i] = i >= i0 && i < i1 ? xn + (size_t)(ih0 + i) * W * C : NULL;
        dw3_span_dispatch(s->sw, C, s->pl, W, s->ow, xr, w, b, ep, oxa, oxb, res, yr);
        return;
    }
    for (int ox = 0; ox < s->ow; ox++)
        dw_pixel(s, xn, w, b, ep, ih0, i0, i1, ox, res ? res + (size_t)ox * C : NULL, yr + (size_t)ox * C);
#else
    for (int ox = 0; ox < s->ow; ox++) {
        int iw0 = ox * s->sw - s->pl;
        int j0, j1;
        tap_range(iw0, s->kw, s->dw, W, &j0, &j1);
        float *yo = yr + (size_t)ox * C;
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
    }
#endif
}

static void conv_depthwise(const lqf_conv_shape *s, const float *x, const float *w, const float *b,
                           const lqf_epilogue *ep, float *y) {
    int64_t rows = (int64_t)s->n * s->oh;
#pragma omp parallel for schedule(dynamic, 4) if (lqf_conv_macs(s) * s->n >= par_min_macs_dw)
    for (int64_t r = 0; r < rows; r++) dw_row(s, x, w, b, ep, (int)(r / s->oh), (int)(r % s->oh), y);
}

/* ------------------------------------------------------------------ general (im2col) */

void lqf_conv_im2col(const lqf_conv_shape *s, const float *x, int g, int64_t r0, int64_t nr, float *col) {
    const int cig = s->cin / s->group;
    const int64_t k = (int64_t)s->kh * s->kw * cig;
    const int64_t ohw = (int64_t)s->oh * s->ow;
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
            const float *xrow = xn + (size_t)ih * s->w * s->cin;
            for (int j = 0; j < s->kw; j++, dst += cig) {
                int iw = ox * s->sw - s->pl + j * s->dw;
                if (iw < 0 || iw >= s->w) {
                    memset(dst, 0, (size_t)cig * sizeof(float));
                    continue;
                }
                const float *src = xrow + (size_t)iw * s->cin;
                if (cig <= 8) {
                    for (int c = 0; c < cig; c++) dst[c] = src[c];
                } else {
                    memcpy(dst, src, (size_t)cig * sizeof(float));
                }
            }
        }
    }
}

/* Tiles of output rows are independent: each thread takes tiles dynamically, builds the
 * tile's columns in its own scratch slot, multiplies (single-threaded GEMM, oneDNN sees the
 * enclosing parallel region) and applies the epilogue while the tile is in cache. */
static void conv_general(const lqf_conv_shape *s, const float *x, const float *w, const float *b,
                         const lqf_epilogue *ep, float *y, float *col) {
    const int G = s->group, cig = s->cin / G, cog = s->cout / G;
    const int64_t k = (int64_t)s->kh * s->kw * cig;
    const int64_t m = (int64_t)s->n * s->oh * s->ow;
    const int64_t tmax = im2col_tile_rows(s, k);
    int nth = omp_get_max_threads();
    if (nth > CONV_SLOTS) nth = CONV_SLOTS;
    const int par = nth > 1 && lqf_conv_macs(s) * s->n >= par_min_macs;
    const int64_t tile = par ? balanced_tile(m, nth, tmax) : tmax;
    const int64_t ntiles = (m + tile - 1) / tile;
#pragma omp parallel num_threads(nth) if (par && ntiles > 1)
    {
        gemm_on_this_thread();
        float *slot = col + (size_t)omp_get_thread_num() * tmax * k;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntiles; t++) {
            int64_t r0 = t * tile, nr = LQF_MIN(tile, m - r0);
            for (int g = 0; g < G; g++) {
                lqf_conv_im2col(s, x, g, r0, nr, slot);
                lqf_sgemm(0, 0, nr, cog, k, 1.0f, slot, k, w + (size_t)g * k * cog, cog, 0.0f,
                          y + r0 * s->cout + (size_t)g * cog, s->cout);
            }
            lqf_epilogue_rows(b, ep, r0, nr, s->cout, y);
        }
    }
}

/* ------------------------------------------------------------------ few input channels */

/* Dense convolutions with few input channels (network stems: 3 -> 8..64 channels) run
 * directly on the NHWC input: an im2col GEMM would have K = 27 and a narrow N, far from
 * peak. Each step keeps a U x NB block of accumulators (U output pixels x NB blocks of 16
 * output channels) and, per kernel tap and input channel, broadcasts U inputs against NB
 * weight vectors. */
static int is_few_channels(const lqf_conv_shape *s) {
    return s->group == 1 && s->cin <= 4 && !is_pointwise(s) && s->cout >= 8;
}

#ifdef __AVX512F__
static inline __mmask16 tail_mask(int left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

/* Outputs ox .. ox+U-1 (all taps horizontally inside the input), channels co0 ..
 * co0+16*NB-1 (the last block masked by mlast). */
static inline __attribute__((always_inline)) void
fc_block(const int U, const int NB, const lqf_conv_shape *s, const float *xn, const float *w, const float *b,
         int ih0, int i0, int i1, int ox, int co0, __mmask16 mlast, float *yrow) {
    const int Cin = s->cin, Cout = s->cout;
    __m512 acc[8][4];
    for (int nb = 0; nb < NB; nb++) {
        __mmask16 m = nb == NB - 1 ? mlast : (__mmask16)0xFFFF;
        __m512 bv = b ? _mm512_maskz_loadu_ps(m, b + co0 + 16 * nb) : _mm512_setzero_ps();
        for (int u = 0; u < U; u++) acc[u][nb] = bv;
    }
    const int64_t xstep = (int64_t)s->sw * Cin;
    for (int i = i0; i < i1; i++) {
        const float *xrow = xn + (int64_t)(ih0 + i * s->dh) * s->w * Cin;
        for (int j = 0; j < s->kw; j++) {
            const float *xp = xrow + (int64_t)(ox * s->sw - s->pl + j * s->dw) * Cin;
            const float *wt = w + (int64_t)((i * s->kw + j) * Cin) * Cout + co0;
            for (int ci = 0; ci < Cin; ci++, wt += Cout) {
                __m512 wv[4];
                for (int nb = 0; nb < NB; nb++)
                    wv[nb] = _mm512_maskz_loadu_ps(nb == NB - 1 ? mlast : (__mmask16)0xFFFF, wt + 16 * nb);
                for (int u = 0; u < U; u++) {
                    __m512 xb = _mm512_set1_ps(xp[u * xstep + ci]);
                    for (int nb = 0; nb < NB; nb++) acc[u][nb] = _mm512_fmadd_ps(xb, wv[nb], acc[u][nb]);
                }
            }
        }
    }
    for (int u = 0; u < U; u++)
        for (int nb = 0; nb < NB; nb++)
            _mm512_mask_storeu_ps(yrow + (int64_t)(ox + u) * Cout + co0 + 16 * nb,
                                  nb == NB - 1 ? mlast : (__mmask16)0xFFFF, acc[u][nb]);
}

/* One output pixel with the horizontal taps clipped to the input (image borders). */
static void fc_pixel(const lqf_conv_shape *s, const float *xn, const float *w, const float *b, int ih0, int i0,
                     int i1, int ox, float *yrow) {
    const int Cin = s->cin, Cout = s->cout;
    int iw0 = ox * s->sw - s->pl, j0, j1;
    tap_range(iw0, s->kw, s->dw, s->w, &j0, &j1);
    for (int co = 0; co < Cout; co += 16) {
        __mmask16 m = tail_mask(Cout - co);
        __m512 acc = b ? _mm512_maskz_loadu_ps(m, b + co) : _mm512_setzero_ps();
        for (int i = i0; i < i1; i++)
            for (int j = j0; j < j1; j++) {
                const float *xp = xn + ((int64_t)(ih0 + i * s->dh) * s->w + iw0 + j * s->dw) * Cin;
                const float *wt = w + (int64_t)((i * s->kw + j) * Cin) * Cout + co;
                for (int ci = 0; ci < Cin; ci++)
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(xp[ci]), _mm512_maskz_loadu_ps(m, wt + (int64_t)ci * Cout),
                                          acc);
            }
        _mm512_mask_storeu_ps(yrow + (int64_t)ox * Cout + co, m, acc);
    }
}

/* Interior outputs [oxa, oxb) for channel blocks of NB: U pixels at a time, then singles. */
static inline __attribute__((always_inline)) void
fc_span(const int U, const int NB, const lqf_conv_shape *s, const float *xn, const float *w, const float *b, int ih0,
        int i0, int i1, int oxa, int oxb, int co0, __mmask16 mlast, float *yrow) {
    int ox = oxa;
    for (; ox + U <= oxb; ox += U) fc_block(U, NB, s, xn, w, b, ih0, i0, i1, ox, co0, mlast, yrow);
    for (; ox < oxb; ox++) fc_block(1, NB, s, xn, w, b, ih0, i0, i1, ox, co0, mlast, yrow);
}
#endif

static void conv_few_channels(const lqf_conv_shape *s, const float *x, const float *w, const float *b,
                              const lqf_epilogue *ep, float *y) {
    const int64_t rows = (int64_t)s->n * s->oh;
#pragma omp parallel for schedule(dynamic, 2) if (lqf_conv_macs(s) * s->n >= par_min_macs)
    for (int64_t r = 0; r < rows; r++) {
        int n = (int)(r / s->oh), oy = (int)(r % s->oh);
        const float *xn = x + (int64_t)n * s->h * s->w * s->cin;
        float *yrow = y + r * s->ow * s->cout;
        int ih0 = oy * s->sh - s->pt, i0, i1;
        tap_range(ih0, s->kh, s->dh, s->h, &i0, &i1);
#ifdef __AVX512F__
        int oxa, oxb;
        interior_cols(s, &oxa, &oxb);
        for (int ox = 0; ox < oxa; ox++) fc_pixel(s, xn, w, b, ih0, i0, i1, ox, yrow);
        for (int co0 = 0; co0 < s->cout; co0 += 64) {
            int left = s->cout - co0, nb = left >= 64 ? 4 : (left + 15) / 16;
            __mmask16 ml = tail_mask(left - 16 * (nb - 1));
            switch (nb) {
            case 4: fc_span(4, 4, s, xn, w, b, ih0, i0, i1, oxa, oxb, co0, ml, yrow); break;
            case 3: fc_span(5, 3, s, xn, w, b, ih0, i0, i1, oxa, oxb, co0, ml, yrow); break;
            case 2: fc_span(8, 2, s, xn, w, b, ih0, i0, i1, oxa, oxb, co0, ml, yrow); break;
            default: fc_span(8, 1, s, xn, w, b, ih0, i0, i1, oxa, oxb, co0, ml, yrow); break;
            }
        }
        for (int ox = oxb; ox < s->ow; ox++) fc_pixel(s, xn, w, b, ih0, i0, i1, ox, yrow);
        lqf_epilogue_rows(NULL, ep, r * s->ow, s->ow, s->cout, y);
#else
        for (int ox = 0; ox < s->ow; ox++) {
            float *yo = yrow + (int64_t)ox * s->cout;
            for (int co = 0; co < s->cout; co++) yo[co] = b ? b[co] : 0.0f;
            int iw0 = ox * s->sw - s->pl;
            for (int i = i0; i < i1; i++)
                for (int j = 0; j < s->kw; j++) {
                    int iw = iw0 + j * s->dw;
                    if (iw < 0 || iw >= s->w) continue;
                    const float *xp = xn + ((int64_t)(ih0 + i * s->dh) * s->w + iw) * s->cin;
                    const float *wt = w + (int64_t)((i * s->kw + j) * s->cin) * s->cout;
                    for (int ci = 0; ci < s->cin; ci++)
#pragma omp simd
                        for (int co = 0; co < s->cout; co++) yo[co] += xp[ci] * wt[(int64_t)ci * s->cout + co];
                }
        }
        lqf_epilogue_rows(NULL, ep, r * s->ow, s->ow, s->cout, y);
#endif
    }
}

void lqf_conv2d_forward(const lqf_conv_shape *s, const float *x, const float *w_packed,
                        const float *b, const lqf_epilogue *ep, float *y, float *scratch) {
    if ((int64_t)s->n * s->oh * s->ow == 0 || s->cout == 0) return;
    if (is_pointwise(s))
        conv_pointwise(s, x, w_packed, b, ep, y);
    else if (is_depthwise(s))
        conv_depthwise(s, x, w_packed, b, ep, y);
    else if (is_few_channels(s))
        conv_few_channels(s, x, w_packed, b, ep, y);
    else
        conv_general(s, x, w_packed, b, ep, y, scratch);
}
