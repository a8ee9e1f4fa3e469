/*
 * linear.c — fully connected layer, dropout and row L2 normalisation, forward and backward,
 * over dense row-major (N, features) data. Linear keeps PyTorch's weight layout W (out, in)
 * so checkpoints move between the two unchanged; its three products are single GEMMs.
 * Dropout multiplies by a mask of 0 or 1/(1-p) drawn from a counter-based generator
 * (splitmix64 of seed and element index), so a mask is reproducible from its seed and can be
 * drawn in parallel. L2 normalisation returns the norms too (AdaFace's (x/|x|, |x|)).
 */
#include "backend/cpu/cpu.h"
#include "core/core.h"
#include "core/rng.h"

#include <math.h>

void lqf_linear_forward(int64_t n, int in, int out, const float *x, const float *w, const float *b,
                        float *y) {
    if (n <= 0 || out <= 0) return;
    float beta = 0.0f;
    if (b) {
#pragma omp parallel for schedule(static) if (n * out > 32768)
        for (int64_t r = 0; r < n; r++)
            for (int k = 0; k < out; k++) y[r * out + k] = b[k];
        beta = 1.0f;
    }
    /* y (n x out) = x (n x in) * W^T (in x out) */
    lqf_sgemm(0, 1, n, out, in, 1.0f, x, in, w, in, beta, y, out);
}

void lqf_linear_backward(int64_t n, int in, int out, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db) {
    if (n <= 0 || out <= 0) return;
    if (dx) lqf_sgemm(0, 0, n, in, out, 1.0f, dy, out, w, in, 1.0f, dx, in);   /* dy W */
    if (dw) lqf_sgemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);   /* dy^T x */
    if (db) lqf_bias_backward(n, out, dy, db);
}


void lqf_dropout_mask(int64_t n, float p, uint64_t seed, float *mask) {
    float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    uint64_t key = lqf_mix64(seed);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(lqf_mix64(key ^ (uint64_t)i * 0xd1342543de82ef95ull) >> 11) * 0x1.0p-53;
        mask[i] = u >= (double)p ? keep : 0.0f;
    }
}

void lqf_dropout_forward(int64_t n, const float *mask, const float *x, float *y) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * mask[i];
}

void lqf_dropout_backward(int64_t n, const float *mask, const float *dy, float *dx) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * mask[i];
}

void lqf_l2norm_forward(int64_t rows, int d, const float *x, float *y, float *norm) {
#pragma omp parallel for schedule(static) if (rows * d > 32768)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * d;
        double s = 0.0;
        for (int k = 0; k < d; k++) s += (double)xr[k] * xr[k];
        float nr = (float)sqrt(s);
        float inv = 1.0f / nr;
        for (int k = 0; k < d; k++) y[r * d + k] = xr[k] * inv;
        if (norm) norm[r] = nr;
    }
}

void lqf_l2norm_backward(int64_t rows, int d, const float *y, const float *norm, const float *dy,
                         const float *dnorm, float *dx) {
#pragma omp parallel for schedule(static) if (rows * d > 32768)
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y + r * d, *gr = dy + r * d;
        double dot = 0.0;
        for (int k = 0; k < d; k++) dot += (double)yr[k] * gr[k];
        float inv = 1.0f / norm[r], dt = (float)dot, dn = dnorm ? dnorm[r] : 0.0f;
        for (int k = 0; k < d; k++) dx[r * d + k] += (gr[k] - yr[k] * dt) * inv + dn * yr[k];
    }
}
