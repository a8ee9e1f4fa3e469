/*
 * core.c — status strings, the thread-local error message, aligned allocation, file
 * reading and thread-count control. Everything else in lqface reports errors through here.
 */
#define _GNU_SOURCE
#include "core.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static _Thread_local char g_err[1024];

const char *lqf_status_string(lqf_status s) {
    switch (s) {
    case LQF_OK: return "ok";
    case LQF_ERR_ARG: return "invalid argument";
    case LQF_ERR_NOMEM: return "out of memory";
    case LQF_ERR_IO: return "i/o error";
    case LQF_ERR_FORMAT: return "bad format";
    case LQF_ERR_UNSUPPORTED: return "unsupported";
    case LQF_ERR_SHAPE: return "wrong shape";
    case LQF_ERR_NOFACE: return "no face";
    case LQF_ERR_NUMERIC: return "numeric error";
    }
    return "unknown status";
}

const char *lqf_last_error(void) { return g_err; }
void lqf_clear_error(void) { g_err[0] = 0; }

lqf_status lqf_fail(lqf_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return s;
}

lqf_status lqf_fail_context(lqf_status s, const char *fmt, ...) {
    char prefix[512], old[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_err, sizeof old);
    snprintf(g_err, sizeof g_err, "%s: %s", prefix, old);
    return s;
}

void *lqf_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63) != 0) return NULL;
    return p;
}

void *lqf_calloc(size_t bytes) {
    void *p = lqf_alloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void lqf_free(void *p) { free(p); }

double lqf_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

lqf_status lqf_read_file(const char *path, uint8_t **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return lqf_fail(LQF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return lqf_fail(LQF_ERR_IO, "%s: not a regular file", path);
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return lqf_fail(LQF_ERR_IO, "%s: cannot seek (not a regular file?)", path);
    }
    long n = ftell(f);
    if (n < 0) {
        fclose(f);
        return lqf_fail(LQF_ERR_IO, "%s: cannot read size", path);
    }
    lqf_status st = lqf_check_alloc((uint64_t)n + 1, path, "reading the file");
    if (st) {
        fclose(f);
        return st;
    }
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    if (!buf) {
        fclose(f);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory reading %ld bytes", path, n);
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        free(buf);
        return lqf_fail(LQF_ERR_IO, "%s: short read (%zu of %ld bytes)", path, got, n);
    }
    buf[n] = 0;
    *data = buf;
    *len = (size_t)n;
    return LQF_OK;
}

/* ------------------------------------------------------------------ allocation limit */
static uint64_t parse_limit(const char *s) {
    if (!s || !*s) return LQF_MAX_ALLOC_DEFAULT;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || s[0] == '-') return LQF_MAX_ALLOC_DEFAULT;
    int shift = 0;
    if (*end == 'k' || *end == 'K') shift = 10, end++;
    else if (*end == 'm' || *end == 'M') shift = 20, end++;
    else if (*end == 'g' || *end == 'G') shift = 30, end++;
    if (*end || v == 0 || v > (UINT64_MAX >> shift)) return LQF_MAX_ALLOC_DEFAULT;
    return (uint64_t)v << shift;
}

uint64_t lqf_max_alloc(void) { return parse_limit(getenv("LQFACE_MAX_ALLOC")); /* once per file read: cheap */ }

static _Thread_local uint64_t g_bound; /* 0: none */

uint64_t lqf_alloc_bound(uint64_t bytes) {
    uint64_t old = g_bound;
    g_bound = bytes;
    return old;
}

lqf_status lqf_check_alloc(uint64_t bytes, const char *file, const char *what) {
    uint64_t lim = lqf_max_alloc();
    if (g_bound && bytes > g_bound && g_bound < lim)
        return lqf_fail(LQF_ERR_NOMEM, "%s: %s would take %llu bytes, more than the input can hold (%llu)",
                        file ? file : "input", what, (unsigned long long)bytes, (unsigned long long)g_bound);
    if (bytes <= lim) return LQF_OK;
    if (bytes == UINT64_MAX)
        return lqf_fail(LQF_ERR_NOMEM, "%s: %s would take more bytes than can be counted, over the allocation limit "
                        "%llu (LQFACE_MAX_ALLOC)", file ? file : "input", what, (unsigned long long)lim);
    return lqf_fail(LQF_ERR_NOMEM, "%s: %s would take %llu bytes, over the allocation limit %llu (LQFACE_MAX_ALLOC)",
                    file ? file : "input", what, (unsigned long long)bytes, (unsigned long long)lim);
}

uint64_t lqf_mul_sat(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* ------------------------------------------------------------------ fault injection */
static _Atomic long g_fault_step = -1;
void lqf_fault_set_step(long step) { g_fault_step = step; }

int lqf_fault(const char *point) {
    const char *f = getenv("LQFACE_FAULT");
    if (!f || !*f) return 0;
    char action[8], where[64];
    long at = 0;
    if (sscanf(f, "%7[a-z]:%63[a-z_]:%ld", action, where, &at) != 3 || strcmp(where, point)) return 0;
    if (at >= 0 && at != g_fault_step) return 0;
    if (!strcmp(action, "kill")) raise(SIGKILL);
    return !strcmp(action, "fail");
}

static int g_threads = 0;

void lqf_set_num_threads(int n) {
#ifdef _OPENMP
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
#endif
    g_threads = n;
}

int lqf_get_num_threads(void) {
#ifdef _OPENMP
    return g_threads > 0 ? g_threads : omp_get_max_threads();
#else
    return 1;
#endif
}
