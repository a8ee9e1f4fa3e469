/*
 * pairs.c — readers of verification protocol files into an lqf_pair_list: LFW's pairs.txt
 * (header "F N", same lines `name i j`, different lines `name1 i name2 j`), generic
 * `path_a path_b label` lists, and the CFP protocol directory (Pair_list_F/P.txt plus
 * Split/<FP|FF>/NN/{same,diff}.txt). Every format error names the file and the line.
 */
#include "eval/eval.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

/* ------------------------------------------------------------------ line reader */
lqf_status lqf_lines_open(lqf_lines *lr, const char *path) {
    memset(lr, 0, sizeof *lr);
    uint8_t *data;
    size_t len;
    lqf_status st = lqf_read_file(path, &data, &len);
    if (st) return st;
    char *b = malloc(len + 1);
    if (!b) {
        free(data);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(b, data, len);
    b[len] = 0;
    free(data);
    lr->buf = b, lr->len = len;
    return LQF_OK;
}

char *lqf_lines_next(lqf_lines *lr) {
    if (lr->pos >= lr->len) return NULL;
    char *s = lr->buf + lr->pos;
    char *e = memchr(s, '\n', lr->len - lr->pos);
    if (e) {
        *e = 0;
        lr->pos = (size_t)(e - lr->buf) + 1;
    } else {
        lr->pos = lr->len;
        e = lr->buf + lr->len;
    }
    if (e > s && e[-1] == '\r') e[-1] = 0;
    lr->line++;
    return s;
}

void lqf_lines_close(lqf_lines *lr) {
    free(lr->buf);
    memset(lr, 0, sizeof *lr);
}

int lqf_split_tokens(char *s, char **tok, int max, int commas) {
    int n = 0;
    while (*s) {
        while (*s && (isspace((unsigned char)*s) || (commas && *s == ','))) *s++ = 0;
        if (!*s) break;
        if (n == max) return max + 1;
        tok[n++] = s;
        while (*s && !isspace((unsigned char)*s) && !(commas && *s == ',')) s++;
    }
    return n;
}

/* Strict positive decimal integer. */
static int parse_int(const char *s, long *v) {
    if (!*s) return 0;
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (*end || errno || x < 0 || x > INT_MAX || !isdigit((unsigned char)s[0])) return 0;
    *v = x;
    return 1;
}

/* ------------------------------------------------------------------ pair list */
typedef struct {
    lqf_pair_list *p;
    int cap;
    uint64_t bytes; /* held by the list: checked against the allocation limit (CFP pairs repeat paths) */
} builder;

void lqf_pair_list_free(lqf_pair_list *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        free(p->path_a[i]);
        free(p->path_b[i]);
    }
    free(p->path_a);
    free(p->path_b);
    free(p->issame);
    free(p->line);
    free(p);
}

static char *dupf(const char *fmt, ...) LQF_PRINTF(1, 2);
static char *dupf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *lqf_path_join(const char *root, const char *path) {
    if (!root || !*root || path[0] == '/') return dupf("%s", path);
    size_t l = strlen(root);
    return dupf("%s%s%s", root, root[l - 1] == '/' ? "" : "/", path);
}

static lqf_status add_pair(builder *b, char *a, char *c, int same, const char *file, int line) {
    lqf_pair_list *p = b->p;
    if (!a || !c) {
        free(a), free(c);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", file);
    }
    b->bytes += strlen(a) + strlen(c) + 2 + 2 * sizeof(char *) + sizeof(int) + 1;
    lqf_status st = lqf_check_alloc(b->bytes, file, "the pair list");
    if (!st && p->n == INT_MAX) st = lqf_fail(LQF_ERR_FORMAT, "%s: more than %d pairs", file, INT_MAX);
    if (st) {
        free(a), free(c);
        return st;
    }
    if (p->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 1024;
        char **na = realloc(p->path_a, (size_t)cap * sizeof *na);
        if (na) p->path_a = na;
        char **nb = realloc(p->path_b, (size_t)cap * sizeof *nb);
        if (nb) p->path_b = nb;
        uint8_t *ns = realloc(p->issame, (size_t)cap);
        if (ns) p->issame = ns;
        int *nl = realloc(p->line, (size_t)cap * sizeof *nl);
        if (nl) p->line = nl;
        if (!na || !nb || !ns || !nl) {
            free(a), free(c);
            return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", file);
        }
        b->cap = cap;
    }
    p->path_a[p->n] = a;
    p->path_b[p->n] = c;
    p->issame[p->n] = (uint8_t)(same != 0);
    p->line[p->n] = line;
    p->n++;
    return LQF_OK;
}

static lqf_status builder_init(builder *b, const char *file) {
    b->cap = 0;
    b->bytes = 0;
    b->p = calloc(1, sizeof *b->p);
    return b->p ? LQF_OK : lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", file);
}

/* Open a list file and an empty pair list (both released on failure). */
static lqf_status list_begin(const char *path, lqf_lines *lr, builder *b) {
    lqf_status st = lqf_lines_open(lr, path);
    if (st) return st;
    if ((st = builder_init(b, path))) lqf_lines_close(lr);
    return st;
}

/* ------------------------------------------------------------------ LFW pairs.txt */
lqf_status lqf_pairs_load_lfw(const char *pairs_txt, const char *image_root, lqf_pair_list **out) {
    *out = NULL;
    lqf_lines lr;
    builder b;
    lqf_status st = list_begin(pairs_txt, &lr, &b);
    if (st) return st;
    long folds = 0, per = 0;
    int have_header = 0;
    char *line, *tok[5];
    while ((line = lqf_lines_next(&lr))) {
        int n = lqf_split_tokens(line, tok, 4, 0);
        if (n == 0) continue;
        if (!have_header) {
            long v1, v2;
            if (n == 2 && parse_int(tok[0], &v1) && parse_int(tok[1], &v2) && v1 > 0) {
                folds = v1, per = v2;
            } else if (n == 1 && parse_int(tok[0], &v1)) {
                folds = 1, per = v1;
            } else {
                st = lqf_fail(LQF_ERR_FORMAT, "%s:%d: expected the header \"folds pairs_per_fold\" (e.g. \"10 300\")",
                              pairs_txt, lr.line);
                break;
            }
            have_header = 1;
            continue;
        }
        long i, j;
        if (n == 3 && parse_int(tok[1], &i) && parse_int(tok[2], &j)) {
            st = add_pair(&b, dupf("%s/%s_%04ld.jpg", tok[0], tok[0], i),
                          dupf("%s/%s_%04ld.jpg", tok[0], tok[0], j), 1, pairs_txt, lr.line);
        } else if (n == 4 && parse_int(tok[1], &i) && parse_int(tok[3], &j)) {
            st = add_pair(&b, dupf("%s/%s_%04ld.jpg", tok[0], tok[0], i),
                          dupf("%s/%s_%04ld.jpg", tok[2], tok[2], j), 0, pairs_txt, lr.line);
        } else {
            st = lqf_fail(LQF_ERR_FORMAT, "%s:%d: expected `name i j` or `name1 i name2 j`", pairs_txt,
                          lr.line);
        }
        if (st) break;
    }
    lqf_lines_close(&lr);
    lqf_pair_list *p = b.p;
    if (!st && !have_header) st = lqf_fail(LQF_ERR_FORMAT, "%s: empty pair list (no header, no pairs)", pairs_txt);
    if (!st && p->n == 0) st = lqf_fail(LQF_ERR_FORMAT, "%s: empty pair list (header but no pairs)", pairs_txt);
    if (!st && (long)p->n != 2 * folds * per)
        st = lqf_fail(LQF_ERR_FORMAT, "%s: the header announces %ld folds of %ld same + %ld different pairs (%ld), found %d",
                      pairs_txt, folds, per, per, 2 * folds * per, p->n);
    if (!st && image_root && *image_root) {
        for (int k = 0; k < p->n && !st; k++) {
            char *a = lqf_path_join(image_root, p->path_a[k]), *c = lqf_path_join(image_root, p->path_b[k]);
            if (!a || !c) {
                free(a), free(c);
                st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", pairs_txt);
                break;
            }
            free(p->path_a[k]), free(p->path_b[k]);
            p->path_a[k] = a, p->path_b[k] = c;
        }
    }
    if (st) {
        lqf_pair_list_free(p);
        return st;
    }
    p->n_folds = (int)folds;
    *out = p;
    return LQF_OK;
}

/* ------------------------------------------------------------------ generic list */
lqf_status lqf_pairs_load_list(const char *list_txt, const char *root, lqf_pair_list **out) {
    *out = NULL;
    lqf_lines lr;
    builder b;
    lqf_status st = list_begin(list_txt, &lr, &b);
    if (st) return st;
    char *line, *tok[4];
    while ((line = lqf_lines_next(&lr))) {
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        int n = lqf_split_tokens(s, tok, 3, 0);
        long lab;
        if (n != 3 || !parse_int(tok[2], &lab) || lab > 1) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s:%d: expected `path_a path_b label` with label 0 or 1", list_txt,
                          lr.line);
            break;
        }
        if ((st = add_pair(&b, lqf_path_join(root, tok[0]), lqf_path_join(root, tok[1]), (int)lab, list_txt, lr.line))) break;
    }
    lqf_lines_close(&lr);
    if (!st && b.p->n == 0) st = lqf_fail(LQF_ERR_FORMAT, "%s: empty pair list", list_txt);
    if (st) {
        lqf_pair_list_free(b.p);
        return st;
    }
    *out = b.p;
    return LQF_OK;
}

/* ------------------------------------------------------------------ CFP */
typedef struct {
    char **path; /* path[index], 1-based; NULL where missing */
    int n;       /* largest index */
} index_map;

static void index_map_free(index_map *m) {
    if (m->path)
        for (int i = 0; i <= m->n; i++) free(m->path[i]);
    free(m->path);
}

static lqf_status read_index_map(const char *dir, const char *name, index_map *m) {
    memset(m, 0, sizeof *m);
    char *file = lqf_path_join(dir, name);
    if (!file) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", dir);
    lqf_lines lr;
    lqf_status st = lqf_lines_open(&lr, file);
    if (st) {
        free(file);
        return st;
    }
    int cap = 0;
    long lines = 0; /* an index beyond the file's line count would size the map from nothing */
    for (const char *q = lr.buf, *e = lr.buf + lr.len; q < e; lines++) {
        q = memchr(q, '\n', (size_t)(e - q));
        q = q ? q + 1 : e;
    }
    char *line, *tok[3];
    while ((line = lqf_lines_next(&lr))) {
        int n = lqf_split_tokens(line, tok, 2, 0);
        if (n == 0) continue;
        long idx;
        if (n != 2 || !parse_int(tok[0], &idx) || idx < 1 || idx > INT_MAX / 4) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s:%d: expected `index path`", file, lr.line);
            break;
        }
        if (idx > lines) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s:%d: index %ld is larger than the file's %ld lines", file, lr.line, idx, lines);
            break;
        }
        if (idx >= cap) {
            int nc = cap ? cap : 1024;
            while (nc <= idx) nc *= 2;
            char **np = realloc(m->path, (size_t)nc * sizeof *np);
            if (!np) {
                st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", file);
                break;
            }
            memset(np + cap, 0, (size_t)(nc - cap) * sizeof *np);
            m->path = np, cap = nc;
        }
        if (m->path[idx]) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s:%d: index %ld listed twice", file, lr.line, idx);
            break;
        }
        if (!(m->path[idx] = lqf_path_join(dir, tok[1]))) {
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", file);
            break;
        }
        if (idx > m->n) m->n = (int)idx;
    }
    lqf_lines_close(&lr);
    if (!st && m->n == 0) st = lqf_fail(LQF_ERR_FORMAT, "%s: no entries", file);
    free(file);
    if (st) index_map_free(m);
    return st;
}

static lqf_status read_split(const char *file, const index_map *ma, const index_map *mb, int same,
                             builder *b) {
    lqf_lines lr;
    lqf_status st = lqf_lines_open(&lr, file);
    if (st) return st;
    char *line, *tok[3];
    int count = 0;
    while ((line = lqf_lines_next(&lr))) {
        int n = lqf_split_tokens(line, tok, 2, 1);
        if (n == 0) continue;
        long i, j;
        if (n != 2 || !parse_int(tok[0], &i) || !parse_int(tok[1], &j)) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s:%d: expected `i,j`", file, lr.line);
            break;
        }
        if (i < 1 || i > ma->n || !ma->path[i] || j < 1 || j > mb->n || !mb->path[j]) {
            st = lqf_fail(LQF_ERR_FORMAT, "%s:%d: pair %ld,%ld refers to an index missing from the pair list",
                          file, lr.line, i, j);
            break;
        }
        if ((st = add_pair(b, lqf_path_join(NULL, ma->path[i]), lqf_path_join(NULL, mb->path[j]), same, file, lr.line))) break;
        count++;
    }
    lqf_lines_close(&lr);
    if (!st && count == 0) st = lqf_fail(LQF_ERR_FORMAT, "%s: no pairs", file);
    return st;
}

lqf_status lqf_pairs_load_cfp(const char *protocol_dir, const char *split_name, lqf_pair_list **out) {
    *out = NULL;
    if (!protocol_dir || !split_name || (strcmp(split_name, "FP") && strcmp(split_name, "FF")))
        return lqf_fail(LQF_ERR_ARG, "%s: CFP split must be \"FP\" or \"FF\"", protocol_dir ? protocol_dir : "(null)");
    index_map mf, mp;
    lqf_status st = read_index_map(protocol_dir, "Pair_list_F.txt", &mf);
    if (st) return st;
    int fp = !strcmp(split_name, "FP");
    if (fp && (st = read_index_map(protocol_dir, "Pair_list_P.txt", &mp))) {
        index_map_free(&mf);
        return st;
    }
    builder b;
    if ((st = builder_init(&b, protocol_dir))) goto done;
    int folds = 0;
    for (int f = 1; f <= 99 && !st; f++) {
        char *same = dupf("%s/Split/%s/%02d/same.txt", protocol_dir, split_name, f);
        char *diff = dupf("%s/Split/%s/%02d/diff.txt", protocol_dir, split_name, f);
        if (!same || !diff) {
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", protocol_dir);
        } else {
            FILE *probe = fopen(same, "rb");
            if (!probe) {
                free(same), free(diff);
                break; /* no more folds */
            }
            fclose(probe);
            st = read_split(same, &mf, fp ? &mp : &mf, 1, &b);
            if (!st) st = read_split(diff, &mf, fp ? &mp : &mf, 0, &b);
            folds++;
        }
        free(same), free(diff);
    }
    if (!st && folds == 0)
        st = lqf_fail(LQF_ERR_FORMAT, "%s: no folds (expected Split/%s/01/same.txt)", protocol_dir, split_name);
    if (st) {
        lqf_pair_list_free(b.p);
    } else {
        b.p->n_folds = folds;
        *out = b.p;
    }
done:
    index_map_free(&mf);
    if (fp) index_map_free(&mp);
    return st;
}
