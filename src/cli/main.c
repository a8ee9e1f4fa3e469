/*
 * main.c — entry point of the `lqface` command-line tool: dispatches to the subcommands.
 * Every subcommand is a thin layer over the library in include/lqface.h.
 */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

static const command commands[] = {
    {"detect", cmd_detect, "detect IMG|DIR...          faces (box, score, 5 landmarks) as JSON lines; --draw OUT.png"},
    {"align", cmd_align, "align IMG|DIR... -o DIR     aligned 112x112 crops (PNG)"},
    {"embed", cmd_embed, "embed IMG|DIR... [-o PREFIX] embeddings + quality (JSON lines, or PREFIX.f32 + PREFIX.tsv)"},
    {"compare", cmd_compare, "compare A B                 cosine similarity and same/different at a threshold"},
    {"eval", cmd_eval, "eval verify|ident ...       LFW/.bin/CFP verification, identification, degradation sweeps"},
    {"degrade", cmd_degrade, "degrade IMG -o OUT.png      a face degraded exactly as the evaluation sweeps do"},
    {"rec", cmd_rec, "rec pack ROOT -o PREFIX     pack an image folder into RecordIO (rec check FILE.rec: verify one)"},
    {"train", cmd_train, "train --config FILE [--KEY V] train a face-embedding network (checkpoints, resume, validation)"},
    {"info", cmd_info, "info [MODEL]                operators, parameters, multiply-adds, shapes, input contract"},
    {"bench", cmd_bench, "bench                       embedding and detection throughput (images/s, peak RSS)"},
};

static void usage(FILE *f) {
    fprintf(f, "lqface %s — face recognition for low-quality faces\n\nusage: lqface COMMAND [options]\n\n", LQF_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) fprintf(f, "  lqface %s\n", commands[i].help);
    fprintf(f, "\nRun 'lqface COMMAND --help' for a command's options.\n"
               "Models: -m / -d, else $LQFACE_MODELS, else $LQFACE_SHARED/models, <prefix>/share/lqface/models\n"
               "of the installation, the build tree's ../shared/models (lqface info prints which).\n");
}

/* OpenMP threads that spin while waiting collapse throughput when the machine is shared
 * (measured here: LFW detection fell from ~52 to ~3 photos/s under load). libgomp reads its
 * wait policy before main runs, so the tool re-executes itself once with
 * OMP_WAIT_POLICY=PASSIVE unless the user chose a policy. */
static void passive_threads(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("LQFACE_NO_REEXEC")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    setenv("LQFACE_NO_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on with the default policy */
}

int main(int argc, char **argv) {
    passive_threads(argv);
    /* a file-size limit (ulimit -f) makes writes fail with EFBIG, which the library reports
     * naming the file, instead of killing the process */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lqface %s\n", LQF_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "lqface: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
