/*
 * onnx_op_shape.c — the view operators of the ONNX importer: Identity and Dropout (the same
 * value under a new name), Reshape, Flatten, Squeeze and Unsqueeze (all one graph RESHAPE,
 * or a constant when their input is one), Transpose and Concat. Every reshape carries an
 * ONNX-semantics target (0 copies the input's dim, -1 is inferred): the file's own target
 * when it is written in the file, the computed dims when exporters computed it from Shape;
 * lqf_onnx_reshape resolves it against the input and lqf_onnx_reshape_node, the one place
 * that adds RESHAPE nodes, checks it against the output. Batch: a reshape follows the batch
 * when it keeps dim 0 as the built batch; one that moves it clears batch_ok.
 */
#include "onnx/onnx_internal.h"

#include <string.h>

enum { RS_OK = 0, RS_ZERO_BEYOND, RS_TWO_INFERRED, RS_BAD_DIM, RS_CANNOT_INFER, RS_COUNT };

/* ONNX Reshape: dims of an input of dims xd under target t; RS_* (*bad: the offending dim). */
static int resolve_target(int xnd, const int64_t *xd, int tnd, const int64_t *t, int allowzero, int64_t *out,
                          int64_t *bad) {
    int neg = -1;
    int64_t known = 1;
    for (int i = 0; i < tnd; i++) {
        int64_t d = t[i];
        if (d == 0 && !allowzero) {
            if (i >= xnd) return RS_ZERO_BEYOND;
            d = xd[i];
        }
        if (d == -1) {
            if (neg >= 0) return RS_TWO_INFERRED;
            neg = i;
        } else if (d < 0) {
            *bad = d;
            return RS_BAD_DIM;
        } else {
            known *= d;
        }
        out[i] = d;
    }
    int64_t total = lqf_onnx_numel(xnd, xd);
    if (neg >= 0) {
        if (known == 0 || total % known) return RS_CANNOT_INFER;
        out[neg] = total / known;
    }
    return lqf_onnx_numel(tnd, out) == total ? RS_OK : RS_COUNT;
}

lqf_status lqf_onnx_reshape_node(lqf_onnx_importer *im, const char *label, int xt, int out, int tndim,
                                 const int64_t *target, int fixed) {
    const lqf_tensor *x = &im->g->tensors[xt], *o = &im->g->tensors[out];
    int64_t d[LQF_MAX_DIMS], bad;
    int ok = tndim == o->ndim && resolve_target(x->ndim, x->dims, tndim, target, 0, d, &bad) == RS_OK;
    for (int i = 0; ok && i < tndim; i++) ok = d[i] == o->dims[i];
    if (!ok) return lqf_fail(LQF_ERR_SHAPE, "%s: Reshape '%s': its target does not give the output's dims", im->path, label);
    int k = lqf_graph_add_node(im->g, LQF_OP_RESHAPE, label, &xt, 1, out);
    if (k < 0) return lqf_onnx_fail(im);
    lqf_node *rn = &im->g->nodes[k];
    rn->a.reshape.ndim = tndim;
    for (int i = 0; i < tndim; i++) rn->a.reshape.shape[i] = target[i];
    rn->fixed = fixed;
    return LQF_OK;
}

/* Does a reshape from x to dims keep the batch in dim 0? */
static int keeps_batch(lqf_onnx_importer *im, const lqf_onnx_val *x, int ndim, const int64_t *dims) {
    if (!x->batched) return 0;
    if (ndim >= 1 && dims[0] == x->dims[0]) return 1;
    im->batch_ok = 0;
    return 0;
}

lqf_status lqf_onnx_reshape(lqf_onnx_importer *im, const lqf_onnx_node *nd, const char *label, const char *name,
                            lqf_onnx_val *x, int tndim, const int64_t *target, int allowzero, int fold_batch,
                            int fixed) {
    int64_t dims[LQF_MAX_DIMS], bad = 0, nx = lqf_onnx_numel(x->ndim, x->dims);
    switch (resolve_target(x->ndim, x->dims, tndim, target, allowzero, dims, &bad)) {
    case RS_ZERO_BEYOND: return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "%s", "0 in shape beyond input rank");
    case RS_TWO_INFERRED: return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "two -1 in shape");
    case RS_BAD_DIM: return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "bad dim %lld", (long long)bad);
    case RS_CANNOT_INFER: return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "%s", "cannot infer -1 in shape");
    case RS_COUNT:
        return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "cannot reshape %lld elements into %lld", (long long)nx,
                             (long long)lqf_onnx_numel(tndim, dims));
    }
    if (x->tensor < 0) { /* a constant: the same values under new dims */
        double *val = malloc(((size_t)nx + 1) * sizeof(double));
        if (!val) return lqf_onnx_fail(im);
        memcpy(val, x->val, (size_t)nx * sizeof(double));
        int is_int = x->is_int;
        lqf_onnx_val *o = lqf_onnx_define(im, name);
        if (!o) {
            free(val);
            return lqf_onnx_fail(im);
        }
        o->val = val;
        o->ndim = tndim;
        memcpy(o->dims, dims, (size_t)tndim * sizeof *dims);
        o->is_int = is_int;
        return LQF_OK;
    }
    int batched = keeps_batch(im, x, tndim, dims);
    if (fold_batch && batched) {
        batched = 0;
        im->batch_ok = 0;
    }
    int xt = x->tensor;
    lqf_onnx_val *o = lqf_onnx_act(im, name, tndim, dims, batched);
    if (!o) return lqf_onnx_fail(im);
    return lqf_onnx_reshape_node(im, label, xt, o->tensor, tndim, target, fixed);
}

/* Identity, Dropout (inference: the identity) of an activation */
lqf_status lqf_onnx_identity(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    return lqf_onnx_alias(im, nd->n->output[0], nd->in[0]) ? LQF_OK : lqf_onnx_fail(im);
}

lqf_status lqf_onnx_reshape_op(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const lqf_onnx_val *sh = nd->in[1];
    if (sh->tensor >= 0) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "target shape is not constant");
    int k = (int)lqf_onnx_numel(sh->ndim, sh->dims);
    if (k > LQF_MAX_DIMS) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%d dims", k);
    int64_t t[LQF_MAX_DIMS], bad;
    for (int i = 0; i < k; i++) t[i] = lqf_onnx_i64(sh->val[i]);
    int allowzero = lqf_onnx_attr_i(nd->n, "allowzero", 0) != 0;
    if (sh->from_shape) { /* computed from the input's size: the computed dims are the target */
        int64_t d[LQF_MAX_DIMS];
        if (resolve_target(nd->in[0]->ndim, nd->in[0]->dims, k, t, allowzero, d, &bad) == RS_OK)
            memcpy(t, d, (size_t)k * sizeof *d);
    }
    return lqf_onnx_reshape(im, nd, lqf_onnx_label(im, nd->n, nd->idx), nd->n->output[0], nd->in[0], k, t, allowzero,
                            0, sh->from_shape);
}

lqf_status lqf_onnx_flatten(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    lqf_onnx_val *x = nd->in[0];
    int64_t a = lqf_onnx_attr_i(nd->n, "axis", 1);
    int axis = lqf_onnx_axis(a, x->ndim);
    if (axis < 0 || axis > x->ndim) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
    /* axis 0: (1, all); axis 1: (N, rest); else the computed dims */
    int64_t t[2] = {axis == 0 ? 1 : 0, -1};
    if (axis > 1) t[0] = lqf_onnx_numel(axis, x->dims), t[1] = lqf_onnx_numel(x->ndim - axis, x->dims + axis);
    return lqf_onnx_reshape(im, nd, lqf_onnx_label(im, nd->n, nd->idx), nd->n->output[0], x, 2, t, 0, a == 0,
                            axis > 1);
}

/* Squeeze and Unsqueeze: target 0 (copy) up to the first axis removed or inserted, then the
 * resulting dims */
lqf_status lqf_onnx_squeeze(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    lqf_onnx_val *x = nd->in[0];
    int64_t axes[LQF_MAX_DIMS], t[LQF_MAX_DIMS];
    int na, k = 0;
    lqf_status st = lqf_onnx_axes(im, nd, axes, &na);
    if (st) return st;
    char mark[LQF_MAX_DIMS] = {0};
    if (nd->n->op_type[0] == 'S') { /* Squeeze: no axes = every dim of 1 */
        for (int i = 0; i < x->ndim; i++) mark[i] = na < 0 && x->dims[i] == 1;
        for (int i = 0; i < na; i++) {
            int a = lqf_onnx_axis(axes[i], x->ndim);
            if (a < 0 || a >= x->ndim || x->dims[a] != 1)
                return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "cannot squeeze axis %lld", (long long)axes[i]);
            mark[a] = 1;
        }
        for (int i = 0; i < x->ndim; i++)
            if (!mark[i]) t[k++] = x->dims[i];
    } else {
        if (na < 0) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "axes missing");
        k = x->ndim + na;
        if (k > LQF_MAX_DIMS) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "too many dims");
        for (int i = 0; i < na; i++) {
            int a = lqf_onnx_axis(axes[i], k);
            if (a < 0 || a >= k) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
            mark[a] = 1;
        }
        for (int i = 0, j = 0; i < k; i++) t[i] = mark[i] ? 1 : x->dims[j++];
    }
    for (int i = 0; i < k && i < x->ndim && !mark[i]; i++) t[i] = 0;
    /* computed dims (other than inserted ones) were taken at the imported size */
    int fixed = 0;
    for (int i = 0; i < k; i++) fixed |= t[i] > 0 && !(nd->n->op_type[0] != 'S' && mark[i]);
    return lqf_onnx_reshape(im, nd, lqf_onnx_label(im, nd->n, nd->idx), nd->n->output[0], x, k, t, 0, 0, fixed);
}

lqf_status lqf_onnx_transpose(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    lqf_onnx_val *x = nd->in[0];
    int64_t perm[LQF_MAX_DIMS], od[LQF_MAX_DIMS];
    int np = lqf_onnx_attr_ints(nd->n, "perm", perm, LQF_MAX_DIMS);
    if (np < 0) {
        np = x->ndim;
        for (int i = 0; i < np; i++) perm[i] = np - 1 - i;
    }
    if (np != x->ndim) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "perm does not match the rank");
    int seen[LQF_MAX_DIMS] = {0};
    for (int i = 0; i < np; i++) {
        if (perm[i] < 0 || perm[i] >= np || seen[perm[i]]++) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad perm");
        od[i] = x->dims[perm[i]];
    }
    int batched = x->batched && perm[0] == 0;
    if (x->batched && perm[0] != 0) im->batch_ok = 0;
    lqf_node *g;
    lqf_status r = lqf_onnx_emit_node(im, nd, LQF_OP_TRANSPOSE, &x->tensor, 1, x->ndim, od, batched, &g);
    if (r == LQF_OK)
        for (int i = 0; i < np; i++) g->a.transpose.perm[i] = (int)perm[i];
    return r;
}

/* Concat of activations and constants (constants become CONST tensors) */
lqf_status lqf_onnx_concat(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    lqf_onnx_val *x = nd->in[0];
    int nin = nd->nin;
    int axis = lqf_onnx_axis(lqf_onnx_attr_i(nd->n, "axis", 0), x->ndim);
    if (axis < 0 || axis >= x->ndim) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
    if (nin > LQF_MAX_NODE_IN)
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%d inputs (at most %d)", nin, LQF_MAX_NODE_IN);
    int ins[LQF_MAX_NODE_IN], batched = 0;
    int64_t od[LQF_MAX_DIMS];
    memcpy(od, x->dims, sizeof od);
    od[axis] = 0;
    for (int i = 0; i < nin; i++) {
        lqf_onnx_val *v = nd->in[i];
        if (!v || v->ndim != x->ndim) return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "%s", "inputs differ in rank");
        for (int d = 0; d < x->ndim; d++)
            if (d != axis && v->dims[d] != x->dims[d])
                return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "inputs differ in dim %d (%lld vs %lld)", d, (long long)v->dims[d],
                                     (long long)x->dims[d]);
        od[axis] += v->dims[axis];
        if (v->tensor >= 0 && v->batched) batched = 1;
        if ((ins[i] = lqf_onnx_tensor_of(im, v)) < 0) return lqf_onnx_fail(im);
    }
    for (int i = 0; i < nin; i++)
        if (batched && !(nd->in[i]->tensor >= 0 && nd->in[i]->batched)) im->batch_ok = 0;
    if (batched && axis == 0) im->batch_ok = 0;
    lqf_node *g;
    lqf_status r = lqf_onnx_emit_node(im, nd, LQF_OP_CONCAT, ins, nin, x->ndim, od, batched, &g);
    if (r == LQF_OK) g->a.concat.axis = axis;
    return r;
}
