/*
 * lfw_split.c — identity split of LFW by the folds of its View 2 pairs.txt, for fine-tuning
 * on the identities of folds 1-9 and evaluating on fold 10 without identity leakage:
 * test = every name in fold test_fold's pairs, train = every name in the other folds'
 * pairs that is not in test. (In the official file the folds already share no identity;
 * the subtraction makes the guarantee hold for any pairs file.)
 */
#define _GNU_SOURCE
#include "data/data.h"

#include <string.h>

void lqf_name_list_free(lqf_name_list *l) {
    if (!l) return;
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int contains(char *const *v, int n, const char *s) {
    return bsearch(&s, v, (size_t)n, sizeof *v, cmp_str) != NULL;
}

/* Split a line into at most 8 whitespace-separated tokens (modifies the line). */
static int tokens(char *line, char *tok[8]) {
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r", &save); t && n < 8; t = strtok_r(NULL, " \t\r", &save)) tok[n++] = t;
    return n;
}

lqf_status lqf_lfw_identity_split(const char *pairs_path, int test_fold, lqf_name_list *train, lqf_name_list *test) {
    if (!pairs_path) return lqf_fail(LQF_ERR_ARG, "lqf_lfw_identity_split: NULL path");
    if (train) memset(train, 0, sizeof *train);
    if (test) memset(test, 0, sizeof *test);
    uint8_t *text;
    size_t len;
    lqf_status st = lqf_read_file(pairs_path, &text, &len);
    if (st) return st;
    char *buf = realloc(text, len + 1);
    if (!buf) { free(text); return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", pairs_path); }
    buf[len] = 0;

    char **in_test = NULL, **in_train = NULL;
    int n_test = 0, n_train = 0, cap_test = 0, cap_train = 0;
    int folds = 0, per = 0, line = 0, pair = 0;
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        char *tok[8];
        int nt = tokens(l, tok);
        if (nt == 0) continue;
        if (folds == 0) {
            char *e1, *e2;
            folds = nt == 2 ? (int)strtol(tok[0], &e1, 10) : 0;
            per = nt == 2 ? (int)strtol(tok[1], &e2, 10) : 0;
            if (nt != 2 || *e1 || *e2 || folds <= 0 || per <= 0) {
                st = lqf_fail(LQF_ERR_FORMAT, "%s: line %d: expected the header \"folds pairs_per_half\"", pairs_path, line);
                goto done;
            }
            if (test_fold < 1 || test_fold > folds) {
                st = lqf_fail(LQF_ERR_ARG, "%s: test fold %d outside 1..%d", pairs_path, test_fold, folds);
                goto done;
            }
            continue;
        }
        if (pair >= folds * 2 * per) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s: line %d: more than the %d pairs the header announces", pairs_path, line,
                          folds * 2 * per);
            goto done;
        }
        int fold = pair / (2 * per) + 1, same = (pair % (2 * per)) < per;
        if ((same && nt != 3) || (!same && nt != 4)) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s: line %d: expected a %s line (\"%s\")", pairs_path, line,
                          same ? "same-person" : "different-person", same ? "name i j" : "name1 i name2 j");
            goto done;
        }
        const char *names[2] = {tok[0], same ? NULL : tok[2]};
        for (int k = 0; k < 2 && names[k]; k++) {
            char ***v = fold == test_fold ? &in_test : &in_train;
            int *n = fold == test_fold ? &n_test : &n_train, *cap = fold == test_fold ? &cap_test : &cap_train;
            if (*n == *cap) {
                int c = *cap ? 2 * *cap : 1024;
                char **p = realloc(*v, (size_t)c * sizeof *p);
                if (!p) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", pairs_path); goto done; }
                *v = p;
                *cap = c;
            }
            if (!((*v)[*n] = strdup(names[k]))) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", pairs_path); goto done; }
            (*n)++;
        }
        pair++;
    }
    if (folds == 0 || pair != folds * 2 * per) {
        st = lqf_fail(LQF_ERR_FORMAT, "%s: %d pairs, the header announces %d (truncated?)", pairs_path, pair, folds * 2 * per);
        goto done;
    }
    n_test = lqf_strings_sort_unique(in_test, n_test);
    n_train = lqf_strings_sort_unique(in_train, n_train);
    { /* train minus test, keeping order */
        int k = 0;
        for (int i = 0; i < n_train; i++) {
            if (contains(in_test, n_test, in_train[i])) { free(in_train[i]); continue; }
            in_train[k++] = in_train[i];
        }
        n_train = k;
    }
    if (train) {
        train->names = in_train;
        train->n = n_train;
        in_train = NULL;
        n_train = 0;
    }
    if (test) {
        test->names = in_test;
        test->n = n_test;
        in_test = NULL;
        n_test = 0;
    }
done:
    for (int i = 0; i < n_test; i++) free(in_test[i]);
    for (int i = 0; i < n_train; i++) free(in_train[i]);
    free(in_test);
    free(in_train);
    free(buf);
    return st;
}
