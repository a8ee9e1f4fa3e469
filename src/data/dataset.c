/*
 * dataset.c — the one dataset interface the trainer reads through: count, num_classes and
 * get(i) -> encoded image bytes + label, over an image folder, a list file or a RecordIO
 * pack. Opening does the listing/indexing; get() only reads (file read into the sample's
 * scratch, or a pointer into the mmap'd .rec), so loader threads share one dataset.
 */
#define _GNU_SOURCE
#include "data/data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lqf_dataset {
    lqf_dataset_kind kind;
    int num_classes;
    size_t n;
    /* folder and list: paths (absolute, or relative to root) and labels */
    char *root;              /* "" when paths are used as they are */
    char **paths;            /* n */
    int *labels;             /* n */
    char **class_names;      /* num_classes (folder) or NULL */
    /* RecordIO */
    lqf_rec *rec;
    size_t *entry;           /* n index entries of the image records */
    int meta;                /* 1: record 0 is a meta record */
    long id_start, id_end;   /* its identity key range */
};

void lqf_sample_free(lqf_sample *s) {
    if (!s) return;
    lqf_buf_free(&s->buf);
    s->data = NULL;
    s->len = 0;
}

void lqf_dataset_free(lqf_dataset *d) {
    if (!d) return;
    if (d->paths)
        for (size_t i = 0; i < d->n; i++) free(d->paths[i]);
    if (d->class_names)
        for (int i = 0; i < d->num_classes; i++) free(d->class_names[i]);
    free(d->paths);
    free(d->labels);
    free(d->class_names);
    free(d->root);
    free(d->entry);
    lqf_rec_free(d->rec);
    free(d);
}

lqf_dataset_kind lqf_dataset_get_kind(const lqf_dataset *d) { return d->kind; }
size_t lqf_dataset_count(const lqf_dataset *d) { return d->n; }
int lqf_dataset_num_classes(const lqf_dataset *d) { return d->num_classes; }
const lqf_rec *lqf_dataset_rec(const lqf_dataset *d) { return d->rec; }

int lqf_dataset_rec_meta(const lqf_dataset *d, long *id_start, long *id_end) {
    if (!d->meta) return 0;
    if (id_start) *id_start = d->id_start;
    if (id_end) *id_end = d->id_end;
    return 1;
}

const char *lqf_dataset_class_name(const lqf_dataset *d, int label) {
    if (!d->class_names || label < 0 || label >= d->num_classes) return NULL;
    return d->class_names[label];
}

/* ===================================================================== folder */
static lqf_status open_folder(const char *root, const char *const *only, int n_only, lqf_dataset **out) {
    if (!root || !out) return lqf_fail(LQF_ERR_ARG, "lqf_dataset_open_folder: NULL argument");
    *out = NULL;
    lqf_folder_list fl;
    lqf_status st = lqf_folder_list_scan(root, only, n_only, &fl);
    if (st) return st;
    if (fl.n_images == 0) {
        lqf_folder_list_free(&fl);
        return lqf_fail(LQF_ERR_ARG, "%s: no images found (expected root/identity/image)", root);
    }
    lqf_dataset *d = calloc(1, sizeof *d);
    if (!d) {
        lqf_folder_list_free(&fl);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", root);
    }
    d->kind = LQF_DATASET_FOLDER;
    d->root = fl.root;
    d->n = fl.n_images;
    d->paths = fl.paths;
    d->labels = fl.labels;
    d->num_classes = fl.n_classes;
    d->class_names = fl.class_names;
    *out = d;
    return LQF_OK;
}

lqf_status lqf_dataset_open_folder(const char *root, lqf_dataset **out) {
    return open_folder(root, NULL, 0, out);
}

lqf_status lqf_dataset_open_folder_subset(const char *root, const char *const *identities, int n,
                                          lqf_dataset **out) {
    if (!identities || n <= 0) return lqf_fail(LQF_ERR_ARG, "%s: empty identity subset", root ? root : "dataset");
    return open_folder(root, identities, n, out);
}

/* ===================================================================== list file */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

lqf_status lqf_dataset_open_list(const char *list_path, const char *root, lqf_dataset **out) {
    if (!list_path || !out) return lqf_fail(LQF_ERR_ARG, "lqf_dataset_open_list: NULL argument");
    *out = NULL;
    uint8_t *text;
    size_t len;
    lqf_status st = lqf_read_file(list_path, &text, &len);
    if (st) return st;
    lqf_dataset *d = calloc(1, sizeof *d);
    if (!d) { free(text); return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", list_path); }
    d->kind = LQF_DATASET_LIST;
    d->root = root ? strdup(root) : dir_of(list_path);
    size_t cap = 0;
    int maxl = -1, line = 0;
    char *p = (char *)text, *end = p + len;
    if (!d->root) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", list_path); goto fail; }
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        line++;
        char *a = p, *b = eol;
        p = eol + 1;
        while (a < b && (*a == ' ' || *a == '\t')) a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r')) b--;
        if (a == b || *a == '#') continue;
        /* label = last field; path = the field before it (tab-separated: the second to
         * last field, so "aligned\tpath\tlabel" works; else everything before the label) */
        char *ls = b;
        while (ls > a && ls[-1] != ' ' && ls[-1] != '\t') ls--;
        if (ls == a) { st = lqf_fail(LQF_ERR_FORMAT, "%s: line %d: expected \"path label\"", list_path, line); goto fail; }
        char *pe = ls;
        while (pe > a && (pe[-1] == ' ' || pe[-1] == '\t')) pe--;
        char *ps = a;
        if (memchr(a, '\t', (size_t)(pe - a))) {
            ps = pe;
            while (ps > a && ps[-1] != '\t') ps--;
        }
        char lab[32];
        size_t ln = (size_t)(b - ls);
        char *endp;
        if (ln >= sizeof lab) { st = lqf_fail(LQF_ERR_FORMAT, "%s: line %d: bad label", list_path, line); goto fail; }
        memcpy(lab, ls, ln);
        lab[ln] = 0;
        errno = 0;
        double lv = strtod(lab, &endp);
        if (*endp || errno || lv < 0 || lv > INT_MAX || lv != floor(lv)) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s: line %d: label '%s' is not a non-negative integer", list_path, line, lab);
            goto fail;
        }
        if (d->n == cap) {
            cap = cap ? 2 * cap : 256;
            char **np = realloc(d->paths, cap * sizeof *np);
            if (np) d->paths = np;
            int *nl = realloc(d->labels, cap * sizeof *nl);
            if (nl) d->labels = nl;
            if (!np || !nl) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", list_path); goto fail; }
        }
        d->paths[d->n] = strndup(ps, (size_t)(pe - ps));
        if (!d->paths[d->n]) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", list_path); goto fail; }
        d->labels[d->n] = (int)lv;
        if ((int)lv > maxl) maxl = (int)lv;
        d->n++;
    }
    free(text);
    text = NULL;
    if (d->n == 0) { st = lqf_fail(LQF_ERR_FORMAT, "%s: no entries", list_path); goto fail; }
    d->num_classes = maxl + 1;
    *out = d;
    return LQF_OK;
fail:
    free(text);
    lqf_dataset_free(d);
    return st;
}

/* ===================================================================== RecordIO */
char *lqf_rec_property_path(const char *path) {
    char *dir = dir_of(path);
    if (!dir) return NULL;
    size_t n = strlen(dir);
    char *p = malloc(n + sizeof "/property");
    if (p) {
        memcpy(p, dir, n);
        memcpy(p + n, "/property", sizeof "/property");
    }
    free(dir);
    return p;
}

/* num_classes from the property file ("num_classes,h,w"); 0 if absent. */
static lqf_status read_property(const char *rec_path, int *num_classes) {
    char *path = lqf_rec_property_path(rec_path);
    if (!path) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", rec_path);
    *num_classes = 0;
    lqf_status st = LQF_OK;
    uint8_t *text = NULL;
    size_t len;
    if (access(path, R_OK) == 0 && !(st = lqf_read_file(path, &text, &len))) {
        char buf[128];
        size_t n = LQF_MIN(len, sizeof buf - 1);
        memcpy(buf, text, n);
        buf[n] = 0;
        if (sscanf(buf, " %d", num_classes) != 1 || *num_classes <= 0)
            st = lqf_fail(LQF_ERR_FORMAT, "%s: expected \"num_classes,height,width\"", path);
    }
    free(text);
    free(path);
    return st;
}

/* A class label as insightface converts it (int(label)); -1 if negative or not a number. */
static int class_index(float v) {
    if (!(v >= 0) || v >= (float)INT_MAX) return -1;
    return (int)v;
}

lqf_status lqf_dataset_open_rec(const char *rec_path, lqf_dataset **out) {
    if (!rec_path || !out) return lqf_fail(LQF_ERR_ARG, "lqf_dataset_open_rec: NULL argument");
    *out = NULL;
    lqf_dataset *d = calloc(1, sizeof *d);
    if (!d) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", rec_path);
    d->kind = LQF_DATASET_REC;
    lqf_status st = lqf_rec_open(rec_path, NULL, &d->rec);
    if (st) goto fail;
    const lqf_rec *r = d->rec;
    int prop_classes, meta = 0;
    if ((st = read_property(rec_path, &prop_classes))) goto fail;
    size_t e0;
    long id_start = 0, id_end = 0;
    if (lqf_rec_find(r, 0, &e0)) { /* record 0 with labels and no image = meta */
        const uint8_t *pl;
        size_t total;
        lqf_buf scratch = {0};
        lqf_irheader h;
        char name[600];
        snprintf(name, sizeof name, "%s#0", rec_path);
        st = lqf_rec_read(r, e0, &scratch, &pl, &total);
        if (!st) st = lqf_ir_unpack(pl, total, name, &h);
        if (!st && h.flag > 0 && h.image_len == 0) {
            if (h.flag < 2) {
                st = lqf_fail(LQF_ERR_FORMAT, "%s: meta record has %u label(s), expected [id_start, id_end]", name, h.flag);
            } else {
                float a = lqf_ir_label(&h, 0), b = lqf_ir_label(&h, 1);
                if (!(a >= 1) || !(b >= a) || a > 1e9f || b > 1e9f || a != floorf(a) || b != floorf(b)) {
                    st = lqf_fail(LQF_ERR_FORMAT, "%s: meta record has a bad key range [%g, %g)", name, a, b);
                } else {
                    id_start = (long)a;
                    id_end = (long)b;
                    meta = 1;
                }
            }
        }
        lqf_buf_free(&scratch);
        if (st) goto fail;
    }
    d->meta = meta;
    d->id_start = id_start;
    d->id_end = id_end;
    if (meta && (size_t)(id_start - 1) >= lqf_rec_count(r)) {
        st = lqf_fail(LQF_ERR_FORMAT, "%s: meta record says images are keys 1..%ld, but the index holds %zu records",
                      rec_path, id_start - 1, lqf_rec_count(r));
        goto fail;
    }
    if (meta) {
        d->n = (size_t)(id_start - 1);
        d->entry = malloc((d->n ? d->n : 1) * sizeof *d->entry);
        if (!d->entry) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", rec_path); goto fail; }
        for (size_t i = 0; i < d->n; i++)
            if (!lqf_rec_find(r, i + 1, &d->entry[i])) {
                st = lqf_fail(LQF_ERR_FORMAT, "%s: meta record says images are keys 1..%ld, but key %zu is not in the index",
                              rec_path, id_start - 1, i + 1);
                goto fail;
            }
    } else {
        d->n = lqf_rec_count(r);
        d->entry = malloc((d->n ? d->n : 1) * sizeof *d->entry);
        if (!d->entry) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", rec_path); goto fail; }
        for (size_t i = 0; i < d->n; i++) d->entry[i] = i;
    }
    if (d->n == 0) {
        st = lqf_fail(LQF_ERR_FORMAT, "%s: no image records", rec_path);
        goto fail;
    }
    if (prop_classes > 0) {
        d->num_classes = prop_classes;
    } else if (meta && id_end > id_start) {
        d->num_classes = (int)(id_end - id_start);
    } else { /* max label + 1: reads every header */
        int maxl = -1;
        for (size_t i = 0; i < d->n; i++) {
            int l = lqf_dataset_label(d, i);
            if (l < 0) { st = LQF_ERR_FORMAT; goto fail; }
            if (l > maxl) maxl = l;
        }
        d->num_classes = maxl + 1;
    }
    *out = d;
    return LQF_OK;
fail:
    lqf_dataset_free(d);
    return st;
}

/* ===================================================================== common */
static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

lqf_status lqf_dataset_open(const char *path, lqf_dataset **out) {
    if (!path || !out) return lqf_fail(LQF_ERR_ARG, "lqf_dataset_open: NULL argument");
    size_t n = strlen(path);
    if (is_dir(path)) return lqf_dataset_open_folder(path, out);
    if (n >= 4 && strcmp(path + n - 4, ".rec") == 0) return lqf_dataset_open_rec(path, out);
    return lqf_dataset_open_list(path, NULL, out);
}

int lqf_dataset_label(const lqf_dataset *d, size_t i) {
    if (i >= d->n) {
        lqf_fail(LQF_ERR_ARG, "dataset item %zu out of range (%zu items)", i, d->n);
        return -1;
    }
    if (d->kind != LQF_DATASET_REC) return d->labels[i];
    float v;
    if (lqf_rec_read_class(d->rec, d->entry[i], &v)) return -1;
    int l = class_index(v);
    if (l < 0 || (d->num_classes > 0 && l >= d->num_classes)) {
        lqf_fail(LQF_ERR_FORMAT, "%s#%llu: label %g outside 0..%d", lqf_rec_path(d->rec),
                 (unsigned long long)lqf_rec_key(d->rec, d->entry[i]), (double)v, d->num_classes - 1);
        return -1;
    }
    return l;
}

/* Read a whole file into s->buf. */
static lqf_status read_into(const char *path, lqf_sample *s) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lqf_fail(LQF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return lqf_fail(LQF_ERR_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size, got = 0;
    lqf_status st = lqf_buf_reserve(&s->buf, len ? len : 1);
    if (st) { close(fd); return st; }
    while (got < len) {
        ssize_t k = read(fd, s->buf.data + got, len - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            close(fd);
            return lqf_fail(LQF_ERR_IO, "%s: read failed after %zu of %zu bytes: %s", path, got, len,
                            k < 0 ? strerror(errno) : "file shrank");
        }
        got += (size_t)k;
    }
    close(fd);
    s->data = s->buf.data;
    s->len = len;
    return LQF_OK;
}

lqf_status lqf_dataset_get(const lqf_dataset *d, size_t i, lqf_sample *s) {
    if (!d || !s) return lqf_fail(LQF_ERR_ARG, "lqf_dataset_get: NULL argument");
    if (i >= d->n) return lqf_fail(LQF_ERR_ARG, "dataset item %zu out of range (%zu items)", i, d->n);
    lqf_status st;
    if (d->kind != LQF_DATASET_REC) {
        const char *p = d->paths[i];
        if (p[0] == '/' || !d->root[0]) snprintf(s->name, sizeof s->name, "%s", p);
        else snprintf(s->name, sizeof s->name, "%s/%s", d->root, p);
        if ((st = read_into(s->name, s))) return st;
        s->label = d->labels[i];
        return LQF_OK;
    }
    size_t e = d->entry[i];
    snprintf(s->name, sizeof s->name, "%s#%llu", lqf_rec_path(d->rec), (unsigned long long)lqf_rec_key(d->rec, e));
    const uint8_t *pl;
    size_t len;
    if ((st = lqf_rec_read(d->rec, e, &s->buf, &pl, &len))) return st;
    lqf_irheader h;
    if ((st = lqf_ir_unpack(pl, len, s->name, &h))) return st;
    int l = class_index(lqf_ir_class(&h));
    if (l < 0 || l >= d->num_classes)
        return lqf_fail(LQF_ERR_FORMAT, "%s: label %g outside 0..%d (num_classes %d)", s->name,
                        (double)lqf_ir_class(&h), d->num_classes - 1, d->num_classes);
    if (h.image_len == 0) return lqf_fail(LQF_ERR_FORMAT, "%s: record holds no image", s->name);
    s->data = h.image;
    s->len = h.image_len;
    s->label = l;
    return LQF_OK;
}

lqf_status lqf_dataset_decode(const lqf_dataset *d, size_t i, lqf_sample *s, lqf_channel_order order, lqf_image **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_dataset_decode: NULL output");
    *out = NULL;
    lqf_status st = lqf_dataset_get(d, i, s);
    if (st) return st;
    return lqf_image_decode(s->data, s->len, s->name, order, out);
}
