/*
 * image.c — the lqf_image object (create/clone/free, channel order) and the format
 * dispatcher: lqf_image_load/decode pick the codec by the file's magic bytes (never by its
 * name) and lqf_image_save picks it by the extension. The codecs live beside this file:
 * jpeg.c (libjpeg-turbo), png.c (libpng) and pnm.c (PGM/PPM, own parser). Every codec
 * decodes to 3 interleaved 8-bit channels in the order asked for (greyscale is expanded)
 * and names the file in its error messages.
 */
#include "image/image.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

/* Largest image accepted by the decoders (pixels); guards size arithmetic and memory. */
#define LQF_IMAGE_MAX_PIXELS ((size_t)1 << 28)

/* =========================================================================== object */

/* zero = 0: the pixels are left unset (a decoder writes every one or fails), so a header that
 * announces a large image commits no memory until the data that fills it arrives. */
static lqf_status image_new(int width, int height, lqf_channel_order order, int zero, lqf_image **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_image_create: out is NULL");
    *out = NULL;
    if (width <= 0 || height <= 0 || (size_t)width * (size_t)height > LQF_IMAGE_MAX_PIXELS)
        return lqf_fail(LQF_ERR_ARG, "lqf_image_create: bad size %dx%d", width, height);
    if (order != LQF_RGB && order != LQF_BGR)
        return lqf_fail(LQF_ERR_ARG, "lqf_image_create: bad channel order %d", (int)order);
    lqf_image *im = calloc(1, sizeof *im);
    if (!im) return lqf_fail(LQF_ERR_NOMEM, "lqf_image_create: out of memory");
    im->width = width;
    im->height = height;
    im->channels = 3;
    im->order = order;
    im->data = zero ? lqf_calloc((size_t)width * height * 3) : lqf_alloc((size_t)width * height * 3);
    if (!im->data) {
        free(im);
        return lqf_fail(LQF_ERR_NOMEM, "lqf_image_create: out of memory for %dx%d", width, height);
    }
    *out = im;
    return LQF_OK;
}

lqf_status lqf_image_create(int width, int height, lqf_channel_order order, lqf_image **out) {
    return image_new(width, height, order, 1, out);
}

lqf_status lqf_image_check_decoded(uint64_t w, uint64_t h, const char *what, const char *name) {
    if (w == 0 || h == 0)
        return lqf_fail(LQF_ERR_FORMAT, "%s: bad %s size %llux%llu", name, what, (unsigned long long)w,
                        (unsigned long long)h);
    if (w > LQF_IMAGE_MAX_PIXELS || h > LQF_IMAGE_MAX_PIXELS || w * h > LQF_IMAGE_MAX_PIXELS)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: %llux%llu %s is too large", name, (unsigned long long)w,
                        (unsigned long long)h, what);
    char img[96];
    snprintf(img, sizeof img, "the decoded %llux%llu %s", (unsigned long long)w, (unsigned long long)h, what);
    return lqf_check_alloc(w * h * 3, name, img);
}

lqf_status lqf_image_create_decoded(uint64_t w, uint64_t h, const char *what, const char *name,
                                    lqf_channel_order order, lqf_image **out) {
    *out = NULL;
    lqf_status st = lqf_image_check_decoded(w, h, what, name);
    if (st) return st;
    st = image_new((int)w, (int)h, order, 0, out);
    return st ? lqf_fail_context(st, "%s", name) : LQF_OK;
}

void lqf_image_free(lqf_image *img) {
    if (!img) return;
    lqf_free(img->data);
    free(img);
}

lqf_status lqf_image_clone(const lqf_image *src, lqf_image **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_image_clone: out is NULL");
    *out = NULL;
    if (!src || !src->data || src->channels != 3)
        return lqf_fail(LQF_ERR_ARG, "lqf_image_clone: source is not a 3-channel image");
    lqf_status st = lqf_image_create(src->width, src->height, src->order, out);
    if (st) return st;
    memcpy((*out)->data, src->data, (size_t)src->width * src->height * 3);
    return LQF_OK;
}

void lqf_image_set_order(lqf_image *img, lqf_channel_order order) {
    if (!img || !img->data || img->order == order) return;
    size_t n = (size_t)img->width * img->height;
    uint8_t *p = img->data;
    for (size_t i = 0; i < n; i++, p += 3) {
        uint8_t t = p[0];
        p[0] = p[2];
        p[2] = t;
    }
    img->order = order;
}

/* =========================================================================== EXIF orientation */

static unsigned get16(const uint8_t *p, int le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p, int le) {
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int lqf_exif_orientation(const uint8_t *d, size_t n) {
    if (n < 8) return 1;
    int le = d[0] == 'I' && d[1] == 'I';
    if (!le && !(d[0] == 'M' && d[1] == 'M')) return 1;
    if (get16(d + 2, le) != 42) return 1;
    uint32_t ifd = get32(d + 4, le);
    if (ifd > n - 2) return 1;
    unsigned count = get16(d + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > n) return 1;
        if (get16(d + e, le) == 0x0112 && get16(d + e + 2, le) == 3) {
            unsigned v = get16(d + e + 8, le);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

/* 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
 * 8 rotate 90 counter-clockwise. */
lqf_status lqf_image_orient(lqf_image **img, int o, const char *name) {
    if (o < 2 || o > 8) return LQF_OK;
    lqf_image *in = *img, *out;
    int W = in->width, H = in->height, swap = o >= 5;
    lqf_status st = lqf_image_create(swap ? H : W, swap ? W : H, in->order, &out);
    if (st) {
        lqf_image_free(in);
        *img = NULL;
        return lqf_fail_context(st, "%s", name);
    }
    int ow = out->width, oh = out->height;
    for (int y = 0; y < oh; y++) {
        uint8_t *dst = out->data + (size_t)y * ow * 3;
        for (int x = 0; x < ow; x++, dst += 3) {
            int sx, sy;
            switch (o) {
            case 2: sx = W - 1 - x, sy = y; break;
            case 3: sx = W - 1 - x, sy = H - 1 - y; break;
            case 4: sx = x, sy = H - 1 - y; break;
            case 5: sx = y, sy = x; break;
            case 6: sx = y, sy = H - 1 - x; break;
            case 7: sx = W - 1 - y, sy = H - 1 - x; break;
            default: sx = W - 1 - y, sy = x; break; /* 8 */
            }
            memcpy(dst, in->data + ((size_t)sy * W + sx) * 3, 3);
        }
    }
    lqf_image_free(in);
    *img = out;
    return LQF_OK;
}

/* =========================================================================== decode */

typedef enum { FMT_UNKNOWN, FMT_JPEG, FMT_PNG, FMT_PNM } image_format;

static image_format sniff(const uint8_t *b, size_t n) {
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return FMT_JPEG;
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return FMT_PNG;
    if (n >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' && isspace(b[2])) return FMT_PNM;
    return FMT_UNKNOWN;
}

/* Why len > 0 bytes that match no signature are not an image. */
static lqf_status unknown_format(const uint8_t *buf, size_t len, const char *name) {
    /* A JPEG or PNG cut off inside its signature is still recognisably that format. */
    if (len < 3 && buf[0] == 0xFF && (len < 2 || buf[1] == 0xD8))
        return lqf_fail(LQF_ERR_FORMAT, "%s: truncated JPEG", name);
    if (len < 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", len) == 0)
        return lqf_fail(LQF_ERR_FORMAT, "%s: truncated PNG", name);
    return lqf_fail(LQF_ERR_FORMAT, "%s: not an image (unknown format)", name);
}

lqf_status lqf_image_decode(const uint8_t *buf, size_t len, const char *name, lqf_channel_order order,
                            lqf_image **out) {
    if (!name) name = "<memory>";
    if (!out) return lqf_fail(LQF_ERR_ARG, "%s: lqf_image_decode: out is NULL", name);
    *out = NULL;
    if (order != LQF_RGB && order != LQF_BGR)
        return lqf_fail(LQF_ERR_ARG, "%s: bad channel order %d", name, (int)order);
    if (!buf && len) return lqf_fail(LQF_ERR_ARG, "%s: lqf_image_decode: buffer is NULL", name);
    if (len == 0) return lqf_fail(LQF_ERR_FORMAT, "%s: empty file", name);
    int orientation = 1;
    lqf_status st;
    switch (sniff(buf, len)) {
    case FMT_JPEG: st = lqf_jpeg_decode(buf, len, name, order, out, &orientation); break;
    case FMT_PNG: st = lqf_png_decode(buf, len, name, order, out, &orientation); break;
    case FMT_PNM: return lqf_pnm_decode(buf, len, name, order, out);
    default: return unknown_format(buf, len, name);
    }
    if (st) return st;
    return lqf_image_orient(out, orientation, name); /* upright by EXIF, as cv2.imread */
}

static uint64_t g_loads; /* lqf_image_loads */

uint64_t lqf_image_loads(void) { return __atomic_load_n(&g_loads, __ATOMIC_RELAXED); }

lqf_status lqf_image_load(const char *path, lqf_channel_order order, lqf_image **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_image_load: out is NULL");
    *out = NULL;
    if (!path) return lqf_fail(LQF_ERR_ARG, "lqf_image_load: path is NULL");
    uint8_t *buf;
    size_t len;
    lqf_status st = lqf_read_file(path, &buf, &len);
    if (st) return st;
    __atomic_fetch_add(&g_loads, 1, __ATOMIC_RELAXED);
    st = lqf_image_decode(buf, len, path, order, out);
    free(buf);
    return st;
}

/* =========================================================================== encode */

lqf_status lqf_image_encode_jpeg(const lqf_image *img, int quality, uint8_t **buf, size_t *len) {
    if (!buf || !len) return lqf_fail(LQF_ERR_ARG, "lqf_image_encode_jpeg: output pointer is NULL");
    *buf = NULL;
    *len = 0;
    if (!img || !img->data || img->channels != 3 || img->width <= 0 || img->height <= 0)
        return lqf_fail(LQF_ERR_ARG, "lqf_image_encode_jpeg: not a 3-channel image");
    if (quality < 1 || quality > 100)
        return lqf_fail(LQF_ERR_ARG, "lqf_image_encode_jpeg: quality %d outside 1..100", quality);
    return lqf_jpeg_encode(img, quality, buf, len);
}

static const char *extension(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash)) return "";
    return dot + 1;
}

lqf_status lqf_image_save(const lqf_image *img, const char *path) {
    if (!path) return lqf_fail(LQF_ERR_ARG, "lqf_image_save: path is NULL");
    if (!img || !img->data || img->channels != 3 || img->width <= 0 || img->height <= 0)
        return lqf_fail(LQF_ERR_ARG, "%s: lqf_image_save: not a 3-channel image", path);
    const char *ext = extension(path);
    uint8_t *buf = NULL;
    size_t len = 0;
    lqf_status st;
    if (!strcasecmp(ext, "png"))
        st = lqf_png_encode(img, path, &buf, &len);
    else if (!strcasecmp(ext, "jpg") || !strcasecmp(ext, "jpeg"))
        st = lqf_jpeg_encode(img, 95, &buf, &len);
    else if (!strcasecmp(ext, "ppm"))
        st = lqf_pnm_encode(img, 0, &buf, &len);
    else if (!strcasecmp(ext, "pgm"))
        st = lqf_pnm_encode(img, 1, &buf, &len);
    else
        return lqf_fail(LQF_ERR_ARG, "%s: unknown image extension (use .png, .jpg, .jpeg, .ppm or .pgm)",
                        path);
    if (st) return lqf_fail_context(st, "%s", path);
    FILE *f = fopen(path, "wb");
    if (!f) {
        int e = errno;
        free(buf);
        return lqf_fail(LQF_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    size_t put = fwrite(buf, 1, len, f);
    int e = put != len ? errno : 0;
    free(buf);
    if (fclose(f) != 0 && !e) e = errno ? errno : EIO;
    if (put != len || e) return lqf_fail(LQF_ERR_IO, "%s: write failed: %s", path, strerror(e ? e : EIO));
    return LQF_OK;
}
