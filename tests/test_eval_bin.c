/*
 * test_eval_bin.c — the insightface .bin reader on real packs built by tools/make_lfw_bin.py
 * from LFW photos (tests/data/eval/lfw8_*.bin: Python-2 str, Python-3 bytes at protocols 2
 * and 4, numpy arrays at protocols 2 and 5): pair count, issame flags, every image's size and
 * FNV-1a hash as the generator recorded them, JPEG markers, decodability; and the errors for a
 * file that is not a pickle, a truncated pack, an unexpected opcode or global, a wrong layout.
 */
#include "core/core.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

typedef struct {
    int n_pairs;
    int issame[64];
    size_t len[128];
    uint64_t hash[128];
} expected;

static int load_expected(expected *e) {
    FILE *f = fopen(tu_testdata("eval/lfw_bin_expected.txt"), "r");
    if (!f) return 0;
    char line[256];
    if (!fgets(line, sizeof line, f) || fscanf(f, "%d", &e->n_pairs) != 1 || e->n_pairs > 64) {
        fclose(f);
        return 0;
    }
    for (int i = 0; i < e->n_pairs; i++)
        if (fscanf(f, "%d", &e->issame[i]) != 1) return fclose(f), 0;
    for (int i = 0; i < 2 * e->n_pairs; i++) {
        unsigned long long h;
        if (fscanf(f, "%zu %llx", &e->len[i], &h) != 2) return fclose(f), 0;
        e->hash[i] = h;
    }
    fclose(f);
    return 1;
}

static void check_pack(const char *name, const expected *e) {
    char rel[256];
    snprintf(rel, sizeof rel, "eval/%s", name);
    lqf_bin_pack *b = NULL;
    double t0 = lqf_now();
    lqf_status st = lqf_bin_load(tu_testdata(rel), &b);
    double ms = (lqf_now() - t0) * 1e3;
    if (!CHECK(st == LQF_OK)) {
        fprintf(stderr, "%s: %s\n", name, lqf_last_error());
        return;
    }
    CHECK(b->n_pairs == e->n_pairs && b->n_images == 2 * e->n_pairs);
    int flags_ok = 1, sizes_ok = 1, jpeg_ok = 1;
    for (int i = 0; i < b->n_pairs && i < e->n_pairs; i++) flags_ok &= b->issame[i] == e->issame[i];
    for (int i = 0; i < b->n_images && i < 2 * e->n_pairs; i++) {
        const uint8_t *p = b->image[i];
        size_t n = b->image_len[i];
        sizes_ok &= n == e->len[i] && fnv1a64(p, n) == e->hash[i];
        jpeg_ok &= n > 4 && p[0] == 0xFF && p[1] == 0xD8 && p[n - 2] == 0xFF && p[n - 1] == 0xD9;
    }
    CHECK(flags_ok);
    CHECK(sizes_ok);
    CHECK(jpeg_ok);
    lqf_image *img = NULL;
    if (CHECK(lqf_image_decode(b->image[0], b->image_len[0], name, LQF_RGB, &img) == LQF_OK))
        CHECK(img->width == 112 && img->height == 112);
    lqf_image_free(img);
    printf("%s: %d pairs (%d same), %d JPEGs, sizes/hashes/flags %s, read in %.2f ms\n", name, b->n_pairs,
           e->issame[0] + e->issame[1] + e->issame[2] + e->issame[3], b->n_images,
           flags_ok && sizes_ok && jpeg_ok ? "match" : "DIFFER", ms);
    lqf_bin_free(b);
}

static const char *tmp_file(const char *tag, const void *data, size_t n) {
    static char path[8][512];
    static int k = 0;
    char *p = path[k++ & 7];
    snprintf(p, 512, "/tmp/lqf_test_eval_bin_%d_%s", (int)getpid(), tag);
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    return p;
}

static void expect_error(const char *what, const char *path, lqf_status want, const char *needle) {
    lqf_bin_pack *b = (lqf_bin_pack *)1;
    lqf_status st = lqf_bin_load(path, &b);
    printf("%s: %s\n", what, lqf_last_error());
    CHECK(st == want && b == NULL);
    if (needle && !strstr(lqf_last_error(), needle)) {
        fprintf(stderr, "  message lacks \"%s\"\n", needle);
        CHECK(0);
    }
    CHECK(strstr(lqf_last_error(), path) != NULL);
    if (path[0] == '/' && !strncmp(path, "/tmp/lqf_test_eval_bin_", 23)) unlink(path);
}

/* Corrupted packs (random bytes overwritten, random truncations) must give LQF_OK or a
 * format error, never a crash or an out-of-range image (run under LQF_SANITIZE for ASan). */
static void corruption_sweep(const char *rel) {
    uint8_t *data;
    size_t len;
    if (!CHECK(lqf_read_file(tu_testdata(rel), &data, &len) == LQF_OK)) return;
    uint8_t *buf = malloc(len);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    int ok = 0, fmt = 0, other = 0;
    for (int trial = 0; trial < 300; trial++) {
        memcpy(buf, data, len);
        size_t n = len;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        if (trial % 3 == 2) {
            n = (size_t)(s >> 33) % len;
        } else {
            for (int k = 0; k < 1 + trial % 4; k++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                /* corrupt mostly the pickle structure (the first 64 bytes and around images) */
                size_t at = (k == 0 && trial % 2) ? (size_t)(s >> 33) % 64 : (size_t)(s >> 33) % len;
                buf[at] = (uint8_t)(s >> 17);
            }
        }
        const char *p = tmp_file("corrupt", buf, n);
        lqf_bin_pack *b = NULL;
        lqf_status st = lqf_bin_load(p, &b);
        if (st == LQF_OK) {
            int sane = b->n_images == 2 * b->n_pairs;
            size_t total = 0;
            for (int i = 0; i < b->n_images; i++) total += b->image_len[i];
            sane &= total <= n;
            if (!sane) other++;
            else ok++;
            lqf_bin_free(b);
        } else if (st == LQF_ERR_FORMAT) {
            fmt++;
        } else {
            other++;
        }
        unlink(p);
    }
    printf("%s corruption sweep: 300 trials, %d loaded, %d format errors, %d other\n", rel, ok, fmt, other);
    CHECK(other == 0 && fmt > 0);
    free(buf);
    free(data);
}

int main(void) {
    expected e;
    if (!CHECK(load_expected(&e))) return tu_finish("test_eval_bin");
    FILE *f = fopen(tu_testdata("eval/lfw_bin_variants.txt"), "r");
    if (!CHECK(f != NULL)) return tu_finish("test_eval_bin");
    char name[256];
    int variants = 0;
    while (fscanf(f, "%255s", name) == 1) {
        check_pack(name, &e);
        variants++;
    }
    fclose(f);
    CHECK(variants == 5);

    /* not a pickle: a JPEG photo */
    expect_error("not a pickle", tu_shared("data/lfw/lfw-deepfunneled/Abel_Pacheco/Abel_Pacheco_0001.jpg"),
                 LQF_ERR_FORMAT, "not a pickle");
    expect_error("missing file", "/nonexistent/lfw.bin", LQF_ERR_IO, NULL);
    expect_error("empty file", tmp_file("empty", "", 0), LQF_ERR_FORMAT, "empty");

    /* truncated: the first half of a real pack */
    uint8_t *data;
    size_t len;
    if (CHECK(lqf_read_file(tu_testdata("eval/lfw8_py2.bin"), &data, &len) == LQF_OK)) {
        expect_error("truncated", tmp_file("half", data, len / 2), LQF_ERR_FORMAT, "truncated");
        expect_error("no STOP", tmp_file("nostop", data, len - 1), LQF_ERR_FORMAT, "truncated");
        free(data);
    }
    /* an opcode these packs never use: DICT ('d') at byte 3 */
    static const uint8_t dict_op[] = {0x80, 0x02, '(', 'd', '.'};
    expect_error("unexpected opcode", tmp_file("dict", dict_op, sizeof dict_op), LQF_ERR_FORMAT,
                 "unexpected pickle opcode 0x64 at byte 3");
    /* a global that is not part of the format: __builtin__.set */
    static const char set_g[] = "\x80\x02" "c__builtin__\nset\n" "]\x85R.";
    expect_error("unexpected global", tmp_file("set", set_g, sizeof set_g - 1), LQF_ERR_FORMAT,
                 "unexpected pickle global __builtin__.set");
    /* valid pickle, wrong layout: one image for one pair */
    static const uint8_t one[] = {0x80, 0x02, ']', '(', 'C', 0x02, 0xFF, 0xD8, 'e', ']', '(', 0x88, 'e', 0x86, '.'};
    expect_error("wrong layout", tmp_file("one", one, sizeof one), LQF_ERR_FORMAT, "1 images for 1 pairs");
    /* valid pickle, not a pair of lists */
    static const uint8_t num[] = {0x80, 0x02, 'K', 0x07, '.'};
    expect_error("not a tuple", tmp_file("num", num, sizeof num), LQF_ERR_FORMAT, "not a pair");
    corruption_sweep("eval/lfw8_numpy_p2.bin");
    corruption_sweep("eval/lfw8_py2.bin");
    return tu_finish("test_eval_bin");
}
