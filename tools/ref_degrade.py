#!/usr/bin/env python3
"""Reference dumps for tests/test_degrade.c, made with OpenCV (Debian python3-opencv):
cv2.resize INTER_AREA down to r x r then INTER_LINEAR back to 112 x 112 (the resolution
sweep, incl. QGFace's non-integer 12/20 px) and cv2.GaussianBlur with ksize (0,0)
(OpenCV's 8-bit kernel-size rule), on the central 112x112 crops of two real LFW photos.
Writes tests/data/degrade/{inputs,outputs}.u8 and conditions.txt.
Usage: /usr/bin/python3 tools/ref_degrade.py [SHARED]"""
import os
import sys

import cv2
import numpy as np

shared = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LQFACE_SHARED", "../shared")
root = os.path.join(shared, "data/lfw/lfw-deepfunneled")
out = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "degrade")
os.makedirs(out, exist_ok=True)
photos = ["Aaron_Eckhart/Aaron_Eckhart_0001.jpg", "Zico/Zico_0001.jpg"]
crops = []
for p in photos:
    im = cv2.imread(os.path.join(root, p), cv2.IMREAD_COLOR)[:, :, ::-1]  # RGB
    crops.append(np.ascontiguousarray(im[69:181, 69:181]))
conds = [("res", r) for r in (7, 12, 14, 20, 28, 56)] + [("blur", s) for s in (1.0, 2.5)]
outs = []
for c in crops:
    for kind, v in conds:
        if kind == "res":
            small = cv2.resize(c, (v, v), interpolation=cv2.INTER_AREA)
            outs.append(cv2.resize(small, (112, 112), interpolation=cv2.INTER_LINEAR))
        else:
            outs.append(cv2.GaussianBlur(c, (0, 0), v))
np.stack(crops).tofile(os.path.join(out, "inputs.u8"))
np.stack(outs).tofile(os.path.join(out, "outputs.u8"))
with open(os.path.join(out, "conditions.txt"), "w") as f:
    for kind, v in conds:
        f.write(f"{kind} {v}\n")
print("wrote", len(crops), "inputs x", len(conds), "conditions")
