/*
 * heads.c — forward and backward of the margin-softmax heads declared in heads.h, in one
 * pass over a batch: normalise x's rows and W's columns, one GEMM for the cosines, a
 * per-row pass (OpenMP over rows) that applies the head's margin, the softmax
 * cross-entropy and the chain rule down to dL/dcos, then two GEMMs for dL/dx^ and dL/dW^
 * and the normalisation Jacobians. W is (D,C) row-major; no D x C temporary is made, so
 * the only C-sized memory is the B x C logit buffer and small per-thread rows.
 */
#include "train/heads.h"
#include "backend/backend.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define HEAD_PI 3.14159265358979323846

static int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ------------------------------------------------------------------ configuration */
static const char *const head_names[LQF_HEAD_COUNT] = {
    "softmax", "sphereface", "cosface", "arcface", "arcface_st",
    "combined", "curricularface", "adaface", "magface"};

const char *lqf_head_name(lqf_head_type type) {
    return (type >= 0 && type < LQF_HEAD_COUNT) ? head_names[type] : "unknown";
}

int lqf_head_type_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < LQF_HEAD_COUNT; i++)
        if (strcmp(name, head_names[i]) == 0) return i;
    return -1;
}

void lqf_head_config_default(lqf_head_config *c, lqf_head_type type, int dim, int classes) {
    memset(c, 0, sizeof *c);
    c->type = type;
    c->dim = dim;
    c->classes = classes;
    c->s = 64.0f;
    c->m1 = 1.0f;
    c->lambda_max = 1500.0f;
    c->lambda_min = 5.0f;
    c->lambda_gamma = 0.1f;
    c->lambda_power = 1.0f;
    c->h = 0.333f;
    c->t_alpha = 0.01f;
    c->l_a = 10.0f;
    c->u_a = 110.0f;
    c->l_m = 0.45f;
    c->u_m = 0.8f;
    c->lambda_g = 35.0f;
    c->easy_margin = 1;
    switch (type) {
    case LQF_HEAD_SPHEREFACE: c->m = 4.0f; break;
    case LQF_HEAD_COSFACE: c->m = 0.4f; c->eps = 1e-4f; break;
    case LQF_HEAD_ARCFACE: c->m = 0.5f; c->eps = 1e-4f; break;
    case LQF_HEAD_ARCFACE_ST: c->m = 0.5f; break;
    case LQF_HEAD_COMBINED: c->m1 = 1.0f; c->m2 = 0.3f; c->m3 = 0.2f; c->eps = 1e-4f; break;
    case LQF_HEAD_CURRICULAR: c->m = 0.5f; break;
    case LQF_HEAD_ADAFACE: c->m = 0.4f; c->eps = 1e-3f; break;
    default: break;
    }
}

void lqf_head_reset_state(lqf_head *h) {
    h->state.batch_mean = 20.0;
    h->state.batch_std = 100.0;
    h->state.t = 0.0;
    h->state.iter = 0;
    h->state.lambda = 0.0;
}

lqf_status lqf_head_create(const lqf_head_config *cfg, lqf_head **out) {
    *out = NULL;
    if (!cfg || cfg->type < 0 || cfg->type >= LQF_HEAD_COUNT)
        return lqf_fail(LQF_ERR_ARG, "head: unknown head type");
    if (cfg->dim <= 0 || cfg->classes <= 0)
        return lqf_fail(LQF_ERR_ARG, "head %s: dim %d and classes %d must be positive",
                        lqf_head_name(cfg->type), cfg->dim, cfg->classes);
    if (cfg->eps < 0 || cfg->eps >= 0.5f)
        return lqf_fail(LQF_ERR_ARG, "head %s: eps %g out of [0,0.5)", lqf_head_name(cfg->type),
                        cfg->eps);
    if (cfg->type == LQF_HEAD_SPHEREFACE && (cfg->m < 1 || cfg->m > 16 || cfg->m != floorf(cfg->m)))
        return lqf_fail(LQF_ERR_ARG, "head sphereface: m must be an integer in 1..16, got %g", cfg->m);
    if (!(cfg->quality_gate >= 0 && cfg->quality_gate <= 1))
        return lqf_fail(LQF_ERR_ARG, "head %s: quality_gate %g out of [0,1]", lqf_head_name(cfg->type),
                        cfg->quality_gate);
    if (cfg->type == LQF_HEAD_MAGFACE && !(cfg->u_a > cfg->l_a && cfg->l_a > 0))
        return lqf_fail(LQF_ERR_ARG, "head magface: need 0 < l_a < u_a (got %g, %g)", cfg->l_a, cfg->u_a);
    lqf_head *h = calloc(1, sizeof *h);
    if (!h) return lqf_fail(LQF_ERR_NOMEM, "head: out of memory");
    h->cfg = *cfg;
    lqf_head_reset_state(h);
    h->winv = lqf_alloc((size_t)cfg->classes * sizeof(float));
    h->colacc = lqf_alloc((size_t)cfg->classes * sizeof(double));
    if (!h->winv || !h->colacc) {
        lqf_head_free(h);
        return lqf_fail(LQF_ERR_NOMEM, "head: out of memory for %d classes", cfg->classes);
    }
    *out = h;
    return LQF_OK;
}

static void free_batch_scratch(lqf_head *h) {
    lqf_free(h->logits);
    lqf_free(h->xhat);
    lqf_free(h->dxhat);
    lqf_free(h->xnorm);
    lqf_free(h->gnorm);
    lqf_free(h->rowloss);
    lqf_free(h->rowhit);
    lqf_free(h->zhat);
    h->logits = h->xhat = h->dxhat = h->xnorm = h->gnorm = h->zhat = NULL;
    h->rowloss = NULL;
    h->rowhit = NULL;
    h->cap_b = 0;
}

void lqf_head_free(lqf_head *h) {
    if (!h) return;
    free_batch_scratch(h);
    lqf_free(h->winv);
    lqf_free(h->colacc);
    lqf_free(h->rowtmp);
    free(h);
}

static lqf_status ensure_scratch(lqf_head *h, int B) {
    const size_t C = (size_t)h->cfg.classes, D = (size_t)h->cfg.dim;
    if (B > h->cap_b) {
        free_batch_scratch(h);
        h->logits = lqf_alloc((size_t)B * C * sizeof(float));
        h->xhat = lqf_alloc((size_t)B * D * sizeof(float));
        h->dxhat = lqf_alloc((size_t)B * D * sizeof(float));
        h->xnorm = lqf_alloc((size_t)B * sizeof(float));
        h->gnorm = lqf_alloc((size_t)B * sizeof(float));
        h->rowloss = lqf_alloc((size_t)B * sizeof(double));
        h->rowhit = lqf_alloc((size_t)B * sizeof(int));
        h->zhat = lqf_alloc((size_t)B * sizeof(float));
        if (!h->logits || !h->xhat || !h->dxhat || !h->xnorm || !h->gnorm || !h->rowloss ||
            !h->rowhit || !h->zhat) {
            free_batch_scratch(h);
            return lqf_fail(LQF_ERR_NOMEM, "head: out of memory for a %d x %zu logit buffer", B, C);
        }
        h->cap_b = B;
    }
    int T = max_threads();
    if (T > h->cap_threads) {
        lqf_free(h->rowtmp);
        h->rowtmp = lqf_alloc((size_t)T * C * sizeof(float));
        if (!h->rowtmp) {
            h->cap_threads = 0;
            return lqf_fail(LQF_ERR_NOMEM, "head: out of memory for row scratch");
        }
        h->cap_threads = T;
    }
    return LQF_OK;
}

/* ------------------------------------------------------------------ small helpers */
static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* exp(x) for x <= 0 in float, branch-free so that loops over it vectorise (Cephes
 * polynomial on [-ln2/2, ln2/2], about 1 ulp); 0 below -87. */
static inline float exp_neg(float x) {
    const float lo = -87.0f;
    float xc = x < lo ? lo : x;
    float n = __builtin_rintf(xc * 1.44269504088896341f);
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { uint32_t u; float f; } e;
    e.u = (uint32_t)((int32_t)n + 127) << 23;
    return x < lo ? 0.0f : p * e.f;
}

/* Chebyshev T_m(x) and its derivative m*U_{m-1}(x), by recurrence. */
static void chebyshev(int m, double x, double *T, double *dT) {
    double t0 = 1, t1 = x, u0 = 1, u1 = 2 * x; /* T_0, T_1, U_0, U_1 */
    if (m == 0) { *T = 1; *dT = 0; return; }
    if (m == 1) { *T = x; *dT = 1; return; }
    for (int k = 2; k <= m; k++) {
        double t2 = 2 * x * t1 - t0;
        t0 = t1;
        t1 = t2;
        if (k < m) {
            double u2 = 2 * x * u1 - u0;
            u0 = u1;
            u1 = u2;
        }
    }
    *T = t1;
    *dT = m * u1; /* U_{m-1} is u1 after the loop */
}

/* Column norms of W (D,C): winv[c] = 1/max(|w_c|, 1e-12). acc: C doubles of scratch. */
static void column_inv_norms(int64_t D, int64_t C, const float *W, double *acc, float *winv) {
#pragma omp parallel for schedule(static)
    for (int64_t c0 = 0; c0 < C; c0 += 512) {
        int64_t c1 = LQF_MIN(C, c0 + 512);
        for (int64_t c = c0; c < c1; c++) acc[c] = 0;
        for (int64_t d = 0; d < D; d++) {
            const float *w = W + d * C;
            for (int64_t c = c0; c < c1; c++) acc[c] += (double)w[c] * w[c];
        }
        for (int64_t c = c0; c < c1; c++) winv[c] = (float)(1.0 / fmax(sqrt(acc[c]), 1e-12));
    }
}

/* ------------------------------------------------------------------ target logit */
/* Per-row target values: logit zy, its derivative w.r.t. the unclamped cosine (clamp mask
 * included) and w.r.t. |x| (MagFace margin path). */
typedef struct {
    double zy, dzy_dc, dzy_dn;
    double ctm; /* CurricularFace: cos(theta_y + m) (hard-negative threshold) */
} target_vals;

static target_vals target_logit(const lqf_head *h, double c, float xnorm, double zhat, double lambda) {
    const lqf_head_config *k = &h->cfg;
    const double eps = k->eps, lo = -1.0 + eps, hi = 1.0 - eps;
    const double cy = c < lo ? lo : (c > hi ? hi : c);
    const double mask = (c >= lo && c <= hi) ? 1.0 : 0.0;
    const double s = k->s, m = k->m;
    target_vals t = {0, 0, 0, 0};
    const double sy = sqrt(1.0 - cy * cy); /* sin(theta_y) */
    switch (k->type) {
    case LQF_HEAD_COSFACE:
        t.zy = s * (cy - m);
        t.dzy_dc = s;
        break;
    case LQF_HEAD_ARCFACE: {
        double a = acos(cy) + m;
        double ac = a < eps ? eps : (a > HEAD_PI - eps ? HEAD_PI - eps : a);
        t.zy = s * cos(ac);
        t.dzy_dc = (a >= eps && a <= HEAD_PI - eps) ? s * sin(a) / sy : 0.0;
        break;
    }
    case LQF_HEAD_ARCFACE_ST:
        t.zy = s * cos(acos(cy) + m);
        t.dzy_dc = s; /* straight-through: the margin is computed without gradient */
        break;
    case LQF_HEAD_COMBINED: {
        double a = k->m1 * acos(cy) + k->m2;
        t.zy = s * (cos(a) - k->m3);
        t.dzy_dc = s * k->m1 * sin(a) / sy;
        break;
    }
    case LQF_HEAD_SPHEREFACE: {
        int mi = (int)k->m;
        double kk = floor(mi * acos(cy) / HEAD_PI);
        double T, dT;
        chebyshev(mi, cy, &T, &dT);
        double sign = fmod(kk, 2.0) != 0.0 ? -1.0 : 1.0;
        double psi = sign * T - 2.0 * kk;
        double sc = k->sphere_fixed_scale ? s : (double)xnorm;
        t.zy = sc * (lambda * cy + psi) / (1.0 + lambda);
        t.dzy_dc = sc * (lambda + sign * dT) / (1.0 + lambda);
        break;
    }
    case LQF_HEAD_CURRICULAR: {
        double ctm = cy * cos(m) - sy * sin(m);
        t.ctm = ctm;
        if (cy > cos(HEAD_PI - m)) {
            t.zy = s * ctm;
            t.dzy_dc = s * (cos(m) + sin(m) * cy / sy);
        } else {
            t.zy = s * (cy - sin(HEAD_PI - m) * m);
            t.dzy_dc = s;
        }
        break;
    }
    case LQF_HEAD_ADAFACE: {
        double a = acos(cy) - m * zhat;
        double ac = a < eps ? eps : (a > HEAD_PI - eps ? HEAD_PI - eps : a);
        t.zy = s * (cos(ac) - (m + m * zhat));
        t.dzy_dc = (a >= eps && a <= HEAD_PI - eps) ? s * sin(a) / sy : 0.0;
        break;
    }
    case LQF_HEAD_MAGFACE: {
        const double slope = ((double)k->u_m - k->l_m) / ((double)k->u_a - k->l_a);
        const double n = xnorm, av = n < k->l_a ? k->l_a : (n > k->u_a ? k->u_a : n);
        const double amask = (n >= k->l_a && n <= k->u_a) ? 1.0 : 0.0;
        const double mg = slope * (av - k->l_a) + k->l_m;
        const double ctm = cy * cos(mg) - sy * sin(mg);
        int use_m = k->easy_margin ? (cy > 0) : (cy > cos(HEAD_PI - mg));
        if (use_m) {
            t.zy = s * ctm;
            t.dzy_dc = s * (cos(mg) + sin(mg) * cy / sy);
            t.dzy_dn = amask * s * (-cy * sin(mg) - sy * cos(mg)) * slope;
        } else if (k->easy_margin) {
            t.zy = s * cy;
            t.dzy_dc = s;
        } else {
            t.zy = s * (cy - sin(HEAD_PI - mg) * mg);
            t.dzy_dc = s;
            t.dzy_dn = -amask * s * (sin(HEAD_PI - mg) - mg * cos(HEAD_PI - mg)) * slope;
        }
        break;
    }
    default: break;
    }
    t.dzy_dc *= mask;
    return t;
}

/* ------------------------------------------------------------------ forward + backward */
lqf_status lqf_head_forward_backward(lqf_head *h, int B, const float *x, const float *W,
                                     const float *bias, const int32_t *labels,
                                     lqf_head_result *r, float *dx, float *dW, float *dbias,
                                     float *logits_out) {
    return lqf_head_forward_backward_q(h, B, x, W, bias, labels, NULL, r, dx, dW, dbias, logits_out);
}

lqf_status lqf_head_forward_backward_q(lqf_head *h, int B, const float *x, const float *W,
                                       const float *bias, const int32_t *labels,
                                       const float *quality, lqf_head_result *r, float *dx,
                                       float *dW, float *dbias, float *logits_out) {
    if (!h || !x || !W || !labels || !r)
        return lqf_fail(LQF_ERR_ARG, "head: NULL argument");
    const lqf_head_config *k = &h->cfg;
    const char *name = lqf_head_name(k->type);
    const int64_t D = k->dim, C = k->classes;
    if (B < 1) return lqf_fail(LQF_ERR_ARG, "head %s: batch %d must be positive", name, B);
    if (k->type == LQF_HEAD_ADAFACE && B < 2)
        return lqf_fail(LQF_ERR_ARG, "head adaface: batch %d < 2 has no standard deviation", B);
    for (int b = 0; b < B; b++)
        if (labels[b] < 0 || labels[b] >= C)
            return lqf_fail(LQF_ERR_ARG, "head %s: label %d of row %d outside [0,%lld)", name,
                            (int)labels[b], b, (long long)C);
    if (k->type == LQF_HEAD_SOFTMAX && k->use_bias && !bias)
        return lqf_fail(LQF_ERR_ARG, "head softmax: configured with a bias but none was given");
    lqf_status st = ensure_scratch(h, B);
    if (st) return st;

    float *L = h->logits;
    const int softmax = k->type == LQF_HEAD_SOFTMAX;
    const int use_bias = softmax && k->use_bias;

    /* ---- cosines (or plain logits) */
    if (softmax) {
        lqf_backend_default()->sgemm(0, 0, B, C, D, 1.0f, x, D, W, C, 0.0f, L, C);
        if (use_bias) {
#pragma omp parallel for schedule(static)
            for (int b = 0; b < B; b++)
                for (int64_t c = 0; c < C; c++) L[b * C + c] += bias[c];
        }
    } else {
#pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++) {
            const float *xb = x + b * D;
            double ss = 0;
            for (int64_t d = 0; d < D; d++) ss += (double)xb[d] * xb[d];
            double n = sqrt(ss);
            h->xnorm[b] = (float)n;
            float inv = (float)(1.0 / fmax(n, 1e-12));
            for (int64_t d = 0; d < D; d++) h->xhat[b * D + d] = xb[d] * inv;
        }
        column_inv_norms(D, C, W, h->colacc, h->winv);
        /* x^.W; the column scale 1/|w_c| is applied when each row is read below */
        lqf_backend_default()->sgemm(0, 0, B, C, D, 1.0f, h->xhat, D, W, C, 0.0f, L, C);
    }

    /* ---- batch statistics, updated before use */
    lqf_head_state *S = &h->state;
    double lambda = 0;
    if (k->type == LQF_HEAD_ADAFACE) {
        /* the signal: |x| or the caller's quality, clipped to [0.001, 100]; zhat per row */
        const float *sig = quality ? quality : h->xnorm;
        for (int b = 0; quality && b < B; b++)
            if (!isfinite(quality[b]))
                return lqf_fail(LQF_ERR_NUMERIC, "head adaface: the quality of row %d is %g", b, quality[b]);
        double sum = 0, sq = 0;
        for (int b = 0; b < B; b++) sum += fmin(fmax(sig[b], 0.001), 100.0);
        double mean = sum / B;
        for (int b = 0; b < B; b++) {
            double v = fmin(fmax(sig[b], 0.001), 100.0) - mean;
            sq += v * v;
        }
        double sd = sqrt(sq / (B - 1));
        if (k->ema_init_batch && S->iter == 0) {
            S->batch_mean = mean;
            S->batch_std = sd;
        } else {
            S->batch_mean = mean * k->t_alpha + (1.0 - k->t_alpha) * S->batch_mean;
            S->batch_std = sd * k->t_alpha + (1.0 - k->t_alpha) * S->batch_std;
        }
        S->iter++;
        for (int b = 0; b < B; b++) {
            double n = fmin(fmax(sig[b], 0.001), 100.0);
            double z = k->h * (n - S->batch_mean) / (S->batch_std + k->eps);
            h->zhat[b] = (float)(z < -1 ? -1 : (z > 1 ? 1 : z));
        }
    } else if (k->type == LQF_HEAD_CURRICULAR) {
        double sum = 0;
        for (int b = 0; b < B; b++) sum += clampf(L[b * C + labels[b]] * h->winv[labels[b]], -1.0f, 1.0f);
        S->t = (sum / B) * k->t_alpha + (1.0 - k->t_alpha) * S->t;
    } else if (k->type == LQF_HEAD_SPHEREFACE) {
        S->iter++;
        if (k->lambda_max > 0)
            lambda = fmax(k->lambda_min,
                          k->lambda_max / pow(1.0 + k->lambda_gamma * (double)S->iter, k->lambda_power));
        S->lambda = lambda;
    }

    /* ---- per row: margin, softmax cross-entropy, dL/dcos */
    const float lo = softmax ? -INFINITY : -1.0f + k->eps, hi = softmax ? INFINITY : 1.0f - k->eps;
    const float t_cur = (float)S->t;
    const double invB = 1.0 / B;
#pragma omp parallel
    {
        float *tmp = h->rowtmp + (size_t)thread_id() * C;
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < B; b++) {
            float *row = L + b * C;
            const int y = labels[b];
            if (softmax) {
                memcpy(tmp, row, (size_t)C * sizeof(float));
            } else {
                const float *winv = h->winv;
#pragma omp simd
                for (int64_t c = 0; c < C; c++) tmp[c] = row[c] * winv[c]; /* cosines */
            }
            /* accuracy on the margin-free logits */
            int64_t best = 0;
            for (int64_t c = 1; c < C; c++)
                if (tmp[c] > tmp[best]) best = c;
            h->rowhit[b] = best == y;

            double zhat = 0, gate = 1; /* AdaFace: zhat and QGFace's quality gate (constants) */
            if (k->type == LQF_HEAD_ADAFACE) {
                zhat = h->zhat[b];
                if (k->quality_gate > 0)
                    gate = 1.0 / (1.0 + exp(-(zhat + 2.0 * (0.5 - (double)k->quality_gate)) * k->s));
            }
            target_vals tv = {0, 1, 0, 0};
            if (!softmax) tv = target_logit(h, tmp[y], h->xnorm[b], zhat, lambda);
            tv.zy *= gate;
            tv.dzy_dc *= gate;
            const float sc = softmax ? 1.0f
                             : (k->type == LQF_HEAD_SPHEREFACE && !k->sphere_fixed_scale) ? h->xnorm[b]
                                                                                          : (float)(k->s * gate);
            const int curr = k->type == LQF_HEAD_CURRICULAR;
            const float ctm = (float)tv.ctm;
            /* forward: z */
            if (!softmax) {
                for (int64_t c = 0; c < C; c++) {
                    float cc = clampf(tmp[c], lo, hi);
                    float z = sc * cc;
                    if (curr && cc > ctm) z = sc * cc * (t_cur + cc);
                    row[c] = z;
                }
                row[y] = (float)tv.zy;
            }
            if (logits_out) memcpy(logits_out + b * C, row, (size_t)C * sizeof(float));
            /* softmax: e_j = exp(z_j - max) kept in row */
            float zmax = row[0];
            for (int64_t c = 1; c < C; c++) zmax = row[c] > zmax ? row[c] : zmax;
            const float zy = row[y];
            double sum = 0, ez = 0; /* sum_j e_j, sum_j e_j z_j (SphereFace |x| path) */
            for (int64_t c0 = 0; c0 < C; c0 += 256) {
                const int64_t c1 = LQF_MIN(C, c0 + 256);
                float s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
                for (int64_t c = c0; c < c1; c++) {
                    float z = row[c], e = exp_neg(z - zmax);
                    s1 += e;
                    s2 += e * z;
                    row[c] = e;
                }
                sum += s1;
                ez += s2;
            }
            h->rowloss[b] = log(sum) + zmax - zy;
            /* backward: dL/dz = (p - onehot)/B, then dz/dcos and the 1/|w_c| of W's
             * normalisation; the target element is fixed up below. */
            const float pscale = (float)(invB / sum);
            if (softmax) {
#pragma omp simd
                for (int64_t c = 0; c < C; c++) row[c] *= pscale;
                row[y] -= (float)invB;
                continue;
            }
            const float *winv = h->winv;
            if (curr) {
                for (int64_t c = 0; c < C; c++) {
                    float cc = tmp[c];
                    float msk = (cc >= lo && cc <= hi) ? 1.0f : 0.0f;
                    cc = clampf(cc, lo, hi);
                    float dz = cc > ctm ? sc * msk * (t_cur + 2.0f * cc) : sc * msk;
                    row[c] = row[c] * pscale * dz * winv[c];
                }
            } else {
#pragma omp simd
                for (int64_t c = 0; c < C; c++) {
                    float cc = tmp[c];
                    float msk = (cc >= lo && cc <= hi) ? sc : 0.0f;
                    row[c] = row[c] * pscale * msk * winv[c];
                }
            }
            const float gy = (float)((exp((double)zy - zmax) / sum - 1.0) * invB);
            row[y] = gy * (float)tv.dzy_dc * winv[y];
            double gn = 0;
            if (k->type == LQF_HEAD_SPHEREFACE && !k->sphere_fixed_scale)
                gn = (ez / sum - zy) * invB / fmax(h->xnorm[b], 1e-12);
            if (k->type == LQF_HEAD_MAGFACE) {
                double n = h->xnorm[b];
                gn = gy * tv.dzy_dn;
                if (n >= k->l_a && n <= k->u_a)
                    gn += k->lambda_g * invB * (1.0 / ((double)k->u_a * k->u_a) - 1.0 / (n * n));
            }
            h->gnorm[b] = (float)gn;
        }
    }

    /* ---- loss and accuracy */
    double ce = 0;
    int hits = 0;
    for (int b = 0; b < B; b++) {
        ce += h->rowloss[b];
        hits += h->rowhit[b];
    }
    r->ce = ce / B;
    r->reg = 0;
    if (k->type == LQF_HEAD_MAGFACE) {
        double g = 0;
        for (int b = 0; b < B; b++) {
            double a = fmin(fmax(h->xnorm[b], k->l_a), k->u_a);
            g += a / ((double)k->u_a * k->u_a) + 1.0 / a;
        }
        r->reg = k->lambda_g * g / B;
    }
    r->loss = r->ce + r->reg;
    r->accuracy = (double)hits / B;
    if (!isfinite(r->loss))
        return lqf_fail(LQF_ERR_NUMERIC, "head %s: the loss is %g (NaN or Inf in the embeddings or "
                        "class centres?); gradients not computed", name, r->loss);

    /* ---- gradients of x and W. L now holds dL/dz (softmax) or dL/dcos / |w_c|. */
    if (softmax) {
        if (dx) lqf_backend_default()->sgemm(0, 1, B, D, C, 1.0f, L, C, W, C, 0.0f, dx, D);
        if (dW) lqf_backend_default()->sgemm(1, 0, D, C, B, 1.0f, x, D, L, C, 0.0f, dW, C);
        if (dbias) {
#pragma omp parallel for schedule(static)
            for (int64_t c = 0; c < C; c++) {
                double s = 0;
                for (int b = 0; b < B; b++) s += L[b * C + c];
                dbias[c] = (float)s;
            }
        }
        return LQF_OK;
    }
    if (dbias) memset(dbias, 0, (size_t)C * sizeof(float));
    if (dx) {
        /* dL/dx^ = dC' W^T; dx = (dx^ - x^ (x^.dx^)) / |x| + dL/d|x| x^ */
        lqf_backend_default()->sgemm(0, 1, B, D, C, 1.0f, L, C, W, C, 0.0f, h->dxhat, D);
#pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++) {
            const float *xh = h->xhat + b * D, *g = h->dxhat + b * D;
            double dot = 0;
            for (int64_t d = 0; d < D; d++) dot += (double)xh[d] * g[d];
            float inv = (float)(1.0 / fmax(h->xnorm[b], 1e-12)), fd = (float)dot, gn = h->gnorm[b];
            for (int64_t d = 0; d < D; d++) dx[b * D + d] = (g[d] - xh[d] * fd) * inv + gn * xh[d];
        }
    }
    if (dW) {
        /* G' = x^T dC'; dW_c = G'_c - w_c (w_c.G'_c) / |w_c|^2 */
        lqf_backend_default()->sgemm(1, 0, D, C, B, 1.0f, h->xhat, D, L, C, 0.0f, dW, C);
        double *acc = h->colacc;
        const float *winv = h->winv;
#pragma omp parallel for schedule(static)
        for (int64_t c0 = 0; c0 < C; c0 += 512) {
            int64_t c1 = LQF_MIN(C, c0 + 512);
            for (int64_t c = c0; c < c1; c++) acc[c] = 0;
            for (int64_t d = 0; d < D; d++)
                for (int64_t c = c0; c < c1; c++) acc[c] += (double)W[d * C + c] * dW[d * C + c];
            for (int64_t c = c0; c < c1; c++) acc[c] *= (double)winv[c] * winv[c];
            for (int64_t d = 0; d < D; d++)
                for (int64_t c = c0; c < c1; c++) dW[d * C + c] -= W[d * C + c] * (float)acc[c];
        }
    }
    return LQF_OK;
}
