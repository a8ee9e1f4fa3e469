/*
 * resume.c — the checkpoint a run continues from, found in its checkpoint directory
 * (resume.h): list the numbered checkpoints, drop killed writes' temporaries, load newest
 * first and set aside the ones that do not load.
 */
#define _GNU_SOURCE
#include "train/resume.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    long step;
    char *path;
} numbered;

static int cmp_step(const void *a, const void *b) {
    long x = ((const numbered *)a)->step, y = ((const numbered *)b)->step;
    return x < y ? -1 : x > y;
}

/* "ckpt_step%08ld.safetensors" (then suffix, e.g. ".tmp"): its step, or -1. */
static long step_of(const char *name, const char *suffix) {
    long step = -1;
    int end = -1;
    if (sscanf(name, "ckpt_step%ld%n", &step, &end) != 1 || end < 0 || step < 0) return -1;
    char want[64];
    snprintf(want, sizeof want, ".safetensors%s", suffix);
    return strcmp(name + end, want) ? -1 : step;
}

static void note_add(lqf_resume *r, const char *fmt, const char *a, const char *b) {
    size_t n = strlen(r->note);
    snprintf(r->note + n, sizeof r->note - n, fmt, a, b);
}

/* The numbered checkpoints of dir, oldest first; temporaries are removed on the way. */
static lqf_status list_dir(const char *dir, numbered **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d) return lqf_fail(LQF_ERR_IO, "%s: cannot read the checkpoint directory: %s", dir, strerror(errno));
    numbered *v = NULL;
    int n = 0, cap = 0;
    lqf_status st = LQF_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        long step = step_of(e->d_name, "");
        if (step < 0) {
            if (step_of(e->d_name, ".tmp") >= 0) unlink(path); /* a write that was killed */
            free(path);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            numbered *g = realloc(v, sizeof *v * (size_t)cap);
            if (!g) {
                free(path);
                st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            v = g;
        }
        v[n].step = step;
        v[n++].path = path;
    }
    closedir(d);
    if (st) {
        for (int i = 0; i < n; i++) free(v[i].path);
        free(v);
        return st;
    }
    if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_step);
    *out = v;
    *n_out = n;
    return LQF_OK;
}

lqf_status lqf_resume_find(const char *dir, lqf_resume *r) {
    memset(r, 0, sizeof *r);
    numbered *v = NULL;
    int n = 0;
    lqf_status st = list_dir(dir, &v, &n);
    if (st) return st;
    int use = -1;
    for (int i = n - 1; i >= 0 && use < 0; i--) {
        if (lqf_ckpt_load(v[i].path, &r->ck) == LQF_OK) {
            use = i;
            break;
        }
        char corrupt[4096];
        snprintf(corrupt, sizeof corrupt, "%s.corrupt", v[i].path);
        note_add(r, "skipped %s%s", lqf_last_error(), ""); /* the message names the file */
        if (rename(v[i].path, corrupt) == 0) note_add(r, " (kept as %s)%s; ", corrupt, "");
        else note_add(r, "%s%s; ", "", "");
    }
    if (use >= 0) {
        r->path = v[use].path;
        v[use].path = NULL;
        r->kept = malloc(sizeof *r->kept * (size_t)(use + 1));
        if (!r->kept) st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", dir);
        for (int i = 0; !st && i < use; i++) {
            r->kept[r->n_kept++] = v[i].path;
            v[i].path = NULL;
        }
        if (!st && !(r->kept[r->n_kept++] = strdup(r->path))) st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", dir);
        note_add(r, "resumed from %s%s", r->path, "");
    } else if (n > 0) {
        st = lqf_fail(LQF_ERR_FORMAT, "%s: no checkpoint loads: %s", dir, r->note);
    } else {
        note_add(r, "no checkpoint in %s: starting from scratch%s", dir, "");
    }
    for (int i = 0; i < n; i++) free(v[i].path);
    free(v);
    if (st) lqf_resume_free(r);
    return st;
}

void lqf_resume_free(lqf_resume *r) {
    if (!r) return;
    lqf_ckpt_free(r->ck);
    free(r->path);
    for (int i = 0; i < r->n_kept; i++) free(r->kept[i]);
    free(r->kept);
    memset(r, 0, sizeof *r);
}
