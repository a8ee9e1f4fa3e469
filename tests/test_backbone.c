/*
 * test_backbone.c — the lqface backbones and the trainer against PyTorch: for a reduced
 * IResNet-18 (insightface and AdaFace variants) and a reduced MobileFaceNet, dumped by
 * tools/ref_backbone.py with the reference module code, the graph must have exactly the
 * state_dict's tensors (names, sizes, learnable iff torch trains it); with the weights
 * loaded BY NAME, one training forward must give torch's embedding and running statistics,
 * the backward of L = sum(w_out * embedding) torch's gradient for the input and every
 * parameter, and eval mode torch's eval embedding (through the trainer and through the
 * inference executor), all within 1e-4 of each reference's scale. Also: frozen tensors get
 * no gradient, dropout is seeded and the identity in eval mode, the full-size networks have
 * torch's parameter counts, and a network built for one input size runs at another by shape
 * inference (tools/ref_backbone_resize.py). LQFACE_BENCH_TRAIN=1 (or mfn, ir18) adds a timing of
 * MobileFaceNet and IR-18 training steps at batch 64 (LQFACE_BENCH_BATCH), 112x112.
 */
#include "nn/backbone.h"
#include "nn/net.h"
#include "nn/exec.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOL 1e-4
#define MAXT 512

static double worst_rel = 0.0;

static void compare(const char *net, const char *what, const float *got, const float *want, size_t n) {
    char label[320];
    snprintf(label, sizeof label, "%s %s", net, what);
    double scale = tu_max_abs(want, n), md = 0;
    if (scale < 1e-6) scale = 1.0;
    for (size_t i = 0; i < n; i++) md = fmax(md, fabs((double)got[i] - want[i]));
    if (md / scale > worst_rel) worst_rel = md / scale;
    if (getenv("LQFACE_VERBOSE") && md / scale > 2e-5) printf("     %s: %.2e of scale %.3g\n", label, md / scale, scale);
    if (md > TOL * scale) tu_close(label, got, want, n, TOL * scale, 0.0);
    else tu_checks++;
}

static void nchw_to_nhwc(int64_t n, int64_t c, int64_t h, int64_t w, const float *src, float *dst) {
    int64_t d[4] = {n, c, h, w};
    lqf_view vs, vd;
    lqf_view_dense(&vs, 4, d);
    lqf_view_nhwc(&vd, d);
    lqf_backend_default()->copy_view(&vs, src, &vd, dst);
}

typedef struct {
    char name[MAXT][160];
    long numel[MAXT];
    int grad[MAXT];
    int n;
    lqf_backbone_config cfg;
    int batch;
} spec;

static int read_spec(const char *net, spec *s) {
    char rel[256], line[512];
    snprintf(rel, sizeof rel, "backbone/%s.txt", net);
    FILE *f = fopen(tu_testdata(rel), "r");
    if (!CHECK(f != NULL)) return -1;
    memset(s, 0, sizeof *s);
    lqf_backbone_config_default(&s->cfg, LQF_BACKBONE_IRESNET, 18);
    int b0, b1, b2, b3, base, scale, sep, ch;
    while (fgets(line, sizeof line, f)) {
        char word[64], arg[160];
        if (sscanf(line, "%63s %159s", word, arg) < 1) continue;
        if (!strcmp(word, "kind")) {
            s->cfg.kind = !strcmp(arg, "iresnet")   ? LQF_BACKBONE_IRESNET
                          : !strcmp(arg, "adaface") ? LQF_BACKBONE_IRESNET_ADAFACE
                                                    : LQF_BACKBONE_MOBILEFACENET;
        } else if (!strcmp(word, "depth")) {
            s->cfg.depth = atoi(arg);
        } else if (!strcmp(word, "width")) {
            sscanf(line, "width %d %d %d %d", &s->cfg.width[0], &s->cfg.width[1], &s->cfg.width[2], &s->cfg.width[3]);
        } else if (!strcmp(word, "input")) {
            sscanf(line, "input %d %d %d", &ch, &s->cfg.input_h, &s->cfg.input_w);
        } else if (!strcmp(word, "emb")) {
            s->cfg.emb = atoi(arg);
        } else if (!strcmp(word, "mfn")) {
            sscanf(line, "mfn %d %d %d %d %d %d %d", &base, &scale, &sep, &b0, &b1, &b2, &b3);
            s->cfg.mfn_base = base;
            s->cfg.mfn_scale = scale;
            s->cfg.mfn_sep = sep;
            s->cfg.mfn_blocks[0] = b0;
            s->cfg.mfn_blocks[1] = b1;
            s->cfg.mfn_blocks[2] = b2;
            s->cfg.mfn_blocks[3] = b3;
        } else if (!strcmp(word, "tensor") && s->n < MAXT) {
            sscanf(line, "tensor %159s %ld %d", s->name[s->n], &s->numel[s->n], &s->grad[s->n]);
            s->n++;
        }
    }
    fclose(f);
    s->cfg.dropout = 0.0f;
    s->batch = 3;
    return 0;
}

static int is_stat(const char *name) {
    return strstr(name, ".running_mean") != NULL || strstr(name, ".running_var") != NULL;
}

/* Load the state_dict values; returns the number of floats consumed, or -1. */
static long load_weights(lqf_graph *g, const spec *s, const float *d) {
    long off = 0;
    for (int i = 0; i < s->n; i++) {
        if (lqf_backbone_set(g, g->params, s->name[i], d + off, (size_t)s->numel[i]) != LQF_OK) {
            fprintf(stderr, "%s\n", lqf_last_error());
            return -1;
        }
        off += s->numel[i];
    }
    return off;
}

static void test_net(const char *net) {
    spec *s = malloc(sizeof *s);
    if (read_spec(net, s) != 0) {
        free(s);
        return;
    }
    char rel[256];
    snprintf(rel, sizeof rel, "backbone/%s.bin", net);
    float *d = NULL;
    long nd = tu_load_f32(tu_testdata(rel), &d);
    CHECK(nd > 0);
    lqf_graph *g = NULL;
    CHECK(lqf_backbone_build(&s->cfg, &g) == LQF_OK);
    if (!g || nd <= 0) {
        free(s);
        free(d);
        lqf_graph_free(g);
        return;
    }
    /* names: the graph's state tensors are exactly the state_dict's */
    int nstate = 0, bad = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const lqf_tensor *T = &g->tensors[t];
        if ((T->kind != LQF_T_PARAM && T->kind != LQF_T_CONST) || strchr(T->name, '#')) continue;
        nstate++;
        int found = -1;
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->name[i], T->name)) found = i;
        if (found < 0 || s->numel[found] != lqf_tensor_numel(T) || s->grad[found] != (T->kind == LQF_T_PARAM)) {
            fprintf(stderr, "%s: tensor '%s' does not match the state_dict\n", net, T->name);
            bad++;
        }
    }
    printf("%s: %d state tensors, state_dict %d\n", net, nstate, s->n);
    CHECK(bad == 0 && nstate == s->n);

    long off = load_weights(g, s, d);
    CHECK(off > 0);
    if (off <= 0) goto out;
    const int B = s->batch, H = s->cfg.input_h, W = s->cfg.input_w, E = s->cfg.emb;
    const size_t nx = (size_t)B * 3 * H * W, ne = (size_t)B * E;
    const float *x = d + off, *w_out = x + nx, *emb = w_out + ne, *dx = emb + ne, *grads = dx + nx;
    long ngrad = 0, nstat = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->grad[i]) ngrad += s->numel[i];
        if (is_stat(s->name[i])) nstat += s->numel[i];
    }
    const float *stats = grads + ngrad, *emb_eval = stats + nstat;
    CHECK(nd == off + (long)(2 * nx + 3 * ne) + ngrad + nstat);
    if (nd != off + (long)(2 * nx + 3 * ne) + ngrad + nstat) goto out;

    lqf_exec *tr = NULL;
    CHECK(lqf_exec_create(g, B, LQF_EXEC_TRAIN, &tr) == LQF_OK);
    if (!tr) goto out;
    printf("%s: trainer holds %.1f MB\n", net, lqf_exec_bytes(tr) / 1e6);
    lqf_exec_set_input_grad(tr, 1);
    int tin = g->inputs[0], tout = g->outputs[0];
    nchw_to_nhwc(B, 3, H, W, x, lqf_exec_buffer(tr, tin));
    CHECK(lqf_exec_forward(tr) == LQF_OK);
    compare(net, "train embedding", lqf_exec_buffer(tr, tout), emb, ne);
    memcpy(lqf_exec_grad(tr, tout), w_out, ne * sizeof(float));
    lqf_exec_zero_grad(tr);
    CHECK(lqf_exec_backward(tr) == LQF_OK);
    float *tmp = malloc(nx * sizeof(float) + (size_t)ngrad * sizeof(float) + 64);
    nchw_to_nhwc(B, 3, H, W, dx, tmp);
    compare(net, "d input", lqf_exec_grad(tr, tin), tmp, nx);
    /* A per-channel shift feeding only training-mode BatchNorms has an exactly zero
     * gradient; torch's value there is rounding noise (~1e-8 of the largest gradient), so
     * such "vanishing" tensors (reference below 1e-6 of the network's largest gradient)
     * must vanish here too; every other tensor is compared at 1e-4 of its own scale. */
    double gmax = tu_max_abs(grads, (size_t)ngrad);
    int nvanish = 0;
    const float *rg = grads, *rs = stats;
    double wg = 0, ws = 0;
    for (int i = 0; i < s->n; i++) {
        char what[200];
        if (s->grad[i]) {
            double before = worst_rel;
            worst_rel = 0;
            lqf_backbone_get(g, lqf_exec_grads(tr), s->name[i], tmp, (size_t)s->numel[i]);
            snprintf(what, sizeof what, "grad %s", s->name[i]);
            if (tu_max_abs(rg, (size_t)s->numel[i]) < 1e-6 * gmax) {
                nvanish++;
                if (!CHECK(tu_max_abs(tmp, (size_t)s->numel[i]) < 1e-6 * gmax))
                    fprintf(stderr, "%s %s: %g does not vanish\n", net, what, tu_max_abs(tmp, (size_t)s->numel[i]));
            } else {
                compare(net, what, tmp, rg, (size_t)s->numel[i]);
            }
            wg = fmax(wg, worst_rel);
            worst_rel = fmax(before, worst_rel);
            rg += s->numel[i];
        }
        if (is_stat(s->name[i])) {
            double before = worst_rel;
            worst_rel = 0;
            lqf_backbone_get(g, g->params, s->name[i], tmp, (size_t)s->numel[i]);
            snprintf(what, sizeof what, "after forward %s", s->name[i]);
            compare(net, what, tmp, rs, (size_t)s->numel[i]);
            ws = fmax(ws, worst_rel);
            worst_rel = fmax(before, worst_rel);
            rs += s->numel[i];
        }
    }
    printf("%s: parameter gradients worst %.2e (%d vanishing tensors), running statistics worst %.2e of scale\n",
           net, wg, nvanish, ws);

    /* eval mode through the trainer and through the inference executor */
    lqf_exec_set_training(tr, 0);
    CHECK(lqf_exec_forward(tr) == LQF_OK);
    compare(net, "eval embedding (trainer)", lqf_exec_buffer(tr, tout), emb_eval, ne);
    lqf_exec *p = NULL;
    CHECK(lqf_exec_create(g, B, LQF_EXEC_INFER, &p) == LQF_OK);
    if (p) {
        nchw_to_nhwc(B, 3, H, W, x, lqf_exec_buffer(p, tin));
        CHECK(lqf_exec_forward(p) == LQF_OK);
        compare(net, "eval embedding (executor)", lqf_exec_buffer(p, tout), emb_eval, ne);
        lqf_exec_free(p);
    }

    /* frozen tensors: the first learnable tensor gets no gradient, the others the same */
    int t0 = -1;
    for (int t = 0; t < g->n_tensors && t0 < 0; t++)
        if (g->tensors[t].kind == LQF_T_PARAM) t0 = t;
    float *saved = malloc(g->n_params * sizeof(float));
    memcpy(saved, lqf_exec_grads(tr), g->n_params * sizeof(float));
    lqf_exec_set_training(tr, 1);
    lqf_exec_freeze_tensor(tr, t0, 1);
    lqf_exec_zero_grad(tr);
    CHECK(lqf_exec_forward(tr) == LQF_OK);
    memcpy(lqf_exec_grad(tr, tout), w_out, ne * sizeof(float));
    CHECK(lqf_exec_backward(tr) == LQF_OK);
    const lqf_tensor *T0 = &g->tensors[t0];
    CHECK(tu_max_abs(lqf_exec_grads(tr) + T0->offset, (size_t)lqf_tensor_numel(T0)) == 0.0);
    CHECK(lqf_exec_freeze(tr, "no.such.tensor", 1) == -1);
    lqf_exec_free(tr);
    /* batch 1: the final BatchNorm1d cannot take batch statistics (torch refuses too) */
    tr = NULL;
    CHECK(lqf_exec_create(g, 1, LQF_EXEC_TRAIN, &tr) == LQF_OK);
    if (tr) {
        CHECK(lqf_exec_forward(tr) == LQF_ERR_ARG);
        printf("batch 1 in training mode: %s\n", lqf_last_error());
        lqf_exec_set_training(tr, 0);
        CHECK(lqf_exec_forward(tr) == LQF_OK);
    }
    free(saved);
    free(tmp);
    lqf_exec_free(tr);

    /* AdaFace with its Dropout(0.4): eval mode is the identity, training masks are seeded */
    if (s->cfg.kind == LQF_BACKBONE_IRESNET_ADAFACE) {
        lqf_backbone_config c = s->cfg;
        c.dropout = 0.4f;
        lqf_graph *g2 = NULL;
        CHECK(lqf_backbone_build(&c, &g2) == LQF_OK);
        if (g2 && load_weights(g2, s, d) > 0) {
            /* running statistics as after the reference's training forward */
            rs = stats;
            for (int i = 0; i < s->n; i++)
                if (is_stat(s->name[i])) {
                    lqf_backbone_set(g2, g2->params, s->name[i], rs, (size_t)s->numel[i]);
                    rs += s->numel[i];
                }
            lqf_exec *t2 = NULL;
            CHECK(lqf_exec_create(g2, B, LQF_EXEC_TRAIN, &t2) == LQF_OK);
            if (t2) {
                float *e1 = malloc(ne * sizeof(float) * 2);
                nchw_to_nhwc(B, 3, H, W, x, lqf_exec_buffer(t2, g2->inputs[0]));
                lqf_exec_set_training(t2, 0);
                CHECK(lqf_exec_forward(t2) == LQF_OK);
                compare(net, "eval embedding with Dropout(0.4)", lqf_exec_buffer(t2, g2->outputs[0]), emb_eval, ne);
                lqf_exec_set_training(t2, 1);
                lqf_exec_set_seed(t2, 99);
                CHECK(lqf_exec_forward(t2) == LQF_OK);
                memcpy(e1, lqf_exec_buffer(t2, g2->outputs[0]), ne * sizeof(float));
                CHECK(lqf_exec_forward(t2) == LQF_OK); /* next forward: another mask */
                memcpy(e1 + ne, lqf_exec_buffer(t2, g2->outputs[0]), ne * sizeof(float));
                CHECK(memcmp(e1, e1 + ne, ne * sizeof(float)) != 0);
                lqf_exec_set_seed(t2, 99); /* same seed, same first mask */
                CHECK(lqf_exec_forward(t2) == LQF_OK);
                CHECK(memcmp(e1, lqf_exec_buffer(t2, g2->outputs[0]), ne * sizeof(float)) == 0);
                free(e1);
                lqf_exec_free(t2);
            }
        }
        lqf_graph_free(g2);
    }
out:
    lqf_graph_free(g);
    free(d);
    free(s);
}

/* ---------------------------------------------------------------- imported ONNX */

/* The shared MobileFaceNet ONNX model, imported without optimisation (Conv with bias,
 * PRelu, Add, Reshape), is trainable: the trainer's forward equals the inference executor's
 * and torch's (float64 autograd over the same ONNX file, tools/ref_backbone.py), and the
 * gradients of sum(w * out) w.r.t. the input and eight initializers match torch's. An
 * optimised (fused) graph is refused with a message naming the node. */
static void test_onnx_trainable(void) {
    const char *path = tu_shared("models/mobilefacenet_fr512.onnx");
    uint8_t *buf = NULL;
    size_t len = 0;
    float *ref = NULL;
    long nref = tu_load_f32(tu_testdata("backbone/onnx_mfn.bin"), &ref);
    FILE *f = fopen(tu_testdata("backbone/onnx_mfn.txt"), "r");
    if (!CHECK(nref > 0 && f != NULL) || lqf_read_file(path, &buf, &len) != LQF_OK) {
        CHECK(!"shared model mobilefacenet_fr512.onnx and its reference are readable");
        if (f) fclose(f);
        free(ref);
        return;
    }
    lqf_graph *g = NULL;
    CHECK(lqf_onnx_import(path, buf, len, NULL, &g, NULL, NULL) == LQF_OK);
    free(buf);
    lqf_exec *tr = NULL;
    lqf_exec *p = NULL;
    if (g) {
        CHECK(lqf_exec_create(g, 1, LQF_EXEC_TRAIN, &tr) == LQF_OK);
        CHECK(lqf_exec_create(g, 1, LQF_EXEC_INFER, &p) == LQF_OK);
    }
    if (tr && p) {
        const char *net = "mobilefacenet_fr512.onnx";
        int tin = g->inputs[0], tout = g->outputs[0];
        const lqf_tensor *ti = &g->tensors[tin];
        size_t nx = (size_t)lqf_tensor_numel(ti), ne = (size_t)lqf_tensor_numel(&g->tensors[tout]);
        float *x = lqf_exec_buffer(tr, tin); /* NHWC */
        for (size_t i = 0; i < nx; i++) x[i] = (float)(0.9 * sin(0.001 * i + 0.3 * (i % 3)));
        memcpy(lqf_exec_buffer(p, tin), x, nx * sizeof(float));
        CHECK(lqf_exec_forward(p) == LQF_OK);
        CHECK(lqf_exec_forward(tr) == LQF_OK);
        compare(net, "trainer forward vs executor", lqf_exec_buffer(tr, tout), lqf_exec_buffer(p, tout), ne);
        compare(net, "trainer forward vs torch", lqf_exec_buffer(tr, tout), ref, ne);
        float *go = lqf_exec_grad(tr, tout);
        for (size_t i = 0; i < ne; i++) go[i] = (float)cos(0.7 * i);
        lqf_exec_set_input_grad(tr, 1);
        lqf_exec_zero_grad(tr);
        CHECK(lqf_exec_backward(tr) == LQF_OK);
        float *tmp = malloc(nx * sizeof(float));
        nchw_to_nhwc(1, ti->dims[1], ti->dims[2], ti->dims[3], ref + ne, tmp);
        compare(net, "d input vs torch", lqf_exec_grad(tr, tin), tmp, nx);
        free(tmp);
        long off = (long)(ne + nx);
        char line[256], name[160];
        long n;
        int ngrad = 0;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "grad %159s %ld", name, &n) == 2 && off + n <= nref) {
                float *gt = malloc((size_t)n * sizeof(float));
                CHECK(lqf_backbone_get(g, lqf_exec_grads(tr), name, gt, (size_t)n) == LQF_OK);
                char what[200];
                snprintf(what, sizeof what, "grad %s (%ld values) vs torch", name, n);
                compare(net, what, gt, ref + off, (size_t)n);
                off += n;
                ngrad++;
                free(gt);
            }
        CHECK(ngrad == 8 && off == nref);
    }
    fclose(f);
    free(ref);
    lqf_exec_free(p);
    lqf_exec_free(tr);
    if (g) {
        CHECK(lqf_graph_optimize(g) == LQF_OK);
        tr = NULL;
        CHECK(lqf_exec_create(g, 1, LQF_EXEC_TRAIN, &tr) == LQF_ERR_UNSUPPORTED && tr == NULL);
        printf("optimised graph: %s\n", lqf_last_error());
        lqf_graph_free(g);
    }
}

static void test_counts(void) {
    FILE *f = fopen(tu_testdata("backbone/counts.txt"), "r");
    if (!CHECK(f != NULL)) return;
    char kind[32];
    int depth;
    long long want;
    while (fscanf(f, "%31s %d %lld", kind, &depth, &want) == 3) {
        lqf_backbone_config c;
        lqf_backbone_kind k = !strcmp(kind, "iresnet")   ? LQF_BACKBONE_IRESNET
                              : !strcmp(kind, "adaface") ? LQF_BACKBONE_IRESNET_ADAFACE
                                                         : LQF_BACKBONE_MOBILEFACENET;
        lqf_backbone_config_default(&c, k, depth);
        lqf_graph *g = NULL;
        CHECK(lqf_backbone_build(&c, &g) == LQF_OK);
        if (!g) continue;
        long long got = (long long)lqf_backbone_param_count(g);
        printf("%s-%d: %lld parameters (torch %lld)\n", kind, depth, got, want);
        CHECK(got == want);
        lqf_graph_free(g);
    }
    fclose(f);
    /* bad configurations are refused with a message */
    lqf_backbone_config c;
    lqf_graph *g = NULL;
    lqf_backbone_config_default(&c, LQF_BACKBONE_IRESNET, 42);
    CHECK(lqf_backbone_build(&c, &g) == LQF_ERR_ARG && g == NULL && strstr(lqf_last_error(), "42"));
    lqf_backbone_config_default(&c, LQF_BACKBONE_IRESNET_ADAFACE, 200);
    CHECK(lqf_backbone_build(&c, &g) == LQF_ERR_UNSUPPORTED && g == NULL);
    lqf_backbone_config_default(&c, LQF_BACKBONE_MOBILEFACENET, 0);
    c.input_h = 100;
    CHECK(lqf_backbone_build(&c, &g) == LQF_ERR_ARG && g == NULL);
}

/* Training-step throughput at batch 64, 112x112 (forward + backward, training mode). */
static void bench(lqf_backbone_kind kind, int depth, const char *label) {
    lqf_backbone_config c;
    lqf_backbone_config_default(&c, kind, depth);
    lqf_graph *g = NULL;
    if (lqf_backbone_build(&c, &g) != LQF_OK) return;
    int B = 64;
    const char *bs = getenv("LQFACE_BENCH_BATCH");
    if (bs && atoi(bs) > 0) B = atoi(bs);
    lqf_exec *tr = NULL;
    if (lqf_exec_create(g, B, LQF_EXEC_TRAIN, &tr) != LQF_OK) {
        fprintf(stderr, "bench %s: %s\n", label, lqf_last_error());
        lqf_graph_free(g);
        return;
    }
    float *in = lqf_exec_buffer(tr, g->inputs[0]);
    for (size_t i = 0; i < (size_t)B * 3 * 112 * 112; i++) in[i] = (float)sin(0.001 * i);
    double tf = 0, tb = 0;
    int steps = 2;
    clock_t c0 = clock();
    for (int s = 0; s <= steps; s++) {
        double t0 = lqf_now();
        lqf_exec_forward(tr);
        double t1 = lqf_now();
        float *go = lqf_exec_grad(tr, g->outputs[0]);
        for (int i = 0; i < B * c.emb; i++) go[i] = 1e-3f * (float)((i % 7) - 3);
        lqf_exec_backward(tr);
        double t2 = lqf_now();
        if (s > 0) { /* the first step warms up */
            tf += t1 - t0;
            tb += t2 - t1;
        }
    }
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    printf("bench %s batch %d: forward %.2f s, backward %.2f s per step: %.2f img/s (trainer %.2f GB); "
           "process CPU %.1f s for %d steps\n", label, B, tf / steps, tb / steps, B * steps / (tf + tb),
           lqf_exec_bytes(tr) / 1e9, cpu, steps + 1);
    /* where the last step's time went, by operator (convolutions by kind) */
    const double *nf, *nb;
    lqf_exec_node_times(tr, &nf, &nb);
    const char *cls[8] = {"conv dense 3x3", "conv 1x1", "conv depthwise", "conv grouped/other", "batchnorm",
                          "prelu", "gemm", "other"};
    double af[8] = {0}, ab[8] = {0};
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *nd = &g->nodes[i];
        int k = 7;
        if (nd->op == LQF_OP_CONV) {
            int cin = (int)g->tensors[nd->in[0]].dims[1], G = nd->a.conv.group;
            k = nd->a.conv.kh == 1 && G == 1 ? 1 : G == 1 ? 0 : G == cin ? 2 : 3;
        } else if (nd->op == LQF_OP_BATCHNORM) k = 4;
        else if (nd->op == LQF_OP_PRELU) k = 5;
        else if (nd->op == LQF_OP_GEMM) k = 6;
        af[k] += nf[i];
        ab[k] += nb[i];
    }
    for (int k = 0; k < 8; k++)
        if (af[k] + ab[k] > 0.005) printf("     %-20s forward %6.3f s  backward %6.3f s\n", cls[k], af[k], ab[k]);
    lqf_exec_free(tr);
    lqf_graph_free(g);
}

/* Shape inference: a network built for 32x32 runs at 28x24 (tools/ref_backbone_resize.py,
 * eval mode, batch 2) without being rebuilt: as an optimised lqf_net through
 * lqf_net_set_input_size, and as the unfused graph through lqf_graph_infer_shapes and a
 * training executor in eval mode. A size whose flattened features no longer fit the Linear
 * layer is refused naming the size, and the net keeps working at the last good one. */
static void test_resize(const char *net) {
    char name[64], rel[256];
    snprintf(name, sizeof name, "%s_resize", net);
    spec *s = malloc(sizeof *s);
    if (read_spec(name, s) != 0) {
        free(s);
        return;
    }
    int B = 0, H = 0, W = 0;
    snprintf(rel, sizeof rel, "backbone/%s.txt", name);
    FILE *f = fopen(tu_testdata(rel), "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) sscanf(line, "run %d %d %d", &B, &H, &W);
    if (f) fclose(f);
    snprintf(rel, sizeof rel, "backbone/%s.bin", name);
    float *d = NULL;
    long nd = tu_load_f32(tu_testdata(rel), &d);
    lqf_graph *g = NULL, *g2 = NULL;
    CHECK(B > 0 && nd > 0 && lqf_backbone_build(&s->cfg, &g) == LQF_OK && lqf_backbone_build(&s->cfg, &g2) == LQF_OK);
    long off = g && g2 && nd > 0 ? load_weights(g, s, d) : -1;
    if (off > 0) CHECK(load_weights(g2, s, d) == off);
    const size_t nx = (size_t)B * 3 * H * W, ne = (size_t)B * s->cfg.emb;
    if (!CHECK(off > 0 && nd == off + (long)(nx + ne))) {
        lqf_graph_free(g);
        lqf_graph_free(g2);
        free(s);
        free(d);
        return;
    }
    const float *x = d + off, *emb = x + nx;
    float *out = calloc(ne, sizeof(float));
    char what[128];

    /* the optimised net, resized by inference */
    lqf_net *n = NULL;
    CHECK(lqf_net_from_graph(g, 1, &n) == LQF_OK);
    CHECK(lqf_net_set_input_size(n, H, W) == LQF_OK);
    int64_t dims[8];
    CHECK(lqf_net_input_shape(n, 0, B, dims) == 4 && dims[0] == B && dims[2] == H && dims[3] == W);
    CHECK(lqf_net_run(n, B, &x, &out) == LQF_OK);
    snprintf(what, sizeof what, "eval embedding at %dx%d (net resized by shape inference)", H, W);
    compare(net, what, out, emb, ne);
    lqf_status st = lqf_net_set_input_size(n, 40, 40);
    printf("%s at 40x40 -> %s: %s\n", net, lqf_status_string(st), lqf_last_error());
    CHECK(st == LQF_ERR_SHAPE && strstr(lqf_last_error(), "40x40"));
    memset(out, 0, ne * sizeof(float));
    CHECK(lqf_net_run(n, B, &x, &out) == LQF_OK);
    compare(net, "eval embedding again after a refused size", out, emb, ne);
    lqf_net_free(n);

    /* the unfused graph: new input dims, inference, a training executor in eval mode */
    lqf_tensor *in = &g2->tensors[g2->inputs[0]];
    in->dims[2] = H;
    in->dims[3] = W;
    CHECK(lqf_graph_infer_shapes(g2) == LQF_OK);
    lqf_exec *tr = NULL;
    CHECK(lqf_exec_create(g2, B, LQF_EXEC_TRAIN, &tr) == LQF_OK);
    if (tr) {
        lqf_exec_set_training(tr, 0);
        lqf_exec_write(tr, g2->inputs[0], x);
        CHECK(lqf_exec_forward(tr) == LQF_OK);
        lqf_exec_read(tr, g2->outputs[0], out);
        snprintf(what, sizeof what, "eval embedding at %dx%d (graph re-inferred, training executor)", H, W);
        compare(net, what, out, emb, ne);
        lqf_exec_free(tr);
    }
    lqf_graph_free(g2);
    free(out);
    free(s);
    free(d);
}

int main(void) {
    test_net("ir18_insightface");
    test_net("ir18_adaface");
    test_net("mobilefacenet");
    test_resize("ir18_insightface");
    test_resize("ir18_adaface");
    test_resize("mobilefacenet");
    test_counts();
    test_onnx_trainable();
    printf("largest error vs PyTorch: %.3g of the reference's scale\n", worst_rel);
    const char *b = getenv("LQFACE_BENCH_TRAIN");
    if (b && (!strcmp(b, "1") || !strcmp(b, "mfn"))) bench(LQF_BACKBONE_MOBILEFACENET, 0, "MobileFaceNet");
    if (b && (!strcmp(b, "1") || !strcmp(b, "ir18"))) bench(LQF_BACKBONE_IRESNET, 18, "IR-18");
    return tu_finish("test_backbone");
}
