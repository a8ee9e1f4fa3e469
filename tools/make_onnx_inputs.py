#!/usr/bin/python3
"""make_onnx_inputs.py — real-photo inputs for the ONNX import parity test (tests/test_onnx.c).

Decodes LFW photos with OpenCV and writes small uint8 HWC images into tests/data/onnx/;
tools/ref_onnx.js turns them into each model's float input (the same exact arithmetic the C
test uses: x, x - mean, or (x - 127.5) / 128 are all exact in float32) and runs ONNX Runtime.
Storing bytes instead of float tensors keeps the dumps small.

  mfn_faces.u8      2 x 112x112x3 RGB   two LFW faces (centre crop 150x150 resized)
  yunet320.u8       250x250x3 BGR       one LFW photo, letterboxed top-left into 320x320
  grid400.u8        400x400x3 BGR       2x2 LFW photos at 200x200, top-left of 640x640
                                        (YuNet 640 and RetinaFace)
  pnet.u8           125x100x3 RGB       one LFW photo scaled to 100 wide, 125 high (PNet at one scale)
  rnet.u8           4 x 24x24x3 RGB     face crops
  onet.u8           4 x 48x48x3 RGB     face crops

Run: /usr/bin/python3 tools/make_onnx_inputs.py [LFW root]  (then: node tools/ref_onnx.js)
"""
import os
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("LQFACE_SHARED", os.path.join(ROOT, "..", "shared"))
LFW = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SHARED, "data/lfw/lfw-deepfunneled")
OUT = os.path.join(ROOT, "tests/data/onnx")

PHOTOS = [
    "Aaron_Eckhart/Aaron_Eckhart_0001.jpg",
    "George_W_Bush/George_W_Bush_0010.jpg",
    "Serena_Williams/Serena_Williams_0003.jpg",
    "Colin_Powell/Colin_Powell_0005.jpg",
]


def bgr(i):
    img = cv2.imread(os.path.join(LFW, PHOTOS[i]), cv2.IMREAD_COLOR)
    assert img is not None and img.shape == (250, 250, 3), PHOTOS[i]
    return img


def face_crop(img, size, margin=0):
    # deep-funneled LFW faces sit roughly in the centre; a 120..150 px square holds the face
    s = 150 - margin
    o = (250 - s) // 2
    return cv2.resize(img[o:o + s, o:o + s], (size, size), interpolation=cv2.INTER_AREA)


def write(name, arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    arr.tofile(os.path.join(OUT, name))
    print(f"{name}: {arr.shape} {arr.nbytes} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    rgb = [cv2.cvtColor(bgr(i), cv2.COLOR_BGR2RGB) for i in range(4)]
    write("mfn_faces.u8", np.stack([face_crop(rgb[0], 112), face_crop(rgb[1], 112)]))
    write("yunet320.u8", bgr(2))
    grid = np.zeros((400, 400, 3), np.uint8)
    for k in range(4):
        y, x = (k // 2) * 200, (k % 2) * 200
        grid[y:y + 200, x:x + 200] = cv2.resize(bgr(k), (200, 200), interpolation=cv2.INTER_AREA)
    write("grid400.u8", grid)
    write("pnet.u8", cv2.resize(rgb[3], (100, 125), interpolation=cv2.INTER_AREA))
    write("rnet.u8", np.stack([face_crop(rgb[k], 24, 10 * k) for k in range(4)]))
    write("onet.u8", np.stack([face_crop(rgb[k], 48, 10 * k) for k in range(4)]))


if __name__ == "__main__":
    main()
