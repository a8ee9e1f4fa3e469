/*
 * test_contract.c — an embedding model's input contract and the shipped models' lookup:
 * specs parsed field by field (and refused, unchanged, with the bad value named), a contract
 * written as a spec reads back exactly, the resolution takes each field from the highest
 * source that gives it (flags > checkpoint > default) with that source reported; a
 * checkpoint's contract comes from its header alone (lqf_ckpt_load_header agrees with
 * lqf_ckpt_load on every header, refuses the damaged headers of tools/ref_checkpoint.py as
 * the full reader does and ignores damage past the header); lqf_model_find's order.
 */
#include "train/checkpoint.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const lqf_contract_source DEF[4] = {LQF_SRC_DEFAULT, LQF_SRC_DEFAULT, LQF_SRC_DEFAULT, LQF_SRC_DEFAULT};

static int same_contract(const lqf_input_contract *a, const lqf_input_contract *b) {
    return a->width == b->width && a->height == b->height && a->order == b->order && !memcmp(a->mean, b->mean, sizeof a->mean) &&
           !memcmp(a->std, b->std, sizeof a->std);
}

static void test_parse(void) {
    lqf_contract_spec s = {0};
    CHECK(lqf_contract_parse("bgr,mean=123.675,116.28,103.53,std=58.395,57.12,57.375,size=112", &s) == LQF_OK);
    CHECK(s.has == 15u && s.c.order == LQF_BGR && s.c.width == 112 && s.c.height == 112);
    CHECK(s.c.mean[0] == 123.675f && s.c.mean[1] == 116.28f && s.c.mean[2] == 103.53f);
    CHECK(s.c.std[0] == 58.395f && s.c.std[1] == 57.12f && s.c.std[2] == 57.375f);
    lqf_contract_spec t = {0};
    CHECK(lqf_contract_parse("  size=128x96;order=RGB  std=64 ", &t) == LQF_OK);
    CHECK(t.has == (1u << LQF_CONTRACT_SIZE | 1u << LQF_CONTRACT_ORDER | 1u << LQF_CONTRACT_STD));
    CHECK(t.c.width == 128 && t.c.height == 96 && t.c.order == LQF_RGB && t.c.std[0] == 64 && t.c.std[2] == 64);
    CHECK(lqf_contract_parse("mean=1 rgb mean=2,3,4", &t) == LQF_OK && t.c.mean[0] == 2 && t.c.mean[2] == 4);
    CHECK(lqf_contract_set(&t, "size", "100") == LQF_OK && t.c.width == 100 && t.c.height == 100);

    /* refused, naming the value, and the spec left as it was */
    static const char *bad[][2] = {
        {"", "empty"}, {"mean=1,2", "'1,2'"}, {"mean=1,2,3,4", "'4'"}, {"std=1,0,1", "'1,0,1'"},
        {"size=0", "'0'"}, {"size=112x", "'112x'"}, {"size=9000", "'9000'"}, {"order=rgba", "'rgba'"},
        {"gbr", "'gbr'"}, {"5", "'5'"}, {"=5", "'=5'"}, {"depth=3", "'depth'"}, {"mean=nan", "'nan'"},
        {"bgr,size=112,mean=x", "'x'"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        lqf_contract_spec u = t;
        lqf_status st = lqf_contract_parse(bad[k][0], &u);
        int ok = st == LQF_ERR_ARG && strstr(lqf_last_error(), bad[k][1]) && !memcmp(&u, &t, sizeof u);
        printf("%-22s %s: %s\n", bad[k][0], ok ? "refused" : "WRONG", lqf_last_error());
        CHECK(ok);
    }
    CHECK(lqf_contract_set(&t, "mean", "a") == LQF_ERR_ARG && strstr(lqf_last_error(), "contract: mean 'a'"));

    /* format -> parse reads every contract back exactly */
    lqf_input_contract cs[3] = {{112, 112, LQF_RGB, {127.5f, 127.5f, 127.5f}, {128, 128, 128}, 0},
                                {96, 80, LQF_BGR, {123.675f, 116.28f, 103.53f}, {58.395f, 57.12f, 57.375f}, 0},
                                {7, 4096, LQF_RGB, {0.1f, -3e-5f, 1.0f / 3}, {1e-3f, 255, 2.0f / 7}, 0}};
    for (int k = 0; k < 3; k++) {
        char buf[128];
        lqf_contract_format(&cs[k], buf, sizeof buf);
        lqf_contract_spec r = {0};
        CHECK(lqf_contract_parse(buf, &r) == LQF_OK && r.has == 15u && same_contract(&r.c, &cs[k]));
        printf("format: %s\n", buf);
    }
}

/* A checkpoint of one small tensor whose metadata says what `info` holds (NULL: the
 * metadata keys of `keys` alone, over a valid format and version). */
static void write_ckpt(const char *path, const lqf_ckpt_info *info, const char *const *keys) {
    lqf_ckpt *c;
    float w[6] = {1, 2, 3, 4, 5, 6};
    int64_t d[2] = {2, 3};
    CHECK(lqf_ckpt_create(&c) == LQF_OK && lqf_ckpt_add(c, "fc.weight", 2, d, w, 1) == LQF_OK);
    if (info) {
        CHECK(lqf_ckpt_set_info(c, info) == LQF_OK);
    } else {
        CHECK(lqf_ckpt_set_meta(c, "format", LQF_CKPT_FORMAT) == LQF_OK && lqf_ckpt_set_meta(c, "format_version", "1") == LQF_OK);
        for (int k = 0; keys[k]; k += 2) CHECK(lqf_ckpt_set_meta(c, keys[k], keys[k + 1]) == LQF_OK);
    }
    CHECK(lqf_ckpt_save(c, path) == LQF_OK);
    lqf_ckpt_free(c);
}

static void test_resolve(const char *dir) {
    lqf_contract_info ci;
    const char *mfn = tu_shared("models/mobilefacenet_fr512.onnx");
    CHECK(lqf_contract_resolve(mfn, NULL, &ci) == LQF_OK);
    lqf_input_contract def = {112, 112, LQF_RGB, {127.5f, 127.5f, 127.5f}, {128, 128, 128}, 0};
    CHECK(same_contract(&ci.c, &def) && !memcmp(ci.source, DEF, sizeof DEF) && ci.c.flip_fusion == 0);
    lqf_contract_spec fl = {0};
    CHECK(lqf_contract_parse("bgr std=1,2,3", &fl) == LQF_OK);
    fl.c.flip_fusion = 1;
    CHECK(lqf_contract_resolve(mfn, &fl, &ci) == LQF_OK);
    CHECK(ci.c.order == LQF_BGR && ci.c.std[1] == 2 && ci.c.mean[0] == 127.5f && ci.c.width == 112 && ci.c.flip_fusion == 1);
    CHECK(ci.source[LQF_CONTRACT_SIZE] == LQF_SRC_DEFAULT && ci.source[LQF_CONTRACT_ORDER] == LQF_SRC_FLAGS &&
          ci.source[LQF_CONTRACT_MEAN] == LQF_SRC_DEFAULT && ci.source[LQF_CONTRACT_STD] == LQF_SRC_FLAGS);
    CHECK(!strcmp(lqf_contract_source_name(LQF_SRC_METADATA), "file metadata") &&
          !strcmp(lqf_contract_source_name(LQF_SRC_CHECKPOINT), "checkpoint"));

    /* a checkpoint's metadata gives every field; flags still win */
    char path[512];
    snprintf(path, sizeof path, "%s/run.safetensors", dir);
    lqf_ckpt_info info;
    lqf_ckpt_info_default(&info);
    snprintf(info.arch, sizeof info.arch, "mobilefacenet");
    info.order = LQF_BGR;
    info.input_w = info.input_h = 96;
    for (int k = 0; k < 3; k++) info.mean[k] = 0.5f * (float)(k + 1), info.std[k] = 0.25f;
    write_ckpt(path, &info, NULL);
    CHECK(lqf_contract_resolve(path, NULL, &ci) == LQF_OK);
    lqf_input_contract want = {96, 96, LQF_BGR, {0.5f, 1.0f, 1.5f}, {0.25f, 0.25f, 0.25f}, 0};
    CHECK(same_contract(&ci.c, &want));
    for (int f = 0; f < LQF_CONTRACT_NFIELDS; f++) CHECK(ci.source[f] == LQF_SRC_CHECKPOINT);
    CHECK(lqf_contract_resolve(path, &fl, &ci) == LQF_OK);
    CHECK(ci.c.order == LQF_BGR && ci.source[LQF_CONTRACT_ORDER] == LQF_SRC_FLAGS && ci.c.std[2] == 3 &&
          ci.source[LQF_CONTRACT_SIZE] == LQF_SRC_CHECKPOINT && ci.c.width == 96 && ci.c.mean[2] == 1.5f &&
          ci.source[LQF_CONTRACT_MEAN] == LQF_SRC_CHECKPOINT);

    /* a checkpoint that gives only its size and order: the rest is the default */
    static const char *const some[] = {"input_size", "128x128", "channel_order", "BGR", NULL};
    write_ckpt(path, NULL, some);
    CHECK(lqf_contract_resolve(path, NULL, &ci) == LQF_OK);
    CHECK(ci.c.width == 128 && ci.c.order == LQF_BGR && ci.c.mean[0] == 127.5f && ci.c.std[0] == 128);
    CHECK(ci.source[LQF_CONTRACT_SIZE] == LQF_SRC_CHECKPOINT && ci.source[LQF_CONTRACT_ORDER] == LQF_SRC_CHECKPOINT &&
          ci.source[LQF_CONTRACT_MEAN] == LQF_SRC_DEFAULT && ci.source[LQF_CONTRACT_STD] == LQF_SRC_DEFAULT);

    /* bad metadata and bad files: errors that name the file */
    static const char *const bad_order[] = {"channel_order", "GBR", NULL};
    write_ckpt(path, NULL, bad_order);
    CHECK(lqf_contract_resolve(path, NULL, &ci) == LQF_ERR_FORMAT && strstr(lqf_last_error(), path) &&
          strstr(lqf_last_error(), "GBR"));
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    CHECK(lqf_contract_resolve(path, NULL, &ci) == LQF_ERR_IO && strstr(lqf_last_error(), path));
}

/* The header reader against the full reader: the same metadata and tensor list on good
 * files, the same refusal of damaged headers, no opinion on damage past the header. */
static void test_header_reader(const char *dir) {
    const char *good = tu_testdata("checkpoint/python.safetensors");
    lqf_ckpt *full = NULL, *head = NULL;
    CHECK(lqf_ckpt_load(good, &full) == LQF_OK && lqf_ckpt_load_header(good, &head) == LQF_OK);
    if (full && head) {
        CHECK(lqf_ckpt_num_meta(full) == lqf_ckpt_num_meta(head) && lqf_ckpt_count(full) == lqf_ckpt_count(head));
        for (int i = 0; i < lqf_ckpt_num_meta(full); i++) {
            const char *k, *v;
            lqf_ckpt_meta_at(full, i, &k, &v);
            const char *hv = lqf_ckpt_get_meta(head, k);
            CHECK(hv && !strcmp(hv, v));
        }
        for (int i = 0; i < lqf_ckpt_count(full); i++) {
            const lqf_ckpt_tensor *a = lqf_ckpt_tensor_at(full, i), *b = lqf_ckpt_find(head, a->name);
            CHECK(b && b->ndim == a->ndim && !memcmp(b->dims, a->dims, sizeof(int64_t) * (size_t)a->ndim) && !b->data);
        }
    }
    lqf_ckpt_free(full);
    lqf_ckpt_free(head);

    static const char *header_damage = " bad_header_len bad_header_cut bad_not_st bad_dtype bad_int_dtype bad_json "
                                       "bad_meta bad_no_offsets ";
    FILE *f = fopen(tu_testdata("checkpoint/bad.txt"), "r");
    if (!CHECK(f != NULL)) return;
    char fname[256], status[32], frag[256];
    int n = 0;
    while (fscanf(f, "%255s %31s %255[^\n]", fname, status, frag) == 3) {
        char rel[300], stem[260];
        snprintf(rel, sizeof rel, "checkpoint/%s", fname);
        snprintf(stem, sizeof stem, " %.*s ", (int)(strcspn(fname, ".")), fname);
        lqf_ckpt *c = NULL;
        lqf_status st = lqf_ckpt_load_header(tu_testdata(rel), &c);
        lqf_status want = !strcmp(status, "UNSUPPORTED") ? LQF_ERR_UNSUPPORTED : LQF_ERR_FORMAT;
        int in_header = strstr(header_damage, stem) != NULL;
        int ok = in_header ? st == want && !c && strstr(lqf_last_error(), frag) && strstr(lqf_last_error(), fname)
                           : st == LQF_OK && c;
        printf("header reader %-28s %s: %s\n", fname, ok ? (in_header ? "refused" : "read") : "WRONG",
               in_header ? lqf_last_error() : "damage past the header");
        CHECK(ok);
        lqf_ckpt_free(c);
        n++;
    }
    fclose(f);
    CHECK(n == 13);

    /* every cut of a real file: an error inside the header, the same header after it */
    uint8_t *buf;
    size_t len;
    if (!CHECK(lqf_read_file(good, &buf, &len) == LQF_OK)) return;
    uint64_t hl = 0;
    for (int k = 0; k < 8; k++) hl |= (uint64_t)buf[k] << (8 * k);
    char cut_path[512];
    snprintf(cut_path, sizeof cut_path, "%s/cut.safetensors", dir);
    int right = 0, cuts = 0;
    for (size_t cut = 0; cut <= len; cut += cut < 8 + hl + 8 ? 1 : 61) {
        FILE *o = fopen(cut_path, "wb");
        fwrite(buf, 1, cut, o);
        fclose(o);
        lqf_ckpt *c = NULL;
        lqf_status st = lqf_ckpt_load_header(cut_path, &c);
        right += cut < 8 + hl ? st == LQF_ERR_FORMAT && strstr(lqf_last_error(), cut_path) : st == LQF_OK;
        lqf_ckpt_free(c);
        cuts++;
    }
    printf("header reader: %d of %d cuts as expected\n", right, cuts);
    CHECK(right == cuts);
    free(buf);
    unlink(cut_path);
}

static void test_model_find(const char *dir) {
    char models[512], shared[512], file[600], got[1024];
    snprintf(models, sizeof models, "%s/m", dir);
    snprintf(shared, sizeof shared, "%s/s", dir);
    snprintf(file, sizeof file, "%s/models", shared);
    CHECK(mkdir(models, 0755) == 0 && mkdir(shared, 0755) == 0 && mkdir(file, 0755) == 0);
    snprintf(file, sizeof file, "%s/models/x.onnx", shared);
    fclose(fopen(file, "w"));
    setenv("LQFACE_SHARED", shared, 1);
    unsetenv("LQFACE_MODELS");
    CHECK(lqf_model_find("x.onnx", got, sizeof got) == LQF_OK && !strcmp(got, file));
    CHECK(lqf_model_find("x.onnx", got, 8) == LQF_ERR_ARG);
    /* LQFACE_MODELS is the only place when set */
    setenv("LQFACE_MODELS", models, 1);
    CHECK(lqf_model_find("x.onnx", got, sizeof got) == LQF_ERR_IO && strstr(lqf_last_error(), "x.onnx: model not found") &&
          strstr(lqf_last_error(), models));
    snprintf(file, sizeof file, "%s/x.onnx", models);
    fclose(fopen(file, "w"));
    CHECK(lqf_model_find("x.onnx", got, sizeof got) == LQF_OK && !strcmp(got, file));
    /* a name found nowhere: every folder tried is named */
    unsetenv("LQFACE_MODELS");
    CHECK(lqf_model_find("nowhere.onnx", got, sizeof got) == LQF_ERR_IO && strstr(lqf_last_error(), shared));
    printf("not found: %s\n", lqf_last_error());
}

int main(void) {
    char dir[] = "/tmp/lqf_contract_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_parse();
    test_resolve(dir);
    test_header_reader(dir);
    test_model_find(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return tu_finish("test_contract");
}
