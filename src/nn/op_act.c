/*
 * op_act.c — the per-channel activations Relu, PRelu (slope per channel or one shared),
 * LeakyRelu and Sigmoid, over (rows, C) channels-last data: forward in the output's layout,
 * backward from the activation's input (and the PReLU slope gradient).
 */
#include "nn/graph.h"

static lqf_act act_of(lqf_op op) {
    return op == LQF_OP_RELU ? LQF_ACT_RELU : op == LQF_OP_SIGMOID ? LQF_ACT_SIGMOID
           : op == LQF_OP_LEAKYRELU ? LQF_ACT_LEAKY : LQF_ACT_PRELU;
}

/* The PReLU slope (per channel, or one shared value), NULL for the others. */
static const float *slope_of(const lqf_op_ctx *c, int *shared) {
    *shared = 0;
    if (c->n->op != LQF_OP_PRELU) return NULL;
    *shared = lqf_tensor_numel(&c->g->tensors[c->n->in[1]]) == 1;
    return lqf_op_in(c, 1);
}

static lqf_status act_can_train(const lqf_op_ctx *c) {
    const lqf_node *n = c->n;
    const lqf_tensor *y = &c->g->tensors[n->out];
    lqf_status st = lqf_op_check_rows_channels(c, lqf_op_table[n->op]->name);
    if (st != LQF_OK) return st;
    if (n->op == LQF_OP_PRELU) {
        int64_t ns = lqf_tensor_numel(&c->g->tensors[n->in[1]]);
        if (ns != 1 && ns != (y->ndim >= 2 ? y->dims[1] : 1))
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': PRelu slope of %lld values cannot be trained",
                            lqf_op_src(c), n->name, (long long)ns);
    }
    return LQF_OK;
}

static lqf_status act_forward(lqf_op_ctx *c) {
    const float *x = lqf_op_in_as_out(c);
    int64_t rows;
    int ch, shared;
    lqf_op_rows_channels(lqf_op_vout(c), &rows, &ch);
    const float *slope = slope_of(c, &shared);
    c->be->act_forward(act_of(c->n->op), slope, shared, c->n->a.alpha, rows, ch, x, lqf_op_out(c));
    return LQF_OK;
}

static void act_backward(lqf_op_ctx *c) {
    int64_t rows;
    int ch, shared;
    lqf_op_rows_channels(lqf_op_vout(c), &rows, &ch);
    const float *slope = slope_of(c, &shared);
    float *gs = slope ? lqf_op_gin(c, 1) : NULL;
    c->be->act_backward(act_of(c->n->op), slope, shared, c->n->a.alpha, rows, ch, lqf_op_in(c, 0), lqf_op_dy(c),
                        lqf_op_gin(c, 0), gs);
}

#define ACT_DEF(NAME)                                                                                        \
    {                                                                                                        \
        .name = NAME, .infer = lqf_op_infer_same, .can_train = act_can_train, .forward = act_forward,        \
        .backward = act_backward,                                                                            \
    }
const lqf_op_def lqf_op_relu = ACT_DEF("Relu");
const lqf_op_def lqf_op_prelu = ACT_DEF("PRelu");
const lqf_op_def lqf_op_leakyrelu = ACT_DEF("LeakyRelu");
const lqf_op_def lqf_op_sigmoid = ACT_DEF("Sigmoid");
