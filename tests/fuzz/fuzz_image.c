/*
 * fuzz_image.c — libFuzzer harness of the image decoders: lqf_image_decode (JPEG, PNG, PGM/PPM
 * by content, EXIF orientation) on the input bytes, in both channel orders. Any image it
 * returns must have a sane size and a buffer of that size (touched byte by byte here).
 */
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_init(NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lqf_image *im = NULL;
    lqf_channel_order order = size && (data[size - 1] & 1) ? LQF_BGR : LQF_RGB;
    if (lqf_image_decode(data, size, "fuzz", order, &im) == LQF_OK) {
        if (!im || im->width <= 0 || im->height <= 0 || im->channels != 3 || im->order != order) abort();
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)im->width * im->height * 3; i++) sum += im->data[i];
        (void)sum;
    } else if (im || !lqf_last_error()[0]) {
        abort(); /* a failure returns no image and says why */
    }
    lqf_image_free(im);
    return 0;
}
