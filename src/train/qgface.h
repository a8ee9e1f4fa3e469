/*
 * qgface.h — QGFace's contrastive branch (QGFace head.py class QGFace, framework.py
 * training_step and _dequeue_and_enqueue): a FIFO queue of earlier L2-normalised embeddings
 * with their labels, and the contrastive loss of the two augmented views of each sample
 * against it, with the hard quality gate that is the complement of the classifier's soft
 * gate (heads.h, quality_gate): low-quality pairs learn through this loss only.
 *
 * Per step, with B samples, k_i and q_i the embeddings of the two views of sample i (QGFace's
 * LH_align data: k the HQ view, q the LQ view; the loss is symmetric in the two), un-
 * normalised (normalised here: q^, k^), and the queue Q (n entries, newest first, n <= K):
 *   1. enqueue: the batch's 2B embeddings (k then q, framework.py's order) go to the front of
 *      the queue with their labels; it is cut to K (so the batch's own keys are in it).
 *   2. rows r = 0..2B-1: r = i (< B) is q_i against [k_i, Q], r = B+i is k_i against
 *      [q_i, Q] (pair_coupling "D2N"). c_r = clamp([a^.p^, a^.Q_1 .. a^.Q_n], -1, 1).
 *   3. mask (mask_same_class): c_rj = 0 for queue entries j with the label of sample i
 *      (they are kept in the softmax as zeros, as supervision_mask does). No margin.
 *   4. gate (quality_scale_method "sgn", range "half", select "low"): t_i = min((zq_i+1)/2,
 *      (zk_i+1)/2) from the classifier's zhat of both views; g_i = t_i < qs ? 1 : 0 for both
 *      rows of pair i (qs = 0: g = 1 everywhere, as the reference).
 *   5. z_r = s * g_r * c_r; loss = mean_r (logsumexp(z_r) - z_r0) * log(129)/log(n+1)
 *      (rescale to the loss scale of 128 negatives).
 * Gradients: dL/dq and dL/dk through the normalisation; the queue is a constant (detached),
 * as are the gates; clamp passes gradient where -1 <= c <= 1.
 */
#ifndef LQF_TRAIN_QGFACE_H
#define LQF_TRAIN_QGFACE_H

#include "core/core.h"

#include <stdint.h>

typedef struct {
    int dim;               /* D */
    int queue_size;        /* K >= 1 (default 4096) */
    float s;               /* logit scale (64) */
    float quality_scale;   /* qs of the hard gate (0.4 in lqface; 0: no gate) */
    int mask_same_class;   /* 1 (default): mask queue entries of the query's class */
    int rescale;           /* 1 (default): times log(129)/log(n+1) */
} lqf_qg_config;

typedef struct {
    double loss;           /* the rescaled loss */
    double raw;            /* before the rescale */
    double gated;          /* fraction of pairs with gate 1 */
    double pos_cos;        /* mean cosine of the two views */
    double accuracy;       /* fraction of rows whose positive beats every unmasked negative */
    int queue_len;         /* n used */
} lqf_qg_result;

typedef struct lqf_qgface {
    lqf_qg_config cfg;
    float *queue;          /* (K, D) normalised, newest first; first n valid */
    int32_t *qlabels;      /* (K) */
    int n;                 /* entries filled */
    /* scratch (B rows), grown on demand */
    int cap_b;
    float *ahat;           /* (2B, D): q^ then k^ */
    float *anorm;          /* (2B) */
    float *cos;            /* (2B, K+1) cosines, then dL/dc */
    float *dahat;          /* (2B, D) */
    float *tmp;            /* (K) */
} lqf_qgface;

/* Defaults: K 4096, s 64, qs 0.4, mask_same_class 1, rescale 1. */
void lqf_qg_config_default(lqf_qg_config *c, int dim);
lqf_status lqf_qgface_create(const lqf_qg_config *c, lqf_qgface **out);
void lqf_qgface_free(lqf_qgface *q);
/* Empty the queue. */
void lqf_qgface_reset(lqf_qgface *q);
/* Push n embeddings e (n, D) (un-normalised; normalised here) with their labels to the front
 * of the queue (e[0] first), keeping the K newest. */
lqf_status lqf_qgface_enqueue(lqf_qgface *q, int n, const float *e, const int32_t *labels);
/* Replace the queue's content: n <= K normalised entries (n, D), newest first (checkpoints). */
lqf_status lqf_qgface_set_queue(lqf_qgface *q, int n, const float *entries, const int32_t *labels);

/* Loss and gradients of B pairs against the current queue (enqueue the batch first).
 *   qe, ke  (B, D) un-normalised embeddings of the two views (q: LQ, k: HQ)
 *   labels  (B)
 *   zq, zk  (B) the classifier's zhat of each view (NULL: gate 1 for every pair)
 * dq, dk (B, D) (may be NULL) are OVERWRITTEN with dL/dqe and dL/dke. */
lqf_status lqf_qgface_forward_backward(lqf_qgface *q, int B, const float *qe, const float *ke,
                                       const int32_t *labels, const float *zq, const float *zk,
                                       lqf_qg_result *r, float *dq, float *dk);

#endif
