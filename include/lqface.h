/*
 * lqface.h — public API of lqface, face recognition for low-quality faces.
 *
 * Tutorial (the whole deploy path in five calls):
 *
 *   lqf_image *img;  lqf_detector *det;  lqf_embedder *emb;  char det_path[4096], emb_path[4096];
 *   lqf_model_find(LQF_DEFAULT_DETECTOR, det_path, sizeof det_path);   (the shipped models,
 *   lqf_model_find(LQF_DEFAULT_EMBEDDER, emb_path, sizeof emb_path);    wherever installed)
 *   lqf_image_load("photo.jpg", LQF_RGB, &img);
 *   lqf_detector_load(det_path, NULL, &det);
 *   lqf_face *faces; int n;  lqf_detect(det, img, &faces, &n);
 *   lqf_image *crop;  lqf_align_face(img, faces[0].landmarks, 112, &crop);
 *   lqf_embedder_load(emb_path, NULL, &emb);
 *   float e[512], q;  lqf_embedder_embed(emb, (const lqf_image *const *)&crop, 1, e, &q);
 *
 * Build against the installed library with `pkg-config --cflags --libs lqface`.
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
/* Monotonic wall clock in seconds (for timing and progress reports). */
LQF_API double lqf_now(void);

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
/* An ONNX file, or an lqface training checkpoint (*.safetensors: the network rebuilt from the
 * config in its metadata, in eval mode). */
LQF_API lqf_status lqf_net_load(const char *path, lqf_net **out);
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
/* Re-derive every shape of a network for a height x width image input (4-D input 0), e.g.
 * MTCNN's PNet run at many scales, by shape inference; an ONNX network whose import folded
 * shape arithmetic for its old size is imported again at the new one. Input dims an ONNX
 * model leaves open (other than the batch) are 64 until this is called. LQF_ERR_SHAPE
 * (naming the file or network) when the model cannot take that size; the network is
 * unchanged on failure. */
LQF_API lqf_status lqf_net_set_input_size(lqf_net *net, int height, int width);

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

/* The contract of an embedding model is resolved field by field: each of its size, channel
 * order, mean and std comes from the first of these sources that gives it:
 *   the caller's flags (command-line options, lqf_contract_parse),
 *   the model file's metadata (an ONNX file's metadata_props),
 *   an lqface training checkpoint's metadata,
 *   the default: 112x112, RGB, mean 127.5, std 128 (the shipped MobileFaceNet's). */
typedef enum {
    LQF_SRC_DEFAULT = 0,
    LQF_SRC_CHECKPOINT,
    LQF_SRC_METADATA,
    LQF_SRC_FLAGS,
} lqf_contract_source;
typedef enum {
    LQF_CONTRACT_SIZE = 0,  /* width, height */
    LQF_CONTRACT_ORDER,     /* order */
    LQF_CONTRACT_MEAN,      /* mean[3] */
    LQF_CONTRACT_STD,       /* std[3] */
    LQF_CONTRACT_NFIELDS
} lqf_contract_field;

/* What one source says: field f is given when has & (1u << f). Zero-initialise it. */
typedef struct {
    unsigned has;
    lqf_input_contract c;  /* c.flip_fusion is the caller's run option, not a field */
} lqf_contract_spec;

/* Give one field of s: key "size" (S or WxH), "order" (rgb or bgr), "mean" or "std" (one
 * value for the three channels or three comma-separated, in pixel units 0..255 and the
 * network's channel order; std > 0). LQF_ERR_ARG names the key and the bad value. */
LQF_API lqf_status lqf_contract_set(lqf_contract_spec *s, const char *key, const char *value);
/* Give fields of s from one spec: items key=value (keys as above) or the words rgb / bgr,
 * separated by commas, spaces or semicolons; a bare number continues the mean or std before
 * it. "bgr,mean=127.5,std=128,size=112" and "size=112x112 order=rgb mean=123.675,116.28,
 * 103.53 std=58.395,57.12,57.375" are specs. Fields given twice: the last wins. */
LQF_API lqf_status lqf_contract_parse(const char *spec, lqf_contract_spec *s);
/* c as a spec lqf_contract_parse reads back ("size=112x112 order=rgb mean=127.5,127.5,127.5
 * std=128,128,128"), NUL-terminated in buf (cap bytes; 128 always suffice). */
LQF_API void lqf_contract_format(const lqf_input_contract *c, char *buf, size_t cap);

typedef struct {
    lqf_input_contract c;                           /* the resolved contract */
    lqf_contract_source source[LQF_CONTRACT_NFIELDS]; /* where each field came from */
} lqf_contract_info;
/* "default", "checkpoint", "file metadata", "flags". */
LQF_API const char *lqf_contract_source_name(lqf_contract_source s);
/* Resolve the contract of the embedding model at path (ONNX or checkpoint; only its
 * metadata is read) over the caller's flags (NULL: none). out->c.flip_fusion is the flags'
 * (0 without flags). Errors name the file: a checkpoint whose header or metadata is bad. */
LQF_API lqf_status lqf_contract_resolve(const char *path, const lqf_contract_spec *flags,
                                        lqf_contract_info *out);

typedef struct lqf_embedder lqf_embedder;
/* contract NULL: the contract lqf_contract_resolve(path, NULL) finds; otherwise the caller's,
 * as is (it wins over a checkpoint's). A network whose input height and width are open in
 * the ONNX file is shaped to the contract's size; a network of another fixed size is
 * LQF_ERR_SHAPE naming both sizes. */
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

/* Something that embeds aligned faces: n faces (each of the size it expects) -> emb (n x
 * its dim, L2-normalised rows) and, when norms is not NULL, a quality value per face. The
 * face sets and evaluation runners call it, so an evaluation can embed with an
 * lqf_embedder (lqf_embedder_embed_fn) or with anything else (e.g. a network in training). */
typedef lqf_status (*lqf_embed_fn)(void *user, const lqf_image *const *faces, int n, float *emb, float *norms);
/* lqf_embedder_embed as an lqf_embed_fn: user is the lqf_embedder. */
LQF_API lqf_status lqf_embedder_embed_fn(void *embedder, const lqf_image *const *faces, int n, float *emb,
                                         float *norms);

/* Cosine similarity of two L2-normalised embeddings; squared-L2 distance = 2 - 2 cos. */
LQF_API float lqf_cosine(const float *a, const float *b, int dim);

/* ===================================================================== models */
/* The shipped models' file names (what the command line uses without -m / -d). */
#define LQF_DEFAULT_EMBEDDER "mobilefacenet_fr512.onnx"
#define LQF_DEFAULT_DETECTOR "yunet_n_640_640.onnx"

/* Find a model by file name. With $LQFACE_MODELS set: that folder, only. Otherwise the first
 * folder holding the file among: $LQFACE_SHARED/models; the models folder of the installation
 * that holds this library or the running program (<prefix>/share/lqface/models, found
 * relative to them, so a moved installation still works); the shared models of the build
 * tree it was built in. path receives the file's path (cap bytes). LQF_ERR_IO names the
 * folders tried; LQF_ERR_ARG when the path does not fit in cap. */
LQF_API lqf_status lqf_model_find(const char *name, char *path, size_t cap);

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
/* A YuNet ONNX model (input SxS, BGR 0..255). opts NULL = defaults.
 * Also a RetinaFace (biubug6 MobileNet-0.25) ONNX model, recognised by its 3 outputs
 * (loc, conf, landmarks over the priors of its SxS input; BGR minus 104,117,123).
 * Images of any size are letterboxed (scaled to fit, top-left, zero padding) into SxS;
 * boxes are not clipped to the image. top_k 0 = no limit. A detector is not thread-safe. */
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

/* ===================================================================== evaluation */
/* Verification and identification metrics (computed in double) and readers of the public
 * protocol files. A verification pair is predicted "same" when the squared-L2 distance d of
 * its two L2-normalised embeddings (d = 2 - 2 cos) is BELOW a threshold, as in insightface's
 * eval/verification.py; the cosine form of a threshold t is 1 - t/2 (same if cos > 1 - t/2). */
#define LQF_EVAL_MAX_FOLDS 64
#define LQF_EVAL_N_FAR 6 /* TAR@FAR targets 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1 */

typedef struct {
    int n_pairs, n_same, n_diff, n_folds;
    /* insightface protocol: contiguous folds (sklearn KFold, no shuffle), grid i*0.01 for
     * i = 0..399, per fold the FIRST threshold of best accuracy on the other folds is applied
     * to the held-out fold; mean and std (ddof 0) over folds. */
    double acc_mean, acc_std;
    double fold_acc[LQF_EVAL_MAX_FOLDS], fold_thr[LQF_EVAL_MAX_FOLDS];
    /* VAL@FAR=1e-3 (insightface calculate_val: grid i*0.001, i = 0..3999, FAR -> threshold
     * by scipy's interp1d(kind='slinear') as in scipy <= 1.8, threshold 0 when the largest
     * training FAR is below the target). */
    double val_mean, val_std, far_mean;
    double fold_val[LQF_EVAL_MAX_FOLDS], fold_far[LQF_EVAL_MAX_FOLDS],
        fold_val_thr[LQF_EVAL_MAX_FOLDS];
    /* Over all pairs: FIRST threshold of the 0.01 grid with the best accuracy (same if
     * d < best_thr, i.e. cos > best_thr_cos), and that accuracy. */
    double best_thr, best_thr_cos, best_acc;
    /* ROC over all pairs, a pair accepted when d <= t. TAR@FAR: the largest t (the last ROC
     * point) whose FAR <= target; tar_thr = that t (-inf: nothing accepted), far_at = its FAR. */
    double far_target[LQF_EVAL_N_FAR], tar_at_far[LQF_EVAL_N_FAR];
    double tar_thr[LQF_EVAL_N_FAR], far_at[LQF_EVAL_N_FAR];
    /* Equal error rate: where the piecewise-linear ROC crosses FRR = FAR (first crossing). */
    double eer;
    double auc; /* trapezoidal area under the ROC (FAR, TAR) */
} lqf_verify_result;

/* Squared L2 distance of each pair: dist[i] = |a_i - b_i|^2; a, b: n x dim. */
LQF_API void lqf_pair_distances(const float *a, const float *b, int n, int dim, double *dist);
/* All verification metrics above from per-pair distances and labels (issame: 0/1).
 * n_folds: 10 for the standard protocol; 2 <= n_folds <= min(n, LQF_EVAL_MAX_FOLDS). */
LQF_API lqf_status lqf_verify_eval(const double *dist, const uint8_t *issame, int n, int n_folds,
                                   lqf_verify_result *r);
/* ROC over all pairs: point 0 is (FAR 0, TAR 0) at thr = -inf, then one point per distinct
 * distance t ascending, accepting d <= t. Arrays are malloc'd (caller frees with free()). */
LQF_API lqf_status lqf_verify_roc(const double *dist, const uint8_t *issame, int n, double **thr,
                                  double **tar, double **far, int *n_points);

typedef struct {
    int n_probes, n_mated, n_nonmated; /* mated: the probe's label occurs in the gallery */
    int n_gallery, n_distractors;
    /* Closed-set (mated probes; distractors appended to the gallery). Rank of a probe = 1 +
     * number of non-mate entries scoring STRICTLY higher than its best mate (ties favour the
     * probe); rank-k = fraction of mated probes with rank <= k. */
    double rank1, rank5, rank10, rank20;
    /* Open-set DIR at FPIR 1% and 10% (rank 1), as in the IJB-S (PFE) code: m = round-half-even
     * (FPIR x non-mated probes); threshold = m-th highest non-mated top score (highest + 1e-5
     * if m = 0); DIR = fraction of mated probes at rank 1 with best mate score >= threshold.
     * NaN when there is no non-mated probe. fpir_measured: non-mated tops >= threshold. */
    double fpir[2], dir[2], dir_thr[2], fpir_measured[2];
} lqf_ident_result;

/* sim: n_probe x n_gallery similarities (higher = more alike); dsim: n_probe x n_distractor
 * (may be NULL when n_distractor = 0), distractors never match. cmc (may be NULL): max_rank
 * values, cmc[k-1] = rank-k identification rate. */
LQF_API lqf_status lqf_ident_eval(const float *sim, const float *dsim, const int *probe_label,
                                  const int *gallery_label, int n_probe, int n_gallery,
                                  int n_distractor, double *cmc, int max_rank, lqf_ident_result *r);

/* A list of verification pairs (image paths and same/different labels). */
typedef struct {
    int n;               /* pairs */
    char **path_a, **path_b;
    uint8_t *issame;     /* 1: same identity */
    int *line;           /* line of the file that declared pair i (CFP: of its same/diff file) */
    int n_folds;         /* folds the protocol declares (LFW, CFP: 10); 0 when unknown */
} lqf_pair_list;
/* LFW pairs.txt: header "F N" (or "N"), then F blocks of N lines `name i j` (same) and N lines
 * `name1 i name2 j` (different); image root/name/name_%04d.jpg (root may be NULL). */
LQF_API lqf_status lqf_pairs_load_lfw(const char *pairs_txt, const char *image_root,
                                      lqf_pair_list **out);
/* Generic list: lines `path_a path_b label` (label 0/1; '#' comments and blank lines skipped);
 * relative paths are joined to root (may be NULL). */
LQF_API lqf_status lqf_pairs_load_list(const char *list_txt, const char *root, lqf_pair_list **out);
/* CFP protocol directory (cfp-dataset/Protocol): Pair_list_F.txt and Pair_list_P.txt (`index
 * path`, paths relative to that directory), Split/<split>/01..NN/{same,diff}.txt (`i,j`);
 * split "FP" (frontal-profile) or "FF". Pairs ordered fold by fold, same then diff. */
LQF_API lqf_status lqf_pairs_load_cfp(const char *protocol_dir, const char *split,
                                      lqf_pair_list **out);
LQF_API void lqf_pair_list_free(lqf_pair_list *p);

/* insightface validation pack (.bin): pickle((bins, issame_list)), Python-2 or -3 pickles of
 * bytes/str or numpy uint8 arrays. Image 2i and 2i+1 form pair i. */
typedef struct {
    int n_pairs, n_images;       /* n_images = 2 n_pairs */
    const uint8_t **image;       /* encoded image i (JPEG/PNG bytes), image_len[i] bytes */
    size_t *image_len;
    uint8_t *issame;             /* n_pairs flags */
    void *storage_;              /* private */
} lqf_bin_pack;
LQF_API lqf_status lqf_bin_load(const char *path, lqf_bin_pack **out);
LQF_API void lqf_bin_free(lqf_bin_pack *b);

/* ===================================================================== evaluation runs */
/* A degradation condition of a sweep. Face-alignment error (FAE) acts on the landmarks
 * before alignment; the others act on the aligned crop, in the order resolution, blur,
 * noise, JPEG. All zero = the clean condition. */
typedef struct {
    char label[64];
    int resolution;        /* 0: none; else down to r x r (area averaging) and back (bilinear) */
    double blur_sigma;     /* Gaussian blur sigma in pixels of the aligned crop; 0: none */
    double noise_sigma;    /* additive Gaussian noise in grey levels; 0: none */
    int jpeg_quality;      /* JPEG re-encoding quality 1..100; 0: none */
    double fae_rot_deg, fae_scale, fae_shift_px; /* FAE bounds in the 112 template frame */
    double fae_level;      /* the sweep's FAE level those bounds come from (reports); 0: none */
    int one_side;          /* verification: only the second image of a pair is degraded */
} lqf_condition;

typedef void (*lqf_progress_fn)(void *user, const char *stage, int done, int total);

/* A set of photos prepared once for evaluation: each photo is decoded, detected and aligned
 * (or taken as an aligned face) a single time, the landmarks kept for FAE, and the clean
 * embeddings cached, so a sweep never recomputes them. A photo that fails is recorded with
 * its message and the others go on. */
typedef struct lqf_face_set lqf_face_set;
typedef struct {
    int size;               /* side of the aligned crops (default 112) */
    lqf_face_pick pick;     /* which detected face a photo gives (default LQF_PICK_CENTER) */
    /* The largest face-alignment error the set will render (lqf_condition's bounds; default
     * 0). For each photo the part of the decoded photo that such re-alignments read is kept
     * in memory (the whole photo when that part is most of it), so a sweep decodes every
     * photo once; a re-alignment beyond the bounds reloads its photo. */
    double fae_rot_deg, fae_scale, fae_shift_px;
    size_t keep_bytes;      /* bound on the memory those parts take (0: 2 GiB); photos past
                               it reload for FAE */
} lqf_face_set_options;
LQF_API void lqf_face_set_options_default(lqf_face_set_options *o);
/* Decode, detect and align each photo once (det NULL: the paths are aligned size x size
 * faces). o NULL: the defaults. progress may be NULL. */
LQF_API lqf_status lqf_face_set_open(const char *const *paths, int n, lqf_detector *det,
                                     const lqf_face_set_options *o, lqf_face_set **out,
                                     lqf_progress_fn progress, void *user);
/* lqf_face_set_open with the default options but size and pick (nothing kept for FAE). */
LQF_API lqf_status lqf_face_set_from_paths(const char *const *paths, int n, lqf_detector *det,
                                           lqf_face_pick pick, int size, lqf_face_set **out,
                                           lqf_progress_fn progress, void *user);
/* Aligned faces already in memory (e.g. decoded from a .bin pack); takes ownership of the
 * images (NULL entries count as failed with the message given in fail_msg[i]). */
LQF_API lqf_status lqf_face_set_from_images(lqf_image **faces, char **fail_msg, int n, int size,
                                            lqf_face_set **out);
LQF_API void lqf_face_set_free(lqf_face_set *s);
LQF_API int lqf_face_set_size(const lqf_face_set *s);
/* Status of photo i (LQF_OK when it was aligned) and its message. */
LQF_API lqf_status lqf_face_set_status(const lqf_face_set *s, int i, const char **msg);
/* Embeddings (n x dim, L2-normalised; zero rows for failed photos) under condition c (NULL:
 * clean, cached per embedder). seed fixes the random draws (noise, FAE): photo i uses a
 * generator seeded from (seed, i), so results do not depend on threads. */
LQF_API lqf_status lqf_face_set_embed(lqf_face_set *s, lqf_embedder *e, const lqf_condition *c,
                                      uint64_t seed, float *emb, float *norms,
                                      lqf_progress_fn progress, void *user);
/* Restrict embeddings under a (non-clean) condition to the photos with use[i] != 0; the
 * others get zero rows (use NULL: every photo). Clean embeddings always cover every photo.
 * Identification degrades only the probes, cross-resolution only one side of each pair. */
LQF_API lqf_status lqf_face_set_select(lqf_face_set *s, const uint8_t *use);
/* The aligned crop of photo i under condition c (for looking at it: `lqface degrade`). */
LQF_API lqf_status lqf_face_set_render(lqf_face_set *s, int i, const lqf_condition *c, uint64_t seed,
                                       lqf_image **out);

/* Evaluation runners: a face set, a protocol over its photos and a list of conditions in,
 * one result per condition out. Under each condition the runner renders and embeds the
 * photos it needs (clean embeddings once), then scores: verification pairs by squared-L2
 * distance (lqf_verify_eval), identification probes against gallery + distractors by cosine
 * similarity (lqf_ident_eval's definitions). The embedding is a callback, so the same
 * runner serves an lqf_embedder (lqf_embedder_embed_fn) and a network in training. */
typedef struct {
    lqf_embed_fn embed;        /* embeds aligned faces of the set's size */
    void *embed_user;
    int dim;                   /* its embedding size */
    uint64_t seed;             /* random draws of the conditions (noise, FAE) */
    lqf_progress_fn progress;  /* may be NULL */
    void *progress_user;
} lqf_eval_options;

/* Verification pairs over a face set: pair k compares photo a[k] with photo b[k]. */
typedef struct {
    int n;                     /* pairs */
    int n_folds;               /* folds of the protocol (0: 10) */
    int *a, *b;                /* photo indices */
    uint8_t *issame;           /* 1: same identity */
} lqf_verify_pairs;
LQF_API void lqf_verify_pairs_free(lqf_verify_pairs *p); /* frees a, b, issame */

/* results[k] for conditions[k]. A pair with a failed photo is skipped (in every condition);
 * a condition with one_side set degrades only the second photo of each pair.
 * LQF_ERR_ARG when fewer usable pairs than folds remain. */
LQF_API lqf_status lqf_eval_verify(lqf_face_set *fs, const lqf_verify_pairs *pairs,
                                   const lqf_condition *conditions, int n_conditions,
                                   const lqf_eval_options *o, lqf_verify_result *results);

/* Identification over a face set whose first n_gallery photos are the gallery, the next
 * n_probe the probes and the last n_distractor the distractors (they never match). */
typedef struct {
    int n_gallery, n_probe, n_distractor;
    const int *gallery_label, *probe_label;
} lqf_ident_sets;
#define LQF_EVAL_CMC_RANKS 20
/* results[k] (and cmc[k * LQF_EVAL_CMC_RANKS ...], may be NULL) for conditions[k]; the
 * conditions degrade the probes only. Photos that failed are left out of their role. */
LQF_API lqf_status lqf_eval_ident(lqf_face_set *fs, const lqf_ident_sets *sets,
                                  const lqf_condition *conditions, int n_conditions,
                                  const lqf_eval_options *o, lqf_ident_result *results, double *cmc);

/* ===================================================================== data */
/* MXNet RecordIO packs (.rec + .idx + property), as insightface's training sets are stored. */
typedef struct {
    int plain;          /* 0: insightface layout: record 0 = meta (labels [id_start, id_end]),
                           images as keys 1..N, identity records N+1..N+K with [img_a, img_b);
                           1: plain im2rec, images as keys 0..N-1 */
    int width, height;  /* for the property file; 0: from the first image's header */
} lqf_rec_pack_options;
/* Pack folder/identity/image (identities sorted by name -> labels 0..K-1, images sorted by
 * name and stored byte for byte, non-image files skipped) into <out_prefix>.rec and .idx
 * and "num_classes,height,width" into <directory of out_prefix>/property, through temporary
 * files renamed at the end. opts NULL: defaults. n_images, n_classes may be NULL. */
LQF_API lqf_status lqf_rec_pack(const char *folder, const char *out_prefix,
                                const lqf_rec_pack_options *opts, size_t *n_images, int *n_classes);

typedef struct {
    uint64_t bytes;         /* size of the .rec */
    size_t records;         /* index entries (records found by a scan when there is no .idx) */
    size_t split_records;   /* payloads stored in several parts (they contained the magic) */
    size_t images;          /* image records the training set iterates over */
    int num_classes;
    int has_idx;            /* 0: no .idx, the .rec was scanned */
    int has_meta;           /* 1: record 0 is insightface's meta record */
} lqf_rec_summary;
/* Read every record of a pack and check its framing, header, label range and that it holds
 * an image; the first problem is the error ("<file>: corrupt record at byte offset N (...)").
 * out may be NULL. */
LQF_API lqf_status lqf_rec_check(const char *rec_path, lqf_rec_summary *out);

#ifdef __cplusplus
}
#endif
#endif /* LQFACE_H */
