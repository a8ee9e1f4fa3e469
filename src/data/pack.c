/*
 * pack.c — packing an image folder (root/identity/image) into MXNet RecordIO the way
 * insightface's datasets are laid out: record 0 = meta (flag 2, labels [id_start, id_end]),
 * images as keys 1..N (IRHeader flag 0, label = class, id = key), identity records
 * N+1..N+K (labels [img_a, img_b)), or plain im2rec (images as keys 0..N-1); plus the .idx
 * and the "num_classes,height,width" property file. Images are stored byte for byte as
 * they are on disk (no re-encoding). Also a header sniffer for image sizes (no decoding).
 */
#define _GNU_SOURCE
#include "data/data.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static int be16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* PNM header: magic, then width and height, with '#' comments between tokens. */
static int pnm_ints(const uint8_t *b, size_t len, int *w, int *h) {
    size_t i = 2;
    long v[2];
    for (int k = 0; k < 2; k++) {
        for (;;) {
            while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
            if (i < len && b[i] == '#') {
                while (i < len && b[i] != '\n') i++;
                continue;
            }
            break;
        }
        if (i >= len || b[i] < '0' || b[i] > '9') return 0;
        v[k] = 0;
        while (i < len && b[i] >= '0' && b[i] <= '9' && v[k] < 1000000) v[k] = v[k] * 10 + (b[i++] - '0');
    }
    *w = (int)v[0];
    *h = (int)v[1];
    return 1;
}

lqf_status lqf_image_sniff_size(const uint8_t *b, size_t len, const char *name, int *w, int *h) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    *w = *h = 0;
    if (len >= 24 && memcmp(b, png_sig, 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0) {
        *w = (int)be32(b + 16);
        *h = (int)be32(b + 20);
    } else if (len >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') {
        pnm_ints(b, len, w, h);
    } else if (len >= 4 && b[0] == 0xff && b[1] == 0xd8) {
        size_t i = 2;
        while (i + 4 <= len) {
            if (b[i] != 0xff) break;
            int m = b[i + 1];
            if (m == 0xff) { i++; continue; }                       /* fill byte */
            if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; } /* no length */
            int seglen = be16(b + i + 2);
            if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
                if (i + 9 <= len) {
                    *h = be16(b + i + 5);
                    *w = be16(b + i + 7);
                }
                break;
            }
            if (m == 0xd9 || m == 0xda || seglen < 2) break;
            i += 2 + (size_t)seglen;
        }
    }
    if (*w <= 0 || *h <= 0)
        return lqf_fail(LQF_ERR_FORMAT, "%s: cannot read the image size (not PNG, JPEG or PNM?)", name);
    return LQF_OK;
}

/* Write data to path through path.tmp<pid> + rename. */
static lqf_status write_atomic(const char *path, const char *data, size_t len) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return lqf_fail(LQF_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    int bad = fwrite(data, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad) {
        unlink(tmp);
        return lqf_fail(LQF_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        lqf_status st = lqf_fail(LQF_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return st;
    }
    return LQF_OK;
}

lqf_status lqf_rec_pack(const char *folder, const char *out_prefix, const lqf_rec_pack_options *opts,
                               size_t *n_images, int *n_classes) {
    if (!folder || !out_prefix) return lqf_fail(LQF_ERR_ARG, "lqf_rec_pack: NULL argument");
    lqf_rec_pack_options o = {0};
    if (opts) o = *opts;
    lqf_folder_list fl;
    lqf_status st = lqf_folder_list_scan(folder, NULL, 0, &fl);
    if (st) return st;
    if (fl.n_images == 0) {
        lqf_folder_list_free(&fl);
        return lqf_fail(LQF_ERR_ARG, "%s: no images found (expected root/identity/image)", folder);
    }
    if (fl.n_images + fl.n_classes + 1 > (1U << 24)) { /* keys must survive float32 labels */
        lqf_folder_list_free(&fl);
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: %zu images: more than 2^24 keys cannot be described by float32 identity ranges",
                        folder, fl.n_images);
    }
    size_t n = fl.n_images;
    int k = fl.n_classes;
    lqf_rec_writer *w = NULL;
    lqf_buf pay = {0};
    char path[4096];
    size_t plen;
    if ((st = lqf_rec_writer_open(out_prefix, &w))) goto done;
    if (!o.plain) { /* record 0: meta */
        float meta[2] = {(float)(n + 1), (float)(n + 1 + k)};
        if ((st = lqf_ir_pack(0, meta, 2, 0, 0, NULL, 0, &pay, &plen))) goto done;
        if ((st = lqf_rec_writer_write(w, 0, pay.data, plen))) goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (snprintf(path, sizeof path, "%s/%s", folder, fl.paths[i]) >= (int)sizeof path) {
            st = lqf_fail(LQF_ERR_ARG, "%s/%s: path too long", folder, fl.paths[i]);
            goto done;
        }
        uint8_t *data;
        size_t len;
        if ((st = lqf_read_file(path, &data, &len))) goto done;
        if (i == 0 && (o.width <= 0 || o.height <= 0)) {
            st = lqf_image_sniff_size(data, len, path, &o.width, &o.height);
            if (st) { free(data); goto done; }
        }
        uint64_t key = o.plain ? i : i + 1;
        st = lqf_ir_pack((float)fl.labels[i], NULL, 0, key, 0, data, len, &pay, &plen);
        free(data);
        if (st) goto done;
        if ((st = lqf_rec_writer_write(w, key, pay.data, plen))) goto done;
    }
    if (!o.plain) { /* identity records: [first key, one past the last key) of each class */
        size_t a = 0;
        for (int c = 0; c < k; c++) {
            size_t b = a;
            while (b < n && fl.labels[b] == c) b++;
            float range[2] = {(float)(a + 1), (float)(b + 1)};
            uint64_t key = n + 1 + (uint64_t)c;
            if ((st = lqf_ir_pack(0, range, 2, key, 0, NULL, 0, &pay, &plen))) goto done;
            if ((st = lqf_rec_writer_write(w, key, pay.data, plen))) goto done;
            a = b;
        }
    }
    st = lqf_rec_writer_close(w);
    w = NULL;
    if (st) goto done;
    { /* property file next to the .rec */
        char *prop = lqf_rec_property_path(out_prefix), text[96];
        if (!prop) { st = lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", out_prefix); goto done; }
        int tn = snprintf(text, sizeof text, "%d,%d,%d\n", k, o.height, o.width);
        st = write_atomic(prop, text, (size_t)tn);
        free(prop);
        if (st) goto done;
    }
    if (n_images) *n_images = n;
    if (n_classes) *n_classes = k;
done:
    if (w) lqf_rec_writer_abort(w);
    lqf_buf_free(&pay);
    lqf_folder_list_free(&fl);
    return st;
}
