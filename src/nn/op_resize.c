/*
 * op_resize.c — Resize (nearest neighbour by integer factors) of an NHWC activation.
 * Inference only.
 */
#include "nn/graph.h"

static lqf_status resize_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    const lqf_shape *x = &shapes[n->in[0]];
    if (x->ndim != 4) return lqf_fail(LQF_ERR_SHAPE, "resizing a %d-D input", x->ndim);
    if (n->a.resize.sh < 1 || n->a.resize.sw < 1)
        return lqf_fail(LQF_ERR_SHAPE, "scale factors %dx%d", n->a.resize.sh, n->a.resize.sw);
    *out = *x;
    out->dims[2] = x->dims[2] * n->a.resize.sh;
    out->dims[3] = x->dims[3] * n->a.resize.sw;
    return LQF_OK;
}

static lqf_status resize_forward(lqf_op_ctx *c) {
    const lqf_view *v0 = lqf_op_vin(c, 0);
    c->be->resize_nearest((int)v0->dims[0], (int)v0->dims[2], (int)v0->dims[3], (int)v0->dims[1], c->n->a.resize.sh,
                          c->n->a.resize.sw, lqf_op_in(c, 0), lqf_op_out(c));
    return LQF_OK;
}

const lqf_op_def lqf_op_resize = {.name = "Resize", .infer = resize_infer, .forward = resize_forward};
