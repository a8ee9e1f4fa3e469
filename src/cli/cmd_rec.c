/*
 * cmd_rec.c — `lqface rec pack ROOT -o PREFIX [--plain] [--size WxH]` packs an image folder
 * (ROOT/identity/image) into an MXNet RecordIO training set (PREFIX.rec, PREFIX.idx and the
 * property file) with insightface's meta-record layout (or plain im2rec with --plain);
 * `lqface rec check FILE.rec [--json]` reads every record and reports the first problem.
 * A thin layer over lqf_rec_pack / lqf_rec_check.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void rec_usage(FILE *f) {
    fprintf(f, "usage: lqface rec pack ROOT -o PREFIX [--plain] [--size WxH]\n"
               "       lqface rec check FILE.rec [--json]\n\n"
               "pack: identities = sub-directories of ROOT sorted by name (labels 0..K-1), images sorted\n"
               "      and stored byte for byte; writes PREFIX.rec, PREFIX.idx and <dir of PREFIX>/property.\n"
               "      --plain: plain im2rec layout (no meta record); --size: property size (default: from\n"
               "      the first image).\n"
               "check: reads every record of a pack (framing, headers, labels, images); exit 1 on the\n"
               "      first problem, naming the byte offset.\n");
}

static int rec_pack(int argc, char **argv) {
    const char *root = NULL, *prefix = NULL, *size = NULL;
    lqf_rec_pack_options o = {0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            rec_usage(stdout);
            return 0;
        }
        if (cli_opt_str(argc, argv, &i, "-o", &prefix) || cli_opt_str(argc, argv, &i, "--size", &size)) continue;
        if (!strcmp(argv[i], "--plain")) o.plain = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "lqface rec pack: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (!root) root = argv[i];
        else {
            fprintf(stderr, "lqface rec pack: one folder only (got '%s' and '%s')\n", root, argv[i]);
            return 2;
        }
    }
    if (!root || !prefix) {
        fprintf(stderr, "lqface rec pack: need ROOT and -o PREFIX (see lqface rec --help)\n");
        return 2;
    }
    if (size && (sscanf(size, "%dx%d", &o.width, &o.height) != 2 || o.width <= 0 || o.height <= 0)) {
        fprintf(stderr, "lqface rec pack: --size wants WxH (got '%s')\n", size);
        return 2;
    }
    size_t n = 0;
    int k = 0;
    double t0 = lqf_now();
    lqf_status st = lqf_rec_pack(root, prefix, &o, &n, &k);
    if (st) {
        cli_error("rec pack", st);
        return 1;
    }
    printf("packed %zu images of %d identities into %s.rec (+ .idx, property; %s layout) in %.1f s\n", n, k, prefix,
           o.plain ? "plain im2rec" : "insightface", lqf_now() - t0);
    return 0;
}

static int rec_check(int argc, char **argv) {
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            rec_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "lqface rec check: unknown option '%s'\n", argv[i]);
            return 2;
        } else path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "lqface rec check: need a .rec file (see lqface rec --help)\n");
        return 2;
    }
    lqf_rec_summary s;
    lqf_status st = lqf_rec_check(path, &s);
    if (st) {
        cli_error("rec check", st);
        return 1;
    }
    if (json) {
        printf("{\"file\": ");
        lqf_json_write_str(stdout, path);
        printf(", \"bytes\": %llu, \"records\": %zu, \"split_records\": %zu, \"images\": %zu, \"num_classes\": %d, "
               "\"has_idx\": %s, \"has_meta\": %s, \"ok\": true}\n",
               (unsigned long long)s.bytes, s.records, s.split_records, s.images, s.num_classes,
               s.has_idx ? "true" : "false", s.has_meta ? "true" : "false");
    } else {
        printf("%s: ok — %zu images, %d classes, %zu records (%zu split), %llu bytes, %s, %s\n", path, s.images,
               s.num_classes, s.records, s.split_records, (unsigned long long)s.bytes,
               s.has_meta ? "insightface meta record" : "plain im2rec", s.has_idx ? "indexed by .idx" : "no .idx (scanned)");
    }
    return 0;
}

int cmd_rec(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        rec_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "pack")) return rec_pack(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check")) return rec_check(argc - 1, argv + 1);
    fprintf(stderr, "lqface rec: unknown subcommand '%s' (pack or check)\n", argv[1]);
    return 2;
}
