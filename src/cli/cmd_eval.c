/*
 * cmd_eval.c — `lqface eval verify` (LFW pairs.txt, generic pair lists, CFP protocol,
 * insightface .bin packs), `lqface eval ident` (gallery / probes / distractors lists, or the
 * LFW protocol) and `lqface degrade` (write one degraded face to look at): options, progress
 * and printing. The protocols, sweeps and runners are the library's (src/eval/: protocol.h,
 * sweep.h, runner.h); photos are prepared once in a face set (src/faceset/) that keeps what
 * the sweep's FAE re-alignments read, and the report goes to the terminal, JSON and a
 * self-contained HTML page.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "eval/protocol.h"
#include "eval/runner.h"
#include "eval/sweep.h"
#include "faceset/faceset.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    char bar[32];
    cli_bar(bar, 28, done, total);
    fprintf(stderr, "\r%-22.22s [%s] %6d/%-6d %7.1f faces/s ETA %4.0f s", stage, bar, done, total, rate,
            rate > 0 ? (total - done) / rate : 0);
    if (done >= total) fputc('\n', stderr);
}

/* ------------------------------------------------------------------ options */
typedef struct {
    const char *model, *detector, *pick, *json, *html, *scores, *title;
    int aligned, flip, seed, progress;
    lqf_contract_spec contract;
    const char *resolution, *cross, *blur, *noise, *jpeg, *fae, *fae_res;
} eval_opts;

static int parse_common(int argc, char **argv, int *i, eval_opts *o) {
    if (!strcmp(argv[*i], "--aligned")) return o->aligned = 1;
    if (!strcmp(argv[*i], "--no-flip")) {
        o->flip = 0;
        return 1;
    }
    if (!strcmp(argv[*i], "--progress")) return o->progress = 1;
    return cli_opt_str(argc, argv, i, "--resolution", &o->resolution) ||
           cli_opt_str(argc, argv, i, "--cross-resolution", &o->cross) || cli_opt_str(argc, argv, i, "--blur", &o->blur) ||
           cli_opt_str(argc, argv, i, "--noise", &o->noise) || cli_opt_str(argc, argv, i, "--jpeg", &o->jpeg) ||
           cli_opt_str(argc, argv, i, "--fae", &o->fae) || cli_opt_str(argc, argv, i, "--fae-resolution", &o->fae_res) ||
           cli_opt_str(argc, argv, i, "-m", &o->model) || cli_opt_str(argc, argv, i, "--model", &o->model) ||
           cli_opt_str(argc, argv, i, "-d", &o->detector) || cli_opt_str(argc, argv, i, "--detector", &o->detector) ||
           cli_opt_str(argc, argv, i, "--pick", &o->pick) || cli_opt_str(argc, argv, i, "--json", &o->json) ||
           cli_opt_str(argc, argv, i, "--html", &o->html) || cli_opt_str(argc, argv, i, "--scores", &o->scores) ||
           cli_opt_str(argc, argv, i, "--title", &o->title) || cli_opt_int(argc, argv, i, "--seed", &o->seed) ||
           cli_contract_opt(argc, argv, i, &o->contract);
}

/* The sweep's lists from the options; -1 after naming a list that does not parse. */
static int read_sweep(const eval_opts *o, const char *cmd, lqf_sweep *s) {
    struct { const char *name, *text; lqf_sweep_list *dst; } lists[] = {
        {"--resolution", o->resolution, &s->resolution}, {"--cross-resolution", o->cross, &s->cross},
        {"--blur", o->blur, &s->blur}, {"--noise", o->noise, &s->noise}, {"--jpeg", o->jpeg, &s->jpeg},
        {"--fae", o->fae, &s->fae}, {"--fae-resolution", o->fae_res, &s->fae_resolution}};
    memset(s, 0, sizeof *s);
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++)
        if ((lists[k].dst->n = lqf_parse_numbers(lists[k].text, lists[k].dst->v, LQF_SWEEP_MAX_VALUES)) < 0) {
            fprintf(stderr, "lqface %s: %s '%s' is not a list of up to %d comma-separated numbers\n", cmd, lists[k].name,
                    lists[k].text, LQF_SWEEP_MAX_VALUES);
            return -1;
        }
    return 0;
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

/* Decode, detect and align every photo once, keeping what the conditions' FAE re-alignments
 * read; report the photos without a usable face (`what` says what happens to them) and
 * count them. Returns 0, or 1 after printing the error. */
static int prepare_faces(char **paths, int n, lqf_detector *det, lqf_face_pick pick, const lqf_condition *conds,
                         int nc, progress_state *ps, const char *what, lqf_face_set **fs, int *n_failed) {
    lqf_face_set_options fo;
    lqf_face_set_options_default(&fo);
    fo.pick = pick;
    lqf_face_set_options_cover(&fo, conds, nc);
    lqf_status st = lqf_face_set_open((const char *const *)paths, n, det, &fo, fs, progress_cb, ps);
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

/* ------------------------------------------------------------------ report output */
typedef struct {
    const eval_opts *o;
} row_printer;

static void write_scores(const char *dir, const lqf_report_verify *row) {
    char path[4096], clean[64];
    snprintf(clean, sizeof clean, "%.63s", row->cond.label);
    for (char *p = clean; *p; p++)
        if (*p == ' ' || *p == '/') *p = '_';
    snprintf(path, sizeof path, "%s/%s.tsv", dir, clean);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "lqface eval: cannot write %s\n", path);
        return;
    }
    for (int i = 0; i < row->n_pairs; i++) fprintf(f, "%.17g\t%d\n", row->dist[i], row->issame[i]);
    fclose(f);
}

static void on_verify_row(void *user, const lqf_report *rep) {
    const eval_opts *o = ((row_printer *)user)->o;
    const lqf_report_verify *row = &rep->rows[rep->n_rows - 1];
    if (o->scores) write_scores(o->scores, row);
    if (!o->progress)
        fprintf(stderr, "lqface eval: %-20s accuracy %.2f%% +- %.2f (%.1f s)\n", row->cond.label, 100 * row->v.acc_mean,
                100 * row->v.acc_std, row->seconds);
}

static void on_ident_row(void *user, const lqf_report *rep) {
    const eval_opts *o = ((row_printer *)user)->o;
    const lqf_report_ident *row = &rep->ident[rep->n_ident - 1];
    if (!o->progress)
        fprintf(stderr, "lqface eval: %-20s rank-1 %.2f%% (%.1f s)\n", row->label, 100 * row->r.rank1, row->seconds);
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

/* The run's report header and runner options. */
static void report_begin(const eval_opts *o, const char *title, const char *protocol, const lqf_detector *det,
                         lqf_embedder *emb, progress_state *ps, lqf_report *rep, lqf_eval_options *eo) {
    rep->title = o->title ? o->title : title;
    rep->model = o->model;
    rep->detector = det ? o->detector : NULL;
    rep->protocol = protocol;
    rep->threads = lqf_get_num_threads();
    *eo = (lqf_eval_options){lqf_embedder_embed_fn, emb, lqf_embedder_dim(emb), (uint64_t)o->seed, progress_cb, ps};
}

/* ------------------------------------------------------------------ verify */
static void verify_usage(void) {
    printf("usage: lqface eval verify (--pairs pairs.txt --root DIR | --list PAIRS [--root DIR] |\n"
           "                           --cfp PROTOCOL_DIR [--split FP|FF] | --bin FILE.bin)\n"
           "         [-m MODEL] [-d DETECTOR] [--aligned] [--no-flip] [--pick center|score|largest]\n"
           "         [--resolution 112,56,28,14,7] [--cross-resolution 8,12,16,20] [--blur 1,2]\n"
           "         [--noise 5,10] [--jpeg 30,10] [--fae 1,2,3,4 [--fae-resolution 112,28,14]]\n"
           "         [--seed N] [--json OUT.json] [--html OUT.html] [--scores DIR] [--progress]\n"
           "Verification with insightface's 10-fold protocol, TAR@FAR, EER and the best threshold\n"
           "(squared-L2 and cosine), under each degradation condition. FAE level L = rotation\n"
           "+-%gL deg, scale 1+-%gL, shift +-%gL px in the 112 frame (fixed seed).\n" CLI_CONTRACT_HELP,
           LQF_FAE_ROT_PER_LEVEL, LQF_FAE_SCALE_PER_LEVEL, LQF_FAE_SHIFT_PER_LEVEL);
}

/* The photos of the protocol prepared in a face set, and its pairs; 0, or 1 after printing. */
static int verify_protocol(const char *const src[4], const char *root, const char *split,
                           lqf_detector *det, lqf_face_pick pick, const lqf_condition *conds, int nc,
                           progress_state *ps, lqf_face_set **fs, lqf_verify_pairs *vp, int *n_failed) {
    lqf_status st;
    *n_failed = 0;
    if (src[3]) { /* .bin: aligned faces */
        lqf_bin_pack *bp;
        if ((st = lqf_bin_load(src[3], &bp)) || (st = lqf_bin_face_set(bp, src[3], 112, fs, vp))) {
            cli_error("eval", st);
            if (!st) lqf_bin_free(bp);
            return 1;
        }
        lqf_bin_free(bp);
        for (int k = 0; k < 2 * vp->n; k++) {
            const char *m;
            if (lqf_face_set_status(*fs, k, &m)) {
                (*n_failed)++;
                fprintf(stderr, "lqface eval: %s (its pair is skipped)\n", m);
            }
        }
        for (int k = 0; k < vp->n; k++)
            if (lqf_face_set_status(*fs, vp->a[k], NULL) || lqf_face_set_status(*fs, vp->b[k], NULL))
                fprintf(stderr, "lqface eval: %s: pair %d skipped: an image could not be decoded\n", src[3], k + 1);
        return 0;
    }
    lqf_pair_list *pl = NULL;
    char **photos = NULL;
    int n_photos = 0, rc = 1;
    if (src[0]) st = lqf_pairs_load_lfw(src[0], root, &pl);
    else if (src[1]) st = lqf_pairs_load_list(src[1], root, &pl);
    else st = lqf_pairs_load_cfp(src[2], split, &pl);
    if (!st) st = lqf_pairs_intern(pl, &photos, &n_photos, vp);
    if (st) cli_error("eval", st);
    else {
        fprintf(stderr, "lqface eval: %d pairs, %d distinct photos\n", vp->n, n_photos);
        rc = prepare_faces(photos, n_photos, det, pick, conds, nc, ps, "its pairs are skipped", fs, n_failed);
    }
    for (int k = 0; !rc && k < vp->n; k++)
        if (lqf_face_set_status(*fs, vp->a[k], NULL) || lqf_face_set_status(*fs, vp->b[k], NULL))
            fprintf(stderr, "lqface eval: %s:%d: pair skipped (%s, %s): a photo has no usable face\n",
                    src[0] ? src[0] : src[1] ? src[1] : src[2], pl->line[k], pl->path_a[k], pl->path_b[k]);
    free(photos);
    lqf_pair_list_free(pl);
    return rc;
}

static int eval_verify(int argc, char **argv) {
    eval_opts o;
    defaults(&o);
    const char *src[4] = {NULL, NULL, NULL, NULL}; /* --pairs, --list, --cfp, --bin */
    const char *root = NULL, *split = "FP";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            verify_usage();
            return 0;
        }
        if (parse_common(argc, argv, &i, &o) || cli_opt_str(argc, argv, &i, "--pairs", &src[0]) ||
            cli_opt_str(argc, argv, &i, "--root", &root) || cli_opt_str(argc, argv, &i, "--list", &src[1]) ||
            cli_opt_str(argc, argv, &i, "--cfp", &src[2]) || cli_opt_str(argc, argv, &i, "--split", &split) ||
            cli_opt_str(argc, argv, &i, "--bin", &src[3]))
            continue;
        fprintf(stderr, "lqface eval verify: unknown argument '%s'\n", argv[i]);
        return 2;
    }
    if (!!src[0] + !!src[1] + !!src[2] + !!src[3] != 1) {
        fprintf(stderr, "lqface eval verify: give exactly one of --pairs, --list, --cfp, --bin (see --help)\n");
        return 2;
    }
    lqf_face_pick pick;
    lqf_sweep sweep;
    if (cli_parse_pick(o.pick, &pick) || read_sweep(&o, "eval verify", &sweep)) return 2;
    lqf_condition conds[LQF_SWEEP_MAX_CONDITIONS];
    int nc = lqf_sweep_conditions(&sweep, conds, LQF_SWEEP_MAX_CONDITIONS);
    if (resolve_models(&o, 1)) return 1;
    double t0 = lqf_now();
    progress_state ps = {o.progress, 0, ""};
    if (src[3]) o.aligned = 1; /* .bin packs hold aligned faces */
    lqf_embedder *emb;
    lqf_detector *det;
    if (open_models(&o, &emb, &det)) return 1;
    lqf_face_set *fs = NULL;
    lqf_verify_pairs vp = {0};
    lqf_report rep = {0};
    lqf_eval_options eo;
    row_printer rp = {&o};
    int n_failed, rc = verify_protocol(src, root, split, det, pick, conds, nc, &ps, &fs, &vp, &n_failed);
    if (!rc) {
        int n_keep = 0;
        for (int k = 0; k < vp.n; k++)
            n_keep += !lqf_face_set_status(fs, vp.a[k], NULL) && !lqf_face_set_status(fs, vp.b[k], NULL);
        if (n_keep < vp.n)
            fprintf(stderr, "lqface eval: %d of %d pairs skipped (a photo missing or without a usable face); "
                            "the report counts them\n", vp.n - n_keep, vp.n);
        report_begin(&o, "lqface verification", src[3] ? src[3] : src[0] ? src[0] : src[1] ? src[1] : src[2], det, emb,
                     &ps, &rep, &eo);
        rep.n_photos = lqf_face_set_size(fs);
        rep.n_failed = n_failed;
        lqf_status st = lqf_run_verify(fs, &vp, conds, nc, &eo, on_verify_row, &rp, &rep);
        if (st) cli_error("eval", st);
        rep.seconds = lqf_now() - t0;
        rc = st ? 1 : finish_report(&o, &rep);
    }
    lqf_report_free_rows(&rep);
    lqf_verify_pairs_free(&vp);
    lqf_face_set_free(fs);
    lqf_embedder_free(emb);
    lqf_detector_free(det);
    return rc;
}

/* ------------------------------------------------------------------ identification */
static void ident_usage(void) {
    printf("usage: lqface eval ident (--lfw LFW_IMAGE_ROOT | --gallery G.txt --probes P.txt\n"
           "                          [--distractors D.txt] [--root DIR])\n"
           "         [-m MODEL] [-d DETECTOR] [--aligned] [--no-flip] [--resolution 28,14 ...]\n"
           "         [--blur ..] [--noise ..] [--jpeg ..] [--fae ..] [--json OUT] [--html OUT]\n"
           "Lists hold 'path label' lines. Closed-set rank-1/5/10/20 and CMC, open-set DIR at\n"
           "FPIR 1%% and 10%%. Conditions degrade the probes only (gallery and distractors clean).\n"
           "--lfw builds the LFW protocol: first photo of each identity with >= 2 photos in the\n"
           "gallery, the rest probes, one-photo identities distractors.\n" CLI_CONTRACT_HELP);
}

/* The three roles' photos from the lists or the LFW folder; 0, or 1 after printing. */
static int ident_protocol(const char *lfw, const char *const list[3], const char *root, lqf_labelled role[3]) {
    lqf_label_names names = {0};
    lqf_status st;
    if (lfw) st = lqf_lfw_ident(lfw, &role[0], &role[1], &role[2]);
    else {
        st = LQF_OK;
        for (int r = 0; r < 3 && !st; r++)
            if (list[r]) st = lqf_labelled_read(list[r], root, &names, &role[r]);
    }
    lqf_label_names_free(&names);
    if (st) cli_error("eval ident", st);
    return st ? 1 : 0;
}

static int eval_ident(int argc, char **argv) {
    eval_opts o;
    defaults(&o);
    const char *list[3] = {NULL, NULL, NULL}, *root = NULL, *lfw = NULL; /* gallery, probes, distractors */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            ident_usage();
            return 0;
        }
        if (parse_common(argc, argv, &i, &o) || cli_opt_str(argc, argv, &i, "--gallery", &list[0]) ||
            cli_opt_str(argc, argv, &i, "--probes", &list[1]) || cli_opt_str(argc, argv, &i, "--distractors", &list[2]) ||
            cli_opt_str(argc, argv, &i, "--root", &root) || cli_opt_str(argc, argv, &i, "--lfw", &lfw))
            continue;
        fprintf(stderr, "lqface eval ident: unknown argument '%s'\n", argv[i]);
        return 2;
    }
    if (!lfw && (!list[0] || !list[1])) {
        fprintf(stderr, "lqface eval ident: need --lfw DIR or --gallery and --probes (see --help)\n");
        return 2;
    }
    lqf_face_pick pick;
    lqf_sweep sweep;
    if (cli_parse_pick(o.pick, &pick) || read_sweep(&o, "eval ident", &sweep)) return 2;
    lqf_condition conds[LQF_SWEEP_MAX_CONDITIONS];
    int nc = lqf_sweep_conditions(&sweep, conds, LQF_SWEEP_MAX_CONDITIONS);
    if (resolve_models(&o, 1)) return 1;
    lqf_labelled role[3] = {{0}, {0}, {0}};
    lqf_embedder *emb = NULL;
    lqf_detector *det = NULL;
    lqf_face_set *fs = NULL;
    lqf_report rep = {0};
    double t0 = lqf_now();
    progress_state ps = {o.progress, 0, ""};
    int rc = ident_protocol(lfw, list, root, role) || open_models(&o, &emb, &det);
    int n = role[0].n + role[1].n + role[2].n, n_failed = 0;
    char **paths = rc ? NULL : malloc(sizeof(char *) * (size_t)(n + 1));
    if (!rc) {
        fprintf(stderr, "lqface eval ident: gallery %d, probes %d, distractors %d\n", role[0].n, role[1].n, role[2].n);
        for (int r = 0, k = 0; r < 3; r++)
            for (int i = 0; i < role[r].n; i++) paths[k++] = role[r].path[i];
        rc = prepare_faces(paths, n, det, pick, conds, nc, &ps, "left out", &fs, &n_failed);
    }
    if (!rc) {
        lqf_ident_sets sets = {role[0].n, role[1].n, role[2].n, role[0].label, role[1].label};
        lqf_eval_options eo;
        row_printer rp = {&o};
        report_begin(&o, "lqface identification", lfw ? "LFW identification (first photo of each identity with >= 2 "
                     "photos as gallery)" : list[1], det, emb, &ps, &rep, &eo);
        rep.n_photos = n;
        rep.n_failed = n_failed;
        lqf_status st = lqf_run_ident(fs, &sets, conds, nc, &eo, on_ident_row, &rp, &rep);
        if (st) cli_error("eval", st);
        rep.seconds = lqf_now() - t0;
        rc = st ? 1 : finish_report(&o, &rep);
    }
    free(paths);
    lqf_report_free_rows(&rep);
    for (int r = 0; r < 3; r++) lqf_labelled_free(&role[r]);
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
    lqf_sweep s;
    lqf_face_pick pick;
    if (read_sweep(&o, "degrade", &s) || cli_parse_pick(o.pick, &pick)) return 2;
    lqf_condition c;
    memset(&c, 0, sizeof c);
    snprintf(c.label, sizeof c.label, "degrade");
    if (s.resolution.n) c.resolution = (int)s.resolution.v[0];
    if (s.blur.n) c.blur_sigma = s.blur.v[0];
    if (s.noise.n) c.noise_sigma = s.noise.v[0];
    if (s.jpeg.n) c.jpeg_quality = (int)s.jpeg.v[0];
    if (s.fae.n) lqf_condition_set_fae(&c, s.fae.v[0]);
    if (resolve_models(&o, 0)) return 1;
    lqf_detector *det = NULL;
    lqf_status st;
    if (!o.aligned && (st = lqf_detector_load(o.detector, NULL, &det))) {
        cli_error("degrade", st);
        return 1;
    }
    lqf_face_set *fs = NULL;
    lqf_face_set_options fo;
    lqf_face_set_options_default(&fo);
    fo.pick = pick;
    lqf_face_set_options_cover(&fo, &c, 1);
    st = lqf_face_set_open(&in, 1, det, &fo, &fs, NULL, NULL);
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
