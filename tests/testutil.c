/*
 * testutil.c — implementation of the shared test helpers (see testutil.h).
 */
#include "testutil.h"
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

int tu_failures = 0, tu_checks = 0;

int tu_check(int ok, const char *what, const char *file, int line) {
    tu_checks++;
    if (!ok) {
        tu_failures++;
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    }
    return ok;
}

int tu_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol) {
    size_t worst = 0;
    double worst_ex = -1, maxdiff = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double ex = d - (atol + rtol * fabs((double)b[i]));
        if (!(d == d)) ex = INFINITY;
        if (ex > worst_ex) { worst_ex = ex; worst = i; }
        if (d > maxdiff) maxdiff = d;
    }
    tu_checks++;
    if (worst_ex > 0) {
        tu_failures++;
        fprintf(stderr, "FAIL %s: element %zu got %.8g want %.8g (max abs diff %.3g)\n", what, worst,
                a[worst], b[worst], maxdiff);
        return 0;
    }
    printf("ok   %s: %zu values, max abs diff %.3g\n", what, n, maxdiff);
    return 1;
}

double tu_cosine(const float *a, const float *b, size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa * bb) + 1e-30);
}

double tu_max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

static const char *join(const char *envname, const char *dflt, const char *rel) {
    static char buf[8][4096];
    static int k = 0;
    const char *root = getenv(envname);
    if (!root || !*root) root = dflt;
    char *b = buf[k++ & 7];
    snprintf(b, 4096, "%s/%s", root, rel);
    return b;
}

const char *tu_shared(const char *rel) { return join("LQFACE_SHARED", "../shared", rel); }
const char *tu_testdata(const char *rel) { return join("LQFACE_TESTDATA", "tests/data", rel); }

long tu_load_f32(const char *path, float **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f) / 4;
    rewind(f);
    float *d = malloc((size_t)n * 4 + 4);
    if (fread(d, 4, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(d);
        return -1;
    }
    fclose(f);
    *out = d;
    return n;
}

int tu_finish(const char *name) {
    printf("%s: %d checks, %d failed\n", name, tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}

double tu_norm_err(const float *a, const float *b, size_t n) {
    double md = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d == d)) return INFINITY;
        md = fmax(md, d);
        mb = fmax(mb, fabs((double)b[i]));
    }
    return md / fmax(mb, 1e-30);
}

void tu_train_set(lqf_train_config *c, const char *key, const char *value) {
    if (lqf_train_config_set(c, key, value) != LQF_OK) {
        printf("config %s = %s: %s\n", key, value, lqf_last_error());
        CHECK(0);
    }
}

lqf_status tu_block_embed(void *user, const lqf_image *const *faces, int n, float *emb, float *norms) {
    for (int i = 0; i < n; i++) {
        const lqf_image *f = faces[i];
        float *e = emb + (size_t)i * TU_BLOCK_DIM;
        memset(e, 0, sizeof(float) * TU_BLOCK_DIM);
        for (int y = 0; y < f->height; y++)
            for (int x = 0; x < f->width; x++)
                for (int c = 0; c < 3; c++)
                    e[((y * 4 / f->height) * 4 + x * 4 / f->width) * 3 + c] += f->data[((size_t)y * f->width + x) * 3 + c];
        double s = 0;
        for (int k = 0; k < TU_BLOCK_DIM; k++) s += (double)e[k] * e[k];
        for (int k = 0; k < TU_BLOCK_DIM; k++) e[k] /= (float)sqrt(s);
        if (norms) norms[i] = (float)sqrt(s);
    }
    if (user) *(int *)user += n;
    return LQF_OK;
}
