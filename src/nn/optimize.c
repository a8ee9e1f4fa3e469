/*
 * optimize.c — rewrites of a graph. lqf_graph_fold_batchnorm: a BatchNormalization that alone
 * reads an unfused convolution's output is folded into the convolution's weights and bias
 * (the inference statistics: training a folded network trains the convolution only). It is
 * the first step of lqf_graph_optimize (inference), which then makes a Relu/PRelu/LeakyRelu/
 * Sigmoid that is the only reader of a convolution's output the convolution's epilogue
 * activation, and an Add whose one operand is a convolution output read only there and
 * whose other operand has the same shape and layout the convolution's residual (added after
 * the activation, the backend.h epilogue order; when the residual is computed after the
 * convolution, the convolution moves to the Add's place), and drops nodes whose result
 * nobody reads. Both passes keep the node list in topological order and drop the tensors no
 * node reads or writes (their storage leaves graph->params, which is rebuilt in tensor
 * order with the builder's alignment).
 */
#include "nn/graph.h"

#include <math.h>
#include <string.h>

/* readers[t]: node reads (inputs, residuals, slopes) plus graph-output uses */
static void count_readers(const lqf_graph *g, const char *dead, int *readers) {
    memset(readers, 0, (size_t)g->n_tensors * sizeof *readers);
    for (int i = 0; i < g->n_nodes; i++) {
        if (dead[i]) continue;
        const lqf_node *n = &g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0) readers[n->in[k]]++;
        if (n->op == LQF_OP_CONV) {
            if (n->a.conv.residual >= 0) readers[n->a.conv.residual]++;
            if (n->a.conv.act_param >= 0) readers[n->a.conv.act_param]++;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) readers[g->outputs[i]]++;
}

static int same_dims(const lqf_tensor *a, const lqf_tensor *b) {
    if (a->ndim != b->ndim || a->batched != b->batched || a->nhwc != b->nhwc) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

static int is_const(const lqf_graph *g, int t) {
    return t >= 0 && (g->tensors[t].kind == LQF_T_PARAM || g->tensors[t].kind == LQF_T_CONST);
}

/* Move node `from`'s output to conv node `c` (the conv now produces it). */
static void take_output(lqf_graph *g, int c, int from) {
    g->nodes[c].out = g->nodes[from].out;
    g->tensors[g->nodes[c].out].producer = c;
}

/* Fold BatchNorm node b into conv node c (b reads only c's output). A convolution without a
 * bias takes over the BatchNorm's shift tensor as its bias when nothing else reads it (the
 * ONNX importer's layout: the bias sits where the shift was), else gets a new one. The
 * arithmetic is in double from the float values: sc = gamma / sqrt(var + eps), w * sc, and
 * (b - mean) * sc + beta. */
static lqf_status fold_bn(lqf_graph *g, int c, int b, const int *readers) {
    lqf_node *cn = &g->nodes[c];
    const lqf_node *bn = &g->nodes[b];
    lqf_conv_shape s;
    lqf_node_conv_shape(cn, g->tensors[cn->in[0]].dims, &s);
    int O = s.cout;
    size_t per = (size_t)s.cin / (size_t)s.group * (size_t)s.kh * (size_t)s.kw;
    int own_bias = cn->nin >= 3 && cn->in[2] >= 0;
    if (!own_bias) {
        int beta = bn->in[2], bt = beta;
        if (g->tensors[beta].kind != LQF_T_PARAM || readers[beta] != 1) {
            int64_t d = O;
            bt = lqf_graph_add_tensor(g, g->tensors[beta].name, LQF_T_PARAM, 1, &d, 0);
            if (bt < 0) return lqf_fail(LQF_ERR_NOMEM, "out of memory folding BatchNorm");
        }
        cn = &g->nodes[c];
        cn->in[2] = bt;
        cn->nin = 3;
    }
    float *w = malloc((size_t)O * per * sizeof(float));
    if (!w) return lqf_fail(LQF_ERR_NOMEM, "out of memory folding BatchNorm");
    float *wp = lqf_graph_data(g, cn->in[1]), *bias = lqf_graph_data(g, cn->in[2]);
    const float *ga = lqf_graph_data(g, bn->in[1]), *be = lqf_graph_data(g, bn->in[2]);
    const float *mu = lqf_graph_data(g, bn->in[3]), *va = lqf_graph_data(g, bn->in[4]);
    lqf_backend_default()->conv_unpack_weights(&s, wp, w);
    for (int o = 0; o < O; o++) {
        double sc = ga[o] / sqrt((double)va[o] + bn->a.bn.eps);
        double b0 = own_bias ? (double)bias[o] : 0.0; /* bias may be be itself */
        for (size_t i = 0; i < per; i++) w[o * per + i] = (float)(w[o * per + i] * sc);
        bias[o] = (float)((b0 - mu[o]) * sc + be[o]);
    }
    lqf_backend_default()->conv_pack_weights(&s, w, wp);
    free(w);
    return LQF_OK;
}

/* The live convolution producing tensor x, or -1. */
static int conv_producer(const lqf_graph *g, const char *dead, int x) {
    if (x < 0 || g->tensors[x].producer < 0) return -1;
    int c = g->tensors[x].producer;
    return dead[c] || g->nodes[c].op != LQF_OP_CONV ? -1 : c;
}

static lqf_status fold_batchnorms(lqf_graph *g, char *dead, int *readers) {
    count_readers(g, dead, readers);
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *n = &g->nodes[i];
        if (dead[i] || n->op != LQF_OP_BATCHNORM) continue;
        int x = n->in[0], c = conv_producer(g, dead, x);
        if (c < 0 || readers[x] != 1 || g->nodes[c].a.conv.act != LQF_ACT_NONE || g->nodes[c].a.conv.residual >= 0)
            continue;
        int ok = 1;
        for (int k = 1; k < 5; k++) ok &= is_const(g, n->in[k]);
        if (!ok) continue;
        lqf_status st = fold_bn(g, c, i, readers);
        if (st) return st;
        take_output(g, c, i);
        dead[i] = 1;
    }
    return LQF_OK;
}

/* An activation that alone reads an unfused convolution's output becomes its epilogue. */
static void fuse_activations(lqf_graph *g, char *dead, int *readers) {
    count_readers(g, dead, readers);
    for (int i = 0; i < g->n_nodes; i++) {
        lqf_node *n = &g->nodes[i];
        if (dead[i] || (n->op != LQF_OP_RELU && n->op != LQF_OP_PRELU && n->op != LQF_OP_LEAKYRELU &&
                        n->op != LQF_OP_SIGMOID))
            continue;
        int x = n->in[0], c = conv_producer(g, dead, x);
        if (c < 0) continue;
        lqf_node *cn = &g->nodes[c];
        if (readers[x] != 1 || cn->a.conv.act != LQF_ACT_NONE || cn->a.conv.residual >= 0 ||
            !same_dims(&g->tensors[x], &g->tensors[n->out]))
            continue;
        if (n->op == LQF_OP_PRELU) {
            int64_t ns = lqf_tensor_numel(&g->tensors[n->in[1]]);
            if (ns != 1 && ns != g->tensors[x].dims[1]) continue;
            cn->a.conv.act = LQF_ACT_PRELU;
            cn->a.conv.act_param = n->in[1];
        } else {
            cn->a.conv.act = n->op == LQF_OP_RELU ? LQF_ACT_RELU : n->op == LQF_OP_SIGMOID ? LQF_ACT_SIGMOID : LQF_ACT_LEAKY;
            cn->a.conv.alpha = n->a.alpha;
        }
        take_output(g, c, i);
        dead[i] = 1;
    }
}

/* Remove dead nodes from the list (producers renumbered). */
static void compact_nodes(lqf_graph *g, const char *dead) {
    int k = 0;
    for (int t = 0; t < g->n_tensors; t++) g->tensors[t].producer = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (dead[i]) {
            free(g->nodes[i].name);
            continue;
        }
        g->nodes[k] = g->nodes[i];
        g->tensors[g->nodes[k].out].producer = k;
        k++;
    }
    g->n_nodes = k;
}

/* Drop the tensors that are neither graph inputs/outputs nor read or written by a node, and
 * rebuild graph->params with the kept PARAM/CONST tensors in order (16-float aligned, as
 * lqf_graph_add_tensor places them). */
static lqf_status drop_unused_tensors(lqf_graph *g) {
    int nt = g->n_tensors;
    int *map = malloc(((size_t)nt + 1) * sizeof *map);
    if (!map) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory optimising", g->source ? g->source : "network");
    for (int t = 0; t < nt; t++) map[t] = -1;
    for (int i = 0; i < g->n_inputs; i++) map[g->inputs[i]] = 0;
    for (int i = 0; i < g->n_outputs; i++) map[g->outputs[i]] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *n = &g->nodes[i];
        map[n->out] = 0;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= 0) map[n->in[k]] = 0;
        if (n->op == LQF_OP_CONV && n->a.conv.residual >= 0) map[n->a.conv.residual] = 0;
        if (n->op == LQF_OP_CONV && n->a.conv.act_param >= 0) map[n->a.conv.act_param] = 0;
    }
    size_t np = 0;
    for (int t = 0; t < nt; t++) {
        const lqf_tensor *T = &g->tensors[t];
        if (map[t] == 0 && (T->kind == LQF_T_PARAM || T->kind == LQF_T_CONST))
            np = ((np + 15) & ~(size_t)15) + (size_t)lqf_tensor_numel(T);
    }
    float *params = lqf_calloc((np + 16) * sizeof(float));
    if (!params) {
        free(map);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory optimising", g->source ? g->source : "network");
    }
    int k = 0;
    size_t off = 0;
    for (int t = 0; t < nt; t++) {
        lqf_tensor T = g->tensors[t];
        if (map[t] < 0) {
            free(T.name);
            continue;
        }
        if (T.kind == LQF_T_PARAM || T.kind == LQF_T_CONST) {
            off = (off + 15) & ~(size_t)15;
            memcpy(params + off, g->params + T.offset, (size_t)lqf_tensor_numel(&T) * sizeof(float));
            T.offset = off;
            off += (size_t)lqf_tensor_numel(&T);
        }
        map[t] = k;
        g->tensors[k++] = T;
    }
    g->n_tensors = k;
    lqf_free(g->params);
    g->params = params;
    g->n_params = np;
    g->cap_params = np + 16;
    for (int i = 0; i < g->n_inputs; i++) g->inputs[i] = map[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++) g->outputs[i] = map[g->outputs[i]];
    for (int i = 0; i < g->n_nodes; i++) {
        lqf_node *n = &g->nodes[i];
        n->out = map[n->out];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] >= 0) n->in[j] = map[n->in[j]];
        if (n->op == LQF_OP_CONV && n->a.conv.residual >= 0) n->a.conv.residual = map[n->a.conv.residual];
        if (n->op == LQF_OP_CONV && n->a.conv.act_param >= 0) n->a.conv.act_param = map[n->a.conv.act_param];
        g->tensors[n->out].producer = i;
    }
    free(map);
    return LQF_OK;
}

/* Scratch of a pass: dead[node], readers[tensor] with room for the tensors folding adds. */
static lqf_status pass_begin(lqf_graph *g, char **dead, int **readers) {
    *dead = calloc((size_t)g->n_nodes + 1, 1);
    /* folding a BatchNorm into a bias-free convolution may add a bias tensor: room for one per node */
    *readers = malloc(((size_t)g->n_tensors + (size_t)g->n_nodes + 8) * sizeof **readers);
    if (*dead && *readers) return LQF_OK;
    free(*dead);
    free(*readers);
    return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory optimising", g->source ? g->source : "network");
}

static lqf_status pass_end(lqf_graph *g, lqf_status st, char *dead, int *readers) {
    if (st == LQF_OK) {
        compact_nodes(g, dead);
        st = drop_unused_tensors(g);
    }
    free(dead);
    free(readers);
    return st;
}

lqf_status lqf_graph_fold_batchnorm(lqf_graph *g) {
    char *dead;
    int *readers;
    lqf_status st = pass_begin(g, &dead, &readers);
    if (st) return st;
    return pass_end(g, fold_batchnorms(g, dead, readers), dead, readers);
}

lqf_status lqf_graph_optimize(lqf_graph *g) {
    char *dead;
    int *readers;
    lqf_status st = pass_begin(g, &dead, &readers);
    if (st) return st;
    int nn = g->n_nodes;
    if ((st = fold_batchnorms(g, dead, readers)) == LQF_OK) fuse_activations(g, dead, readers);
    /* residual adds: try each operand as the convolution side */
    if (st == LQF_OK) {
        count_readers(g, dead, readers);
        for (int i = 0; i < nn; i++) {
            lqf_node *n = &g->nodes[i];
            if (dead[i] || n->op != LQF_OP_ADD || n->nin != 2) continue;
            for (int side = 0; side < 2; side++) {
                int x = n->in[side], r = n->in[1 - side];
                if (x == r || g->tensors[x].producer < 0) continue;
                int c = g->tensors[x].producer;
                lqf_node *cn = &g->nodes[c];
                if (dead[c] || cn->op != LQF_OP_CONV || cn->a.conv.residual >= 0 || readers[x] != 1) continue;
                const lqf_tensor *tr = &g->tensors[r], *tx = &g->tensors[x];
                if (!same_dims(tx, tr) || !same_dims(tx, &g->tensors[n->out]) || !tx->nhwc) continue;
                if (tr->kind == LQF_T_ACT && tr->producer < 0) continue;
                cn->a.conv.residual = r;
                if (tr->kind == LQF_T_ACT && tr->producer >= c) {
                    /* the residual is computed after the convolution (a shortcut branch
                     * exported later): run the convolution in the Add's place instead; its
                     * inputs exist there already and only the Add read its output */
                    lqf_node moved = *cn;
                    moved.out = n->out;
                    cn->name = NULL;
                    free(n->name);
                    g->nodes[i] = moved;
                    g->tensors[moved.out].producer = i;
                    dead[c] = 1;
                } else {
                    take_output(g, c, i);
                    dead[i] = 1;
                }
                break;
            }
        }
    }
    /* drop nodes nobody reads (repeat until stable) */
    if (st == LQF_OK) {
        int changed = 1;
        while (changed) {
            changed = 0;
            count_readers(g, dead, readers);
            for (int i = nn - 1; i >= 0; i--)
                if (!dead[i] && readers[g->nodes[i].out] == 0) {
                    dead[i] = 1;
                    changed = 1;
                }
        }
    }
    return pass_end(g, st, dead, readers);
}
