/*
 * onnx_import.c — ONNX model → lqf_graph. The model is parsed with protobuf-c (schema from
 * Debian's onnx.proto, generated at build time), every node's operator is checked against
 * the supported list BEFORE anything is built, then nodes are visited in their (topological)
 * order. Every value is either a graph tensor (float activation with a known shape) or a
 * constant held here in double precision with an int/float flag; nodes whose inputs are all
 * constant are evaluated at load (Shape of a tensor of known shape is constant too), so the
 * integer shape arithmetic exporters emit (Shape, Gather, Slice, Cast, Div, Unsqueeze,
 * Concat, ...) disappears and only float operators reach the graph. Constants are turned
 * into graph PARAM/CONST tensors when a float operator reads them; convolution weights are
 * packed with lqf_conv_pack_weights after folding a following BatchNormalization into them.
 * Batch: the image input's dim 0 is built as 1 and marked `batched`; shapes carry the flag
 * through each operator (Reshape follows the batch when its target keeps dim 0 as the built
 * batch, 0 or -1). A graph that mixes the batch into other dims reports batch_ok = 0.
 * Layout: 4-D activations are NHWC except the outputs of Transpose/Reshape that only feed
 * other view operators, which are kept dense so that the exporters' NCHW→NHWC transposes
 * followed by reshapes become free aliases in the executor.
 */
#include "nn/net.h"
#include "onnx.pb-c.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ values */

typedef struct {
    const char *name;   /* points into the parsed model */
    int tensor;         /* graph tensor, or -1 for a constant */
    int ndim;
    int64_t dims[LQF_MAX_DIMS];
    int batched;        /* graph tensors: dim 0 follows the batch */
    double *val;        /* constants: numel values */
    int is_int;         /* constants: integer type */
    int ctensor;        /* constants: cached CONST graph tensor, or -1 */
    int padded;         /* output of a zero Pad folded into the convolutions that read it: */
    int64_t pad[4];     /* top, left, bottom, right added to their pads (dims are the padded ones) */
} ival;

typedef struct {
    const char *path;
    lqf_graph *g;
    Onnx__GraphProto *gp;
    int opset;
    const int *in_hw;
    int batch_ok;
    ival **v;           /* each value allocated on its own: pointers stay valid */
    int nv, capv;
    int *hash;          /* open addressing over v, size hcap (power of 2) */
    int hcap;
    lqf_status err;     /* set with its message by helpers that return NULL for a reason */
    char nodename[256];
} importer;

/* The failure of a helper that returned NULL/-1: its own error, else out of memory. */
static lqf_status im_fail(importer *im) {
    if (im->err != LQF_OK) return im->err;
    return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", im->path);
}

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

/* Element count; saturates at LQF_ONNX_MAX_NUMEL + 1 so that absurd (corrupt) dims cannot
 * overflow: callers reject anything above LQF_ONNX_MAX_NUMEL. */
#define LQF_ONNX_MAX_NUMEL ((int64_t)1 << 31)
static int64_t numel_of(int ndim, const int64_t *d) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (d[i] < 0) return LQF_ONNX_MAX_NUMEL + 1;
        if (d[i] == 0) return 0;
        if (n > LQF_ONNX_MAX_NUMEL / d[i]) return LQF_ONNX_MAX_NUMEL + 1;
        n *= d[i];
    }
    return n;
}

/* double (an integer constant) -> int64, clamped to +-2^62 (INT64_MAX "to the end" in Slice) */
static int64_t to_i64(double x) {
    const double lim = 4611686018427387904.0;
    if (!(x == x)) return 0;
    if (x >= lim) return (int64_t)1 << 62;
    if (x <= -lim) return -((int64_t)1 << 62);
    return (int64_t)x;
}

static ival *find_val(importer *im, const char *name) {
    if (!name || !*name || im->hcap == 0) return NULL;
    uint32_t h = hash_str(name) & (uint32_t)(im->hcap - 1);
    while (im->hash[h] >= 0) {
        ival *v = im->v[im->hash[h]];
        if (strcmp(v->name, name) == 0) return v;
        h = (h + 1) & (uint32_t)(im->hcap - 1);
    }
    return NULL;
}

/* Define (or redefine) a value; returns it, or NULL on OOM. */
static ival *new_val(importer *im, const char *name) {
    ival *old = find_val(im, name);
    if (old) {
        free(old->val);
        old->val = NULL;
        old->tensor = -1;
        old->ctensor = -1;
        return old;
    }
    if (im->nv == im->capv) {
        int cap = im->capv ? 2 * im->capv : 256;
        ival **nv = realloc(im->v, (size_t)cap * sizeof *nv);
        if (!nv) return NULL;
        im->v = nv;
        im->capv = cap;
    }
    if (2 * (im->nv + 1) > im->hcap) {
        int cap = im->hcap ? 2 * im->hcap : 1024;
        int *h = malloc((size_t)cap * sizeof *h);
        if (!h) return NULL;
        for (int i = 0; i < cap; i++) h[i] = -1;
        for (int i = 0; i < im->nv; i++) {
            uint32_t k = hash_str(im->v[i]->name) & (uint32_t)(cap - 1);
            while (h[k] >= 0) k = (k + 1) & (uint32_t)(cap - 1);
            h[k] = i;
        }
        free(im->hash);
        im->hash = h;
        im->hcap = cap;
    }
    ival *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    im->v[im->nv] = v;
    v->name = name;
    v->tensor = -1;
    v->ctensor = -1;
    uint32_t k = hash_str(name) & (uint32_t)(im->hcap - 1);
    while (im->hash[k] >= 0) k = (k + 1) & (uint32_t)(im->hcap - 1);
    im->hash[k] = im->nv;
    im->nv++;
    return v;
}

/* ------------------------------------------------------------------ messages */

static const char *node_label(importer *im, const Onnx__NodeProto *n, int idx) {
    if (n->name && *n->name)
        snprintf(im->nodename, sizeof im->nodename, "%s", n->name);
    else if (n->n_output > 0 && n->output[0] && *n->output[0])
        snprintf(im->nodename, sizeof im->nodename, "#%d, output '%s'", idx, n->output[0]);
    else
        snprintf(im->nodename, sizeof im->nodename, "#%d", idx);
    return im->nodename;
}

#define NODE_FAIL(st, fmt, ...)                                                            \
    lqf_fail(st, "%s: %s node '%s': " fmt, im->path, n->op_type, node_label(im, n, idx),   \
             __VA_ARGS__)

/* ------------------------------------------------------------------ attributes */

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0) return n->attribute[i];
    return NULL;
}
static int64_t attr_i(const Onnx__NodeProto *n, const char *name, int64_t dflt) {
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_i ? a->i : dflt;
}
static float attr_f(const Onnx__NodeProto *n, const char *name, float dflt) {
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_f ? a->f : dflt;
}
/* ints attribute: count (or -1 if absent) */
static int attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, int max) {
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a) return -1;
    int k = (int)a->n_ints;
    for (int i = 0; i < k && i < max; i++) out[i] = a->ints[i];
    return k;
}

/* An optional ints attribute of exactly `count` values: absent keeps out as it is (the
 * defaults), present with another count returns -1. */
static int attr_ints_exact(const Onnx__NodeProto *n, const char *name, int64_t *out, int count) {
    int64_t tmp[8];
    int k = attr_ints(n, name, tmp, 8);
    if (k < 0) return 0;
    if (k != count) return -1;
    memcpy(out, tmp, sizeof(int64_t) * (size_t)count);
    return 0;
}
static int attr_s_is(const Onnx__NodeProto *n, const char *name, const char *dflt, const char *want) {
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a || !a->has_s) return strcmp(dflt, want) == 0;
    return strlen(want) == a->s.len && memcmp(a->s.data, want, a->s.len) == 0;
}
static void attr_s_copy(const Onnx__NodeProto *n, const char *name, const char *dflt, char *buf, size_t cap) {
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a || !a->has_s) {
        snprintf(buf, cap, "%s", dflt);
        return;
    }
    snprintf(buf, cap, "%.*s", (int)a->s.len, (const char *)a->s.data);
}

/* ------------------------------------------------------------------ tensors */

static int is_int_type(int dt) {
    return dt == 2 || dt == 3 || dt == 4 || dt == 5 || dt == 6 || dt == 7 || dt == 9 || dt == 12 || dt == 13;
}

/* Decode a TensorProto into a constant value. */
static lqf_status read_tensor(importer *im, const Onnx__TensorProto *t, const char *what, ival *v) {
    const char *nm = t->name && *t->name ? t->name : what;
    if ((int)t->n_dims > LQF_MAX_DIMS)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dims (at most %d supported)", im->path,
                        nm, (int)t->n_dims, LQF_MAX_DIMS);
    if (t->n_external_data > 0 || (t->has_data_location && t->data_location == 1))
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' uses external data files", im->path, nm);
    v->ndim = (int)t->n_dims;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0)
            return lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' has a negative dimension", im->path, nm);
        v->dims[i] = t->dims[i];
    }
    int64_t n = numel_of(v->ndim, v->dims);
    if (n > LQF_ONNX_MAX_NUMEL)
        return lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' is too large (corrupt dims?)", im->path, nm);
    int dt = t->data_type;
    size_t esz;
    switch (dt) {
    case 1: case 6: case 12: esz = 4; break;
    case 7: case 11: case 13: esz = 8; break;
    case 2: case 3: case 9: esz = 1; break;
    case 4: case 5: esz = 2; break;
    default:
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported data type %d", im->path, nm, dt);
    }
    v->is_int = is_int_type(dt);
    v->val = malloc(((size_t)n + 1) * sizeof(double));
    if (!v->val) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory reading tensor '%s'", im->path, nm);
    if (t->has_raw_data && t->raw_data.len > 0) {
        if (t->raw_data.len != (size_t)n * esz)
            return lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' holds %zu bytes, its shape needs %zu", im->path, nm,
                            t->raw_data.len, (size_t)n * esz);
        const uint8_t *r = t->raw_data.data;
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *q = r + i * esz;
            double x = 0;
            switch (dt) {
            case 1: { float f; memcpy(&f, q, 4); x = f; break; }
            case 11: { double d; memcpy(&d, q, 8); x = d; break; }
            case 6: { int32_t k; memcpy(&k, q, 4); x = k; break; }
            case 12: { uint32_t k; memcpy(&k, q, 4); x = k; break; }
            case 7: { int64_t k; memcpy(&k, q, 8); x = (double)k; break; }
            case 13: { uint64_t k; memcpy(&k, q, 8); x = (double)k; break; }
            case 2: case 9: x = *q; break;
            case 3: x = (int8_t)*q; break;
            case 4: { uint16_t k; memcpy(&k, q, 2); x = k; break; }
            case 5: { int16_t k; memcpy(&k, q, 2); x = k; break; }
            }
            v->val[i] = x;
        }
        return LQF_OK;
    }
    size_t have;
    switch (dt) {
    case 1: have = t->n_float_data; break;
    case 11: have = t->n_double_data; break;
    case 7: have = t->n_int64_data; break;
    case 12: case 13: have = t->n_uint64_data; break;
    default: have = t->n_int32_data; break;
    }
    if (have != (size_t)n)
        return lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' holds %zu values, its shape needs %lld", im->path, nm,
                        have, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case 1: v->val[i] = t->float_data[i]; break;
        case 11: v->val[i] = t->double_data[i]; break;
        case 7: v->val[i] = (double)t->int64_data[i]; break;
        case 12: case 13: v->val[i] = (double)t->uint64_data[i]; break;
        default: v->val[i] = t->int32_data[i]; break;
        }
    }
    return LQF_OK;
}

/* Write n values of a constant (logical dims) into float storage; 4-D goes NHWC. */
static void store_const(const ival *v, int ndim, const int64_t *dims, float *dst) {
    int64_t n = numel_of(ndim, dims);
    if (ndim == 4) {
        int64_t N = dims[0], C = dims[1], H = dims[2], W = dims[3];
        for (int64_t a = 0; a < N; a++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t h = 0; h < H; h++)
                    for (int64_t w = 0; w < W; w++)
                        dst[((a * H + h) * W + w) * C + c] = (float)v->val[((a * C + c) * H + h) * W + w];
    } else {
        for (int64_t i = 0; i < n; i++) dst[i] = (float)v->val[i];
    }
}

/* Graph tensor for a value: activations as they are, constants materialised (cached). */
static int tensor_of(importer *im, ival *v, lqf_tensor_kind kind) {
    if (v->tensor >= 0) return v->tensor;
    if (kind == LQF_T_CONST && v->ctensor >= 0) return v->ctensor;
    int t = lqf_graph_add_tensor(im->g, v->name, kind, v->ndim, v->dims, 0);
    if (t < 0) return -1;
    store_const(v, v->ndim, v->dims, lqf_graph_data(im->g, t));
    if (kind == LQF_T_CONST) v->ctensor = t;
    return t;
}

/* Define an output value as a new graph activation. */
static ival *new_act(importer *im, const char *name, int ndim, const int64_t *dims, int batched) {
    if (numel_of(ndim, dims) > LQF_ONNX_MAX_NUMEL) {
        im->err = lqf_fail(LQF_ERR_SHAPE, "%s: tensor '%s' would hold more than 2^31 values", im->path, name);
        return NULL;
    }
    ival *v = new_val(im, name);
    if (!v) return NULL;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) v->dims[i] = dims[i];
    v->batched = batched;
    v->tensor = lqf_graph_add_tensor(im->g, name, LQF_T_ACT, ndim, dims, batched);
    if (v->tensor < 0) return NULL;
    return v;
}

/* ------------------------------------------------------------------ constant folding */

static int bcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *no, int64_t *o) {
    int n = LQF_MAX(na, nb);
    for (int i = 0; i < n; i++) {
        int64_t x = i - (n - na) >= 0 ? a[i - (n - na)] : 1;
        int64_t y = i - (n - nb) >= 0 ? b[i - (n - nb)] : 1;
        if (x != y && x != 1 && y != 1) return -1;
        o[i] = x == 1 ? y : x;
    }
    *no = n;
    return 0;
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

static int norm_axis(int64_t a, int ndim) { return (int)(a < 0 ? a + ndim : a); }

/* Evaluate a node whose inputs are all constants. Returns LQF_OK, or a failure. */
static lqf_status fold_node(importer *im, const Onnx__NodeProto *n, int idx, ival **in, int nin) {
    const char *op = n->op_type;
    ival r;
    memset(&r, 0, sizeof r);
    r.tensor = -1;
    r.ctensor = -1;
    ival *a = nin > 0 ? in[0] : NULL;
    int64_t na = a ? numel_of(a->ndim, a->dims) : 0;
#define ALLOC_R(cnt)                                                                     \
    do {                                                                                 \
        r.val = malloc(((size_t)(cnt) + 1) * sizeof(double));                            \
        if (!r.val) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory folding", im->path); \
    } while (0)
    if (!strcmp(op, "Shape")) {
        r.ndim = 1;
        r.dims[0] = a->ndim;
        r.is_int = 1;
        ALLOC_R(a->ndim);
        for (int i = 0; i < a->ndim; i++) r.val[i] = (double)a->dims[i];
    } else if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
        r = *a;
        r.ctensor = -1;
        ALLOC_R(na);
        memcpy(r.val, a->val, (size_t)na * sizeof(double));
    } else if (!strcmp(op, "Cast")) {
        int64_t to = attr_i(n, "to", 1);
        r = *a;
        r.ctensor = -1;
        r.is_int = is_int_type((int)to);
        ALLOC_R(na);
        for (int64_t i = 0; i < na; i++) {
            double x = a->val[i];
            if (r.is_int) x = trunc(x);
            else if (to == 1) x = (float)x;
            r.val[i] = x;
        }
    } else if (!strcmp(op, "Floor") || !strcmp(op, "Ceil") || !strcmp(op, "Neg") || !strcmp(op, "Sqrt") ||
               !strcmp(op, "Exp") || !strcmp(op, "Relu") || !strcmp(op, "Sigmoid") || !strcmp(op, "Abs") ||
               !strcmp(op, "Reciprocal") || !strcmp(op, "Tanh")) {
        r = *a;
        r.ctensor = -1;
        ALLOC_R(na);
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
    } else if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div")) {
        ival *b = in[1];
        if (bcast_shape(a->ndim, a->dims, b->ndim, b->dims, &r.ndim, r.dims) != 0)
            return NODE_FAIL(LQF_ERR_SHAPE, "%s", "input shapes do not broadcast");
        r.is_int = a->is_int && b->is_int;
        int64_t nr = numel_of(r.ndim, r.dims);
        if (nr > LQF_ONNX_MAX_NUMEL) return NODE_FAIL(LQF_ERR_SHAPE, "%s", "result too large");
        ALLOC_R(nr);
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
                    if (y == 0) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "integer division by zero");
                    z = trunc(x / y);
                } else {
                    z = x / y;
                }
            }
            r.val[i] = r.is_int ? z : (double)(float)z;
        }
    } else if (!strcmp(op, "Gather")) {
        ival *ix = in[1];
        int axis = norm_axis(attr_i(n, "axis", 0), a->ndim);
        if (axis < 0 || axis >= a->ndim) return NODE_FAIL(LQF_ERR_FORMAT, "axis %d out of range", axis);
        r.ndim = a->ndim - 1 + ix->ndim;
        if (r.ndim > LQF_MAX_DIMS) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "too many dims");
        int k = 0;
        for (int i = 0; i < axis; i++) r.dims[k++] = a->dims[i];
        for (int i = 0; i < ix->ndim; i++) r.dims[k++] = ix->dims[i];
        for (int i = axis + 1; i < a->ndim; i++) r.dims[k++] = a->dims[i];
        r.is_int = a->is_int;
        int64_t outer = numel_of(axis, a->dims), inner = numel_of(a->ndim - axis - 1, a->dims + axis + 1);
        int64_t ni = numel_of(ix->ndim, ix->dims), ext = a->dims[axis];
        if (numel_of(r.ndim, r.dims) > LQF_ONNX_MAX_NUMEL) return NODE_FAIL(LQF_ERR_SHAPE, "%s", "result too large");
        ALLOC_R(outer * ni * inner);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < ni; j++) {
                int64_t q = to_i64(ix->val[j]);
                if (q < 0) q += ext;
                if (q < 0 || q >= ext) {
                    free(r.val);
                    return NODE_FAIL(LQF_ERR_FORMAT, "index %lld out of range", (long long)q);
                }
                for (int64_t i = 0; i < inner; i++)
                    r.val[(o * ni + j) * inner + i] = a->val[(o * ext + q) * inner + i];
            }
    } else if (!strcmp(op, "Slice")) {
        int64_t starts[LQF_MAX_DIMS], ends[LQF_MAX_DIMS], axes[LQF_MAX_DIMS], steps[LQF_MAX_DIMS];
        int ns;
        if (im->opset < 10) {
            ns = attr_ints(n, "starts", starts, LQF_MAX_DIMS);
            int ne = attr_ints(n, "ends", ends, LQF_MAX_DIMS);
            int nax = attr_ints(n, "axes", axes, LQF_MAX_DIMS);
            if (ns < 0 || ne != ns || ns > LQF_MAX_DIMS || (nax >= 0 && nax != ns))
                return NODE_FAIL(LQF_ERR_FORMAT, "%s", "starts/ends/axes missing or inconsistent");
            if (nax < 0)
                for (int i = 0; i < ns; i++) axes[i] = i;
            for (int i = 0; i < ns; i++) steps[i] = 1;
        } else {
            if (nin < 3) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "starts/ends inputs missing");
            int64_t n1 = numel_of(in[1]->ndim, in[1]->dims);
            if (n1 > LQF_MAX_DIMS || !in[2] || numel_of(in[2]->ndim, in[2]->dims) != n1 ||
                (nin > 3 && in[3] && numel_of(in[3]->ndim, in[3]->dims) != n1) ||
                (nin > 4 && in[4] && numel_of(in[4]->ndim, in[4]->dims) != n1))
                return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad starts/ends/axes/steps");
            ns = (int)n1;
            for (int i = 0; i < ns; i++) {
                starts[i] = to_i64(in[1]->val[i]);
                ends[i] = to_i64(in[2]->val[i]);
                axes[i] = nin > 3 && in[3] ? to_i64(in[3]->val[i]) : i;
                steps[i] = nin > 4 && in[4] ? to_i64(in[4]->val[i]) : 1;
            }
        }
        int64_t st[LQF_MAX_DIMS], sp[LQF_MAX_DIMS];
        r.ndim = a->ndim;
        r.is_int = a->is_int;
        for (int d = 0; d < a->ndim; d++) {
            st[d] = 0;
            sp[d] = 1;
            r.dims[d] = a->dims[d];
        }
        for (int i = 0; i < ns; i++) {
            int d = norm_axis(axes[i], a->ndim);
            if (d < 0 || d >= a->ndim || steps[i] == 0) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad slice axis");
            int64_t e = a->dims[d], s0 = starts[i], e0 = ends[i], step = steps[i];
            if (s0 < 0) s0 += e;
            if (e0 < 0) e0 += e;
            if (step > 0) {
                s0 = LQF_MAX(0, LQF_MIN(s0, e));
                e0 = LQF_MAX(0, LQF_MIN(e0, e));
                r.dims[d] = e0 > s0 ? (e0 - s0 + step - 1) / step : 0;
            } else {
                s0 = LQF_MAX(-1, LQF_MIN(s0, e - 1));
                e0 = LQF_MAX(-1, LQF_MIN(e0, e - 1));
                r.dims[d] = s0 > e0 ? (s0 - e0 - step - 1) / (-step) : 0;
            }
            st[d] = s0;
            sp[d] = step;
        }
        int64_t nr = numel_of(r.ndim, r.dims);
        ALLOC_R(nr);
        for (int64_t i = 0; i < nr; i++) {
            int64_t rem = i, src = 0, stride = 1;
            for (int d = r.ndim - 1; d >= 0; d--) {
                int64_t c = rem % r.dims[d];
                rem /= r.dims[d];
                src += (st[d] + c * sp[d]) * stride;
                stride *= a->dims[d];
            }
            r.val[i] = a->val[src];
        }
    } else if (!strcmp(op, "Concat")) {
        int axis = norm_axis(attr_i(n, "axis", 0), a->ndim);
        if (axis < 0 || axis >= a->ndim) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
        for (int k = 0; k < nin; k++)
            if (!in[k]) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "empty input name");
        r = *a;
        r.ctensor = -1;
        r.dims[axis] = 0;
        for (int k = 0; k < nin; k++) {
            if (in[k]->ndim != a->ndim) return NODE_FAIL(LQF_ERR_SHAPE, "%s", "inputs differ in rank");
            r.dims[axis] += in[k]->dims[axis];
            r.is_int &= in[k]->is_int;
        }
        int64_t outer = numel_of(axis, a->dims), nr = numel_of(r.ndim, r.dims);
        int64_t inner = numel_of(a->ndim - axis - 1, a->dims + axis + 1);
        ALLOC_R(nr);
        int64_t off = 0;
        for (int k = 0; k < nin; k++) {
            int64_t e = in[k]->dims[axis];
            for (int64_t o = 0; o < outer; o++)
                memcpy(r.val + (o * r.dims[axis] + off) * inner, in[k]->val + o * e * inner,
                       (size_t)(e * inner) * sizeof(double));
            off += e;
        }
    } else if (!strcmp(op, "Transpose")) {
        int64_t perm[LQF_MAX_DIMS];
        int np = attr_ints(n, "perm", perm, LQF_MAX_DIMS);
        if (np < 0)
            for (int i = 0; i < a->ndim; i++) perm[i] = a->ndim - 1 - i;
        else if (np != a->ndim)
            return NODE_FAIL(LQF_ERR_FORMAT, "%s", "perm does not match the rank");
        int seen[LQF_MAX_DIMS] = {0};
        for (int i = 0; i < a->ndim; i++)
            if (perm[i] < 0 || perm[i] >= a->ndim || seen[perm[i]]++)
                return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad perm");
        r.ndim = a->ndim;
        r.is_int = a->is_int;
        for (int i = 0; i < a->ndim; i++) r.dims[i] = a->dims[perm[i]];
        int64_t sa[LQF_MAX_DIMS], s = 1;
        for (int i = a->ndim - 1; i >= 0; i--) {
            sa[i] = s;
            s *= a->dims[i];
        }
        ALLOC_R(na);
        for (int64_t i = 0; i < na; i++) {
            int64_t rem = i, src = 0;
            for (int d = r.ndim - 1; d >= 0; d--) {
                src += (rem % r.dims[d]) * sa[perm[d]];
                rem /= r.dims[d];
            }
            r.val[i] = a->val[src];
        }
    } else {
        /* shape-only operators: Reshape, Flatten, Squeeze, Unsqueeze — dims computed by caller */
        return LQF_ERR_UNSUPPORTED;
    }
#undef ALLOC_R
    ival *o = new_val(im, n->output[0]);
    if (!o) {
        free(r.val);
        return im_fail(im);
    }
    const char *name = o->name;
    *o = r;
    o->name = name;
    o->tensor = -1;
    o->ctensor = -1;
    return LQF_OK;
}

/* ------------------------------------------------------------------ supported operators */

static const char *const k_supported[] = {
    "Conv", "BatchNormalization", "PRelu", "Relu", "LeakyRelu", "Sigmoid", "Add", "Sub", "Mul", "Div",
    "Exp", "MaxPool", "Resize", "Upsample", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
    "Concat", "Gemm", "MatMul", "Softmax", "ReduceSum", "Identity", "Dropout",
    "ReduceMean", "ReduceL2", "GlobalAveragePool", "Sqrt", "Tanh", "Abs", "Neg", "Reciprocal", "Clip", "Pow",
    "Pad",
    /* folded at load (constant or shape inputs only) */
    "Shape", "Gather", "Slice", "Cast", "Floor", "Ceil", "Constant", NULL};
/* operators that only exist as constant folding */
static int fold_only(const char *op) {
    return !strcmp(op, "Shape") || !strcmp(op, "Gather") || !strcmp(op, "Slice") || !strcmp(op, "Cast") ||
           !strcmp(op, "Floor") || !strcmp(op, "Ceil");
}

/* ------------------------------------------------------------------ reshape-like */

/* Reshape value x to dims (ONNX semantics already resolved) as a graph node or a constant. */
static lqf_status emit_reshape(importer *im, const Onnx__NodeProto *n, int idx, ival *x, int ndim,
                               const int64_t *dims, int batched) {
    if (numel_of(ndim, dims) != numel_of(x->ndim, x->dims))
        return NODE_FAIL(LQF_ERR_SHAPE, "cannot reshape %lld elements into %lld", (long long)numel_of(x->ndim, x->dims),
                         (long long)numel_of(ndim, dims));
    if (x->tensor < 0) {
        ival *o = new_val(im, n->output[0]);
        if (!o) return im_fail(im);
        int64_t cnt = numel_of(ndim, dims);
        o->val = malloc(((size_t)cnt + 1) * sizeof(double));
        if (!o->val) return im_fail(im);
        memcpy(o->val, x->val, (size_t)cnt * sizeof(double));
        o->ndim = ndim;
        for (int i = 0; i < ndim; i++) o->dims[i] = dims[i];
        o->is_int = x->is_int;
        return LQF_OK;
    }
    int xt = x->tensor;
    ival *o = new_act(im, n->output[0], ndim, dims, batched);
    if (!o) return im_fail(im);
    if (lqf_graph_add_node(im->g, LQF_OP_RESHAPE, node_label(im, n, idx), &xt, 1, o->tensor) < 0)
        return im_fail(im);
    return LQF_OK;
}

/* Does a reshape from x to dims keep the batch in dim 0? */
static int reshape_batched(importer *im, const ival *x, int ndim, const int64_t *dims) {
    if (!x->batched) return 0;
    if (ndim >= 1 && dims[0] == x->dims[0]) return 1;
    im->batch_ok = 0;
    return 0;
}

/* ------------------------------------------------------------------ the node visitor */

static lqf_status conv_node(importer *im, const Onnx__NodeProto *n, int idx, ival **in, int nin,
                            const Onnx__NodeProto *bn, ival **bnin) {
    ival *x = in[0], *w = in[1], *b = nin > 2 ? in[2] : NULL;
    if (x->tensor < 0) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "constant input");
    if (x->ndim != 4) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "only 2-D convolution is supported (input has %d dims)", x->ndim);
    if (!w || w->tensor >= 0 || w->ndim != 4)
        return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "weights must be a constant 4-D tensor");
    if (b && (b->tensor >= 0 || numel_of(b->ndim, b->dims) != w->dims[0]))
        return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "bias must be a constant of Cout values");
    int64_t ks[2] = {w->dims[2], w->dims[3]}, st[2] = {1, 1}, dl[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, tmp[8];
    int k;
    if ((k = attr_ints(n, "kernel_shape", tmp, 8)) >= 0 && (k != 2 || tmp[0] != ks[0] || tmp[1] != ks[1]))
        return NODE_FAIL(LQF_ERR_FORMAT, "%s", "kernel_shape does not match the weights");
    if (attr_ints_exact(n, "strides", st, 2)) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad strides");
    if (attr_ints_exact(n, "dilations", dl, 2)) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad dilations");
    if (attr_ints_exact(n, "pads", pads, 4)) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad pads");
    int64_t group = attr_i(n, "group", 1);
    int64_t H = x->dims[2], W = x->dims[3], C = x->dims[1], O = w->dims[0];
    char autopad[32];
    attr_s_copy(n, "auto_pad", "NOTSET", autopad, sizeof autopad);
    if (x->padded) { /* a folded Pad: the tensor itself is unpadded, its padding joins ours */
        if (strcmp(autopad, "NOTSET") != 0) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "auto_pad after a Pad");
        H -= x->pad[0] + x->pad[2];
        W -= x->pad[1] + x->pad[3];
        for (int i = 0; i < 4; i++) pads[i] += x->pad[i];
    }
    if (!strcmp(autopad, "SAME_UPPER") || !strcmp(autopad, "SAME_LOWER")) {
        int64_t hw[2] = {H, W};
        for (int d = 0; d < 2; d++) {
            int64_t out = (hw[d] + st[d] - 1) / st[d];
            int64_t tot = LQF_MAX(0, (out - 1) * st[d] + (ks[d] - 1) * dl[d] + 1 - hw[d]);
            int64_t lo = autopad[5] == 'U' ? tot / 2 : tot - tot / 2;
            pads[d] = lo;
            pads[d + 2] = tot - lo;
        }
    } else if (!strcmp(autopad, "VALID")) {
        memset(pads, 0, sizeof pads);
    } else if (strcmp(autopad, "NOTSET") != 0) {
        return NODE_FAIL(LQF_ERR_UNSUPPORTED, "auto_pad '%s'", autopad);
    }
    if (group < 1 || C % group != 0 || O % group != 0 || w->dims[1] * group != C)
        return NODE_FAIL(LQF_ERR_SHAPE, "input has %lld channels, weights expect %lld x group %lld", (long long)C,
                         (long long)w->dims[1], (long long)group);
    if (st[0] < 1 || st[1] < 1 || dl[0] < 1 || dl[1] < 1)
        return NODE_FAIL(LQF_ERR_FORMAT, "%s", "strides and dilations must be >= 1");
    lqf_conv_shape s;
    memset(&s, 0, sizeof s);
    s.n = (int)x->dims[0];
    s.h = (int)H;
    s.w = (int)W;
    s.cin = (int)C;
    s.cout = (int)O;
    s.kh = (int)ks[0];
    s.kw = (int)ks[1];
    s.sh = (int)st[0];
    s.sw = (int)st[1];
    s.pt = (int)pads[0];
    s.pl = (int)pads[1];
    s.pb = (int)pads[2];
    s.pr = (int)pads[3];
    s.dh = (int)dl[0];
    s.dw = (int)dl[1];
    s.group = (int)group;
    int64_t oh = (H + pads[0] + pads[2] - dl[0] * (ks[0] - 1) - 1) / st[0] + 1;
    int64_t ow = (W + pads[1] + pads[3] - dl[1] * (ks[1] - 1) - 1) / st[1] + 1;
    if (H + pads[0] + pads[2] < dl[0] * (ks[0] - 1) + 1 || W + pads[1] + pads[3] < dl[1] * (ks[1] - 1) + 1 ||
        oh < 1 || ow < 1)
        return NODE_FAIL(LQF_ERR_SHAPE, "input %lldx%lld is smaller than the %lldx%lld kernel", (long long)H,
                         (long long)W, (long long)ks[0], (long long)ks[1]);
    lqf_conv_shape_init(&s);

    /* weights (OIHW) and bias, with a following BatchNormalization folded in */
    int64_t wn = numel_of(4, w->dims), per = wn / O;
    float *wf = malloc((size_t)wn * sizeof(float));
    float *bf = malloc((size_t)O * sizeof(float));
    if (!wf || !bf) {
        free(wf);
        free(bf);
        return im_fail(im);
    }
    for (int64_t i = 0; i < wn; i++) wf[i] = (float)w->val[i];
    for (int64_t o = 0; o < O; o++) bf[o] = b ? (float)b->val[o] : 0.0f;
    if (bn) {
        double eps = attr_f(bn, "epsilon", 1e-5f);
        for (int64_t o = 0; o < O; o++) {
            double sc = bnin[1]->val[o] / sqrt(bnin[4]->val[o] + eps);
            for (int64_t i = 0; i < per; i++) wf[o * per + i] = (float)(wf[o * per + i] * sc);
            bf[o] = (float)((bf[o] - bnin[3]->val[o]) * sc + bnin[2]->val[o]);
        }
    }
    int64_t pn = (int64_t)lqf_conv_weight_size(&s);
    char nm[512];
    snprintf(nm, sizeof nm, "%s", w->name);
    int wt = lqf_graph_add_tensor(im->g, nm, LQF_T_PARAM, 1, &pn, 0);
    int has_bias = b || bn;
    int bt = -1;
    if (has_bias) {
        snprintf(nm, sizeof nm, "%s", b ? b->name : bnin[2]->name);
        bt = lqf_graph_add_tensor(im->g, nm, LQF_T_PARAM, 1, &O, 0);
    }
    if (wt < 0 || (has_bias && bt < 0)) {
        free(wf);
        free(bf);
        return im_fail(im);
    }
    lqf_backend_default()->conv_pack_weights(&s, wf, lqf_graph_data(im->g, wt));
    if (has_bias) memcpy(lqf_graph_data(im->g, bt), bf, (size_t)O * sizeof(float));
    free(wf);
    free(bf);
    int64_t od[4] = {x->dims[0], O, oh, ow};
    int xt = x->tensor;
    ival *o = new_act(im, bn ? bn->output[0] : n->output[0], 4, od, x->batched);
    if (!o) return im_fail(im);
    int ins[3] = {xt, wt, bt};
    int nd = lqf_graph_add_node(im->g, LQF_OP_CONV, node_label(im, n, idx), ins, has_bias ? 3 : 2, o->tensor);
    if (nd < 0) return im_fail(im);
    lqf_node *g = &im->g->nodes[nd];
    g->a.conv.kh = s.kh;
    g->a.conv.kw = s.kw;
    g->a.conv.sh = s.sh;
    g->a.conv.sw = s.sw;
    g->a.conv.pt = s.pt;
    g->a.conv.pl = s.pl;
    g->a.conv.pb = s.pb;
    g->a.conv.pr = s.pr;
    g->a.conv.dh = s.dh;
    g->a.conv.dw = s.dw;
    g->a.conv.group = s.group;
    g->a.conv.act = LQF_ACT_NONE;
    g->a.conv.act_param = -1;
    g->a.conv.residual = -1;
    g->fixed = autopad[0] == 'S'; /* SAME pads were computed for this input size */
    return LQF_OK;
}

/* A constant scale/size vector for Resize/Upsample → integer factors (sh, sw). */
static lqf_status resize_factors(importer *im, const Onnx__NodeProto *n, int idx, ival *x, ival *scales,
                                 ival *sizes, int *sh, int *sw) {
    double f[4];
    if (sizes && numel_of(sizes->ndim, sizes->dims) > 0) {
        if (numel_of(sizes->ndim, sizes->dims) != 4) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "sizes must have 4 values");
        for (int i = 0; i < 4; i++) f[i] = sizes->val[i] / (double)x->dims[i];
    } else if (scales && numel_of(scales->ndim, scales->dims) == 4) {
        for (int i = 0; i < 4; i++) f[i] = scales->val[i];
    } else {
        return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "needs 4 constant scales or sizes");
    }
    for (int d = 2; d < 4; d++)
        if (!(f[d] <= 1024.0)) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "scale %g is out of range", f[d]);
    if (f[0] != 1.0 || f[1] != 1.0)
        return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only spatial (H, W) resizing is supported");
    for (int d = 2; d < 4; d++)
        if (f[d] < 1.0 || f[d] != floor(f[d]))
            return NODE_FAIL(LQF_ERR_UNSUPPORTED, "scale %g: only integer upsampling factors are supported", f[d]);
    *sh = (int)f[2];
    *sw = (int)f[3];
    return LQF_OK;
}

static lqf_status simple_node(importer *im, const Onnx__NodeProto *n, int idx, lqf_op op, const int *ins, int nin,
                              int ndim, const int64_t *dims, int batched, lqf_node **out) {
    ival *o = new_act(im, n->output[0], ndim, dims, batched);
    if (!o) return im_fail(im);
    int nd = lqf_graph_add_node(im->g, op, node_label(im, n, idx), ins, nin, o->tensor);
    if (nd < 0) return im_fail(im);
    if (out) *out = &im->g->nodes[nd];
    return LQF_OK;
}

/* The axes of (Un)Squeeze/Reduce*: the attribute (older opsets) or constant input 1 (newer);
 * *na = -1 when neither is given. */
static lqf_status axes_param(importer *im, const Onnx__NodeProto *n, int idx, ival **in, int nin, int64_t *axes,
                             int *na) {
    *na = attr_ints(n, "axes", axes, LQF_MAX_DIMS);
    if (*na < 0 && nin > 1 && in[1]) {
        if (in[1]->tensor >= 0) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "axes not constant");
        int64_t n1 = numel_of(in[1]->ndim, in[1]->dims);
        *na = n1 > LQF_MAX_DIMS ? LQF_MAX_DIMS + 1 : (int)n1;
        for (int i = 0; i < *na && i < LQF_MAX_DIMS; i++) axes[i] = to_i64(in[1]->val[i]);
    }
    if (*na > LQF_MAX_DIMS) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "too many axes");
    return LQF_OK;
}

static lqf_status visit(importer *im, const Onnx__NodeProto *n, int idx, const Onnx__NodeProto *bn) {
    const char *op = n->op_type;
    ival *in[LQF_MAX_NODE_IN + 8];
    int nin = (int)n->n_input, all_const = 1, any = 0;
    if (nin > LQF_MAX_NODE_IN + 8) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%d inputs", nin);
    for (int i = 0; i < nin; i++) {
        in[i] = NULL;
        if (!n->input[i] || !*n->input[i]) continue; /* optional input left out */
        in[i] = find_val(im, n->input[i]);
        if (!in[i]) return NODE_FAIL(LQF_ERR_FORMAT, "input '%s' is not defined before use", n->input[i]);
        any = 1;
        if (in[i]->tensor >= 0) all_const = 0;
    }
    if (n->n_output < 1 || !n->output[0] || !*n->output[0]) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "no output");
    if (!strcmp(op, "Constant")) {
        const Onnx__AttributeProto *a = attr(n, "value");
        if (!a || !a->t) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only the 'value' tensor form is supported");
        ival *o = new_val(im, n->output[0]);
        if (!o) return im_fail(im);
        return read_tensor(im, a->t, n->output[0], o);
    }
    if (nin < 1 || !in[0]) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "first input missing");
    ival *x = in[0];
    /* Shape needs only the dims; every other operator folds when its inputs are constant */
    if (!strcmp(op, "Shape") || (any && all_const)) {
        lqf_status st = fold_node(im, n, idx, in, nin);
        if (st != LQF_ERR_UNSUPPORTED || !strcmp(op, "Shape")) return st;
        /* shape-only operators on constants fall through to the common code below */
    } else if (fold_only(op)) {
        return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only supported on constant (shape) inputs");
    }
    int xt = x->tensor;
    int64_t od[LQF_MAX_DIMS];
    int ond = x->ndim;
    memcpy(od, x->dims, sizeof od);

    if (!strcmp(op, "Pad")) {
        /* zero padding of H and W read only by convolutions: folded into their pads */
        int64_t pads[8];
        int np;
        float value = 0;
        if (!attr_s_is(n, "mode", "constant", "constant")) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "mode other than constant");
        if (im->opset < 11) {
            np = attr_ints(n, "pads", pads, 8);
            value = attr_f(n, "value", 0.0f);
        } else {
            ival *pv = nin > 1 ? in[1] : NULL;
            if (!pv || pv->tensor >= 0) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "pads must be constant");
            int64_t n1 = numel_of(pv->ndim, pv->dims);
            np = n1 > 8 ? 9 : (int)n1;
            for (int i = 0; i < np && i < 8; i++) pads[i] = to_i64(pv->val[i]);
            if (nin > 2 && in[2]) {
                if (in[2]->tensor >= 0 || numel_of(in[2]->ndim, in[2]->dims) != 1)
                    return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "constant_value must be a constant scalar");
                value = (float)in[2]->val[0];
            }
        }
        if (x->ndim != 4 || np != 8 || pads[0] || pads[1] || pads[4] || pads[5] || value != 0.0f)
            return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only zero padding of H and W of a 4-D tensor");
        for (int i = 0; i < 8; i++)
            if (pads[i] < 0 || pads[i] > 4096) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "negative or huge pads");
        const Onnx__GraphProto *gp = im->gp;
        for (size_t i = 0; i < gp->n_output; i++)
            if (!strcmp(gp->output[i]->name, n->output[0]))
                return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only when its output feeds convolutions");
        for (size_t i = 0; i < gp->n_node; i++)
            for (size_t j = 0; j < gp->node[i]->n_input; j++)
                if (!strcmp(gp->node[i]->input[j], n->output[0]) && (j != 0 || strcmp(gp->node[i]->op_type, "Conv")))
                    return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only when its output feeds convolutions");
        ival *o = new_val(im, n->output[0]);
        if (!o) return im_fail(im);
        ival keep = *find_val(im, n->input[0]);
        const char *name = o->name;
        *o = keep;
        o->name = name;
        o->val = NULL;
        o->ctensor = -1;
        o->padded = 1;
        o->pad[0] += pads[2];
        o->pad[1] += pads[3];
        o->pad[2] += pads[6];
        o->pad[3] += pads[7];
        o->dims[2] += pads[2] + pads[6];
        o->dims[3] += pads[3] + pads[7];
        return LQF_OK;
    }
    if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
        /* the output name refers to the same value */
        ival *o = new_val(im, n->output[0]);
        if (!o) return im_fail(im);
        ival keep = *find_val(im, n->input[0]);
        const char *name = o->name;
        *o = keep;
        o->name = name;
        o->val = NULL;
        o->ctensor = -1;
        return LQF_OK;
    }
    if (!strcmp(op, "Reshape") || !strcmp(op, "Flatten") || !strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze")) {
        int64_t nd[LQF_MAX_DIMS];
        int k = 0;
        if (!strcmp(op, "Reshape")) {
            ival *sh = nin > 1 ? in[1] : NULL;
            if (!sh || sh->tensor >= 0) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "target shape is not constant");
            k = (int)numel_of(sh->ndim, sh->dims);
            if (k > LQF_MAX_DIMS) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%d dims", k);
            int neg = -1;
            int64_t known = 1;
            for (int i = 0; i < k; i++) {
                int64_t d = to_i64(sh->val[i]);
                if (d == 0 && !attr_i(n, "allowzero", 0)) {
                    if (i >= x->ndim) return NODE_FAIL(LQF_ERR_SHAPE, "%s", "0 in shape beyond input rank");
                    d = x->dims[i];
                }
                if (d == -1) {
                    if (neg >= 0) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "two -1 in shape");
                    neg = i;
                } else if (d < 0) {
                    return NODE_FAIL(LQF_ERR_FORMAT, "bad dim %lld", (long long)d);
                } else {
                    known *= d;
                }
                nd[i] = d;
            }
            int64_t total = numel_of(x->ndim, x->dims);
            if (neg >= 0) {
                if (known == 0 || total % known) return NODE_FAIL(LQF_ERR_SHAPE, "%s", "cannot infer -1 in shape");
                nd[neg] = total / known;
            }
        } else if (!strcmp(op, "Flatten")) {
            int axis = norm_axis(attr_i(n, "axis", 1), x->ndim);
            if (axis < 0 || axis > x->ndim) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
            k = 2;
            nd[0] = numel_of(axis, x->dims);
            nd[1] = numel_of(x->ndim - axis, x->dims + axis);
        } else {
            int64_t axes[LQF_MAX_DIMS];
            int na;
            lqf_status ast = axes_param(im, n, idx, in, nin, axes, &na);
            if (ast != LQF_OK) return ast;
            if (op[0] == 'S') { /* Squeeze */
                char drop[LQF_MAX_DIMS] = {0};
                if (na < 0) {
                    for (int i = 0; i < x->ndim; i++) drop[i] = x->dims[i] == 1;
                } else {
                    for (int i = 0; i < na; i++) {
                        int a = norm_axis(axes[i], x->ndim);
                        if (a < 0 || a >= x->ndim || x->dims[a] != 1)
                            return NODE_FAIL(LQF_ERR_SHAPE, "cannot squeeze axis %lld", (long long)axes[i]);
                        drop[a] = 1;
                    }
                }
                for (int i = 0; i < x->ndim; i++)
                    if (!drop[i]) nd[k++] = x->dims[i];
            } else {
                if (na < 0) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "axes missing");
                k = x->ndim + na;
                if (k > LQF_MAX_DIMS) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "too many dims");
                char ins[LQF_MAX_DIMS] = {0};
                for (int i = 0; i < na; i++) {
                    int a = norm_axis(axes[i], k);
                    if (a < 0 || a >= k) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
                    ins[a] = 1;
                }
                int j = 0;
                for (int i = 0; i < k; i++) nd[i] = ins[i] ? 1 : x->dims[j++];
            }
        }
        int batched = xt >= 0 ? reshape_batched(im, x, k, nd) : 0;
        if (!strcmp(op, "Flatten") && batched && attr_i(n, "axis", 1) == 0) { /* batch folded into dim 1 */
            batched = 0;
            im->batch_ok = 0;
        }
        return emit_reshape(im, n, idx, x, k, nd, batched);
    }
    if (xt < 0 && strcmp(op, "Concat") != 0 && strcmp(op, "Add") && strcmp(op, "Mul") && strcmp(op, "Sub") &&
        strcmp(op, "Div"))
        return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "constant input to a float operator");
    if (!strcmp(op, "Conv")) {
        ival *bnin[5] = {0};
        if (bn)
            for (int i = 0; i < 5; i++) bnin[i] = find_val(im, bn->input[i]);
        return conv_node(im, n, idx, in, nin, bn, bnin);
    }
    if (!strcmp(op, "BatchNormalization")) {
        if (nin < 5) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "needs 5 inputs");
        if (x->ndim != 4 && x->ndim != 2) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%d-D input", x->ndim);
        int ins[5] = {xt};
        for (int i = 1; i < 5; i++) {
            if (!in[i] || in[i]->tensor >= 0 || numel_of(in[i]->ndim, in[i]->dims) != x->dims[1])
                return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "parameters must be constants of C values");
            int64_t c = x->dims[1];
            ins[i] = lqf_graph_add_tensor(im->g, in[i]->name, LQF_T_PARAM, 1, &c, 0);
            if (ins[i] < 0) return im_fail(im);
            store_const(in[i], 1, &c, lqf_graph_data(im->g, ins[i]));
        }
        lqf_node *g;
        lqf_status st = simple_node(im, n, idx, LQF_OP_BATCHNORM, ins, 5, ond, od, x->batched, &g);
        if (st == LQF_OK) {
            g->a.bn.eps = attr_f(n, "epsilon", 1e-5f);
            g->a.bn.momentum = attr_f(n, "momentum", 0.9f);
        }
        return st;
    }
    if (!strcmp(op, "Relu") || !strcmp(op, "Sigmoid") || !strcmp(op, "Exp") || !strcmp(op, "LeakyRelu")) {
        lqf_op o = op[0] == 'R' ? LQF_OP_RELU : op[0] == 'S' ? LQF_OP_SIGMOID : op[0] == 'E' ? LQF_OP_EXP : LQF_OP_LEAKYRELU;
        lqf_node *g;
        lqf_status st = simple_node(im, n, idx, o, &xt, 1, ond, od, x->batched, &g);
        if (st == LQF_OK && o == LQF_OP_LEAKYRELU) g->a.alpha = attr_f(n, "alpha", 0.01f);
        return st;
    }
    if (!strcmp(op, "PRelu")) {
        ival *s = nin > 1 ? in[1] : NULL;
        if (!s || s->tensor >= 0) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "slope must be a constant");
        int64_t ns = numel_of(s->ndim, s->dims);
        int64_t C = x->ndim >= 2 ? x->dims[1] : 1;
        int ok = ns == 1;
        if (!ok && ns == C && (x->ndim == 2 || x->ndim == 4)) {
            /* the slope must run along axis 1 once broadcast: shape (C), (C,1,1) or (1,C,1,1) */
            int lead = x->ndim - s->ndim;
            ok = lead >= 0;
            for (int i = 0; ok && i < s->ndim; i++) ok = (i + lead == 1) ? s->dims[i] == C : s->dims[i] == 1;
        }
        if (!ok) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "slope must be shared or per channel (axis 1)");
        int st_ = lqf_graph_add_tensor(im->g, s->name, LQF_T_PARAM, 1, &ns, 0);
        if (st_ < 0) return im_fail(im);
        store_const(s, 1, &ns, lqf_graph_data(im->g, st_));
        int ins[2] = {xt, st_};
        return simple_node(im, n, idx, LQF_OP_PRELU, ins, 2, ond, od, x->batched, NULL);
    }
    if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div")) {
        ival *y = nin > 1 ? in[1] : NULL;
        if (!y) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "second input missing");
        if (bcast_shape(x->ndim, x->dims, y->ndim, y->dims, &ond, od) != 0)
            return NODE_FAIL(LQF_ERR_SHAPE, "%s", "input shapes do not broadcast");
        int batched = (x->tensor >= 0 && x->batched) || (y->tensor >= 0 && y->batched);
        /* a batched operand must keep dim 0 where the result has it */
        if (batched && ((x->tensor >= 0 && x->batched && x->ndim != ond) || (y->tensor >= 0 && y->batched && y->ndim != ond)))
            im->batch_ok = 0;
        int ins[2] = {tensor_of(im, x, LQF_T_CONST), tensor_of(im, y, LQF_T_CONST)};
        if (ins[0] < 0 || ins[1] < 0) return im_fail(im);
        lqf_op o = op[0] == 'A' ? LQF_OP_ADD : op[0] == 'S' ? LQF_OP_SUB : op[0] == 'M' ? LQF_OP_MUL : LQF_OP_DIV;
        return simple_node(im, n, idx, o, ins, 2, ond, od, batched, NULL);
    }
    if (!strcmp(op, "MaxPool")) {
        if (x->ndim != 4) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%d-D input", x->ndim);
        int64_t ks[8], st[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, tmp[8];
        if (attr_ints(n, "kernel_shape", ks, 8) != 2) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "needs a 2-D kernel_shape");
        if (attr_ints_exact(n, "strides", st, 2)) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad strides");
        if (attr_ints_exact(n, "pads", pads, 4)) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad pads");
        if (attr_ints(n, "dilations", tmp, 8) >= 0 && (tmp[0] != 1 || tmp[1] != 1))
            return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "dilated pooling");
        if (n->n_output > 1 && n->output[1] && *n->output[1])
            return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "the Indices output");
        char autopad[32];
        attr_s_copy(n, "auto_pad", "NOTSET", autopad, sizeof autopad);
        if (strcmp(autopad, "NOTSET") && strcmp(autopad, "VALID"))
            return NODE_FAIL(LQF_ERR_UNSUPPORTED, "auto_pad '%s'", autopad);
        lqf_pool_shape s;
        memset(&s, 0, sizeof s);
        s.n = (int)x->dims[0];
        s.c = (int)x->dims[1];
        s.h = (int)x->dims[2];
        s.w = (int)x->dims[3];
        s.kh = (int)ks[0];
        s.kw = (int)ks[1];
        s.sh = (int)st[0];
        s.sw = (int)st[1];
        s.pt = (int)pads[0];
        s.pl = (int)pads[1];
        s.pb = (int)pads[2];
        s.pr = (int)pads[3];
        s.ceil_mode = (int)attr_i(n, "ceil_mode", 0);
        if (s.h + s.pt + s.pb < s.kh || s.w + s.pl + s.pr < s.kw || s.sh < 1 || s.sw < 1)
            return NODE_FAIL(LQF_ERR_SHAPE, "input %dx%d is smaller than the %dx%d window", s.h, s.w, s.kh, s.kw);
        lqf_pool_shape_init(&s);
        od[2] = s.oh;
        od[3] = s.ow;
        lqf_node *g;
        lqf_status r = simple_node(im, n, idx, LQF_OP_MAXPOOL, &xt, 1, 4, od, x->batched, &g);
        if (r == LQF_OK) {
            g->a.pool.kh = s.kh;
            g->a.pool.kw = s.kw;
            g->a.pool.sh = s.sh;
            g->a.pool.sw = s.sw;
            g->a.pool.pt = s.pt;
            g->a.pool.pl = s.pl;
            g->a.pool.pb = s.pb;
            g->a.pool.pr = s.pr;
            g->a.pool.ceil_mode = s.ceil_mode;
        }
        return r;
    }
    if (!strcmp(op, "Resize") || !strcmp(op, "Upsample")) {
        if (x->ndim != 4) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%d-D input", x->ndim);
        if (!attr_s_is(n, "mode", "nearest", "nearest")) {
            char m[32];
            attr_s_copy(n, "mode", "nearest", m, sizeof m);
            return NODE_FAIL(LQF_ERR_UNSUPPORTED, "mode '%s' (only nearest)", m);
        }
        char ct[48], nm[48];
        attr_s_copy(n, "coordinate_transformation_mode", "half_pixel", ct, sizeof ct);
        attr_s_copy(n, "nearest_mode", "round_prefer_floor", nm, sizeof nm);
        ival *scales = NULL, *sizes = NULL, tmpv;
        double sv[4];
        if (!strcmp(op, "Upsample") || im->opset < 11) {
            scales = nin > 1 ? in[1] : NULL;
            strcpy(ct, "asymmetric");
            strcpy(nm, "floor");
            if (!scales && attr(n, "scales")) { /* opset 7: attribute */
                const Onnx__AttributeProto *a = attr(n, "scales");
                if (a->n_floats != 4) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "needs 4 scales");
                for (int i = 0; i < 4; i++) sv[i] = a->floats[i];
                memset(&tmpv, 0, sizeof tmpv);
                tmpv.ndim = 1;
                tmpv.dims[0] = 4;
                tmpv.val = sv;
                scales = &tmpv;
            }
        } else {
            scales = nin > 2 ? in[2] : NULL;
            sizes = nin > 3 ? in[3] : NULL;
        }
        if ((scales && scales->tensor >= 0) || (sizes && sizes->tensor >= 0))
            return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "scales/sizes must be constant");
        int ok_mode = (!strcmp(ct, "asymmetric") && !strcmp(nm, "floor")) ||
                      ((!strcmp(ct, "half_pixel") || !strcmp(ct, "pytorch_half_pixel")) &&
                       (!strcmp(nm, "round_prefer_floor") || !strcmp(nm, "round_prefer_ceil")));
        if (!ok_mode)
            return NODE_FAIL(LQF_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' with nearest_mode '%s'", ct, nm);
        int sh = 1, sw = 1;
        lqf_status r = resize_factors(im, n, idx, x, scales, sizes, &sh, &sw);
        if (r != LQF_OK) return r;
        od[2] = x->dims[2] * sh;
        od[3] = x->dims[3] * sw;
        lqf_node *g;
        r = simple_node(im, n, idx, LQF_OP_RESIZE, &xt, 1, 4, od, x->batched, &g);
        if (r == LQF_OK) {
            g->a.resize.sh = sh;
            g->a.resize.sw = sw;
            g->fixed = sizes && numel_of(sizes->ndim, sizes->dims) > 0; /* factors from sizes for this input */
        }
        return r;
    }
    if (!strcmp(op, "Transpose")) {
        int64_t perm[LQF_MAX_DIMS];
        int np = attr_ints(n, "perm", perm, LQF_MAX_DIMS);
        if (np < 0) {
            np = x->ndim;
            for (int i = 0; i < np; i++) perm[i] = np - 1 - i;
        }
        if (np != x->ndim) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "perm does not match the rank");
        int seen[LQF_MAX_DIMS] = {0};
        for (int i = 0; i < np; i++) {
            if (perm[i] < 0 || perm[i] >= np || seen[perm[i]]++) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad perm");
            od[i] = x->dims[perm[i]];
        }
        int batched = x->batched && perm[0] == 0;
        if (x->batched && perm[0] != 0) im->batch_ok = 0;
        lqf_node *g;
        lqf_status r = simple_node(im, n, idx, LQF_OP_TRANSPOSE, &xt, 1, ond, od, batched, &g);
        if (r == LQF_OK)
            for (int i = 0; i < np; i++) g->a.transpose.perm[i] = (int)perm[i];
        return r;
    }
    if (!strcmp(op, "Concat")) {
        int axis = norm_axis(attr_i(n, "axis", 0), x->ndim);
        if (axis < 0 || axis >= x->ndim) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
        if (nin > LQF_MAX_NODE_IN) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%d inputs (at most %d)", nin, LQF_MAX_NODE_IN);
        int ins[LQF_MAX_NODE_IN], batched = 0;
        od[axis] = 0;
        for (int i = 0; i < nin; i++) {
            ival *v = in[i];
            if (!v || v->ndim != x->ndim) return NODE_FAIL(LQF_ERR_SHAPE, "%s", "inputs differ in rank");
            for (int d = 0; d < x->ndim; d++)
                if (d != axis && v->dims[d] != x->dims[d])
                    return NODE_FAIL(LQF_ERR_SHAPE, "inputs differ in dim %d (%lld vs %lld)", d,
                                     (long long)v->dims[d], (long long)x->dims[d]);
            od[axis] += v->dims[axis];
            if (v->tensor >= 0 && v->batched) batched = 1;
            ins[i] = tensor_of(im, v, LQF_T_CONST);
            if (ins[i] < 0) return im_fail(im);
        }
        for (int i = 0; i < nin; i++)
            if (batched && !(in[i]->tensor >= 0 && in[i]->batched)) im->batch_ok = 0;
        if (batched && axis == 0) im->batch_ok = 0;
        lqf_node *g;
        lqf_status r = simple_node(im, n, idx, LQF_OP_CONCAT, ins, nin, ond, od, batched, &g);
        if (r == LQF_OK) g->a.concat.axis = axis;
        return r;
    }
    if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul")) {
        int gemm = op[0] == 'G';
        ival *b = nin > 1 ? in[1] : NULL, *c = gemm && nin > 2 ? in[2] : NULL;
        int ta = gemm ? (int)attr_i(n, "transA", 0) : 0, tb = gemm ? (int)attr_i(n, "transB", 0) : 0;
        if (x->ndim != 2) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "A has %d dims (only 2-D)", x->ndim);
        if (!b || b->tensor >= 0 || b->ndim != 2) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "B must be a constant 2-D matrix");
        if (ta && x->batched) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "transA on a batched input");
        int64_t M = ta ? x->dims[1] : x->dims[0], K = ta ? x->dims[0] : x->dims[1];
        int64_t KB = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
        if (K != KB) return NODE_FAIL(LQF_ERR_SHAPE, "A is %lldx%lld but B needs %lld rows", (long long)M, (long long)K, (long long)KB);
        int ins[3], cnt = 2;
        ins[0] = xt;
        ins[1] = lqf_graph_add_tensor(im->g, b->name, LQF_T_PARAM, 2, b->dims, 0);
        if (ins[1] < 0) return im_fail(im);
        store_const(b, 2, b->dims, lqf_graph_data(im->g, ins[1]));
        if (c) {
            if (c->tensor >= 0 || c->ndim > 2) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "C must be a constant");
            int64_t dd[2];
            int cn;
            if (bcast_shape(2, (int64_t[]){M, N}, c->ndim, c->dims, &cn, dd) != 0 || dd[0] != M || dd[1] != N)
                return NODE_FAIL(LQF_ERR_SHAPE, "%s", "C does not broadcast to the output");
            if (c->ndim == 2 && c->dims[0] != 1 && x->batched) im->batch_ok = 0;
            ins[2] = lqf_graph_add_tensor(im->g, c->name, LQF_T_PARAM, c->ndim, c->dims, 0);
            if (ins[2] < 0) return im_fail(im);
            store_const(c, c->ndim, c->dims, lqf_graph_data(im->g, ins[2]));
            cnt = 3;
        }
        od[0] = M;
        od[1] = N;
        lqf_node *g;
        lqf_status r = simple_node(im, n, idx, LQF_OP_GEMM, ins, cnt, 2, od, x->batched, &g);
        if (r == LQF_OK) {
            g->a.gemm.trans_a = ta;
            g->a.gemm.trans_b = tb;
            g->a.gemm.alpha = gemm ? attr_f(n, "alpha", 1.0f) : 1.0f;
            g->a.gemm.beta = gemm ? attr_f(n, "beta", 1.0f) : 0.0f;
        }
        return r;
    }
    if (!strcmp(op, "Softmax")) {
        int axis = norm_axis(attr_i(n, "axis", im->opset < 13 ? 1 : -1), x->ndim);
        if (axis < 0 || axis >= x->ndim) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
        if (axis == 0 && x->batched) im->batch_ok = 0;
        int flat = 0;
        if (im->opset < 13)
            /* opset < 13 normalises over dims[axis:] flattened: one axis when every later dim
             * is 1, else Reshape to (prod dims[:axis], prod dims[axis:]), Softmax, Reshape back */
            for (int d = axis + 1; d < x->ndim; d++) flat |= x->dims[d] != 1;
        lqf_node *g;
        if (flat) {
            char nm[600];
            int64_t d2[2] = {numel_of(axis, x->dims), numel_of(x->ndim - axis, x->dims + axis)};
            int b2 = x->batched && axis >= 1;
            snprintf(nm, sizeof nm, "%s#2d", n->output[0]);
            int t2 = lqf_graph_add_tensor(im->g, nm, LQF_T_ACT, 2, d2, b2);
            snprintf(nm, sizeof nm, "%s#softmax", n->output[0]);
            int t3 = t2 < 0 ? -1 : lqf_graph_add_tensor(im->g, nm, LQF_T_ACT, 2, d2, b2);
            if (t3 < 0 || lqf_graph_add_node(im->g, LQF_OP_RESHAPE, nm, &xt, 1, t2) < 0) return im_fail(im);
            int nd = lqf_graph_add_node(im->g, LQF_OP_SOFTMAX, node_label(im, n, idx), &t2, 1, t3);
            if (nd < 0) return im_fail(im);
            im->g->nodes[nd].a.softmax.axis = 1;
            return simple_node(im, n, idx, LQF_OP_RESHAPE, &t3, 1, ond, od, x->batched, NULL);
        }
        lqf_status r = simple_node(im, n, idx, LQF_OP_SOFTMAX, &xt, 1, ond, od, x->batched, &g);
        if (r == LQF_OK) g->a.softmax.axis = axis;
        return r;
    }
    if (!strcmp(op, "ReduceSum") || !strcmp(op, "ReduceMean") || !strcmp(op, "ReduceL2") ||
        !strcmp(op, "GlobalAveragePool")) {
        /* Mean = Sum x 1/count, L2 = Sqrt(Sum(x*x)), GlobalAveragePool = Mean over H,W kept */
        int gap = op[0] == 'G', mean = gap || !strcmp(op, "ReduceMean"), l2 = !strcmp(op, "ReduceL2");
        int64_t axes[LQF_MAX_DIMS];
        int na = -1, keep = 1;
        if (gap) {
            if (x->ndim < 3) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%d-D input", x->ndim);
            na = 0;
            for (int d = 2; d < x->ndim; d++) axes[na++] = d;
        } else {
            lqf_status ast = axes_param(im, n, idx, in, nin, axes, &na);
            if (ast != LQF_OK) return ast;
            if (na < 0) {
                na = x->ndim;
                for (int i = 0; i < na; i++) axes[i] = i;
            }
            keep = (int)attr_i(n, "keepdims", 1);
        }
        char red[LQF_MAX_DIMS] = {0};
        int64_t count = 1;
        for (int i = 0; i < na; i++) {
            int a = norm_axis(axes[i], x->ndim);
            if (a < 0 || a >= x->ndim) return NODE_FAIL(LQF_ERR_FORMAT, "%s", "bad axis");
            if (!red[a]) count *= x->dims[a];
            red[a] = 1;
            axes[i] = a;
        }
        int k = 0;
        for (int d = 0; d < x->ndim; d++) {
            if (!red[d]) od[k++] = x->dims[d];
            else if (keep) od[k++] = 1;
        }
        if (red[0] && x->batched) im->batch_ok = 0;
        int batched = x->batched && !red[0];
        if (!keep && k == 4) return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "keepdims=0 into a 4-D result");
        const char *label = node_label(im, n, idx);
        char nm[600];
        int src = xt;
        if (l2) { /* x*x */
            snprintf(nm, sizeof nm, "%s#square", n->output[0]);
            int sq = lqf_graph_add_tensor(im->g, nm, LQF_T_ACT, x->ndim, x->dims, x->batched);
            int two[2] = {xt, xt};
            if (sq < 0 || lqf_graph_add_node(im->g, LQF_OP_MUL, nm, two, 2, sq) < 0) return im_fail(im);
            src = sq;
        }
        int sum;
        ival *o = NULL;
        if (mean || l2) {
            snprintf(nm, sizeof nm, "%s#sum", n->output[0]);
            sum = lqf_graph_add_tensor(im->g, nm, LQF_T_ACT, k, od, batched);
        } else {
            o = new_act(im, n->output[0], k, od, batched);
            sum = o ? o->tensor : -1;
        }
        if (sum < 0) return im_fail(im);
        int nd = lqf_graph_add_node(im->g, LQF_OP_REDUCESUM, label, &src, 1, sum);
        if (nd < 0) return im_fail(im);
        lqf_node *g = &im->g->nodes[nd];
        g->a.reduce.naxes = na;
        for (int i = 0; i < na; i++) g->a.reduce.axes[i] = (int)axes[i];
        g->a.reduce.keepdims = keep;
        if (!mean && !l2) return LQF_OK;
        o = new_act(im, n->output[0], k, od, batched);
        if (!o) return im_fail(im);
        if (mean) {
            snprintf(nm, sizeof nm, "%s#1/count", n->output[0]);
            int c = lqf_graph_add_tensor(im->g, nm, LQF_T_CONST, 0, od, 0);
            if (c < 0) return im_fail(im);
            lqf_graph_data(im->g, c)[0] = (float)(1.0 / (double)count);
            int two[2] = {sum, c};
            if (lqf_graph_add_node(im->g, LQF_OP_MUL, label, two, 2, o->tensor) < 0) return im_fail(im);
        } else {
            nd = lqf_graph_add_node(im->g, LQF_OP_UNARY, label, &sum, 1, o->tensor);
            if (nd < 0) return im_fail(im);
            im->g->nodes[nd].a.unary.fn = LQF_UN_SQRT;
        }
        return LQF_OK;
    }
    if (!strcmp(op, "Sqrt") || !strcmp(op, "Tanh") || !strcmp(op, "Abs") || !strcmp(op, "Neg") ||
        !strcmp(op, "Reciprocal") || !strcmp(op, "Clip")) {
        lqf_unary_fn fn = op[0] == 'S' ? LQF_UN_SQRT : op[0] == 'T' ? LQF_UN_TANH : op[0] == 'A' ? LQF_UN_ABS
                          : op[0] == 'N' ? LQF_UN_NEG : op[0] == 'R' ? LQF_UN_RECIPROCAL : LQF_UN_CLIP;
        float lo = -INFINITY, hi = INFINITY;
        if (fn == LQF_UN_CLIP) {
            if (im->opset < 11) {
                lo = attr_f(n, "min", -INFINITY);
                hi = attr_f(n, "max", INFINITY);
            } else {
                for (int b = 1; b < 3 && b < nin; b++) {
                    if (!in[b]) continue;
                    if (in[b]->tensor >= 0 || numel_of(in[b]->ndim, in[b]->dims) != 1)
                        return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "min/max must be constant scalars");
                    if (b == 1) lo = (float)in[b]->val[0];
                    else hi = (float)in[b]->val[0];
                }
            }
        }
        lqf_node *g;
        lqf_status r = simple_node(im, n, idx, LQF_OP_UNARY, &xt, 1, ond, od, x->batched, &g);
        if (r == LQF_OK) {
            g->a.unary.fn = fn;
            g->a.unary.lo = lo;
            g->a.unary.hi = hi;
        }
        return r;
    }
    if (!strcmp(op, "Pow")) {
        ival *e = nin > 1 ? in[1] : NULL;
        if (!e || e->tensor >= 0 || numel_of(e->ndim, e->dims) != 1)
            return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "the exponent must be a constant scalar");
        double p = e->val[0];
        lqf_node *g;
        if (p == 2.0) {
            int two[2] = {xt, xt};
            return simple_node(im, n, idx, LQF_OP_MUL, two, 2, ond, od, x->batched, NULL);
        }
        if (p == 0.5 || p == -1.0) {
            lqf_status r = simple_node(im, n, idx, LQF_OP_UNARY, &xt, 1, ond, od, x->batched, &g);
            if (r == LQF_OK) g->a.unary.fn = p == 0.5 ? LQF_UN_SQRT : LQF_UN_RECIPROCAL;
            return r;
        }
        return NODE_FAIL(LQF_ERR_UNSUPPORTED, "exponent %g (only 2, 0.5 and -1)", p);
    }
    return NODE_FAIL(LQF_ERR_UNSUPPORTED, "%s", "not handled");
}

/* ------------------------------------------------------------------ driver */

static int count_uses(const Onnx__GraphProto *gp, const char *name) {
    int c = 0;
    if (!name) return 0;
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t j = 0; j < gp->node[i]->n_input; j++)
            if (gp->node[i]->input[j] && !strcmp(gp->node[i]->input[j], name)) c++;
    for (size_t i = 0; i < gp->n_output; i++)
        if (gp->output[i]->name && !strcmp(gp->output[i]->name, name)) c++;
    return c;
}

/* Mark 4-D activations produced by Transpose/Reshape and read only by view operators dense. */
static void assign_layouts(lqf_graph *g) {
    for (int t = 0; t < g->n_tensors; t++) {
        lqf_tensor *T = &g->tensors[t];
        if (T->kind != LQF_T_ACT || T->ndim != 4 || T->producer < 0) continue;
        lqf_op pop = g->nodes[T->producer].op;
        if (pop != LQF_OP_TRANSPOSE && pop != LQF_OP_RESHAPE) continue;
        int only_views = 1;
        for (int i = 0; i < g->n_nodes && only_views; i++) {
            const lqf_node *nd = &g->nodes[i];
            for (int k = 0; k < nd->nin; k++)
                if (nd->in[k] == t && nd->op != LQF_OP_TRANSPOSE && nd->op != LQF_OP_RESHAPE) only_views = 0;
        }
        if (only_views) T->nhwc = 0;
    }
}

static void free_importer(importer *im) {
    for (int i = 0; i < im->nv; i++) {
        free(im->v[i]->val);
        free(im->v[i]);
    }
    free(im->v);
    free(im->hash);
}

lqf_status lqf_onnx_import(const char *path, const uint8_t *buf, size_t len, const int *in_hw, lqf_graph **out,
                           int *batch_ok, unsigned *open_dims) {
    *out = NULL;
    if (batch_ok) *batch_ok = 1;
    if (open_dims) *open_dims = 0;
    if (len == 0) return lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (empty file)", path);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m) return lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (truncated or corrupt)", path);
    Onnx__GraphProto *gp = m->graph;
    if (!m->has_ir_version || !gp || gp->n_node == 0 || gp->n_input == 0 || gp->n_output == 0) {
        onnx__model_proto__free_unpacked(m, NULL);
        return lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (no graph, inputs or outputs)", path);
    }
    importer im;
    memset(&im, 0, sizeof im);
    im.path = path;
    im.gp = gp;
    im.in_hw = in_hw;
    im.batch_ok = 1;
    im.opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if ((!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx")) && o->has_version) im.opset = (int)o->version;
    }
    if (im.opset == 0) im.opset = 9;
    lqf_status st = LQF_OK;

    /* 0. names the importer relies on are present */
    for (size_t i = 0; i < gp->n_input + gp->n_output; i++) {
        const Onnx__ValueInfoProto *v = i < gp->n_input ? gp->input[i] : gp->output[i - gp->n_input];
        if (!v->name || !*v->name) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (a graph %s has no name)", path,
                          i < gp->n_input ? "input" : "output");
            goto fail;
        }
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *n = gp->node[i];
        int bad = n->n_output == 0;
        for (size_t j = 0; j < n->n_input; j++) bad |= !n->input[j];
        for (size_t j = 0; j < n->n_output; j++) bad |= !n->output[j];
        if (bad) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (node #%d has missing input/output names)", path,
                          (int)i);
            goto fail;
        }
    }

    /* 1. every operator is known before anything is built */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *n = gp->node[i];
        int idx = (int)i;
        int known = 0;
        if (!n->op_type) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (node #%d has no operator)", path, idx);
            goto fail;
        }
        if (!n->domain || !*n->domain || !strcmp(n->domain, "ai.onnx"))
            for (int k = 0; k_supported[k]; k++)
                if (!strcmp(k_supported[k], n->op_type)) known = 1;
        if (!known) {
            if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx"))
                st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: unsupported ONNX operator '%s' of domain '%s' (node '%s')", path,
                              n->op_type, n->domain, node_label(&im, n, idx));
            else
                st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: unsupported ONNX operator '%s' (node '%s')", path, n->op_type,
                              node_label(&im, n, idx));
            goto fail;
        }
    }

    im.g = lqf_graph_new();
    if (!im.g) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    im.g->source = strdup(path);

    /* 2. initializers */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        if (!t->name || !*t->name) continue;
        ival *v = new_val(&im, t->name);
        if (!v) {
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        if ((st = read_tensor(&im, t, t->name, v)) != LQF_OK) goto fail;
    }

    /* 3. graph inputs that are not initializers */
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (find_val(&im, vi->name)) continue;
        if (im.g->n_inputs >= 8) {
            st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: more than 8 inputs", path);
            goto fail;
        }
        const Onnx__TypeProto *tp = vi->type;
        if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
            tp->tensor_type->elem_type != 1 || !tp->tensor_type->shape) {
            st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: input '%s' is not a float tensor of known rank", path, vi->name);
            goto fail;
        }
        const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
        int nd = (int)sh->n_dim;
        if (nd < 1 || nd > LQF_MAX_DIMS) {
            st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: input '%s' has %d dims", path, vi->name, nd);
            goto fail;
        }
        int64_t dims[LQF_MAX_DIMS];
        for (int d = 0; d < nd; d++) {
            const Onnx__TensorShapeProto__Dimension *dd = sh->dim[d];
            int fixed = dd->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dd->dim_value > 0;
            dims[d] = d == 0 ? 1 : fixed ? dd->dim_value : LQF_ONNX_DEFAULT_DIM;
            if (d > 0 && !fixed && im.g->n_inputs == 0 && open_dims) *open_dims |= 1u << d;
            if (fixed && dd->dim_value > (1 << 20)) {
                st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: input '%s' dim %d is %lld (too large)", path, vi->name, d,
                              (long long)dd->dim_value);
                goto fail;
            }
            if (d == 0 && fixed && dd->dim_value != 1) {
                st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: input '%s' has a fixed batch of %lld (only 1 or symbolic)", path,
                              vi->name, (long long)dd->dim_value);
                goto fail;
            }
        }
        if (in_hw && nd == 4) {
            dims[2] = in_hw[0];
            dims[3] = in_hw[1];
        }
        ival *v = new_act(&im, vi->name, nd, dims, 1);
        if (!v) {
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        im.g->tensors[v->tensor].kind = LQF_T_INPUT;
        im.g->inputs[im.g->n_inputs++] = v->tensor;
    }
    if (im.g->n_inputs == 0) {
        st = lqf_fail(LQF_ERR_FORMAT, "%s: the model has no runtime input", path);
        goto fail;
    }

    /* 4. nodes, folding BatchNormalization into a convolution it follows alone */
    char *skip = calloc(gp->n_node + 1, 1);
    if (!skip) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *n = gp->node[i];
        if (skip[i]) continue;
        const Onnx__NodeProto *bn = NULL;
        if (!strcmp(n->op_type, "Conv") && n->n_output == 1 && count_uses(gp, n->output[0]) == 1) {
            for (size_t j = i + 1; j < gp->n_node; j++) {
                const Onnx__NodeProto *c = gp->node[j];
                if (c->n_input >= 1 && c->input[0] && !strcmp(c->input[0], n->output[0])) {
                    if (!strcmp(c->op_type, "BatchNormalization") && c->n_input == 5 && c->n_output >= 1) {
                        int ok = 1;
                        for (int k = 1; k < 5; k++) {
                            ival *p = find_val(&im, c->input[k]);
                            ok &= p && p->tensor < 0 && p->ndim >= 1;
                        }
                        /* parameter counts are checked against Cout here */
                        ival *w = n->n_input > 1 ? find_val(&im, n->input[1]) : NULL;
                        for (int k = 1; ok && k < 5; k++) {
                            ival *p = find_val(&im, c->input[k]);
                            ok = w && w->ndim == 4 && numel_of(p->ndim, p->dims) == w->dims[0];
                        }
                        if (ok) {
                            bn = c;
                            skip[j] = 1;
                        }
                    }
                    break;
                }
            }
        }
        if ((st = visit(&im, n, (int)i, bn)) != LQF_OK) {
            free(skip);
            goto fail;
        }
    }
    free(skip);

    /* 5. outputs */
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name;
        ival *v = find_val(&im, name);
        if (!v) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s: output '%s' is not produced by any node", path, name);
            goto fail;
        }
        if (v->tensor < 0) {
            st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: output '%s' is a constant", path, name);
            goto fail;
        }
        if (im.g->n_outputs >= LQF_MAX_GRAPH_OUT) {
            st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: more than %d outputs", path, LQF_MAX_GRAPH_OUT);
            goto fail;
        }
        int t = v->tensor;
        if (im.g->tensors[t].kind == LQF_T_INPUT || strcmp(im.g->tensors[t].name, name) != 0) {
            /* an output that is another value under a new name (Identity): give it a node */
            int o = lqf_graph_add_tensor(im.g, name, LQF_T_ACT, v->ndim, v->dims, v->batched);
            if (o < 0 || lqf_graph_add_node(im.g, LQF_OP_RESHAPE, name, &t, 1, o) < 0) {
                st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            t = o;
        }
        im.g->outputs[im.g->n_outputs++] = t;
    }
    assign_layouts(im.g);
    if (batch_ok) *batch_ok = im.batch_ok;
    *out = im.g;
    free_importer(&im);
    onnx__model_proto__free_unpacked(m, NULL);
    return LQF_OK;

fail:
    lqf_graph_free(im.g);
    free_importer(&im);
    onnx__model_proto__free_unpacked(m, NULL);
    return st;
}
