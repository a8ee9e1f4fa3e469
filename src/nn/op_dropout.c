/*
 * op_dropout.c — Dropout: the identity at inference and in eval mode (inference aliases the
 * input when the layouts agree); a training forward multiplies by a mask of 0 or 1/(1-p)
 * drawn from (seed, forward count, node), kept for backward.
 */
#include "core/rng.h"
#include "nn/graph.h"

static int masked(const lqf_op_ctx *c) { return c->training && c->n->a.dropout.p > 0.0f; }

static int dropout_aliases(const lqf_op_ctx *c) { return lqf_view_same_layout(lqf_op_vin(c, 0), lqf_op_vout(c)); }
static size_t dropout_saved(const lqf_op_ctx *c) { return (size_t)lqf_view_numel(lqf_op_vout(c)); }

static lqf_status dropout_can_train(const lqf_op_ctx *c) {
    if (!lqf_view_same_layout(lqf_op_vin(c, 0), lqf_op_vout(c)))
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': %s over a %d-D tensor cannot be trained", lqf_op_src(c),
                        c->n->name, "Dropout", lqf_op_vin(c, 0)->ndim);
    return LQF_OK;
}

static lqf_status dropout_forward(lqf_op_ctx *c) {
    if (c->aliased) return LQF_OK;
    int64_t n = lqf_view_numel(lqf_op_vout(c));
    if (masked(c)) {
        uint64_t seed = lqf_mix64(c->seed ^ lqf_mix64(c->nfwd * 0x100000001b3ull + (uint64_t)c->node));
        c->be->dropout_mask(n, c->n->a.dropout.p, seed, c->save);
        c->be->dropout_forward(n, c->save, lqf_op_in(c, 0), lqf_op_out(c));
    } else {
        c->be->copy_view(lqf_op_vin(c, 0), lqf_op_in(c, 0), lqf_op_vout(c), lqf_op_out(c));
    }
    return LQF_OK;
}

static void dropout_backward(lqf_op_ctx *c) {
    float *gx = lqf_op_gin(c, 0);
    if (!gx) return;
    int64_t n = lqf_view_numel(lqf_op_vout(c));
    if (masked(c)) c->be->dropout_backward(n, c->save, lqf_op_dy(c), gx);
    else c->be->axpy(n, 1.0f, lqf_op_dy(c), gx);
}

const lqf_op_def lqf_op_dropout = {
    .name = "Dropout",
    .infer = lqf_op_infer_same,
    .saved = dropout_saved,
    .aliases = dropout_aliases,
    .can_train = dropout_can_train,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
