/*
 * sched.c — learning-rate schedules as closed-form functions of the step: insightface's
 * polynomial decay with its warm-up, multi-step, cosine annealing and constant, the last
 * three with torch's LinearLR warm-up in front (see optim.h for the exact formulas).
 * Computed in double; no state, so resuming at any step gives the same rate.
 */
#include "train/optim.h"

#include <math.h>
#include <string.h>

#define SCHED_PI 3.14159265358979323846

void lqf_lr_schedule_default(lqf_lr_schedule *s, lqf_lr_kind kind, double base_lr, int64_t total_steps) {
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->base_lr = base_lr;
    s->total_steps = total_steps;
    s->warmup_start_factor = 1.0 / 3.0;
    s->power = 1.0;
    s->gamma = 0.1;
}

lqf_status lqf_lr_schedule_check(const lqf_lr_schedule *s) {
    if (!s) return lqf_fail(LQF_ERR_ARG, "lr schedule: NULL");
    if (s->kind < LQF_LR_CONSTANT || s->kind > LQF_LR_COSINE)
        return lqf_fail(LQF_ERR_ARG, "lr schedule: unknown kind %d", (int)s->kind);
    if (!(s->base_lr >= 0) || s->warmup_steps < 0)
        return lqf_fail(LQF_ERR_ARG, "lr schedule: base lr %g and warm-up %lld must be >= 0", s->base_lr,
                        (long long)s->warmup_steps);
    if ((s->kind == LQF_LR_POLY || s->kind == LQF_LR_COSINE) && s->total_steps <= s->warmup_steps)
        return lqf_fail(LQF_ERR_ARG, "lr schedule: total steps %lld must exceed the warm-up %lld",
                        (long long)s->total_steps, (long long)s->warmup_steps);
    if (s->n_milestones < 0 || s->n_milestones > LQF_LR_MAX_MILESTONES)
        return lqf_fail(LQF_ERR_ARG, "lr schedule: %d milestones (at most %d)", s->n_milestones,
                        LQF_LR_MAX_MILESTONES);
    for (int i = 1; i < s->n_milestones; i++)
        if (s->milestones[i] < s->milestones[i - 1])
            return lqf_fail(LQF_ERR_ARG, "lr schedule: milestones must be ascending");
    return LQF_OK;
}

double lqf_lr_at(const lqf_lr_schedule *s, int64_t t) {
    const double base = s->base_lr;
    const int64_t w = s->warmup_steps;
    if (t < 0) t = 0;
    if (s->kind == LQF_LR_POLY) {
        if (t < w) return base * (double)t / (double)w;
        int64_t tc = t < s->total_steps ? t : s->total_steps;
        double frac = 1.0 - (double)(tc - w) / (double)(s->total_steps - w);
        return base * pow(frac, s->power);
    }
    if (t < w) {
        const double f0 = s->warmup_start_factor;
        return base * (f0 + (1.0 - f0) * (double)t / (double)w);
    }
    const int64_t u = t - w; /* steps of the main schedule */
    switch (s->kind) {
    case LQF_LR_MULTISTEP: {
        int passed = 0;
        for (int i = 0; i < s->n_milestones; i++)
            if (s->milestones[i] <= u) passed++;
        return base * pow(s->gamma, passed);
    }
    case LQF_LR_COSINE: {
        const double T = (double)(s->total_steps - w);
        return s->eta_min + (base - s->eta_min) * (1.0 + cos(SCHED_PI * (double)u / T)) / 2.0;
    }
    default: return base;
    }
}
