/*
 * test_recordio.c — MXNet RecordIO reader and writer against references written by
 * tools/make_rec_fixture.py (Python struct, dmlc-core's split rule, hashlib):
 *   - tests/data/recordio/fixture.rec: every record's IRHeader, labels and image sha256,
 *     split records (magic inside the image trailer and inside the IRHeader), the meta
 *     record, zero-copy reads, reading without the .idx (scan), and 2 reader threads;
 *   - plain/plain.rec: plain im2rec layout (record 0 is an image);
 *   - lqf_rec_pack on a folder built here (ORL s10,s2,s9 x {1,10,2}.pgm, one with a
 *     magic-bearing trailer, one non-image): byte-identical .rec/.idx/property to Python's,
 *     and it reads back to the folder's bytes and labels;
 *   - corrupt copies (magic of record 3 flipped; truncated files): LQF_ERR_FORMAT naming the
 *     byte offset, no crash.
 */
#define _GNU_SOURCE
#include "data/data.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXREC 64

typedef struct {
    unsigned long long key, offset, id, id2;
    unsigned flag;
    float label;
    int nlabels;
    float labels[8];
    size_t image_len;
    char sha[65];
} exp_record;

typedef struct {
    int index;
    unsigned long long key;
    int label;
    char sha[65];
    char src[64], enc[8];    /* ORL file the image was encoded from, "png" or "jpg" */
} exp_item;

static exp_record g_rec[MAXREC];
static int g_nrec;
static exp_item g_item[MAXREC];
static int g_nitem;
static int g_meta[3];
static unsigned long long g_split[8];
static int g_nsplit;

/* Parse fixture_expected.txt / plain_expected.txt lines. */
static int load_expected(const char *path, exp_item *items, int *nitems) {
    FILE *f = fopen(path, "r");
    if (!f) { printf("cannot open %s\n", path); return 0; }
    char line[1024];
    *nitems = 0;
    while (fgets(line, sizeof line, f)) {
        char *save, *t = strtok_r(line, " \n", &save);
        if (!t || t[0] == '#') continue;
        if (!strcmp(t, "record") && g_nrec < MAXREC) {
            exp_record *r = &g_rec[g_nrec++];
            r->key = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            r->offset = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            r->flag = (unsigned)strtoul(strtok_r(NULL, " \n", &save), NULL, 10);
            r->label = (float)strtod(strtok_r(NULL, " \n", &save), NULL);
            r->id = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            r->id2 = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            r->nlabels = atoi(strtok_r(NULL, " \n", &save));
            for (int k = 0; k < r->nlabels && k < 8; k++) r->labels[k] = (float)strtod(strtok_r(NULL, " \n", &save), NULL);
            r->image_len = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            snprintf(r->sha, sizeof r->sha, "%s", strtok_r(NULL, " \n", &save));
        } else if (!strcmp(t, "item") && *nitems < MAXREC) {
            exp_item *it = &items[(*nitems)++];
            it->index = atoi(strtok_r(NULL, " \n", &save));
            it->key = strtoull(strtok_r(NULL, " \n", &save), NULL, 10);
            it->label = atoi(strtok_r(NULL, " \n", &save));
            snprintf(it->sha, sizeof it->sha, "%s", strtok_r(NULL, " \n", &save));
            const char *src = strtok_r(NULL, " \n", &save), *enc = src ? strtok_r(NULL, " \n", &save) : NULL;
            snprintf(it->src, sizeof it->src, "%s", src ? src : "");
            snprintf(it->enc, sizeof it->enc, "%s", enc ? enc : "");
        } else if (!strcmp(t, "meta")) {
            for (int k = 0; k < 3; k++) g_meta[k] = atoi(strtok_r(NULL, " \n", &save));
        } else if (!strcmp(t, "split_keys")) {
            while ((t = strtok_r(NULL, " \n", &save)) && g_nsplit < 8) g_split[g_nsplit++] = strtoull(t, NULL, 10);
        }
    }
    fclose(f);
    return 1;
}

static int copy_file(const char *src, const char *dst, size_t limit) {
    uint8_t *data;
    size_t len;
    if (lqf_read_file(src, &data, &len)) return 0;
    FILE *f = fopen(dst, "wb");
    if (!f) { free(data); return 0; }
    size_t n = len < limit ? len : limit;
    int ok = fwrite(data, 1, n, f) == n;
    ok &= fclose(f) == 0;
    free(data);
    return ok;
}

static int write_bytes(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return (fclose(f) == 0) & ok;
}

static int sha_file_is(const char *path, const char *hex) {
    uint8_t *data;
    size_t len;
    if (lqf_read_file(path, &data, &len)) return 0;
    char h[65];
    lqf_sha256_hex(data, len, h);
    free(data);
    if (strcmp(h, hex)) printf("  %s: sha256 %s, expected %s\n", path, h, hex);
    return strcmp(h, hex) == 0;
}

/* Compare every record of an opened fixture with the expected list. */
static void check_fixture_records(const lqf_rec *r, int check_offsets) {
    lqf_buf scratch = {0};
    CHECK(lqf_rec_count(r) == (size_t)g_nrec);
    for (int i = 0; i < g_nrec; i++) {
        const exp_record *e = &g_rec[i];
        size_t ent;
        if (!CHECK(lqf_rec_find(r, e->key, &ent))) continue;
        if (check_offsets) CHECK(lqf_rec_offset(r, ent) == e->offset);
        const uint8_t *pl;
        size_t len;
        lqf_irheader h;
        if (!CHECK(lqf_rec_read(r, ent, &scratch, &pl, &len) == LQF_OK)) { printf("  %s\n", lqf_last_error()); continue; }
        if (!CHECK(lqf_ir_unpack(pl, len, "fixture", &h) == LQF_OK)) continue;
        int ok = h.flag == e->flag && h.label == e->label && h.id == e->id && h.id2 == e->id2 &&
                 (int)h.flag == e->nlabels && h.image_len == e->image_len;
        for (int k = 0; ok && k < e->nlabels; k++) ok = lqf_ir_label(&h, (uint32_t)k) == e->labels[k];
        char hex[65];
        lqf_sha256_hex(h.image, h.image_len, hex);
        ok = ok && strcmp(hex, e->sha) == 0;
        if (!CHECK(ok)) printf("  key %llu: flag %u label %g id %llu id2 %llu len %zu sha %s\n", e->key, h.flag,
                               (double)h.label, (unsigned long long)h.id, (unsigned long long)h.id2, h.image_len, hex);
    }
    lqf_buf_free(&scratch);
}

static void check_items(const lqf_dataset *d, const exp_item *items, int n) {
    CHECK(lqf_dataset_count(d) == (size_t)n);
    lqf_sample s = {0};
    for (int i = 0; i < n && (size_t)i < lqf_dataset_count(d); i++) {
        if (!CHECK(lqf_dataset_get(d, (size_t)i, &s) == LQF_OK)) { printf("  %s\n", lqf_last_error()); continue; }
        char hex[65];
        lqf_sha256_hex(s.data, s.len, hex);
        int ok = s.label == items[i].label && strcmp(hex, items[i].sha) == 0 && lqf_dataset_label(d, (size_t)i) == s.label;
        if (!CHECK(ok)) printf("  item %d (%s): label %d sha %s, expected %d %s\n", i, s.name, s.label, hex, items[i].label, items[i].sha);
    }
    lqf_sample_free(&s);
}

/* Expect a FORMAT error whose message contains what. */
static int is_format_error(lqf_status st, const char *what) {
    int ok = st == LQF_ERR_FORMAT && strstr(lqf_last_error(), what) != NULL;
    if (!ok) printf("  status %d, message \"%s\", expected to contain \"%s\"\n", st, lqf_last_error(), what);
    return ok;
}

static const exp_record *expected_record(unsigned long long key) {
    for (int i = 0; i < g_nrec; i++)
        if (g_rec[i].key == key) return &g_rec[i];
    return NULL;
}

static void test_corrupt(const char *tmp) {
    char rec[1200], idx[1200], noidx[1200], what[160];
    const char *src = tu_testdata("recordio/fixture.rec");
    char srcbuf[1024];
    snprintf(srcbuf, sizeof srcbuf, "%s", src);
    const exp_record *r3 = expected_record(3), *r5 = expected_record(5), *r9 = expected_record(9),
                     *r10 = expected_record(10);
    if (!CHECK(r3 && r5 && r9 && r10)) return;

    /* flipped magic of record 3 */
    snprintf(rec, sizeof rec, "%s/bad.rec", tmp);
    snprintf(idx, sizeof idx, "%s/bad.idx", tmp);
    uint8_t *data;
    size_t len;
    CHECK(lqf_read_file(srcbuf, &data, &len) == LQF_OK);
    data[r3->offset] ^= 0xff;
    CHECK(write_bytes(rec, data, len));
    CHECK(copy_file(tu_testdata("recordio/fixture.idx"), idx, (size_t)-1));
    lqf_rec *r = NULL;
    CHECK(lqf_rec_open(rec, NULL, &r) == LQF_OK);
    if (r) {
        lqf_buf scratch = {0};
        const uint8_t *pl;
        size_t n, e;
        snprintf(what, sizeof what, "corrupt record at byte offset %llu (bad magic", r3->offset);
        CHECK(lqf_rec_find(r, 3, &e));
        CHECK(is_format_error(lqf_rec_read(r, e, &scratch, &pl, &n), what));
        CHECK(strstr(lqf_last_error(), rec) == lqf_last_error()); /* names the file first */
        CHECK(lqf_rec_find(r, 4, &e) && lqf_rec_read(r, e, &scratch, &pl, &n) == LQF_OK); /* others still read */
        lqf_buf_free(&scratch);
        lqf_rec_free(r);
    }
    lqf_dataset *d = NULL;
    CHECK(lqf_dataset_open_rec(rec, &d) == LQF_OK);
    if (d) {
        lqf_sample s = {0};
        CHECK(is_format_error(lqf_dataset_get(d, 2, &s), what)); /* item 2 = key 3 */
        CHECK(lqf_dataset_label(d, 2) == -1);
        CHECK(lqf_dataset_get(d, 3, &s) == LQF_OK);
        lqf_sample_free(&s);
        lqf_dataset_free(d);
    }
    snprintf(noidx, sizeof noidx, "%s/bad_noidx.rec", tmp);
    CHECK(write_bytes(noidx, data, len));
    r = NULL;
    CHECK(is_format_error(lqf_rec_open(noidx, NULL, &r), what)); /* the scan finds it */
    CHECK(r == NULL);
    free(data);

    /* truncated inside record 9: its length runs past the end; record 10 starts past it */
    snprintf(rec, sizeof rec, "%s/trunc.rec", tmp);
    snprintf(idx, sizeof idx, "%s/trunc.idx", tmp);
    CHECK(copy_file(srcbuf, rec, (size_t)r9->offset + 100));
    CHECK(copy_file(tu_testdata("recordio/fixture.idx"), idx, (size_t)-1));
    r = NULL;
    CHECK(lqf_rec_open(rec, NULL, &r) == LQF_OK);
    if (r) {
        lqf_buf scratch = {0};
        const uint8_t *pl;
        size_t n, e;
        snprintf(what, sizeof what, "corrupt record at byte offset %llu (length", r9->offset);
        CHECK(lqf_rec_find(r, 9, &e));
        CHECK(is_format_error(lqf_rec_read(r, e, &scratch, &pl, &n), what));
        snprintf(what, sizeof what, "corrupt record at byte offset %llu (record header beyond end of file", r10->offset);
        CHECK(lqf_rec_find(r, 10, &e));
        CHECK(is_format_error(lqf_rec_read(r, e, &scratch, &pl, &n), what));
        CHECK(lqf_rec_find(r, 1, &e) && lqf_rec_read(r, e, &scratch, &pl, &n) == LQF_OK);
        lqf_buf_free(&scratch);
        lqf_rec_free(r);
    }
    snprintf(noidx, sizeof noidx, "%s/trunc_noidx.rec", tmp);
    CHECK(copy_file(srcbuf, noidx, (size_t)r9->offset + 100));
    snprintf(what, sizeof what, "corrupt record at byte offset %llu (length", r9->offset);
    r = NULL;
    CHECK(is_format_error(lqf_rec_open(noidx, NULL, &r), what));

    /* truncated right after the first part header of the split record 5 */
    CHECK(copy_file(srcbuf, noidx, (size_t)r5->offset + 8));
    snprintf(what, sizeof what, "corrupt record at byte offset %llu (length", r5->offset);
    CHECK(is_format_error(lqf_rec_open(noidx, NULL, &r), what));
    /* cut in the middle of a record header */
    CHECK(copy_file(srcbuf, noidx, (size_t)r5->offset + 6));
    snprintf(what, sizeof what, "corrupt record at byte offset %llu (record header beyond end", r5->offset);
    CHECK(is_format_error(lqf_rec_open(noidx, NULL, &r), what));

    /* an empty pack; a property file with fewer classes than the labels use */
    snprintf(rec, sizeof rec, "%s/empty.rec", tmp);
    CHECK(write_bytes(rec, (const uint8_t *)"", 0));
    lqf_dataset *de = NULL;
    CHECK(is_format_error(lqf_dataset_open_rec(rec, &de), "no image records") && de == NULL);
    char sub[1200], prop[1300];
    snprintf(sub, sizeof sub, "%s/few", tmp);
    CHECK(mkdir(sub, 0755) == 0);
    snprintf(rec, sizeof rec, "%s/few/f.rec", tmp);
    CHECK(copy_file(srcbuf, rec, (size_t)-1));
    snprintf(prop, sizeof prop, "%s/few/property", tmp);
    CHECK(write_bytes(prop, (const uint8_t *)"2,112,92\n", 9));
    CHECK(lqf_dataset_open_rec(rec, &de) == LQF_OK);
    if (de) {
        lqf_sample s = {0};
        int okcount = 0, badcount = 0;
        for (int i = 0; i < g_nitem; i++) {
            lqf_status st = lqf_dataset_get(de, (size_t)i, &s);
            int l = lqf_dataset_label(de, (size_t)i);
            if (g_item[i].label < 2) okcount += st == LQF_OK && l == g_item[i].label;
            else badcount += st == LQF_ERR_FORMAT && l == -1 && strstr(lqf_last_error(), "outside 0..1") != NULL;
        }
        CHECK(okcount + badcount == g_nitem && badcount > 0);
        lqf_sample_free(&s);
        lqf_dataset_free(de);
    }
    CHECK(is_format_error(lqf_rec_check(rec, NULL), "outside 0..1"));

    /* a broken .idx line */
    snprintf(rec, sizeof rec, "%s/trunc.rec", tmp);
    static const char badidx[] = "0\t0\n1\tbanana\n";
    CHECK(write_bytes(idx, (const uint8_t *)badidx, sizeof badidx - 1));
    CHECK(is_format_error(lqf_rec_open(rec, NULL, &r), "line 2"));
    /* a missing file */
    snprintf(rec, sizeof rec, "%s/missing.rec", tmp);
    CHECK(lqf_rec_open(rec, NULL, &r) == LQF_ERR_IO);
}

/* Build the pack test folder the same way make_rec_fixture.py describes it. */
static int build_folder(const char *root) {
    static const char *ids[] = {"s10", "s2", "s9"}, *nums[] = {"1", "10", "2"};
    char p[1200];
    if (mkdir(root, 0755)) return 0;
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", root, ids[i]);
        if (mkdir(p, 0755)) return 0;
        for (int j = 0; j < 3; j++) {
            char rel[64];
            snprintf(rel, sizeof rel, "data/orl/att_faces/%s/%s.pgm", ids[i], nums[j]);
            uint8_t *data;
            size_t len;
            if (lqf_read_file(tu_shared(rel), &data, &len)) return 0;
            if (!strcmp(ids[i], "s2") && !strcmp(nums[j], "10")) { /* trailer holding the magic */
                size_t pad = (4 - (LQF_IR_HEADER_SIZE + len) % 4) % 4;
                uint8_t *b = realloc(data, len + pad + 16);
                if (!b) return 0;
                data = b;
                uint32_t m = LQF_REC_MAGIC;
                memset(data + len, 0, pad);
                len += pad;
                memcpy(data + len, &m, 4);
                memcpy(data + len + 4, &m, 4);
                memcpy(data + len + 8, "tail", 4);
                memcpy(data + len + 12, &m, 4);
                len += 16;
            }
            snprintf(p, sizeof p, "%s/%s/%s.pgm", root, ids[i], nums[j]);
            int ok = write_bytes(p, data, len);
            free(data);
            if (!ok) return 0;
        }
    }
    snprintf(p, sizeof p, "%s/s9/notes.txt", root);
    return write_bytes(p, (const uint8_t *)"not an image\n", 13);
}

static void test_pack(const char *tmp) {
    char folder[1024], line[1024];
    snprintf(folder, sizeof folder, "%s/folder", tmp);
    if (!CHECK(build_folder(folder))) return;
    FILE *f = fopen(tu_testdata("recordio/pack_expected.txt"), "r");
    if (!CHECK(f != NULL)) return;
    while (fgets(line, sizeof line, f)) {
        char mode[16], rsha[65], isha[65], psha[65];
        int nimg, ncls;
        long rlen;
        if (sscanf(line, "%15s images %d classes %d rec %ld %64s idx %64s property %64s", mode, &nimg, &ncls, &rlen,
                   rsha, isha, psha) != 7) continue;
        char dir[1024], prefix[1100], path[1200];
        snprintf(dir, sizeof dir, "%s/%s", tmp, mode);
        CHECK(mkdir(dir, 0755) == 0);
        snprintf(prefix, sizeof prefix, "%s/train", dir);
        lqf_rec_pack_options o = {0};
        o.plain = !strcmp(mode, "plain");
        size_t n = 0;
        int k = 0;
        double t0 = lqf_now();
        lqf_status st = lqf_rec_pack(folder, prefix, &o, &n, &k);
        printf("pack (%s): %zu images, %d classes, %.1f ms\n", mode, n, k, 1e3 * (lqf_now() - t0));
        if (!CHECK(st == LQF_OK)) { printf("  %s\n", lqf_last_error()); continue; }
        CHECK(n == (size_t)nimg && k == ncls);
        snprintf(path, sizeof path, "%s.rec", prefix);
        struct stat sb;
        CHECK(stat(path, &sb) == 0 && sb.st_size == rlen);
        CHECK(sha_file_is(path, rsha));
        snprintf(path, sizeof path, "%s.idx", prefix);
        CHECK(sha_file_is(path, isha));
        snprintf(path, sizeof path, "%s/property", dir);
        CHECK(sha_file_is(path, psha));
        snprintf(path, sizeof path, "%s.rec.tmp%ld", prefix, (long)getpid());
        CHECK(access(path, F_OK) != 0); /* temporaries renamed away */

        /* read back: same bytes and labels as the folder dataset */
        lqf_dataset *dr = NULL, *df = NULL;
        snprintf(path, sizeof path, "%s.rec", prefix);
        CHECK(lqf_dataset_open_rec(path, &dr) == LQF_OK);
        CHECK(lqf_dataset_open_folder(folder, &df) == LQF_OK);
        if (dr && df) {
            CHECK(lqf_dataset_count(dr) == lqf_dataset_count(df) && lqf_dataset_count(df) == (size_t)nimg);
            CHECK(lqf_dataset_num_classes(dr) == ncls && lqf_dataset_num_classes(df) == ncls);
            lqf_sample a = {0}, b = {0};
            int same = 0;
            for (size_t i = 0; i < lqf_dataset_count(df); i++) {
                if (lqf_dataset_get(dr, i, &a) || lqf_dataset_get(df, i, &b)) { printf("  %s\n", lqf_last_error()); break; }
                same += a.label == b.label && a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
            }
            CHECK(same == nimg);
            lqf_sample_free(&a);
            lqf_sample_free(&b);
            const lqf_rec *rr = lqf_dataset_rec(dr);
            size_t e;
            if (!o.plain) { /* identity records [a, b) cover the images of each class */
                lqf_buf scratch = {0};
                const uint8_t *pl;
                size_t len;
                lqf_irheader h;
                int ok = 1;
                for (int c = 0; c < ncls && ok; c++) {
                    ok = lqf_rec_find(rr, (uint64_t)(nimg + 1 + c), &e) && !lqf_rec_read(rr, e, &scratch, &pl, &len) &&
                         !lqf_ir_unpack(pl, len, "id", &h) && h.flag == 2;
                    for (int key = 1; ok && key <= nimg; key++) {
                        int in = key >= (int)lqf_ir_label(&h, 0) && key < (int)lqf_ir_label(&h, 1);
                        ok = in == (lqf_dataset_label(dr, (size_t)key - 1) == c);
                    }
                }
                CHECK(ok);
                lqf_buf_free(&scratch);
            }
        }
        lqf_dataset_free(dr);
        lqf_dataset_free(df);
    }
    fclose(f);

    /* failure leaves nothing behind: an output directory that does not exist */
    char bad[1100];
    snprintf(bad, sizeof bad, "%s/no/such/dir/train", tmp);
    CHECK(lqf_rec_pack(folder, bad, NULL, NULL, NULL) == LQF_ERR_IO);
    CHECK(lqf_rec_pack(tmp, bad, NULL, NULL, NULL) != LQF_OK); /* tmp/<mode>/ hold no images */
}

/* Writer/reader round trip of payloads dense with the magic at every alignment. */
static void test_writer_roundtrip(const char *tmp) {
    char prefix[1024], path[1100];
    snprintf(prefix, sizeof prefix, "%s/rt", tmp);
    lqf_rec_writer *w;
    if (!CHECK(lqf_rec_writer_open(prefix, &w) == LQF_OK)) return;
    enum { N = 60 };
    uint8_t pay[N][80];
    size_t plen[N];
    uint32_t seed = 12345, m = LQF_REC_MAGIC;
    for (int i = 0; i < N; i++) {
        plen[i] = (size_t)(i % 21) * 3 + (i % 4);
        for (size_t j = 0; j < plen[i]; j++) {
            seed = seed * 1664525u + 1013904223u;
            pay[i][j] = (uint8_t)(seed >> 24);
        }
        for (size_t j = i % 5; j + 4 <= plen[i]; j += 4 + (i % 3) * 2) memcpy(pay[i] + j, &m, 4);
        CHECK(lqf_rec_writer_write(w, (uint64_t)(1000 - i), pay[i], plen[i]) == LQF_OK);
    }
    CHECK(lqf_rec_writer_close(w) == LQF_OK);
    lqf_rec *r = NULL;
    snprintf(path, sizeof path, "%s.rec", prefix);
    CHECK(lqf_rec_open(path, "/nonexistent.idx", &r) == LQF_ERR_IO && r == NULL);
    CHECK(lqf_rec_open(path, NULL, &r) == LQF_OK);
    if (r) {
        lqf_buf scratch = {0};
        int same = 0;
        CHECK(lqf_rec_count(r) == N);
        for (int i = 0; i < N; i++) {
            size_t e, len;
            const uint8_t *pl;
            if (lqf_rec_find(r, (uint64_t)(1000 - i), &e) && !lqf_rec_read(r, e, &scratch, &pl, &len))
                same += len == plen[i] && memcmp(pl, pay[i], len) == 0;
        }
        CHECK(same == N);
        lqf_buf_free(&scratch);
        lqf_rec_free(r);
    }
}

/* lqf_rec_check on the fixture, and decoding: PNG items equal the ORL source pixels. */
static void test_check_and_decode(const char *fixture) {
    lqf_rec_summary sum;
    lqf_status st = lqf_rec_check(fixture, &sum);
    if (!CHECK(st == LQF_OK)) { printf("  %s\n", lqf_last_error()); return; }
    struct stat sb;
    CHECK(stat(fixture, &sb) == 0 && sum.bytes == (uint64_t)sb.st_size);
    CHECK(sum.records == (size_t)g_nrec && sum.split_records == (size_t)g_nsplit);
    CHECK(sum.images == (size_t)(g_meta[0] - 1) && sum.num_classes == g_meta[2]);
    CHECK(sum.has_idx == 1 && sum.has_meta == 1);
    printf("rec check: %zu records (%zu split), %zu images, %d classes, %llu bytes\n", sum.records,
           sum.split_records, sum.images, sum.num_classes, (unsigned long long)sum.bytes);
    lqf_dataset *d = NULL;
    if (!CHECK(lqf_dataset_open_rec(fixture, &d) == LQF_OK)) return;
    lqf_sample s = {0};
    int png = 0, jpg = 0;
    for (int i = 0; i < g_nitem; i++) {
        lqf_image *a = NULL, *b = NULL;
        char rel[128];
        snprintf(rel, sizeof rel, "data/orl/att_faces/%s", g_item[i].src);
        st = lqf_dataset_decode(d, (size_t)i, &s, LQF_RGB, &a);
        if (!CHECK(st == LQF_OK)) { printf("  %s\n", lqf_last_error()); continue; }
        if (!CHECK(lqf_image_load(tu_shared(rel), LQF_RGB, &b) == LQF_OK)) { lqf_image_free(a); continue; }
        CHECK(a->width == b->width && a->height == b->height);
        if (!strcmp(g_item[i].enc, "png") && a->width == b->width && a->height == b->height) {
            png++;
            CHECK(memcmp(a->data, b->data, (size_t)a->width * a->height * 3) == 0);
        } else {
            jpg++;
        }
        lqf_image_free(a);
        lqf_image_free(b);
    }
    CHECK(png >= 4 && jpg >= 4);
    lqf_sample_free(&s);
    lqf_dataset_free(d);
}

/* Random byte flips and cuts of the fixture: every outcome is OK or a FORMAT error. */
static void test_fuzz(const char *tmp, const char *fixture) {
    uint8_t *orig;
    size_t len;
    if (!CHECK(lqf_read_file(fixture, &orig, &len) == LQF_OK)) return;
    uint8_t *buf = malloc(len);
    char rec[1200], idx[1200];
    snprintf(rec, sizeof rec, "%s/fuzz.rec", tmp);
    snprintf(idx, sizeof idx, "%s/fuzz.idx", tmp);
    CHECK(copy_file(tu_testdata("recordio/fixture.idx"), idx, (size_t)-1));
    uint32_t seed = 2024;
    int ok = 0, format = 0, other = 0;
    for (int it = 0; it < 150; it++) {
        memcpy(buf, orig, len);
        size_t n = len;
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            seed = seed * 1664525u + 1013904223u;
            size_t pos = (seed >> 8) % len;
            seed = seed * 1664525u + 1013904223u;
            /* aim at record headers half of the time */
            if (k == 0 && it % 2 == 0) pos = (size_t)g_rec[(seed >> 8) % g_nrec].offset + (seed >> 4) % 8;
            buf[pos] ^= (uint8_t)(1u << ((seed >> 20) % 8));
        }
        if (it % 5 == 4) n = (seed >> 6) % len;
        if (!write_bytes(rec, buf, n)) { other++; continue; }
        for (int scan = 0; scan < 2; scan++) {
            if (scan) unlink(idx);
            lqf_status st = lqf_rec_check(rec, NULL);
            ok += st == LQF_OK;
            format += st == LQF_ERR_FORMAT;
            other += st != LQF_OK && st != LQF_ERR_FORMAT;
            if (st != LQF_OK && st != LQF_ERR_FORMAT) printf("  fuzz %d: %d %s\n", it, st, lqf_last_error());
        }
        copy_file(tu_testdata("recordio/fixture.idx"), idx, (size_t)-1);
    }
    printf("fuzz: %d ok, %d format errors, %d other\n", ok, format, other);
    CHECK(other == 0 && format > 50);
    free(buf);
    free(orig);
}

int main(void) {
    char fixture[1024], tmpl[] = "/tmp/lqf_test_recordio_XXXXXX";
    snprintf(fixture, sizeof fixture, "%s", tu_testdata("recordio/fixture.rec"));
    if (!CHECK(load_expected(tu_testdata("recordio/fixture_expected.txt"), g_item, &g_nitem))) return tu_finish("test_recordio");
    CHECK(g_nrec == 17 && g_nitem == 12 && g_nsplit >= 2);
    char *tmp = mkdtemp(tmpl);
    if (!CHECK(tmp != NULL)) return tu_finish("test_recordio");

    /* 1. fixture with its .idx */
    lqf_rec *r = NULL;
    CHECK(lqf_rec_open(fixture, NULL, &r) == LQF_OK);
    if (r) {
        CHECK(!lqf_rec_scanned(r));
        check_fixture_records(r, 1);
        /* zero copy: whole records need no scratch, split ones do */
        const uint8_t *pl;
        size_t len, e;
        CHECK(lqf_rec_find(r, 1, &e) && lqf_rec_read(r, e, NULL, &pl, &len) == LQF_OK);
        for (int k = 0; k < g_nsplit; k++)
            CHECK(lqf_rec_find(r, g_split[k], &e) && lqf_rec_read(r, e, NULL, &pl, &len) == LQF_ERR_ARG);
        CHECK(!lqf_rec_find(r, 99, &e));
        lqf_rec_free(r);
    }

    /* 2. the same file without an .idx: scanned, keys from the IRHeader ids */
    char noidx[1100];
    snprintf(noidx, sizeof noidx, "%s/scan.rec", tmp);
    CHECK(copy_file(fixture, noidx, (size_t)-1));
    r = NULL;
    CHECK(lqf_rec_open(noidx, NULL, &r) == LQF_OK);
    if (r) {
        CHECK(lqf_rec_scanned(r));
        check_fixture_records(r, 1);
        lqf_rec_free(r);
    }

    /* 3. dataset view: meta record -> keys 1..id_start-1; num_classes from property */
    lqf_dataset *d = NULL;
    CHECK(lqf_dataset_open(fixture, &d) == LQF_OK);
    if (d) {
        CHECK(lqf_dataset_get_kind(d) == LQF_DATASET_REC);
        CHECK((int)lqf_dataset_count(d) == g_meta[0] - 1);
        CHECK(lqf_dataset_num_classes(d) == g_meta[2]);
        check_items(d, g_item, g_nitem);
        /* two loader threads, one sample each, read every item many times */
        int bad = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad)
        {
            lqf_sample s = {0};
#pragma omp for schedule(dynamic, 1)
            for (int it = 0; it < 40 * g_nitem; it++) {
                int i = it % g_nitem;
                char hex[65];
                if (lqf_dataset_get(d, (size_t)i, &s)) { bad++; continue; }
                lqf_sha256_hex(s.data, s.len, hex);
                bad += strcmp(hex, g_item[i].sha) != 0 || s.label != g_item[i].label;
            }
            lqf_sample_free(&s);
        }
        CHECK(bad == 0);
        lqf_sample s = {0};
        CHECK(lqf_dataset_get(d, (size_t)g_nitem, &s) == LQF_ERR_ARG);
        lqf_dataset_free(d);
    }
    /* the scanned copy has no property file next to it: num_classes from the meta range */
    d = NULL;
    CHECK(lqf_dataset_open_rec(noidx, &d) == LQF_OK);
    if (d) {
        CHECK(lqf_dataset_num_classes(d) == g_meta[1] - g_meta[0]);
        check_items(d, g_item, g_nitem);
        lqf_dataset_free(d);
    }

    /* 4. plain im2rec layout */
    exp_item plain[8];
    int nplain = 0;
    int nrec_saved = g_nrec;
    CHECK(load_expected(tu_testdata("recordio/plain/plain_expected.txt"), plain, &nplain));
    g_nrec = nrec_saved;
    d = NULL;
    CHECK(lqf_dataset_open_rec(tu_testdata("recordio/plain/plain.rec"), &d) == LQF_OK);
    if (d) {
        CHECK(nplain == 3 && lqf_dataset_num_classes(d) == 2);
        check_items(d, plain, nplain);
        lqf_dataset_free(d);
    }

    /* 5. writer: folder pack equals Python's bytes and reads back */
    test_pack(tmp);
    test_writer_roundtrip(tmp);

    /* 6. corrupt and truncated files */
    test_corrupt(tmp);
    test_fuzz(tmp, fixture);

    /* 7. whole-pack check and decoding */
    test_check_and_decode(fixture);

    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) printf("could not remove %s\n", tmp);
    return tu_finish("test_recordio");
}
