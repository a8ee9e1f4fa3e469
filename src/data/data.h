/*
 * data.h — training data readers (internal API): MXNet RecordIO (.rec/.idx/property, read
 * and write, insightface's meta-record layout), image-folder and list-file datasets behind one
 * interface (count, num_classes, get(i) -> encoded image bytes + label), and the LFW
 * pairs.txt identity split used to fine-tune on folds 1-9 and test on fold 10. Decoding the
 * bytes is NOT done here (see lqf_image_decode in lqface.h).
 *
 * Threads: an opened lqf_rec / lqf_dataset is immutable after open, so any number of loader
 * threads may read from it at once, each with its OWN scratch (lqf_buf / lqf_sample). The
 * .rec is mmap'd read-only; a record stored in one piece is returned as a pointer into the
 * mapping (zero copy), a split record is reassembled into the caller's scratch. The .rec must
 * not be truncated while it is open (a mapped page past the new end faults).
 *
 * RecordIO layout (dmlc-core recordio.cc, mxnet recordio.py), little-endian:
 *   record  = u32 magic 0xced7230a, u32 lrec = (cflag << 29) | len, len bytes, zero pad to 4
 *   cflag 0 = whole payload; 1/2/3 = first/middle/last part of a payload that contained the
 *   magic at 4-aligned positions (the writer drops the magic there, the reader puts it back).
 *   payload = IRHeader 'IfQQ' (u32 flag, f32 label, u64 id, u64 id2), flag float32 labels
 *   when flag > 0, then the encoded image.
 *   .idx    = text lines "key\tbyte_offset\n".
 *   record 0 with flag > 0 and no image = meta: labels [id_start, id_end]; image keys are
 *   1..id_start-1, keys id_start..id_end-1 are identity records with labels [img_a, img_b).
 *   record 0 with flag == 0 (or an image) = plain im2rec: every key is an image.
 *   property (next to the .rec) = "num_classes,height,width".
 */
#ifndef LQF_DATA_H
#define LQF_DATA_H

#include "core/core.h"

#include <stdint.h>

#define LQF_REC_MAGIC 0xced7230aU
#define LQF_IR_HEADER_SIZE 24

/* ===================================================================== scratch */
/* A growable byte buffer owned by one thread; zero-initialise, free with lqf_buf_free. */
typedef struct {
    uint8_t *data;
    size_t cap;
} lqf_buf;
lqf_status lqf_buf_reserve(lqf_buf *b, size_t n);
void lqf_buf_free(lqf_buf *b);

/* ===================================================================== RecordIO reader */
typedef struct lqf_rec lqf_rec;

/* Open rec_path. idx_path NULL: the .idx next to it (rec_path with ".rec" replaced by ".idx")
 * if that file exists, otherwise the .rec is scanned once and each record's key is the id of
 * its IRHeader (or its ordinal position when ids are missing or repeated). A scan validates
 * every record; with an .idx records are validated when read. */
lqf_status lqf_rec_open(const char *rec_path, const char *idx_path, lqf_rec **out);
void lqf_rec_free(lqf_rec *r);
const char *lqf_rec_path(const lqf_rec *r);
size_t lqf_rec_count(const lqf_rec *r);                /* entries in the index */
size_t lqf_rec_size(const lqf_rec *r);                 /* bytes in the .rec */
uint64_t lqf_rec_key(const lqf_rec *r, size_t i);      /* key of entry i (index order) */
uint64_t lqf_rec_offset(const lqf_rec *r, size_t i);   /* byte offset of entry i */
int lqf_rec_scanned(const lqf_rec *r);                 /* 1 if opened without an .idx */
/* Entry index of key; returns 1 if found, 0 if not. */
int lqf_rec_find(const lqf_rec *r, uint64_t key, size_t *i);
/* Payload of entry i: *payload points into the mapping or into scratch (valid until scratch
 * is reused or freed). Corrupt data -> LQF_ERR_FORMAT "<rec>: corrupt record at byte offset
 * N (...)". Thread-safe with one scratch per thread. */
lqf_status lqf_rec_read(const lqf_rec *r, size_t i, lqf_buf *scratch, const uint8_t **payload,
                        size_t *len);
/* Number of parts entry i is stored in (1 = whole; > 1 = split because it held the magic). */
lqf_status lqf_rec_parts(const lqf_rec *r, size_t i, int *parts);
/* The class label of entry i (lqf_ir_class of its IRHeader), read without scratch. */
lqf_status lqf_rec_read_class(const lqf_rec *r, size_t i, float *label);

/* ===================================================================== IRHeader */
typedef struct {
    uint32_t flag;           /* number of float32 labels following the header */
    float label;             /* the label when flag == 0 */
    uint64_t id, id2;
    const uint8_t *labels;   /* flag float32 values (read with lqf_ir_label) */
    const uint8_t *image;    /* encoded image, image_len bytes (may be 0) */
    size_t image_len;
} lqf_irheader;

/* Parse a payload; name is used in error messages. */
lqf_status lqf_ir_unpack(const uint8_t *payload, size_t len, const char *name, lqf_irheader *h);
float lqf_ir_label(const lqf_irheader *h, uint32_t k);  /* k < flag */
/* The class label as insightface reads it: labels[0] if flag > 0, else label. */
float lqf_ir_class(const lqf_irheader *h);
/* mxnet recordio.pack: nlabels == 0 -> flag 0 and `label`; else flag = nlabels, label field
 * 0, the labels, then the image. Writes into out (grown), *len = payload size. */
lqf_status lqf_ir_pack(float label, const float *labels, uint32_t nlabels, uint64_t id,
                       uint64_t id2, const uint8_t *image, size_t image_len, lqf_buf *out,
                       size_t *len);

/* ===================================================================== RecordIO writer */
typedef struct lqf_rec_writer lqf_rec_writer;
/* Writes <prefix>.rec and <prefix>.idx through temporary files renamed by close. */
lqf_status lqf_rec_writer_open(const char *prefix, lqf_rec_writer **out);
/* Append one record (split like dmlc-core's WriteRecord) and its .idx line. */
lqf_status lqf_rec_writer_write(lqf_rec_writer *w, uint64_t key, const uint8_t *payload, size_t len);
/* Flush, rename into place and free w (also on failure, which removes the temporaries). */
lqf_status lqf_rec_writer_close(lqf_rec_writer *w);
/* Remove the temporaries and free w. */
void lqf_rec_writer_abort(lqf_rec_writer *w);

/* lqf_rec_pack (lqface.h) packs a folder with lqf_rec_writer; lqf_rec_check (lqface.h)
 * validates every record of a pack. */
/* Width and height from a PNG, JPEG or PNM header (no decoding). */
lqf_status lqf_image_sniff_size(const uint8_t *buf, size_t len, const char *name, int *w, int *h);

/* ===================================================================== image folders */
/* root/identity/image listing: identities sorted by name (byte order), each with >= 1 image
 * file (.jpg .jpeg .png .pgm .ppm .pnm, any case; hidden files skipped), images sorted. */
typedef struct {
    char *root;
    int n_classes;
    char **class_names;      /* n_classes identity directory names */
    size_t n_images;
    char **paths;            /* n_images paths relative to root ("identity/file") */
    int *labels;             /* n_images class labels */
} lqf_folder_list;
/* only: NULL = every identity; else only these n_only identity names (each must exist). */
lqf_status lqf_folder_list_scan(const char *root, const char *const *only, int n_only,
                                lqf_folder_list *out);
void lqf_folder_list_free(lqf_folder_list *l);
/* 1 if the file name has an image extension. */
int lqf_is_image_name(const char *name);
/* Sort strings (byte order), free and drop repeats; returns the new count. */
int lqf_strings_sort_unique(char **v, int n);

/* ===================================================================== datasets */
typedef enum { LQF_DATASET_FOLDER, LQF_DATASET_LIST, LQF_DATASET_REC } lqf_dataset_kind;
typedef struct lqf_dataset lqf_dataset;

/* One item fetched by lqf_dataset_get. Zero-initialise; free with lqf_sample_free. */
typedef struct {
    const uint8_t *data;     /* encoded image bytes (into the .rec mapping or into buf) */
    size_t len;
    int label;               /* class, 0..num_classes-1 */
    char name[512];          /* file path or "<rec>#key" for error messages */
    lqf_buf buf;             /* owned scratch */
} lqf_sample;
void lqf_sample_free(lqf_sample *s);

lqf_status lqf_dataset_open_folder(const char *root, lqf_dataset **out);
/* Image folder restricted to the given identity names (e.g. LFW folds 1-9). */
lqf_status lqf_dataset_open_folder_subset(const char *root, const char *const *identities,
                                          int n, lqf_dataset **out);
/* List file: one "path label" per line (label = last field; '#' comments and blank lines
 * skipped; insightface .lst "aligned<TAB>path<TAB>label" accepted). Relative paths are
 * relative to root (NULL: the list file's directory). num_classes = max label + 1. */
lqf_status lqf_dataset_open_list(const char *list_path, const char *root, lqf_dataset **out);
/* RecordIO: meta record -> image keys 1..id_start-1, else all keys. num_classes from the
 * property file, else id_end - id_start, else max label + 1 (reads every header). */
lqf_status lqf_dataset_open_rec(const char *rec_path, lqf_dataset **out);
/* "<directory of path>/property", where a pack's property file lives (malloc'd; NULL when
 * out of memory). path is the .rec or the prefix it was written with. */
char *lqf_rec_property_path(const char *path);
/* By what path is: a directory -> folder, *.rec -> RecordIO, otherwise a list file. */
lqf_status lqf_dataset_open(const char *path, lqf_dataset **out);
void lqf_dataset_free(lqf_dataset *d);

lqf_dataset_kind lqf_dataset_get_kind(const lqf_dataset *d);
size_t lqf_dataset_count(const lqf_dataset *d);
int lqf_dataset_num_classes(const lqf_dataset *d);
/* Identity name of a class (folder datasets) or NULL. */
const char *lqf_dataset_class_name(const lqf_dataset *d, int label);
/* Label of item i (a .rec reads the record's header). -1 on error (message set). */
int lqf_dataset_label(const lqf_dataset *d, size_t i);
/* Encoded bytes and label of item i into s. Thread-safe with one sample per thread. */
lqf_status lqf_dataset_get(const lqf_dataset *d, size_t i, lqf_sample *s);
/* RecordIO datasets: the underlying reader (NULL otherwise). */
const lqf_rec *lqf_dataset_rec(const lqf_dataset *d);
/* RecordIO datasets with a meta record: 1 and its [id_start, id_end); else 0. */
int lqf_dataset_rec_meta(const lqf_dataset *d, long *id_start, long *id_end);
/* get(i) then lqf_image_decode (errors name the file or "<rec>#key"). */
lqf_status lqf_dataset_decode(const lqf_dataset *d, size_t i, lqf_sample *s, lqf_channel_order order,
                              lqf_image **out);

/* ===================================================================== LFW identity split */
typedef struct {
    int n;
    char **names;            /* sorted (byte order), unique */
} lqf_name_list;
void lqf_name_list_free(lqf_name_list *l);
/* From LFW pairs.txt ("folds n", then per fold n same-person lines "name i j" and n
 * different-person lines "name1 i name2 j"): test = identities in the pairs of fold
 * test_fold (1-based), train = identities in the other folds' pairs minus test, so the two
 * are identity-disjoint. Either output may be NULL. */
lqf_status lqf_lfw_identity_split(const char *pairs_path, int test_fold, lqf_name_list *train,
                                  lqf_name_list *test);

/* ===================================================================== hashing */
/* SHA-256 (FIPS 180-4) of a buffer; hex is 65 chars with the terminating 0. */
void lqf_sha256(const uint8_t *data, size_t len, uint8_t digest[32]);
void lqf_sha256_hex(const uint8_t *data, size_t len, char hex[65]);

#endif
