/*
 * model.c — the network of a training run: built from the config, written to and read from
 * checkpoints tensor by tensor, and opened from a checkpoint as an inference network
 * (model.h).
 */
#include "train/model.h"

#include "nn/backbone.h"
#include "nn/net.h"

#include <stdio.h>
#include <string.h>

lqf_status lqf_model_build(const lqf_train_config *c, lqf_graph **out, char *arch, char *shortcut) {
    *out = NULL;
    lqf_status st;
    if (c->init_onnx[0]) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if ((st = lqf_read_file(c->init_onnx, &buf, &len))) return st;
        int hw[2] = {c->input_size, c->input_size}, batch_ok = 1;
        lqf_graph *g = NULL;
        int fold = !strcmp(c->onnx_bn, "fold");
        if (!fold && strcmp(c->onnx_bn, "train")) {
            free(buf);
            return lqf_fail(LQF_ERR_ARG, "train config: onnx_bn '%s' is not fold or train", c->onnx_bn);
        }
        st = lqf_onnx_import(c->init_onnx, buf, len, hw, &g, &batch_ok, NULL);
        free(buf);
        if (!st && !batch_ok)
            st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: the network cannot run at another batch size", c->init_onnx);
        if (!st && fold) st = lqf_graph_fold_batchnorm(g); /* the file's inference statistics */
        if (st) {
            lqf_graph_free(g);
            return st;
        }
        snprintf(arch, 32, "onnx");
        shortcut[0] = 0;
        *out = g;
        return LQF_OK;
    }
    lqf_backbone_config bc;
    lqf_backbone_kind kind;
    int depth = 0;
    if (!strcmp(c->arch, "mobilefacenet")) kind = LQF_BACKBONE_MOBILEFACENET;
    else if (sscanf(c->arch, "iresnet%d", &depth) == 1 &&
             (depth == 18 || depth == 34 || depth == 50 || depth == 100 || depth == 200)) {
        if (!strcmp(c->variant, "insightface")) kind = LQF_BACKBONE_IRESNET;
        else if (!strcmp(c->variant, "adaface")) kind = LQF_BACKBONE_IRESNET_ADAFACE;
        else return lqf_fail(LQF_ERR_ARG, "train config: variant '%s' is not insightface or adaface", c->variant);
    } else
        return lqf_fail(LQF_ERR_ARG, "train config: unknown arch '%s'", c->arch);
    lqf_backbone_config_default(&bc, kind, depth ? depth : 18);
    if (kind != LQF_BACKBONE_MOBILEFACENET) memcpy(bc.width, c->width, sizeof bc.width);
    else bc.mfn_base = c->mfn_base, bc.mfn_sep = c->mfn_sep;
    bc.input_h = bc.input_w = c->input_size;
    bc.emb = c->emb;
    if (c->dropout >= 0) bc.dropout = c->dropout;
    bc.seed = c->seed;
    if ((st = lqf_backbone_build(&bc, out))) return st;
    snprintf(arch, 32, "%s", c->arch);
    snprintf(shortcut, 32, "%s", kind == LQF_BACKBONE_MOBILEFACENET ? "" : c->variant);
    return LQF_OK;
}

int lqf_model_ckpt_tensor(const lqf_tensor *T) {
    return (T->kind == LQF_T_PARAM || T->kind == LQF_T_CONST) && !strchr(T->name, '#') && lqf_tensor_numel(T) > 0;
}

/* The PyTorch shape of a graph tensor: convolution weights are stored packed (their graph
 * dims are the packed length), their PyTorch shape is OIHW (Cout, Cin/group, kh, kw). */
static int torch_dims(const lqf_graph *g, const lqf_tensor *T, int64_t *dims) {
    int ti = (int)(T - g->tensors);
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *nd = &g->nodes[i];
        if (nd->op != LQF_OP_CONV || nd->nin < 2 || nd->in[1] != ti) continue;
        lqf_conv_shape cs;
        lqf_node_conv_shape(nd, g->tensors[nd->in[0]].dims, &cs);
        dims[0] = cs.cout;
        dims[1] = cs.cin / cs.group;
        dims[2] = cs.kh;
        dims[3] = cs.kw;
        return 4;
    }
    memcpy(dims, T->dims, (size_t)T->ndim * sizeof *dims);
    return T->ndim;
}

lqf_status lqf_model_ckpt_add(lqf_ckpt *ck, const lqf_graph *g, const float *buf, const lqf_tensor *T,
                              const char *name, float *tmp) {
    int64_t dims[LQF_MAX_DIMS];
    int nd = torch_dims(g, T, dims);
    lqf_status st = lqf_backbone_get(g, buf, T->name, tmp, (size_t)lqf_tensor_numel(T));
    if (!st) st = lqf_ckpt_add(ck, name, nd, dims, tmp, 1);
    return st;
}

lqf_status lqf_model_ckpt_get(const lqf_ckpt *ck, const lqf_graph *g, float *buf, const lqf_tensor *T,
                              const char *name) {
    const lqf_ckpt_tensor *ct = NULL;
    int64_t dims[LQF_MAX_DIMS];
    int nd = torch_dims(g, T, dims);
    lqf_status st = lqf_ckpt_get(ck, name, nd, dims, &ct);
    if (!st) st = lqf_backbone_set(g, buf, T->name, ct->data, (size_t)ct->numel);
    return st;
}

/* The run's config from the checkpoint's "config" metadata (key = value lines). Keys this
 * build does not know are skipped (a newer writer); a bad value is an error. */
static lqf_status config_from_meta(const lqf_ckpt *ck, const char *path, lqf_train_config *c) {
    const char *txt = lqf_ckpt_get_meta(ck, "config");
    if (!txt) return lqf_fail(LQF_ERR_FORMAT, "%s: no training config in the checkpoint's metadata", path);
    lqf_train_config_default(c);
    return lqf_train_config_parse(c, txt, strlen(txt), path, 1);
}

lqf_status lqf_model_load_checkpoint(const char *path, lqf_net **out, lqf_ckpt_info *info) {
    *out = NULL;
    lqf_ckpt *ck = NULL;
    lqf_status st = lqf_ckpt_load(path, &ck);
    if (st) return st;
    lqf_ckpt_info in;
    lqf_train_config c;
    lqf_graph *g = NULL;
    char arch[32], shortcut[32];
    st = lqf_ckpt_get_info(ck, &in);
    if (!st) st = config_from_meta(ck, path, &c);
    if (!st) {
        /* the network the config describes cannot have more parameters than the file holds;
         * twice that (and 16 MiB) leaves room for an ONNX base's file and its importer's
         * staging of a frozen tensor in doubles */
        uint64_t held = 0;
        for (int i = 0; i < lqf_ckpt_count(ck); i++) held += (uint64_t)lqf_ckpt_tensor_at(ck, i)->numel * sizeof(float);
        c.input_size = in.input_h;
        uint64_t old = lqf_alloc_bound(2 * held + (16u << 20));
        st = lqf_model_build(&c, &g, arch, shortcut);
        lqf_alloc_bound(old);
        if (st) lqf_fail_context(st, "%s", path);
    }
    if (!st && strcmp(arch, in.arch))
        st = lqf_fail(LQF_ERR_FORMAT, "%s: the checkpoint says arch %s but its config builds %s", path, in.arch, arch);
    for (int i = 0; !st && i < g->n_tensors; i++) {
        const lqf_tensor *T = &g->tensors[i];
        if (!lqf_model_ckpt_tensor(T)) continue;
        st = lqf_model_ckpt_get(ck, g, g->params, T, T->name);
        if (st) lqf_fail_context(st, "%s", path);
    }
    lqf_ckpt_free(ck);
    if (st) {
        lqf_graph_free(g);
        return st;
    }
    if (info) *info = in;
    /* messages and `lqface info` name the checkpoint, not the ONNX base it was built from */
    char *src = strdup(path);
    if (src) {
        free(g->source);
        g->source = src;
    }
    return lqf_net_from_graph(g, 1, out);
}

int lqf_model_is_checkpoint(const char *path) {
    size_t n = path ? strlen(path) : 0;
    return n > 12 && !strcmp(path + n - 12, ".safetensors");
}

lqf_status lqf_net_load(const char *path, lqf_net **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_net_load: out is NULL");
    *out = NULL;
    if (!path) return lqf_fail(LQF_ERR_ARG, "lqf_net_load: path is NULL");
    return lqf_model_is_checkpoint(path) ? lqf_model_load_checkpoint(path, out, NULL) : lqf_net_load_onnx(path, out);
}
