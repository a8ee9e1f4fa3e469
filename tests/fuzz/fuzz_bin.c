/*
 * fuzz_bin.c — libFuzzer harness of the insightface .bin reader (a pickle virtual machine):
 * lqf_bin_load on the input bytes. A pack it returns must hold 2 images per pair, each
 * inside memory the pack owns (read byte by byte here), and flags of 0 or 1.
 */
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_init(NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lqf_bin_pack *b = NULL;
    if (lqf_bin_load(fuzz_memfd(data, size), &b) == LQF_OK) {
        if (b->n_pairs < 1 || b->n_images != 2 * b->n_pairs) abort();
        unsigned sum = 0;
        for (int i = 0; i < b->n_images; i++)
            for (size_t k = 0; k < b->image_len[i]; k++) sum += b->image[i][k];
        for (int i = 0; i < b->n_pairs; i++)
            if (b->issame[i] > 1) abort();
        (void)sum;
    } else if (b) {
        abort();
    }
    lqf_bin_free(b);
    return 0;
}
