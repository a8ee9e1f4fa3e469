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


/* Read a whole file into a malloc'd buffer; errors name the path. */
lqf_status lqf_read_file(const char *path, uint8_t **data, size_t *len);

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
