/*
 * core.c — status strings, the thread-local error message, aligned allocation, file
 * reading and thread-count control. Everything else in lqface reports errors through here.
 */
#define _GNU_SOURCE
#include "core.h"

#include <errno.h>
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
