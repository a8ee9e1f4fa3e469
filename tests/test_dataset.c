/*
 * test_dataset.c — image-folder and list-file datasets and the LFW fold identity split,
 * against listings written by tools/make_rec_fixture.py (Python os.listdir/sorted, hashlib):
 *   - ORL att_faces as an image folder: 40 classes, 400 images, every (label, path, sha256);
 *   - tests/data/recordio/orl_list.txt as a list file: every (label, path, sha256), plus the
 *     insightface 3-column form, CRLF, absolute paths and malformed lines;
 *   - LFW pairs.txt: identities of folds 1-9 vs fold 10 (counts, sha256 of the name lists,
 *     disjointness) and the lfw-deepfunneled subsets they select (image counts).
 */
#define _GNU_SOURCE
#include "data/data.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fputs(s, f) >= 0;
    return (fclose(f) == 0) & ok;
}

/* Lines "index label relpath sha256" after a "classes K images N" header. */
static void check_listing(const lqf_dataset *d, const char *expected_path, const char *root) {
    FILE *f = fopen(expected_path, "r");
    if (!CHECK(f != NULL)) return;
    int classes = -1, images = -1;
    CHECK(fscanf(f, "classes %d images %d\n", &classes, &images) == 2);
    CHECK(lqf_dataset_num_classes(d) == classes);
    CHECK((int)lqf_dataset_count(d) == images);
    lqf_sample s = {0};
    int n = 0, good = 0, idx, label;
    char rel[512], sha[65], want[1024];
    while (fscanf(f, "%d %d %511s %64s\n", &idx, &label, rel, sha) == 4) {
        n++;
        if (lqf_dataset_get(d, (size_t)idx, &s)) { printf("  %s\n", lqf_last_error()); continue; }
        char hex[65];
        lqf_sha256_hex(s.data, s.len, hex);
        snprintf(want, sizeof want, "%s/%s", root, rel);
        int ok = s.label == label && !strcmp(hex, sha) && !strcmp(s.name, want) && lqf_dataset_label(d, (size_t)idx) == label;
        if (!ok) printf("  item %d: %s label %d sha %s; expected %s %d %s\n", idx, s.name, s.label, hex, want, label, sha);
        good += ok;
    }
    fclose(f);
    CHECK(n == images && good == images);
    printf("%s: %d/%d items match\n", expected_path, good, n);
    lqf_sample_free(&s);
}

static void test_folder(void) {
    char root[1024];
    snprintf(root, sizeof root, "%s", tu_shared("data/orl/att_faces"));
    lqf_dataset *d = NULL;
    double t0 = lqf_now();
    CHECK(lqf_dataset_open_folder(root, &d) == LQF_OK);
    printf("ORL folder: opened in %.1f ms\n", 1e3 * (lqf_now() - t0));
    if (!d) { printf("  %s\n", lqf_last_error()); return; }
    CHECK(lqf_dataset_get_kind(d) == LQF_DATASET_FOLDER);
    CHECK(lqf_dataset_num_classes(d) == 40 && lqf_dataset_count(d) == 400);
    CHECK(lqf_dataset_class_name(d, 0) && !strcmp(lqf_dataset_class_name(d, 0), "s1"));
    CHECK(lqf_dataset_class_name(d, 1) && !strcmp(lqf_dataset_class_name(d, 1), "s10")); /* byte order */
    CHECK(lqf_dataset_class_name(d, 40) == NULL);
    check_listing(d, tu_testdata("recordio/orl_folder.txt"), root);
    lqf_sample s = {0};
    CHECK(lqf_dataset_get(d, 400, &s) == LQF_ERR_ARG);
    lqf_dataset_free(d);
    d = NULL;
    CHECK(lqf_dataset_open(root, &d) == LQF_OK && d && lqf_dataset_get_kind(d) == LQF_DATASET_FOLDER);
    lqf_dataset_free(d);
    d = NULL;
    CHECK(lqf_dataset_open_folder("/nonexistent/lqface", &d) == LQF_ERR_IO && d == NULL);
}

static void test_list(const char *tmp) {
    char root[1024], list[1024];
    snprintf(root, sizeof root, "%s", tu_shared("data/orl/att_faces"));
    snprintf(list, sizeof list, "%s", tu_testdata("recordio/orl_list.txt"));
    lqf_dataset *d = NULL;
    CHECK(lqf_dataset_open_list(list, root, &d) == LQF_OK);
    if (d) {
        CHECK(lqf_dataset_get_kind(d) == LQF_DATASET_LIST);
        check_listing(d, tu_testdata("recordio/orl_list_expected.txt"), root);
        lqf_dataset_free(d);
    }
    /* insightface .lst columns, CRLF, an absolute path, comments and blank lines */
    char p[1200], text[4096];
    snprintf(p, sizeof p, "%s/mixed.lst", tmp);
    snprintf(text, sizeof text,
             "# comment\r\n1\ts3/4.pgm\t2\r\n\n  s1/1.pgm   0  \n%s/s40/10.pgm 7\n", root);
    CHECK(write_text(p, text));
    d = NULL;
    CHECK(lqf_dataset_open_list(p, root, &d) == LQF_OK);
    if (d) {
        CHECK(lqf_dataset_count(d) == 3 && lqf_dataset_num_classes(d) == 8);
        lqf_sample s = {0};
        static const char *rel[3] = {"s3/4.pgm", "s1/1.pgm", "s40/10.pgm"};
        static const int lab[3] = {2, 0, 7};
        for (int i = 0; i < 3; i++) {
            char want[1200];
            snprintf(want, sizeof want, "%s/%s", root, rel[i]);
            uint8_t *ref;
            size_t len;
            int ok = lqf_dataset_get(d, (size_t)i, &s) == LQF_OK && lqf_read_file(want, &ref, &len) == LQF_OK;
            if (ok) {
                ok = s.label == lab[i] && s.len == len && !memcmp(s.data, ref, len) && !strcmp(s.name, want);
                free(ref);
            }
            if (!CHECK(ok)) printf("  item %d: %s label %d\n", i, s.name, s.label);
        }
        lqf_sample_free(&s);
        lqf_dataset_free(d);
    }
    /* root NULL: paths relative to the list's directory; a missing image fails at get() */
    snprintf(p, sizeof p, "%s/rel.txt", tmp);
    CHECK(write_text(p, "nothere.png 0\n"));
    d = NULL;
    CHECK(lqf_dataset_open(p, &d) == LQF_OK);
    if (d) {
        lqf_sample s = {0};
        CHECK(lqf_dataset_get(d, 0, &s) == LQF_ERR_IO && strstr(lqf_last_error(), "nothere.png"));
        char want[1200];
        snprintf(want, sizeof want, "%s/nothere.png", tmp);
        CHECK(!strcmp(s.name, want));
        lqf_sample_free(&s);
        lqf_dataset_free(d);
    }
    /* malformed lines name the line */
    static const char *bad[] = {"s1/1.pgm 0\ns1/2.pgm x\n", "s1/1.pgm 0\n\ns1/2.pgm\n", "s1/1.pgm -1\n", "# only\n"};
    static const char *where[] = {"line 2", "line 3", "line 1", "no entries"};
    for (int i = 0; i < 4; i++) {
        CHECK(write_text(p, bad[i]));
        d = NULL;
        lqf_status st = lqf_dataset_open_list(p, root, &d);
        int ok = st == LQF_ERR_FORMAT && d == NULL && strstr(lqf_last_error(), where[i]) && strstr(lqf_last_error(), p);
        if (!CHECK(ok)) printf("  bad list %d: %s\n", i, lqf_last_error());
    }
}

static void sha_names(const lqf_name_list *l, char hex[65]) {
    size_t n = 0;
    for (int i = 0; i < l->n; i++) n += strlen(l->names[i]) + 1;
    char *buf = malloc(n + 1), *q = buf;
    for (int i = 0; i < l->n; i++) {
        size_t k = strlen(l->names[i]);
        memcpy(q, l->names[i], k);
        q[k] = '\n';
        q += k + 1;
    }
    lqf_sha256_hex((const uint8_t *)buf, n, hex);
    free(buf);
}

static void test_lfw_split(const char *tmp) {
    char pairs[1024], lfwdir[1024];
    snprintf(pairs, sizeof pairs, "%s", tu_shared("data/lfw/pairs.txt"));
    snprintf(lfwdir, sizeof lfwdir, "%s", tu_shared("data/lfw/lfw-deepfunneled"));
    FILE *f = fopen(tu_testdata("recordio/lfw_split.txt"), "r");
    if (!CHECK(f != NULL)) return;
    int fold, ntr, nte, itr, ite;
    char shtr[65], shte[65], ftr[256], fte[256];
    CHECK(fscanf(f, "test_fold %d train_identities %d test_identities %d train_images %d test_images %d "
                    "train_names_sha256 %64s test_names_sha256 %64s first_train %255s first_test %255s",
                 &fold, &ntr, &nte, &itr, &ite, shtr, shte, ftr, fte) == 9);
    fclose(f);
    lqf_name_list train, test;
    double t0 = lqf_now();
    lqf_status st = lqf_lfw_identity_split(pairs, fold, &train, &test);
    if (!CHECK(st == LQF_OK)) { printf("  %s\n", lqf_last_error()); return; }
    printf("LFW split (test fold %d): %d train identities (folds 1-9), %d test identities (fold %d), %.1f ms\n",
           fold, train.n, test.n, fold, 1e3 * (lqf_now() - t0));
    CHECK(train.n == ntr && test.n == nte);
    char h[65];
    sha_names(&train, h);
    CHECK(!strcmp(h, shtr));
    sha_names(&test, h);
    CHECK(!strcmp(h, shte));
    CHECK(train.n > 0 && test.n > 0 && !strcmp(train.names[0], ftr) && !strcmp(test.names[0], fte));
    /* identity-disjoint: merge the two sorted lists */
    int common = 0;
    for (int i = 0, j = 0; i < train.n && j < test.n;) {
        int c = strcmp(train.names[i], test.names[j]);
        if (c == 0) { common++; i++; j++; }
        else if (c < 0) i++;
        else j++;
    }
    CHECK(common == 0);
    int sorted = 1;
    for (int i = 1; i < train.n; i++) sorted &= strcmp(train.names[i - 1], train.names[i]) < 0;
    CHECK(sorted);

    /* the lfw-deepfunneled subsets these select */
    lqf_dataset *dtr = NULL, *dte = NULL;
    t0 = lqf_now();
    CHECK(lqf_dataset_open_folder_subset(lfwdir, (const char *const *)train.names, train.n, &dtr) == LQF_OK);
    CHECK(lqf_dataset_open_folder_subset(lfwdir, (const char *const *)test.names, test.n, &dte) == LQF_OK);
    if (dtr && dte) {
        printf("LFW subsets: train %zu images / %d classes, test %zu images / %d classes (%.0f ms)\n",
               lqf_dataset_count(dtr), lqf_dataset_num_classes(dtr), lqf_dataset_count(dte),
               lqf_dataset_num_classes(dte), 1e3 * (lqf_now() - t0));
        CHECK((int)lqf_dataset_count(dtr) == itr && lqf_dataset_num_classes(dtr) == ntr);
        CHECK((int)lqf_dataset_count(dte) == ite && lqf_dataset_num_classes(dte) == nte);
        /* labels follow the sorted names; an item's path is under its identity */
        lqf_sample s = {0};
        size_t last = lqf_dataset_count(dtr) - 1;
        CHECK(lqf_dataset_get(dtr, last, &s) == LQF_OK && s.label == ntr - 1 &&
              strstr(s.name, train.names[ntr - 1]) != NULL);
        lqf_sample_free(&s);
    }
    lqf_dataset_free(dtr);
    lqf_dataset_free(dte);
    const char *missing[1] = {"No_Such_Person"};
    dtr = NULL;
    CHECK(lqf_dataset_open_folder_subset(lfwdir, missing, 1, &dtr) == LQF_ERR_IO && strstr(lqf_last_error(), missing[0]));
    lqf_name_list_free(&train);
    lqf_name_list_free(&test);

    /* other folds and bad inputs */
    CHECK(lqf_lfw_identity_split(pairs, 11, &train, &test) == LQF_ERR_ARG);
    CHECK(lqf_lfw_identity_split(pairs, 1, &train, NULL) == LQF_OK && train.n > 0);
    lqf_name_list_free(&train);
    char p[1200];
    snprintf(p, sizeof p, "%s/pairs_short.txt", tmp);
    CHECK(write_text(p, "2 1\nA 1 2\nA 1 B 1\nC 1 2\n"));
    CHECK(lqf_lfw_identity_split(p, 2, &train, &test) == LQF_ERR_FORMAT && strstr(lqf_last_error(), "truncated"));
    CHECK(write_text(p, "2 1\nA 1 2\nA 1 B 1\nC 1 2\nA 1 D 1\n"));
    CHECK(lqf_lfw_identity_split(p, 2, &train, &test) == LQF_OK);
    /* A appears in both folds: it is held out of training */
    CHECK(train.n == 1 && !strcmp(train.names[0], "B") && test.n == 3);
    lqf_name_list_free(&train);
    lqf_name_list_free(&test);
    CHECK(write_text(p, "2 1\nA 1 2 3\n"));
    CHECK(lqf_lfw_identity_split(p, 2, &train, &test) == LQF_ERR_FORMAT && strstr(lqf_last_error(), "line 2"));
}

int main(void) {
    char tmpl[] = "/tmp/lqf_test_dataset_XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!CHECK(tmp != NULL)) return tu_finish("test_dataset");
    test_folder();
    test_list(tmp);
    test_lfw_split(tmp);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) printf("could not remove %s\n", tmp);
    return tu_finish("test_dataset");
}
