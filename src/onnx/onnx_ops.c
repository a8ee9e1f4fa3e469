/*
 * onnx_ops.c — the one table of ONNX operators lqface imports (default domain): per operator
 * its input and output counts (the driver, onnx_import.c, checks a node against them before
 * any handler reads an input), the handler that builds graph nodes, the handler that
 * evaluates it on constants (the integer shape arithmetic exporters emit), and flags.
 * Counts are the union over the opsets read (9-13 and the later forms of the same
 * operators): e.g. Slice has 1 input before opset 10 and 3-5 after, Clip 1 before opset 11
 * and 1-3 after; the handlers check the form their opset uses. An operator not listed here
 * is refused by name before anything is built.
 */
#include "onnx/onnx_internal.h"

#include <string.h>

#define FOLD_ONLY LQF_ONNX_FOLD_ONLY
#define FOLD_DIMS LQF_ONNX_FOLD_DIMS
#define CONST_X LQF_ONNX_CONST_X
#define VARIADIC LQF_ONNX_VARIADIC

static const lqf_onnx_op k_ops[] = {
    /* name                 in     out  emit                   fold                      flags */
    {"Constant",            0, 0,  1,  lqf_onnx_constant,     NULL,                     0},
    {"Conv",                2, 3,  1,  lqf_onnx_conv,         NULL,                     0},
    {"BatchNormalization",  5, 5,  5,  lqf_onnx_batchnorm,    NULL,                     0},
    {"Pad",                 1, 4,  1,  lqf_onnx_pad,          NULL,                     0},
    {"MaxPool",             1, 1,  2,  lqf_onnx_maxpool,      NULL,                     0},
    {"Resize",              1, 4,  1,  lqf_onnx_resize,       NULL,                     0},
    {"Upsample",            1, 2,  1,  lqf_onnx_resize,       NULL,                     0},
    {"Relu",                1, 1,  1,  lqf_onnx_activation,   lqf_onnx_fold_unary,      0},
    {"Sigmoid",             1, 1,  1,  lqf_onnx_activation,   lqf_onnx_fold_unary,      0},
    {"Exp",                 1, 1,  1,  lqf_onnx_activation,   lqf_onnx_fold_unary,      0},
    {"LeakyRelu",           1, 1,  1,  lqf_onnx_activation,   NULL,                     0},
    {"PRelu",               2, 2,  1,  lqf_onnx_prelu,        NULL,                     0},
    {"Add",                 2, 2,  1,  lqf_onnx_binary,       lqf_onnx_fold_binary,     CONST_X},
    {"Sub",                 2, 2,  1,  lqf_onnx_binary,       lqf_onnx_fold_binary,     CONST_X},
    {"Mul",                 2, 2,  1,  lqf_onnx_binary,       lqf_onnx_fold_binary,     CONST_X},
    {"Div",                 2, 2,  1,  lqf_onnx_binary,       lqf_onnx_fold_binary,     CONST_X},
    {"Sqrt",                1, 1,  1,  lqf_onnx_unary,        lqf_onnx_fold_unary,      0},
    {"Tanh",                1, 1,  1,  lqf_onnx_unary,        lqf_onnx_fold_unary,      0},
    {"Abs",                 1, 1,  1,  lqf_onnx_unary,        lqf_onnx_fold_unary,      0},
    {"Neg",                 1, 1,  1,  lqf_onnx_unary,        lqf_onnx_fold_unary,      0},
    {"Reciprocal",          1, 1,  1,  lqf_onnx_unary,        lqf_onnx_fold_unary,      0},
    {"Clip",                1, 3,  1,  lqf_onnx_unary,        NULL,                     0},
    {"Pow",                 2, 2,  1,  lqf_onnx_pow,          NULL,                     0},
    {"Identity",            1, 1,  1,  lqf_onnx_identity,     lqf_onnx_fold_copy,       0},
    {"Dropout",             1, 3,  2,  lqf_onnx_identity,     lqf_onnx_fold_copy,       0},
    {"Reshape",             2, 2,  1,  lqf_onnx_reshape_op,   NULL,                     CONST_X},
    {"Flatten",             1, 1,  1,  lqf_onnx_flatten,      NULL,                     CONST_X},
    {"Squeeze",             1, 2,  1,  lqf_onnx_squeeze,      NULL,                     CONST_X},
    {"Unsqueeze",           1, 2,  1,  lqf_onnx_squeeze,      NULL,                     CONST_X},
    {"Transpose",           1, 1,  1,  lqf_onnx_transpose,    lqf_onnx_fold_transpose,  0},
    {"Concat",              1, LQF_ONNX_MAX_IN, 1, lqf_onnx_concat, lqf_onnx_fold_concat, CONST_X | VARIADIC},
    {"Gemm",                2, 3,  1,  lqf_onnx_gemm,         NULL,                     0},
    {"MatMul",              2, 2,  1,  lqf_onnx_gemm,         NULL,                     0},
    {"Softmax",             1, 1,  1,  lqf_onnx_softmax,      NULL,                     0},
    {"ReduceSum",           1, 2,  1,  lqf_onnx_reduce,       NULL,                     0},
    {"ReduceMean",          1, 2,  1,  lqf_onnx_reduce,       NULL,                     0},
    {"ReduceL2",            1, 2,  1,  lqf_onnx_reduce,       NULL,                     0},
    {"GlobalAveragePool",   1, 1,  1,  lqf_onnx_reduce,       NULL,                     0},
    /* folded at load only (constant or shape inputs) */
    {"Shape",               1, 1,  1,  NULL,                  lqf_onnx_fold_shape,      FOLD_ONLY | FOLD_DIMS},
    {"Gather",              2, 2,  1,  NULL,                  lqf_onnx_fold_gather,     FOLD_ONLY},
    {"Slice",               1, 5,  1,  NULL,                  lqf_onnx_fold_slice,      FOLD_ONLY},
    {"Cast",                1, 1,  1,  NULL,                  lqf_onnx_fold_cast,       FOLD_ONLY},
    {"Floor",               1, 1,  1,  NULL,                  lqf_onnx_fold_unary,      FOLD_ONLY},
    {"Ceil",                1, 1,  1,  NULL,                  lqf_onnx_fold_unary,      FOLD_ONLY},
};

const lqf_onnx_op *lqf_onnx_find_op(const char *op_type) {
    for (size_t i = 0; i < sizeof k_ops / sizeof *k_ops; i++)
        if (!strcmp(k_ops[i].name, op_type)) return &k_ops[i];
    return NULL;
}
