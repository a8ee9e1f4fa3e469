#!/usr/bin/python3
"""ref_detect.py — independent reference for lqface's face detection (tests/test_detect.c).

Runs the YuNet ONNX models with OpenCV's cv2.dnn on letterboxed BGR images (cv2.resize
INTER_LINEAR into the top-left corner of a zero SxS canvas), decodes the 12 outputs in numpy
exactly as /work/shared/README.md specifies (anchor = (col*stride, row*stride), centre =
reg[0:2]*stride + anchor, size = exp(reg[2:4])*stride, landmark = kps*stride + anchor,
score = sqrt(clip(cls)*clip(obj))), keeps scores >= threshold, and runs cv2.dnn.NMSBoxes
(float boxes, top_k). RetinaFace (retinaface_mnet025.onnx, input BGR minus (104,117,123) on
the same letterbox canvas) is decoded as biubug6/Pytorch_Retinaface does (priors min_sizes
[[16,32],[64,128],[256,512]], steps [8,16,32], variances [0.1,0.2]) with the same NMS.
Writes into tests/data/detect/:
  refs.txt          one record per case (letterbox, full pipeline, decode-only), see below
  lb_*.u8           letterbox sources (HxWx3 BGR bytes) and expected canvases (SxSx3 BGR)
  raw_*.f32         the 12 raw YuNet outputs (cls8,16,32, obj.., bbox.., kps..) of 3 images
  rraw_*.f32        RetinaFace outputs of 2 images, sparse: conf (P,2) in full, then for each
                    prior with face score >= 0.05 one row: index, loc (4), landm (10)
  small.png, bg.png small images stored in the repository (upscaling case, background crop)
Record formats (whitespace separated, faces follow on n lines of 15 numbers
x1 y1 x2 y2 score l0..l9 in original image pixels):
  lb  SRC W H S REF SCALE
  det MODEL S SOURCE SCALE N      SOURCE: lfw:REL | cat:REL,REL[,REL] | file:REL | grey:W:H:V
  dec RAW S SCORE_THR NMS_THR TOP_K SCALE N
  rdec RAW S SCORE_THR NMS_THR TOP_K SCALE N
Usage: /usr/bin/python3 tools/ref_detect.py   (from the repository root; LQFACE_SHARED overrides
../shared)
"""
import glob
import os
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("LQFACE_SHARED", os.path.join(ROOT, "..", "shared"))
LFW = os.path.join(SHARED, "data", "lfw", "lfw-deepfunneled")
OUT = os.path.join(ROOT, "tests", "data", "detect")
OUT_NAMES = ["cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32",
             "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32"]
STRIDES = [8, 16, 32]


def letterbox(img, S):
    """BGR uint8 HxWx3 -> (SxSx3 uint8 canvas, scale); resized image in the top-left corner."""
    h, w = img.shape[:2]
    scale = min(S / w, S / h)
    nw = min(S, max(1, int(w * scale + 0.5)))
    nh = min(S, max(1, int(h * scale + 0.5)))
    canvas = np.zeros((S, S, 3), np.uint8)
    canvas[:nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return canvas, scale


_nets = {}


def run_yunet(model, canvas):
    if model not in _nets:
        _nets[model] = cv2.dnn.readNetFromONNX(os.path.join(SHARED, "models", model))
    net = _nets[model]
    blob = cv2.dnn.blobFromImage(canvas)  # 1x3xSxS float32, BGR, no scaling, no mean
    net.setInput(blob)
    outs = net.forward(OUT_NAMES)
    return [np.ascontiguousarray(o, dtype=np.float32).reshape(-1) for o in outs]


def decode(outs, S, score_thr, nms_thr, top_k, scale):
    """numpy decode + cv2.dnn.NMSBoxes; returns (n,15) float32 in original image pixels."""
    boxes, scores, kpss = [], [], []
    for i, s in enumerate(STRIDES):
        cols = S // s
        n = cols * cols
        cls = np.clip(outs[i].reshape(n), 0, 1)
        obj = np.clip(outs[3 + i].reshape(n), 0, 1)
        reg = outs[6 + i].reshape(n, 4)
        kps = outs[9 + i].reshape(n, 10)
        idx = np.arange(n)
        ax = ((idx % cols) * s).astype(np.float32)
        ay = ((idx // cols) * s).astype(np.float32)
        cx = reg[:, 0] * np.float32(s) + ax
        cy = reg[:, 1] * np.float32(s) + ay
        bw = np.exp(reg[:, 2]) * np.float32(s)
        bh = np.exp(reg[:, 3]) * np.float32(s)
        x1 = cx - bw / np.float32(2)
        y1 = cy - bh / np.float32(2)
        boxes.append(np.stack([x1, y1, bw, bh], 1))
        lm = kps * np.float32(s)
        lm[:, 0::2] += ax[:, None]
        lm[:, 1::2] += ay[:, None]
        kpss.append(lm)
        scores.append(np.sqrt(cls * obj))
    boxes = np.concatenate(boxes).astype(np.float32)
    scores = np.concatenate(scores).astype(np.float32)
    kpss = np.concatenate(kpss).astype(np.float32)
    keep = np.nonzero(scores >= score_thr)[0]
    res = np.zeros((0, 15), np.float32)
    if len(keep):
        # NMSBoxes keeps score > its threshold, sorts (stable) by score, cuts to top_k, greedy IoU.
        sel = cv2.dnn.NMSBoxes(boxes[keep].astype(np.float64), scores[keep], 0.0, nms_thr,
                               top_k=top_k)
        sel = keep[np.array(sel, dtype=np.int64).reshape(-1)]
        b = boxes[sel]
        res = np.concatenate([
            np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], 1) / np.float32(scale),
            scores[sel][:, None],
            kpss[sel] / np.float32(scale)], 1).astype(np.float32)
    return res


RETINA_MEAN = (104.0, 117.0, 123.0)


def run_retina(canvas):
    m = "retinaface_mnet025.onnx"
    if m not in _nets:
        _nets[m] = cv2.dnn.readNetFromONNX(os.path.join(SHARED, "models", m))
    net = _nets[m]
    net.setInput(cv2.dnn.blobFromImage(canvas, 1.0, None, RETINA_MEAN, False, False))
    loc, conf, landm = net.forward(["output0", "572", "571"])
    return [np.ascontiguousarray(o, dtype=np.float32).reshape(o.shape[1], o.shape[2]) for o in (loc, conf, landm)]


def retina_priors(S):
    """biubug6 PriorBox: (cx, cy, s_kx, s_ky) over feature maps ceil(S/step), float32."""
    anchors = []
    for step, sizes in zip([8, 16, 32], [[16, 32], [64, 128], [256, 512]]):
        f = int(np.ceil(S / step))
        for i in range(f):
            for j in range(f):
                for ms in sizes:
                    anchors += [(j + 0.5) * step / S, (i + 0.5) * step / S, ms / S, ms / S]
    return np.array(anchors, np.float64).astype(np.float32).reshape(-1, 4)


def retina_decode(loc, conf, landm, S, score_thr, nms_thr, top_k, scale):
    pr = retina_priors(S)
    v0, v1 = np.float32(0.1), np.float32(0.2)
    c = pr[:, :2] + loc[:, :2] * v0 * pr[:, 2:]
    wh = pr[:, 2:] * np.exp(loc[:, 2:] * v1)
    xy1 = c - wh / np.float32(2)
    xy2 = wh + xy1
    fS = np.float32(S)
    bx = np.concatenate([xy1 * fS, xy2 * fS - xy1 * fS], 1)  # x, y, w, h in input pixels
    lm = np.concatenate([(pr[:, :2] + landm[:, 2 * q:2 * q + 2] * v0 * pr[:, 2:]) * fS for q in range(5)], 1)
    scores = conf[:, 1].astype(np.float32)
    keep = np.nonzero(scores >= score_thr)[0]
    res = np.zeros((0, 15), np.float32)
    if len(keep):
        sel = cv2.dnn.NMSBoxes(bx[keep].astype(np.float64), scores[keep], 0.0, nms_thr, top_k=top_k)
        sel = keep[np.array(sel, dtype=np.int64).reshape(-1)]
        b = bx[sel]
        res = np.concatenate([
            np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], 1) / np.float32(scale),
            scores[sel][:, None], lm[sel] / np.float32(scale)], 1).astype(np.float32)
    return res


def fmt_faces(f):
    return "".join(" ".join("%.9g" % v for v in row) + "\n" for row in f)


def main():
    os.makedirs(OUT, exist_ok=True)
    files = sorted(os.path.relpath(p, LFW) for p in glob.glob(os.path.join(LFW, "*", "*.jpg")))
    if len(files) != 13233:
        sys.exit("expected 13233 LFW files under %s, found %d" % (LFW, len(files)))
    picked = files[::250]  # fixed rule: every 250th file in sorted order (53 photos)
    lines = []
    thr, nms, topk = 0.6, 0.3, 5000

    def load(src):
        kind, arg = src.split(":", 1)
        if kind == "lfw":
            return cv2.imread(os.path.join(LFW, arg), cv2.IMREAD_COLOR)
        if kind == "cat":
            return np.hstack([cv2.imread(os.path.join(LFW, a), cv2.IMREAD_COLOR) for a in arg.split(",")])
        if kind == "file":
            return cv2.imread(os.path.join(ROOT, "tests", "data", arg), cv2.IMREAD_COLOR)
        if kind == "grey":
            w, h, v = (int(t) for t in arg.split(":"))
            return np.full((h, w, 3), v, np.uint8)
        raise ValueError(src)

    margins = []

    def det(model, S, src, expect=None):
        img = load(src)
        canvas, scale = letterbox(img, S)
        if model.startswith("retinaface"):
            outs = run_retina(canvas)
            faces = retina_decode(*outs, S, thr, nms, topk, scale)
            lo = retina_decode(*outs, S, thr - 0.05, nms, topk, scale)
        else:
            outs = run_yunet(model, canvas)
            faces = decode(outs, S, thr, nms, topk, scale)
            # candidates close to the score threshold make face counts fragile: report the margin
            lo = decode(outs, S, thr - 0.05, nms, topk, scale)
        margins.append(min([abs(v - thr) for v in lo[:, 4]] or [1.0]))
        if expect is not None and len(faces) != expect:
            sys.exit("%s: expected %d faces, reference found %d" % (src, expect, len(faces)))
        lines.append("det %s %d %s %.9g %d\n" % (model, S, src, scale, len(faces)))
        lines.append(fmt_faces(faces))
        return img, canvas, scale, outs, faces

    # Small images kept in the repository: an upscaling case and a background crop.
    a = cv2.imread(os.path.join(LFW, picked[3]))
    small = cv2.resize(a[40:220, 50:200], (75, 90), interpolation=cv2.INTER_AREA)
    cv2.imwrite(os.path.join(OUT, "small.png"), small)
    bg = np.ascontiguousarray(cv2.imread(os.path.join(LFW, picked[0]))[0:48, 0:64])
    cv2.imwrite(os.path.join(OUT, "bg.png"), bg)

    # --- letterbox: cv2.resize INTER_LINEAR placement, bit-exact canvases
    crop = np.ascontiguousarray(a[30:91, 70:167])  # 97x61 (w x h)
    sq = np.ascontiguousarray(a[100:164, 100:164])  # 64x64
    tall = np.ascontiguousarray(a[10:130, 95:145])  # 50x120
    srcs = {"lb_crop.u8": crop, "lb_sq.u8": sq, "lb_tall.u8": tall}
    for name, im in srcs.items():
        im.tofile(os.path.join(OUT, name))
    for name, S in [("lb_crop.u8", 160), ("lb_crop.u8", 48), ("lb_sq.u8", 32), ("lb_sq.u8", 96),
                    ("lb_tall.u8", 80), ("lb_tall.u8", 41)]:
        im = srcs[name]
        canvas, scale = letterbox(im, S)
        ref = "lb_%s_%d.u8" % (name[3:-3], S)
        canvas.tofile(os.path.join(OUT, ref))
        lines.append("lb %s %d %d %d %s %.9g\n" % (name, im.shape[1], im.shape[0], S, ref, scale))

    # --- decode-only: raw outputs of the 320 model for 3 images, at 2 thresholds and a small top_k
    raw_cases = [("raw_lfw0.f32", "lfw:" + picked[0]),
                 ("raw_cat2.f32", "cat:%s,%s" % (picked[10], picked[20])),
                 ("raw_small.f32", "file:detect/small.png")]
    for raw, src in raw_cases:
        canvas, scale = letterbox(load(src), 320)
        outs = run_yunet("yunet_n_320_320.onnx", canvas)
        np.concatenate(outs).astype("<f4").tofile(os.path.join(OUT, raw))
        for st, nt, tk in [(0.6, 0.3, 5000), (0.3, 0.3, 5000), (0.05, 0.45, 20), (0.05, 0.9, 40)]:
            f = decode(outs, 320, st, nt, tk, scale)
            lines.append("dec %s 320 %.9g %.9g %d %.9g %d\n" % (raw, st, nt, tk, scale, len(f)))
            lines.append(fmt_faces(f))

    # --- RetinaFace decode-only: sparse dumps (rows below score 0.05 never reach the decode)
    for raw, src in [("rraw_lfw0.f32", "lfw:" + picked[0]),
                     ("rraw_cat2.f32", "cat:%s,%s" % (picked[10], picked[20]))]:
        canvas, scale = letterbox(load(src), 640)
        loc, conf, landm = run_retina(canvas)
        rows = np.nonzero(conf[:, 1] >= 0.05)[0]
        sparse = np.concatenate([rows[:, None].astype(np.float32), loc[rows], landm[rows]], 1)
        np.concatenate([conf.reshape(-1), sparse.reshape(-1)]).astype("<f4").tofile(os.path.join(OUT, raw))
        lz, mz = np.zeros_like(loc), np.zeros_like(landm)
        lz[rows], mz[rows] = loc[rows], landm[rows]
        for st, nt, tk in [(0.6, 0.3, 5000), (0.05, 0.9, 40)]:
            f = retina_decode(lz, conf, mz, 640, st, nt, tk, scale)
            assert np.array_equal(f, retina_decode(loc, conf, landm, 640, st, nt, tk, scale))
            lines.append("rdec %s 640 %.9g %.9g %d %.9g %d\n" % (raw, st, nt, tk, scale, len(f)))
            lines.append(fmt_faces(f))

    # --- full pipeline: 53 LFW photos with YuNet-640, every 4th with YuNet-320 too, every 8th
    # with RetinaFace
    for i, rel in enumerate(picked):
        det("yunet_n_640_640.onnx", 640, "lfw:" + rel)
        if i % 4 == 0:
            det("yunet_n_320_320.onnx", 320, "lfw:" + rel)
        if i % 8 == 2:
            det("retinaface_mnet025.onnx", 640, "lfw:" + rel)
    cat2 = "cat:%s,%s" % (picked[10], picked[20])
    cat3 = "cat:%s,%s,%s" % (picked[5], picked[15], picked[25])
    for model, S in [("yunet_n_640_640.onnx", 640), ("yunet_n_320_320.onnx", 320),
                     ("retinaface_mnet025.onnx", 640)]:
        det(model, S, cat2, expect=2)
        det(model, S, cat3, expect=3)
        det(model, S, "file:detect/small.png", expect=1)
        det(model, S, "grey:200:150:128", expect=0)
        det(model, S, "file:detect/bg.png", expect=0)

    with open(os.path.join(OUT, "refs.txt"), "w") as f:
        f.writelines(lines)
    ndet = sum(1 for l in lines if l.startswith("det"))
    print("wrote %s: %d det cases, smallest |score - %.2f| among candidates: %.4f"
          % (OUT, ndet, thr, min(margins)))


if __name__ == "__main__":
    main()
