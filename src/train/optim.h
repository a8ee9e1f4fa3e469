/*
 * optim.h — optimisers, gradient clipping and learning-rate schedules for training, over
 * ONE contiguous parameter buffer (graph->params, or any float array) and a gradient buffer
 * of the same length. Parameter groups are float ranges [begin,end) with their own weight
 * decay and learning-rate multiplier (e.g. no decay on BatchNorm, a different lr for the
 * classifier); floats outside every group are left alone.
 *
 * Semantics are PyTorch 1.13's, so runs can be compared with torch step for step:
 *  SGD    d = g + wd*p (coupled decay); buf = d on the first step, else
 *         buf = momentum*buf + (1-dampening)*d; p -= lr*buf. Nesterov is not offered.
 *  AdamW  p *= 1 - lr*wd (decoupled); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 *         p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)   (eps outside the sqrt).
 *  clip   torch.nn.utils.clip_grad_norm_: total = ||g||_2 over the range,
 *         coef = max_norm/(total+1e-6), g *= coef when coef < 1.
 * Schedules (lqf_lr_at) give the learning rate of step t = 0,1,2,... (t = the torch
 * scheduler's last_epoch):
 *  POLY       insightface arcface_torch PolyScheduler: t < warmup: base*t/warmup; else
 *             base*(1 - (t-warmup)/(total-warmup))^power, t clamped to total (insightface
 *             hard-codes power 2; ARoFace's recipe uses power 1). Its constructor resets
 *             last_epoch to -1, so insightface's loop trains its first two iterations at lr(0).
 *  CONSTANT, MULTISTEP (milestones, gamma), COSINE (CosineAnnealingLR closed form,
 *             T_max = total - warmup, eta_min) with an optional linear warm-up as torch's
 *             SequentialLR(LinearLR(start_factor, warmup), main, [warmup]): t < warmup:
 *             base*(f0 + (1-f0)*t/warmup); else main(t - warmup) (milestones count after
 *             the warm-up).
 * A group's rate is lqf_lr_at(...) * lr_mult.
 */
#ifndef LQF_TRAIN_OPTIM_H
#define LQF_TRAIN_OPTIM_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ optimisers */
typedef struct {
    size_t begin, end;   /* float range [begin, end) of the parameter buffer */
    float weight_decay;
    float lr_mult;       /* the group's lr = lr * lr_mult */
} lqf_param_group;

typedef enum { LQF_OPT_SGD = 0, LQF_OPT_ADAMW } lqf_optim_type;

typedef struct {
    lqf_optim_type type;
    float momentum, dampening;  /* SGD: 0.9, 0 */
    float beta1, beta2, eps;    /* AdamW: 0.9, 0.999, 1e-8 */
} lqf_optim_config;

typedef struct lqf_optim {
    lqf_optim_config cfg;
    size_t n;                  /* floats in the parameter buffer */
    lqf_param_group *groups;   /* (n_groups), sorted by begin, disjoint */
    int n_groups;
    float *buf1;               /* (n) SGD momentum buffer / AdamW exp_avg */
    float *buf2;               /* (n) AdamW exp_avg_sq, NULL for SGD */
    int64_t step;              /* steps taken */
} lqf_optim;

void lqf_optim_config_default(lqf_optim_config *c, lqf_optim_type type);
/* groups are copied; they must lie inside [0, n_params) and not overlap. */
lqf_status lqf_optim_create(const lqf_optim_config *cfg, size_t n_params,
                            const lqf_param_group *groups, int n_groups, lqf_optim **out);
void lqf_optim_free(lqf_optim *o);
/* One update of params (n) from grads (n) at learning rate lr (times each group's lr_mult). */
lqf_status lqf_optim_step(lqf_optim *o, float *params, const float *grads, float lr);
/* Forget the moments and the step count (as a fresh torch optimiser). */
void lqf_optim_reset(lqf_optim *o);

/* L2 norm of g (n), accumulated in double. */
double lqf_grad_norm(const float *g, size_t n);
/* Scale g (n) so that its L2 norm is at most max_norm (torch clip_grad_norm_, 1e-6 epsilon);
 * returns the norm before clipping. */
double lqf_clip_grad_norm(float *g, size_t n, double max_norm);

/* ------------------------------------------------------------------ schedules */
typedef enum { LQF_LR_CONSTANT = 0, LQF_LR_POLY, LQF_LR_MULTISTEP, LQF_LR_COSINE } lqf_lr_kind;

#define LQF_LR_MAX_MILESTONES 16

typedef struct {
    lqf_lr_kind kind;
    double base_lr;
    int64_t warmup_steps;        /* linear warm-up length, 0 = none */
    double warmup_start_factor;  /* LinearLR start factor (not POLY, which starts from 0) */
    int64_t total_steps;         /* POLY max_steps; COSINE warmup + T_max */
    double power;                /* POLY */
    int64_t milestones[LQF_LR_MAX_MILESTONES]; /* MULTISTEP, ascending, after the warm-up */
    int n_milestones;
    double gamma;                /* MULTISTEP factor, 0.1 */
    double eta_min;              /* COSINE floor */
} lqf_lr_schedule;

/* Defaults: warm-up 0 (start factor 1/3 as torch's LinearLR when enabled), power 1,
 * gamma 0.1, eta_min 0. */
void lqf_lr_schedule_default(lqf_lr_schedule *s, lqf_lr_kind kind, double base_lr, int64_t total_steps);
lqf_status lqf_lr_schedule_check(const lqf_lr_schedule *s);
/* Learning rate of step t >= 0. */
double lqf_lr_at(const lqf_lr_schedule *s, int64_t t);

#endif
