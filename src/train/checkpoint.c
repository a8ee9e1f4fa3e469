/*
 * checkpoint.c — lqface checkpoints (checkpoint.h): the object (named float tensors and a
 * metadata map), the small JSON writer of the safetensors header, the file checksum (a CRC-32
 * in the metadata, ckpt_internal.h) and the crash-safe save (<path>.tmp, fsync, rename, fsync
 * of the directory). Reading is in ckpt_read.c, the self-describing metadata in ckpt_info.c.
 */
#include "train/ckpt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint.c writes tensors in host order and assumes a little-endian host"
#endif

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

void lqf_ckpt_shape_str(int ndim, const int64_t *dims, char *buf, size_t cap) {
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
        lqf_ckpt_shape_str((*t)->ndim, (*t)->dims, a, sizeof a);
        lqf_ckpt_shape_str(ndim, dims, b, sizeof b);
        *t = NULL;
        return lqf_fail(LQF_ERR_SHAPE, "checkpoint: tensor '%s' has shape %s, expected %s", name, a, b);
    }
    return LQF_OK;
}

lqf_status lqf_ckpt_push_tensor(lqf_ckpt *c, const char *name, int ndim, const int64_t *dims, const char *where,
                                int check_dup) {
    if (!name || !*name || !strcmp(name, "__metadata__"))
        return lqf_fail(LQF_ERR_ARG, "%s: bad tensor name '%s'", where, name ? name : "(null)");
    if (ndim < 0 || ndim > LQF_CKPT_MAX_DIMS)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d)", where, name, ndim,
                        LQF_CKPT_MAX_DIMS);
    if (check_dup && lqf_ckpt_find(c, name)) return lqf_fail(LQF_ERR_ARG, "%s: duplicate tensor name '%s'", where, name);
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
    lqf_status st = lqf_ckpt_push_tensor(c, name, ndim, dims, "checkpoint", 1);
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
        lqf_ckpt_meta_kv *m = realloc(c->m, sizeof *m * (size_t)cap);
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
typedef lqf_ckpt_sbuf sbuf;
#define sb_put lqf_ckpt_sb_put

void lqf_ckpt_sb_put(sbuf *b, const char *s, size_t n) {
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

int lqf_ckpt_cmp_name(const void *a, const void *b) {
    return strcmp((*(const lqf_ckpt_tensor *const *)a)->name, (*(const lqf_ckpt_tensor *const *)b)->name);
}

/* write(2) all n bytes (EFBIG, ENOSPC, EIO: the error naming path) and add them to *crc
 * (counting the checksum digits as '0', which they are until they are written). */
static lqf_status write_crc(int fd, const void *p, size_t n, const char *path, uLong *crc) {
    *crc = crc32_z(*crc, p, n);
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
    qsort(order, (size_t)c->n, sizeof *order, lqf_ckpt_cmp_name);
    sbuf h = {0};
    sb_put(&h, LQF_CKPT_CRC_PREFIX "00000000\"", sizeof LQF_CKPT_CRC_PREFIX + 8); /* the digits are written last */
    for (int i = 0; i < c->nm; i++) {
        if (!strcmp(c->m[i].key, LQF_CKPT_CRC_KEY)) continue; /* a loaded file's: recomputed */
        sb_put(&h, ",", 1);
        sb_json_str(&h, c->m[i].key);
        sb_put(&h, ":", 1);
        sb_json_str(&h, c->m[i].value);
    }
    sb_put(&h, "}", 1);
    int first = 0;
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
    uLong crc = crc32(0L, Z_NULL, 0);
    if (!st) st = write_crc(fd, len8, 8, tmp, &crc);
    if (!st) st = write_crc(fd, h.s, h.n, tmp, &crc);
    for (int i = 0; !st && i < c->n; i++) {
        if (i == c->n / 2 && lqf_fault("ckpt_write")) st = lqf_fail(LQF_ERR_IO, "%s: write failed: %s (injected)", tmp, strerror(ENOSPC));
        if (!st) st = write_crc(fd, order[i]->data, sizeof(float) * (size_t)order[i]->numel, tmp, &crc);
    }
    char digits[9];
    snprintf(digits, sizeof digits, "%08lx", (unsigned long)crc);
    if (!st && pwrite(fd, digits, 8, (off_t)LQF_CKPT_CRC_AT) != 8)
        st = lqf_fail(LQF_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    if (!st && fsync(fd) != 0) st = lqf_fail(LQF_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && !st) st = lqf_fail(LQF_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    lqf_fault("ckpt_rename"); /* a kill here leaves the complete temporary and the previous file */
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
