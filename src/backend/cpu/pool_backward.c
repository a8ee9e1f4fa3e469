/*
 * pool_backward.c — backward of max pooling over channels-last tensors: each window's
 * gradient goes to the first maximum in scan order (rows, then columns), PyTorch's choice
 * for ties, found again from the input. Windows of one image may overlap, so threads take
 * whole images; inside a window the channels are handled as a vector.
 */
#include "backend/cpu/cpu.h"
#include "core/core.h"

void lqf_maxpool_backward(const lqf_pool_shape *s, const float *x, const float *dy, float *dx) {
    const int C = s->c;
#pragma omp parallel for schedule(dynamic, 1) if (s->n > 1)
    for (int n = 0; n < s->n; n++) {
        const float *xn = x + (size_t)n * s->h * s->w * C;
        float *dxn = dx + (size_t)n * s->h * s->w * C;
        for (int oy = 0; oy < s->oh; oy++) {
            int ih0 = oy * s->sh - s->pt;
            int i0 = LQF_MAX(ih0, 0), i1 = LQF_MIN(ih0 + s->kh, s->h);
            for (int ox = 0; ox < s->ow; ox++) {
                int iw0 = ox * s->sw - s->pl;
                int j0 = LQF_MAX(iw0, 0), j1 = LQF_MIN(iw0 + s->kw, s->w);
                const float *g = dy + (((size_t)n * s->oh + oy) * s->ow + ox) * C;
                if (i0 >= i1 || j0 >= j1) continue;
                if (i1 - i0 == 1 && j1 - j0 == 1) { /* 1x1 window (MaxPool2d(1, s) subsampling) */
                    float *d = dxn + ((size_t)i0 * s->w + j0) * C;
#pragma omp simd
                    for (int c = 0; c < C; c++) d[c] += g[c];
                    continue;
                }
                for (int c = 0; c < C; c++) {
                    size_t best = ((size_t)i0 * s->w + j0) * C + c;
                    float bv = xn[best];
                    for (int i = i0; i < i1; i++)
                        for (int j = j0; j < j1; j++) {
                            size_t k = ((size_t)i * s->w + j) * C + c;
                            if (xn[k] > bv) {
                                bv = xn[k];
                                best = k;
                            }
                        }
                    dxn[best] += g[c];
                }
            }
        }
    }
}
