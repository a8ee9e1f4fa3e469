/*
 * ckpt_info.c — the self-describing part of an lqface checkpoint (checkpoint.h): the input
 * contract, architecture, head, step and epoch written to and read from the safetensors
 * metadata map as strings, with the format name and version checked on reading.
 */
#include "train/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void lqf_ckpt_info_default(lqf_ckpt_info *i) {
    memset(i, 0, sizeof *i);
    i->format_version = LQF_CKPT_VERSION;
    i->order = LQF_RGB;
    for (int c = 0; c < 3; c++) i->mean[c] = 127.5f, i->std[c] = 127.5f;
    i->input_w = i->input_h = 112;
    i->embedding_size = 512;
}

lqf_status lqf_ckpt_set_info(lqf_ckpt *c, const lqf_ckpt_info *i) {
    if (!c || !i) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_set_info: NULL argument");
    char v[128];
    lqf_status st = lqf_ckpt_set_meta(c, "format", LQF_CKPT_FORMAT);
    snprintf(v, sizeof v, "%d", LQF_CKPT_VERSION);
    if (!st) st = lqf_ckpt_set_meta(c, "format_version", v);
    if (!st) st = lqf_ckpt_set_meta(c, "arch", i->arch);
    if (!st) st = lqf_ckpt_set_meta(c, "shortcut", i->shortcut);
    if (!st) st = lqf_ckpt_set_meta(c, "channel_order", i->order == LQF_BGR ? "BGR" : "RGB");
    snprintf(v, sizeof v, "%.9g,%.9g,%.9g", i->mean[0], i->mean[1], i->mean[2]);
    if (!st) st = lqf_ckpt_set_meta(c, "input_mean", v);
    snprintf(v, sizeof v, "%.9g,%.9g,%.9g", i->std[0], i->std[1], i->std[2]);
    if (!st) st = lqf_ckpt_set_meta(c, "input_std", v);
    snprintf(v, sizeof v, "%dx%d", i->input_w, i->input_h);
    if (!st) st = lqf_ckpt_set_meta(c, "input_size", v);
    snprintf(v, sizeof v, "%d", i->embedding_size);
    if (!st) st = lqf_ckpt_set_meta(c, "embedding_size", v);
    if (!st) st = lqf_ckpt_set_meta(c, "head", i->head);
    snprintf(v, sizeof v, "%" PRId64, i->step);
    if (!st) st = lqf_ckpt_set_meta(c, "step", v);
    snprintf(v, sizeof v, "%d", i->epoch);
    if (!st) st = lqf_ckpt_set_meta(c, "epoch", v);
    return st;
}

static void copy_meta(const lqf_ckpt *c, const char *key, char *dst, size_t cap) {
    const char *v = lqf_ckpt_get_meta(c, key);
    snprintf(dst, cap, "%s", v ? v : "");
}

lqf_status lqf_ckpt_get_info(const lqf_ckpt *c, lqf_ckpt_info *i) {
    if (!c || !i) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_get_info: NULL argument");
    lqf_ckpt_info_default(i);
    const char *fmt = lqf_ckpt_get_meta(c, "format"), *ver = lqf_ckpt_get_meta(c, "format_version");
    if (!fmt || strcmp(fmt, LQF_CKPT_FORMAT) != 0)
        return lqf_fail(LQF_ERR_FORMAT, "checkpoint: not an lqface checkpoint (metadata format is '%s', expected '%s')",
                        fmt ? fmt : "(none)", LQF_CKPT_FORMAT);
    char *endp = NULL;
    long v = ver ? strtol(ver, &endp, 10) : 0;
    if (!ver || endp == ver || *endp || v < 1)
        return lqf_fail(LQF_ERR_FORMAT, "checkpoint: bad format_version '%s'", ver ? ver : "(none)");
    if (v > LQF_CKPT_VERSION)
        return lqf_fail(LQF_ERR_FORMAT, "checkpoint: format version %ld is newer than this lqface reads (%d): update lqface",
                        v, LQF_CKPT_VERSION);
    i->format_version = (int)v;
    copy_meta(c, "arch", i->arch, sizeof i->arch);
    copy_meta(c, "shortcut", i->shortcut, sizeof i->shortcut);
    copy_meta(c, "head", i->head, sizeof i->head);
    const char *s;
    if ((s = lqf_ckpt_get_meta(c, "channel_order"))) {
        if (!strcmp(s, "BGR")) i->order = LQF_BGR;
        else if (!strcmp(s, "RGB")) i->order = LQF_RGB;
        else return lqf_fail(LQF_ERR_FORMAT, "checkpoint: channel_order '%s' is neither RGB nor BGR", s);
    }
    if ((s = lqf_ckpt_get_meta(c, "input_mean")) && sscanf(s, "%f,%f,%f", &i->mean[0], &i->mean[1], &i->mean[2]) != 3)
        return lqf_fail(LQF_ERR_FORMAT, "checkpoint: bad input_mean '%s'", s);
    if ((s = lqf_ckpt_get_meta(c, "input_std")) && sscanf(s, "%f,%f,%f", &i->std[0], &i->std[1], &i->std[2]) != 3)
        return lqf_fail(LQF_ERR_FORMAT, "checkpoint: bad input_std '%s'", s);
    if ((s = lqf_ckpt_get_meta(c, "input_size")) && sscanf(s, "%dx%d", &i->input_w, &i->input_h) != 2)
        return lqf_fail(LQF_ERR_FORMAT, "checkpoint: bad input_size '%s'", s);
    if ((s = lqf_ckpt_get_meta(c, "embedding_size"))) i->embedding_size = atoi(s);
    if ((s = lqf_ckpt_get_meta(c, "step"))) i->step = strtoll(s, NULL, 10);
    if ((s = lqf_ckpt_get_meta(c, "epoch"))) i->epoch = atoi(s);
    return LQF_OK;
}
