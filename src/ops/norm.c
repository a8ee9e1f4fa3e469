/*
 * norm.c — batch normalisation over channels-last (rows, C) data, which covers BatchNorm2d
 * (rows = N*H*W) and BatchNorm1d (rows = N): training forward with batch statistics and
 * PyTorch's running-statistics update, inference forward with running statistics, and the
 * backward of both forms. Per-channel sums are accumulated in double, one OpenMP task per
 * block of 16 channels scanning every row (no partial buffers, deterministic); elementwise
 * passes are parallel over rows. The only allocations are O(C) coefficient arrays.
 */
#include "ops/ops.h"
#include "core/core.h"

#include <math.h>

#define CH_BLOCK 16

/* Per-channel mean and biased variance of (rows, c) x, in double. */
static void channel_moments(int64_t rows, int c, const float *x, double *mean, double *var) {
    int nb = (c + CH_BLOCK - 1) / CH_BLOCK;
#pragma omp parallel for schedule(static) if (rows * c > 32768)
    for (int b = 0; b < nb; b++) {
        int c0 = b * CH_BLOCK, nc = LQF_MIN(CH_BLOCK, c - c0);
        double s[CH_BLOCK] = {0}, q[CH_BLOCK] = {0};
        /* shift by the first row for a stable one-pass variance */
        float sh[CH_BLOCK] = {0};
        for (int k = 0; k < nc; k++) sh[k] = rows > 0 ? x[c0 + k] : 0.0f;
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * c + c0;
            for (int k = 0; k < nc; k++) {
                double d = (double)xr[k] - sh[k];
                s[k] += d;
                q[k] += d * d;
            }
        }
        for (int k = 0; k < nc; k++) {
            double m = s[k] / (double)rows;
            mean[c0 + k] = m + sh[k];
            double v = q[k] / (double)rows - m * m;
            var[c0 + k] = v > 0 ? v : 0;
        }
    }
}

/* y = x * a[c] + b[c] over rows. */
static void scale_shift(int64_t rows, int c, const float *x, const float *a, const float *b, float *y) {
#pragma omp parallel for schedule(static) if (rows * c > 32768)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
#pragma omp simd
        for (int k = 0; k < c; k++) yr[k] = xr[k] * a[k] + b[k];
    }
}

void lqf_bn_forward_train(int64_t rows, int c, const float *x, const float *gamma, const float *beta,
                          float eps, float momentum, float *running_mean, float *running_var,
                          float *save_mean, float *save_invstd, float *y) {
    double *mv = malloc((size_t)c * 2 * sizeof(double));
    float *ab = malloc((size_t)c * 2 * sizeof(float));
    LQF_ASSERT(mv && ab);
    channel_moments(rows, c, x, mv, mv + c);
    for (int k = 0; k < c; k++) {
        double m = mv[k], v = mv[c + k];
        double inv = 1.0 / sqrt(v + eps);
        save_mean[k] = (float)m;
        save_invstd[k] = (float)inv;
        double g = gamma ? gamma[k] : 1.0, bt = beta ? beta[k] : 0.0;
        ab[k] = (float)(g * inv);
        ab[c + k] = (float)(bt - m * g * inv);
        if (running_mean) running_mean[k] = (float)((1.0 - momentum) * running_mean[k] + momentum * m);
        if (running_var) {
            double unb = rows > 1 ? v * (double)rows / (double)(rows - 1) : v;
            running_var[k] = (float)((1.0 - momentum) * running_var[k] + momentum * unb);
        }
    }
    scale_shift(rows, c, x, ab, ab + c, y);
    free(mv);
    free(ab);
}

void lqf_bn_forward_infer(int64_t rows, int c, const float *x, const float *gamma, const float *beta,
                          const float *mean, const float *var, float eps, float *y) {
    float *ab = malloc((size_t)c * 2 * sizeof(float));
    LQF_ASSERT(ab);
    for (int k = 0; k < c; k++) {
        float s = (gamma ? gamma[k] : 1.0f) / sqrtf(var[k] + eps);
        ab[k] = s;
        ab[c + k] = (beta ? beta[k] : 0.0f) - mean[k] * s;
    }
    scale_shift(rows, c, x, ab, ab + c, y);
    free(ab);
}

/* sum dy and sum dy*xhat per channel, xhat = (x - mean) * invstd. */
static void bn_reduce(int64_t rows, int c, const float *x, const float *dy, const float *mean,
                      const float *invstd, double *sdy, double *sdyx) {
    int nb = (c + CH_BLOCK - 1) / CH_BLOCK;
#pragma omp parallel for schedule(static) if (rows * c > 32768)
    for (int b = 0; b < nb; b++) {
        int c0 = b * CH_BLOCK, nc = LQF_MIN(CH_BLOCK, c - c0);
        double s[CH_BLOCK] = {0}, q[CH_BLOCK] = {0};
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * c + c0, *gr = dy + r * c + c0;
            for (int k = 0; k < nc; k++) {
                s[k] += gr[k];
                q[k] += (double)gr[k] * ((xr[k] - mean[c0 + k]) * invstd[c0 + k]);
            }
        }
        for (int k = 0; k < nc; k++) {
            sdy[c0 + k] = s[k];
            sdyx[c0 + k] = q[k];
        }
    }
}

void lqf_bn_backward_train(int64_t rows, int c, const float *x, const float *dy, const float *gamma,
                           const float *save_mean, const float *save_invstd, float *dx,
                           float *dgamma, float *dbeta) {
    double *red = malloc((size_t)c * 2 * sizeof(double));
    float *co = malloc((size_t)c * 3 * sizeof(float));
    LQF_ASSERT(red && co);
    bn_reduce(rows, c, x, dy, save_mean, save_invstd, red, red + c);
    for (int k = 0; k < c; k++) {
        if (dbeta) dbeta[k] += (float)red[k];
        if (dgamma) dgamma[k] += (float)red[c + k];
        /* dx = g*inv * (dy - mean(dy) - xhat * mean(dy*xhat)) = A*dy + B*x + C */
        double g = gamma ? gamma[k] : 1.0, inv = save_invstd[k];
        double mdy = red[k] / (double)rows, mdx = red[c + k] / (double)rows;
        double A = g * inv, B = -g * inv * mdx * inv;
        co[k] = (float)A;
        co[c + k] = (float)B;
        co[2 * c + k] = (float)(-g * inv * mdy - B * save_mean[k]);
    }
    if (dx) {
#pragma omp parallel for schedule(static) if (rows * c > 32768)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * c, *gr = dy + r * c;
            float *d = dx + r * c;
#pragma omp simd
            for (int k = 0; k < c; k++) d[k] += co[k] * gr[k] + co[c + k] * xr[k] + co[2 * c + k];
        }
    }
    free(red);
    free(co);
}

void lqf_bn_backward_infer(int64_t rows, int c, const float *x, const float *dy, const float *gamma,
                           const float *mean, const float *var, float eps, float *dx,
                           float *dgamma, float *dbeta) {
    float *inv = malloc((size_t)c * 2 * sizeof(float));
    double *red = malloc((size_t)c * 2 * sizeof(double));
    LQF_ASSERT(inv && red);
    for (int k = 0; k < c; k++) {
        inv[k] = 1.0f / sqrtf(var[k] + eps);
        inv[c + k] = (gamma ? gamma[k] : 1.0f) * inv[k];
    }
    if (dgamma || dbeta) {
        bn_reduce(rows, c, x, dy, mean, inv, red, red + c);
        for (int k = 0; k < c; k++) {
            if (dbeta) dbeta[k] += (float)red[k];
            if (dgamma) dgamma[k] += (float)red[c + k];
        }
    }
    if (dx) {
        const float *a = inv + c;
#pragma omp parallel for schedule(static) if (rows * c > 32768)
        for (int64_t r = 0; r < rows; r++) {
            const float *gr = dy + r * c;
            float *d = dx + r * c;
#pragma omp simd
            for (int k = 0; k < c; k++) d[k] += a[k] * gr[k];
        }
    }
    free(inv);
    free(red);
}
