/*
 * protocol.c — protocols into what the runners take (protocol.h): a pair list's distinct
 * photos and pair indices, a .bin pack decoded into a face set, `path label` lists with
 * interned labels, and the LFW identification protocol built over the image folder.
 */
#define _GNU_SOURCE
#include "eval/protocol.h"
#include "data/data.h"
#include "eval/eval.h"

#include <string.h>

/* ------------------------------------------------------------------ verification */
void lqf_verify_pairs_free(lqf_verify_pairs *p) {
    if (!p) return;
    free(p->a);
    free(p->b);
    free(p->issame);
    memset(p, 0, sizeof *p);
}

static lqf_status pairs_alloc(lqf_verify_pairs *p, int n, int n_folds, const char *name) {
    memset(p, 0, sizeof *p);
    p->n = n;
    p->n_folds = n_folds;
    p->a = malloc(sizeof(int) * (size_t)LQF_MAX(n, 1));
    p->b = malloc(sizeof(int) * (size_t)LQF_MAX(n, 1));
    p->issame = malloc((size_t)LQF_MAX(n, 1));
    if (p->a && p->b && p->issame) return LQF_OK;
    lqf_verify_pairs_free(p);
    return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for %d pairs", name, n);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

lqf_status lqf_pairs_intern(const lqf_pair_list *pl, char ***photos, int *n_photos, lqf_verify_pairs *out) {
    *photos = NULL;
    *n_photos = 0;
    lqf_status st = pairs_alloc(out, pl->n, pl->n_folds, "pair list");
    char **all = st ? NULL : malloc(sizeof(char *) * (size_t)LQF_MAX(2 * pl->n, 1));
    if (!st && !all) {
        lqf_verify_pairs_free(out);
        st = lqf_fail(LQF_ERR_NOMEM, "pair list: out of memory for %d pairs", pl->n);
    }
    if (st) return st;
    for (int i = 0; i < pl->n; i++) all[2 * i] = pl->path_a[i], all[2 * i + 1] = pl->path_b[i];
    qsort(all, (size_t)pl->n * 2, sizeof *all, cmp_str);
    int m = 0;
    for (int i = 0; i < 2 * pl->n; i++)
        if (m == 0 || strcmp(all[m - 1], all[i])) all[m++] = all[i];
    for (int i = 0; i < pl->n; i++) {
        char **a = bsearch(&pl->path_a[i], all, (size_t)m, sizeof *all, cmp_str);
        char **b = bsearch(&pl->path_b[i], all, (size_t)m, sizeof *all, cmp_str);
        out->a[i] = (int)(a - all);
        out->b[i] = (int)(b - all);
        out->issame[i] = pl->issame[i];
    }
    *photos = all;
    *n_photos = m;
    return LQF_OK;
}

lqf_status lqf_bin_face_set(const lqf_bin_pack *bp, const char *name, int size, lqf_face_set **fs,
                            lqf_verify_pairs *out) {
    *fs = NULL;
    int n = bp->n_images;
    lqf_status st = pairs_alloc(out, bp->n_pairs, 10, name);
    if (st) return st;
    lqf_image **imgs = calloc((size_t)LQF_MAX(n, 1), sizeof *imgs);
    char **msg = calloc((size_t)LQF_MAX(n, 1), sizeof *msg);
    if (!imgs || !msg) st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for %d images", name, n);
    for (int k = 0; !st && k < n; k++) {
        char what[4200];
        snprintf(what, sizeof what, "%s[image %d]", name, k);
        if (lqf_image_decode(bp->image[k], bp->image_len[k], what, LQF_RGB, &imgs[k])) {
            msg[k] = strdup(lqf_last_error());
            imgs[k] = NULL;
        }
    }
    for (int k = 0; k < bp->n_pairs; k++) {
        out->a[k] = 2 * k;
        out->b[k] = 2 * k + 1;
        out->issame[k] = bp->issame[k];
    }
    if (!st) st = lqf_face_set_from_images(imgs, msg, n, size, fs); /* takes the images */
    else
        for (int k = 0; k < n && imgs; k++) lqf_image_free(imgs[k]);
    for (int k = 0; k < n && msg; k++) free(msg[k]);
    free(msg);
    free(imgs);
    if (st) lqf_verify_pairs_free(out);
    return st;
}

/* ------------------------------------------------------------------ identification */
void lqf_labelled_free(lqf_labelled *l) {
    for (int i = 0; i < l->n; i++) free(l->path[i]);
    free(l->path);
    free(l->label);
    memset(l, 0, sizeof *l);
}

void lqf_label_names_free(lqf_label_names *t) {
    for (int i = 0; i < t->n; i++) free(t->name[i]);
    free(t->name);
    memset(t, 0, sizeof *t);
}

/* Append (path, label), taking path (malloc'd; NULL means out of memory). */
static lqf_status labelled_push(lqf_labelled *l, char *path, int label) {
    if (path && l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        char **p = realloc(l->path, sizeof(char *) * (size_t)cap);
        if (p) l->path = p;
        int *b = realloc(l->label, sizeof(int) * (size_t)cap);
        if (b) l->label = b;
        if (p && b) l->cap = cap;
    }
    if (!path || l->n == l->cap) {
        free(path);
        return lqf_fail(LQF_ERR_NOMEM, "identification: out of memory for %d photos", l->n + 1);
    }
    l->path[l->n] = path;
    l->label[l->n++] = label;
    return LQF_OK;
}

/* The integer of a label string (a new one for a string not seen yet); -1 out of memory. */
static int intern(lqf_label_names *t, const char *s) {
    for (int i = t->n - 1; i >= 0; i--)
        if (!strcmp(t->name[i], s)) return i;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 256;
        char **p = realloc(t->name, sizeof(char *) * (size_t)cap);
        if (!p) return -1;
        t->name = p, t->cap = cap;
    }
    if (!(t->name[t->n] = strdup(s))) return -1;
    return t->n++;
}

lqf_status lqf_labelled_read(const char *file, const char *root, lqf_label_names *names, lqf_labelled *out) {
    lqf_lines lr;
    lqf_status st = lqf_lines_open(&lr, file);
    if (st) return st;
    int n0 = out->n;
    char *line, *tok[2];
    while (!st && (line = lqf_lines_next(&lr))) {
        char *s = line + strspn(line, " \t");
        if (!*s || *s == '#') continue;
        if (lqf_split_tokens(s, tok, 2, 0) < 2) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s:%d: expected 'path label'", file, lr.line);
            break;
        }
        int label = intern(names, tok[1]);
        st = label < 0 ? lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", file)
                       : labelled_push(out, lqf_path_join(root, tok[0]), label);
    }
    lqf_lines_close(&lr);
    if (!st && out->n == n0) st = lqf_fail(LQF_ERR_FORMAT, "%s: empty list", file);
    return st;
}

lqf_status lqf_lfw_ident(const char *root, lqf_labelled *gallery, lqf_labelled *probes, lqf_labelled *distractors) {
    lqf_folder_list fl;
    lqf_status st = lqf_folder_list_scan(root, NULL, 0, &fl);
    if (st) return st;
    for (size_t i = 0; !st && i < fl.n_images;) {
        size_t j = i;
        while (j < fl.n_images && fl.labels[j] == fl.labels[i]) j++;
        int id = fl.labels[i];
        for (size_t k = i; !st && k < j; k++) {
            char *path = lqf_path_join(root, fl.paths[k]);
            if (j - i == 1) st = labelled_push(distractors, path, -1 - id);
            else st = labelled_push(k == i ? gallery : probes, path, id);
        }
        i = j;
    }
    lqf_folder_list_free(&fl);
    return st;
}
