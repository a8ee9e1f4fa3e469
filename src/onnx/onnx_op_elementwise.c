/*
 * onnx_op_elementwise.c — the elementwise operators of the ONNX importer: activations
 * (Relu, Sigmoid, Exp, LeakyRelu, PRelu with a shared or per-channel slope), the binary
 * arithmetic Add/Sub/Mul/Div with numpy broadcasting (either operand may be a constant,
 * which becomes a CONST tensor), the unary functions of LQF_OP_UNARY (Sqrt, Tanh, Abs, Neg,
 * Reciprocal, Clip with attribute or input bounds) and Pow by a constant 2, 0.5 or -1.
 */
#include "onnx/onnx_internal.h"

#include <math.h>
#include <string.h>

/* Relu, Sigmoid, Exp, LeakyRelu */
lqf_status lqf_onnx_activation(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const char *op = nd->n->op_type;
    lqf_onnx_val *x = nd->in[0];
    lqf_op o = op[0] == 'R' ? LQF_OP_RELU : op[0] == 'S' ? LQF_OP_SIGMOID : op[0] == 'E' ? LQF_OP_EXP : LQF_OP_LEAKYRELU;
    lqf_node *g;
    lqf_status st = lqf_onnx_emit_node(im, nd, o, &x->tensor, 1, x->ndim, x->dims, x->batched, &g);
    if (st == LQF_OK && o == LQF_OP_LEAKYRELU) g->a.alpha = lqf_onnx_attr_f(nd->n, "alpha", 0.01f);
    return st;
}

lqf_status lqf_onnx_prelu(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    lqf_onnx_val *x = nd->in[0], *s = nd->in[1];
    if (s->tensor >= 0) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "slope must be a constant");
    int64_t ns = lqf_onnx_numel(s->ndim, s->dims);
    int64_t C = x->ndim >= 2 ? x->dims[1] : 1;
    int ok = ns == 1;
    if (!ok && ns == C && (x->ndim == 2 || x->ndim == 4)) {
        /* the slope must run along axis 1 once broadcast: shape (C), (C,1,1) or (1,C,1,1) */
        int lead = x->ndim - s->ndim;
        ok = lead >= 0;
        for (int i = 0; ok && i < s->ndim; i++) ok = (i + lead == 1) ? s->dims[i] == C : s->dims[i] == 1;
    }
    if (!ok) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "slope must be shared or per channel (axis 1)");
    int ins[2] = {x->tensor, lqf_onnx_param(im, s, LQF_T_PARAM, 1, &ns)};
    if (ins[1] < 0) return lqf_onnx_fail(im);
    return lqf_onnx_emit_node(im, nd, LQF_OP_PRELU, ins, 2, x->ndim, x->dims, x->batched, NULL);
}

/* Add, Sub, Mul, Div: either operand may be a constant */
lqf_status lqf_onnx_binary(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const char *op = nd->n->op_type;
    lqf_onnx_val *x = nd->in[0], *y = nd->in[1];
    int ond;
    int64_t od[LQF_MAX_DIMS];
    if (lqf_onnx_bcast(x->ndim, x->dims, y->ndim, y->dims, &ond, od) != 0)
        return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "%s", "input shapes do not broadcast");
    int batched = (x->tensor >= 0 && x->batched) || (y->tensor >= 0 && y->batched);
    /* a batched operand must keep dim 0 where the result has it */
    if (batched && ((x->tensor >= 0 && x->batched && x->ndim != ond) || (y->tensor >= 0 && y->batched && y->ndim != ond)))
        im->batch_ok = 0;
    int ins[2] = {lqf_onnx_tensor_of(im, x), lqf_onnx_tensor_of(im, y)};
    if (ins[0] < 0 || ins[1] < 0) return lqf_onnx_fail(im);
    lqf_op o = op[0] == 'A' ? LQF_OP_ADD : op[0] == 'S' ? LQF_OP_SUB : op[0] == 'M' ? LQF_OP_MUL : LQF_OP_DIV;
    return lqf_onnx_emit_node(im, nd, o, ins, 2, ond, od, batched, NULL);
}

/* Clip's bounds: attributes before opset 11, optional constant scalar inputs after. */
static lqf_status clip_bounds(lqf_onnx_importer *im, const lqf_onnx_node *nd, float *lo, float *hi) {
    if (im->opset < 11) {
        *lo = lqf_onnx_attr_f(nd->n, "min", -INFINITY);
        *hi = lqf_onnx_attr_f(nd->n, "max", INFINITY);
        return LQF_OK;
    }
    for (int b = 1; b < 3; b++) {
        const lqf_onnx_val *v = nd->in[b];
        if (!v) continue;
        if (v->tensor >= 0 || lqf_onnx_numel(v->ndim, v->dims) != 1)
            return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "min/max must be constant scalars");
        if (b == 1) *lo = (float)v->val[0];
        else *hi = (float)v->val[0];
    }
    return LQF_OK;
}

/* Sqrt, Tanh, Abs, Neg, Reciprocal, Clip */
lqf_status lqf_onnx_unary(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const char *op = nd->n->op_type;
    lqf_onnx_val *x = nd->in[0];
    lqf_unary_fn fn = op[0] == 'S' ? LQF_UN_SQRT : op[0] == 'T' ? LQF_UN_TANH : op[0] == 'A' ? LQF_UN_ABS
                      : op[0] == 'N' ? LQF_UN_NEG : op[0] == 'R' ? LQF_UN_RECIPROCAL : LQF_UN_CLIP;
    float lo = -INFINITY, hi = INFINITY;
    lqf_status r = fn == LQF_UN_CLIP ? clip_bounds(im, nd, &lo, &hi) : LQF_OK;
    if (r) return r;
    lqf_node *g;
    if ((r = lqf_onnx_emit_node(im, nd, LQF_OP_UNARY, &x->tensor, 1, x->ndim, x->dims, x->batched, &g))) return r;
    g->a.unary.fn = fn;
    g->a.unary.lo = lo;
    g->a.unary.hi = hi;
    return LQF_OK;
}

/* Pow by a constant scalar: 2 (x * x), 0.5 (Sqrt), -1 (Reciprocal) */
lqf_status lqf_onnx_pow(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    lqf_onnx_val *x = nd->in[0], *e = nd->in[1];
    if (e->tensor >= 0 || lqf_onnx_numel(e->ndim, e->dims) != 1)
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "the exponent must be a constant scalar");
    double p = e->val[0];
    if (p == 2.0) {
        int two[2] = {x->tensor, x->tensor};
        return lqf_onnx_emit_node(im, nd, LQF_OP_MUL, two, 2, x->ndim, x->dims, x->batched, NULL);
    }
    if (p == 0.5 || p == -1.0) {
        lqf_node *g;
        lqf_status r = lqf_onnx_emit_node(im, nd, LQF_OP_UNARY, &x->tensor, 1, x->ndim, x->dims, x->batched, &g);
        if (r == LQF_OK) g->a.unary.fn = p == 0.5 ? LQF_UN_SQRT : LQF_UN_RECIPROCAL;
        return r;
    }
    return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "exponent %g (only 2, 0.5 and -1)", p);
}
