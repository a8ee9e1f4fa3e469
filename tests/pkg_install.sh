#!/bin/bash
# pkg_install.sh — lqface as an installed package: `cmake --install` into a temporary prefix
# (tool, static and shared library with its soname, header, lqface.pc, default models, Python
# module); the shared library exports exactly the public API; a small C program built with
# `pkg-config --cflags --libs lqface` embeds a face, and the installed `lqface embed` run from
# a folder outside the repository (no LQFACE_SHARED, no LQFACE_MODELS) gives the same
# embedding, as do the program linked statically and the installed Python module; the
# models are found relative to the installation, also after it is moved.
set -u
BUILD=${LQFACE_BUILD:?}
SRC=${LQFACE_SOURCE:?}
SHARED=${LQFACE_SHARED:?}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
check() { # check NAME STATUS [DETAIL]
    if [ "$2" -eq 0 ]; then echo "ok   $1${3:+  ($3)}"; else echo "FAIL $1${3:+  ($3)}"; fails=$((fails + 1)); fi
}

P=$TMP/prefix
cmake --install "$BUILD" --prefix "$P" > "$TMP/install.log" 2>&1
check "cmake --install into a temporary prefix" $? "$(wc -l < "$TMP/install.log") lines"
PC=$(find "$P" -name lqface.pc)
export PKG_CONFIG_PATH=$(dirname "$PC")
LIBDIR=$(realpath "$(pkg-config --variable=libdir lqface)")
MODELS=$(realpath "$(pkg-config --variable=modelsdir lqface)")
VERSION=$(sed -n 's/^#define LQF_VERSION "\(.*\)"/\1/p' "$SRC/include/lqface.h")
[ "$(pkg-config --modversion lqface)" = "$VERSION" ]
check "lqface.pc: version $VERSION" $?
[ -x "$P/bin/lqface" ] && [ -f "$P/include/lqface.h" ] && [ -f "$LIBDIR/liblqface.a" ] && [ -L "$LIBDIR/liblqface.so" ] &&
    [ -f "$MODELS/mobilefacenet_fr512.onnx" ] && [ -f "$MODELS/yunet_n_640_640.onnx" ]
check "installed: bin/lqface, include/lqface.h, liblqface.a, liblqface.so, the default models" $?
SONAME=$(readelf -d "$LIBDIR/liblqface.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ -n "$SONAME" ] && [ -f "$LIBDIR/$SONAME" ] && [[ "$(readlink -f "$LIBDIR/liblqface.so")" == *"liblqface.so.$VERSION" ]]
check "versioned soname beside the real file" $? "$SONAME -> $(basename "$(readlink -f "$LIBDIR/liblqface.so")")"

# exported symbols = the functions and data the public header declares LQF_API
grep -o 'LQF_API[^;]*' "$P/include/lqface.h" | tr -s ' \n' ' ' | grep -o 'lqf_[a-z0-9_]*[ ]*[([]' |
    sed 's/[ ([]//g' | sort -u > "$TMP/api.txt"
nm -D --defined-only "$LIBDIR/$SONAME" | awk '{print $3}' | sort -u > "$TMP/exported.txt"
diff "$TMP/api.txt" "$TMP/exported.txt" > "$TMP/api.diff"
check "the shared library exports exactly the public API" $? "$(wc -l < "$TMP/api.txt") symbols; $(tr '\n' ' ' < "$TMP/api.diff")"

# a user's program: find the shipped models, detect, align, embed one photo
mkdir -p "$TMP/app" "$TMP/elsewhere"
cat > "$TMP/app/embed_one.c" <<'EOF'
#include <lqface.h>
#include <stdio.h>

static int fail(void) {
    fprintf(stderr, "embed_one: %s\n", lqf_last_error());
    return 1;
}

int main(int argc, char **argv) {
    char det_path[4096], emb_path[4096];
    if (argc != 2) return 2;
    if (lqf_model_find(LQF_DEFAULT_DETECTOR, det_path, sizeof det_path) ||
        lqf_model_find(LQF_DEFAULT_EMBEDDER, emb_path, sizeof emb_path))
        return fail();
    lqf_detector *det;
    lqf_embedder *emb;
    lqf_image *crop;
    if (lqf_detector_load(det_path, NULL, &det) || lqf_embedder_load(emb_path, NULL, &emb)) return fail();
    if (lqf_load_aligned_face(det, argv[1], LQF_PICK_CENTER, 112, LQF_RGB, &crop, NULL)) return fail();
    float e[512], q;
    if (lqf_embedder_dim(emb) != 512 || lqf_embedder_embed(emb, (const lqf_image *const *)&crop, 1, e, &q))
        return fail();
    fprintf(stderr, "model: %s\n", emb_path);
    for (int i = 0; i < 512; i++) printf("%s%.7g", i ? "," : "", e[i]);
    printf("\n");
    lqf_image_free(crop);
    lqf_embedder_free(emb);
    lqf_detector_free(det);
    return 0;
}
EOF
cc -std=c11 -Wall -Werror "$TMP/app/embed_one.c" $(pkg-config --cflags --libs lqface) -o "$TMP/app/embed_one" 2> "$TMP/cc.log"
check "a C program builds with pkg-config --cflags --libs lqface" $? "$(head -c 300 "$TMP/cc.log")"
readelf -d "$TMP/app/embed_one" | grep -q "NEEDED.*\[$SONAME\]"
check "it links the shared library by its soname" $?
cc -std=c11 "$TMP/app/embed_one.c" $(pkg-config --cflags lqface) -Wl,--as-needed "$LIBDIR/liblqface.a" \
    $(pkg-config --static --libs lqface) -o "$TMP/app/embed_static" 2> "$TMP/cc_static.log"
check "... and statically with the archive and pkg-config --static --libs" $? "$(head -c 300 "$TMP/cc_static.log")"
! readelf -d "$TMP/app/embed_static" | grep -q "liblqface"
check "the static build needs no liblqface.so" $?

cp "$SHARED/data/lfw/lfw-deepfunneled/Aaron_Peirsol/Aaron_Peirsol_0001.jpg" "$TMP/elsewhere/photo.jpg"
cd "$TMP/elsewhere" || exit 1
outside() { env -u LQFACE_SHARED -u LQFACE_MODELS "$@"; }
outside LD_LIBRARY_PATH="$LIBDIR" "$TMP/app/embed_one" photo.jpg > prog.txt 2> prog.err
check "the program embeds a face from a folder outside the repository" $? "$(tail -1 prog.err)"
grep -q "model: $MODELS/mobilefacenet_fr512.onnx" prog.err
check "... with the models found beside the installed library" $?
outside "$TMP/app/embed_static" photo.jpg > static.txt 2> static.err
cmp -s prog.txt static.txt
check "the static program gives the same embedding" $? "$(tail -1 static.err)"
outside "$P/bin/lqface" embed photo.jpg > cli.json 2> cli.err
check "the installed lqface embed runs outside the repository" $? "$(tail -1 cli.err)"
sed -n 's/.*"embedding":\[\([^]]*\)\].*/\1/p' cli.json > cli.txt
[ "$(wc -c < cli.txt)" -gt 1000 ] && cmp -s prog.txt cli.txt
check "the program's embedding equals lqface embed's (512 values printed %.7g)" $?
outside PYTHONPATH="$(dirname "$(find "$P" -name _paths.py)")/.." /usr/bin/python3 -c '
import lqface
d, e = lqface.Detector(), lqface.Embedder()
crop, face = lqface.load_aligned_face("photo.jpg", d)
v, q = e.embed([crop])
print(",".join("%.7g" % x for x in v[0]))
print(lqface._lib._library_path(), e.model)' > py.txt 2> py.err
check "the installed Python module runs" $? "$(tail -1 py.err)"
head -1 py.txt | cmp -s - cli.txt
check "its embedding equals lqface embed's" $?
[ "$(tail -1 py.txt)" = "$LIBDIR/$SONAME $MODELS/mobilefacenet_fr512.onnx" ]
check "it loads the installed library and finds the installed model" $? "$(tail -1 py.txt)"

# the lookup follows a moved installation; LQFACE_MODELS, when set, is the only place
mv "$P" "$TMP/moved"
outside "$TMP/moved/bin/lqface" info > info.txt 2>&1
grep -q "^model: *$TMP/moved/share/lqface/models/mobilefacenet_fr512.onnx" info.txt
check "a moved installation finds its models" $? "$(head -1 info.txt)"
mkdir -p empty
out=$(LQFACE_MODELS=$PWD/empty "$TMP/moved/bin/lqface" embed photo.jpg 2>&1)
rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"mobilefacenet_fr512.onnx: model not found (looked in $PWD/empty = \$LQFACE_MODELS)"* ]]
check "LQFACE_MODELS without the model: exit 1 naming the model and the folder" $? "$out"

echo "pkg_install: $fails failed"
[ $fails -eq 0 ]
