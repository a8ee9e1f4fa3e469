/*
 * fuzz_recordio.c — libFuzzer harness of the MXNet RecordIO reader: the input is up to three
 * parts separated by "\n##\n" — the .rec, then (optional) the .idx, then (optional) the
 * property file — written into a scratch directory; lqf_rec_check opens the pack (index or
 * scan, meta record, labels) and reads every record, and the first images are decoded
 * through the dataset as the training loader does.
 */
#include "data/data.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_init(NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *rp = fuzz_rec_files(data, size);
    lqf_rec_summary sum;
    lqf_rec_check(rp, &sum);
    lqf_dataset *d = NULL;
    if (lqf_dataset_open_rec(rp, &d) == LQF_OK) {
        lqf_sample s = {0};
        for (size_t i = 0; i < lqf_dataset_count(d) && i < 4; i++) {
            lqf_image *im = NULL;
            if (lqf_dataset_decode(d, i, &s, LQF_RGB, &im) == LQF_OK && (s.label < 0 || s.label >= lqf_dataset_num_classes(d)))
                abort();
            lqf_image_free(im);
        }
        lqf_sample_free(&s);
        lqf_dataset_free(d);
    }
    return 0;
}
