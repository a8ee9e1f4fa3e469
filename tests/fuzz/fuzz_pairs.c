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

static const char *cfp_dir(const uint8_t *data, size_t size, const char *split) {
    const uint8_t *part;
    size_t len;
    char name[64];
    static char dir[256];
    snprintf(dir, sizeof dir, "%s/cfp", fuzz_dir());
    mkdir(dir, 0700);
    fuzz_file("cfp/Pair_list_F.txt", fuzz_part(&data, &size, &part, &len) ? part : NULL, len, 0);
    fuzz_file("cfp/Pair_list_P.txt", fuzz_part(&data, &size, &part, &len) ? part : NULL, len, 0);
    snprintf(name, sizeof name, "%s/cfp/Split", fuzz_dir());
    mkdir(name, 0700);
    snprintf(name, sizeof name, "%s/cfp/Split/%s", fuzz_dir(), split);
    mkdir(name, 0700);
    for (int f = 1; f <= 3; f++) {
        snprintf(name, sizeof name, "%s/cfp/Split/%s/%02d", fuzz_dir(), split, f);
        mkdir(name, 0700);
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "cfp/Split/%s/%02d/%s.txt", split, f, k ? "diff" : "same");
            int have = fuzz_part(&data, &size, &part, &len);
            fuzz_file(name, have ? part : NULL, len, 0);
        }
    }
    return dir;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int kind = data[0] & 3, rooted = data[0] & 4;
    data++, size--;
    lqf_pair_list *p = NULL;
    lqf_status st;
    if (kind == 0) st = lqf_pairs_load_lfw(fuzz_memfd(data, size), rooted ? "/root" : NULL, &p);
    else if (kind == 1) st = lqf_pairs_load_list(fuzz_memfd(data, size), "root", &p);
    else st = lqf_pairs_load_cfp(cfp_dir(data, size, kind == 2 ? "FP" : "FF"), kind == 2 ? "FP" : "FF", &p);
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
