/*
 * op_util.c — what the operator files (nn/op_*.c) share: reading the executor's context
 * (views, value and gradient buffers of a node's tensors), the rows x channels split of
 * per-channel kernels, running an elementwise operator in its output's layout, summing a
 * broadcast operand's gradient back to its shape, and the shape rule of elementwise
 * operators.
 */
#include "nn/graph.h"

const lqf_view *lqf_op_view(const lqf_op_ctx *c, int t) { return &c->views[t]; }
const lqf_view *lqf_op_vin(const lqf_op_ctx *c, int k) { return &c->views[c->n->in[k]]; }
const lqf_view *lqf_op_vout(const lqf_op_ctx *c) { return &c->views[c->n->out]; }

float *lqf_op_buf(const lqf_op_ctx *c, int t) {
    const lqf_tensor *T = &c->g->tensors[t];
    if (T->kind == LQF_T_PARAM || T->kind == LQF_T_CONST) return c->g->params + T->offset;
    return c->val[t];
}

const float *lqf_op_in(const lqf_op_ctx *c, int k) {
    return k < c->n->nin && c->n->in[k] >= 0 ? lqf_op_buf(c, c->n->in[k]) : NULL;
}

float *lqf_op_out(const lqf_op_ctx *c) { return c->val[c->n->out]; }

float *lqf_op_grad(const lqf_op_ctx *c, int t) {
    if (t < 0 || !c->want || !c->want[t]) return NULL;
    const lqf_tensor *T = &c->g->tensors[t];
    if (T->kind == LQF_T_PARAM) return c->grads + T->offset;
    if (T->kind == LQF_T_CONST) return NULL;
    return c->grad[t];
}

float *lqf_op_gin(const lqf_op_ctx *c, int k) { return k < c->n->nin ? lqf_op_grad(c, c->n->in[k]) : NULL; }
const float *lqf_op_dy(const lqf_op_ctx *c) { return c->grad[c->n->out]; }
const char *lqf_op_src(const lqf_op_ctx *c) { return c->g->source ? c->g->source : "network"; }

void lqf_op_rows_channels(const lqf_view *v, int64_t *rows, int *c) {
    int64_t n = lqf_view_numel(v);
    int ch = v->ndim >= 2 ? (int)v->dims[1] : 1;
    if (ch <= 0) ch = 1;
    *c = ch;
    *rows = n / ch;
}

lqf_status lqf_op_check_rows_channels(const lqf_op_ctx *c, const char *what) {
    const lqf_tensor *x = &c->g->tensors[c->n->in[0]];
    int innermost = x->ndim == 2 || (x->ndim == 4 && x->nhwc);
    if (!lqf_view_same_layout(lqf_op_vin(c, 0), lqf_op_vout(c)) || (x->ndim >= 2 && !innermost))
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': %s over a %d-D tensor cannot be trained", lqf_op_src(c),
                        c->n->name, what, x->ndim);
    return LQF_OK;
}

const float *lqf_op_in_as_out(const lqf_op_ctx *c) {
    const lqf_view *vi = lqf_op_vin(c, 0), *vo = lqf_op_vout(c);
    const float *x = lqf_op_in(c, 0);
    if (lqf_view_same_layout(vi, vo)) return x;
    c->be->copy_view(vi, x, vo, lqf_op_out(c));
    return lqf_op_out(c);
}

void lqf_op_reduce_into(const lqf_op_ctx *c, const lqf_view *vo, const float *contrib, const lqf_view *vin_own,
                        float *g_in, float scale, float *tmp) {
    lqf_view vin;
    lqf_view_expand(vin_own, vo->ndim, &vin);
    int64_t n = lqf_view_numel(vin_own);
    if (lqf_view_same_layout(&vin, vo)) {
        c->be->axpy(n, scale, contrib, g_in);
        return;
    }
    unsigned mask = 0;
    for (int k = 0; k < vo->ndim; k++)
        if (vin.dims[k] == 1 && vo->dims[k] != 1) mask |= 1u << k;
    if (mask)
        c->be->reduce_sum(vo, contrib, mask, &vin, tmp);
    else
        c->be->copy_view(vo, contrib, &vin, tmp); /* same dims, another layout */
    c->be->axpy(n, scale, tmp, g_in);
}

lqf_status lqf_op_infer_same(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    *out = shapes[n->in[0]];
    return LQF_OK;
}
