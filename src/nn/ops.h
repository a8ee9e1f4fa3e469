/*
 * ops.h — the operator table of the graph. LQF_OP_LIST names every operator ONCE; it
 * generates the lqf_op enum (LQF_OP_CONV, ...) and lqf_op_table (op_table.c), indexed by
 * it. Each operator, or a tight family (activations, Add/Sub/Mul/Div, Exp/Unary), is one
 * file src/nn/op_<name>.c defining its lqf_op_def: the ONNX name, attribute defaults, shape
 * inference, cost, scratch, the aliasing rule of view operators, and forward (inference and
 * training mode) and backward over plain buffers through a backend table. The executor
 * (nn/exec.c) dispatches through the table; nothing else computes an operator. Adding one
 * = one op_<name>.c + one line here + one importer entry.
 *
 * An op's functions receive an lqf_op_ctx: the node, the executor's concrete views and
 * buffers, and its scratch; the lqf_op_* accessors below read it.
 */
#ifndef LQF_NN_OPS_H
#define LQF_NN_OPS_H

#include "backend/backend.h"
#include "core/core.h"

/* X(ENUM, file): inputs and attributes of each operator (attributes in lqf_node.a). */
#define LQF_OP_LIST(X)                                                                                   \
    X(CONV, conv)           /* x, w (packed), [b]; conv; fused epilogue (act, PReLU slope, residual) */ \
    X(BATCHNORM, batchnorm) /* x, gamma, beta, mean, var; bn */                                          \
    X(RELU, relu)           /* x */                                                                      \
    X(PRELU, prelu)         /* x, slope (per channel, or 1) */                                           \
    X(LEAKYRELU, leakyrelu) /* x; alpha */                                                               \
    X(SIGMOID, sigmoid)     /* x */                                                                      \
    X(EXP, exp)             /* x */                                                                      \
    X(ADD, add)             /* a, b (numpy broadcasting) */                                              \
    X(SUB, sub)                                                                                          \
    X(MUL, mul)                                                                                          \
    X(DIV, div)                                                                                          \
    X(MAXPOOL, maxpool)     /* x; pool */                                                                \
    X(RESIZE, resize)       /* x; resize (nearest, integer scale factors) */                             \
    X(TRANSPOSE, transpose) /* x; transpose.perm */                                                      \
    X(RESHAPE, reshape)     /* x; reshape (ONNX target: 0 copies, -1 inferred; Flatten, (Un)Squeeze) */  \
    X(CONCAT, concat)       /* x0..xn; concat.axis */                                                    \
    X(GEMM, gemm)           /* a (2-D), b (2-D const, stored as given), [c]; gemm */                     \
    X(SOFTMAX, softmax)     /* x; softmax.axis */                                                        \
    X(REDUCESUM, reducesum) /* x; reduce */                                                              \
    X(DROPOUT, dropout)     /* x; dropout.p (identity at inference; training: seeded mask) */           \
    X(UNARY, unary)         /* x; unary: elementwise sqrt/tanh/clip/abs/neg/reciprocal */

typedef enum {
#define LQF_OP_ENUM_(U, l) LQF_OP_##U,
    LQF_OP_LIST(LQF_OP_ENUM_)
#undef LQF_OP_ENUM_
    LQF_OP_COUNT
} lqf_op;

typedef struct lqf_graph lqf_graph;
typedef struct lqf_node lqf_node;

/* Logical dims of a tensor (ONNX order). */
typedef struct {
    int ndim;
    int64_t dims[LQF_MAX_DIMS];
} lqf_shape;

/* One node as the executor runs it. */
typedef struct {
    const lqf_backend *be;
    lqf_graph *g;           /* BatchNorm's training forward updates the running statistics in place */
    const lqf_node *n;
    int node;               /* n's index in g->nodes */
    int batch;
    int training;           /* forward with batch statistics and dropout masks (training executors) */
    uint64_t seed, nfwd;    /* dropout masks come from (seed, forward count, node) */
    const lqf_view *views;  /* [g->n_tensors] views at this batch */
    float *const *val;      /* [g->n_tensors] buffers of INPUT/ACT tensors */
    float *const *grad;     /* [g->n_tensors] gradient buffers of INPUT/ACT tensors (training), or NULL */
    float *grads;           /* parameter gradients parallel to g->params (training), or NULL */
    const char *want;       /* [g->n_tensors] gradient wanted in this backward, or NULL */
    float *save;            /* this node's def->saved floats (training), or NULL */
    float *scratch;         /* at least def->scratch floats */
    int aliased;            /* the output shares input 0's buffer: nothing to compute */
} lqf_op_ctx;

typedef struct lqf_op_def {
    const char *name; /* ONNX name, as `lqface info` prints it */
    /* Attribute defaults set by lqf_graph_add_node from the output tensor as built (NULL: none). */
    void (*init)(const lqf_graph *g, lqf_node *n);
    /* Output dims from the input dims (shapes[t] for every tensor) and the attributes; a failure
     * says why (LQF_ERR_SHAPE) without the file or node name, which the caller adds. */
    lqf_status (*infer)(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out);
    /* Tensors read besides n->in (a fused residual and PReLU slope): count, written to t (NULL: none). */
    int (*extra_reads)(const lqf_node *n, int t[2]);
    /* Multiply-adds per image, from the tensors' dims as built (NULL: 0). */
    int64_t (*cost)(const lqf_graph *g, const lqf_node *n);
    /* Scratch floats for forward (and backward when train) (NULL: 0). */
    size_t (*scratch)(const lqf_op_ctx *c, int train);
    /* Floats a training forward keeps for backward (NULL: 0). */
    size_t (*saved)(const lqf_op_ctx *c);
    /* Inference: the output can share input 0's buffer (view operators; NULL: never). */
    int (*aliases)(const lqf_op_ctx *c);
    /* Can a training executor run and differentiate this node? (NULL: yes when backward is set) */
    lqf_status (*can_train)(const lqf_op_ctx *c);
    lqf_status (*forward)(lqf_op_ctx *c);
    /* ADDS the input and parameter gradients wanted from the output's gradient (NULL: none). */
    void (*backward)(lqf_op_ctx *c);
} lqf_op_def;

extern const lqf_op_def *const lqf_op_table[LQF_OP_COUNT];
/* The definition of op, or NULL when op is out of range. */
const lqf_op_def *lqf_op_get(lqf_op op);

/* ---- accessors and helpers for op files (op_util.c) */
const lqf_view *lqf_op_view(const lqf_op_ctx *c, int t);
const lqf_view *lqf_op_vin(const lqf_op_ctx *c, int k);   /* view of input k */
const lqf_view *lqf_op_vout(const lqf_op_ctx *c);
float *lqf_op_buf(const lqf_op_ctx *c, int t);            /* value of any tensor (PARAM/CONST: graph->params) */
const float *lqf_op_in(const lqf_op_ctx *c, int k);       /* value of input k, NULL when absent */
float *lqf_op_out(const lqf_op_ctx *c);
float *lqf_op_grad(const lqf_op_ctx *c, int t);           /* gradient of t when wanted, else NULL */
float *lqf_op_gin(const lqf_op_ctx *c, int k);            /* gradient of input k when wanted, else NULL */
const float *lqf_op_dy(const lqf_op_ctx *c);              /* the output's gradient */
const char *lqf_op_src(const lqf_op_ctx *c);              /* the graph's file, for messages */
/* Rows x channels of a view for per-channel kernels: channel = logical axis 1, innermost
 * for NHWC 4-D and 2-D tensors. */
void lqf_op_rows_channels(const lqf_view *v, int64_t *rows, int *c);
/* Training per-channel kernels over (rows, C) need input 0 and the output in one layout
 * with the channel innermost (2-D, or 4-D NHWC); else a failure naming the node and `what`. */
lqf_status lqf_op_check_rows_channels(const lqf_op_ctx *c, const char *what);
/* Input 0 in the output's layout: input 0's buffer when the layouts agree, else a copy into
 * the output buffer (the op then works in place there). */
const float *lqf_op_in_as_out(const lqf_op_ctx *c);
/* g_in (laid out as vin) += scale * (contrib, laid out as vo) summed over the axes where vin
 * broadcasts; tmp holds numel(vin) floats. */
void lqf_op_reduce_into(const lqf_op_ctx *c, const lqf_view *vo, const float *contrib, const lqf_view *vin,
                        float *g_in, float scale, float *tmp);
/* Same shape as input 0 (elementwise operators). */
lqf_status lqf_op_infer_same(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out);

#endif
