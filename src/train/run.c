/*
 * run.c — the training run (run.h): the config key table and parser, building or importing
 * the network, the step (trainer forward -> margin head -> trainer backward -> clip ->
 * optimiser steps -> zero gradients), the epoch loop over the deterministic loader with
 * exact mid-epoch resume, ARoFace's adversarial warp through lqf_aro_augment, checkpoints
 * through checkpoint.h (names and PyTorch layout via lqf_backbone_get/set, which work on
 * any graph, imported ONNX networks included) and validation on a pair list in eval mode
 * with flip fusion. Pieces come from exec.h, backbone.h, net.h, heads.h, optim.h,
 * checkpoint.h, loader.h, augment.h and warp.h; nothing here re-implements them.
 */
#include "train/run.h"

#include "augment/quality.h"
#include "core/rng.h"
#include "core/text.h"
#include "augment/warp.h"
#include "data/loader.h"
#include "nn/backbone.h"
#include "nn/net.h"
#include "nn/exec.h"
#include "train/checkpoint.h"
#include "train/model.h"
#include "train/optim.h"
#include "train/qgface.h"
#include "train/resume.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ===================================================================== config table */
typedef enum { K_STR, K_INT, K_FLOAT, K_LONG, K_U64, K_DOUBLE, K_WIDTH } key_type;
typedef struct {
    const char *name;
    key_type type;
    size_t off, size;
    const char *help;
} key_def;

#define KS(f, h) {#f, K_STR, offsetof(lqf_train_config, f), sizeof(((lqf_train_config *)0)->f), h}
#define KI(f, h) {#f, K_INT, offsetof(lqf_train_config, f), 0, h}
#define KF(f, h) {#f, K_FLOAT, offsetof(lqf_train_config, f), 0, h}
#define KL(f, h) {#f, K_LONG, offsetof(lqf_train_config, f), 0, h}
#define KU(f, h) {#f, K_U64, offsetof(lqf_train_config, f), 0, h}
#define KD(f, h) {#f, K_DOUBLE, offsetof(lqf_train_config, f), 0, h}

static const key_def KEYS[] = {
    KS(data, "training data: image folder (identity/image), list file (path label) or .rec"),
    KS(data_root, "root of relative paths in a list file (default: the list's directory)"),
    KI(classes, "number of classes (0: from the data)"),
    KS(lfw_pairs, "LFW pairs.txt: with lfw_test_fold, train only on identities of the other folds"),
    KI(lfw_test_fold, "LFW fold (1-10) whose identities are held out of data (0: off)"),
    KS(augment, "augmentation preset: none | adaface | qgface-lq"),
    KS(aug_lowres, "low resolution over the preset: 'p,lo,hi' (side fraction, AdaFace 0.2,1)"),
    KS(aug_gblur, "Gaussian blur over the preset: 'p,lo,hi' (sigma, pixels)"),
    KS(aug_mblur, "motion blur over the preset: 'p,lo,hi' (length, odd pixels)"),
    KS(aug_noise, "additive Gaussian noise over the preset: 'p,lo,hi' (sigma, grey levels)"),
    KS(aug_jpeg, "JPEG re-encoding over the preset: 'p,lo,hi' (quality 1-100)"),
    KS(aug_jitter, "colour jitter over the preset: 'p[,brightness,contrast,saturation]'"),
    KS(aug_crop, "AdaFace crop over the preset: 'p[,scale_lo,scale_hi]'"),
    KS(aug_cross, "cross-resolution batches: 'share,r1[,r2...]' (pixels; share of every batch)"),
    KF(flip, "horizontal flip probability (negative: the preset's)"),
    KI(loader_threads, "decode/augment threads of the loader"),
    KS(arch, "iresnet18 | iresnet34 | iresnet50 | iresnet100 | iresnet200 | mobilefacenet"),
    KS(variant, "IResNet variant: insightface | adaface"),
    KS(init_onnx, "fine-tune this ONNX embedding network instead of building arch"),
    KS(onnx_bn, "BatchNorm of init_onnx: fold (into the convolutions before it) | train (kept, batch statistics)"),
    {"width", K_WIDTH, offsetof(lqf_train_config, width), 0, "IResNet stage widths a,b,c,d (reduced networks)"},
    KI(mfn_base, "MobileFaceNet base width (64)"),
    KI(mfn_sep, "MobileFaceNet conv_sep/GDC width (512)"),
    KI(input_size, "input side in pixels (multiple of 16)"),
    KI(emb, "embedding size"),
    KF(dropout, "head dropout (negative: the variant's default, insightface 0, adaface 0.4)"),
    KS(channel_order, "RGB | BGR"),
    KF(input_mean, "input normalisation: (pixel - mean) / std"),
    KF(input_std, "input normalisation: (pixel - mean) / std"),
    KS(head, "softmax | sphereface | cosface | arcface | arcface_st | combined | curricularface | adaface | magface"),
    KF(s, "head scale (negative: the head's default)"),
    KF(m, "head margin (negative: the head's default)"),
    KF(m1, "combined margin m1 (negative: default)"),
    KF(m2, "combined margin m2 (negative: default)"),
    KF(m3, "combined margin m3 (negative: default)"),
    KF(h, "AdaFace h (negative: default)"),
    KF(t_alpha, "AdaFace/CurricularFace EMA weight (negative: default)"),
    KS(optimizer, "sgd | adamw"),
    KF(lr, "base learning rate"),
    KF(momentum, "SGD momentum"),
    KF(weight_decay, "weight decay (SGD coupled, AdamW decoupled)"),
    KF(beta1, "AdamW beta1"),
    KF(beta2, "AdamW beta2"),
    KF(adam_eps, "AdamW epsilon"),
    KI(bn_decay, "1: weight decay on BatchNorm parameters too (insightface); 0: none (AdaFace)"),
    KS(schedule, "poly | multistep | cosine | constant"),
    KI(warmup_steps, "linear warm-up steps"),
    KF(warmup_factor, "warm-up start factor (multistep/cosine/constant)"),
    KF(power, "poly power"),
    KF(gamma, "multistep factor"),
    KF(eta_min, "cosine floor"),
    KS(milestones, "multistep milestones in epochs after warm-up, e.g. 12,20,24"),
    KF(clip_grad, "clip the backbone gradient norm to this (0: off)"),
    KF(head_lr_mult, "learning-rate multiplier of the head kernel (fine-tuning: a new head learns faster)"),
    KS(freeze, "comma-separated tensor-name prefixes not to train"),
    KI(epochs, "epochs"),
    KL(steps, "steps (0: epochs x batches per epoch)"),
    KI(batch, "batch size"),
    KI(threads, "compute threads (0: default)"),
    KU(seed, "seed of initialisation, shuffling, augmentation, dropout and ARoFace"),
    KD(max_seconds, "stop with a checkpoint after this many seconds (0: no bound)"),
    KS(ckpt_dir, "checkpoint and log directory (empty: none)"),
    KI(ckpt_every, "checkpoint every N steps (0: only at the end)"),
    KI(keep_last, "numbered checkpoints kept (0: all)"),
    KS(resume, "checkpoint to continue from (exactly); auto: the newest one in ckpt_dir that loads (a directory: there)"),
    KS(val_pairs, "validation pairs: LFW pairs.txt or `path path label` list"),
    KS(val_root, "root of the validation images"),
    KS(val_align, "validation images: none (aligned crops) | yunet (detect and align)"),
    KS(val_detector, "YuNet model for val_align = yunet"),
    KI(val_every, "validate every N steps (0: only at the end)"),
    KI(aroface, "1: ARoFace adversarial alignment-error augmentation"),
    KS(aro_preset, "ARoFace preset: reference | fixed"),
    KI(aro_k, "ARoFace ascent steps"),
    KF(aro_ratio, "ARoFace clean share of the mixed batch"),
    KS(quality, "AdaFace quality signal: norm (feature norm) | laplacian (log(1 + mean squared Laplacian) of the input)"),
    KI(quality_ema_init, "AdaFace EMA start: 1 the first batch's mean/std, 0 the 20/100 prior, -1 auto (1 for laplacian)"),
    KF(quality_gate, "AdaFace classifier quality gate qs (0: off; negative: qg_quality_scale when qgface, else off)"),
    KI(qgface, "1: QGFace: HQ (flip) + LQ (augment) views, gated classifier + contrastive branch over a queue"),
    KF(qg_quality_scale, "QGFace quality threshold qs: pairs with min((zhat+1)/2) < qs learn by contrast only"),
    KF(qg_weight, "QGFace weight w of the contrastive loss (L = L_cla + w L_con)"),
    KI(qg_queue, "QGFace queue size K (earlier embeddings used as negatives)"),
};
#define N_KEYS ((int)(sizeof KEYS / sizeof *KEYS))

void lqf_train_config_default(lqf_train_config *c) {
    memset(c, 0, sizeof *c);
    strcpy(c->augment, "none");
    c->flip = -1;
    c->loader_threads = 2;
    strcpy(c->arch, "iresnet50");
    strcpy(c->variant, "insightface");
    c->width[0] = 64, c->width[1] = 128, c->width[2] = 256, c->width[3] = 512;
    strcpy(c->onnx_bn, "fold");
    c->mfn_base = 64;
    c->mfn_sep = 512;
    c->input_size = 112;
    c->emb = 512;
    c->dropout = -1;
    strcpy(c->channel_order, "RGB");
    c->input_mean = 127.5f;
    c->input_std = 127.5f;
    strcpy(c->head, "arcface");
    c->s = c->m = c->m1 = c->m2 = c->m3 = c->h = c->t_alpha = -1;
    strcpy(c->optimizer, "sgd");
    c->lr = 0.1f;
    c->momentum = 0.9f;
    c->weight_decay = 5e-4f;
    c->beta1 = 0.9f, c->beta2 = 0.999f, c->adam_eps = 1e-8f;
    c->bn_decay = 0;
    c->head_lr_mult = 1;
    strcpy(c->schedule, "poly");
    c->warmup_factor = 1.0f / 3;
    c->power = 1;
    c->gamma = 0.1f;
    c->epochs = 1;
    c->batch = 64;
    c->seed = 2048;
    c->keep_last = 3;
    strcpy(c->val_align, "none");
    strcpy(c->aro_preset, "reference");
    c->aro_k = 1;
    c->aro_ratio = 0.75f;
    strcpy(c->quality, "norm");
    c->quality_ema_init = -1;
    c->quality_gate = -1;
    c->qg_quality_scale = 0.4f;
    c->qg_weight = 1.0f;
    c->qg_queue = 4096;
}

int lqf_train_config_n_keys(void) { return N_KEYS; }
const char *lqf_train_config_key(int i, const char **help) {
    if (i < 0 || i >= N_KEYS) return NULL;
    if (help) *help = KEYS[i].help;
    return KEYS[i].name;
}

static const key_def *find_key(const char *key) {
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].name, key)) return &KEYS[i];
    return NULL;
}

void lqf_train_config_get(const lqf_train_config *c, const char *key, char *buf, size_t len) {
    const key_def *k = find_key(key);
    const char *p = (const char *)c + (k ? k->off : 0);
    if (!k || !len) {
        if (len) buf[0] = 0;
        return;
    }
    switch (k->type) {
    case K_STR: snprintf(buf, len, "%s", p); break;
    case K_INT: snprintf(buf, len, "%d", *(const int *)p); break;
    case K_FLOAT: { /* the shortest text that reads back as the same float */
        float v = *(const float *)p;
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(buf, len, "%.*g", prec, v);
            if (strtof(buf, NULL) == v) break;
        }
        break;
    }
    case K_LONG: snprintf(buf, len, "%ld", *(const long *)p); break;
    case K_U64: snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    case K_DOUBLE: snprintf(buf, len, "%.17g", *(const double *)p); break;
    case K_WIDTH: {
        const int *w = (const int *)p;
        snprintf(buf, len, "%d,%d,%d,%d", w[0], w[1], w[2], w[3]);
        break;
    }
    }
}

lqf_status lqf_train_config_set(lqf_train_config *c, const char *key, const char *value) {
    const key_def *k = find_key(key);
    if (!k) return lqf_fail(LQF_ERR_ARG, "train config: unknown key '%s'", key);
    char *p = (char *)c + k->off, *end = NULL;
    errno = 0;
    switch (k->type) {
    case K_STR:
        if (strlen(value) >= k->size)
            return lqf_fail(LQF_ERR_ARG, "train config: %s: value longer than %zu characters", key, k->size - 1);
        strcpy(p, value);
        return LQF_OK;
    case K_INT: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < -2147483647L || v > 2147483647L) break;
        *(int *)p = (int)v;
        return LQF_OK;
    }
    case K_LONG: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno) break;
        *(long *)p = v;
        return LQF_OK;
    }
    case K_U64: {
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || errno || value[0] == '-') break;
        *(uint64_t *)p = v;
        return LQF_OK;
    }
    case K_FLOAT: case K_DOUBLE: {
        double v = strtod(value, &end);
        if (end == value || *end || isnan(v)) break;
        if (k->type == K_FLOAT) *(float *)p = (float)v;
        else *(double *)p = v;
        return LQF_OK;
    }
    case K_WIDTH: {
        int w[4];
        if (sscanf(value, "%d,%d,%d,%d", &w[0], &w[1], &w[2], &w[3]) != 4 || w[0] < 1 || w[1] < 1 || w[2] < 1 ||
            w[3] < 1)
            break;
        memcpy(p, w, sizeof w);
        return LQF_OK;
    }
    }
    return lqf_fail(LQF_ERR_ARG, "train config: %s: bad value '%s'", key, value);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

lqf_status lqf_train_config_parse(lqf_train_config *c, const char *text, size_t len, const char *name,
                                  int skip_unknown) {
    char line[4096];
    int ln = 0;
    for (size_t pos = 0; pos < len;) {
        const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl != NULL);
        ln++;
        if (n >= sizeof line) return lqf_fail(LQF_ERR_FORMAT, "%s:%d: line longer than %zu bytes", name, ln, sizeof line - 1);
        memcpy(line, start, n);
        line[n] = 0;
        char *h = strchr(line, '#');
        if (h) *h = 0;
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) return lqf_fail(LQF_ERR_FORMAT, "%s:%d: expected 'key = value'", name, ln);
        *eq = 0;
        const char *key = trim(s);
        if (skip_unknown && !find_key(key)) continue;
        lqf_status st = lqf_train_config_set(c, key, trim(eq + 1));
        if (st) return lqf_fail_context(st, "%s:%d", name, ln);
    }
    return LQF_OK;
}

lqf_status lqf_train_config_load(lqf_train_config *c, const char *path) {
    uint8_t *buf = NULL;
    size_t len = 0;
    lqf_status st = lqf_read_file(path, &buf, &len);
    if (st) return st;
    st = lqf_train_config_parse(c, (const char *)buf, len, path, 0);
    free(buf);
    return st;
}

/* ===================================================================== the run object */
struct lqf_train {
    lqf_train_config cfg;
    lqf_graph *g;
    int own_graph;
    lqf_exec *tr, *tr_mix;   /* batch B; ARoFace's mixed batch when it is not B */
    int in_t, out_t;            /* graph input and output tensors */
    int S, B, D, C;
    lqf_channel_order order;
    char arch[64], shortcut[32];
    lqf_head *head;
    float *W, *dW;              /* (D, C) */
    lqf_optim *opt, *hopt;
    lqf_lr_schedule sched;
    lqf_dataset *data;
    lqf_loader *loader;
    int bpe;                    /* batches per epoch */
    long total;                 /* steps to train */
    long step;                  /* steps done */
    int epoch;                  /* current epoch */
    int bie;                    /* batches of the current epoch consumed */
    int epoch_started;
    /* validation */
    int nval;                   /* unique images */
    uint8_t *val_img;           /* (nval, S, S, 3) */
    uint8_t *val_ok;
    int npairs;
    int *pair_a, *pair_b;
    uint8_t *issame;
    /* checkpoints kept */
    char **kept;
    int n_kept;
    char resume_note[2048];     /* resume = auto: where the run continues from (LQF_TRAIN_EV_RESUME) */
    /* ARoFace */
    lqf_aro_config aro;
    float *aro_out;
    int *aro_lab;
    const int *aro_cur_labels;
    double last_gnorm;          /* backbone gradient norm of the last step, before clipping */
    /* quality-guided training */
    int TB;                     /* the trainer's batch: 2B with QGFace, else B */
    int use_lap;                /* quality = laplacian */
    float *qual;                /* (TB) per-image quality */
    lqf_qgface *qg;             /* QGFace contrastive branch (qgface = 1) */
    float *qg_grad;             /* (2B, D) dL_con/demb */
    int32_t *lab2;              /* (2B) */
};

lqf_graph *lqf_train_graph(lqf_train *t) { return t->g; }
float *lqf_train_head_kernel(lqf_train *t) { return t->W; }
lqf_head *lqf_train_head(lqf_train *t) { return t->head; }
int lqf_train_classes(const lqf_train *t) { return t->C; }
long lqf_train_steps_done(const lqf_train *t) { return t->step; }

void lqf_train_free(lqf_train *t) {
    if (!t) return;
    lqf_loader_free(t->loader);
    lqf_dataset_free(t->data);
    lqf_exec_free(t->tr);
    lqf_exec_free(t->tr_mix);
    lqf_head_free(t->head);
    lqf_optim_free(t->opt);
    lqf_optim_free(t->hopt);
    lqf_free(t->W);
    lqf_free(t->dW);
    if (t->own_graph) lqf_graph_free(t->g);
    free(t->val_img);
    free(t->val_ok);
    free(t->pair_a);
    free(t->pair_b);
    free(t->issame);
    for (int i = 0; i < t->n_kept; i++) free(t->kept[i]);
    free(t->kept);
    lqf_free(t->aro_out);
    free(t->aro_lab);
    lqf_free(t->qual);
    lqf_qgface_free(t->qg);
    lqf_free(t->qg_grad);
    free(t->lab2);
    free(t);
}

/* ---------------------------------------------------------------- network */
static lqf_status build_network(lqf_train *t) {
    const lqf_train_config *c = &t->cfg;
    lqf_status st = lqf_model_build(c, &t->g, t->arch, t->shortcut);
    if (st) return st;
    t->own_graph = 1;
    lqf_graph *g = t->g;
    if (g->n_inputs != 1 || g->n_outputs < 1)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: need one input and an embedding output", t->arch);
    t->in_t = g->inputs[0];
    t->out_t = g->outputs[0];
    const lqf_tensor *ti = &g->tensors[t->in_t], *to = &g->tensors[t->out_t];
    if (ti->ndim != 4 || ti->dims[1] != 3 || ti->dims[2] != c->input_size || ti->dims[3] != c->input_size)
        return lqf_fail(LQF_ERR_SHAPE, "%s: input is not 3 x %d x %d", t->arch, c->input_size, c->input_size);
    if (to->ndim != 2) return lqf_fail(LQF_ERR_SHAPE, "%s: output is not (N, embedding)", t->arch);
    t->D = (int)to->dims[1];
    return LQF_OK;
}

/* Is tensor ti a BatchNorm scale or shift? */
static int is_bn_param(const lqf_graph *g, int ti) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == LQF_OP_BATCHNORM && (g->nodes[i].in[1] == ti || g->nodes[i].in[2] == ti)) return 1;
    return 0;
}

static lqf_status make_optimisers(lqf_train *t) {
    const lqf_train_config *c = &t->cfg;
    lqf_graph *g = t->g;
    lqf_optim_config oc;
    if (!strcmp(c->optimizer, "sgd")) {
        lqf_optim_config_default(&oc, LQF_OPT_SGD);
        oc.momentum = c->momentum;
    } else if (!strcmp(c->optimizer, "adamw")) {
        lqf_optim_config_default(&oc, LQF_OPT_ADAMW);
        oc.beta1 = c->beta1, oc.beta2 = c->beta2, oc.eps = c->adam_eps;
    } else
        return lqf_fail(LQF_ERR_ARG, "train config: optimizer '%s' is not sgd or adamw", c->optimizer);
    /* groups: one range per trainable tensor, merged when adjacent with the same decay */
    lqf_param_group *gr = calloc((size_t)g->n_tensors + 1, sizeof *gr);
    int *order = malloc(((size_t)g->n_tensors + 1) * sizeof *order);
    if (!gr || !order) {
        free(gr), free(order);
        return lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
    }
    int n = 0;
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].kind == LQF_T_PARAM && !lqf_exec_frozen(t->tr, i)) order[n++] = i;
    /* sort by offset (insertion sort: tensors are nearly in order) */
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && g->tensors[order[j]].offset > g->tensors[v].offset) order[j + 1] = order[j], j--;
        order[j + 1] = v;
    }
    int ng = 0;
    for (int k = 0; k < n; k++) {
        const lqf_tensor *T = &g->tensors[order[k]];
        size_t b = T->offset, e = b + (size_t)lqf_tensor_numel(T);
        float wd = (!c->bn_decay && is_bn_param(g, order[k])) ? 0.0f : c->weight_decay;
        if (ng && gr[ng - 1].end == b && gr[ng - 1].weight_decay == wd) gr[ng - 1].end = e;
        else gr[ng++] = (lqf_param_group){b, e, wd, 1.0f};
    }
    free(order);
    lqf_status st = lqf_optim_create(&oc, g->n_params, gr, ng, &t->opt);
    free(gr);
    if (st) return st;
    if (!(c->head_lr_mult >= 0)) return lqf_fail(LQF_ERR_ARG, "train config: head_lr_mult must be >= 0");
    lqf_param_group hg = {0, (size_t)t->D * t->C, c->weight_decay, c->head_lr_mult};
    return lqf_optim_create(&oc, hg.end, &hg, 1, &t->hopt);
}

static lqf_status make_schedule(lqf_train *t) {
    const lqf_train_config *c = &t->cfg;
    lqf_lr_kind kind;
    if (!strcmp(c->schedule, "poly")) kind = LQF_LR_POLY;
    else if (!strcmp(c->schedule, "multistep")) kind = LQF_LR_MULTISTEP;
    else if (!strcmp(c->schedule, "cosine")) kind = LQF_LR_COSINE;
    else if (!strcmp(c->schedule, "constant")) kind = LQF_LR_CONSTANT;
    else return lqf_fail(LQF_ERR_ARG, "train config: schedule '%s' is not poly, multistep, cosine or constant", c->schedule);
    lqf_lr_schedule_default(&t->sched, kind, c->lr, t->total);
    t->sched.warmup_steps = c->warmup_steps;
    t->sched.warmup_start_factor = c->warmup_factor;
    t->sched.power = c->power;
    t->sched.gamma = c->gamma;
    t->sched.eta_min = c->eta_min;
    if (kind == LQF_LR_MULTISTEP && c->milestones[0]) {
        const char *p = c->milestones;
        while (*p) {
            char *end;
            long e = strtol(p, &end, 10);
            if (end == p || e < 0 || t->sched.n_milestones >= LQF_LR_MAX_MILESTONES)
                return lqf_fail(LQF_ERR_ARG, "train config: milestones: bad list '%s'", c->milestones);
            t->sched.milestones[t->sched.n_milestones++] = (int64_t)e * LQF_MAX(t->bpe, 1);
            p = end;
            if (*p == ',') p++;
        }
    }
    return lqf_lr_schedule_check(&t->sched);
}

static lqf_status make_head(lqf_train *t) {
    const lqf_train_config *c = &t->cfg;
    int type = lqf_head_type_from_name(c->head);
    if (type < 0) return lqf_fail(LQF_ERR_ARG, "train config: unknown head '%s'", c->head);
    lqf_head_config hc;
    lqf_head_config_default(&hc, (lqf_head_type)type, t->D, t->C);
    if (c->s >= 0) hc.s = c->s;
    if (c->m >= 0) hc.m = c->m;
    if (c->m1 >= 0) hc.m1 = c->m1;
    if (c->m2 >= 0) hc.m2 = c->m2;
    if (c->m3 >= 0) hc.m3 = c->m3;
    if (c->h >= 0) hc.h = c->h;
    if (c->t_alpha >= 0) hc.t_alpha = c->t_alpha;
    if (strcmp(c->quality, "norm") && strcmp(c->quality, "laplacian"))
        return lqf_fail(LQF_ERR_ARG, "train config: quality '%s' is not norm or laplacian", c->quality);
    t->use_lap = !strcmp(c->quality, "laplacian");
    hc.ema_init_batch = c->quality_ema_init >= 0 ? c->quality_ema_init != 0 : t->use_lap;
    hc.quality_gate = c->quality_gate >= 0 ? c->quality_gate : (c->qgface ? c->qg_quality_scale : 0.0f);
    if (type != LQF_HEAD_ADAFACE && (t->use_lap || hc.quality_gate > 0 || c->qgface))
        return lqf_fail(LQF_ERR_ARG, "train config: quality = laplacian, quality_gate and qgface need head = adaface "
                        "(the head is %s)", c->head);
    /* the class count comes from the data (a list's largest label, a pack's meta record) */
    size_t n = (size_t)t->D * t->C;
    lqf_status st = lqf_check_alloc(lqf_mul_sat(n, 4 * sizeof(float)), c->data[0] ? c->data : "train config",
                                    "the head kernel (embedding x classes, with gradient and optimiser state)");
    if (!st) st = lqf_head_create(&hc, &t->head);
    if (st) return st;
    t->W = lqf_alloc(n * sizeof(float));
    t->dW = lqf_alloc(n * sizeof(float));
    if (!t->W || !t->dW) return lqf_fail(LQF_ERR_NOMEM, "train: out of memory for the head (%zu floats)", n);
    /* AdaFace's kernel init: uniform(-1,1) then unit columns (seeded) */
    lqf_rng rng;
    lqf_rng_seed(&rng, lqf_mix64(c->seed ^ 0x4845414400000000ull));
    for (size_t i = 0; i < n; i++) t->W[i] = (float)(2 * lqf_rng_uniform(&rng) - 1);
    for (int j = 0; j < t->C; j++) {
        double s = 0;
        for (int d = 0; d < t->D; d++) s += (double)t->W[(size_t)d * t->C + j] * t->W[(size_t)d * t->C + j];
        float inv = (float)(1 / sqrt(s > 0 ? s : 1));
        for (int d = 0; d < t->D; d++) t->W[(size_t)d * t->C + j] *= inv;
    }
    return LQF_OK;
}

/* Quality buffers and QGFace's contrastive branch (after make_head). */
static lqf_status make_qgface(lqf_train *t) {
    const lqf_train_config *c = &t->cfg;
    if (t->use_lap && !(t->qual = lqf_alloc((size_t)t->TB * sizeof(float))))
        return lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
    if (!c->qgface) return LQF_OK;
    if (!(c->qg_weight >= 0)) return lqf_fail(LQF_ERR_ARG, "train config: qg_weight must be >= 0");
    lqf_qg_config qc;
    lqf_qg_config_default(&qc, t->D);
    qc.queue_size = c->qg_queue;
    qc.quality_scale = c->qg_quality_scale;
    qc.s = t->head->cfg.s;
    lqf_status st = lqf_qgface_create(&qc, &t->qg);
    if (st) return lqf_fail_context(st, "train config: qgface");
    t->qg_grad = lqf_alloc((size_t)2 * t->B * t->D * sizeof(float));
    t->lab2 = malloc((size_t)2 * t->B * sizeof(int32_t));
    if (!t->qg_grad || !t->lab2) return lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
    return LQF_OK;
}

/* ---------------------------------------------------------------- validation data */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static lqf_status load_validation(lqf_train *t) {
    const lqf_train_config *c = &t->cfg;
    lqf_pair_list *pl = NULL;
    const char *root = c->val_root[0] ? c->val_root : NULL;
    FILE *f = fopen(c->val_pairs, "r");
    if (!f) return lqf_fail(LQF_ERR_IO, "%s: cannot open: %s", c->val_pairs, strerror(errno));
    char first[256] = "";
    if (!fgets(first, sizeof first, f)) first[0] = 0;
    fclose(f);
    int a, b, lfw = sscanf(first, "%d %d", &a, &b) >= 1 && !strchr(first, '/') && !strchr(first, '.');
    lqf_status st = lfw ? lqf_pairs_load_lfw(c->val_pairs, root, &pl) : lqf_pairs_load_list(c->val_pairs, root, &pl);
    if (st) return st;
    int n = pl->n;
    char **u = malloc(2 * (size_t)n * sizeof *u);
    t->pair_a = malloc((size_t)n * sizeof(int));
    t->pair_b = malloc((size_t)n * sizeof(int));
    t->issame = malloc((size_t)n);
    if (!u || !t->pair_a || !t->pair_b || !t->issame) {
        free(u);
        lqf_pair_list_free(pl);
        return lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
    }
    for (int i = 0; i < n; i++) u[2 * i] = pl->path_a[i], u[2 * i + 1] = pl->path_b[i];
    qsort(u, 2 * (size_t)n, sizeof *u, cmp_str);
    int nu = 0;
    for (int i = 0; i < 2 * n; i++)
        if (!nu || strcmp(u[nu - 1], u[i])) u[nu++] = u[i];
    for (int i = 0; i < n; i++) {
        char **pa = bsearch(&pl->path_a[i], u, nu, sizeof *u, cmp_str);
        char **pb = bsearch(&pl->path_b[i], u, nu, sizeof *u, cmp_str);
        t->pair_a[i] = (int)(pa - u);
        t->pair_b[i] = (int)(pb - u);
        t->issame[i] = pl->issame[i];
    }
    t->npairs = n;
    t->nval = nu;
    size_t isz = (size_t)t->S * t->S * 3;
    t->val_img = calloc((size_t)nu, isz);
    t->val_ok = calloc((size_t)nu, 1);
    if (!t->val_img || !t->val_ok) {
        free(u);
        lqf_pair_list_free(pl);
        return lqf_fail(LQF_ERR_NOMEM, "train: out of memory for %d validation images", nu);
    }
    lqf_face_set *fs = NULL;
    lqf_detector *det = NULL;
    if (!strcmp(c->val_align, "yunet")) {
        if (!c->val_detector[0]) st = lqf_fail(LQF_ERR_ARG, "train config: val_align = yunet needs val_detector");
        else st = lqf_detector_load(c->val_detector, NULL, &det);
        if (!st) st = lqf_face_set_from_paths((const char *const *)u, nu, det, LQF_PICK_CENTER, 112, &fs, NULL, NULL);
    } else if (strcmp(c->val_align, "none"))
        st = lqf_fail(LQF_ERR_ARG, "train config: val_align '%s' is not none or yunet", c->val_align);
    for (int i = 0; !st && i < nu; i++) {
        lqf_image *img = NULL;
        lqf_status s2 = fs ? lqf_face_set_render(fs, i, NULL, 0, &img) : lqf_image_load(u[i], t->order, &img);
        if (s2) continue; /* failed photos embed as zero vectors (pairs count as wrong) */
        lqf_image_set_order(img, t->order);
        uint8_t *dst = t->val_img + (size_t)i * isz;
        if (img->width == t->S && img->height == t->S) memcpy(dst, img->data, isz);
        else lqf_resize_bilinear(img->data, img->width, img->height, dst, t->S, t->S);
        t->val_ok[i] = 1;
        lqf_image_free(img);
    }
    lqf_face_set_free(fs);
    lqf_detector_free(det);
    free(u);
    lqf_pair_list_free(pl);
    return st;
}

/* ---------------------------------------------------------------- open */
static lqf_status apply_freeze(lqf_train *t, lqf_exec *tr) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", t->cfg.freeze);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *p = trim(tok);
        if (*p && lqf_exec_freeze(tr, p, 1) < 0)
            return lqf_fail(LQF_ERR_ARG, "train config: freeze: no parameter name starts with '%s'", p);
    }
    return LQF_OK;
}

static lqf_status restore(lqf_train *t, const char *path);

/* data = a folder of identities restricted to the LFW training identities of the split
 * (identities of folds other than lfw_test_fold, minus those of that fold); identities with
 * no folder under data (e.g. every photo failed alignment) are left out. */
/* One "p,lo,hi" override: p in [0,1], lo <= hi within [min, max]; n_min values at least. */
static lqf_status aug_range(const char *key, const char *txt, int n_min, double min, double max, float *p, double *lo,
                            double *hi) {
    double v[4];
    int n = lqf_parse_numbers(txt, v, 4);
    if (n < n_min || n > 3 || !(v[0] >= 0 && v[0] <= 1) ||
        (n == 3 && !(v[1] >= min && v[1] <= v[2] && v[2] <= max)) || n == 2)
        return lqf_fail(LQF_ERR_ARG, "train config: %s '%s' is not 'p,lo,hi' with p in [0,1] and %g <= lo <= hi <= %g",
                        key, txt, min, max);
    *p = (float)v[0];
    if (n == 3) *lo = v[1], *hi = v[2];
    return LQF_OK;
}

lqf_status lqf_train_augment_config(const lqf_train_config *c, lqf_augment_config *a) {
    if (!strcmp(c->augment, "none")) lqf_augment_preset_none(a);
    else if (!strcmp(c->augment, "adaface")) lqf_augment_preset_adaface(a);
    else if (!strcmp(c->augment, "qgface-lq")) lqf_augment_preset_qgface_lq(a);
    else return lqf_fail(LQF_ERR_ARG, "train config: augment '%s' is not none, adaface or qgface-lq", c->augment);
    if (c->flip >= 0) a->p_flip = c->flip;
    lqf_status st = LQF_OK;
    double lo, hi;
#define RANGE(key, nmin, mn, mx, pf, flo, fhi, cast)                                  \
    if (!st && c->key[0]) {                                                           \
        lo = a->flo, hi = a->fhi;                                                     \
        st = aug_range(#key, c->key, nmin, mn, mx, &a->pf, &lo, &hi);                 \
        a->flo = (cast)lo, a->fhi = (cast)hi;                                         \
    }
    RANGE(aug_lowres, 3, 0.01, 1.0, p_lowres, lowres_lo, lowres_hi, float)
    RANGE(aug_gblur, 3, 0.1, 20.0, p_gblur, gblur_lo, gblur_hi, float)
    RANGE(aug_mblur, 3, 1, 31, p_mblur, mblur_lo, mblur_hi, int)
    RANGE(aug_noise, 3, 0.0, 100.0, p_noise, noise_lo, noise_hi, float)
    RANGE(aug_jpeg, 3, 1, 100, p_jpeg, jpeg_lo, jpeg_hi, int)
    RANGE(aug_crop, 1, 0.01, 1.0, p_crop, crop_scale_lo, crop_scale_hi, float)
#undef RANGE
    if (!st && c->aug_jitter[0]) {
        double v[4];
        int n = lqf_parse_numbers(c->aug_jitter, v, 4);
        if (!(n == 1 || n == 4) || !(v[0] >= 0 && v[0] <= 1) || (n == 4 && !(v[1] >= 0 && v[2] >= 0 && v[3] >= 0)))
            st = lqf_fail(LQF_ERR_ARG, "train config: aug_jitter '%s' is not 'p[,brightness,contrast,saturation]'",
                          c->aug_jitter);
        else {
            a->p_jitter = (float)v[0];
            if (n == 4) a->brightness = (float)v[1], a->contrast = (float)v[2], a->saturation = (float)v[3];
        }
    }
    if (!st && c->aug_cross[0]) {
        double v[9];
        int n = lqf_parse_numbers(c->aug_cross, v, 9);
        int ok = n >= 2 && v[0] >= 0 && v[0] <= 1;
        for (int i = 1; ok && i < n; i++) ok = v[i] >= 1 && v[i] <= 4096 && v[i] == (int)v[i];
        if (!ok)
            st = lqf_fail(LQF_ERR_ARG, "train config: aug_cross '%s' is not 'share,r1[,r2...]' (share in [0,1], up "
                          "to 8 integer sizes in pixels)", c->aug_cross);
        else {
            a->cross_share = (float)v[0];
            a->n_cross = n - 1;
            for (int i = 1; i < n; i++) a->cross_res[i - 1] = (int)v[i];
        }
    }
    return st;
}

static lqf_status open_lfw_subset(const lqf_train_config *c, lqf_dataset **out) {
    if (!c->lfw_pairs[0]) return lqf_fail(LQF_ERR_ARG, "train config: lfw_test_fold needs lfw_pairs");
    lqf_name_list tr = {0, NULL};
    lqf_status st = lqf_lfw_identity_split(c->lfw_pairs, c->lfw_test_fold, &tr, NULL);
    if (st) return st;
    const char **keep = malloc((size_t)(tr.n ? tr.n : 1) * sizeof *keep);
    int n = 0;
    if (!keep) st = lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
    for (int i = 0; !st && i < tr.n; i++) {
        char p[LQF_TRAIN_PATH * 2];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", c->data, tr.names[i]);
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) keep[n++] = tr.names[i];
    }
    if (!st && !n) st = lqf_fail(LQF_ERR_ARG, "%s: none of the %d training identities of the LFW split is a folder here", c->data, tr.n);
    if (!st) st = lqf_dataset_open_folder_subset(c->data, keep, n, out);
    free(keep);
    lqf_name_list_free(&tr);
    return st;
}

lqf_status lqf_train_open(const lqf_train_config *c, lqf_train **out) {
    *out = NULL;
    lqf_train *t = calloc(1, sizeof *t);
    if (!t) return lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
    t->cfg = *c;
    lqf_status st = LQF_OK;
    if (c->threads > 0) lqf_set_num_threads(c->threads);
    t->S = c->input_size;
    t->B = c->batch;
    if (t->B < 1 || t->S < 16 || t->S % 16)
        st = lqf_fail(LQF_ERR_ARG, "train config: batch must be >= 1 and input_size a multiple of 16");
    if (!st) {
        if (!strcmp(c->channel_order, "RGB")) t->order = LQF_RGB;
        else if (!strcmp(c->channel_order, "BGR")) t->order = LQF_BGR;
        else st = lqf_fail(LQF_ERR_ARG, "train config: channel_order '%s' is not RGB or BGR", c->channel_order);
    }
    if (!st && !(c->input_std > 0)) st = lqf_fail(LQF_ERR_ARG, "train config: input_std must be positive");
    if (!st) st = build_network(t);
    if (!st && c->data[0] && c->lfw_test_fold > 0)
        st = open_lfw_subset(c, &t->data);
    else if (!st && c->data[0])
        st = c->data_root[0] ? lqf_dataset_open_list(c->data, c->data_root, &t->data) : lqf_dataset_open(c->data, &t->data);
    if (!st) {
        t->C = c->classes > 0 ? c->classes : (t->data ? lqf_dataset_num_classes(t->data) : 0);
        if (t->C < 1) st = lqf_fail(LQF_ERR_ARG, "train config: no classes (set data or classes)");
    }
    if (!st && t->data) {
        lqf_loader_options lo;
        lqf_loader_options_default(&lo);
        lo.batch_size = t->B;
        lo.drop_last = 1;
        lo.seed = c->seed;
        lo.n_threads = LQF_MAX(1, c->loader_threads);
        lo.width = lo.height = t->S;
        lo.order = t->order;
        for (int k = 0; k < 3; k++) lo.mean[k] = c->input_mean, lo.std[k] = c->input_std;
        lo.bad = LQF_BAD_REPLACE;
        st = lqf_train_augment_config(c, &lo.augment);
        if (c->qgface) { /* QGFace: the LQ view from `augment`, the HQ view flip only */
            lo.two_views = 1;
            if (c->flip >= 0) lo.augment_hq.p_flip = c->flip;
        }
        if (!st) st = lqf_loader_create(t->data, &lo, &t->loader);
        if (!st) {
            t->bpe = lqf_loader_num_batches(t->loader);
            if (t->bpe < 1)
                st = lqf_fail(LQF_ERR_ARG, "%s: %zu images make no full batch of %d", c->data,
                              lqf_dataset_count(t->data), t->B);
        }
    }
    if (!st) {
        t->total = c->steps > 0 ? c->steps : (long)c->epochs * t->bpe;
        t->TB = c->qgface ? 2 * t->B : t->B;
        if (c->aroface && (c->qgface || !strcmp(c->quality, "laplacian")))
            st = lqf_fail(LQF_ERR_ARG, "train config: aroface cannot be combined with qgface or quality = laplacian");
        if (!st) st = lqf_exec_create(t->g, t->TB, LQF_EXEC_TRAIN, &t->tr);
    }
    if (!st) st = apply_freeze(t, t->tr);
    if (!st) st = make_head(t);
    if (!st) st = make_optimisers(t);
    if (!st) st = make_schedule(t);
    if (!st && c->aroface) {
        if (!strcmp(c->aro_preset, "reference")) lqf_aro_config_preset(&t->aro, LQF_ARO_PRESET_REFERENCE);
        else if (!strcmp(c->aro_preset, "fixed")) lqf_aro_config_preset(&t->aro, LQF_ARO_PRESET_FIXED);
        else st = lqf_fail(LQF_ERR_ARG, "train config: aro_preset '%s' is not reference or fixed", c->aro_preset);
        t->aro.k = c->aro_k;
        t->aro.ratio = c->aro_ratio;
        if (!st) st = lqf_aro_config_check(&t->aro);
        if (!st) {
            t->aro_out = lqf_alloc((size_t)t->B * t->S * t->S * 3 * sizeof(float));
            t->aro_lab = malloc((size_t)t->B * sizeof(int));
            if (!t->aro_out || !t->aro_lab) st = lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
        }
    }
    if (!st) st = make_qgface(t);
    if (!st && c->val_pairs[0]) st = load_validation(t);
    if (!st && c->resume[0]) st = restore(t, c->resume);
    if (st) {
        lqf_train_free(t);
        return st;
    }
    *out = t;
    return LQF_OK;
}

/* ---------------------------------------------------------------- one step */
static lqf_status head_nan(lqf_train *t) {
    return lqf_fail(LQF_ERR_NUMERIC, "NaN loss at step %ld (the last checkpoint is left as it was)", t->step + 1);
}

/* ARoFace's loss gradient w.r.t. the warped batch: forward, head, backward; no update. */
lqf_status lqf_train_input_grad(lqf_train *t, const float *x, const int *labels, int n, float *dx, double *loss) {
    if (n != t->B) return lqf_fail(LQF_ERR_ARG, "train: input gradient of %d images, the trainer holds %d", n, t->B);
    size_t nx = (size_t)n * t->S * t->S * 3;
    memcpy(lqf_exec_buffer(t->tr, t->in_t), x, nx * sizeof(float));
    lqf_exec_set_input_grad(t->tr, 1);
    lqf_status st = lqf_exec_forward(t->tr);
    lqf_head_result hr;
    if (!st)
        st = lqf_head_forward_backward(t->head, n, lqf_exec_buffer(t->tr, t->out_t), t->W, NULL,
                                       (const int32_t *)labels, &hr, lqf_exec_grad(t->tr, t->out_t), NULL, NULL,
                                       NULL);
    if (st == LQF_ERR_NUMERIC) st = head_nan(t);
    if (!st) st = lqf_exec_backward(t->tr);
    if (!st) memcpy(dx, lqf_exec_grad(t->tr, t->in_t), nx * sizeof(float));
    if (!st && loss) *loss = hr.loss;
    lqf_exec_set_input_grad(t->tr, 0);
    lqf_exec_zero_grad(t->tr);
    return st;
}

/* lqf_aro_grad_fn: the training loss's gradient at the warped batch, labels of the step */
static lqf_status aro_grad(void *ctx, int n, const float *warped, float *dwarped) {
    lqf_train *t = ctx;
    return lqf_train_input_grad(t, warped, t->aro_cur_labels, n, dwarped, NULL);
}

lqf_status lqf_train_step(lqf_train *t, const float *x, const int *labels, int n, lqf_head_result *res) {
    return lqf_train_step_views(t, x, NULL, labels, n, res);
}

/* Classifier (+ QGFace contrastive) loss and dL/demb on the trainer's forward output: n rows
 * of labels lab (QGFace: 2B rows [HQ; LQ], lab the B labels). */
static lqf_status head_step(lqf_train *t, lqf_exec *tr, int n, const int *lab, lqf_head_result *hr) {
    const float *emb = lqf_exec_buffer(tr, t->out_t);
    float *demb = lqf_exec_grad(tr, t->out_t);
    const int32_t *hl = (const int32_t *)lab;
    lqf_status st;
    if (t->use_lap) {
        const float mean[3] = {t->cfg.input_mean, t->cfg.input_mean, t->cfg.input_mean};
        const float sd[3] = {t->cfg.input_std, t->cfg.input_std, t->cfg.input_std};
        st = lqf_laplacian_quality_batch(lqf_exec_buffer(tr, t->in_t), n, t->S, t->S, t->order, mean, sd, t->qual);
        if (st) return st;
    }
    if (t->qg) {
        const int B = t->B;
        for (int i = 0; i < B; i++) t->lab2[i] = t->lab2[B + i] = lab[i];
        hl = t->lab2;
    }
    st = lqf_head_forward_backward_q(t->head, n, emb, t->W, NULL, hl, t->use_lap ? t->qual : NULL, hr, demb, t->dW,
                                     NULL, NULL);
    if (st || !t->qg) return st;
    /* QGFace: the batch's 2B embeddings enter the queue, then k = HQ rows, q = LQ rows */
    const int B = t->B;
    const size_t D = (size_t)t->D;
    lqf_qg_result cr;
    st = lqf_qgface_enqueue(t->qg, 2 * B, emb, t->lab2);
    if (!st)
        st = lqf_qgface_forward_backward(t->qg, B, emb + B * D, emb, (const int32_t *)lab, t->head->zhat + B,
                                         t->head->zhat, &cr, t->qg_grad + B * D, t->qg_grad);
    if (st) return st;
    const float w = t->cfg.qg_weight;
    for (size_t i = 0; i < 2 * B * D; i++) demb[i] += w * t->qg_grad[i];
    hr->loss += w * cr.loss;
    return LQF_OK;
}

lqf_status lqf_train_step_views(lqf_train *t, const float *x, const float *x_hq, const int *labels, int n,
                                lqf_head_result *res) {
    if (n != t->B) return lqf_fail(LQF_ERR_SHAPE, "train: batch of %d, the run is configured for %d", n, t->B);
    if (t->qg && !x_hq) return lqf_fail(LQF_ERR_ARG, "train: qgface needs the HQ view of the batch (lqf_train_step_views)");
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= t->C)
            return lqf_fail(LQF_ERR_FORMAT, "train: label %d of sample %d is out of range [0, %d)", labels[i], i, t->C);
    lqf_status st;
    lqf_exec *tr = t->tr;
    const float *xin = x;
    const int *lab = labels;
    lqf_exec_set_training(tr, 1);
    if (t->cfg.aroface) {
        lqf_rng rng;
        lqf_rng_seed(&rng, lqf_mix64(t->cfg.seed ^ lqf_mix64((uint64_t)t->step + 0x41524f00ull)));
        int n_out = 0;
        t->aro_cur_labels = labels;
        st = lqf_aro_augment(&t->aro, n, t->S, t->S, 3, x, labels, &rng, aro_grad, t, t->aro_out, t->aro_lab, &n_out,
                             NULL);
        if (st) return st;
        xin = t->aro_out;
        lab = t->aro_lab;
        n = n_out;
        if (n != t->B) {
            if (!t->tr_mix) {
                if ((st = lqf_exec_create(t->g, n, LQF_EXEC_TRAIN, &t->tr_mix))) return st;
                if ((st = apply_freeze(t, t->tr_mix))) return st;
            }
            tr = t->tr_mix;
            lqf_exec_set_training(tr, 1);
        }
    }
    size_t nx = (size_t)n * t->S * t->S * 3;
    float *in = lqf_exec_buffer(tr, t->in_t);
    if (t->qg) { /* [HQ; LQ] as QGFace's framework.py cat(images[:, 1], images[:, 0]) */
        memcpy(in, x_hq, nx * sizeof(float));
        in += nx;
    }
    memcpy(in, xin, nx * sizeof(float));
    lqf_exec_set_seed(tr, lqf_mix64(t->cfg.seed ^ lqf_mix64((uint64_t)t->step)));
    if ((st = lqf_exec_forward(tr))) return st;
    lqf_head_result hr;
    st = head_step(t, tr, t->qg ? 2 * n : n, lab, &hr);
    if (st == LQF_ERR_NUMERIC) return head_nan(t);
    if (st) return st;
    if (!isfinite(hr.loss)) return head_nan(t);
    if ((st = lqf_exec_backward(tr))) return st;
    float *grads = lqf_exec_grads(tr);
    double gn = t->cfg.clip_grad > 0 ? lqf_clip_grad_norm(grads, t->g->n_params, t->cfg.clip_grad)
                                      : lqf_grad_norm(grads, t->g->n_params);
    t->last_gnorm = gn;
    if (!isfinite(gn)) {
        lqf_exec_zero_grad(tr);
        return head_nan(t);
    }
    float lr = (float)lqf_lr_at(&t->sched, t->step);
    if (!st) st = lqf_optim_step(t->opt, t->g->params, grads, lr);
    if (!st) st = lqf_optim_step(t->hopt, t->W, t->dW, lr);
    lqf_exec_zero_grad(tr);
    if (st) return st;
    t->step++;
    if (res) *res = hr;
    return LQF_OK;
}

/* ---------------------------------------------------------------- embedding, validation */
lqf_status lqf_train_embed(lqf_train *t, const float *x, int n, float *emb) {
    size_t isz = (size_t)t->S * t->S * 3;
    lqf_exec_set_training(t->tr, 0);
    lqf_status st = LQF_OK;
    float *in = lqf_exec_buffer(t->tr, t->in_t);
    for (int b0 = 0; b0 < n && !st; b0 += t->TB) {
        int m = LQF_MIN(t->TB, n - b0);
        memcpy(in, x + (size_t)b0 * isz, (size_t)m * isz * sizeof(float));
        if (m < t->TB) memset(in + (size_t)m * isz, 0, (size_t)(t->TB - m) * isz * sizeof(float));
        st = lqf_exec_forward(t->tr);
        if (!st) memcpy(emb + (size_t)b0 * t->D, lqf_exec_buffer(t->tr, t->out_t), (size_t)m * t->D * sizeof(float));
    }
    lqf_exec_set_training(t->tr, 1);
    return st;
}

lqf_status lqf_train_validate(lqf_train *t, double *acc, double *std, double *thr, int *n_pairs) {
    if (!t->npairs) return lqf_fail(LQF_ERR_ARG, "train: no validation pairs configured");
    size_t isz = (size_t)t->S * t->S * 3;
    int B = t->B;
    float *x = lqf_alloc((size_t)B * isz * sizeof(float));
    float *e = malloc((size_t)t->nval * t->D * sizeof(float));
    float *ef = malloc((size_t)B * t->D * sizeof(float));
    double *dist = malloc((size_t)t->npairs * sizeof(double));
    float *ea = malloc((size_t)t->npairs * t->D * sizeof(float)), *eb = malloc((size_t)t->npairs * t->D * sizeof(float));
    lqf_status st = LQF_OK;
    if (!x || !e || !ef || !dist || !ea || !eb) st = lqf_fail(LQF_ERR_NOMEM, "train: out of memory for validation");
    const float mean = t->cfg.input_mean, inv = 1.0f / t->cfg.input_std;
    for (int b0 = 0; !st && b0 < t->nval; b0 += B) {
        int m = LQF_MIN(B, t->nval - b0);
        for (int flip = 0; flip < 2 && !st; flip++) {
            for (int i = 0; i < m; i++) {
                const uint8_t *src = t->val_img + (size_t)(b0 + i) * isz;
                float *dst = x + (size_t)i * isz;
                for (int r = 0; r < t->S; r++)
                    for (int cx = 0; cx < t->S; cx++) {
                        const uint8_t *p = src + ((size_t)r * t->S + (flip ? t->S - 1 - cx : cx)) * 3;
                        float *q = dst + ((size_t)r * t->S + cx) * 3;
                        for (int k = 0; k < 3; k++) q[k] = (p[k] - mean) * inv;
                    }
            }
            st = lqf_train_embed(t, x, m, flip ? ef : e + (size_t)b0 * t->D);
            if (!st && flip)
                for (size_t k = 0; k < (size_t)m * t->D; k++) e[(size_t)b0 * t->D + k] += ef[k];
        }
    }
    if (!st) {
        for (int i = 0; i < t->nval; i++) {
            float *v = e + (size_t)i * t->D;
            double s = 0;
            for (int d = 0; d < t->D; d++) s += (double)v[d] * v[d];
            float k = (t->val_ok[i] && s > 0) ? (float)(1 / sqrt(s)) : 0.0f;
            for (int d = 0; d < t->D; d++) v[d] *= k;
        }
        for (int p = 0; p < t->npairs; p++) {
            memcpy(ea + (size_t)p * t->D, e + (size_t)t->pair_a[p] * t->D, t->D * sizeof(float));
            memcpy(eb + (size_t)p * t->D, e + (size_t)t->pair_b[p] * t->D, t->D * sizeof(float));
        }
        lqf_pair_distances(ea, eb, t->npairs, t->D, dist);
        lqf_verify_result vr;
        st = lqf_verify_eval(dist, t->issame, t->npairs, LQF_MIN(10, t->npairs), &vr);
        if (!st) {
            if (acc) *acc = vr.acc_mean;
            if (std) *std = vr.acc_std;
            if (thr) *thr = vr.best_thr;
            if (n_pairs) *n_pairs = t->npairs;
        }
    }
    lqf_free(x);
    free(e), free(ef), free(dist), free(ea), free(eb);
    return st;
}

/* ---------------------------------------------------------------- checkpoints */
static lqf_status add_scalar(lqf_ckpt *ck, const char *name, double v) {
    float f = (float)v;
    return lqf_ckpt_add(ck, name, 0, NULL, &f, 1);
}

lqf_status lqf_train_save(lqf_train *t, const char *path) {
    lqf_ckpt *ck = NULL;
    lqf_status st = lqf_ckpt_create(&ck);
    if (st) return st;
    const lqf_graph *g = t->g;
    size_t big = 0;
    for (int i = 0; i < g->n_tensors; i++)
        if (lqf_model_ckpt_tensor(&g->tensors[i])) big = LQF_MAX(big, (size_t)lqf_tensor_numel(&g->tensors[i]));
    float *tmp = malloc(LQF_MAX(big, 1) * sizeof(float));
    if (!tmp) st = lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
    const int sgd = t->opt->cfg.type == LQF_OPT_SGD;
    char name[600];
    for (int i = 0; !st && i < g->n_tensors; i++) {
        const lqf_tensor *T = &g->tensors[i];
        if (!lqf_model_ckpt_tensor(T)) continue;
        st = lqf_model_ckpt_add(ck, g, g->params, T, T->name, tmp);
        if (st || T->kind != LQF_T_PARAM || lqf_exec_frozen(t->tr, i)) continue;
        snprintf(name, sizeof name, "optim.%s.%s", T->name, sgd ? "momentum_buffer" : "exp_avg");
        st = lqf_model_ckpt_add(ck, g, t->opt->buf1, T, name, tmp);
        if (!st && !sgd) {
            snprintf(name, sizeof name, "optim.%s.exp_avg_sq", T->name);
            st = lqf_model_ckpt_add(ck, g, t->opt->buf2, T, name, tmp);
        }
    }
    int64_t hd[2] = {t->D, t->C};
    if (!st) st = lqf_ckpt_add(ck, "head.kernel", 2, hd, t->W, 0);
    if (!st) st = lqf_ckpt_add(ck, sgd ? "optim.head.kernel.momentum_buffer" : "optim.head.kernel.exp_avg", 2, hd,
                               t->hopt->buf1, 0);
    if (!st && !sgd) st = lqf_ckpt_add(ck, "optim.head.kernel.exp_avg_sq", 2, hd, t->hopt->buf2, 0);
    /* head state in float32 tensors for readers, exact doubles in the metadata for resume */
    if (!st) st = add_scalar(ck, "head.batch_mean", t->head->state.batch_mean);
    if (!st) st = add_scalar(ck, "head.batch_std", t->head->state.batch_std);
    if (!st) st = add_scalar(ck, "head.t", t->head->state.t);
    if (!st && t->qg && t->qg->n > 0) { /* QGFace's queue: normalised embeddings, newest first */
        const int qn = t->qg->n;
        int64_t qd[2] = {qn, t->D}, ld[1] = {qn};
        float *lf = malloc((size_t)qn * sizeof(float));
        if (!lf) st = lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
        for (int i = 0; !st && i < qn; i++) lf[i] = (float)t->qg->qlabels[i];
        if (!st) st = lqf_ckpt_add(ck, "qgface.queue", 2, qd, t->qg->queue, 0);
        if (!st) st = lqf_ckpt_add(ck, "qgface.queue_labels", 1, ld, lf, 1);
        free(lf);
    }
    char v[64];
#define META(k, fmt, x)                                      \
    if (!st) {                                               \
        snprintf(v, sizeof v, fmt, x);                       \
        st = lqf_ckpt_set_meta(ck, k, v);                    \
    }
    META("head_batch_mean", "%.17g", t->head->state.batch_mean);
    META("head_batch_std", "%.17g", t->head->state.batch_std);
    META("head_t", "%.17g", t->head->state.t);
    META("head_iter", "%lld", (long long)t->head->state.iter);
    META("head_lambda", "%.17g", t->head->state.lambda);
    META("optim_step", "%lld", (long long)t->opt->step);
    META("head_optim_step", "%lld", (long long)t->hopt->step);
    META("batch_in_epoch", "%d", t->bie);
    META("optimizer", "%s", t->cfg.optimizer);
    META("qgface_queue_len", "%d", t->qg ? t->qg->n : 0);
    META("classes", "%d", t->C);
#undef META
    if (!st) {
        lqf_ckpt_info info;
        lqf_ckpt_info_default(&info);
        snprintf(info.arch, sizeof info.arch, "%s", t->arch);
        snprintf(info.shortcut, sizeof info.shortcut, "%s", t->shortcut);
        info.order = t->order;
        for (int k = 0; k < 3; k++) info.mean[k] = t->cfg.input_mean, info.std[k] = t->cfg.input_std;
        info.input_w = info.input_h = t->S;
        info.embedding_size = t->D;
        snprintf(info.head, sizeof info.head, "%s", t->cfg.head);
        info.step = t->step;
        info.epoch = t->epoch;
        st = lqf_ckpt_set_info(ck, &info);
    }
    if (!st) {
        /* the config as key=value lines */
        size_t cap = 16384, len = 0;
        char *cfgtxt = malloc(cap);
        if (!cfgtxt) st = lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
        for (int i = 0; !st && i < N_KEYS; i++) {
            char val[LQF_TRAIN_PATH + 8];
            lqf_train_config_get(&t->cfg, KEYS[i].name, val, sizeof val);
            int w = snprintf(cfgtxt + len, cap - len, "%s = %s\n", KEYS[i].name, val);
            if (w > 0 && (size_t)w < cap - len) len += (size_t)w;
        }
        if (!st) st = lqf_ckpt_set_meta(ck, "config", cfgtxt);
        free(cfgtxt);
    }
    if (!st) st = lqf_ckpt_save(ck, path);
    free(tmp);
    lqf_ckpt_free(ck);
    return st;
}

/* Restore the run's state from checkpoint ck (read from path; freed here). */
static lqf_status restore_ckpt(lqf_train *t, lqf_ckpt *ck, const char *path) {
    lqf_ckpt_info info;
    lqf_status st = lqf_ckpt_get_info(ck, &info);
    if (!st && (strcmp(info.arch, t->arch) || info.embedding_size != t->D))
        st = lqf_fail(LQF_ERR_FORMAT, "%s: checkpoint of %s (embedding %d), the run builds %s (embedding %d)", path,
                      info.arch, info.embedding_size, t->arch, t->D);
    const char *opt = lqf_ckpt_get_meta(ck, "optimizer");
    const int sgd = t->opt->cfg.type == LQF_OPT_SGD;
    const int same_opt = opt && !strcmp(opt, t->cfg.optimizer);
    const lqf_graph *g = t->g;
    char name[600];
    for (int i = 0; !st && i < g->n_tensors; i++) {
        const lqf_tensor *T = &g->tensors[i];
        if (!lqf_model_ckpt_tensor(T)) continue;
        st = lqf_model_ckpt_get(ck, g, g->params, T, T->name);
        if (st || !same_opt || T->kind != LQF_T_PARAM || lqf_exec_frozen(t->tr, i)) continue;
        snprintf(name, sizeof name, "optim.%s.%s", T->name, sgd ? "momentum_buffer" : "exp_avg");
        st = lqf_model_ckpt_get(ck, g, t->opt->buf1, T, name);
        if (!st && !sgd) {
            snprintf(name, sizeof name, "optim.%s.exp_avg_sq", T->name);
            st = lqf_model_ckpt_get(ck, g, t->opt->buf2, T, name);
        }
    }
    int64_t hd[2] = {t->D, t->C};
    const lqf_ckpt_tensor *ct = NULL;
    size_t hn = (size_t)t->D * t->C;
    if (!st) st = lqf_ckpt_get(ck, "head.kernel", 2, hd, &ct);
    if (!st) memcpy(t->W, ct->data, hn * sizeof(float));
    if (!st && same_opt) {
        st = lqf_ckpt_get(ck, sgd ? "optim.head.kernel.momentum_buffer" : "optim.head.kernel.exp_avg", 2, hd, &ct);
        if (!st) memcpy(t->hopt->buf1, ct->data, hn * sizeof(float));
        if (!st && !sgd) st = lqf_ckpt_get(ck, "optim.head.kernel.exp_avg_sq", 2, hd, &ct);
        if (!st && !sgd) memcpy(t->hopt->buf2, ct->data, hn * sizeof(float));
    }
#define RMETA(k, dst, conv)                                      \
    if (!st) {                                                   \
        const char *v_ = lqf_ckpt_get_meta(ck, k);               \
        if (!v_) st = lqf_fail(LQF_ERR_FORMAT, "%s: no '%s' in the metadata", path, k); \
        else dst = conv(v_, NULL);                               \
    }
    double bm = 0, bs = 0, ht = 0, hl = 0;
    long long hi = 0, os = 0, hos = 0, bie = 0;
    RMETA("head_batch_mean", bm, strtod);
    RMETA("head_batch_std", bs, strtod);
    RMETA("head_t", ht, strtod);
    RMETA("head_lambda", hl, strtod);
#define STRTOLL10(s, e) strtoll(s, e, 10)
    RMETA("head_iter", hi, STRTOLL10);
    RMETA("optim_step", os, STRTOLL10);
    RMETA("head_optim_step", hos, STRTOLL10);
    RMETA("batch_in_epoch", bie, STRTOLL10);
#undef RMETA
#undef STRTOLL10
    if (!st) {
        t->head->state.batch_mean = bm;
        t->head->state.batch_std = bs;
        t->head->state.t = ht;
        t->head->state.lambda = hl;
        t->head->state.iter = hi;
        if (same_opt) t->opt->step = os, t->hopt->step = hos;
        t->step = (long)info.step;
        t->epoch = info.epoch;
        t->bie = (int)bie;
    }
    /* QGFace's queue (absent from checkpoints of other runs: the queue starts empty) */
    const char *qlen = lqf_ckpt_get_meta(ck, "qgface_queue_len");
    if (!st && t->qg && qlen && atoi(qlen) > 0) {
        int qn = atoi(qlen), keep = LQF_MIN(qn, t->qg->cfg.queue_size);
        int64_t qd[2] = {qn, t->D}, ld[1] = {qn};
        const lqf_ckpt_tensor *cq = NULL, *cl = NULL;
        st = lqf_ckpt_get(ck, "qgface.queue", 2, qd, &cq);
        if (!st) st = lqf_ckpt_get(ck, "qgface.queue_labels", 1, ld, &cl);
        int32_t *lab = st ? NULL : malloc((size_t)qn * sizeof(int32_t));
        if (!st && !lab) st = lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
        for (int i = 0; !st && i < qn; i++) lab[i] = (int32_t)cl->data[i];
        if (!st) st = lqf_qgface_set_queue(t->qg, keep, cq->data, lab);
        free(lab);
    }
    if (st) lqf_fail_context(st, "resume");
    lqf_ckpt_free(ck);
    return st;
}

/* keep_last: delete the oldest numbered checkpoints beyond it. */
static void prune_kept(lqf_train *t) {
    while (t->cfg.keep_last > 0 && t->n_kept > t->cfg.keep_last) {
        remove(t->kept[0]); /* an old checkpoint; failing to delete it is harmless */
        free(t->kept[0]);
        memmove(t->kept, t->kept + 1, (size_t)(t->n_kept - 1) * sizeof *t->kept);
        t->n_kept--;
    }
}

/* resume = a checkpoint file (exactly that one), or auto / a directory: the newest checkpoint
 * there that loads, the ones that do not set aside (resume.h), the note kept for the loop. */
static lqf_status restore(lqf_train *t, const char *path) {
    struct stat sb;
    int is_dir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (strcmp(path, "auto") && !is_dir) {
        lqf_ckpt *ck = NULL;
        lqf_status st = lqf_ckpt_load(path, &ck);
        return st ? st : restore_ckpt(t, ck, path);
    }
    const char *dir = is_dir ? path : t->cfg.ckpt_dir;
    if (!dir[0]) return lqf_fail(LQF_ERR_ARG, "train config: resume = auto needs ckpt_dir");
    lqf_resume r;
    lqf_status st = lqf_resume_find(dir, &r);
    if (st) return lqf_fail_context(st, "resume");
    snprintf(t->resume_note, sizeof t->resume_note, "%s", r.note);
    if (r.ck) {
        st = restore_ckpt(t, r.ck, r.path);
        r.ck = NULL;
    }
    if (!st) { /* keep_last goes on counting the checkpoints already there */
        t->kept = r.kept, t->n_kept = r.n_kept;
        r.kept = NULL, r.n_kept = 0;
        prune_kept(t);
    }
    lqf_resume_free(&r);
    return st;
}

static lqf_status write_ckpt(lqf_train *t, char *out_path) {
    if (!t->cfg.ckpt_dir[0]) return LQF_OK;
    char path[LQF_TRAIN_PATH];
    if (snprintf(path, sizeof path, "%.990s/ckpt_step%08ld.safetensors", t->cfg.ckpt_dir, t->step) >= (int)sizeof path)
        return lqf_fail(LQF_ERR_ARG, "train: checkpoint directory name too long");
    lqf_fault("ckpt_begin");
    lqf_status st = lqf_train_save(t, path);
    if (st) return st;
    lqf_fault("ckpt_prune");
    snprintf(out_path, LQF_TRAIN_PATH, "%s", path);
    if (t->n_kept && !strcmp(t->kept[t->n_kept - 1], path)) return LQF_OK;
    char **k = realloc(t->kept, (size_t)(t->n_kept + 1) * sizeof *k);
    if (!k) return lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
    t->kept = k;
    t->kept[t->n_kept] = malloc(strlen(path) + 1);
    if (!t->kept[t->n_kept]) return lqf_fail(LQF_ERR_NOMEM, "train: out of memory");
    strcpy(t->kept[t->n_kept++], path);
    prune_kept(t);
    return LQF_OK;
}

/* ---------------------------------------------------------------- the loop */
static int report(lqf_train_progress_fn fn, void *user, const lqf_train_progress *p) {
    return fn ? fn(user, p) : 0;
}

/* Close the current epoch: report its mean loss (when this run saw all of it) and move on. */
static void end_epoch(lqf_train *t, lqf_train_progress *p, lqf_train_progress_fn fn, void *user, lqf_train_result *r,
                      double *eloss, double *eacc, int *esteps, int *epoch_whole, int *first_done, int *stop) {
    if (*esteps && *epoch_whole) {
        p->event = LQF_TRAIN_EV_EPOCH;
        p->epoch = t->epoch;
        p->epoch_loss = *eloss / *esteps;
        p->epoch_acc = *eacc / *esteps;
        if (!*first_done) r->first_epoch_loss = p->epoch_loss, *first_done = 1;
        r->last_epoch_loss = p->epoch_loss;
        r->epochs_done++;
        if (report(fn, user, p)) *stop = 1;
    }
    *eloss = *eacc = 0;
    *esteps = 0;
    *epoch_whole = 1;
    t->epoch++;
    t->bie = 0;
    t->epoch_started = 0;
}

static lqf_status validate_event(lqf_train *t, lqf_train_progress *p, lqf_train_progress_fn fn, void *user,
                                 lqf_train_result *r, int *stop) {
    lqf_status st = lqf_train_validate(t, &p->val_acc, &p->val_std, &p->val_thr, &p->val_pairs);
    if (st) return st;
    r->val_acc = p->val_acc;
    p->event = LQF_TRAIN_EV_VAL;
    if (report(fn, user, p)) *stop = 1;
    return LQF_OK;
}

lqf_status lqf_train_loop(lqf_train *t, lqf_train_progress_fn fn, void *user, lqf_train_result *r) {
    lqf_train_result dummy;
    if (!r) r = &dummy;
    memset(r, 0, sizeof *r);
    r->val_acc = NAN;
    r->first_epoch_loss = r->last_epoch_loss = NAN;
    if (!t->loader && t->step < t->total) return lqf_fail(LQF_ERR_ARG, "train config: no training data (data)");
    const lqf_train_config *c = &t->cfg;
    lqf_status st = LQF_OK;
    lqf_train_progress p;
    memset(&p, 0, sizeof p);
    p.val_acc = NAN;
    p.total_steps = t->total;
    double t0 = lqf_now(), eloss = 0, eacc = 0;
    long start_step = t->step;
    int esteps = 0, stop = 0, first_epoch_done = 0;
    /* an epoch counts for the loss means only when this run saw it from its start */
    int epoch_whole = t->bie == 0;
    if (t->resume_note[0]) {
        p.event = LQF_TRAIN_EV_RESUME;
        p.step = t->step;
        p.path = t->resume_note;
        report(fn, user, &p);
    }
    if (t->step >= t->total && t->npairs) { /* nothing to train: validate the network as it is */
        p.step = t->step;
        st = validate_event(t, &p, fn, user, r, &stop);
    }
    while (!st && !stop && t->step < t->total) {
        if (!t->epoch_started) {
            if ((st = lqf_loader_start_epoch(t->loader, t->epoch))) break;
            t->epoch_started = 1;
            for (int k = 0; k < t->bie && !st; k++) { /* resume mid-epoch: skip consumed batches */
                const lqf_batch *b = NULL;
                st = lqf_loader_next(t->loader, &b);
            }
            if (st) break;
        }
        const lqf_batch *b = NULL;
        if ((st = lqf_loader_next(t->loader, &b))) break;
        if (!b) { /* end of the epoch (reached early when bad items left a short tail) */
            if (!st) end_epoch(t, &p, fn, user, r, &eloss, &eacc, &esteps, &epoch_whole, &first_epoch_done, &stop);
            continue;
        }
        for (int k = 0; k < b->n_failed && k < LQF_LOADER_MAX_REPORTS; k++) {
            p.event = LQF_TRAIN_EV_BADDATA;
            p.path = b->failed_msg[k];
            report(fn, user, &p);
        }
        t->bie++;
        if (b->n != t->B) continue; /* short after unreplaceable bad items: skipped */
        for (int i = 0; i < b->n; i++)
            if (b->labels[i] < 0 || b->labels[i] >= t->C) {
                lqf_sample s;
                memset(&s, 0, sizeof s);
                lqf_dataset_get(t->data, b->items[i], &s);
                st = lqf_fail(LQF_ERR_FORMAT, "%s: label %d is out of range [0, %d) (classes = %d)", s.name,
                              b->labels[i], t->C, t->C);
                lqf_sample_free(&s);
                break;
            }
        if (st) break;
        lqf_head_result hr;
        double lr = lqf_lr_at(&t->sched, t->step);
        if ((st = lqf_train_step_views(t, b->x, b->x_hq, b->labels, b->n, &hr))) break;
        eloss += hr.loss;
        eacc += hr.accuracy;
        esteps++;
        double el = lqf_now() - t0;
        long done = t->step - start_step;
        p.event = LQF_TRAIN_EV_STEP;
        p.step = t->step;
        p.epoch = t->epoch;
        p.loss = hr.loss;
        p.acc = hr.accuracy;
        p.lr = lr;
        p.grad_norm = t->last_gnorm;
        p.img_per_s = el > 0 ? (double)done * t->B / el : 0;
        p.eta_s = done ? el / done * (double)(t->total - t->step) : 0;
        r->last_loss = hr.loss;
        r->last_acc = hr.accuracy;
        lqf_fault_set_step(t->step);
        lqf_fault("step");
        if (report(fn, user, &p)) stop = 1;
        if (c->max_seconds > 0 && el >= c->max_seconds) stop = 1;
        if (t->bie >= t->bpe) end_epoch(t, &p, fn, user, r, &eloss, &eacc, &esteps, &epoch_whole, &first_epoch_done, &stop);
        int last = stop || t->step >= t->total;
        if (t->npairs && ((c->val_every > 0 && t->step % c->val_every == 0) || last))
            if ((st = validate_event(t, &p, fn, user, r, &stop))) break;
        if (c->ckpt_dir[0] && ((c->ckpt_every > 0 && t->step % c->ckpt_every == 0) || last)) {
            if ((st = write_ckpt(t, r->last_ckpt))) break;
            p.event = LQF_TRAIN_EV_CKPT;
            p.path = r->last_ckpt;
            if (report(fn, user, &p)) stop = 1;
        }
    }
    r->steps = t->step;
    r->steps_this_run = t->step - start_step;
    r->seconds = lqf_now() - t0;
    r->img_per_s = r->seconds > 0 ? (double)r->steps_this_run * t->B / r->seconds : 0;
    return st;
}

lqf_status lqf_train_run(const lqf_train_config *c, lqf_train_progress_fn fn, void *user, lqf_train_result *r) {
    lqf_train *t = NULL;
    lqf_status st = lqf_train_open(c, &t);
    if (st) return st;
    st = lqf_train_loop(t, fn, user, r);
    lqf_train_free(t);
    return st;
}
