/*
 * detector.c — the public face detector (lqf_detector_load / lqf_detect): loads an ONNX
 * detector through the network API, reads its input size S from the input shape, letterboxes
 * each image (any size, RGB or BGR) into SxS BGR, runs the network and decodes. The model
 * kind is recognised by its outputs: YuNet has 12 named outputs (cls_8..32, obj_*, bbox_*,
 * kps_*; input 0..255, decoded by lqf_yunet_decode); RetinaFace has 3 outputs shaped (1,P,4)
 * loc, (1,P,2) conf, (1,P,10) landmarks over P priors of an SxS input (input minus
 * (104,117,123), decoded by lqf_retina_decode). The letterbox is written straight into the
 * inference executor's input buffer in its physical layout (nn/net.h), and outputs are read
 * from the executor's buffers when they are dense. A detector owns its executor and buffers,
 * so it must not be used by two threads at once.
 */
#include "detect/yunet.h"
#include "core/core.h"
#include "nn/net.h"

#include <math.h>
#include <string.h>

typedef enum { DET_YUNET, DET_RETINA } det_kind;

struct lqf_detector {
    lqf_net *net;
    det_kind kind;
    lqf_detect_options opts;
    int S;                 /* network input is 1x3xSxS */
    int n_out;             /* outputs of the network */
    float **out_bufs;      /* n_out dense copies, used when an output buffer is not dense */
    int n_used;            /* 12 (YuNet) or 3 (RetinaFace) */
    int out_index[12];     /* YuNet: cls_8,16,32, obj_*, bbox_*, kps_*; RetinaFace: loc, conf,
                              landm (network output indices) */
    char *path;            /* for messages */
};

void lqf_detect_options_default(lqf_detect_options *o) {
    if (!o) return;
    o->score_threshold = 0.6f;
    o->nms_threshold = 0.3f;
    o->top_k = 5000;
    o->max_faces = 0;
}

void lqf_detector_free(lqf_detector *d) {
    if (!d) return;
    if (d->out_bufs)
        for (int i = 0; i < d->n_out; i++) lqf_free(d->out_bufs[i]);
    free(d->out_bufs);
    lqf_net_free(d->net);
    free(d->path);
    free(d);
}

static lqf_status check_options(const lqf_detect_options *o, const char *path) {
    if (!(o->score_threshold >= 0.f && o->score_threshold <= 1.f))
        return lqf_fail(LQF_ERR_ARG, "%s: score_threshold %g is outside [0, 1]", path, o->score_threshold);
    if (!(o->nms_threshold >= 0.f && o->nms_threshold <= 1.f))
        return lqf_fail(LQF_ERR_ARG, "%s: nms_threshold %g is outside [0, 1]", path, o->nms_threshold);
    if (o->top_k < 0 || o->max_faces < 0)
        return lqf_fail(LQF_ERR_ARG, "%s: top_k (%d) and max_faces (%d) must be >= 0", path, o->top_k,
                        o->max_faces);
    return LQF_OK;
}

/* Index of the output named `name`, or -1. */
static int find_output(const lqf_detector *d, const char *name) {
    for (int i = 0; i < d->n_out; i++) {
        const char *nm = lqf_net_output_name(d->net, i);
        if (nm && strcmp(nm, name) == 0) return i;
    }
    return -1;
}

/* RetinaFace: three outputs (1,P,4), (1,P,2), (1,P,10) with P the prior count of S. */
static lqf_status bind_retina_outputs(lqf_detector *d) {
    static const int width[3] = {4, 2, 10};
    static const char *const what[3] = {"loc", "conf", "landmarks"};
    const int P = lqf_retina_priors(d->S, NULL);
    for (int k = 0; k < 3; k++) {
        int found = -1;
        for (int i = 0; i < d->n_out; i++) {
            int64_t dims[8];
            int nd = lqf_net_output_shape(d->net, i, 1, dims);
            if (nd == 3 && dims[0] == 1 && dims[1] == P && dims[2] == width[k]) found = i;
        }
        if (found < 0)
            return lqf_fail(LQF_ERR_FORMAT,
                            "%s: not a YuNet model (no output cls_8) nor a RetinaFace model (no %s output "
                            "shaped 1x%dx%d for a %dx%d input)", d->path, what[k], P, width[k], d->S, d->S);
        d->out_index[k] = found;
    }
    d->n_used = 3;
    return LQF_OK;
}

/* Map the 12 YuNet outputs by name and check their sizes against S. */
static lqf_status bind_yunet_outputs(lqf_detector *d) {
    static const char *const kinds[4] = {"cls", "obj", "bbox", "kps"};
    static const int width[4] = {1, 1, 4, 10};
    static const int strides[3] = {8, 16, 32};
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 3; l++) {
            char want[16];
            snprintf(want, sizeof want, "%s_%d", kinds[k], strides[l]);
            int found = find_output(d, want);
            if (found < 0)
                return lqf_fail(LQF_ERR_FORMAT, "%s: not a YuNet model: no output named %s", d->path, want);
            int64_t dims[8], numel = 1;
            int nd = lqf_net_output_shape(d->net, found, 1, dims);
            for (int t = 0; t < nd; t++) numel *= dims[t];
            const int64_t cols = d->S / strides[l], expect = cols * cols * width[k];
            if (nd < 1 || numel != expect)
                return lqf_fail(LQF_ERR_SHAPE, "%s: output %s has %lld values, expected %lld for a %dx%d input",
                                d->path, want, (long long)numel, (long long)expect, d->S, d->S);
            d->out_index[k * 3 + l] = found;
        }
    d->n_used = 12;
    return LQF_OK;
}

lqf_status lqf_detector_load(const char *path, const lqf_detect_options *opts, lqf_detector **out) {
    if (!path || !out) return lqf_fail(LQF_ERR_ARG, "detector_load: NULL argument");
    *out = NULL;
    lqf_detector *d = calloc(1, sizeof *d);
    if (!d) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
    const size_t plen = strlen(path) + 1;
    d->path = malloc(plen);
    if (d->path) memcpy(d->path, path, plen);
    if (!d->path) {
        free(d);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
    }
    if (opts) d->opts = *opts;
    else lqf_detect_options_default(&d->opts);
    lqf_status st = check_options(&d->opts, path);
    if (st != LQF_OK) goto fail;
    st = lqf_net_load_onnx(path, &d->net);
    if (st != LQF_OK) goto fail;

    if (lqf_net_num_inputs(d->net) != 1) {
        st = lqf_fail(LQF_ERR_FORMAT, "%s: a detector has one input, this model has %d", path,
                      lqf_net_num_inputs(d->net));
        goto fail;
    }
    int64_t dims[8];
    int nd = lqf_net_input_shape(d->net, 0, 1, dims);
    if (nd != 4 || dims[0] != 1 || dims[1] != 3 || dims[2] != dims[3] || dims[2] < 32 || dims[2] % 32 != 0 ||
        dims[2] > 8192) {
        st = lqf_fail(LQF_ERR_SHAPE, "%s: detector input must be 1x3xSxS with S a multiple of 32, got %s%lldx%lldx%lldx%lld",
                      path, nd != 4 ? "a non-4-D tensor " : "", (long long)dims[0], (long long)(nd > 1 ? dims[1] : 0),
                      (long long)(nd > 2 ? dims[2] : 0), (long long)(nd > 3 ? dims[3] : 0));
        goto fail;
    }
    d->S = (int)dims[2];
    d->n_out = lqf_net_num_outputs(d->net);
    d->out_bufs = calloc((size_t)(d->n_out > 0 ? d->n_out : 1), sizeof(float *));
    if (!d->out_bufs) {
        st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int i = 0; i < d->n_out; i++) {
        int64_t od[8], numel = 1;
        int ond = lqf_net_output_shape(d->net, i, 1, od);
        for (int t = 0; t < ond; t++) numel *= od[t];
        d->out_bufs[i] = lqf_alloc(sizeof(float) * (size_t)(numel > 0 ? numel : 1));
        if (!d->out_bufs[i]) {
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
    }
    if (find_output(d, "cls_8") >= 0 || d->n_out == 12) {
        d->kind = DET_YUNET;
        st = bind_yunet_outputs(d);
    } else {
        d->kind = DET_RETINA;
        st = bind_retina_outputs(d);
    }
    if (st != LQF_OK) goto fail;
    *out = d;
    return LQF_OK;
fail:
    lqf_detector_free(d);
    return st;
}

lqf_status lqf_detect(lqf_detector *d, const lqf_image *img, lqf_face **faces, int *n) {
    if (!d || !img || !faces || !n) return lqf_fail(LQF_ERR_ARG, "detect: NULL argument");
    *faces = NULL;
    *n = 0;
    if (!img->data || img->width <= 0 || img->height <= 0 || img->channels != 3)
        return lqf_fail(LQF_ERR_ARG, "detect: invalid image (%dx%d, %d channels)", img->width, img->height,
                        img->channels);
    static const float retina_mean[3] = {104.f, 117.f, 123.f};
    lqf_exec *x;
    lqf_status st = lqf_net_exec(d->net, 1, &x);
    if (st != LQF_OK) return lqf_fail_context(st, "%s", d->path);
    lqf_graph *g = lqf_net_graph(d->net);
    /* input (1,3,S,S) in whatever physical layout the executor uses (channels-last) */
    const lqf_view *vin = lqf_exec_view(x, g->inputs[0]);
    const int64_t strides[3] = {vin->strides[1], vin->strides[2], vin->strides[3]};
    float scale;
    st = lqf_letterbox_strided(img, d->S, LQF_BGR, d->kind == DET_RETINA ? retina_mean : NULL,
                               lqf_exec_buffer(x, g->inputs[0]), strides, &scale);
    if (st != LQF_OK) return st;
    st = lqf_exec_forward(x);
    if (st != LQF_OK) return lqf_fail_context(st, "%s", d->path);
    const float *outs[12];
    for (int i = 0; i < d->n_used; i++) {
        const int oi = d->out_index[i], t = g->outputs[oi];
        const float *buf = lqf_exec_buffer(x, t);
        if (!lqf_view_is_dense(lqf_exec_view(x, t))) {
            lqf_exec_read(x, t, d->out_bufs[oi]);
            buf = d->out_bufs[oi];
        }
        outs[i] = buf;
    }
    const lqf_detect_options *o = &d->opts;
    if (d->kind == DET_YUNET)
        st = lqf_yunet_decode(outs, d->S, o->score_threshold, o->nms_threshold, o->top_k, scale, faces, n);
    else
        st = lqf_retina_decode(outs[0], outs[1], outs[2], d->S, o->score_threshold, o->nms_threshold,
                               o->top_k, scale, faces, n);
    if (st != LQF_OK) return st;
    if (d->opts.max_faces > 0 && *n > d->opts.max_faces) *n = d->opts.max_faces;
    for (int i = 0; i < *n; i++)
        if (!isfinite((*faces)[i].x1) || !isfinite((*faces)[i].x2) || !isfinite((*faces)[i].y1) ||
            !isfinite((*faces)[i].y2)) {
            free(*faces);
            *faces = NULL;
            *n = 0;
            return lqf_fail(LQF_ERR_NUMERIC, "%s: non-finite face box (network output overflow)", d->path);
        }
    return LQF_OK;
}
