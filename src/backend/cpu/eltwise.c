/*
 * eltwise.c — per-element kernels over channels-last data: activations (ReLU, PReLU per
 * channel or shared, LeakyReLU, Sigmoid), exp, the graph's Unary functions (sqrt, tanh,
 * clip, abs, neg, reciprocal), y += alpha*x, and the fused convolution epilogue
 * (bias + activation + residual) that the convolution paths apply to output rows while
 * they are still in cache. Rows are independent, so every loop is OpenMP-parallel over
 * rows and SIMD over channels.
 */
#include "backend/cpu/cpu_internal.h"

#include <math.h>
#include <string.h>

int lqf_epilogue_is_identity(const float *b, const lqf_epilogue *ep) {
    return !b && (!ep || (ep->act == LQF_ACT_NONE && !ep->residual));
}

/* One row y (c) = act(x + b) + r; x and y may alias; b, r may be NULL. */
static inline void row_epilogue(const float *restrict b, lqf_act act, const float *slope,
                                int slope_shared, float alpha, const float *r, int c,
                                const float *x, float *y) {
    if (b) {
#pragma omp simd
        for (int i = 0; i < c; i++) y[i] = x[i] + b[i];
        x = y;
    }
    switch (act) {
    case LQF_ACT_NONE:
        if (x != y) memcpy(y, x, (size_t)c * sizeof(float));
        break;
    case LQF_ACT_RELU:
#pragma omp simd
        for (int i = 0; i < c; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case LQF_ACT_PRELU:
        if (slope_shared) {
            float s = slope[0];
#pragma omp simd
            for (int i = 0; i < c; i++) y[i] = x[i] > 0.0f ? x[i] : x[i] * s;
        } else {
#pragma omp simd
            for (int i = 0; i < c; i++) y[i] = x[i] > 0.0f ? x[i] : x[i] * slope[i];
        }
        break;
    case LQF_ACT_LEAKY:
#pragma omp simd
        for (int i = 0; i < c; i++) y[i] = x[i] > 0.0f ? x[i] : x[i] * alpha;
        break;
    case LQF_ACT_SIGMOID:
        for (int i = 0; i < c; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    }
    if (r) {
#pragma omp simd
        for (int i = 0; i < c; i++) y[i] += r[i];
    }
}

/* One row y = act(y + b) + r in a single pass for the activations that are "scale the
 * negatives" (none, ReLU, PReLU, LeakyReLU): the common convolution epilogue. HB (bias),
 * HS (0 no activation, 1 per-channel slope, 2 one slope) and HR (residual) are constants
 * after inlining: absent operands are never touched (no pointer selects in the loop, which
 * the compiler would turn into masked loads from NULL, each a slow fault-suppression assist). */
static inline __attribute__((always_inline)) void
row_fused(const int HB, const int HS, const int HR, const float *restrict b, const float *restrict slope,
          float s1, const float *restrict r, int c, float *restrict y) {
#pragma omp simd
    for (int i = 0; i < c; i++) {
        float v = y[i];
        if (HB) v += b[i];
        if (HS == 1) v = v < 0.0f ? v * slope[i] : v;
        if (HS == 2) v = v < 0.0f ? v * s1 : v;
        if (HR) v += r[i];
        y[i] = v;
    }
}

static void rows_fused(const float *b, const float *slope, float s1, int hs, const float *res, int64_t row0,
                       int64_t nrows, int c, float *y) {
    int code = (b ? 1 : 0) | hs << 1 | (res ? 8 : 0);
    for (int64_t r = row0; r < row0 + nrows; r++) {
        float *yr = y + r * c;
        const float *rr = res ? res + r * c : NULL;
        switch (code) {
        case 0: break;
        case 1: row_fused(1, 0, 0, b, slope, s1, rr, c, yr); break;
        case 2: row_fused(0, 1, 0, b, slope, s1, rr, c, yr); break;
        case 3: row_fused(1, 1, 0, b, slope, s1, rr, c, yr); break;
        case 4: row_fused(0, 2, 0, b, slope, s1, rr, c, yr); break;
        case 5: row_fused(1, 2, 0, b, slope, s1, rr, c, yr); break;
        case 8: row_fused(0, 0, 1, b, slope, s1, rr, c, yr); break;
        case 9: row_fused(1, 0, 1, b, slope, s1, rr, c, yr); break;
        case 10: row_fused(0, 1, 1, b, slope, s1, rr, c, yr); break;
        case 11: row_fused(1, 1, 1, b, slope, s1, rr, c, yr); break;
        case 12: row_fused(0, 2, 1, b, slope, s1, rr, c, yr); break;
        case 13: row_fused(1, 2, 1, b, slope, s1, rr, c, yr); break;
        }
    }
}

void lqf_epilogue_rows(const float *b, const lqf_epilogue *ep, int64_t row0, int64_t nrows, int c,
                       float *y) {
    if (lqf_epilogue_is_identity(b, ep)) return;
    lqf_act act = ep ? ep->act : LQF_ACT_NONE;
    const float *slope = ep ? ep->slope : NULL;
    int shared = ep ? ep->slope_shared : 0;
    float alpha = ep ? ep->alpha : 0.0f;
    const float *res = ep ? ep->residual : NULL;
    if (act != LQF_ACT_SIGMOID) {
        /* ReLU = slope 0, LeakyReLU = slope alpha, PReLU = per-channel or one slope. */
        int hs = act == LQF_ACT_NONE ? 0 : act == LQF_ACT_PRELU && !shared ? 1 : 2;
        float s1 = act == LQF_ACT_PRELU ? (shared ? slope[0] : 0.0f) : act == LQF_ACT_LEAKY ? alpha : 0.0f;
        rows_fused(b, hs == 1 ? slope : NULL, s1, hs, res, row0, nrows, c, y);
        return;
    }
    for (int64_t r = row0; r < row0 + nrows; r++) {
        float *yr = y + r * c;
        row_epilogue(b, act, slope, shared, alpha, res ? res + r * c : NULL, c, yr, yr);
    }
}

/* y (rows, c) = act(x); in place allowed. */
void lqf_act_forward(lqf_act act, const float *slope, int slope_shared, float alpha,
                     int64_t rows, int c, const float *x, float *y) {
    /* Large rows count with small c (e.g. shared-slope PReLU over a flat tensor) is fine:
     * rows are split between threads in chunks. */
#pragma omp parallel for schedule(static) if (rows * c > 32768)
    for (int64_t r = 0; r < rows; r++)
        row_epilogue(NULL, act, slope, slope_shared, alpha, NULL, c, x + r * c, y + r * c);
}

/* y (n) = exp(x (n)); in place allowed. */
void lqf_exp_forward(int64_t n, const float *x, float *y) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

/* y (n) = fn(x (n)); in place allowed. */
void lqf_unary_forward(lqf_unary_fn fn, float lo, float hi, int64_t n, const float *x, float *y) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        switch (fn) {
        case LQF_UN_SQRT: v = sqrtf(v); break;
        case LQF_UN_TANH: v = tanhf(v); break;
        case LQF_UN_CLIP: v = v < lo ? lo : v > hi ? hi : v; break;
        case LQF_UN_ABS: v = fabsf(v); break;
        case LQF_UN_NEG: v = -v; break;
        case LQF_UN_RECIPROCAL: v = 1.0f / v; break;
        }
        y[i] = v;
    }
}

/* y (n) += alpha * x (n). */
void lqf_axpy(int64_t n, float alpha, const float *x, float *y) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}
