/*
 * op_softmax.c — Softmax along softmax.axis, in the output's layout. Inference only.
 */
#include "nn/graph.h"

static lqf_status softmax_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    *out = shapes[n->in[0]];
    if (n->a.softmax.axis < 0 || n->a.softmax.axis >= out->ndim)
        return lqf_fail(LQF_ERR_SHAPE, "axis %d of a %d-D input", n->a.softmax.axis, out->ndim);
    return LQF_OK;
}

static lqf_status softmax_forward(lqf_op_ctx *c) {
    const float *x = lqf_op_in_as_out(c);
    c->be->softmax(lqf_op_vout(c), c->n->a.softmax.axis, x, lqf_op_out(c));
    return LQF_OK;
}

const lqf_op_def lqf_op_softmax = {.name = "Softmax", .infer = softmax_infer, .forward = softmax_forward};
