/*
 * cmd_embed.c — `lqface embed` (photos → detect → align → L2-normalised embeddings with a
 * quality value, as JSON lines or a binary float file with a TSV index) and `lqface compare`
 * (two photos → cosine similarity and a same/different decision at a stated threshold).
 * Photos are processed in chunks so the network runs batched; a photo that fails is
 * reported and the others go on.
 */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 32

/* Cosine threshold for `compare`: the best threshold over all 6000 LFW pairs of the shipped
 * MobileFaceNet under the default pipeline (YuNet-640, flip fusion): squared-L2 1.44 =
 * cosine 0.28 (docs/results/lfw_report.json, README "Evaluation"). */
#define CLI_DEFAULT_COS_THRESHOLD 0.28f

typedef struct {
    const char *model, *detector, *list, *root, *out, *pick;
    int aligned, flip, progress;
    float threshold;
    lqf_contract_spec contract;
} embed_opts;

static int parse_common(int argc, char **argv, int *i, embed_opts *o) {
    if (!strcmp(argv[*i], "--aligned")) return o->aligned = 1;
    if (!strcmp(argv[*i], "--flip")) return o->flip = 1;
    if (!strcmp(argv[*i], "--no-flip")) {
        o->flip = 0;
        return 1;
    }
    if (!strcmp(argv[*i], "--progress")) return o->progress = 1;
    return cli_opt_str(argc, argv, i, "-m", &o->model) || cli_opt_str(argc, argv, i, "--model", &o->model) ||
           cli_opt_str(argc, argv, i, "-d", &o->detector) || cli_opt_str(argc, argv, i, "--detector", &o->detector) ||
           cli_opt_str(argc, argv, i, "--pick", &o->pick) || cli_opt_float(argc, argv, i, "--threshold", &o->threshold) ||
           cli_contract_opt(argc, argv, i, &o->contract);
}

/* The embedder and (unless --aligned) the detector; *size: the side faces are aligned to. */
static int open_models(const char *cmd, const embed_opts *o, lqf_embedder **emb, lqf_detector **det, int *size) {
    *det = NULL;
    if (cli_embedder_open(cmd, o->model, &o->contract, o->flip, emb)) return -1;
    lqf_input_contract c;
    lqf_embedder_contract(*emb, &c);
    *size = c.width;
    if (o->aligned) return 0;
    const char *dpath = o->detector ? o->detector : cli_model_path(LQF_DEFAULT_DETECTOR);
    lqf_status st = dpath ? lqf_detector_load(dpath, NULL, det) : LQF_ERR_IO;
    if (st) {
        if (dpath) cli_error(cmd, st);
        lqf_embedder_free(*emb);
        return -1;
    }
    return 0;
}

static void progress(int done, int total, double t0) {
    double el = lqf_now() - t0, rate = done / (el > 0 ? el : 1e-9);
    int w = 30, fill = total ? (int)((double)w * done / total) : w;
    fprintf(stderr, "\r[");
    for (int k = 0; k < w; k++) fputc(k < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %d/%d  %.1f photos/s  ETA %.0f s ", done, total, rate, rate > 0 ? (total - done) / rate : 0);
    if (done == total) fputc('\n', stderr);
}

int cmd_embed(int argc, char **argv) {
    embed_opts o = {0};
    o.pick = "center";
    o.progress = isatty(2);
    cli_list in = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface embed IMG|DIR... [-m MODEL.onnx] [-d DETECTOR.onnx] [--aligned] [--flip]\n"
                   "                    [--pick center|score|largest] [--list FILE [--root DIR]] [-o PREFIX]\n"
                   "Without -o: one JSON line per photo {file, quality, score, embedding} or {file, error}.\n"
                   "With -o PREFIX: PREFIX.f32 (one float32 row per input, zeros where it failed) and\n"
                   "PREFIX.tsv (path, status, quality = feature norm, detection score).\n"
                   "--aligned: inputs are already aligned faces (112x112 unless --input-size). --flip: flip fusion.\n"
                   CLI_CONTRACT_HELP
                   "Exit status: 0 all embedded, 3 some inputs failed, 1 none embedded, 2 usage.\n");
            return 0;
        }
        if (parse_common(argc, argv, &i, &o) || cli_opt_str(argc, argv, &i, "--list", &o.list) ||
            cli_opt_str(argc, argv, &i, "--root", &o.root) || cli_opt_str(argc, argv, &i, "-o", &o.out))
            continue;
        if (cli_positional(argv[i], &in)) return 2;
    }
    lqf_face_pick pick;
    if (cli_parse_pick(o.pick, &pick)) return 2;
    if (o.list && cli_read_list(o.list, o.root, &in)) return 2;
    if (in.n == 0) {
        fprintf(stderr, "lqface embed: no input images (see lqface embed --help)\n");
        return 2;
    }
    lqf_embedder *emb;
    lqf_detector *det;
    int size;
    if (open_models("embed", &o, &emb, &det, &size)) {
        cli_list_free(&in);
        return 1;
    }
    int D = lqf_embedder_dim(emb);
    FILE *fbin = NULL, *ftsv = NULL;
    if (o.out) {
        size_t n = strlen(o.out) + 8;
        char *pb = malloc(n), *pt = malloc(n);
        snprintf(pb, n, "%s.f32", o.out);
        snprintf(pt, n, "%s.tsv", o.out);
        fbin = fopen(pb, "wb");
        ftsv = fopen(pt, "w");
        if (!fbin || !ftsv) {
            fprintf(stderr, "lqface embed: cannot write %s / %s\n", pb, pt);
            if (fbin) fclose(fbin);
            if (ftsv) fclose(ftsv);
            free(pb);
            free(pt);
            lqf_embedder_free(emb);
            lqf_detector_free(det);
            cli_list_free(&in);
            return 1;
        }
        fprintf(ftsv, "path\tstatus\tquality\tdet_score\n");
        free(pb);
        free(pt);
    }
    float *vec = calloc((size_t)CHUNK * D, sizeof(float)), *q = calloc(CHUNK, sizeof(float));
    float *zero = calloc((size_t)D, sizeof(float));
    int ok = 0, noface = 0, bad = 0;
    double t0 = lqf_now();
    for (int base = 0; base < in.n; base += CHUNK) {
        int b = in.n - base < CHUNK ? in.n - base : CHUNK;
        lqf_image *crops[CHUNK];
        lqf_face faces[CHUNK];
        lqf_status st_of[CHUNK];
        char *msg[CHUNK];
        int m = 0, slot[CHUNK];
        for (int j = 0; j < b; j++) {
            faces[j].score = 1.0f;
            st_of[j] = lqf_load_aligned_face(det, in.v[base + j], pick, size, LQF_RGB, &crops[j], &faces[j]);
            msg[j] = st_of[j] ? strdup(lqf_last_error()) : NULL;
            if (!st_of[j]) slot[j] = m++;
        }
        const lqf_image *batch[CHUNK];
        for (int j = 0, k = 0; j < b; j++)
            if (!st_of[j]) batch[k++] = crops[j];
        lqf_status est = m ? lqf_embedder_embed(emb, batch, m, vec, q) : LQF_OK;
        for (int j = 0; j < b; j++) {
            const char *path = in.v[base + j];
            lqf_status st = st_of[j] ? st_of[j] : est;
            if (st && !msg[j]) msg[j] = strdup(lqf_last_error());
            if (st == LQF_ERR_NOFACE) noface++;
            else if (st) bad++;
            else ok++;
            if (st) fprintf(stderr, "%slqface embed: %s\n", o.progress ? "\n" : "", msg[j]);
            const float *v = st ? zero : vec + (size_t)slot[j] * D;
            float qual = st ? 0.0f : q[slot[j]];
            if (fbin) {
                fwrite(v, sizeof(float), (size_t)D, fbin);
                fprintf(ftsv, "%s\t%s\t%.5f\t%.5f\n", path, st ? (st == LQF_ERR_NOFACE ? "noface" : "error") : "ok",
                        qual, st ? 0.0f : faces[j].score);
            } else {
                printf("{\"file\":");
                lqf_json_write_str(stdout, path);
                if (st) {
                    printf(",\"error\":");
                    lqf_json_write_str(stdout, msg[j]);
                } else {
                    printf(",\"quality\":%.5f,\"score\":%.5f,\"embedding\":[", qual, faces[j].score);
                    for (int d = 0; d < D; d++) printf("%s%.7g", d ? "," : "", v[d]);
                    putchar(']');
                }
                printf("}\n");
            }
            free(msg[j]);
            if (!st_of[j]) lqf_image_free(crops[j]);
        }
        if (o.progress) progress(base + b, in.n, t0);
    }
    double el = lqf_now() - t0;
    fprintf(stderr, "lqface embed: %d photos: %d embedded, %d without a face, %d failed (%.1f s, %.1f photos/s)\n",
            in.n, ok, noface, bad, el, in.n / (el > 0 ? el : 1e-9));
    if (fbin) fclose(fbin);
    if (ftsv) fclose(ftsv);
    free(vec);
    free(q);
    free(zero);
    lqf_embedder_free(emb);
    lqf_detector_free(det);
    int total = in.n;
    cli_list_free(&in);
    return ok == total ? 0 : (ok == 0 ? 1 : 3);
}

int cmd_compare(int argc, char **argv) {
    embed_opts o = {0};
    o.pick = "center";
    o.threshold = CLI_DEFAULT_COS_THRESHOLD;
    o.flip = 1; /* the default threshold was measured on flip-fused embeddings */
    int json = 0;
    const char *files[2];
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface compare A B [-m MODEL.onnx] [-d DETECTOR.onnx] [--aligned] [--no-flip]\n"
                   "                      [--pick center|score|largest] [--threshold COS] [--json]\n"
                   CLI_CONTRACT_HELP
                   "Prints the cosine similarity, the squared-L2 distance (= 2 - 2 cos) and the decision\n"
                   "at the cosine threshold (default %.2f, the shipped model's best LFW threshold with\n"
                   "flip fusion, which compare uses unless --no-flip).\n"
                   "Exit status: 0 same person, 4 different, 1 error, 2 usage.\n",
                   CLI_DEFAULT_COS_THRESHOLD);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if (parse_common(argc, argv, &i, &o)) continue;
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "lqface compare: unknown option '%s'\n", argv[i]);
            return 2;
        }
        if (nf == 2) {
            fprintf(stderr, "lqface compare: exactly two images are compared\n");
            return 2;
        }
        files[nf++] = argv[i];
    }
    if (nf != 2) {
        fprintf(stderr, "lqface compare: need two images (see lqface compare --help)\n");
        return 2;
    }
    lqf_face_pick pick;
    if (cli_parse_pick(o.pick, &pick)) return 2;
    lqf_embedder *emb;
    lqf_detector *det;
    int size;
    if (open_models("compare", &o, &emb, &det, &size)) return 1;
    int D = lqf_embedder_dim(emb), rc = 1;
    lqf_image *crop[2] = {NULL, NULL};
    float *v = calloc((size_t)2 * D, sizeof(float)), q[2];
    lqf_status st = LQF_OK;
    for (int k = 0; k < 2 && !st; k++) st = lqf_load_aligned_face(det, files[k], pick, size, LQF_RGB, &crop[k], NULL);
    if (!st) st = lqf_embedder_embed(emb, (const lqf_image *const *)crop, 2, v, q);
    if (st) {
        cli_error("compare", st);
    } else {
        float cs = lqf_cosine(v, v + D, D);
        int same = cs >= o.threshold;
        if (json) {
            printf("{\"a\":");
            lqf_json_write_str(stdout, files[0]);
            printf(",\"b\":");
            lqf_json_write_str(stdout, files[1]);
            printf(",\"cosine\":%.6f,\"squared_l2\":%.6f,\"threshold_cosine\":%.4f,\"threshold_squared_l2\":%.4f,"
                   "\"same\":%s,\"quality_a\":%.4f,\"quality_b\":%.4f}\n",
                   cs, 2.0f - 2.0f * cs, o.threshold, 2.0f - 2.0f * o.threshold, same ? "true" : "false", q[0], q[1]);
        } else {
            printf("cosine %.4f   squared-L2 %.4f   => %s (threshold: cosine %.3f = squared-L2 %.3f)\n", cs,
                   2.0f - 2.0f * cs, same ? "SAME person" : "DIFFERENT people", o.threshold, 2.0f - 2.0f * o.threshold);
            printf("quality (feature norm): %s %.3f   %s %.3f\n", files[0], q[0], files[1], q[1]);
        }
        rc = same ? 0 : 4;
    }
    lqf_image_free(crop[0]);
    lqf_image_free(crop[1]);
    free(v);
    lqf_embedder_free(emb);
    lqf_detector_free(det);
    return rc;
}
