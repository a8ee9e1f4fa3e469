/*
 * test_onnx_bad.c — bad input to the ONNX importer and the network API: a missing file, an
 * empty file, truncated copies of a real model, a text file, models written here with
 * protobuf-c that use an unsupported operator (named, unnamed, foreign domain), a float
 * operator that only exists as shape folding, an unsupported Resize mode, an undefined
 * input, a corrupt initializer, more inputs than the operator takes, a required input left
 * out, and input sizes a model cannot take. Each must return the
 * right status with a message naming the file and the problem, and never crash.
 */
#include "lqface.h"
#include "nn/net.h"
#include "onnx.pb-c.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_tmpdir[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k = 0;
    char *b = buf[k++ & 3];
    snprintf(b, 512, "%s/%s", g_tmpdir, name);
    return b;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}

/* load must fail with status st and a message containing the path and every needle */
static void expect_fail(const char *what, const char *path, lqf_status st, const char *n1, const char *n2) {
    lqf_net *net = (lqf_net *)0x1;
    lqf_status got = lqf_net_load_onnx(path, &net);
    const char *msg = lqf_last_error();
    printf("%-34s -> %s: %s\n", what, lqf_status_string(got), msg);
    CHECK(got == st);
    CHECK(net == NULL);
    CHECK(strstr(msg, path) != NULL);
    if (n1) CHECK(strstr(msg, n1) != NULL);
    if (n2) CHECK(strstr(msg, n2) != NULL);
    if (got == LQF_OK) lqf_net_free(net);
}

/* ------------------------------------------------------------ a tiny model builder */

typedef struct {
    Onnx__NodeProto nodes[8];
    Onnx__NodeProto *pnodes[8];
    Onnx__AttributeProto attrs[8][4];
    Onnx__AttributeProto *pattrs[8][4];
    int n_nodes;
    Onnx__TensorProto inits[4];
    Onnx__TensorProto *pinits[4];
    int n_inits;
} builder;

static Onnx__NodeProto *add_node(builder *b, const char *op, const char *name, char **in, int nin, char **out,
                                 int nout) {
    Onnx__NodeProto *n = &b->nodes[b->n_nodes];
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->input = in;
    n->n_input = (size_t)nin;
    n->output = out;
    n->n_output = (size_t)nout;
    b->pnodes[b->n_nodes] = n;
    b->n_nodes++;
    return n;
}

static void add_attr_str(builder *b, Onnx__NodeProto *n, const char *name, const char *s) {
    int k = (int)n->n_attribute, i = (int)(n - b->nodes);
    Onnx__AttributeProto *a = &b->attrs[i][k];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = 1;
    a->s.data = (uint8_t *)s;
    a->s.len = strlen(s);
    b->pattrs[i][k] = a;
    n->attribute = b->pattrs[i];
    n->n_attribute = (size_t)k + 1;
}

static void add_init(builder *b, const char *name, int dtype, int64_t *dims, int nd, void *raw, size_t bytes) {
    Onnx__TensorProto *t = &b->inits[b->n_inits];
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dtype;
    t->dims = dims;
    t->n_dims = (size_t)nd;
    t->has_raw_data = 1;
    t->raw_data.data = raw;
    t->raw_data.len = bytes;
    b->pinits[b->n_inits++] = t;
}

/* Write a model: input "x" float [1,3,8,8], output "y", the builder's nodes and initializers. */
static void write_model(const char *path, builder *b, int opset) {
    Onnx__TensorShapeProto__Dimension dims[4], *pd[4];
    int64_t shape[4] = {1, 3, 8, 8};
    for (int i = 0; i < 4; i++) {
        onnx__tensor_shape_proto__dimension__init(&dims[i]);
        dims[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dims[i].dim_value = shape[i];
        pd[i] = &dims[i];
    }
    Onnx__TensorShapeProto sp;
    onnx__tensor_shape_proto__init(&sp);
    sp.dim = pd;
    sp.n_dim = 4;
    Onnx__TypeProto__Tensor tt;
    onnx__type_proto__tensor__init(&tt);
    tt.has_elem_type = 1;
    tt.elem_type = 1;
    tt.shape = &sp;
    Onnx__TypeProto tp;
    onnx__type_proto__init(&tp);
    tp.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp.tensor_type = &tt;
    Onnx__ValueInfoProto in, out, *pin = &in, *pout = &out;
    onnx__value_info_proto__init(&in);
    onnx__value_info_proto__init(&out);
    in.name = "x";
    in.type = &tp;
    out.name = "y";
    Onnx__GraphProto g;
    onnx__graph_proto__init(&g);
    g.name = "bad";
    g.node = b->pnodes;
    g.n_node = (size_t)b->n_nodes;
    g.initializer = b->pinits;
    g.n_initializer = (size_t)b->n_inits;
    g.input = &pin;
    g.n_input = 1;
    g.output = &pout;
    g.n_output = 1;
    Onnx__OperatorSetIdProto os, *pos = &os;
    onnx__operator_set_id_proto__init(&os);
    os.domain = "";
    os.has_version = 1;
    os.version = opset;
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 6;
    m.opset_import = &pos;
    m.n_opset_import = 1;
    m.producer_name = "test_onnx_bad";
    m.graph = &g;
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&m, buf);
    write_file(path, buf, len);
    free(buf);
}

/* ------------------------------------------------------------ cases */

static void test_files(void) {
    expect_fail("missing file", tmp_path("no_such_model.onnx"), LQF_ERR_IO, "cannot open", NULL);
    write_file(tmp_path("empty.onnx"), "", 0);
    expect_fail("empty file", tmp_path("empty.onnx"), LQF_ERR_FORMAT, "not a valid ONNX model", "empty");
    const char *txt = "This is a text file, not an ONNX model.\nSecond line 12345\n";
    write_file(tmp_path("text.onnx"), txt, strlen(txt));
    expect_fail("text file", tmp_path("text.onnx"), LQF_ERR_FORMAT, "not a valid ONNX model", NULL);

    /* truncated copies of a real model */
    FILE *f = fopen(tu_shared("models/mobilefacenet_fr512.onnx"), "rb");
    if (!CHECK(f != NULL)) return;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)len);
    CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    long cuts[] = {len / 2, 1, 100, len / 3, len - 1};
    for (int i = 0; i < 5; i++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %ld of %ld bytes", cuts[i], len);
        write_file(tmp_path("trunc.onnx"), buf, (size_t)cuts[i]);
        expect_fail(what, tmp_path("trunc.onnx"), LQF_ERR_FORMAT, "not a valid ONNX model", "truncated or corrupt");
    }
    /* flipped bytes in the middle must not crash (any failure status, or a load) */
    for (int i = 0; i < 20; i++) buf[len / 2 + i * 997] ^= 0xA5;
    write_file(tmp_path("corrupt.onnx"), buf, (size_t)len);
    lqf_net *net = NULL;
    lqf_status st = lqf_net_load_onnx(tmp_path("corrupt.onnx"), &net);
    printf("%-34s -> %s: %s\n", "20 corrupted bytes", lqf_status_string(st), st ? lqf_last_error() : "");
    CHECK(st == LQF_OK ? net != NULL : net == NULL);
    lqf_net_free(net);
    free(buf);
}

static void test_operators(void) {
    char *x[] = {"x"}, *r[] = {"r"}, *y[] = {"y"}, *xx[] = {"x", "x"};
    builder b;
    /* a named unsupported operator after a supported one */
    memset(&b, 0, sizeof b);
    add_node(&b, "Relu", "relu_0", x, 1, r, 1);
    add_node(&b, "LSTM", "lstm_1", r, 1, y, 1);
    write_model(tmp_path("lstm.onnx"), &b, 11);
    expect_fail("unsupported operator", tmp_path("lstm.onnx"), LQF_ERR_UNSUPPORTED, "unsupported ONNX operator 'LSTM'",
                "(node 'lstm_1')");
    /* unnamed: the message falls back to the node index and output */
    memset(&b, 0, sizeof b);
    add_node(&b, "Relu", "relu_0", x, 1, r, 1);
    add_node(&b, "NonMaxSuppression", NULL, r, 1, y, 1);
    write_model(tmp_path("nms.onnx"), &b, 11);
    expect_fail("unsupported unnamed operator", tmp_path("nms.onnx"), LQF_ERR_UNSUPPORTED, "'NonMaxSuppression'",
                "output 'y'");
    /* a supported name in a foreign domain */
    memset(&b, 0, sizeof b);
    Onnx__NodeProto *n = add_node(&b, "Relu", "ms_relu", x, 1, y, 1);
    n->domain = "com.microsoft";
    write_model(tmp_path("domain.onnx"), &b, 11);
    expect_fail("operator of another domain", tmp_path("domain.onnx"), LQF_ERR_UNSUPPORTED, "com.microsoft", "'ms_relu'");
    /* Gather exists only as shape folding: on a float activation it is refused by name */
    memset(&b, 0, sizeof b);
    int64_t one = 1, idx = 0;
    char *gi[] = {"r", "idx"};
    add_init(&b, "idx", 7, &one, 1, &idx, 8);
    add_node(&b, "Relu", "relu_0", x, 1, r, 1);
    add_node(&b, "Gather", "gather_1", gi, 2, y, 1);
    write_model(tmp_path("gather.onnx"), &b, 11);
    expect_fail("Gather on activations", tmp_path("gather.onnx"), LQF_ERR_UNSUPPORTED, "Gather node 'gather_1'",
                "constant");
    /* Resize in linear mode */
    memset(&b, 0, sizeof b);
    float scales[4] = {1, 1, 2, 2};
    int64_t four = 4;
    char *ri[] = {"x", "", "scales"};
    add_init(&b, "scales", 1, &four, 1, scales, sizeof scales);
    n = add_node(&b, "Resize", "up", ri, 3, y, 1);
    add_attr_str(&b, n, "mode", "linear");
    write_model(tmp_path("linear.onnx"), &b, 11);
    expect_fail("Resize linear", tmp_path("linear.onnx"), LQF_ERR_UNSUPPORTED, "Resize node 'up'", "'linear'");
    /* an input nobody defined */
    memset(&b, 0, sizeof b);
    char *ghost[] = {"ghost"};
    add_node(&b, "Relu", "relu_0", ghost, 1, y, 1);
    write_model(tmp_path("ghost.onnx"), &b, 11);
    expect_fail("undefined input", tmp_path("ghost.onnx"), LQF_ERR_FORMAT, "'ghost' is not defined", NULL);
    /* an initializer whose bytes do not match its shape */
    memset(&b, 0, sizeof b);
    int64_t wd[4] = {4, 3, 3, 3};
    float w[50] = {0};
    char *ci[] = {"x", "w"};
    add_init(&b, "w", 1, wd, 4, w, sizeof w);
    add_node(&b, "Conv", "conv_0", ci, 2, y, 1);
    write_model(tmp_path("badinit.onnx"), &b, 11);
    expect_fail("initializer of the wrong size", tmp_path("badinit.onnx"), LQF_ERR_FORMAT, "'w'", "200 bytes");
    /* Add of tensors that do not broadcast */
    memset(&b, 0, sizeof b);
    int64_t cd[4] = {1, 3, 8, 5};
    float c[120] = {0};
    char *ai[] = {"x", "c"};
    add_init(&b, "c", 1, cd, 4, c, sizeof c);
    add_node(&b, "Add", "add_0", ai, 2, y, 1);
    write_model(tmp_path("bcast.onnx"), &b, 11);
    expect_fail("shapes that do not broadcast", tmp_path("bcast.onnx"), LQF_ERR_SHAPE, "Add node 'add_0'", "broadcast");

    /* input counts are checked against the operator table before any handler reads them */
    memset(&b, 0, sizeof b);
    add_node(&b, "Relu", "relu_2in", xx, 2, y, 1);
    write_model(tmp_path("relu2.onnx"), &b, 11);
    expect_fail("Relu with two inputs", tmp_path("relu2.onnx"), LQF_ERR_FORMAT, "Relu node 'relu_2in'",
                "2 inputs (at most 1)");
    memset(&b, 0, sizeof b);
    char *nw[] = {"x", ""};
    add_node(&b, "Conv", "conv_nw", nw, 2, y, 1);
    write_model(tmp_path("noweights.onnx"), &b, 11);
    expect_fail("Conv with its weights left out", tmp_path("noweights.onnx"), LQF_ERR_FORMAT, "Conv node 'conv_nw'",
                "input 2 missing");

    /* a zero Pad is only folded into convolutions: before a Relu it is refused by name */
    memset(&b, 0, sizeof b);
    int64_t eight = 8, pv[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    char *pi[] = {"x", "pads"};
    add_init(&b, "pads", 7, &eight, 1, pv, sizeof pv);
    add_node(&b, "Pad", "pad_0", pi, 2, r, 1);
    add_node(&b, "Relu", "relu_1", r, 1, y, 1);
    write_model(tmp_path("pad.onnx"), &b, 11);
    expect_fail("Pad before a Relu", tmp_path("pad.onnx"), LQF_ERR_UNSUPPORTED, "Pad node 'pad_0'", "convolutions");

    /* a model that folds the batch into another dim runs at batch 1 only, and says so */
    memset(&b, 0, sizeof b);
    int64_t two = 2, tgt[2] = {3, 64};
    char *rsi[] = {"x", "tgt"};
    add_init(&b, "tgt", 7, &two, 1, tgt, sizeof tgt);
    add_node(&b, "Reshape", "to_2d", rsi, 2, y, 1);
    write_model(tmp_path("batch1.onnx"), &b, 11);
    {
        lqf_net *bn = NULL;
        CHECK(lqf_net_load_onnx(tmp_path("batch1.onnx"), &bn) == LQF_OK);
        if (bn) {
            float in1[2 * 192], o1[2 * 192];
            for (int i = 0; i < 2 * 192; i++) in1[i] = (float)i;
            const float *pi = in1;
            float *po = o1;
            CHECK(lqf_net_run(bn, 1, &pi, &po) == LQF_OK && o1[191] == 191.0f);
            lqf_status st = lqf_net_run(bn, 2, &pi, &po);
            printf("%-34s -> %s: %s\n", "batch 2 on a batch-1-only model", lqf_status_string(st), lqf_last_error());
            CHECK(st == LQF_ERR_UNSUPPORTED && strstr(lqf_last_error(), "batch1.onnx") &&
                  strstr(lqf_last_error(), "batch 1"));
            lqf_net_free(bn);
        }
    }

    /* a valid model for the size checks: Conv 3x3 without padding, then Relu */
    memset(&b, 0, sizeof b);
    float w27[4 * 27];
    for (int i = 0; i < 4 * 27; i++) w27[i] = (float)((i % 7) - 3) / 8;
    add_init(&b, "w", 1, wd, 4, w27, sizeof w27);
    add_node(&b, "Conv", "conv_0", ci, 2, r, 1);
    add_node(&b, "Relu", "relu_1", r, 1, y, 1);
    write_model(tmp_path("good.onnx"), &b, 11);
    lqf_net *net = NULL;
    CHECK(lqf_net_load_onnx(tmp_path("good.onnx"), &net) == LQF_OK);
    if (!net) return;
    int64_t d[8];
    CHECK(lqf_net_output_shape(net, 0, 1, d) == 4 && d[1] == 4 && d[2] == 6 && d[3] == 6);
    lqf_status st = lqf_net_set_input_size(net, 2, 9);
    printf("%-34s -> %s: %s\n", "input 2x9 for a 3x3 kernel", lqf_status_string(st), lqf_last_error());
    CHECK(st == LQF_ERR_SHAPE && strstr(lqf_last_error(), "good.onnx") && strstr(lqf_last_error(), "2x9"));
    /* unchanged after the failure */
    CHECK(lqf_net_output_shape(net, 0, 1, d) == 4 && d[2] == 6 && d[3] == 6);
    CHECK(lqf_net_set_input_size(net, 0, 5) == LQF_ERR_SHAPE);
    /* a bigger size works and runs */
    CHECK(lqf_net_set_input_size(net, 10, 12) == LQF_OK);
    CHECK(lqf_net_output_shape(net, 0, 2, d) == 4 && d[0] == 2 && d[2] == 8 && d[3] == 10);
    float *in = calloc(2 * 3 * 10 * 12, sizeof(float)), *out = calloc(2 * 4 * 8 * 10, sizeof(float));
    CHECK(lqf_net_run(net, 2, (const float *const *)&in, &out) == LQF_OK);
    /* argument errors */
    CHECK(lqf_net_run(net, 0, (const float *const *)&in, &out) == LQF_ERR_ARG);
    const float *nul[1] = {NULL};
    CHECK(lqf_net_run(net, 1, nul, &out) == LQF_ERR_ARG);
    CHECK(lqf_net_run(NULL, 1, (const float *const *)&in, &out) == LQF_ERR_ARG);
    free(in);
    free(out);
    lqf_net_free(net);
}

static void test_real_sizes(void) {
    lqf_net *net = NULL;
    CHECK(lqf_net_load_onnx(tu_shared("models/mtcnn/pnet.onnx"), &net) == LQF_OK);
    if (net) {
        lqf_status st = lqf_net_set_input_size(net, 5, 5);
        printf("%-34s -> %s: %s\n", "PNet at 5x5", lqf_status_string(st), lqf_last_error());
        CHECK(st == LQF_ERR_SHAPE && strstr(lqf_last_error(), "pnet.onnx") != NULL);
        CHECK(lqf_net_set_input_size(net, 12, 12) == LQF_OK);
        lqf_net_free(net);
    }
    net = NULL;
    CHECK(lqf_net_load_onnx(tu_shared("models/yunet_n_320_320.onnx"), &net) == LQF_OK);
    if (net) {
        /* 330 is not a multiple of 32: the upsampled FPN maps no longer line up */
        lqf_status st = lqf_net_set_input_size(net, 330, 330);
        printf("%-34s -> %s: %s\n", "YuNet at 330x330", lqf_status_string(st), lqf_last_error());
        CHECK(st == LQF_ERR_SHAPE && strstr(lqf_last_error(), "yunet_n_320_320.onnx") != NULL);
        /* 160x192 works: stride-8 maps become 20x24 */
        CHECK(lqf_net_set_input_size(net, 160, 192) == LQF_OK);
        int64_t d[8];
        CHECK(lqf_net_output_shape(net, 0, 1, d) == 3 && d[1] == 20 * 24);
        lqf_net_free(net);
    }
}

/* random byte corruptions of a small real model: every load either succeeds (and then runs)
 * or fails with a message naming the file; nothing crashes (run under LQF_SANITIZE too) */
static void test_mutations(const char *rel, int count, unsigned s) {
    FILE *f = fopen(tu_shared(rel), "rb");
    if (!CHECK(f != NULL)) return;
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    rewind(f);
    uint8_t *orig = malloc(len), *buf = malloc(len);
    CHECK(fread(orig, 1, len, f) == len);
    fclose(f);
    int ok = 0, failed = 0, named = 0;
    const char *path = tmp_path("mutant.onnx");
    for (int it = 0; it < count; it++) {
        memcpy(buf, orig, len);
        int flips = 1 + it % 8;
        for (int k = 0; k < flips; k++) {
            s = s * 1103515245u + 12345u;
            size_t pos = (s >> 4) % len;
            s = s * 1103515245u + 12345u;
            buf[pos] = it % 3 == 0 ? (uint8_t)(s >> 16) : (uint8_t)(buf[pos] ^ (1u << ((s >> 16) & 7)));
        }
        write_file(path, buf, len);
        lqf_net *net = NULL;
        lqf_status st = lqf_net_load_onnx(path, &net);
        if (st == LQF_OK) {
            ok++;
            if (lqf_net_set_input_size(net, 24, 20) == LQF_OK && lqf_net_num_outputs(net) <= 16) {
                float in[3 * 24 * 20] = {0};
                float *outs[16];
                const float *pin = in;
                int no = lqf_net_num_outputs(net);
                for (int i = 0; i < no; i++) {
                    int64_t d[8];
                    int nd = lqf_net_output_shape(net, i, 1, d);
                    size_t n = 1;
                    for (int k = 0; k < nd; k++) n *= (size_t)d[k];
                    outs[i] = malloc((n + 1) * sizeof(float));
                }
                lqf_net_run(net, 1, &pin, outs);
                for (int i = 0; i < no; i++) free(outs[i]);
            }
            lqf_net_free(net);
        } else {
            failed++;
            named += strstr(lqf_last_error(), "mutant.onnx") != NULL;
        }
    }
    printf("%d mutated copies of %s: %d loaded, %d refused (%d messages name the file)\n", count, rel, ok, failed,
           named);
    CHECK(named == failed);
    free(buf);
    free(orig);
    remove(path);
}

int main(void) {
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/lqf_onnx_bad_XXXXXX");
    if (!mkdtemp(g_tmpdir)) return 2;
    test_files();
    test_operators();
    test_real_sizes();
    const char *fuzz = getenv("LQF_FUZZ_ROUNDS"); /* more rounds by hand, e.g. under LQF_SANITIZE */
    int rounds = fuzz ? atoi(fuzz) : 1;
    for (int r = 0; r < rounds; r++) {
        test_mutations("models/mtcnn/pnet.onnx", 300, 12345u + 77u * (unsigned)r);
        test_mutations("models/yunet_n_320_320.onnx", 40, 999u + 77u * (unsigned)r);
        test_mutations("models/mtcnn/onet.onnx", 40, 4242u + 77u * (unsigned)r);
    }
    const char *names[] = {"empty.onnx", "text.onnx", "trunc.onnx", "corrupt.onnx", "lstm.onnx", "nms.onnx",
                           "domain.onnx", "gather.onnx", "linear.onnx", "ghost.onnx", "badinit.onnx",
                           "bcast.onnx", "good.onnx", "batch1.onnx", "pad.onnx"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) remove(tmp_path(names[i]));
    rmdir(g_tmpdir);
    return tu_finish("test_onnx_bad");
}
