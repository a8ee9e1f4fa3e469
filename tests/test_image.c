/*
 * test_image.c — image I/O against OpenCV: LFW JPEG decodes equal cv2.imread (raw pixels
 * of 2 photos, per-row sums of 24), small JPEG/PNG/PGM/PPM files made by
 * tools/ref_align.py decode to cv2.imread's pixels (or Netpbm's scaling for maxval != 255),
 * RGB/BGR order, greyscale expansion, PNG/PPM/PGM/JPEG round trips, and bad input
 * (missing, empty, truncated JPEG/PNG/PPM, corrupt JPEG, text named .jpg) giving the right
 * status and a message naming the file. Reference data: tests/data/image/.
 */
#include "core/core.h"
#include "lqface.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k = 0;
    char *b = buf[k++ & 3];
    snprintf(b, 512, "%s/%s", g_tmp, name);
    return b;
}

static int write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t put = n ? fwrite(data, 1, n, f) : 0;
    return fclose(f) == 0 && put == n;
}

/* Read a reference dump; exits the check (returns NULL) when it is missing. */
static uint8_t *load_ref(const char *rel, size_t *len) {
    uint8_t *d;
    if (lqf_read_file(tu_testdata(rel), &d, len) != LQF_OK) {
        fprintf(stderr, "missing reference %s: %s\n", rel, lqf_last_error());
        CHECK(!"reference file present");
        return NULL;
    }
    return d;
}

/* max |a-b| over n bytes; *ndiff counts differing bytes. */
static int max_diff_u8(const uint8_t *a, const uint8_t *b, size_t n, size_t *ndiff) {
    int m = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d) c++;
        if (d > m) m = d;
    }
    if (ndiff) *ndiff = c;
    return m;
}

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

/* ------------------------------------------------------------------ LFW JPEG parity */
static void test_lfw_jpeg(void) {
    size_t nlen, rawlen, sumlen;
    uint8_t *names = load_ref("image/jpeg_names.txt", &nlen);
    uint8_t *raw = load_ref("image/jpeg_raw.u8", &rawlen);
    uint8_t *sums = load_ref("image/jpeg_rowsums.u32", &sumlen);
    if (!names || !raw || !sums) goto done;
    const size_t npx = 250 * 250 * 3;
    CHECK(rawlen == 2 * npx);
    int n = 0, worst_raw = 0;
    size_t raw_ndiff = 0;
    long worst_sum = 0;
    char *save = NULL;
    for (char *nm = strtok_r((char *)names, "\n", &save); nm; nm = strtok_r(NULL, "\n", &save), n++) {
        char rel[512];
        snprintf(rel, sizeof rel, "data/lfw/lfw-deepfunneled/%s", nm);
        lqf_image *im;
        lqf_status st = lqf_image_load(tu_shared(rel), LQF_BGR, &im);
        if (!CHECK(st == LQF_OK)) {
            fprintf(stderr, "  %s\n", lqf_last_error());
            continue;
        }
        CHECK(im->width == 250 && im->height == 250 && im->channels == 3 && im->order == LQF_BGR);
        if (n < 2 && rawlen == 2 * npx) {
            size_t nd;
            int m = max_diff_u8(im->data, raw + n * npx, npx, &nd);
            if (m > worst_raw) worst_raw = m;
            raw_ndiff += nd;
        }
        if ((size_t)(n + 1) * 250 * 3 * 4 <= sumlen) {
            const uint32_t *ref = (const uint32_t *)sums + (size_t)n * 250 * 3;
            for (int y = 0; y < 250; y++)
                for (int c = 0; c < 3; c++) {
                    long s = 0;
                    for (int x = 0; x < 250; x++) s += im->data[(y * 250 + x) * 3 + c];
                    long d = labs(s - (long)ref[y * 3 + c]);
                    if (d > worst_sum) worst_sum = d;
                }
        }
        lqf_image_free(im);
    }
    printf("LFW JPEG vs cv2.imread: %d photos; raw pixels of 2: max diff %d (%zu bytes differ); "
           "row sums of %d: max diff %ld\n",
           n, worst_raw, raw_ndiff, n, worst_sum);
    CHECK(n == 24);
    CHECK(worst_raw <= 1);
    /* a row of 250 pixels off by at most 1 each */
    CHECK(worst_sum <= 250);
    CHECK(worst_sum == 0);
done:
    free(names);
    free(raw);
    free(sums);
}

/* ------------------------------------------------------------ small JPEG/PNG/PNM files */
static void test_small_files(void) {
    size_t len;
    uint8_t *list = load_ref("image/files.txt", &len);
    if (!list) return;
    int nfiles = 0;
    char *save = NULL;
    for (char *ln = strtok_r((char *)list, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char fname[128], refname[128], rel[300];
        int w, h;
        if (sscanf(ln, "%127s %d %d %127s", fname, &w, &h, refname) != 4) continue;
        nfiles++;
        snprintf(rel, sizeof rel, "image/%s.u8", refname);
        size_t rlen;
        uint8_t *ref = load_ref(rel, &rlen);
        snprintf(rel, sizeof rel, "image/%s", fname);
        lqf_image *bgr = NULL, *rgb = NULL;
        lqf_status s1 = lqf_image_load(tu_testdata(rel), LQF_BGR, &bgr);
        lqf_status s2 = lqf_image_load(tu_testdata(rel), LQF_RGB, &rgb);
        if (!CHECK(s1 == LQF_OK && s2 == LQF_OK) || !ref) {
            fprintf(stderr, "  %s: %s\n", fname, lqf_last_error());
            lqf_image_free(bgr);
            lqf_image_free(rgb);
            free(ref);
            continue;
        }
        CHECK(bgr->width == w && bgr->height == h && bgr->channels == 3);
        CHECK(rlen == (size_t)w * h * 3);
        size_t nd = 0;
        int m = bgr->width == w && bgr->height == h ? max_diff_u8(bgr->data, ref, rlen, &nd) : 999;
        printf("%-16s %dx%d vs reference: max diff %d (%zu bytes differ)\n", fname, w, h, m, nd);
        if (!CHECK(m == 0)) fprintf(stderr, "  %s differs from its reference\n", fname);
        /* RGB decode is the channel swap of the BGR decode */
        int swapped = rgb->order == LQF_RGB && rgb->width == bgr->width && rgb->height == bgr->height;
        for (size_t i = 0; swapped && i < (size_t)w * h; i++)
            swapped = rgb->data[3 * i] == bgr->data[3 * i + 2] && rgb->data[3 * i + 1] == bgr->data[3 * i + 1] &&
                      rgb->data[3 * i + 2] == bgr->data[3 * i];
        CHECK(swapped);
        /* greyscale sources expand to three equal channels */
        if (contains(fname, "grey")) {
            int equal = 1;
            for (size_t i = 0; i < (size_t)w * h; i++)
                equal &= bgr->data[3 * i] == bgr->data[3 * i + 1] && bgr->data[3 * i] == bgr->data[3 * i + 2];
            CHECK(equal);
        }
        /* decoding from memory gives the same pixels */
        uint8_t *enc;
        size_t enclen;
        if (lqf_read_file(tu_testdata(rel), &enc, &enclen) == LQF_OK) {
            lqf_image *mem = NULL;
            CHECK(lqf_image_decode(enc, enclen, fname, LQF_BGR, &mem) == LQF_OK);
            CHECK(mem && !memcmp(mem->data, bgr->data, (size_t)w * h * 3));
            lqf_image_free(mem);
            free(enc);
        }
        lqf_image_free(bgr);
        lqf_image_free(rgb);
        free(ref);
    }
    CHECK(nfiles >= 23);
    free(list);
}

/* ------------------------------------------------------------------- object functions */
static void test_object(void) {
    lqf_image *a = NULL, *b = NULL;
    CHECK(lqf_image_create(5, 4, LQF_RGB, &a) == LQF_OK);
    if (!a) return;
    CHECK(a->width == 5 && a->height == 4 && a->channels == 3 && a->order == LQF_RGB);
    for (int i = 0; i < 5 * 4 * 3; i++) a->data[i] = (uint8_t)(i * 7);
    CHECK(lqf_image_clone(a, &b) == LQF_OK);
    CHECK(b && b->data != a->data && !memcmp(a->data, b->data, 60) && b->order == LQF_RGB);
    lqf_image_set_order(b, LQF_BGR);
    CHECK(b->order == LQF_BGR && b->data[0] == a->data[2] && b->data[2] == a->data[0] && b->data[1] == a->data[1]);
    lqf_image_set_order(b, LQF_BGR); /* no-op */
    CHECK(b->data[0] == a->data[2]);
    lqf_image_set_order(b, LQF_RGB);
    CHECK(!memcmp(a->data, b->data, 60));
    lqf_image *c = (lqf_image *)1;
    CHECK(lqf_image_create(0, 4, LQF_RGB, &c) == LQF_ERR_ARG && c == NULL);
    CHECK(lqf_image_create(4, 4, (lqf_channel_order)7, &c) == LQF_ERR_ARG);
    lqf_image_free(NULL);
    lqf_image_free(a);
    lqf_image_free(b);
}

/* ------------------------------------------------------------------------- round trips */
static void test_round_trips(void) {
    lqf_image *src = NULL, *back = NULL, *grey = NULL;
    if (!CHECK(lqf_image_load(tu_testdata("image/rgb.png"), LQF_BGR, &src) == LQF_OK)) return;
    const size_t n = (size_t)src->width * src->height * 3;
    const char *exts[] = {"rt.png", "RT.PNG", "rt.ppm"};
    for (int k = 0; k < 3; k++) {
        const char *p = tmp_path(exts[k]);
        CHECK(lqf_image_save(src, p) == LQF_OK);
        CHECK(lqf_image_load(p, LQF_BGR, &back) == LQF_OK);
        CHECK(back && back->width == src->width && !memcmp(back->data, src->data, n));
        lqf_image_free(back);
        back = NULL;
        /* saved in one order, read in the other */
        CHECK(lqf_image_load(p, LQF_RGB, &back) == LQF_OK);
        if (back) lqf_image_set_order(back, LQF_BGR);
        CHECK(back && !memcmp(back->data, src->data, n));
        lqf_image_free(back);
        back = NULL;
    }
    /* .pgm stores the luma; cv2.cvtColor(BGR2GRAY) of the same pixels is grey.pgm */
    CHECK(lqf_image_save(src, tmp_path("rt.pgm")) == LQF_OK);
    CHECK(lqf_image_load(tmp_path("rt.pgm"), LQF_RGB, &back) == LQF_OK);
    CHECK(lqf_image_load(tu_testdata("image/grey.pgm"), LQF_RGB, &grey) == LQF_OK);
    if (back && grey) {
        int m = max_diff_u8(back->data, grey->data, n, NULL);
        printf("PGM save (luma) vs cv2.cvtColor BGR2GRAY: max diff %d\n", m);
        CHECK(m == 0);
    }
    lqf_image_free(back);
    back = NULL;
    /* JPEG at quality 95: close to the source; lower quality gives a smaller file */
    CHECK(lqf_image_save(src, tmp_path("rt.jpeg")) == LQF_OK);
    CHECK(lqf_image_load(tmp_path("rt.jpeg"), LQF_BGR, &back) == LQF_OK);
    if (back) {
        double se = 0;
        for (size_t i = 0; i < n; i++) se += ((double)back->data[i] - src->data[i]) * ((double)back->data[i] - src->data[i]);
        double psnr = 10 * log10(255.0 * 255.0 / (se / n + 1e-12));
        size_t rl;
        uint8_t *ref = load_ref("image/rgb_png_q95_ref.u8", &rl);
        size_t nd = 0;
        int m = ref && rl == n ? max_diff_u8(back->data, ref, n, &nd) : 999;
        printf("JPEG q95 round trip: PSNR %.1f dB; vs cv2.imencode q95 + decode: max diff %d (%zu bytes differ)\n",
               psnr, m, nd);
        CHECK(psnr > 30);
        CHECK(m <= 1);
        free(ref);
    }
    lqf_image_free(back);
    uint8_t *j95 = NULL, *j30 = NULL;
    size_t l95 = 0, l30 = 0;
    CHECK(lqf_image_encode_jpeg(src, 95, &j95, &l95) == LQF_OK);
    CHECK(lqf_image_encode_jpeg(src, 30, &j30, &l30) == LQF_OK);
    CHECK(l30 > 0 && l30 < l95);
    free(j95);
    free(j30);
    uint8_t *jbad = (uint8_t *)1;
    size_t lbad = 1;
    CHECK(lqf_image_encode_jpeg(src, 0, &jbad, &lbad) == LQF_ERR_ARG && jbad == NULL && lbad == 0);
    /* save errors */
    CHECK(lqf_image_save(src, tmp_path("x.bmp")) == LQF_ERR_ARG && contains(lqf_last_error(), "x.bmp"));
    CHECK(lqf_image_save(src, tmp_path("no/such/dir/x.png")) == LQF_ERR_IO &&
          contains(lqf_last_error(), "no/such/dir/x.png"));
    lqf_image_free(grey);
    lqf_image_free(src);
}

/* ------------------------------------------------------------------------- bad input */
static void expect_fail(const char *path, lqf_status want, const char *msg) {
    lqf_image *im = (lqf_image *)1;
    lqf_status st = lqf_image_load(path, LQF_RGB, &im);
    const char *e = lqf_last_error();
    int ok = st == want && im == NULL && contains(e, path) && contains(e, msg);
    printf("%-12s -> status %d, \"%s\"\n", msg, (int)st, e);
    if (!CHECK(ok)) fprintf(stderr, "  wanted status %d and \"%s\"\n", (int)want, msg);
    if (st == LQF_OK) lqf_image_free(im);
}

static void test_bad_input(void) {
    char rel[512];
    size_t len;
    uint8_t *jpg = NULL, *png = NULL, *ppm = NULL;
    expect_fail(tmp_path("missing.jpg"), LQF_ERR_IO, "cannot open: No such file or directory");
    CHECK(write_bytes(tmp_path("empty.png"), "", 0));
    expect_fail(tmp_path("empty.png"), LQF_ERR_FORMAT, "empty file");
    const char *text = "this is not a JPEG, only text\n";
    CHECK(write_bytes(tmp_path("text.jpg"), text, strlen(text)));
    expect_fail(tmp_path("text.jpg"), LQF_ERR_FORMAT, "not an image (unknown format)");

    snprintf(rel, sizeof rel, "data/lfw/lfw-deepfunneled/%s", "Aaron_Eckhart/Aaron_Eckhart_0001.jpg");
    if (CHECK(lqf_read_file(tu_shared(rel), &jpg, &len) == LQF_OK)) {
        CHECK(write_bytes(tmp_path("trunc40.jpg"), jpg, len * 4 / 10));
        expect_fail(tmp_path("trunc40.jpg"), LQF_ERR_FORMAT, "truncated JPEG");
        CHECK(write_bytes(tmp_path("trunc_hdr.jpg"), jpg, 200));
        expect_fail(tmp_path("trunc_hdr.jpg"), LQF_ERR_FORMAT, "truncated JPEG");
        CHECK(write_bytes(tmp_path("trunc2.jpg"), jpg, 2));
        expect_fail(tmp_path("trunc2.jpg"), LQF_ERR_FORMAT, "truncated JPEG");
        /* the last 2 bytes (EOI) missing: every pixel is there, but the file is cut */
        CHECK(write_bytes(tmp_path("no_eoi.jpg"), jpg, len - 2));
        lqf_image *im = NULL;
        lqf_status st = lqf_image_load(tmp_path("no_eoi.jpg"), LQF_RGB, &im);
        printf("JPEG without EOI -> status %d \"%s\"\n", (int)st, st ? lqf_last_error() : "");
        CHECK(st == LQF_OK || (st == LQF_ERR_FORMAT && contains(lqf_last_error(), "truncated JPEG")));
        lqf_image_free(im);
        /* a restart marker planted in the middle of the entropy-coded data */
        uint8_t *bad = malloc(len);
        memcpy(bad, jpg, len);
        for (size_t i = len / 2; i < len / 2 + 64; i += 2) bad[i] = 0xFF, bad[i + 1] = 0xD3;
        CHECK(write_bytes(tmp_path("corrupt.jpg"), bad, len));
        expect_fail(tmp_path("corrupt.jpg"), LQF_ERR_FORMAT, "corrupt JPEG");
        /* in-memory decode names the given name */
        im = (lqf_image *)1;
        CHECK(lqf_image_decode(jpg, len * 4 / 10, "memory-name.jpg", LQF_BGR, &im) == LQF_ERR_FORMAT &&
              im == NULL && contains(lqf_last_error(), "memory-name.jpg: truncated JPEG"));
        free(bad);
    }
    if (CHECK(lqf_read_file(tu_testdata("image/rgb.png"), &png, &len) == LQF_OK)) {
        CHECK(write_bytes(tmp_path("trunc.png"), png, len / 2));
        expect_fail(tmp_path("trunc.png"), LQF_ERR_FORMAT, "truncated PNG");
        CHECK(write_bytes(tmp_path("no_iend.png"), png, len - 12));
        expect_fail(tmp_path("no_iend.png"), LQF_ERR_FORMAT, "truncated PNG");
        CHECK(write_bytes(tmp_path("sig.png"), png, 5));
        expect_fail(tmp_path("sig.png"), LQF_ERR_FORMAT, "truncated PNG");
        /* a flipped byte inside IDAT breaks its CRC */
        png[len / 2] ^= 0x5A;
        CHECK(write_bytes(tmp_path("crc.png"), png, len));
        expect_fail(tmp_path("crc.png"), LQF_ERR_FORMAT, "corrupt PNG");
        /* a PNG under a .jpg name is still a PNG (format by content) */
        png[len / 2] ^= 0x5A;
        CHECK(write_bytes(tmp_path("really_png.jpg"), png, len));
        lqf_image *im = NULL;
        CHECK(lqf_image_load(tmp_path("really_png.jpg"), LQF_RGB, &im) == LQF_OK && im && im->width == 40);
        lqf_image_free(im);
    }
    if (CHECK(lqf_read_file(tu_testdata("image/rgb.ppm"), &ppm, &len) == LQF_OK)) {
        CHECK(write_bytes(tmp_path("trunc.ppm"), ppm, len - 100));
        expect_fail(tmp_path("trunc.ppm"), LQF_ERR_FORMAT, "truncated PPM");
        const char *badhdr = "P6\n40 x30\n255\n";
        CHECK(write_bytes(tmp_path("badhdr.ppm"), badhdr, strlen(badhdr)));
        expect_fail(tmp_path("badhdr.ppm"), LQF_ERR_FORMAT, "bad PPM header");
        const char *ascii = "P2\n2 2\n255\n1 2 3\n";
        CHECK(write_bytes(tmp_path("trunc_ascii.pgm"), ascii, strlen(ascii)));
        expect_fail(tmp_path("trunc_ascii.pgm"), LQF_ERR_FORMAT, "truncated PGM");
        const char *huge = "P5\n100000 100000\n255\n";
        CHECK(write_bytes(tmp_path("huge.pgm"), huge, strlen(huge)));
        expect_fail(tmp_path("huge.pgm"), LQF_ERR_UNSUPPORTED, "too large");
        const char *bitmap = "P4\n8 1\n\xAA";
        CHECK(write_bytes(tmp_path("bitmap.pbm"), bitmap, strlen(bitmap)));
        expect_fail(tmp_path("bitmap.pbm"), LQF_ERR_UNSUPPORTED, "not supported");
    }
    free(jpg);
    free(png);
    free(ppm);
    lqf_image *im = (lqf_image *)1;
    CHECK(lqf_image_load(NULL, LQF_RGB, &im) == LQF_ERR_ARG);
    CHECK(lqf_image_decode(NULL, 0, "nothing", LQF_RGB, &im) == LQF_ERR_FORMAT && im == NULL &&
          contains(lqf_last_error(), "nothing: empty file"));
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/lqf_test_image_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_object();
    test_lfw_jpeg();
    test_small_files();
    test_round_trips();
    test_bad_input();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return tu_finish("test_image");
}
