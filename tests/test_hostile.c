/*
 * test_hostile.c — issue 14's classes of hostile input, one hand-made minimal input each
 * (tests/fuzz/regress/, written with what must happen by tools/make_fuzz_seeds.py into
 * expected.txt), through the library's readers as the fuzz harnesses call them: images
 * whose header announces 16000 x 16000 pixels and no data, .bin packs that reference one
 * image 3000 times through the pickle memo or _codecs.encode one text 3000 times, RecordIO
 * counts and lengths beyond the file, a CFP index far beyond its file and a CFP split that
 * repeats one long path, safetensors files shorter than their header length (parsed from a
 * buffer of exactly the file's size, so a read past the end is an ASan error), and a
 * checkpoint whose config builds a network far over the allocation limit. Each must end with
 * the expected status and a message naming the input, under the allocation limit the line
 * gives (LQFACE_MAX_ALLOC), and without allocating what the input claims: the peak RSS may
 * grow by at most 32 MiB per input (the claims are 96 MB to 768 MB; 128 MiB under ASan, see
 * MAX_GROWTH_KB; each input runs in a child process so that none hides another's peak). Run
 * under ASan + UBSan by scripts/sanitize.sh.
 * `test_hostile onnx` (CTest test_onnx_hostile, DISABLED until the ONNX importer checks node
 * input counts against its operator table and bounds folded constants: CMake option
 * LQF_ONNX_HOSTILE) runs the ONNX classes instead: a Conv, an Add and a Gather missing an
 * input, constant folding that grows 4 bytes into 512 MB and then asks for 16 GiB, and an
 * initializer whose dims need 8 GiB with 4 bytes of data.
 */
#define _GNU_SOURCE /* fuzz_util.h: memfd_create, memmem */
#include "fuzz/fuzz_util.h"
#include "testutil.h"
#include "train/checkpoint.h"

#include <sys/resource.h>
#include <sys/wait.h>

/* What an input may add to the peak RSS: 32 MiB; under ASan, whose shadow of an allocation
 * that is made but never touched (a decoded image's pixels before its data arrives) is
 * touched, an eighth of the largest claim (768 MB) more. */
#if defined(__SANITIZE_ADDRESS__)
#define MAX_GROWTH_KB (128 * 1024)
#else
#define MAX_GROWTH_KB (32 * 1024)
#endif

static long peak_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static lqf_status status_of(const char *s) {
    static const char *names[] = {"OK", "ARG", "NOMEM", "IO", "FORMAT", "UNSUPPORTED", "SHAPE", "NOFACE", "NUMERIC"};
    for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
        if (!strcmp(s, names[i])) return (lqf_status)i;
    return (lqf_status)-1;
}

/* A .bin pack: pairs, the size of image 0, how many distinct image buffers it holds. */
static lqf_status read_bin(const char *path, char *facts, size_t cap) {
    lqf_bin_pack *b = NULL;
    lqf_status st = lqf_bin_load(path, &b);
    if (st) return st;
    int distinct = 0;
    for (int i = 0; i < b->n_images; i++) {
        int seen = 0;
        for (int k = 0; k < i && !seen; k++) seen = b->image[k] == b->image[i];
        distinct += !seen;
    }
    snprintf(facts, cap, "pairs=%d image_bytes=%zu distinct_images=%d", b->n_pairs, b->image_len[0], distinct);
    lqf_bin_free(b);
    return LQF_OK;
}

/* The checkpoint from a buffer of exactly its size, then (an lqface checkpoint) as a network. */
static lqf_status read_checkpoint(const char *path, const uint8_t *data, size_t len) {
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) return LQF_ERR_NOMEM;
    memcpy(exact, data, len);
    lqf_ckpt *c = NULL;
    lqf_status st = lqf_ckpt_parse(exact, len, path, &c);
    free(exact);
    lqf_ckpt_free(c);
    if (st) return st;
    lqf_net *net = NULL;
    st = lqf_net_load(path, &net);
    lqf_net_free(net);
    return st;
}

static void run_line(const char *regress, char *line, int onnx) {
    char *name = strtok(line, " "), *want = strtok(NULL, " "), *limit = strtok(NULL, " "), *rest = strtok(NULL, "");
    if (!CHECK(name && want && limit && rest)) return;
    if ((strncmp(name, "onnx/", 5) == 0) != onnx) return;
    char path[1200], target[32] = "";
    snprintf(path, sizeof path, "%s/%s", regress, name);
    sscanf(name, "%31[^/]", target);
    uint8_t *data = NULL;
    size_t len = 0;
    if (!CHECK(lqf_read_file(path, &data, &len) == LQF_OK)) return;
    setenv("LQFACE_MAX_ALLOC", limit, 1);
    lqf_clear_error();
    char facts[256] = "";
    long before = peak_kb();
    lqf_status st;
    if (!strcmp(target, "image")) {
        lqf_image *im = NULL;
        st = lqf_image_load(path, LQF_RGB, &im);
        lqf_image_free(im);
    } else if (!strcmp(target, "bin")) {
        st = read_bin(path, facts, sizeof facts);
    } else if (!strcmp(target, "recordio")) {
        st = lqf_rec_check(fuzz_rec_files(data, len), NULL);
    } else if (!strcmp(target, "pairs")) {
        lqf_pair_list *p = NULL;
        st = fuzz_pairs_load(data, len, &p);
        lqf_pair_list_free(p);
    } else if (!strcmp(target, "checkpoint")) {
        st = read_checkpoint(path, data, len);
    } else if (!strcmp(target, "onnx")) {
        lqf_net *net = NULL;
        st = lqf_net_load_onnx(path, &net);
        lqf_net_free(net);
    } else {
        st = (lqf_status)-1;
    }
    long grew = peak_kb() - before;
    const char *msg = lqf_last_error();
    int ok = st == status_of(want) && grew < MAX_GROWTH_KB;
    if (st == LQF_OK) ok &= !strcmp(facts, rest);
    else ok &= strstr(msg, rest) != NULL && (strstr(msg, name + strlen(target) + 1) || strstr(msg, "/tmp/lqf_fuzz_"));
    printf("%-38s %-6s (limit %s, peak RSS +%ld KiB): %s\n", name, lqf_status_string(st), limit, grew,
           st == LQF_OK ? facts : msg);
    if (!CHECK(ok)) printf("  wanted %s: %s\n", want, rest);
    free(data);
}

int main(int argc, char **argv) {
    int onnx = argc > 1 && !strcmp(argv[1], "onnx");
    const char *name = onnx ? "test_onnx_hostile" : "test_hostile";
    char regress[1024], file[1100];
    snprintf(regress, sizeof regress, "%s/../fuzz/regress", tu_testdata(""));
    snprintf(file, sizeof file, "%s/expected.txt", regress);
    FILE *f = fopen(file, "r");
    if (!CHECK(f != NULL)) return tu_finish(name);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        n += (strncmp(line, "onnx/", 5) == 0) == onnx;
        /* each input in a process of its own: the peak RSS is a lifetime peak, so one input's
         * allocation would hide the next one's */
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            run_line(regress, line, onnx);
            fflush(stdout);
            _exit(tu_failures ? 1 : 0);
        }
        int status = -1;
        waitpid(pid, &status, 0);
        CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    fclose(f);
    CHECK(n >= 5);
    return tu_finish(name);
}
