/*
 * test_onnx.c — the six shared ONNX models imported by lqface against ONNX Runtime.
 * Inputs are real LFW photos stored as uint8 (tools/make_onnx_inputs.py); the reference
 * outputs were written by tools/ref_onnx.js with onnxruntime-node from the same bytes and
 * the same exact float arithmetic. Checks: cosine >= 0.99999 and max abs error
 * <= 1e-4 x max(max|ref|, 1) per output; the README golden value of MobileFaceNet; batch 3 equals
 * three batch-1 runs; PNet at a non-square size through lqf_net_set_input_size; RNet/ONet
 * at batch 4; parameter and multiply-add counts against the README's figures.
 */
#include "lqface.h"
#include "nn/net.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *load_u8(const char *rel, size_t want) {
    FILE *f = fopen(tu_testdata(rel), "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", tu_testdata(rel));
        return NULL;
    }
    uint8_t *b = malloc(want);
    size_t got = fread(b, 1, want, f);
    fclose(f);
    if (got != want) {
        fprintf(stderr, "%s: %zu bytes, want %zu\n", rel, got, want);
        free(b);
        return NULL;
    }
    return b;
}

/* HWC uint8 images placed top-left in HxW zeros -> NCHW float (p - mean[c]) * scale. */
static float *to_nchw(const uint8_t *u8, int count, int h, int w, int H, int W, const float mean[3], float scale) {
    float *o = malloc(sizeof(float) * (size_t)count * 3 * H * W);
    for (int n = 0; n < count; n++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float p = (y < h && x < w) ? u8[(((size_t)n * h + y) * w + x) * 3 + c] : 0.0f;
                    o[(((size_t)n * 3 + c) * H + y) * W + x] = (p - mean[c]) * scale;
                }
    return o;
}

static lqf_net *load(const char *rel) {
    lqf_net *net = NULL;
    lqf_status st = lqf_net_load_onnx(tu_shared(rel), &net);
    if (!CHECK(st == LQF_OK)) fprintf(stderr, "load %s: %s\n", rel, lqf_last_error());
    return net;
}

static size_t out_numel(lqf_net *net, int i, int batch) {
    int64_t d[8];
    int nd = lqf_net_output_shape(net, i, batch, d);
    size_t n = 1;
    for (int k = 0; k < nd; k++) n *= (size_t)d[k];
    return n;
}

/* Run net at `batch`, compare every output (every `stride`-th element) with the ref file. */
static void run_compare(const char *what, lqf_net *net, int batch, const float *input, const char *ref_rel,
                        int stride, double rel_tol) {
    int no = lqf_net_num_outputs(net);
    float *outs[16];
    size_t sizes[16], total = 0;
    for (int i = 0; i < no; i++) {
        sizes[i] = out_numel(net, i, batch);
        outs[i] = malloc(sizes[i] * sizeof(float));
        total += (sizes[i] + stride - 1) / stride;
    }
    double t0 = lqf_now();
    lqf_status st = lqf_net_run(net, batch, &input, outs);
    double t1 = lqf_now();
    if (!CHECK(st == LQF_OK)) fprintf(stderr, "%s: %s\n", what, lqf_last_error());
    /* second run: warm timing, and an executor reused must give the same result */
    float *again = malloc(sizes[0] * sizeof(float));
    float *outs2[16];
    outs2[0] = again;
    for (int i = 1; i < no; i++) outs2[i] = malloc(sizes[i] * sizeof(float));
    double t2 = lqf_now();
    st = lqf_net_run(net, batch, &input, outs2);
    double t3 = lqf_now();
    CHECK(st == LQF_OK && memcmp(again, outs[0], sizes[0] * sizeof(float)) == 0);
    printf("time %s: first run %.1f ms, second %.1f ms (batch %d)\n", what, 1e3 * (t1 - t0), 1e3 * (t3 - t2), batch);
    float *ref;
    long nref = tu_load_f32(tu_testdata(ref_rel), &ref);
    if (!CHECK(nref == (long)total)) {
        fprintf(stderr, "%s: reference has %ld values, outputs give %zu\n", what, nref, total);
        goto done;
    }
    size_t off = 0;
    for (int i = 0; i < no; i++) {
        size_t k = (sizes[i] + stride - 1) / stride;
        float *sub = malloc(k * sizeof(float));
        for (size_t j = 0; j < k; j++) sub[j] = outs[i][j * stride];
        /* tolerance relative to the output's scale; probabilities (YuNet's obj is ~1e-4 on
         * background) are judged on their 0..1 range */
        double mx = tu_max_abs(ref + off, k), scale = mx > 1 ? mx : 1;
        char label[256];
        snprintf(label, sizeof label, "%s output %d '%s' (max|ref| %.3g, tol %.3g)", what, i,
                 lqf_net_output_name(net, i), mx, rel_tol * scale);
        tu_close(label, sub, ref + off, k, rel_tol * scale, 0);
        double cs = tu_cosine(sub, ref + off, k);
        printf("     cosine %.9f\n", cs);
        CHECK(cs >= 0.99999 || mx == 0);
        free(sub);
        off += k;
    }
    free(ref);
done:
    for (int i = 0; i < no; i++) {
        free(outs[i]);
        free(outs2[i]);
    }
}

static void info_checks(lqf_net *net, const char *expect_op) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lqf_net_print_info(net, f, 1);
    fclose(f);
    CHECK(len > 2 && buf[0] == '{' && strstr(buf, expect_op) != NULL && strstr(buf, "\"macs\":") != NULL);
    free(buf);
    f = open_memstream(&buf, &len);
    lqf_net_print_info(net, f, 0);
    fclose(f);
    CHECK(strstr(buf, "parameters:") != NULL && strstr(buf, expect_op) != NULL);
    fputs(buf, stdout);
    free(buf);
}

static void test_mobilefacenet(void) {
    lqf_net *net = load("models/mobilefacenet_fr512.onnx");
    if (!net) return;
    CHECK(lqf_net_num_inputs(net) == 1 && lqf_net_num_outputs(net) == 1);
    int64_t d[8];
    CHECK(lqf_net_input_shape(net, 0, 2, d) == 4 && d[0] == 2 && d[1] == 3 && d[2] == 112 && d[3] == 112);
    CHECK(lqf_net_output_shape(net, 0, 3, d) == 2 && d[0] == 3 && d[1] == 512);
    lqf_net_stats st;
    lqf_net_get_stats(net, &st);
    printf("mobilefacenet: %lld params, %lld MACs, %d nodes\n", (long long)st.n_params, (long long)st.macs, st.n_nodes);
    /* README: 1.19M parameters, ~221M multiply-adds */
    CHECK(fabs(st.n_params / 1e6 - 1.19) < 0.01);
    CHECK(fabs(st.macs / 1e6 - 221) < 221 * 0.02);
    info_checks(net, "Conv");

    const float m127[3] = {127.5f, 127.5f, 127.5f};
    uint8_t *u8 = load_u8("onnx/mfn_faces.u8", 2 * 112 * 112 * 3);
    if (!CHECK(u8 != NULL)) {
        lqf_net_free(net);
        return;
    }
    float *faces = to_nchw(u8, 2, 112, 112, 112, 112, m127, 1.0f / 128);
    run_compare("mobilefacenet faces", net, 2, faces, "onnx/mfn_out.f32", 1, 1e-4);

    /* README golden value */
    size_t n1 = 3 * 112 * 112;
    float *sin_in = malloc(n1 * sizeof(float)), out[512];
    for (size_t i = 0; i < n1; i++) sin_in[i] = (float)(0.9 * sin(0.001 * (double)i));
    run_compare("mobilefacenet golden", net, 1, sin_in, "onnx/mfn_sin_out.f32", 1, 1e-4);
    float *op = out;
    CHECK(lqf_net_run(net, 1, (const float *const *)&sin_in, &op) == LQF_OK);
    const float golden[8] = {0.02416f, 0.02995f, 0.04181f, -0.07801f, -0.03818f, -0.00892f, 0.03544f, -0.00639f};
    double norm = 0;
    for (int i = 0; i < 512; i++) norm += (double)out[i] * out[i];
    norm = sqrt(norm);
    printf("golden: norm %.6f, first %.5f %.5f %.5f %.5f\n", norm, out[0], out[1], out[2], out[3]);
    tu_close("README golden first 8 (5 decimals)", out, golden, 8, 5.01e-6, 0);
    CHECK(fabs(norm - 1.55576) <= 5.01e-6);

    /* batch 3 = three batch-1 runs */
    float *b3 = malloc(3 * n1 * sizeof(float)), *o3 = malloc(3 * 512 * sizeof(float)), single[3 * 512];
    memcpy(b3, faces, 2 * n1 * sizeof(float));
    memcpy(b3 + 2 * n1, sin_in, n1 * sizeof(float));
    CHECK(lqf_net_run(net, 3, (const float *const *)&b3, &o3) == LQF_OK);
    for (int k = 0; k < 3; k++) {
        float *in1 = b3 + k * n1, *o1 = single + k * 512;
        CHECK(lqf_net_run(net, 1, (const float *const *)&in1, &o1) == LQF_OK);
    }
    tu_close("mobilefacenet batch 3 vs 3 x batch 1", o3, single, 3 * 512, 1e-5 * tu_max_abs(single, 3 * 512), 0);
    free(b3);
    free(o3);
    free(sin_in);
    free(faces);
    free(u8);
    lqf_net_free(net);
}

static void test_yunet(void) {
    const float zero[3] = {0, 0, 0}, bgr_mean[3] = {104, 117, 123};
    lqf_net *net = load("models/yunet_n_320_320.onnx");
    uint8_t *u8 = load_u8("onnx/yunet320.u8", 250 * 250 * 3);
    if (net && u8) {
        CHECK(lqf_net_num_outputs(net) == 12);
        info_checks(net, "Resize");
        float *in = to_nchw(u8, 1, 250, 250, 320, 320, zero, 1);
        run_compare("yunet320", net, 1, in, "onnx/yunet320_out.f32", 1, 1e-4);
        free(in);
    }
    lqf_net_free(net);
    free(u8);

    uint8_t *grid = load_u8("onnx/grid400.u8", 400 * 400 * 3);
    if (!CHECK(grid != NULL)) return;
    net = load("models/yunet_n_640_640.onnx");
    if (net) {
        float *in = to_nchw(grid, 1, 400, 400, 640, 640, zero, 1);
        run_compare("yunet640 (every 5th value)", net, 1, in, "onnx/yunet640_out.f32", 5, 1e-4);
        free(in);
    }
    lqf_net_free(net);
    net = load("models/retinaface_mnet025.onnx");
    if (net) {
        info_checks(net, "Concat");
        float *in = to_nchw(grid, 1, 400, 400, 640, 640, bgr_mean, 1);
        run_compare("retinaface (every 5th value)", net, 1, in, "onnx/retina_out.f32", 5, 1e-4);
        free(in);
    }
    lqf_net_free(net);
    free(grid);
}

static void test_mtcnn(void) {
    const float m127[3] = {127.5f, 127.5f, 127.5f};
    lqf_net *net = load("models/mtcnn/pnet.onnx");
    uint8_t *u8 = load_u8("onnx/pnet.u8", 125 * 100 * 3);
    if (net && u8) {
        CHECK(lqf_net_set_input_size(net, 125, 100) == LQF_OK);
        int64_t d[8];
        CHECK(lqf_net_output_shape(net, 0, 1, d) == 4 && d[1] == 4 && d[2] == 58 && d[3] == 45);
        float *in = to_nchw(u8, 1, 125, 100, 125, 100, m127, 1.0f / 128);
        run_compare("pnet 125x100", net, 1, in, "onnx/pnet_out.f32", 1, 1e-4);
        /* another size and back: shapes follow */
        CHECK(lqf_net_set_input_size(net, 12, 12) == LQF_OK);
        CHECK(lqf_net_output_shape(net, 1, 1, d) == 4 && d[1] == 2 && d[2] == 1 && d[3] == 1);
        CHECK(lqf_net_set_input_size(net, 125, 100) == LQF_OK);
        run_compare("pnet 125x100 again", net, 1, in, "onnx/pnet_out.f32", 1, 1e-4);
        free(in);
    }
    lqf_net_free(net);
    free(u8);

    net = load("models/mtcnn/rnet.onnx");
    u8 = load_u8("onnx/rnet.u8", 4 * 24 * 24 * 3);
    if (net && u8) {
        info_checks(net, "Gemm");
        float *in = to_nchw(u8, 4, 24, 24, 24, 24, m127, 1.0f / 128);
        run_compare("rnet batch 4", net, 4, in, "onnx/rnet_out.f32", 1, 1e-4);
        free(in);
    }
    lqf_net_free(net);
    free(u8);

    net = load("models/mtcnn/onet.onnx");
    u8 = load_u8("onnx/onet.u8", 4 * 48 * 48 * 3);
    if (net && u8) {
        CHECK(lqf_net_num_outputs(net) == 3);
        float *in = to_nchw(u8, 4, 48, 48, 48, 48, m127, 1.0f / 128);
        run_compare("onet batch 4", net, 4, in, "onnx/onet_out.f32", 1, 1e-4);
        free(in);
    }
    lqf_net_free(net);
    free(u8);
}

int main(void) {
    test_mobilefacenet();
    test_yunet();
    test_mtcnn();
    return tu_finish("test_onnx");
}
