/*
 * shape.c — shape inference over a graph: every activation's logical dims from the inputs'
 * through each operator's lqf_op_def.infer, in node order. lqf_graph_shapes gives the dims at
 * a batch (what an executor binds) and checks them against the graph's own; it also checks
 * that every tensor a node reads exists before the node runs. lqf_graph_infer_shapes
 * rewrites the graph's dims after a builder changed an input's size.
 */
#include "nn/graph.h"

#include <string.h>

static const char *src_of(const lqf_graph *g) { return g->source ? g->source : "network"; }

static int same_shape(const lqf_shape *a, int ndim, const int64_t *dims, int from) {
    if (a->ndim != ndim) return 0;
    for (int i = from; i < ndim; i++)
        if (a->dims[i] != dims[i]) return 0;
    return 1;
}

static void shape_text(const lqf_shape *s, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < s->ndim && k + 24 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "x" : "", (long long)s->dims[i]);
    if (!s->ndim) snprintf(buf, cap, "a scalar");
}

/* Every tensor node i reads (inputs, fused residual and slope) exists before it runs, and it
 * writes an activation. */
static lqf_status check_reads(const lqf_graph *g, int i) {
    const lqf_node *nd = &g->nodes[i];
    const lqf_op_def *def = lqf_op_get(nd->op);
    if (!def) return lqf_fail(LQF_ERR_ARG, "%s: node '%s': unknown operator %d", src_of(g), nd->name, (int)nd->op);
    int reads[LQF_MAX_NODE_IN + 2], nr = 0;
    for (int k = 0; k < nd->nin; k++) reads[nr++] = nd->in[k];
    if (def->extra_reads) nr += def->extra_reads(nd, reads + nr);
    for (int k = 0; k < nr; k++) {
        int t = reads[k];
        if (t < 0 && k > 0) continue; /* an absent optional input */
        if (t < 0 || t >= g->n_tensors)
            return lqf_fail(LQF_ERR_ARG, "%s: node '%s' reads tensor %d, which does not exist", src_of(g), nd->name, t);
        const lqf_tensor *T = &g->tensors[t];
        if (T->kind == LQF_T_ACT && (T->producer < 0 || T->producer >= i))
            return lqf_fail(LQF_ERR_ARG, "%s: node '%s' reads '%s' before any node produces it", src_of(g), nd->name,
                            T->name);
    }
    if (nd->out < 0 || nd->out >= g->n_tensors || g->tensors[nd->out].kind != LQF_T_ACT)
        return lqf_fail(LQF_ERR_ARG, "%s: node '%s' does not write an activation tensor", src_of(g), nd->name);
    return LQF_OK;
}

/* check: 1 compares each result with the graph's dims (dim 0 = batch for batched tensors);
 * 0 refuses `fixed` nodes whose inputs changed instead. */
static lqf_status walk(const lqf_graph *g, int batch, lqf_shape *sh, int check) {
    for (int t = 0; t < g->n_tensors; t++) {
        const lqf_tensor *T = &g->tensors[t];
        sh[t].ndim = T->ndim;
        memcpy(sh[t].dims, T->dims, sizeof T->dims);
        if (T->kind == LQF_T_INPUT && T->batched && T->ndim > 0) sh[t].dims[0] = batch;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *nd = &g->nodes[i];
        lqf_status st = check_reads(g, i);
        if (st != LQF_OK) return st;
        if (!check && nd->fixed)
            for (int k = 0; k < nd->nin; k++) {
                int t = nd->in[k];
                if (t < 0 || g->tensors[t].kind == LQF_T_PARAM || g->tensors[t].kind == LQF_T_CONST) continue;
                if (!same_shape(&sh[t], g->tensors[t].ndim, g->tensors[t].dims, 1))
                    return lqf_fail(LQF_ERR_UNSUPPORTED,
                                    "%s: node '%s': its attributes were computed for the imported input size",
                                    src_of(g), nd->name);
            }
        lqf_shape o;
        memset(&o, 0, sizeof o);
        st = lqf_op_table[nd->op]->infer(g, nd, sh, &o);
        if (st != LQF_OK) return lqf_fail_context(st, "%s: node '%s'", src_of(g), nd->name);
        for (int d = 0; d < o.ndim; d++)
            if (o.dims[d] < 0) return lqf_fail(LQF_ERR_SHAPE, "%s: node '%s': negative dim", src_of(g), nd->name);
        const lqf_tensor *T = &g->tensors[nd->out];
        if (check) {
            int64_t want[LQF_MAX_DIMS];
            memcpy(want, T->dims, sizeof want);
            if (T->batched && T->ndim > 0) want[0] = batch;
            if (!same_shape(&o, T->ndim, want, 0)) {
                char a[160], b[160];
                lqf_shape w = {.ndim = T->ndim};
                memcpy(w.dims, want, sizeof want);
                shape_text(&o, a, sizeof a);
                shape_text(&w, b, sizeof b);
                return lqf_fail(LQF_ERR_SHAPE, "%s: node '%s': inferred %s for '%s' at batch %d, the graph has %s",
                                src_of(g), nd->name, a, T->name, batch, b);
            }
        }
        sh[nd->out] = o;
    }
    return LQF_OK;
}

lqf_status lqf_graph_shapes(const lqf_graph *g, int batch, lqf_shape *shapes) { return walk(g, batch, shapes, 1); }

lqf_status lqf_graph_infer_shapes(lqf_graph *g) {
    lqf_shape *sh = malloc(((size_t)g->n_tensors + 1) * sizeof *sh);
    if (!sh) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory inferring shapes", src_of(g));
    lqf_status st = walk(g, g->build_batch, sh, 0);
    if (st == LQF_OK)
        for (int t = 0; t < g->n_tensors; t++)
            if (g->tensors[t].kind == LQF_T_ACT && g->tensors[t].producer >= 0) {
                g->tensors[t].ndim = sh[t].ndim;
                memcpy(g->tensors[t].dims, sh[t].dims, sizeof sh[t].dims);
            }
    free(sh);
    return st;
}
