/*
 * exec.h — the one executor of lqface: it binds a graph to a batch size (the dims of every
 * tensor from shape inference, concrete views, buffers, scratch) and runs its nodes through
 * the op table (nn/ops.h) on a backend (the default one when created).
 *
 * LQF_EXEC_INFER: activations share a few buffers by liveness (a buffer goes back to the
 * pool after the last node that reads it) and view operators (Reshape, Transpose, Dropout)
 * alias their input when the layouts allow; inputs and graph outputs own their buffers.
 * | LQF_EXEC_KEEP gives every activation its own buffer (to inspect them). Forward only, with
 * eval semantics (running statistics, no dropout); fused graphs (lqf_graph_optimize) run.
 *
 * LQF_EXEC_TRAIN: PyTorch's training mode over an UNFUSED graph (every node must be able to
 * train: Conv without fused epilogue, BatchNormalization, Relu, PRelu, LeakyRelu, Sigmoid,
 * Add/Sub/Mul (broadcasting), MaxPool, Reshape (incl. Flatten of NHWC data in NCHW order),
 * Transpose, Gemm, Dropout; others are refused at creation). Every activation keeps its
 * buffer; the forward in training mode normalises BatchNorm with the batch statistics and
 * updates running_mean/running_var (CONST tensors of the graph, in place) with torch momentum
 * 1 - node momentum (unbiased variance), and draws Dropout masks from (seed, forward count,
 * node). In eval mode BatchNorm uses the running statistics and Dropout is the identity
 * (backward still works: gradients of a frozen-statistics network). Backward walks the nodes
 * in reverse, ADDING parameter gradients into ONE buffer parallel to graph->params (an
 * optimiser steps params and grads as two flat arrays) and giving the gradient of the
 * graph's inputs when asked (ARoFace needs dL/dimage). Gradients flow to PARAM tensors that
 * are not frozen and to inputs when input gradients are on; CONST tensors never get one.
 * Activation gradients share buffers by liveness over the reverse walk (born zeroed at their
 * last reader, dead once their producer is differentiated); graph inputs' and outputs' own
 * theirs. Use: write inputs (lqf_exec_buffer of g->inputs[i]), forward, read outputs, write
 * dL/doutput into lqf_exec_grad of each output, backward, step the optimiser on (g->params,
 * lqf_exec_grads), lqf_exec_zero_grad.
 *
 * Buffers are physical (NHWC for 4-D tensors; lqf_exec_view gives the strides). The graph
 * must outlive the executor and keep its shape. One thread at a time per executor.
 */
#ifndef LQF_NN_EXEC_H
#define LQF_NN_EXEC_H

#include "nn/graph.h"

typedef struct lqf_exec lqf_exec;

enum { LQF_EXEC_INFER = 0, LQF_EXEC_TRAIN = 1, LQF_EXEC_KEEP = 2 };

/* mode: LQF_EXEC_INFER (| LQF_EXEC_KEEP) or LQF_EXEC_TRAIN (training mode, input gradients
 * off, dropout seed 0). */
lqf_status lqf_exec_create(lqf_graph *g, int batch, int mode, lqf_exec **out);
void lqf_exec_free(lqf_exec *x);

lqf_graph *lqf_exec_graph(const lqf_exec *x);
int lqf_exec_batch(const lqf_exec *x);
/* Logical dims at this batch with the buffer's physical strides. */
const lqf_view *lqf_exec_view(const lqf_exec *x, int tensor);
/* Value buffer of any tensor (inputs/activations: the executor's; PARAM/CONST: graph->params). */
float *lqf_exec_buffer(lqf_exec *x, int tensor);
/* Tensor t between a dense logical-order (NCHW) array and its buffer. */
void lqf_exec_write(lqf_exec *x, int tensor, const float *dense);
void lqf_exec_read(lqf_exec *x, int tensor, float *dense);

lqf_status lqf_exec_forward(lqf_exec *x);

/* ---- training executors (the setters are ignored by inference executors) */
void lqf_exec_set_training(lqf_exec *x, int training); /* 1 train, 0 eval */
int lqf_exec_training(const lqf_exec *x);
void lqf_exec_set_input_grad(lqf_exec *x, int on);       /* dL/d(graph inputs) */
void lqf_exec_set_seed(lqf_exec *x, uint64_t seed);      /* dropout masks; restarts the forward count */
/* Freeze (no gradient) or unfreeze a PARAM tensor, or every PARAM whose name starts with
 * prefix; lqf_exec_freeze returns the number of tensors changed, or -1 when prefix matches none. */
void lqf_exec_freeze_tensor(lqf_exec *x, int tensor, int frozen);
int lqf_exec_freeze(lqf_exec *x, const char *prefix, int frozen);
int lqf_exec_frozen(const lqf_exec *x, int tensor);
/* Gradient buffer: graph inputs and outputs own theirs for the executor's life; a PARAM's is
 * its slice of lqf_exec_grads (NULL for CONST); other activations' buffers are shared by
 * liveness and hold their gradient only while backward is between its last reader and its
 * producer. NULL for inference executors. */
float *lqf_exec_grad(lqf_exec *x, int tensor);
/* g->n_params floats parallel to g->params (CONST and frozen ranges stay zero). */
float *lqf_exec_grads(lqf_exec *x);
void lqf_exec_zero_grad(lqf_exec *x);
/* Needs a forward first; the output gradients must be written. Input gradients are
 * overwritten, parameter gradients accumulated. */
lqf_status lqf_exec_backward(lqf_exec *x);

/* Bytes of activation buffers (inputs included), of scratch, and of everything held. */
size_t lqf_exec_activation_bytes(const lqf_exec *x);
size_t lqf_exec_scratch_bytes(const lqf_exec *x);
size_t lqf_exec_bytes(const lqf_exec *x);
/* Seconds each node took in the last forward and backward (arrays of g->n_nodes; training
 * executors time their nodes, inference ones leave zeros). */
void lqf_exec_node_times(const lqf_exec *x, const double **fwd, const double **bwd);

#endif
