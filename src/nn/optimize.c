/*
 * optimize.c — inference rewrites of a graph (lqf_graph_optimize): BatchNormalization after
 * a convolution is folded into the convolution's weights and bias; a Relu/PRelu/LeakyRelu/
 * Sigmoid that is the only reader of a convolution's output becomes the convolution's
 * epilogue activation; an Add whose one operand is a convolution output read only there
 * and whose other operand has the same shape and layout becomes the convolution's residual
 * (added after the activation, the backend.h epilogue order; when the residual is computed
 * after the convolution, the convolution moves to the Add's place); nodes whose result nobody reads are dropped. The node list stays in
 * topological order; tensors that lose their producer are simply left unused.
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

static lqf_status fold_bn(lqf_graph *g, int c, int b) {
    lqf_node *cn = &g->nodes[c];
    const lqf_node *bn = &g->nodes[b];
    lqf_conv_shape s;
    lqf_node_conv_shape(cn, g->tensors[cn->in[0]].dims, &s);
    int O = s.cout;
    size_t per = (size_t)s.cin / (size_t)s.group * (size_t)s.kh * (size_t)s.kw;
    if (cn->nin < 3 || cn->in[2] < 0) {
        int64_t d = O;
        int bt = lqf_graph_add_tensor(g, g->tensors[bn->in[2]].name, LQF_T_PARAM, 1, &d, 0);
        if (bt < 0) return lqf_fail(LQF_ERR_NOMEM, "out of memory folding BatchNorm");
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
        for (size_t i = 0; i < per; i++) w[o * per + i] = (float)(w[o * per + i] * sc);
        bias[o] = (float)((bias[o] - mu[o]) * sc + be[o]);
    }
    lqf_backend_default()->conv_pack_weights(&s, w, wp);
    free(w);
    return LQF_OK;
}

lqf_status lqf_graph_optimize(lqf_graph *g) {
    int nn = g->n_nodes;
    char *dead = calloc((size_t)nn + 1, 1);
    /* folding a BatchNorm into a bias-free convolution adds a bias tensor: room for one per node */
    int *readers = malloc(((size_t)g->n_tensors + (size_t)nn + 8) * sizeof *readers);
    if (!dead || !readers) {
        free(dead);
        free(readers);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory optimising", g->source ? g->source : "network");
    }
    lqf_status st = LQF_OK;
    count_readers(g, dead, readers);
    for (int i = 0; i < nn; i++) {
        lqf_node *n = &g->nodes[i];
        if (dead[i]) continue;
        int x = n->in[0];
        if (x < 0 || g->tensors[x].producer < 0) continue;
        int c = g->tensors[x].producer;
        if (dead[c] || g->nodes[c].op != LQF_OP_CONV) continue;
        lqf_node *cn = &g->nodes[c];
        int single = readers[x] == 1;
        if (n->op == LQF_OP_BATCHNORM && single && cn->a.conv.act == LQF_ACT_NONE && cn->a.conv.residual < 0) {
            int ok = 1;
            for (int k = 1; k < 5; k++) ok &= is_const(g, n->in[k]);
            if (!ok) continue;
            if ((st = fold_bn(g, c, i)) != LQF_OK) break;
            take_output(g, c, i);
            dead[i] = 1;
        } else if ((n->op == LQF_OP_RELU || n->op == LQF_OP_PRELU || n->op == LQF_OP_LEAKYRELU ||
                    n->op == LQF_OP_SIGMOID) &&
                   single && cn->a.conv.act == LQF_ACT_NONE && cn->a.conv.residual < 0 &&
                   same_dims(&g->tensors[x], &g->tensors[n->out])) {
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
    /* compact the node list */
    int k = 0;
    for (int t = 0; t < g->n_tensors; t++) g->tensors[t].producer = -1;
    for (int i = 0; i < nn; i++) {
        if (dead[i]) {
            free(g->nodes[i].name);
            continue;
        }
        g->nodes[k] = g->nodes[i];
        g->tensors[g->nodes[k].out].producer = k;
        k++;
    }
    g->n_nodes = k;
    free(dead);
    free(readers);
    return st;
}
