/*
 * onnx_import.c — ONNX model → lqf_graph: the driver of the importer. The model is parsed
 * with protobuf-c (schema from Debian's onnx.proto, generated at build time); every node's
 * operator is looked up in the one operator table (onnx_ops.c) BEFORE anything is built;
 * initializers become constants and the graph inputs activations; then each node, in the
 * file's (topological) order, is checked against its table entry (input and output counts,
 * required inputs present, inputs defined before use) and handed to its handler with its
 * inputs looked up (missing optional inputs NULL): the fold handler when every input is
 * constant (shape arithmetic disappears: onnx_fold.c), else the emit handler, which adds
 * graph nodes (onnx_op_*.c). The graph is the file's: BatchNormalization stays a node
 * (lqf_graph_optimize folds it for inference). Batch: the image input's dim 0 is built as 1
 * and marked `batched`; shapes carry the flag through each operator; a graph that mixes the
 * batch into other dims reports batch_ok = 0. Layout: 4-D activations are NHWC except the
 * outputs of Transpose/Reshape that only feed other view operators, kept dense so that the
 * exporters' NCHW→NHWC transposes followed by reshapes become free aliases in the executor.
 */
#include "onnx/onnx_internal.h"

#include <string.h>

/* Names the importer relies on are present. */
static lqf_status check_names(const char *path, const Onnx__GraphProto *gp) {
    for (size_t i = 0; i < gp->n_input + gp->n_output; i++) {
        const Onnx__ValueInfoProto *v = i < gp->n_input ? gp->input[i] : gp->output[i - gp->n_input];
        if (!v->name || !*v->name)
            return lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (a graph %s has no name)", path,
                            i < gp->n_input ? "input" : "output");
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *n = gp->node[i];
        int bad = n->n_output == 0;
        for (size_t j = 0; j < n->n_input; j++) bad |= !n->input[j];
        for (size_t j = 0; j < n->n_output; j++) bad |= !n->output[j];
        if (bad)
            return lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (node #%d has missing input/output names)", path,
                            (int)i);
        if (!n->op_type)
            return lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (node #%d has no operator)", path, (int)i);
    }
    return LQF_OK;
}

/* Every operator is in the table before anything is built. */
static lqf_status check_operators(lqf_onnx_importer *im) {
    const Onnx__GraphProto *gp = im->gp;
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *n = gp->node[i];
        int std = !n->domain || !*n->domain || !strcmp(n->domain, "ai.onnx");
        if (std && lqf_onnx_find_op(n->op_type)) continue;
        if (!std)
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: unsupported ONNX operator '%s' of domain '%s' (node '%s')",
                            im->path, n->op_type, n->domain, lqf_onnx_label(im, n, (int)i));
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: unsupported ONNX operator '%s' (node '%s')", im->path, n->op_type,
                        lqf_onnx_label(im, n, (int)i));
    }
    return LQF_OK;
}

static lqf_status read_initializers(lqf_onnx_importer *im) {
    for (size_t i = 0; i < im->gp->n_initializer; i++) {
        const Onnx__TensorProto *t = im->gp->initializer[i];
        if (!t->name || !*t->name) continue;
        lqf_onnx_val *v = lqf_onnx_define(im, t->name);
        if (!v) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", im->path);
        lqf_status st = lqf_onnx_read_tensor(im, t, t->name, v);
        if (st) return st;
    }
    return LQF_OK;
}

/* The dims lqface builds a graph input with: batch 1, symbolic dims LQF_ONNX_DEFAULT_DIM
 * (bit d of *open_dims set for input 0), in_hw for the H and W of a 4-D input. */
static lqf_status input_dims(lqf_onnx_importer *im, const Onnx__ValueInfoProto *vi, const int *in_hw,
                             unsigned *open_dims, int *nd, int64_t *dims) {
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
        tp->tensor_type->elem_type != 1 || !tp->tensor_type->shape)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: input '%s' is not a float tensor of known rank", im->path, vi->name);
    const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
    *nd = (int)sh->n_dim;
    if (*nd < 1 || *nd > LQF_MAX_DIMS)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: input '%s' has %d dims", im->path, vi->name, *nd);
    for (int d = 0; d < *nd; d++) {
        const Onnx__TensorShapeProto__Dimension *dd = sh->dim[d];
        int fixed = dd->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dd->dim_value > 0;
        dims[d] = d == 0 ? 1 : fixed ? dd->dim_value : LQF_ONNX_DEFAULT_DIM;
        if (d > 0 && !fixed && im->g->n_inputs == 0 && open_dims) *open_dims |= 1u << d;
        if (fixed && dd->dim_value > (1 << 20))
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: input '%s' dim %d is %lld (too large)", im->path, vi->name, d,
                            (long long)dd->dim_value);
        if (d == 0 && fixed && dd->dim_value != 1)
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: input '%s' has a fixed batch of %lld (only 1 or symbolic)",
                            im->path, vi->name, (long long)dd->dim_value);
    }
    if (in_hw && *nd == 4) {
        dims[2] = in_hw[0];
        dims[3] = in_hw[1];
    }
    return LQF_OK;
}

/* Graph inputs that are not initializers become batched INPUT tensors. */
static lqf_status add_inputs(lqf_onnx_importer *im, const int *in_hw, unsigned *open_dims) {
    for (size_t i = 0; i < im->gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = im->gp->input[i];
        if (lqf_onnx_find(im, vi->name)) continue;
        if (im->g->n_inputs >= 8) return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: more than 8 inputs", im->path);
        int nd = 0;
        int64_t dims[LQF_MAX_DIMS];
        lqf_status st = input_dims(im, vi, in_hw, open_dims, &nd, dims);
        if (st) return st;
        lqf_onnx_val *v = lqf_onnx_act(im, vi->name, nd, dims, 1);
        if (!v) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", im->path);
        im->g->tensors[v->tensor].kind = LQF_T_INPUT;
        im->g->inputs[im->g->n_inputs++] = v->tensor;
    }
    if (im->g->n_inputs == 0) return lqf_fail(LQF_ERR_FORMAT, "%s: the model has no runtime input", im->path);
    return LQF_OK;
}

/* One node: checked against its table entry, then folded or emitted. */
static lqf_status import_node(lqf_onnx_importer *im, const Onnx__NodeProto *n, int idx) {
    lqf_onnx_node node, *nd = &node;
    memset(nd, 0, sizeof node);
    nd->n = n;
    nd->idx = idx;
    nd->op = lqf_onnx_find_op(n->op_type);
    const lqf_onnx_op *op = nd->op;
    nd->nin = (int)n->n_input;
    if (nd->nin > op->max_in)
        return LQF_ONNX_FAIL(op->flags & LQF_ONNX_VARIADIC ? LQF_ERR_UNSUPPORTED : LQF_ERR_FORMAT,
                             "%d inputs (at most %d)", nd->nin, op->max_in);
    if ((int)n->n_output > op->max_out)
        return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%d outputs (at most %d)", (int)n->n_output, op->max_out);
    if (!*n->output[0]) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "no output");
    int all_const = 1, from_shape = 0;
    for (int i = 0; i < nd->nin; i++) {
        if (!*n->input[i]) continue; /* optional input left out */
        if (!(nd->in[i] = lqf_onnx_find(im, n->input[i])))
            return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "input '%s' is not defined before use", n->input[i]);
        all_const &= nd->in[i]->tensor < 0;
        from_shape |= nd->in[i]->from_shape;
    }
    for (int i = 0; i < op->min_in; i++)
        if (!nd->in[i]) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "input %d missing (%s needs %d)", i + 1, n->op_type, op->min_in);
    lqf_status st;
    if (op->max_in == 0) return op->emit(im, nd); /* Constant */
    if (op->fold && (all_const || (op->flags & LQF_ONNX_FOLD_DIMS))) st = op->fold(im, nd);
    else if (op->flags & LQF_ONNX_FOLD_ONLY)
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only supported on constant (shape) inputs");
    else if (nd->in[0]->tensor < 0 && !(op->flags & LQF_ONNX_CONST_X))
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "constant input to a float operator");
    else
        st = op->emit(im, nd);
    /* a constant computed from the input's size stays marked (Reshape targets) */
    lqf_onnx_val *o = st == LQF_OK ? lqf_onnx_find(im, n->output[0]) : NULL;
    if (o && o->tensor < 0) o->from_shape |= from_shape;
    return st;
}

/* Graph outputs; an output that is another value under a new name (Identity) or a graph
 * input gets a node of its own. */
static lqf_status add_outputs(lqf_onnx_importer *im) {
    for (size_t i = 0; i < im->gp->n_output; i++) {
        const char *name = im->gp->output[i]->name;
        lqf_onnx_val *v = lqf_onnx_find(im, name);
        if (!v) return lqf_fail(LQF_ERR_FORMAT, "%s: output '%s' is not produced by any node", im->path, name);
        if (v->tensor < 0) return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: output '%s' is a constant", im->path, name);
        if (im->g->n_outputs >= LQF_MAX_GRAPH_OUT)
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: more than %d outputs", im->path, LQF_MAX_GRAPH_OUT);
        int t = v->tensor;
        if (im->g->tensors[t].kind == LQF_T_INPUT || strcmp(im->g->tensors[t].name, name) != 0) {
            static const int64_t same[LQF_MAX_DIMS] = {0}; /* target 0: every dim copied */
            int o = lqf_graph_add_tensor(im->g, name, LQF_T_ACT, v->ndim, v->dims, v->batched);
            if (o < 0) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", im->path);
            lqf_status st = lqf_onnx_reshape_node(im, name, t, o, v->ndim, same, 0);
            if (st) return st;
            t = o;
        }
        im->g->outputs[im->g->n_outputs++] = t;
    }
    return LQF_OK;
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

static int opset_of(const Onnx__ModelProto *m) {
    int opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if ((!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx")) && o->has_version) opset = (int)o->version;
    }
    return opset ? opset : 9;
}

static lqf_status import_graph(lqf_onnx_importer *im, const int *in_hw, unsigned *open_dims) {
    lqf_status st;
    if ((st = check_names(im->path, im->gp)) || (st = check_operators(im))) return st;
    if (!(im->g = lqf_graph_new())) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", im->path);
    im->g->source = strdup(im->path);
    if ((st = read_initializers(im)) || (st = add_inputs(im, in_hw, open_dims))) return st;
    for (size_t i = 0; i < im->gp->n_node; i++)
        if ((st = import_node(im, im->gp->node[i], (int)i))) return st;
    if ((st = add_outputs(im))) return st;
    assign_layouts(im->g);
    return LQF_OK;
}

lqf_status lqf_onnx_import(const char *path, const uint8_t *buf, size_t len, const int *in_hw, lqf_graph **out,
                           int *batch_ok, unsigned *open_dims) {
    *out = NULL;
    if (batch_ok) *batch_ok = 1;
    if (open_dims) *open_dims = 0;
    if (len == 0) return lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (empty file)", path);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m) return lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (truncated or corrupt)", path);
    const Onnx__GraphProto *gp = m->graph;
    if (!m->has_ir_version || !gp || gp->n_node == 0 || gp->n_input == 0 || gp->n_output == 0) {
        onnx__model_proto__free_unpacked(m, NULL);
        return lqf_fail(LQF_ERR_FORMAT, "%s: not a valid ONNX model (no graph, inputs or outputs)", path);
    }
    lqf_onnx_importer im;
    memset(&im, 0, sizeof im);
    im.path = path;
    im.gp = gp;
    im.batch_ok = 1;
    im.opset = opset_of(m);
    lqf_status st = import_graph(&im, in_hw, open_dims);
    if (st == LQF_OK) {
        if (batch_ok) *batch_ok = im.batch_ok;
        *out = im.g;
    } else {
        lqf_graph_free(im.g);
    }
    lqf_onnx_free_values(&im);
    onnx__model_proto__free_unpacked(m, NULL);
    return st;
}
