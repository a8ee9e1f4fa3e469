/*
 * graph.c — the builder side of the network graph (see graph.h): growable tensor and node
 * arrays (a new node gets its operator's attribute defaults from the op table), the single
 * parameter buffer that holds every PARAM/CONST tensor, name lookup, and the
 * logical-dims-plus-physical-strides view of a tensor. Note that lqf_graph_add_tensor may
 * grow (realloc) graph->params, so any pointer obtained from lqf_graph_data() before adding
 * another PARAM/CONST tensor is invalidated: re-fetch it after every add.
 */
#include "nn/graph.h"

#include <string.h>

static char *dup_str(const char *s) {
    if (!s) s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

lqf_graph *lqf_graph_new(void) {
    lqf_graph *g = calloc(1, sizeof *g);
    if (g) g->build_batch = 1;
    return g;
}

void lqf_graph_free(lqf_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    for (int i = 0; i < g->n_nodes; i++) free(g->nodes[i].name);
    free(g->tensors);
    free(g->nodes);
    lqf_free(g->params);
    free(g->source);
    free(g);
}

int64_t lqf_tensor_numel(const lqf_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

/* Grow params to hold at least `need` floats; new storage is zeroed. */
static int params_reserve(lqf_graph *g, size_t need) {
    if (need <= g->cap_params) return 0;
    /* parameter sizes come from files (ONNX initializers, a checkpoint's config) */
    if (lqf_check_alloc(lqf_mul_sat(need, sizeof(float)), g->source ? g->source : "network", "the parameters"))
        return -1;
    size_t cap = g->cap_params ? g->cap_params : 1024;
    while (cap < need) cap *= 2;
    float *p = lqf_alloc(cap * sizeof(float));
    if (!p) return lqf_fail(LQF_ERR_NOMEM, "out of memory for %zu parameters", cap), -1;
    if (g->n_params) memcpy(p, g->params, g->n_params * sizeof(float));
    memset(p + g->n_params, 0, (cap - g->n_params) * sizeof(float));
    lqf_free(g->params);
    g->params = p;
    g->cap_params = cap;
    return 0;
}

int lqf_graph_add_tensor(lqf_graph *g, const char *name, lqf_tensor_kind kind, int ndim,
                         const int64_t *dims, int batched) {
    if (ndim < 0 || ndim > LQF_MAX_DIMS) return lqf_fail(LQF_ERR_ARG, "tensor '%s' of rank %d", name, ndim), -1;
    /* dims may point into g->tensors (e.g. another tensor's dims): copy before growing */
    int64_t d[LQF_MAX_DIMS];
    for (int i = 0; i < ndim; i++) d[i] = dims[i];
    if (g->n_tensors == g->cap_tensors) {
        int cap = g->cap_tensors ? 2 * g->cap_tensors : 64;
        lqf_tensor *t = realloc(g->tensors, (size_t)cap * sizeof *t);
        if (!t) return lqf_fail(LQF_ERR_NOMEM, "out of memory"), -1;
        g->tensors = t;
        g->cap_tensors = cap;
    }
    lqf_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = dup_str(name);
    if (!t->name) return lqf_fail(LQF_ERR_NOMEM, "out of memory"), -1;
    t->kind = kind;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = d[i];
    t->batched = batched;
    t->nhwc = ndim == 4;
    t->producer = -1;
    if (kind == LQF_T_PARAM || kind == LQF_T_CONST) {
        int64_t numel = lqf_tensor_numel(t);
        size_t n = (size_t)numel;
        /* keep every tensor 16-float (64-byte) aligned inside params */
        size_t off = (g->n_params + 15) & ~(size_t)15;
        if (numel < 0 || n > SIZE_MAX / 8 - off) lqf_fail(LQF_ERR_ARG, "tensor '%s' of %lld elements", name, (long long)numel);
        if (numel < 0 || n > SIZE_MAX / 8 - off || params_reserve(g, off + n + 16) != 0) {
            free(t->name);
            return -1;
        }
        t->offset = off;
        g->n_params = off + n;
    }
    return g->n_tensors++;
}

int lqf_graph_add_node(lqf_graph *g, lqf_op op, const char *name, const int *in, int nin, int out) {
    if (nin < 0 || nin > LQF_MAX_NODE_IN || out < 0 || out >= g->n_tensors) return -1;
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        lqf_node *n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n) return -1;
        g->nodes = n;
        g->cap_nodes = cap;
    }
    lqf_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = dup_str(name);
    if (!n->name) return -1;
    n->op = op;
    n->nin = nin;
    for (int i = 0; i < nin; i++) n->in[i] = in[i];
    n->out = out;
    const lqf_op_def *def = lqf_op_get(op);
    if (def && def->init) def->init(g, n);
    g->tensors[out].producer = g->n_nodes;
    return g->n_nodes++;
}

int lqf_graph_find_tensor(const lqf_graph *g, const char *name) {
    for (int i = g->n_tensors - 1; i >= 0; i--)
        if (strcmp(g->tensors[i].name, name) == 0) return i;
    return -1;
}

float *lqf_graph_data(lqf_graph *g, int tensor) {
    const lqf_tensor *t = &g->tensors[tensor];
    if (t->kind != LQF_T_PARAM && t->kind != LQF_T_CONST) return NULL;
    return g->params + t->offset;
}

void lqf_tensor_view_dims(const lqf_tensor *t, const lqf_shape *dims, lqf_view *v) {
    if (dims->ndim == 4 && t->nhwc)
        lqf_view_nhwc(v, dims->dims);
    else
        lqf_view_dense(v, dims->ndim, dims->dims);
}

void lqf_tensor_view(const lqf_tensor *t, int batch, lqf_view *v) {
    lqf_shape d;
    d.ndim = t->ndim;
    for (int i = 0; i < t->ndim; i++) d.dims[i] = t->dims[i];
    if (t->batched && t->ndim > 0) d.dims[0] = batch;
    lqf_tensor_view_dims(t, &d, v);
}
