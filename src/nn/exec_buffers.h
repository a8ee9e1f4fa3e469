/*
 * exec_buffers.h — buffer assignment of the executor (exec_buffers.c): tensors to shared
 * buffers ("slots") by liveness. Internal to nn/.
 */
#ifndef LQF_NN_EXEC_BUFFERS_H
#define LQF_NN_EXEC_BUFFERS_H

#include "nn/graph.h"

/* Value buffers: inputs first, then each node's output that does not alias (alias[t] >= 0:
 * t shares tensor alias[t]'s buffer). share=1 reuses the buffer of a tensor after its last
 * reader (inputs and anything a graph output aliases excepted), share=0 gives each its own.
 * numel[t]: floats of t. Fills slot_of[t] (-1: no buffer of its own) and slot_size[slot];
 * returns the slot count, -1 when out of memory. Arrays of g->n_tensors (+1). */
int lqf_assign_values(const lqf_graph *g, const int *alias, const int64_t *numel, int share, int *slot_of,
                      size_t *slot_size);
/* Gradient buffers of activations read by some node, by liveness over the reverse walk;
 * graph inputs and outputs are left out (they own theirs). gbirth[t]: the node whose backward
 * step first touches t's gradient (its last reader; n_nodes for outputs, -1 never). */
int lqf_assign_grads(const lqf_graph *g, const int64_t *numel, int *slot_of, size_t *slot_size, int *gbirth);

#endif
