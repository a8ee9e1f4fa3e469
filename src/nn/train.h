/*
 * train.h — the training side of the network graph (graph.h): a trainer binds a graph to
 * one batch size, runs the forward pass in training mode keeping every activation, and
 * walks the nodes in reverse for the backward pass, ADDING parameter gradients into ONE
 * gradient buffer parallel to graph->params (so an optimiser from src/train/optim.h steps
 * params and grads as two flat arrays) and giving the gradient with respect to the graph's
 * inputs when asked (ARoFace needs dL/dimage).
 *
 * Semantics follow PyTorch's training mode: BatchNorm normalises with the batch statistics
 * and updates running_mean/running_var (CONST tensors of the graph, updated in place) with
 * torch momentum 1 - node.a.bn.momentum (graph BN nodes keep ONNX's convention: 0.9 means
 * torch's 0.1), unbiased variance; Dropout draws a mask from (seed, forward count, node).
 * In eval mode BatchNorm uses the running statistics and Dropout is the identity (backward
 * still works: gradients of a frozen-statistics network).
 *
 * Gradients flow to PARAM tensors that are not frozen and to graph inputs when input
 * gradients are on; CONST tensors never get one. Operators with a backward: Conv (unfused:
 * train a graph that lqf_graph_optimize has NOT rewritten; a fused activation or residual
 * is refused), BatchNorm, Relu, PRelu, LeakyRelu, Sigmoid, Add/Sub/Mul (numpy
 * broadcasting), MaxPool, Reshape (incl. Flatten of NHWC data in NCHW order), Transpose,
 * Gemm, Dropout. A graph with any other operator is refused at creation.
 *
 * Buffers are physical (NHWC for 4-D), like lqf_plan_buffer. Activation gradients share a
 * few buffers by liveness over the reverse walk; graph outputs' and inputs' gradients own
 * theirs. Use: write inputs (lqf_trainer_buffer of g->inputs[i]), forward, read outputs,
 * write dL/doutput into lqf_trainer_grad of each output, backward, step the optimiser on
 * (g->params, lqf_trainer_grads), lqf_trainer_zero_grad.
 */
#ifndef LQF_NN_TRAIN_H
#define LQF_NN_TRAIN_H

#include "nn/graph.h"

typedef struct lqf_trainer lqf_trainer;

/* The graph must outlive the trainer; its parameters are read and running statistics
 * written in place. Training mode, input gradients off, dropout seed 0. */
lqf_status lqf_trainer_create(lqf_graph *g, int batch, lqf_trainer **out);
void lqf_trainer_free(lqf_trainer *t);

void lqf_trainer_set_training(lqf_trainer *t, int training); /* 1 train, 0 eval */
int lqf_trainer_training(const lqf_trainer *t);
void lqf_trainer_set_input_grad(lqf_trainer *t, int on);      /* dL/d(graph inputs) */
void lqf_trainer_set_seed(lqf_trainer *t, uint64_t seed);     /* dropout masks */
/* Freeze (no gradient) or unfreeze a PARAM tensor, or every PARAM whose name starts with
 * prefix; returns the number of tensors changed, or -1 when prefix matches none. */
void lqf_trainer_freeze_tensor(lqf_trainer *t, int tensor, int frozen);
int lqf_trainer_freeze(lqf_trainer *t, const char *prefix, int frozen);
int lqf_trainer_frozen(const lqf_trainer *t, int tensor);

/* Value buffer of any tensor (inputs/activations: the trainer's, physical layout;
 * PARAM/CONST: graph->params storage). */
float *lqf_trainer_buffer(lqf_trainer *t, int tensor);
/* Gradient buffer: graph inputs and outputs own theirs for the trainer's life; a PARAM's is
 * its slice of lqf_trainer_grads (NULL for CONST); other activations' buffers are shared
 * by liveness and hold their gradient only while backward is between its last reader and
 * its producer. */
float *lqf_trainer_grad(lqf_trainer *t, int tensor);
/* g->n_params floats parallel to g->params (CONST and frozen ranges stay zero). */
float *lqf_trainer_grads(lqf_trainer *t);
void lqf_trainer_zero_grad(lqf_trainer *t);

lqf_status lqf_trainer_forward(lqf_trainer *t);
/* Needs a forward first; the output gradients must be written. Input gradients are
 * overwritten, parameter gradients accumulated. */
lqf_status lqf_trainer_backward(lqf_trainer *t);

/* Bytes of activation, gradient and scratch memory the trainer holds. */
size_t lqf_trainer_bytes(const lqf_trainer *t);
/* Seconds each node took in the last forward and backward (arrays of g->n_nodes). */
void lqf_trainer_node_times(const lqf_trainer *t, const double **fwd, const double **bwd);

#endif
