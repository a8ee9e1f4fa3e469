/*
 * model.h — the network of a training run, apart from the run: building it from a config
 * (an imported ONNX embedding network to fine-tune, or one of lqface's backbones), moving
 * its tensors in and out of checkpoints under their state_dict / ONNX initializer names in
 * PyTorch layout, and opening a checkpoint again as an inference network (what `lqface eval`
 * and `lqface embed` do with `--model run/ckpt.safetensors`): the graph is rebuilt from the
 * config the checkpoint carries in its metadata, its parameters and BatchNorm running
 * statistics are loaded, and the graph is optimised for inference (BN folded, epilogues
 * fused) exactly as an imported ONNX model is.
 */
#ifndef LQF_TRAIN_MODEL_H
#define LQF_TRAIN_MODEL_H

#include "nn/graph.h"
#include "train/checkpoint.h"
#include "train/run.h"

/* The network c describes: init_onnx imported at input_size (arch "onnx"), else the backbone
 * arch/variant/widths/emb/dropout. arch and shortcut (32 bytes each) receive the names a
 * checkpoint records. The graph is NOT optimised (it stays trainable). */
lqf_status lqf_model_build(const lqf_train_config *c, lqf_graph **g, char *arch, char *shortcut);

/* Does a checkpoint hold this graph tensor (parameters and constants with a name)? */
int lqf_model_ckpt_tensor(const lqf_tensor *T);
/* Add tensor T's values from buf (graph->params or an optimiser buffer parallel to it) to
 * the checkpoint under name, in PyTorch layout (convolution weights OIHW). tmp holds
 * numel(T) floats. */
lqf_status lqf_model_ckpt_add(lqf_ckpt *ck, const lqf_graph *g, const float *buf, const lqf_tensor *T,
                              const char *name, float *tmp);
/* Read tensor `name` of the checkpoint (shape checked) into T's slot of buf. */
lqf_status lqf_model_ckpt_get(const lqf_ckpt *ck, const lqf_graph *g, float *buf, const lqf_tensor *T,
                              const char *name);

/* Open an lqface checkpoint as an inference network. info (may be NULL) receives its input
 * contract (size, channel order, mean/std) and embedding size. Errors name the file: not a
 * checkpoint, no config in it, its ONNX base network missing, a tensor missing or of
 * another shape. */
lqf_status lqf_model_load_checkpoint(const char *path, lqf_net **out, lqf_ckpt_info *info);
/* Does the path name a checkpoint (*.safetensors)? lqf_net_load (lqface.h) dispatches on it. */
int lqf_model_is_checkpoint(const char *path);

#endif
