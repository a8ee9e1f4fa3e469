/*
 * op_concat.c — Concat along concat.axis: each input copied into its slice of the output
 * (any layouts). Inference only.
 */
#include "nn/graph.h"

static lqf_status concat_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    const lqf_shape *x0 = &shapes[n->in[0]];
    int ax = n->a.concat.axis;
    if (ax < 0 || ax >= x0->ndim) return lqf_fail(LQF_ERR_SHAPE, "axis %d of a %d-D input", ax, x0->ndim);
    *out = *x0;
    for (int k = 1; k < n->nin; k++) {
        const lqf_shape *x = &shapes[n->in[k]];
        int same = x->ndim == x0->ndim;
        for (int d = 0; d < x0->ndim && same; d++) same = d == ax || x->dims[d] == x0->dims[d];
        if (!same) return lqf_fail(LQF_ERR_SHAPE, "input %d does not match input 0 off axis %d", k, ax);
        out->dims[ax] += x->dims[ax];
    }
    return LQF_OK;
}

static lqf_status concat_forward(lqf_op_ctx *c) {
    const lqf_view *vo = lqf_op_vout(c);
    float *y = lqf_op_out(c);
    int ax = c->n->a.concat.axis;
    int64_t start = 0;
    for (int k = 0; k < c->n->nin; k++) {
        const lqf_view *vi = lqf_op_vin(c, k);
        lqf_view dst = *vo;
        dst.dims[ax] = vi->dims[ax];
        c->be->copy_view(vi, lqf_op_in(c, k), &dst, y + start * vo->strides[ax]);
        start += vi->dims[ax];
    }
    return LQF_OK;
}

const lqf_op_def lqf_op_concat = {.name = "Concat", .infer = concat_infer, .forward = concat_forward};
