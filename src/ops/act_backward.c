/*
 * act_backward.c — backward of the per-channel activations of eltwise.c over channels-last
 * (rows, C) data: ReLU, PReLU (per channel or one shared slope, with the slope gradient),
 * LeakyReLU and Sigmoid. x is the activation's input (kept by the training plan). The
 * input gradient is parallel over rows; the PReLU slope gradient is a per-channel sum
 * taken by blocks of 16 channels (one task each, double accumulators).
 */
#include "ops/ops.h"
#include "core/core.h"

#include <math.h>

static void slope_grad(int64_t rows, int c, int shared, const float *x, const float *dy, float *dslope) {
    int nb = (c + 15) / 16;
    double tot = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : tot) if (rows * c > 32768)
    for (int b = 0; b < nb; b++) {
        int c0 = b * 16, nc = LQF_MIN(16, c - c0);
        double acc[16] = {0};
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * c + c0, *gr = dy + r * c + c0;
            for (int k = 0; k < nc; k++) acc[k] += xr[k] > 0.0f ? 0.0 : (double)xr[k] * gr[k];
        }
        for (int k = 0; k < nc; k++) {
            if (shared) tot += acc[k];
            else dslope[c0 + k] += (float)acc[k];
        }
    }
    if (shared) dslope[0] += (float)tot;
}

void lqf_act_backward(lqf_act act, const float *slope, int slope_shared, float alpha, int64_t rows,
                      int c, const float *x, const float *dy, float *dx, float *dslope) {
    if (act == LQF_ACT_PRELU && dslope) slope_grad(rows, c, slope_shared, x, dy, dslope);
    if (!dx) return;
#pragma omp parallel for schedule(static) if (rows * c > 32768)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c, *gr = dy + r * c;
        float *d = dx + r * c;
        switch (act) {
        case LQF_ACT_NONE:
#pragma omp simd
            for (int k = 0; k < c; k++) d[k] += gr[k];
            break;
        case LQF_ACT_RELU:
#pragma omp simd
            for (int k = 0; k < c; k++) d[k] += xr[k] > 0.0f ? gr[k] : 0.0f;
            break;
        case LQF_ACT_PRELU:
            if (slope_shared) {
                float s = slope[0];
#pragma omp simd
                for (int k = 0; k < c; k++) d[k] += xr[k] > 0.0f ? gr[k] : gr[k] * s;
            } else {
#pragma omp simd
                for (int k = 0; k < c; k++) d[k] += xr[k] > 0.0f ? gr[k] : gr[k] * slope[k];
            }
            break;
        case LQF_ACT_LEAKY:
#pragma omp simd
            for (int k = 0; k < c; k++) d[k] += xr[k] > 0.0f ? gr[k] : gr[k] * alpha;
            break;
        case LQF_ACT_SIGMOID:
            for (int k = 0; k < c; k++) {
                float y = 1.0f / (1.0f + expf(-xr[k]));
                d[k] += gr[k] * y * (1.0f - y);
            }
            break;
        }
    }
}
