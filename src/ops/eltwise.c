/*
 * eltwise.c — per-element kernels over channels-last data: activations (ReLU, PReLU per
 * channel or shared, LeakyReLU, Sigmoid), exp, and the fused convolution epilogue
 * (bias + activation + residual) that the convolution paths apply to output rows while
 * they are still in cache. Rows are independent, so every loop is OpenMP-parallel over
 * rows and SIMD over channels.
 */
#include "ops/ops_internal.h"

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
 * negatives" (none, ReLU, PReLU, LeakyReLU): the common convolution epilogue. */
static inline void row_epilogue_fused(const float *restrict b, const float *restrict slope, float shared_slope,
                                      int has_act, const float *restrict r, int c, float *restrict y) {
#pragma omp simd
    for (int i = 0; i < c; i++) {
        float v = y[i] + (b ? b[i] : 0.0f);
        float s = slope ? slope[i] : shared_slope;
        if (has_act && v < 0.0f) v *= s;
        y[i] = v + (r ? r[i] : 0.0f);
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
        const float *sl = act == LQF_ACT_PRELU && !shared ? slope : NULL;
        float ss = act == LQF_ACT_PRELU ? (shared ? slope[0] : 0.0f) : act == LQF_ACT_LEAKY ? alpha : 0.0f;
        int has_act = act != LQF_ACT_NONE;
        for (int64_t r = row0; r < row0 + nrows; r++)
            row_epilogue_fused(b, sl, ss, has_act, res ? res + r * c : NULL, c, y + r * c);
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
