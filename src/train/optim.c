/*
 * optim.c — SGD with momentum and coupled weight decay, AdamW with decoupled decay and
 * bias correction, and global-norm gradient clipping, all over one contiguous parameter
 * buffer split into parameter groups (see optim.h for the exact PyTorch semantics).
 * The per-element loops are OpenMP-parallel; nothing allocates after create.
 */
#include "train/optim.h"

#include <math.h>
#include <string.h>

void lqf_optim_config_default(lqf_optim_config *c, lqf_optim_type type) {
    memset(c, 0, sizeof *c);
    c->type = type;
    c->momentum = 0.9f;
    c->dampening = 0.0f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
}

static int group_cmp(const void *a, const void *b) {
    const lqf_param_group *x = a, *y = b;
    return x->begin < y->begin ? -1 : (x->begin > y->begin);
}

lqf_status lqf_optim_create(const lqf_optim_config *cfg, size_t n_params,
                            const lqf_param_group *groups, int n_groups, lqf_optim **out) {
    *out = NULL;
    if (!cfg || (cfg->type != LQF_OPT_SGD && cfg->type != LQF_OPT_ADAMW))
        return lqf_fail(LQF_ERR_ARG, "optimiser: unknown type");
    if (n_groups < 1 || !groups)
        return lqf_fail(LQF_ERR_ARG, "optimiser: at least one parameter group is needed");
    if (cfg->type == LQF_OPT_ADAMW &&
        !(cfg->beta1 >= 0 && cfg->beta1 < 1 && cfg->beta2 >= 0 && cfg->beta2 < 1 && cfg->eps >= 0))
        return lqf_fail(LQF_ERR_ARG, "optimiser adamw: betas (%g, %g) must be in [0,1), eps %g >= 0",
                        cfg->beta1, cfg->beta2, cfg->eps);
    if (cfg->type == LQF_OPT_SGD && cfg->momentum < 0)
        return lqf_fail(LQF_ERR_ARG, "optimiser sgd: momentum %g < 0", cfg->momentum);
    lqf_optim *o = calloc(1, sizeof *o);
    if (!o) return lqf_fail(LQF_ERR_NOMEM, "optimiser: out of memory");
    o->cfg = *cfg;
    o->n = n_params;
    o->n_groups = n_groups;
    o->groups = malloc(sizeof(lqf_param_group) * (size_t)n_groups);
    if (!o->groups) {
        lqf_optim_free(o);
        return lqf_fail(LQF_ERR_NOMEM, "optimiser: out of memory");
    }
    memcpy(o->groups, groups, sizeof(lqf_param_group) * (size_t)n_groups);
    qsort(o->groups, (size_t)n_groups, sizeof(lqf_param_group), group_cmp);
    for (int i = 0; i < n_groups; i++) {
        const lqf_param_group *g = &o->groups[i];
        if (g->begin > g->end || g->end > n_params || (i > 0 && g->begin < o->groups[i - 1].end)) {
            lqf_status st = lqf_fail(LQF_ERR_ARG,
                                     "optimiser: group [%zu,%zu) is outside [0,%zu) or overlaps another",
                                     g->begin, g->end, n_params);
            lqf_optim_free(o);
            return st;
        }
    }
    o->buf1 = lqf_calloc(n_params * sizeof(float));
    if (cfg->type == LQF_OPT_ADAMW) o->buf2 = lqf_calloc(n_params * sizeof(float));
    if (!o->buf1 || (cfg->type == LQF_OPT_ADAMW && !o->buf2)) {
        lqf_optim_free(o);
        return lqf_fail(LQF_ERR_NOMEM, "optimiser: out of memory for %zu parameters", n_params);
    }
    *out = o;
    return LQF_OK;
}

void lqf_optim_free(lqf_optim *o) {
    if (!o) return;
    free(o->groups);
    lqf_free(o->buf1);
    lqf_free(o->buf2);
    free(o);
}

void lqf_optim_reset(lqf_optim *o) {
    memset(o->buf1, 0, o->n * sizeof(float));
    if (o->buf2) memset(o->buf2, 0, o->n * sizeof(float));
    o->step = 0;
}

/* SGD over one range: p (n), g (n), buf (n). first: the momentum buffer starts as d. */
static void sgd_range(size_t n, float *p, const float *g, float *buf, float lr, float wd,
                      float momentum, float dampening, int first) {
    if (momentum == 0.0f) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) p[i] -= lr * (g[i] + wd * p[i]);
        return;
    }
    const float keep = 1.0f - dampening;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        float b = first ? d : momentum * buf[i] + keep * d;
        buf[i] = b;
        p[i] -= lr * b;
    }
}

/* AdamW over one range at step t (1-based): p, g, m, v (n). */
static void adamw_range(size_t n, float *p, const float *g, float *m, float *v, float lr, float wd,
                        float b1, float b2, float eps, int64_t t) {
    const float decay = 1.0f - lr * wd;
    const float bc1 = (float)(1.0 - pow(b1, (double)t));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)t));
    const float step_size = lr / bc1;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float pi = p[i] * decay;
        float mi = m[i] * b1 + (1.0f - b1) * gi;
        float vi = v[i] * b2 + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

lqf_status lqf_optim_step(lqf_optim *o, float *params, const float *grads, float lr) {
    if (!o || !params || !grads) return lqf_fail(LQF_ERR_ARG, "optimiser step: NULL argument");
    if (!(lr >= 0) || !isfinite(lr)) return lqf_fail(LQF_ERR_ARG, "optimiser step: bad learning rate %g", lr);
    const int first = o->step == 0;
    o->step++;
    for (int k = 0; k < o->n_groups; k++) {
        const lqf_param_group *gr = &o->groups[k];
        const size_t b = gr->begin, n = gr->end - gr->begin;
        const float glr = lr * gr->lr_mult;
        if (o->cfg.type == LQF_OPT_SGD)
            sgd_range(n, params + b, grads + b, o->buf1 + b, glr, gr->weight_decay, o->cfg.momentum,
                      o->cfg.dampening, first);
        else
            adamw_range(n, params + b, grads + b, o->buf1 + b, o->buf2 + b, glr, gr->weight_decay,
                        o->cfg.beta1, o->cfg.beta2, o->cfg.eps, o->step);
    }
    return LQF_OK;
}

/* ------------------------------------------------------------------ clipping */
double lqf_grad_norm(const float *g, size_t n) {
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

double lqf_clip_grad_norm(float *g, size_t n, double max_norm) {
    double total = lqf_grad_norm(g, n);
    double coef = max_norm / (total + 1e-6);
    if (coef < 1.0) {
        const float c = (float)coef;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) g[i] *= c;
    }
    return total;
}
