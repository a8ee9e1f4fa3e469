/*
 * op_transpose.c — Transpose by transpose.perm: a view operator. Inference aliases its input
 * when the input read in the permuted order already has the output's layout; otherwise the
 * data is copied through the permuted view. Backward copies the gradient back through the
 * inverse permutation.
 */
#include "nn/graph.h"

static lqf_status transpose_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    const lqf_shape *x = &shapes[n->in[0]];
    unsigned seen = 0;
    for (int i = 0; i < x->ndim; i++) {
        int p = n->a.transpose.perm[i];
        if (p < 0 || p >= x->ndim || (seen >> p & 1)) return lqf_fail(LQF_ERR_SHAPE, "%s", "bad permutation");
        seen |= 1u << p;
        out->dims[i] = x->dims[p];
    }
    out->ndim = x->ndim;
    return LQF_OK;
}

static int transpose_aliases(const lqf_op_ctx *c) {
    lqf_view p;
    lqf_view_permute(lqf_op_vin(c, 0), c->n->a.transpose.perm, &p);
    return lqf_view_same_layout(&p, lqf_op_vout(c));
}

static size_t transpose_scratch(const lqf_op_ctx *c, int train) {
    return train ? (size_t)lqf_view_numel(lqf_op_vin(c, 0)) : 0;
}

static lqf_status transpose_forward(lqf_op_ctx *c) {
    if (c->aliased) return LQF_OK;
    lqf_view p;
    lqf_view_permute(lqf_op_vin(c, 0), c->n->a.transpose.perm, &p);
    c->be->copy_view(&p, lqf_op_in(c, 0), lqf_op_vout(c), lqf_op_out(c));
    return LQF_OK;
}

static void transpose_backward(lqf_op_ctx *c) {
    float *gx = lqf_op_gin(c, 0);
    if (!gx) return;
    const lqf_view *vo = lqf_op_vout(c), *v0 = lqf_op_vin(c, 0);
    int inv[LQF_MAX_DIMS];
    for (int k = 0; k < vo->ndim; k++) inv[c->n->a.transpose.perm[k]] = k;
    lqf_view q;
    lqf_view_permute(vo, inv, &q);
    c->be->copy_view(&q, lqf_op_dy(c), v0, c->scratch);
    c->be->axpy(lqf_view_numel(v0), 1.0f, c->scratch, gx);
}

const lqf_op_def lqf_op_transpose = {
    .name = "Transpose",
    .infer = transpose_infer,
    .scratch = transpose_scratch,
    .aliases = transpose_aliases,
    .forward = transpose_forward,
    .backward = transpose_backward,
};
