/*
 * qgface.c — QGFace's contrastive branch of qgface.h: the embedding queue (a (K, D) array kept
 * newest first; an enqueue of n rows moves the old ones down by n, which costs one memmove of
 * the queue per step, small next to the backbone) and the gated contrastive loss: one GEMM for
 * the 2B x n negative cosines, a per-row softmax cross-entropy on the scaled, masked, gated
 * cosines, then one GEMM back to dL/da^ and the normalisation Jacobian.
 */
#include "train/qgface.h"
#include "backend/backend.h"

#include <math.h>
#include <string.h>

void lqf_qg_config_default(lqf_qg_config *c, int dim) {
    memset(c, 0, sizeof *c);
    c->dim = dim;
    c->queue_size = 4096;
    c->s = 64.0f;
    c->quality_scale = 0.4f;
    c->mask_same_class = 1;
    c->rescale = 1;
}

static void free_scratch(lqf_qgface *q) {
    lqf_free(q->ahat);
    lqf_free(q->anorm);
    lqf_free(q->cos);
    lqf_free(q->dahat);
    q->ahat = q->anorm = q->cos = q->dahat = NULL;
    q->cap_b = 0;
}

void lqf_qgface_free(lqf_qgface *q) {
    if (!q) return;
    free_scratch(q);
    lqf_free(q->queue);
    lqf_free(q->qlabels);
    lqf_free(q->tmp);
    free(q);
}

void lqf_qgface_reset(lqf_qgface *q) {
    if (q) q->n = 0;
}

lqf_status lqf_qgface_create(const lqf_qg_config *c, lqf_qgface **out) {
    *out = NULL;
    if (!c || c->dim < 1 || c->queue_size < 1)
        return lqf_fail(LQF_ERR_ARG, "qgface: dim %d and queue size %d must be positive", c ? c->dim : 0,
                        c ? c->queue_size : 0);
    if (!(c->s > 0) || !(c->quality_scale >= 0 && c->quality_scale <= 1))
        return lqf_fail(LQF_ERR_ARG, "qgface: scale %g must be positive and quality_scale %g in [0,1]", c->s,
                        c->quality_scale);
    lqf_qgface *q = calloc(1, sizeof *q);
    if (!q) return lqf_fail(LQF_ERR_NOMEM, "qgface: out of memory");
    q->cfg = *c;
    q->queue = lqf_alloc((size_t)c->queue_size * c->dim * sizeof(float));
    q->qlabels = lqf_alloc((size_t)c->queue_size * sizeof(int32_t));
    q->tmp = lqf_alloc(((size_t)c->queue_size + 1) * sizeof(float));
    if (!q->queue || !q->qlabels || !q->tmp) {
        lqf_qgface_free(q);
        return lqf_fail(LQF_ERR_NOMEM, "qgface: out of memory for a queue of %d x %d", c->queue_size, c->dim);
    }
    *out = q;
    return LQF_OK;
}

static lqf_status ensure_scratch(lqf_qgface *q, int B) {
    if (B <= q->cap_b) return LQF_OK;
    free_scratch(q);
    const size_t R = 2 * (size_t)B, D = (size_t)q->cfg.dim, K1 = (size_t)q->cfg.queue_size + 1;
    q->ahat = lqf_alloc(R * D * sizeof(float));
    q->anorm = lqf_alloc(R * sizeof(float));
    q->cos = lqf_alloc(R * K1 * sizeof(float));
    q->dahat = lqf_alloc(R * D * sizeof(float));
    if (!q->ahat || !q->anorm || !q->cos || !q->dahat) {
        free_scratch(q);
        return lqf_fail(LQF_ERR_NOMEM, "qgface: out of memory for a batch of %d pairs", B);
    }
    q->cap_b = B;
    return LQF_OK;
}

lqf_status lqf_qgface_enqueue(lqf_qgface *q, int n, const float *e, const int32_t *labels) {
    if (!q || !e || !labels || n < 0) return lqf_fail(LQF_ERR_ARG, "qgface enqueue: bad argument");
    const int K = q->cfg.queue_size;
    const int64_t D = q->cfg.dim;
    int put = LQF_MIN(n, K), keep = LQF_MIN(q->n, K - put);
    memmove(q->queue + (size_t)put * D, q->queue, (size_t)keep * D * sizeof(float));
    memmove(q->qlabels + put, q->qlabels, (size_t)keep * sizeof(int32_t));
    lqf_backend_default()->l2norm_forward(put, (int)D, e, q->queue, NULL);
    memcpy(q->qlabels, labels, (size_t)put * sizeof(int32_t));
    q->n = put + keep;
    return LQF_OK;
}

lqf_status lqf_qgface_set_queue(lqf_qgface *q, int n, const float *entries, const int32_t *labels) {
    if (!q || n < 0 || n > q->cfg.queue_size || (n && (!entries || !labels)))
        return lqf_fail(LQF_ERR_ARG, "qgface: cannot set a queue of %d entries (size %d)", n,
                        q ? q->cfg.queue_size : 0);
    memcpy(q->queue, entries, (size_t)n * q->cfg.dim * sizeof(float));
    memcpy(q->qlabels, labels, (size_t)n * sizeof(int32_t));
    q->n = n;
    return LQF_OK;
}

lqf_status lqf_qgface_forward_backward(lqf_qgface *q, int B, const float *qe, const float *ke,
                                       const int32_t *labels, const float *zq, const float *zk,
                                       lqf_qg_result *r, float *dq, float *dk) {
    if (!q || !qe || !ke || !labels || !r) return lqf_fail(LQF_ERR_ARG, "qgface: NULL argument");
    if (B < 1) return lqf_fail(LQF_ERR_ARG, "qgface: batch %d must be positive", B);
    if (q->n < 1) return lqf_fail(LQF_ERR_ARG, "qgface: the queue is empty (enqueue the batch first)");
    lqf_status st = ensure_scratch(q, B);
    if (st) return st;
    const lqf_qg_config *k = &q->cfg;
    const int64_t D = k->dim, n = q->n, W = n + 1, R = 2 * (int64_t)B;
    float *A = q->ahat, *C = q->cos;

    /* ---- a^ rows: q^ (0..B-1), k^ (B..2B-1) */
    lqf_backend_default()->l2norm_forward(B, (int)D, qe, A, q->anorm);
    lqf_backend_default()->l2norm_forward(B, (int)D, ke, A + B * D, q->anorm + B);
    /* ---- cosines: column 0 the other view, columns 1..n the queue */
    lqf_backend_default()->sgemm(0, 1, R, n, D, 1.0f, A, D, q->queue, D, 0.0f, C + 1, W);
    for (int64_t i = 0; i < B; i++) {
        const float *a = A + i * D, *b = A + (B + i) * D;
        float dot = 0;
        for (int64_t d = 0; d < D; d++) dot += a[d] * b[d];
        C[i * W] = C[(B + i) * W] = dot;
    }

    /* ---- per row: clamp, mask, gate, softmax cross-entropy, dL/dc */
    const double rescale = k->rescale ? log(129.0) / log((double)W) : 1.0;
    const double scale = rescale / (double)R;
    double loss = 0, gated = 0, pos = 0;
    int hits = 0;
    for (int64_t r_ = 0; r_ < R; r_++) {
        const int64_t i = r_ < B ? r_ : r_ - B;
        float *c = C + r_ * W;
        const int32_t y = labels[i];
        double g = 1.0;
        if (k->quality_scale > 0 && zq && zk) {
            double t = fmin((zq[i] + 1.0f) / 2.0f, (zk[i] + 1.0f) / 2.0f);
            g = t < k->quality_scale ? 1.0 : 0.0;
        }
        if (r_ < B) gated += g, pos += c[0];
        /* clamp masks in tmp: 1 where the gradient passes */
        float *pass = q->tmp;
        float best_neg = -INFINITY;
        for (int64_t j = 0; j < W; j++) {
            float v = c[j];
            int masked = j > 0 && k->mask_same_class && q->qlabels[j - 1] == y;
            pass[j] = (!masked && v >= -1.0f && v <= 1.0f) ? 1.0f : 0.0f;
            v = v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v);
            if (masked) v = 0.0f;
            if (j > 0 && !masked && v > best_neg) best_neg = v;
            c[j] = v;
        }
        hits += c[0] > best_neg;
        const float sg = (float)(k->s * g);
        float zmax = -INFINITY;
        for (int64_t j = 0; j < W; j++) zmax = fmaxf(zmax, sg * c[j]);
        double sum = 0;
        for (int64_t j = 0; j < W; j++) sum += exp((double)(sg * c[j] - zmax));
        loss += log(sum) + zmax - sg * c[0];
        /* dL/dc_j = scale * sg * (p_j - [j=0]) * pass_j */
        for (int64_t j = 0; j < W; j++) {
            double p = exp((double)(sg * c[j] - zmax)) / sum - (j == 0 ? 1.0 : 0.0);
            c[j] = (float)(scale * sg * p) * pass[j];
        }
    }
    r->raw = loss / (double)R;
    r->loss = r->raw * rescale;
    r->gated = gated / B;
    r->pos_cos = pos / B;
    r->accuracy = (double)hits / (double)R;
    r->queue_len = (int)n;
    if (!isfinite(r->loss))
        return lqf_fail(LQF_ERR_NUMERIC, "qgface: the contrastive loss is %g (NaN or Inf in the embeddings?)",
                        r->loss);
    if (!dq && !dk) return LQF_OK;

    /* ---- dL/da^ = dC[:,1:] Q + the positive pair terms; then the normalisation */
    float *G = q->dahat;
    lqf_backend_default()->sgemm(0, 0, R, D, n, 1.0f, C + 1, W, q->queue, D, 0.0f, G, D);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < B; i++) {
        const float gp = C[i * W] + C[(B + i) * W];
        const float *qa = A + i * D, *ka = A + (B + i) * D;
        float *gq = G + i * D, *gk = G + (B + i) * D;
        for (int64_t d = 0; d < D; d++) {
            gq[d] += gp * ka[d];
            gk[d] += gp * qa[d];
        }
    }
    if (dq) {
        memset(dq, 0, (size_t)B * D * sizeof(float));
        lqf_backend_default()->l2norm_backward(B, (int)D, A, q->anorm, G, NULL, dq);
    }
    if (dk) {
        memset(dk, 0, (size_t)B * D * sizeof(float));
        lqf_backend_default()->l2norm_backward(B, (int)D, A + B * D, q->anorm + B, G + B * D, NULL, dk);
    }
    return LQF_OK;
}
