/*
 * op_conv.c — Conv: 2-D convolution of an NHWC activation with packed weights, an optional
 * bias and the epilogue the optimiser may fuse in (activation with its PReLU slope, then a
 * residual). Training takes unfused convolutions: backward gives the input, weight and bias
 * gradients.
 */
#include "nn/graph.h"

#include <string.h>

void lqf_node_conv_shape(const lqf_node *n, const int64_t x_nchw[4], lqf_conv_shape *s) {
    memset(s, 0, sizeof *s);
    s->n = (int)x_nchw[0];
    s->cin = (int)x_nchw[1];
    s->h = (int)x_nchw[2];
    s->w = (int)x_nchw[3];
    s->cout = n->a.conv.cout;
    s->kh = n->a.conv.kh;
    s->kw = n->a.conv.kw;
    s->sh = n->a.conv.sh;
    s->sw = n->a.conv.sw;
    s->pt = n->a.conv.pt;
    s->pl = n->a.conv.pl;
    s->pb = n->a.conv.pb;
    s->pr = n->a.conv.pr;
    s->dh = n->a.conv.dh;
    s->dw = n->a.conv.dw;
    s->group = n->a.conv.group;
    lqf_conv_shape_init(s);
}

static void conv_init(const lqf_graph *g, lqf_node *n) {
    const lqf_tensor *y = &g->tensors[n->out];
    n->a.conv.act_param = -1;
    n->a.conv.residual = -1;
    n->a.conv.cout = y->ndim == 4 ? (int)y->dims[1] : 0;
}

static lqf_status conv_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    const lqf_shape *x = &shapes[n->in[0]];
    if (x->ndim != 4) return lqf_fail(LQF_ERR_SHAPE, "convolution of a %d-D input", x->ndim);
    lqf_conv_shape s;
    lqf_node_conv_shape(n, x->dims, &s);
    if (s.cout < 1 || s.cin < 1 || s.cin % s.group || s.cout % s.group)
        return lqf_fail(LQF_ERR_SHAPE, "%d input and %d output channels do not split into %d groups", s.cin, s.cout,
                        s.group);
    int64_t wn = 1;
    for (int d = 0; d < shapes[n->in[1]].ndim; d++) wn *= shapes[n->in[1]].dims[d];
    if ((size_t)wn != lqf_conv_weight_size(&s))
        return lqf_fail(LQF_ERR_SHAPE, "input has %d channels, the weights hold %lld values for %zu", s.cin,
                        (long long)wn, lqf_conv_weight_size(&s));
    if (s.oh < 1 || s.ow < 1)
        return lqf_fail(LQF_ERR_SHAPE, "a %dx%d input is smaller than the %dx%d kernel", s.h, s.w, s.kh, s.kw);
    out->ndim = 4;
    out->dims[0] = x->dims[0];
    out->dims[1] = s.cout;
    out->dims[2] = s.oh;
    out->dims[3] = s.ow;
    if (n->a.conv.residual >= 0) { /* a fused residual is added element by element */
        const lqf_shape *r = &shapes[n->a.conv.residual];
        if (r->ndim != 4 || memcmp(r->dims, out->dims, 4 * sizeof r->dims[0]) != 0)
            return lqf_fail(LQF_ERR_SHAPE, "%s", "the fused residual does not match the output");
    }
    return LQF_OK;
}

static int conv_extra_reads(const lqf_node *n, int t[2]) {
    int k = 0;
    if (n->a.conv.residual >= 0) t[k++] = n->a.conv.residual;
    if (n->a.conv.act_param >= 0) t[k++] = n->a.conv.act_param;
    return k;
}

static int64_t conv_cost(const lqf_graph *g, const lqf_node *n) {
    lqf_conv_shape s;
    lqf_node_conv_shape(n, g->tensors[n->in[0]].dims, &s);
    return lqf_conv_macs(&s);
}

static void ctx_shape(const lqf_op_ctx *c, lqf_conv_shape *s) { lqf_node_conv_shape(c->n, lqf_op_vin(c, 0)->dims, s); }

static size_t conv_scratch(const lqf_op_ctx *c, int train) {
    lqf_conv_shape s;
    ctx_shape(c, &s);
    size_t n = c->be->conv2d_scratch(&s);
    return train ? LQF_MAX(n, c->be->conv2d_backward_scratch(&s)) : n;
}

static lqf_status conv_can_train(const lqf_op_ctx *c) {
    if (c->n->a.conv.act != LQF_ACT_NONE || c->n->a.conv.residual >= 0)
        return lqf_fail(LQF_ERR_UNSUPPORTED,
                        "%s: node '%s': convolution with a fused activation/residual cannot be trained "
                        "(train the graph before lqf_graph_optimize)", lqf_op_src(c), c->n->name);
    return LQF_OK;
}

static lqf_status conv_forward(lqf_op_ctx *c) {
    const lqf_node *n = c->n;
    lqf_conv_shape s;
    ctx_shape(c, &s);
    lqf_epilogue ep;
    memset(&ep, 0, sizeof ep);
    ep.act = n->a.conv.act;
    ep.alpha = n->a.conv.alpha;
    if (n->a.conv.act_param >= 0) {
        ep.slope = lqf_op_buf(c, n->a.conv.act_param);
        ep.slope_shared = lqf_tensor_numel(&c->g->tensors[n->a.conv.act_param]) == 1;
    }
    if (n->a.conv.residual >= 0) ep.residual = lqf_op_buf(c, n->a.conv.residual);
    c->be->conv2d_forward(&s, lqf_op_in(c, 0), lqf_op_in(c, 1), lqf_op_in(c, 2), &ep, lqf_op_out(c), c->scratch);
    return LQF_OK;
}

static void conv_backward(lqf_op_ctx *c) {
    lqf_conv_shape s;
    ctx_shape(c, &s);
    const float *dy = lqf_op_dy(c);
    float *gx = lqf_op_gin(c, 0), *gw = lqf_op_gin(c, 1), *gb = lqf_op_gin(c, 2);
    if (gx) c->be->conv2d_backward_data(&s, dy, lqf_op_in(c, 1), gx, c->scratch);
    if (gw || gb) c->be->conv2d_backward_weights(&s, lqf_op_in(c, 0), dy, gw, gb, c->scratch);
}

const lqf_op_def lqf_op_conv = {
    .name = "Conv",
    .init = conv_init,
    .infer = conv_infer,
    .extra_reads = conv_extra_reads,
    .cost = conv_cost,
    .scratch = conv_scratch,
    .can_train = conv_can_train,
    .forward = conv_forward,
    .backward = conv_backward,
};
