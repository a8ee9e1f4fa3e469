/*
 * graph.h — the one network representation of lqface: a graph of operators over float
 * tensors. The ONNX importer and lqface's own backbones (IResNet, MobileFaceNet) build it
 * through the same builder calls; the executor (nn/exec.h) runs it forward and, for
 * training, backward, dispatching through the op table (nn/ops.h). It is NOT a general ONNX
 * runtime: integer tensors and shape arithmetic are folded away at import, so every tensor
 * here is float32.
 *
 * Tensors have a LOGICAL shape in ONNX/PyTorch order (N,C,H,W for images) and a PHYSICAL
 * layout: every 4-D tensor (activations and 4-D constants alike) is stored channels-last
 * (N,H,W,C), everything else dense row-major in logical order. lqf_tensor_view() gives the
 * logical dims with the physical strides, which is all layout-generic kernels need.
 *
 * Shapes: the dims stored in tensors are those the graph was built with; shape inference
 * (lqf_graph_shapes) recomputes every activation's dims from the inputs' through the op
 * table, which is how an executor for batch B gets its dims (tensors marked `batched` have
 * dims[0] = the batch: built with build_batch, usually 1) and how a graph follows another
 * input size (lqf_graph_infer_shapes).
 *
 * Parameters and constants live in ONE contiguous float buffer (graph->params), reached by
 * offsets, so a checkpoint is one read and an optimiser one loop. Convolution weights are
 * stored in the backend's packed layout (backend.h conv_pack_weights), not ONNX's OIHW.
 */
#ifndef LQF_GRAPH_H
#define LQF_GRAPH_H

#include "core/core.h"
#include "backend/backend.h"
#include "nn/ops.h"

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

#define LQF_MAX_NODE_IN 8

typedef struct lqf_node {
    lqf_op op;
    char *name;
    int nin;
    int in[LQF_MAX_NODE_IN]; /* tensor indices */
    int out;                 /* exactly one output tensor */
    int fixed;               /* attributes folded by the importer at the built input size (a Reshape
                                target computed from Shape, SAME pads, Resize sizes): shape inference
                                follows the batch through this node but no other input size */
    union {
        struct {
            int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group;
            int cout;          /* output channels (default: the output tensor's dim 1) */
            lqf_act act;       /* fused activation (NONE unless a fusion pass set it) */
            int act_param;     /* PReLU slope tensor index, or -1 */
            float alpha;       /* LeakyReLU slope */
            int residual;      /* tensor added after the activation, or -1 */
        } conv;
        struct { float eps, momentum; } bn;
        struct { int kh, kw, sh, sw, pt, pl, pb, pr, ceil_mode; } pool;
        struct { int sh, sw; } resize;
        struct { int perm[LQF_MAX_DIMS]; } transpose;
        /* ONNX semantics: 0 copies the input's dim, -1 is inferred; a batched output's dim 0
         * follows the input's (default: the output tensor's dims as built) */
        struct { int ndim; int64_t shape[LQF_MAX_DIMS]; } reshape;
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
/* The same strides for other logical dims of t (physical layout of t's rank and nhwc flag). */
void lqf_tensor_view_dims(const lqf_tensor *t, const lqf_shape *dims, lqf_view *v);
/* Kernel shape of a CONV node over an input x (logical N,C,H,W) from its attributes
 * (oh/ow filled by backend.h's init). */
void lqf_node_conv_shape(const lqf_node *n, const int64_t x_nchw[4], lqf_conv_shape *s);

/* ---- shape inference (shape.c) ---- */
/* Dims of every tensor at `batch` (shapes[n_tensors]): inputs as built with dim 0 = batch
 * when batched, PARAM/CONST as built, activations through each operator's inference in node
 * order. A batched tensor whose inferred dims disagree with its built dims (past dim 0) or a
 * non-batched one that changes fails with LQF_ERR_SHAPE naming the graph and the node. */
lqf_status lqf_graph_shapes(const lqf_graph *g, int batch, lqf_shape *shapes);
/* Recompute every activation's dims from the inputs' current dims (after a builder changed
 * an input's size): LQF_ERR_SHAPE when a node cannot take its inputs, LQF_ERR_UNSUPPORTED
 * when a `fixed` node's inputs changed (its attributes were folded for the old size). On
 * failure the graph is unchanged. */
lqf_status lqf_graph_infer_shapes(lqf_graph *g);

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
