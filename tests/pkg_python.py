#!/usr/bin/python3
"""pkg_python.py — the Python module (python/lqface over liblqface.so) against the command
line's outputs on real LFW photos: `lqface embed` (embeddings and quality), `lqface detect`
(boxes, scores, landmarks), `lqface align --all` (every detected face aligned), `lqface
compare --json` (flip-fused cosine); the contract resolution and its sources; errors that
name the file. Run by CTest with Debian's /usr/bin/python3 + numpy, PYTHONPATH = the build
tree's python/ (its _paths.py names the build's liblqface.so).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import lqface

BIN = os.environ["LQFACE_BIN"]
LFW = os.path.join(os.environ.get("LQFACE_SHARED", "../shared"), "data/lfw/lfw-deepfunneled")
IDS = ["Aaron_Peirsol", "Abdullah_Gul", "Adrien_Brody", "Alejandro_Toledo"]
PHOTOS = [os.path.join(LFW, i, "%s_%04d.jpg" % (i, k)) for i in IDS for k in (1, 2)]

failed = 0


def check(name, ok, detail=""):
    global failed
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, ("  (" + detail + ")") if detail else ""))
    failed += 0 if ok else 1


def cli(*args):
    r = subprocess.run([BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stdout, r.stderr


tmp = tempfile.mkdtemp()
det = lqface.Detector()
emb = lqface.Embedder()
check("the default models are found", det.model.endswith(lqface.DEFAULT_DETECTOR)
      and emb.model.endswith(lqface.DEFAULT_EMBEDDER), emb.model)
check("embedding size 512", emb.dim == 512)

# ---- embed: the library's one-face pipeline from Python equals `lqface embed -o`
rc, _, err = cli("embed", *PHOTOS, "-o", os.path.join(tmp, "cli"))
check("lqface embed exits 0", rc == 0, err.strip().splitlines()[-1] if err else "")
E_cli = np.fromfile(os.path.join(tmp, "cli.f32"), np.float32).reshape(len(PHOTOS), -1)
rows = [l.split("\t") for l in open(os.path.join(tmp, "cli.tsv")).read().splitlines()[1:]]
crops, faces = zip(*[lqface.load_aligned_face(p, det) for p in PHOTOS])
E_py, q_py = emb.embed(list(crops))
d = float(np.abs(E_py - E_cli).max())
check("Python embeddings equal the CLI's", d <= 1e-6, "max |diff| %.3g over %d x %d" % (d, *E_py.shape))
dq = max(abs(float(r[2]) - q) for r, q in zip(rows, q_py))
check("quality equals the CLI's (5 decimals)", dq <= 5e-6, "max |diff| %.3g" % dq)
ds = max(abs(float(r[3]) - f.score) for r, f in zip(rows, faces))
check("detection score equals the CLI's (5 decimals)", ds <= 5e-6, "max |diff| %.3g" % ds)
E_batch, _ = emb.embed(np.stack(crops))
check("an (n, S, S, 3) array embeds as the list", np.array_equal(E_batch, E_py))
E_bgr, _ = emb.embed([c[:, :, ::-1] for c in crops], order="bgr")
check("BGR crops with order='bgr' give the same embeddings", np.abs(E_bgr - E_py).max() <= 1e-6)

# ---- detect and align: every face of `lqface detect` and `lqface align --all`
rc, out, err = cli("detect", *PHOTOS)
check("lqface detect exits 0", rc == 0, err.strip())
cli_det = [json.loads(l) for l in out.splitlines()]
rc, _, err = cli("align", "--all", *PHOTOS, "-o", os.path.join(tmp, "al"))
check("lqface align --all exits 0", rc == 0, err.strip())
worst_box = worst_score = worst_lm = 0.0
n_faces = n_same_crop = 0
for p, rec in zip(PHOTOS, cli_det):
    img = lqface.load_image(p)
    got = det.detect(img)
    if len(got) != len(rec["faces"]):
        check("%s: face count" % os.path.basename(p), False, "%d vs %d" % (len(got), len(rec["faces"])))
        continue
    stem = os.path.splitext(os.path.basename(p))[0]
    for k, (f, g) in enumerate(zip(got, rec["faces"])):
        worst_box = max(worst_box, np.abs(np.array(f.box) - g["box"]).max())
        worst_score = max(worst_score, abs(f.score - g["score"]))
        worst_lm = max(worst_lm, np.abs(f.landmarks.ravel() - g["landmarks"]).max())
        crop = lqface.align(img, f.landmarks)
        ref = lqface.load_image(os.path.join(tmp, "al", "%s_%d.png" % (stem, k)))
        n_faces += 1
        n_same_crop += int(np.array_equal(crop, ref))
check("boxes equal the CLI's (2 decimals)", worst_box <= 0.005 + 1e-4, "max |diff| %.3g px" % worst_box)
check("scores equal the CLI's (5 decimals)", worst_score <= 5e-6 + 1e-7, "max |diff| %.3g" % worst_score)
check("landmarks equal the CLI's (2 decimals)", worst_lm <= 0.005 + 1e-4, "max |diff| %.3g px" % worst_lm)
check("every aligned face equals lqface align --all's, byte for byte", n_same_crop == n_faces and n_faces >= len(PHOTOS),
      "%d of %d faces" % (n_same_crop, n_faces))
one = [i for i, r in enumerate(cli_det) if len(r["faces"]) == 1]
same = all(np.array_equal(lqface.align(lqface.load_image(PHOTOS[i]), faces[i].landmarks), crops[i]) for i in one)
check("detect + align = load_aligned_face on one-face photos", same and len(one) > 0, "%d photos" % len(one))

# ---- compare: flip-fused cosine as `lqface compare --json`
flip = lqface.Embedder(flip=True)
for a, b in ((0, 1), (0, 2)):
    rc, out, err = cli("compare", PHOTOS[a], PHOTOS[b], "--json")
    ref = json.loads(out)["cosine"]
    e, _ = flip.embed([crops[a], crops[b]])
    cs = lqface.compare(e[0], e[1])
    check("compare %s / %s = CLI's cosine" % (os.path.basename(PHOTOS[a]), os.path.basename(PHOTOS[b])),
          abs(cs - ref) <= 5e-7 + 1e-6, "%.6f vs %.6f" % (cs, ref))
check("same person scores above different people", lqface.compare(E_py[0], E_py[1]) > lqface.compare(E_py[0], E_py[2]))

# ---- contract resolution, as `lqface info` prints it
c = lqface.resolve_contract()
check("default contract", c["size"] == (112, 112) and c["order"] == "rgb" and c["mean"] == (127.5,) * 3
      and c["std"] == (128.0,) * 3 and set(c["source"].values()) == {"default"}, str(c))
c = lqface.resolve_contract(contract="bgr,std=58.395,57.12,57.375", mean=(1, 2, 3))
check("flags over the default, field by field",
      c["order"] == "bgr" and c["mean"] == (1.0, 2.0, 3.0) and abs(c["std"][1] - 57.12) < 1e-5
      and c["source"] == {"size": "default", "order": "flags", "mean": "flags", "std": "flags"}, str(c))
rc, out, _ = cli("info", "--json", "--bgr", "--mean", "1,2,3", "--contract", "std=58.395,57.12,57.375")
info = json.loads(out)["contract"]
check("lqface info prints the same contract", rc == 0 and info["order"] == "bgr" and info["source"] == c["source"]
      and np.allclose(info["mean"], c["mean"]) and np.allclose(info["std"], c["std"]), str(info))
e_bgr = lqface.Embedder(order="bgr")
check("an embedder told bgr reports it", e_bgr.contract["order"] == "bgr" and e_bgr.contract["source"]["order"] == "flags")

# ---- errors name the file and the problem
def raises(fn, needle):
    try:
        fn()
    except lqface.LqfaceError as e:
        return needle in str(e), str(e)
    return False, "no error"


ok, msg = raises(lambda: lqface.Embedder(os.path.join(tmp, "none.onnx")), os.path.join(tmp, "none.onnx") + ": cannot open")
check("missing model: LqfaceError naming it", ok, msg)
bad = os.path.join(tmp, "text.jpg")
open(bad, "w").write("not an image\n")
ok, msg = raises(lambda: lqface.load_image(bad), bad)
check("not an image: LqfaceError naming it", ok, msg)
ok, msg = raises(lambda: lqface.Embedder(contract="mean=1,2"), "mean '1,2'")
check("bad contract spec: LqfaceError naming the value", ok, msg)
ok, msg = raises(lambda: emb.embed([np.zeros((100, 100, 3), np.uint8)]), "100x100")
check("a face of the wrong size: LqfaceError with both sizes", ok, msg)
try:
    lqface.align(np.zeros((10, 10), np.float32), np.zeros(10))
    check("a float image is refused", False)
except ValueError as e:
    check("a float image is refused", True, str(e))

det.close()
det.close()  # closing twice is harmless
subprocess.run(["rm", "-rf", tmp])
print("pkg_python: %d failed" % failed)
sys.exit(1 if failed else 0)
