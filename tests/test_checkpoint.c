/*
 * test_checkpoint.c — safetensors checkpoints: a file written by tools/ref_checkpoint.py
 * (hand-made layout, F32/F16/BF16/F64, a scalar, an empty tensor, a non-ASCII name, escaped
 * metadata) is read back exactly against torch's float32 conversion; lqface's own files
 * round-trip with their self-description; the damaged files of ref_checkpoint.py are rejected
 * with the expected status and message; truncations and header corruption never crash; a save
 * that cannot complete leaves no temporary behind. Writes /tmp/lqface_written.safetensors for
 * `tools/ref_checkpoint.py --check` (torch.frombuffer).
 */
#include "train/checkpoint.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Decode a JSON string literal (with quotes) as the manifest writes them. */
static int json_unescape(const char *s, char *out, size_t cap) {
    size_t n = 0;
    if (*s++ != '"') return 0;
    while (*s && *s != '"' && n + 4 < cap) {
        if (*s != '\\') {
            out[n++] = *s++;
            continue;
        }
        s++;
        char e = *s++;
        if (e == 'n') out[n++] = '\n';
        else if (e == 't') out[n++] = '\t';
        else if (e == 'u') {
            unsigned cp = (unsigned)strtoul((char[5]){s[0], s[1], s[2], s[3], 0}, NULL, 16);
            s += 4;
            if (cp < 0x80) out[n++] = (char)cp;
            else if (cp < 0x800) out[n++] = (char)(0xc0 | cp >> 6), out[n++] = (char)(0x80 | (cp & 63));
            else out[n++] = (char)(0xe0 | cp >> 12), out[n++] = (char)(0x80 | ((cp >> 6) & 63)), out[n++] = (char)(0x80 | (cp & 63));
        } else out[n++] = e;
    }
    out[n] = 0;
    return *s == '"';
}

static void test_python_file(void) {
    lqf_ckpt *c = NULL;
    const char *path = tu_testdata("checkpoint/python.safetensors");
    char pathbuf[1024];
    snprintf(pathbuf, sizeof pathbuf, "%s", path);
    if (!CHECK(lqf_ckpt_load(pathbuf, &c) == LQF_OK)) {
        fprintf(stderr, "%s\n", lqf_last_error());
        return;
    }
    float *want = NULL;
    long nwant = tu_load_f32(tu_testdata("checkpoint/python_expected.f32"), &want);
    FILE *f = fopen(tu_testdata("checkpoint/python_expected.txt"), "r");
    if (!CHECK(f && nwant > 0)) {
        if (f) fclose(f);
        lqf_ckpt_free(c);
        free(want);
        return;
    }
    char line[1024], name[512], val[512];
    long off = 0;
    int ntensor = 0, nmeta = 0, exact = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "meta ", 5)) {
            char *sp = strchr(line + 5, ' ');
            *sp = 0;
            CHECK(json_unescape(sp + 1, val, sizeof val));
            const char *got = lqf_ckpt_get_meta(c, line + 5);
            CHECK(got && !strcmp(got, val));
            nmeta++;
        } else if (!strncmp(line, "tensor ", 7)) {
            char *q = line + 7, *endq = strstr(q + 1, "\" ");
            *++endq = 0;
            CHECK(json_unescape(q, name, sizeof name));
            int ndim = (int)strtol(endq + 1, &q, 10);
            int64_t dims[8], numel = 1;
            for (int d = 0; d < ndim; d++) dims[d] = strtoll(q, &q, 10), numel *= dims[d];
            const lqf_ckpt_tensor *t = NULL;
            if (!CHECK(lqf_ckpt_get(c, name, ndim, dims, &t) == LQF_OK && t)) {
                fprintf(stderr, "%s\n", lqf_last_error());
                continue;
            }
            CHECK(off + numel <= nwant);
            int same = t->numel == numel && (numel == 0 || !memcmp(t->data, want + off, sizeof(float) * (size_t)numel));
            printf("python tensor %-26s ndim %d, %3lld values: %s\n", name, ndim, (long long)numel,
                   same ? "identical to torch's float32" : "DIFFERENT");
            exact += same;
            off += numel;
            ntensor++;
        }
    }
    fclose(f);
    CHECK(ntensor == 9 && exact == 9 && nmeta == 3 && off == nwant);
    CHECK(lqf_ckpt_count(c) == 9 && lqf_ckpt_num_meta(c) == 3);
    /* the tensors come in file (offset) order: F64 first as safetensors sorts by alignment */
    CHECK(!strcmp(lqf_ckpt_tensor_at(c, 0)->name, "f64.weight"));
    /* lookups that must fail, with clear messages */
    const lqf_ckpt_tensor *t;
    CHECK(lqf_ckpt_get(c, "head.kernel", 2, (int64_t[]){7, 5}, &t) == LQF_ERR_SHAPE && !t);
    printf("shape mismatch: %s\n", lqf_last_error());
    CHECK(strstr(lqf_last_error(), "[5, 7]") && strstr(lqf_last_error(), "[7, 5]"));
    CHECK(lqf_ckpt_get(c, "no.such", 0, NULL, &t) == LQF_ERR_FORMAT && strstr(lqf_last_error(), "no.such"));
    lqf_ckpt_info info;
    CHECK(lqf_ckpt_get_info(c, &info) == LQF_ERR_FORMAT);
    printf("foreign file: %s\n", lqf_last_error());
    /* a foreign file re-saved by lqface (all F32 now) reads back the same */
    const char *resaved = "/tmp/lqface_resaved.safetensors";
    CHECK(lqf_ckpt_save(c, resaved) == LQF_OK);
    lqf_ckpt *r = NULL;
    if (CHECK(lqf_ckpt_load(resaved, &r) == LQF_OK)) {
        int same = lqf_ckpt_count(r) == lqf_ckpt_count(c) && lqf_ckpt_num_meta(r) == 3;
        for (int i = 0; i < lqf_ckpt_count(c); i++) {
            const lqf_ckpt_tensor *a = lqf_ckpt_tensor_at(c, i), *b = lqf_ckpt_find(r, a->name);
            same &= b && b->numel == a->numel && b->ndim == a->ndim &&
                    (a->numel == 0 || !memcmp(a->data, b->data, sizeof(float) * (size_t)a->numel));
        }
        same &= !strcmp(lqf_ckpt_get_meta(r, "quote"), lqf_ckpt_get_meta(c, "quote"));
        printf("python file re-saved by lqface: identical tensors and metadata: %s\n", same ? "yes" : "no");
        CHECK(same);
    }
    lqf_ckpt_free(r);
    remove(resaved);
    free(want);
    lqf_ckpt_free(c);
}

static const char *spec_names[5] = {"conv1.weight", "bn1.running_mean", "fc.weight", "head.batch_mean",
                                    "optim.fc.weight.momentum"};
static const int spec_ndim[5] = {4, 1, 2, 0, 2};
static const int64_t spec_dims[5][4] = {{8, 3, 3, 3}, {8}, {16, 8}, {0}, {16, 8}};

static void test_roundtrip(const char *path) {
    lqf_ckpt *c = NULL;
    CHECK(lqf_ckpt_create(&c) == LQF_OK);
    float *vals[5];
    for (int k = 0; k < 5; k++) {
        int64_t n = 1;
        for (int d = 0; d < spec_ndim[k]; d++) n *= spec_dims[k][d];
        vals[k] = malloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) vals[k][i] = (float)(sin(0.37 * (double)i + k) * (k + 1));
        /* the graph-parameter case borrows the buffer (copy 0), the others copy */
        CHECK(lqf_ckpt_add(c, spec_names[k], spec_ndim[k], spec_dims[k], vals[k], k % 2) == LQF_OK);
    }
    CHECK(lqf_ckpt_add(c, "fc.weight", 1, (int64_t[]){1}, vals[0], 1) == LQF_ERR_ARG);     /* duplicate */
    CHECK(lqf_ckpt_add(c, "__metadata__", 1, (int64_t[]){1}, vals[0], 1) == LQF_ERR_ARG);  /* reserved */
    lqf_ckpt_info in;
    lqf_ckpt_info_default(&in);
    snprintf(in.arch, sizeof in.arch, "iresnet18");
    snprintf(in.shortcut, sizeof in.shortcut, "adaface");
    snprintf(in.head, sizeof in.head, "adaface");
    in.order = LQF_BGR;
    in.mean[0] = 127.5f, in.mean[1] = 127.5f, in.mean[2] = 127.5f;
    in.std[0] = in.std[1] = in.std[2] = 127.5f;
    in.embedding_size = 512;
    in.step = 123456789012LL;
    in.epoch = 7;
    CHECK(lqf_ckpt_set_info(c, &in) == LQF_OK);
    CHECK(lqf_ckpt_set_meta(c, "note", "tab\there, \"quotes\", \\ and unicod\xc3\xa9") == LQF_OK);
    /* a stale temporary from an interrupted run does not matter */
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *st = fopen(tmp, "wb");
    if (st) fputs("half a checkpoint", st), fclose(st);
    CHECK(lqf_ckpt_save(c, path) == LQF_OK);
    struct stat sb;
    CHECK(stat(tmp, &sb) != 0); /* renamed away */
    lqf_ckpt *r = NULL;
    if (CHECK(lqf_ckpt_load(path, &r) == LQF_OK)) {
        int same = lqf_ckpt_count(r) == 5;
        for (int k = 0; k < 5; k++) {
            const lqf_ckpt_tensor *t = NULL;
            same &= lqf_ckpt_get(r, spec_names[k], spec_ndim[k], spec_dims[k], &t) == LQF_OK &&
                    !memcmp(t->data, vals[k], sizeof(float) * (size_t)t->numel);
        }
        lqf_ckpt_info out;
        CHECK(lqf_ckpt_get_info(r, &out) == LQF_OK);
        same &= out.format_version == LQF_CKPT_VERSION && !strcmp(out.arch, "iresnet18") &&
                !strcmp(out.shortcut, "adaface") && !strcmp(out.head, "adaface") && out.order == LQF_BGR &&
                out.mean[1] == 127.5f && out.std[2] == 127.5f && out.input_w == 112 && out.input_h == 112 &&
                out.embedding_size == 512 && out.step == 123456789012LL && out.epoch == 7;
        same &= !strcmp(lqf_ckpt_get_meta(r, "note"), "tab\there, \"quotes\", \\ and unicod\xc3\xa9");
        printf("lqface round trip: 5 tensors bit-identical and the self-description (arch, shortcut, BGR, "
               "normalisation, size, head, step, epoch) restored: %s\n",
               same ? "yes" : "no");
        CHECK(same);
        /* a newer format version is refused with a hint */
        CHECK(lqf_ckpt_set_meta(r, "format_version", "2") == LQF_OK);
        CHECK(lqf_ckpt_get_info(r, &out) == LQF_ERR_FORMAT && strstr(lqf_last_error(), "newer"));
        printf("newer version: %s\n", lqf_last_error());
    }
    lqf_ckpt_free(r);
    /* a save that cannot complete (the target is a directory) leaves no temporary and
     * the directory untouched */
    char dir[] = "/tmp/lqf_ckpt_XXXXXX";
    if (CHECK(mkdtemp(dir) != NULL)) {
        CHECK(lqf_ckpt_save(c, dir) == LQF_ERR_IO);
        printf("save onto a directory: %s\n", lqf_last_error());
        snprintf(tmp, sizeof tmp, "%s.tmp", dir);
        CHECK(stat(tmp, &sb) != 0 && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
        rmdir(dir);
    }
    CHECK(lqf_ckpt_save(c, "/nonexistent-dir/x.safetensors") == LQF_ERR_IO);
    lqf_ckpt_free(c);
    for (int k = 0; k < 5; k++) free(vals[k]);
}

static void test_bad_files(const char *own) {
    FILE *f = fopen(tu_testdata("checkpoint/bad.txt"), "r");
    if (!CHECK(f != NULL)) return;
    char fname[256], status[32], frag[256];
    int n = 0, ok = 0;
    while (fscanf(f, "%255s %31s %255[^\n]", fname, status, frag) == 3) {
        char rel[300];
        snprintf(rel, sizeof rel, "checkpoint/%s", fname);
        lqf_ckpt *c = NULL;
        lqf_status st = lqf_ckpt_load(tu_testdata(rel), &c);
        lqf_status want = !strcmp(status, "UNSUPPORTED") ? LQF_ERR_UNSUPPORTED : LQF_ERR_FORMAT;
        int good = st == want && c == NULL && strstr(lqf_last_error(), frag) && strstr(lqf_last_error(), fname);
        printf("%-28s %s: %s\n", fname, good ? "rejected" : "WRONG", lqf_last_error());
        CHECK(good);
        ok += good;
        n++;
    }
    fclose(f);
    CHECK(n == 13 && ok == n);
    /* every truncation of a real file and random header damage: an error or a valid file,
     * never a crash; truncations are always errors */
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!CHECK(lqf_read_file(own, &buf, &len) == LQF_OK)) return;
    int trunc_err = 0, trunc_n = 0;
    for (size_t cut = 0; cut < len; cut += (cut < 600 ? 1 : 97)) {
        lqf_ckpt *c = NULL;
        trunc_err += lqf_ckpt_parse(buf, cut, "truncated", &c) != LQF_OK;
        lqf_ckpt_free(c);
        trunc_n++;
    }
    uint64_t hl = 0;
    for (int k = 0; k < 8; k++) hl |= (uint64_t)buf[k] << (8 * k);
    uint8_t *dam = malloc(len);
    int dam_err = 0, dam_n = 2000;
    uint64_t s = 12345;
    for (int it = 0; it < dam_n; it++) {
        memcpy(dam, buf, len);
        for (int k = 0; k < 3; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t pos = (size_t)((s >> 33) % (8 + hl));
            dam[pos] = (uint8_t)(s >> 13);
        }
        lqf_ckpt *c = NULL;
        dam_err += lqf_ckpt_parse(dam, len, "damaged", &c) != LQF_OK;
        lqf_ckpt_free(c);
    }
    printf("damage sweep: %d/%d truncations rejected, %d/%d random header corruptions rejected (the rest still "
           "valid files), no crash\n",
           trunc_err, trunc_n, dam_err, dam_n);
    CHECK(trunc_err == trunc_n);
    CHECK(dam_err > dam_n / 2);
    free(dam);
    free(buf);
}

int main(void) {
    const char *own = "/tmp/lqface_written.safetensors";
    test_python_file();
    test_roundtrip(own);
    test_bad_files(own);
    printf("wrote %s (check with: /usr/bin/python3 tools/ref_checkpoint.py --check %s)\n", own, own);
    return tu_finish("test_checkpoint");
}
