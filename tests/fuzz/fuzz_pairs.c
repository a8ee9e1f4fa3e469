/*
 * fuzz_pairs.c — libFuzzer harness of the protocol list readers. The first byte picks the
 * reader: 0 LFW pairs.txt, 1 a generic `path path label` list, 2/3 a CFP protocol directory
 * (FP/FF split) whose files are the following parts, separated by "\n##\n": Pair_list_F.txt,
 * Pair_list_P.txt, then same.txt and diff.txt of folds 01, 02, ... A list it returns must have
 * its pairs, paths and labels in range. (The identification lists join when their reader
 * moves out of the CLI into src/eval/.)
 */
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_init(NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lqf_pair_list *p = NULL;
    lqf_status st = fuzz_pairs_load(data, size, &p);
    if (st == LQF_OK) {
        if (!p || p->n < 1) abort();
        size_t chars = 0;
        for (int i = 0; i < p->n; i++) {
            chars += strlen(p->path_a[i]) + strlen(p->path_b[i]);
            if (p->issame[i] > 1 || p->line[i] < 1) abort();
        }
        (void)chars;
    } else if (p) {
        abort();
    }
    lqf_pair_list_free(p);
    return 0;
}
