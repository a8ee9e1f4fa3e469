/*
 * warp.c — ARoFace's differentiable similarity warp (see warp.h): affine_grid, bilinear
 * grid_sample (zeros / border, align_corners=False) and the similarity parameterisation,
 * forward and backward side by side, written to reproduce torch.nn.functional's arithmetic
 * (float32 pixel coordinates u = (g+1)*W/2 - 0.5, the same corner weights and the same
 * gradient formulas), then the whole AdvWarp.py warp (pad quirk or corrected) and the
 * adversarial search's update, clipping and batch mixing. Threads: OpenMP over the batch.
 */
#include "augment/warp.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ affine grid */
/* Normalised centre of pixel i of an n-pixel axis, x_i = (2i+1)/n - 1, rounded the way
 * torch 1.13 computes it on the CPU, so that grids (and with them the floor() decisions of
 * the sampler) agree bit for bit: linspace(-1, 1, n) * (n-1) / n in float32, where
 * linspace's AVX2 kernel evaluates fma(step, j, -1) below n/2 and fma(-step, n-1-j, 1) from
 * n/2 on, and inside its 16-element vector loop (the first floor(n/16)*16 entries) fills
 * each 8-lane chunk starting at c as value(c) + k*step (unfused). The plain formula differs
 * in the last bit for about half the entries, which moves a sampled face by up to 1e-5
 * px and its pixels by up to 2e-5. */
static float torch_base_coord(int i, int n) {
    if (n == 1) return -0.0f; /* linspace(-1,1,1) = [-1], * 0 / 1 */
    const float step = 2.0f / (float)(n - 1);
    const int half = n / 2, vec_end = n / 16 * 16;
    int j = i < vec_end ? i & ~7 : i;
    float v = j < half ? fmaf(step, (float)j, -1.0f) : fmaf(-step, (float)(n - 1 - j), 1.0f);
    if (j != i) {
        volatile float k_step = (float)(i - j) * step; /* volatile: no fused multiply-add */
        v = v + k_step;
    }
    volatile float r = v * (float)(n - 1);
    return r / (float)n;
}

/* theta (N,2,3) -> grid (N,H,W,2); each value as torch's bmm: fma(y, t1, x*t0) + t2. */
void lqf_affine_grid_forward(int n, int h, int w, const float *theta, float *grid) {
#pragma omp parallel for schedule(static) if (n > 1)
    for (int b = 0; b < n; b++) {
        const float *t = theta + 6 * b;
        float *g = grid + (size_t)b * h * w * 2;
        for (int i = 0; i < h; i++) {
            float y = torch_base_coord(i, h);
            for (int j = 0; j < w; j++) {
                float x = torch_base_coord(j, w);
                float ax = x * t[0], ay = x * t[3];
                g[2 * ((size_t)i * w + j) + 0] = fmaf(y, t[1], ax) + t[2];
                g[2 * ((size_t)i * w + j) + 1] = fmaf(y, t[4], ay) + t[5];
            }
        }
    }
}

/* dgrid (N,H,W,2) -> dtheta (N,2,3), accumulated in double */
void lqf_affine_grid_backward(int n, int h, int w, const float *dgrid, float *dtheta) {
#pragma omp parallel for schedule(static) if (n > 1)
    for (int b = 0; b < n; b++) {
        const float *dg = dgrid + (size_t)b * h * w * 2;
        double acc[6] = {0};
        for (int i = 0; i < h; i++) {
            double y = torch_base_coord(i, h);
            for (int j = 0; j < w; j++) {
                double x = torch_base_coord(j, w);
                double gx = dg[2 * ((size_t)i * w + j)], gy = dg[2 * ((size_t)i * w + j) + 1];
                acc[0] += gx * x;
                acc[1] += gx * y;
                acc[2] += gx;
                acc[3] += gy * x;
                acc[4] += gy * y;
                acc[5] += gy;
            }
        }
        for (int k = 0; k < 6; k++) dtheta[6 * b + k] = (float)acc[k];
    }
}

/* ------------------------------------------------------------------ grid sampling */
/* One axis of one grid point: the pixel coordinate, the lower tap, the fraction towards the
 * upper tap and d(coordinate)/d(grid value) (0 where 'border' clamps). */
typedef struct {
    int i0;      /* lower tap index (may be outside the image under 'zeros') */
    float f;     /* fraction: weight of tap i0+1 */
    float dcoef; /* d u / d g */
    int valid;   /* 0 for a NaN coordinate: output 0, no gradient */
} axis_tap;

static inline axis_tap axis_setup(float g, int size, lqf_grid_padding pad) {
    axis_tap a;
    const float scale = (float)size * 0.5f;
    float u = (g + 1.0f) * scale;
    u = u - 0.5f;
    a.dcoef = scale;
    a.valid = (u == u);
    if (!a.valid) {
        a.i0 = -2;
        a.f = 0;
        a.dcoef = 0;
        return a;
    }
    if (pad == LQF_GRID_PAD_BORDER) {
        /* torch clip_coordinates_get_grad: exactly 0 or size-1 counts as clamped */
        float lo = u > 0.0f ? u : 0.0f;
        float hi = lo < (float)(size - 1) ? lo : (float)(size - 1);
        if (lo == 0.0f || hi == (float)(size - 1)) a.dcoef = 0;
        u = hi;
    } else {
        /* far outside: every tap reads 0 either way; keeps the int conversion defined */
        if (u < -2.0f) u = -2.0f;
        if (u > (float)size + 1.0f) u = (float)size + 1.0f;
    }
    float fl = floorf(u);
    a.i0 = (int)fl;
    a.f = u - fl;
    return a;
}

/* The four taps of one grid point: corner weights nw, ne, sw, se (torch's products of the
 * distances to the opposite sides), offsets into the (Hin,Win,C) image and whether each lies
 * inside; fx, fy are the fractions, dcx, dcy the d(coordinate)/d(grid) factors. */
typedef struct {
    float wt[4];
    size_t off[4];
    int in[4];
    float fx, fy, dcx, dcy;
} bilinear_taps;

/* 0 for a NaN coordinate (the point samples 0 and gets no gradient). */
static inline int taps_setup(const float *g, int hin, int win, int c, lqf_grid_padding pad,
                             bilinear_taps *t) {
    axis_tap ax = axis_setup(g[0], win, pad), ay = axis_setup(g[1], hin, pad);
    if (!ax.valid || !ay.valid) return 0;
    float w = ax.f, e = 1.0f - w, n = ay.f, s = 1.0f - n;
    t->wt[0] = s * e, t->wt[1] = s * w, t->wt[2] = n * e, t->wt[3] = n * w;
    t->fx = w, t->fy = n, t->dcx = ax.dcoef, t->dcy = ay.dcoef;
    for (int k = 0; k < 4; k++) {
        int xi = ax.i0 + (k & 1), yi = ay.i0 + (k >> 1);
        t->in[k] = xi >= 0 && xi < win && yi >= 0 && yi < hin;
        t->off[k] = t->in[k] ? ((size_t)yi * win + xi) * c : 0;
    }
    return 1;
}

/* x (N,Hin,Win,C), grid (N,H,W,2) -> y (N,H,W,C) */
void lqf_grid_sample_forward(const lqf_grid_sample_shape *s, const float *x, const float *grid,
                             float *y) {
    const int C = s->c;
    const size_t hw = (size_t)s->h * s->w;
#pragma omp parallel for schedule(static) if (s->n > 1)
    for (int b = 0; b < s->n; b++) {
        const float *xb = x + (size_t)b * s->hin * s->win * C;
        for (size_t p = 0; p < hw; p++) {
            float *yp = y + ((size_t)b * hw + p) * C;
            bilinear_taps t;
            if (!taps_setup(grid + ((size_t)b * hw + p) * 2, s->hin, s->win, C, s->pad, &t)) {
                memset(yp, 0, sizeof(float) * C);
                continue;
            }
            for (int c = 0; c < C; c++) {
                float v = 0;
                for (int k = 0; k < 4; k++)
                    if (t.in[k]) v += xb[t.off[k] + c] * t.wt[k];
                yp[c] = v;
            }
        }
    }
}

/* dy (N,H,W,C) -> dx (N,Hin,Win,C), dgrid (N,H,W,2) */
void lqf_grid_sample_backward(const lqf_grid_sample_shape *s, const float *x, const float *grid,
                              const float *dy, float *dx, float *dgrid) {
    const int C = s->c;
    const size_t hw = (size_t)s->h * s->w, img = (size_t)s->hin * s->win * C;
#pragma omp parallel for schedule(static) if (s->n > 1)
    for (int b = 0; b < s->n; b++) {
        const float *xb = x ? x + b * img : NULL;
        float *dxb = dx ? dx + b * img : NULL;
        if (dxb) memset(dxb, 0, sizeof(float) * img);
        for (size_t p = 0; p < hw; p++) {
            const float *dyp = dy + ((size_t)b * hw + p) * C;
            float *dg = dgrid ? dgrid + ((size_t)b * hw + p) * 2 : NULL;
            bilinear_taps t;
            if (!taps_setup(grid + ((size_t)b * hw + p) * 2, s->hin, s->win, C, s->pad, &t)) {
                if (dg) dg[0] = dg[1] = 0;
                continue;
            }
            if (dxb)
                for (int k = 0; k < 4; k++)
                    if (t.in[k])
                        for (int c = 0; c < C; c++) dxb[t.off[k] + c] += t.wt[k] * dyp[c];
            if (dg) {
                /* dy/du = (ne - nw) s + (se - sw) n;  dy/dv = (sw - nw) e + (se - ne) w */
                float w = t.fx, e = 1.0f - w, n = t.fy, so = 1.0f - n, gx = 0, gy = 0;
                for (int c = 0; c < C; c++) {
                    float v[4];
                    for (int k = 0; k < 4; k++) v[k] = t.in[k] ? xb[t.off[k] + c] : 0.0f;
                    gx += ((v[1] - v[0]) * so + (v[3] - v[2]) * n) * dyp[c];
                    gy += ((v[2] - v[0]) * e + (v[3] - v[1]) * w) * dyp[c];
                }
                dg[0] = gx * t.dcx;
                dg[1] = gy * t.dcy;
            }
        }
    }
}

/* ------------------------------------------------------------------ similarity */
/* sin and cos of a float angle as torch 1.13 computes them on an AVX2 CPU: not libm's
 * (correctly rounded in practice) but SLEEF's 1-ulp vector functions xsinf_u1 / xcosf_u1
 * (Cody-Waite reduction by pi/2 in three parts, then an odd polynomial evaluated partly in
 * "double-float" pairs (hi, lo) with fused multiply-adds). libm's cos differs from torch's
 * in the last bit for ~8% of angles under 0.2 rad, which moves the matrix entries s*cos by
 * one ulp, the grid by ~1e-7 and a warped pixel by up to 6e-6 (seen in
 * tests/test_aroface_step.c); these agree with torch bit for bit (5.5M angles in [-120,
 * 120], 0 differences; libm: 133k sin and 425k cos). Only SLEEF's fast path (|x| < 125)
 * is reproduced; beyond it libm is used. Plain products go through mul_exact so that the
 * compiler cannot fuse them into a following addition (-ffp-contract=fast under gnu11). */
typedef struct {
    float hi, lo;
} float2_;

static inline float mul_exact(float a, float b) {
    volatile float r = a * b;
    return r;
}
static inline float2_ f2_add(float a, float b) { /* |a| >= |b| */
    float s = a + b;
    return (float2_){s, (a - s) + b};
}
static inline float2_ f2_add2(float a, float b) { /* any order */
    float s = a + b, v = s - a;
    return (float2_){s, (a - (s - v)) + (b - v)};
}
static inline float2_ f2_add_pf(float2_ a, float b) {
    float s = a.hi + b;
    return (float2_){s, ((a.hi - s) + b) + a.lo};
}
static inline float2_ f2_add2_pf(float2_ a, float b) {
    float s = a.hi + b, v = s - a.hi;
    return (float2_){s, ((a.hi - (s - v)) + (b - v)) + a.lo};
}
static inline float2_ f2_add_fp(float a, float2_ b) {
    float s = a + b.hi;
    return (float2_){s, ((a - s) + b.hi) + b.lo};
}
static inline float2_ f2_sqr(float2_ a) {
    float s = mul_exact(a.hi, a.hi);
    return (float2_){s, fmaf(a.hi + a.hi, a.lo, fmaf(a.hi, a.hi, -s))};
}
static inline float2_ f2_mul(float2_ a, float2_ b) {
    float s = mul_exact(a.hi, b.hi);
    return (float2_){s, fmaf(a.hi, b.lo, fmaf(a.lo, b.hi, fmaf(a.hi, b.hi, -s)))};
}
/* sin or cos of the reduced argument t (|t| <= pi/4 as a pair), negated when neg */
static float sleef_poly(float2_ t, int neg) {
    float2_ s = f2_sqr(t);
    float u = fmaf(2.6083159809786593541503e-06f, s.hi, -0.0001981069071916863322258f);
    u = fmaf(u, s.hi, 0.00833307858556509017944336f);
    float2_ x = f2_add_fp(1.0f, f2_mul(f2_add(-0.166666597127914428710938f, mul_exact(u, s.hi)), s));
    float r = fmaf(t.hi, x.hi, fmaf(t.lo, x.hi, mul_exact(t.hi, x.lo)));
    return neg ? -r : r;
}
static float torch_sinf(float d) {
    if (!(fabsf(d) < 125.0f)) return sinf(d);
    float u = rintf(mul_exact(d, 0.318309886183790671538f /* 1/pi */));
    int q = (int)u;
    float v = fmaf(u, -3.1414794921875f, d); /* pi = 3.1414794921875 + 1.13159e-4 + 1.98e-9 */
    float2_ s = f2_add2(v, mul_exact(u, -0.00011315941810607910156f));
    s = f2_add_pf(s, mul_exact(u, -1.9841872589410058936e-09f));
    if (d == 0.0f) return d; /* keeps -0 */
    return sleef_poly(s, q & 1);
}
static float torch_cosf(float d) {
    if (!(fabsf(d) < 125.0f)) return cosf(d);
    float dq = fmaf(rintf(fmaf(d, 0.318309886183790671538f /* 1/pi */, -0.5f)), 2.0f, 1.0f); /* odd multiple of pi/2 */
    int q = (int)dq;
    float2_ s = f2_add2(d, mul_exact(dq, -3.1414794921875f * 0.5f));
    s = f2_add2_pf(s, mul_exact(dq, -0.00011315941810607910156f * 0.5f));
    s = f2_add2_pf(s, mul_exact(dq, -1.9841872589410058936e-09f * 0.5f));
    return sleef_poly(s, (q & 2) == 0);
}

/* params (N,4) -> M (N,2,3) */
void lqf_similarity_forward(int n, const float *params, float *M) {
    for (int b = 0; b < n; b++) {
        const float *p = params + 4 * b;
        float c = torch_cosf(p[1]), sn = torch_sinf(p[1]);
        float *m = M + 6 * b;
        m[0] = p[0] * c;
        m[1] = -p[0] * sn;
        m[2] = p[2];
        m[3] = p[0] * sn;
        m[4] = p[0] * c;
        m[5] = p[3];
    }
}

/* dM (N,2,3) -> dparams (N,4) */
void lqf_similarity_backward(int n, const float *params, const float *dM, float *dparams) {
    for (int b = 0; b < n; b++) {
        const float *p = params + 4 * b, *d = dM + 6 * b;
        double c = cos((double)p[1]), sn = sin((double)p[1]), s = p[0];
        float *o = dparams + 4 * b;
        o[0] = (float)(d[0] * c - d[1] * sn + d[3] * sn + d[4] * c);
        o[1] = (float)(s * (-d[0] * sn - d[1] * c + d[3] * c - d[4] * sn));
        o[2] = d[2];
        o[3] = d[5];
    }
}

/* ------------------------------------------------------------------ ARoFace's warp */
/* Scratch layout (floats): M (N*6) | dM (N*6) | grid (N*H*W*2) | dgrid (N*H*W*2) |
 * padded (N*(H+2)*(W+2)*C, reference mode) | dpadded (same). */
typedef struct {
    float *M, *dM, *grid, *dgrid, *pad, *dpad;
} warp_scratch;

static size_t padded_floats(const lqf_aro_warp_shape *s) {
    return s->mode == LQF_ARO_WARP_REFERENCE ? (size_t)s->n * (s->h + 2) * (s->w + 2) * s->c : 0;
}

size_t lqf_aro_warp_scratch(const lqf_aro_warp_shape *s) {
    return 12 * (size_t)s->n + 4 * (size_t)s->n * s->h * s->w + 2 * padded_floats(s);
}

static warp_scratch split_scratch(const lqf_aro_warp_shape *s, float *scratch) {
    warp_scratch w;
    size_t g = 2 * (size_t)s->n * s->h * s->w, pf = padded_floats(s);
    w.M = scratch;
    w.dM = w.M + 6 * (size_t)s->n;
    w.grid = w.dM + 6 * (size_t)s->n;
    w.dgrid = w.grid + g;
    w.pad = pf ? w.dgrid + g : NULL;
    w.dpad = pf ? w.pad + pf : NULL;
    return w;
}

/* img (N,H,W,C) -> pad (N,H+2,W+2,C) with a 1-px rim of -1 (AdvWarp.py pad_with_value). */
static void pad_minus_one(const lqf_aro_warp_shape *s, const float *img, float *pad) {
    const int H = s->h, W = s->w, C = s->c, PW = W + 2;
#pragma omp parallel for schedule(static) if (s->n > 1)
    for (int b = 0; b < s->n; b++) {
        float *pb = pad + (size_t)b * (H + 2) * PW * C;
        const float *ib = img + (size_t)b * H * W * C;
        for (size_t k = 0; k < (size_t)PW * C; k++) pb[k] = pb[(size_t)(H + 1) * PW * C + k] = -1.0f;
        for (int i = 0; i < H; i++) {
            float *row = pb + (size_t)(i + 1) * PW * C;
            for (int c = 0; c < C; c++) row[c] = row[(size_t)(W + 1) * C + c] = -1.0f;
            memcpy(row + C, ib + (size_t)i * W * C, sizeof(float) * W * C);
        }
    }
}

static lqf_grid_sample_shape sampler_shape(const lqf_aro_warp_shape *s) {
    lqf_grid_sample_shape g;
    int ref = s->mode == LQF_ARO_WARP_REFERENCE;
    g.n = s->n;
    g.c = s->c;
    g.hin = s->h + (ref ? 2 : 0);
    g.win = s->w + (ref ? 2 : 0);
    g.h = s->h;
    g.w = s->w;
    g.pad = ref ? LQF_GRID_PAD_BORDER : LQF_GRID_PAD_ZEROS;
    return g;
}

/* img (N,H,W,C), params (N,4) -> out (N,H,W,C) */
void lqf_aro_warp_forward(const lqf_aro_warp_shape *s, const float *img, const float *params,
                          float *out, float *scratch) {
    warp_scratch w = split_scratch(s, scratch);
    lqf_grid_sample_shape gs = sampler_shape(s);
    lqf_similarity_forward(s->n, params, w.M);
    lqf_affine_grid_forward(s->n, s->h, s->w, w.M, w.grid); /* grid for the UNPADDED size */
    const float *src = img;
    if (w.pad) {
        pad_minus_one(s, img, w.pad);
        src = w.pad;
    }
    lqf_grid_sample_forward(&gs, src, w.grid, out);
}

/* dout (N,H,W,C) -> dimg (N,H,W,C), dparams (N,4) */
void lqf_aro_warp_backward(const lqf_aro_warp_shape *s, const float *img, const float *params,
                           const float *dout, float *dimg, float *dparams, float *scratch) {
    if (!dimg && !dparams) return;
    warp_scratch w = split_scratch(s, scratch);
    lqf_grid_sample_shape gs = sampler_shape(s);
    lqf_similarity_forward(s->n, params, w.M);
    lqf_affine_grid_forward(s->n, s->h, s->w, w.M, w.grid);
    const float *src = img;
    if (w.pad && dparams) {
        pad_minus_one(s, img, w.pad);
        src = w.pad;
    }
    float *dsrc = dimg ? (w.dpad ? w.dpad : dimg) : NULL;
    lqf_grid_sample_backward(&gs, dparams ? src : NULL, w.grid, dout, dsrc, dparams ? w.dgrid : NULL);
    if (dimg && w.dpad) { /* crop: the -1 rim is a constant */
        const int H = s->h, W = s->w, C = s->c;
#pragma omp parallel for schedule(static) if (s->n > 1)
        for (int b = 0; b < s->n; b++)
            for (int i = 0; i < H; i++)
                memcpy(dimg + ((size_t)b * H + i) * W * C,
                       w.dpad + (((size_t)b * (H + 2) + i + 1) * (W + 2) + 1) * C, sizeof(float) * W * C);
    }
    if (dparams) {
        lqf_affine_grid_backward(s->n, s->h, s->w, w.dgrid, w.dM);
        lqf_similarity_backward(s->n, params, w.dM, dparams);
    }
}

/* ------------------------------------------------------------------ adversarial search */
void lqf_aro_config_preset(lqf_aro_config *c, lqf_aro_preset preset) {
    c->warp = preset == LQF_ARO_PRESET_FIXED ? LQF_ARO_WARP_CORRECTED : LQF_ARO_WARP_REFERENCE;
    c->fixed_clip = preset == LQF_ARO_PRESET_FIXED;
    c->eta_s = c->eta_theta = c->eta_t = 0.1f;
    c->s_lo = 0.5f;
    c->s_hi = 1.5f;
    c->b_theta = 0.8f;
    c->b_t = 0.3f;
    c->init_std = 0.01f;
    c->k = 1;
    c->ratio = 0.75;
}

lqf_status lqf_aro_config_check(const lqf_aro_config *c) {
    if (!c) return lqf_fail(LQF_ERR_ARG, "aroface: no configuration");
    if (c->warp != LQF_ARO_WARP_REFERENCE && c->warp != LQF_ARO_WARP_CORRECTED)
        return lqf_fail(LQF_ERR_ARG, "aroface: unknown warp mode %d", (int)c->warp);
    if (!(c->eta_s >= 0) || !(c->eta_theta >= 0) || !(c->eta_t >= 0))
        return lqf_fail(LQF_ERR_ARG, "aroface: step sizes must be >= 0 (eta_s %g, eta_theta %g, eta_t %g)",
                        c->eta_s, c->eta_theta, c->eta_t);
    if (!(c->s_lo >= 0) || !(c->s_hi >= 0) || !(c->b_theta >= 0) || !(c->b_t >= 0))
        return lqf_fail(LQF_ERR_ARG, "aroface: clipping bounds must be >= 0");
    if (!(c->init_std >= 0)) return lqf_fail(LQF_ERR_ARG, "aroface: init_std must be >= 0 (got %g)", c->init_std);
    if (c->k < 1) return lqf_fail(LQF_ERR_ARG, "aroface: k (ascent steps) must be >= 1 (got %d)", c->k);
    if (!(c->ratio >= 0 && c->ratio <= 1))
        return lqf_fail(LQF_ERR_ARG, "aroface: ratio must be in [0,1] (got %g)", c->ratio);
    return LQF_OK;
}

void lqf_aro_random_start(int n, double std, lqf_rng *rng, float *p0) {
    for (int b = 0; b < n; b++) p0[4 * b + 0] = (float)(1.0 + std * lqf_rng_normal(rng));
    for (int b = 0; b < n; b++) p0[4 * b + 1] = (float)(std * lqf_rng_normal(rng));
    for (int b = 0; b < n; b++) {
        p0[4 * b + 2] = (float)(std * lqf_rng_normal(rng));
        p0[4 * b + 3] = (float)(std * lqf_rng_normal(rng));
    }
}

static inline float signf_(float g) { return g > 0 ? 1.0f : g < 0 ? -1.0f : 0.0f; }
/* torch.min(torch.max(v, lo), hi) */
static inline float clip_ref(float v, float lo, float hi) {
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}

/* p0, grad, p (N,4) */
void lqf_aro_ascent_step(const lqf_aro_config *c, int n, const float *p0, const float *grad,
                         float *p) {
    for (int b = 0; b < n; b++) {
        const float *q0 = p0 + 4 * b, *g = grad + 4 * b;
        float *q = p + 4 * b;
        float s = q[0] + c->eta_s * signf_(g[0]);
        float th = q[1] + c->eta_theta * signf_(g[1]);
        q[0] = clip_ref(s, q0[0] - c->s_lo, q0[0] + c->s_hi);
        q[1] = clip_ref(th, q0[1] - c->b_theta, q0[1] + c->b_theta);
        for (int k = 2; k < 4; k++) {
            float t = q[k] + c->eta_t * signf_(g[k]);
            float hi = (c->fixed_clip ? q0[k] : q0[1]) + c->b_t; /* reference: theta0 + 0.3 */
            q[k] = clip_ref(t, q0[k] - c->b_t, hi);
        }
    }
}

void lqf_randperm(lqf_rng *rng, int n, int *perm) {
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(lqf_rng_uniform(rng) * (i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static int is_perm(const int *perm, int n, unsigned char *seen) {
    memset(seen, 0, (size_t)n);
    for (int i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= n || seen[perm[i]]) return 0;
        seen[perm[i]] = 1;
    }
    return 1;
}

lqf_status lqf_aro_mix_select(int b, double ratio, const int *perm1, const int *perm2, int *idx1,
                              int *n1, int *idx2, int *n2) {
    if (b < 1) return lqf_fail(LQF_ERR_ARG, "aroface mix: batch size %d", b);
    if (!(ratio >= 0 && ratio <= 1)) return lqf_fail(LQF_ERR_ARG, "aroface mix: ratio must be in [0,1] (got %g)", ratio);
    unsigned char *seen = malloc((size_t)b);
    if (!seen) return lqf_fail(LQF_ERR_NOMEM, "aroface mix: out of memory");
    int ok1 = is_perm(perm1, b, seen), ok2 = is_perm(perm2, b, seen);
    free(seen);
    if (!ok1 || !ok2)
        return lqf_fail(LQF_ERR_ARG, "aroface mix: perm%d is not a permutation of 0..%d", ok1 ? 2 : 1, b - 1);
    *n1 = (int)((double)b * ratio);        /* Python int(B * ratio) */
    *n2 = (int)((double)b * (1.0 - ratio)); /* int(B * (1 - ratio)) */
    memcpy(idx1, perm1, sizeof(int) * (size_t)*n1);
    memcpy(idx2, perm2, sizeof(int) * (size_t)*n2);
    return LQF_OK;
}

void lqf_aro_mix_gather(size_t sample, const float *clean, const float *warped, const int *labels,
                        const int *idx1, int n1, const int *idx2, int n2, float *out,
                        int *out_labels) {
    for (int i = 0; i < n1; i++) {
        memcpy(out + (size_t)i * sample, clean + (size_t)idx1[i] * sample, sizeof(float) * sample);
        if (out_labels) out_labels[i] = labels[idx1[i]];
    }
    for (int i = 0; i < n2; i++) {
        memcpy(out + (size_t)(n1 + i) * sample, warped + (size_t)idx2[i] * sample, sizeof(float) * sample);
        if (out_labels) out_labels[n1 + i] = labels[idx2[i]];
    }
}

/* ------------------------------------------------------------------ the search, wired */
/* Scratch layout (floats): warp scratch | dwarped (N*H*W*C) | dparams (N*4). */
size_t lqf_aro_search_scratch(const lqf_aro_warp_shape *s) {
    return lqf_aro_warp_scratch(s) + (size_t)s->n * s->h * s->w * s->c + 4 * (size_t)s->n;
}

lqf_status lqf_aro_search(const lqf_aro_config *c, const lqf_aro_warp_shape *s, const float *img,
                          const float *p0, lqf_aro_grad_fn grad_fn, void *ctx, float *p, float *warped,
                          float *scratch) {
    lqf_status st = lqf_aro_config_check(c);
    if (st != LQF_OK) return st;
    if (!grad_fn) return lqf_fail(LQF_ERR_ARG, "aroface search: no loss-gradient callback");
    float *ws = scratch, *dwarped = ws + lqf_aro_warp_scratch(s);
    float *dp = dwarped + (size_t)s->n * s->h * s->w * s->c;
    memcpy(p, p0, sizeof(float) * 4 * (size_t)s->n);
    for (int it = 0; it < c->k; it++) {
        lqf_aro_warp_forward(s, img, p, warped, ws);
        st = grad_fn(ctx, s->n, warped, dwarped);
        if (st != LQF_OK) return lqf_fail_context(st, "aroface search step %d", it + 1);
        lqf_aro_warp_backward(s, img, p, dwarped, NULL, dp, ws);
        lqf_aro_ascent_step(c, s->n, p0, dp, p);
    }
    lqf_aro_warp_forward(s, img, p, warped, ws);
    return LQF_OK;
}

lqf_status lqf_aro_augment(const lqf_aro_config *c, int b, int h, int w, int ch, const float *img,
                           const int *labels, lqf_rng *rng, lqf_aro_grad_fn grad_fn, void *ctx,
                           float *out, int *out_labels, int *n_out, float *params_out) {
    lqf_status st = lqf_aro_config_check(c);
    if (st != LQF_OK) return st;
    if (b < 1 || h < 1 || w < 1 || ch < 1)
        return lqf_fail(LQF_ERR_SHAPE, "aroface augment: bad batch shape %dx%dx%dx%d", b, h, w, ch);
    if (!img || !rng || !out || !n_out || (out_labels && !labels))
        return lqf_fail(LQF_ERR_ARG, "aroface augment: missing %s", !img ? "images" : !rng ? "generator"
                        : !out ? "output" : !n_out ? "output count" : "labels");
    lqf_aro_warp_shape s = {b, h, w, ch, c->warp};
    size_t sample = (size_t)h * w * ch;
    float *scratch = lqf_alloc(sizeof(float) * lqf_aro_search_scratch(&s));
    float *warped = lqf_alloc(sizeof(float) * sample * b);
    float *pp = lqf_alloc(sizeof(float) * 8 * (size_t)b);
    int *perm = lqf_alloc(sizeof(int) * 4 * (size_t)b);
    if (!scratch || !warped || !pp || !perm) {
        st = lqf_fail(LQF_ERR_NOMEM, "aroface augment: out of memory (batch %d of %dx%dx%d)", b, h, w, ch);
        goto done;
    }
    float *p0 = pp, *p = pp + 4 * (size_t)b;
    int *perm1 = perm, *perm2 = perm + b, *idx1 = perm + 2 * b, *idx2 = perm + 3 * b, n1, n2;
    lqf_aro_random_start(b, c->init_std, rng, p0);
    st = lqf_aro_search(c, &s, img, p0, grad_fn, ctx, p, warped, scratch);
    if (st != LQF_OK) goto done;
    lqf_randperm(rng, b, perm1);
    lqf_randperm(rng, b, perm2);
    st = lqf_aro_mix_select(b, c->ratio, perm1, perm2, idx1, &n1, idx2, &n2);
    if (st != LQF_OK) goto done;
    lqf_aro_mix_gather(sample, img, warped, labels, idx1, n1, idx2, n2, out, out_labels);
    *n_out = n1 + n2;
    if (params_out) memcpy(params_out, p, sizeof(float) * 4 * (size_t)b);
done:
    lqf_free(scratch);
    lqf_free(warped);
    lqf_free(pp);
    lqf_free(perm);
    return st;
}
