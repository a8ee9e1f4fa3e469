/*
 * fuzz_util.h — what every libFuzzer harness under tests/fuzz/ shares: the allocation limit
 * the harnesses run under (LQFACE_MAX_ALLOC, set before the library reads it, so a size read
 * from the input is refused long before libFuzzer's RSS limit), a way to hand bytes to a
 * reader that takes a path (a memfd, named /proc/self/fd/N), and a scratch directory for
 * readers that take several files. Header-only: each harness is one translation unit.
 */
#ifndef LQF_FUZZ_UTIL_H /* compiled with _GNU_SOURCE (memfd_create, memmem) */
#define LQF_FUZZ_UTIL_H

#include "core/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_MAX_ALLOC "256M"

/* Call first in LLVMFuzzerInitialize (limit: FUZZ_MAX_ALLOC unless the caller set one). */
static inline void fuzz_init(const char *limit) {
    setenv("LQFACE_MAX_ALLOC", limit ? limit : FUZZ_MAX_ALLOC, 0);
    setenv("OMP_NUM_THREADS", "1", 0);
}

/* The bytes as a file: one memfd per process, rewritten each call; returns its path. */
static inline const char *fuzz_memfd(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("lqf_fuzz", MFD_CLOEXEC);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) abort();
    return path;
}

/* A scratch directory of this process (created once, emptied by the caller's rewrites). */
static inline const char *fuzz_dir(void) {
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/lqf_fuzz_%ld", (long)getpid());
        if (mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0) abort();
    }
    return dir;
}

/* Write (or, when data is NULL, remove) the file dir/name; returns its path (static buffer k). */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size, int k) {
    static char path[8][256];
    snprintf(path[k], sizeof path[k], "%s/%s", fuzz_dir(), name);
    if (!data) {
        unlink(path[k]);
        return path[k];
    }
    FILE *f = fopen(path[k], "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path[k];
}

/* The next part of a multi-file input: parts are separated by the 4 bytes "\n##\n". */
static inline int fuzz_part(const uint8_t **data, size_t *size, const uint8_t **part, size_t *len) {
    if (!*data) return 0;
    const uint8_t *p = *data, *e = p + *size;
    const uint8_t *s = memmem(p, *size, "\n##\n", 4);
    *part = p;
    *len = (size_t)((s ? s : e) - p);
    if (s) {
        *size = (size_t)(e - (s + 4));
        *data = s + 4;
    } else {
        *data = NULL;
        *size = 0;
    }
    return 1;
}

#endif
