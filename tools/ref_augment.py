#!/usr/bin/env python3
"""Reference dumps for tests/test_augment.c (Debian /usr/bin/python3 with cv2 + numpy).

- resize.u8: AdaFace's low-resolution step with each of OpenCV's five interpolations
  (NEAREST, LINEAR, CUBIC, AREA, LANCZOS4 = cv2 codes 0..4) at two sides: for each
  (interp, side) the small image cv2.resize(face, (side, side)) followed by the enlarged one
  cv2.resize(small, (112, 112)), both with that interpolation; resize_mixed.u8: shrink and
  enlarge with different interpolations (AdaFace draws them independently).
- jitter.u8: torchvision ColorJitter's uint8 formulas (functional_tensor.py: _blend,
  rgb_to_grayscale), reimplemented in float32 numpy, at fixed factors, on a 56x56 patch.
- crop.txt: torchvision RandomResizedCrop.get_params with the torch draws replaced by given
  uniforms (randint(0, n) = floor(u*n)), incl. cases that fall back to the centre crop;
  crop.u8: AdaFace's paste of one crop onto a zero canvas.
- motion.f32 / motion.u8: the motion-blur kernel (an anti-aliased segment, numpy) and the
  face filtered with cv2.filter2D (reflect-101 border).
Input: the central 112x112 of one LFW photo (RGB), written as face.u8.
Usage: /usr/bin/python3 tools/ref_augment.py [SHARED]"""
import math
import os
import sys

import cv2
import numpy as np

shared = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LQFACE_SHARED", "../shared")
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "augment")
os.makedirs(out, exist_ok=True)
img = cv2.imread(os.path.join(shared, "data/lfw/lfw-deepfunneled/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"))
face = np.ascontiguousarray(img[69:181, 69:181, ::-1])  # RGB 112x112
face.tofile(os.path.join(out, "face.u8"))

# ---- resize: cv2 codes 0..4 = nearest, linear, cubic, area, lanczos4
SIDES = (25, 61)
blobs = []
for interp in range(5):
    for side in SIDES:
        small = cv2.resize(face, (side, side), interpolation=interp)
        big = cv2.resize(small, (112, 112), interpolation=interp)
        blobs += [small.ravel(), big.ravel()]
np.concatenate(blobs).tofile(os.path.join(out, "resize.u8"))
with open(os.path.join(out, "resize.txt"), "w") as f:
    f.write(" ".join(str(s) for s in SIDES) + "\n")
# AdaFace draws the shrinking and the enlarging interpolation independently
MIXED = [(0, 4, 37), (3, 2, 37), (4, 0, 50)]  # (down, up, side)
np.concatenate([cv2.resize(cv2.resize(face, (s, s), interpolation=d), (112, 112), interpolation=u).ravel()
                for d, u, s in MIXED]).tofile(os.path.join(out, "resize_mixed.u8"))
with open(os.path.join(out, "resize_mixed.txt"), "w") as f:
    for d, u, s in MIXED:
        f.write(f"{d} {u} {s}\n")

# ---- colour jitter (torchvision functional_tensor on uint8, float32 arithmetic)
patch = np.ascontiguousarray(face[28:84, 28:84])


def grey(x):  # rgb_to_grayscale: (0.2989 r + 0.587 g + 0.114 b).to(uint8)
    x = x.astype(np.float32)
    g = np.float32(0.2989) * x[..., 0] + np.float32(0.587) * x[..., 1] + np.float32(0.114) * x[..., 2]
    return g.astype(np.uint8)


def blend(a, b, r):  # (r*a + (1-r)*b).clamp(0, 255).to(uint8)
    r = np.float32(r)
    v = r * a.astype(np.float32) + (np.float32(1) - r) * np.asarray(b, np.float32)
    return np.clip(v, 0, 255).astype(np.uint8)


def brightness(x, f):
    return blend(x, np.zeros_like(x), f)


def contrast(x, f):
    return blend(x, np.float32(grey(x).astype(np.float32).mean(dtype=np.float64)), f)


def saturation(x, f):
    return blend(x, grey(x)[..., None], f)


JIT = [("brightness", 0.63), ("brightness", 1.41), ("contrast", 0.55), ("contrast", 1.37),
       ("saturation", 0.52), ("saturation", 1.46)]
fns = {"brightness": brightness, "contrast": contrast, "saturation": saturation}
np.concatenate([fns[k](patch, v).ravel() for k, v in JIT]).tofile(os.path.join(out, "jitter.u8"))
with open(os.path.join(out, "jitter.txt"), "w") as f:
    for k, v in JIT:
        f.write(f"{k} {v}\n")


# ---- RandomResizedCrop.get_params with explicit uniforms
def rrc(width, height, scale, ratio, u):
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for t in range(10):
        v = u[4 * t:4 * t + 4]
        target_area = area * (scale[0] + v[0] * (scale[1] - scale[0]))
        aspect_ratio = math.exp(log_ratio[0] + v[1] * (log_ratio[1] - log_ratio[0]))
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            i = int(math.floor(v[2] * (height - h + 1)))
            j = int(math.floor(v[3] * (width - w + 1)))
            return i, j, h, w
    in_ratio = float(width) / float(height)
    if in_ratio < min(ratio):
        w = width
        h = int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        h = height
        w = int(round(h * max(ratio)))
    else:
        w = width
        h = height
    return (height - h) // 2, (width - w) // 2, h, w


rng = np.random.default_rng(20261122)
cases = []
for k in range(60):
    W, H = [(112, 112), (92, 112), (112, 96)][k % 3]
    scale, ratio = (0.2, 1.0), (3 / 4, 4 / 3)
    if k >= 50:  # impossible areas: every try fails -> centre-crop fallback (three ratio cases)
        W, H = [(112, 112), (40, 112), (112, 40)][k % 3]
        scale = (1.5, 2.0)
    u = rng.random(40)
    cases.append((W, H, scale, ratio, u, rrc(W, H, scale, ratio, list(u))))
with open(os.path.join(out, "crop.txt"), "w") as f:
    for W, H, scale, ratio, u, p in cases:
        f.write(f"{W} {H} {scale[0]!r} {scale[1]!r} {ratio[0]!r} {ratio[1]!r} " +
                " ".join(repr(float(x)) for x in u) + " " + " ".join(str(x) for x in p) + "\n")
i, j, h, w = cases[0][5]
new = np.zeros_like(face)
new[i:i + h, j:j + w, :] = face[i:i + h, j:j + w, :]
new.tofile(os.path.join(out, "crop.u8"))


# ---- motion blur: kernel(p) = max(0, 1 - dist(p, segment of length len-1 at angle)), sum 1
def motion_kernel(n, angle):
    c = n // 2
    th = math.radians(angle)
    d = np.array([math.cos(th), math.sin(th)])
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float64)
    p = np.stack([xs - c, ys - c], -1)
    t = np.clip(p @ d, -(n - 1) / 2, (n - 1) / 2)
    dist = np.linalg.norm(p - t[..., None] * d, axis=-1)
    k = np.maximum(0.0, 1.0 - dist)
    return (k / k.sum()).astype(np.float32)


MOTION = [(5, 0.0), (9, 33.0), (11, 117.5)]
kers, outs = [], []
for n, a in MOTION:
    k = motion_kernel(n, a)
    kers.append(k.ravel())
    outs.append(cv2.filter2D(face, -1, k, borderType=cv2.BORDER_REFLECT_101).ravel())
np.concatenate(kers).tofile(os.path.join(out, "motion.f32"))
np.concatenate(outs).tofile(os.path.join(out, "motion.u8"))
with open(os.path.join(out, "motion.txt"), "w") as f:
    for n, a in MOTION:
        f.write(f"{n} {a}\n")
print("wrote", out)
