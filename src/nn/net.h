/*
 * net.h — internal side of the public lqf_net (include/lqface.h): access to the graph and
 * to the cached inference executor, so that the embedder and the detectors can write their
 * inputs directly in the executor's physical (NHWC) layout and read outputs without copies;
 * the ONNX importer's entry point; and wrapping a graph built by lqface itself into an lqf_net.
 */
#ifndef LQF_NET_H
#define LQF_NET_H

#include "nn/exec.h"

/* Import an ONNX model held in memory (path is used in messages) as the file's graph
 * (BatchNormalization kept: lqf_graph_optimize folds it for inference). in_hw: NULL, or the
 * {height, width} to give a 4-D image input instead of its declared/default size (shapes
 * are re-derived and every shape computation re-folded). Dimensions the model leaves open
 * (symbolic) other than the batch are LQF_ONNX_DEFAULT_DIM unless in_hw sets them.
 * *batch_ok (may be NULL) is set to 0 when the graph cannot follow another batch size.
 * *open_dims (may be NULL): bit d set when dim d (d >= 1) of input 0 is symbolic in the model. */
#define LQF_ONNX_DEFAULT_DIM 64
lqf_status lqf_onnx_import(const char *path, const uint8_t *buf, size_t len, const int *in_hw,
                           lqf_graph **out, int *batch_ok, unsigned *open_dims);

/* Wrap a graph (ownership passes to the net; it is optimised first when optimize != 0). */
lqf_status lqf_net_from_graph(lqf_graph *g, int optimize, lqf_net **out);
/* Bit d set when dim d (d >= 1) of input 0 is open (symbolic) in the ONNX file, so
 * lqf_net_set_input_size gives it a size; 0 for fixed inputs and networks built by lqface. */
unsigned lqf_net_open_dims(const lqf_net *net);
#define LQF_OPEN_HW (1u << 2 | 1u << 3) /* an image input's height and width (N,C,H,W) */
/* The network's graph (owned by the net). */
lqf_graph *lqf_net_graph(lqf_net *net);
/* The inference executor for `batch`, created or reused (owned by the net; valid until the
 * next call with another batch, lqf_net_set_input_size or lqf_net_free; one thread at a time
 * per net). Inputs are lqf_exec_buffer(x, g->inputs[i]) in the layout of lqf_exec_view; run
 * with lqf_exec_forward(x). */
lqf_status lqf_net_exec(lqf_net *net, int batch, lqf_exec **x);

#endif
