/*
 * test_warp.c — ARoFace's differentiable similarity warp (src/augment/warp.c) against
 * PyTorch 1.13 float32 (dumps by tools/ref_warp.py in tests/data/warp/): affine_grid and
 * grid_sample ('zeros', 'border'; forward, d/dinput, d/dgrid), the similarity matrix and its
 * backward, the whole warp on a real aligned LFW face in both modes (AdvWarp.py's pad quirk
 * and the corrected variant: forward, d/dimage, d/d(s,theta,tx,ty)), central finite
 * differences of d/d(s,theta,tx,ty), AdvWarp.py's signed ascent + clipping (reference bug and
 * fixed), its search loop run through lqf_aro_search with a closed-form loss (parameters after
 * 1..3 steps bit-identical to torch), lqf_aro_augment replayed from its generator, and the
 * clean/warped mixing. Tolerance 1e-5 absolute, relative above magnitude 1
 * (max|a-b| <= 1e-5 * max(1, max|ref|)); the errors are printed. A short timing of the warp
 * at batch 32 is printed, not asserted.
 */
#include "augment/warp.h"
#include "core/core.h"
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-5

static float *load(const char *name, long expect) {
    char rel[128];
    snprintf(rel, sizeof rel, "warp/%s", name);
    float *p = NULL;
    long n = tu_load_f32(tu_testdata(rel), &p);
    if (n != expect) {
        fprintf(stderr, "%s: %ld floats, expected %ld\n", rel, n, expect);
        free(p);
        tu_check(0, name, __FILE__, __LINE__);
        return NULL;
    }
    return p;
}

/* max|a-b| <= TOL * max(1, max|b|); prints the error. */
static double g_worst = 0;
static void cmp(const char *what, const float *a, const float *b, size_t n) {
    double md = 0, mb = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d == d)) d = INFINITY;
        if (d > md) { md = d; worst = i; }
        mb = fmax(mb, fabs((double)b[i]));
    }
    double scaled = md / fmax(1.0, mb);
    if (scaled > g_worst) g_worst = scaled;
    int ok = scaled <= TOL;
    tu_check(ok, what, __FILE__, __LINE__);
    printf("%s %-34s n=%-6zu max|ref| %-9.3g max abs err %.3g%s\n", ok ? "ok  " : "FAIL", what, n, mb, md,
           ok ? "" : "  <-- over tolerance");
    if (!ok) printf("     worst element %zu: got %.9g want %.9g\n", worst, a[worst], b[worst]);
}

/* ------------------------------------------------------------------ affine_grid */
static void test_affine_grid(void) {
    const int N = 2, H = 5, W = 7;
    float *theta = load("ag.theta", N * 6), *grid = load("ag.grid", N * H * W * 2),
          *dgrid = load("ag.dgrid", N * H * W * 2), *dtheta = load("ag.dtheta", N * 6);
    if (theta && grid && dgrid && dtheta) {
        float g[2 * 5 * 7 * 2], dt[12];
        lqf_affine_grid_forward(N, H, W, theta, g);
        cmp("affine_grid forward", g, grid, N * H * W * 2);
        lqf_affine_grid_backward(N, H, W, dgrid, dt);
        cmp("affine_grid d/dtheta", dt, dtheta, 12);
    }
    free(theta), free(grid), free(dgrid), free(dtheta);
}

/* ------------------------------------------------------------------ grid_sample */
static void test_grid_sample(void) {
    const int N = 2, C = 3, HI = 9, WI = 8, H = 6, W = 7;
    const size_t nx = (size_t)N * HI * WI * C, ny = (size_t)N * H * W * C, ng = (size_t)N * H * W * 2;
    float *x = load("gs.x", nx), *grid = load("gs.grid", ng), *dy = load("gs.dy", ny);
    float *y = malloc(sizeof(float) * ny), *dx = malloc(sizeof(float) * nx), *dg = malloc(sizeof(float) * ng);
    const char *names[2] = {"zeros", "border"};
    for (int m = 0; m < 2 && x && grid && dy; m++) {
        char f[64], what[64];
        lqf_grid_sample_shape s = {N, C, HI, WI, H, W, m ? LQF_GRID_PAD_BORDER : LQF_GRID_PAD_ZEROS};
        snprintf(f, sizeof f, "gs_%s.y", names[m]);
        float *ry = load(f, ny);
        snprintf(f, sizeof f, "gs_%s.dx", names[m]);
        float *rdx = load(f, nx);
        snprintf(f, sizeof f, "gs_%s.dgrid", names[m]);
        float *rdg = load(f, ng);
        if (ry && rdx && rdg) {
            lqf_grid_sample_forward(&s, x, grid, y);
            snprintf(what, sizeof what, "grid_sample %s forward", names[m]);
            cmp(what, y, ry, ny);
            memset(dx, 0x7f, sizeof(float) * nx); /* must be overwritten */
            lqf_grid_sample_backward(&s, x, grid, dy, dx, dg);
            snprintf(what, sizeof what, "grid_sample %s d/dinput", names[m]);
            cmp(what, dx, rdx, nx);
            snprintf(what, sizeof what, "grid_sample %s d/dgrid", names[m]);
            cmp(what, dg, rdg, ng);
            /* either output may be skipped */
            float *dg2 = malloc(sizeof(float) * ng);
            lqf_grid_sample_backward(&s, x, grid, dy, NULL, dg2);
            CHECK(memcmp(dg2, dg, sizeof(float) * ng) == 0);
            lqf_grid_sample_backward(&s, NULL, grid, dy, dx, NULL);
            snprintf(what, sizeof what, "grid_sample %s d/dinput alone", names[m]);
            cmp(what, dx, rdx, nx);
            free(dg2);
        }
        free(ry), free(rdx), free(rdg);
    }
    /* the dump places points exactly on the first/last pixel centre: under 'border' their
     * x-gradient is exactly 0 (torch), under 'zeros' it is not */
    if (x && grid && dy) {
        lqf_grid_sample_shape s = {N, C, HI, WI, H, W, LQF_GRID_PAD_BORDER};
        lqf_grid_sample_backward(&s, x, grid, dy, NULL, dg);
        CHECK(grid[0] == -0.875f && dg[0] == 0.0f && grid[2] == 0.875f && dg[2] == 0.0f);
        s.pad = LQF_GRID_PAD_ZEROS;
        lqf_grid_sample_backward(&s, x, grid, dy, NULL, dg);
        CHECK(dg[0] != 0.0f && dg[2] != 0.0f);
    }
    /* NaN coordinates sample 0 and get no gradient */
    {
        float img[4 * 4] = {0}, gnan[2] = {NAN, 0.1f}, out[1] = {5}, d1[1] = {1}, dgn[2] = {7, 7}, dimg[16];
        for (int i = 0; i < 16; i++) img[i] = (float)i;
        lqf_grid_sample_shape s = {1, 1, 4, 4, 1, 1, LQF_GRID_PAD_BORDER};
        lqf_grid_sample_forward(&s, img, gnan, out);
        lqf_grid_sample_backward(&s, img, gnan, d1, dimg, dgn);
        CHECK(out[0] == 0.0f && dgn[0] == 0.0f && dgn[1] == 0.0f && dimg[5] == 0.0f);
    }
    free(x), free(grid), free(dy), free(y), free(dx), free(dg);
}

/* ------------------------------------------------------------------ similarity */
static void test_similarity(void) {
    const int N = 5;
    float *p = load("sim.params", N * 4), *M = load("sim.M", N * 6), *dM = load("sim.dM", N * 6),
          *dp = load("sim.dparams", N * 4);
    if (p && M && dM && dp) {
        float m[30], d[20];
        lqf_similarity_forward(N, p, m);
        cmp("similarity M", m, M, N * 6);
        lqf_similarity_backward(N, p, dM, d);
        cmp("similarity d/d(s,theta,tx,ty)", d, dp, N * 4);
    }
    free(p), free(M), free(dM), free(dp);
}

/* ------------------------------------------------------------------ the whole warp */
static float *load_face(int n, int h, int w, int c) {
    uint8_t *u8 = NULL;
    size_t len = 0;
    if (lqf_read_file(tu_testdata("warp/face.u8"), &u8, &len) != LQF_OK || len != (size_t)h * w * c) {
        fprintf(stderr, "face.u8: %s\n", lqf_last_error());
        free(u8);
        return NULL;
    }
    float *img = malloc(sizeof(float) * n * len);
    for (int b = 0; b < n; b++)
        for (size_t i = 0; i < len; i++) img[b * len + i] = ((float)u8[i] / 255.0f - 0.5f) / 0.5f;
    free(u8);
    return img;
}

/* sum of g * warp(img, p) in double */
static double warp_dot(const lqf_aro_warp_shape *s, const float *img, const float *p, const float *g,
                       float *out, float *scratch) {
    lqf_aro_warp_forward(s, img, p, out, scratch);
    double acc = 0;
    for (size_t i = 0; i < (size_t)s->n * s->h * s->w * s->c; i++) acc += (double)g[i] * out[i];
    return acc;
}

static void test_warp(void) {
    float *cfg = load("warp.cfg", 9), *params = load("warp.params", 8);
    if (!cfg || !params) {
        free(cfg), free(params);
        return;
    }
    const int N = (int)cfg[0], H = (int)cfg[1], W = (int)cfg[2], C = (int)cfg[3];
    const size_t nimg = (size_t)N * H * W * C, npx = (size_t)N * H * W;
    if (!CHECK(N == 2 && C == 3)) { /* the fixed-size arrays below */
        free(cfg), free(params);
        return;
    }
    float *img = load_face(N, H, W, C);
    float *g1 = malloc(sizeof(float) * nimg), *g2 = malloc(sizeof(float) * nimg);
    float *out = malloc(sizeof(float) * nimg), *dimg = malloc(sizeof(float) * nimg);
    float *dimg0 = malloc(sizeof(float) * npx), *gsm = malloc(sizeof(float) * nimg);
    for (int b = 0; b < N; b++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                for (int c = 0; c < C; c++)
                    gsm[(((size_t)b * H + i) * W + j) * C + c] =
                        (float)(1e-3 * (1 + b + sin(6.2832 * i / H + c) * cos(6.2832 * j / W)));
    for (size_t i = 0; i < nimg; i++) g1[i] = (float)(cfg[4] * sin(0.37 * (double)i + 0.2));
    for (size_t j = 0; j < npx; j++) {
        float a = (float)(cfg[5] * sin(0.53 * (double)j + 0.1));
        for (int c = 0; c < C; c++) g2[j * C + c] = a * cfg[6 + c];
    }
    const char *mname[2] = {"ref", "fix"};
    for (int m = 0; m < 2 && img; m++) {
        lqf_aro_warp_shape s = {N, H, W, C, m ? LQF_ARO_WARP_CORRECTED : LQF_ARO_WARP_REFERENCE};
        float *scratch = malloc(sizeof(float) * lqf_aro_warp_scratch(&s));
        char f[64], what[80];
        snprintf(f, sizeof f, "warp_%s.out", mname[m]);
        float *rout = load(f, nimg);
        snprintf(f, sizeof f, "warp_%s.dp1", mname[m]);
        float *rdp1 = load(f, N * 4);
        snprintf(f, sizeof f, "warp_%s.dimg0", mname[m]);
        float *rdimg0 = load(f, npx);
        snprintf(f, sizeof f, "warp_%s.dp2", mname[m]);
        float *rdp2 = load(f, N * 4);
        if (rout && rdp1 && rdimg0 && rdp2) {
            float dp[8];
            lqf_aro_warp_forward(&s, img, params, out, scratch);
            snprintf(what, sizeof what, "warp %s forward (face)", mname[m]);
            cmp(what, out, rout, nimg);
            lqf_aro_warp_backward(&s, img, params, g1, NULL, dp, scratch);
            snprintf(what, sizeof what, "warp %s d/dparams (g1)", mname[m]);
            cmp(what, dp, rdp1, N * 4);
            lqf_aro_warp_backward(&s, img, params, g2, dimg, dp, scratch);
            snprintf(what, sizeof what, "warp %s d/dparams (g2)", mname[m]);
            cmp(what, dp, rdp2, N * 4);
            /* torch's d/dimage channel c is exactly b[c] * channel 0 (checked by ref_warp.py) */
            for (int c = 0; c < C; c++) {
                for (size_t j = 0; j < npx; j++) dimg0[j] = rdimg0[j] * cfg[6 + c];
                float *ch = malloc(sizeof(float) * npx);
                for (size_t j = 0; j < npx; j++) ch[j] = dimg[j * C + c];
                snprintf(what, sizeof what, "warp %s d/dimage channel %d", mname[m], c);
                cmp(what, ch, dimg0, npx);
                free(ch);
            }
            /* d/dimage alone (no img needed) equals the joint call */
            float *dimg_b = malloc(sizeof(float) * nimg);
            lqf_aro_warp_backward(&s, NULL, params, g2, dimg_b, NULL, scratch);
            CHECK(memcmp(dimg_b, dimg, sizeof(float) * nimg) == 0);
            free(dimg_b);

            /* central finite differences of L(p) = <gs, warp(p)> against the analytic
             * gradient, with a smooth upstream gs (a rapidly oscillating one, like g1, makes
             * the kinks of bilinear interpolation dominate any finite step) */
            float fd[8], an[8];
            lqf_aro_warp_backward(&s, img, params, gsm, NULL, an, scratch);
            const double h[4] = {1e-4, 1e-4, 5e-5, 5e-5};
            for (int b = 0; b < N; b++)
                for (int k = 0; k < 4; k++) {
                    float pp[8], pm[8];
                    memcpy(pp, params, sizeof pp);
                    memcpy(pm, params, sizeof pm);
                    pp[4 * b + k] += (float)h[k];
                    pm[4 * b + k] -= (float)h[k];
                    double step = (double)pp[4 * b + k] - pm[4 * b + k];
                    fd[4 * b + k] = (float)((warp_dot(&s, img, pp, gsm, out, scratch) -
                                             warp_dot(&s, img, pm, gsm, out, scratch)) / step);
                }
            double md = 0, ma = 0;
            for (int i = 0; i < 8; i++) md = fmax(md, fabs((double)fd[i] - an[i])), ma = fmax(ma, fabs((double)an[i]));
            printf("     warp %s finite differences: max|grad| %.4g, max|fd-grad| %.3g (rel %.2e)\n", mname[m], ma,
                   md, md / ma);
            snprintf(what, sizeof what, "warp %s finite differences", mname[m]);
            tu_check(md <= 2e-2 * ma, what, __FILE__, __LINE__);
        }
        free(rout), free(rdp1), free(rdimg0), free(rdp2), free(scratch);
    }

    /* the quirk itself: at identity parameters the corrected warp returns the image, the
     * reference warp zooms out by (W+2)/W (a -1 rim blends into the border pixels) */
    if (img) {
        float id[8] = {1, 0, 0, 0, 1, 0, 0, 0};
        for (int m = 0; m < 2; m++) {
            lqf_aro_warp_shape s = {N, H, W, C, m ? LQF_ARO_WARP_CORRECTED : LQF_ARO_WARP_REFERENCE};
            float *scratch = malloc(sizeof(float) * lqf_aro_warp_scratch(&s));
            lqf_aro_warp_forward(&s, img, id, out, scratch);
            double md = 0;
            for (size_t i = 0; i < nimg; i++) md = fmax(md, fabs((double)out[i] - img[i]));
            if (m) {
                /* pixel centres land on integers up to float rounding (~1e-5 px) */
                printf("     identity: corrected warp differs from the image by %.2g\n", md);
                CHECK(md < 1e-4);
            } else {
                /* bilinear in double on the padded image at u = ((2j+1)/W) (W+2)/2 - 0.5:
                 * the top row mixes the -1 rim in, the centre is a 114/112 zoom */
                int pts[3][2] = {{0, W / 2}, {H / 2, W / 2 + 7}, {H - 1, 3}};
                double worst = 0;
                for (int q = 0; q < 3; q++) {
                    int i = pts[q][0], j = pts[q][1];
                    double u = (2.0 * j + 1) / W * (W + 2) / 2 - 0.5, v = (2.0 * i + 1) / H * (H + 2) / 2 - 0.5;
                    int u0 = (int)floor(u), v0 = (int)floor(v);
                    double fu = u - u0, fv = v - v0, want = 0;
                    for (int dv = 0; dv < 2; dv++)
                        for (int du = 0; du < 2; du++) {
                            int r = v0 + dv - 1, cc = u0 + du - 1; /* padded -> image index */
                            double val = r >= 0 && r < H && cc >= 0 && cc < W ? img[((size_t)r * W + cc) * C] : -1.0;
                            want += (dv ? fv : 1 - fv) * (du ? fu : 1 - fu) * val;
                        }
                    worst = fmax(worst, fabs(out[((size_t)i * W + j) * C] - want));
                    if (q == 0) CHECK(out[(size_t)j * C] < -0.9f); /* the thin black rim */
                }
                printf("     identity: reference warp differs from the image by up to %.3f; from a (W+2)/W zoom "
                       "of the padded image by %.2g\n", md, worst);
                CHECK(md > 0.05 && worst < 1e-4);
            }
            free(scratch);
        }
    }
    free(cfg), free(params), free(img), free(g1), free(g2), free(out), free(dimg), free(dimg0), free(gsm);
}

/* ------------------------------------------------------------------ ascent + clipping */
static void test_clip(void) {
    float *cfg = load("clip.cfg", 2);
    if (!cfg) return;
    const int B = (int)cfg[0], K = (int)cfg[1];
    float *p0 = load("clip.p0", B * 4), *grad = load("clip.grad", K * B * 4), *eta = load("clip.eta", 3),
          *ref = load("clip_ref.p", K * B * 4), *fix = load("clip_fix.p", K * B * 4);
    if (p0 && grad && eta && ref && fix) {
        for (int preset = 0; preset < 2; preset++) {
            lqf_aro_config c;
            lqf_aro_config_preset(&c, preset ? LQF_ARO_PRESET_FIXED : LQF_ARO_PRESET_REFERENCE);
            c.eta_s = eta[0], c.eta_theta = eta[1], c.eta_t = eta[2];
            float *p = malloc(sizeof(float) * B * 4);
            memcpy(p, p0, sizeof(float) * B * 4);
            int exact = 1;
            const float *want = preset ? fix : ref;
            for (int k = 0; k < K; k++) {
                lqf_aro_ascent_step(&c, B, p0, grad + (size_t)k * B * 4, p);
                exact &= memcmp(p, want + (size_t)k * B * 4, sizeof(float) * B * 4) == 0;
            }
            printf("%s AdvWarp update %s preset, %d steps x %d samples: %s\n", exact ? "ok  " : "FAIL",
                   preset ? "fixed" : "reference", K, B, exact ? "bit-identical to torch" : "differs");
            CHECK(exact);
            free(p);
        }
        /* the bug is visible in this data: some t differs between the presets */
        int differ = 0;
        for (int i = 0; i < K * B * 4; i++) differ += ref[i] != fix[i] && (i % 4) >= 2;
        CHECK(differ > 0);
    }
    free(cfg), free(p0), free(grad), free(eta), free(ref), free(fix);
}

/* ------------------------------------------------------------------ the wired search */
/* closed-form loss of ref_warp.py: L = 0.5*sum((warped - T)^2), dL/dwarped = warped - T */
typedef struct {
    const float *T;
    size_t sample;
    int calls, fail_at;
} toy_loss;

static lqf_status toy_grad(void *ctx, int n, const float *warped, float *dwarped) {
    toy_loss *t = ctx;
    if (++t->calls == t->fail_at) return lqf_fail(LQF_ERR_NUMERIC, "toy loss: not finite");
    for (size_t i = 0; i < (size_t)n * t->sample; i++) dwarped[i] = warped[i] - t->T[i];
    return LQF_OK;
}

static void test_search(void) {
    float *cfg = load("adv.cfg", 3);
    if (!cfg) return;
    const int B = (int)cfg[0], K = (int)cfg[1], H = 112, W = 112, C = 3;
    const size_t nimg = (size_t)B * H * W * C;
    if (!CHECK(B == 4)) { /* the fixed-size arrays below */
        free(cfg);
        return;
    }
    float *p0 = load("adv.p0", B * 4), *img = load_face(B, H, W, C), *T = malloc(sizeof(float) * nimg);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                for (int c = 0; c < C; c++)
                    T[(((size_t)b * H + i) * W + j) * C + c] = (float)(0.5 * sin(0.05 * i + 0.07 * j + c + b));
    const char *mname[2] = {"ref", "fix"};
    for (int m = 0; m < 2 && p0 && img; m++) {
        char f[64], what[80];
        snprintf(f, sizeof f, "adv_%s.p", mname[m]);
        float *rp = load(f, K * B * 4);
        snprintf(f, sizeof f, "adv_%s.dp", mname[m]);
        float *rdp = load(f, K * B * 4);
        if (!rp || !rdp) {
            free(rp), free(rdp);
            continue;
        }
        lqf_aro_config c;
        lqf_aro_config_preset(&c, m ? LQF_ARO_PRESET_FIXED : LQF_ARO_PRESET_REFERENCE);
        c.eta_s = c.eta_theta = c.eta_t = cfg[2];
        lqf_aro_warp_shape s = {B, H, W, C, c.warp};
        float *scratch = malloc(sizeof(float) * lqf_aro_search_scratch(&s));
        float *warped = malloc(sizeof(float) * nimg), *dw = malloc(sizeof(float) * nimg), p[16], dp[16];
        toy_loss t = {T, (size_t)H * W * C, 0, 0};
        int exact = 1;
        for (int k = 1; k <= K; k++) {
            /* gradient at torch's parameters of step k-1 */
            const float *pk = k == 1 ? p0 : rp + (size_t)(k - 2) * B * 4;
            lqf_aro_warp_forward(&s, img, pk, warped, scratch);
            toy_grad(&t, B, warped, dw);
            lqf_aro_warp_backward(&s, img, pk, dw, NULL, dp, scratch);
            snprintf(what, sizeof what, "search %s step %d dL/dp", mname[m], k);
            cmp(what, dp, rdp + (size_t)(k - 1) * B * 4, B * 4);
            /* the whole search with k steps lands on torch's parameters, bit for bit */
            c.k = k;
            t.calls = 0;
            CHECK(lqf_aro_search(&c, &s, img, p0, toy_grad, &t, p, warped, scratch) == LQF_OK && t.calls == k);
            exact &= memcmp(p, rp + (size_t)(k - 1) * B * 4, sizeof(float) * B * 4) == 0;
        }
        printf("%s search %s preset, %d steps x %d samples: parameters %s\n", exact ? "ok  " : "FAIL",
               m ? "fixed" : "reference", K, B, exact ? "bit-identical to torch" : "differ from torch");
        CHECK(exact);
        /* the callback's failure comes back with context */
        t.calls = 0;
        t.fail_at = 2;
        c.k = 3;
        CHECK(lqf_aro_search(&c, &s, img, p0, toy_grad, &t, p, warped, scratch) == LQF_ERR_NUMERIC);
        CHECK(strstr(lqf_last_error(), "step 2") && strstr(lqf_last_error(), "toy loss"));
        free(rp), free(rdp), free(scratch), free(warped), free(dw);
    }

    /* lqf_aro_augment = random start + search + two permutations + mixing, from one rng */
    if (p0 && img) {
        lqf_aro_config c;
        lqf_aro_config_preset(&c, LQF_ARO_PRESET_REFERENCE);
        const size_t sample = (size_t)H * W * C;
        int labels[4] = {11, 22, 33, 44}, olab[4], n_out = -1, n_out2 = -1, olab2[4];
        float *out = malloc(sizeof(float) * nimg), *out2 = malloc(sizeof(float) * nimg), par[16], par2[16];
        toy_loss t = {T, sample, 0, 0};
        lqf_rng r;
        lqf_rng_seed(&r, 7);
        CHECK(lqf_aro_augment(&c, B, H, W, C, img, labels, &r, toy_grad, &t, out, olab, &n_out, par) == LQF_OK);
        lqf_rng_seed(&r, 7);
        CHECK(lqf_aro_augment(&c, B, H, W, C, img, labels, &r, toy_grad, &t, out2, olab2, &n_out2, par2) == LQF_OK);
        CHECK(n_out == 4 && n_out2 == 4 && memcmp(out, out2, sizeof(float) * nimg) == 0 &&
              memcmp(par, par2, sizeof par) == 0);
        /* replay the same draws with the public pieces */
        float q0[16], q[16];
        int perm1[4], perm2[4], idx1[4], idx2[4], n1, n2;
        lqf_rng_seed(&r, 7);
        lqf_aro_random_start(B, c.init_std, &r, q0);
        lqf_aro_warp_shape s = {B, H, W, C, c.warp};
        float *scratch = malloc(sizeof(float) * lqf_aro_search_scratch(&s)), *warped = malloc(sizeof(float) * nimg);
        CHECK(lqf_aro_search(&c, &s, img, q0, toy_grad, &t, q, warped, scratch) == LQF_OK);
        lqf_randperm(&r, B, perm1);
        lqf_randperm(&r, B, perm2);
        CHECK(lqf_aro_mix_select(B, c.ratio, perm1, perm2, idx1, &n1, idx2, &n2) == LQF_OK && n1 == 3 && n2 == 1);
        int same = memcmp(q, par, sizeof q) == 0;
        for (int i = 0; i < n1 + n2; i++) {
            const float *src = i < n1 ? img + idx1[i] * sample : warped + idx2[i - n1] * sample;
            same &= memcmp(out + i * sample, src, sizeof(float) * sample) == 0;
            same &= olab[i] == labels[i < n1 ? idx1[i] : idx2[i - n1]];
        }
        /* the search moved every parameter by one step of 0.1 (no bound binds at k = 1) */
        for (int i = 0; i < 4 * B; i++) same &= fabsf(fabsf(q[i] - q0[i]) - 0.1f) < 1e-6f;
        CHECK(same);
        printf("%s augment: 3 clean + 1 warped as replayed from the same generator\n", same ? "ok  " : "FAIL");
        CHECK(lqf_aro_augment(&c, B, H, W, C, img, NULL, &r, toy_grad, &t, out, olab, &n_out, NULL) == LQF_ERR_ARG);
        c.k = 0;
        CHECK(lqf_aro_augment(&c, B, H, W, C, img, labels, &r, toy_grad, &t, out, olab, &n_out, NULL) == LQF_ERR_ARG);
        free(out), free(out2), free(scratch), free(warped);
    }
    free(cfg), free(p0), free(img), free(T);
}

/* ------------------------------------------------------------------ mixing */
static void test_mix(void) {
    for (int k = 0; k < 4; k++) {
        char f[64];
        snprintf(f, sizeof f, "mix%d.cfg", k);
        float *cfg = load(f, 2);
        if (!cfg) continue;
        int B = (int)cfg[0];
        double ratio = cfg[1]; /* float32 of the ratio: round to the decimal torch used */
        ratio = round(ratio * 1e6) / 1e6;
        const char *parts[5] = {"perm1", "perm2", "labels", "out_labels", "out_src"};
        float *v[5];
        int n1 = 0, ok = 1;
        for (int i = 0; i < 5; i++) {
            snprintf(f, sizeof f, "warp/mix%d.%s", k, parts[i]);
            long cnt = tu_load_f32(tu_testdata(f), &v[i]);
            if (i < 3 ? cnt != B : cnt < 0) ok = 0;
            if (i == 3) n1 = (int)cnt;
        }
        if (ok) {
            int *perm1 = malloc(sizeof(int) * B), *perm2 = malloc(sizeof(int) * B), *labels = malloc(sizeof(int) * B);
            int *idx1 = malloc(sizeof(int) * B), *idx2 = malloc(sizeof(int) * B), *olab = malloc(sizeof(int) * B);
            float *clean = malloc(sizeof(float) * B), *warped = malloc(sizeof(float) * B), *out = malloc(sizeof(float) * B);
            for (int i = 0; i < B; i++) {
                perm1[i] = (int)v[0][i], perm2[i] = (int)v[1][i], labels[i] = (int)v[2][i];
                clean[i] = 100.0f * i, warped[i] = 100.0f * i + 1;
            }
            int want_total = n1, a = 0, b = 0;
            CHECK(lqf_aro_mix_select(B, ratio, perm1, perm2, idx1, &a, idx2, &b) == LQF_OK);
            CHECK(a + b == want_total);
            lqf_aro_mix_gather(1, clean, warped, labels, idx1, a, idx2, b, out, olab);
            int same = a + b == want_total;
            for (int i = 0; same && i < a + b; i++) same = olab[i] == (int)v[3][i] && out[i] == v[4][i];
            printf("%s mixing B=%d ratio %.2f: %d clean + %d warped, as torch\n", same ? "ok  " : "FAIL", B, ratio, a,
                   b);
            CHECK(same);
            /* a repeated index is not a permutation */
            perm2[0] = perm2[B - 1];
            CHECK(lqf_aro_mix_select(B, ratio, perm1, perm2, idx1, &a, idx2, &b) == LQF_ERR_ARG);
            CHECK(strstr(lqf_last_error(), "perm2") != NULL);
            CHECK(lqf_aro_mix_select(B, 1.5, perm1, perm1, idx1, &a, idx2, &b) == LQF_ERR_ARG);
            free(perm1), free(perm2), free(labels), free(idx1), free(idx2), free(olab), free(clean), free(warped), free(out);
        } else {
            CHECK(!"mixing dumps");
        }
        for (int i = 0; i < 5; i++) free(v[i]);
        free(cfg);
    }
}

/* ------------------------------------------------------------------ random start, config */
static void test_random_start(void) {
    enum { B = 20000 };
    float *p = malloc(sizeof(float) * B * 4), *q = malloc(sizeof(float) * B * 4);
    lqf_rng r;
    lqf_rng_seed(&r, 2048);
    lqf_aro_random_start(B, 0.01, &r, p);
    lqf_rng_seed(&r, 2048);
    lqf_aro_random_start(B, 0.01, &r, q);
    CHECK(memcmp(p, q, sizeof(float) * B * 4) == 0);
    const double want_mean[4] = {1, 0, 0, 0};
    int ok = 1;
    for (int k = 0; k < 4; k++) {
        double m = 0, v = 0;
        for (int b = 0; b < B; b++) m += p[4 * b + k];
        m /= B;
        for (int b = 0; b < B; b++) v += (p[4 * b + k] - m) * (p[4 * b + k] - m);
        double sd = sqrt(v / (B - 1));
        /* standard error of the mean 7e-5, of the std 5e-5: 6 sigma bounds */
        ok &= fabs(m - want_mean[k]) < 4.2e-4 && fabs(sd - 0.01) < 3e-4;
        printf("     random start param %d: mean %.5f std %.5f\n", k, m, sd);
    }
    CHECK(ok);
    /* permutations */
    int perm[50], seen[50] = {0}, ident = 1;
    lqf_randperm(&r, 50, perm);
    for (int i = 0; i < 50; i++) {
        if (perm[i] >= 0 && perm[i] < 50) seen[perm[i]]++;
        ident &= perm[i] == i;
    }
    int all = 1;
    for (int i = 0; i < 50; i++) all &= seen[i] == 1;
    CHECK(all && !ident);
    free(p), free(q);

    lqf_aro_config c;
    lqf_aro_config_preset(&c, LQF_ARO_PRESET_REFERENCE);
    CHECK(lqf_aro_config_check(&c) == LQF_OK && c.k == 1 && c.warp == LQF_ARO_WARP_REFERENCE && !c.fixed_clip);
    lqf_aro_config_preset(&c, LQF_ARO_PRESET_FIXED);
    CHECK(lqf_aro_config_check(&c) == LQF_OK && c.warp == LQF_ARO_WARP_CORRECTED && c.fixed_clip);
    c.k = 0;
    CHECK(lqf_aro_config_check(&c) == LQF_ERR_ARG && strstr(lqf_last_error(), "k (ascent steps)"));
    c.k = 3;
    c.ratio = -0.1;
    CHECK(lqf_aro_config_check(&c) == LQF_ERR_ARG && strstr(lqf_last_error(), "ratio"));
    c.ratio = 0.75;
    c.eta_t = NAN;
    CHECK(lqf_aro_config_check(&c) == LQF_ERR_ARG);
}

/* ------------------------------------------------------------------ timing (printed only) */
static void time_warp(void) {
    const int N = 32, H = 112, W = 112, C = 3;
    size_t nimg = (size_t)N * H * W * C;
    float *img = malloc(sizeof(float) * nimg), *out = malloc(sizeof(float) * nimg), *d = malloc(sizeof(float) * nimg);
    float p[4 * 32], dp[4 * 32];
    lqf_rng r;
    lqf_rng_seed(&r, 1);
    for (size_t i = 0; i < nimg; i++) img[i] = (float)(2 * lqf_rng_uniform(&r) - 1);
    lqf_aro_random_start(N, 0.01, &r, p);
    for (int m = 0; m < 2; m++) {
        lqf_aro_warp_shape s = {N, H, W, C, m ? LQF_ARO_WARP_CORRECTED : LQF_ARO_WARP_REFERENCE};
        float *scratch = malloc(sizeof(float) * lqf_aro_warp_scratch(&s));
        double best[3] = {1e30, 1e30, 1e30}; /* best of 3: the machine is shared */
        for (int it = 0; it < 3; it++) {
            double t0 = omp_get_wtime();
            lqf_aro_warp_forward(&s, img, p, out, scratch);
            double t1 = omp_get_wtime();
            lqf_aro_warp_backward(&s, img, p, out, NULL, dp, scratch);
            double t2 = omp_get_wtime();
            lqf_aro_warp_backward(&s, img, p, out, d, dp, scratch);
            double t3 = omp_get_wtime();
            best[0] = fmin(best[0], t1 - t0), best[1] = fmin(best[1], t2 - t1), best[2] = fmin(best[2], t3 - t2);
        }
        printf("     timing %s warp, batch %d 112x112x3, %d threads (best of 3): forward %.2f ms, backward "
               "d/dparams %.2f ms, backward d/dparams+d/dimage %.2f ms\n",
               m ? "corrected" : "reference", N, omp_get_max_threads(), 1e3 * best[0], 1e3 * best[1], 1e3 * best[2]);
        free(scratch);
    }
    free(img), free(out), free(d);
}

int main(void) {
    test_affine_grid();
    test_grid_sample();
    test_similarity();
    test_warp();
    test_clip();
    test_search();
    test_mix();
    test_random_start();
    time_warp();
    printf("worst scaled error vs torch: %.3g (tolerance %.0e)\n", g_worst, TOL);
    return tu_finish("test_warp");
}
