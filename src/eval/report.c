/*
 * report.c — writes evaluation reports (see report.h): terminal table, JSON, and an HTML
 * page whose plots are inline SVG drawn here (no external scripts, opens offline).
 */
#include "eval/report.h"
#include "core/core.h"
#include "core/text.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void lqf_report_set_roc(lqf_report_verify *row, const double *far, const double *tar, int n) {
    free(row->roc_far);
    free(row->roc_tar);
    row->roc_far = malloc(sizeof(double) * 512);
    row->roc_tar = malloc(sizeof(double) * 512);
    int m = 0;
    double next = -1e9;
    for (int i = 0; i < n && m < 510; i++) {
        /* of the points sharing a FAR the last (highest TAR); of those, the first of every
         * 1/64 decade of FAR, and the last point */
        if (i + 1 < n && far[i + 1] == far[i]) continue;
        double f = far[i] > 0 ? log10(far[i]) : -12;
        if (f >= next || i == n - 1) {
            row->roc_far[m] = far[i];
            row->roc_tar[m++] = tar[i];
            next = f + 1.0 / 64;
        }
    }
    row->roc_n = m;
}

void lqf_report_free_rows(lqf_report *r) {
    for (int i = 0; i < r->n_rows; i++) {
        free(r->rows[i].roc_far);
        free(r->rows[i].roc_tar);
        free(r->rows[i].dist);
        free(r->rows[i].issame);
    }
    free(r->rows);
    r->rows = NULL;
    r->n_rows = 0;
    free(r->ident);
    r->ident = NULL;
    r->n_ident = 0;
}

/* ------------------------------------------------------------------ terminal */
void lqf_report_print(FILE *f, const lqf_report *r) {
    if (r->n_rows) {
        fprintf(f, "\n%s\n", r->title ? r->title : "verification");
        fprintf(f, "%-28s %7s %16s %9s %9s %9s %7s %10s %9s\n", "condition", "pairs", "accuracy (10-fold)",
                "TAR@1e-3", "TAR@1e-4", "VAL@1e-3", "EER", "thr sq-L2", "thr cos");
        for (int i = 0; i < r->n_rows; i++) {
            const lqf_report_verify *w = &r->rows[i];
            fprintf(f, "%-28s %7d %8.2f%% ±%5.2f %8.2f%% %8.2f%% %8.2f%% %6.2f%% %10.3f %9.4f\n", w->cond.label,
                    w->n_pairs, 100 * w->v.acc_mean, 100 * w->v.acc_std, 100 * w->v.tar_at_far[3],
                    100 * w->v.tar_at_far[2], 100 * w->v.val_mean, 100 * w->v.eer, w->v.best_thr,
                    w->v.best_thr_cos);
        }
    }
    for (int i = 0; i < r->n_ident; i++) {
        const lqf_report_ident *d = &r->ident[i];
        fprintf(f, "\nidentification %s: %d probes (%d mated), gallery %d + %d distractors\n", d->label, d->r.n_probes,
                d->r.n_mated, d->r.n_gallery, d->r.n_distractors);
        fprintf(f, "  rank-1 %.2f%%  rank-5 %.2f%%  rank-10 %.2f%%  rank-20 %.2f%%  DIR@FPIR1%% %.2f%%  DIR@FPIR10%% %.2f%%\n",
                100 * d->r.rank1, 100 * d->r.rank5, 100 * d->r.rank10, 100 * d->r.rank20, 100 * d->r.dir[0],
                100 * d->r.dir[1]);
    }
    if (r->seconds > 0) fprintf(f, "\n%d photos (%d without a usable face), %.1f s on %d threads\n", r->n_photos,
                                r->n_failed, r->seconds, r->threads);
}

/* ------------------------------------------------------------------ JSON */
static void json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.10g", v);
    else fputs("null", f);
}

static void json_arr(FILE *f, const double *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', f);
        json_num(f, v[i]);
    }
    fputc(']', f);
}

lqf_status lqf_report_write_json(const char *path, const lqf_report *r) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return lqf_fail(LQF_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "{\"title\":");
    lqf_json_write_str(f, r->title);
    fprintf(f, ",\"model\":");
    lqf_json_write_str(f, r->model);
    fprintf(f, ",\"detector\":");
    lqf_json_write_str(f, r->detector);
    fprintf(f, ",\"protocol\":");
    lqf_json_write_str(f, r->protocol);
    fprintf(f, ",\"photos\":%d,\"photos_failed\":%d,\"seconds\":%.2f,\"threads\":%d,\"verification\":[", r->n_photos,
            r->n_failed, r->seconds, r->threads);
    for (int i = 0; i < r->n_rows; i++) {
        const lqf_report_verify *w = &r->rows[i];
        const lqf_verify_result *v = &w->v;
        fprintf(f, "%s{\"condition\":", i ? "," : "");
        lqf_json_write_str(f, w->cond.label);
        fprintf(f, ",\"resolution\":%d,\"one_side\":%d,\"blur_sigma\":%g,\"noise_sigma\":%g,\"jpeg_quality\":%d,"
                   "\"fae_level\":%g,\"fae_rot_deg\":%g,\"fae_scale\":%g,\"fae_shift_px\":%g,\"pairs\":%d,\"skipped\":%d,",
                w->cond.resolution, w->cond.one_side, w->cond.blur_sigma, w->cond.noise_sigma, w->cond.jpeg_quality,
                w->cond.fae_level, w->cond.fae_rot_deg, w->cond.fae_scale, w->cond.fae_shift_px, w->n_pairs, w->n_skipped);
        fprintf(f, "\"accuracy_mean\":");
        json_num(f, v->acc_mean);
        fprintf(f, ",\"accuracy_std\":");
        json_num(f, v->acc_std);
        fprintf(f, ",\"fold_accuracy\":");
        json_arr(f, v->fold_acc, v->n_folds);
        fprintf(f, ",\"fold_threshold\":");
        json_arr(f, v->fold_thr, v->n_folds);
        fprintf(f, ",\"val_at_far_1e-3\":");
        json_num(f, v->val_mean);
        fprintf(f, ",\"val_std\":");
        json_num(f, v->val_std);
        fprintf(f, ",\"far_mean\":");
        json_num(f, v->far_mean);
        fprintf(f, ",\"far_targets\":");
        json_arr(f, v->far_target, LQF_EVAL_N_FAR);
        fprintf(f, ",\"tar_at_far\":");
        json_arr(f, v->tar_at_far, LQF_EVAL_N_FAR);
        fprintf(f, ",\"eer\":");
        json_num(f, v->eer);
        fprintf(f, ",\"auc\":");
        json_num(f, v->auc);
        fprintf(f, ",\"best_threshold_squared_l2\":");
        json_num(f, v->best_thr);
        fprintf(f, ",\"best_threshold_cosine\":");
        json_num(f, v->best_thr_cos);
        fprintf(f, ",\"seconds\":%.2f}", w->seconds);
    }
    fprintf(f, "],\"identification\":[");
    for (int i = 0; i < r->n_ident; i++) {
        const lqf_report_ident *d = &r->ident[i];
        fprintf(f, "%s{\"condition\":", i ? "," : "");
        lqf_json_write_str(f, d->label);
        fprintf(f, ",\"probes\":%d,\"mated\":%d,\"gallery\":%d,\"distractors\":%d,\"rank1\":", d->r.n_probes,
                d->r.n_mated, d->r.n_gallery, d->r.n_distractors);
        json_num(f, d->r.rank1);
        fprintf(f, ",\"rank5\":");
        json_num(f, d->r.rank5);
        fprintf(f, ",\"rank10\":");
        json_num(f, d->r.rank10);
        fprintf(f, ",\"rank20\":");
        json_num(f, d->r.rank20);
        fprintf(f, ",\"cmc\":");
        json_arr(f, d->cmc, d->max_rank);
        fprintf(f, ",\"dir_at_fpir\":{\"0.01\":");
        json_num(f, d->r.dir[0]);
        fprintf(f, ",\"0.1\":");
        json_num(f, d->r.dir[1]);
        fprintf(f, "}}");
    }
    fprintf(f, "]}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) return lqf_fail(LQF_ERR_IO, "%s: cannot write", path);
    return LQF_OK;
}

/* ------------------------------------------------------------------ SVG plots */
typedef struct {
    const char *name;
    int n;
    const double *x, *y, *err; /* err may be NULL */
} series;

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static void html_esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

static void svg_plot(FILE *f, const char *title, const char *xl, const char *yl, int logx, double x0, double x1,
                     double y0, double y1, const series *s, int ns, const double *xticks, int nxt) {
    const double W = 560, H = 360, L = 60, R = 170, T = 30, B = 45;
    double pw = W - L - R, ph = H - T - B;
#define PX(v) (L + pw * ((logx ? log10(v) : (v)) - (logx ? log10(x0) : x0)) / \
                   ((logx ? log10(x1) : x1) - (logx ? log10(x0) : x0)))
#define PY(v) (T + ph * (1 - ((v) - y0) / (y1 - y0)))
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%g' height='%g' font-family='sans-serif' font-size='12'>\n", W, H);
    fprintf(f, "<text x='%g' y='18' font-weight='bold'>", L);
    html_esc(f, title);
    fprintf(f, "</text>\n<rect x='%g' y='%g' width='%g' height='%g' fill='none' stroke='#444'/>\n", L, T, pw, ph);
    for (int k = 0; k <= 5; k++) {
        double v = y0 + (y1 - y0) * k / 5;
        fprintf(f, "<line x1='%g' x2='%g' y1='%g' y2='%g' stroke='#ddd'/><text x='%g' y='%g' text-anchor='end'>%.3g</text>\n",
                L, L + pw, PY(v), PY(v), L - 4, PY(v) + 4, v);
    }
    for (int k = 0; k < nxt; k++) {
        double v = xticks[k];
        if (v < x0 || v > x1) continue;
        fprintf(f, "<line x1='%g' x2='%g' y1='%g' y2='%g' stroke='#ddd'/><text x='%g' y='%g' text-anchor='middle'>%g</text>\n",
                PX(v), PX(v), T, T + ph, PX(v), T + ph + 15, v);
    }
    fprintf(f, "<text x='%g' y='%g' text-anchor='middle'>", L + pw / 2, H - 8);
    html_esc(f, xl);
    fprintf(f, "</text><text transform='translate(14,%g) rotate(-90)' text-anchor='middle'>", T + ph / 2);
    html_esc(f, yl);
    fprintf(f, "</text>\n");
    for (int i = 0; i < ns; i++) {
        const char *col = palette[i % 10];
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.8' points='", col);
        for (int k = 0; k < s[i].n; k++) {
            double x = s[i].x[k], y = s[i].y[k];
            if (x < x0) x = x0;
            if (x > x1) x = x1;
            if (!isfinite(y)) continue;
            fprintf(f, "%.1f,%.1f ", PX(x), PY(fmin(fmax(y, y0), y1)));
        }
        fprintf(f, "'/>\n");
        if (s[i].n <= 40)
            for (int k = 0; k < s[i].n; k++) {
                if (!isfinite(s[i].y[k])) continue;
                double cx = PX(s[i].x[k]), cy = PY(fmin(fmax(s[i].y[k], y0), y1));
                fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", cx, cy, col);
                if (s[i].err)
                    fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s'/>\n", cx, cx,
                            PY(fmax(s[i].y[k] - s[i].err[k], y0)), PY(fmin(s[i].y[k] + s[i].err[k], y1)), col);
            }
        fprintf(f, "<rect x='%g' y='%g' width='12' height='3' fill='%s'/><text x='%g' y='%g'>", L + pw + 10,
                T + 10 + 16 * i, col, L + pw + 26, T + 14 + 16 * i);
        html_esc(f, s[i].name);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
#undef PX
#undef PY
}

static int is_resolution_row(const lqf_report_verify *w, int one_side) {
    const lqf_condition *c = &w->cond;
    return c->fae_level == 0 && c->blur_sigma <= 0 && c->noise_sigma <= 0 && c->jpeg_quality <= 0 &&
           (c->resolution <= 0 || c->one_side == one_side);
}

lqf_status lqf_report_write_html(const char *path, const lqf_report *r) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return lqf_fail(LQF_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(f, "<!DOCTYPE html><html><head><meta charset='utf-8'><title>");
    html_esc(f, r->title);
    fprintf(f, "</title><style>body{font-family:sans-serif;margin:24px;max-width:1200px}"
               "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
               "th{background:#f2f2f2}td:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:12px}"
               "</style></head><body>\n<h1>");
    html_esc(f, r->title);
    fprintf(f, "</h1>\n<p>Model <code>");
    html_esc(f, r->model);
    fprintf(f, "</code>, detector <code>");
    html_esc(f, r->detector ? r->detector : "none (aligned input)");
    fprintf(f, "</code>, protocol <code>");
    html_esc(f, r->protocol);
    fprintf(f, "</code>. %d photos (%d without a usable face). %.1f s on %d threads. Generated by lqface %s, %s.</p>\n",
            r->n_photos, r->n_failed, r->seconds, r->threads, LQF_VERSION, date);
    if (r->n_rows) {
        fprintf(f, "<h2>Verification</h2><p>Accuracy: insightface 10-fold protocol (squared-L2 distance of flip-fused "
                   "L2-normalised embeddings, threshold grid 0..4 step 0.01 chosen on 9 folds). TAR@FAR over all pairs. "
                   "Thresholds: best over all pairs, squared-L2 and cosine form.</p>\n<table><tr><th>condition</th>"
                   "<th>pairs</th><th>skipped</th><th>accuracy</th><th>±std</th><th>TAR@FAR=1e-4</th><th>TAR@FAR=1e-3</th>"
                   "<th>TAR@FAR=1e-2</th><th>VAL@1e-3</th><th>EER</th><th>AUC</th><th>thr sq-L2</th><th>thr cos</th></tr>\n");
        for (int i = 0; i < r->n_rows; i++) {
            const lqf_report_verify *w = &r->rows[i];
            fprintf(f, "<tr><td>");
            html_esc(f, w->cond.label);
            fprintf(f, "</td><td>%d</td><td>%d</td><td>%.2f%%</td><td>%.2f</td><td>%.2f%%</td><td>%.2f%%</td><td>%.2f%%</td>"
                       "<td>%.2f%%</td><td>%.2f%%</td><td>%.4f</td><td>%.2f</td><td>%.4f</td></tr>\n",
                    w->n_pairs, w->n_skipped, 100 * w->v.acc_mean, 100 * w->v.acc_std, 100 * w->v.tar_at_far[2],
                    100 * w->v.tar_at_far[3], 100 * w->v.tar_at_far[4], 100 * w->v.val_mean, 100 * w->v.eer, w->v.auc,
                    w->v.best_thr, w->v.best_thr_cos);
        }
        fprintf(f, "</table>\n<div class='plots'>\n");
        /* ROC per condition */
        series *s = calloc((size_t)r->n_rows, sizeof *s);
        for (int i = 0; i < r->n_rows; i++)
            s[i] = (series){r->rows[i].cond.label, r->rows[i].roc_n, r->rows[i].roc_far, r->rows[i].roc_tar, NULL};
        static const double far_ticks[] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1};
        int shown = r->n_rows < 10 ? r->n_rows : 10;
        svg_plot(f, "ROC per condition", "false accept rate", "true accept rate", 1, 1e-4, 1, 0, 1, s, shown, far_ticks, 7);
        if (r->n_rows > 10)
            svg_plot(f, "ROC per condition (continued)", "false accept rate", "true accept rate", 1, 1e-4, 1, 0, 1,
                     s + 10, r->n_rows - 10 < 10 ? r->n_rows - 10 : 10, far_ticks, 7);
        free(s);
        /* accuracy vs resolution: both sides, and one side (cross-resolution) */
        double rx[2][32], ry[2][32], re[2][32];
        int rn[2] = {0, 0};
        for (int side = 0; side < 2; side++)
            for (int i = 0; i < r->n_rows && rn[side] < 32; i++)
                if (is_resolution_row(&r->rows[i], side)) {
                    int res = r->rows[i].cond.resolution > 0 ? r->rows[i].cond.resolution : 112;
                    if (side == 1 && r->rows[i].cond.resolution <= 0) continue;
                    rx[side][rn[side]] = res;
                    ry[side][rn[side]] = 100 * r->rows[i].v.acc_mean;
                    re[side][rn[side]++] = 100 * r->rows[i].v.acc_std;
                }
        if (rn[0] + rn[1] > 1) {
            series rs[2];
            int k = 0;
            if (rn[0]) rs[k++] = (series){"both images", rn[0], rx[0], ry[0], re[0]};
            if (rn[1]) rs[k++] = (series){"one image (cross-res.)", rn[1], rx[1], ry[1], re[1]};
            static const double res_ticks[] = {7, 14, 28, 56, 112};
            svg_plot(f, "Accuracy vs resolution", "face resolution (px)", "10-fold accuracy (%)", 1, 6, 120, 50, 100,
                     rs, k, res_ticks, 5);
        }
        /* accuracy vs FAE level, one series per resolution */
        int resols[8], nres = 0;
        for (int i = 0; i < r->n_rows; i++)
            if (r->rows[i].cond.fae_level > 0) {
                int res = r->rows[i].cond.resolution > 0 ? r->rows[i].cond.resolution : 112, seen = 0;
                for (int k = 0; k < nres; k++) seen |= resols[k] == res;
                if (!seen && nres < 8) resols[nres++] = res;
            }
        if (nres) {
            series fs[8];
            double fx[8][16], fy[8][16], fe[8][16];
            char names[8][32];
            for (int k = 0; k < nres; k++) {
                int m = 0;
                for (int i = 0; i < r->n_rows && m < 16; i++) {
                    const lqf_report_verify *w = &r->rows[i];
                    int res = w->cond.resolution > 0 ? w->cond.resolution : 112;
                    if (res != resols[k] || w->cond.one_side || w->cond.blur_sigma > 0 || w->cond.noise_sigma > 0 ||
                        w->cond.jpeg_quality > 0)
                        continue;
                    fx[k][m] = w->cond.fae_level;
                    fy[k][m] = 100 * w->v.acc_mean;
                    fe[k][m++] = 100 * w->v.acc_std;
                }
                snprintf(names[k], sizeof names[k], "%d px", resols[k]);
                fs[k] = (series){names[k], m, fx[k], fy[k], fe[k]};
            }
            static const double lv_ticks[] = {0, 1, 2, 3, 4, 5, 6};
            svg_plot(f, "Accuracy vs face-alignment error", "FAE level", "10-fold accuracy (%)", 0, 0, 4.2, 50, 100, fs,
                     nres, lv_ticks, 7);
        }
        fprintf(f, "</div>\n");
    }
    if (r->n_ident) {
        fprintf(f, "<h2>Identification</h2><table><tr><th>condition</th><th>probes</th><th>mated</th><th>gallery</th>"
                   "<th>distractors</th><th>rank-1</th><th>rank-5</th><th>rank-10</th><th>rank-20</th>"
                   "<th>DIR@FPIR=1%%</th><th>DIR@FPIR=10%%</th></tr>\n");
        series *s = calloc((size_t)r->n_ident, sizeof *s);
        double *xs = malloc(sizeof(double) * 20);
        for (int k = 0; k < 20; k++) xs[k] = k + 1;
        for (int i = 0; i < r->n_ident; i++) {
            const lqf_report_ident *d = &r->ident[i];
            fprintf(f, "<tr><td>");
            html_esc(f, d->label);
            fprintf(f, "</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%.2f%%</td><td>%.2f%%</td><td>%.2f%%</td>"
                       "<td>%.2f%%</td><td>%.2f%%</td><td>%.2f%%</td></tr>\n",
                    d->r.n_probes, d->r.n_mated, d->r.n_gallery, d->r.n_distractors, 100 * d->r.rank1,
                    100 * d->r.rank5, 100 * d->r.rank10, 100 * d->r.rank20, 100 * d->r.dir[0], 100 * d->r.dir[1]);
            s[i] = (series){d->label, d->max_rank, xs, d->cmc, NULL};
        }
        fprintf(f, "</table><div class='plots'>\n");
        static const double rk_ticks[] = {1, 5, 10, 15, 20};
        double lo = 1;
        for (int i = 0; i < r->n_ident; i++)
            for (int k = 0; k < r->ident[i].max_rank; k++) lo = fmin(lo, r->ident[i].cmc[k]);
        svg_plot(f, "CMC", "rank", "identification rate", 0, 1, 20, floor(lo * 10) / 10, 1, s,
                 r->n_ident < 10 ? r->n_ident : 10, rk_ticks, 5);
        fprintf(f, "</div>\n");
        free(s);
        free(xs);
    }
    fprintf(f, "</body></html>\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) return lqf_fail(LQF_ERR_IO, "%s: cannot write", path);
    return LQF_OK;
}
