/*
 * cmd_info.c — `lqface info [MODEL.onnx|CKPT.safetensors]`: operators, parameters,
 * multiply-adds and the input/output shapes of a network, human-readable or as one JSON
 * object (--json); for an embedding model (one image input, one output) also its input
 * contract and where each field came from (flags, file metadata, checkpoint, default).
 * Without MODEL: the shipped embedding model, wherever lqf_model_find finds it.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "nn/net.h"

#include <stdlib.h>
#include <string.h>

static const char *const field_name[LQF_CONTRACT_NFIELDS] = {"size", "order", "mean", "std"};

/* One image input (N,3,H,W) and one output: what lqf_embedder_load takes. */
static int is_embedder(const lqf_net *net, int64_t in[8]) {
    return lqf_net_num_inputs(net) == 1 && lqf_net_num_outputs(net) == 1 &&
           lqf_net_input_shape(net, 0, 1, in) == 4 && in[1] == 3;
}

static void print_contract(const lqf_contract_info *ci, const int64_t in[8], int open_hw, int json) {
    const lqf_input_contract *c = &ci->c;
    if (json) {
        printf(",\"contract\":{\"size\":[%d,%d],\"order\":\"%s\",\"mean\":[%.9g,%.9g,%.9g],\"std\":[%.9g,%.9g,%.9g],"
               "\"source\":{",
               c->width, c->height, c->order == LQF_BGR ? "bgr" : "rgb", c->mean[0], c->mean[1], c->mean[2],
               c->std[0], c->std[1], c->std[2]);
        for (int f = 0; f < LQF_CONTRACT_NFIELDS; f++)
            printf("%s\"%s\":\"%s\"", f ? "," : "", field_name[f], lqf_contract_source_name(ci->source[f]));
        printf("}}");
        return;
    }
    char spec[256];
    lqf_contract_format(c, spec, sizeof spec);
    printf("%-15s %s\n", "contract:", spec);
    printf("%-16s", "  from:");
    for (int f = 0; f < LQF_CONTRACT_NFIELDS; f++)
        printf("%s%s %s", f ? ", " : "", field_name[f], lqf_contract_source_name(ci->source[f]));
    printf("\n");
    if (open_hw)
        printf("note:           the network's input height and width are open: it runs at the contract's size\n");
    else if (in[2] != c->height || in[3] != c->width)
        printf("note:           the network's input is %dx%d, not the contract's: an embedder refuses it "
               "(--input-size %dx%d)\n",
               (int)in[3], (int)in[2], (int)in[3], (int)in[2]);
}

int cmd_info(int argc, char **argv) {
    int json = 0;
    const char *path = NULL;
    lqf_contract_spec flags = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface info [MODEL.onnx|CKPT.safetensors] [--json] [contract options]\n"
                   "Without MODEL: the shipped embedding model (" LQF_DEFAULT_EMBEDDER "), as found.\n"
                   "An embedding model's input contract is printed with the source of each field.\n" CLI_CONTRACT_HELP);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (cli_contract_opt(argc, argv, &i, &flags)) continue;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "lqface info: unknown option '%s'\n", argv[i]);
            return 2;
        } else path = argv[i];
    }
    if (!path && !(path = cli_model_path(LQF_DEFAULT_EMBEDDER))) return 1;
    lqf_net *net;
    lqf_status st = lqf_net_load(path, &net);
    int64_t in[8];
    lqf_contract_info ci;
    int embedder = !st && is_embedder(net, in);
    if (embedder) st = lqf_contract_resolve(path, &flags, &ci);
    if (st) {
        cli_error("info", st);
        lqf_net_free(net);
        return 1;
    }
    if (!json) {
        lqf_net_print_info(net, stdout, 0);
        if (embedder) print_contract(&ci, in, (lqf_net_open_dims(net) & LQF_OPEN_HW) == LQF_OPEN_HW, 0);
    } else { /* the network's object with the contract added as its last member */
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m) {
            fprintf(stderr, "lqface info: out of memory\n");
            lqf_net_free(net);
            return 1;
        }
        lqf_net_print_info(net, m, 1);
        fclose(m);
        while (len && buf[len - 1] == '\n') len--;
        if (len && buf[len - 1] == '}') len--;
        printf("%.*s", (int)len, buf);
        if (embedder) print_contract(&ci, in, 0, 1);
        printf("}\n");
        free(buf);
    }
    lqf_net_free(net);
    return 0;
}
