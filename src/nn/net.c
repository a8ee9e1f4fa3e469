/*
 * net.c — the public lqf_net_* API (include/lqface.h) over a graph and an inference executor
 * cached for the last batch size: loading = ONNX import + lqf_graph_optimize; a new input
 * size by shape inference, or by importing the file again when inference cannot follow (the
 * importer folded attributes for the old size); running copies the caller's dense
 * logical-order (NCHW) arrays into the executor's physical buffers and the outputs back; a
 * net (its cached executor) is used by one thread at a time; statistics (parameters,
 * multiply-adds per image, from the op table's costs) and a human/JSON description.
 * Internal users reach the graph and executor through nn/net.h to skip those copies.
 */
#include "nn/net.h"

#include <string.h>

struct lqf_net {
    lqf_graph *g;
    lqf_exec *exec;
    int exec_batch;
    int batch_ok;        /* 0: the graph only runs at its built batch */
    unsigned open_dims;  /* bit d: dim d of input 0 is symbolic in the model */
    char *path;          /* ONNX file, or NULL for graphs built by lqface */
    uint8_t *model;      /* the file's bytes when its input size is open and the file small (for
                            lqf_net_set_input_size), else NULL: re-read from path when needed */
    size_t model_len;
};

#define KEEP_MODEL_BYTES (4u << 20)

static const char *net_src(const lqf_net *net) {
    return net && net->g && net->g->source ? net->g->source : "network";
}

lqf_status lqf_net_from_graph(lqf_graph *g, int optimize, lqf_net **out) {
    *out = NULL;
    if (!g) return lqf_fail(LQF_ERR_ARG, "lqf_net_from_graph: graph is NULL");
    if (optimize) {
        lqf_status st = lqf_graph_optimize(g);
        if (st != LQF_OK) {
            lqf_graph_free(g);
            return st;
        }
    }
    lqf_net *n = calloc(1, sizeof *n);
    if (!n) {
        lqf_graph_free(g);
        return lqf_fail(LQF_ERR_NOMEM, "out of memory");
    }
    n->g = g;
    n->batch_ok = 1;
    *out = n;
    return LQF_OK;
}

static lqf_status import_bytes(const char *path, const uint8_t *buf, size_t len, const int *hw, lqf_graph **g,
                               int *batch_ok, unsigned *open_dims) {
    lqf_status st = lqf_onnx_import(path, buf, len, hw, g, batch_ok, open_dims);
    if (st != LQF_OK) return st;
    st = lqf_graph_optimize(*g);
    if (st != LQF_OK) {
        lqf_graph_free(*g);
        *g = NULL;
    }
    return st;
}

lqf_status lqf_net_load_onnx(const char *path, lqf_net **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_net_load_onnx: out is NULL");
    *out = NULL;
    if (!path) return lqf_fail(LQF_ERR_ARG, "lqf_net_load_onnx: path is NULL");
    uint8_t *buf;
    size_t len;
    lqf_status st = lqf_read_file(path, &buf, &len);
    if (st != LQF_OK) return st;
    lqf_graph *g = NULL;
    int batch_ok = 1;
    unsigned open_dims = 0;
    st = import_bytes(path, buf, len, NULL, &g, &batch_ok, &open_dims);
    if (st != LQF_OK) {
        free(buf);
        return st;
    }
    lqf_net *n = calloc(1, sizeof *n);
    char *p = strdup(path);
    if (!n || !p) {
        free(n);
        free(p);
        free(buf);
        lqf_graph_free(g);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
    }
    n->g = g;
    n->batch_ok = batch_ok;
    n->open_dims = open_dims;
    n->path = p;
    if (open_dims && len <= KEEP_MODEL_BYTES) { /* resized often (MTCNN's PNet): keep the bytes */
        n->model = buf;
        n->model_len = len;
    } else {
        free(buf);
    }
    *out = n;
    return LQF_OK;
}

void lqf_net_free(lqf_net *net) {
    if (!net) return;
    lqf_exec_free(net->exec);
    lqf_graph_free(net->g);
    free(net->path);
    free(net->model);
    free(net);
}

unsigned lqf_net_open_dims(const lqf_net *net) { return net ? net->open_dims : 0; }

static void drop_exec(lqf_net *net) {
    lqf_exec_free(net->exec);
    net->exec = NULL;
    net->exec_batch = 0;
}

/* "path: node ...: problem" -> "path: input size HxW does not fit the model (node ...: problem)" */
static lqf_status size_misfit(const lqf_net *net, lqf_status st, int height, int width) {
    char why[768];
    const char *src = net_src(net), *e = lqf_last_error();
    size_t pl = strlen(src);
    if (strncmp(e, src, pl) == 0 && e[pl] == ':' && e[pl + 1] == ' ') e += pl + 2;
    snprintf(why, sizeof why, "%s", e);
    return lqf_fail(st, "%s: input size %dx%d does not fit the model (%s)", src, height, width, why);
}

/* The graph at another input size by shape inference (unchanged on failure). */
static lqf_status resize_by_inference(lqf_net *net, int height, int width) {
    lqf_tensor *in = &net->g->tensors[net->g->inputs[0]];
    int64_t h0 = in->dims[2], w0 = in->dims[3];
    in->dims[2] = height;
    in->dims[3] = width;
    lqf_status st = lqf_graph_infer_shapes(net->g);
    if (st != LQF_OK) {
        in->dims[2] = h0;
        in->dims[3] = w0;
    }
    return st;
}

/* The ONNX file imported again at the new size. */
static lqf_status resize_by_import(lqf_net *net, int height, int width) {
    uint8_t *buf = net->model;
    size_t len = net->model_len;
    lqf_status st;
    if (!buf) {
        st = lqf_read_file(net->path, &buf, &len);
        if (st != LQF_OK) return st;
    }
    int hw[2] = {height, width}, batch_ok = 1;
    lqf_graph *g = NULL;
    st = import_bytes(net->path, buf, len, hw, &g, &batch_ok, NULL);
    if (buf != net->model) free(buf);
    if (st != LQF_OK) return st;
    lqf_graph_free(net->g);
    net->g = g;
    net->batch_ok = batch_ok;
    return LQF_OK;
}

lqf_status lqf_net_set_input_size(lqf_net *net, int height, int width) {
    if (!net) return lqf_fail(LQF_ERR_ARG, "lqf_net_set_input_size: net is NULL");
    const char *src = net_src(net);
    if (height < 1 || width < 1 || height > 65536 || width > 65536)
        return lqf_fail(LQF_ERR_SHAPE, "%s: input size %dx%d is out of range", src, height, width);
    if (net->g->n_inputs < 1 || net->g->tensors[net->g->inputs[0]].ndim != 4)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: the network has no 4-D image input to resize", src);
    const lqf_tensor *in = &net->g->tensors[net->g->inputs[0]];
    if (in->dims[2] == height && in->dims[3] == width) return LQF_OK;
    lqf_status st = resize_by_inference(net, height, width);
    if (st != LQF_OK && net->path) st = resize_by_import(net, height, width);
    if (st == LQF_ERR_SHAPE || (st == LQF_ERR_UNSUPPORTED && !net->path)) return size_misfit(net, st, height, width);
    if (st != LQF_OK) return st;
    drop_exec(net);
    return LQF_OK;
}

int lqf_net_num_inputs(const lqf_net *net) { return net ? net->g->n_inputs : 0; }
int lqf_net_num_outputs(const lqf_net *net) { return net ? net->g->n_outputs : 0; }

const char *lqf_net_input_name(const lqf_net *net, int i) {
    if (!net || i < 0 || i >= net->g->n_inputs) return NULL;
    return net->g->tensors[net->g->inputs[i]].name;
}

const char *lqf_net_output_name(const lqf_net *net, int i) {
    if (!net || i < 0 || i >= net->g->n_outputs) return NULL;
    return net->g->tensors[net->g->outputs[i]].name;
}

static int shape_of(const lqf_tensor *t, int batch, int64_t dims[8]) {
    for (int d = 0; d < t->ndim; d++) dims[d] = t->dims[d];
    if (t->batched && t->ndim > 0) dims[0] = batch;
    return t->ndim;
}

int lqf_net_input_shape(const lqf_net *net, int i, int batch, int64_t dims[8]) {
    if (!net || i < 0 || i >= net->g->n_inputs) return 0;
    return shape_of(&net->g->tensors[net->g->inputs[i]], batch, dims);
}

int lqf_net_output_shape(const lqf_net *net, int i, int batch, int64_t dims[8]) {
    if (!net || i < 0 || i >= net->g->n_outputs) return 0;
    return shape_of(&net->g->tensors[net->g->outputs[i]], batch, dims);
}

lqf_graph *lqf_net_graph(lqf_net *net) { return net ? net->g : NULL; }

lqf_status lqf_net_exec(lqf_net *net, int batch, lqf_exec **x) {
    *x = NULL;
    if (!net) return lqf_fail(LQF_ERR_ARG, "lqf_net_exec: net is NULL");
    if (batch < 1) return lqf_fail(LQF_ERR_ARG, "%s: batch must be >= 1 (got %d)", net_src(net), batch);
    if (!net->batch_ok && batch != net->g->build_batch)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: this model runs only with batch %d (got %d)", net_src(net),
                        net->g->build_batch, batch);
    if (net->exec && net->exec_batch == batch) {
        *x = net->exec;
        return LQF_OK;
    }
    drop_exec(net);
    lqf_status st = lqf_exec_create(net->g, batch, LQF_EXEC_INFER, &net->exec);
    if (st != LQF_OK) return st;
    net->exec_batch = batch;
    *x = net->exec;
    return LQF_OK;
}

lqf_status lqf_net_run(lqf_net *net, int batch, const float *const *inputs, float *const *outputs) {
    if (!net || !inputs || !outputs) return lqf_fail(LQF_ERR_ARG, "lqf_net_run: NULL argument");
    lqf_graph *g = net->g;
    for (int i = 0; i < g->n_inputs; i++)
        if (!inputs[i]) return lqf_fail(LQF_ERR_ARG, "%s: input %d is NULL", net_src(net), i);
    for (int i = 0; i < g->n_outputs; i++)
        if (!outputs[i]) return lqf_fail(LQF_ERR_ARG, "%s: output %d is NULL", net_src(net), i);
    lqf_exec *x;
    lqf_status st = lqf_net_exec(net, batch, &x);
    if (st != LQF_OK) return st;
    for (int i = 0; i < g->n_inputs; i++) lqf_exec_write(x, g->inputs[i], inputs[i]);
    st = lqf_exec_forward(x);
    if (st != LQF_OK) return st;
    for (int i = 0; i < g->n_outputs; i++) lqf_exec_read(x, g->outputs[i], outputs[i]);
    return LQF_OK;
}

/* ------------------------------------------------------------------ statistics */

void lqf_net_get_stats(const lqf_net *net, lqf_net_stats *st) {
    memset(st, 0, sizeof *st);
    if (!net) return;
    const lqf_graph *g = net->g;
    char *seen = calloc((size_t)g->n_tensors + 1, 1);
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *n = &g->nodes[i];
        const lqf_op_def *def = lqf_op_table[n->op];
        if (def->cost) st->macs += def->cost(g, n);
        int reads[LQF_MAX_NODE_IN + 2], nr = 0;
        for (int k = 0; k < n->nin; k++) reads[nr++] = n->in[k];
        if (def->extra_reads) nr += def->extra_reads(n, reads + nr);
        for (int k = 0; k < nr; k++) {
            int t = reads[k];
            if (t < 0 || !seen || seen[t] || g->tensors[t].kind != LQF_T_PARAM) continue;
            seen[t] = 1;
            st->n_params += lqf_tensor_numel(&g->tensors[t]);
        }
    }
    free(seen);
    st->n_nodes = g->n_nodes;
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void print_shape(FILE *f, const lqf_tensor *t, int json) {
    fputc('[', f);
    for (int d = 0; d < t->ndim; d++) {
        if (d) fputs(json ? "," : "x", f);
        if (d == 0 && t->batched && !json) fputc('N', f);
        else fprintf(f, "%lld", (long long)t->dims[d]);
    }
    fputc(']', f);
}

void lqf_net_print_info(const lqf_net *net, FILE *f, int json) {
    if (!net || !f) return;
    const lqf_graph *g = net->g;
    lqf_net_stats st;
    lqf_net_get_stats(net, &st);
    int hist[LQF_OP_COUNT] = {0}, fused_act = 0, fused_res = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *n = &g->nodes[i];
        if (n->op >= 0 && n->op < LQF_OP_COUNT) hist[n->op]++;
        if (n->op == LQF_OP_CONV) {
            fused_act += n->a.conv.act != LQF_ACT_NONE;
            fused_res += n->a.conv.residual >= 0;
        }
    }
    if (json) {
        fputs("{\"model\":", f);
        json_str(f, g->source ? g->source : "");
        for (int io = 0; io < 2; io++) {
            fputs(io ? ",\"outputs\":[" : ",\"inputs\":[", f);
            int cnt = io ? g->n_outputs : g->n_inputs;
            for (int i = 0; i < cnt; i++) {
                const lqf_tensor *t = &g->tensors[io ? g->outputs[i] : g->inputs[i]];
                fputs(i ? ",{\"name\":" : "{\"name\":", f);
                json_str(f, t->name);
                fputs(",\"shape\":", f);
                print_shape(f, t, 1);
                fprintf(f, ",\"batched\":%s", t->batched ? "true" : "false");
                if (!io && i == 0) {
                    fputs(",\"open_dims\":[", f);
                    int first = 1;
                    for (int d = 1; d < t->ndim; d++)
                        if (net->open_dims >> d & 1) {
                            fprintf(f, "%s%d", first ? "" : ",", d);
                            first = 0;
                        }
                    fputc(']', f);
                }
                fputc('}', f);
            }
            fputc(']', f);
        }
        fprintf(f, ",\"batch_polymorphic\":%s", net->batch_ok ? "true" : "false");
        fprintf(f, ",\"parameters\":%lld,\"macs\":%lld,\"nodes\":%d,\"operators\":{", (long long)st.n_params,
                (long long)st.macs, st.n_nodes);
        int first = 1;
        for (int k = 0; k < LQF_OP_COUNT; k++)
            if (hist[k]) {
                fprintf(f, "%s\"%s\":%d", first ? "" : ",", lqf_op_table[k]->name, hist[k]);
                first = 0;
            }
        fprintf(f, "},\"fused_activations\":%d,\"fused_residuals\":%d}\n", fused_act, fused_res);
        return;
    }
    fprintf(f, "model:          %s\n", g->source ? g->source : "(built by lqface)");
    for (int io = 0; io < 2; io++) {
        int cnt = io ? g->n_outputs : g->n_inputs;
        for (int i = 0; i < cnt; i++) {
            const lqf_tensor *t = &g->tensors[io ? g->outputs[i] : g->inputs[i]];
            fprintf(f, "%-15s ", io ? "output:" : "input:");
            print_shape(f, t, 0);
            fprintf(f, "  %s", t->name);
            if (!io && i == 0 && net->open_dims)
                fputs("  (H and W are open in the model: set with lqf_net_set_input_size)", f);
            fputc('\n', f);
        }
    }
    fprintf(f, "batch:          %s\n", net->batch_ok ? "any (N)" : "1 only");
    fprintf(f, "parameters:     %lld (%.3f M)\n", (long long)st.n_params, st.n_params / 1e6);
    fprintf(f, "multiply-adds:  %lld (%.1f M per image)\n", (long long)st.macs, st.macs / 1e6);
    fprintf(f, "nodes:          %d after fusion (%d activations and %d residual adds fused into Conv)\n", st.n_nodes,
            fused_act, fused_res);
    fputs("operators:     ", f);
    for (int k = 0; k < LQF_OP_COUNT; k++)
        if (hist[k]) fprintf(f, " %s x%d", lqf_op_table[k]->name, hist[k]);
    fputc('\n', f);
}
