/*
 * exec.c — the executor of exec.h. Creation binds the graph to a batch: the dims of every
 * tensor by shape inference (shape.c), views in each tensor's physical layout, value buffers
 * (shared by liveness for inference, one per tensor for training; exec_buffers.c), one
 * scratch area sized by the largest need of any operator, and for training the gradient
 * buffers, per-node saved state (BatchNorm statistics, dropout masks) and node timings.
 * Forward walks the nodes in topological order and backward in reverse, handing each node
 * to its operator's lqf_op_def (nn/ops.h) through an lqf_op_ctx; gradients of activations
 * are zeroed at their birth (their last reader) and every backward ADDS into them, so a
 * tensor read by several nodes (residual branches) collects every contribution.
 */
#include "nn/exec.h"
#include "nn/exec_buffers.h"

#include <string.h>

struct lqf_exec {
    lqf_graph *g;
    const lqf_backend *be;
    int batch, train, training, input_grad, have_forward;
    uint64_t seed, nfwd;
    int nt, nn;
    lqf_view *views;   /* [nt] */
    float **val;       /* [nt] INPUT/ACT value buffers */
    char *aliased;     /* [nn] the node's output shares its input's buffer */
    float *scratch;
    size_t scratch_n, act_floats, bytes;
    /* training */
    float **grad;      /* [nt] INPUT/ACT gradient buffers */
    int *gbirth;       /* [nt] node at which the gradient is zeroed; nn: never (outputs) */
    char *frozen;      /* [nt] */
    char *want;        /* [nt] gradient wanted (set at each backward) */
    float **save;      /* [nn] */
    float *grads;      /* [n_params] */
    double *tf, *tb;   /* [nn] seconds per node in the last forward / backward */
    void **bufs;       /* every buffer allocation, freed together */
    int nbufs, capbufs;
};

static const char *src_of(const lqf_graph *g) { return g->source ? g->source : "network"; }

/* A buffer of `floats` (+16 of slack, as every kernel buffer), zeroed when asked. */
static float *ex_alloc(lqf_exec *x, size_t floats, int zero) {
    if (x->nbufs == x->capbufs) {
        int cap = x->capbufs ? 2 * x->capbufs : 64;
        void **b = realloc(x->bufs, (size_t)cap * sizeof *b);
        if (!b) return NULL;
        x->bufs = b;
        x->capbufs = cap;
    }
    float *p = x->be->alloc((floats + 16) * sizeof(float));
    if (!p) return NULL;
    if (zero) x->be->zero(p, floats + 16);
    x->bufs[x->nbufs++] = p;
    x->bytes += (floats + 16) * sizeof(float);
    return p;
}

static void ctx_of(const lqf_exec *x, int i, lqf_op_ctx *c) {
    c->be = x->be;
    c->g = x->g;
    c->n = &x->g->nodes[i];
    c->node = i;
    c->batch = x->batch;
    c->training = x->train && x->training;
    c->seed = x->seed;
    c->nfwd = x->nfwd;
    c->views = x->views;
    c->val = x->val;
    c->grad = x->grad;
    c->grads = x->grads;
    c->want = x->want;
    c->save = x->save ? x->save[i] : NULL;
    c->scratch = x->scratch;
    c->aliased = x->aliased[i];
}

void lqf_exec_free(lqf_exec *x) {
    if (!x) return;
    for (int i = 0; i < x->nbufs; i++) x->be->free(x->bufs[i]);
    free(x->bufs);
    free(x->views);
    free(x->val);
    free(x->aliased);
    free(x->grad);
    free(x->gbirth);
    free(x->frozen);
    free(x->want);
    free(x->save);
    free(x->tf);
    free(x->tb);
    free(x);
}

/* Can every node run (and, training, be differentiated)? Which outputs alias their input? */
static lqf_status check_nodes(lqf_exec *x, int *alias) {
    lqf_graph *g = x->g;
    for (int i = 0; i < x->nn; i++) {
        const lqf_node *nd = &g->nodes[i];
        const lqf_op_def *def = lqf_op_table[nd->op];
        lqf_op_ctx c;
        ctx_of(x, i, &c);
        if (x->train) {
            if (!def->backward)
                return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': operator %s has no backward", src_of(g), nd->name,
                                def->name);
            lqf_status st = def->can_train ? def->can_train(&c) : LQF_OK;
            if (st != LQF_OK) return st;
        } else if (def->aliases && nd->nin > 0) {
            lqf_tensor_kind k = g->tensors[nd->in[0]].kind;
            if (k != LQF_T_PARAM && k != LQF_T_CONST && def->aliases(&c)) {
                alias[nd->out] = nd->in[0];
                x->aliased[i] = 1;
            }
        }
    }
    return LQF_OK;
}

/* Value buffers: slots by liveness (inference) or one per tensor (KEEP, training). */
static lqf_status bind_values(lqf_exec *x, const int *alias, const int64_t *numel, int share) {
    int nt = x->nt;
    int *slot_of = malloc(((size_t)nt + 1) * sizeof *slot_of);
    size_t *slot_size = calloc((size_t)nt + 1, sizeof *slot_size);
    float **slot = calloc((size_t)nt + 1, sizeof *slot);
    lqf_status st = LQF_OK;
    int ns = slot_of && slot_size && slot ? lqf_assign_values(x->g, alias, numel, share, slot_of, slot_size) : -1;
    if (ns < 0) st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory creating an executor", src_of(x->g));
    for (int s = 0; s < ns && st == LQF_OK; s++) {
        if (!(slot[s] = ex_alloc(x, slot_size[s], x->train)))
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for activations (%zu floats)", src_of(x->g), slot_size[s]);
        x->act_floats += slot_size[s];
    }
    for (int t = 0; t < nt && st == LQF_OK; t++) {
        int r = t;
        while (alias[r] >= 0) r = alias[r];
        if (slot_of[r] >= 0) x->val[t] = slot[slot_of[r]];
    }
    free(slot_of);
    free(slot_size);
    free(slot);
    return st;
}

/* Training: parameter gradients, saved state, inputs' and outputs' gradients, and the
 * activation gradients by liveness over the reverse walk. */
static lqf_status bind_training(lqf_exec *x, const int64_t *numel) {
    lqf_graph *g = x->g;
    int nt = x->nt;
    const char *why = "gradients";
    if (!(x->grads = ex_alloc(x, g->n_params, 1))) goto oom;
    why = "saved state";
    for (int i = 0; i < x->nn; i++) {
        lqf_op_ctx c;
        ctx_of(x, i, &c);
        const lqf_op_def *def = lqf_op_table[g->nodes[i].op];
        size_t n = def->saved ? def->saved(&c) : 0;
        if (n && !(x->save[i] = ex_alloc(x, n, 1))) goto oom;
    }
    why = "gradients";
    char *pinned = calloc((size_t)nt + 1, 1);
    if (!pinned) goto oom;
    for (int i = 0; i < g->n_inputs; i++) pinned[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) pinned[g->outputs[i]] = 1;
    for (int t = 0; t < nt; t++)
        if (pinned[t] && !(x->grad[t] = ex_alloc(x, (size_t)numel[t], 1))) {
            free(pinned);
            goto oom;
        }
    free(pinned);
    int *slot_of = malloc(((size_t)nt + 1) * sizeof *slot_of);
    size_t *slot_size = calloc((size_t)nt + 1, sizeof *slot_size);
    float **slot = calloc((size_t)nt + 1, sizeof *slot);
    int ns = slot_of && slot_size && slot ? lqf_assign_grads(g, numel, slot_of, slot_size, x->gbirth) : -1;
    int ok = ns >= 0;
    for (int s = 0; s < ns && ok; s++) ok = (slot[s] = ex_alloc(x, slot_size[s], 1)) != NULL;
    for (int t = 0; t < nt && ok; t++)
        if (slot_of[t] >= 0) x->grad[t] = slot[slot_of[t]];
    free(slot_of);
    free(slot_size);
    free(slot);
    if (ok) return LQF_OK;
oom:
    return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for %s", src_of(g), why);
}

lqf_status lqf_exec_create(lqf_graph *g, int batch, int mode, lqf_exec **out) {
    *out = NULL;
    if (!g) return lqf_fail(LQF_ERR_ARG, "lqf_exec_create: graph is NULL");
    if (batch < 1) return lqf_fail(LQF_ERR_ARG, "%s: batch must be >= 1 (got %d)", src_of(g), batch);
    lqf_exec *x = calloc(1, sizeof *x);
    if (!x) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory creating an executor", src_of(g));
    int nt = g->n_tensors, nn = g->n_nodes, train = (mode & LQF_EXEC_TRAIN) != 0;
    x->g = g;
    x->be = lqf_backend_default();
    x->batch = batch;
    x->train = train;
    x->training = train;
    x->nt = nt;
    x->nn = nn;
    x->views = calloc((size_t)nt + 1, sizeof *x->views);
    x->val = calloc((size_t)nt + 1, sizeof *x->val);
    x->aliased = calloc((size_t)nn + 1, 1);
    x->tf = calloc((size_t)nn + 1, sizeof *x->tf);
    x->tb = calloc((size_t)nn + 1, sizeof *x->tb);
    if (train) {
        x->grad = calloc((size_t)nt + 1, sizeof *x->grad);
        x->gbirth = malloc(((size_t)nt + 1) * sizeof *x->gbirth);
        x->frozen = calloc((size_t)nt + 1, 1);
        x->want = calloc((size_t)nt + 1, 1);
        x->save = calloc((size_t)nn + 1, sizeof *x->save);
    }
    lqf_shape *shapes = malloc(((size_t)nt + 1) * sizeof *shapes);
    int *alias = malloc(((size_t)nt + 1) * sizeof *alias);
    int64_t *numel = malloc(((size_t)nt + 1) * sizeof *numel);
    lqf_status st = LQF_OK;
    if (!x->views || !x->val || !x->aliased || !x->tf || !x->tb || !shapes || !alias || !numel ||
        (train && (!x->grad || !x->gbirth || !x->frozen || !x->want || !x->save))) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory creating an executor", src_of(g));
        goto done;
    }
    if ((st = lqf_graph_shapes(g, batch, shapes)) != LQF_OK) goto done;
    for (int t = 0; t < nt; t++) {
        lqf_tensor_view_dims(&g->tensors[t], &shapes[t], &x->views[t]);
        numel[t] = lqf_view_numel(&x->views[t]);
        alias[t] = -1;
    }
    if ((st = check_nodes(x, alias)) != LQF_OK) goto done;
    if ((st = bind_values(x, alias, numel, !train && !(mode & LQF_EXEC_KEEP))) != LQF_OK) goto done;
    for (int i = 0; i < nn; i++) {
        lqf_op_ctx c;
        ctx_of(x, i, &c);
        const lqf_op_def *def = lqf_op_table[g->nodes[i].op];
        if (def->scratch) x->scratch_n = LQF_MAX(x->scratch_n, def->scratch(&c, train));
    }
    if (!(x->scratch = ex_alloc(x, x->scratch_n, train))) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for %zu scratch floats", src_of(g), x->scratch_n);
        goto done;
    }
    if (train) st = bind_training(x, numel);

done:
    free(shapes);
    free(alias);
    free(numel);
    if (st != LQF_OK) {
        lqf_exec_free(x);
        return st;
    }
    *out = x;
    return LQF_OK;
}

/* ---------------------------------------------------------------- access */

lqf_graph *lqf_exec_graph(const lqf_exec *x) { return x->g; }
int lqf_exec_batch(const lqf_exec *x) { return x->batch; }

const lqf_view *lqf_exec_view(const lqf_exec *x, int tensor) {
    return tensor >= 0 && tensor < x->nt ? &x->views[tensor] : NULL;
}

float *lqf_exec_buffer(lqf_exec *x, int tensor) {
    if (!x || tensor < 0 || tensor >= x->nt) return NULL;
    const lqf_tensor *T = &x->g->tensors[tensor];
    if (T->kind == LQF_T_PARAM || T->kind == LQF_T_CONST) return x->g->params + T->offset;
    return x->val[tensor];
}

void lqf_exec_write(lqf_exec *x, int tensor, const float *dense) {
    const lqf_view *v = &x->views[tensor];
    lqf_view d;
    lqf_view_dense(&d, v->ndim, v->dims);
    x->be->copy_view(&d, dense, v, lqf_exec_buffer(x, tensor));
}

void lqf_exec_read(lqf_exec *x, int tensor, float *dense) {
    const lqf_view *v = &x->views[tensor];
    lqf_view d;
    lqf_view_dense(&d, v->ndim, v->dims);
    x->be->copy_view(v, lqf_exec_buffer(x, tensor), &d, dense);
}

size_t lqf_exec_activation_bytes(const lqf_exec *x) { return x ? x->act_floats * sizeof(float) : 0; }
size_t lqf_exec_scratch_bytes(const lqf_exec *x) { return x ? x->scratch_n * sizeof(float) : 0; }
size_t lqf_exec_bytes(const lqf_exec *x) { return x ? x->bytes : 0; }

void lqf_exec_node_times(const lqf_exec *x, const double **fwd, const double **bwd) {
    *fwd = x->tf;
    *bwd = x->tb;
}

/* ---------------------------------------------------------------- training settings */

void lqf_exec_set_training(lqf_exec *x, int training) { x->training = x->train && training; }
int lqf_exec_training(const lqf_exec *x) { return x->training; }
void lqf_exec_set_input_grad(lqf_exec *x, int on) { x->input_grad = x->train && on; }

void lqf_exec_set_seed(lqf_exec *x, uint64_t seed) {
    x->seed = seed;
    x->nfwd = 0;
}

void lqf_exec_freeze_tensor(lqf_exec *x, int tensor, int frozen) {
    if (x->frozen && tensor >= 0 && tensor < x->nt) x->frozen[tensor] = frozen != 0;
}

int lqf_exec_freeze(lqf_exec *x, const char *prefix, int frozen) {
    int n = 0;
    size_t len = strlen(prefix);
    for (int i = 0; x->frozen && i < x->nt; i++) {
        const lqf_tensor *T = &x->g->tensors[i];
        if (T->kind != LQF_T_PARAM || strncmp(T->name, prefix, len) != 0) continue;
        x->frozen[i] = frozen != 0;
        n++;
    }
    return n ? n : -1;
}

int lqf_exec_frozen(const lqf_exec *x, int tensor) {
    return x->frozen && tensor >= 0 && tensor < x->nt && x->frozen[tensor];
}

float *lqf_exec_grad(lqf_exec *x, int tensor) {
    if (!x->train || tensor < 0 || tensor >= x->nt) return NULL;
    const lqf_tensor *T = &x->g->tensors[tensor];
    if (T->kind == LQF_T_PARAM) return x->grads + T->offset;
    if (T->kind == LQF_T_CONST) return NULL;
    return x->grad[tensor];
}

float *lqf_exec_grads(lqf_exec *x) { return x->grads; }

void lqf_exec_zero_grad(lqf_exec *x) {
    if (x->grads) x->be->zero(x->grads, x->g->n_params);
}

/* ---------------------------------------------------------------- run */

lqf_status lqf_exec_forward(lqf_exec *x) {
    lqf_graph *g = x->g;
    if (g->n_tensors != x->nt || g->n_nodes != x->nn)
        return lqf_fail(LQF_ERR_ARG, "%s: the graph changed after its executor was created", src_of(g));
    x->nfwd++;
    for (int i = 0; i < x->nn; i++) {
        lqf_op_ctx c;
        ctx_of(x, i, &c);
        double t0 = x->train ? lqf_now() : 0.0;
        lqf_status st = lqf_op_table[g->nodes[i].op]->forward(&c);
        if (st != LQF_OK) return st;
        if (x->train) x->tf[i] = lqf_now() - t0;
    }
    x->have_forward = 1;
    return LQF_OK;
}

lqf_status lqf_exec_backward(lqf_exec *x) {
    lqf_graph *g = x->g;
    if (!x->train) return lqf_fail(LQF_ERR_ARG, "%s: an inference executor has no backward", src_of(g));
    if (!x->have_forward) return lqf_fail(LQF_ERR_ARG, "%s: backward needs a forward pass first", src_of(g));
    /* which tensors want a gradient */
    for (int i = 0; i < x->nt; i++) {
        const lqf_tensor *T = &g->tensors[i];
        x->want[i] = (T->kind == LQF_T_PARAM && !x->frozen[i]) || (T->kind == LQF_T_INPUT && x->input_grad);
    }
    for (int i = 0; i < x->nn; i++) {
        const lqf_node *nd = &g->nodes[i];
        int r = 0;
        for (int k = 0; k < nd->nin; k++)
            if (nd->in[k] >= 0 && x->want[nd->in[k]]) r = 1;
        x->want[nd->out] = r && x->grad[nd->out] != NULL;
    }
    for (int i = x->nn - 1; i >= 0; i--) {
        const lqf_node *nd = &g->nodes[i];
        double t0 = lqf_now();
        x->tb[i] = 0.0;
        for (int k = 0; k < nd->nin; k++) {
            int t = nd->in[k];
            if (t >= 0 && x->want[t] && x->gbirth[t] == i && x->grad[t])
                x->be->zero(x->grad[t], (size_t)lqf_view_numel(&x->views[t]));
        }
        if (!x->want[nd->out]) continue;
        lqf_op_ctx c;
        ctx_of(x, i, &c);
        lqf_op_table[nd->op]->backward(&c);
        x->tb[i] = lqf_now() - t0;
    }
    return LQF_OK;
}
