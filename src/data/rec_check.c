/*
 * rec_check.c — lqf_rec_check: read every record of a RecordIO pack once and report what
 * it holds (records, split records, images, classes, layout) or the first problem, with the
 * file and byte offset. What `lqface` can run on a pack before a long training job.
 */
#include "data/data.h"

#include <string.h>

lqf_status lqf_rec_check(const char *rec_path, lqf_rec_summary *out) {
    if (!rec_path) return lqf_fail(LQF_ERR_ARG, "lqf_rec_check: NULL path");
    lqf_rec_summary sum;
    memset(&sum, 0, sizeof sum);
    if (out) *out = sum;
    lqf_dataset *d = NULL;
    lqf_status st = lqf_dataset_open_rec(rec_path, &d); /* a scan without .idx validates framing */
    if (st) return st;
    const lqf_rec *r = lqf_dataset_rec(d);
    sum.records = lqf_rec_count(r);
    sum.has_idx = !lqf_rec_scanned(r);
    sum.has_meta = lqf_dataset_rec_meta(d, NULL, NULL);
    sum.images = lqf_dataset_count(d);
    sum.bytes = lqf_rec_size(r);
    sum.num_classes = lqf_dataset_num_classes(d);
    for (size_t i = 0; i < sum.records; i++) { /* framing of every entry (identity records too) */
        int parts;
        if ((st = lqf_rec_parts(r, i, &parts))) goto done;
        sum.split_records += parts > 1;
    }
    lqf_sample s = {0};
    for (size_t i = 0; i < sum.images; i++) /* header, label range, non-empty image */
        if ((st = lqf_dataset_get(d, i, &s))) break;
    lqf_sample_free(&s);
    if (st) goto done;
    if (sum.has_meta) { /* identity records: [a, b) inside the image keys */
        long a0, b0;
        lqf_dataset_rec_meta(d, &a0, &b0);
        lqf_buf scratch = {0};
        for (long k = a0; k < b0 && !st; k++) {
            size_t e;
            const uint8_t *pl;
            size_t len;
            lqf_irheader h;
            char name[600];
            snprintf(name, sizeof name, "%s#%ld", rec_path, k);
            if (!lqf_rec_find(r, (uint64_t)k, &e)) {
                st = lqf_fail(LQF_ERR_FORMAT, "%s: identity record %ld (meta range [%ld, %ld)) is not in the index",
                              rec_path, k, a0, b0);
                break;
            }
            if ((st = lqf_rec_read(r, e, &scratch, &pl, &len))) break;
            if ((st = lqf_ir_unpack(pl, len, name, &h))) break;
            if (h.flag < 2 || lqf_ir_label(&h, 0) < 1 || lqf_ir_label(&h, 1) < lqf_ir_label(&h, 0) ||
                lqf_ir_label(&h, 1) > (float)a0)
                st = lqf_fail(LQF_ERR_FORMAT, "%s: identity record is not an image key range [a, b) inside [1, %ld)",
                              name, a0);
        }
        lqf_buf_free(&scratch);
    }
done:
    if (!st && out) *out = sum;
    lqf_dataset_free(d);
    return st;
}
