/*
 * test_loader.c — the training data pipeline on ORL (40 identities x 10 PGMs in
 * $LQFACE_SHARED/data/orl/att_faces) through the folder dataset: one epoch visits every image
 * once with the right labels and pixels, the same seed gives identical batches with 1 and 2
 * threads (AdaFace augmentations on), epochs and seeds reshuffle, drop-last, BGR output, a
 * list dataset with a corrupt and a missing image reports them and goes on (skip and
 * replace), and a pack made by `lqface rec pack` loads the same batches as the folder. Prints
 * the decode+augment+normalise throughput with 1 and 2 threads.
 */
#include "data/loader.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S 112
#define PX (S * S * 3)

typedef struct {
    int nb, n;
    float *x;       /* all samples of the epoch in batch order */
    int *labels;
    size_t *items;
    int *batch_n;
} epoch_dump;

static void dump_free(epoch_dump *e) {
    free(e->x);
    free(e->labels);
    free(e->items);
    free(e->batch_n);
    memset(e, 0, sizeof *e);
}

static double last_cpu_s; /* process CPU seconds of the last run_epoch (all threads) */

/* Run one epoch and keep everything; returns seconds. */
static double run_epoch(const lqf_dataset *d, const lqf_loader_options *o, int epoch, epoch_dump *e) {
    lqf_loader *l = NULL;
    memset(e, 0, sizeof *e);
    if (!CHECK(lqf_loader_create(d, o, &l) == LQF_OK)) {
        fprintf(stderr, "%s\n", lqf_last_error());
        return 0;
    }
    size_t cap = lqf_dataset_count(d);
    e->x = malloc(sizeof(float) * PX * cap);
    e->labels = malloc(sizeof(int) * cap);
    e->items = malloc(sizeof(size_t) * cap);
    e->batch_n = calloc((size_t)lqf_loader_num_batches(l) + 1, sizeof(int));
    double t0 = lqf_now();
    clock_t c0 = clock();
    CHECK(lqf_loader_start_epoch(l, epoch) == LQF_OK);
    const lqf_batch *b;
    for (;;) {
        lqf_status st = lqf_loader_next(l, &b);
        if (!CHECK(st == LQF_OK)) {
            fprintf(stderr, "%s\n", lqf_last_error());
            break;
        }
        if (!b) break;
        CHECK(b->index == e->nb && b->epoch == epoch && b->n <= o->batch_size);
        memcpy(e->x + (size_t)e->n * PX, b->x, sizeof(float) * PX * b->n);
        memcpy(e->labels + e->n, b->labels, sizeof(int) * b->n);
        memcpy(e->items + e->n, b->items, sizeof(size_t) * b->n);
        e->batch_n[e->nb++] = b->n;
        e->n += b->n;
    }
    double dt = lqf_now() - t0;
    last_cpu_s = (double)(clock() - c0) / CLOCKS_PER_SEC;
    CHECK(e->nb == lqf_loader_num_batches(l));
    lqf_loader_free(l);
    return dt;
}

static int dumps_equal(const epoch_dump *a, const epoch_dump *b) {
    return a->n == b->n && a->nb == b->nb && !memcmp(a->x, b->x, sizeof(float) * PX * a->n) &&
           !memcmp(a->labels, b->labels, sizeof(int) * a->n) && !memcmp(a->items, b->items, sizeof(size_t) * a->n) &&
           !memcmp(a->batch_n, b->batch_n, sizeof(int) * a->nb);
}

/* Pixels of dataset item i as the loader should give them without augmentation. */
static int expected_pixels(const lqf_dataset *d, size_t i, lqf_channel_order order, uint8_t *out) {
    lqf_sample s;
    memset(&s, 0, sizeof s);
    lqf_image *img = NULL;
    int ok = lqf_dataset_decode(d, i, &s, order, &img) == LQF_OK;
    if (ok) lqf_resize_bilinear(img->data, img->width, img->height, out, S, S);
    lqf_image_free(img);
    lqf_sample_free(&s);
    return ok;
}

static void test_folder(const lqf_dataset *d) {
    size_t n = lqf_dataset_count(d);
    lqf_loader_options o;
    lqf_loader_options_default(&o);
    o.batch_size = 32;
    o.seed = 2026;
    /* 1. a clean epoch visits every image once, labels and pixels right */
    epoch_dump e;
    run_epoch(d, &o, 0, &e);
    CHECK(e.n == (int)n && e.nb == 13 && e.batch_n[12] == 16);
    int *seen = calloc(n, sizeof(int)), once = 1, labels_ok = 1, names_ok = 1, shuffled = 0;
    lqf_sample s;
    memset(&s, 0, sizeof s);
    for (int k = 0; k < e.n; k++) {
        seen[e.items[k]]++;
        shuffled += e.items[k] != (size_t)k;
        labels_ok &= e.labels[k] == lqf_dataset_label(d, e.items[k]);
        char want[64];
        snprintf(want, sizeof want, "/s%d/", 0); /* identity directory of the label */
        const char *cls = lqf_dataset_class_name(d, e.labels[k]);
        snprintf(want, sizeof want, "/%s/", cls ? cls : "?");
        names_ok &= lqf_dataset_get(d, e.items[k], &s) == LQF_OK && strstr(s.name, want) != NULL;
    }
    for (size_t i = 0; i < n; i++) once &= seen[i] == 1;
    printf("folder epoch: %d images in %d batches, every image once: %s, labels match their identity "
           "directory: %s, shuffled positions %d\n",
           e.n, e.nb, once ? "yes" : "no", labels_ok && names_ok ? "yes" : "no", shuffled);
    CHECK(once && labels_ok && names_ok && shuffled > (int)n / 2);
    /* pixels: (x - 127.5)/127.5 of the decoded image resized to 112x112 */
    uint8_t *px = malloc(PX);
    double maxerr = 0;
    for (int k = 0; k < e.n; k += 37) {
        CHECK(expected_pixels(d, e.items[k], LQF_RGB, px));
        for (int i = 0; i < PX; i++) maxerr = fmax(maxerr, fabs(e.x[(size_t)k * PX + i] - (px[i] - 127.5f) / 127.5f));
    }
    printf("folder epoch: normalised pixels vs decode+resize: max error %.2g\n", maxerr);
    CHECK(maxerr < 1e-6);
    /* BGR output: the same values with channels swapped; custom mean/std */
    {
        lqf_loader_options ob = o;
        ob.order = LQF_BGR;
        ob.mean[0] = 100, ob.mean[1] = 110, ob.mean[2] = 120;
        ob.std[0] = 50, ob.std[1] = 60, ob.std[2] = 70;
        epoch_dump eb;
        run_epoch(d, &ob, 0, &eb);
        double err = 0;
        for (int k = 0; k < eb.n && k < e.n; k += 11)
            for (int i = 0; i < S * S; i++)
                for (int c = 0; c < 3; c++) {
                    float rgb = e.x[(size_t)k * PX + i * 3 + (2 - c)] * 127.5f + 127.5f;
                    float want = (rgb - ob.mean[c]) / ob.std[c];
                    err = fmax(err, fabs(eb.x[(size_t)k * PX + i * 3 + c] - want));
                }
        printf("BGR output with per-channel mean/std: max error %.2g\n", err);
        CHECK(eb.n == e.n && !memcmp(eb.items, e.items, sizeof(size_t) * e.n) && err < 1e-4);
        dump_free(&eb);
    }
    free(px);
    free(seen);
    lqf_sample_free(&s);
    /* 2. next epoch and another seed reshuffle; drop-last */
    {
        epoch_dump e1, e2, e3;
        run_epoch(d, &o, 1, &e1);
        lqf_loader_options o2 = o;
        o2.seed = 2027;
        run_epoch(d, &o2, 0, &e2);
        lqf_loader_options o3 = o;
        o3.drop_last = 1;
        run_epoch(d, &o3, 0, &e3);
        int diff1 = 0, diff2 = 0;
        for (int k = 0; k < e.n; k++) diff1 += e1.items[k] != e.items[k], diff2 += e2.items[k] != e.items[k];
        printf("reshuffle: epoch 1 moves %d/%d, seed 2027 moves %d/%d; drop-last: %d batches of 32 (%d images)\n",
               diff1, e.n, diff2, e.n, e3.nb, e3.n);
        CHECK(diff1 > e.n / 2 && diff2 > e.n / 2);
        CHECK(e3.nb == 12 && e3.n == 384 && !memcmp(e3.items, e.items, sizeof(size_t) * 384));
        dump_free(&e1);
        dump_free(&e2);
        dump_free(&e3);
    }
    dump_free(&e);
    /* 3. determinism with augmentations: 1 and 2 threads, small and large prefetch */
    {
        lqf_loader_options oa = o;
        lqf_augment_preset_adaface(&oa.augment);
        oa.augment.p_gblur = oa.augment.p_mblur = oa.augment.p_noise = oa.augment.p_jpeg = 0.2f;
        oa.augment.cross_share = 0.25f, oa.augment.n_cross = 2, oa.augment.cross_res[0] = 14, oa.augment.cross_res[1] = 28;
        epoch_dump a1, a2, a3;
        oa.n_threads = 1, oa.prefetch = 1;
        double t1 = run_epoch(d, &oa, 3, &a1), cpu1 = last_cpu_s;
        oa.n_threads = 2, oa.prefetch = 4;
        double t2 = run_epoch(d, &oa, 3, &a2), cpu2 = last_cpu_s;
        oa.n_threads = 3, oa.prefetch = 2;
        run_epoch(d, &oa, 3, &a3);
        int same = dumps_equal(&a1, &a2) && dumps_equal(&a1, &a3);
        /* resuming mid-epoch: starting at batch 5 gives batches 5.. of the full epoch */
        {
            lqf_loader *l = NULL;
            int resumed_ok = lqf_loader_create(d, &oa, &l) == LQF_OK && lqf_loader_start_epoch_at(l, 3, 5) == LQF_OK;
            int at = 0, nb = 0;
            for (int k = 0; k < 5; k++) at += a1.batch_n[k];
            const lqf_batch *bt;
            while (resumed_ok && lqf_loader_next(l, &bt) == LQF_OK && bt) {
                resumed_ok &= bt->index == 5 + nb && bt->n == a1.batch_n[5 + nb] &&
                              !memcmp(bt->x, a1.x + (size_t)at * PX, sizeof(float) * PX * bt->n) &&
                              !memcmp(bt->items, a1.items + at, sizeof(size_t) * bt->n);
                at += bt->n;
                nb++;
            }
            printf("start at batch 5 of epoch 3: %d batches identical to the full epoch's: %s\n", nb,
                   resumed_ok && at == a1.n ? "yes" : "no");
            CHECK(resumed_ok && at == a1.n && nb == a1.nb - 5);
            CHECK(l && lqf_loader_start_epoch_at(l, 0, a1.nb + 1) == LQF_ERR_ARG);
            lqf_loader_free(l);
        }
        /* the augmentations did something: compare with the clean epoch 3 */
        epoch_dump c;
        run_epoch(d, &o, 3, &c);
        int changed = 0;
        for (int k = 0; k < c.n; k++) changed += memcmp(c.x + (size_t)k * PX, a1.x + (size_t)k * PX, sizeof(float) * PX) != 0;
        printf("determinism (AdaFace preset + blur/noise/JPEG + cross-resolution): 1, 2 and 3 threads give identical "
               "batches: %s; %d/%d images augmented\n",
               same ? "yes" : "no", changed, c.n);
        CHECK(same && !memcmp(a1.items, c.items, sizeof(size_t) * c.n));
        CHECK(changed > c.n / 4 && changed < c.n);
        printf("throughput (decode PGM + resize + augment + normalise, 112x112, batch 32): 1 thread %.0f images/s "
               "(%.2f CPU ms/image), 2 threads %.0f images/s (%.2f CPU ms/image)\n",
               a1.n / t1, 1e3 * cpu1 / a1.n, a2.n / t2, 1e3 * cpu2 / a2.n);
        dump_free(&a1);
        dump_free(&a2);
        dump_free(&a3);
        dump_free(&c);
    }
}

static int write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* A list dataset with a corrupt (truncated) and a missing image among good ones. */
static void test_bad_items(const lqf_dataset *folder, const char *tmp) {
    char list[600], bad[600];
    snprintf(list, sizeof list, "%s/list.txt", tmp);
    snprintf(bad, sizeof bad, "%s/corrupt.pgm", tmp);
    lqf_sample s;
    memset(&s, 0, sizeof s);
    CHECK(lqf_dataset_get(folder, 0, &s) == LQF_OK);
    CHECK(write_bytes(bad, s.data, s.len / 3)); /* a PGM cut short */
    FILE *f = fopen(list, "w");
    if (!CHECK(f != NULL)) return;
    int good = 0;
    for (size_t i = 0; i < 20; i++) {
        CHECK(lqf_dataset_get(folder, i * 7, &s) == LQF_OK);
        fprintf(f, "%s %d\n", s.name, s.label);
        good++;
        if (i == 5) fprintf(f, "%s 3\n", bad);
        if (i == 12) fprintf(f, "%s/missing.pgm 4\n", tmp);
    }
    fclose(f);
    lqf_sample_free(&s);
    lqf_dataset *d = NULL;
    if (!CHECK(lqf_dataset_open_list(list, NULL, &d) == LQF_OK)) return;
    for (int pol = 0; pol < 2; pol++) {
        lqf_loader_options o;
        lqf_loader_options_default(&o);
        o.batch_size = 8;
        o.seed = 5;
        o.bad = pol ? LQF_BAD_REPLACE : LQF_BAD_SKIP;
        lqf_loader *l = NULL;
        if (!CHECK(lqf_loader_create(d, &o, &l) == LQF_OK)) break;
        CHECK(lqf_loader_start_epoch(l, 0) == LQF_OK);
        const lqf_batch *b;
        int total = 0, failed = 0, named_bad = 0, named_missing = 0;
        while (lqf_loader_next(l, &b) == LQF_OK && b) {
            total += b->n;
            for (int k = 0; k < b->n_failed && k < LQF_LOADER_MAX_REPORTS; k++) {
                printf("  %s: batch %d reports item %zu: %s\n", pol ? "replace" : "skip", b->index, b->failed_item[k],
                       b->failed_msg[k]);
                named_bad += strstr(b->failed_msg[k], "corrupt.pgm") != NULL;
                named_missing += strstr(b->failed_msg[k], "missing.pgm") != NULL;
            }
            failed += b->n_failed;
            for (int k = 0; k < b->n; k++) CHECK(b->items[k] != 6 && b->items[k] != 14); /* the bad lines */
        }
        printf("list with a corrupt and a missing image (%s): %d samples delivered, %d failures reported, "
               "loader count %zu\n",
               pol ? "replace" : "skip", total, failed, lqf_loader_num_failed(l));
        CHECK(failed == 2 && named_bad == 1 && named_missing == 1 && lqf_loader_num_failed(l) == 2);
        CHECK(total == (pol ? good + 2 : good));
        lqf_loader_free(l);
    }
    lqf_dataset_free(d);
    remove(list);
    remove(bad);
}

/* `lqface rec pack` + `rec check`, then the pack loads the same batches as the folder. */
static void test_rec_pack(const lqf_dataset *folder, const char *root, const char *tmp) {
    const char *bin = getenv("LQFACE_BIN");
    if (!bin) {
        printf("LQFACE_BIN not set: rec pack test skipped\n");
        return;
    }
    char cmd[2048], prefix[600], rec[640];
    snprintf(prefix, sizeof prefix, "%s/orl", tmp);
    snprintf(rec, sizeof rec, "%s.rec", prefix);
    snprintf(cmd, sizeof cmd, "'%s' rec pack '%s' -o '%s' > '%s/pack.out' 2>&1", bin, root, prefix, tmp);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "'%s' rec check '%s' > '%s/check.out' 2>&1", bin, rec, tmp);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "cat '%s/pack.out' '%s/check.out'", tmp, tmp);
    if (system(cmd) != 0) printf("(no output)\n");
    /* a damaged pack is reported with a non-zero exit code */
    char damaged[700];
    snprintf(damaged, sizeof damaged, "%s/damaged.rec", tmp);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (CHECK(lqf_read_file(rec, &buf, &len) == LQF_OK && len > 5000)) {
        buf[len / 2] ^= 0xff, buf[len / 2 + 1] ^= 0x5a, buf[len / 2 + 2] ^= 0xa5, buf[len / 2 + 3] ^= 0xff;
        CHECK(write_bytes(damaged, buf, len - 1000));
        snprintf(cmd, sizeof cmd, "'%s' rec check '%s' > '%s/bad.out' 2>&1", bin, damaged, tmp);
        int rc = system(cmd);
        snprintf(cmd, sizeof cmd, "cat '%s/bad.out'", tmp);
        if (system(cmd) != 0) printf("(no output)\n");
        CHECK(rc != 0);
    }
    free(buf);
    remove(damaged);
    lqf_dataset *d = NULL;
    if (!CHECK(lqf_dataset_open_rec(rec, &d) == LQF_OK)) {
        fprintf(stderr, "%s\n", lqf_last_error());
        return;
    }
    CHECK(lqf_dataset_count(d) == lqf_dataset_count(folder) && lqf_dataset_num_classes(d) == 40);
    lqf_loader_options o;
    lqf_loader_options_default(&o);
    o.batch_size = 50;
    o.seed = 77;
    lqf_augment_preset_adaface(&o.augment);
    epoch_dump a, b;
    run_epoch(folder, &o, 2, &a);
    run_epoch(d, &o, 2, &b);
    int same = dumps_equal(&a, &b);
    printf("RecordIO pack made by `lqface rec pack`: same batches as the image folder: %s\n", same ? "yes" : "no");
    CHECK(same);
    dump_free(&a);
    dump_free(&b);
    /* a record whose image cannot be decoded (framing intact, PGM magic destroyed): reported
     * by its "<rec>#key" name, the other 399 images go on */
    const lqf_rec *rr = lqf_dataset_rec(d);
    size_t entry = 0;
    int found = rr && lqf_rec_find(rr, 18, &entry);
    uint64_t off = found ? lqf_rec_offset(rr, entry) : 0;
    lqf_dataset_free(d);
    d = NULL;
    char bad_prefix[640], bad_rec[700];
    snprintf(bad_prefix, sizeof bad_prefix, "%s/orl_bad", tmp);
    snprintf(bad_rec, sizeof bad_rec, "%s.rec", bad_prefix);
    snprintf(cmd, sizeof cmd, "cp '%s.rec' '%s.rec' && cp '%s.idx' '%s.idx'", prefix, bad_prefix, prefix, bad_prefix);
    if (CHECK(found && system(cmd) == 0 && lqf_read_file(bad_rec, &buf, &len) == LQF_OK)) {
        CHECK(off + 8 + 24 + 2 < len && buf[off + 8 + 24] == 'P');
        buf[off + 8 + 24] = 'X', buf[off + 8 + 24 + 1] = 'X';
        CHECK(write_bytes(bad_rec, buf, len));
        free(buf);
        buf = NULL;
        CHECK(lqf_dataset_open_rec(bad_rec, &d) == LQF_OK);
        lqf_loader *l = NULL;
        o.bad = LQF_BAD_SKIP;
        int total = 0, failed = 0, named = 0;
        if (d && CHECK(lqf_loader_create(d, &o, &l) == LQF_OK) && CHECK(lqf_loader_start_epoch(l, 0) == LQF_OK)) {
            const lqf_batch *bt;
            while (lqf_loader_next(l, &bt) == LQF_OK && bt) {
                total += bt->n;
                for (int k = 0; k < bt->n_failed && k < LQF_LOADER_MAX_REPORTS; k++) {
                    printf("  corrupt record: batch %d reports item %zu: %s\n", bt->index, bt->failed_item[k],
                           bt->failed_msg[k]);
                    named += strstr(bt->failed_msg[k], "orl_bad.rec#18") != NULL;
                }
                failed += bt->n_failed;
            }
        }
        printf("RecordIO pack with an undecodable image record: %d images delivered, %d reported\n", total, failed);
        CHECK(total == 399 && failed == 1 && named == 1);
        lqf_loader_free(l);
        lqf_dataset_free(d);
    }
    snprintf(cmd, sizeof cmd, "rm -f '%s.rec' '%s.idx' '%s.rec' '%s.idx' '%s/property' '%s'/*.out", prefix, prefix,
             bad_prefix, bad_prefix, tmp, tmp);
    CHECK(system(cmd) == 0);
}

int main(void) {
    const char *root = tu_shared("data/orl/att_faces");
    char rootbuf[1024];
    snprintf(rootbuf, sizeof rootbuf, "%s", root);
    lqf_dataset *d = NULL;
    if (!CHECK(lqf_dataset_open_folder(rootbuf, &d) == LQF_OK)) {
        fprintf(stderr, "%s\n", lqf_last_error());
        return tu_finish("test_loader");
    }
    CHECK(lqf_dataset_count(d) == 400 && lqf_dataset_num_classes(d) == 40);
    char tmp[] = "/tmp/lqf_loader_XXXXXX";
    if (!CHECK(mkdtemp(tmp) != NULL)) return tu_finish("test_loader");
    test_folder(d);
    test_bad_items(d, tmp);
    test_rec_pack(d, rootbuf, tmp);
    /* bad arguments */
    lqf_loader *l = NULL;
    lqf_loader_options o;
    lqf_loader_options_default(&o);
    o.batch_size = 0;
    CHECK(lqf_loader_create(d, &o, &l) == LQF_ERR_ARG && l == NULL);
    lqf_loader_options_default(&o);
    CHECK(lqf_loader_create(d, &o, &l) == LQF_OK);
    const lqf_batch *b;
    CHECK(lqf_loader_next(l, &b) == LQF_ERR_ARG); /* no epoch started */
    CHECK(lqf_loader_start_epoch(l, 0) == LQF_OK);
    CHECK(lqf_loader_next(l, &b) == LQF_OK && b && b->n == 64);
    CHECK(lqf_loader_start_epoch(l, 1) == LQF_OK); /* abandon epoch 0 midway */
    int nb = 0;
    while (lqf_loader_next(l, &b) == LQF_OK && b) nb++;
    CHECK(nb == 7);
    lqf_loader_free(l);
    lqf_dataset_free(d);
    rmdir(tmp);
    return tu_finish("test_loader");
}
