/*
 * onnx_values.c — the importer's value table and the small helpers every operator handler
 * uses: names to values (open addressing over the model's names; a value is a graph tensor
 * or a constant), new activations and nodes, constants turned into PARAM/CONST graph
 * tensors, node labels for messages, attribute reading, and the integer shape helpers
 * (element counts that saturate instead of overflowing, axes, numpy broadcasting).
 */
#include "onnx/onnx_internal.h"

#include <string.h>

/* ------------------------------------------------------------------ messages */

const char *lqf_onnx_label(lqf_onnx_importer *im, const Onnx__NodeProto *n, int idx) {
    if (n->name && *n->name)
        snprintf(im->nodename, sizeof im->nodename, "%s", n->name);
    else if (n->n_output > 0 && n->output[0] && *n->output[0])
        snprintf(im->nodename, sizeof im->nodename, "#%d, output '%s'", idx, n->output[0]);
    else
        snprintf(im->nodename, sizeof im->nodename, "#%d", idx);
    return im->nodename;
}

lqf_status lqf_onnx_fail(lqf_onnx_importer *im) {
    if (im->err != LQF_OK) return im->err;
    return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", im->path);
}

/* ------------------------------------------------------------------ integers and shapes */

int64_t lqf_onnx_numel(int ndim, const int64_t *d) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (d[i] < 0) return LQF_ONNX_MAX_NUMEL + 1;
        if (d[i] == 0) return 0;
        if (n > LQF_ONNX_MAX_NUMEL / d[i]) return LQF_ONNX_MAX_NUMEL + 1;
        n *= d[i];
    }
    return n;
}

/* INT64_MAX means "to the end" in Slice: clamping keeps the arithmetic finite */
int64_t lqf_onnx_i64(double x) {
    const double lim = 4611686018427387904.0;
    if (!(x == x)) return 0;
    if (x >= lim) return (int64_t)1 << 62;
    if (x <= -lim) return -((int64_t)1 << 62);
    return (int64_t)x;
}

int lqf_onnx_axis(int64_t a, int ndim) { return (int)(a < 0 ? a + ndim : a); }

int lqf_onnx_bcast(int na, const int64_t *a, int nb, const int64_t *b, int *no, int64_t *o) {
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

lqf_status lqf_onnx_axes(lqf_onnx_importer *im, const lqf_onnx_node *nd, int64_t *axes, int *na) {
    const lqf_onnx_val *a = nd->in[1];
    *na = lqf_onnx_attr_ints(nd->n, "axes", axes, LQF_MAX_DIMS);
    if (*na < 0 && a) {
        if (a->tensor >= 0) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "axes not constant");
        int64_t n1 = lqf_onnx_numel(a->ndim, a->dims);
        *na = n1 > LQF_MAX_DIMS ? LQF_MAX_DIMS + 1 : (int)n1;
        for (int i = 0; i < *na && i < LQF_MAX_DIMS; i++) axes[i] = lqf_onnx_i64(a->val[i]);
    }
    if (*na > LQF_MAX_DIMS) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "too many axes");
    return LQF_OK;
}

/* ------------------------------------------------------------------ attributes */

const Onnx__AttributeProto *lqf_onnx_attr(const Onnx__NodeProto *n, const char *name) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0) return n->attribute[i];
    return NULL;
}

int64_t lqf_onnx_attr_i(const Onnx__NodeProto *n, const char *name, int64_t dflt) {
    const Onnx__AttributeProto *a = lqf_onnx_attr(n, name);
    return a && a->has_i ? a->i : dflt;
}

float lqf_onnx_attr_f(const Onnx__NodeProto *n, const char *name, float dflt) {
    const Onnx__AttributeProto *a = lqf_onnx_attr(n, name);
    return a && a->has_f ? a->f : dflt;
}

int lqf_onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, int max) {
    const Onnx__AttributeProto *a = lqf_onnx_attr(n, name);
    if (!a) return -1;
    int k = (int)a->n_ints;
    for (int i = 0; i < k && i < max; i++) out[i] = a->ints[i];
    return k;
}

int lqf_onnx_attr_ints_exact(const Onnx__NodeProto *n, const char *name, int64_t *out, int count) {
    int64_t tmp[8];
    int k = lqf_onnx_attr_ints(n, name, tmp, 8);
    if (k < 0) return 0;
    if (k != count) return -1;
    memcpy(out, tmp, sizeof(int64_t) * (size_t)count);
    return 0;
}

int lqf_onnx_attr_s_is(const Onnx__NodeProto *n, const char *name, const char *dflt, const char *want) {
    const Onnx__AttributeProto *a = lqf_onnx_attr(n, name);
    if (!a || !a->has_s) return strcmp(dflt, want) == 0;
    return strlen(want) == a->s.len && memcmp(a->s.data, want, a->s.len) == 0;
}

void lqf_onnx_attr_s(const Onnx__NodeProto *n, const char *name, const char *dflt, char *buf, size_t cap) {
    const Onnx__AttributeProto *a = lqf_onnx_attr(n, name);
    if (!a || !a->has_s) {
        snprintf(buf, cap, "%s", dflt);
        return;
    }
    snprintf(buf, cap, "%.*s", (int)a->s.len, (const char *)a->s.data);
}

/* ------------------------------------------------------------------ the value table */

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

lqf_onnx_val *lqf_onnx_find(lqf_onnx_importer *im, const char *name) {
    if (!name || !*name || im->hcap == 0) return NULL;
    uint32_t h = hash_str(name) & (uint32_t)(im->hcap - 1);
    while (im->hash[h] >= 0) {
        lqf_onnx_val *v = im->v[im->hash[h]];
        if (strcmp(v->name, name) == 0) return v;
        h = (h + 1) & (uint32_t)(im->hcap - 1);
    }
    return NULL;
}

/* Room for one more value in v and in the hash (rehashed at half load). */
static int grow(lqf_onnx_importer *im) {
    if (im->nv == im->capv) {
        int cap = im->capv ? 2 * im->capv : 256;
        lqf_onnx_val **nv = realloc(im->v, (size_t)cap * sizeof *nv);
        if (!nv) return -1;
        im->v = nv;
        im->capv = cap;
    }
    if (2 * (im->nv + 1) > im->hcap) {
        int cap = im->hcap ? 2 * im->hcap : 1024;
        int *h = malloc((size_t)cap * sizeof *h);
        if (!h) return -1;
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
    return 0;
}

lqf_onnx_val *lqf_onnx_define(lqf_onnx_importer *im, const char *name) {
    lqf_onnx_val *old = lqf_onnx_find(im, name);
    if (old) {
        free(old->val);
        memset(old, 0, sizeof *old);
        old->name = name;
        old->tensor = -1;
        old->ctensor = -1;
        return old;
    }
    if (grow(im) != 0) return NULL;
    lqf_onnx_val *v = calloc(1, sizeof *v);
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

lqf_onnx_val *lqf_onnx_alias(lqf_onnx_importer *im, const char *name, const lqf_onnx_val *src) {
    lqf_onnx_val keep = *src; /* src may be the value being redefined */
    lqf_onnx_val *o = lqf_onnx_define(im, name);
    if (!o) return NULL;
    *o = keep;
    o->name = name;
    o->val = NULL;
    o->ctensor = -1;
    return o;
}

lqf_onnx_val *lqf_onnx_act(lqf_onnx_importer *im, const char *name, int ndim, const int64_t *dims, int batched) {
    if (lqf_onnx_numel(ndim, dims) > LQF_ONNX_MAX_NUMEL) {
        im->err = lqf_fail(LQF_ERR_SHAPE, "%s: tensor '%s' would hold more than 2^31 values", im->path, name);
        return NULL;
    }
    int64_t d[LQF_MAX_DIMS]; /* dims may be those of the value being redefined */
    memcpy(d, dims, (size_t)ndim * sizeof *d);
    lqf_onnx_val *v = lqf_onnx_define(im, name);
    if (!v) return NULL;
    v->ndim = ndim;
    memcpy(v->dims, d, (size_t)ndim * sizeof *d);
    v->batched = batched;
    v->tensor = lqf_graph_add_tensor(im->g, name, LQF_T_ACT, ndim, d, batched);
    if (v->tensor < 0) return NULL;
    return v;
}

int lqf_onnx_tensor_of(lqf_onnx_importer *im, lqf_onnx_val *v) {
    if (v->tensor >= 0) return v->tensor;
    if (v->ctensor >= 0) return v->ctensor;
    v->ctensor = lqf_onnx_param(im, v, LQF_T_CONST, v->ndim, v->dims);
    return v->ctensor;
}

int lqf_onnx_param(lqf_onnx_importer *im, const lqf_onnx_val *v, lqf_tensor_kind kind, int ndim,
                   const int64_t *dims) {
    int t = lqf_graph_add_tensor(im->g, v->name, kind, ndim, dims, 0);
    if (t >= 0) lqf_onnx_store(v, ndim, dims, lqf_graph_data(im->g, t));
    return t;
}

lqf_status lqf_onnx_emit_node(lqf_onnx_importer *im, const lqf_onnx_node *nd, lqf_op op, const int *ins, int nin,
                              int ndim, const int64_t *dims, int batched, lqf_node **node) {
    int in[LQF_MAX_NODE_IN]; /* ins may point into the value the output redefines */
    if (nin > LQF_MAX_NODE_IN) return lqf_onnx_fail(im);
    memcpy(in, ins, (size_t)nin * sizeof *in);
    lqf_onnx_val *o = lqf_onnx_act(im, nd->n->output[0], ndim, dims, batched);
    if (!o) return lqf_onnx_fail(im);
    int k = lqf_graph_add_node(im->g, op, lqf_onnx_label(im, nd->n, nd->idx), in, nin, o->tensor);
    if (k < 0) return lqf_onnx_fail(im);
    if (node) *node = &im->g->nodes[k];
    return LQF_OK;
}

void lqf_onnx_free_values(lqf_onnx_importer *im) {
    for (int i = 0; i < im->nv; i++) {
        free(im->v[i]->val);
        free(im->v[i]);
    }
    free(im->v);
    free(im->hash);
}
