/*
 * text.c — JSON string literals and comma-separated number lists (core/text.h).
 */
#include "core/text.h"

#include <stdlib.h>
#include <string.h>

/* The escaped form of byte c into e (at most 6 bytes + NUL); returns its length. */
static int json_escape_byte(unsigned char c, char e[8]) {
    static const char *const shorts = "\"\"\\\\\nn\rr\tt\bb\ff"; /* byte, letter pairs */
    for (const char *p = shorts; *p; p += 2)
        if (c == (unsigned char)p[0]) return snprintf(e, 8, "\\%c", p[1]);
    if (c < 0x20) return snprintf(e, 8, "\\u%04x", c);
    e[0] = (char)c, e[1] = 0;
    return 1;
}

void lqf_json_write_str(FILE *f, const char *s) {
    char e[8];
    fputc('"', f);
    for (; s && *s; s++) fwrite(e, 1, (size_t)json_escape_byte((unsigned char)*s, e), f);
    fputc('"', f);
}

/* Append byte c at position *n of dst when it fits (leaving room for the NUL). */
static void put(char *dst, size_t cap, size_t *n, char c) {
    if (*n + 1 < cap) dst[*n] = c;
    (*n)++;
}

size_t lqf_json_quote(char *dst, size_t cap, const char *s) {
    char e[8];
    size_t n = 0;
    put(dst, cap, &n, '"');
    for (; s && *s; s++) {
        int k = json_escape_byte((unsigned char)*s, e);
        for (int j = 0; j < k; j++) put(dst, cap, &n, e[j]);
    }
    put(dst, cap, &n, '"');
    if (cap) dst[n < cap ? n : cap - 1] = 0;
    return n;
}

int lqf_parse_numbers(const char *txt, double *v, int max) {
    int n = 0;
    const char *p = txt ? txt : "";
    while (*p) {
        if (n == max) return -1;
        char *e;
        v[n++] = strtod(p, &e);
        if (e == p) return -1;
        while (*e == ' ') e++;
        if (*e == ',') e++;
        else if (*e) return -1;
        p = e;
    }
    return n;
}
