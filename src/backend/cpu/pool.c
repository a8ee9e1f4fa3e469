/*
 * pool.c — spatial pooling and resizing over channels-last tensors: max pooling over the
 * output sizes of lqf_pool_shape_init (backend/view.c: ONNX rules, explicit padding, ceil_mode
 * as PyTorch/ONNX Runtime apply it) and nearest-neighbour upsampling by integer factors.
 * Parallel over output rows (n, oy), SIMD over channels.
 */
#include "backend/cpu/cpu.h"
#include "core/core.h"

#include <float.h>
#include <string.h>

/* x (N,H,W,C) -> y (N,OH,OW,C); padding never wins (it is -inf). */
void lqf_maxpool_forward(const lqf_pool_shape *s, const float *x, float *y) {
    const int C = s->c;
    int64_t rows = (int64_t)s->n * s->oh;
#pragma omp parallel for schedule(static) if (rows * s->ow * C >= 32768)
    for (int64_t r = 0; r < rows; r++) {
        int n = (int)(r / s->oh), oy = (int)(r % s->oh);
        int ih0 = oy * s->sh - s->pt;
        int i0 = LQF_MAX(ih0, 0), i1 = LQF_MIN(ih0 + s->kh, s->h);
        const float *xn = x + (size_t)n * s->h * s->w * C;
        for (int ox = 0; ox < s->ow; ox++) {
            int iw0 = ox * s->sw - s->pl;
            int j0 = LQF_MAX(iw0, 0), j1 = LQF_MIN(iw0 + s->kw, s->w);
            float *yo = y + ((size_t)r * s->ow + ox) * C;
            if (i0 >= i1 || j0 >= j1) { /* window entirely in padding (cannot happen with ONNX pads < kernel) */
                for (int c = 0; c < C; c++) yo[c] = -FLT_MAX;
                continue;
            }
            memcpy(yo, xn + ((size_t)i0 * s->w + j0) * C, (size_t)C * sizeof(float));
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++) {
                    const float *xp = xn + ((size_t)i * s->w + j) * C;
#pragma omp simd
                    for (int c = 0; c < C; c++) yo[c] = xp[c] > yo[c] ? xp[c] : yo[c];
                }
        }
    }
}

/* x (N,H,W,C) -> y (N,H*sh,W*sw,C), y[n,oy,ox,c] = x[n,oy/sh,ox/sw,c]. */
void lqf_resize_nearest(int n, int h, int w, int c, int sh, int sw, const float *x, float *y) {
    int oh = h * sh, ow = w * sw;
    int64_t rows = (int64_t)n * oh;
#pragma omp parallel for schedule(static) if (rows * ow * c >= 32768)
    for (int64_t r = 0; r < rows; r++) {
        int b = (int)(r / oh), oy = (int)(r % oh);
        const float *xr = x + ((size_t)b * h + oy / sh) * w * c;
        float *yr = y + (size_t)r * ow * c;
        for (int ox = 0; ox < ow; ox++)
            memcpy(yr + (size_t)ox * c, xr + (size_t)(ox / sw) * c, (size_t)c * sizeof(float));
    }
}
