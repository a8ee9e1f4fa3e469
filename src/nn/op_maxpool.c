/*
 * op_maxpool.c — MaxPool over NHWC activations (ONNX output sizes, ceil_mode included);
 * backward routes each window's gradient to its first maximum (PyTorch's choice).
 */
#include "nn/graph.h"

#include <string.h>

static void pool_shape(const lqf_node *n, const int64_t *x, lqf_pool_shape *s) {
    memset(s, 0, sizeof *s);
    s->n = (int)x[0];
    s->c = (int)x[1];
    s->h = (int)x[2];
    s->w = (int)x[3];
    s->kh = n->a.pool.kh;
    s->kw = n->a.pool.kw;
    s->sh = n->a.pool.sh;
    s->sw = n->a.pool.sw;
    s->pt = n->a.pool.pt;
    s->pl = n->a.pool.pl;
    s->pb = n->a.pool.pb;
    s->pr = n->a.pool.pr;
    s->ceil_mode = n->a.pool.ceil_mode;
    lqf_pool_shape_init(s);
}

static lqf_status pool_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    const lqf_shape *x = &shapes[n->in[0]];
    if (x->ndim != 4) return lqf_fail(LQF_ERR_SHAPE, "pooling of a %d-D input", x->ndim);
    lqf_pool_shape s;
    pool_shape(n, x->dims, &s);
    if (s.oh < 1 || s.ow < 1)
        return lqf_fail(LQF_ERR_SHAPE, "a %dx%d input is smaller than the %dx%d window", s.h, s.w, s.kh, s.kw);
    *out = *x;
    out->dims[2] = s.oh;
    out->dims[3] = s.ow;
    return LQF_OK;
}

static lqf_status pool_forward(lqf_op_ctx *c) {
    lqf_pool_shape s;
    pool_shape(c->n, lqf_op_vin(c, 0)->dims, &s);
    c->be->maxpool_forward(&s, lqf_op_in(c, 0), lqf_op_out(c));
    return LQF_OK;
}

static void pool_backward(lqf_op_ctx *c) {
    float *gx = lqf_op_gin(c, 0);
    if (!gx) return;
    lqf_pool_shape s;
    pool_shape(c->n, lqf_op_vin(c, 0)->dims, &s);
    c->be->maxpool_backward(&s, lqf_op_in(c, 0), lqf_op_dy(c), gx);
}

const lqf_op_def lqf_op_maxpool = {
    .name = "MaxPool", .infer = pool_infer, .forward = pool_forward, .backward = pool_backward,
};
