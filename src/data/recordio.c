/*
 * recordio.c — MXNet RecordIO: the reader (mmap'd .rec + .idx, or a validating scan when
 * there is no .idx), IRHeader pack/unpack, and the writer (dmlc-core's WriteRecord split
 * rule, temporary files renamed on close). Format summary in data.h. The reader never
 * trusts the file: every part header is checked for the magic, a legal cflag sequence and
 * a length inside the file, and failures name the file and the byte offset.
 */
#define _GNU_SOURCE
#include "data/data.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LREC_LEN_MASK ((1U << 29) - 1)

/* ===================================================================== scratch */
lqf_status lqf_buf_reserve(lqf_buf *b, size_t n) {
    if (n <= b->cap) return LQF_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < n) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return lqf_fail(LQF_ERR_NOMEM, "cannot allocate %zu bytes of scratch", cap);
    b->data = p;
    b->cap = cap;
    return LQF_OK;
}

void lqf_buf_free(lqf_buf *b) {
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->cap = 0;
}

static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v; /* little-endian host (x86-64, aarch64) */
}

/* ===================================================================== reader */
typedef struct {
    uint64_t key;
    uint64_t offset;
} rec_entry;

struct lqf_rec {
    char *path;
    const uint8_t *base;  /* mapping of the whole file (NULL when empty) */
    size_t size;          /* bytes */
    size_t n;             /* index entries */
    rec_entry *entries;   /* n, in index (file) order */
    size_t *by_key;       /* n entry numbers sorted by key */
    int scanned;
};

const char *lqf_rec_path(const lqf_rec *r) { return r->path; }
size_t lqf_rec_count(const lqf_rec *r) { return r->n; }
size_t lqf_rec_size(const lqf_rec *r) { return r->size; }
uint64_t lqf_rec_key(const lqf_rec *r, size_t i) { return r->entries[i].key; }
uint64_t lqf_rec_offset(const lqf_rec *r, size_t i) { return r->entries[i].offset; }
int lqf_rec_scanned(const lqf_rec *r) { return r->scanned; }

/* Walk the parts of the record at byte offset off: validate them, return the payload length
 * (magic re-inserted between parts), the number of parts and the offset after the record. */
static lqf_status rec_walk(const lqf_rec *r, uint64_t off, size_t *total, int *nparts, uint64_t *next) {
    uint64_t pos = off;
    size_t sum = 0;
    int parts = 0;
    for (;;) {
        if (pos % 4 != 0)
            return lqf_fail(LQF_ERR_FORMAT, "%s: corrupt record at byte offset %" PRIu64
                            " (offset not a multiple of 4)", r->path, pos);
        if (pos > r->size || r->size - pos < 8)
            return lqf_fail(LQF_ERR_FORMAT, "%s: corrupt record at byte offset %" PRIu64
                            " (record header beyond end of file, size %zu; truncated?)",
                            r->path, pos, r->size);
        uint32_t magic = rd32(r->base + pos), lrec = rd32(r->base + pos + 4);
        if (magic != LQF_REC_MAGIC)
            return lqf_fail(LQF_ERR_FORMAT, "%s: corrupt record at byte offset %" PRIu64
                            " (bad magic 0x%08x, expected 0x%08x)", r->path, pos, magic, LQF_REC_MAGIC);
        uint32_t cflag = lrec >> 29, len = lrec & LREC_LEN_MASK;
        if (parts == 0 && (cflag == 2 || cflag == 3))
            return lqf_fail(LQF_ERR_FORMAT, "%s: corrupt record at byte offset %" PRIu64
                            " (continuation part, cflag %u, where a record starts)", r->path, pos, cflag);
        if (parts > 0 && (cflag == 0 || cflag == 1))
            return lqf_fail(LQF_ERR_FORMAT, "%s: corrupt record at byte offset %" PRIu64
                            " (cflag %u inside a split record, expected 2 or 3)", r->path, pos, cflag);
        if (cflag > 3)
            return lqf_fail(LQF_ERR_FORMAT, "%s: corrupt record at byte offset %" PRIu64
                            " (bad cflag %u)", r->path, pos, cflag);
        if (r->size - pos - 8 < len)
            return lqf_fail(LQF_ERR_FORMAT, "%s: corrupt record at byte offset %" PRIu64
                            " (length %u beyond end of file, size %zu; truncated?)",
                            r->path, pos, len, r->size);
        if (parts > 0) sum += 4;
        sum += len;
        parts++;
        pos += 8 + (((uint64_t)len + 3) & ~(uint64_t)3);
        if (cflag == 0 || cflag == 3) break;
    }
    *total = sum;
    *nparts = parts;
    if (next) *next = pos > r->size ? r->size : pos; /* padding of the last record may be cut */
    return LQF_OK;
}

/* Copy up to n bytes of the (validated) record at off into dst, magic re-inserted. */
static size_t rec_gather(const lqf_rec *r, uint64_t off, uint8_t *dst, size_t n) {
    static const uint8_t magic[4] = {0x0a, 0x23, 0xd7, 0xce};
    uint64_t pos = off;
    size_t got = 0;
    int first = 1;
    for (;;) {
        uint32_t lrec = rd32(r->base + pos + 4);
        uint32_t cflag = lrec >> 29, len = lrec & LREC_LEN_MASK;
        if (!first) {
            size_t k = LQF_MIN((size_t)4, n - got);
            memcpy(dst + got, magic, k);
            got += k;
        }
        size_t k = LQF_MIN((size_t)len, n - got);
        memcpy(dst + got, r->base + pos + 8, k);
        got += k;
        if (got == n || cflag == 0 || cflag == 3) break;
        first = 0;
        pos += 8 + (((uint64_t)len + 3) & ~(uint64_t)3);
    }
    return got;
}

lqf_status lqf_rec_read(const lqf_rec *r, size_t i, lqf_buf *scratch, const uint8_t **payload, size_t *len) {
    if (!r || !payload || !len || i >= r->n)
        return lqf_fail(LQF_ERR_ARG, "%s: record entry %zu out of range (%zu entries)",
                        r ? r->path : "recordio", i, r ? r->n : 0);
    size_t total;
    int parts;
    lqf_status st = rec_walk(r, r->entries[i].offset, &total, &parts, NULL);
    if (st) return st;
    if (parts == 1) { /* zero copy */
        *payload = r->base + r->entries[i].offset + 8;
        *len = total;
        return LQF_OK;
    }
    if (!scratch) return lqf_fail(LQF_ERR_ARG, "%s: split record needs a scratch buffer", r->path);
    if ((st = lqf_buf_reserve(scratch, total ? total : 1))) return st;
    rec_gather(r, r->entries[i].offset, scratch->data, total);
    *payload = scratch->data;
    *len = total;
    return LQF_OK;
}

lqf_status lqf_rec_parts(const lqf_rec *r, size_t i, int *parts) {
    if (!r || !parts || i >= r->n)
        return lqf_fail(LQF_ERR_ARG, "%s: record entry %zu out of range", r ? r->path : "recordio", i);
    size_t total;
    return rec_walk(r, r->entries[i].offset, &total, parts, NULL);
}

lqf_status lqf_rec_read_class(const lqf_rec *r, size_t i, float *label) {
    if (!r || !label || i >= r->n)
        return lqf_fail(LQF_ERR_ARG, "%s: record entry %zu out of range", r ? r->path : "recordio", i);
    size_t total;
    int parts;
    lqf_status st = rec_walk(r, r->entries[i].offset, &total, &parts, NULL);
    if (st) return st;
    uint8_t hdr[LQF_IR_HEADER_SIZE + 4]; /* the header and labels[0] */
    size_t got = rec_gather(r, r->entries[i].offset, hdr, LQF_MIN(total, sizeof hdr));
    uint32_t flag = 0;
    if (got >= 4) memcpy(&flag, hdr, 4);
    if (got < LQF_IR_HEADER_SIZE || (flag > 0 && got < LQF_IR_HEADER_SIZE + 4))
        return lqf_fail(LQF_ERR_FORMAT, "%s#%llu: record of %zu bytes is too short for its IRHeader (flag %u)",
                        r->path, (unsigned long long)r->entries[i].key, total, flag);
    memcpy(label, hdr + (flag > 0 ? LQF_IR_HEADER_SIZE : 4), 4);
    return LQF_OK;
}

static int cmp_key(const void *a, const void *b, void *ctx) {
    const rec_entry *e = ctx;
    uint64_t ka = e[*(const size_t *)a].key, kb = e[*(const size_t *)b].key;
    if (ka != kb) return ka < kb ? -1 : 1;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    return ia < ib ? -1 : ia > ib;
}

int lqf_rec_find(const lqf_rec *r, uint64_t key, size_t *i) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) { /* first position with key >= key */
        size_t mid = lo + (hi - lo) / 2;
        if (r->entries[r->by_key[mid]].key < key) lo = mid + 1;
        else hi = mid;
    }
    if (lo < r->n && r->entries[r->by_key[lo]].key == key) {
        if (i) *i = r->by_key[lo];
        return 1;
    }
    return 0;
}

static lqf_status entries_push(rec_entry **e, size_t *n, size_t *cap, uint64_t key, uint64_t off) {
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 1024;
        rec_entry *p = realloc(*e, c * sizeof *p);
        if (!p) return lqf_fail(LQF_ERR_NOMEM, "recordio: cannot grow the index to %zu entries", c);
        *e = p;
        *cap = c;
    }
    (*e)[*n].key = key;
    (*e)[*n].offset = off;
    (*n)++;
    return LQF_OK;
}

/* Parse "key\toffset" lines. */
static lqf_status rec_load_idx(lqf_rec *r, const char *idx_path) {
    uint8_t *text;
    size_t len, cap = 0;
    lqf_status st = lqf_read_file(idx_path, &text, &len);
    if (st) return st;
    const char *p = (const char *)text, *end = p + len;
    int line = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', end - p);
        if (!eol) eol = end;
        line++;
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < eol) {
            char tmp[96];
            size_t n = LQF_MIN((size_t)(eol - q), sizeof tmp - 1);
            memcpy(tmp, q, n);
            tmp[n] = 0;
            unsigned long long key, off;
            char extra;
            if (sscanf(tmp, "%llu %llu %c", &key, &off, &extra) != 2 || tmp[0] == '-') {
                free(text);
                return lqf_fail(LQF_ERR_FORMAT, "%s: line %d: expected \"key<TAB>byte_offset\"", idx_path, line);
            }
            if ((st = entries_push(&r->entries, &r->n, &cap, key, off))) {
                free(text);
                return st;
            }
        }
        p = eol + 1;
    }
    free(text);
    return LQF_OK;
}

/* No .idx: walk the whole file; key = IRHeader id, or the ordinal when ids repeat. */
static lqf_status rec_scan(lqf_rec *r) {
    size_t cap = 0;
    uint64_t pos = 0;
    lqf_status st;
    while (pos < r->size) {
        size_t total;
        int parts;
        uint64_t next;
        if ((st = rec_walk(r, pos, &total, &parts, &next))) return st;
        uint8_t hdr[LQF_IR_HEADER_SIZE];
        uint64_t key = r->n;
        if (total >= LQF_IR_HEADER_SIZE) {
            rec_gather(r, pos, hdr, sizeof hdr);
            memcpy(&key, hdr + 8, 8);
        }
        if ((st = entries_push(&r->entries, &r->n, &cap, key, pos))) return st;
        pos = next;
    }
    r->scanned = 1;
    return LQF_OK;
}

static lqf_status rec_sort_keys(lqf_rec *r) {
    r->by_key = malloc((r->n ? r->n : 1) * sizeof *r->by_key);
    if (!r->by_key) return lqf_fail(LQF_ERR_NOMEM, "%s: cannot allocate the key table", r->path);
    for (size_t i = 0; i < r->n; i++) r->by_key[i] = i;
    qsort_r(r->by_key, r->n, sizeof *r->by_key, cmp_key, r->entries);
    return LQF_OK;
}

static int has_dup_keys(const lqf_rec *r) {
    for (size_t i = 1; i < r->n; i++)
        if (r->entries[r->by_key[i]].key == r->entries[r->by_key[i - 1]].key) return 1;
    return 0;
}

lqf_status lqf_rec_open(const char *rec_path, const char *idx_path, lqf_rec **out) {
    if (!rec_path || !out) return lqf_fail(LQF_ERR_ARG, "lqf_rec_open: NULL argument");
    *out = NULL;
    lqf_rec *r = calloc(1, sizeof *r);
    if (!r) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", rec_path);
    r->path = strdup(rec_path);
    lqf_status st = LQF_OK;
    char *auto_idx = NULL;
    if (!r->path) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", rec_path); goto fail; }

    int fd = open(rec_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { st = lqf_fail(LQF_ERR_IO, "%s: cannot open: %s", rec_path, strerror(errno)); goto fail; }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = lqf_fail(LQF_ERR_IO, "%s: not a regular file", rec_path);
        close(fd);
        goto fail;
    }
    r->size = (size_t)sb.st_size;
    if (r->size > 0) {
        void *m = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            st = lqf_fail(LQF_ERR_IO, "%s: cannot mmap %zu bytes: %s", rec_path, r->size, strerror(errno));
            close(fd);
            goto fail;
        }
        r->base = m;
    }
    close(fd);

    if (!idx_path) { /* foo.rec -> foo.idx if present */
        size_t n = strlen(rec_path);
        auto_idx = malloc(n + 5);
        if (!auto_idx) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", rec_path); goto fail; }
        memcpy(auto_idx, rec_path, n + 1);
        if (n >= 4 && strcmp(rec_path + n - 4, ".rec") == 0) memcpy(auto_idx + n - 4, ".idx", 5);
        else memcpy(auto_idx + n, ".idx", 5);
        if (access(auto_idx, R_OK) == 0) idx_path = auto_idx;
    }
    if (idx_path) {
        if ((st = rec_load_idx(r, idx_path))) goto fail;
        if ((st = rec_sort_keys(r))) goto fail;
    } else {
        if ((st = rec_scan(r))) goto fail;
        if ((st = rec_sort_keys(r))) goto fail;
        if (has_dup_keys(r)) { /* ids are not keys: fall back to positions */
            for (size_t i = 0; i < r->n; i++) r->entries[i].key = i;
            for (size_t i = 0; i < r->n; i++) r->by_key[i] = i;
        }
    }
    free(auto_idx);
    *out = r;
    return LQF_OK;
fail:
    free(auto_idx);
    lqf_rec_free(r);
    return st;
}

void lqf_rec_free(lqf_rec *r) {
    if (!r) return;
    if (r->base) munmap((void *)r->base, r->size);
    free(r->entries);
    free(r->by_key);
    free(r->path);
    free(r);
}

/* ===================================================================== IRHeader */
lqf_status lqf_ir_unpack(const uint8_t *payload, size_t len, const char *name, lqf_irheader *h) {
    if (len < LQF_IR_HEADER_SIZE)
        return lqf_fail(LQF_ERR_FORMAT, "%s: record of %zu bytes is shorter than the %d-byte IRHeader",
                        name, len, LQF_IR_HEADER_SIZE);
    memcpy(&h->flag, payload, 4);
    memcpy(&h->label, payload + 4, 4);
    memcpy(&h->id, payload + 8, 8);
    memcpy(&h->id2, payload + 16, 8);
    if ((uint64_t)h->flag * 4 > len - LQF_IR_HEADER_SIZE)
        return lqf_fail(LQF_ERR_FORMAT, "%s: IRHeader announces %u labels but the record holds %zu bytes",
                        name, h->flag, len);
    h->labels = payload + LQF_IR_HEADER_SIZE;
    h->image = h->labels + 4 * (size_t)h->flag;
    h->image_len = len - LQF_IR_HEADER_SIZE - 4 * (size_t)h->flag;
    return LQF_OK;
}

float lqf_ir_label(const lqf_irheader *h, uint32_t k) {
    float v;
    LQF_ASSERT(k < h->flag);
    memcpy(&v, h->labels + 4 * (size_t)k, 4);
    return v;
}

float lqf_ir_class(const lqf_irheader *h) { return h->flag > 0 ? lqf_ir_label(h, 0) : h->label; }

lqf_status lqf_ir_pack(float label, const float *labels, uint32_t nlabels, uint64_t id, uint64_t id2,
                       const uint8_t *image, size_t image_len, lqf_buf *out, size_t *len) {
    size_t n = LQF_IR_HEADER_SIZE + 4 * (size_t)nlabels + image_len;
    lqf_status st = lqf_buf_reserve(out, n);
    if (st) return st;
    uint32_t flag = nlabels;
    float lab = nlabels ? 0.0f : label;
    memcpy(out->data, &flag, 4);
    memcpy(out->data + 4, &lab, 4);
    memcpy(out->data + 8, &id, 8);
    memcpy(out->data + 16, &id2, 8);
    if (nlabels) memcpy(out->data + LQF_IR_HEADER_SIZE, labels, 4 * (size_t)nlabels);
    if (image_len) memcpy(out->data + LQF_IR_HEADER_SIZE + 4 * (size_t)nlabels, image, image_len);
    *len = n;
    return LQF_OK;
}

/* ===================================================================== writer */
struct lqf_rec_writer {
    char *rec_path, *idx_path, *rec_tmp, *idx_tmp;
    FILE *rec, *idx;
    uint64_t pos;   /* bytes written to the .rec */
    int failed;
};

static char *str_cat(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (!s) return NULL;
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
    return s;
}

static void writer_release(lqf_rec_writer *w) {
    if (w->rec) fclose(w->rec);
    if (w->idx) fclose(w->idx);
    free(w->rec_path);
    free(w->idx_path);
    free(w->rec_tmp);
    free(w->idx_tmp);
    free(w);
}

lqf_status lqf_rec_writer_open(const char *prefix, lqf_rec_writer **out) {
    if (!prefix || !out) return lqf_fail(LQF_ERR_ARG, "lqf_rec_writer_open: NULL argument");
    *out = NULL;
    lqf_rec_writer *w = calloc(1, sizeof *w);
    if (!w) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", prefix);
    char suffix[64];
    snprintf(suffix, sizeof suffix, ".tmp%ld", (long)getpid());
    w->rec_path = str_cat(prefix, ".rec");
    w->idx_path = str_cat(prefix, ".idx");
    if (w->rec_path && w->idx_path) {
        w->rec_tmp = str_cat(w->rec_path, suffix);
        w->idx_tmp = str_cat(w->idx_path, suffix);
    }
    if (!w->rec_tmp || !w->idx_tmp) {
        writer_release(w);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", prefix);
    }
    w->rec = fopen(w->rec_tmp, "wb");
    if (!w->rec) {
        lqf_status st = lqf_fail(LQF_ERR_IO, "%s: cannot create: %s", w->rec_tmp, strerror(errno));
        writer_release(w);
        return st;
    }
    w->idx = fopen(w->idx_tmp, "wb");
    if (!w->idx) {
        lqf_status st = lqf_fail(LQF_ERR_IO, "%s: cannot create: %s", w->idx_tmp, strerror(errno));
        fclose(w->rec);
        w->rec = NULL;
        unlink(w->rec_tmp);
        writer_release(w);
        return st;
    }
    *out = w;
    return LQF_OK;
}

/* fwrite that remembers failure; returns 0 on error. */
static int wr(lqf_rec_writer *w, const void *p, size_t n) {
    if (n == 0) return 1;
    if (fwrite(p, 1, n, w->rec) != n) {
        w->failed = 1;
        return 0;
    }
    w->pos += n;
    return 1;
}

static int wr_part(lqf_rec_writer *w, uint32_t cflag, const uint8_t *p, uint32_t n) {
    uint32_t hdr[2] = {LQF_REC_MAGIC, (cflag << 29) | n};
    return wr(w, hdr, 8) && wr(w, p, n);
}

lqf_status lqf_rec_writer_write(lqf_rec_writer *w, uint64_t key, const uint8_t *payload, size_t len) {
    if (!w || (!payload && len)) return lqf_fail(LQF_ERR_ARG, "lqf_rec_writer_write: NULL argument");
    if (len >= (1U << 29))
        return lqf_fail(LQF_ERR_ARG, "%s: record %" PRIu64 " of %zu bytes exceeds RecordIO's 2^29-byte limit",
                        w->rec_path, key, len);
    if (fprintf(w->idx, "%" PRIu64 "\t%" PRIu64 "\n", key, w->pos) < 0) w->failed = 1;
    /* dmlc-core WriteRecord: split at every 4-aligned occurrence of the magic */
    uint32_t n = (uint32_t)len, lower = n & ~3U, dptr = 0;
    for (uint32_t i = 0; i < lower; i += 4) {
        if (rd32(payload + i) == LQF_REC_MAGIC) {
            wr_part(w, dptr == 0 ? 1U : 2U, payload + dptr, i - dptr);
            dptr = i + 4;
        }
    }
    wr_part(w, dptr != 0 ? 3U : 0U, payload + dptr, n - dptr);
    static const uint8_t zero[4] = {0, 0, 0, 0};
    wr(w, zero, ((n + 3) & ~3U) - n);
    if (w->failed) return lqf_fail(LQF_ERR_IO, "%s: write failed: %s", w->rec_tmp, strerror(errno));
    return LQF_OK;
}

void lqf_rec_writer_abort(lqf_rec_writer *w) {
    if (!w) return;
    if (w->rec) fclose(w->rec);
    if (w->idx) fclose(w->idx);
    w->rec = w->idx = NULL;
    unlink(w->rec_tmp);
    unlink(w->idx_tmp);
    writer_release(w);
}

lqf_status lqf_rec_writer_close(lqf_rec_writer *w) {
    if (!w) return LQF_OK;
    lqf_status st = LQF_OK;
    int e1 = fclose(w->rec), e2 = fclose(w->idx);
    w->rec = w->idx = NULL;
    if (w->failed || e1 || e2)
        st = lqf_fail(LQF_ERR_IO, "%s: write failed: %s", w->rec_tmp, strerror(errno));
    else if (rename(w->rec_tmp, w->rec_path) != 0)
        st = lqf_fail(LQF_ERR_IO, "%s: cannot rename to %s: %s", w->rec_tmp, w->rec_path, strerror(errno));
    else if (rename(w->idx_tmp, w->idx_path) != 0)
        st = lqf_fail(LQF_ERR_IO, "%s: cannot rename to %s: %s", w->idx_tmp, w->idx_path, strerror(errno));
    if (st) {
        unlink(w->rec_tmp);
        unlink(w->idx_tmp);
    }
    writer_release(w);
    return st;
}
