/*
 * fuzz_checkpoint.c — libFuzzer harness of safetensors checkpoints: lqf_ckpt_parse on the
 * input bytes (header JSON, spans, dtypes, the lqface checksum), then the same bytes opened
 * as a network (lqf_net_load of a .safetensors: self-description, the training config in the
 * metadata, the backbone rebuilt from it, every tensor loaded by name and shape, the graph
 * optimised for inference) and described (stats, lqface info's text).
 * Runs under a 64 MiB allocation limit: networks larger than that are refused, not built.
 */
#include "fuzz_util.h"
#include "train/checkpoint.h"

static FILE *g_null;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_init("64M");
    g_null = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lqf_ckpt *c = NULL;
    if (lqf_ckpt_parse(data, size, "fuzz.safetensors", &c) != LQF_OK) return 0;
    for (int i = 0; i < lqf_ckpt_count(c); i++) {
        const lqf_ckpt_tensor *t = lqf_ckpt_tensor_at(c, i);
        float s = 0;
        for (int64_t k = 0; k < t->numel; k++) s += t->data[k];
        (void)s;
    }
    lqf_ckpt_info info;
    int lqface = lqf_ckpt_get_info(c, &info) == LQF_OK;
    lqf_ckpt_free(c);
    if (!lqface) return 0;
    char path[128];
    snprintf(path, sizeof path, "%s/fuzz.safetensors", fuzz_dir());
    fuzz_file("fuzz.safetensors", data, size, 0);
    lqf_net *net = NULL;
    if (lqf_net_load(path, &net) == LQF_OK) {
        lqf_net_stats st;
        lqf_net_get_stats(net, &st);
        lqf_net_print_info(net, g_null, size & 1);
    }
    lqf_net_free(net);
    return 0;
}
