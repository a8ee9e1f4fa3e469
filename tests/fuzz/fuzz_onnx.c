/*
 * fuzz_onnx.c — libFuzzer harness of the ONNX importer: lqf_onnx_import on the input bytes
 * (protobuf, graph, initializers, constant folding, shape inference), the inference
 * optimisation pass, and the network's description (stats, lqface info's text and JSON).
 */
#include "fuzz_util.h"
#include "nn/net.h"

static FILE *g_null;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_init(NULL);
    g_null = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lqf_graph *g = NULL;
    int batch_ok = 1;
    unsigned open_dims = 0;
    if (lqf_onnx_import("fuzz.onnx", data, size, NULL, &g, &batch_ok, &open_dims) != LQF_OK) return 0;
    lqf_net *net = NULL;
    if (lqf_net_from_graph(g, 1, &net) == LQF_OK) { /* takes g, frees it on failure */
        lqf_net_stats st;
        lqf_net_get_stats(net, &st);
        lqf_net_print_info(net, g_null, 0);
        lqf_net_print_info(net, g_null, 1);
    }
    lqf_net_free(net);
    return 0;
}
