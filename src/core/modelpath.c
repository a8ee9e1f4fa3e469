/*
 * modelpath.c — where the shipped models are (lqf_model_find): $LQFACE_MODELS when set,
 * else $LQFACE_SHARED/models, the installation's share/lqface/models found relative to the
 * file that holds this code (liblqface.so in <prefix>/lib, or a program linked with the
 * static library in <prefix>/bin), and last the build tree's shared models. The relative
 * paths and the build tree's folder are fixed when the library is configured
 * (CMakeLists.txt); without them only the environment is searched.
 */
#define _GNU_SOURCE
#include "core/core.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIRS 6

typedef struct {
    char dir[MAX_DIRS][PATH_MAX];
    int n;
} dir_list;

/* a/b (b may be NULL) unless already listed, as realpath writes it when the folder exists
 * ("lib/../share" -> "share"), else as given. */
static void add_dir(dir_list *l, const char *a, const char *b) {
    if (l->n == MAX_DIRS || !a || !*a) return;
    char *d = l->dir[l->n], tmp[PATH_MAX];
    int w = snprintf(d, PATH_MAX, "%s%s%s", a, b ? "/" : "", b ? b : "");
    if (w <= 0 || w >= PATH_MAX) return;
    if (realpath(d, tmp)) memcpy(d, tmp, strlen(tmp) + 1);
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->dir[i], d)) return;
    l->n++;
}

#if defined(LQF_MODELS_FROM_BIN) && defined(LQF_MODELS_FROM_LIB)
/* The folder of file path (resolved), or "" when it cannot be resolved. */
static void dir_of(const char *path, char dir[PATH_MAX]) {
    dir[0] = 0;
    if (!path || !realpath(path, dir)) return;
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
}

/* <folder of the object holding this code, then of the program>/<relative path to the
 * installed models>, for each installed place the object can be (bin, lib). */
static void add_install_dirs(dir_list *l) {
    char where[2][PATH_MAX];
    Dl_info info;
    dir_of(dladdr((void *)lqf_model_find, &info) && strchr(info.dli_fname, '/') ? info.dli_fname : NULL, where[0]);
    dir_of("/proc/self/exe", where[1]);
    for (int k = 0; k < 2; k++) {
        if (!where[k][0] || (k == 1 && !strcmp(where[0], where[1]))) continue;
        add_dir(l, where[k], k == 0 ? LQF_MODELS_FROM_LIB : LQF_MODELS_FROM_BIN);
        add_dir(l, where[k], k == 0 ? LQF_MODELS_FROM_BIN : LQF_MODELS_FROM_LIB);
    }
}
#else
static void add_install_dirs(dir_list *l) { (void)l; }
#endif

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

lqf_status lqf_model_find(const char *name, char *path, size_t cap) {
    if (!name || !*name || !path || !cap) return lqf_fail(LQF_ERR_ARG, "lqf_model_find: bad argument");
    dir_list l = {.n = 0};
    const char *models = getenv("LQFACE_MODELS"), *shared = getenv("LQFACE_SHARED");
    if (models && *models) {
        add_dir(&l, models, NULL);
    } else {
        add_dir(&l, shared, "models");
        add_install_dirs(&l);
#ifdef LQF_BUILD_MODELS_DIR
        add_dir(&l, LQF_BUILD_MODELS_DIR, NULL);
#endif
    }
    char tried[2048] = "";
    for (int i = 0; i < l.n; i++) {
        char full[PATH_MAX];
        int w = snprintf(full, sizeof full, "%s/%s", l.dir[i], name);
        if (w < 0 || w >= (int)sizeof full) continue;
        if (is_file(full)) {
            if ((size_t)w >= cap) return lqf_fail(LQF_ERR_ARG, "%s: path longer than %zu bytes", full, cap - 1);
            memcpy(path, full, (size_t)w + 1);
            return LQF_OK;
        }
        size_t t = strlen(tried);
        snprintf(tried + t, sizeof tried - t, "%s%s", i ? ", " : "", l.dir[i]);
    }
    return lqf_fail(LQF_ERR_IO, "%s: model not found (looked in %s%s)", name, l.n ? tried : "no folder",
                    models && *models ? " = $LQFACE_MODELS" : "; set LQFACE_MODELS or give the model's path");
}
