/*
 * cmd_detect.c — `lqface detect` (faces as JSON lines, optional drawing) and `lqface align`
 * (aligned crops written as PNG). A bad image is reported and the others go on; the exit
 * code is 1 when any input failed.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void put_px(lqf_image *im, int x, int y, const uint8_t rgb[3]) {
    if (x < 0 || y < 0 || x >= im->width || y >= im->height) return;
    uint8_t *p = im->data + ((size_t)y * im->width + x) * 3;
    for (int c = 0; c < 3; c++) p[c] = rgb[im->order == LQF_RGB ? c : 2 - c];
}

static void draw_face(lqf_image *im, const lqf_face *f) {
    static const uint8_t green[3] = {0, 255, 0}, red[3] = {255, 0, 0};
    int t = im->width > 400 ? 2 : 1;
    int x1 = (int)f->x1, y1 = (int)f->y1, x2 = (int)f->x2, y2 = (int)f->y2;
    for (int k = 0; k < t; k++) {
        for (int x = x1; x <= x2; x++) {
            put_px(im, x, y1 + k, green);
            put_px(im, x, y2 - k, green);
        }
        for (int y = y1; y <= y2; y++) {
            put_px(im, x1 + k, y, green);
            put_px(im, x2 - k, y, green);
        }
    }
    for (int p = 0; p < 5; p++)
        for (int dy = -t; dy <= t; dy++)
            for (int dx = -t; dx <= t; dx++)
                put_px(im, (int)(f->landmarks[2 * p] + 0.5f) + dx, (int)(f->landmarks[2 * p + 1] + 0.5f) + dy, red);
}

static void print_face_json(FILE *o, const lqf_face *f) {
    fprintf(o, "{\"box\":[%.2f,%.2f,%.2f,%.2f],\"score\":%.5f,\"landmarks\":[", f->x1, f->y1, f->x2, f->y2,
            f->score);
    for (int k = 0; k < 10; k++) fprintf(o, "%s%.2f", k ? "," : "", f->landmarks[k]);
    fprintf(o, "]}");
}

int cmd_detect(int argc, char **argv) {
    const char *det_path = NULL, *draw = NULL, *list = NULL, *root = NULL;
    lqf_detect_options o;
    lqf_detect_options_default(&o);
    cli_list in = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface detect IMG|DIR... [-d DETECTOR.onnx] [--threshold 0.6] [--nms 0.3]\n"
                   "                     [--max-faces N] [--list FILE [--root DIR]] [--draw OUT.png]\n"
                   "One JSON line per image: file, width, height, faces [{box [x1,y1,x2,y2], score,\n"
                   "landmarks [x,y x5: left eye, right eye, nose, left mouth, right mouth]}].\n");
            return 0;
        }
        if (cli_opt_str(argc, argv, &i, "-d", &det_path) || cli_opt_str(argc, argv, &i, "--detector", &det_path) ||
            cli_opt_float(argc, argv, &i, "--threshold", &o.score_threshold) ||
            cli_opt_float(argc, argv, &i, "--nms", &o.nms_threshold) ||
            cli_opt_int(argc, argv, &i, "--max-faces", &o.max_faces) || cli_opt_str(argc, argv, &i, "--draw", &draw) ||
            cli_opt_str(argc, argv, &i, "--list", &list) || cli_opt_str(argc, argv, &i, "--root", &root))
            continue;
        if (cli_positional(argv[i], &in)) return 2;
    }
    if (list && cli_read_list(list, root, &in)) return 2;
    if (in.n == 0) {
        fprintf(stderr, "lqface detect: no input images (see lqface detect --help)\n");
        return 2;
    }
    if (draw && in.n != 1) {
        fprintf(stderr, "lqface detect: --draw needs exactly one input image\n");
        return 2;
    }
    if (!det_path && !(det_path = cli_model_path(LQF_DEFAULT_DETECTOR))) {
        cli_list_free(&in);
        return 1;
    }
    lqf_detector *det;
    lqf_status st = lqf_detector_load(det_path, &o, &det);
    if (st) {
        cli_error("detect", st);
        cli_list_free(&in);
        return 1;
    }
    int failed = 0;
    for (int k = 0; k < in.n; k++) {
        lqf_image *img = NULL;
        st = lqf_image_load(in.v[k], LQF_RGB, &img);
        lqf_face *faces = NULL;
        int n = 0;
        if (!st) st = lqf_detect(det, img, &faces, &n);
        printf("{\"file\":");
        lqf_json_write_str(stdout, in.v[k]);
        if (st) {
            printf(",\"error\":");
            lqf_json_write_str(stdout, lqf_last_error());
            printf("}\n");
            cli_error("detect", st);
            failed++;
            lqf_image_free(img);
            continue;
        }
        printf(",\"width\":%d,\"height\":%d,\"faces\":[", img->width, img->height);
        for (int f = 0; f < n; f++) {
            if (f) putchar(',');
            print_face_json(stdout, &faces[f]);
        }
        printf("]}\n");
        if (draw) {
            for (int f = 0; f < n; f++) draw_face(img, &faces[f]);
            st = lqf_image_save(img, draw);
            if (st) {
                cli_error("detect", st);
                failed++;
            }
        }
        free(faces);
        lqf_image_free(img);
    }
    fflush(stdout);
    lqf_detector_free(det);
    cli_list_free(&in);
    return failed ? 1 : 0;
}

static void stem_of(const char *path, char *out, size_t n) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    const char *b = basename(tmp);
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot) *dot = 0;
}

int cmd_align(int argc, char **argv) {
    const char *det_path = NULL, *outdir = NULL, *list = NULL, *root = NULL, *pick_s = "center";
    int size = 112, all = 0;
    lqf_detect_options o;
    lqf_detect_options_default(&o);
    cli_list in = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface align IMG|DIR... -o OUTDIR [-d DETECTOR.onnx] [--size 112]\n"
                   "                    [--pick center|score|largest | --all] [--threshold 0.6]\n"
                   "                    [--list FILE [--root DIR]]\n"
                   "Writes OUTDIR/<name>.png (or <name>_<k>.png with --all), aligned to the ArcFace template.\n");
            return 0;
        }
        if (!strcmp(argv[i], "--all")) {
            all = 1;
            continue;
        }
        if (cli_opt_str(argc, argv, &i, "-d", &det_path) || cli_opt_str(argc, argv, &i, "--detector", &det_path) ||
            cli_opt_str(argc, argv, &i, "-o", &outdir) || cli_opt_int(argc, argv, &i, "--size", &size) ||
            cli_opt_str(argc, argv, &i, "--pick", &pick_s) ||
            cli_opt_float(argc, argv, &i, "--threshold", &o.score_threshold) ||
            cli_opt_str(argc, argv, &i, "--list", &list) || cli_opt_str(argc, argv, &i, "--root", &root))
            continue;
        if (cli_positional(argv[i], &in)) return 2;
    }
    lqf_face_pick pick;
    if (cli_parse_pick(pick_s, &pick)) return 2;
    if (list && cli_read_list(list, root, &in)) return 2;
    if (!outdir || in.n == 0) {
        fprintf(stderr, "lqface align: need input images and -o OUTDIR (see lqface align --help)\n");
        return 2;
    }
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "lqface align: %s: cannot create directory: %s\n", outdir, strerror(errno));
        cli_list_free(&in);
        return 1;
    }
    if (!det_path && !(det_path = cli_model_path(LQF_DEFAULT_DETECTOR))) {
        cli_list_free(&in);
        return 1;
    }
    lqf_detector *det;
    lqf_status st = lqf_detector_load(det_path, &o, &det);
    if (st) {
        cli_error("align", st);
        cli_list_free(&in);
        return 1;
    }
    int failed = 0, written = 0;
    for (int k = 0; k < in.n; k++) {
        char stem[1024], out[8192];
        stem_of(in.v[k], stem, sizeof stem);
        if (!all) {
            lqf_image *crop;
            st = lqf_load_aligned_face(det, in.v[k], pick, size, LQF_RGB, &crop, NULL);
            if (st) {
                cli_error("align", st);
                failed++;
                continue;
            }
            snprintf(out, sizeof out, "%s/%s.png", outdir, stem);
            st = lqf_image_save(crop, out);
            lqf_image_free(crop);
            if (st) {
                cli_error("align", st);
                failed++;
            } else {
                written++;
            }
            continue;
        }
        lqf_image *img;
        lqf_face *faces = NULL;
        int n = 0;
        st = lqf_image_load(in.v[k], LQF_RGB, &img);
        if (!st) {
            st = lqf_detect(det, img, &faces, &n);
            if (st) lqf_image_free(img);
        }
        if (st) {
            cli_error("align", st);
            failed++;
            continue;
        }
        if (n == 0) fprintf(stderr, "lqface align: %s: no face found\n", in.v[k]);
        for (int f = 0; f < n; f++) {
            lqf_image *crop;
            st = lqf_align_face(img, faces[f].landmarks, size, &crop);
            if (!st) {
                snprintf(out, sizeof out, "%s/%s_%d.png", outdir, stem, f);
                st = lqf_image_save(crop, out);
                lqf_image_free(crop);
            }
            if (st) {
                cli_error("align", st);
                failed++;
            } else {
                written++;
            }
        }
        free(faces);
        lqf_image_free(img);
    }
    fprintf(stderr, "lqface align: %d crops written to %s, %d inputs failed\n", written, outdir, failed);
    lqf_detector_free(det);
    cli_list_free(&in);
    return failed ? 1 : 0;
}
