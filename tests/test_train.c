/*
 * test_train.c — the training run (src/train/run.h) against torch and on real data:
 *  1. three steps of a reduced IResNet-18 + margin head on a fixed ORL batch equal torch
 *     1.13's (tools/ref_train_step.py dumps): SGD + ArcFace (insightface variant) and AdamW +
 *     AdaFace (AdaFace variant, EMA statistics): losses, every state_dict tensor (parameters
 *     and BN running statistics), the head kernel and the AdaFace EMA after 3 steps;
 *  2. resume exactness: 2N steps straight vs N steps, checkpoint, a fresh run resumed for N
 *     more (mid-epoch, so the loader must skip consumed batches): identical parameters;
 *  3. NaN loss (lr 1e30): LQF_ERR_NUMERIC naming the step, the last checkpoint intact and
 *     loadable;
 *  4. a label out of range in a list file: a clear error naming the file;
 *  5. freezing by name prefix;
 *  6. a real run on ORL (images 1-7 of 40 identities train, 8-10 held out): the loss falls
 *     and held-out nearest-class-mean identification clears a bound;
 *  7. fine-tuning an ONNX network with its BatchNorm layers (onnx_bn = train,
 *     tools/ref_onnx_bn_step.py): one SGD step equals torch's, the checkpoint reopens as the
 *     same network; onnx_bn = fold gives the same eval-mode network with the BatchNorms that
 *     follow convolutions folded.
 */
#include "testutil.h"

#include "augment/degrade.h"
#include "data/data.h"
#include "nn/backbone.h"
#include "nn/net.h"
#include "train/checkpoint.h"
#include "train/model.h"
#include "train/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256]; /* this run's files */

/* ------------------------------------------------------------------ 1. vs torch */
#define MAXT 256
typedef struct {
    int n;
    char name[MAXT][128];
    long numel[MAXT];
} dump_list;

static int read_list(const char *path, dump_list *l) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    l->n = 0;
    while (fgets(line, sizeof line, f) && l->n < MAXT)
        if (sscanf(line, "tensor %127s %ld", l->name[l->n], &l->numel[l->n]) == 2) l->n++;
    fclose(f);
    return 0;
}

/* A run of config c against torch's dump train/<name>.{txt,bin} (tools/ref_train_step.py's
 * layout): the dump's tensors and head kernel set, `steps` steps on its batch of 8 S x S
 * images (embedding 16, 4 classes), then the losses, every state_dict tensor and the kernel
 * compared. Returns the run for more checks (the caller frees it) and, when xh is not NULL,
 * the batch (NHWC, caller frees), or NULL when it could not run. */
static lqf_train *torch_steps(const char *name, const lqf_train_config *c, int S, int steps, float **xh_out) {
    char p[512];
    dump_list L;
    snprintf(p, sizeof p, "train/%s.txt", name);
    if (read_list(tu_testdata(p), &L)) {
        printf("%s: missing dump\n", name);
        CHECK(0);
        return NULL;
    }
    float *d = NULL;
    snprintf(p, sizeof p, "train/%s.bin", name);
    long nd = tu_load_f32(tu_testdata(p), &d);
    CHECK(nd > 0);
    if (nd <= 0) return NULL;
    const int B = 8, D = 16, C = 4;
    lqf_train *t = NULL;
    CHECK(lqf_train_open(c, &t) == LQF_OK);
    if (!t) {
        printf("open: %s\n", lqf_last_error());
        free(d);
        return NULL;
    }
    lqf_graph *g = lqf_train_graph(t);
    size_t off = 0;
    for (int i = 0; i < L.n; i++) {
        CHECK(lqf_backbone_set(g, g->params, L.name[i], d + off, (size_t)L.numel[i]) == LQF_OK);
        off += (size_t)L.numel[i];
    }
    memcpy(lqf_train_head_kernel(t), d + off, (size_t)D * C * sizeof(float));
    off += (size_t)D * C;
    const float *x = d + off;
    off += (size_t)B * 3 * S * S;
    int labels[8];
    for (int i = 0; i < B; i++) labels[i] = (int)d[off + i];
    off += B;
    const float *losses = d + off;
    off += (size_t)steps;
    float *xh = malloc((size_t)B * S * S * 3 * sizeof(float));
    for (int n = 0; n < B; n++)
        for (int ch = 0; ch < 3; ch++)
            for (int k = 0; k < S * S; k++) xh[((size_t)n * S * S + k) * 3 + ch] = x[((size_t)n * 3 + ch) * S * S + k];
    float got_loss[8];
    for (int s = 0; s < steps; s++) {
        lqf_head_result hr;
        CHECK(lqf_train_step(t, xh, labels, B, &hr) == LQF_OK);
        got_loss[s] = (float)hr.loss;
    }
    char what[256];
    snprintf(what, sizeof what, "%s losses", name);
    tu_close(what, got_loss, losses, (size_t)steps, 0, 1e-4);
    printf("%s: losses", name);
    for (int s = 0; s < steps; s++) printf(" %.6f (torch %.6f)", got_loss[s], losses[s]);
    printf("\n");
    double worst = 0;
    float *tmp = malloc(65536 * sizeof(float));
    for (int i = 0; i < L.n; i++) {
        const float *ref = d + off;
        CHECK(lqf_backbone_get(g, g->params, L.name[i], tmp, (size_t)L.numel[i]) == LQF_OK);
        /* relative to the tensor's largest value, floored at 0.1: the shifts of BatchNorms in
         * front of the residual stream have an analytically zero gradient (see
         * ref_train_step.py) and stay at rounding-noise size (~1e-6) in both implementations */
        double scale = tu_max_abs(ref, (size_t)L.numel[i]);
        if (scale < 0.1) scale = 0.1;
        for (long k = 0; k < L.numel[i]; k++) {
            double e = fabs(tmp[k] - ref[k]) / scale;
            if (e > worst) worst = e;
        }
        snprintf(what, sizeof what, "%s after %d steps: %s", name, steps, L.name[i]);
        tu_close(what, tmp, ref, (size_t)L.numel[i], 1e-4 * scale, 1e-4);
        off += (size_t)L.numel[i];
    }
    snprintf(what, sizeof what, "%s head kernel after %d steps", name, steps);
    double ks = tu_max_abs(d + off, (size_t)D * C);
    tu_close(what, lqf_train_head_kernel(t), d + off, (size_t)D * C, 1e-4 * ks, 1e-4);
    off += (size_t)D * C;
    printf("%s: worst parameter error after %d steps %.3g (relative to each tensor's max)\n", name, steps, worst);
    if (!strcmp(c->head, "adaface")) {
        lqf_head *h = lqf_train_head(t);
        float ema[2] = {(float)h->state.batch_mean, (float)h->state.batch_std};
        snprintf(what, sizeof what, "%s AdaFace EMA batch_mean/std", name);
        tu_close(what, ema, d + off, 2, 0, 1e-5);
        off += 2;
    }
    CHECK((long)off == nd);
    free(tmp);
    free(d);
    if (xh_out) *xh_out = xh;
    else free(xh);
    return t;
}

static void torch_case(const char *name, const char *variant, const char *head, const char *opt, const char *lr) {
    lqf_train_config c;
    lqf_train_config_default(&c);
    tu_train_set(&c, "arch", "iresnet18");
    tu_train_set(&c, "variant", variant);
    tu_train_set(&c, "width", "4,8,12,16");
    tu_train_set(&c, "input_size", "32");
    tu_train_set(&c, "emb", "16");
    tu_train_set(&c, "dropout", "0");
    tu_train_set(&c, "classes", "4");
    tu_train_set(&c, "batch", "8");
    tu_train_set(&c, "steps", "3");
    tu_train_set(&c, "head", head);
    tu_train_set(&c, "optimizer", opt);
    tu_train_set(&c, "lr", lr);
    tu_train_set(&c, "schedule", "constant");
    tu_train_set(&c, "weight_decay", "5e-4");
    tu_train_set(&c, "bn_decay", "0");
    tu_train_set(&c, "adam_eps", "1e-2"); /* see tools/ref_train_step.py */
    lqf_train_free(torch_steps(name, &c, 32, 3, NULL));
}

/* ------------------------------------------------------------------ ONNX BatchNorm */
static int count_bn(const lqf_graph *g) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == LQF_OP_BATCHNORM;
    return n;
}

static void onnx_bn_config(lqf_train_config *c, const char *mode) {
    lqf_train_config_default(c);
    tu_train_set(c, "init_onnx", tu_testdata("train/onnx_bn.onnx"));
    tu_train_set(c, "onnx_bn", mode);
    tu_train_set(c, "input_size", "16");
    tu_train_set(c, "classes", "4");
    tu_train_set(c, "batch", "8");
    tu_train_set(c, "steps", "1");
    tu_train_set(c, "head", "arcface");
    tu_train_set(c, "optimizer", "sgd");
    tu_train_set(c, "lr", "0.01");
    tu_train_set(c, "momentum", "0.9");
    tu_train_set(c, "schedule", "constant");
    tu_train_set(c, "weight_decay", "5e-4");
    tu_train_set(c, "bn_decay", "0");
}

/* An ONNX network with BatchNorm layers (tools/ref_onnx_bn_step.py). onnx_bn = train keeps
 * its four BatchNorms (trainable scale and shift, batch statistics) and one SGD step equals
 * torch's; the run's checkpoint reopens as an inference network (the BatchNorms after
 * convolutions folded there) giving the trainer's eval-mode embeddings. onnx_bn = fold, the
 * default, folds the three that follow a convolution (the one after the Gemm stays) into the
 * same eval-mode network. Another value is refused naming the key. */
static void onnx_bn_case(void) {
    const int B = 8, S = 16, D = 16;
    lqf_train_config c;
    onnx_bn_config(&c, "train");
    float *xh = NULL;
    lqf_train *t = torch_steps("onnx_bn", &c, S, 1, &xh), *kept = NULL, *folded = NULL;
    if (!t) return;
    CHECK(lqf_train_open(&c, &kept) == LQF_OK);
    onnx_bn_config(&c, "fold");
    CHECK(lqf_train_open(&c, &folded) == LQF_OK);
    float want[8 * 16], got[8 * 16], *xn = malloc((size_t)B * 3 * S * S * sizeof(float));
    if (kept && folded) {
        printf("onnx_bn: %d BatchNorm nodes kept, %d after folding\n", count_bn(lqf_train_graph(kept)),
               count_bn(lqf_train_graph(folded)));
        CHECK(count_bn(lqf_train_graph(kept)) == 4 && count_bn(lqf_train_graph(folded)) == 1);
        CHECK(lqf_train_embed(kept, xh, B, want) == LQF_OK && lqf_train_embed(folded, xh, B, got) == LQF_OK);
        printf("onnx_bn: eval embeddings folded vs kept: %.3g of the largest\n", tu_norm_err(got, want, (size_t)B * D));
        CHECK(tu_norm_err(got, want, (size_t)B * D) <= 1e-5);
    }
    char path[300];
    snprintf(path, sizeof path, "%s/onnx_bn.safetensors", tmpdir);
    lqf_net *net = NULL;
    CHECK(lqf_train_save(t, path) == LQF_OK);
    CHECK(lqf_model_load_checkpoint(path, &net, NULL) == LQF_OK);
    if (net) {
        for (int b = 0; b < B; b++)
            for (int ch = 0; ch < 3; ch++)
                for (int k = 0; k < S * S; k++) xn[((size_t)b * 3 + ch) * S * S + k] = xh[((size_t)b * S * S + k) * 3 + ch];
        const float *ins[1] = {xn};
        float *outs[1] = {got};
        CHECK(lqf_train_embed(t, xh, B, want) == LQF_OK);
        CHECK(lqf_net_run(net, B, ins, outs) == LQF_OK);
        CHECK(count_bn(lqf_net_graph(net)) == 1);
        printf("onnx_bn: checkpoint network vs the trainer's eval embeddings: %.3g of the largest\n",
               tu_norm_err(got, want, (size_t)B * D));
        CHECK(tu_norm_err(got, want, (size_t)B * D) <= 1e-4);
        lqf_net_free(net);
    }
    onnx_bn_config(&c, "maybe");
    lqf_train *bad = NULL;
    CHECK(lqf_train_open(&c, &bad) == LQF_ERR_ARG && !bad && strstr(lqf_last_error(), "onnx_bn"));
    printf("onnx_bn = maybe: %s\n", lqf_last_error());
    free(xn);
    free(xh);
    lqf_train_free(t);
    lqf_train_free(kept);
    lqf_train_free(folded);
}

/* ------------------------------------------------------------------ freezing */
/* freeze = "conv1,layer1." : those tensors keep their values (no decay either), others move. */
static void freeze_case(void) {
    lqf_train_config c;
    lqf_train_config_default(&c);
    tu_train_set(&c, "arch", "iresnet18");
    tu_train_set(&c, "width", "4,8,12,16");
    tu_train_set(&c, "input_size", "32");
    tu_train_set(&c, "emb", "16");
    tu_train_set(&c, "classes", "4");
    tu_train_set(&c, "batch", "4");
    tu_train_set(&c, "steps", "2");
    tu_train_set(&c, "lr", "0.1");
    tu_train_set(&c, "freeze", "conv1, layer1.");
    lqf_train *t = NULL;
    CHECK(lqf_train_open(&c, &t) == LQF_OK);
    if (!t) return;
    lqf_graph *g = lqf_train_graph(t);
    float *before = malloc(g->n_params * sizeof(float)), x[4 * 32 * 32 * 3];
    memcpy(before, g->params, g->n_params * sizeof(float));
    for (int i = 0; i < 4 * 32 * 32 * 3; i++) x[i] = (float)sin(0.37 * i);
    int labels[4] = {0, 1, 2, 3};
    for (int s = 0; s < 2; s++) CHECK(lqf_train_step(t, x, labels, 4, NULL) == LQF_OK);
    int frozen_moved = 0, others_moved = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        const lqf_tensor *T = &g->tensors[i];
        if (T->kind != LQF_T_PARAM) continue;
        int moved = memcmp(before + T->offset, g->params + T->offset, (size_t)lqf_tensor_numel(T) * sizeof(float)) != 0;
        if (!strncmp(T->name, "conv1", 5) || !strncmp(T->name, "layer1.", 7)) frozen_moved += moved;
        else others_moved += moved;
    }
    printf("freeze: %d frozen tensors changed, %d others changed\n", frozen_moved, others_moved);
    CHECK(frozen_moved == 0 && others_moved > 10);
    free(before);
    lqf_train_free(t);
    tu_train_set(&c, "freeze", "no.such.prefix");
    CHECK(lqf_train_open(&c, &t) == LQF_ERR_ARG && strstr(lqf_last_error(), "no.such.prefix"));
}

/* ------------------------------------------------------------------ ORL lists */

/* ORL list file: images first..last of every identity, label = identity - 1 (+ bad_label
 * replaces the label of the first line when >= 0). */
static void write_orl_list(const char *path, int first, int last, int bad_label) {
    FILE *f = fopen(path, "w");
    for (int s = 1; s <= 40; s++)
        for (int i = first; i <= last; i++) {
            int lab = (s == 1 && i == first && bad_label >= 0) ? bad_label : s - 1;
            fprintf(f, "s%d/%d.pgm %d\n", s, i, lab);
        }
    fclose(f);
}

static void small_config(lqf_train_config *c, const char *list) {
    lqf_train_config_default(c);
    tu_train_set(c, "data", list);
    tu_train_set(c, "data_root", tu_shared("data/orl/att_faces"));
    tu_train_set(c, "arch", "iresnet18");
    tu_train_set(c, "width", "8,16,24,32");
    tu_train_set(c, "input_size", "32");
    tu_train_set(c, "emb", "32");
    tu_train_set(c, "batch", "16");
    tu_train_set(c, "head", "cosface");
    tu_train_set(c, "s", "16");
    tu_train_set(c, "m", "0.2");
    tu_train_set(c, "lr", "0.05");
    tu_train_set(c, "schedule", "constant");
    tu_train_set(c, "loader_threads", "2");
    tu_train_set(c, "seed", "7");
    /* one compute thread: the trainer's weight-gradient reductions (conv_backward.c,
     * schedule(dynamic) per-thread partial sums) are not run-to-run deterministic with 2, and
     * on a loaded machine two OpenMP threads run these tiny layers ~30x slower than one */
    tu_train_set(c, "threads", "1");
}

static long long params_equal_count(lqf_graph *a, lqf_graph *b, double *maxdiff) {
    long long diff = 0;
    *maxdiff = 0;
    for (size_t i = 0; i < a->n_params; i++) {
        double e = fabs((double)a->params[i] - b->params[i]);
        if (a->params[i] != b->params[i]) diff++;
        if (e > *maxdiff) *maxdiff = e;
    }
    return diff;
}

/* ------------------------------------------------------------------ 2. resume */
static void resume_case(const char *list) {
    const int N = 4; /* 280 images / 16 = 17 batches per epoch: both halves mid-epoch */
    lqf_train_config c;
    char dir[300], ck[LQF_TRAIN_PATH], v[32];
    small_config(&c, list);
    tu_train_set(&c, "optimizer", "adamw");
    tu_train_set(&c, "lr", "1e-3");
    tu_train_set(&c, "head", "adaface");
    tu_train_set(&c, "variant", "adaface");
    tu_train_set(&c, "dropout", "0.4");
    tu_train_set(&c, "augment", "adaface");
    snprintf(v, sizeof v, "%d", 2 * N);
    tu_train_set(&c, "steps", v);
    lqf_train *straight = NULL, *part = NULL, *resumed = NULL;
    CHECK(lqf_train_open(&c, &straight) == LQF_OK);
    CHECK(straight && lqf_train_loop(straight, NULL, NULL, NULL) == LQF_OK);

    snprintf(dir, sizeof dir, "%s/resume", tmpdir);
    mkdir(dir, 0755);
    tu_train_set(&c, "ckpt_dir", dir);
    snprintf(v, sizeof v, "%d", N);
    tu_train_set(&c, "steps", v); /* same schedule length matters only for poly/cosine; constant here */
    CHECK(lqf_train_open(&c, &part) == LQF_OK);
    lqf_train_result r;
    CHECK(part && lqf_train_loop(part, NULL, NULL, &r) == LQF_OK);
    snprintf(ck, sizeof ck, "%s", r.last_ckpt);
    printf("resume: first half wrote %s\n", ck);
    lqf_train_free(part);

    snprintf(v, sizeof v, "%d", 2 * N);
    tu_train_set(&c, "steps", v);
    tu_train_set(&c, "resume", ck);
    tu_train_set(&c, "ckpt_dir", "");
    CHECK(lqf_train_open(&c, &resumed) == LQF_OK);
    if (!resumed) printf("resume: %s\n", lqf_last_error());
    CHECK(resumed && lqf_train_steps_done(resumed) == N);
    CHECK(resumed && lqf_train_loop(resumed, NULL, NULL, &r) == LQF_OK);
    CHECK(r.steps == 2 * N && r.steps_this_run == N);
    if (straight && resumed) {
        double md;
        long long nd = params_equal_count(lqf_train_graph(straight), lqf_train_graph(resumed), &md);
        printf("resume: %lld of %zu parameter/statistic floats differ (max |diff| %.3g)\n", nd,
               lqf_train_graph(straight)->n_params, md);
        CHECK(nd == 0);
        size_t hn = (size_t)32 * lqf_train_classes(straight);
        CHECK(memcmp(lqf_train_head_kernel(straight), lqf_train_head_kernel(resumed), hn * sizeof(float)) == 0);
        CHECK(lqf_train_head(straight)->state.batch_mean == lqf_train_head(resumed)->state.batch_mean);
    }
    lqf_train_free(straight);
    lqf_train_free(resumed);
    lqf_set_num_threads(2);
}

/* ------------------------------------------------------------------ 3. NaN */
static void nan_case(const char *list) {
    lqf_train_config c;
    char dir[300];
    small_config(&c, list);
    snprintf(dir, sizeof dir, "%s/nan", tmpdir);
    mkdir(dir, 0755);
    tu_train_set(&c, "ckpt_dir", dir);
    tu_train_set(&c, "ckpt_every", "1");
    tu_train_set(&c, "keep_last", "0");
    tu_train_set(&c, "lr", "1e30");
    tu_train_set(&c, "steps", "10");
    lqf_train *t = NULL;
    CHECK(lqf_train_open(&c, &t) == LQF_OK);
    lqf_train_result r;
    lqf_status st = t ? lqf_train_loop(t, NULL, NULL, &r) : LQF_ERR_ARG;
    const char *msg = lqf_last_error();
    printf("nan: status %d, \"%s\", %ld steps done, last checkpoint %s\n", (int)st, msg, r.steps, r.last_ckpt);
    CHECK(st == LQF_ERR_NUMERIC);
    char want[64];
    snprintf(want, sizeof want, "NaN loss at step %ld", r.steps + 1);
    CHECK(strstr(msg, want) != NULL);
    CHECK(r.steps >= 1 && r.last_ckpt[0]);
    lqf_ckpt *ck = NULL;
    CHECK(lqf_ckpt_load(r.last_ckpt, &ck) == LQF_OK);
    lqf_ckpt_info info;
    CHECK(ck && lqf_ckpt_get_info(ck, &info) == LQF_OK && info.step == r.steps);
    /* tensors in PyTorch layout: convolution weights OIHW, the head kernel (emb, classes) */
    const lqf_ckpt_tensor *ct = NULL;
    int64_t conv1[4] = {8, 3, 3, 3}, down[4] = {16, 8, 1, 1}, kern[2] = {32, 40};
    CHECK(ck && lqf_ckpt_get(ck, "conv1.weight", 4, conv1, &ct) == LQF_OK);
    CHECK(ck && lqf_ckpt_get(ck, "layer2.0.downsample.0.weight", 4, down, &ct) == LQF_OK);
    CHECK(ck && lqf_ckpt_get(ck, "optim.conv1.weight.momentum_buffer", 4, conv1, &ct) == LQF_OK);
    CHECK(ck && lqf_ckpt_get(ck, "head.kernel", 2, kern, &ct) == LQF_OK);
    CHECK(ck && lqf_ckpt_find(ck, "layer1.0.bn1.running_var") && lqf_ckpt_get_meta(ck, "config"));
    lqf_ckpt_free(ck);
    /* and it resumes */
    lqf_train *t2 = NULL;
    tu_train_set(&c, "resume", r.last_ckpt);
    tu_train_set(&c, "ckpt_dir", "");
    CHECK(lqf_train_open(&c, &t2) == LQF_OK);
    CHECK(t2 && lqf_train_steps_done(t2) == r.steps);
    lqf_train_free(t2);
    lqf_train_free(t);
}

/* ------------------------------------------------------------------ 4. bad label */
static void bad_label_case(void) {
    char list[300];
    snprintf(list, sizeof list, "%s/bad.lst", tmpdir);
    write_orl_list(list, 1, 2, 57);
    lqf_train_config c;
    small_config(&c, list);
    tu_train_set(&c, "classes", "40");
    tu_train_set(&c, "steps", "6");
    lqf_train *t = NULL;
    lqf_status st = lqf_train_open(&c, &t);
    if (!st) st = lqf_train_loop(t, NULL, NULL, NULL);
    const char *msg = lqf_last_error();
    printf("bad label: status %d, \"%s\"\n", (int)st, msg);
    CHECK(st == LQF_ERR_FORMAT);
    CHECK(strstr(msg, "s1/1.pgm") && strstr(msg, "label 57 is out of range [0, 40)"));
    lqf_train_free(t);
}

/* ------------------------------------------------------------------ 5. real run */
typedef struct {
    double first, last;
    int epochs;
} run_log;

static int on_progress(void *user, const lqf_train_progress *p) {
    run_log *l = user;
    if (p->event == LQF_TRAIN_EV_EPOCH) {
        if (!l->epochs++) l->first = p->epoch_loss;
        l->last = p->epoch_loss;
        printf("  epoch %d: loss %.4f, train acc %.3f\n", p->epoch + 1, p->epoch_loss, p->epoch_acc);
    }
    return 0;
}

/* Embeddings of a list's images (no augmentation, dataset order) through the run's network. */
static float *embed_list(lqf_train *t, const char *list, int S, int *n_out, int **labels) {
    lqf_dataset *d = NULL;
    if (lqf_dataset_open_list(list, tu_shared("data/orl/att_faces"), &d)) return NULL;
    int n = (int)lqf_dataset_count(d), D = 32;
    float *x = malloc((size_t)n * S * S * 3 * sizeof(float)), *e = malloc((size_t)n * D * sizeof(float));
    *labels = malloc(n * sizeof(int));
    lqf_sample s;
    memset(&s, 0, sizeof s);
    uint8_t *r = malloc((size_t)S * S * 3);
    for (int i = 0; i < n; i++) {
        lqf_image *img = NULL;
        CHECK(lqf_dataset_decode(d, i, &s, LQF_RGB, &img) == LQF_OK);
        lqf_resize_bilinear(img->data, img->width, img->height, r, S, S);
        for (int k = 0; k < S * S * 3; k++) x[(size_t)i * S * S * 3 + k] = (r[k] - 127.5f) / 127.5f;
        (*labels)[i] = s.label;
        lqf_image_free(img);
    }
    lqf_sample_free(&s);
    free(r);
    CHECK(lqf_train_embed(t, x, n, e) == LQF_OK);
    for (int i = 0; i < n; i++) {
        double q = 0;
        for (int k = 0; k < D; k++) q += (double)e[i * D + k] * e[i * D + k];
        for (int k = 0; k < D; k++) e[i * D + k] /= (float)sqrt(q);
    }
    free(x);
    lqf_dataset_free(d);
    *n_out = n;
    return e;
}

/* Held-out identification: each held-out face goes to the nearest class mean (cosine) of
 * the training faces' embeddings. */
static double heldout_accuracy(lqf_train *t, const char *train_list, const char *test_list) {
    int na, nb, *la, *lb, D = 32;
    float *ea = embed_list(t, train_list, 32, &na, &la), *eb = embed_list(t, test_list, 32, &nb, &lb);
    if (!ea || !eb) return 0;
    float *mean = calloc(40 * (size_t)D, sizeof(float));
    for (int i = 0; i < na; i++)
        for (int k = 0; k < D; k++) mean[la[i] * D + k] += ea[i * D + k];
    int hit = 0;
    for (int i = 0; i < nb; i++) {
        int best = -1;
        double bs = -1e30;
        for (int c = 0; c < 40; c++) {
            double s = 0, q = 0;
            for (int k = 0; k < D; k++) s += (double)mean[c * D + k] * eb[i * D + k], q += (double)mean[c * D + k] * mean[c * D + k];
            s /= sqrt(q) + 1e-12;
            if (s > bs) bs = s, best = c;
        }
        hit += best == lb[i];
    }
    free(mean), free(ea), free(eb), free(la), free(lb);
    return (double)hit / nb;
}

static void real_run(const char *train_list, const char *test_list) {
    lqf_train_config c;
    small_config(&c, train_list);
    tu_train_set(&c, "epochs", "20");
    tu_train_set(&c, "lr", "0.1");
    tu_train_set(&c, "schedule", "cosine");
    tu_train_set(&c, "augment", "none");
    lqf_train *t = NULL;
    CHECK(lqf_train_open(&c, &t) == LQF_OK);
    if (!t) return;
    double acc0 = heldout_accuracy(t, train_list, test_list);
    run_log l = {0, 0, 0};
    lqf_train_result r;
    double t0 = lqf_now();
    CHECK(lqf_train_loop(t, on_progress, &l, &r) == LQF_OK);
    double secs = lqf_now() - t0;
    double acc1 = heldout_accuracy(t, train_list, test_list);
    printf("ORL run: %ld steps in %.1f s (%.0f img/s); epoch loss %.4f -> %.4f; held-out nearest-class-mean "
           "accuracy %.1f%% untrained -> %.1f%% trained\n",
           r.steps, secs, r.img_per_s, l.first, l.last, 100 * acc0, 100 * acc1);
    CHECK(l.epochs == 20);
    CHECK(l.last < 0.5 * l.first);
    CHECK(acc1 >= 0.80);
    CHECK(acc1 > acc0);
    lqf_train_free(t);
}

int main(void) {
    lqf_set_num_threads(2);
    torch_case("sgd_arcface", "insightface", "arcface", "sgd", "0.01");
    torch_case("adamw_adaface", "adaface", "adaface", "adamw", "1e-3");
    freeze_case();

    snprintf(tmpdir, sizeof tmpdir, "/tmp/lqf_test_train_%d", (int)getpid());
    mkdir(tmpdir, 0755);
    char train_list[300], test_list[300];
    snprintf(train_list, sizeof train_list, "%s/train.lst", tmpdir);
    snprintf(test_list, sizeof test_list, "%s/test.lst", tmpdir);
    write_orl_list(train_list, 1, 7, -1);
    write_orl_list(test_list, 8, 10, -1);
    onnx_bn_case();
    resume_case(train_list);
    nan_case(train_list);
    bad_label_case();
    real_run(train_list, test_list);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) printf("could not remove %s\n", tmpdir);
    return tu_finish("test_train");
}
