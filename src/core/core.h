/*
 * core.h — internal helpers shared by every subsystem: the thread-local error message,
 * checked allocation, and small utilities. Not part of the public API.
 *
 * Convention: a failing internal function calls lqf_fail(status, fmt, ...) which records
 * the message (naming the file and the problem) and returns the status, so the idiom is
 *     if (!f) return lqf_fail(LQF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
 * Broken invariants (programming errors, never bad input) use LQF_ASSERT.
 */
#ifndef LQF_CORE_H
#define LQF_CORE_H

#include "lqface.h"
#include <stdio.h>
#include <stdlib.h>

#if defined(__GNUC__)
#define LQF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LQF_PRINTF(a, b)
#endif

/* Record the error message for this thread and return s. */
lqf_status lqf_fail(lqf_status s, const char *fmt, ...) LQF_PRINTF(2, 3);
/* Prefix the current message with "prefix: " (adds context on the way up). */
lqf_status lqf_fail_context(lqf_status s, const char *fmt, ...) LQF_PRINTF(2, 3);
void lqf_clear_error(void);

/* 64-byte aligned allocation (free with lqf_free); NULL on failure. */
void *lqf_alloc(size_t bytes);
void *lqf_calloc(size_t bytes);
void lqf_free(void *p);


/* Read a whole file into a malloc'd buffer (a NUL byte after the last, not counted in *len);
 * errors name the path. A file larger than lqf_max_alloc() is refused (LQF_ERR_NOMEM). */
lqf_status lqf_read_file(const char *path, uint8_t **data, size_t *len);

/* The allocation limit for sizes read from files (tensor dims, image sizes, record and header
 * lengths, counts): LQFACE_MAX_ALLOC in bytes (suffix k, M or G for powers of 1024; read at
 * each check), default LQF_MAX_ALLOC_DEFAULT. Readers call lqf_check_alloc with the bytes a size
 * from a file would make them allocate BEFORE allocating; they also check sizes against the
 * bytes actually present, which this does not replace. */
#define LQF_MAX_ALLOC_DEFAULT ((uint64_t)4 << 30)
uint64_t lqf_max_alloc(void);
/* LQF_OK when `bytes` (what `what` in `file` asks for) is within lqf_max_alloc(); else
 * LQF_ERR_NOMEM "<file>: <what> would take N bytes, over the allocation limit L (LQFACE_MAX_ALLOC)". */
lqf_status lqf_check_alloc(uint64_t bytes, const char *file, const char *what);
/* A tighter bound on this thread's lqf_check_alloc while a reader knows how much its input
 * can justify (a checkpoint describes a network that cannot hold more parameters than the
 * file holds); 0 removes it. Returns the previous bound, to restore. */
uint64_t lqf_alloc_bound(uint64_t bytes);
/* a * b, or UINT64_MAX when it overflows (so the result fails lqf_check_alloc). */
uint64_t lqf_mul_sat(uint64_t a, uint64_t b);

/* Fault injection for the fault tests (docs/robustness.md): LQFACE_FAULT="ACTION:POINT:STEP"
 * with ACTION kill (raise SIGKILL) or fail (the caller reports an injected I/O error), POINT a
 * name the code passes to lqf_fault, STEP the value of the last lqf_fault_set_step (-1: any).
 * lqf_fault returns 1 when the caller must fail and never returns for kill. Without
 * LQFACE_FAULT it returns 0 at the cost of one getenv. */
void lqf_fault_set_step(long step);
int lqf_fault(const char *point);

#define LQF_ASSERT(c)                                                                   \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "lqface: internal error: %s:%d: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

#define LQF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LQF_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
