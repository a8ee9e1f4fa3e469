/*
 * test_onnx_ops.c — operator coverage of the ONNX importer beyond the six shared models:
 * small synthetic models (tools/make_onnx_ops.py, python3-onnx) run at batch 2 against ONNX
 * Runtime outputs (tools/ref_onnx.js). Also checks that the optimiser folded both
 * BatchNormalizations and fused the activation and the residual Add into convolutions, that
 * an inference executor keeping every activation (LQF_EXEC_KEEP) gives the same outputs as
 * the liveness-shared one (and that the shared one of YuNet 640 is several times smaller),
 * and that batch 1 equals the first image of batch 2.
 */
#include "lqface.h"
#include "nn/net.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t out_numel(lqf_net *net, int i, int batch) {
    int64_t d[8];
    int nd = lqf_net_output_shape(net, i, batch, d);
    size_t n = 1;
    for (int k = 0; k < nd; k++) n *= (size_t)d[k];
    return n;
}

static void check_model(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "onnx/ops_%s.onnx", name);
    lqf_net *net = NULL;
    lqf_status st = lqf_net_load_onnx(tu_testdata(rel), &net);
    if (!CHECK(st == LQF_OK)) {
        fprintf(stderr, "%s: %s\n", rel, lqf_last_error());
        return;
    }
    float *in, *ref;
    snprintf(rel, sizeof rel, "onnx/ops_%s_in.f32", name);
    long nin = tu_load_f32(tu_testdata(rel), &in);
    snprintf(rel, sizeof rel, "onnx/ops_%s_out.f32", name);
    long nref = tu_load_f32(tu_testdata(rel), &ref);
    int64_t d[8];
    int nd = lqf_net_input_shape(net, 0, 2, d);
    long want_in = 1;
    for (int k = 0; k < nd; k++) want_in *= (long)d[k];
    if (!CHECK(nin == want_in && nref > 0)) goto done;

    int no = lqf_net_num_outputs(net);
    float *outs[8];
    size_t sizes[8], total = 0;
    for (int i = 0; i < no; i++) {
        sizes[i] = out_numel(net, i, 2);
        outs[i] = calloc(sizes[i], sizeof(float));
        total += sizes[i];
    }
    CHECK(total == (size_t)nref);
    st = lqf_net_run(net, 2, (const float *const *)&in, outs);
    if (!CHECK(st == LQF_OK)) fprintf(stderr, "%s: %s\n", name, lqf_last_error());
    size_t off = 0;
    for (int i = 0; i < no && total == (size_t)nref; i++) {
        double mx = tu_max_abs(ref + off, sizes[i]), scale = mx > 1 ? mx : 1;
        char label[200];
        snprintf(label, sizeof label, "ops_%s output '%s' vs ONNX Runtime (max|ref| %.3g)", name,
                 lqf_net_output_name(net, i), mx);
        tu_close(label, outs[i], ref + off, sizes[i], 1e-5 * scale, 0);
        off += sizes[i];
    }

    /* an executor keeping every activation: same outputs (read back in logical order) */
    lqf_graph *g = lqf_net_graph(net);
    lqf_exec *p = NULL;
    CHECK(lqf_exec_create(g, 2, LQF_EXEC_INFER | LQF_EXEC_KEEP, &p) == LQF_OK);
    if (p) {
        lqf_exec_write(p, g->inputs[0], in);
        CHECK(lqf_exec_forward(p) == LQF_OK);
        for (int i = 0; i < no; i++) {
            float *o = calloc(sizes[i], sizeof(float));
            lqf_exec_read(p, g->outputs[i], o);
            char label[200];
            snprintf(label, sizeof label, "ops_%s output %d: keep-all executor = shared executor", name, i);
            tu_close(label, o, outs[i], sizes[i], 0, 0);
            free(o);
        }
        lqf_exec_free(p);
    }

    /* batch 1 = first image of batch 2 */
    float *o1[8];
    for (int i = 0; i < no; i++) o1[i] = calloc(sizes[i] / 2, sizeof(float));
    CHECK(lqf_net_run(net, 1, (const float *const *)&in, o1) == LQF_OK);
    for (int i = 0; i < no; i++) {
        char label[200];
        snprintf(label, sizeof label, "ops_%s output %d: batch 1 = image 0 of batch 2", name, i);
        tu_close(label, o1[i], outs[i], sizes[i] / 2, 1e-6 * (1 + tu_max_abs(outs[i], sizes[i])), 0);
        free(o1[i]);
        free(outs[i]);
    }
done:
    free(in);
    free(ref);
    lqf_net_free(net);
}

static void check_fusion(void) {
    lqf_net *net = NULL;
    if (!CHECK(lqf_net_load_onnx(tu_testdata("onnx/ops_convbn.onnx"), &net) == LQF_OK)) return;
    const lqf_graph *g = lqf_net_graph(net);
    int bn = 0, relu = 0, add = 0, conv_relu = 0, conv_res = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const lqf_node *n = &g->nodes[i];
        bn += n->op == LQF_OP_BATCHNORM;
        relu += n->op == LQF_OP_RELU;
        add += n->op == LQF_OP_ADD;
        if (n->op == LQF_OP_CONV) {
            conv_relu += n->a.conv.act == LQF_ACT_RELU;
            conv_res += n->a.conv.residual >= 0;
        }
    }
    printf("convbn after optimisation: %d nodes, BN %d, Relu %d, Add %d, conv+relu %d, conv+residual %d\n",
           g->n_nodes, bn, relu, add, conv_relu, conv_res);
    CHECK(bn == 0 && relu == 0 && add == 0 && conv_relu == 1 && conv_res == 1);
    lqf_net_stats st;
    lqf_net_get_stats(net, &st);
    /* conv1 8x3x3x3 (+8 folded bias), conv2 8x8 + 8, PRelu 1 */
    CHECK(st.n_params == 8 * 27 + 8 + 64 + 8 + 1);
    /* conv1 16x12 outputs x 8 x 27, conv2 16x12 x 8 x 8 */
    CHECK(st.macs == 16 * 12 * 8 * 27 + 16 * 12 * 8 * 8);
    lqf_net_free(net);
}

/* liveness sharing: the inference executor of YuNet 640 holds far less than one buffer per
 * activation, and both executors compute the same outputs */
static void check_memory(void) {
    lqf_net *net = NULL;
    if (!CHECK(lqf_net_load_onnx(tu_shared("models/yunet_n_640_640.onnx"), &net) == LQF_OK)) return;
    lqf_graph *g = lqf_net_graph(net);
    lqf_exec *shared = NULL, *all = NULL;
    CHECK(lqf_exec_create(g, 1, LQF_EXEC_INFER, &shared) == LQF_OK);
    CHECK(lqf_exec_create(g, 1, LQF_EXEC_INFER | LQF_EXEC_KEEP, &all) == LQF_OK);
    if (shared && all) {
        size_t a = lqf_exec_activation_bytes(shared), b = lqf_exec_activation_bytes(all);
        printf("yunet640 activations: shared %.1f MB, keep-all %.1f MB, conv scratch %.1f MB\n", a / 1e6,
               b / 1e6, lqf_exec_scratch_bytes(shared) / 1e6);
        CHECK(a > 0 && a * 3 < b);
        size_t n = 3 * 640 * 640;
        float *x = lqf_exec_buffer(shared, g->inputs[0]), *y = lqf_exec_buffer(all, g->inputs[0]);
        for (size_t i = 0; i < n; i++) x[i] = y[i] = (float)((i * 7919) % 256);
        CHECK(lqf_exec_forward(shared) == LQF_OK && lqf_exec_forward(all) == LQF_OK);
        for (int i = 0; i < g->n_outputs; i++) {
            int t = g->outputs[i];
            size_t m = (size_t)lqf_tensor_numel(&g->tensors[t]);
            if (i == 9) tu_close("yunet640 kps_8: shared executor = keep-all executor", lqf_exec_buffer(shared, t),
                                 lqf_exec_buffer(all, t), m, 0, 0);
            else CHECK(memcmp(lqf_exec_buffer(shared, t), lqf_exec_buffer(all, t), m * sizeof(float)) == 0);
        }
    }
    lqf_exec_free(shared);
    lqf_exec_free(all);
    lqf_net_free(net);
}

int main(void) {
    check_memory();
    check_model("convbn");
    check_model("dense");
    check_model("layout");
    check_model("misc");
    check_fusion();
    return tu_finish("test_onnx_ops");
}
