/*
 * fuzz_train_config.c — libFuzzer harness of the training config: lqf_train_config_parse of
 * `key = value` text (first byte: skip unknown keys, as for a checkpoint's config, or not),
 * the augmentation settings derived from it, and a round trip: every key's value, read back
 * as text and set again, must give the same text (a config written into a checkpoint is
 * read back as it was).
 */
#include "fuzz_util.h"
#include "train/run.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_init(NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int skip = data[0] & 1;
    lqf_train_config c, d;
    lqf_train_config_default(&c);
    if (lqf_train_config_parse(&c, (const char *)data + 1, size - 1, "fuzz.conf", skip) != LQF_OK) return 0;
    lqf_augment_config a;
    lqf_train_augment_config(&c, &a);
    lqf_train_config_default(&d);
    for (int i = 0; i < lqf_train_config_n_keys(); i++) {
        const char *k = lqf_train_config_key(i, NULL);
        char v1[LQF_TRAIN_PATH + 8], v2[LQF_TRAIN_PATH + 8];
        lqf_train_config_get(&c, k, v1, sizeof v1);
        if (lqf_train_config_set(&d, k, v1) != LQF_OK) {
            fprintf(stderr, "key %s: value '%s' read back is refused: %s\n", k, v1, lqf_last_error());
            abort();
        }
        lqf_train_config_get(&d, k, v2, sizeof v2);
        if (strcmp(v1, v2)) {
            fprintf(stderr, "key %s: '%s' read back as '%s'\n", k, v1, v2);
            abort();
        }
    }
    return 0;
}
