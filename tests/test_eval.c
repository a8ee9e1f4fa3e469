/*
 * test_eval.c — evaluation metrics and protocol readers against the independent reference of
 * tools/ref_metrics.py (insightface's verification.py with sklearn/scipy, sklearn's ROC, the
 * IJB-S/PFE identification rules): 10-fold accuracy, thresholds, VAL@FAR, ROC, TAR@FAR, EER,
 * AUC, CMC, DIR@FPIR on synthetic scores (tests/data/eval/), and the LFW / generic / CFP pair
 * readers including their error reports.
 */
#include "eval/eval.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ reference files */
typedef struct {
    char key[64];
    double v[512];
    int n;
} ref_row;
typedef struct {
    ref_row *rows;
    int n;
} ref_file;

static int ref_load(const char *name, ref_file *r) {
    memset(r, 0, sizeof *r);
    FILE *f = fopen(tu_testdata(name), "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", tu_testdata(name));
        return 0;
    }
    static char line[65536];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        r->rows = realloc(r->rows, (size_t)(r->n + 1) * sizeof *r->rows);
        ref_row *w = &r->rows[r->n++];
        memset(w, 0, sizeof *w);
        char *s = line, *e;
        size_t k = strcspn(s, " \n");
        snprintf(w->key, sizeof w->key, "%.*s", (int)k, s);
        s += k;
        for (;;) {
            double x = strtod(s, &e);
            if (e == s || w->n == 512) break;
            w->v[w->n++] = x;
            s = e;
        }
    }
    fclose(f);
    return 1;
}

static const ref_row *ref_get(const ref_file *r, const char *key) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->rows[i].key, key)) return &r->rows[i];
    fprintf(stderr, "reference key %s missing\n", key);
    return NULL;
}

static double worst_overall = 0;

/* |got - want| <= tol elementwise (NaN == NaN, inf == inf). */
static int close_d(const char *what, const double *got, const double *want, int n, double tol) {
    double md = 0;
    int bad = -1;
    for (int i = 0; i < n; i++) {
        double d;
        if (isnan(got[i]) || isnan(want[i])) d = isnan(got[i]) && isnan(want[i]) ? 0 : INFINITY;
        else if (isinf(got[i]) || isinf(want[i])) d = got[i] == want[i] ? 0 : INFINITY;
        else d = fabs(got[i] - want[i]);
        if (d > md) md = d;
        if (d > tol && bad < 0) bad = i;
    }
    tu_checks++;
    if (bad >= 0) {
        tu_failures++;
        fprintf(stderr, "FAIL %s: element %d got %.17g want %.17g (max abs diff %.3g)\n", what, bad, got[bad],
                want[bad], md);
        return 0;
    }
    if (md > worst_overall) worst_overall = md;
    printf("ok   %s: %d values, max abs diff %.3g\n", what, n, md);
    return 1;
}

static int cmp_ref(const ref_file *r, const char *key, const char *ctx, const double *got, int n, double tol) {
    const ref_row *w = ref_get(r, key);
    char what[160];
    snprintf(what, sizeof what, "%s %s", ctx, key);
    if (!CHECK(w != NULL) || !CHECK(w->n == n)) return 0;
    return close_d(what, got, w->v, n, tol);
}

/* A whole file of tests/data (malloc'd, so aligned for any element type). */
static void *load_raw(const char *name, size_t *bytes) {
    uint8_t *d;
    if (lqf_read_file(tu_testdata(name), &d, bytes) != LQF_OK) {
        fprintf(stderr, "%s\n", lqf_last_error());
        *bytes = 0;
        return NULL;
    }
    return d;
}

/* ------------------------------------------------------------------ verification */
static void test_verify(const char *name, int with_roc) {
    char p[256];
    size_t nb, nl;
    snprintf(p, sizeof p, "eval/%s.f64", name);
    double *dist = load_raw(p, &nb);
    snprintf(p, sizeof p, "eval/%s.u8", name);
    uint8_t *same = load_raw(p, &nl);
    ref_file ref;
    snprintf(p, sizeof p, "eval/%s_ref.txt", name);
    if (!CHECK(dist && same && ref_load(p, &ref))) return;
    int n = (int)(nb / 8);
    CHECK(nl == (size_t)n);
    const ref_row *hdr = ref_get(&ref, "n");
    int F = (int)hdr->v[3];
    lqf_verify_result r;
    double t0 = lqf_now();
    lqf_status st = lqf_verify_eval(dist, same, n, F, &r);
    double ms = (lqf_now() - t0) * 1e3;
    if (!CHECK(st == LQF_OK)) {
        fprintf(stderr, "%s\n", lqf_last_error());
        return;
    }
    printf("%s: %d pairs, acc %.4f +- %.4f, VAL@1e-3 %.4f, EER %.4f in %.2f ms\n", name, n, r.acc_mean, r.acc_std,
           r.val_mean, r.eer, ms);
    double counts[4] = {r.n_pairs, r.n_same, r.n_diff, r.n_folds};
    cmp_ref(&ref, "n", name, counts, 4, 0);
    const double tol = 1e-9;
    cmp_ref(&ref, "fold_acc", name, r.fold_acc, F, tol);
    cmp_ref(&ref, "fold_thr", name, r.fold_thr, F, tol);
    cmp_ref(&ref, "acc_mean", name, &r.acc_mean, 1, tol);
    cmp_ref(&ref, "acc_std", name, &r.acc_std, 1, tol);
    cmp_ref(&ref, "fold_val", name, r.fold_val, F, tol);
    cmp_ref(&ref, "fold_far", name, r.fold_far, F, tol);
    cmp_ref(&ref, "fold_val_thr", name, r.fold_val_thr, F, tol);
    cmp_ref(&ref, "val_mean", name, &r.val_mean, 1, tol);
    cmp_ref(&ref, "val_std", name, &r.val_std, 1, tol);
    cmp_ref(&ref, "far_mean", name, &r.far_mean, 1, tol);
    cmp_ref(&ref, "best_thr", name, &r.best_thr, 1, tol);
    cmp_ref(&ref, "best_thr_cos", name, &r.best_thr_cos, 1, tol);
    cmp_ref(&ref, "best_acc", name, &r.best_acc, 1, tol);
    cmp_ref(&ref, "far_target", name, r.far_target, LQF_EVAL_N_FAR, 0);
    cmp_ref(&ref, "tar_at_far", name, r.tar_at_far, LQF_EVAL_N_FAR, tol);
    cmp_ref(&ref, "tar_thr", name, r.tar_thr, LQF_EVAL_N_FAR, tol);
    cmp_ref(&ref, "far_at", name, r.far_at, LQF_EVAL_N_FAR, tol);
    cmp_ref(&ref, "eer", name, &r.eer, 1, tol);
    cmp_ref(&ref, "auc", name, &r.auc, 1, tol);

    /* the ROC itself, point by point (sklearn roc_curve, drop_intermediate=False) */
    if (!with_roc) goto out;
    snprintf(p, sizeof p, "eval/%s_roc.f64", name);
    size_t rb;
    double *roc = load_raw(p, &rb);
    double *thr, *tar, *far;
    int np;
    if (CHECK(roc != NULL) && CHECK(lqf_verify_roc(dist, same, n, &thr, &tar, &far, &np) == LQF_OK)) {
        int want_np = (int)(rb / 24);
        CHECK(np == want_np);
        if (np == want_np) {
            double *w = malloc(sizeof(double) * 3 * np);
            for (int i = 0; i < np; i++) w[i] = roc[3 * i], w[np + i] = roc[3 * i + 1], w[2 * np + i] = roc[3 * i + 2];
            char what[64];
            snprintf(what, sizeof what, "%s roc thresholds", name);
            close_d(what, thr, w, np, tol);
            snprintf(what, sizeof what, "%s roc tar", name);
            close_d(what, tar, w + np, np, tol);
            snprintf(what, sizeof what, "%s roc far", name);
            close_d(what, far, w + 2 * np, np, tol);
            free(w);
        }
        free(thr), free(tar), free(far);
    }
    free(roc);
out:
    free(dist), free(same), free(ref.rows);
}

/* VAL@FAR corner cases (scipy's 'slinear' on duplicate FARs) for several targets. */
static void test_val_far_corner(void) {
    size_t nb, nl;
    double *dist = load_raw("eval/verify_d.f64", &nb);
    uint8_t *same = load_raw("eval/verify_d.u8", &nl);
    ref_file ref;
    if (!CHECK(dist && same && ref_load("eval/verify_d_ref.txt", &ref))) return;
    int n = (int)(nb / 8);
    for (int k = 0; k < ref.n; k++) {
        const ref_row *w = &ref.rows[k];
        double target = w->v[0], val[10], far[10], thr[10];
        CHECK(w->n == 31);
        CHECK(lqf_eval_val_far(dist, same, n, 10, target, val, far, thr) == LQF_OK);
        char what[128];
        snprintf(what, sizeof what, "verify_d %s val", w->key);
        close_d(what, val, w->v + 1, 10, 1e-9);
        snprintf(what, sizeof what, "verify_d %s far", w->key);
        close_d(what, far, w->v + 11, 10, 1e-9);
        snprintf(what, sizeof what, "verify_d %s threshold", w->key);
        close_d(what, thr, w->v + 21, 10, 1e-9);
    }
    free(dist), free(same), free(ref.rows);
}

static void test_verify_errors(void) {
    double d[20];
    uint8_t s[20];
    for (int i = 0; i < 20; i++) d[i] = i * 0.1, s[i] = i % 2;
    lqf_verify_result r;
    CHECK(lqf_verify_eval(d, s, 20, 1, &r) == LQF_ERR_ARG);
    CHECK(lqf_verify_eval(d, s, 5, 10, &r) == LQF_ERR_ARG);
    d[3] = NAN;
    CHECK(lqf_verify_eval(d, s, 20, 10, &r) == LQF_ERR_NUMERIC);
    CHECK(strstr(lqf_last_error(), "pair 3") != NULL);
    d[3] = 0.3;
    memset(s, 1, sizeof s);
    CHECK(lqf_verify_eval(d, s, 20, 10, &r) == LQF_ERR_ARG);
    /* sklearn KFold fold sizes */
    int st[11];
    lqf_kfold_bounds(5999, 10, st);
    CHECK(st[0] == 0 && st[1] == 600 && st[9] == 5400 && st[10] == 5999);
    lqf_kfold_bounds(23, 10, st);
    CHECK(st[1] == 3 && st[2] == 6 && st[3] == 9 && st[4] == 11 && st[10] == 23);
    /* pair distances: squared L2 */
    float a[6] = {1, 0, 0, 0.6f, 0.8f, 0}, b[6] = {0, 1, 0, 0.6f, 0.8f, 0};
    double pd[2];
    lqf_pair_distances(a, b, 2, 3, pd);
    CHECK(fabs(pd[0] - 2.0) < 1e-12 && pd[1] == 0.0);
}

/* ------------------------------------------------------------------ identification */
static void test_ident(const char *name) {
    char p[256];
    ref_file ref;
    snprintf(p, sizeof p, "eval/%s_ref.txt", name);
    if (!CHECK(ref_load(p, &ref))) return;
    const ref_row *shape = ref_get(&ref, "shape");
    int P = (int)shape->v[0], G = (int)shape->v[1], D = (int)shape->v[2], R = (int)shape->v[3];
    size_t b1, b2, b3, b4 = 0;
    snprintf(p, sizeof p, "eval/%s_sim.f32", name);
    float *sim = load_raw(p, &b1);
    float *dsim = NULL;
    if (D) {
        snprintf(p, sizeof p, "eval/%s_dsim.f32", name);
        dsim = load_raw(p, &b4);
    }
    snprintf(p, sizeof p, "eval/%s_probe.i32", name);
    int *pl = load_raw(p, &b2);
    snprintf(p, sizeof p, "eval/%s_gallery.i32", name);
    int *gl = load_raw(p, &b3);
    if (!CHECK(sim && pl && gl && b1 == (size_t)P * G * 4 && b2 == (size_t)P * 4 && b3 == (size_t)G * 4 &&
               b4 == (size_t)P * D * 4))
        return;
    double *cmc = malloc(sizeof(double) * R);
    lqf_ident_result r;
    lqf_status st = lqf_ident_eval(sim, dsim, pl, gl, P, G, D, cmc, R, &r);
    if (!CHECK(st == LQF_OK)) {
        fprintf(stderr, "%s\n", lqf_last_error());
        return;
    }
    printf("%s: %d probes (%d mated), rank-1 %.4f, DIR@FPIR1%% %.4f, DIR@FPIR10%% %.4f\n", name, r.n_probes,
           r.n_mated, r.rank1, r.dir[0], r.dir[1]);
    double counts[3] = {r.n_probes, r.n_mated, r.n_nonmated};
    cmp_ref(&ref, "n", name, counts, 3, 0);
    cmp_ref(&ref, "cmc", name, cmc, R, 1e-9);
    double rk[4] = {r.rank1, r.rank5, r.rank10, r.rank20};
    cmp_ref(&ref, "rank", name, rk, 4, 1e-9);
    cmp_ref(&ref, "dir", name, r.dir, 2, 1e-9);
    cmp_ref(&ref, "dir_thr", name, r.dir_thr, 2, 1e-9);
    cmp_ref(&ref, "fpir_measured", name, r.fpir_measured, 2, 1e-9);
    /* NaN similarity is reported */
    float keep = sim[5];
    sim[5] = NAN;
    CHECK(lqf_ident_eval(sim, dsim, pl, gl, P, G, D, cmc, R, &r) == LQF_ERR_NUMERIC);
    sim[5] = keep;
    free(cmc), free(sim), free(dsim), free(pl), free(gl), free(ref.rows);
}

/* ------------------------------------------------------------------ readers */
static void test_lfw_pairs(void) {
    const char *root = tu_shared("data/lfw/lfw-deepfunneled");
    lqf_pair_list *pl = NULL;
    lqf_status st = lqf_pairs_load_lfw(tu_shared("data/lfw/pairs.txt"), root, &pl);
    if (!CHECK(st == LQF_OK)) {
        fprintf(stderr, "%s\n", lqf_last_error());
        return;
    }
    FILE *f = fopen(tu_testdata("eval/lfw_pairs_expected.txt"), "r");
    if (!CHECK(f != NULL)) return;
    int n, ns, nf;
    static char bits[8192];
    CHECK(fscanf(f, "%d %d %d %8191s", &n, &ns, &nf, bits) == 4);
    CHECK(pl->n == n && n == 6000);
    CHECK(pl->n_folds == nf && nf == 10);
    int cs = 0, mism = 0;
    for (int i = 0; i < pl->n && i < n; i++) {
        cs += pl->issame[i];
        mism += pl->issame[i] != (bits[i] == '1');
    }
    CHECK(cs == ns && ns == 3000);
    CHECK(mism == 0);
    int idx;
    char a[512], b[512];
    size_t rl = strlen(root);
    while (fscanf(f, "%d %511s %511s", &idx, a, b) == 3) {
        CHECK(idx < pl->n && !strncmp(pl->path_a[idx], root, rl) && !strcmp(pl->path_a[idx] + rl + 1, a) &&
              !strcmp(pl->path_b[idx] + rl + 1, b));
    }
    fclose(f);
    printf("lfw pairs.txt: %d pairs, %d same, first pair %s | %s\n", pl->n, cs, pl->path_a[0], pl->path_b[0]);
    CHECK(access(pl->path_a[0], R_OK) == 0 && access(pl->path_b[0], R_OK) == 0);
    CHECK(access(pl->path_a[pl->n - 1], R_OK) == 0 && access(pl->path_b[pl->n - 1], R_OK) == 0);
    lqf_pair_list_free(pl);
}

static const char *write_tmp(const char *tag, const char *text) {
    static char path[8][512];
    static int k = 0;
    char *p = path[k++ & 7];
    snprintf(p, 512, "/tmp/lqf_test_eval_%d_%s.txt", (int)getpid(), tag);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static void test_pair_errors(void) {
    lqf_pair_list *pl = NULL;
    const char *bad = write_tmp("bad", "2 1\nAlice 1 2\nBob 1 x\nAlice 1 Bob 2\nCarol 1 3\nCarol 2 Dave 1\n");
    CHECK(lqf_pairs_load_lfw(bad, NULL, &pl) == LQF_ERR_FORMAT && pl == NULL);
    printf("malformed line: %s\n", lqf_last_error());
    CHECK(strstr(lqf_last_error(), ":3:") != NULL);
    const char *five = write_tmp("five", "1 1\nAlice 1 2\nAlice 1 Bob 2 7\n");
    CHECK(lqf_pairs_load_lfw(five, NULL, &pl) == LQF_ERR_FORMAT);
    CHECK(strstr(lqf_last_error(), ":3:") != NULL);
    const char *empty = write_tmp("empty", "10 300\n");
    CHECK(lqf_pairs_load_lfw(empty, NULL, &pl) == LQF_ERR_FORMAT);
    printf("empty list: %s\n", lqf_last_error());
    CHECK(strstr(lqf_last_error(), "empty") != NULL);
    const char *nothing = write_tmp("nothing", "");
    CHECK(lqf_pairs_load_lfw(nothing, NULL, &pl) == LQF_ERR_FORMAT);
    const char *short_ = write_tmp("short", "2 1\nAlice 1 2\nAlice 1 Bob 2\n");
    CHECK(lqf_pairs_load_lfw(short_, NULL, &pl) == LQF_ERR_FORMAT);
    CHECK(strstr(lqf_last_error(), "found 2") != NULL);
    const char *ok = write_tmp("ok", "1\t1\r\nAlice\t1\t2\r\nAlice 1 Bob 12\r\n");
    if (CHECK(lqf_pairs_load_lfw(ok, "/r", &pl) == LQF_OK)) {
        CHECK(pl->n == 2 && pl->issame[0] == 1 && pl->issame[1] == 0);
        CHECK(!strcmp(pl->path_a[0], "/r/Alice/Alice_0001.jpg") && !strcmp(pl->path_b[1], "/r/Bob/Bob_0012.jpg"));
        lqf_pair_list_free(pl);
    }
    CHECK(lqf_pairs_load_lfw("/nonexistent/pairs.txt", NULL, &pl) == LQF_ERR_IO);
    const char *lbad = write_tmp("lbad", "a.jpg b.jpg 1\n\n# c\na.jpg b.jpg 2\n");
    CHECK(lqf_pairs_load_list(lbad, NULL, &pl) == LQF_ERR_FORMAT);
    CHECK(strstr(lqf_last_error(), ":4:") != NULL);
    const char *lempty = write_tmp("lempty", "# nothing here\n\n");
    CHECK(lqf_pairs_load_list(lempty, NULL, &pl) == LQF_ERR_FORMAT);
    CHECK(lqf_pairs_load_cfp(tu_testdata("eval/cfp/Protocol"), "PF", &pl) == LQF_ERR_ARG);
    CHECK(lqf_pairs_load_cfp(tu_testdata("eval/nonexistent"), "FP", &pl) == LQF_ERR_IO);
    const char *tags[] = {"bad", "five", "empty", "nothing", "short", "ok", "lbad", "lempty"};
    for (int i = 0; i < 8; i++) {
        char p[512];
        snprintf(p, sizeof p, "/tmp/lqf_test_eval_%d_%s.txt", (int)getpid(), tags[i]);
        unlink(p);
    }
}

/* Compare a loaded list with an expected file "n\n a b label\n..." (paths prefixed by pre). */
static void check_list(const char *what, const lqf_pair_list *pl, const char *expected, const char *pre) {
    FILE *f = fopen(tu_testdata(expected), "r");
    if (!CHECK(f != NULL)) return;
    int n, lab, bad = 0;
    CHECK(fscanf(f, "%d", &n) == 1);
    CHECK(pl->n == n);
    char a[512], b[512], ea[1024], eb[1024];
    for (int i = 0; i < n && i < pl->n; i++) {
        if (fscanf(f, "%511s %511s %d", a, b, &lab) != 3) {
            bad++;
            break;
        }
        snprintf(ea, sizeof ea, "%s%s", a[0] == '/' ? "" : pre, a);
        snprintf(eb, sizeof eb, "%s%s", b[0] == '/' ? "" : pre, b);
        if (strcmp(pl->path_a[i], ea) || strcmp(pl->path_b[i], eb) || pl->issame[i] != lab) {
            if (!bad) fprintf(stderr, "%s pair %d: got %s %s %d want %s %s %d\n", what, i, pl->path_a[i], pl->path_b[i],
                              pl->issame[i], ea, eb, lab);
            bad++;
        }
    }
    fclose(f);
    CHECK(bad == 0);
    printf("%s: %d pairs as expected\n", what, pl->n);
}

static void test_lists(void) {
    lqf_pair_list *pl = NULL;
    char pre[1024];
    snprintf(pre, sizeof pre, "%s/", tu_testdata("eval/cfp/Protocol"));
    if (CHECK(lqf_pairs_load_cfp(tu_testdata("eval/cfp/Protocol"), "FP", &pl) == LQF_OK)) {
        CHECK(pl->n_folds == 3);
        check_list("cfp FP", pl, "eval/cfp_fp_expected.txt", pre);
        lqf_pair_list_free(pl);
    } else {
        fprintf(stderr, "%s\n", lqf_last_error());
    }
    if (CHECK(lqf_pairs_load_cfp(tu_testdata("eval/cfp/Protocol"), "FF", &pl) == LQF_OK)) {
        check_list("cfp FF", pl, "eval/cfp_ff_expected.txt", pre);
        lqf_pair_list_free(pl);
    }
    if (CHECK(lqf_pairs_load_list(tu_testdata("eval/pairs_list.txt"), "/data/root", &pl) == LQF_OK)) {
        check_list("generic list", pl, "eval/pairs_list_expected.txt", "/data/root/");
        CHECK(pl->n_folds == 0);
        lqf_pair_list_free(pl);
    }
}

int main(void) {
    test_verify("verify_a", 1);
    test_verify("verify_b", 0); /* uneven folds; its ROC is not stored (size) */
    test_verify("verify_c", 1);
    test_val_far_corner();
    test_verify_errors();
    test_ident("ident_a");
    test_ident("ident_b");
    test_lfw_pairs();
    test_pair_errors();
    test_lists();
    printf("largest deviation from the reference over all compared metrics: %.3g\n", worst_overall);
    return tu_finish("test_eval");
}
