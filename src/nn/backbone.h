/*
 * backbone.h — lqface's own face-embedding backbones, built as an lqf_graph through the
 * graph builder (the same object the ONNX importer makes, so the executor of nn/exec.h runs
 * and trains them): IResNet-18/34/50/100/200 in the insightface variant
 * (backbones/iresnet.py: IBasicBlock, conv1x1+BN shortcut on every stage's first block,
 * head BN2d -> flatten -> Dropout -> Linear -> BN1d with weight fixed to 1) and the AdaFace
 * variant (net.py: BasicBlockIR, MaxPool2d(1, stride) shortcut when channels match, head
 * BN2d -> Dropout -> Flatten -> Linear -> BN1d(affine=False); depths 18-100, its deeper
 * nets use bottleneck blocks, not built here), and MobileFaceNet
 * (insightface backbones/mobilefacenet.py). The output is the UN-normalised embedding
 * (AdaFace's x/|x| and |x| are lqf_l2norm_forward's, or the margin head's business).
 *
 * Tensor names are the PyTorch modules' state_dict keys ("conv1.weight", "bn1.running_mean",
 * "layer1.0.downsample.0.weight", "body.3.res_layer.1.weight", "layers.2.layers.1.layers.0.weight",
 * "features.layers.3.bias", ...) so weights move between PyTorch and lqface by name:
 * learnable tensors are PARAM, running statistics and insightface's frozen features.weight
 * are CONST; AdaFace's affine-free BN1d gets CONST ones/zeros named "<module>#weight" and
 * "<module>#bias" ('#' marks tensors that are not in the state_dict). Convolution weights
 * are stored packed (the backend's conv_pack_weights); lqf_backbone_set/get convert from/to PyTorch's OIHW.
 * Graph BN nodes follow ONNX's momentum convention (0.9 = PyTorch's 0.1), eps 1e-5.
 *
 * Initialisation as the references, from a seeded generator: insightface convs N(0, 0.1),
 * its Linear PyTorch's default U(+-1/sqrt(fan_in)) for weight and bias; AdaFace and
 * MobileFaceNet Kaiming-normal fan_out (std sqrt(2/fan_out)) for convs and Linear, bias 0;
 * BatchNorm weight 1 bias 0, running mean 0 var 1; PReLU 0.25.
 *
 * Reduced variants (for tests) come from the width/base fields: the flatten size follows
 * the input (C x H/16 x W/16), MobileFaceNet's GDC kernel is H/16 x W/16.
 */
#ifndef LQF_NN_BACKBONE_H
#define LQF_NN_BACKBONE_H

#include "nn/graph.h"

typedef enum {
    LQF_BACKBONE_IRESNET = 0,     /* insightface iresnet.py */
    LQF_BACKBONE_IRESNET_ADAFACE, /* AdaFace net.py, mode 'ir' */
    LQF_BACKBONE_MOBILEFACENET,   /* insightface mobilefacenet.py */
} lqf_backbone_kind;

typedef struct {
    lqf_backbone_kind kind;
    int depth;            /* IResNet: 18, 34, 50, 100, 200 */
    int width[4];         /* IResNet stage widths (64,128,256,512); the stem has width[0] */
    int input_h, input_w; /* 112 x 112; multiples of 16 */
    int emb;              /* embedding size, 512 */
    float dropout;        /* head dropout: insightface 0, AdaFace 0.4 */
    int mfn_blocks[4];    /* MobileFaceNet (1,4,6,2) */
    int mfn_scale;        /* 2 */
    int mfn_base;         /* 64: channels base*scale and 2*base*scale, expansions base..8*base */
    int mfn_sep;          /* conv_sep/GDC width, 512 */
    uint64_t seed;        /* initialisation */
} lqf_backbone_config;

/* Defaults of the reference for kind and depth (depth ignored for MobileFaceNet). */
void lqf_backbone_config_default(lqf_backbone_config *c, lqf_backbone_kind kind, int depth);
/* Build and initialise; the graph has one input "input" (N,3,H,W) and one output
 * "embedding" (N,emb), build batch 1. */
lqf_status lqf_backbone_build(const lqf_backbone_config *c, lqf_graph **out);

/* Elements of the state_dict tensors (learnable PARAMs plus CONSTs without '#', minus
 * running statistics): PyTorch's sum(p.numel() for p in model.parameters()). */
int64_t lqf_backbone_param_count(const lqf_graph *g);

/* Copy tensor `name` between PyTorch layout (OIHW for convolution weights, as stored
 * otherwise) and buf, which is g->params or any buffer parallel to it (a trainer's
 * gradients). n must equal the tensor's element count. */
lqf_status lqf_backbone_set(const lqf_graph *g, float *buf, const char *name, const float *src, size_t n);
lqf_status lqf_backbone_get(const lqf_graph *g, const float *buf, const char *name, float *dst, size_t n);

#endif
