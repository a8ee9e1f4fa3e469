/*
 * test_onnx_graph.c — a graph built through the graph.h builder calls (the way lqface's own
 * backbones are built, not imported): Conv → BatchNorm → PRelu → depthwise Conv → BatchNorm
 * → Add(residual) → Relu, at batch 3, with the residual either the PRelu output or a 1x1
 * shortcut convolution placed after the main branch (as PyTorch exports IResNet). The unoptimised graph (BatchNorm run as its own node)
 * and the optimised graph (BatchNorm folded into the packed weights by lqf_graph_optimize,
 * PRelu and the residual Add fused into the convolutions) are both compared with a direct
 * double-precision evaluation of the same layers written here from their definitions.
 * Also the op table's completeness and the executor's refusals (a node reading a tensor
 * nobody produced, stored dims that shape inference contradicts, training an operator
 * without a backward).
 */
#include "lqface.h"
#include "nn/backbone.h"
#include "nn/net.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 3, C = 4, H = 7, W = 9, O = 6 };

static double frand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return ((*s >> 8) & 0xffff) / 65535.0 * 2 - 1;
}

typedef struct {
    float w1[O * C * 9], w2[O * 9], b2[O], w3[O * C], b3[O];
    float g1[O], be1[O], m1[O], v1[O], g2[O], be2[O], m2[O], v2[O], slope[O];
} weights;

/* reference: NCHW doubles */
static void conv_ref(const double *x, int cin, const float *w, const float *b, int group, double *y) {
    int cpg = cin / group, opg = O / group;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    double s = b ? b[o] : 0;
                    int g = o / opg;
                    for (int c = 0; c < cpg; c++)
                        for (int ki = 0; ki < 3; ki++)
                            for (int kj = 0; kj < 3; kj++) {
                                int yi = i + ki - 1, xj = j + kj - 1;
                                if (yi < 0 || yi >= H || xj < 0 || xj >= W) continue;
                                s += w[((o * cpg + c) * 3 + ki) * 3 + kj] *
                                     x[((n * cin + g * cpg + c) * H + yi) * W + xj];
                            }
                    y[((n * O + o) * H + i) * W + j] = s;
                }
}

static void bn_ref(double *y, const float *g, const float *b, const float *m, const float *v) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int k = 0; k < H * W; k++) {
                double *p = &y[(n * O + o) * H * W + k];
                *p = (*p - m[o]) / sqrt(v[o] + 1e-5) * g[o] + b[o];
            }
}

static int add_param(lqf_graph *g, const char *name, const float *data, int64_t n) {
    int t = lqf_graph_add_tensor(g, name, LQF_T_PARAM, 1, &n, 0);
    memcpy(lqf_graph_data(g, t), data, (size_t)n * sizeof(float));
    return t;
}

static int add_conv(lqf_graph *g, const char *name, int x, int cin, const float *w_oihw, const float *bias,
                    int group, int out) {
    lqf_conv_shape s = {.n = 1, .h = H, .w = W, .cin = cin, .cout = O, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                        .pt = 1, .pl = 1, .pb = 1, .pr = 1, .dh = 1, .dw = 1, .group = group};
    lqf_conv_shape_init(&s);
    int64_t pn = (int64_t)lqf_conv_weight_size(&s);
    char nm[64];
    snprintf(nm, sizeof nm, "%s.w", name);
    int wt = lqf_graph_add_tensor(g, nm, LQF_T_PARAM, 1, &pn, 0);
    lqf_backend_default()->conv_pack_weights(&s, w_oihw, lqf_graph_data(g, wt));
    int in[3] = {x, wt, -1}, nin = 2;
    if (bias) {
        snprintf(nm, sizeof nm, "%s.b", name);
        in[2] = add_param(g, nm, bias, O);
        nin = 3;
    }
    int nd = lqf_graph_add_node(g, LQF_OP_CONV, name, in, nin, out);
    lqf_node *n = &g->nodes[nd];
    n->a.conv.kh = n->a.conv.kw = 3;
    n->a.conv.sh = n->a.conv.sw = 1;
    n->a.conv.pt = n->a.conv.pl = n->a.conv.pb = n->a.conv.pr = 1;
    n->a.conv.dh = n->a.conv.dw = 1;
    n->a.conv.group = group;
    return nd;
}

static void add_bn(lqf_graph *g, const char *name, int x, const float *ga, const float *be, const float *mu,
                   const float *va, int out) {
    char nm[64];
    int in[5] = {x};
    const float *p[4] = {ga, be, mu, va};
    const char *suffix[4] = {"g", "b", "m", "v"};
    for (int k = 0; k < 4; k++) {
        snprintf(nm, sizeof nm, "%s.%s", name, suffix[k]);
        in[k + 1] = add_param(g, nm, p[k], O);
    }
    int nd = lqf_graph_add_node(g, LQF_OP_BATCHNORM, name, in, 5, out);
    g->nodes[nd].a.bn.eps = 1e-5f;
    g->nodes[nd].a.bn.momentum = 0.9f;
}

/* 1x1 convolution with bias (a shortcut branch), as add_conv but kernel 1 and no padding */
static void add_conv1x1(lqf_graph *g, int x, const float *w_oihw, const float *bias, int out) {
    lqf_conv_shape s = {.n = 1, .h = H, .w = W, .cin = C, .cout = O, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                        .dh = 1, .dw = 1, .group = 1};
    lqf_conv_shape_init(&s);
    int64_t pn = (int64_t)lqf_conv_weight_size(&s);
    int wt = lqf_graph_add_tensor(g, "sc.w", LQF_T_PARAM, 1, &pn, 0);
    lqf_backend_default()->conv_pack_weights(&s, w_oihw, lqf_graph_data(g, wt));
    int in[3] = {x, wt, add_param(g, "sc.b", bias, O)};
    int nd = lqf_graph_add_node(g, LQF_OP_CONV, "shortcut", in, 3, out);
    lqf_node *n = &g->nodes[nd];
    n->a.conv.kh = n->a.conv.kw = 1;
    n->a.conv.sh = n->a.conv.sw = 1;
    n->a.conv.dh = n->a.conv.dw = 1;
    n->a.conv.group = 1;
}

/* shortcut = 0: residual is the PRelu output (computed before the second conv);
 * shortcut = 1: residual is a 1x1 conv of the input added to the graph AFTER the second
 * conv's BatchNorm (the order PyTorch exports IResNet's downsample branch in). */
static lqf_graph *build(const weights *w, int shortcut) {
    lqf_graph *g = lqf_graph_new();
    int64_t xd[4] = {1, C, H, W}, ad[4] = {1, O, H, W};
    int x = lqf_graph_add_tensor(g, "x", LQF_T_INPUT, 4, xd, 1);
    g->inputs[g->n_inputs++] = x;
    const char *names[] = {"c1", "n1", "p1", "c2", "n2", "sum", "y", "sc"};
    int t[8];
    for (int k = 0; k < 8; k++) t[k] = lqf_graph_add_tensor(g, names[k], LQF_T_ACT, 4, ad, 1);
    add_conv(g, "conv1", x, C, w->w1, NULL, 1, t[0]);
    add_bn(g, "bn1", t[0], w->g1, w->be1, w->m1, w->v1, t[1]);
    int sl = add_param(g, "slope", w->slope, O);
    int pin[2] = {t[1], sl};
    lqf_graph_add_node(g, LQF_OP_PRELU, "prelu1", pin, 2, t[2]);
    add_conv(g, "dw2", t[2], O, w->w2, w->b2, O, t[3]);
    add_bn(g, "bn2", t[3], w->g2, w->be2, w->m2, w->v2, t[4]);
    if (shortcut) add_conv1x1(g, x, w->w3, w->b3, t[7]);
    int ain[2] = {t[4], shortcut ? t[7] : t[2]};
    lqf_graph_add_node(g, LQF_OP_ADD, "add", ain, 2, t[5]);
    lqf_graph_add_node(g, LQF_OP_RELU, "relu", &t[5], 1, t[6]);
    g->outputs[g->n_outputs++] = t[6];
    return g;
}

/* lqface's own backbones (reduced widths) with random BN statistics: the optimised graph
 * (BN folded, PRelu and residuals fused) computes what the plain graph computes */
static void check_backbone(lqf_backbone_kind kind, int depth, const char *what) {
    lqf_backbone_config c;
    lqf_backbone_config_default(&c, kind, depth);
    int wd[4] = {16, 32, 48, 64};
    memcpy(c.width, wd, sizeof wd);
    c.input_h = c.input_w = 48;
    c.emb = 64;
    c.mfn_base = 16;
    c.mfn_sep = 64;
    lqf_net *nets[2] = {NULL, NULL};
    for (int opt = 0; opt < 2; opt++) {
        lqf_graph *g = NULL;
        if (!CHECK(lqf_backbone_build(&c, &g) == LQF_OK)) {
            fprintf(stderr, "%s: %s\n", what, lqf_last_error());
            return;
        }
        unsigned seed = 99;
        for (int t = 0; t < g->n_tensors; t++) {
            lqf_tensor *T = &g->tensors[t];
            int stat = strstr(T->name, "running_") != NULL, bias = strstr(T->name, ".bias") != NULL;
            if ((T->kind == LQF_T_PARAM || T->kind == LQF_T_CONST) && T->ndim == 1 && (stat || bias)) {
                float *d = lqf_graph_data(g, t);
                int var = strstr(T->name, "running_var") != NULL;
                for (int64_t i = 0; i < T->dims[0]; i++)
                    d[i] = (float)(var ? 1.0 + 0.5 * frand(&seed) : 0.3 * frand(&seed));
            }
        }
        CHECK(lqf_net_from_graph(g, opt, &nets[opt]) == LQF_OK);
    }
    if (!nets[0] || !nets[1]) return;
    const lqf_graph *g0 = lqf_net_graph(nets[0]), *g1 = lqf_net_graph(nets[1]);
    int bn = 0, fused = 0;
    for (int i = 0; i < g1->n_nodes; i++) {
        bn += g1->nodes[i].op == LQF_OP_BATCHNORM;
        fused += g1->nodes[i].op == LQF_OP_CONV && g1->nodes[i].a.conv.residual >= 0;
    }
    printf("%s: %d nodes plain, %d optimised (%d BatchNorm left: not after a conv; %d residuals fused)\n", what,
           g0->n_nodes, g1->n_nodes, bn, fused);
    CHECK(g1->n_nodes < g0->n_nodes && fused > 0);
    int64_t od[8];
    int ond = lqf_net_output_shape(nets[0], 0, 2, od);
    size_t ny = 1, nx = 2 * 3 * 48 * 48;
    for (int k = 0; k < ond; k++) ny *= (size_t)od[k];
    float *x = malloc(nx * sizeof(float)), *y0 = calloc(ny, sizeof(float)), *y1 = calloc(ny, sizeof(float));
    unsigned seed = 5;
    for (size_t i = 0; i < nx; i++) x[i] = (float)frand(&seed);
    float *o0 = y0, *o1 = y1;
    CHECK(lqf_net_run(nets[0], 2, (const float *const *)&x, &o0) == LQF_OK);
    CHECK(lqf_net_run(nets[1], 2, (const float *const *)&x, &o1) == LQF_OK);
    char label[160];
    snprintf(label, sizeof label, "%s: optimised = plain (tol 1e-4 x max %.3g)", what, tu_max_abs(y0, ny));
    CHECK(tu_max_abs(y0, ny) > 0);
    tu_close(label, y1, y0, ny, 1e-4 * tu_max_abs(y0, ny), 0);
    free(x);
    free(y0);
    free(y1);
    lqf_net_free(nets[0]);
    lqf_net_free(nets[1]);
}

/* The op table: a complete row per operator (name, shape inference, forward; a training
 * check only with a backward), names unique, nothing past the end; an executor refuses a
 * graph whose stored dims disagree with shape inference, and a training executor an
 * operator without a backward, each naming the node. */
static void check_op_table(void) {
    int bad = 0;
    for (int k = 0; k < LQF_OP_COUNT; k++) {
        const lqf_op_def *d = lqf_op_get((lqf_op)k);
        if (!d || !d->name || !d->infer || !d->forward || (d->can_train && !d->backward)) bad++;
        for (int j = 0; d && j < k; j++)
            if (!strcmp(lqf_op_table[j]->name, d->name)) bad++;
    }
    CHECK(bad == 0 && lqf_op_get(LQF_OP_COUNT) == NULL && lqf_op_get((lqf_op)-1) == NULL);
    CHECK(!strcmp(lqf_op_table[LQF_OP_BATCHNORM]->name, "BatchNormalization"));
    for (int wrong = 0; wrong < 2; wrong++) {
        lqf_graph *g = lqf_graph_new();
        int64_t d2[2] = {1, 4}, d5[2] = {1, 5};
        int gx = lqf_graph_add_tensor(g, "x", LQF_T_INPUT, 2, d2, 1);
        int gy = lqf_graph_add_tensor(g, "y", LQF_T_ACT, 2, wrong ? d5 : d2, 1);
        g->inputs[g->n_inputs++] = gx;
        lqf_graph_add_node(g, wrong ? LQF_OP_RELU : LQF_OP_EXP, "node_y", &gx, 1, gy);
        g->outputs[g->n_outputs++] = gy;
        lqf_exec *p = NULL;
        lqf_status st = lqf_exec_create(g, 2, wrong ? LQF_EXEC_INFER : LQF_EXEC_TRAIN, &p);
        printf("%s: %s: %s\n", wrong ? "stored dims 1x5 for 1x4" : "training Exp", lqf_status_string(st),
               lqf_last_error());
        CHECK(st == (wrong ? LQF_ERR_SHAPE : LQF_ERR_UNSUPPORTED) && p == NULL &&
              strstr(lqf_last_error(), "'node_y'") != NULL);
        lqf_graph_free(g);
    }
}

int main(void) {
    check_backbone(LQF_BACKBONE_IRESNET, 18, "IResNet-18 (insightface)");
    check_backbone(LQF_BACKBONE_IRESNET_ADAFACE, 18, "IResNet-18 (AdaFace)");
    check_backbone(LQF_BACKBONE_MOBILEFACENET, 0, "MobileFaceNet");
    weights w;
    unsigned seed = 7;
    for (int i = 0; i < O * C * 9; i++) w.w1[i] = (float)(0.3 * frand(&seed));
    for (int i = 0; i < O * 9; i++) w.w2[i] = (float)(0.4 * frand(&seed));
    for (int o = 0; o < O; o++) {
        w.b2[o] = (float)(0.2 * frand(&seed));
        w.g1[o] = (float)(1 + 0.4 * frand(&seed));
        w.be1[o] = (float)(0.3 * frand(&seed));
        w.m1[o] = (float)(0.2 * frand(&seed));
        w.v1[o] = (float)(1 + 0.5 * frand(&seed));
        w.g2[o] = (float)(1 + 0.4 * frand(&seed));
        w.be2[o] = (float)(0.3 * frand(&seed));
        w.m2[o] = (float)(0.2 * frand(&seed));
        w.v2[o] = (float)(1 + 0.5 * frand(&seed));
        w.slope[o] = (float)(0.25 * (1 + frand(&seed)));
        w.b3[o] = (float)(0.2 * frand(&seed));
    }
    for (int i = 0; i < O * C; i++) w.w3[i] = (float)(0.4 * frand(&seed));
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * O * H * W;
    float *x = malloc(nx * sizeof(float));
    double *xd = malloc(nx * sizeof(double)), *a = malloc(ny * sizeof(double)), *b = malloc(ny * sizeof(double));
    for (size_t i = 0; i < nx; i++) xd[i] = x[i] = (float)frand(&seed);

    /* reference */
    conv_ref(xd, C, w.w1, NULL, 1, a);
    bn_ref(a, w.g1, w.be1, w.m1, w.v1);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int k = 0; k < H * W; k++) {
                double *p = &a[(n * O + o) * H * W + k];
                if (*p < 0) *p *= w.slope[o];
            }
    conv_ref(a, O, w.w2, w.b2, O, b);
    bn_ref(b, w.g2, w.be2, w.m2, w.v2);
    float *ref = malloc(ny * sizeof(float)), *ref_sc = malloc(ny * sizeof(float));
    for (size_t i = 0; i < ny; i++) {
        double s = b[i] + a[i];
        ref[i] = (float)(s > 0 ? s : 0);
    }
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int k = 0; k < H * W; k++) {
                double s = w.b3[o];
                for (int c = 0; c < C; c++) s += w.w3[o * C + c] * xd[(n * C + c) * H * W + k];
                s += b[(n * O + o) * H * W + k];
                ref_sc[(n * O + o) * H * W + k] = (float)(s > 0 ? s : 0);
            }

    for (int run = 0; run < 4; run++) {
        int opt = run & 1, shortcut = run >> 1;
        lqf_net *net = NULL;
        CHECK(lqf_net_from_graph(build(&w, shortcut), opt, &net) == LQF_OK);
        const lqf_graph *g = lqf_net_graph(net);
        int bn = 0, fused_act = 0, fused_res = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            bn += g->nodes[i].op == LQF_OP_BATCHNORM;
            if (g->nodes[i].op == LQF_OP_CONV) {
                fused_act += g->nodes[i].a.conv.act == LQF_ACT_PRELU;
                fused_res += g->nodes[i].a.conv.residual >= 0;
            }
        }
        printf("%s graph%s: %d nodes, %d BatchNorm, %d PRelu fused, %d residual fused\n", opt ? "optimised" : "plain",
               shortcut ? " with a later shortcut conv" : "", g->n_nodes, bn, fused_act, fused_res);
        if (opt) CHECK(g->n_nodes == 3 + shortcut && bn == 0 && fused_act == 1 && fused_res == 1);
        else CHECK(g->n_nodes == 7 + shortcut && bn == 2);
        float *y = malloc(ny * sizeof(float));
        CHECK(lqf_net_run(net, N, (const float *const *)&x, &y) == LQF_OK);
        char label[128];
        snprintf(label, sizeof label, "%s graph%s vs direct double evaluation", opt ? "optimised" : "plain",
                 shortcut ? " (shortcut conv)" : "");
        tu_close(label, y, shortcut ? ref_sc : ref, ny, 1e-5, 1e-5);
        lqf_net_stats st;
        lqf_net_get_stats(net, &st);
        CHECK(st.macs == (int64_t)H * W * O * (C * 9 + 9 + shortcut * C));
        free(y);
        lqf_net_free(net);
    }
    /* a graph whose node reads an activation nobody produced is refused by the executor */
    {
        lqf_graph *g = lqf_graph_new();
        int64_t d2[2] = {1, 4};
        int gx = lqf_graph_add_tensor(g, "x", LQF_T_INPUT, 2, d2, 1);
        int orphan = lqf_graph_add_tensor(g, "orphan", LQF_T_ACT, 2, d2, 1);
        int gy = lqf_graph_add_tensor(g, "y", LQF_T_ACT, 2, d2, 1);
        g->inputs[g->n_inputs++] = gx;
        int in2[2] = {gx, orphan};
        lqf_graph_add_node(g, LQF_OP_ADD, "add_orphan", in2, 2, gy);
        g->outputs[g->n_outputs++] = gy;
        lqf_exec *p = NULL;
        lqf_status st = lqf_exec_create(g, 1, LQF_EXEC_INFER, &p);
        printf("orphan input: %s: %s\n", lqf_status_string(st), lqf_last_error());
        CHECK(st == LQF_ERR_ARG && p == NULL && strstr(lqf_last_error(), "'orphan'") != NULL);
        lqf_graph_free(g);
    }
    check_op_table();
    free(x);
    free(xd);
    free(a);
    free(b);
    free(ref);
    free(ref_sc);
    return tu_finish("test_onnx_graph");
}
