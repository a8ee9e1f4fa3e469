/*
 * norm.c — batch normalisation over channels-last (rows, C) data, which covers BatchNorm2d
 * (rows = N*H*W) and BatchNorm1d (rows = N): training forward with batch statistics and
 * PyTorch's running-statistics update, inference forward with running statistics, and the
 * backward of both forms. Per-channel sums are accumulated in double, row-parallel with a
 * partial sum per thread (vectorised over channels), reduced in thread order; elementwise
 * passes are parallel over rows. The only allocations are O(threads x C) arrays.
 */
#include "backend/cpu/cpu.h"
#include "core/core.h"

#include <math.h>
#include <omp.h>

/* Per-channel sums over rows, in double, row-parallel with one partial pair per thread:
 * s1[c] = sum (x - sh[c]), s2[c] = sum (x - sh[c])^2, or with dy given
 * s1[c] = sum dy, s2[c] = sum dy * (x - sh[c]). */
static void channel_sums(int64_t rows, int c, const float *x, const float *dy, const float *sh, double *s1,
                         double *s2) {
    int nth = rows * c > 32768 ? omp_get_max_threads() : 1;
    double *part = calloc((size_t)nth * 2 * c, sizeof(double));
    LQF_ASSERT(part);
#pragma omp parallel num_threads(nth)
    {
        double *a = part + (size_t)omp_get_thread_num() * 2 * c, *b = a + c;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * c;
            if (dy) {
                const float *gr = dy + r * c;
#pragma omp simd
                for (int k = 0; k < c; k++) {
                    double g = gr[k];
                    a[k] += g;
                    b[k] += g * ((double)xr[k] - sh[k]);
                }
            } else {
#pragma omp simd
                for (int k = 0; k < c; k++) {
                    double d = (double)xr[k] - sh[k];
                    a[k] += d;
                    b[k] += d * d;
                }
            }
        }
    }
    for (int k = 0; k < c; k++) {
        double u = 0, v = 0;
        for (int t = 0; t < nth; t++) {
            u += part[(size_t)t * 2 * c + k];
            v += part[(size_t)t * 2 * c + c + k];
        }
        s1[k] = u;
        s2[k] = v;
    }
    free(part);
}

/* Per-channel mean and biased variance of (rows, c) x, in double (shifted by the first
 * row for a stable one-pass variance). */
static void channel_moments(int64_t rows, int c, const float *x, double *mean, double *var) {
    float *sh = calloc((size_t)c + 1, sizeof(float));
    LQF_ASSERT(sh);
    for (int k = 0; k < c; k++) sh[k] = rows > 0 ? x[k] : 0.0f;
    channel_sums(rows, c, x, NULL, sh, mean, var);
    for (int k = 0; k < c; k++) {
        double m = mean[k] / (double)rows, v = var[k] / (double)rows - m * m;
        mean[k] = m + sh[k];
        var[k] = v > 0 ? v : 0;
    }
    free(sh);
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
    channel_sums(rows, c, x, dy, mean, sdy, sdyx);
    for (int k = 0; k < c; k++) sdyx[k] *= invstd[k];
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
