/*
 * contract.c — the input contract of an embedding model (size, channel order, mean, std):
 * one field or a whole spec parsed from text (what the command line's --bgr, --rgb, --mean,
 * --std, --input-size and --contract give), a contract written back as a spec, and the
 * resolution of a model's contract field by field over its sources, highest first: the
 * caller's flags, the file's metadata, a checkpoint's metadata, the default. Each source is
 * an lqf_contract_spec filled by a reader of the model file; the source of every field is
 * kept for `lqface info`. Reading an ONNX file's metadata_props is the reader of
 * LQF_SRC_METADATA that lqface's exporter brings (same keys as a checkpoint's).
 */
#include "core/core.h"
#include "train/checkpoint.h"
#include "train/model.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#define ALL_FIELDS ((1u << LQF_CONTRACT_NFIELDS) - 1)
#define MAX_SIDE 8192

static const char *const field_key[LQF_CONTRACT_NFIELDS] = {"size", "order", "mean", "std"};
/* the checkpoint metadata key of each field (checkpoint.h) */
static const char *const field_meta[LQF_CONTRACT_NFIELDS] = {"input_size", "channel_order", "input_mean",
                                                             "input_std"};

static void contract_default(lqf_input_contract *c) {
    memset(c, 0, sizeof *c);
    c->width = c->height = 112;
    c->order = LQF_RGB;
    for (int i = 0; i < 3; i++) {
        c->mean[i] = 127.5f;
        c->std[i] = 128.0f;
    }
}

/* One value for the three channels or three, comma-separated, finite. 0 or -1. */
static int parse_three(const char *s, float v[3]) {
    int n = 0;
    for (;;) {
        char *end;
        float x = strtof(s, &end);
        if (end == s || !isfinite(x) || n == 3) return -1;
        v[n++] = x;
        s = end;
        if (*s != ',') break;
        s++;
    }
    if (*s || n == 2) return -1;
    if (n == 1) v[1] = v[2] = v[0];
    return 0;
}

/* "S" or "WxH", sides 1..MAX_SIDE. */
static int parse_size(const char *s, int *w, int *h) {
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s) return -1;
    if (*end == 'x' || *end == 'X') {
        const char *t = end + 1;
        b = strtol(t, &end, 10);
        if (end == t) return -1;
    }
    if (*end || a < 1 || b < 1 || a > MAX_SIDE || b > MAX_SIDE) return -1;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

/* lqf_contract_set without the "contract: " context on its messages. */
static lqf_status set_field(lqf_contract_spec *s, const char *key, const char *value) {
    lqf_input_contract *c = &s->c;
    int f = 0;
    while (f < LQF_CONTRACT_NFIELDS && strcmp(key, field_key[f])) f++;
    switch (f) {
    case LQF_CONTRACT_SIZE:
        if (parse_size(value, &c->width, &c->height))
            return lqf_fail(LQF_ERR_ARG, "size '%s' is not S or WxH (1..%d pixels)", value, MAX_SIDE);
        break;
    case LQF_CONTRACT_ORDER:
        if (!strcasecmp(value, "rgb")) c->order = LQF_RGB;
        else if (!strcasecmp(value, "bgr")) c->order = LQF_BGR;
        else return lqf_fail(LQF_ERR_ARG, "order '%s' is neither rgb nor bgr", value);
        break;
    case LQF_CONTRACT_MEAN:
    case LQF_CONTRACT_STD: {
        float v[3];
        if (parse_three(value, v))
            return lqf_fail(LQF_ERR_ARG, "%s '%s' is not one number or three comma-separated", key, value);
        if (f == LQF_CONTRACT_STD && !(v[0] > 0 && v[1] > 0 && v[2] > 0))
            return lqf_fail(LQF_ERR_ARG, "std '%s' must be positive", value);
        memcpy(f == LQF_CONTRACT_MEAN ? c->mean : c->std, v, sizeof v);
        break;
    }
    default:
        return lqf_fail(LQF_ERR_ARG, "unknown key '%s' (size, order, mean, std)", key);
    }
    s->has |= 1u << f;
    return LQF_OK;
}

lqf_status lqf_contract_set(lqf_contract_spec *s, const char *key, const char *value) {
    if (!s || !key || !value) return lqf_fail(LQF_ERR_ARG, "lqf_contract_set: NULL argument");
    lqf_status st = set_field(s, key, value);
    return st ? lqf_fail_context(st, "contract") : LQF_OK;
}

#define SEP " ,;\t\n"

lqf_status lqf_contract_parse(const char *spec, lqf_contract_spec *s) {
    if (!spec || !s) return lqf_fail(LQF_ERR_ARG, "lqf_contract_parse: NULL argument");
    lqf_contract_spec t = *s;
    char key[16] = "", val[256] = "";
    int nval = 0, items = 0;
    lqf_status st = LQF_OK;
    for (const char *p = spec + strspn(spec, SEP); *p && !st; p += strspn(p, SEP)) {
        size_t n = strcspn(p, SEP);
        const char *tok = p, *eq = memchr(tok, '=', n);
        p += n;
        int word = (n == 3 && (!strncasecmp(tok, "rgb", 3) || !strncasecmp(tok, "bgr", 3)));
        int more = !eq && !word && nval > 0 && nval < 3 && (!strcmp(key, "mean") || !strcmp(key, "std"));
        if (more && strlen(val) + n + 2 <= sizeof val) { /* a bare number continues the list */
            snprintf(val + strlen(val), sizeof val - strlen(val), ",%.*s", (int)n, tok);
            nval++;
            continue;
        }
        if (key[0]) st = set_field(&t, key, val);
        key[0] = 0;
        items++;
        if (st) break;
        if (word) {
            snprintf(val, sizeof val, "%.3s", tok);
            st = set_field(&t, "order", val);
        } else if (eq && eq > tok && (size_t)(eq - tok) < sizeof key && (size_t)(tok + n - eq) <= sizeof val) {
            snprintf(key, sizeof key, "%.*s", (int)(eq - tok), tok);
            snprintf(val, sizeof val, "%.*s", (int)(tok + n - eq - 1), eq + 1);
            nval = 1;
        } else {
            st = lqf_fail(LQF_ERR_ARG, "unexpected '%.*s' (items are key=value, rgb or bgr)", (int)n, tok);
        }
    }
    if (!st && key[0]) st = set_field(&t, key, val);
    if (!st && !items) st = lqf_fail(LQF_ERR_ARG, "it is empty");
    if (st) return lqf_fail_context(st, "contract spec '%s'", spec);
    *s = t;
    return LQF_OK;
}

/* The shortest of %.6g .. %.9g that reads back as v. */
static int put_float(char *buf, size_t cap, float v) {
    int w = 0;
    for (int prec = 6; prec <= 9; prec++) {
        w = snprintf(buf, cap, "%.*g", prec, v);
        if (strtof(buf, NULL) == v) break;
    }
    return w;
}

void lqf_contract_format(const lqf_input_contract *c, char *buf, size_t cap) {
    if (!buf || !cap) return;
    char m[3][24], s[3][24];
    for (int i = 0; i < 3; i++) {
        put_float(m[i], sizeof m[i], c->mean[i]);
        put_float(s[i], sizeof s[i], c->std[i]);
    }
    snprintf(buf, cap, "size=%dx%d order=%s mean=%s,%s,%s std=%s,%s,%s", c->width, c->height,
             c->order == LQF_BGR ? "bgr" : "rgb", m[0], m[1], m[2], s[0], s[1], s[2]);
}

const char *lqf_contract_source_name(lqf_contract_source s) {
    switch (s) {
    case LQF_SRC_DEFAULT: return "default";
    case LQF_SRC_CHECKPOINT: return "checkpoint";
    case LQF_SRC_METADATA: return "file metadata";
    case LQF_SRC_FLAGS: return "flags";
    }
    return "?";
}

/* A checkpoint's contract: the fields whose metadata keys it has (lqface writes all four). */
static lqf_status checkpoint_spec(const char *path, lqf_contract_spec *s) {
    lqf_ckpt *ck;
    lqf_status st = lqf_ckpt_load_header(path, &ck);
    if (st) return st;
    lqf_ckpt_info in;
    if ((st = lqf_ckpt_get_info(ck, &in))) {
        lqf_ckpt_free(ck);
        return lqf_fail_context(st, "%s", path);
    }
    s->c.width = in.input_w;
    s->c.height = in.input_h;
    s->c.order = in.order;
    memcpy(s->c.mean, in.mean, sizeof in.mean);
    memcpy(s->c.std, in.std, sizeof in.std);
    for (int f = 0; f < LQF_CONTRACT_NFIELDS; f++)
        if (lqf_ckpt_get_meta(ck, field_meta[f])) s->has |= 1u << f;
    lqf_ckpt_free(ck);
    return LQF_OK;
}

static void copy_field(lqf_input_contract *dst, const lqf_input_contract *src, int f) {
    switch (f) {
    case LQF_CONTRACT_SIZE: dst->width = src->width, dst->height = src->height; break;
    case LQF_CONTRACT_ORDER: dst->order = src->order; break;
    case LQF_CONTRACT_MEAN: memcpy(dst->mean, src->mean, sizeof dst->mean); break;
    case LQF_CONTRACT_STD: memcpy(dst->std, src->std, sizeof dst->std); break;
    }
}

lqf_status lqf_contract_resolve(const char *path, const lqf_contract_spec *flags, lqf_contract_info *out) {
    if (!path || !out) return lqf_fail(LQF_ERR_ARG, "lqf_contract_resolve: NULL argument");
    lqf_contract_spec by[LQF_SRC_FLAGS + 1]; /* what each source says, indexed by source */
    memset(by, 0, sizeof by);
    by[LQF_SRC_DEFAULT].has = ALL_FIELDS;
    contract_default(&by[LQF_SRC_DEFAULT].c);
    if (lqf_model_is_checkpoint(path)) {
        lqf_status st = checkpoint_spec(path, &by[LQF_SRC_CHECKPOINT]);
        if (st) return st;
    }
    if (flags) by[LQF_SRC_FLAGS] = *flags;
    contract_default(&out->c);
    for (int f = 0; f < LQF_CONTRACT_NFIELDS; f++) {
        int src = LQF_SRC_FLAGS;
        while (!(by[src].has >> f & 1)) src--; /* the default has every field */
        copy_field(&out->c, &by[src].c, f);
        out->source[f] = (lqf_contract_source)src;
    }
    out->c.flip_fusion = flags ? flags->c.flip_fusion : 0;
    return LQF_OK;
}
