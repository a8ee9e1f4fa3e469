/*
 * act_backward.c — backward of the per-channel activations of eltwise.c over channels-last
 * (rows, C) data: ReLU, PReLU (per channel or one shared slope, with the slope gradient),
 * LeakyReLU and Sigmoid. x is the activation's input (kept by the training executor). The
 * input gradient is parallel over rows; with the PReLU slope gradient it is one pass that
 * also sums x*dy per channel into per-thread double partials (reduced in thread order).
 */
#include "backend/cpu/cpu.h"
#include "core/core.h"

#include <math.h>
#include <omp.h>

/* PReLU in one row-parallel pass: dx += dy * (x > 0 ? 1 : slope) (dx may be NULL) and
 * dslope += sum over x <= 0 of dy * x, per thread in double, reduced in thread order. */
static void prelu_backward(int64_t rows, int c, const float *slope, int shared, const float *x, const float *dy,
                           float *dx, float *dslope) {
    int nth = rows * c > 32768 ? omp_get_max_threads() : 1;
    double *part = calloc((size_t)nth * c, sizeof(double));
    LQF_ASSERT(part);
#pragma omp parallel num_threads(nth)
    {
        double *a = part + (size_t)omp_get_thread_num() * c;
        float s0 = slope[0];
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * c, *gr = dy + r * c;
            float *d = dx ? dx + r * c : NULL;
            if (d) {
#pragma omp simd
                for (int k = 0; k < c; k++) {
                    float pos = xr[k] > 0.0f;
                    a[k] += (double)((1.0f - pos) * xr[k] * gr[k]);
                    d[k] += gr[k] * (pos + (1.0f - pos) * (shared ? s0 : slope[k]));
                }
            } else {
#pragma omp simd
                for (int k = 0; k < c; k++) a[k] += xr[k] > 0.0f ? 0.0 : (double)xr[k] * gr[k];
            }
        }
    }
    double tot = 0;
    for (int k = 0; k < c; k++) {
        double v = 0;
        for (int t = 0; t < nth; t++) v += part[(size_t)t * c + k];
        if (shared) tot += v;
        else dslope[k] += (float)v;
    }
    if (shared) dslope[0] += (float)tot;
    free(part);
}

void lqf_act_backward(lqf_act act, const float *slope, int slope_shared, float alpha, int64_t rows,
                      int c, const float *x, const float *dy, float *dx, float *dslope) {
    if (act == LQF_ACT_PRELU && dslope) {
        prelu_backward(rows, c, slope, slope_shared, x, dy, dx, dslope);
        return;
    }
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
