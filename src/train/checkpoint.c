/*
 * checkpoint.c — safetensors reading and writing for lqface checkpoints (checkpoint.h):
 * a small JSON writer and a strict recursive-descent JSON reader for the header, the
 * validation rules of the reference safetensors implementation (header bounds, dtype,
 * shape x dtype size = byte span, spans tiling the data section), dtype conversion to float,
 * and the crash-safe save (<path>.tmp, fsync, rename, fsync of the directory).
 */
#include "train/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint.c writes tensors in host order and assumes a little-endian host"
#endif

#define MAX_HEADER (100u << 20) /* the reference implementation's limit */

typedef struct {
    char *key, *value;
} meta_kv;

struct lqf_ckpt {
    lqf_ckpt_tensor *t;
    int n, cap;
    meta_kv *m;
    int nm, capm;
};

/* ===================================================================== object */
lqf_status lqf_ckpt_create(lqf_ckpt **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_create: NULL output");
    *out = calloc(1, sizeof **out);
    return *out ? LQF_OK : lqf_fail(LQF_ERR_NOMEM, "checkpoint: out of memory");
}

void lqf_ckpt_free(lqf_ckpt *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        free(c->t[i].name);
        if (c->t[i].owned) lqf_free(c->t[i].data);
    }
    for (int i = 0; i < c->nm; i++) free(c->m[i].key), free(c->m[i].value);
    free(c->t);
    free(c->m);
    free(c);
}

int lqf_ckpt_count(const lqf_ckpt *c) { return c ? c->n : 0; }
const lqf_ckpt_tensor *lqf_ckpt_tensor_at(const lqf_ckpt *c, int i) {
    return c && i >= 0 && i < c->n ? &c->t[i] : NULL;
}

const lqf_ckpt_tensor *lqf_ckpt_find(const lqf_ckpt *c, const char *name) {
    if (!c || !name) return NULL;
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->t[i].name, name)) return &c->t[i];
    return NULL;
}

static void shape_str(int ndim, const int64_t *dims, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && n < cap; d++) n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, d ? ", " : "", dims[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

lqf_status lqf_ckpt_get(const lqf_ckpt *c, const char *name, int ndim, const int64_t *dims, const lqf_ckpt_tensor **t) {
    if (!c || !name || !t) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_get: NULL argument");
    *t = lqf_ckpt_find(c, name);
    if (!*t) return lqf_fail(LQF_ERR_FORMAT, "checkpoint: no tensor named '%s'", name);
    int same = (*t)->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = (*t)->dims[d] == dims[d];
    if (!same) {
        char a[160], b[160];
        shape_str((*t)->ndim, (*t)->dims, a, sizeof a);
        shape_str(ndim, dims, b, sizeof b);
        *t = NULL;
        return lqf_fail(LQF_ERR_SHAPE, "checkpoint: tensor '%s' has shape %s, expected %s", name, a, b);
    }
    return LQF_OK;
}

static lqf_status push_tensor(lqf_ckpt *c, const char *name, int ndim, const int64_t *dims, const char *where) {
    if (!name || !*name || !strcmp(name, "__metadata__"))
        return lqf_fail(LQF_ERR_ARG, "%s: bad tensor name '%s'", where, name ? name : "(null)");
    if (ndim < 0 || ndim > LQF_CKPT_MAX_DIMS)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d)", where, name, ndim,
                        LQF_CKPT_MAX_DIMS);
    if (lqf_ckpt_find(c, name)) return lqf_fail(LQF_ERR_ARG, "%s: duplicate tensor name '%s'", where, name);
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 0 || (dims[d] > 0 && numel > INT64_MAX / 8 / dims[d]))
            return lqf_fail(LQF_ERR_ARG, "%s: tensor '%s' has a bad dimension %" PRId64, where, name, dims[d]);
        numel *= dims[d];
    }
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        lqf_ckpt_tensor *t = realloc(c->t, sizeof *t * (size_t)cap);
        if (!t) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", where);
        c->t = t, c->cap = cap;
    }
    lqf_ckpt_tensor *t = &c->t[c->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", where);
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->dims[d] = dims[d];
    t->numel = numel;
    c->n++;
    return LQF_OK;
}

lqf_status lqf_ckpt_add(lqf_ckpt *c, const char *name, int ndim, const int64_t *dims, const float *data, int copy) {
    if (!c || (ndim > 0 && !dims)) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_add: NULL argument");
    lqf_status st = push_tensor(c, name, ndim, dims, "checkpoint");
    if (st) return st;
    lqf_ckpt_tensor *t = &c->t[c->n - 1];
    if (t->numel > 0 && !data) {
        free(t->name);
        c->n--;
        return lqf_fail(LQF_ERR_ARG, "checkpoint: tensor '%s' has no data", name);
    }
    if (copy) {
        t->data = lqf_alloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
        if (!t->data) {
            free(t->name);
            c->n--;
            return lqf_fail(LQF_ERR_NOMEM, "checkpoint: out of memory for tensor '%s'", name);
        }
        if (t->numel) memcpy(t->data, data, sizeof(float) * (size_t)t->numel);
        t->owned = 1;
    } else {
        t->data = (float *)data;
    }
    return LQF_OK;
}

lqf_status lqf_ckpt_set_meta(lqf_ckpt *c, const char *key, const char *value) {
    if (!c || !key || !value) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_set_meta: NULL argument");
    for (int i = 0; i < c->nm; i++)
        if (!strcmp(c->m[i].key, key)) {
            char *v = strdup(value);
            if (!v) return lqf_fail(LQF_ERR_NOMEM, "checkpoint: out of memory");
            free(c->m[i].value);
            c->m[i].value = v;
            return LQF_OK;
        }
    if (c->nm == c->capm) {
        int cap = c->capm ? 2 * c->capm : 16;
        meta_kv *m = realloc(c->m, sizeof *m * (size_t)cap);
        if (!m) return lqf_fail(LQF_ERR_NOMEM, "checkpoint: out of memory");
        c->m = m, c->capm = cap;
    }
    c->m[c->nm].key = strdup(key);
    c->m[c->nm].value = strdup(value);
    if (!c->m[c->nm].key || !c->m[c->nm].value) {
        free(c->m[c->nm].key), free(c->m[c->nm].value);
        return lqf_fail(LQF_ERR_NOMEM, "checkpoint: out of memory");
    }
    c->nm++;
    return LQF_OK;
}

const char *lqf_ckpt_get_meta(const lqf_ckpt *c, const char *key) {
    if (!c || !key) return NULL;
    for (int i = 0; i < c->nm; i++)
        if (!strcmp(c->m[i].key, key)) return c->m[i].value;
    return NULL;
}

int lqf_ckpt_num_meta(const lqf_ckpt *c) { return c ? c->nm : 0; }
void lqf_ckpt_meta_at(const lqf_ckpt *c, int i, const char **key, const char **value) {
    *key = *value = NULL;
    if (c && i >= 0 && i < c->nm) *key = c->m[i].key, *value = c->m[i].value;
}

/* ===================================================================== writing */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_printf(sbuf *b, const char *fmt, ...) LQF_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_put(b, tmp, (size_t)LQF_MIN(n, (int)sizeof tmp - 1));
}

static void sb_json_str(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            sb_put(b, e, 2);
        } else if (ch < 0x20) {
            sb_printf(b, "\\u%04x", ch);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(const lqf_ckpt_tensor *const *)a)->name, (*(const lqf_ckpt_tensor *const *)b)->name);
}

static lqf_status write_all(int fd, const void *p, size_t n, const char *path) {
    const uint8_t *q = p;
    while (n > 0) {
        ssize_t w = write(fd, q, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return lqf_fail(LQF_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        q += w, n -= (size_t)w;
    }
    return LQF_OK;
}

lqf_status lqf_ckpt_save(const lqf_ckpt *c, const char *path) {
    if (!c || !path) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_save: NULL argument");
    const lqf_ckpt_tensor **order = malloc(sizeof *order * (size_t)(c->n ? c->n : 1));
    if (!order) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < c->n; i++) order[i] = &c->t[i];
    qsort(order, (size_t)c->n, sizeof *order, cmp_tensor_name);
    sbuf h = {0};
    sb_put(&h, "{", 1);
    int first = 1;
    if (c->nm > 0) {
        sb_put(&h, "\"__metadata__\":{", 16);
        for (int i = 0; i < c->nm; i++) {
            if (i) sb_put(&h, ",", 1);
            sb_json_str(&h, c->m[i].key);
            sb_put(&h, ":", 1);
            sb_json_str(&h, c->m[i].value);
        }
        sb_put(&h, "}", 1);
        first = 0;
    }
    uint64_t off = 0;
    for (int i = 0; i < c->n; i++) {
        const lqf_ckpt_tensor *t = order[i];
        if (!first) sb_put(&h, ",", 1);
        first = 0;
        sb_json_str(&h, t->name);
        sb_put(&h, ":{\"dtype\":\"F32\",\"shape\":[", 25);
        for (int d = 0; d < t->ndim; d++) sb_printf(&h, "%s%" PRId64, d ? "," : "", t->dims[d]);
        uint64_t end = off + (uint64_t)t->numel * 4;
        sb_printf(&h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, end);
        off = end;
    }
    sb_put(&h, "}", 1);
    while (!h.oom && h.n % 8) sb_put(&h, " ", 1); /* as safetensors: pad with spaces */
    if (h.oom) {
        free(order);
        free(h.s);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        free(order);
        free(h.s);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    lqf_status st = LQF_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) st = lqf_fail(LQF_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    uint8_t len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (uint8_t)((uint64_t)h.n >> (8 * k));
    if (!st) st = write_all(fd, len8, 8, tmp);
    if (!st) st = write_all(fd, h.s, h.n, tmp);
    for (int i = 0; !st && i < c->n; i++) st = write_all(fd, order[i]->data, sizeof(float) * (size_t)order[i]->numel, tmp);
    if (!st && fsync(fd) != 0) st = lqf_fail(LQF_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && !st) st = lqf_fail(LQF_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = lqf_fail(LQF_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (st) {
        if (fd >= 0) unlink(tmp);
    } else { /* make the rename durable */
        char *dir = strdup(path);
        if (dir) {
            char *slash = strrchr(dir, '/');
            if (slash) slash == dir ? (void)(slash[1] = 0) : (void)(*slash = 0);
            else strcpy(dir, ".");
            int dfd = open(dir, O_RDONLY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(dir);
        }
    }
    free(tmp);
    free(order);
    free(h.s);
    return st;
}

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
        if (!st) st = push_tensor(c, tname, ndim, d64, j->name);
        if (st == LQF_ERR_ARG) lqf_fail(st = LQF_ERR_FORMAT, "%s", lqf_last_error());
    }
    free(dtype);
    return st;
}

/* header_only: buf holds the length and the header alone; tensors are listed without data. */
static lqf_status parse(const uint8_t *buf, size_t len, const char *name, int header_only, lqf_ckpt **out) {
    if (!buf || !out) return lqf_fail(LQF_ERR_ARG, "lqf_ckpt_parse: NULL argument");
    if (!name) name = "checkpoint";
    *out = NULL;
    if (len < 8) return lqf_fail(LQF_ERR_FORMAT, "%s: not a safetensors file (only %zu bytes)", name, len);
    uint64_t n = 0;
    for (int k = 0; k < 8; k++) n |= (uint64_t)buf[k] << (8 * k);
    if (n < 2 || buf[8] != '{') {
        if (n <= len - 8 && n >= 2) return lqf_fail(LQF_ERR_FORMAT, "%s: not a safetensors file (header does not start with '{')", name);
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
    int cap = 0;
    if (!jlit(&j, '{')) st = jerr(&j, "expected '{'");
    if (!st && !jlit(&j, '}')) do {
            char *key = NULL;
            if ((st = jstring(&j, &key))) break;
            if (!jlit(&j, ':')) st = jerr(&j, "expected ':'");
            else if (!strcmp(key, "__metadata__")) {
                if (!jlit(&j, '{')) st = jerr(&j, "__metadata__ must be an object of strings");
                else if (!jlit(&j, '}')) {
                    do {
                        char *k = NULL, *v = NULL;
                        if ((st = jstring(&j, &k))) break;
                        if (!jlit(&j, ':')) st = jerr(&j, "expected ':'");
                        else if ((st = jstring(&j, &v)) == LQF_ERR_FORMAT)
                            lqf_fail(st, "%s: __metadata__ value of '%s' is not a string", name, k);
                        if (!st) st = lqf_ckpt_set_meta(c, k, v);
                        free(k), free(v);
                    } while (!st && jlit(&j, ','));
                    if (!st && !jlit(&j, '}')) st = jerr(&j, "expected '}' after __metadata__");
                }
            } else {
                if (c->n == cap) {
                    cap = cap ? 2 * cap : 64;
                    span *p = realloc(sp, sizeof *sp * (size_t)cap);
                    if (!p) st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", name);
                    else sp = p;
                }
                if (!st) st = parse_entry(&j, c, key, &sp[c->n]);
            }
            free(key);
        } while (!st && jlit(&j, ','));
    if (!st && !jlit(&j, '}')) st = jerr(&j, "expected ',' or '}'");
    jws(&j);
    if (!st && j.p != j.end) st = jerr(&j, "trailing characters after the header object");
    if (!st && header_only) {
        free(sp);
        *out = c;
        return LQF_OK;
    }
    /* the spans: in bounds, sized by shape x dtype, tiling the data section in offset order */
    uint64_t dlen = len - 8 - n;
    const uint8_t *data = buf + 8 + n;
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
            shape_str(t->ndim, t->dims, sh, sizeof sh);
            st = lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' of shape %s needs %" PRIu64 " bytes but spans %" PRIu64, name,
                          t->name, sh, (uint64_t)t->numel * (uint64_t)sp[i].dtype_size, sp[i].end - sp[i].begin);
        }
    }
    span_ref *ord = NULL;
    if (!st && c->n > 0) {
        ord = malloc(sizeof *ord * (size_t)c->n);
        if (!ord) st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", name);
        for (int i = 0; !st && i < c->n; i++) ord[i].s = &sp[i], ord[i].i = i;
        if (!st) qsort(ord, (size_t)c->n, sizeof *ord, cmp_span_ref);
        uint64_t at = 0;
        for (int k = 0; !st && k < c->n; k++) {
            const span *s = ord[k].s;
            if (s->begin != at)
                st = lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' starts at data byte %" PRIu64 " but the previous one ends at %" PRIu64
                              " (%s)", name, c->t[ord[k].i].name, s->begin, at, s->begin < at ? "overlap" : "hole");
            at = s->end;
        }
        if (!st && at != dlen)
            st = lqf_fail(LQF_ERR_FORMAT, "%s: %" PRIu64 " bytes after the last tensor (data section %" PRIu64 " bytes)", name,
                          dlen - at, dlen);
    } else if (!st && dlen != 0) {
        st = lqf_fail(LQF_ERR_FORMAT, "%s: %" PRIu64 " data bytes but no tensors", name, dlen);
    }
    /* convert, and reorder the tensors into offset order */
    if (!st) {
        lqf_ckpt_tensor *nt = malloc(sizeof *nt * (size_t)(c->n ? c->n : 1));
        if (!nt) st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", name);
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
        if (!st) {
            for (int k = 0; k < c->n; k++) nt[k] = c->t[ord[k].i];
            free(c->t);
            c->t = nt;
            c->cap = c->n ? c->n : 1;
        } else {
            free(nt);
        }
    }
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

/* ===================================================================== self-description */
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
