/*
 * op_unary.c — the elementwise functions without a backward: Exp, and Unary (ONNX Sqrt,
 * Tanh, Clip, Abs, Neg, Reciprocal by its unary.fn attribute), computed in the output's
 * layout. Inference only.
 */
#include "nn/graph.h"

static lqf_status exp_forward(lqf_op_ctx *c) {
    const float *x = lqf_op_in_as_out(c);
    c->be->exp_forward(lqf_view_numel(lqf_op_vout(c)), x, lqf_op_out(c));
    return LQF_OK;
}

static lqf_status unary_forward(lqf_op_ctx *c) {
    const float *x = lqf_op_in_as_out(c);
    const lqf_node *n = c->n;
    c->be->unary_forward(n->a.unary.fn, n->a.unary.lo, n->a.unary.hi, lqf_view_numel(lqf_op_vout(c)), x,
                         lqf_op_out(c));
    return LQF_OK;
}

const lqf_op_def lqf_op_exp = {.name = "Exp", .infer = lqf_op_infer_same, .forward = exp_forward};
const lqf_op_def lqf_op_unary = {.name = "Unary", .infer = lqf_op_infer_same, .forward = unary_forward};
