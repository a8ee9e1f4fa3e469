/*
 * cmd_bench.c — `lqface bench`: throughput of the embedding network at a batch size
 * (images/s, median over repeated runs after a warm-up) or of detection per photo
 * (letterbox + network + decode + NMS on real photos), with the process's peak RSS.
 * One measurement per invocation so the peak RSS belongs to that measurement alone.
 */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

int cmd_bench(int argc, char **argv) {
    const char *model = NULL, *det_path = NULL, *what = "embed", *photos = NULL, *size = NULL;
    int batch = 32, threads = 0, n_photos = 50;
    float seconds = 5.0f;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: lqface bench [--what embed|detect] [-m MODEL.onnx [--input-size S|WxH]] [--batch 32]\n"
                   "                    [--threads N] [--seconds 5] [-d DETECTOR.onnx --photos DIR --n-photos 50]\n"
                   "--input-size: the size an embedding model with open height and width runs at.\n"
                   "Prints one JSON line: images/s (median), median ms per run, peak RSS in MB.\n");
            return 0;
        }
        if (cli_opt_str(argc, argv, &i, "--what", &what) || cli_opt_str(argc, argv, &i, "-m", &model) ||
            cli_opt_str(argc, argv, &i, "-d", &det_path) || cli_opt_str(argc, argv, &i, "--photos", &photos) ||
            cli_opt_int(argc, argv, &i, "--batch", &batch) || cli_opt_int(argc, argv, &i, "--threads", &threads) ||
            cli_opt_int(argc, argv, &i, "--n-photos", &n_photos) || cli_opt_str(argc, argv, &i, "--input-size", &size) ||
            cli_opt_float(argc, argv, &i, "--seconds", &seconds))
            continue;
        fprintf(stderr, "lqface bench: unknown argument '%s'\n", argv[i]);
        return 2;
    }
    if (threads > 0) lqf_set_num_threads(threads);
    double times[100000];
    int nt = 0;
    if (!strcmp(what, "embed")) {
        if (!model && !(model = cli_model_path(LQF_DEFAULT_EMBEDDER))) return 1;
        lqf_net *net;
        lqf_contract_spec sz = {0};
        lqf_status st = size ? lqf_contract_set(&sz, "size", size) : LQF_OK;
        if (st) {
            cli_error("bench", st);
            return 2;
        }
        if ((st = lqf_net_load(model, &net)) || (size && (st = lqf_net_set_input_size(net, sz.c.height, sz.c.width)))) {
            cli_error("bench", st);
            lqf_net_free(net);
            return 1;
        }
        int64_t d[8];
        int nd = lqf_net_input_shape(net, 0, batch, d);
        size_t nin = 1, nout = 1;
        for (int k = 0; k < nd; k++) nin *= (size_t)d[k];
        nd = lqf_net_output_shape(net, 0, batch, d);
        for (int k = 0; k < nd; k++) nout *= (size_t)d[k];
        float *in = malloc(nin * sizeof(float)), *out = malloc(nout * sizeof(float));
        for (size_t k = 0; k < nin; k++) in[k] = (float)(0.9 * sin(0.001 * (double)k));
        const float *ins[1] = {in};
        float *outs[1] = {out};
        for (int w = 0; w < 3; w++)
            if ((st = lqf_net_run(net, batch, ins, outs))) {
                cli_error("bench", st);
                return 1;
            }
        double t_end = lqf_now() + seconds;
        while ((lqf_now() < t_end || nt < 5) && nt < 100000) {
            double t = lqf_now();
            lqf_net_run(net, batch, ins, outs);
            times[nt++] = lqf_now() - t;
        }
        double med = median(times, nt);
        printf("{\"what\":\"embed\",\"model\":");
        lqf_json_write_str(stdout, model);
        printf(",\"batch\":%d,\"threads\":%d,\"runs\":%d,\"median_ms\":%.3f,\"images_per_s\":%.1f,"
               "\"peak_rss_mb\":%.1f}\n",
               batch, lqf_get_num_threads(), nt, med * 1e3, batch / med, peak_rss_mb());
        free(in);
        free(out);
        lqf_net_free(net);
        return 0;
    }
    if (!strcmp(what, "detect")) {
        if (!det_path && !(det_path = cli_model_path(LQF_DEFAULT_DETECTOR))) return 1;
        cli_list files = {0};
        if (!photos) {
            fprintf(stderr, "lqface bench: --what detect needs --photos DIR\n");
            return 2;
        }
        if (cli_expand_path(photos, &files)) return 1;
        while (files.n > n_photos) free(files.v[--files.n]);
        lqf_image **imgs = calloc((size_t)files.n, sizeof *imgs);
        for (int k = 0; k < files.n; k++) {
            lqf_status st = lqf_image_load(files.v[k], LQF_RGB, &imgs[k]);
            if (st) {
                cli_error("bench", st);
                return 1;
            }
        }
        lqf_detector *det;
        lqf_status st = lqf_detector_load(det_path, NULL, &det);
        if (st) {
            cli_error("bench", st);
            return 1;
        }
        lqf_face *faces;
        int n;
        for (int k = 0; k < files.n && k < 3; k++) {
            lqf_detect(det, imgs[k], &faces, &n);
            free(faces);
        }
        double t_end = lqf_now() + seconds;
        long total_faces = 0;
        while ((lqf_now() < t_end || nt < files.n) && nt < 100000) {
            double t = lqf_now();
            lqf_detect(det, imgs[nt % files.n], &faces, &n);
            times[nt++] = lqf_now() - t;
            total_faces += n;
            free(faces);
        }
        double med = median(times, nt);
        printf("{\"what\":\"detect\",\"model\":");
        lqf_json_write_str(stdout, det_path);
        printf(",\"photos\":%d,\"threads\":%d,\"runs\":%d,\"median_ms\":%.3f,\"photos_per_s\":%.1f,"
               "\"faces_per_photo\":%.2f,\"peak_rss_mb\":%.1f}\n",
               files.n, lqf_get_num_threads(), nt, med * 1e3, 1.0 / med, (double)total_faces / nt, peak_rss_mb());
        for (int k = 0; k < files.n; k++) lqf_image_free(imgs[k]);
        free(imgs);
        lqf_detector_free(det);
        cli_list_free(&files);
        return 0;
    }
    fprintf(stderr, "lqface bench: --what must be embed or detect\n");
    return 2;
}
