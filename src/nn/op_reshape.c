/*
 * op_reshape.c — Reshape (also Flatten, Squeeze, Unsqueeze and Identity outputs): the input
 * in logical order, densely, re-read with the target dims. The target follows ONNX: 0 copies
 * the input's dim, -1 takes what is left; a batched output's dim 0 follows the input's
 * (the batch). A builder that gives no target gets the output's dims as built, marked
 * `fixed`. Inference aliases the input when both layouts are dense; otherwise the data is
 * copied, through dense scratch when the output is not dense (an NHWC 4-D output).
 */
#include "nn/graph.h"

static void reshape_init(const lqf_graph *g, lqf_node *n) {
    const lqf_tensor *y = &g->tensors[n->out];
    n->a.reshape.ndim = y->ndim;
    for (int i = 0; i < y->ndim; i++) n->a.reshape.shape[i] = y->dims[i];
    n->fixed = 1;
}

static lqf_status reshape_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    const lqf_shape *x = &shapes[n->in[0]];
    int nd = n->a.reshape.ndim, open = -1;
    if (nd < 0 || nd > LQF_MAX_DIMS) return lqf_fail(LQF_ERR_SHAPE, "a %d-D target", nd);
    int64_t numel = 1, known = 1, bb = g->build_batch > 0 ? g->build_batch : 1;
    int batched = g->tensors[n->out].batched && g->tensors[n->in[0]].batched && x->ndim > 0 &&
                  n->a.reshape.ndim > 0 && n->a.reshape.shape[0] % bb == 0;
    for (int i = 0; i < x->ndim; i++) numel *= x->dims[i];
    out->ndim = nd;
    for (int i = 0; i < nd; i++) {
        int64_t s = n->a.reshape.shape[i];
        if (s == 0 && i >= x->ndim) return lqf_fail(LQF_ERR_SHAPE, "target dim %d copies a missing input dim", i);
        if (s == 0) s = x->dims[i];
        else if (i == 0 && s > 0 && batched) s = s / bb * x->dims[0]; /* built for build_batch */
        if (s == -1) {
            if (open >= 0) return lqf_fail(LQF_ERR_SHAPE, "%s", "two -1 dims in the target");
            open = i;
            s = 1;
        } else if (s < 0) {
            return lqf_fail(LQF_ERR_SHAPE, "target dim %lld", (long long)s);
        }
        out->dims[i] = s;
        known *= s;
    }
    if (open >= 0 && known > 0 && numel % known == 0) out->dims[open] = numel / known;
    int64_t got = known * (open >= 0 ? out->dims[open] : 1);
    if (got != numel) return lqf_fail(LQF_ERR_SHAPE, "cannot reshape %lld elements into %lld", (long long)numel,
                                      (long long)got);
    return LQF_OK;
}

static int reshape_aliases(const lqf_op_ctx *c) {
    return lqf_view_is_dense(lqf_op_vin(c, 0)) && lqf_view_is_dense(lqf_op_vout(c));
}

/* forward: the dense copy when the output is not dense; backward: the dense gradient, then
 * it in the input's layout */
static size_t reshape_scratch(const lqf_op_ctx *c, int train) {
    size_t no = (size_t)lqf_view_numel(lqf_op_vout(c)), ni = (size_t)lqf_view_numel(lqf_op_vin(c, 0));
    if (train) return no + ni;
    return c->aliased || lqf_view_is_dense(lqf_op_vout(c)) ? 0 : no;
}

static lqf_status reshape_can_train(const lqf_op_ctx *c) {
    if (lqf_view_numel(lqf_op_vin(c, 0)) != lqf_view_numel(lqf_op_vout(c)))
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': Reshape does not follow batch %d", lqf_op_src(c),
                        c->n->name, c->batch);
    return LQF_OK;
}

static lqf_status reshape_forward(lqf_op_ctx *c) {
    if (c->aliased) return LQF_OK;
    const lqf_view *v0 = lqf_op_vin(c, 0), *vo = lqf_op_vout(c);
    const float *x = lqf_op_in(c, 0);
    float *y = lqf_op_out(c);
    lqf_view dense_in, dense_out;
    lqf_view_dense(&dense_in, v0->ndim, v0->dims);
    if (lqf_view_is_dense(vo)) {
        c->be->copy_view(v0, x, &dense_in, y);
    } else {
        c->be->copy_view(v0, x, &dense_in, c->scratch);
        lqf_view_dense(&dense_out, vo->ndim, vo->dims);
        c->be->copy_view(&dense_out, c->scratch, vo, y);
    }
    return LQF_OK;
}

static void reshape_backward(lqf_op_ctx *c) {
    float *gx = lqf_op_gin(c, 0);
    if (!gx) return;
    const lqf_view *v0 = lqf_op_vin(c, 0), *vo = lqf_op_vout(c);
    float *dense = c->scratch, *in_layout = c->scratch + lqf_view_numel(vo);
    lqf_view din, dout;
    lqf_view_dense(&din, v0->ndim, v0->dims);
    lqf_view_dense(&dout, vo->ndim, vo->dims);
    c->be->copy_view(vo, lqf_op_dy(c), &dout, dense);
    c->be->copy_view(&din, dense, v0, in_layout);
    c->be->axpy(lqf_view_numel(v0), 1.0f, in_layout, gx);
}

const lqf_op_def lqf_op_reshape = {
    .name = "Reshape",
    .init = reshape_init,
    .infer = reshape_infer,
    .scratch = reshape_scratch,
    .aliases = reshape_aliases,
    .can_train = reshape_can_train,
    .forward = reshape_forward,
    .backward = reshape_backward,
};
