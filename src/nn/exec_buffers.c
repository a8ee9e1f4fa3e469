/*
 * exec_buffers.c — buffer assignment for the executor (nn/exec.c), over plain arrays: which
 * tensors share which buffer ("slot") and how large each slot is. Values by liveness over
 * the forward walk (inference), or one slot each; activation gradients by liveness over the
 * reverse walk (training). Both take a free slot the same way: the smallest that fits, else
 * the largest (grown).
 */
#include "nn/exec_buffers.h"

#include <string.h>

typedef struct {
    size_t *size;
    char *busy;
    int n;
} slot_pool;

/* A slot of at least `need` floats: a free one when reuse is on, else a new one. */
static int pool_take(slot_pool *p, size_t need, int reuse) {
    int best = -1;
    for (int s = 0; reuse && s < p->n; s++) {
        if (p->busy[s]) continue;
        if (best < 0) {
            best = s;
            continue;
        }
        int fits = p->size[s] >= need, bfits = p->size[best] >= need;
        if (fits && (!bfits || p->size[s] < p->size[best])) best = s;
        else if (!fits && !bfits && p->size[s] > p->size[best]) best = s;
    }
    if (best < 0) {
        best = p->n++;
        p->size[best] = need;
    } else if (p->size[best] < need) {
        p->size[best] = need;
    }
    p->busy[best] = 1;
    return best;
}

static int root_of(const int *alias, int t) {
    while (alias[t] >= 0) t = alias[t];
    return t;
}

/* Every tensor node nd reads: inputs, then its operator's extra reads. */
static int node_reads(const lqf_node *nd, int *t) {
    int k = 0;
    for (int i = 0; i < nd->nin; i++)
        if (nd->in[i] >= 0) t[k++] = nd->in[i];
    const lqf_op_def *def = lqf_op_get(nd->op);
    if (def && def->extra_reads) k += def->extra_reads(nd, t + k);
    return k;
}

int lqf_assign_values(const lqf_graph *g, const int *alias, const int64_t *numel, int share, int *slot_of,
                      size_t *slot_size) {
    int nt = g->n_tensors, nn = g->n_nodes;
    int *last = malloc(((size_t)nt + 1) * sizeof *last);
    char *pinned = calloc((size_t)nt + 1, 1), *busy = calloc((size_t)nt + 1, 1);
    if (!last || !pinned || !busy) {
        free(last), free(pinned), free(busy);
        return -1;
    }
    slot_pool pool = {slot_size, busy, 0};
    for (int t = 0; t < nt; t++) {
        last[t] = -1;
        slot_of[t] = -1;
    }
    /* liveness of buffer roots: the last node reading any alias of the root */
    for (int i = 0; i < nn; i++) {
        const lqf_node *nd = &g->nodes[i];
        int reads[LQF_MAX_NODE_IN + 3], nr = node_reads(nd, reads);
        reads[nr++] = nd->out;
        for (int k = 0; k < nr; k++) {
            int r = root_of(alias, reads[k]);
            if (last[r] < i) last[r] = i;
        }
    }
    /* roots that own a buffer for the whole run: inputs and anything a graph output aliases */
    for (int i = 0; i < g->n_inputs; i++) pinned[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) pinned[root_of(alias, g->outputs[i])] = 1;
    for (int i = 0; i < g->n_inputs; i++) slot_of[g->inputs[i]] = pool_take(&pool, (size_t)numel[g->inputs[i]], 0);
    for (int i = 0; i < nn; i++) {
        const lqf_node *nd = &g->nodes[i];
        int t = nd->out;
        if (alias[t] < 0 && slot_of[t] < 0) slot_of[t] = pool_take(&pool, (size_t)numel[t], share && !pinned[t]);
        if (!share) continue;
        /* release the roots whose last reader is this node */
        int cand[LQF_MAX_NODE_IN + 3], nc = node_reads(nd, cand);
        cand[nc++] = t;
        for (int k = 0; k < nc; k++) {
            int r = root_of(alias, cand[k]);
            if (g->tensors[r].kind != LQF_T_ACT || pinned[r] || slot_of[r] < 0 || last[r] != i) continue;
            busy[slot_of[r]] = 0;
            last[r] = -2; /* released once */
        }
    }
    free(last), free(pinned), free(busy);
    return pool.n;
}

int lqf_assign_grads(const lqf_graph *g, const int64_t *numel, int *slot_of, size_t *slot_size, int *gbirth) {
    int nt = g->n_tensors, nn = g->n_nodes;
    char *pinned = calloc((size_t)nt + 1, 1), *busy = calloc((size_t)nt + 1, 1);
    if (!pinned || !busy) {
        free(pinned), free(busy);
        return -1;
    }
    slot_pool pool = {slot_size, busy, 0};
    for (int t = 0; t < nt; t++) {
        gbirth[t] = -1;
        slot_of[t] = -1;
    }
    for (int i = 0; i < g->n_inputs; i++) pinned[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) pinned[g->outputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) gbirth[g->outputs[i]] = nn;
    for (int i = nn - 1; i >= 0; i--) {
        const lqf_node *nd = &g->nodes[i];
        for (int k = 0; k < nd->nin; k++) {
            int x = nd->in[k];
            if (x < 0 || (g->tensors[x].kind != LQF_T_INPUT && g->tensors[x].kind != LQF_T_ACT)) continue;
            if (gbirth[x] < 0) gbirth[x] = i; /* last reader (first in the reverse walk) */
            if (pinned[x] || slot_of[x] >= 0) continue;
            slot_of[x] = pool_take(&pool, (size_t)numel[x], 1);
        }
        int o = nd->out;
        if (!pinned[o] && slot_of[o] >= 0) busy[slot_of[o]] = 0; /* producer done: dies */
    }
    free(pinned), free(busy);
    return pool.n;
}
