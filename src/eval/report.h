/*
 * report.h — evaluation reports: a table for the terminal, one JSON document for machines,
 * and a self-contained HTML page with inline SVG plots (ROC per condition, accuracy vs
 * resolution, accuracy vs face-alignment error, CMC). The runners (eval/runner.h) fill the
 * rows; `lqface eval` fills the rest and writes it.
 */
#ifndef LQF_REPORT_H
#define LQF_REPORT_H

#include "lqface.h"

typedef struct {
    lqf_condition cond;
    lqf_verify_result v;
    int n_pairs, n_skipped;   /* pairs scored, pairs skipped (a photo failed) */
    double *dist;             /* n_pairs squared-L2 distances of the scored pairs (owned) */
    uint8_t *issame;          /* their labels (owned) */
    double *roc_far, *roc_tar; /* downsampled ROC for plotting (owned) */
    int roc_n;
    double seconds;
} lqf_report_verify;

typedef struct {
    char label[64];
    lqf_ident_result r;
    double cmc[LQF_EVAL_CMC_RANKS];
    int max_rank;
    double seconds;
} lqf_report_ident;

typedef struct {
    const char *title, *model, *detector, *protocol;
    int n_photos, n_failed;   /* photos prepared, photos without a usable face */
    lqf_report_verify *rows;
    int n_rows;
    lqf_report_ident *ident;
    int n_ident;
    double seconds;           /* whole run */
    int threads;
} lqf_report;

/* Keep a downsampled copy of the ROC (at most ~400 points, log-spaced in FAR). */
void lqf_report_set_roc(lqf_report_verify *row, const double *far, const double *tar, int n);
void lqf_report_print(FILE *f, const lqf_report *r);
lqf_status lqf_report_write_json(const char *path, const lqf_report *r);
lqf_status lqf_report_write_html(const char *path, const lqf_report *r);
void lqf_report_free_rows(lqf_report *r);

#endif
