/*
 * graph.h — the one network representation of lqface: a graph of operators over float
 * tensors. The ONNX importer builds it, lqface's own backbones (IResNet, MobileFaceNet) will
 * build it through the same builder calls, and the executor runs it; training will add a
 * backward walk over the same nodes. It is NOT a general ONNX runtime: integer tensors and
 * shape arithmetic are folded away at import, so every tensor here is float32.
 *
 * Tensors have a LOGICAL shape in ONNX/PyTorch order (N,C,H,W for images) and a PHYSICAL
 * layout: every 4-D tensor (activations and 4-D constants alike) is stored channels-last
 * (N,H,W,C), everything else dense row-major in logical order. lqf_tensor_view() gives the
 * logical dims with the physical strides, which is all layout-generic kernels need.
 *
 * Batch: tensors marked `batched` have dims[0] = the batch the graph was built with
 * (usually 1); a plan for batch B scales dims[0] of every batched tensor to B.
 *
 * Parameters and constants live in ONE contiguous float buffer (graph->params), reached by
 * offsets, so a checkpoint is one read and an optimiser one loop. Convolution weights are
 * stored in the kernel's packed layout (see ops.h), not ONNX's OIHW.
 */
#ifndef LQF_GRAPH_H
#define LQF_GRAPH_H

#include "core/core.h"
#include "ops/ops.h"

typedef enum {
    LQF_T_INPUT,  /* fed by the caller */
    LQF_T_PARAM,  /* learnable, in graph->params */
    LQF_T_CONST,  /* constant, in graph->params, not learnable */
    LQF_T_ACT,    /* produced by a node */
} lqf_tensor_kind;

typedef struct {
    char *name;
    lqf_tensor_kind kind;
    int ndim;
    int64_t dims[LQF_MAX_DIMS]; /* logical order, as built (batch = graph->build_batch) */
    int batched;                /* dims[0] follows the run's batch */
    int nhwc;                   /* 1 for 4-D tensors: physical order N,H,W,C (0: dense; the ONNX
                                   importer uses that for Transpose/Reshape outputs that only
                                   feed other view operators, so they alias instead of copy) */
    size_t offset;              /* PARAM/CONST: float offset into graph->params */
    int producer;               /* ACT: index of the producing node, else -1 */
} lqf_tensor;

typedef enum {
    LQF_OP_CONV,        /* in: x, w(packed), [b]; attr conv; fused epilogue (act, residual) */
    LQF_OP_BATCHNORM,   /* in: x, gamma, beta (PARAM), mean, var (CONST); attr bn */
    LQF_OP_RELU,        /* in: x */
    LQF_OP_PRELU,       /* in: x, slope (per channel, or 1) */
    LQF_OP_LEAKYRELU,   /* in: x; attr alpha */
    LQF_OP_SIGMOID,     /* in: x */
    LQF_OP_EXP,         /* in: x */
    LQF_OP_ADD,         /* in: a, b (numpy broadcasting) */
    LQF_OP_SUB,
    LQF_OP_MUL,
    LQF_OP_DIV,
    LQF_OP_MAXPOOL,     /* in: x; attr pool */
    LQF_OP_RESIZE,      /* in: x; attr resize (nearest, integer scale factors) */
    LQF_OP_TRANSPOSE,   /* in: x; attr perm */
    LQF_OP_RESHAPE,     /* in: x; output shape fixed at import (covers Flatten, (Un)Squeeze) */
    LQF_OP_CONCAT,      /* in: x0..xn; attr axis */
    LQF_OP_GEMM,        /* in: a(2-D), b(2-D const, stored as given), [c]; attr gemm */
    LQF_OP_SOFTMAX,     /* in: x; attr axis */
    LQF_OP_REDUCESUM,   /* in: x; attr reduce */
    LQF_OP_DROPOUT,     /* in: x; attr dropout (identity at inference; training: seeded mask) */
    LQF_OP_UNARY,       /* in: x; attr unary: elementwise sqrt/tanh/clip/abs/neg/reciprocal */
    LQF_OP_COUNT
} lqf_op;

#define LQF_MAX_NODE_IN 8

/* LQF_OP_UNARY functions (ONNX Sqrt, Tanh, Clip, Abs, Neg, Reciprocal). */
typedef enum { LQF_UN_SQRT = 0, LQF_UN_TANH, LQF_UN_CLIP, LQF_UN_ABS, LQF_UN_NEG, LQF_UN_RECIPROCAL } lqf_unary_fn;

typedef struct {
    lqf_op op;
    char *name;
    int nin;
    int in[LQF_MAX_NODE_IN]; /* tensor indices */
    int out;                 /* exactly one output tensor */
    union {
        struct {
            int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group;
            lqf_act act;       /* fused activation (NONE unless a fusion pass set it) */
            int act_param;     /* PReLU slope tensor index, or -1 */
            float alpha;       /* LeakyReLU slope */
            int residual;      /* tensor added after the activation, or -1 */
        } conv;
        struct { float eps, momentum; } bn;
        struct { int kh, kw, sh, sw, pt, pl, pb, pr, ceil_mode; } pool;
        struct { int sh, sw; } resize;
        struct { int perm[LQF_MAX_DIMS]; } transpose;
        struct { int axis; } concat;
        struct { int axis; } softmax;
        struct { int trans_a, trans_b; float alpha, beta; } gemm;
        struct { int naxes; int axes[LQF_MAX_DIMS]; int keepdims; } reduce;
        struct { lqf_unary_fn fn; float lo, hi; } unary; /* lo/hi: Clip bounds */
        float alpha; /* LeakyReLU */
        struct { float p; } dropout; /* drop probability */
    } a;
} lqf_node;

#define LQF_MAX_GRAPH_OUT 16

typedef struct lqf_graph {
    lqf_tensor *tensors; int n_tensors, cap_tensors;
    lqf_node *nodes;     int n_nodes, cap_nodes;    /* topological order */
    float *params;       size_t n_params, cap_params; /* floats */
    int inputs[8];       int n_inputs;
    int outputs[LQF_MAX_GRAPH_OUT]; int n_outputs;  /* YuNet has 12 outputs */
    int build_batch;     /* batch the logical dims were built with */
    char *source;        /* file it came from (for messages), or NULL */
} lqf_graph;

/* ---- building (importer and backbone builders) ---- */
lqf_graph *lqf_graph_new(void);
void lqf_graph_free(lqf_graph *g);
/* Add a tensor; for PARAM/CONST, storage for numel floats is reserved in g->params and
 * zeroed (fill it through lqf_graph_data). Returns the index, or -1 on OOM. */
int lqf_graph_add_tensor(lqf_graph *g, const char *name, lqf_tensor_kind kind, int ndim,
                         const int64_t *dims, int batched);
int lqf_graph_add_node(lqf_graph *g, lqf_op op, const char *name, const int *in, int nin, int out);
int lqf_graph_find_tensor(const lqf_graph *g, const char *name); /* -1 if absent */
float *lqf_graph_data(lqf_graph *g, int tensor);                  /* PARAM/CONST storage */
int64_t lqf_tensor_numel(const lqf_tensor *t);

/* Logical dims (batch replaced by `batch`) with physical strides, for layout-generic kernels. */
void lqf_tensor_view(const lqf_tensor *t, int batch, lqf_view *v);
/* Kernel shape of a CONV / MAXPOOL node at `batch`, from its input and output tensors and
 * its attributes (oh/ow filled by the ops.h init functions). */
void lqf_node_conv_shape(const lqf_graph *g, const lqf_node *n, int batch, lqf_conv_shape *s);
void lqf_node_pool_shape(const lqf_graph *g, const lqf_node *n, int batch, lqf_pool_shape *s);

/* ---- execution ---- */
typedef struct lqf_plan lqf_plan;
/* keep_all: 1 keeps every activation alive (training: needed for backward); 0 reuses
 * buffers by liveness (inference: low memory). */
lqf_status lqf_plan_create(const lqf_graph *g, int batch, int keep_all, lqf_plan **out);
void lqf_plan_free(lqf_plan *p);
float *lqf_plan_buffer(lqf_plan *p, int tensor); /* activation/input buffer (physical layout) */
/* Inputs/outputs in PHYSICAL layout (fastest: the embedder writes NHWC directly). */
lqf_status lqf_plan_run(const lqf_graph *g, lqf_plan *p);

/* ---- passes (optimize.c; both drop the tensors no node uses and rebuild g->params, so
 * tensor indices and params pointers taken before are stale) ---- */
/* Fold each BatchNorm that alone reads an unfused convolution's output into that
 * convolution's weights and bias (running statistics as they are); nothing else changes.
 * A network fine-tuned this way trains the folded convolutions (lqf_model_build's default
 * for imported ONNX networks). */
lqf_status lqf_graph_fold_batchnorm(lqf_graph *g);
/* Inference: lqf_graph_fold_batchnorm, then fuse activations and residual adds into
 * convolutions and drop nodes nobody reads. The result cannot be trained. */
lqf_status lqf_graph_optimize(lqf_graph *g);

#endif
