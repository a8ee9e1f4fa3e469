/*
 * onnx_internal.h — what the pieces of the ONNX importer share (src/onnx/): the values a
 * model's names refer to while it is imported (a graph tensor, or a constant held here in
 * double precision), the importer's state, the node being imported (its inputs already
 * looked up and counted against the operator table, missing optional inputs as NULL), the
 * one table of supported operators (onnx_ops.c) and the helpers every operator handler
 * uses (onnx_values.c, onnx_tensor.c). The driver is onnx_import.c; constant folding of the
 * shape arithmetic is onnx_fold.c; the graph-building handlers are onnx_op_*.c.
 */
#ifndef LQF_ONNX_INTERNAL_H
#define LQF_ONNX_INTERNAL_H

#include "nn/net.h"
#include "onnx.pb-c.h"

/* Inputs a node may list (Concat of shape pieces; the graph takes LQF_MAX_NODE_IN). */
#define LQF_ONNX_MAX_IN 16
/* Element count bound: lqf_onnx_numel saturates above it so corrupt dims cannot overflow. */
#define LQF_ONNX_MAX_NUMEL ((int64_t)1 << 31)

/* A value: what an ONNX name refers to. */
typedef struct {
    const char *name;   /* points into the parsed model */
    int tensor;         /* graph tensor, or -1 for a constant */
    int ndim;
    int64_t dims[LQF_MAX_DIMS];
    int batched;        /* graph tensors: dim 0 follows the batch */
    double *val;        /* constants: numel values */
    int is_int;         /* constants: integer type */
    int from_shape;     /* constants: computed from a Shape (depends on the input size), not
                           written in the file */
    int ctensor;        /* constants: cached CONST graph tensor, or -1 */
    int padded;         /* output of a zero Pad folded into the convolutions that read it: */
    int64_t pad[4];     /* top, left, bottom, right added to their pads (dims are the padded ones) */
} lqf_onnx_val;

typedef struct {
    const char *path;
    lqf_graph *g;
    const Onnx__GraphProto *gp;
    int opset;
    int batch_ok;
    lqf_onnx_val **v;   /* each value allocated on its own: pointers stay valid */
    int nv, capv;
    int *hash;          /* open addressing over v, size hcap (power of 2) */
    int hcap;
    lqf_status err;     /* set with its message by helpers that return NULL for a reason */
    char nodename[256];
} lqf_onnx_importer;

typedef struct lqf_onnx_op lqf_onnx_op;

/* The node being imported. */
typedef struct {
    const Onnx__NodeProto *n;
    int idx;                          /* position in the file's node list (messages) */
    const lqf_onnx_op *op;
    int nin;                          /* inputs the node lists, <= op->max_in */
    lqf_onnx_val *in[LQF_ONNX_MAX_IN]; /* input k, NULL when left out ("") or k >= nin */
} lqf_onnx_node;

typedef lqf_status (*lqf_onnx_handler)(lqf_onnx_importer *im, const lqf_onnx_node *nd);

enum {
    LQF_ONNX_FOLD_ONLY = 1,   /* exists only as constant folding (no emit handler) */
    LQF_ONNX_FOLD_DIMS = 2,   /* folds on dims alone, whatever its input (Shape) */
    LQF_ONNX_CONST_X = 4,     /* emit accepts a constant first input (views, arithmetic) */
    LQF_ONNX_VARIADIC = 8,    /* max_in is lqface's limit, not the schema's */
};

/* One supported operator of the default ONNX domain. The driver checks a node against its
 * entry before calling a handler: min_in <= listed inputs <= max_in, inputs 0..min_in-1
 * present, 1..max_out outputs with output 0 named. Then: fold when fold != NULL and every
 * given input is constant (or FOLD_DIMS); else emit (a constant first input only with
 * CONST_X). Counts are the union over the opsets lqface reads; handlers check the
 * opset-specific forms. */
struct lqf_onnx_op {
    const char *name;
    int min_in, max_in;
    int max_out;
    lqf_onnx_handler emit;    /* builds graph nodes; NULL for FOLD_ONLY */
    lqf_onnx_handler fold;    /* evaluates the node on constants; NULL: never folded */
    unsigned flags;
};

/* onnx_ops.c: the table entry of an operator, or NULL. */
const lqf_onnx_op *lqf_onnx_find_op(const char *op_type);

/* ---- messages: "<file>: <op> node '<name>': problem" */
const char *lqf_onnx_label(lqf_onnx_importer *im, const Onnx__NodeProto *n, int idx);
#define LQF_ONNX_FAIL(st, fmt, ...)                                                           \
    lqf_fail(st, "%s: %s node '%s': " fmt, im->path, nd->n->op_type, lqf_onnx_label(im, nd->n, nd->idx), \
             __VA_ARGS__)
/* The failure of a helper that returned NULL/-1: its own error, else out of memory. */
lqf_status lqf_onnx_fail(lqf_onnx_importer *im);

/* ---- values (onnx_values.c) */
lqf_onnx_val *lqf_onnx_find(lqf_onnx_importer *im, const char *name);
/* Define (or redefine) a value, empty; NULL on OOM. */
lqf_onnx_val *lqf_onnx_define(lqf_onnx_importer *im, const char *name);
/* Define name as the graph tensor value src (Identity, Dropout, a folded Pad). */
lqf_onnx_val *lqf_onnx_alias(lqf_onnx_importer *im, const char *name, const lqf_onnx_val *src);
/* Define name as a new graph activation; NULL with im->err set when too large, or OOM. */
lqf_onnx_val *lqf_onnx_act(lqf_onnx_importer *im, const char *name, int ndim, const int64_t *dims, int batched);
/* Graph tensor of a value: activations as they are, constants as a cached CONST tensor. */
int lqf_onnx_tensor_of(lqf_onnx_importer *im, lqf_onnx_val *v);
/* A new PARAM/CONST tensor (name of v) holding constant v under the given logical dims. */
int lqf_onnx_param(lqf_onnx_importer *im, const lqf_onnx_val *v, lqf_tensor_kind kind, int ndim,
                   const int64_t *dims);
/* Output 0 of nd as a new activation produced by a new `op` node over ins; *node (may be
 * NULL) is the node, valid until the next node is added. */
lqf_status lqf_onnx_emit_node(lqf_onnx_importer *im, const lqf_onnx_node *nd, lqf_op op, const int *ins, int nin,
                              int ndim, const int64_t *dims, int batched, lqf_node **node);
void lqf_onnx_free_values(lqf_onnx_importer *im);

/* ---- integers and shapes */
int64_t lqf_onnx_numel(int ndim, const int64_t *d);
int64_t lqf_onnx_i64(double x); /* an integer constant, clamped to +-2^62 */
int lqf_onnx_axis(int64_t a, int ndim);
/* numpy broadcast of a and b into o (*no dims); -1 when they do not broadcast. */
int lqf_onnx_bcast(int na, const int64_t *a, int nb, const int64_t *b, int *no, int64_t *o);
/* The axes of (Un)Squeeze/Reduce*: attribute (older opsets) or constant input 1 (newer);
 * *na = -1 when neither is given. */
lqf_status lqf_onnx_axes(lqf_onnx_importer *im, const lqf_onnx_node *nd, int64_t *axes, int *na);

/* ---- attributes */
const Onnx__AttributeProto *lqf_onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t lqf_onnx_attr_i(const Onnx__NodeProto *n, const char *name, int64_t dflt);
float lqf_onnx_attr_f(const Onnx__NodeProto *n, const char *name, float dflt);
/* ints attribute: its count (or -1 if absent); at most max values copied */
int lqf_onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, int max);
/* An optional ints attribute of exactly `count` values: absent keeps out as it is (the
 * defaults), present with another count returns -1. */
int lqf_onnx_attr_ints_exact(const Onnx__NodeProto *n, const char *name, int64_t *out, int count);
int lqf_onnx_attr_s_is(const Onnx__NodeProto *n, const char *name, const char *dflt, const char *want);
void lqf_onnx_attr_s(const Onnx__NodeProto *n, const char *name, const char *dflt, char *buf, size_t cap);

/* ---- tensors (onnx_tensor.c) */
int lqf_onnx_is_int_type(int data_type);
/* Decode a TensorProto into constant v (what: its name in messages when it has none). */
lqf_status lqf_onnx_read_tensor(lqf_onnx_importer *im, const Onnx__TensorProto *t, const char *what,
                                lqf_onnx_val *v);
/* Constant v's values as float under logical dims; 4-D goes to NHWC. */
void lqf_onnx_store(const lqf_onnx_val *v, int ndim, const int64_t *dims, float *dst);

/* ---- reshapes (onnx_op_shape.c) */
/* Output `name` = x reshaped to target (ONNX semantics: 0 copies x's dim, -1 is inferred;
 * allowzero: a 0 is a zero), a constant when x is one. fold_batch: the reshape moves the batch
 * out of dim 0 (Flatten axis 0). */
lqf_status lqf_onnx_reshape(lqf_onnx_importer *im, const lqf_onnx_node *nd, const char *label, const char *name,
                            lqf_onnx_val *x, int tndim, const int64_t *target, int allowzero, int fold_batch,
                            int fixed);
/* The graph RESHAPE node of tensor xt into tensor out, target as above (checked against
 * out's dims) stored as the node's ONNX-style target; every Reshape the importer emits goes
 * through here. fixed: the target holds dims computed at the imported input size (the node
 * follows the batch but not another input size; graph.h). */
lqf_status lqf_onnx_reshape_node(lqf_onnx_importer *im, const char *label, int xt, int out, int tndim,
                                 const int64_t *target, int fixed);

/* ---- handlers (the table's entries) */
lqf_status lqf_onnx_constant(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_fold_shape(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_fold_copy(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_fold_cast(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_fold_unary(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_fold_binary(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_fold_gather(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_fold_slice(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_fold_concat(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_fold_transpose(lqf_onnx_importer *im, const lqf_onnx_node *nd);

lqf_status lqf_onnx_conv(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_pad(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_batchnorm(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_maxpool(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_resize(lqf_onnx_importer *im, const lqf_onnx_node *nd);

lqf_status lqf_onnx_activation(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_prelu(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_binary(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_unary(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_pow(lqf_onnx_importer *im, const lqf_onnx_node *nd);

lqf_status lqf_onnx_identity(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_reshape_op(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_flatten(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_squeeze(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_transpose(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_concat(lqf_onnx_importer *im, const lqf_onnx_node *nd);

lqf_status lqf_onnx_gemm(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_softmax(lqf_onnx_importer *im, const lqf_onnx_node *nd);
lqf_status lqf_onnx_reduce(lqf_onnx_importer *im, const lqf_onnx_node *nd);

#endif
