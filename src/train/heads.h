/*
 * heads.h — margin-softmax classification heads for training face embeddings: plain
 * softmax, SphereFace, CosFace, ArcFace (exact and insightface's straight-through variant),
 * the combined margin, CurricularFace, AdaFace and MagFace. A head maps a batch of
 * UN-normalised embeddings x (B,D) and a class-centre matrix W (D,C) to the mean
 * cross-entropy loss and the gradients dL/dx (B,D) and dL/dW (D,C) in one pass
 * (lqf_head_forward_backward). It is not a layer of the graph: the trainer feeds it the
 * backbone's output and hands dL/dx back to the backbone's backward walk.
 *
 * Layout: W is (D,C) row-major, element (d,c) at W[d*C + c], one class centre per COLUMN,
 * as AdaFace's and MagFace's `kernel` (insightface keeps (C,D)). Every margin head
 * normalises x's rows and W's columns itself (so W needs no renormalisation between steps)
 * and its gradients flow through both normalisations; the softmax head uses x and W as
 * they are. Memory: one B x C buffer of logits plus O(threads*C + B*D) scratch, so C may be
 * 100k or more.
 *
 * Accuracy is the fraction of rows whose argmax over the margin-FREE logits (the cosines,
 * or x.W+b for softmax) is the label, as CurricularFace's and AdaFace's training logs do.
 *
 * Per-head formulas (c = x^.w^ the cosine, y the label, s the scale):
 *  SOFTMAX     z = x.W + b.
 *  SPHEREFACE  c clamped to [-1,1]; psi = (-1)^k T_m(c_y) - 2k, k = floor(m*acos(c_y)/pi),
 *              T_m the Chebyshev polynomial (sphereface_pytorch AngleLinear, k detached);
 *              f_y = (lambda*c_y + psi)/(1+lambda), f_j = c_j; z = |x|*f (paper, gradient
 *              through |x|) or s*f when sphere_fixed_scale. lambda = max(lambda_min,
 *              lambda_max/(1+lambda_gamma*it)^lambda_power), it = number of forward passes
 *              including this one (AngleLoss); lambda_max = 0 switches annealing off.
 *  COSFACE     c clamped to [-1+eps, 1-eps]; z = s*(c - m*[j=y])  (AdaFace head.py, eps 1e-4;
 *              eps = 0 gives insightface's m3 path).
 *  ARCFACE     c clamped to [-1+eps,1-eps]; z_y = s*cos(clip(acos(c_y)+m, eps, pi-eps)),
 *              z_j = s*c_j; exact gradient through acos/cos (AdaFace head.py, eps 1e-4).
 *  ARCFACE_ST  insightface CombinedMarginLoss (m1=1, m3=0): c clamped to [-1,1],
 *              z_y = s*cos(acos(c_y)+m) computed without gradient; dz_j/dc_j = s for every
 *              class, target included (straight-through); no easy-margin fallback.
 *  COMBINED    c clamped to [-1+eps,1-eps]; z_y = s*(cos(m1*acos(c_y)+m2) - m3), exact
 *              gradient, no angle clipping.
 *  CURRICULAR  official CurricularFace: c clamped to [-1,1]; t <- a*mean_b(c_y) + (1-a)*t
 *              first (no gradient); c_m = cos(theta_y+m); z_y = s*(c_y > cos(pi-m) ? c_m
 *              : c_y - m*sin(pi-m)); negatives with c_j > c_m (hard) get z = s*c_j*(t+c_j)
 *              (gradient s*(t+2c_j), t detached), others s*c_j.
 *  ADAFACE     AdaFace head.py: c clamped to [-1+eps,1-eps] (eps 1e-3); n = clip(|x|, 1e-3,
 *              100) detached; EMA mean/std (unbiased) updated BEFORE use; zhat = clip(h*(n-mu)/
 *              (sigma+eps), -1, 1); z_y = s*(cos(clip(acos(c_y) - m*zhat, eps, pi-eps)) -
 *              (m + m*zhat)), z_j = s*c_j.
 *              Quality options (QGFace, lqface): the per-row signal n may instead be a
 *              quality value the caller supplies (lqf_head_forward_backward_q; same clip,
 *              EMA and zhat); ema_init_batch = 1 sets mu/sigma to the FIRST batch's
 *              statistics instead of the 20/100 prior (a signal on another scale than
 *              norms, or a fine-tuned network); quality_gate = qs > 0 multiplies every
 *              logit of row b by g_b = sigmoid(s*(zhat_b + 2*(0.5 - qs))) (QGFace head.py
 *              _quality_scaler; g is a constant for the gradient, zhat being detached),
 *              so rows with (zhat+1)/2 well below qs get almost no classification gradient.
 *              Each row's zhat is left in h->zhat for the contrastive branch (qgface.h).
 *  MAGFACE     official MagFace: a = clamp(|x|, l_a, u_a) (with gradient); mg = (u_m-l_m)/
 *              (u_a-l_a)*(a-l_a)+l_m; c clamped to [-1,1]; c_m = cos(theta_y + mg); easy
 *              margin (repo default): z_y = s*(c_y > 0 ? c_m : c_y), else s*(c_y > cos(pi-mg)
 *              ? c_m : c_y - mg*sin(pi-mg)); loss = CE + lambda_g*mean(a/u_a^2 + 1/a).
 * Gradients of clamps and clips pass where lo <= v <= hi (torch's convention).
 */
#ifndef LQF_TRAIN_HEADS_H
#define LQF_TRAIN_HEADS_H

#include "core/core.h"

#include <stdint.h>

typedef enum {
    LQF_HEAD_SOFTMAX = 0,
    LQF_HEAD_SPHEREFACE,
    LQF_HEAD_COSFACE,
    LQF_HEAD_ARCFACE,     /* exact gradient (AdaFace head.py) */
    LQF_HEAD_ARCFACE_ST,  /* insightface straight-through */
    LQF_HEAD_COMBINED,
    LQF_HEAD_CURRICULAR,
    LQF_HEAD_ADAFACE,
    LQF_HEAD_MAGFACE,
    LQF_HEAD_COUNT
} lqf_head_type;

typedef struct {
    lqf_head_type type;
    int dim, classes;     /* D, C */
    float s;              /* scale (all margin heads; SphereFace only with sphere_fixed_scale) */
    float m;              /* margin: CosFace/ArcFace/Curricular/AdaFace; SphereFace integer m */
    float m1, m2, m3;     /* COMBINED: s*(cos(m1*theta + m2) - m3) */
    float eps;            /* cosine clamp [-1+eps, 1-eps] and angle clip [eps, pi-eps] */
    int use_bias;         /* SOFTMAX: logits x.W + b */
    /* SphereFace */
    int sphere_fixed_scale;           /* 0: scale by |x| (paper), 1: by s */
    float lambda_max, lambda_min, lambda_gamma, lambda_power; /* lambda_max 0: no annealing */
    /* AdaFace / CurricularFace EMA */
    float h;              /* AdaFace h */
    float t_alpha;        /* EMA weight of the new batch (AdaFace t_alpha, Curricular 0.01) */
    /* MagFace */
    float l_a, u_a, l_m, u_m, lambda_g;
    int easy_margin;      /* MagFace easy margin (official default 1) */
    /* AdaFace quality options (QGFace) */
    float quality_gate;   /* qs of the soft classifier gate, 0 = off (default) */
    int ema_init_batch;   /* 1: the first batch initialises mu/sigma (default 0: 20/100) */
} lqf_head_config;

/* State carried across batches (read and write freely, e.g. for checkpoints). */
typedef struct {
    double batch_mean, batch_std; /* AdaFace EMA of clipped norms (initial 20, 100) */
    double t;                     /* CurricularFace EMA of the mean target cosine (initial 0) */
    int64_t iter;                 /* SphereFace and AdaFace forward passes so far */
    double lambda;                /* SphereFace lambda used by the last pass */
} lqf_head_state;

typedef struct {
    double loss;      /* total: CE (+ lambda_g * mean g for MagFace) */
    double ce;        /* mean cross-entropy */
    double reg;       /* MagFace regulariser lambda_g*mean(g(a)), else 0 */
    double accuracy;  /* fraction of rows whose margin-free argmax is the label */
} lqf_head_result;

typedef struct lqf_head {
    lqf_head_config cfg;
    lqf_head_state state;
    /* scratch, grown on demand (owned) */
    int cap_b, cap_threads;
    float *logits;   /* (B,C): x^.W (or x.W+b), then logits, then dL/dcos / |w_c| */
    float *xhat;     /* (B,D) normalised rows of x */
    float *dxhat;    /* (B,D) */
    float *xnorm;    /* (B) |x_b| */
    float *gnorm;    /* (B) dL/d|x_b| through paths other than x^ */
    double *rowloss; /* (B) */
    int *rowhit;     /* (B) */
    float *winv;     /* (C) 1/|w_c| */
    double *colacc;  /* (C) column accumulators */
    float *rowtmp;   /* (threads, C) */
    float *zhat;     /* (B) AdaFace: each row's zhat of the last call (read it after the call) */
} lqf_head;

/* Defaults of each head as its reference code uses them (s=64; CosFace m 0.4 eps 1e-4;
 * ArcFace m 0.5 eps 1e-4; ArcFace_ST m 0.5; combined (1, 0.3, 0.2) eps 1e-4; Curricular m 0.5
 * alpha 0.01; AdaFace m 0.4 h 0.333 alpha 0.01 eps 1e-3; MagFace 10/110/0.45/0.8, lambda_g 35,
 * easy margin; SphereFace m 4, |x| scale, lambda 1500 -> 5 with gamma 0.1, power 1). */
void lqf_head_config_default(lqf_head_config *c, lqf_head_type type, int dim, int classes);
const char *lqf_head_name(lqf_head_type type);
/* Parse a name ("softmax", "sphereface", "cosface", "arcface", "arcface_st", "combined",
 * "curricularface", "adaface", "magface"); -1 if unknown. */
int lqf_head_type_from_name(const char *name);

lqf_status lqf_head_create(const lqf_head_config *cfg, lqf_head **out);
void lqf_head_free(lqf_head *h);
/* Restore the initial EMA state (AdaFace 20/100, Curricular t=0, SphereFace iter 0). */
void lqf_head_reset_state(lqf_head *h);

/* One training step of the head over a batch.
 *   x      (B,D) embeddings, un-normalised
 *   W      (D,C) class centres (columns), un-normalised
 *   bias   (C) or NULL (SOFTMAX with use_bias only)
 *   labels (B) in [0,C)
 * Outputs (each may be NULL): dx (B,D), dW (D,C), dbias (C) are OVERWRITTEN with the
 * gradients of r->loss (dbias is zeroed by the margin heads, which have no bias);
 * logits (B,C) receives the final logits fed to the cross-entropy.
 * Updates the head's state (EMA values, iteration) before using it. A loss that is not
 * finite returns LQF_ERR_NUMERIC and leaves the gradient outputs unwritten. */
lqf_status lqf_head_forward_backward(lqf_head *h, int B, const float *x, const float *W,
                                     const float *bias, const int32_t *labels,
                                     lqf_head_result *r, float *dx, float *dW, float *dbias,
                                     float *logits);
/* The same with an external per-row quality signal: quality (B) replaces the feature norm
 * |x_b| in AdaFace's EMA and zhat (NULL: the norm, as lqf_head_forward_backward). Other
 * heads ignore it. */
lqf_status lqf_head_forward_backward_q(lqf_head *h, int B, const float *x, const float *W,
                                       const float *bias, const int32_t *labels,
                                       const float *quality, lqf_head_result *r, float *dx,
                                       float *dW, float *dbias, float *logits);

#endif
