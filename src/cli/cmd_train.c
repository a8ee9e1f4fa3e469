/*
 * cmd_train.c — `lqface train --config FILE [--key value ...]`: trains a face-embedding network
 * with the library's training run (src/train/run.h). The config file holds `key = value` lines
 * with the same keys as the flags (flags override the file; `--help` lists every key with its
 * default). Prints a progress line (loss, accuracy, lr, images/s, ETA), validation results and
 * a final summary, and appends JSON lines (one per step, validation, checkpoint, epoch, bad
 * item, and the summary) to <ckpt_dir>/train_log.jsonl (or --log FILE).
 */
#include "cli.h"
#include "augment/degrade.h"
#include "core/text.h"
#include "train/run.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p_one(const char *d) { return mkdir(d, 0755) == 0 || errno == EEXIST ? 0 : -1; }

static void train_usage(FILE *f) {
    lqf_train_config d;
    lqf_train_config_default(&d);
    fprintf(f, "usage: lqface train [--config FILE] [--KEY VALUE ...] [--log FILE] [--quiet] [--bench STEPS]\n\n"
               "Trains a face-embedding network (backbone + margin head). Settings come from FILE\n"
               "(`key = value` lines, # comments) and then from --KEY VALUE flags, which override it.\n"
               "Checkpoints (safetensors) and train_log.jsonl go to ckpt_dir; --resume continues a run\n"
               "exactly. Keys (default in brackets):\n\n");
    for (int i = 0; i < lqf_train_config_n_keys(); i++) {
        const char *help, *k = lqf_train_config_key(i, &help);
        char v[LQF_TRAIN_PATH];
        lqf_train_config_get(&d, k, v, sizeof v);
        fprintf(f, "  --%-15s %s [%s]\n", k, help, v);
    }
    fprintf(f, "\n--bench STEPS: time STEPS training steps (after one warm-up) on a random batch with\n"
               "random labels over `classes` classes (no data needed); prints images/s and peak RSS as JSON.\n");
    fprintf(f, "\nExamples: configs/orl_tiny.conf, configs/lfw_finetune_mobilefacenet.conf,\n"
               "configs/ms1m_r50_arcface.conf (docs/training.md).\n");
}

typedef struct {
    FILE *log;
    int tty, quiet;
    long every;
    double t0;
} train_ui;

static void fmt_time(double s, char *buf, size_t n) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%lds", t);
}

static int on_progress(void *user, const lqf_train_progress *p) {
    train_ui *u = user;
    double now = lqf_now() - u->t0;
    switch (p->event) {
    case LQF_TRAIN_EV_STEP: {
        if (u->log)
            fprintf(u->log,
                    "{\"event\":\"step\",\"step\":%ld,\"epoch\":%d,\"loss\":%.6g,\"acc\":%.4f,\"lr\":%.6g,"
                    "\"grad_norm\":%.6g,\"img_per_s\":%.1f,\"time\":%.2f}\n",
                    p->step, p->epoch, p->loss, p->acc, p->lr, p->grad_norm, p->img_per_s, now);
        if (u->quiet) break;
        if (!u->every) u->every = p->total_steps / 50 > 0 ? p->total_steps / 50 : 1; /* ~50 lines off a terminal */
        int show = u->tty || p->step % u->every == 0 || p->step == p->total_steps;
        if (!show) break;
        char eta[32];
        fmt_time(p->eta_s, eta, sizeof eta);
        char bar[32];
        cli_bar(bar, 24, (double)p->step, (double)p->total_steps);
        printf("%s[%s] step %ld/%ld ep %d loss %.4f acc %.3f lr %.5f %.1f img/s ETA %s%s", u->tty ? "\r" : "", bar,
               p->step, p->total_steps, p->epoch + 1, p->loss, p->acc, p->lr, p->img_per_s, eta, u->tty ? "  " : "\n");
        fflush(stdout);
        break;
    }
    case LQF_TRAIN_EV_VAL:
        if (u->log)
            fprintf(u->log, "{\"event\":\"val\",\"step\":%ld,\"pairs\":%d,\"acc\":%.6f,\"std\":%.6f,\"thr\":%.3f}\n",
                    p->step, p->val_pairs, p->val_acc, p->val_std, p->val_thr);
        if (!u->quiet)
            printf("%sstep %ld: validation %.2f%% +- %.2f%% on %d pairs (threshold %.2f)\n", u->tty ? "\n" : "", p->step,
                   100 * p->val_acc, 100 * p->val_std, p->val_pairs, p->val_thr);
        break;
    case LQF_TRAIN_EV_CKPT:
        if (u->log) {
            fprintf(u->log, "{\"event\":\"checkpoint\",\"step\":%ld,\"path\":", p->step);
            lqf_json_write_str(u->log, p->path);
            fprintf(u->log, "}\n");
        }
        if (!u->quiet && !u->tty) printf("step %ld: checkpoint %s\n", p->step, p->path);
        break;
    case LQF_TRAIN_EV_EPOCH:
        if (u->log)
            fprintf(u->log, "{\"event\":\"epoch\",\"epoch\":%d,\"step\":%ld,\"loss\":%.6g,\"acc\":%.4f}\n", p->epoch + 1,
                    p->step, p->epoch_loss, p->epoch_acc);
        if (!u->quiet)
            printf("%sepoch %d done: mean loss %.4f, train accuracy %.3f\n", u->tty ? "\n" : "", p->epoch + 1,
                   p->epoch_loss, p->epoch_acc);
        break;
    case LQF_TRAIN_EV_RESUME:
        if (u->log) {
            fprintf(u->log, "{\"event\":\"resume\",\"step\":%ld,\"message\":", p->step);
            lqf_json_write_str(u->log, p->path);
            fprintf(u->log, "}\n");
        }
        fprintf(stderr, "lqface train: %s\n", p->path);
        break;
    case LQF_TRAIN_EV_BADDATA:
        if (u->log) {
            fprintf(u->log, "{\"event\":\"bad_item\",\"step\":%ld,\"message\":", p->step);
            lqf_json_write_str(u->log, p->path);
            fprintf(u->log, "}\n");
        }
        fprintf(stderr, "%slqface train: skipped a bad item: %s\n", u->tty ? "\n" : "", p->path);
        break;
    }
    if (u->log) fflush(u->log);
    return 0;
}

/* --bench N: N timed steps (after one warm-up) on a random batch and random labels, without
 * data, loader or checkpoints: training throughput (forward + backward + update) and peak RSS. */
static int train_bench(const lqf_train_config *cfg, int steps) {
    lqf_train_config cc = *cfg, *c = &cc;
    if (c->steps <= steps) c->steps = steps + 1; /* the schedule's length */
    if (!c->classes) c->classes = 1000;
    lqf_train *t = NULL;
    lqf_status st = lqf_train_open(c, &t);
    if (st) {
        cli_error("train", st);
        return 1;
    }
    size_t nx = (size_t)c->batch * c->input_size * c->input_size * 3;
    float *x = malloc(nx * sizeof(float));
    int *lab = malloc((size_t)c->batch * sizeof(int));
    lqf_rng rng;
    lqf_rng_seed(&rng, 1);
    for (size_t i = 0; i < nx; i++) x[i] = (float)(2 * lqf_rng_uniform(&rng) - 1);
    for (int i = 0; i < c->batch; i++) lab[i] = (int)(lqf_rng_u64(&rng) % (uint64_t)lqf_train_classes(t));
    lqf_head_result hr;
    double best = 1e30, sum = 0;
    for (int s = 0; s <= steps && !st; s++) {
        double t0 = lqf_now();
        st = lqf_train_step(t, x, lab, c->batch, &hr);
        double dt = lqf_now() - t0;
        if (s == 0) continue; /* warm-up: allocations, JIT kernels */
        sum += dt;
        if (dt < best) best = dt;
    }
    if (st) cli_error("train", st);
    else {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("{\"arch\":\"%s\",\"batch\":%d,\"classes\":%d,\"threads\":%d,\"steps\":%d,\"mean_step_s\":%.4f,"
               "\"best_step_s\":%.4f,\"img_per_s\":%.2f,\"peak_rss_mb\":%.1f}\n",
               c->init_onnx[0] ? c->init_onnx : c->arch, c->batch, lqf_train_classes(t), lqf_get_num_threads(), steps,
               sum / steps, best, c->batch * steps / sum, ru.ru_maxrss / 1024.0);
    }
    free(x);
    free(lab);
    lqf_train_free(t);
    return st ? 1 : 0;
}

int cmd_train(int argc, char **argv) {
    lqf_train_config c;
    lqf_train_config_default(&c);
    const char *log_path = NULL;
    int quiet = 0, bench = 0;
    /* the config file first, whatever its position, then the flags in order */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            train_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lqface train: --config needs a file\n");
                return 2;
            }
            lqf_status st = lqf_train_config_load(&c, argv[++i]);
            if (st) {
                cli_error("train", st);
                return 2;
            }
        }
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config")) {
            i++;
            continue;
        }
        if (cli_opt_str(argc, argv, &i, "--log", &log_path) || cli_opt_int(argc, argv, &i, "--bench", &bench)) continue;
        if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
            continue;
        }
        if (strncmp(argv[i], "--", 2) != 0) {
            fprintf(stderr, "lqface train: unexpected argument '%s' (settings are --KEY VALUE)\n", argv[i]);
            return 2;
        }
        char key[64];
        const char *val = NULL, *eq = strchr(argv[i] + 2, '=');
        size_t kl = eq ? (size_t)(eq - argv[i] - 2) : strlen(argv[i] + 2);
        if (kl >= sizeof key) kl = sizeof key - 1;
        memcpy(key, argv[i] + 2, kl);
        key[kl] = 0;
        for (char *p = key; *p; p++)
            if (*p == '-') *p = '_';
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else {
            fprintf(stderr, "lqface train: --%s needs a value\n", key);
            return 2;
        }
        lqf_status st = lqf_train_config_set(&c, key, val);
        if (st) {
            cli_error("train", st);
            return 2;
        }
    }
    if (bench > 0) return train_bench(&c, bench);
    if (c.val_pairs[0] && !strcmp(c.val_align, "yunet") && !c.val_detector[0]) {
        const char *det = cli_model_path(LQF_DEFAULT_DETECTOR);
        if (!det) return 1;
        snprintf(c.val_detector, sizeof c.val_detector, "%s", det);
    }
    train_ui u = {NULL, isatty(1), quiet, 0, lqf_now()};
    char lp[LQF_TRAIN_PATH + 32];
    if (!log_path && c.ckpt_dir[0]) {
        snprintf(lp, sizeof lp, "%s/train_log.jsonl", c.ckpt_dir);
        log_path = lp;
    }
    if (c.ckpt_dir[0]) {
        char cmd[LQF_TRAIN_PATH + 32];
        snprintf(cmd, sizeof cmd, "%s", c.ckpt_dir);
        for (char *p = cmd + 1; *p; p++) /* mkdir -p */
            if (*p == '/') {
                *p = 0;
                mkdir_p_one(cmd);
                *p = '/';
            }
        if (mkdir_p_one(cmd)) {
            fprintf(stderr, "lqface train: cannot create %s: %s\n", cmd, strerror(errno));
            return 1;
        }
    }
    if (log_path) {
        u.log = fopen(log_path, "a");
        if (!u.log) {
            fprintf(stderr, "lqface train: cannot write the log %s\n", log_path);
            return 1;
        }
    }
    lqf_train *t = NULL;
    lqf_status st = lqf_train_open(&c, &t);
    if (st) {
        cli_error("train", st);
        if (u.log) fclose(u.log);
        return 1;
    }
    lqf_train_result r;
    if (!quiet)
        printf("lqface train: %s, head %s, optimizer %s lr %g (%s), batch %d, %s%s\n",
               c.init_onnx[0] ? c.init_onnx : c.arch, c.head, c.optimizer, c.lr, c.schedule, c.batch,
               c.resume[0] ? "resuming " : (c.init_onnx[0] ? "from the ONNX weights" : "from scratch"),
               c.resume[0] ? c.resume : "");
    st = lqf_train_loop(t, on_progress, &u, &r);
    if (u.tty && !quiet) printf("\n");
    if (st) {
        cli_error("train", st);
        if (u.log) {
            fprintf(u.log, "{\"event\":\"error\",\"step\":%ld,\"message\":", r.steps);
            lqf_json_write_str(u.log, lqf_last_error());
            fprintf(u.log, "}\n");
            fclose(u.log);
        }
        lqf_train_free(t);
        return 1;
    }
    char el[32];
    fmt_time(r.seconds, el, sizeof el);
    printf("done: %ld steps (%ld this run) in %s, %.1f img/s", r.steps, r.steps_this_run, el, r.img_per_s);
    if (r.epochs_done) printf("; epoch loss %.4f -> %.4f", r.first_epoch_loss, r.last_epoch_loss);
    if (r.steps_this_run) printf("; last loss %.4f acc %.3f", r.last_loss, r.last_acc);
    if (!isnan(r.val_acc)) printf("; validation %.2f%%", 100 * r.val_acc);
    printf("\n");
    if (r.last_ckpt[0]) printf("checkpoint: %s\n", r.last_ckpt);
    if (u.log) {
        fprintf(u.log,
                "{\"event\":\"summary\",\"steps\":%ld,\"steps_this_run\":%ld,\"seconds\":%.2f,\"img_per_s\":%.1f,"
                "\"first_epoch_loss\":%.6g,\"last_epoch_loss\":%.6g,\"val_acc\":%.6g,\"checkpoint\":",
                r.steps, r.steps_this_run, r.seconds, r.img_per_s, isnan(r.first_epoch_loss) ? -1 : r.first_epoch_loss,
                isnan(r.last_epoch_loss) ? -1 : r.last_epoch_loss, isnan(r.val_acc) ? -1 : r.val_acc);
        lqf_json_write_str(u.log, r.last_ckpt);
        fprintf(u.log, "}\n");
        fclose(u.log);
    }
    lqf_train_free(t);
    return 0;
}
