/*
 * op_binary.c — Add, Sub, Mul, Div with numpy broadcasting over logical dims (operands of
 * any layout, right-aligned to the output's rank). Backward (Add, Sub, Mul) sums each
 * operand's share of the output gradient over the axes it was broadcast along.
 */
#include "nn/graph.h"

static lqf_binop binop_of(lqf_op op) {
    return op == LQF_OP_ADD ? LQF_BIN_ADD : op == LQF_OP_SUB ? LQF_BIN_SUB : op == LQF_OP_MUL ? LQF_BIN_MUL
                                                                                              : LQF_BIN_DIV;
}

static lqf_status binary_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    const lqf_shape *a = &shapes[n->in[0]], *b = &shapes[n->in[1]];
    int nd = LQF_MAX(a->ndim, b->ndim);
    out->ndim = nd;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return lqf_fail(LQF_ERR_SHAPE, "operands of dims %lld and %lld at axis %d do not broadcast",
                            (long long)da, (long long)db, i);
        out->dims[i] = da == 1 ? db : da;
    }
    return LQF_OK;
}

/* Output numel for Mul's dy*other, then the largest operand for its reduction. */
static size_t binary_scratch(const lqf_op_ctx *c, int train) {
    if (!train) return 0;
    int64_t in = LQF_MAX(lqf_view_numel(lqf_op_vin(c, 0)), lqf_view_numel(lqf_op_vin(c, 1)));
    return (size_t)(lqf_view_numel(lqf_op_vout(c)) + in);
}

static lqf_status binary_forward(lqf_op_ctx *c) {
    const lqf_view *vo = lqf_op_vout(c);
    lqf_view va, vb;
    lqf_view_expand(lqf_op_vin(c, 0), vo->ndim, &va);
    lqf_view_expand(lqf_op_vin(c, 1), vo->ndim, &vb);
    c->be->binary(binop_of(c->n->op), &va, lqf_op_in(c, 0), &vb, lqf_op_in(c, 1), vo, lqf_op_out(c));
    return LQF_OK;
}

static void binary_backward(lqf_op_ctx *c) {
    const lqf_view *vo = lqf_op_vout(c);
    const float *dy = lqf_op_dy(c);
    float *prod = c->scratch, *tmp = c->scratch + lqf_view_numel(vo);
    for (int k = 0; k < 2; k++) {
        float *gi = lqf_op_gin(c, k);
        if (!gi) continue;
        const float *contrib = dy;
        if (c->n->op == LQF_OP_MUL) { /* dy * the other operand, broadcast to the output */
            lqf_view vother;
            lqf_view_expand(lqf_op_vin(c, 1 - k), vo->ndim, &vother);
            c->be->binary(LQF_BIN_MUL, vo, dy, &vother, lqf_op_in(c, 1 - k), vo, prod);
            contrib = prod;
        }
        float scale = c->n->op == LQF_OP_SUB && k == 1 ? -1.0f : 1.0f;
        lqf_op_reduce_into(c, vo, contrib, lqf_op_vin(c, k), gi, scale, tmp);
    }
}

#define BINARY_DEF(NAME, BACKWARD)                                                                           \
    {                                                                                                        \
        .name = NAME, .infer = binary_infer, .scratch = binary_scratch, .forward = binary_forward,           \
        .backward = BACKWARD,                                                                                \
    }
const lqf_op_def lqf_op_add = BINARY_DEF("Add", binary_backward);
const lqf_op_def lqf_op_sub = BINARY_DEF("Sub", binary_backward);
const lqf_op_def lqf_op_mul = BINARY_DEF("Mul", binary_backward);
const lqf_op_def lqf_op_div = BINARY_DEF("Div", NULL);
