/*
 * test_optim.c — optimisers, clipping and lr schedules (src/train/optim.c, sched.c) against
 * PyTorch 1.13 dumps from tools/ref_optim.py: 3 SGD steps (momentum 0.9, wd 5e-4 on one
 * group, 0 and half the lr on the other) and 3 AdamW steps through two parameter groups of
 * one flat buffer, clip_grad_norm_ in three regimes, and lqf_lr_at against torch's
 * schedulers (LinearLR, MultiStepLR, CosineAnnealingLR, SequentialLR warm-ups) and
 * insightface's PolyScheduler over 100 steps. Parameters within 1e-5 relative, lr within
 * 1e-6 relative to the base rate.
 */
#include "testutil.h"
#include "train/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double g_worst_param = 0, g_worst_lr = 0, g_worst_clip = 0;

static float *load(const char *file, long *n) {
    char rel[256];
    snprintf(rel, sizeof rel, "optim/%.200s", file);
    float *p = NULL;
    *n = tu_load_f32(tu_testdata(rel), &p);
    return p;
}

static void optimiser_case(const char *file, lqf_optim_type type) {
    long len;
    float *f = load(file, &len);
    if (!CHECK(f != NULL && len > 8)) return;
    long o = 0;
    const int n = (int)f[o++], ng = (int)f[o++];
    lqf_param_group groups[4];
    for (int g = 0; g < ng && g < 4; g++) {
        groups[g].begin = (size_t)f[o++];
        groups[g].end = (size_t)f[o++];
        groups[g].weight_decay = f[o++];
        groups[g].lr_mult = f[o++];
    }
    lqf_optim_config cfg;
    lqf_optim_config_default(&cfg, type);
    if (type == LQF_OPT_SGD) {
        cfg.momentum = f[o];
        cfg.dampening = f[o + 1];
    } else {
        cfg.beta1 = f[o];
        cfg.beta2 = f[o + 1];
        cfg.eps = f[o + 2];
    }
    o += 4;
    const int nsteps = (int)f[o++];
    const float *lrs = f + o;
    o += nsteps;
    if (!CHECK(len == o + (long)n * (1 + 2 * nsteps))) { free(f); return; }
    const float *p0 = f + o, *grads = p0 + n, *after = grads + (long)n * nsteps;
    float *p = malloc(sizeof(float) * n);
    memcpy(p, p0, sizeof(float) * n);
    lqf_optim *opt = NULL;
    if (CHECK(lqf_optim_create(&cfg, (size_t)n, groups, ng, &opt) == LQF_OK)) {
        for (int k = 0; k < nsteps; k++) {
            CHECK(lqf_optim_step(opt, p, grads + (long)k * n, lrs[k]) == LQF_OK);
            double e = tu_norm_err(p, after + (long)k * n, (size_t)n);
            char msg[128];
            snprintf(msg, sizeof msg, "%s step %d params normalised error %.3g <= 1e-5", file, k + 1, e);
            tu_check(e <= 1e-5, msg, __FILE__, __LINE__);
            printf("  %-10s step %d: params normalised error %.3g\n", file, k + 1, e);
            if (e > g_worst_param) g_worst_param = e;
        }
        /* the floats in no group never move */
        for (int i = (int)groups[ng - 1].end; i < n; i++) CHECK(p[i] == p0[i]);
    }
    lqf_optim_free(opt);
    free(p);
    free(f);
}

static void clipping(void) {
    long len;
    float *f = load("clip.f32", &len);
    if (!CHECK(f != NULL)) return;
    long o = 0;
    int cases = 0;
    while (o + 3 <= len) {
        const int n = (int)f[o];
        const double max_norm = f[o + 1], total = f[o + 2];
        if (!CHECK(o + 3 + 2L * n <= len)) break;
        const float *g0 = f + o + 3, *g1 = g0 + n;
        float *g = malloc(sizeof(float) * n);
        memcpy(g, g0, sizeof(float) * n);
        double got = lqf_clip_grad_norm(g, (size_t)n, max_norm);
        double e_tot = fabs(got - total) / total, e = tu_norm_err(g, g1, (size_t)n);
        CHECK(e_tot <= 1e-6);
        CHECK(e <= 1e-6);
        CHECK(lqf_grad_norm(g, (size_t)n) <= max_norm * (1 + 1e-6));
        printf("  clip max_norm %g: total norm %.7g (torch %.7g), clipped grads error %.3g\n", max_norm,
               got, total, e);
        g_worst_clip = fmax(g_worst_clip, fmax(e, e_tot));
        free(g);
        o += 3 + 2L * n;
        cases++;
    }
    CHECK(cases == 3);
    free(f);
}

static void schedule_case(const char *file) {
    long len;
    float *f = load(file, &len);
    if (!CHECK(f != NULL && len > 10)) return;
    long o = 0;
    lqf_lr_schedule s;
    lqf_lr_schedule_default(&s, (lqf_lr_kind)(int)f[0], f[1], (int64_t)f[4]);
    s.warmup_steps = (int64_t)f[2];
    s.warmup_start_factor = f[3];
    s.power = f[5];
    s.gamma = f[6];
    s.eta_min = f[7];
    s.n_milestones = (int)f[8];
    o = 9;
    for (int i = 0; i < s.n_milestones && i < LQF_LR_MAX_MILESTONES; i++) s.milestones[i] = (int64_t)f[o++];
    const int nrec = (int)f[o++];
    if (!CHECK(len == o + 2L * nrec) || !CHECK(lqf_lr_schedule_check(&s) == LQF_OK)) { free(f); return; }
    double worst = 0;
    int worst_t = 0;
    for (int r = 0; r < nrec; r++) {
        int64_t t = (int64_t)f[o + 2 * r];
        double want = f[o + 2 * r + 1], got = lqf_lr_at(&s, t);
        double e = fabs(got - want) / s.base_lr;
        if (e > worst) { worst = e; worst_t = (int)t; }
    }
    char msg[320];
    snprintf(msg, sizeof msg, "%.100s: lr error %.3g (x base lr) at step %d <= 1e-6", file, worst, worst_t);
    tu_check(worst <= 1e-6, msg, __FILE__, __LINE__);
    printf("  %-28s %d steps: max |lr - torch| / base %.3g\n", file, nrec, worst);
    if (worst > g_worst_lr) g_worst_lr = worst;
    free(f);
}

static void errors(void) {
    lqf_optim_config cfg;
    lqf_optim_config_default(&cfg, LQF_OPT_SGD);
    lqf_param_group g[2] = {{0, 10, 0, 1}, {5, 12, 0, 1}};
    lqf_optim *o = NULL;
    CHECK(lqf_optim_create(&cfg, 12, g, 2, &o) == LQF_ERR_ARG && o == NULL);
    CHECK(strstr(lqf_last_error(), "overlaps") != NULL);
    g[1].begin = 10;
    g[1].end = 13;
    CHECK(lqf_optim_create(&cfg, 12, g, 2, &o) == LQF_ERR_ARG);
    lqf_lr_schedule s;
    lqf_lr_schedule_default(&s, LQF_LR_COSINE, 0.1, 10);
    s.warmup_steps = 10;
    CHECK(lqf_lr_schedule_check(&s) == LQF_ERR_ARG);
    /* polynomial decay stays at 0 after its last step instead of going negative */
    lqf_lr_schedule_default(&s, LQF_LR_POLY, 0.1, 100);
    CHECK(lqf_lr_at(&s, 100) == 0.0 && lqf_lr_at(&s, 150) == 0.0);
}

int main(void) {
    optimiser_case("sgd.f32", LQF_OPT_SGD);
    optimiser_case("adamw.f32", LQF_OPT_ADAMW);
    clipping();
    FILE *f = fopen(tu_testdata("optim/schedules.txt"), "r");
    int n = 0;
    if (CHECK(f != NULL)) {
        char name[128];
        while (fscanf(f, "%127s", name) == 1) {
            schedule_case(name);
            n++;
        }
        fclose(f);
    }
    CHECK(n >= 8);
    errors();
    printf("worst errors vs PyTorch: params %.3g (normalised), clipping %.3g, lr %.3g (x base lr)\n",
           g_worst_param, g_worst_clip, g_worst_lr);
    return tu_finish("test_optim");
}
