/*
 * op_batchnorm.c — BatchNormalization over channel axis 1 (BN2d on NHWC activations, BN1d
 * on (N,C) rows). Inference and eval mode use the running statistics; a training forward
 * normalises with the batch statistics, keeps them (mean, 1/std) for backward and updates
 * running_mean/running_var in place with torch momentum 1 - node momentum (graph nodes keep
 * ONNX's convention, 0.9 = torch's 0.1).
 */
#include "nn/graph.h"

static size_t bn_saved(const lqf_op_ctx *c) { return 2 * (size_t)lqf_op_vout(c)->dims[1]; }

static lqf_status bn_can_train(const lqf_op_ctx *c) { return lqf_op_check_rows_channels(c, "BatchNormalization"); }

static lqf_status bn_forward(lqf_op_ctx *c) {
    const lqf_node *n = c->n;
    int64_t rows;
    int ch;
    lqf_op_rows_channels(lqf_op_vout(c), &rows, &ch);
    const float *x = lqf_op_in_as_out(c);
    float *rm = lqf_op_buf(c, n->in[3]), *rv = lqf_op_buf(c, n->in[4]);
    if (!c->training) {
        c->be->bn_forward_infer(rows, ch, x, lqf_op_in(c, 1), lqf_op_in(c, 2), rm, rv, n->a.bn.eps, lqf_op_out(c));
        return LQF_OK;
    }
    if (rows < 2) /* as torch: batch statistics need two values */
        return lqf_fail(LQF_ERR_ARG,
                        "%s: node '%s': BatchNorm in training mode needs more than one value per channel "
                        "(batch %d); use eval mode or a larger batch", lqf_op_src(c), n->name, c->batch);
    c->be->bn_forward_train(rows, ch, x, lqf_op_in(c, 1), lqf_op_in(c, 2), n->a.bn.eps, 1.0f - n->a.bn.momentum, rm,
                            rv, c->save, c->save + ch, lqf_op_out(c));
    return LQF_OK;
}

static void bn_backward(lqf_op_ctx *c) {
    const lqf_node *n = c->n;
    int64_t rows;
    int ch;
    lqf_op_rows_channels(lqf_op_vout(c), &rows, &ch);
    const float *x = lqf_op_in(c, 0), *dy = lqf_op_dy(c);
    float *gx = lqf_op_gin(c, 0), *gg = lqf_op_gin(c, 1), *gb = lqf_op_gin(c, 2);
    if (c->training)
        c->be->bn_backward_train(rows, ch, x, dy, lqf_op_in(c, 1), c->save, c->save + ch, gx, gg, gb);
    else
        c->be->bn_backward_infer(rows, ch, x, dy, lqf_op_in(c, 1), lqf_op_in(c, 3), lqf_op_in(c, 4), n->a.bn.eps, gx,
                                 gg, gb);
}

const lqf_op_def lqf_op_batchnorm = {
    .name = "BatchNormalization",
    .infer = lqf_op_infer_same,
    .saved = bn_saved,
    .can_train = bn_can_train,
    .forward = bn_forward,
    .backward = bn_backward,
};
