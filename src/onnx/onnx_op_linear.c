/*
 * onnx_op_linear.c — the matrix and reduction operators of the ONNX importer: Gemm and
 * MatMul by a constant 2-D matrix (kept as given: the GEMM node applies transB), Softmax
 * (opset < 13 normalises the flattened dims[axis:]: Reshape, Softmax, Reshape back), and the
 * reductions ReduceSum, ReduceMean (Sum x 1/count), ReduceL2 (Sqrt(Sum(x*x))) and
 * GlobalAveragePool (Mean over H, W, dims kept), built from REDUCESUM, MUL and UNARY nodes.
 */
#include "onnx/onnx_internal.h"

#include <string.h>

/* Gemm (A, B, [C]) and MatMul (A, B): A 2-D, B a constant matrix, C a constant that
 * broadcasts to the output */
lqf_status lqf_onnx_gemm(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const Onnx__NodeProto *n = nd->n;
    int gemm = n->op_type[0] == 'G';
    lqf_onnx_val *x = nd->in[0], *b = nd->in[1], *c = gemm ? nd->in[2] : NULL;
    int ta = gemm ? (int)lqf_onnx_attr_i(n, "transA", 0) : 0, tb = gemm ? (int)lqf_onnx_attr_i(n, "transB", 0) : 0;
    if (x->ndim != 2) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "A has %d dims (only 2-D)", x->ndim);
    if (b->tensor >= 0 || b->ndim != 2)
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "B must be a constant 2-D matrix");
    if (ta && x->batched) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "transA on a batched input");
    int64_t M = ta ? x->dims[1] : x->dims[0], K = ta ? x->dims[0] : x->dims[1];
    int64_t KB = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != KB)
        return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "A is %lldx%lld but B needs %lld rows", (long long)M, (long long)K,
                             (long long)KB);
    int ins[3] = {x->tensor, lqf_onnx_param(im, b, LQF_T_PARAM, 2, b->dims), -1};
    if (ins[1] < 0) return lqf_onnx_fail(im);
    if (c) {
        if (c->tensor >= 0 || c->ndim > 2) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "C must be a constant");
        int64_t dd[2], mn[2] = {M, N};
        int cn;
        if (lqf_onnx_bcast(2, mn, c->ndim, c->dims, &cn, dd) != 0 || dd[0] != M || dd[1] != N)
            return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "%s", "C does not broadcast to the output");
        if (c->ndim == 2 && c->dims[0] != 1 && x->batched) im->batch_ok = 0;
        if ((ins[2] = lqf_onnx_param(im, c, LQF_T_PARAM, c->ndim, c->dims)) < 0) return lqf_onnx_fail(im);
    }
    int64_t od[2] = {M, N};
    lqf_node *g;
    lqf_status r = lqf_onnx_emit_node(im, nd, LQF_OP_GEMM, ins, c ? 3 : 2, 2, od, x->batched, &g);
    if (r) return r;
    g->a.gemm.trans_a = ta;
    g->a.gemm.trans_b = tb;
    g->a.gemm.alpha = gemm ? lqf_onnx_attr_f(n, "alpha", 1.0f) : 1.0f;
    g->a.gemm.beta = gemm ? lqf_onnx_attr_f(n, "beta", 1.0f) : 0.0f;
    return LQF_OK;
}

/* Softmax over dims[axis:] flattened (opset < 13 with a later dim other than 1): Reshape to
 * (prod dims[:axis], prod dims[axis:]), Softmax over axis 1, Reshape back. */
static lqf_status softmax_flat(lqf_onnx_importer *im, const lqf_onnx_node *nd, int axis) {
    lqf_onnx_val *x = nd->in[0];
    const char *out = nd->n->output[0];
    int xt = x->tensor;
    char nm[600];
    int64_t d2[2] = {lqf_onnx_numel(axis, x->dims), lqf_onnx_numel(x->ndim - axis, x->dims + axis)};
    int b2 = x->batched && axis >= 1;
    snprintf(nm, sizeof nm, "%s#2d", out);
    int t2 = lqf_graph_add_tensor(im->g, nm, LQF_T_ACT, 2, d2, b2);
    snprintf(nm, sizeof nm, "%s#softmax", out);
    int t3 = t2 < 0 ? -1 : lqf_graph_add_tensor(im->g, nm, LQF_T_ACT, 2, d2, b2);
    if (t3 < 0) return lqf_onnx_fail(im);
    lqf_status r = lqf_onnx_reshape_node(im, nm, xt, t2, 2, d2, 1);
    if (r) return r;
    int k = lqf_graph_add_node(im->g, LQF_OP_SOFTMAX, lqf_onnx_label(im, nd->n, nd->idx), &t2, 1, t3);
    if (k < 0) return lqf_onnx_fail(im);
    im->g->nodes[k].a.softmax.axis = 1;
    lqf_onnx_val *o = lqf_onnx_act(im, out, x->ndim, x->dims, x->batched);
    if (!o) return lqf_onnx_fail(im);
    return lqf_onnx_reshape_node(im, lqf_onnx_label(im, nd->n, nd->idx), t3, o->tensor, o->ndim, o->dims, 1);
}

lqf_status lqf_onnx_softmax(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    lqf_onnx_val *x = nd->in[0];
    int axis = lqf_onnx_axis(lqf_onnx_attr_i(nd->n, "axis", im->opset < 13 ? 1 : -1), x->ndim);
    if (axis < 0 || axis >= x->ndim) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
    if (axis == 0 && x->batched) im->batch_ok = 0;
    int flat = 0;
    if (im->opset < 13)
        for (int d = axis + 1; d < x->ndim; d++) flat |= x->dims[d] != 1;
    if (flat) return softmax_flat(im, nd, axis);
    lqf_node *g;
    lqf_status r = lqf_onnx_emit_node(im, nd, LQF_OP_SOFTMAX, &x->tensor, 1, x->ndim, x->dims, x->batched, &g);
    if (r == LQF_OK) g->a.softmax.axis = axis;
    return r;
}

/* The reduced axes (normalised, na of them), the output dims and the element count per
 * output of a Reduce* / GlobalAveragePool node. */
static lqf_status reduce_axes(lqf_onnx_importer *im, const lqf_onnx_node *nd, int64_t *axes, int *na, int *keep,
                              int *ond, int64_t *od, int64_t *count) {
    lqf_onnx_val *x = nd->in[0];
    *na = -1;
    *keep = 1;
    if (nd->n->op_type[0] == 'G') { /* GlobalAveragePool: H, W (and beyond), kept */
        if (x->ndim < 3) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%d-D input", x->ndim);
        *na = 0;
        for (int d = 2; d < x->ndim; d++) axes[(*na)++] = d;
    } else {
        lqf_status ast = lqf_onnx_axes(im, nd, axes, na);
        if (ast) return ast;
        if (*na < 0) {
            *na = x->ndim;
            for (int i = 0; i < *na; i++) axes[i] = i;
        }
        *keep = (int)lqf_onnx_attr_i(nd->n, "keepdims", 1);
    }
    char red[LQF_MAX_DIMS] = {0};
    *count = 1;
    for (int i = 0; i < *na; i++) {
        int a = lqf_onnx_axis(axes[i], x->ndim);
        if (a < 0 || a >= x->ndim) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
        if (!red[a]) *count *= x->dims[a];
        red[a] = 1;
        axes[i] = a;
    }
    *ond = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (!red[d]) od[(*ond)++] = x->dims[d];
        else if (*keep) od[(*ond)++] = 1;
    }
    if (red[0] && x->batched) im->batch_ok = 0;
    if (!*keep && *ond == 4) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "keepdims=0 into a 4-D result");
    return LQF_OK;
}

/* ReduceSum, ReduceMean, ReduceL2, GlobalAveragePool */
lqf_status lqf_onnx_reduce(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const char *op = nd->n->op_type, *out = nd->n->output[0];
    lqf_onnx_val *x = nd->in[0];
    int mean = op[0] == 'G' || !strcmp(op, "ReduceMean"), l2 = !strcmp(op, "ReduceL2");
    int64_t axes[LQF_MAX_DIMS], od[LQF_MAX_DIMS], count = 1;
    int na = 0, keep = 1, k = 0;
    lqf_status st = reduce_axes(im, nd, axes, &na, &keep, &k, od, &count);
    if (st) return st;
    int batched = x->batched; /* unless the batch is reduced */
    for (int i = 0; i < na; i++) batched &= axes[i] != 0;
    const char *label = lqf_onnx_label(im, nd->n, nd->idx);
    char nm[600];
    int src = x->tensor;
    if (l2) { /* x*x */
        snprintf(nm, sizeof nm, "%s#square", out);
        int sq = lqf_graph_add_tensor(im->g, nm, LQF_T_ACT, x->ndim, x->dims, x->batched);
        int two[2] = {src, src};
        if (sq < 0 || lqf_graph_add_node(im->g, LQF_OP_MUL, nm, two, 2, sq) < 0) return lqf_onnx_fail(im);
        src = sq;
    }
    int sum;
    lqf_onnx_val *o = NULL;
    if (mean || l2) {
        snprintf(nm, sizeof nm, "%s#sum", out);
        sum = lqf_graph_add_tensor(im->g, nm, LQF_T_ACT, k, od, batched);
    } else {
        o = lqf_onnx_act(im, out, k, od, batched);
        sum = o ? o->tensor : -1;
    }
    if (sum < 0) return lqf_onnx_fail(im);
    int ni = lqf_graph_add_node(im->g, LQF_OP_REDUCESUM, label, &src, 1, sum);
    if (ni < 0) return lqf_onnx_fail(im);
    lqf_node *g = &im->g->nodes[ni];
    g->a.reduce.naxes = na;
    for (int i = 0; i < na; i++) g->a.reduce.axes[i] = (int)axes[i];
    g->a.reduce.keepdims = keep;
    if (!mean && !l2) return LQF_OK;
    if (!(o = lqf_onnx_act(im, out, k, od, batched))) return lqf_onnx_fail(im);
    if (mean) {
        snprintf(nm, sizeof nm, "%s#1/count", out);
        int c = lqf_graph_add_tensor(im->g, nm, LQF_T_CONST, 0, od, 0);
        if (c < 0) return lqf_onnx_fail(im);
        lqf_graph_data(im->g, c)[0] = (float)(1.0 / (double)count);
        int two[2] = {sum, c};
        if (lqf_graph_add_node(im->g, LQF_OP_MUL, label, two, 2, o->tensor) < 0) return lqf_onnx_fail(im);
    } else {
        ni = lqf_graph_add_node(im->g, LQF_OP_UNARY, label, &sum, 1, o->tensor);
        if (ni < 0) return lqf_onnx_fail(im);
        im->g->nodes[ni].a.unary.fn = LQF_UN_SQRT;
    }
    return LQF_OK;
}
