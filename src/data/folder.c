/*
 * folder.c — listing of an image folder laid out as root/identity/image: identities sorted
 * by name (byte order, as Python's sorted() on names) become labels 0..K-1, images inside
 * each identity sorted by name; hidden entries, non-image files and identities without an
 * image are skipped. Shared by the folder dataset and the RecordIO packer.
 */
#define _GNU_SOURCE
#include "data/data.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int lqf_is_image_name(const char *name) {
    static const char *ext[] = {".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".pnm"};
    if (!name || name[0] == '.') return 0;
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lqf_strings_sort_unique(char **v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (k > 0 && strcmp(v[i], v[k - 1]) == 0) { free(v[i]); continue; }
        v[k++] = v[i];
    }
    return k;
}

typedef struct {
    char **v;
    size_t n, cap;
} strvec;

static int strvec_push(strvec *s, const char *str) {
    if (s->n == s->cap) {
        size_t c = s->cap ? 2 * s->cap : 64;
        char **p = realloc(s->v, c * sizeof *p);
        if (!p) return 0;
        s->v = p;
        s->cap = c;
    }
    if (!(s->v[s->n] = strdup(str))) return 0;
    s->n++;
    return 1;
}

static void strvec_free(strvec *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static char *path_join(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (!s) return NULL;
    memcpy(s, a, na);
    s[na] = '/';
    memcpy(s + na + 1, b, nb + 1);
    return s;
}

/* Entries of dir that are directories (want_dirs) or image files, sorted. */
static lqf_status list_dir(const char *dir, int want_dirs, strvec *out) {
    DIR *d = opendir(dir);
    if (!d) return lqf_fail(LQF_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
    struct dirent *e;
    lqf_status st = LQF_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (!want_dirs && !lqf_is_image_name(e->d_name)) continue;
        int is_dir, is_reg;
        if (e->d_type == DT_DIR || e->d_type == DT_REG) {
            is_dir = e->d_type == DT_DIR;
            is_reg = e->d_type == DT_REG;
        } else { /* DT_UNKNOWN or a symlink: ask stat */
            char *p = path_join(dir, e->d_name);
            struct stat sb;
            if (!p) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", dir); break; }
            int ok = stat(p, &sb) == 0;
            free(p);
            is_dir = ok && S_ISDIR(sb.st_mode);
            is_reg = ok && S_ISREG(sb.st_mode);
        }
        if (want_dirs ? !is_dir : !is_reg) continue;
        if (!strvec_push(out, e->d_name)) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", dir); break; }
    }
    closedir(d);
    if (st) return st;
    if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return LQF_OK;
}

void lqf_folder_list_free(lqf_folder_list *l) {
    if (!l) return;
    for (int i = 0; i < l->n_classes; i++) free(l->class_names[i]);
    for (size_t i = 0; i < l->n_images; i++) free(l->paths[i]);
    free(l->class_names);
    free(l->paths);
    free(l->labels);
    free(l->root);
    memset(l, 0, sizeof *l);
}

lqf_status lqf_folder_list_scan(const char *root, const char *const *only, int n_only, lqf_folder_list *out) {
    if (!root || !out || (only == NULL && n_only > 0))
        return lqf_fail(LQF_ERR_ARG, "lqf_folder_list_scan: NULL argument");
    memset(out, 0, sizeof *out);
    strvec ids = {0}, files = {0}, paths = {0}, names = {0};
    int *labels = NULL;
    size_t labels_cap = 0;
    lqf_status st = LQF_OK;
    if (only) {
        for (int i = 0; i < n_only; i++)
            if (!strvec_push(&ids, only[i])) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", root); goto done; }
        ids.n = (size_t)lqf_strings_sort_unique(ids.v, (int)ids.n);
    } else if ((st = list_dir(root, 1, &ids))) {
        goto done;
    }
    for (size_t c = 0; c < ids.n; c++) {
        char *dir = path_join(root, ids.v[c]);
        if (!dir) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", root); goto done; }
        st = list_dir(dir, 0, &files);
        free(dir);
        if (st) goto done;
        if (files.n == 0) continue;
        int label = (int)names.n;
        if (!strvec_push(&names, ids.v[c])) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", root); goto done; }
        for (size_t j = 0; j < files.n; j++) {
            char *rel = path_join(ids.v[c], files.v[j]);
            if (!rel || !strvec_push(&paths, rel)) {
                free(rel);
                st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", root);
                goto done;
            }
            free(rel);
            if (paths.n > labels_cap) {
                labels_cap = paths.cap;
                int *p = realloc(labels, labels_cap * sizeof *p);
                if (!p) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", root); goto done; }
                labels = p;
            }
            labels[paths.n - 1] = label;
        }
        strvec_free(&files);
    }
    if (!(out->root = strdup(root))) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", root); goto done; }
    out->n_classes = (int)names.n;
    out->class_names = names.v;
    out->n_images = paths.n;
    out->paths = paths.v;
    out->labels = labels;
    memset(&names, 0, sizeof names);
    memset(&paths, 0, sizeof paths);
    labels = NULL;
done:
    strvec_free(&ids);
    strvec_free(&files);
    strvec_free(&paths);
    strvec_free(&names);
    free(labels);
    return st;
}
