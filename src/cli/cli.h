/*
 * cli.h — helpers shared by the `lqface` subcommands: default model paths, expansion of
 * file/directory/list arguments into a path list, option parsing, progress bars. JSON string
 * literals come from core/text.h (lqf_json_write_str).
 * Only the CLI may print and choose exit codes; the library reports through statuses.
 */
#ifndef LQF_CLI_H
#define LQF_CLI_H

#include "lqface.h"
#include "core/text.h"
#include <stdio.h>

typedef struct {
    char **v;
    int n, cap;
} cli_list;

void cli_list_push(cli_list *l, const char *s);
void cli_list_free(cli_list *l);
/* Expand a file or a directory (recursively: .jpg .jpeg .png .pgm .ppm, sorted) into l.
 * Returns 0, or -1 after printing an error if the path does not exist. */
int cli_expand_path(const char *path, cli_list *l);
/* Read one path per line (blank lines and #comments skipped), prefixed with root if given. */
/* A positional argument: an image or a directory; rejects unknown -options. */
int cli_positional(const char *arg, cli_list *l);
int cli_read_list(const char *file, const char *root, cli_list *l);

/* Path of a shipped model: $LQFACE_MODELS/name, else $LQFACE_SHARED/models/name, else
 * ../shared/models/name. Static buffer. */
const char *cli_model_path(const char *name);
#define CLI_DEFAULT_EMBEDDER "mobilefacenet_fr512.onnx"
#define CLI_DEFAULT_DETECTOR "yunet_n_640_640.onnx"

/* A progress bar of `width` cells into buf (width + 1 bytes): done/total of them '#', the
 * rest '.'; total <= 0 fills it. */
void cli_bar(char *buf, int width, double done, double total);
/* Report a failed library call: "lqface <cmd>: <message>" on stderr. */
void cli_error(const char *cmd, lqf_status st);
/* Parse helpers: return 1 and advance *i when argv[*i] == name and a value follows. */
int cli_opt_str(int argc, char **argv, int *i, const char *name, const char **val);
int cli_opt_int(int argc, char **argv, int *i, const char *name, int *val);
int cli_opt_float(int argc, char **argv, int *i, const char *name, float *val);
int cli_parse_pick(const char *s, lqf_face_pick *p);

int cmd_detect(int argc, char **argv);
int cmd_align(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_degrade(int argc, char **argv);
int cmd_rec(int argc, char **argv);
int cmd_train(int argc, char **argv);

#endif
