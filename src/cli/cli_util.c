/*
 * cli_util.c — implementation of the CLI helpers in cli.h.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

void cli_list_push(cli_list *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, (size_t)l->cap * sizeof *l->v);
    }
    l->v[l->n++] = strdup(s);
}

void cli_list_free(cli_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    static const char *ext[] = {".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".pnm"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (strcasecmp(dot, ext[i]) == 0) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cli_expand_path(const char *path, cli_list *l) {
    struct stat st;
    if (stat(path, &st) != 0) {
        /* a missing file is kept: the pipeline reports it and the others go on */
        cli_list_push(l, path);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        cli_list_push(l, path);
        return 0;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "lqface: %s: cannot open directory: %s\n", path, strerror(errno));
        return -1;
    }
    cli_list names = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        cli_list_push(&names, e->d_name);
    }
    closedir(d);
    qsort(names.v, (size_t)names.n, sizeof *names.v, cmp_str);
    int rc = 0;
    for (int i = 0; i < names.n && rc == 0; i++) {
        char *full;
        if (asprintf(&full, "%s/%s", path, names.v[i]) < 0) break;
        struct stat cs;
        if (stat(full, &cs) == 0 && S_ISDIR(cs.st_mode))
            rc = cli_expand_path(full, l);
        else if (is_image_name(names.v[i]))
            cli_list_push(l, full);
        free(full);
    }
    cli_list_free(&names);
    return rc;
}

int cli_positional(const char *arg, cli_list *l) {
    if (arg[0] == '-' && arg[1]) {
        fprintf(stderr, "lqface: unknown option '%s'\n", arg);
        return -1;
    }
    return cli_expand_path(arg, l);
}

int cli_read_list(const char *file, const char *root, cli_list *l) {
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "lqface: %s: cannot open list: %s\n", file, strerror(errno));
        return -1;
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '#') continue;
        char *tab = strpbrk(s, "\t ");
        if (tab) *tab = 0; /* extra columns (labels) are ignored here */
        if (root && *root) {
            char *full;
            if (asprintf(&full, "%s/%s", root, s) < 0) break;
            cli_list_push(l, full);
            free(full);
        } else {
            cli_list_push(l, s);
        }
    }
    fclose(f);
    return 0;
}

const char *cli_model_path(const char *name) {
    static char buf[4096];
    lqf_status st = lqf_model_find(name, buf, sizeof buf);
    if (!st) return buf;
    cli_error("", st);
    return NULL;
}

int cli_contract_opt(int argc, char **argv, int *i, lqf_contract_spec *flags) {
    static const struct { const char *opt, *key; } keyed[] = {
        {"--mean", "mean"}, {"--std", "std"}, {"--input-size", "size"}};
    const char *v;
    lqf_status st = LQF_OK;
    if (!strcmp(argv[*i], "--rgb") || !strcmp(argv[*i], "--bgr")) {
        st = lqf_contract_set(flags, "order", argv[*i] + 2);
    } else if (cli_opt_str(argc, argv, i, "--contract", &v)) {
        st = lqf_contract_parse(v, flags);
    } else {
        size_t k = 0;
        while (k < sizeof keyed / sizeof *keyed && !cli_opt_str(argc, argv, i, keyed[k].opt, &v)) k++;
        if (k == sizeof keyed / sizeof *keyed) return 0;
        st = lqf_contract_set(flags, keyed[k].key, v);
    }
    if (st) {
        cli_error("", st);
        exit(2);
    }
    return 1;
}

int cli_embedder_open(const char *cmd, const char *model, const lqf_contract_spec *flags, int flip,
                      lqf_embedder **emb) {
    *emb = NULL;
    if (!model && !(model = cli_model_path(LQF_DEFAULT_EMBEDDER))) return -1;
    lqf_contract_spec f = flags ? *flags : (lqf_contract_spec){0};
    f.c.flip_fusion = flip;
    lqf_contract_info ci;
    lqf_status st = lqf_contract_resolve(model, &f, &ci);
    if (!st && ci.c.width != ci.c.height) {
        fprintf(stderr, "lqface %s: %s: the contract's input is %dx%d, but faces are aligned square\n", cmd, model,
                ci.c.width, ci.c.height);
        return -1;
    }
    if (!st) st = lqf_embedder_load(model, &ci.c, emb);
    if (st) {
        cli_error(cmd, st);
        return -1;
    }
    return 0;
}

void cli_bar(char *buf, int width, double done, double total) {
    int fill = total > 0 ? (int)(width * done / total) : width;
    for (int i = 0; i < width; i++) buf[i] = i < fill ? '#' : '.';
    buf[width] = 0;
}

void cli_error(const char *cmd, lqf_status st) {
    const char *m = lqf_last_error();
    fprintf(stderr, "lqface%s%s: %s\n", *cmd ? " " : "", cmd, (m && *m) ? m : lqf_status_string(st));
}

int cli_opt_str(int argc, char **argv, int *i, const char *name, const char **val) {
    if (strcmp(argv[*i], name) != 0) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "lqface: option %s needs a value\n", name);
        exit(2);
    }
    *val = argv[++*i];
    return 1;
}

int cli_opt_int(int argc, char **argv, int *i, const char *name, int *val) {
    const char *s;
    if (!cli_opt_str(argc, argv, i, name, &s)) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s) {
        fprintf(stderr, "lqface: option %s expects an integer, got '%s'\n", name, s);
        exit(2);
    }
    *val = (int)v;
    return 1;
}

int cli_opt_float(int argc, char **argv, int *i, const char *name, float *val) {
    const char *s;
    if (!cli_opt_str(argc, argv, i, name, &s)) return 0;
    char *end;
    float v = strtof(s, &end);
    if (*end || end == s) {
        fprintf(stderr, "lqface: option %s expects a number, got '%s'\n", name, s);
        exit(2);
    }
    *val = v;
    return 1;
}

int cli_parse_pick(const char *s, lqf_face_pick *p) {
    if (!strcmp(s, "center") || !strcmp(s, "centre")) *p = LQF_PICK_CENTER;
    else if (!strcmp(s, "score")) *p = LQF_PICK_SCORE;
    else if (!strcmp(s, "largest")) *p = LQF_PICK_LARGEST;
    else {
        fprintf(stderr, "lqface: --pick must be center, score or largest (got '%s')\n", s);
        return -1;
    }
    return 0;
}
