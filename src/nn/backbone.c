/*
 * backbone.c — builders of the IResNet (insightface and AdaFace variants) and MobileFaceNet
 * graphs described in backbone.h, written module by module after the PyTorch references so
 * that every tensor carries its state_dict name, plus the by-name import/export of tensors
 * in PyTorch layout (packing convolution weights on the way in, unpacking on the way out).
 * A small builder context tracks the current activation's shape and the first error;
 * initial values come from a splitmix64 stream (Box-Muller normals), one per tensor.
 */
#include "nn/backbone.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Module names are a few dozen characters; 256-byte name buffers never truncate them. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

typedef struct {
    lqf_graph *g;
    lqf_status st;
    uint64_t rng;
    int kind;
} bld;

/* ---------------------------------------------------------------- random */

static double uniform01(uint64_t *s) { return ((lqf_splitmix64(s) >> 11) + 0.5) * 0x1.0p-53; }

static void fill_normal(uint64_t *s, float *p, size_t n, double std) {
    for (size_t i = 0; i < n; i += 2) {
        double u = uniform01(s), v = uniform01(s), r = sqrt(-2.0 * log(u));
        p[i] = (float)(std * r * cos(6.283185307179586 * v));
        if (i + 1 < n) p[i + 1] = (float)(std * r * sin(6.283185307179586 * v));
    }
}

static void fill_uniform(uint64_t *s, float *p, size_t n, double bound) {
    for (size_t i = 0; i < n; i++) p[i] = (float)((2.0 * uniform01(s) - 1.0) * bound);
}

static void fill_const(float *p, size_t n, float v) {
    for (size_t i = 0; i < n; i++) p[i] = v;
}

/* ---------------------------------------------------------------- builder */

static int add_tensor(bld *b, const char *name, lqf_tensor_kind kind, int ndim, const int64_t *dims, int batched) {
    if (b->st != LQF_OK) return -1;
    int t = lqf_graph_add_tensor(b->g, name, kind, ndim, dims, batched);
    if (t < 0) b->st = lqf_fail_context(LQF_ERR_NOMEM, "backbone: adding '%s'", name);
    return t;
}

static int add_node(bld *b, lqf_op op, const char *name, const int *in, int nin, int out) {
    if (b->st != LQF_OK) return -1;
    int n = lqf_graph_add_node(b->g, op, name, in, nin, out);
    if (n < 0) b->st = lqf_fail(LQF_ERR_NOMEM, "backbone: out of memory adding node '%s'", name);
    return n;
}

static int act4(bld *b, const char *name, int64_t c, int64_t h, int64_t w) {
    int64_t d[4] = {1, c, h, w};
    return add_tensor(b, name, LQF_T_ACT, 4, d, 1);
}

/* Tensor t; after a failed step (t = -1, b->st set) a zero tensor, so that a block can read
 * its input's shape before its first step notices the failure. */
static const lqf_tensor *T(bld *b, int t) {
    static const lqf_tensor none;
    return t >= 0 ? &b->g->tensors[t] : &none;
}

/* Convolution without bias; weight "<pre>.weight" (packed). init: 0 N(0,0.1), 1 Kaiming fan_out. */
static int conv(bld *b, const char *pre, int x, int cout, int k, int s, int p, int groups) {
    if (b->st != LQF_OK) return -1;
    lqf_conv_shape cs;
    memset(&cs, 0, sizeof cs);
    cs.n = 1;
    cs.cin = (int)T(b, x)->dims[1];
    cs.h = (int)T(b, x)->dims[2];
    cs.w = (int)T(b, x)->dims[3];
    cs.cout = cout;
    cs.kh = cs.kw = k;
    cs.sh = cs.sw = s;
    cs.pt = cs.pl = cs.pb = cs.pr = p;
    cs.group = groups;
    lqf_conv_shape_init(&cs);
    char nm[256];
    snprintf(nm, sizeof nm, "%s.weight", pre);
    int64_t wn = (int64_t)lqf_conv_weight_size(&cs);
    int wt = add_tensor(b, nm, LQF_T_PARAM, 1, &wn, 0);
    int y = act4(b, pre, cout, cs.oh, cs.ow);
    if (b->st != LQF_OK) return -1;
    float *tmp = malloc((size_t)wn * sizeof(float));
    if (!tmp) {
        b->st = lqf_fail(LQF_ERR_NOMEM, "backbone: out of memory");
        return -1;
    }
    /* std: insightface N(0, 0.1); Kaiming fan_out = cout * k * k (torch ignores groups) */
    double std = b->kind == LQF_BACKBONE_IRESNET ? 0.1 : sqrt(2.0 / ((double)cout * k * k));
    fill_normal(&b->rng, tmp, (size_t)wn, std);
    lqf_backend_default()->conv_pack_weights(&cs, tmp, lqf_graph_data(b->g, wt));
    free(tmp);
    int in[2] = {x, wt};
    int nd = add_node(b, LQF_OP_CONV, pre, in, 2, y);
    if (nd < 0) return -1;
    lqf_node *n = &b->g->nodes[nd];
    n->a.conv.kh = n->a.conv.kw = k;
    n->a.conv.sh = n->a.conv.sw = s;
    n->a.conv.pt = n->a.conv.pl = n->a.conv.pb = n->a.conv.pr = p;
    n->a.conv.dh = n->a.conv.dw = 1;
    n->a.conv.group = groups;
    return y;
}

/* BatchNorm over channel axis 1 of x (2-D or 4-D). affine: 1 learnable, 0 CONST 1/0
 * ("#" names), 2 weight CONST 1 under its state_dict name (insightface features). */
static int batchnorm(bld *b, const char *pre, int x, int affine) {
    if (b->st != LQF_OK) return -1;
    const lqf_tensor *xt = T(b, x);
    int64_t c = xt->dims[1];
    char nm[4][256];
    if (affine) {
        snprintf(nm[0], 256, "%s.weight", pre);
        snprintf(nm[1], 256, "%s.bias", pre);
    } else {
        snprintf(nm[0], 256, "%s#weight", pre);
        snprintf(nm[1], 256, "%s#bias", pre);
    }
    snprintf(nm[2], 256, "%s.running_mean", pre);
    snprintf(nm[3], 256, "%s.running_var", pre);
    int ga = add_tensor(b, nm[0], affine == 1 ? LQF_T_PARAM : LQF_T_CONST, 1, &c, 0);
    int be = add_tensor(b, nm[1], affine ? LQF_T_PARAM : LQF_T_CONST, 1, &c, 0);
    int mu = add_tensor(b, nm[2], LQF_T_CONST, 1, &c, 0);
    int va = add_tensor(b, nm[3], LQF_T_CONST, 1, &c, 0);
    if (b->st != LQF_OK) return -1;
    fill_const(lqf_graph_data(b->g, ga), (size_t)c, 1.0f);
    fill_const(lqf_graph_data(b->g, va), (size_t)c, 1.0f);
    xt = T(b, x);
    int y = add_tensor(b, pre, LQF_T_ACT, xt->ndim, xt->dims, 1);
    int in[5] = {x, ga, be, mu, va};
    int nd = add_node(b, LQF_OP_BATCHNORM, pre, in, 5, y);
    if (nd < 0) return -1;
    b->g->nodes[nd].a.bn.eps = 1e-5f;
    b->g->nodes[nd].a.bn.momentum = 0.9f; /* ONNX convention: torch momentum 0.1 */
    return y;
}

static int prelu(bld *b, const char *pre, int x) {
    if (b->st != LQF_OK) return -1;
    int64_t c = T(b, x)->dims[1];
    char nm[256];
    snprintf(nm, sizeof nm, "%s.weight", pre);
    int sl = add_tensor(b, nm, LQF_T_PARAM, 1, &c, 0);
    if (b->st != LQF_OK) return -1;
    fill_const(lqf_graph_data(b->g, sl), (size_t)c, 0.25f);
    const lqf_tensor *xt = T(b, x);
    int y = add_tensor(b, pre, LQF_T_ACT, xt->ndim, xt->dims, 1);
    int in[2] = {x, sl};
    add_node(b, LQF_OP_PRELU, pre, in, 2, y);
    return y;
}

static int add2(bld *b, const char *name, int x0, int x1) {
    if (b->st != LQF_OK) return -1;
    const lqf_tensor *xt = T(b, x0);
    int y = add_tensor(b, name, LQF_T_ACT, xt->ndim, xt->dims, 1);
    int in[2] = {x0, x1};
    add_node(b, LQF_OP_ADD, name, in, 2, y);
    return y;
}

/* MaxPool2d(1, s): parameter-free subsampling. */
static int subsample(bld *b, const char *name, int x, int s) {
    if (b->st != LQF_OK) return -1;
    const lqf_tensor *xt = T(b, x);
    int y = act4(b, name, xt->dims[1], (xt->dims[2] - 1) / s + 1, (xt->dims[3] - 1) / s + 1);
    int nd = add_node(b, LQF_OP_MAXPOOL, name, &x, 1, y);
    if (nd < 0) return -1;
    lqf_node *n = &b->g->nodes[nd];
    n->a.pool.kh = n->a.pool.kw = 1;
    n->a.pool.sh = n->a.pool.sw = s;
    return y;
}

static int dropout(bld *b, const char *name, int x, float p) {
    if (b->st != LQF_OK) return -1;
    const lqf_tensor *xt = T(b, x);
    int y = add_tensor(b, name, LQF_T_ACT, xt->ndim, xt->dims, 1);
    int nd = add_node(b, LQF_OP_DROPOUT, name, &x, 1, y);
    if (nd >= 0) b->g->nodes[nd].a.dropout.p = p;
    return y;
}

/* (N,C,H,W) -> (N, C*H*W) in NCHW order (torch.flatten(x, 1)). */
static int flatten(bld *b, const char *name, int x) {
    if (b->st != LQF_OK) return -1;
    const lqf_tensor *xt = T(b, x);
    int64_t d[2] = {1, xt->dims[1] * xt->dims[2] * xt->dims[3]};
    int y = add_tensor(b, name, LQF_T_ACT, 2, d, 1);
    int nd = add_node(b, LQF_OP_RESHAPE, name, &x, 1, y);
    if (nd < 0) return -1;
    lqf_node *n = &b->g->nodes[nd];
    n->a.reshape.ndim = 2; /* (0, -1): follows the batch and the input size */
    n->a.reshape.shape[0] = 0;
    n->a.reshape.shape[1] = -1;
    n->fixed = 0;
    return y;
}

/* nn.Linear(in, out, bias) as Gemm(x, W^T) + b; init 0 torch default, 1 Kaiming fan_out. */
static int linear(bld *b, const char *pre, int x, int out, int bias, int init) {
    if (b->st != LQF_OK) return -1;
    int64_t in = T(b, x)->dims[1];
    int64_t wd[2] = {out, in}, bd = out;
    char nm[256];
    snprintf(nm, sizeof nm, "%s.weight", pre);
    int wt = add_tensor(b, nm, LQF_T_PARAM, 2, wd, 0);
    snprintf(nm, sizeof nm, "%s.bias", pre);
    int bt = bias ? add_tensor(b, nm, LQF_T_PARAM, 1, &bd, 0) : -1;
    int64_t yd[2] = {1, out};
    int y = add_tensor(b, pre, LQF_T_ACT, 2, yd, 1);
    if (b->st != LQF_OK) return -1;
    if (init == 0) {
        double bound = 1.0 / sqrt((double)in);
        fill_uniform(&b->rng, lqf_graph_data(b->g, wt), (size_t)(out * in), bound);
        if (bias) fill_uniform(&b->rng, lqf_graph_data(b->g, bt), (size_t)out, bound);
    } else {
        fill_normal(&b->rng, lqf_graph_data(b->g, wt), (size_t)(out * in), sqrt(2.0 / out));
    }
    int ins[3] = {x, wt, bt};
    int nd = add_node(b, LQF_OP_GEMM, pre, ins, bias ? 3 : 2, y);
    if (nd < 0) return -1;
    lqf_node *n = &b->g->nodes[nd];
    n->a.gemm.trans_a = 0;
    n->a.gemm.trans_b = 1;
    n->a.gemm.alpha = 1.0f;
    n->a.gemm.beta = bias ? 1.0f : 0.0f;
    return y;
}

static char *fmt(char *buf, const char *f, const char *a, int i) {
    snprintf(buf, 256, f, a, i);
    return buf;
}

/* ---------------------------------------------------------------- IResNet */

static const int k_units[5][4] = {{2, 2, 2, 2}, {3, 4, 6, 3}, {3, 4, 14, 3}, {3, 13, 30, 3}, {6, 26, 60, 6}};

static int units_of(int depth) {
    switch (depth) {
    case 18: return 0;
    case 34: return 1;
    case 50: return 2;
    case 100: return 3;
    case 200: return 4;
    default: return -1;
    }
}

/* insightface IBasicBlock: bn1 conv1 bn2 prelu conv2(stride) bn3 (+ downsample). */
static int ibasic(bld *b, const char *pre, int x, int planes, int stride) {
    char n1[256], n2[256];
    int inpl = (int)T(b, x)->dims[1];
    int y = batchnorm(b, fmt(n1, "%s.bn1", pre, 0), x, 1);
    y = conv(b, fmt(n1, "%s.conv1", pre, 0), y, planes, 3, 1, 1, 1);
    y = batchnorm(b, fmt(n1, "%s.bn2", pre, 0), y, 1);
    y = prelu(b, fmt(n1, "%s.prelu", pre, 0), y);
    y = conv(b, fmt(n1, "%s.conv2", pre, 0), y, planes, 3, stride, 1, 1);
    y = batchnorm(b, fmt(n1, "%s.bn3", pre, 0), y, 1);
    int sc = x;
    if (stride != 1 || inpl != planes) {
        sc = conv(b, fmt(n2, "%s.downsample.0", pre, 0), x, planes, 1, stride, 0, 1);
        sc = batchnorm(b, fmt(n2, "%s.downsample.1", pre, 0), sc, 1);
    }
    return add2(b, fmt(n1, "%s.add", pre, 0), y, sc);
}

/* AdaFace BasicBlockIR: res_layer (BN conv BN PReLU conv(stride) BN) + shortcut. */
static int basic_ir(bld *b, const char *pre, int x, int depth, int stride) {
    char n1[256], n2[256];
    int inch = (int)T(b, x)->dims[1];
    int sc;
    if (inch == depth) {
        sc = stride == 1 ? x : subsample(b, fmt(n2, "%s.shortcut_layer", pre, 0), x, stride);
    } else {
        sc = conv(b, fmt(n2, "%s.shortcut_layer.0", pre, 0), x, depth, 1, stride, 0, 1);
        sc = batchnorm(b, fmt(n2, "%s.shortcut_layer.1", pre, 0), sc, 1);
    }
    int y = batchnorm(b, fmt(n1, "%s.res_layer.0", pre, 0), x, 1);
    y = conv(b, fmt(n1, "%s.res_layer.1", pre, 0), y, depth, 3, 1, 1, 1);
    y = batchnorm(b, fmt(n1, "%s.res_layer.2", pre, 0), y, 1);
    y = prelu(b, fmt(n1, "%s.res_layer.3", pre, 0), y);
    y = conv(b, fmt(n1, "%s.res_layer.4", pre, 0), y, depth, 3, stride, 1, 1);
    y = batchnorm(b, fmt(n1, "%s.res_layer.5", pre, 0), y, 1);
    return add2(b, fmt(n1, "%s.add", pre, 0), y, sc);
}

static int build_iresnet(bld *b, const lqf_backbone_config *c, int x) {
    int u = units_of(c->depth);
    char nm[256];
    if (c->kind == LQF_BACKBONE_IRESNET) {
        int y = conv(b, "conv1", x, c->width[0], 3, 1, 1, 1);
        y = batchnorm(b, "bn1", y, 1);
        y = prelu(b, "prelu", y);
        for (int s = 0; s < 4; s++)
            for (int k = 0; k < k_units[u][s]; k++) {
                snprintf(nm, sizeof nm, "layer%d.%d", s + 1, k);
                y = ibasic(b, nm, y, c->width[s], k == 0 ? 2 : 1);
            }
        y = batchnorm(b, "bn2", y, 1);
        y = flatten(b, "flatten", y);
        if (c->dropout > 0) y = dropout(b, "dropout", y, c->dropout);
        y = linear(b, "fc", y, c->emb, 1, 0);
        return batchnorm(b, "features", y, 2);
    }
    int y = conv(b, "input_layer.0", x, c->width[0], 3, 1, 1, 1);
    y = batchnorm(b, "input_layer.1", y, 1);
    y = prelu(b, "input_layer.2", y);
    int idx = 0;
    for (int s = 0; s < 4; s++)
        for (int k = 0; k < k_units[u][s]; k++) {
            snprintf(nm, sizeof nm, "body.%d", idx++);
            y = basic_ir(b, nm, y, c->width[s], k == 0 ? 2 : 1);
        }
    y = batchnorm(b, "output_layer.0", y, 1);
    if (c->dropout > 0) y = dropout(b, "output_layer.1", y, c->dropout);
    y = flatten(b, "output_layer.2", y);
    y = linear(b, "output_layer.3", y, c->emb, 1, 1);
    return batchnorm(b, "output_layer.4", y, 0);
}

/* ---------------------------------------------------------------- MobileFaceNet */

/* ConvBlock: conv, BN, PReLU under <pre>.layers.{0,1,2}. */
static int conv_block(bld *b, const char *pre, int x, int cout, int k, int s, int p, int groups) {
    char nm[256];
    int y = conv(b, fmt(nm, "%s.layers.0", pre, 0), x, cout, k, s, p, groups);
    y = batchnorm(b, fmt(nm, "%s.layers.1", pre, 0), y, 1);
    return prelu(b, fmt(nm, "%s.layers.2", pre, 0), y);
}

/* LinearBlock: conv, BN under <pre>.layers.{0,1}. */
static int linear_block(bld *b, const char *pre, int x, int cout, int k, int s, int p, int groups) {
    char nm[256];
    int y = conv(b, fmt(nm, "%s.layers.0", pre, 0), x, cout, k, s, p, groups);
    return batchnorm(b, fmt(nm, "%s.layers.1", pre, 0), y, 1);
}

/* DepthWise(in, out, residual, stride, groups): 1x1 to groups, dw 3x3, 1x1 to out. */
static int depthwise(bld *b, const char *pre, int x, int cout, int residual, int stride, int groups) {
    char nm[256];
    int y = conv_block(b, fmt(nm, "%s.layers.0", pre, 0), x, groups, 1, 1, 0, 1);
    y = conv_block(b, fmt(nm, "%s.layers.1", pre, 0), y, groups, 3, stride, 1, groups);
    y = linear_block(b, fmt(nm, "%s.layers.2", pre, 0), y, cout, 1, 1, 0, 1);
    return residual ? add2(b, fmt(nm, "%s.add", pre, 0), x, y) : y;
}

static int residual(bld *b, const char *pre, int x, int nblock, int groups) {
    char nm[256];
    int c = (int)T(b, x)->dims[1];
    for (int k = 0; k < nblock; k++) {
        snprintf(nm, sizeof nm, "%s.layers.%d", pre, k);
        x = depthwise(b, nm, x, c, 1, 1, groups);
    }
    return x;
}

static int build_mobilefacenet(bld *b, const lqf_backbone_config *c, int x) {
    const int B = c->mfn_base, S = c->mfn_scale;
    int y = conv_block(b, "layers.0", x, B * S, 3, 2, 1, 1);
    if (c->mfn_blocks[0] == 1) y = conv_block(b, "layers.1", y, B * S, 3, 1, 1, B);
    else y = residual(b, "layers.1", y, c->mfn_blocks[0], 2 * B);
    y = depthwise(b, "layers.2", y, B * S, 0, 2, 2 * B);
    y = residual(b, "layers.3", y, c->mfn_blocks[1], 2 * B);
    y = depthwise(b, "layers.4", y, 2 * B * S, 0, 2, 4 * B);
    y = residual(b, "layers.5", y, c->mfn_blocks[2], 4 * B);
    y = depthwise(b, "layers.6", y, 2 * B * S, 0, 2, 8 * B);
    y = residual(b, "layers.7", y, c->mfn_blocks[3], 4 * B);
    y = conv_block(b, "conv_sep", y, c->mfn_sep, 1, 1, 0, 1);
    if (b->st != LQF_OK) return -1;
    int kh = (int)T(b, y)->dims[2];
    y = linear_block(b, "features.layers.0", y, c->mfn_sep, kh, 1, 0, c->mfn_sep);
    y = flatten(b, "features.layers.1", y);
    y = linear(b, "features.layers.2", y, c->emb, 0, 1);
    return batchnorm(b, "features.layers.3", y, 1);
}

/* ---------------------------------------------------------------- public */

void lqf_backbone_config_default(lqf_backbone_config *c, lqf_backbone_kind kind, int depth) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->depth = depth;
    c->width[0] = 64;
    c->width[1] = 128;
    c->width[2] = 256;
    c->width[3] = 512;
    c->input_h = c->input_w = 112;
    c->emb = 512;
    c->dropout = kind == LQF_BACKBONE_IRESNET_ADAFACE ? 0.4f : 0.0f;
    c->mfn_blocks[0] = 1;
    c->mfn_blocks[1] = 4;
    c->mfn_blocks[2] = 6;
    c->mfn_blocks[3] = 2;
    c->mfn_scale = 2;
    c->mfn_base = 64;
    c->mfn_sep = 512;
    c->seed = 0;
}

lqf_status lqf_backbone_build(const lqf_backbone_config *c, lqf_graph **out) {
    *out = NULL;
    if (c->input_h < 16 || c->input_w < 16 || c->input_h % 16 || c->input_w % 16 || c->emb < 1)
        return lqf_fail(LQF_ERR_ARG, "backbone: input %dx%d must be multiples of 16, embedding >= 1 (got %d)",
                        c->input_h, c->input_w, c->emb);
    if (c->kind == LQF_BACKBONE_MOBILEFACENET) {
        if (c->mfn_base < 1 || c->mfn_scale < 1 || c->mfn_sep < 1 || c->mfn_blocks[0] < 1)
            return lqf_fail(LQF_ERR_ARG, "backbone: MobileFaceNet base, scale, sep width and blocks must be >= 1");
    } else if (c->kind == LQF_BACKBONE_IRESNET || c->kind == LQF_BACKBONE_IRESNET_ADAFACE) {
        if (units_of(c->depth) < 0)
            return lqf_fail(LQF_ERR_ARG, "backbone: IResNet depth %d (use 18, 34, 50, 100 or 200)", c->depth);
        if (c->kind == LQF_BACKBONE_IRESNET_ADAFACE && c->depth > 100)
            return lqf_fail(LQF_ERR_UNSUPPORTED,
                            "backbone: AdaFace IR-%d uses bottleneck blocks, which are not built (use 18..100)",
                            c->depth);
        for (int i = 0; i < 4; i++)
            if (c->width[i] < 1) return lqf_fail(LQF_ERR_ARG, "backbone: stage width %d must be >= 1", c->width[i]);
    } else {
        return lqf_fail(LQF_ERR_ARG, "backbone: unknown kind %d", (int)c->kind);
    }
    if (c->dropout < 0 || c->dropout >= 1)
        return lqf_fail(LQF_ERR_ARG, "backbone: dropout %g outside [0, 1)", (double)c->dropout);
    bld b = {lqf_graph_new(), LQF_OK, c->seed, (int)c->kind};
    if (!b.g) return lqf_fail(LQF_ERR_NOMEM, "backbone: out of memory");
    int x = act4(&b, "input", 3, c->input_h, c->input_w);
    if (x >= 0) b.g->tensors[x].kind = LQF_T_INPUT;
    int y = c->kind == LQF_BACKBONE_MOBILEFACENET ? build_mobilefacenet(&b, c, x) : build_iresnet(&b, c, x);
    if (b.st != LQF_OK || y < 0) {
        lqf_graph_free(b.g);
        return b.st != LQF_OK ? b.st : lqf_fail(LQF_ERR_NOMEM, "backbone: build failed");
    }
    free(b.g->tensors[y].name);
    b.g->tensors[y].name = malloc(16);
    if (!b.g->tensors[y].name) {
        lqf_graph_free(b.g);
        return lqf_fail(LQF_ERR_NOMEM, "backbone: out of memory");
    }
    strcpy(b.g->tensors[y].name, "embedding");
    char src[64]; /* names the network in error messages */
    if (c->kind == LQF_BACKBONE_MOBILEFACENET) snprintf(src, sizeof src, "MobileFaceNet");
    else snprintf(src, sizeof src, "%sIR-%d", c->kind == LQF_BACKBONE_IRESNET_ADAFACE ? "AdaFace " : "", c->depth);
    b.g->source = malloc(strlen(src) + 1);
    if (b.g->source) strcpy(b.g->source, src);
    b.g->inputs[b.g->n_inputs++] = x;
    b.g->outputs[b.g->n_outputs++] = y;
    *out = b.g;
    return LQF_OK;
}

static int is_stat(const char *name) {
    size_t n = strlen(name);
    return (n > 13 && !strcmp(name + n - 13, ".running_mean")) || (n > 12 && !strcmp(name + n - 12, ".running_var"));
}

int64_t lqf_backbone_param_count(const lqf_graph *g) {
    int64_t n = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        const lqf_tensor *t = &g->tensors[i];
        if (t->kind == LQF_T_PARAM || (t->kind == LQF_T_CONST && !strchr(t->name, '#') && !is_stat(t->name)))
            n += lqf_tensor_numel(t);
    }
    return n;
}

/* Tensor `name` and, for a convolution weight, the shape that packs it. */
static lqf_status find_param(const lqf_graph *g, const char *name, size_t n, int *tensor, lqf_conv_shape *cs,
                             int *is_conv) {
    int t = lqf_graph_find_tensor(g, name);
    if (t < 0 || (g->tensors[t].kind != LQF_T_PARAM && g->tensors[t].kind != LQF_T_CONST))
        return lqf_fail(LQF_ERR_ARG, "%s: no parameter named '%s'", g->source ? g->source : "network", name);
    if ((int64_t)n != lqf_tensor_numel(&g->tensors[t]))
        return lqf_fail(LQF_ERR_ARG, "%s: '%s' has %lld values, not %zu", g->source ? g->source : "network", name,
                        (long long)lqf_tensor_numel(&g->tensors[t]), n);
    *tensor = t;
    *is_conv = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *nd = &g->nodes[i];
        if (nd->op != LQF_OP_CONV || nd->nin < 2 || nd->in[1] != t) continue;
        memset(cs, 0, sizeof *cs);
        cs->n = 1;
        cs->cin = (int)g->tensors[nd->in[0]].dims[1];
        cs->cout = (int)g->tensors[nd->out].dims[1];
        cs->h = cs->w = nd->a.conv.kh > nd->a.conv.kw ? nd->a.conv.kh : nd->a.conv.kw;
        cs->kh = nd->a.conv.kh;
        cs->kw = nd->a.conv.kw;
        cs->group = nd->a.conv.group;
        lqf_conv_shape_init(cs);
        *is_conv = 1;
        break;
    }
    return LQF_OK;
}

lqf_status lqf_backbone_set(const lqf_graph *g, float *buf, const char *name, const float *src, size_t n) {
    int t = -1, conv_w = 0;
    lqf_conv_shape cs;
    lqf_status st = find_param(g, name, n, &t, &cs, &conv_w);
    if (st != LQF_OK) return st;
    float *dst = buf + g->tensors[t].offset;
    if (conv_w) lqf_backend_default()->conv_pack_weights(&cs, src, dst);
    else memcpy(dst, src, n * sizeof(float));
    return LQF_OK;
}

lqf_status lqf_backbone_get(const lqf_graph *g, const float *buf, const char *name, float *dst, size_t n) {
    int t = -1, conv_w = 0;
    lqf_conv_shape cs;
    lqf_status st = find_param(g, name, n, &t, &cs, &conv_w);
    if (st != LQF_OK) return st;
    const float *src = buf + g->tensors[t].offset;
    if (conv_w) lqf_backend_default()->conv_unpack_weights(&cs, src, dst);
    else memcpy(dst, src, n * sizeof(float));
    return LQF_OK;
}
