/*
 * onnx_fold.c — constant folding at import: the handlers that evaluate a node whose inputs
 * are all constants (Shape needs only its input's dims), in double precision with an
 * int/float flag as ONNX Runtime would (integer Div truncates, float results are rounded to
 * float32). This is how the integer shape arithmetic exporters emit (Shape, Gather, Slice,
 * Cast, Div, Unsqueeze, Concat, ...) disappears so that only float operators reach the
 * graph; Constant nodes are read here too. Each handler fills a result and hands it to
 * define_result, which names it after the node's output.
 */
#include "onnx/onnx_internal.h"

#include <math.h>
#include <string.h>

static lqf_onnx_val empty_result(void) {
    lqf_onnx_val r;
    memset(&r, 0, sizeof r);
    r.tensor = -1;
    r.ctensor = -1;
    return r;
}

static lqf_status alloc_vals(lqf_onnx_importer *im, lqf_onnx_val *r, int64_t n) {
    r->val = malloc(((size_t)n + 1) * sizeof(double));
    if (!r->val) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory folding", im->path);
    return LQF_OK;
}

/* The result r (its values owned from here) becomes the value of the node's output. */
static lqf_status define_result(lqf_onnx_importer *im, const lqf_onnx_node *nd, lqf_onnx_val *r) {
    lqf_onnx_val *o = lqf_onnx_define(im, nd->n->output[0]);
    if (!o) {
        free(r->val);
        return lqf_onnx_fail(im);
    }
    const char *name = o->name;
    *o = *r;
    o->name = name;
    o->tensor = -1;
    o->ctensor = -1;
    return LQF_OK;
}

/* A same-shape result of a's type, values to be filled. */
static lqf_status like(lqf_onnx_importer *im, const lqf_onnx_val *a, lqf_onnx_val *r) {
    *r = empty_result();
    r->ndim = a->ndim;
    memcpy(r->dims, a->dims, sizeof r->dims);
    r->is_int = a->is_int;
    return alloc_vals(im, r, lqf_onnx_numel(a->ndim, a->dims));
}

lqf_status lqf_onnx_constant(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const Onnx__AttributeProto *a = lqf_onnx_attr(nd->n, "value");
    if (!a || !a->t) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only the 'value' tensor form is supported");
    lqf_onnx_val *o = lqf_onnx_define(im, nd->n->output[0]);
    if (!o) return lqf_onnx_fail(im);
    return lqf_onnx_read_tensor(im, a->t, nd->n->output[0], o);
}

lqf_status lqf_onnx_fold_shape(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const lqf_onnx_val *a = nd->in[0];
    lqf_onnx_val r = empty_result();
    r.ndim = 1;
    r.dims[0] = a->ndim;
    r.is_int = 1;
    r.from_shape = 1;
    lqf_status st = alloc_vals(im, &r, a->ndim);
    if (st) return st;
    for (int i = 0; i < a->ndim; i++) r.val[i] = (double)a->dims[i];
    return define_result(im, nd, &r);
}

/* Identity, Dropout (inference: the identity) */
lqf_status lqf_onnx_fold_copy(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const lqf_onnx_val *a = nd->in[0];
    lqf_onnx_val r;
    lqf_status st = like(im, a, &r);
    if (st) return st;
    memcpy(r.val, a->val, (size_t)lqf_onnx_numel(a->ndim, a->dims) * sizeof(double));
    return define_result(im, nd, &r);
}

lqf_status lqf_onnx_fold_cast(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const lqf_onnx_val *a = nd->in[0];
    int64_t to = lqf_onnx_attr_i(nd->n, "to", 1), na = lqf_onnx_numel(a->ndim, a->dims);
    lqf_onnx_val r;
    lqf_status st = like(im, a, &r);
    if (st) return st;
    r.is_int = lqf_onnx_is_int_type((int)to);
    for (int64_t i = 0; i < na; i++) {
        double x = a->val[i];
        if (r.is_int) x = trunc(x);
        else if (to == 1) x = (float)x;
        r.val[i] = x;
    }
    return define_result(im, nd, &r);
}

/* Floor, Ceil, Neg, Sqrt, Exp, Relu, Sigmoid, Abs, Reciprocal, Tanh */
lqf_status lqf_onnx_fold_unary(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const char *op = nd->n->op_type;
    const lqf_onnx_val *a = nd->in[0];
    int64_t na = lqf_onnx_numel(a->ndim, a->dims);
    lqf_onnx_val r;
    lqf_status st = like(im, a, &r);
    if (st) return st;
    for (int64_t i = 0; i < na; i++) {
        double x = a->val[i];
        switch (op[0]) {
        case 'F': x = floor(x); break;
        case 'C': x = ceil(x); break;
        case 'N': x = -x; break;
        case 'E': x = (float)exp(x); break;
        case 'R': x = op[2] == 'l' ? (x > 0 ? x : 0) : (float)(1.0 / x); break;
        case 'A': x = fabs(x); break;
        case 'T': x = (float)tanh(x); break;
        case 'S': x = op[1] == 'q' ? (float)sqrt(x) : (float)(1.0 / (1.0 + exp(-x))); break;
        }
        r.val[i] = x;
    }
    return define_result(im, nd, &r);
}

/* Index of output element `lin` (dims o, n dims) in a broadcast input of nd dims d. */
static int64_t bcast_index(int64_t lin, int n, const int64_t *o, int nd, const int64_t *d) {
    int64_t idx = 0, stride = 1;
    for (int i = n - 1; i >= 0; i--) {
        int64_t c = lin % o[i];
        lin /= o[i];
        int j = i - (n - nd);
        if (j >= 0) {
            if (d[j] != 1) idx += c * stride;
            stride *= d[j];
        }
    }
    return idx;
}

/* Add, Sub, Mul, Div with numpy broadcasting */
lqf_status lqf_onnx_fold_binary(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const char *op = nd->n->op_type;
    const lqf_onnx_val *a = nd->in[0], *b = nd->in[1];
    lqf_onnx_val r = empty_result();
    if (lqf_onnx_bcast(a->ndim, a->dims, b->ndim, b->dims, &r.ndim, r.dims) != 0)
        return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "%s", "input shapes do not broadcast");
    r.is_int = a->is_int && b->is_int;
    int64_t nr = lqf_onnx_numel(r.ndim, r.dims);
    if (nr > LQF_ONNX_MAX_NUMEL) return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "%s", "result too large");
    lqf_status st = alloc_vals(im, &r, nr);
    if (st) return st;
    for (int64_t i = 0; i < nr; i++) {
        double x = a->val[bcast_index(i, r.ndim, r.dims, a->ndim, a->dims)];
        double y = b->val[bcast_index(i, r.ndim, r.dims, b->ndim, b->dims)];
        double z;
        switch (op[0]) {
        case 'A': z = x + y; break;
        case 'S': z = x - y; break;
        case 'M': z = x * y; break;
        default:
            if (r.is_int) {
                if (y == 0) {
                    free(r.val);
                    return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "integer division by zero");
                }
                z = trunc(x / y);
            } else {
                z = x / y;
            }
        }
        r.val[i] = r.is_int ? z : (double)(float)z;
    }
    return define_result(im, nd, &r);
}

lqf_status lqf_onnx_fold_gather(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const lqf_onnx_val *a = nd->in[0], *ix = nd->in[1];
    int axis = lqf_onnx_axis(lqf_onnx_attr_i(nd->n, "axis", 0), a->ndim);
    if (axis < 0 || axis >= a->ndim) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "axis %d out of range", axis);
    lqf_onnx_val r = empty_result();
    r.ndim = a->ndim - 1 + ix->ndim;
    if (r.ndim > LQF_MAX_DIMS) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "too many dims");
    int k = 0;
    for (int i = 0; i < axis; i++) r.dims[k++] = a->dims[i];
    for (int i = 0; i < ix->ndim; i++) r.dims[k++] = ix->dims[i];
    for (int i = axis + 1; i < a->ndim; i++) r.dims[k++] = a->dims[i];
    r.is_int = a->is_int;
    int64_t outer = lqf_onnx_numel(axis, a->dims), inner = lqf_onnx_numel(a->ndim - axis - 1, a->dims + axis + 1);
    int64_t ni = lqf_onnx_numel(ix->ndim, ix->dims), ext = a->dims[axis];
    if (lqf_onnx_numel(r.ndim, r.dims) > LQF_ONNX_MAX_NUMEL)
        return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "%s", "result too large");
    lqf_status st = alloc_vals(im, &r, outer * ni * inner);
    if (st) return st;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t q = lqf_onnx_i64(ix->val[j]);
            if (q < 0) q += ext;
            if (q < 0 || q >= ext) {
                free(r.val);
                return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "index %lld out of range", (long long)q);
            }
            for (int64_t i = 0; i < inner; i++) r.val[(o * ni + j) * inner + i] = a->val[(o * ext + q) * inner + i];
        }
    return define_result(im, nd, &r);
}

/* Slice's starts/ends/axes/steps: attributes before opset 10, constant inputs after. */
static lqf_status slice_params(lqf_onnx_importer *im, const lqf_onnx_node *nd, int64_t *starts, int64_t *ends,
                               int64_t *axes, int64_t *steps, int *ns) {
    if (im->opset < 10) {
        *ns = lqf_onnx_attr_ints(nd->n, "starts", starts, LQF_MAX_DIMS);
        int ne = lqf_onnx_attr_ints(nd->n, "ends", ends, LQF_MAX_DIMS);
        int nax = lqf_onnx_attr_ints(nd->n, "axes", axes, LQF_MAX_DIMS);
        if (*ns < 0 || ne != *ns || *ns > LQF_MAX_DIMS || (nax >= 0 && nax != *ns))
            return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "starts/ends/axes missing or inconsistent");
        if (nax < 0)
            for (int i = 0; i < *ns; i++) axes[i] = i;
        for (int i = 0; i < *ns; i++) steps[i] = 1;
        return LQF_OK;
    }
    lqf_onnx_val *const *in = nd->in;
    if (!in[1] || !in[2]) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "starts/ends inputs missing");
    int64_t n1 = lqf_onnx_numel(in[1]->ndim, in[1]->dims);
    if (n1 > LQF_MAX_DIMS || lqf_onnx_numel(in[2]->ndim, in[2]->dims) != n1 ||
        (in[3] && lqf_onnx_numel(in[3]->ndim, in[3]->dims) != n1) ||
        (in[4] && lqf_onnx_numel(in[4]->ndim, in[4]->dims) != n1))
        return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad starts/ends/axes/steps");
    *ns = (int)n1;
    for (int i = 0; i < *ns; i++) {
        starts[i] = lqf_onnx_i64(in[1]->val[i]);
        ends[i] = lqf_onnx_i64(in[2]->val[i]);
        axes[i] = in[3] ? lqf_onnx_i64(in[3]->val[i]) : i;
        steps[i] = in[4] ? lqf_onnx_i64(in[4]->val[i]) : 1;
    }
    return LQF_OK;
}

lqf_status lqf_onnx_fold_slice(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const lqf_onnx_val *a = nd->in[0];
    int64_t starts[LQF_MAX_DIMS], ends[LQF_MAX_DIMS], axes[LQF_MAX_DIMS], steps[LQF_MAX_DIMS];
    int ns = 0;
    lqf_status st = slice_params(im, nd, starts, ends, axes, steps, &ns);
    if (st) return st;
    int64_t s0[LQF_MAX_DIMS], sp[LQF_MAX_DIMS];
    lqf_onnx_val r = empty_result();
    r.ndim = a->ndim;
    r.is_int = a->is_int;
    for (int d = 0; d < a->ndim; d++) {
        s0[d] = 0;
        sp[d] = 1;
        r.dims[d] = a->dims[d];
    }
    for (int i = 0; i < ns; i++) {
        int d = lqf_onnx_axis(axes[i], a->ndim);
        if (d < 0 || d >= a->ndim || steps[i] == 0) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad slice axis");
        int64_t e = a->dims[d], b = starts[i], f = ends[i], step = steps[i];
        if (b < 0) b += e;
        if (f < 0) f += e;
        if (step > 0) {
            b = LQF_MAX(0, LQF_MIN(b, e));
            f = LQF_MAX(0, LQF_MIN(f, e));
            r.dims[d] = f > b ? (f - b + step - 1) / step : 0;
        } else {
            b = LQF_MAX(-1, LQF_MIN(b, e - 1));
            f = LQF_MAX(-1, LQF_MIN(f, e - 1));
            r.dims[d] = b > f ? (b - f - step - 1) / (-step) : 0;
        }
        s0[d] = b;
        sp[d] = step;
    }
    int64_t nr = lqf_onnx_numel(r.ndim, r.dims);
    if ((st = alloc_vals(im, &r, nr))) return st;
    for (int64_t i = 0; i < nr; i++) {
        int64_t rem = i, src = 0, stride = 1;
        for (int d = r.ndim - 1; d >= 0; d--) {
            int64_t c = rem % r.dims[d];
            rem /= r.dims[d];
            src += (s0[d] + c * sp[d]) * stride;
            stride *= a->dims[d];
        }
        r.val[i] = a->val[src];
    }
    return define_result(im, nd, &r);
}

lqf_status lqf_onnx_fold_concat(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const lqf_onnx_val *a = nd->in[0];
    int axis = lqf_onnx_axis(lqf_onnx_attr_i(nd->n, "axis", 0), a->ndim);
    if (axis < 0 || axis >= a->ndim) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
    for (int k = 0; k < nd->nin; k++)
        if (!nd->in[k]) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "empty input name");
    lqf_onnx_val r = empty_result();
    r.ndim = a->ndim;
    memcpy(r.dims, a->dims, sizeof r.dims);
    r.is_int = a->is_int;
    r.dims[axis] = 0;
    for (int k = 0; k < nd->nin; k++) {
        if (nd->in[k]->ndim != a->ndim) return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "%s", "inputs differ in rank");
        r.dims[axis] += nd->in[k]->dims[axis];
        r.is_int &= nd->in[k]->is_int;
    }
    int64_t outer = lqf_onnx_numel(axis, a->dims), nr = lqf_onnx_numel(r.ndim, r.dims);
    int64_t inner = lqf_onnx_numel(a->ndim - axis - 1, a->dims + axis + 1);
    lqf_status st = alloc_vals(im, &r, nr);
    if (st) return st;
    int64_t off = 0;
    for (int k = 0; k < nd->nin; k++) {
        int64_t e = nd->in[k]->dims[axis];
        for (int64_t o = 0; o < outer; o++)
            memcpy(r.val + (o * r.dims[axis] + off) * inner, nd->in[k]->val + o * e * inner,
                   (size_t)(e * inner) * sizeof(double));
        off += e;
    }
    return define_result(im, nd, &r);
}

lqf_status lqf_onnx_fold_transpose(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const lqf_onnx_val *a = nd->in[0];
    int64_t perm[LQF_MAX_DIMS];
    int np = lqf_onnx_attr_ints(nd->n, "perm", perm, LQF_MAX_DIMS);
    if (np < 0)
        for (int i = 0; i < a->ndim; i++) perm[i] = a->ndim - 1 - i;
    else if (np != a->ndim)
        return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "perm does not match the rank");
    int seen[LQF_MAX_DIMS] = {0};
    for (int i = 0; i < a->ndim; i++)
        if (perm[i] < 0 || perm[i] >= a->ndim || seen[perm[i]]++) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad perm");
    lqf_onnx_val r = empty_result();
    r.ndim = a->ndim;
    r.is_int = a->is_int;
    for (int i = 0; i < a->ndim; i++) r.dims[i] = a->dims[perm[i]];
    int64_t sa[LQF_MAX_DIMS], s = 1, na = lqf_onnx_numel(a->ndim, a->dims);
    for (int i = a->ndim - 1; i >= 0; i--) {
        sa[i] = s;
        s *= a->dims[i];
    }
    lqf_status st = alloc_vals(im, &r, na);
    if (st) return st;
    for (int64_t i = 0; i < na; i++) {
        int64_t rem = i, src = 0;
        for (int d = r.ndim - 1; d >= 0; d--) {
            src += (rem % r.dims[d]) * sa[perm[d]];
            rem /= r.dims[d];
        }
        r.val[i] = a->val[src];
    }
    return define_result(im, nd, &r);
}
