/*
 * image.h — internal side of the image subsystem (src/image/): the codec entry points that
 * image.c dispatches to (jpeg.c, png.c, pnm.c), the helpers they share (the checked image a
 * decode fills, EXIF orientation), and a count of the photos read from files, which tests
 * use to check that a sweep decodes each photo once. The public API is in lqface.h.
 */
#ifndef LQF_IMAGE_H
#define LQF_IMAGE_H

#include "core/core.h"

/* Codecs: decode to 3 interleaved 8-bit channels in `order`, naming `name` in errors.
 * JPEG and PNG report the EXIF orientation their file declares (1..8, 1 = upright) in
 * *orientation; lqf_image_decode turns the image upright (lqf_image_orient). */
lqf_status lqf_jpeg_decode(const uint8_t *buf, size_t len, const char *name, lqf_channel_order order,
                           lqf_image **out, int *orientation);
lqf_status lqf_jpeg_encode(const lqf_image *img, int quality, uint8_t **buf, size_t *len);
lqf_status lqf_png_decode(const uint8_t *buf, size_t len, const char *name, lqf_channel_order order,
                          lqf_image **out, int *orientation);
lqf_status lqf_png_encode(const lqf_image *img, const char *name, uint8_t **buf, size_t *len);
lqf_status lqf_pnm_decode(const uint8_t *buf, size_t len, const char *name, lqf_channel_order order,
                          lqf_image **out);
lqf_status lqf_pnm_encode(const lqf_image *img, int grey, uint8_t **buf, size_t *len);

/* The image a decode of `name` (a `what`, e.g. "PNG") fills; sizes above
 * LQF_IMAGE_MAX_PIXELS are LQF_ERR_UNSUPPORTED, naming the file, and sizes over the allocation
 * limit LQF_ERR_NOMEM. lqf_image_check_decoded is that check alone, for a decoder that
 * allocates its own buffers from the size in the header before the image is created. */
lqf_status lqf_image_check_decoded(uint64_t w, uint64_t h, const char *what, const char *name);
lqf_status lqf_image_create_decoded(uint64_t w, uint64_t h, const char *what, const char *name,
                                    lqf_channel_order order, lqf_image **out);
/* The orientation tag (0x0112) of IFD0 in EXIF data (a TIFF structure: byte order, 42,
 * offset of IFD0), as held by a JPEG's APP1 after "Exif\0\0" or a PNG's eXIf chunk; 1
 * (upright) if absent or malformed. */
int lqf_exif_orientation(const uint8_t *tiff, size_t n);
/* Turn *img upright for EXIF orientation o, as cv2.imread's ExifTransform does; o = 1 is a
 * no-op. Replaces *img (freed) on success; on failure *img is freed and set to NULL. */
lqf_status lqf_image_orient(lqf_image **img, int o, const char *name);

/* Photos read by lqf_image_load in this process so far (every thread; atomic). */
uint64_t lqf_image_loads(void);

#endif
