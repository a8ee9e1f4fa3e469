/*
 * train.c — the trainer of train.h: forward in training or eval mode over a graph with
 * every activation kept, and the reverse walk that calls the backward kernels of src/ops/
 * node by node. It is self-contained (its own buffers and dispatch rather than exec.c's
 * plan) because training forward differs from inference (batch statistics, dropout masks,
 * saved BatchNorm statistics). Activation gradients live in a pool of buffers assigned by
 * liveness over the reverse walk: a gradient is born (zeroed) at its last reader and dies
 * once its producer has been differentiated. Each backward kernel ADDS into the gradients,
 * so tensors read by several nodes (residual branches) collect every contribution.
 */
#include "nn/train.h"

#include "backend/cpu/cpu.h" /* until the one executor of the next step */

#include <string.h>

struct lqf_trainer {
    lqf_graph *g;
    int batch, training, input_grad;
    uint64_t seed, nfwd;
    int nt, nn;
    lqf_view *views;   /* [nt] */
    float **val;       /* [nt] INPUT/ACT value buffers */
    float **grad;      /* [nt] INPUT/ACT gradient buffers (slot pointers) */
    int *gbirth;       /* [nt] node at which the gradient is zeroed; nn: never (outputs) */
    char *frozen;      /* [nt] */
    char *req;         /* [nt] gradient wanted (set at each backward) */
    float **save;      /* [nn] BN: mean, invstd (2C); Dropout: mask (numel) */
    float *grads;      /* [n_params] */
    float *scratch;    /* conv forward/backward */
    float *tmp1, *tmp2; /* layout/broadcast staging */
    float **bufs;      /* every allocation, freed together */
    int nbufs, capbufs;
    size_t bytes;
    int have_forward;
    double *tf, *tb;   /* [nn] seconds per node in the last forward / backward */
};

/* ---------------------------------------------------------------- helpers */

static const char *src_of(const lqf_graph *g) { return g->source ? g->source : "network"; }

static int64_t view_numel(const lqf_view *v) {
    int64_t n = 1;
    for (int i = 0; i < v->ndim; i++) n *= v->dims[i];
    return n;
}

static int views_same_layout(const lqf_view *a, const lqf_view *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++) {
        if (a->dims[i] != b->dims[i]) return 0;
        if (a->dims[i] != 1 && a->strides[i] != b->strides[i]) return 0;
    }
    return 1;
}

static void view_expand(const lqf_view *v, int ndim, lqf_view *o) {
    int k = ndim - v->ndim;
    o->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        o->dims[i] = i < k ? 1 : v->dims[i - k];
        o->strides[i] = i < k ? 0 : v->strides[i - k];
    }
}

static void view_permute(const lqf_view *in, const int *perm, lqf_view *out) {
    out->ndim = in->ndim;
    for (int i = 0; i < in->ndim; i++) {
        out->dims[i] = in->dims[perm[i]];
        out->strides[i] = in->strides[perm[i]];
    }
}

/* Channel = logical axis 1, physically innermost for NHWC 4-D and 2-D tensors. */
static int channels_innermost(const lqf_tensor *t) { return t->ndim == 2 || (t->ndim == 4 && t->nhwc); }

static void rows_channels(const lqf_view *v, int64_t *rows, int *c) {
    int64_t n = view_numel(v);
    int ch = v->ndim >= 2 ? (int)v->dims[1] : 1;
    if (ch <= 0) ch = 1;
    *c = ch;
    *rows = n / ch;
}

static float *tr_alloc(lqf_trainer *t, size_t floats) {
    if (t->nbufs == t->capbufs) {
        int cap = t->capbufs ? 2 * t->capbufs : 64;
        float **b = realloc(t->bufs, (size_t)cap * sizeof *b);
        if (!b) return NULL;
        t->bufs = b;
        t->capbufs = cap;
    }
    float *p = lqf_calloc((floats + 16) * sizeof(float));
    if (!p) return NULL;
    t->bufs[t->nbufs++] = p;
    t->bytes += (floats + 16) * sizeof(float);
    return p;
}

static const char *op_name(lqf_op op) {
    static const char *const names[LQF_OP_COUNT] = {
        [LQF_OP_CONV] = "Conv", [LQF_OP_BATCHNORM] = "BatchNorm", [LQF_OP_RELU] = "Relu",
        [LQF_OP_PRELU] = "PRelu", [LQF_OP_LEAKYRELU] = "LeakyRelu", [LQF_OP_SIGMOID] = "Sigmoid",
        [LQF_OP_EXP] = "Exp", [LQF_OP_ADD] = "Add", [LQF_OP_SUB] = "Sub", [LQF_OP_MUL] = "Mul",
        [LQF_OP_DIV] = "Div", [LQF_OP_MAXPOOL] = "MaxPool", [LQF_OP_RESIZE] = "Resize",
        [LQF_OP_TRANSPOSE] = "Transpose", [LQF_OP_RESHAPE] = "Reshape", [LQF_OP_CONCAT] = "Concat",
        [LQF_OP_GEMM] = "Gemm", [LQF_OP_SOFTMAX] = "Softmax", [LQF_OP_REDUCESUM] = "ReduceSum",
        [LQF_OP_DROPOUT] = "Dropout",
    };
    return op >= 0 && op < LQF_OP_COUNT && names[op] ? names[op] : "?";
}

static int is_value(const lqf_graph *g, int t) {
    return t >= 0 && (g->tensors[t].kind == LQF_T_INPUT || g->tensors[t].kind == LQF_T_ACT);
}

/* Can the trainer run and differentiate this node? */
static lqf_status check_node(const lqf_trainer *t, int i) {
    const lqf_graph *g = t->g;
    const lqf_node *nd = &g->nodes[i];
    const lqf_tensor *x = &g->tensors[nd->in[0]], *y = &g->tensors[nd->out];
    switch (nd->op) {
    case LQF_OP_CONV:
        if (nd->a.conv.act != LQF_ACT_NONE || nd->a.conv.residual >= 0)
            return lqf_fail(LQF_ERR_UNSUPPORTED,
                            "%s: node '%s': convolution with a fused activation/residual cannot be trained "
                            "(train the graph before lqf_graph_optimize)", src_of(g), nd->name);
        return LQF_OK;
    case LQF_OP_BATCHNORM:
    case LQF_OP_RELU:
    case LQF_OP_PRELU:
    case LQF_OP_LEAKYRELU:
    case LQF_OP_SIGMOID:
    case LQF_OP_DROPOUT:
        if (!views_same_layout(&t->views[nd->in[0]], &t->views[nd->out]) ||
            (nd->op != LQF_OP_DROPOUT && x->ndim >= 2 && !channels_innermost(x)))
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': %s over a %d-D tensor cannot be trained",
                            src_of(g), nd->name, op_name(nd->op), x->ndim);
        if (nd->op == LQF_OP_PRELU) {
            int64_t ns = lqf_tensor_numel(&g->tensors[nd->in[1]]);
            if (ns != 1 && ns != (y->ndim >= 2 ? y->dims[1] : 1))
                return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': PRelu slope of %lld values cannot be trained",
                                src_of(g), nd->name, (long long)ns);
        }
        return LQF_OK;
    case LQF_OP_RESHAPE:
        if (view_numel(&t->views[nd->in[0]]) != view_numel(&t->views[nd->out]))
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': Reshape does not follow batch %d", src_of(g),
                            nd->name, t->batch);
        return LQF_OK;
    case LQF_OP_ADD:
    case LQF_OP_SUB:
    case LQF_OP_MUL:
    case LQF_OP_MAXPOOL:
    case LQF_OP_TRANSPOSE:
    case LQF_OP_GEMM:
        return LQF_OK;
    default:
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': operator %s has no backward", src_of(g), nd->name,
                        op_name(nd->op));
    }
}

/* ---------------------------------------------------------------- create */

void lqf_trainer_free(lqf_trainer *t) {
    if (!t) return;
    for (int i = 0; i < t->nbufs; i++) lqf_free(t->bufs[i]);
    free(t->bufs);
    free(t->views);
    free(t->val);
    free(t->grad);
    free(t->gbirth);
    free(t->frozen);
    free(t->req);
    free(t->save);
    free(t->tf);
    free(t->tb);
    free(t);
}

lqf_status lqf_trainer_create(lqf_graph *g, int batch, lqf_trainer **out) {
    *out = NULL;
    if (batch < 1) return lqf_fail(LQF_ERR_ARG, "%s: batch must be >= 1 (got %d)", src_of(g), batch);
    lqf_trainer *t = calloc(1, sizeof *t);
    if (!t) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory creating a trainer", src_of(g));
    int nt = g->n_tensors, nn = g->n_nodes;
    t->g = g;
    t->batch = batch;
    t->training = 1;
    t->nt = nt;
    t->nn = nn;
    t->views = calloc((size_t)nt + 1, sizeof *t->views);
    t->val = calloc((size_t)nt + 1, sizeof *t->val);
    t->grad = calloc((size_t)nt + 1, sizeof *t->grad);
    t->gbirth = malloc(((size_t)nt + 1) * sizeof *t->gbirth);
    t->frozen = calloc((size_t)nt + 1, 1);
    t->req = calloc((size_t)nt + 1, 1);
    t->save = calloc((size_t)nn + 1, sizeof *t->save);
    t->tf = calloc((size_t)nn + 1, sizeof *t->tf);
    t->tb = calloc((size_t)nn + 1, sizeof *t->tb);
    int *slot_of = malloc(((size_t)nt + 1) * sizeof *slot_of);
    size_t *slot_size = calloc((size_t)nt + 1, sizeof *slot_size);
    char *slot_free = calloc((size_t)nt + 1, 1), *pinned = calloc((size_t)nt + 1, 1);
    lqf_status st = LQF_OK;
    if (!t->views || !t->val || !t->grad || !t->gbirth || !t->frozen || !t->req || !t->save || !t->tf || !t->tb || !slot_of ||
        !slot_size || !slot_free || !pinned) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory creating a trainer", src_of(g));
        goto done;
    }
    for (int i = 0; i < nt; i++) {
        lqf_tensor_view(&g->tensors[i], batch, &t->views[i]);
        t->gbirth[i] = -1;
        slot_of[i] = -1;
    }
    for (int i = 0; i < nn && st == LQF_OK; i++) st = check_node(t, i);
    if (st != LQF_OK) goto done;

    /* values: every input and activation owns its buffer (backward reads them all) */
    size_t conv_scr = 0, tmp = 0;
    for (int i = 0; i < nt && st == LQF_OK; i++)
        if (is_value(g, i) && !(t->val[i] = tr_alloc(t, (size_t)view_numel(&t->views[i]))))
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for activation '%s'", src_of(g), g->tensors[i].name);
    for (int i = 0; i < nn && st == LQF_OK; i++) {
        const lqf_node *nd = &g->nodes[i];
        const lqf_view *vo = &t->views[nd->out];
        if (nd->op == LQF_OP_CONV) {
            lqf_conv_shape s;
            lqf_node_conv_shape(g, nd, batch, &s);
            conv_scr = LQF_MAX(conv_scr, lqf_conv2d_scratch(&s));
            conv_scr = LQF_MAX(conv_scr, lqf_conv2d_backward_scratch(&s));
        } else if (nd->op == LQF_OP_BATCHNORM) {
            if (!(t->save[i] = tr_alloc(t, 2 * (size_t)vo->dims[1])))
                st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", src_of(g));
        } else if (nd->op == LQF_OP_DROPOUT) {
            if (!(t->save[i] = tr_alloc(t, (size_t)view_numel(vo))))
                st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", src_of(g));
        } else if (nd->op == LQF_OP_ADD || nd->op == LQF_OP_SUB || nd->op == LQF_OP_MUL ||
                   nd->op == LQF_OP_RESHAPE || nd->op == LQF_OP_TRANSPOSE || nd->op == LQF_OP_GEMM) {
            tmp = LQF_MAX(tmp, (size_t)view_numel(vo));
            for (int k = 0; k < nd->nin; k++)
                if (nd->in[k] >= 0) tmp = LQF_MAX(tmp, (size_t)view_numel(&t->views[nd->in[k]]));
        }
    }
    if (st != LQF_OK) goto done;
    t->grads = tr_alloc(t, g->n_params);
    t->scratch = tr_alloc(t, conv_scr);
    t->tmp1 = tr_alloc(t, tmp);
    t->tmp2 = tr_alloc(t, tmp);
    if (!t->grads || !t->scratch || !t->tmp1 || !t->tmp2) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for gradients", src_of(g));
        goto done;
    }

    /* gradients: inputs and outputs own theirs; activations share slots by liveness */
    for (int i = 0; i < g->n_inputs; i++) pinned[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) pinned[g->outputs[i]] = 1;
    for (int i = 0; i < nt && st == LQF_OK; i++)
        if (pinned[i] && is_value(g, i) && !(t->grad[i] = tr_alloc(t, (size_t)view_numel(&t->views[i]))))
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for gradients", src_of(g));
    if (st != LQF_OK) goto done;
    for (int i = 0; i < g->n_outputs; i++) t->gbirth[g->outputs[i]] = nn;
    int nslots = 0;
    for (int i = nn - 1; i >= 0; i--) {
        const lqf_node *nd = &g->nodes[i];
        for (int k = 0; k < nd->nin; k++) {
            int x = nd->in[k];
            if (!is_value(g, x)) continue;
            if (t->gbirth[x] < 0) t->gbirth[x] = i; /* last reader (first in the reverse walk) */
            if (pinned[x] || slot_of[x] >= 0) continue;
            size_t need = (size_t)view_numel(&t->views[x]);
            int best = -1;
            for (int s = 0; s < nslots; s++) {
                if (!slot_free[s]) continue;
                if (best < 0) { best = s; continue; }
                int fits = slot_size[s] >= need, bfits = slot_size[best] >= need;
                if (fits && (!bfits || slot_size[s] < slot_size[best])) best = s;
                else if (!fits && !bfits && slot_size[s] > slot_size[best]) best = s;
            }
            if (best < 0) best = nslots++;
            slot_of[x] = best;
            slot_free[best] = 0;
            if (slot_size[best] < need) slot_size[best] = need;
        }
        int o = nd->out;
        if (!pinned[o] && slot_of[o] >= 0) slot_free[slot_of[o]] = 1; /* producer done: dies */
    }
    float **slots = calloc((size_t)nslots + 1, sizeof *slots);
    if (!slots) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for gradients", src_of(g));
        goto done;
    }
    for (int s = 0; s < nslots && st == LQF_OK; s++)
        if (!(slots[s] = tr_alloc(t, slot_size[s])))
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for gradients", src_of(g));
    for (int i = 0; i < nt; i++)
        if (slot_of[i] >= 0 && slots[slot_of[i]]) t->grad[i] = slots[slot_of[i]];
    free(slots);

done:
    free(slot_of);
    free(slot_size);
    free(slot_free);
    free(pinned);
    if (st != LQF_OK) {
        lqf_trainer_free(t);
        return st;
    }
    *out = t;
    return LQF_OK;
}

/* ---------------------------------------------------------------- settings */

void lqf_trainer_set_training(lqf_trainer *t, int training) { t->training = training != 0; }
int lqf_trainer_training(const lqf_trainer *t) { return t->training; }
void lqf_trainer_set_input_grad(lqf_trainer *t, int on) { t->input_grad = on != 0; }
void lqf_trainer_set_seed(lqf_trainer *t, uint64_t seed) {
    t->seed = seed;
    t->nfwd = 0;
}

void lqf_trainer_freeze_tensor(lqf_trainer *t, int tensor, int frozen) {
    if (tensor >= 0 && tensor < t->nt) t->frozen[tensor] = frozen != 0;
}

int lqf_trainer_freeze(lqf_trainer *t, const char *prefix, int frozen) {
    int n = 0;
    size_t len = strlen(prefix);
    for (int i = 0; i < t->nt; i++) {
        const lqf_tensor *T = &t->g->tensors[i];
        if (T->kind != LQF_T_PARAM || strncmp(T->name, prefix, len) != 0) continue;
        t->frozen[i] = frozen != 0;
        n++;
    }
    return n ? n : -1;
}

int lqf_trainer_frozen(const lqf_trainer *t, int tensor) {
    return tensor >= 0 && tensor < t->nt && t->frozen[tensor];
}

float *lqf_trainer_buffer(lqf_trainer *t, int tensor) {
    if (tensor < 0 || tensor >= t->nt) return NULL;
    const lqf_tensor *T = &t->g->tensors[tensor];
    if (T->kind == LQF_T_PARAM || T->kind == LQF_T_CONST) return t->g->params + T->offset;
    return t->val[tensor];
}

float *lqf_trainer_grad(lqf_trainer *t, int tensor) {
    if (tensor < 0 || tensor >= t->nt) return NULL;
    const lqf_tensor *T = &t->g->tensors[tensor];
    if (T->kind == LQF_T_PARAM) return t->grads + T->offset;
    if (T->kind == LQF_T_CONST) return NULL;
    return t->grad[tensor];
}

float *lqf_trainer_grads(lqf_trainer *t) { return t->grads; }
void lqf_trainer_zero_grad(lqf_trainer *t) { memset(t->grads, 0, t->g->n_params * sizeof(float)); }
size_t lqf_trainer_bytes(const lqf_trainer *t) { return t->bytes; }
void lqf_trainer_node_times(const lqf_trainer *t, const double **fwd, const double **bwd) {
    *fwd = t->tf;
    *bwd = t->tb;
}

/* ---------------------------------------------------------------- forward */

static const float *cval(lqf_trainer *t, int i) { return lqf_trainer_buffer(t, i); }

static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The activation of a Relu/Sigmoid/LeakyRelu/PRelu node, with the PReLU slope (per channel,
 * or one shared value) when there is one. */
static lqf_act node_act(lqf_trainer *t, const lqf_node *nd, const float **slope, int *shared) {
    lqf_act act = nd->op == LQF_OP_RELU        ? LQF_ACT_RELU
                  : nd->op == LQF_OP_SIGMOID   ? LQF_ACT_SIGMOID
                  : nd->op == LQF_OP_LEAKYRELU ? LQF_ACT_LEAKY
                                               : LQF_ACT_PRELU;
    *slope = act == LQF_ACT_PRELU ? cval(t, nd->in[1]) : NULL;
    *shared = act == LQF_ACT_PRELU && lqf_tensor_numel(&t->g->tensors[nd->in[1]]) == 1;
    return act;
}

lqf_status lqf_trainer_forward(lqf_trainer *t) {
    lqf_graph *g = t->g;
    t->nfwd++;
    for (int i = 0; i < t->nn; i++) {
        const lqf_node *nd = &g->nodes[i];
        const lqf_view *vo = &t->views[nd->out], *v0 = &t->views[nd->in[0]];
        float *y = t->val[nd->out];
        double t0 = lqf_now();
        const float *x = cval(t, nd->in[0]);
        switch (nd->op) {
        case LQF_OP_CONV: {
            lqf_conv_shape s;
            lqf_node_conv_shape(g, nd, t->batch, &s);
            const float *b = nd->nin > 2 && nd->in[2] >= 0 ? cval(t, nd->in[2]) : NULL;
            lqf_conv2d_forward(&s, x, cval(t, nd->in[1]), b, NULL, y, t->scratch);
            break;
        }
        case LQF_OP_BATCHNORM: {
            int64_t rows;
            int c;
            rows_channels(vo, &rows, &c);
            float *rm = lqf_trainer_buffer(t, nd->in[3]), *rv = lqf_trainer_buffer(t, nd->in[4]);
            if (t->training && rows < 2) /* as torch: batch statistics need two values */
                return lqf_fail(LQF_ERR_ARG,
                                "%s: node '%s': BatchNorm in training mode needs more than one value per channel "
                                "(batch %d); use eval mode or a larger batch", src_of(g), nd->name, t->batch);
            if (t->training)
                lqf_bn_forward_train(rows, c, x, cval(t, nd->in[1]), cval(t, nd->in[2]), nd->a.bn.eps,
                                     1.0f - nd->a.bn.momentum, rm, rv, t->save[i], t->save[i] + c, y);
            else
                lqf_bn_forward_infer(rows, c, x, cval(t, nd->in[1]), cval(t, nd->in[2]), rm, rv, nd->a.bn.eps, y);
            break;
        }
        case LQF_OP_RELU:
        case LQF_OP_SIGMOID:
        case LQF_OP_LEAKYRELU:
        case LQF_OP_PRELU: {
            int64_t rows;
            int c;
            rows_channels(vo, &rows, &c);
            const float *slope;
            int shared;
            lqf_act act = node_act(t, nd, &slope, &shared);
            lqf_act_forward(act, slope, shared, nd->a.alpha, rows, c, x, y);
            break;
        }
        case LQF_OP_ADD:
        case LQF_OP_SUB:
        case LQF_OP_MUL: {
            lqf_view va, vb;
            view_expand(v0, vo->ndim, &va);
            view_expand(&t->views[nd->in[1]], vo->ndim, &vb);
            lqf_binop op = nd->op == LQF_OP_ADD ? LQF_BIN_ADD : nd->op == LQF_OP_SUB ? LQF_BIN_SUB : LQF_BIN_MUL;
            lqf_binary(op, &va, x, &vb, cval(t, nd->in[1]), vo, y);
            break;
        }
        case LQF_OP_MAXPOOL: {
            lqf_pool_shape s;
            lqf_node_pool_shape(g, nd, t->batch, &s);
            lqf_maxpool_forward(&s, x, y);
            break;
        }
        case LQF_OP_RESHAPE: {
            /* input in logical order, densely, then into the output's layout */
            lqf_view din, dout;
            lqf_view_dense(&din, v0->ndim, v0->dims);
            lqf_view_dense(&dout, vo->ndim, vo->dims);
            lqf_copy_view(v0, x, &din, t->tmp1);
            lqf_copy_view(&dout, t->tmp1, vo, y);
            break;
        }
        case LQF_OP_TRANSPOSE: {
            lqf_view pv;
            view_permute(v0, nd->a.transpose.perm, &pv);
            lqf_copy_view(&pv, x, vo, y);
            break;
        }
        case LQF_OP_GEMM: {
            const lqf_view *vb = &t->views[nd->in[1]];
            int ta = nd->a.gemm.trans_a, tb = nd->a.gemm.trans_b;
            int64_t M = vo->dims[0], N = vo->dims[1], K = ta ? v0->dims[0] : v0->dims[1];
            float beta = 0.0f;
            if (nd->nin > 2 && nd->in[2] >= 0 && nd->a.gemm.beta != 0.0f) {
                lqf_view vc; /* y = beta * C broadcast over (M,N) */
                view_expand(&t->views[nd->in[2]], 2, &vc);
                const float *cc = cval(t, nd->in[2]);
                float bt = nd->a.gemm.beta;
#pragma omp parallel for schedule(static) if (M * N > 32768)
                for (int64_t m = 0; m < M; m++)
                    for (int64_t n = 0; n < N; n++)
                        y[m * N + n] = bt * cc[(vc.dims[0] == 1 ? 0 : m) * vc.strides[0] +
                                               (vc.dims[1] == 1 ? 0 : n) * vc.strides[1]];
                beta = 1.0f;
            }
            lqf_sgemm(ta, tb, M, N, K, nd->a.gemm.alpha, x, v0->dims[1], cval(t, nd->in[1]), vb->dims[1], beta, y,
                      N);
            break;
        }
        case LQF_OP_DROPOUT: {
            int64_t n = view_numel(vo);
            if (t->training && nd->a.dropout.p > 0.0f) {
                uint64_t seed = mix64(t->seed ^ mix64(t->nfwd * 0x100000001b3ull + (uint64_t)i));
                lqf_dropout_mask(n, nd->a.dropout.p, seed, t->save[i]);
                lqf_dropout_forward(n, t->save[i], x, y);
            } else {
                memcpy(y, x, (size_t)n * sizeof(float));
            }
            break;
        }
        default:
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': operator %s cannot be trained", src_of(g),
                            nd->name, op_name(nd->op));
        }
        t->tf[i] = lqf_now() - t0;
    }
    t->have_forward = 1;
    return LQF_OK;
}

/* ---------------------------------------------------------------- backward */

/* Gradient buffer of tensor i if it wants one, else NULL. */
static float *gbuf(lqf_trainer *t, int i) {
    if (i < 0 || !t->req[i]) return NULL;
    return lqf_trainer_grad(t, i);
}

static void add_into(int64_t n, const float *src, float *dst) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

/* g_in += reduction of contrib (laid out as vo) over the axes where operand view vin
 * (expanded to vo's rank) broadcasts; scale multiplies the result. */
static void reduce_into(lqf_trainer *t, const lqf_view *vo, const float *contrib, const lqf_view *vin_own,
                        float *g_in, float scale) {
    lqf_view vin;
    view_expand(vin_own, vo->ndim, &vin);
    int64_t n = view_numel(vin_own);
    if (views_same_layout(&vin, vo)) {
        if (scale == 1.0f) {
            add_into(n, contrib, g_in);
        } else {
#pragma omp parallel for simd schedule(static) if (n > 65536)
            for (int64_t i = 0; i < n; i++) g_in[i] += scale * contrib[i];
        }
        return;
    }
    unsigned mask = 0;
    for (int k = 0; k < vo->ndim; k++)
        if (vin.dims[k] == 1 && vo->dims[k] != 1) mask |= 1u << k;
    if (mask) {
        lqf_reduce_sum(vo, contrib, mask, &vin, t->tmp2);
    } else {
        lqf_copy_view(vo, contrib, &vin, t->tmp2); /* same dims, another layout */
    }
    for (int64_t i = 0; i < n; i++) g_in[i] += scale * t->tmp2[i];
}

static void backward_node(lqf_trainer *t, int i) {
    lqf_graph *g = t->g;
    const lqf_node *nd = &g->nodes[i];
    const lqf_view *vo = &t->views[nd->out], *v0 = &t->views[nd->in[0]];
    const float *dy = t->grad[nd->out];
    const float *x = cval(t, nd->in[0]);
    float *gx = gbuf(t, nd->in[0]);
    switch (nd->op) {
    case LQF_OP_CONV: {
        lqf_conv_shape s;
        lqf_node_conv_shape(g, nd, t->batch, &s);
        float *gw = gbuf(t, nd->in[1]);
        float *gb = nd->nin > 2 ? gbuf(t, nd->in[2]) : NULL;
        if (gx) lqf_conv2d_backward_data(&s, dy, cval(t, nd->in[1]), gx, t->scratch);
        if (gw || gb) lqf_conv2d_backward_weights(&s, x, dy, gw, gb, t->scratch);
        break;
    }
    case LQF_OP_BATCHNORM: {
        int64_t rows;
        int c;
        rows_channels(vo, &rows, &c);
        float *gg = gbuf(t, nd->in[1]), *gb = gbuf(t, nd->in[2]);
        if (t->training)
            lqf_bn_backward_train(rows, c, x, dy, cval(t, nd->in[1]), t->save[i], t->save[i] + c, gx, gg, gb);
        else
            lqf_bn_backward_infer(rows, c, x, dy, cval(t, nd->in[1]), cval(t, nd->in[3]), cval(t, nd->in[4]),
                                  nd->a.bn.eps, gx, gg, gb);
        break;
    }
    case LQF_OP_RELU:
    case LQF_OP_SIGMOID:
    case LQF_OP_LEAKYRELU:
    case LQF_OP_PRELU: {
        int64_t rows;
        int c;
        rows_channels(vo, &rows, &c);
        const float *slope;
        int shared;
        lqf_act act = node_act(t, nd, &slope, &shared);
        float *gs = act == LQF_ACT_PRELU ? gbuf(t, nd->in[1]) : NULL;
        lqf_act_backward(act, slope, shared, nd->a.alpha, rows, c, x, dy, gx, gs);
        break;
    }
    case LQF_OP_ADD:
    case LQF_OP_SUB:
    case LQF_OP_MUL: {
        for (int k = 0; k < 2; k++) {
            int ti = nd->in[k];
            float *gi = gbuf(t, ti);
            if (!gi) continue;
            const float *contrib = dy;
            if (nd->op == LQF_OP_MUL) {
                /* dy * other operand, broadcast to the output */
                int to = nd->in[1 - k];
                lqf_view vother;
                view_expand(&t->views[to], vo->ndim, &vother);
                lqf_binary(LQF_BIN_MUL, vo, dy, &vother, cval(t, to), vo, t->tmp1);
                contrib = t->tmp1;
            }
            float scale = nd->op == LQF_OP_SUB && k == 1 ? -1.0f : 1.0f;
            reduce_into(t, vo, contrib, &t->views[ti], gi, scale);
        }
        break;
    }
    case LQF_OP_MAXPOOL: {
        if (!gx) break;
        lqf_pool_shape s;
        lqf_node_pool_shape(g, nd, t->batch, &s);
        lqf_maxpool_backward(&s, x, dy, gx);
        break;
    }
    case LQF_OP_RESHAPE: {
        if (!gx) break;
        lqf_view din, dout;
        lqf_view_dense(&din, v0->ndim, v0->dims);
        lqf_view_dense(&dout, vo->ndim, vo->dims);
        lqf_copy_view(vo, dy, &dout, t->tmp1);
        lqf_copy_view(&din, t->tmp1, v0, t->tmp2);
        add_into(view_numel(v0), t->tmp2, gx);
        break;
    }
    case LQF_OP_TRANSPOSE: {
        if (!gx) break;
        int inv[LQF_MAX_DIMS];
        for (int k = 0; k < vo->ndim; k++) inv[nd->a.transpose.perm[k]] = k;
        lqf_view q;
        view_permute(vo, inv, &q);
        lqf_copy_view(&q, dy, v0, t->tmp2);
        add_into(view_numel(v0), t->tmp2, gx);
        break;
    }
    case LQF_OP_GEMM: {
        const float *B = cval(t, nd->in[1]);
        float *gB = gbuf(t, nd->in[1]);
        int ta = nd->a.gemm.trans_a, tb = nd->a.gemm.trans_b;
        int64_t M = vo->dims[0], N = vo->dims[1], K = ta ? v0->dims[0] : v0->dims[1];
        float al = nd->a.gemm.alpha;
        if (gx) {
            if (!ta) {
                if (tb) lqf_sgemm(0, 0, M, K, N, al, dy, N, B, K, 1.0f, gx, K);
                else lqf_sgemm(0, 1, M, K, N, al, dy, N, B, N, 1.0f, gx, K);
            } else {
                if (tb) lqf_sgemm(1, 1, K, M, N, al, B, K, dy, N, 1.0f, gx, M);
                else lqf_sgemm(0, 1, K, M, N, al, B, N, dy, N, 1.0f, gx, M);
            }
        }
        if (gB) {
            if (!tb) {
                if (!ta) lqf_sgemm(1, 0, K, N, M, al, x, K, dy, N, 1.0f, gB, N);
                else lqf_sgemm(0, 0, K, N, M, al, x, M, dy, N, 1.0f, gB, N);
            } else {
                if (!ta) lqf_sgemm(1, 0, N, K, M, al, dy, N, x, K, 1.0f, gB, K);
                else lqf_sgemm(1, 1, N, K, M, al, dy, N, x, M, 1.0f, gB, K);
            }
        }
        float *gC = nd->nin > 2 && nd->a.gemm.beta != 0.0f ? gbuf(t, nd->in[2]) : NULL;
        if (gC) {
            const lqf_view *vc = &t->views[nd->in[2]];
            if (nd->a.gemm.beta == 1.0f && view_numel(vc) == N && vc->dims[vc->ndim - 1] == N)
                lqf_bias_backward(M, (int)N, dy, gC); /* the usual (N) bias */
            else
                reduce_into(t, vo, dy, vc, gC, nd->a.gemm.beta);
        }
        break;
    }
    case LQF_OP_DROPOUT: {
        if (!gx) break;
        int64_t n = view_numel(vo);
        if (t->training && nd->a.dropout.p > 0.0f) lqf_dropout_backward(n, t->save[i], dy, gx);
        else add_into(n, dy, gx);
        break;
    }
    default:
        break;
    }
}

lqf_status lqf_trainer_backward(lqf_trainer *t) {
    lqf_graph *g = t->g;
    if (!t->have_forward)
        return lqf_fail(LQF_ERR_ARG, "%s: backward needs a forward pass first", src_of(g));
    /* which tensors want a gradient */
    for (int i = 0; i < t->nt; i++) {
        const lqf_tensor *T = &g->tensors[i];
        t->req[i] = (T->kind == LQF_T_PARAM && !t->frozen[i]) || (T->kind == LQF_T_INPUT && t->input_grad);
    }
    for (int i = 0; i < t->nn; i++) {
        const lqf_node *nd = &g->nodes[i];
        int r = 0;
        for (int k = 0; k < nd->nin; k++)
            if (nd->in[k] >= 0 && t->req[nd->in[k]]) r = 1;
        t->req[nd->out] = r && t->grad[nd->out] != NULL;
    }
    for (int i = t->nn - 1; i >= 0; i--) {
        const lqf_node *nd = &g->nodes[i];
        double t0 = lqf_now();
        t->tb[i] = 0.0;
        for (int k = 0; k < nd->nin; k++) {
            int x = nd->in[k];
            if (is_value(g, x) && t->req[x] && t->gbirth[x] == i && t->grad[x])
                memset(t->grad[x], 0, (size_t)view_numel(&t->views[x]) * sizeof(float));
        }
        if (!t->req[nd->out]) continue;
        backward_node(t, i);
        t->tb[i] = lqf_now() - t0;
    }
    return LQF_OK;
}
