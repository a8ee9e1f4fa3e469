/*
 * op_reducesum.c — ReduceSum over reduce.axes, the reduced axes kept as 1 (keepdims) or
 * dropped. Inference only.
 */
#include "nn/graph.h"

static unsigned axes_mask(const lqf_node *n) {
    unsigned mask = 0;
    for (int k = 0; k < n->a.reduce.naxes; k++) mask |= 1u << n->a.reduce.axes[k];
    return mask;
}

static lqf_status reduce_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    const lqf_shape *x = &shapes[n->in[0]];
    for (int k = 0; k < n->a.reduce.naxes; k++)
        if (n->a.reduce.axes[k] < 0 || n->a.reduce.axes[k] >= x->ndim)
            return lqf_fail(LQF_ERR_SHAPE, "axis %d of a %d-D input", n->a.reduce.axes[k], x->ndim);
    unsigned mask = axes_mask(n);
    out->ndim = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (!(mask >> d & 1)) out->dims[out->ndim++] = x->dims[d];
        else if (n->a.reduce.keepdims) out->dims[out->ndim++] = 1;
    }
    return LQF_OK;
}

static lqf_status reduce_forward(lqf_op_ctx *c) {
    const lqf_view *v0 = lqf_op_vin(c, 0);
    unsigned mask = axes_mask(c->n);
    lqf_view vy;
    if (c->n->a.reduce.keepdims) {
        vy = *lqf_op_vout(c);
    } else {
        /* same memory seen with the reduced axes kept as extent 1 (the output is dense) */
        int64_t d[LQF_MAX_DIMS];
        for (int k = 0; k < v0->ndim; k++) d[k] = (mask >> k) & 1 ? 1 : v0->dims[k];
        lqf_view_dense(&vy, v0->ndim, d);
    }
    c->be->reduce_sum(v0, lqf_op_in(c, 0), mask, &vy, lqf_op_out(c));
    return LQF_OK;
}

const lqf_op_def lqf_op_reducesum = {.name = "ReduceSum", .infer = reduce_infer, .forward = reduce_forward};
