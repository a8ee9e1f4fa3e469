/*
 * test_heads.c — the margin heads (src/train/heads.c) against PyTorch: for every case that
 * tools/ref_heads.py dumped into tests/data/heads/ (each head at B=8, D=16, C=10, AdaFace and
 * CurricularFace over consecutive batches, ArcFace and AdaFace at B=64, D=128, C=1000) the
 * loss, logits, dL/dx, dL/dW (and dL/db), accuracy and EMA state must match to 1e-4
 * (normalised max error: max|a-b| / max|ref|). As a complement, directional finite
 * differences of the loss check every head's gradients on its own, and a C=100k batch
 * checks that large class counts run in B x C memory.
 */
#include "testutil.h"
#include "train/heads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double g_worst_loss = 0, g_worst_grad = 0, g_worst_logit = 0, g_worst_fd = 0;

static float *load(const char *name, const char *suffix, long expect) {
    char rel[256];
    snprintf(rel, sizeof rel, "heads/%.60s%.30s", name, suffix);
    float *p = NULL;
    long n = tu_load_f32(tu_testdata(rel), &p);
    if (n != expect) {
        fprintf(stderr, "%s: %ld floats, expected %ld\n", rel, n, expect);
        free(p);
        return NULL;
    }
    return p;
}

/* cfg file layout written by tools/ref_heads.py */
enum { CF_B, CF_D, CF_C, CF_NB, CF_TYPE, CF_S, CF_M, CF_M1, CF_M2, CF_M3, CF_EPS, CF_H, CF_TALPHA,
       CF_LA, CF_UA, CF_LM, CF_UM, CF_LG, CF_EASY, CF_SFIX, CF_LMAX, CF_LMIN, CF_LGAM, CF_LPOW,
       CF_BIAS, CF_T0, CF_FORMULA, CF_N };

static void config_from(const float *f, lqf_head_config *c) {
    lqf_head_config_default(c, (lqf_head_type)(int)f[CF_TYPE], (int)f[CF_D], (int)f[CF_C]);
    c->s = f[CF_S];
    c->m = f[CF_M];
    c->m1 = f[CF_M1];
    c->m2 = f[CF_M2];
    c->m3 = f[CF_M3];
    c->eps = f[CF_EPS];
    c->h = f[CF_H];
    c->t_alpha = f[CF_TALPHA];
    c->l_a = f[CF_LA];
    c->u_a = f[CF_UA];
    c->l_m = f[CF_LM];
    c->u_m = f[CF_UM];
    c->lambda_g = f[CF_LG];
    c->easy_margin = (int)f[CF_EASY];
    c->sphere_fixed_scale = (int)f[CF_SFIX];
    c->lambda_max = f[CF_LMAX];
    c->lambda_min = f[CF_LMIN];
    c->lambda_gamma = f[CF_LGAM];
    c->lambda_power = f[CF_LPOW];
    c->use_bias = (int)f[CF_BIAS];
}

/* The closed-form inputs of ref_heads.py's large cases. */
static void formula_inputs(int B, int D, int C, float *x, float *W, int32_t *labels) {
    for (long i = 0; i < (long)B * D; i++) {
        long b = i / D;
        x[i] = (float)((1.0 + 0.5 * (double)(b % 7)) * sin(0.37 * (double)i + 0.1));
    }
    for (long j = 0; j < (long)D * C; j++) {
        long d = j / C;
        W[j] = (float)(0.05 * cos(0.11 * (double)j + 0.2 * (double)d));
    }
    for (int b = 0; b < B; b++) labels[b] = (b * 37 + 11) % C;
}

static void check_err(const char *name, int k, const char *what, double err, double tol, double *worst) {
    char msg[160];
    snprintf(msg, sizeof msg, "%.60s batch %d %.20s normalised error %.3g <= %.0e", name, k, what, err, tol);
    tu_check(err <= tol, msg, __FILE__, __LINE__);
    printf("  %-18s batch %d %-7s err %.3g\n", name, k, what, err);
    if (err > *worst) *worst = err;
}

/* ------------------------------------------------------------------ reference cases */
static void run_case(const char *name) {
    float *cfgv = load(name, ".cfg", CF_N);
    if (!CHECK(cfgv != NULL)) return;
    const int B = (int)cfgv[CF_B], D = (int)cfgv[CF_D], C = (int)cfgv[CF_C], nb = (int)cfgv[CF_NB];
    const int formula = cfgv[CF_FORMULA] != 0;
    lqf_head_config cfg;
    config_from(cfgv, &cfg);
    lqf_head *h = NULL;
    if (!CHECK(lqf_head_create(&cfg, &h) == LQF_OK)) { free(cfgv); return; }
    h->state.t = cfgv[CF_T0];

    float *W = NULL, *bias = NULL, *x = NULL;
    int32_t *labels = malloc(sizeof(int32_t) * B);
    float *dx = malloc(sizeof(float) * B * D), *dW = malloc(sizeof(float) * D * C);
    float *db = malloc(sizeof(float) * C), *logits = malloc(sizeof(float) * B * C);
    if (formula) {
        x = malloc(sizeof(float) * B * D);
        W = malloc(sizeof(float) * D * C);
        formula_inputs(B, D, C, x, W, labels);
    } else {
        W = load(name, ".W", (long)D * C);
        if (cfg.use_bias) bias = load(name, ".bias", C);
    }
    for (int k = 0; k < nb && W; k++) {
        char sfx[64];
        float *rlog = NULL, *rlab = NULL;
        if (!formula) {
            free(x);
            snprintf(sfx, sizeof sfx, ".%d.x", k);
            x = load(name, sfx, (long)B * D);
            snprintf(sfx, sizeof sfx, ".%d.labels", k);
            rlab = load(name, sfx, B);
            snprintf(sfx, sizeof sfx, ".%d.logits", k);
            rlog = load(name, sfx, (long)B * C);
            if (!CHECK(x && rlab && rlog)) break;
            for (int b = 0; b < B; b++) labels[b] = (int32_t)rlab[b];
        }
        snprintf(sfx, sizeof sfx, ".%d.dx", k);
        float *rdx = load(name, sfx, (long)B * D);
        snprintf(sfx, sizeof sfx, ".%d.dW", k);
        float *rdW = load(name, sfx, (long)D * C);
        snprintf(sfx, sizeof sfx, ".%d.out", k);
        float *rout = load(name, sfx, 8);
        float *rdb = NULL;
        if (bias) {
            snprintf(sfx, sizeof sfx, ".%d.db", k);
            rdb = load(name, sfx, C);
        }
        if (CHECK(rdx && rdW && rout && (!bias || rdb))) {
            lqf_head_result r;
            lqf_status st = lqf_head_forward_backward(h, B, x, W, bias, labels, &r, dx, dW,
                                                      bias ? db : NULL, formula ? NULL : logits);
            CHECK(st == LQF_OK);
            double lerr = fabs(r.loss - rout[0]) / fabs(rout[0]);
            check_err(name, k, "loss", lerr, 1e-4, &g_worst_loss);
            if (cfg.type == LQF_HEAD_MAGFACE)
                check_err(name, k, "reg", fabs(r.reg - rout[2]) / fabs(rout[2]), 1e-4, &g_worst_loss);
            if (rlog) check_err(name, k, "logits", tu_norm_err(logits, rlog, (size_t)B * C), 1e-4, &g_worst_logit);
            check_err(name, k, "dx", tu_norm_err(dx, rdx, (size_t)B * D), 1e-4, &g_worst_grad);
            check_err(name, k, "dW", tu_norm_err(dW, rdW, (size_t)D * C), 1e-4, &g_worst_grad);
            if (rdb) check_err(name, k, "db", tu_norm_err(db, rdb, C), 1e-4, &g_worst_grad);
            CHECK(fabs(r.accuracy - rout[3]) < 1e-6);
            if (cfg.type == LQF_HEAD_ADAFACE) {
                check_err(name, k, "mean", fabs(h->state.batch_mean - rout[4]) / rout[4], 1e-5, &g_worst_loss);
                check_err(name, k, "std", fabs(h->state.batch_std - rout[5]) / rout[5], 1e-5, &g_worst_loss);
            }
            if (cfg.type == LQF_HEAD_CURRICULAR)
                check_err(name, k, "t", fabs(h->state.t - rout[6]) / fmax(fabs(rout[6]), 1e-3), 1e-5, &g_worst_loss);
            if (cfg.type == LQF_HEAD_SPHEREFACE && rout[7] > 0)
                check_err(name, k, "lambda", fabs(h->state.lambda - rout[7]) / rout[7], 1e-6, &g_worst_loss);
        }
        free(rdx);
        free(rdW);
        free(rout);
        free(rdb);
        free(rlog);
        free(rlab);
    }
    lqf_head_free(h);
    free(cfgv);
    free(W);
    free(bias);
    free(x);
    free(labels);
    free(dx);
    free(dW);
    free(db);
    free(logits);
}

/* ------------------------------------------------------------------ finite differences */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double urand(void) { /* xorshift64*, uniform in [0,1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static double nrand(void) { return sqrt(-2 * log(1 - urand())) * cos(6.283185307179586 * urand()); }

static double eval_loss(lqf_head *h, const lqf_head_state *s0, int B, const float *x, const float *W,
                        const float *bias, const int32_t *labels) {
    lqf_head_result r;
    h->state = *s0;
    lqf_head_forward_backward(h, B, x, W, bias, labels, &r, NULL, NULL, NULL, NULL);
    return r.loss;
}

/* Directional derivatives along random directions v: (L(p + v) - L(p - v)) / 2 against
 * grad.v, scored by ||fd - an|| / ||an|| over the directions. For AdaFace (whose norms are
 * detached by design) x moves on the sphere of its norms, so only the x^ path is probed. */
static void fd_check(const char *name) {
    float *cfgv = load(name, ".cfg", CF_N);
    if (!CHECK(cfgv != NULL)) return;
    const int B = (int)cfgv[CF_B], D = (int)cfgv[CF_D], C = (int)cfgv[CF_C];
    lqf_head_config cfg;
    config_from(cfgv, &cfg);
    cfg.t_alpha = 0; /* EMA statistics held fixed while probing */
    lqf_head *h = NULL;
    if (!CHECK(lqf_head_create(&cfg, &h) == LQF_OK)) { free(cfgv); return; }
    h->state.t = cfgv[CF_T0];
    lqf_head_state s0 = h->state;
    float *W = load(name, ".W", (long)D * C), *x = load(name, ".0.x", (long)B * D);
    float *lab = load(name, ".0.labels", B);
    float *bias = cfg.use_bias ? load(name, ".bias", C) : NULL;
    int32_t labels[64];
    float *dx = malloc(sizeof(float) * B * D), *dW = malloc(sizeof(float) * D * C);
    float *db = malloc(sizeof(float) * C);
    float *xp = malloc(sizeof(float) * B * D), *xm = malloc(sizeof(float) * B * D);
    float *Wp = malloc(sizeof(float) * D * C), *Wm = malloc(sizeof(float) * D * C);
    float *v = malloc(sizeof(float) * (B * D + D * C));
    if (!CHECK(W && x && lab && B <= 64)) goto done;
    for (int b = 0; b < B; b++) labels[b] = (int32_t)lab[b];
    lqf_head_result r;
    h->state = s0;
    CHECK(lqf_head_forward_backward(h, B, x, W, bias, labels, &r, dx, dW, bias ? db : NULL, NULL) == LQF_OK);

    double num = 0, den = 0;
    const int ndir = 8;
    for (int dir = 0; dir < ndir; dir++) {
        const int on_x = dir % 2 == 0;
        const int n = on_x ? B * D : D * C;
        const float *p = on_x ? x : W;
        const float *g = on_x ? dx : dW;
        /* step: 1e-3 of each row's (x) or column's (W) scale */
        double an = 0;
        for (int i = 0; i < n; i++) v[i] = (float)nrand();
        float *pp = on_x ? xp : Wp, *pm = on_x ? xm : Wm;
        for (int i = 0; i < n; i++) {
            double scale;
            if (on_x) {
                int b = i / D;
                double s = 0;
                for (int d = 0; d < D; d++) s += (double)x[b * D + d] * x[b * D + d];
                scale = sqrt(s / D);
            } else {
                int c = i % C;
                double s = 0;
                for (int d = 0; d < D; d++) s += (double)W[d * C + c] * W[d * C + c];
                scale = sqrt(s / D);
            }
            v[i] = (float)(v[i] * 1e-3 * scale);
            pp[i] = p[i] + v[i];
            pm[i] = p[i] - v[i];
        }
        if (on_x && cfg.type == LQF_HEAD_ADAFACE) {
            /* keep every row's norm: rescale the moved rows back onto the sphere */
            for (int b = 0; b < B; b++) {
                double n0 = 0, np = 0, nm = 0;
                for (int d = 0; d < D; d++) {
                    n0 += (double)x[b * D + d] * x[b * D + d];
                    np += (double)pp[b * D + d] * pp[b * D + d];
                    nm += (double)pm[b * D + d] * pm[b * D + d];
                }
                for (int d = 0; d < D; d++) {
                    pp[b * D + d] = (float)(pp[b * D + d] * sqrt(n0 / np));
                    pm[b * D + d] = (float)(pm[b * D + d] * sqrt(n0 / nm));
                }
            }
        }
        for (int i = 0; i < n; i++) an += (double)g[i] * v[i];
        double lp = on_x ? eval_loss(h, &s0, B, pp, W, bias, labels) : eval_loss(h, &s0, B, x, pp, bias, labels);
        double lm = on_x ? eval_loss(h, &s0, B, pm, W, bias, labels) : eval_loss(h, &s0, B, x, pm, bias, labels);
        double fd = (lp - lm) / 2;
        num += (fd - an) * (fd - an);
        den += an * an;
    }
    double err = sqrt(num / fmax(den, 1e-300));
    char msg[160];
    snprintf(msg, sizeof msg, "%.60s finite-difference normalised error %.3g <= 1e-2", name, err);
    tu_check(err <= 1e-2, msg, __FILE__, __LINE__);
    printf("  %-18s finite differences: normalised error %.3g\n", name, err);
    if (err > g_worst_fd) g_worst_fd = err;
done:
    lqf_head_free(h);
    free(cfgv); free(W); free(x); free(lab); free(bias);
    free(dx); free(dW); free(db); free(xp); free(xm); free(Wp); free(Wm); free(v);
}

/* ------------------------------------------------------------------ large C */
static void large_classes(void) {
    const int B = 32, D = 128, C = 100000;
    float *x = malloc(sizeof(float) * B * D), *W = malloc(sizeof(float) * D * C);
    float *dx = malloc(sizeof(float) * B * D), *dW = malloc(sizeof(float) * D * C);
    int32_t labels[32];
    for (int i = 0; i < B * D; i++) x[i] = (float)nrand();
    for (long i = 0; i < (long)D * C; i++) W[i] = (float)(0.01 * nrand());
    for (int b = 0; b < B; b++) labels[b] = (int32_t)(urand() * C);
    lqf_head_config cfg;
    lqf_head_config_default(&cfg, LQF_HEAD_ADAFACE, D, C);
    lqf_head *h = NULL;
    CHECK(lqf_head_create(&cfg, &h) == LQF_OK);
    lqf_head_result r;
    double t0 = lqf_now();
    CHECK(lqf_head_forward_backward(h, B, x, W, NULL, labels, &r, dx, dW, NULL, NULL) == LQF_OK);
    double t1 = lqf_now();
    CHECK(isfinite(r.loss) && r.loss > 0);
    CHECK(isfinite(tu_max_abs(dx, (size_t)B * D)) && isfinite(tu_max_abs(dW, (size_t)D * C)));
    /* with random centres every class is nearly equally likely: loss ~ log C + margin terms */
    CHECK(r.loss > log((double)C) - 1);
    printf("  adaface B=%d D=%d C=%d: loss %.4f, forward+backward %.3f s\n", B, D, C, r.loss, t1 - t0);
    lqf_head_free(h);
    free(x); free(W); free(dx); free(dW);
}

/* ------------------------------------------------------------------ argument errors */
static void errors(void) {
    lqf_head_config cfg;
    lqf_head *h = NULL;
    lqf_head_config_default(&cfg, LQF_HEAD_ARCFACE, 0, 10);
    CHECK(lqf_head_create(&cfg, &h) == LQF_ERR_ARG && h == NULL);
    CHECK(strstr(lqf_last_error(), "arcface") != NULL);
    lqf_head_config_default(&cfg, LQF_HEAD_SPHEREFACE, 4, 3);
    cfg.m = 2.5f;
    CHECK(lqf_head_create(&cfg, &h) == LQF_ERR_ARG);
    lqf_head_config_default(&cfg, LQF_HEAD_COSFACE, 4, 3);
    CHECK(lqf_head_create(&cfg, &h) == LQF_OK);
    float x[8] = {1, 0, 0, 0, 0, 1, 0, 0}, W[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
    int32_t bad[2] = {0, 3};
    lqf_head_result r;
    CHECK(lqf_head_forward_backward(h, 2, x, W, NULL, bad, &r, NULL, NULL, NULL, NULL) == LQF_ERR_ARG);
    CHECK(strstr(lqf_last_error(), "label 3") != NULL);
    int32_t good[2] = {0, 1};
    CHECK(lqf_head_forward_backward(h, 2, x, W, NULL, good, &r, NULL, NULL, NULL, NULL) == LQF_OK);
    CHECK(r.accuracy == 1.0);
    x[1] = NAN;
    CHECK(lqf_head_forward_backward(h, 2, x, W, NULL, good, &r, NULL, NULL, NULL, NULL) == LQF_ERR_NUMERIC);
    CHECK(strstr(lqf_last_error(), "cosface") != NULL);
    x[1] = 0;
    lqf_head_free(h);
    lqf_head_config_default(&cfg, LQF_HEAD_SOFTMAX, 4, 3);
    cfg.use_bias = 1;
    CHECK(lqf_head_create(&cfg, &h) == LQF_OK);
    CHECK(lqf_head_forward_backward(h, 2, x, W, NULL, good, &r, NULL, NULL, NULL, NULL) == LQF_ERR_ARG);
    CHECK(strstr(lqf_last_error(), "bias") != NULL);
    lqf_head_free(h);
    CHECK(lqf_head_type_from_name("curricularface") == LQF_HEAD_CURRICULAR);
    CHECK(lqf_head_type_from_name("nope") == -1);
}

int main(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s", tu_testdata("heads/cases.txt"));
    FILE *f = fopen(path, "r");
    if (!CHECK(f != NULL)) return tu_finish("test_heads");
    char names[64][64];
    int n = 0;
    while (n < 64 && fscanf(f, "%63s", names[n]) == 1) n++;
    fclose(f);
    CHECK(n >= 15);
    for (int i = 0; i < n; i++) run_case(names[i]);
    /* arcface_st is left out: its straight-through gradient is by design not the derivative
     * of its loss (the PyTorch comparison above covers it). */
    for (int i = 0; i < n; i++)
        if (strncmp(names[i], "large_", 6) != 0 && strcmp(names[i], "arcface_st") != 0)
            fd_check(names[i]);
    large_classes();
    errors();
    printf("worst normalised errors vs PyTorch: loss/state %.3g, logits %.3g, gradients %.3g; "
           "finite differences %.3g\n", g_worst_loss, g_worst_logit, g_worst_grad, g_worst_fd);
    return tu_finish("test_heads");
}
