/*
 * png.c — PNG decoding and encoding through libpng, reading from and writing to memory.
 * Decoding applies the same libpng transformations as OpenCV's cv2.imread(IMREAD_COLOR):
 * 16-bit samples keep their high byte (png_set_strip_16), alpha and tRNS transparency are
 * dropped (no compositing), palettes and 1/2/4-bit greys are expanded, grey is replicated
 * to 3 channels, interlaced files are de-interlaced. libpng errors arrive through a
 * setjmp handler; running out of input (including a missing IEND) is "truncated PNG".
 * An EXIF orientation in an eXIf chunk ahead of the image data is reported; image.c applies
 * it, as cv2 does.
 * libpng warnings (e.g. a dubious colour profile) are ignored: they do not affect pixels.
 */
#include "image/image.h"

#include <png.h>
#include <setjmp.h>
#include <string.h>

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
    int truncated;   /* the decoder asked for bytes past the end */
    char msg[256];   /* libpng's error message */
} png_reader;

static void on_error(png_structp png, png_const_charp msg) {
    png_reader *r = png_get_error_ptr(png);
    if (r) snprintf(r->msg, sizeof r->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void read_mem(png_structp png, png_bytep data, png_size_t n) {
    png_reader *r = png_get_io_ptr(png);
    if (n > r->len - r->pos) {
        r->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(data, r->buf + r->pos, n);
    r->pos += n;
}

/* Every chunk length in the file fits the bytes present: libpng allocates some chunks (eXIf)
 * at the length the file gives before reading them. 0 when one does not. */
static int chunks_fit(const uint8_t *buf, size_t len) {
    size_t pos = 8; /* after the signature */
    while (len - pos >= 8) {
        uint64_t n = (uint64_t)buf[pos] << 24 | (uint64_t)buf[pos + 1] << 16 | (uint64_t)buf[pos + 2] << 8 | buf[pos + 3];
        if (n > len - pos - 8) return 0; /* data and (beyond it) the CRC */
        if (!memcmp(buf + pos + 4, "IEND", 4)) return 1;
        pos += 12 + (size_t)n;
        if (pos > len) return 1; /* the CRC is cut: libpng says so */
    }
    return 1;
}

lqf_status lqf_png_decode(const uint8_t *buf, size_t len, const char *name, lqf_channel_order order,
                          lqf_image **out, int *orientation_out) {
    if (len >= 8 && !chunks_fit(buf, len)) return lqf_fail(LQF_ERR_FORMAT, "%s: truncated PNG (a chunk is longer than the file)", name);
    png_reader rd = {buf, len, 0, 0, ""};
    lqf_image *volatile img = NULL;
    png_bytep *volatile rows = NULL;
    *out = NULL;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &rd, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory (libpng)", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        lqf_image_free(img);
        free(rows);
        if (rd.truncated) return lqf_fail(LQF_ERR_FORMAT, "%s: truncated PNG", name);
        return lqf_fail(LQF_ERR_FORMAT, "%s: corrupt PNG (%s)", name, rd.msg);
    }
    png_set_read_fn(png, &rd, read_mem);
    /* what libpng allocates for an ancillary chunk (a compressed profile or text expands) */
    png_set_chunk_malloc_max(png, (png_alloc_size_t)LQF_MIN((uint64_t)len + (1u << 20), lqf_max_alloc()));
    png_read_info(png, info);

    png_uint_32 w, h;
    int depth, ctype;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, NULL, NULL, NULL);
    int orientation = 1; /* an eXIf chunk before the image data, as cv2.imread reads it */
#ifdef PNG_eXIf_SUPPORTED
    png_bytep exif = NULL;
    png_uint_32 nexif = 0;
    if (png_get_eXIf_1(png, info, &nexif, &exif) && exif) orientation = lqf_exif_orientation(exif, nexif);
#endif
    if (depth == 16) png_set_strip_16(png);
    png_set_strip_alpha(png);
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (!(ctype & PNG_COLOR_MASK_COLOR) && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (ctype & PNG_COLOR_MASK_COLOR) {
        if (order == LQF_BGR) png_set_bgr(png);
    } else {
        png_set_gray_to_rgb(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)w * 3) {
        png_destroy_read_struct(&png, &info, NULL);
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: PNG colour type %d, depth %d not convertible to RGB",
                        name, ctype, depth);
    }

    lqf_image *im;
    lqf_status st = lqf_image_create_decoded(w, h, "PNG", name, order, &im);
    if (st) {
        png_destroy_read_struct(&png, &info, NULL);
        return st;
    }
    img = im;
    png_bytep *r = malloc(sizeof(png_bytep) * h);
    if (!r) {
        png_destroy_read_struct(&png, &info, NULL);
        lqf_image_free(im);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", name);
    }
    rows = r;
    for (png_uint_32 y = 0; y < h; y++) r[y] = im->data + (size_t)y * w * 3;
    png_read_image(png, r);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(r);
    *orientation_out = orientation;
    *out = im;
    return LQF_OK;
}

/* ------------------------------------------------------------------------ encoding */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int nomem;
} png_writer;

static void write_mem(png_structp png, png_bytep data, png_size_t n) {
    png_writer *w = png_get_io_ptr(png);
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 65536;
        while (cap < w->len + n) cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->nomem = 1;
            png_error(png, "out of memory");
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
}

static void flush_mem(png_structp png) { (void)png; }

lqf_status lqf_png_encode(const lqf_image *img, const char *name, uint8_t **buf, size_t *len) {
    png_writer wr = {NULL, 0, 0, 0};
    png_reader err = {NULL, 0, 0, 0, ""};  /* only its msg field is used */
    *buf = NULL;
    *len = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        return lqf_fail(LQF_ERR_NOMEM, "PNG encoder: out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(wr.buf);
        return lqf_fail(wr.nomem ? LQF_ERR_NOMEM : LQF_ERR_FORMAT, "PNG encoder: %s", err.msg);
    }
    png_set_write_fn(png, &wr, write_mem, flush_mem);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 3);
    png_write_info(png, info);
    if (img->order == LQF_BGR) png_set_bgr(png);
    for (int y = 0; y < img->height; y++)
        png_write_row(png, (png_const_bytep)(img->data + (size_t)y * img->width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    (void)name;
    *buf = wr.buf;
    *len = wr.len;
    return LQF_OK;
}
