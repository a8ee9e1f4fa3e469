/*
 * jpeg.c — JPEG decoding and encoding through libjpeg-turbo's libjpeg API. Decoding uses
 * the library defaults that OpenCV's cv2.imread also uses (JDCT_ISLOW, fancy upsampling,
 * libjpeg's own YCbCr->RGB/BGR conversion, OpenCV's CMYK formula), so pixels match
 * cv2.imread exactly. libjpeg's fatal errors and its "corrupt data" warnings both end the
 * decode through a setjmp error manager: a truncated file (warning JWRN_JPEG_EOF, where
 * libjpeg would otherwise pad the image with grey) gives LQF_ERR_FORMAT "<file>: truncated
 * JPEG". The only tolerated warning is "extraneous bytes before marker", which loses no data.
 * The EXIF orientation tag (APP1) is read and reported; image.c turns the image upright, as
 * cv2.imread does.
 */
#include "image/image.h"

#include <limits.h>
#include <setjmp.h>
#include <string.h>
/* jpeglib.h needs size_t and FILE declared first (done by core.h). */
#include <jerror.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr pub;  /* libjpeg's part; must be first */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];  /* formatted libjpeg message of the failure */
    int truncated;              /* 1: the failure was premature end of data */
} jpeg_err;

static void on_error(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* Warnings (level -1) mean corrupt data that libjpeg would paper over: treat them as
 * errors. Trace messages (level >= 0) are ignored. */
static void on_message(j_common_ptr cinfo, int level) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    if (level >= 0) return;
    int code = cinfo->err->msg_code;
    if (code == JWRN_EXTRANEOUS_DATA) return;
    e->truncated = code == JWRN_JPEG_EOF;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void setup_errors(jpeg_err *e) {
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error;
    e->pub.emit_message = on_message;
    e->msg[0] = 0;
    e->truncated = 0;
}

/* OpenCV's conversion of (Adobe, inverted) CMYK to RGB: (c,m,y,k) -> rgb, n pixels. */
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int n, lqf_channel_order order) {
    int r = order == LQF_RGB ? 0 : 2, b = 2 - r;
    for (int i = 0; i < n; i++, cmyk += 4, rgb += 3) {
        int k = cmyk[3];
        rgb[r] = (uint8_t)(k - ((255 - cmyk[0]) * k >> 8));
        rgb[1] = (uint8_t)(k - ((255 - cmyk[1]) * k >> 8));
        rgb[b] = (uint8_t)(k - ((255 - cmyk[2]) * k >> 8));
    }
}

lqf_status lqf_jpeg_decode(const uint8_t *buf, size_t len, const char *name, lqf_channel_order order,
                           lqf_image **out, int *orientation_out) {
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    /* volatile: modified between setjmp and a possible longjmp */
    lqf_image *volatile img = NULL;
    uint8_t *volatile cmyk_row = NULL;
    *out = NULL;

    memset(&cinfo, 0, sizeof cinfo);
    setup_errors(&err);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        lqf_image_free(img);
        free(cmyk_row);
        jpeg_destroy_decompress(&cinfo);
        if (err.truncated) return lqf_fail(LQF_ERR_FORMAT, "%s: truncated JPEG", name);
        if (err.pub.msg_code == JERR_BAD_PRECISION || err.pub.msg_code == JERR_NOT_COMPILED)
            return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: unsupported JPEG (%s)", name, err.msg);
        return lqf_fail(LQF_ERR_FORMAT, "%s: corrupt JPEG (%s)", name, err.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (unsigned char *)buf, (unsigned long)len);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    /* libjpeg sizes its own buffers (whole-image coefficients for progressive files) from the
     * header: check the size first, and bound its memory by the same limit */
    lqf_status st = lqf_image_check_decoded(cinfo.image_width, cinfo.image_height, "JPEG", name);
    if (st) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    cinfo.mem->max_memory_to_use = (long)LQF_MIN(lqf_max_alloc(), (uint64_t)LONG_MAX);
    int orientation = 1;
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m && orientation == 1; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && !memcmp(m->data, "Exif\0\0", 6))
            orientation = lqf_exif_orientation(m->data + 6, m->data_length - 6);

    int cmyk = cinfo.num_components == 4;
    if (cmyk) {
        cinfo.out_color_space = JCS_CMYK;
    } else if (cinfo.num_components == 1 || cinfo.num_components == 3) {
        /* libjpeg-turbo's extended colour spaces also expand greyscale to 3 channels. */
        cinfo.out_color_space = order == LQF_RGB ? JCS_EXT_RGB : JCS_EXT_BGR;
    } else {
        jpeg_destroy_decompress(&cinfo);
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: JPEG with %d colour components", name,
                        cinfo.num_components);
    }
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);

    lqf_image *im;
    st = lqf_image_create_decoded(cinfo.output_width, cinfo.output_height, "JPEG", name, order, &im);
    if (st) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    int w = im->width;
    img = im;
    if (cmyk) {
        cmyk_row = malloc((size_t)w * 4);
        if (!cmyk_row) {
            lqf_image_free(img);
            jpeg_destroy_decompress(&cinfo);
            return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", name);
        }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        int y = (int)cinfo.output_scanline;
        uint8_t *dst = im->data + (size_t)y * w * 3;
        JSAMPROW row = cmyk ? (JSAMPROW)cmyk_row : (JSAMPROW)dst;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (cmyk) cmyk_to_rgb(cmyk_row, dst, w, order);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    *orientation_out = orientation;
    *out = im;
    return LQF_OK;
}

lqf_status lqf_jpeg_encode(const lqf_image *img, int quality, uint8_t **buf, size_t *len) {
    struct jpeg_compress_struct cinfo;
    jpeg_err err;
    /* m and memlen are updated by libjpeg through their addresses, so they are in memory
     * (not registers) when an error longjmps back. */
    unsigned char *m = NULL;
    unsigned long memlen = 0;
    *buf = NULL;
    *len = 0;

    memset(&cinfo, 0, sizeof cinfo);
    setup_errors(&err);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(m);
        return lqf_fail(LQF_ERR_FORMAT, "JPEG encoder: %s", err.msg);
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &m, &memlen);
    cinfo.image_width = (JDIMENSION)img->width;
    cinfo.image_height = (JDIMENSION)img->height;
    cinfo.input_components = 3;
    cinfo.in_color_space = img->order == LQF_RGB ? JCS_EXT_RGB : JCS_EXT_BGR;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(img->data + (size_t)cinfo.next_scanline * img->width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *buf = m;
    *len = (size_t)memlen;
    return LQF_OK;
}
