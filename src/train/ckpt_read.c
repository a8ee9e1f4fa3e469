/*
 * ckpt_read.c — reading safetensors files into an lqf_ckpt (checkpoint.h): a strict
 * recursive-descent JSON reader for the header, the validation rules of the reference
 * safetensors implementation (header bounds, dtype, shape x dtype size = byte span, spans
 * tiling the data section, unique names), the lqface checksum when the file has one, and the
 * dtype conversion to float. Every size in the file is checked against the bytes present and
 * the allocation limit before anything is allocated from it.
 */
#include "train/ckpt_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <string.h>
#include <zlib.h>

#define MAX_HEADER (100u << 20) /* the reference implementation's limit */

typedef lqf_ckpt_sbuf sbuf;
#define sb_put lqf_ckpt_sb_put

/* ===================================================================== JSON reading */
typedef struct {
    const char *p, *end;
    const char *name; /* file, for messages */
    const char *base;
} jparse;

static lqf_status jerr(jparse *j, const char *what) {
    return lqf_fail(LQF_ERR_FORMAT, "%s: safetensors header is not valid JSON: %s at header byte %ld", j->name, what,
                    (long)(j->p - j->base));
}

static void jws(jparse *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int jlit(jparse *j, char ch) {
    jws(j);
    if (j->p < j->end && *j->p == ch) {
        j->p++;
        return 1;
    }
    return 0;
}

static int hexv(char ch) {
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* A JSON string into a malloc'd UTF-8 C string (embedded NULs rejected). */
static lqf_status jstring(jparse *j, char **out) {
    *out = NULL;
    if (!jlit(j, '"')) return jerr(j, "expected a string");
    sbuf b = {0};
    sb_put(&b, "", 0);
    while (j->p < j->end && *j->p != '"') {
        unsigned char ch = (unsigned char)*j->p++;
        if (ch < 0x20) {
            free(b.s);
            return jerr(j, "control character in a string");
        }
        if (ch != '\\') {
            sb_put(&b, (const char *)&ch, 1);
            continue;
        }
        if (j->p >= j->end) break;
        char e = *j->p++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (simple && e) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            sb_put(&b, &map[simple - "\"\\/bfnrt"], 1);
            continue;
        }
        if (e != 'u' || j->end - j->p < 4) {
            free(b.s);
            return jerr(j, "bad escape in a string");
        }
        unsigned cp = 0;
        for (int k = 0; k < 4; k++) {
            int v = hexv(*j->p++);
            if (v < 0) {
                free(b.s);
                return jerr(j, "bad \\u escape");
            }
            cp = cp * 16 + (unsigned)v;
        }
        if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
            unsigned lo = 0;
            int ok = 1;
            for (int k = 0; k < 4; k++) {
                int v = hexv(j->p[2 + k]);
                ok &= v >= 0;
                lo = lo * 16 + (unsigned)(v < 0 ? 0 : v);
            }
            if (ok && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                j->p += 6;
            }
        }
        if (cp == 0) {
            free(b.s);
            return jerr(j, "NUL character in a string");
        }
        char u[4];
        int n;
        if (cp < 0x80) u[0] = (char)cp, n = 1;
        else if (cp < 0x800) u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 63)), n = 2;
        else if (cp < 0x10000)
            u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 63)), u[2] = (char)(0x80 | (cp & 63)), n = 3;
        else
            u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 63)), u[2] = (char)(0x80 | ((cp >> 6) & 63)),
            u[3] = (char)(0x80 | (cp & 63)), n = 4;
        sb_put(&b, u, (size_t)n);
    }
    if (j->p >= j->end) {
        free(b.s);
        return jerr(j, "unterminated string");
    }
    j->p++;
    if (b.oom) {
        free(b.s);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", j->name);
    }
    *out = b.s;
    return LQF_OK;
}

/* A non-negative integer (safetensors' shapes and offsets are usize). */
static lqf_status juint(jparse *j, uint64_t *v) {
    jws(j);
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') return jerr(j, "expected a non-negative integer");
    uint64_t x = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned dgt = (unsigned)(*j->p++ - '0');
        if (x > (UINT64_MAX - dgt) / 10) return jerr(j, "integer too large");
        x = x * 10 + dgt;
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) return jerr(j, "expected an integer");
    *v = x;
    return LQF_OK;
}

static lqf_status jskip(jparse *j, int depth) { /* any value */
    if (depth > 64) return jerr(j, "nesting too deep");
    jws(j);
    if (j->p >= j->end) return jerr(j, "unexpected end");
    char ch = *j->p;
    lqf_status st;
    if (ch == '"') {
        char *s;
        if ((st = jstring(j, &s))) return st;
        free(s);
        return LQF_OK;
    }
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        j->p++;
        if (jlit(j, close)) return LQF_OK;
        do {
            if (ch == '{') {
                char *k;
                if ((st = jstring(j, &k))) return st;
                free(k);
                if (!jlit(j, ':')) return jerr(j, "expected ':'");
            }
            if ((st = jskip(j, depth + 1))) return st;
        } while (jlit(j, ','));
        return jlit(j, close) ? LQF_OK : jerr(j, "expected ',' or a closing bracket");
    }
    const char *s = j->p;
    while (j->p < j->end && (strchr("+-.eE", *j->p) || (*j->p >= '0' && *j->p <= '9') || (*j->p >= 'a' && *j->p <= 'z')))
        j->p++;
    if (j->p == s) return jerr(j, "unexpected character");
    return LQF_OK;
}

/* ===================================================================== reading */
typedef struct {
    int dtype_size, kind; /* kind: 0 F32, 1 F16, 2 BF16, 3 F64 */
    uint64_t begin, end;
} span;

static int dtype_lookup(const char *s, int *size, int *kind) {
    static const struct { const char *n; int size, kind; } T[] = {
        {"F32", 4, 0}, {"F16", 2, 1}, {"BF16", 2, 2}, {"F64", 8, 3},
        {"BOOL", 1, -1}, {"U8", 1, -1}, {"I8", 1, -1}, {"I16", 2, -1}, {"U16", 2, -1}, {"I32", 4, -1},
        {"U32", 4, -1}, {"I64", 8, -1}, {"U64", 8, -1}, {"F8_E5M2", 1, -1}, {"F8_E4M3", 1, -1}};
    for (size_t i = 0; i < sizeof T / sizeof *T; i++)
        if (!strcmp(s, T[i].n)) {
            *size = T[i].size, *kind = T[i].kind;
            return 1;
        }
    return 0;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0) {
        if (m == 0) bits = sign;
        else { /* subnormal */
            int sh = 0;
            while (!(m & 1024)) m <<= 1, sh++;
            bits = sign | ((uint32_t)(113 - sh) << 23) | ((m & 1023) << 13);
        }
    } else if (e == 31) bits = sign | 0x7f800000u | (m << 13);
    else bits = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

typedef struct {
    const span *s;
    int i;
} span_ref;

static int cmp_span_ref(const void *a, const void *b) {
    const span_ref *x = a, *y = b;
    if (x->s->begin != y->s->begin) return x->s->begin < y->s->begin ? -1 : 1;
    if (x->s->end != y->s->end) return x->s->end < y->s->end ? -1 : 1;
    return x->i - y->i;
}

/* One tensor entry {"dtype": .., "shape": [..], "data_offsets": [b, e]}. */
static lqf_status parse_entry(jparse *j, lqf_ckpt *c, const char *tname, span *sp) {
    char *dtype = NULL;
    uint64_t dims[LQF_CKPT_MAX_DIMS];
    int ndim = -1, have_off = 0;
    lqf_status st = LQF_OK;
    if (!jlit(j, '{')) return jerr(j, "expected a tensor entry object");
    if (!jlit(j, '}')) do {
            char *k = NULL;
            if ((st = jstring(j, &k))) break;
            if (!jlit(j, ':')) {
                free(k);
                st = jerr(j, "expected ':'");
                break;
            }
            if (!strcmp(k, "dtype")) {
                free(dtype);
                st = jstring(j, &dtype);
            } else if (!strcmp(k, "shape")) {
                if (!jlit(j, '[')) st = jerr(j, "shape must be an array");
                ndim = 0;
                if (!st && !jlit(j, ']')) {
                    do {
                        uint64_t v;
                        if ((st = juint(j, &v))) break;
                        if (ndim == LQF_CKPT_MAX_DIMS) {
                            st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' has more than %d dimensions", j->name,
                                          tname, LQF_CKPT_MAX_DIMS);
                            break;
                        }
                        dims[ndim++] = v;
                    } while (jlit(j, ','));
                    if (!st && !jlit(j, ']')) st = jerr(j, "expected ']' after the shape");
                }
            } else if (!strcmp(k, "data_offsets")) {
                if (!jlit(j, '[') || (st = juint(j, &sp->begin)) || !jlit(j, ',') || (st = juint(j, &sp->end)) ||
                    !jlit(j, ']'))
                    st = st ? st : jerr(j, "data_offsets must be [begin, end]");
                have_off = 1;
            } else {
                st = jskip(j, 1);
            }
            free(k);
        } while (!st && jlit(j, ','));
    if (!st && !jlit(j, '}')) st = jerr(j, "expected '}' after a tensor entry");
    if (!st && (!dtype || ndim < 0 || !have_off))
        st = lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' lacks %s", j->name, tname,
                      !dtype ? "a dtype" : ndim < 0 ? "a shape" : "data_offsets");
    int kind = -1;
    if (!st && !dtype_lookup(dtype, &sp->dtype_size, &kind))
        st = lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' has an unknown dtype '%s'", j->name, tname, dtype);
    if (!st && kind < 0)
        st = lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s; lqface reads F32, F16, BF16 and F64", j->name,
                      tname, dtype);
    sp->kind = kind;
    if (!st) {
        int64_t d64[LQF_CKPT_MAX_DIMS];
        for (int d = 0; d < ndim; d++) {
            if (dims[d] > (uint64_t)INT64_MAX / 16) {
                st = lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' has an absurd dimension %" PRIu64, j->name, tname, dims[d]);
                break;
            }
            d64[d] = (int64_t)dims[d];
        }
        if (!st) st = lqf_ckpt_push_tensor(c, tname, ndim, d64, j->name, 0);
        if (st == LQF_ERR_ARG) lqf_fail(st = LQF_ERR_FORMAT, "%s", lqf_last_error());
    }
    free(dtype);
    return st;
}

/* The header object: metadata into c, one span per tensor into *sp (c->n of them). */
static lqf_status parse_header(jparse *j, lqf_ckpt *c, span **sp) {
    lqf_status st = LQF_OK;
    int cap = 0;
    if (!jlit(j, '{')) st = jerr(j, "expected '{'");
    if (!st && !jlit(j, '}')) do {
            char *key = NULL;
            if ((st = jstring(j, &key))) break;
            if (!jlit(j, ':')) st = jerr(j, "expected ':'");
            else if (!strcmp(key, "__metadata__")) {
                if (!jlit(j, '{')) st = jerr(j, "__metadata__ must be an object of strings");
                else if (!jlit(j, '}')) {
                    do {
                        char *k = NULL, *v = NULL;
                        if ((st = jstring(j, &k))) break;
                        if (!jlit(j, ':')) st = jerr(j, "expected ':'");
                        else if ((st = jstring(j, &v)) == LQF_ERR_FORMAT)
                            lqf_fail(st, "%s: __metadata__ value of '%s' is not a string", j->name, k);
                        if (!st) st = lqf_ckpt_set_meta(c, k, v);
                        free(k), free(v);
                    } while (!st && jlit(j, ','));
                    if (!st && !jlit(j, '}')) st = jerr(j, "expected '}' after __metadata__");
                }
            } else {
                if (c->n == cap) {
                    cap = cap ? 2 * cap : 64;
                    span *p = realloc(*sp, sizeof **sp * (size_t)cap);
                    if (!p) st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", j->name);
                    else *sp = p;
                }
                if (!st) st = parse_entry(j, c, key, &(*sp)[c->n]);
            }
            free(key);
        } while (!st && jlit(j, ','));
    if (!st && !jlit(j, '}')) st = jerr(j, "expected ',' or '}'");
    jws(j);
    if (!st && j->p != j->end) st = jerr(j, "trailing characters after the header object");
    return st;
}

/* Unique tensor names (sorted once: a header may list many tensors). */
static lqf_status check_unique(const lqf_ckpt *c, const char *name) {
    if (c->n < 2) return LQF_OK;
    const lqf_ckpt_tensor **t = malloc(sizeof *t * (size_t)c->n);
    if (!t) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", name);
    for (int i = 0; i < c->n; i++) t[i] = &c->t[i];
    qsort(t, (size_t)c->n, sizeof *t, lqf_ckpt_cmp_name);
    lqf_status st = LQF_OK;
    for (int i = 1; i < c->n && !st; i++)
        if (!strcmp(t[i]->name, t[i - 1]->name))
            st = lqf_fail(LQF_ERR_FORMAT, "%s: duplicate tensor name '%s'", name, t[i]->name);
    free(t);
    return st;
}

/* The spans: in bounds, sized by shape x dtype, tiling the data section (dlen bytes) in offset
 * order; *ord receives the tensors in offset order. */
static lqf_status check_spans(const lqf_ckpt *c, const span *sp, uint64_t dlen, const char *name, span_ref **ord) {
    lqf_status st = LQF_OK;
    for (int i = 0; !st && i < c->n; i++) {
        const lqf_ckpt_tensor *t = &c->t[i];
        if (sp[i].end < sp[i].begin)
            st = lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64 "] ending before they begin",
                          name, t->name, sp[i].begin, sp[i].end);
        else if (sp[i].end > dlen)
            st = lqf_fail(LQF_ERR_FORMAT,
                          "%s: tensor '%s' is out of bounds: bytes [%" PRIu64 ", %" PRIu64 ") of a data section of %" PRIu64
                          " (truncated file?)",
                          name, t->name, sp[i].begin, sp[i].end, dlen);
        else if ((uint64_t)t->numel * (uint64_t)sp[i].dtype_size != sp[i].end - sp[i].begin) {
            char sh[160];
            lqf_ckpt_shape_str(t->ndim, t->dims, sh, sizeof sh);
            st = lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' of shape %s needs %" PRIu64 " bytes but spans %" PRIu64, name,
                          t->name, sh, (uint64_t)t->numel * (uint64_t)sp[i].dtype_size, sp[i].end - sp[i].begin);
        }
    }
    if (st) return st;
    if (c->n == 0)
        return dlen ? lqf_fail(LQF_ERR_FORMAT, "%s: %" PRIu64 " data bytes but no tensors", name, dlen) : LQF_OK;
    span_ref *o = *ord = malloc(sizeof *o * (size_t)c->n);
    if (!o) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", name);
    for (int i = 0; i < c->n; i++) o[i].s = &sp[i], o[i].i = i;
    qsort(o, (size_t)c->n, sizeof *o, cmp_span_ref);
    uint64_t at = 0;
    for (int k = 0; !st && k < c->n; k++) {
        const span *s = o[k].s;
        if (s->begin != at)
            st = lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' starts at data byte %" PRIu64 " but the previous one ends at %" PRIu64
                          " (%s)", name, c->t[o[k].i].name, s->begin, at, s->begin < at ? "overlap" : "hole");
        at = s->end;
    }
    if (!st && at != dlen)
        st = lqf_fail(LQF_ERR_FORMAT, "%s: %" PRIu64 " bytes after the last tensor (data section %" PRIu64 " bytes)", name,
                      dlen - at, dlen);
    return st;
}

/* Convert every tensor to float and put them in offset order. */
static lqf_status convert(lqf_ckpt *c, const span *sp, const span_ref *ord, const uint8_t *data, const char *name) {
    uint64_t bytes = 0;
    for (int i = 0; i < c->n; i++) bytes += (uint64_t)c->t[i].numel * sizeof(float);
    lqf_status st = lqf_check_alloc(bytes, name, "the checkpoint's tensors");
    if (st) return st;
    lqf_ckpt_tensor *nt = malloc(sizeof *nt * (size_t)(c->n ? c->n : 1));
    if (!nt) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", name);
    for (int k = 0; !st && k < c->n; k++) {
        int i = ord[k].i;
        lqf_ckpt_tensor *t = &c->t[i];
        const span *s = &sp[i];
        t->data = lqf_alloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
        if (!t->data) {
            st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for tensor '%s'", name, t->name);
            break;
        }
        t->owned = 1;
        const uint8_t *p = data + s->begin;
        for (int64_t e = 0; e < t->numel; e++) {
            const uint8_t *q = p + (size_t)e * (size_t)s->dtype_size;
            if (s->kind == 0) memcpy(&t->data[e], q, 4);
            else if (s->kind == 1) t->data[e] = half_to_float((uint16_t)(q[0] | q[1] << 8));
            else if (s->kind == 2) {
                uint32_t bits = (uint32_t)(q[0] | q[1] << 8) << 16;
                memcpy(&t->data[e], &bits, 4);
            } else {
                double dv;
                memcpy(&dv, q, 8);
                t->data[e] = (float)dv;
            }
        }
    }
    if (st) {
        free(nt);
        return st;
    }
    for (int k = 0; k < c->n; k++) nt[k] = c->t[ord[k].i];
    free(c->t);
    c->t = nt;
    c->cap = c->n ? c->n : 1;
    return LQF_OK;
}

/* The checksum lqface writes, when the metadata has one: at its fixed place, and right. It is
 * a property of the file, not of the checkpoint: once checked it leaves the metadata map. */
static void drop_crc(lqf_ckpt *c) {
    for (int i = 0; i < c->nm; i++)
        if (!strcmp(c->m[i].key, LQF_CKPT_CRC_KEY)) {
            free(c->m[i].key), free(c->m[i].value);
            memmove(&c->m[i], &c->m[i + 1], sizeof *c->m * (size_t)(--c->nm - i));
            break;
        }
}

static lqf_status verify_crc(lqf_ckpt *c, const uint8_t *buf, size_t len, const char *name) {
    const char *v = lqf_ckpt_get_meta(c, LQF_CKPT_CRC_KEY);
    if (!v) return LQF_OK;
    if (len < LQF_CKPT_CRC_AT + 8 || memcmp(buf + 8, LQF_CKPT_CRC_PREFIX, sizeof LQF_CKPT_CRC_PREFIX - 1) || strlen(v) != 8 ||
        memcmp(buf + LQF_CKPT_CRC_AT, v, 8))
        return lqf_fail(LQF_ERR_FORMAT, "%s: checksum %s is not the first metadata entry (file rewritten by another tool?)",
                        name, LQF_CKPT_CRC_KEY);
    char *end = NULL;
    unsigned long want = strtoul(v, &end, 16);
    if (*end) return lqf_fail(LQF_ERR_FORMAT, "%s: checksum '%s' is not 8 hex digits", name, v);
    uLong crc = crc32_z(crc32(0L, Z_NULL, 0), buf, LQF_CKPT_CRC_AT);
    crc = crc32_z(crc, (const Bytef *)"00000000", 8);
    crc = crc32_z(crc, buf + LQF_CKPT_CRC_AT + 8, len - LQF_CKPT_CRC_AT - 8);
    if (crc != want)
        return lqf_fail(LQF_ERR_FORMAT, "%s: checksum mismatch (file CRC-32 %08lx, recorded %s): corrupt or torn checkpoint",
                        name, (unsigned long)crc, v);
    drop_crc(c);
    return LQF_OK;
}

/* header_only: buf holds the length and the header alone; tensors are listed without data
 * (the checksum, which covers the whole file, is not checked). */
static lqf_status parse(const uint8_t *buf, size_t len, const char *name, int header_only, lqf_ckpt **out) {
    if (!buf || !out) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_parse: NULL argument");
    if (!name) name = "checkpoint";
    *out = NULL;
    if (len < 8) return lqf_fail(LQF_ERR_FORMAT, "%s: not a safetensors file (only %zu bytes)", name, len);
    uint64_t n = 0;
    for (int k = 0; k < 8; k++) n |= (uint64_t)buf[k] << (8 * k);
    if (n < 2 || len == 8 || buf[8] != '{') { /* buf[8] exists only when len > 8 */
        if (n >= 2 && n <= len - 8) return lqf_fail(LQF_ERR_FORMAT, "%s: not a safetensors file (header does not start with '{')", name);
        return lqf_fail(LQF_ERR_FORMAT, "%s: not a safetensors file (header length %" PRIu64 ")", name, n);
    }
    if (n > MAX_HEADER) return lqf_fail(LQF_ERR_FORMAT, "%s: safetensors header length %" PRIu64 " is too large (limit %u)", name, n, MAX_HEADER);
    if (n > len - 8)
        return lqf_fail(LQF_ERR_FORMAT, "%s: truncated: the header needs %" PRIu64 " bytes, the file has %zu after the length",
                        name, n, len - 8);
    lqf_ckpt *c;
    lqf_status st = lqf_ckpt_create(&c);
    if (st) return st;
    jparse j = {(const char *)buf + 8, (const char *)buf + 8 + n, name, (const char *)buf + 8};
    span *sp = NULL;
    span_ref *ord = NULL;
    st = parse_header(&j, c, &sp);
    if (!st) st = check_unique(c, name);
    if (!st && header_only) {
        drop_crc(c);
        free(sp);
        *out = c;
        return LQF_OK;
    }
    if (!st) st = verify_crc(c, buf, len, name);
    if (!st) st = check_spans(c, sp, len - 8 - n, name, &ord);
    if (!st) st = convert(c, sp, ord, buf + 8 + n, name);
    free(ord);
    free(sp);
    if (st) {
        lqf_ckpt_free(c);
        return st;
    }
    *out = c;
    return LQF_OK;
}

lqf_status lqf_ckpt_parse(const uint8_t *buf, size_t len, const char *name, lqf_ckpt **out) {
    return parse(buf, len, name, 0, out);
}

lqf_status lqf_ckpt_load_header(const char *path, lqf_ckpt **out) {
    if (!path || !out) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_load_header: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lqf_fail(LQF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    uint8_t head[9] = {0}; /* the length and the header's first byte */
    size_t got = fread(head, 1, sizeof head, f);
    uint64_t n = 0;
    for (int k = 0; k < 8; k++) n |= (uint64_t)head[k] << (8 * k);
    uint8_t *buf = NULL;
    if (got == sizeof head && n >= 2 && n <= MAX_HEADER && fstat(fileno(f), &sb) == 0) {
        /* no more than the file holds: a short file is reported truncated by the parser */
        uint64_t take = (uint64_t)sb.st_size - 8 < n ? (uint64_t)sb.st_size - 8 : n;
        if (!(buf = malloc(8 + take))) {
            fclose(f);
            return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory for a header of %" PRIu64 " bytes", path, take);
        }
        memcpy(buf, head, sizeof head);
        got = sizeof head + fread(buf + sizeof head, 1, take - 1, f);
    }
    fclose(f);
    /* a short file or a bad length: the parser words the error from the first bytes */
    lqf_status st = parse(buf ? buf : head, buf || got < 8 ? got : 8, path, 1, out);
    free(buf);
    return st;
}

lqf_status lqf_ckpt_load(const char *path, lqf_ckpt **out) {
    if (!path || !out) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_load: NULL argument");
    *out = NULL;
    uint8_t *buf;
    size_t len;
    lqf_status st = lqf_read_file(path, &buf, &len);
    if (st) return st;
    st = lqf_ckpt_parse(buf, len, path, out);
    free(buf);
    return st;
}
