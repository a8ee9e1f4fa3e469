/*
 * exec.c — the executor: a plan binds a graph to one batch size (concrete views for every
 * tensor, activation buffers, convolution scratch) and lqf_plan_run walks the nodes in
 * topological order, dispatching each to its ops.h kernel. View operators (Reshape,
 * Transpose) alias their input's buffer whenever the input, read in the output's logical
 * order, already has the output's physical layout; otherwise they copy through
 * lqf_copy_view. With keep_all=0 activations share a few buffers by liveness (a buffer is
 * returned to the pool after the last node that reads it), which keeps inference memory low;
 * keep_all=1 gives every activation its own buffer (training needs them all for backward).
 * Inputs and graph outputs always own their buffers.
 */
#include "nn/graph.h"
#include "nn/net.h"

#include <math.h>
#include "backend/cpu/cpu.h" /* until the one executor of the next step */

#include <string.h>

struct lqf_plan {
    const lqf_graph *g;
    int batch, keep_all;
    int nt;
    lqf_view *views;   /* [nt] concrete views for this batch */
    float **ptr;       /* [nt] buffers of INPUT/ACT tensors (NULL for PARAM/CONST) */
    int *alias;        /* [nt] tensor whose buffer this one shares, or -1 */
    float **slots;     /* owned allocations */
    int nslots;
    size_t slot_floats; /* sum of slot sizes */
    float *scratch;
    size_t scratch_n;
};

/* ---------------------------------------------------------------- view helpers */

/* 1 when v's strides are dense row-major for its dims (extent-1 dims ignored). */
static int view_is_dense(const lqf_view *v) {
    int64_t s = 1;
    for (int i = v->ndim - 1; i >= 0; i--) {
        if (v->dims[i] == 1) continue;
        if (v->strides[i] != s) return 0;
        s *= v->dims[i];
    }
    return 1;
}

/* 1 when two views of equal dims address memory identically (extent-1 dims ignored). */
static int views_same_layout(const lqf_view *a, const lqf_view *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++) {
        if (a->dims[i] != b->dims[i]) return 0;
        if (a->dims[i] != 1 && a->strides[i] != b->strides[i]) return 0;
    }
    return 1;
}

static void view_permute(const lqf_view *in, const int *perm, lqf_view *out) {
    out->ndim = in->ndim;
    for (int i = 0; i < in->ndim; i++) {
        out->dims[i] = in->dims[perm[i]];
        out->strides[i] = in->strides[perm[i]];
    }
}

/* Right-align v to ndim dims (numpy broadcasting): leading dims of extent 1. */
static void view_expand(const lqf_view *v, int ndim, lqf_view *o) {
    int k = ndim - v->ndim;
    o->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (i < k) {
            o->dims[i] = 1;
            o->strides[i] = 0;
        } else {
            o->dims[i] = v->dims[i - k];
            o->strides[i] = v->strides[i - k];
        }
    }
}

static int64_t view_numel(const lqf_view *v) {
    int64_t n = 1;
    for (int i = 0; i < v->ndim; i++) n *= v->dims[i];
    return n;
}

/* Does node's output share its input's buffer at this batch? */
static int node_aliases(const lqf_graph *g, const lqf_node *nd, const lqf_view *views) {
    const lqf_view *vi = &views[nd->in[0]], *vo = &views[nd->out];
    int ti = nd->in[0];
    if (g->tensors[ti].kind == LQF_T_PARAM || g->tensors[ti].kind == LQF_T_CONST) return 0;
    if (nd->op == LQF_OP_RESHAPE) return view_is_dense(vi) && view_is_dense(vo);
    if (nd->op == LQF_OP_DROPOUT) return views_same_layout(vi, vo); /* identity at inference */
    if (nd->op == LQF_OP_TRANSPOSE) {
        lqf_view p;
        view_permute(vi, nd->a.transpose.perm, &p);
        return views_same_layout(&p, vo);
    }
    return 0;
}

/* ---------------------------------------------------------------- plan */

void lqf_plan_free(lqf_plan *p) {
    if (!p) return;
    for (int i = 0; i < p->nslots; i++) lqf_free(p->slots[i]);
    free(p->slots);
    lqf_free(p->scratch);
    free(p->views);
    free(p->ptr);
    free(p->alias);
    free(p);
}

static int root_of(const int *alias, int t) {
    while (alias[t] >= 0) t = alias[t];
    return t;
}

lqf_status lqf_plan_create(const lqf_graph *g, int batch, int keep_all, lqf_plan **out) {
    *out = NULL;
    const char *src = g->source ? g->source : "network";
    if (batch < 1) return lqf_fail(LQF_ERR_ARG, "%s: batch must be >= 1 (got %d)", src, batch);
    lqf_plan *p = calloc(1, sizeof *p);
    if (!p) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory creating a plan", src);
    int nt = g->n_tensors, nn = g->n_nodes;
    p->g = g;
    p->batch = batch;
    p->keep_all = keep_all;
    p->nt = nt;
    p->views = calloc((size_t)nt + 1, sizeof *p->views);
    p->ptr = calloc((size_t)nt + 1, sizeof *p->ptr);
    p->alias = malloc(((size_t)nt + 1) * sizeof *p->alias);
    p->slots = calloc((size_t)nt + 1, sizeof *p->slots);
    int *last = malloc(((size_t)nt + 1) * sizeof *last);     /* last reading node of a root */
    int *slot_of = malloc(((size_t)nt + 1) * sizeof *slot_of); /* root tensor -> slot */
    size_t *slot_size = calloc((size_t)nt + 1, sizeof *slot_size);
    int *slot_free = calloc((size_t)nt + 1, sizeof *slot_free);
    lqf_status st = LQF_OK;
    if (!p->views || !p->ptr || !p->alias || !p->slots || !last || !slot_of || !slot_size || !slot_free) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory creating a plan", src);
        goto done;
    }
    for (int t = 0; t < nt; t++) {
        lqf_tensor_view(&g->tensors[t], batch, &p->views[t]);
        p->alias[t] = -1;
        last[t] = -1;
        slot_of[t] = -1;
    }
    /* every tensor a node reads must exist before it runs */
    for (int i = 0; i < nn && st == LQF_OK; i++) {
        const lqf_node *nd = &g->nodes[i];
        int reads[LQF_MAX_NODE_IN + 2], nr = 0;
        for (int k = 0; k < nd->nin; k++) reads[nr++] = nd->in[k];
        if (nd->op == LQF_OP_CONV) {
            reads[nr++] = nd->a.conv.residual;
            reads[nr++] = nd->a.conv.act_param;
        }
        for (int k = 0; k < nr; k++) {
            int t = reads[k];
            if (t < 0 && k > 0) continue; /* optional inputs, no residual, no slope */
            if (t < 0 || t >= nt) {
                st = lqf_fail(LQF_ERR_ARG, "%s: node '%s' reads tensor %d, which does not exist", src, nd->name, t);
                break;
            }
            const lqf_tensor *T = &g->tensors[t];
            if (T->kind == LQF_T_ACT && (T->producer < 0 || T->producer >= i)) {
                st = lqf_fail(LQF_ERR_ARG, "%s: node '%s' reads '%s' before any node produces it", src, nd->name,
                              T->name);
                break;
            }
        }
        if (nd->out < 0 || nd->out >= nt || g->tensors[nd->out].kind != LQF_T_ACT)
            st = lqf_fail(LQF_ERR_ARG, "%s: node '%s' does not write an activation tensor", src, nd->name);
    }
    if (st != LQF_OK) goto done;

    /* aliases and conv scratch */
    size_t scratch = 0;
    for (int i = 0; i < nn; i++) {
        const lqf_node *nd = &g->nodes[i];
        if (node_aliases(g, nd, p->views)) p->alias[nd->out] = nd->in[0];
        if (nd->op == LQF_OP_CONV) {
            lqf_conv_shape s;
            lqf_node_conv_shape(g, nd, batch, &s);
            scratch = LQF_MAX(scratch, lqf_conv2d_scratch(&s));
        } else if (nd->op == LQF_OP_RESHAPE && p->alias[nd->out] < 0 &&
                   !view_is_dense(&p->views[nd->out])) {
            /* a copied reshape into a non-dense layout goes through dense scratch */
            scratch = LQF_MAX(scratch, (size_t)view_numel(&p->views[nd->out]));
        } else if (nd->op == LQF_OP_BATCHNORM) {
            scratch = LQF_MAX(scratch, 2 * (size_t)p->views[nd->out].dims[1]);
        }
    }
    p->scratch_n = scratch;
    p->scratch = lqf_alloc((scratch + 16) * sizeof(float));
    if (!p->scratch) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for %zu scratch floats", src, scratch);
        goto done;
    }

    /* liveness of buffer roots: last node reading any alias of the root */
    for (int i = 0; i < nn; i++) {
        const lqf_node *nd = &g->nodes[i];
        int r = root_of(p->alias, nd->out);
        if (last[r] < i) last[r] = i;
        for (int k = 0; k < nd->nin; k++) {
            int t = nd->in[k];
            if (t < 0) continue;
            r = root_of(p->alias, t);
            if (last[r] < i) last[r] = i;
        }
        if (nd->op == LQF_OP_CONV) {
            int extra[2] = {nd->a.conv.residual, nd->a.conv.act_param};
            for (int k = 0; k < 2; k++)
                if (extra[k] >= 0) {
                    r = root_of(p->alias, extra[k]);
                    if (last[r] < i) last[r] = i;
                }
        }
    }
    /* roots that must own a buffer for the whole run: inputs and anything a graph output aliases */
    char *pinned = calloc((size_t)nt + 1, 1);
    if (!pinned) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory creating a plan", src);
        goto done;
    }
    for (int i = 0; i < g->n_inputs; i++) pinned[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) pinned[root_of(p->alias, g->outputs[i])] = 1;

    /* assign slots: inputs first, then outputs of nodes in order */
    int nslots = 0;
#define NEW_SLOT(t_, sz_)                                                  \
    do {                                                                   \
        slot_of[t_] = nslots;                                              \
        slot_size[nslots] = (sz_);                                         \
        slot_free[nslots] = 0;                                             \
        nslots++;                                                          \
    } while (0)
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        NEW_SLOT(t, (size_t)view_numel(&p->views[t]));
    }
    for (int i = 0; i < nn; i++) {
        const lqf_node *nd = &g->nodes[i];
        int t = nd->out;
        if (p->alias[t] < 0 && slot_of[t] < 0) {
            size_t need = (size_t)view_numel(&p->views[t]);
            int best = -1;
            if (!keep_all && !pinned[t]) {
                /* smallest free slot that fits, else the largest free one (grown) */
                for (int s = 0; s < nslots; s++) {
                    if (!slot_free[s]) continue;
                    if (best < 0) { best = s; continue; }
                    int fits = slot_size[s] >= need, bfits = slot_size[best] >= need;
                    if (fits && (!bfits || slot_size[s] < slot_size[best])) best = s;
                    else if (!fits && !bfits && slot_size[s] > slot_size[best]) best = s;
                }
            }
            if (best >= 0) {
                slot_of[t] = best;
                slot_free[best] = 0;
                if (slot_size[best] < need) slot_size[best] = need;
            } else {
                NEW_SLOT(t, need);
            }
        }
        if (keep_all) continue;
        /* release roots whose last reader is this node */
        int cand[LQF_MAX_NODE_IN + 3], nc = 0;
        for (int k = 0; k < nd->nin; k++)
            if (nd->in[k] >= 0) cand[nc++] = nd->in[k];
        cand[nc++] = nd->out;
        if (nd->op == LQF_OP_CONV && nd->a.conv.residual >= 0) cand[nc++] = nd->a.conv.residual;
        for (int k = 0; k < nc; k++) {
            int r = root_of(p->alias, cand[k]);
            lqf_tensor_kind kind = g->tensors[r].kind;
            if (kind != LQF_T_ACT || pinned[r] || slot_of[r] < 0 || last[r] != i) continue;
            slot_free[slot_of[r]] = 1;
            last[r] = -2; /* released once */
        }
    }
#undef NEW_SLOT
    free(pinned);
    for (int s = 0; s < nslots; s++) {
        p->slots[s] = lqf_alloc((slot_size[s] + 16) * sizeof(float));
        if (!p->slots[s]) {
            p->nslots = s;
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for activations (%zu floats)", src, slot_size[s]);
            goto done;
        }
    }
    p->nslots = nslots;
    for (int s = 0; s < nslots; s++) p->slot_floats += slot_size[s];
    for (int t = 0; t < nt; t++) {
        int r = root_of(p->alias, t);
        if (slot_of[r] >= 0) p->ptr[t] = p->slots[slot_of[r]];
    }

done:
    free(last);
    free(slot_of);
    free(slot_size);
    free(slot_free);
    if (st != LQF_OK) {
        lqf_plan_free(p);
        return st;
    }
    *out = p;
    return LQF_OK;
}

float *lqf_plan_buffer(lqf_plan *p, int tensor) {
    if (!p || tensor < 0 || tensor >= p->nt) return NULL;
    const lqf_tensor *t = &p->g->tensors[tensor];
    if (t->kind == LQF_T_PARAM || t->kind == LQF_T_CONST) return p->g->params + t->offset;
    return p->ptr[tensor];
}

size_t lqf_plan_activation_bytes(const lqf_plan *p) { return p ? p->slot_floats * sizeof(float) : 0; }
size_t lqf_plan_scratch_bytes(const lqf_plan *p) { return p ? p->scratch_n * sizeof(float) : 0; }

/* ---------------------------------------------------------------- run */

static const float *cbuf(lqf_plan *p, int t) { return lqf_plan_buffer(p, t); }

/* y = x copied into y's layout when the two differ; returns the buffer to operate in place on. */
static const float *unary_source(lqf_plan *p, int tin, int tout) {
    const lqf_view *vi = &p->views[tin], *vo = &p->views[tout];
    const float *x = cbuf(p, tin);
    if (views_same_layout(vi, vo)) return x;
    lqf_copy_view(vi, x, vo, p->ptr[tout]);
    return p->ptr[tout];
}

/* Rows x channels of a tensor for per-channel kernels: channel = logical axis 1, which is
 * the physically innermost axis for NHWC 4-D and for 2-D tensors. */
static void rows_channels(const lqf_view *v, int64_t *rows, int *c) {
    int64_t n = view_numel(v);
    int ch = v->ndim >= 2 ? (int)v->dims[1] : 1;
    if (ch <= 0) ch = 1;
    *c = ch;
    *rows = n / ch;
}

static void run_batchnorm(lqf_plan *p, const lqf_node *nd) {
    const lqf_view *vo = &p->views[nd->out];
    int64_t rows;
    int c;
    rows_channels(vo, &rows, &c);
    const float *x = unary_source(p, nd->in[0], nd->out);
    const float *ga = cbuf(p, nd->in[1]), *be = cbuf(p, nd->in[2]);
    const float *mu = cbuf(p, nd->in[3]), *va = cbuf(p, nd->in[4]);
    float *y = p->ptr[nd->out];
    float eps = nd->a.bn.eps;
    float *sc = p->scratch; /* 2c floats (sized in lqf_plan_create) */
    for (int k = 0; k < c; k++) {
        float s = ga[k] / sqrtf(va[k] + eps);
        sc[k] = s;
        sc[c + k] = be[k] - mu[k] * s;
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int k = 0; k < c; k++) y[r * c + k] = x[r * c + k] * sc[k] + sc[c + k];
}

/* y = fn(x) elementwise over n values (same layout). */
static void run_unary(lqf_unary_fn fn, float lo, float hi, int64_t n, const float *x, float *y) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        switch (fn) {
        case LQF_UN_SQRT: v = sqrtf(v); break;
        case LQF_UN_TANH: v = tanhf(v); break;
        case LQF_UN_CLIP: v = v < lo ? lo : v > hi ? hi : v; break;
        case LQF_UN_ABS: v = fabsf(v); break;
        case LQF_UN_NEG: v = -v; break;
        case LQF_UN_RECIPROCAL: v = 1.0f / v; break;
        }
        y[i] = v;
    }
}

lqf_status lqf_plan_run(const lqf_graph *g, lqf_plan *p) {
    if (!g || !p || p->g != g || p->nt != g->n_tensors)
        return lqf_fail(LQF_ERR_ARG, "%s: plan does not belong to this graph",
                        g && g->source ? g->source : "network");
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *nd = &g->nodes[i];
        const lqf_view *vo = &p->views[nd->out];
        float *y = p->ptr[nd->out];
        int t0 = nd->in[0];
        const lqf_view *v0 = &p->views[t0];
        switch (nd->op) {
        case LQF_OP_CONV: {
            lqf_conv_shape s;
            lqf_node_conv_shape(g, nd, p->batch, &s);
            lqf_epilogue ep;
            memset(&ep, 0, sizeof ep);
            ep.act = nd->a.conv.act;
            ep.alpha = nd->a.conv.alpha;
            if (nd->a.conv.act_param >= 0) {
                ep.slope = cbuf(p, nd->a.conv.act_param);
                ep.slope_shared = lqf_tensor_numel(&g->tensors[nd->a.conv.act_param]) == 1;
            }
            if (nd->a.conv.residual >= 0) ep.residual = cbuf(p, nd->a.conv.residual);
            const float *b = nd->nin > 2 && nd->in[2] >= 0 ? cbuf(p, nd->in[2]) : NULL;
            lqf_conv2d_forward(&s, cbuf(p, t0), cbuf(p, nd->in[1]), b, &ep, y, p->scratch);
            break;
        }
        case LQF_OP_BATCHNORM: run_batchnorm(p, nd); break;
        case LQF_OP_RELU:
        case LQF_OP_SIGMOID:
        case LQF_OP_LEAKYRELU:
        case LQF_OP_PRELU: {
            const float *x = unary_source(p, t0, nd->out);
            int64_t rows;
            int c;
            rows_channels(vo, &rows, &c);
            lqf_act act = nd->op == LQF_OP_RELU      ? LQF_ACT_RELU
                          : nd->op == LQF_OP_SIGMOID ? LQF_ACT_SIGMOID
                          : nd->op == LQF_OP_LEAKYRELU ? LQF_ACT_LEAKY
                                                      : LQF_ACT_PRELU;
            const float *slope = NULL;
            int shared = 0;
            if (act == LQF_ACT_PRELU) {
                slope = cbuf(p, nd->in[1]);
                shared = lqf_tensor_numel(&g->tensors[nd->in[1]]) == 1;
            }
            lqf_act_forward(act, slope, shared, nd->a.alpha, rows, c, x, y);
            break;
        }
        case LQF_OP_EXP: {
            const float *x = unary_source(p, t0, nd->out);
            lqf_exp_forward(view_numel(vo), x, y);
            break;
        }
        case LQF_OP_UNARY: {
            const float *x = unary_source(p, t0, nd->out);
            run_unary(nd->a.unary.fn, nd->a.unary.lo, nd->a.unary.hi, view_numel(vo), x, y);
            break;
        }
        case LQF_OP_ADD:
        case LQF_OP_SUB:
        case LQF_OP_MUL:
        case LQF_OP_DIV: {
            lqf_view va, vb;
            view_expand(v0, vo->ndim, &va);
            view_expand(&p->views[nd->in[1]], vo->ndim, &vb);
            lqf_binop op = nd->op == LQF_OP_ADD   ? LQF_BIN_ADD
                           : nd->op == LQF_OP_SUB ? LQF_BIN_SUB
                           : nd->op == LQF_OP_MUL ? LQF_BIN_MUL
                                                  : LQF_BIN_DIV;
            lqf_binary(op, &va, cbuf(p, t0), &vb, cbuf(p, nd->in[1]), vo, y);
            break;
        }
        case LQF_OP_MAXPOOL: {
            lqf_pool_shape s;
            lqf_node_pool_shape(g, nd, p->batch, &s);
            lqf_maxpool_forward(&s, cbuf(p, t0), y);
            break;
        }
        case LQF_OP_RESIZE:
            lqf_resize_nearest((int)v0->dims[0], (int)v0->dims[2], (int)v0->dims[3], (int)v0->dims[1],
                               nd->a.resize.sh, nd->a.resize.sw, cbuf(p, t0), y);
            break;
        case LQF_OP_TRANSPOSE: {
            if (p->alias[nd->out] >= 0) break;
            lqf_view pv;
            view_permute(v0, nd->a.transpose.perm, &pv);
            lqf_copy_view(&pv, cbuf(p, t0), vo, y);
            break;
        }
        case LQF_OP_DROPOUT: /* identity at inference (aliased unless the layouts differ) */
            if (p->alias[nd->out] < 0) lqf_copy_view(v0, cbuf(p, t0), vo, y);
            break;
        case LQF_OP_RESHAPE: {
            if (p->alias[nd->out] >= 0) break;
            /* the input in logical order, densely: into y directly when y is dense,
             * otherwise through scratch and then into y's layout */
            lqf_view dense_in, dense_out;
            lqf_view_dense(&dense_in, v0->ndim, v0->dims);
            if (view_is_dense(vo)) {
                lqf_copy_view(v0, cbuf(p, t0), &dense_in, y);
            } else {
                lqf_copy_view(v0, cbuf(p, t0), &dense_in, p->scratch);
                lqf_view_dense(&dense_out, vo->ndim, vo->dims);
                lqf_copy_view(&dense_out, p->scratch, vo, y);
            }
            break;
        }
        case LQF_OP_CONCAT: {
            int ax = nd->a.concat.axis;
            int64_t start = 0;
            for (int k = 0; k < nd->nin; k++) {
                const lqf_view *vi = &p->views[nd->in[k]];
                lqf_view dst = *vo;
                dst.dims[ax] = vi->dims[ax];
                lqf_copy_view(vi, cbuf(p, nd->in[k]), &dst, y + start * vo->strides[ax]);
                start += vi->dims[ax];
            }
            break;
        }
        case LQF_OP_GEMM: {
            const lqf_view *vb = &p->views[nd->in[1]];
            int ta = nd->a.gemm.trans_a, tb = nd->a.gemm.trans_b;
            int64_t M = vo->dims[0], N = vo->dims[1];
            int64_t K = ta ? v0->dims[0] : v0->dims[1];
            float beta = 0.0f;
            if (nd->nin > 2 && nd->in[2] >= 0 && nd->a.gemm.beta != 0.0f) {
                /* y = beta * C broadcast over (M,N) */
                lqf_view vc;
                view_expand(&p->views[nd->in[2]], 2, &vc);
                const float *c = cbuf(p, nd->in[2]);
                float bt = nd->a.gemm.beta;
                for (int64_t m = 0; m < M; m++)
                    for (int64_t n = 0; n < N; n++)
                        y[m * N + n] = bt * c[(vc.dims[0] == 1 ? 0 : m) * vc.strides[0] +
                                              (vc.dims[1] == 1 ? 0 : n) * vc.strides[1]];
                beta = 1.0f;
            }
            lqf_sgemm(ta, tb, M, N, K, nd->a.gemm.alpha, cbuf(p, t0), v0->dims[1], cbuf(p, nd->in[1]),
                      vb->dims[1], beta, y, N);
            break;
        }
        case LQF_OP_SOFTMAX: {
            const float *x = unary_source(p, t0, nd->out);
            lqf_softmax(vo, nd->a.softmax.axis, x, y);
            break;
        }
        case LQF_OP_REDUCESUM: {
            unsigned mask = 0;
            for (int k = 0; k < nd->a.reduce.naxes; k++) mask |= 1u << nd->a.reduce.axes[k];
            lqf_view vy;
            if (nd->a.reduce.keepdims) {
                vy = *vo;
            } else {
                /* same memory seen with the reduced axes kept as extent 1 (output is dense) */
                int64_t d[LQF_MAX_DIMS];
                for (int k = 0; k < v0->ndim; k++) d[k] = (mask >> k) & 1 ? 1 : v0->dims[k];
                lqf_view_dense(&vy, v0->ndim, d);
            }
            lqf_reduce_sum(v0, cbuf(p, t0), mask, &vy, y);
            break;
        }
        default:
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: node '%s': operator %d cannot run",
                            g->source ? g->source : "network", nd->name, (int)nd->op);
        }
    }
    return LQF_OK;
}
