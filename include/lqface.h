/*
 * lqface.h — public API of lqface, face recognition for low-quality faces.
 *
 * Tutorial (the whole deploy path in five calls):
 *
 *   lqf_image *img;  lqf_detector *det;  lqf_embedder *emb;
 *   lqf_image_load("photo.jpg", LQF_RGB, &img);
 *   lqf_detector_load("yunet_n_640_640.onnx", NULL, &det);
 *   lqf_face *faces; int n;  lqf_detect(det, img, &faces, &n);
 *   lqf_image *crop;  lqf_align_face(img, faces[0].landmarks, 112, &crop);
 *   lqf_embedder_load("mobilefacenet_fr512.onnx", NULL, &emb);
 *   float e[512], q;  lqf_embedder_embed(emb, (const lqf_image *const *)&crop, 1, e, &q);
 *
 * Every function that can fail returns an lqf_status; on failure lqf_last_error() holds a
 * message naming the file and the problem (thread-local). The library never exits and
 * never prints. Every object has a create/load and a free function; freeing NULL is a no-op.
 * Images are 8-bit interleaved (HWC) with an explicit channel order.
 */
#ifndef LQFACE_H
#define LQFACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LQF_API __attribute__((visibility("default")))
#else
#define LQF_API
#endif

#define LQF_VERSION "0.1.0"

/* ===================================================================== status */
typedef enum {
    LQF_OK = 0,
    LQF_ERR_ARG,         /* invalid argument (NULL, out of range, inconsistent sizes) */
    LQF_ERR_NOMEM,       /* allocation failed */
    LQF_ERR_IO,          /* file missing, unreadable or unwritable */
    LQF_ERR_FORMAT,      /* not the expected format, corrupt or truncated */
    LQF_ERR_UNSUPPORTED, /* valid input using a feature lqface does not implement (e.g. an ONNX op) */
    LQF_ERR_SHAPE,       /* tensor or image of the wrong size */
    LQF_ERR_NOFACE,      /* no face found */
    LQF_ERR_NUMERIC,     /* NaN or Inf where a finite value is required */
} lqf_status;

LQF_API const char *lqf_status_string(lqf_status s);
/* Detailed message of the last failure in this thread ("" if none). */
LQF_API const char *lqf_last_error(void);

/* Threads used by the library (OpenMP and the GEMM library). <= 0 restores the default. */
LQF_API void lqf_set_num_threads(int n);
LQF_API int lqf_get_num_threads(void);

/* ===================================================================== images */
typedef enum { LQF_RGB = 0, LQF_BGR = 1 } lqf_channel_order;

typedef struct lqf_image {
    int width, height;        /* pixels */
    int channels;             /* always 3 for decoded images (greyscale is expanded) */
    lqf_channel_order order;  /* meaning of the 3 channels */
    uint8_t *data;            /* height x width x channels, row stride width*channels */
} lqf_image;

LQF_API lqf_status lqf_image_create(int width, int height, lqf_channel_order order, lqf_image **out);
/* JPEG, PNG, PGM/PPM (P2,P3,P5,P6) detected by content, not by name. */
LQF_API lqf_status lqf_image_load(const char *path, lqf_channel_order order, lqf_image **out);
/* Decode an encoded image held in memory; name is used in error messages. */
LQF_API lqf_status lqf_image_decode(const uint8_t *buf, size_t len, const char *name,
                                    lqf_channel_order order, lqf_image **out);
/* Encode by extension: .png, .jpg/.jpeg (quality 95), .ppm. */
LQF_API lqf_status lqf_image_save(const lqf_image *img, const char *path);
/* JPEG-encode into a malloc'd buffer (caller frees) at quality 1..100. */
LQF_API lqf_status lqf_image_encode_jpeg(const lqf_image *img, int quality, uint8_t **buf, size_t *len);
/* Swap channels in place if img->order != order. */
LQF_API void lqf_image_set_order(lqf_image *img, lqf_channel_order order);
LQF_API lqf_status lqf_image_clone(const lqf_image *src, lqf_image **out);
LQF_API void lqf_image_free(lqf_image *img);

/* ===================================================================== alignment */
/* ArcFace 112x112 template: left eye, right eye, nose, left mouth, right mouth (x,y). */
LQF_API extern const float lqf_arcface_template[10];

/* Least-squares similarity (Umeyama, no reflection) mapping src points onto dst points.
 * M is 2x3 row-major: [x' y']^T = M[:, :2] [x y]^T + M[:, 2]. Computed in double. */
LQF_API lqf_status lqf_similarity_estimate(const float *src, const float *dst, int npoints, double M[6]);
/* dst(x,y) = src(M^-1 (x,y)), bilinear, pixels outside the source are 0 (cv2.warpAffine
 * with INTER_LINEAR and BORDER_CONSTANT 0). M maps source to destination. */
LQF_API lqf_status lqf_warp_affine(const lqf_image *src, const double M[6], int out_w, int out_h,
                                   lqf_image **out);
/* Align a face by its 5 landmarks to the ArcFace template scaled to size x size. */
LQF_API lqf_status lqf_align_face(const lqf_image *src, const float landmarks[10], int size,
                                  lqf_image **out);

/* ===================================================================== networks */
/* A network is one graph of operators, imported from ONNX or built by lqface. */
typedef struct lqf_net lqf_net;

LQF_API lqf_status lqf_net_load_onnx(const char *path, lqf_net **out);
LQF_API void lqf_net_free(lqf_net *net);
LQF_API int lqf_net_num_inputs(const lqf_net *net);
LQF_API int lqf_net_num_outputs(const lqf_net *net);
LQF_API const char *lqf_net_input_name(const lqf_net *net, int i);
LQF_API const char *lqf_net_output_name(const lqf_net *net, int i);
/* Logical (ONNX-order) shape of input/output i when run with `batch`; returns ndim. */
LQF_API int lqf_net_input_shape(const lqf_net *net, int i, int batch, int64_t dims[8]);
LQF_API int lqf_net_output_shape(const lqf_net *net, int i, int batch, int64_t dims[8]);
/* Run the network. inputs[i] and outputs[i] are dense float arrays in logical (ONNX, e.g.
 * NCHW) order; outputs are allocated by the caller with the sizes from lqf_net_output_shape. */
LQF_API lqf_status lqf_net_run(lqf_net *net, int batch, const float *const *inputs, float *const *outputs);

typedef struct {
    int64_t n_params;     /* learnable parameters (after BatchNorm folding) */
    int64_t macs;         /* multiply-adds per image */
    int n_nodes;          /* operators after import and fusion */
} lqf_net_stats;
LQF_API void lqf_net_get_stats(const lqf_net *net, lqf_net_stats *st);
/* Human-readable (json=0) or one JSON object (json=1) description: inputs, outputs,
 * operator histogram, parameters, multiply-adds. */
LQF_API void lqf_net_print_info(const lqf_net *net, FILE *f, int json);

/* ===================================================================== embedding */
typedef struct {
    int width, height;          /* network input size (112x112) */
    lqf_channel_order order;    /* channel order the network expects */
    float mean[3], std[3];      /* value = (pixel - mean) / std, per network channel */
    int flip_fusion;            /* 1: embedding = raw(img) + raw(hflip(img)) */
} lqf_input_contract;

typedef struct lqf_embedder lqf_embedder;
/* contract NULL: the default contract (112x112, RGB, mean 127.5, std 128, no flip). */
LQF_API lqf_status lqf_embedder_load(const char *path, const lqf_input_contract *contract,
                                     lqf_embedder **out);
LQF_API void lqf_embedder_free(lqf_embedder *e);
LQF_API int lqf_embedder_dim(const lqf_embedder *e);
LQF_API void lqf_embedder_contract(const lqf_embedder *e, lqf_input_contract *c);
LQF_API lqf_net *lqf_embedder_net(lqf_embedder *e);
/* Embed n aligned faces (each contract.width x height; any channel order, converted).
 * emb: n x dim, L2-normalised. norms (may be NULL): the feature norm of the unnormalised
 * embedding (of the un-flipped image), AdaFace's quality value. */
LQF_API lqf_status lqf_embedder_embed(lqf_embedder *e, const lqf_image *const *faces, int n,
                                      float *emb, float *norms);

/* Cosine similarity of two L2-normalised embeddings; squared-L2 distance = 2 - 2 cos. */
LQF_API float lqf_cosine(const float *a, const float *b, int dim);

/* ===================================================================== detection */
typedef struct {
    float x1, y1, x2, y2;   /* box in image pixels */
    float score;            /* 0..1 */
    float landmarks[10];    /* left eye, right eye, nose, left mouth, right mouth (x,y) */
} lqf_face;

typedef struct {
    float score_threshold;  /* default 0.6 */
    float nms_threshold;    /* IoU, default 0.3 */
    int top_k;              /* candidates kept before NMS, default 5000 */
    int max_faces;          /* 0 = no limit */
} lqf_detect_options;

typedef struct lqf_detector lqf_detector;
LQF_API void lqf_detect_options_default(lqf_detect_options *o);
/* A YuNet ONNX model (input SxS, BGR 0..255). opts NULL = defaults. */
LQF_API lqf_status lqf_detector_load(const char *path, const lqf_detect_options *opts, lqf_detector **out);
LQF_API void lqf_detector_free(lqf_detector *d);
/* Faces sorted by descending score; *faces is malloc'd (free with free()); *n may be 0. */
LQF_API lqf_status lqf_detect(lqf_detector *d, const lqf_image *img, lqf_face **faces, int *n);

/* ===================================================================== pipeline */
/* Which detected face a one-face-per-photo pipeline keeps. */
typedef enum {
    LQF_PICK_CENTER = 0,  /* the face nearest the image centre (LFW-style photos; default) */
    LQF_PICK_SCORE,       /* the highest detection score */
    LQF_PICK_LARGEST,     /* the largest box */
} lqf_face_pick;

/* Load `path`, detect, pick one face and align it to size x size. det == NULL means the
 * file already holds an aligned size x size face (it is only loaded and checked).
 * face (may be NULL) receives the detection. LQF_ERR_NOFACE names the file when no face
 * was found. */
LQF_API lqf_status lqf_load_aligned_face(lqf_detector *det, const char *path, lqf_face_pick pick,
                                         int size, lqf_channel_order order, lqf_image **crop,
                                         lqf_face *face);

#ifdef __cplusplus
}
#endif
#endif /* LQFACE_H */
