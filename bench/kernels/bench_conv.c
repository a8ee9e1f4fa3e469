/*
 * bench_conv.c — micro-benchmark of lqface's convolution kernels on the layer shapes of
 * MobileFaceNet (mobilefacenet_fr512.onnx, 112x112 input) at batch 32: prints ms and
 * GFLOP/s per layer shape (2 flops per multiply-add) and the sum over the whole network's
 * convolutions as images/s. Also checks the CPU backend sgemm's GFLOP/s on a 1024^3 product.
 * Not a test. Build and run (from the repository root, after building build-kernels):
 *   bench/kernels/build.sh && OMP_NUM_THREADS=2 ./build-kernels/bench_conv [batch [layer-substring]]
 * Times are the best of up to 200 runs. On a machine shared with other busy processes,
 * libgomp's default active waiting makes every parallel region risk a scheduler quantum;
 * OMP_WAIT_POLICY=passive gives steadier numbers there.
 */
#include "backend/backend.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Process CPU time: on a shared machine it shows the work done regardless of waiting for
 * the CPU (with several threads it includes OpenMP's spinning). */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct {
    const char *what;
    int count; /* how many layers of this shape MobileFaceNet has */
    int h, cin, cout, k, s, group;
    int ep; /* 0 bias only, 1 PReLU, 2 bias + residual */
} layer;

static const layer LAYERS[] = {
    {"stem 3x3 s2 3->64 @112", 1, 112, 3, 64, 3, 2, 1, 1},
    {"dw 3x3 64 @56", 1, 56, 64, 64, 3, 1, 64, 1},
    {"pw 64->128 @56", 1, 56, 64, 128, 1, 1, 1, 1},
    {"dw 3x3 s2 128 @56", 1, 56, 128, 128, 3, 2, 128, 1},
    {"pw 128->64 @28 +res", 5, 28, 128, 64, 1, 1, 1, 2},
    {"pw 64->128 @28", 4, 28, 64, 128, 1, 1, 1, 1},
    {"dw 3x3 128 @28", 4, 28, 128, 128, 3, 1, 128, 1},
    {"pw 64->256 @28", 1, 28, 64, 256, 1, 1, 1, 1},
    {"dw 3x3 s2 256 @28", 1, 28, 256, 256, 3, 2, 256, 1},
    {"pw 256->128 @14 +res", 7, 14, 256, 128, 1, 1, 1, 2},
    {"pw 128->256 @14", 6, 14, 128, 256, 1, 1, 1, 1},
    {"dw 3x3 256 @14", 6, 14, 256, 256, 3, 1, 256, 1},
    {"pw 128->512 @14", 1, 14, 128, 512, 1, 1, 1, 1},
    {"dw 3x3 s2 512 @14", 1, 14, 512, 512, 3, 2, 512, 1},
    {"pw 512->128 @7 +res", 1, 7, 512, 128, 1, 1, 1, 0},
    {"pw 128->256 @7", 2, 7, 128, 256, 1, 1, 1, 1},
    {"dw 3x3 256 @7", 2, 7, 256, 256, 3, 1, 256, 1},
    {"pw 256->128 @7 +res", 2, 7, 256, 128, 1, 1, 1, 2},
    {"pw 128->512 @7", 1, 7, 128, 512, 1, 1, 1, 1},
    {"gdc dw 7x7 512 @7", 1, 7, 512, 512, 7, 1, 512, 0},
    {"linear 512->512 @1", 1, 1, 512, 512, 1, 1, 1, 0},
};

static float *randbuf(size_t n) {
    float *p = lqf_alloc(n * sizeof(float) + 64);
    uint32_t st = 12345;
    for (size_t i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        p[i] = (float)((st >> 9) & 0xFFFF) / 32768.0f - 1.0f;
    }
    return p;
}

static double time_layer(const layer *L, int batch, double *gflops, double *cpu_best) {
    lqf_conv_shape s = {0};
    s.n = batch, s.h = L->h, s.w = L->h, s.cin = L->cin, s.cout = L->cout;
    s.kh = s.kw = L->k, s.sh = s.sw = L->s, s.group = L->group;
    int p = L->k == 3 ? 1 : 0;
    s.pt = s.pl = s.pb = s.pr = p;
    lqf_conv_shape_init(&s);
    size_t nx = (size_t)s.n * s.h * s.w * s.cin, ny = (size_t)s.n * s.oh * s.ow * s.cout;
    float *x = randbuf(nx), *w = randbuf(lqf_conv_weight_size(&s)), *wp = randbuf(lqf_conv_weight_size(&s));
    float *b = randbuf(s.cout), *slope = randbuf(s.cout), *res = randbuf(ny), *y = randbuf(ny);
    size_t ns = lqf_backend_cpu()->conv2d_scratch(&s);
    float *scratch = ns ? randbuf(ns) : NULL;
    lqf_backend_cpu()->conv_pack_weights(&s, w, wp);
    lqf_epilogue ep = {.act = L->ep == 1 ? LQF_ACT_PRELU : LQF_ACT_NONE, .slope = slope,
                       .residual = L->ep == 2 ? res : NULL};
    double best = 1e30, total = 0;
    int reps = 0;
    *cpu_best = 1e30;
    while (reps < 5 || (total < 0.6 && reps < 200)) {
        double t0 = lqf_now(), c0 = cpu_now();
        lqf_backend_cpu()->conv2d_forward(&s, x, wp, b, L->ep ? &ep : NULL, y, scratch);
        double t = lqf_now() - t0, c = cpu_now() - c0;
        if (reps > 0) best = t < best ? t : best; /* first run warms up */
        if (reps > 0) *cpu_best = c < *cpu_best ? c : *cpu_best;
        total += t;
        reps++;
    }
    *gflops = 2.0 * lqf_conv_macs(&s) * batch / best / 1e9;
    lqf_free(x), lqf_free(w), lqf_free(wp), lqf_free(b), lqf_free(slope), lqf_free(res), lqf_free(y);
    lqf_free(scratch);
    return best;
}

int main(int argc, char **argv) {
    int batch = argc > 1 ? atoi(argv[1]) : 32;
    const char *only = argc > 2 ? argv[2] : NULL;
    if (!only) {
        int n = 1024;
        float *a = randbuf((size_t)n * n), *b = randbuf((size_t)n * n), *c = randbuf((size_t)n * n);
        double best = 1e30;
        for (int r = 0; r < 6; r++) {
            double t0 = lqf_now();
            lqf_backend_cpu()->sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            double t = lqf_now() - t0;
            if (r) best = t < best ? t : best;
        }
        printf("sgemm 1024^3: %.2f ms, %.1f GFLOP/s\n", best * 1e3, 2.0 * n * n * n / best / 1e9);
        lqf_free(a), lqf_free(b), lqf_free(c);
    }
    double sum = 0, csum = 0;
    printf("%-26s %5s %9s %9s %8s %9s\n", "layer (batch B)", "count", "wall ms", "GFLOP/s", "ms*count", "cpu ms");
    for (size_t i = 0; i < sizeof LAYERS / sizeof LAYERS[0]; i++) {
        if (only && !strstr(LAYERS[i].what, only)) continue;
        double gf, c, t = time_layer(&LAYERS[i], batch, &gf, &c);
        sum += t * LAYERS[i].count;
        csum += c * LAYERS[i].count;
        printf("%-26s %5d %9.3f %9.1f %8.2f %9.3f\n", LAYERS[i].what, LAYERS[i].count, t * 1e3, gf,
               t * 1e3 * LAYERS[i].count, c * 1e3);
    }
    printf("all convolutions: %.2f ms per batch of %d = %.1f images/s (cpu time %.2f ms)\n", sum * 1e3, batch,
           batch / sum, csum * 1e3);
    return 0;
}
