/*
 * cmd_info.c — `lqface info MODEL.onnx|CKPT.safetensors`: operators, parameters, multiply-adds and the
 * input/output shapes of a network, human-readable or as one JSON object (--json).
 */
#include "cli.h"

#include <string.h>

int cmd_info(int argc, char **argv) {
    int json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface info MODEL.onnx|CKPT.safetensors [--json]\n");
            return 0;
        }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "lqface info: unknown option '%s'\n", argv[i]);
            return 2;
        } else path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "lqface info: need a model file (see lqface info --help)\n");
        return 2;
    }
    lqf_net *net;
    lqf_status st = lqf_net_load(path, &net);
    if (st) {
        cli_error("info", st);
        return 1;
    }
    lqf_net_print_info(net, stdout, json);
    lqf_net_free(net);
    return 0;
}
