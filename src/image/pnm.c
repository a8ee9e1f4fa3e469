/*
 * pnm.c — Netpbm greymaps and pixmaps: P2/P5 (PGM) and P3/P6 (PPM), ASCII and binary,
 * maxval 1..65535 (binary samples wider than 8 bits are 2 bytes, big-endian). Samples are
 * scaled to 0..255 as round(v * 255 / maxval) (the identity for maxval 255), values above
 * maxval are clamped, '#' comments are skipped in the header, and bytes after the first
 * image are ignored. Greymaps are expanded to 3 channels. Encoding writes P6, or P5 with
 * the BT.601 luma of OpenCV's cvtColor(BGR2GRAY) for 8-bit images. Bitmaps (P1/P4) and
 * PAM (P7) are not supported.
 */
#include "image/image.h"

#include <ctype.h>
#include <string.h>

typedef struct {
    const uint8_t *p, *end;
} cursor;

/* Skip whitespace and '#' comments (which run to the end of the line). */
static void skip_space(cursor *c) {
    while (c->p < c->end) {
        if (*c->p == '#') {
            while (c->p < c->end && *c->p != '\n' && *c->p != '\r') c->p++;
        } else if (isspace(*c->p)) {
            c->p++;
        } else {
            break;
        }
    }
}

/* Parse an unsigned decimal; returns 1 on success, 0 at end of data, -1 on a non-digit. */
static int read_uint(cursor *c, long *v) {
    skip_space(c);
    if (c->p >= c->end) return 0;
    if (!isdigit(*c->p)) return -1;
    long x = 0;
    while (c->p < c->end && isdigit(*c->p)) {
        if (x < 100000000L) x = x * 10 + (*c->p - '0');
        c->p++;
    }
    *v = x;
    return 1;
}

lqf_status lqf_pnm_decode(const uint8_t *buf, size_t len, const char *name, lqf_channel_order order,
                          lqf_image **out) {
    *out = NULL;
    char kind = (char)buf[1];
    const char *what = (kind == '2' || kind == '5') ? "PGM" : "PPM";
    if (kind != '2' && kind != '3' && kind != '5' && kind != '6')
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: Netpbm P%c is not supported (only P2, P3, P5, P6)", name,
                        kind);
    int binary = kind >= '5', nc = (kind == '3' || kind == '6') ? 3 : 1;
    cursor c = {buf + 2, buf + len};
    long hdr[3];
    static const char *field[3] = {"width", "height", "maxval"};
    for (int i = 0; i < 3; i++) {
        int r = read_uint(&c, &hdr[i]);
        if (r == 0) return lqf_fail(LQF_ERR_FORMAT, "%s: truncated %s (header)", name, what);
        if (r < 0) return lqf_fail(LQF_ERR_FORMAT, "%s: bad %s header (%s)", name, what, field[i]);
    }
    long w = hdr[0], h = hdr[1], maxval = hdr[2];
    if (maxval <= 0 || maxval > 65535)
        return lqf_fail(LQF_ERR_FORMAT, "%s: bad %s maxval %ld (must be 1..65535)", name, what, maxval);
    if (binary) {
        /* exactly one whitespace character separates the header from the raster */
        if (c.p >= c.end) return lqf_fail(LQF_ERR_FORMAT, "%s: truncated %s", name, what);
        if (!isspace(*c.p)) return lqf_fail(LQF_ERR_FORMAT, "%s: bad %s header (after maxval)", name, what);
        c.p++;
    }

    /* the raster must be there before the image is allocated: binary samples are 1 or 2
     * bytes, text samples at least a digit and a separator (none after the last) */
    lqf_status st = lqf_image_check_decoded((uint64_t)w, (uint64_t)h, what, name);
    if (st) return st;
    uint64_t nsamp = lqf_mul_sat(lqf_mul_sat((uint64_t)w, (uint64_t)h), (uint64_t)nc); /* w, h >= 0 */
    int bytes = maxval > 255 ? 2 : 1;
    size_t have = (size_t)(c.end - c.p);
    if ((binary ? have / bytes < nsamp : (have + 1) / 2 < nsamp))
        return lqf_fail(LQF_ERR_FORMAT, "%s: truncated %s (%zu bytes of pixel data for %llu %s samples)", name, what,
                        have, (unsigned long long)nsamp, binary ? "binary" : "text");
    lqf_image *im;
    st = lqf_image_create_decoded((uint64_t)w, (uint64_t)h, what, name, order, &im);
    if (st) return st;

    /* lookup from sample value to 8 bits: round(v * 255 / maxval) */
    uint8_t *lut = malloc((size_t)maxval + 1);
    if (!lut) {
        lqf_image_free(im);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", name);
    }
    for (long v = 0; v <= maxval; v++) lut[v] = (uint8_t)((v * 255 + maxval / 2) / maxval);

    uint8_t *d = im->data;
    int r_at = order == LQF_RGB ? 0 : 2;  /* where the file's first (red) sample goes */
    for (size_t i = 0; i < nsamp; i++) {
        long v;
        if (binary) {
            v = bytes == 2 ? (long)c.p[0] << 8 | c.p[1] : c.p[0];
            c.p += bytes;
        } else {
            int r = read_uint(&c, &v);
            if (r <= 0) {
                free(lut);
                lqf_image_free(im);
                if (r == 0)
                    return lqf_fail(LQF_ERR_FORMAT, "%s: truncated %s (%zu of %zu samples)", name, what, i,
                                    nsamp);
                return lqf_fail(LQF_ERR_FORMAT, "%s: bad %s sample %zu (not a number)", name, what, i);
            }
        }
        uint8_t q = lut[v > maxval ? maxval : v];
        if (nc == 1) {
            d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = q;
        } else {
            size_t px = i / 3;
            int ch = (int)(i % 3);
            d[3 * px + (ch == 0 ? r_at : ch == 2 ? 2 - r_at : 1)] = q;
        }
    }
    free(lut);
    *out = im;
    return LQF_OK;
}

lqf_status lqf_pnm_encode(const lqf_image *img, int grey, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    size_t npx = (size_t)img->width * img->height;
    char hdr[64];
    int hl = snprintf(hdr, sizeof hdr, "P%c\n%d %d\n255\n", grey ? '5' : '6', img->width, img->height);
    size_t total = (size_t)hl + npx * (grey ? 1 : 3);
    uint8_t *b = malloc(total);
    if (!b) return lqf_fail(LQF_ERR_NOMEM, "PGM/PPM encoder: out of memory");
    memcpy(b, hdr, (size_t)hl);
    uint8_t *o = b + hl;
    const uint8_t *s = img->data;
    int ri = img->order == LQF_RGB ? 0 : 2, bi = 2 - ri;
    for (size_t i = 0; i < npx; i++, s += 3) {
        if (grey) {
            /* OpenCV's fixed-point BT.601 luma: (R*4899 + G*9617 + B*1868 + 2^13) >> 14 */
            *o++ = (uint8_t)((s[ri] * 4899 + s[1] * 9617 + s[bi] * 1868 + (1 << 13)) >> 14);
        } else {
            *o++ = s[ri];
            *o++ = s[1];
            *o++ = s[bi];
        }
    }
    *buf = b;
    *len = total;
    return LQF_OK;
}
