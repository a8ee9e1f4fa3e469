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

/* The files of a multi-part RecordIO input (.rec, then optional .idx and property) in the
 * scratch directory; returns the .rec path. */
static inline const char *fuzz_rec_files(const uint8_t *data, size_t size) {
    const uint8_t *rec = NULL, *idx = NULL, *prop = NULL;
    size_t nrec = 0, nidx = 0, nprop = 0;
    fuzz_part(&data, &size, &rec, &nrec);
    int has_idx = fuzz_part(&data, &size, &idx, &nidx);
    int has_prop = fuzz_part(&data, &size, &prop, &nprop);
    fuzz_file("t.idx", has_idx ? idx : NULL, nidx, 1);
    fuzz_file("property", has_prop ? prop : NULL, nprop, 2);
    return fuzz_file("t.rec", rec, nrec, 0);
}

/* A CFP protocol directory from the parts Pair_list_F.txt, Pair_list_P.txt, then same.txt and
 * diff.txt of folds 01..03 of `split`; returns the directory. */
static inline const char *fuzz_cfp_dir(const uint8_t *data, size_t size, const char *split) {
    const uint8_t *part = NULL;
    size_t len = 0;
    char name[128];
    static char dir[256];
    snprintf(dir, sizeof dir, "%s/cfp", fuzz_dir());
    mkdir(dir, 0700);
    for (int k = 0; k < 2; k++) {
        int have = fuzz_part(&data, &size, &part, &len);
        fuzz_file(k ? "cfp/Pair_list_P.txt" : "cfp/Pair_list_F.txt", have ? part : NULL, len, 0);
    }
    snprintf(name, sizeof name, "%s/cfp/Split", fuzz_dir());
    mkdir(name, 0700);
    snprintf(name, sizeof name, "%s/cfp/Split/%s", fuzz_dir(), split);
    mkdir(name, 0700);
    for (int f = 1; f <= 3; f++) {
        snprintf(name, sizeof name, "%s/cfp/Split/%s/%02d", fuzz_dir(), split, f);
        mkdir(name, 0700);
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "cfp/Split/%s/%02d/%s.txt", split, f, k ? "diff" : "same");
            int have = fuzz_part(&data, &size, &part, &len);
            fuzz_file(name, have ? part : NULL, len, 0);
        }
    }
    return dir;
}

/* A pair list input: first byte 0 LFW, 1 generic list, 2 CFP FP, 3 CFP FF (| 4: LFW with a
 * root), then the file(s). */
static inline lqf_status fuzz_pairs_load(const uint8_t *data, size_t size, lqf_pair_list **p) {
    *p = NULL;
    if (size < 1) return LQF_ERR_ARG;
    int kind = data[0] & 3, rooted = data[0] & 4;
    data++, size--;
    if (kind == 0) return lqf_pairs_load_lfw(fuzz_memfd(data, size), rooted ? "/root" : NULL, p);
    if (kind == 1) return lqf_pairs_load_list(fuzz_memfd(data, size), "root", p);
    const char *split = kind == 2 ? "FP" : "FF";
    return lqf_pairs_load_cfp(fuzz_cfp_dir(data, size, split), split, p);
}

#endif
