/*
 * cmd_eval.c — `lqface eval verify` (LFW pairs.txt, generic pair lists, CFP protocol,
 * insightface .bin packs; degradation sweeps over resolution, cross-resolution, blur, noise,
 * JPEG and face-alignment error, and FAE x resolution grids), `lqface eval ident` (gallery /
 * probes / distractors, or the LFW protocol builder) and `lqface degrade` (write one degraded
 * face to look at). Photos are prepared once (lqf_face_set), clean embeddings cached, and
 * the report goes to the terminal, JSON and a self-contained HTML page.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "eval/report.h"
#include "ops/ops.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* FAE level L: rotation +-3L degrees, scale 1 +- 0.03L, shift +-1.5L px (112 frame).
 * Level 2 is about ARoFace's effective k=1 perturbation (+-5.7 deg, +-5.6 px, +-0.1). */
#define FAE_ROT_PER_LEVEL 3.0
#define FAE_SCALE_PER_LEVEL 0.03
#define FAE_SHIFT_PER_LEVEL 1.5

/* ------------------------------------------------------------------ progress bar */
typedef struct {
    int enabled;
    double t0;
    char stage[64];
} progress_state;

static void progress_cb(void *user, const char *stage, int done, int total) {
    progress_state *p = user;
    if (!p->enabled) return;
    if (strcmp(stage, p->stage)) {
        snprintf(p->stage, sizeof p->stage, "%s", stage);
        p->t0 = lqf_now();
    }
    double el = lqf_now() - p->t0, rate = done / (el > 1e-9 ? el : 1e-9);
    int w = 28, fill = (int)((double)w * done / (total ? total : 1));
    fprintf(stderr, "\r%-22.22s [", stage);
    for (int k = 0; k < w; k++) fputc(k < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %6d/%-6d %7.1f faces/s ETA %4.0f s", done, total, rate, rate > 0 ? (total - done) / rate : 0);
    if (done >= total) fputc('\n', stderr);
}

/* ------------------------------------------------------------------ options */
typedef struct {
    const char *model, *detector, *pick, *json, *html, *scores, *title;
    int aligned, flip, seed, progress;
    lqf_contract_spec contract;
    char resolution[256], cross[256], blur[256], noise[256], jpeg[256], fae[256], fae_res[256];
} eval_opts;

static int parse_list(const char *s, double *v, int max) {
    int n = 0;
    while (s && *s && n < max) {
        char *end;
        v[n++] = strtod(s, &end);
        if (end == s) return -1;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

static int parse_common(int argc, char **argv, int *i, eval_opts *o) {
    const char *v;
    if (!strcmp(argv[*i], "--aligned")) return o->aligned = 1;
    if (!strcmp(argv[*i], "--no-flip")) {
        o->flip = 0;
        return 1;
    }
    if (!strcmp(argv[*i], "--progress")) return o->progress = 1;
    struct { const char *name; char *dst; } lists[] = {{"--resolution", o->resolution}, {"--cross-resolution", o->cross},
                                                       {"--blur", o->blur}, {"--noise", o->noise}, {"--jpeg", o->jpeg},
                                                       {"--fae", o->fae}, {"--fae-resolution", o->fae_res}};
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++)
        if (cli_opt_str(argc, argv, i, lists[k].name, &v)) {
            snprintf(lists[k].dst, 256, "%s", v);
            return 1;
        }
    return cli_opt_str(argc, argv, i, "-m", &o->model) || cli_opt_str(argc, argv, i, "--model", &o->model) ||
           cli_opt_str(argc, argv, i, "-d", &o->detector) || cli_opt_str(argc, argv, i, "--detector", &o->detector) ||
           cli_opt_str(argc, argv, i, "--pick", &o->pick) || cli_opt_str(argc, argv, i, "--json", &o->json) ||
           cli_opt_str(argc, argv, i, "--html", &o->html) || cli_opt_str(argc, argv, i, "--scores", &o->scores) ||
           cli_opt_str(argc, argv, i, "--title", &o->title) || cli_opt_int(argc, argv, i, "--seed", &o->seed) ||
           cli_contract_opt(argc, argv, i, &o->contract);
}

/* Conditions of the sweep, in report order; fae_level[k] set for FAE rows. */
static int build_conditions(const eval_opts *o, lqf_condition *c, int *fae_level, int max) {
    double v[32], r[32];
    int n = 0, k;
    memset(c, 0, sizeof(lqf_condition) * (size_t)max);
    memset(fae_level, 0, sizeof(int) * (size_t)max);
    snprintf(c[n++].label, 64, "clean");
    if ((k = parse_list(o->resolution, v, 32)) < 0) return -1;
    for (int i = 0; i < k && n < max; i++)
        if (v[i] < 112) {
            c[n].resolution = (int)v[i];
            snprintf(c[n++].label, 64, "%d px", (int)v[i]);
        }
    if ((k = parse_list(o->cross, v, 32)) < 0) return -1;
    for (int i = 0; i < k && n < max; i++) {
        c[n].resolution = (int)v[i];
        c[n].one_side = 1;
        snprintf(c[n++].label, 64, "cross %d px", (int)v[i]);
    }
    if ((k = parse_list(o->blur, v, 32)) < 0) return -1;
    for (int i = 0; i < k && n < max; i++) {
        c[n].blur_sigma = v[i];
        snprintf(c[n++].label, 64, "blur %g", v[i]);
    }
    if ((k = parse_list(o->noise, v, 32)) < 0) return -1;
    for (int i = 0; i < k && n < max; i++) {
        c[n].noise_sigma = v[i];
        snprintf(c[n++].label, 64, "noise %g", v[i]);
    }
    if ((k = parse_list(o->jpeg, v, 32)) < 0) return -1;
    for (int i = 0; i < k && n < max; i++) {
        c[n].jpeg_quality = (int)v[i];
        snprintf(c[n++].label, 64, "jpeg q%d", (int)v[i]);
    }
    if ((k = parse_list(o->fae, v, 32)) < 0) return -1;
    int nr = o->fae_res[0] ? parse_list(o->fae_res, r, 32) : 1;
    if (nr < 0) return -1;
    if (!o->fae_res[0]) r[0] = 112;
    for (int j = 0; j < nr; j++)
        for (int i = 0; i < k && n < max; i++) {
            int res = r[j] < 112 ? (int)r[j] : 0;
            if (res && i == 0) { /* the grid's zero-FAE point at this resolution */
                int have = 0;
                for (int q = 0; q < n; q++) have |= c[q].resolution == res && !c[q].one_side && !fae_level[q];
                if (!have && n < max) {
                    c[n].resolution = res;
                    snprintf(c[n++].label, 64, "%d px", res);
                }
            }
            c[n].resolution = res;
            c[n].fae_rot_deg = FAE_ROT_PER_LEVEL * v[i];
            c[n].fae_scale = FAE_SCALE_PER_LEVEL * v[i];
            c[n].fae_shift_px = FAE_SHIFT_PER_LEVEL * v[i];
            fae_level[n] = (int)v[i];
            snprintf(c[n++].label, 64, "%d px FAE %g", res ? res : 112, v[i]);
        }
    return n;
}

static int open_models(const eval_opts *o, lqf_embedder **emb, lqf_detector **det) {
    *det = NULL;
    if (cli_embedder_open("eval", o->model, &o->contract, o->flip, emb)) return -1;
    if (o->aligned) return 0;
    lqf_status st = lqf_detector_load(o->detector, NULL, det);
    if (st) {
        cli_error("eval", st);
        lqf_embedder_free(*emb);
        return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Unique sorted paths of a pair list, and each pair's two indices into them. */
static char **unique_paths(const lqf_pair_list *pl, int *n_unique, int *ia, int *ib) {
    char **all = malloc(sizeof(char *) * (size_t)pl->n * 2);
    for (int i = 0; i < pl->n; i++) {
        all[2 * i] = pl->path_a[i];
        all[2 * i + 1] = pl->path_b[i];
    }
    qsort(all, (size_t)pl->n * 2, sizeof *all, cmp_str);
    int m = 0;
    for (int i = 0; i < 2 * pl->n; i++)
        if (m == 0 || strcmp(all[m - 1], all[i])) all[m++] = all[i];
    for (int i = 0; i < pl->n; i++) {
        char **a = bsearch(&pl->path_a[i], all, (size_t)m, sizeof *all, cmp_str);
        char **b = bsearch(&pl->path_b[i], all, (size_t)m, sizeof *all, cmp_str);
        ia[i] = (int)(a - all);
        ib[i] = (int)(b - all);
    }
    *n_unique = m;
    return all;
}

static void write_scores(const char *dir, const char *label, const double *d, const uint8_t *same, int n) {
    char path[4096], clean[64];
    snprintf(clean, sizeof clean, "%.63s", label);
    for (char *p = clean; *p; p++)
        if (*p == ' ' || *p == '/') *p = '_';
    snprintf(path, sizeof path, "%s/%s.tsv", dir, clean);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "lqface eval: cannot write %s\n", path);
        return;
    }
    for (int i = 0; i < n; i++) fprintf(f, "%.17g\t%d\n", d[i], same[i]);
    fclose(f);
}

static int finish_report(const eval_opts *o, lqf_report *rep) {
    int rc = 0;
    lqf_report_print(stdout, rep);
    lqf_status st;
    if (o->json && (st = lqf_report_write_json(o->json, rep))) {
        cli_error("eval", st);
        rc = 1;
    }
    if (o->html && (st = lqf_report_write_html(o->html, rep))) {
        cli_error("eval", st);
        rc = 1;
    }
    if (o->json) fprintf(stderr, "lqface eval: wrote %s\n", o->json);
    if (o->html) fprintf(stderr, "lqface eval: wrote %s\n", o->html);
    return rc;
}

static void defaults(eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->flip = 1;
    o->pick = "center";
    o->progress = isatty(2);
}

/* The shipped models where -m / -d were not given (the detector unless --aligned).
 * Returns 0, or -1 after printing where they were looked for. */
static int resolve_models(eval_opts *o, int embedder) {
    static char m[4096], d[4096];
    const char *p;
    if (embedder && !o->model) {
        if (!(p = cli_model_path(LQF_DEFAULT_EMBEDDER))) return -1;
        o->model = strcpy(m, p);
    }
    if (!o->aligned && !o->detector) {
        if (!(p = cli_model_path(LQF_DEFAULT_DETECTOR))) return -1;
        o->detector = strcpy(d, p);
    }
    return 0;
}

/* Detect and align every photo once; report those without a usable face (`what` says what
 * happens to them) and count them. Returns 0, or 1 after printing the error. */
static int prepare_faces(char **paths, int n, lqf_detector *det, lqf_face_pick pick, progress_state *ps,
                         const char *what, lqf_face_set **fs, int *n_failed) {
    lqf_status st = lqf_face_set_from_paths((const char *const *)paths, n, det, pick, 112, fs, progress_cb, ps);
    if (st) {
        cli_error("eval", st);
        return 1;
    }
    *n_failed = 0;
    for (int k = 0; k < n; k++) {
        const char *msg;
        if (lqf_face_set_status(*fs, k, &msg)) {
            (*n_failed)++;
            fprintf(stderr, "lqface eval: %s (%s)\n", msg, what);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ verify */
static int eval_verify(int argc, char **argv) {
    eval_opts o;
    defaults(&o);
    const char *pairs = NULL, *root = NULL, *list = NULL, *cfp = NULL, *split = "FP", *bin = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface eval verify (--pairs pairs.txt --root DIR | --list PAIRS [--root DIR] |\n"
                   "                           --cfp PROTOCOL_DIR [--split FP|FF] | --bin FILE.bin)\n"
                   "         [-m MODEL] [-d DETECTOR] [--aligned] [--no-flip] [--pick center|score|largest]\n"
                   "         [--resolution 112,56,28,14,7] [--cross-resolution 8,12,16,20] [--blur 1,2]\n"
                   "         [--noise 5,10] [--jpeg 30,10] [--fae 1,2,3,4 [--fae-resolution 112,28,14]]\n"
                   "         [--seed N] [--json OUT.json] [--html OUT.html] [--scores DIR] [--progress]\n"
                   "Verification with insightface's 10-fold protocol, TAR@FAR, EER and the best threshold\n"
                   "(squared-L2 and cosine), under each degradation condition. FAE level L = rotation\n"
                   "+-%gL deg, scale 1+-%gL, shift +-%gL px in the 112 frame (fixed seed).\n" CLI_CONTRACT_HELP,
                   FAE_ROT_PER_LEVEL, FAE_SCALE_PER_LEVEL, FAE_SHIFT_PER_LEVEL);
            return 0;
        }
        if (parse_common(argc, argv, &i, &o) || cli_opt_str(argc, argv, &i, "--pairs", &pairs) ||
            cli_opt_str(argc, argv, &i, "--root", &root) || cli_opt_str(argc, argv, &i, "--list", &list) ||
            cli_opt_str(argc, argv, &i, "--cfp", &cfp) || cli_opt_str(argc, argv, &i, "--split", &split) ||
            cli_opt_str(argc, argv, &i, "--bin", &bin))
            continue;
        fprintf(stderr, "lqface eval verify: unknown argument '%s'\n", argv[i]);
        return 2;
    }
    if (!!pairs + !!list + !!cfp + !!bin != 1) {
        fprintf(stderr, "lqface eval verify: give exactly one of --pairs, --list, --cfp, --bin (see --help)\n");
        return 2;
    }
    lqf_face_pick pick;
    if (cli_parse_pick(o.pick, &pick)) return 2;
    lqf_condition conds[128];
    int fae_level[128];
    int nc = build_conditions(&o, conds, fae_level, 128);
    if (nc < 0) {
        fprintf(stderr, "lqface eval verify: sweep values must be comma-separated numbers\n");
        return 2;
    }
    if (resolve_models(&o, 1)) return 1;
    double t0 = lqf_now();
    progress_state ps = {o.progress, 0, ""};
    lqf_status st;
    lqf_pair_list *pl = NULL;
    lqf_face_set *fs = NULL;
    int n_pairs = 0, n_photos = 0;
    int *ia = NULL, *ib = NULL;
    uint8_t *issame = NULL;
    int n_folds = 10;
    lqf_embedder *emb = NULL;
    lqf_detector *det = NULL;
    int n_failed = 0, n_keep = 0, D = 0, rc = 1;
    int *keep = NULL;
    float *clean = NULL, *cur = NULL;
    double *dist = NULL;
    uint8_t *same = NULL, *second = NULL;
    lqf_report rep = {0};
    if (bin) o.aligned = 1; /* .bin packs hold aligned faces */
    if (open_models(&o, &emb, &det)) return 1;
    if (bin) {
        lqf_bin_pack *bp;
        if ((st = lqf_bin_load(bin, &bp))) {
            cli_error("eval", st);
            goto out;
        }
        n_pairs = bp->n_pairs;
        n_photos = bp->n_images;
        lqf_image **imgs = calloc((size_t)n_photos, sizeof *imgs);
        char **msg = calloc((size_t)n_photos, sizeof *msg);
        for (int k = 0; k < n_photos; k++) {
            char name[4200];
            snprintf(name, sizeof name, "%s[image %d]", bin, k);
            if (lqf_image_decode(bp->image[k], bp->image_len[k], name, LQF_RGB, &imgs[k])) {
                msg[k] = strdup(lqf_last_error());
                imgs[k] = NULL;
            }
        }
        ia = malloc(sizeof(int) * (size_t)n_pairs);
        ib = malloc(sizeof(int) * (size_t)n_pairs);
        issame = malloc((size_t)n_pairs);
        for (int k = 0; k < n_pairs; k++) {
            ia[k] = 2 * k;
            ib[k] = 2 * k + 1;
            issame[k] = bp->issame[k];
        }
        st = lqf_face_set_from_images(imgs, msg, n_photos, 112, &fs);
        for (int k = 0; k < n_photos; k++) free(msg[k]);
        free(msg);
        free(imgs);
        lqf_bin_free(bp);
        if (st) {
            cli_error("eval", st);
            goto out;
        }
        for (int k = 0; k < n_photos; k++) {
            const char *m;
            if (lqf_face_set_status(fs, k, &m)) {
                n_failed++;
                fprintf(stderr, "lqface eval: %s (its pair is skipped)\n", m);
            }
        }
    } else {
        if (pairs) st = lqf_pairs_load_lfw(pairs, root, &pl);
        else if (list) st = lqf_pairs_load_list(list, root, &pl);
        else st = lqf_pairs_load_cfp(cfp, split, &pl);
        if (st) {
            cli_error("eval", st);
            goto out;
        }
        n_pairs = pl->n;
        if (pl->n_folds > 0) n_folds = pl->n_folds;
        ia = malloc(sizeof(int) * (size_t)n_pairs);
        ib = malloc(sizeof(int) * (size_t)n_pairs);
        issame = malloc((size_t)n_pairs);
        memcpy(issame, pl->issame, (size_t)n_pairs);
        char **paths = unique_paths(pl, &n_photos, ia, ib);
        fprintf(stderr, "lqface eval: %d pairs, %d distinct photos\n", n_pairs, n_photos);
        int prc = prepare_faces(paths, n_photos, det, pick, &ps, "its pairs are skipped", &fs, &n_failed);
        free(paths);
        if (prc) goto out;
    }
    /* pairs with a failed photo are skipped in every condition */
    keep = malloc(sizeof(int) * (size_t)n_pairs);
    for (int k = 0; k < n_pairs; k++) {
        if (lqf_face_set_status(fs, ia[k], NULL) || lqf_face_set_status(fs, ib[k], NULL)) {
            if (pl)
                fprintf(stderr, "lqface eval: %s:%d: pair skipped (%s, %s): a photo has no usable face\n",
                        pairs ? pairs : list ? list : cfp, pl->line[k], pl->path_a[k], pl->path_b[k]);
            else
                fprintf(stderr, "lqface eval: %s: pair %d skipped: an image could not be decoded\n", bin, k + 1);
            continue;
        }
        keep[n_keep++] = k;
    }
    if (n_keep < n_pairs)
        fprintf(stderr, "lqface eval: %d of %d pairs skipped (a photo missing or without a usable face); "
                        "the report counts them\n", n_pairs - n_keep, n_pairs);
    if (n_keep < n_folds) {
        fprintf(stderr, "lqface eval: only %d usable pairs, too few for %d folds\n", n_keep, n_folds);
        goto out;
    }
    D = lqf_embedder_dim(emb);
    clean = malloc(sizeof(float) * (size_t)n_photos * D);
    cur = malloc(sizeof(float) * (size_t)n_photos * D);
    dist = malloc(sizeof(double) * (size_t)n_keep);
    same = malloc((size_t)n_keep);
    for (int k = 0; k < n_keep; k++) same[k] = issame[keep[k]];
    second = calloc((size_t)n_photos, 1); /* photos that are the second image of a pair */
    for (int k = 0; k < n_keep; k++) second[ib[keep[k]]] = 1;
    st = lqf_face_set_embed(fs, emb, NULL, (uint64_t)o.seed, clean, NULL, progress_cb, &ps);
    if (st) {
        cli_error("eval", st);
        goto out;
    }
    rep.title = o.title ? o.title : "lqface verification";
    rep.model = o.model;
    rep.detector = det ? o.detector : NULL;
    rep.protocol = bin ? bin : pairs ? pairs : list ? list : cfp;
    rep.n_photos = n_photos;
    rep.n_failed = n_failed;
    rep.threads = lqf_get_num_threads();
    rep.rows = calloc((size_t)nc, sizeof *rep.rows);
    for (int c = 0; c < nc; c++) {
        double tc = lqf_now();
        const float *ea = clean, *eb = clean;
        if (c > 0) {
            st = lqf_face_set_select(fs, conds[c].one_side ? second : NULL);
            if (!st) st = lqf_face_set_embed(fs, emb, &conds[c], (uint64_t)o.seed, cur, NULL, progress_cb, &ps);
            if (st) {
                cli_error("eval", st);
                goto out;
            }
            eb = cur;
            if (!conds[c].one_side) ea = cur;
        }
#pragma omp parallel for schedule(static)
        for (int k = 0; k < n_keep; k++) {
            const float *a = ea + (size_t)ia[keep[k]] * D, *b = eb + (size_t)ib[keep[k]] * D;
            double s = 0;
            for (int j = 0; j < D; j++) s += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
            dist[k] = s;
        }
        lqf_report_verify *row = &rep.rows[rep.n_rows++];
        row->cond = conds[c];
        row->fae_level = fae_level[c];
        row->n_pairs = n_keep;
        row->n_skipped = n_pairs - n_keep;
        st = lqf_verify_eval(dist, same, n_keep, n_folds, &row->v);
        if (st) {
            cli_error("eval", st);
            goto out;
        }
        double *thr, *tar, *far;
        int np;
        if (!lqf_verify_roc(dist, same, n_keep, &thr, &tar, &far, &np)) {
            lqf_report_set_roc(row, far, tar, np);
            free(thr);
            free(tar);
            free(far);
        }
        if (o.scores) write_scores(o.scores, conds[c].label, dist, same, n_keep);
        row->seconds = lqf_now() - tc;
        if (!o.progress)
            fprintf(stderr, "lqface eval: %-20s accuracy %.2f%% +- %.2f (%.1f s)\n", conds[c].label,
                    100 * row->v.acc_mean, 100 * row->v.acc_std, row->seconds);
    }
    rep.seconds = lqf_now() - t0;
    rc = finish_report(&o, &rep);
out:
    free(second);
    lqf_report_free_rows(&rep);
    free(clean);
    free(cur);
    free(dist);
    free(same);
    free(keep);
    free(ia);
    free(ib);
    free(issame);
    lqf_pair_list_free(pl);
    lqf_face_set_free(fs);
    lqf_embedder_free(emb);
    lqf_detector_free(det);
    return rc;
}

/* ------------------------------------------------------------------ identification */
typedef struct {
    cli_list path;
    int *label;
    int n, cap;
} labelled;

static void labelled_push(labelled *l, const char *path, int label) {
    cli_list_push(&l->path, path);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->label = realloc(l->label, sizeof(int) * (size_t)l->cap);
    }
    l->label[l->n++] = label;
}

/* Label strings interned to integers. */
typedef struct {
    char **s;
    int n, cap;
} interner;

static int intern(interner *t, const char *s) {
    for (int i = t->n - 1; i >= 0; i--)
        if (!strcmp(t->s[i], s)) return i;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->s = realloc(t->s, sizeof(char *) * (size_t)t->cap);
    }
    t->s[t->n] = strdup(s);
    return t->n++;
}

static int read_labelled(const char *file, const char *root, interner *t, labelled *out) {
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "lqface eval ident: %s: cannot open\n", file);
        return -1;
    }
    char line[8192], path[4096], lab[1024];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '\n' || *s == '#') continue;
        if (sscanf(s, "%4095s %1023s", path, lab) != 2) {
            fprintf(stderr, "lqface eval ident: %s:%d: expected 'path label'\n", file, ln);
            fclose(f);
            return -1;
        }
        char full[8200];
        if (root && path[0] != '/') snprintf(full, sizeof full, "%s/%s", root, path);
        else snprintf(full, sizeof full, "%s", path);
        labelled_push(out, full, intern(t, lab));
    }
    fclose(f);
    if (out->n == 0) {
        fprintf(stderr, "lqface eval ident: %s: empty list\n", file);
        return -1;
    }
    return 0;
}

/* LFW protocol: identities with >= 2 photos give their first photo to the gallery and the
 * rest to the probes; one-photo identities are distractors. */
static int build_lfw_ident(const char *root, labelled *gal, labelled *probe, labelled *distr) {
    cli_list ids = {0};
    DIR *d = opendir(root);
    if (!d) {
        fprintf(stderr, "lqface eval ident: %s: cannot open directory\n", root);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') cli_list_push(&ids, e->d_name);
    closedir(d);
    qsort(ids.v, (size_t)ids.n, sizeof *ids.v, cmp_str);
    for (int i = 0; i < ids.n; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, ids.v[i]);
        cli_list ph = {0};
        cli_expand_path(dir, &ph);
        if (ph.n == 1) labelled_push(distr, ph.v[0], -1 - i);
        for (int k = 0; k < ph.n && ph.n >= 2; k++) labelled_push(k == 0 ? gal : probe, ph.v[k], i);
        cli_list_free(&ph);
    }
    cli_list_free(&ids);
    return 0;
}

static int eval_ident(int argc, char **argv) {
    eval_opts o;
    defaults(&o);
    const char *gallery = NULL, *probes = NULL, *distractors = NULL, *root = NULL, *lfw = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface eval ident (--lfw LFW_IMAGE_ROOT | --gallery G.txt --probes P.txt\n"
                   "                          [--distractors D.txt] [--root DIR])\n"
                   "         [-m MODEL] [-d DETECTOR] [--aligned] [--no-flip] [--resolution 28,14 ...]\n"
                   "         [--blur ..] [--noise ..] [--jpeg ..] [--fae ..] [--json OUT] [--html OUT]\n"
                   "Lists hold 'path label' lines. Closed-set rank-1/5/10/20 and CMC, open-set DIR at\n"
                   "FPIR 1%% and 10%%. Conditions degrade the probes only (gallery and distractors clean).\n"
                   "--lfw builds the LFW protocol: first photo of each identity with >= 2 photos in the\n"
                   "gallery, the rest probes, one-photo identities distractors.\n" CLI_CONTRACT_HELP);
            return 0;
        }
        if (parse_common(argc, argv, &i, &o) || cli_opt_str(argc, argv, &i, "--gallery", &gallery) ||
            cli_opt_str(argc, argv, &i, "--probes", &probes) ||
            cli_opt_str(argc, argv, &i, "--distractors", &distractors) ||
            cli_opt_str(argc, argv, &i, "--root", &root) || cli_opt_str(argc, argv, &i, "--lfw", &lfw))
            continue;
        fprintf(stderr, "lqface eval ident: unknown argument '%s'\n", argv[i]);
        return 2;
    }
    if (!lfw && (!gallery || !probes)) {
        fprintf(stderr, "lqface eval ident: need --lfw DIR or --gallery and --probes (see --help)\n");
        return 2;
    }
    lqf_face_pick pick;
    if (cli_parse_pick(o.pick, &pick)) return 2;
    lqf_condition conds[128];
    int fae_level[128];
    int nc = build_conditions(&o, conds, fae_level, 128);
    if (nc < 0) return 2;
    if (resolve_models(&o, 1)) return 1;
    labelled gal = {0}, pro = {0}, dis = {0};
    interner names = {0};
    if (lfw) {
        if (build_lfw_ident(lfw, &gal, &pro, &dis)) return 1;
    } else if (read_labelled(gallery, root, &names, &gal) || read_labelled(probes, root, &names, &pro) ||
               (distractors && read_labelled(distractors, root, &names, &dis))) {
        return 1;
    }
    double t0 = lqf_now();
    progress_state ps = {o.progress, 0, ""};
    lqf_embedder *emb;
    lqf_detector *det;
    if (open_models(&o, &emb, &det)) return 1;
    int ng = gal.n, np = pro.n, nd = dis.n, n = ng + np + nd, D = lqf_embedder_dim(emb);
    fprintf(stderr, "lqface eval ident: gallery %d, probes %d, distractors %d\n", ng, np, nd);
    char **paths = malloc(sizeof(char *) * (size_t)n);
    for (int i = 0; i < ng; i++) paths[i] = gal.path.v[i];
    for (int i = 0; i < np; i++) paths[ng + i] = pro.path.v[i];
    for (int i = 0; i < nd; i++) paths[ng + np + i] = dis.path.v[i];
    lqf_face_set *fs;
    int n_failed;
    int prc = prepare_faces(paths, n, det, pick, &ps, "left out", &fs, &n_failed);
    free(paths);
    if (prc) return 1;
    lqf_status st;
    /* usable entries of each role */
    int cg = 0, cp = 0, cd = 0;
    int *gidx = malloc(sizeof(int) * (size_t)ng + 1), *pidx = malloc(sizeof(int) * (size_t)np + 1),
        *didx = malloc(sizeof(int) * (size_t)nd + 1);
    for (int i = 0; i < ng; i++)
        if (!lqf_face_set_status(fs, i, NULL)) gidx[cg++] = i;
    for (int i = 0; i < np; i++)
        if (!lqf_face_set_status(fs, ng + i, NULL)) pidx[cp++] = i;
    for (int i = 0; i < nd; i++)
        if (!lqf_face_set_status(fs, ng + np + i, NULL)) didx[cd++] = i;
    float *clean = malloc(sizeof(float) * (size_t)n * D), *cur = malloc(sizeof(float) * (size_t)n * D);
    float *G = malloc(sizeof(float) * ((size_t)cg + cd) * D), *P = malloc(sizeof(float) * (size_t)cp * D);
    float *sim = malloc(sizeof(float) * (size_t)cp * (cg + cd)), *S = malloc(sizeof(float) * (size_t)cp * cg),
          *Sd = malloc(sizeof(float) * (size_t)cp * (cd ? cd : 1));
    int *plab = malloc(sizeof(int) * (size_t)cp + 1), *glab = malloc(sizeof(int) * (size_t)cg + 1);
    for (int k = 0; k < cg; k++) glab[k] = gal.label[gidx[k]];
    for (int k = 0; k < cp; k++) plab[k] = pro.label[pidx[k]];
    st = lqf_face_set_embed(fs, emb, NULL, (uint64_t)o.seed, clean, NULL, progress_cb, &ps);
    if (st) {
        cli_error("eval", st);
        return 1;
    }
    for (int k = 0; k < cg; k++) memcpy(G + (size_t)k * D, clean + (size_t)gidx[k] * D, sizeof(float) * D);
    for (int k = 0; k < cd; k++)
        memcpy(G + (size_t)(cg + k) * D, clean + (size_t)(ng + np + didx[k]) * D, sizeof(float) * D);
    uint8_t *probe_only = calloc((size_t)n, 1);
    for (int k = 0; k < np; k++) probe_only[ng + k] = 1;
    st = lqf_face_set_select(fs, probe_only); /* conditions degrade the probes only */
    free(probe_only);
    if (st) {
        cli_error("eval", st);
        return 1;
    }
    lqf_report rep = {0};
    rep.title = o.title ? o.title : "lqface identification";
    rep.model = o.model;
    rep.detector = det ? o.detector : NULL;
    rep.protocol = lfw ? "LFW identification (first photo of each identity with >= 2 photos as gallery)" : probes;
    rep.n_photos = n;
    rep.n_failed = n_failed;
    rep.threads = lqf_get_num_threads();
    rep.ident = calloc((size_t)nc, sizeof *rep.ident);
    for (int c = 0; c < nc; c++) {
        double tc = lqf_now();
        const float *src = clean;
        if (c > 0) {
            /* probes only are degraded: embed the whole set under the condition, use probe rows */
            st = lqf_face_set_embed(fs, emb, &conds[c], (uint64_t)o.seed, cur, NULL, progress_cb, &ps);
            if (st) {
                cli_error("eval", st);
                return 1;
            }
            src = cur;
        }
        for (int k = 0; k < cp; k++) memcpy(P + (size_t)k * D, src + (size_t)(ng + pidx[k]) * D, sizeof(float) * D);
        lqf_sgemm(0, 1, cp, cg + cd, D, 1.0f, P, D, G, D, 0.0f, sim, cg + cd);
        for (int k = 0; k < cp; k++) {
            memcpy(S + (size_t)k * cg, sim + (size_t)k * (cg + cd), sizeof(float) * cg);
            if (cd) memcpy(Sd + (size_t)k * cd, sim + (size_t)k * (cg + cd) + cg, sizeof(float) * cd);
        }
        lqf_report_ident *row = &rep.ident[rep.n_ident++];
        snprintf(row->label, sizeof row->label, "%s", conds[c].label);
        row->max_rank = 20;
        st = lqf_ident_eval(S, cd ? Sd : NULL, plab, glab, cp, cg, cd, row->cmc, 20, &row->r);
        if (st) {
            cli_error("eval", st);
            return 1;
        }
        row->seconds = lqf_now() - tc;
        if (!o.progress)
            fprintf(stderr, "lqface eval: %-20s rank-1 %.2f%% (%.1f s)\n", conds[c].label, 100 * row->r.rank1,
                    row->seconds);
    }
    rep.seconds = lqf_now() - t0;
    int rc = finish_report(&o, &rep);
    lqf_report_free_rows(&rep);
    free(clean);
    free(cur);
    free(G);
    free(P);
    free(sim);
    free(S);
    free(Sd);
    free(plab);
    free(glab);
    free(gidx);
    free(pidx);
    free(didx);
    cli_list_free(&gal.path);
    cli_list_free(&pro.path);
    cli_list_free(&dis.path);
    free(gal.label);
    free(pro.label);
    free(dis.label);
    for (int i = 0; i < names.n; i++) free(names.s[i]);
    free(names.s);
    lqf_face_set_free(fs);
    lqf_embedder_free(emb);
    lqf_detector_free(det);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "verify")) return eval_verify(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "ident")) return eval_ident(argc - 1, argv + 1);
    fprintf(stderr, "usage: lqface eval verify|ident [options]   (lqface eval verify --help)\n");
    return argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
}

/* ------------------------------------------------------------------ degrade */
int cmd_degrade(int argc, char **argv) {
    eval_opts o;
    defaults(&o);
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface degrade IMG -o OUT.png [-d DETECTOR] [--aligned] [--resolution R]\n"
                   "                      [--blur SIGMA] [--noise SIGMA] [--jpeg Q] [--fae LEVEL] [--seed N]\n"
                   "Detects and aligns the face (unless --aligned), applies the degradation exactly as the\n"
                   "evaluation sweep does, and writes the 112x112 result.\n");
            return 0;
        }
        if (parse_common(argc, argv, &i, &o) || cli_opt_str(argc, argv, &i, "-o", &out)) continue;
        if (argv[i][0] == '-' || in) {
            fprintf(stderr, "lqface degrade: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
        in = argv[i];
    }
    if (!in || !out) {
        fprintf(stderr, "lqface degrade: need IMG and -o OUT (see --help)\n");
        return 2;
    }
    double v[4];
    lqf_condition c;
    memset(&c, 0, sizeof c);
    snprintf(c.label, sizeof c.label, "degrade");
    if (parse_list(o.resolution, v, 1) == 1) c.resolution = (int)v[0];
    if (parse_list(o.blur, v, 1) == 1) c.blur_sigma = v[0];
    if (parse_list(o.noise, v, 1) == 1) c.noise_sigma = v[0];
    if (parse_list(o.jpeg, v, 1) == 1) c.jpeg_quality = (int)v[0];
    if (parse_list(o.fae, v, 1) == 1) {
        c.fae_rot_deg = FAE_ROT_PER_LEVEL * v[0];
        c.fae_scale = FAE_SCALE_PER_LEVEL * v[0];
        c.fae_shift_px = FAE_SHIFT_PER_LEVEL * v[0];
    }
    if (resolve_models(&o, 0)) return 1;
    lqf_detector *det = NULL;
    lqf_status st;
    if (!o.aligned && (st = lqf_detector_load(o.detector, NULL, &det))) {
        cli_error("degrade", st);
        return 1;
    }
    lqf_face_set *fs;
    lqf_face_pick pick;
    if (cli_parse_pick(o.pick, &pick)) return 2;
    st = lqf_face_set_from_paths(&in, 1, det, pick, 112, &fs, NULL, NULL);
    lqf_image *img = NULL;
    const char *msg;
    if (!st && (st = lqf_face_set_status(fs, 0, &msg))) {
        fprintf(stderr, "lqface degrade: %s\n", msg);
    } else if (!st && !(st = lqf_face_set_render(fs, 0, &c, (uint64_t)o.seed, &img))) {
        st = lqf_image_save(img, out);
        if (st) cli_error("degrade", st);
    } else if (st) {
        cli_error("degrade", st);
    }
    lqf_image_free(img);
    lqf_face_set_free(fs);
    lqf_detector_free(det);
    return st ? 1 : 0;
}
