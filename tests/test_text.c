/*
 * test_text.c — core/text.h against Python (dumps by tools/ref_text.py): JSON string
 * literals equal json.dumps(s, ensure_ascii=False) for quotes, backslashes, every control
 * byte and UTF-8 text, written to a FILE (lqf_json_write_str) and into buffers of every
 * size (lqf_json_quote: the same bytes cut short and NUL-terminated, the full length
 * returned); comma-separated number lists parse as the documented grammar says.
 */
#define _GNU_SOURCE
#include "core/core.h"
#include "core/text.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hex -> bytes into out (NUL-terminated); returns the length. */
static size_t unhex(const char *h, char *out) {
    size_t n = 0;
    for (; h[0] && h[1] && h[0] != '\t' && h[0] != '\n'; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (char)v;
    }
    out[n] = 0;
    return n;
}

static void test_json(void) {
    uint8_t *data;
    size_t len;
    if (!CHECK(lqf_read_file(tu_testdata("text/json.txt"), &data, &len) == LQF_OK)) return;
    int cases = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)data, "\n", &save); line; line = strtok_r(NULL, "\n", &save), cases++) {
        char in[512], want[1024], got[1024];
        char *tab = strchr(line, '\t');
        if (!CHECK(tab != NULL)) break;
        unhex(line, in);
        size_t wn = unhex(tab + 1, want);
        char *buf = NULL;
        size_t bn = 0;
        FILE *f = open_memstream(&buf, &bn);
        lqf_json_write_str(f, in);
        fclose(f);
        int ok = bn == wn && !memcmp(buf, want, wn);
        ok &= lqf_json_quote(got, sizeof got, in) == wn && !strcmp(got, want);
        for (size_t cap = 0; cap <= wn + 1; cap++) { /* cut short like snprintf */
            memset(got, 'x', sizeof got);
            ok &= lqf_json_quote(cap ? got : NULL, cap, in) == wn;
            if (cap) ok &= strlen(got) == (cap - 1 < wn ? cap - 1 : wn) && !memcmp(got, want, strlen(got));
        }
        if (!ok) printf("json case %d: got '%s', want '%s'\n", cases, buf, want);
        bad += !ok;
        free(buf);
    }
    printf("JSON literals: %d cases, %d differ from json.dumps\n", cases, bad);
    CHECK(cases == 14 && bad == 0);
    char one[8];
    CHECK(lqf_json_quote(one, sizeof one, NULL) == 2 && !strcmp(one, "\"\""));
    free(data);
}

static void test_numbers(void) {
    uint8_t *data;
    size_t len;
    if (!CHECK(lqf_read_file(tu_testdata("text/numbers.txt"), &data, &len) == LQF_OK)) return;
    int cases = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)data, "\n", &save); line; line = strtok_r(NULL, "\n", &save), cases++) {
        char in[512];
        char *tab = strchr(line, '\t');
        if (!CHECK(tab != NULL)) break;
        unhex(line, in);
        double v[32], w[40];
        int n = lqf_parse_numbers(in, v, 32), m = 0, ok;
        if (!strcmp(tab + 1, "error")) {
            ok = n == -1;
        } else {
            for (char *p = tab + 1, *e; *p; p = e) {
                w[m++] = strtod(p, &e);
                if (e == p) break;
            }
            ok = n == m;
            for (int k = 0; ok && k < m; k++) ok = v[k] == w[k] || (isnan(v[k]) && isnan(w[k]));
        }
        if (!ok) printf("number list case %d '%s': %d values, want %s\n", cases, in, n, tab + 1);
        bad += !ok;
    }
    printf("number lists: %d cases, %d differ from the reference\n", cases, bad);
    CHECK(cases == 18 && bad == 0);
    CHECK(lqf_parse_numbers(NULL, NULL, 0) == 0);
    free(data);
}

int main(void) {
    test_json();
    test_numbers();
    return tu_finish("test_text");
}
