/*
 * text.h — small text helpers every subsystem and the CLI share: JSON string literals
 * (to a FILE or into a buffer) and comma-separated number lists ("112,28,14").
 */
#ifndef LQF_TEXT_H
#define LQF_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Write s as a JSON string literal, quotes included (NULL writes ""), as Python's
 * json.dumps(s, ensure_ascii=False) writes it: \" \\ \n \r \t \b \f, other bytes below 0x20
 * as \u00XX, everything else as it is (UTF-8 stays UTF-8). */
void lqf_json_write_str(FILE *f, const char *s);
/* The same literal into dst (cap bytes, NUL-terminated, cut short like snprintf when it
 * does not fit); returns the length the whole literal needs (without the NUL). */
size_t lqf_json_quote(char *dst, size_t cap, const char *s);

/* "v0,v1,..." (spaces after a value allowed, a trailing comma ignored) -> up to max numbers
 * in v: the count (0 for "" or NULL), or -1 when a value does not parse or more than max
 * values are given. */
int lqf_parse_numbers(const char *txt, double *v, int max);

#endif
