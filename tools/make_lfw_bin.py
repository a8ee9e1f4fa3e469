#!/usr/bin/python3
"""make_lfw_bin.py — build an insightface-style validation pack (lfw.bin) from the LFW photos
and LFW's pairs.txt: pickle((bins, issame_list)) with bins = 2N JPEG-encoded 112x112 images
(pair i = bins[2i], bins[2i+1]) and issame_list = N Python bools.

The deep-funneled photos (250x250) are NOT aligned to the ArcFace template: each one is
centre-cropped (150x150) and resized to 112x112 (INTER_AREA), which is enough for a format
test, then encoded with cv2.imencode('.jpg') (OpenCV's default quality 95).

Formats (--format):
  py2    Python-2 style pickle, protocol 2, images as str -> BINSTRING (insightface's own
         packs were written this way by Python 2)
  bytes  Python 3 pickle.dump of bytes objects (protocol 2 -> _codecs.encode(latin-1 text);
         protocol >= 3 -> BINBYTES)
  numpy  the numpy uint8 arrays returned by cv2.imencode (numpy.core.multiarray._reconstruct)

The full pack (6000 pairs, ~60 MB, not committed):
  nice /usr/bin/python3 tools/make_lfw_bin.py --out /tmp/lfw.bin
The small test packs in tests/data/eval/ (and lfw_bin_expected.txt, the image sizes and
FNV-1a hashes the reader must return):
  nice /usr/bin/python3 tools/make_lfw_bin.py --test-fixtures
"""
import argparse
import io
import os
import pickle
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "eval")


def read_pairs(path):
    lines = open(path).read().split("\n")
    pairs = []
    for ln in lines[1:]:
        t = ln.split()
        if len(t) == 3:
            pairs.append(((t[0], int(t[1])), (t[0], int(t[2])), True))
        elif len(t) == 4:
            pairs.append(((t[0], int(t[1])), (t[2], int(t[3])), False))
    return pairs


def encode(root, name, idx):
    img = cv2.imread(os.path.join(root, name, "%s_%04d.jpg" % (name, idx)), cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit("cannot read %s/%s_%04d.jpg" % (name, name, idx))
    h, w = img.shape[:2]
    c = 150
    y0, x0 = (h - c) // 2, (w - c) // 2
    crop = cv2.resize(img[y0:y0 + c, x0:x0 + c], (112, 112), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", crop)
    assert ok
    return buf  # numpy uint8 array, shape (n, 1)


class Py2Pickler(pickle._Pickler):
    """Pickles bytes the way Python 2 pickled str at protocol 2 (SHORT_BINSTRING/BINSTRING)."""

    def save_bytes(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + n.to_bytes(4, "little") + obj)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_bytes


def dump(path, bufs, issame, fmt, protocol):
    if fmt == "numpy":
        obj = (list(bufs), list(issame))
    else:
        obj = ([b.tobytes() for b in bufs], list(issame))
    with open(path, "wb") as f:
        if fmt == "py2":
            Py2Pickler(f, protocol=2).dump(obj)
        else:
            pickle.dump(obj, f, protocol=protocol)
    # round trip as insightface reads it
    with open(path, "rb") as f:
        bins, same = pickle.load(f, encoding="bytes")
    assert len(bins) == len(bufs) and list(same) == list(issame)
    for a, b in zip(bins, bufs):
        a = a.tobytes() if isinstance(a, np.ndarray) else a
        assert a == b.tobytes()


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def build(root, pairs_path, selection):
    pairs = read_pairs(pairs_path)
    sel = [pairs[i] for i in selection] if selection is not None else pairs
    bufs, issame = [], []
    for k, (a, b, s) in enumerate(sel):
        bufs.append(encode(root, *a))
        bufs.append(encode(root, *b))
        issame.append(s)
        if k % 500 == 499:
            print("%d/%d pairs" % (k + 1, len(sel)), file=sys.stderr)
    return bufs, issame


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = os.environ.get("LQFACE_SHARED", os.path.join(HERE, "..", "..", "shared"))
    ap.add_argument("--shared", default=shared)
    ap.add_argument("--out", help="output .bin")
    ap.add_argument("--format", choices=("py2", "bytes", "numpy"), default="py2")
    ap.add_argument("--protocol", type=int, default=2)
    ap.add_argument("--pairs", help="subset of pair indices, e.g. 0:5,300:305 (default: all)")
    ap.add_argument("--test-fixtures", action="store_true", help="write the small packs of tests/data/eval/")
    args = ap.parse_args()
    root = os.path.join(args.shared, "data", "lfw", "lfw-deepfunneled")
    pairs_path = os.path.join(args.shared, "data", "lfw", "pairs.txt")
    if args.test_fixtures:
        selection = list(range(0, 4)) + list(range(300, 304))  # 4 same + 4 different pairs
        bufs, issame = build(root, pairs_path, selection)
        variants = [("lfw8_py2.bin", "py2", 2), ("lfw8_bytes_p2.bin", "bytes", 2),
                    ("lfw8_numpy_p2.bin", "numpy", 2), ("lfw8_bytes_p4.bin", "bytes", 4),
                    ("lfw8_numpy_p5.bin", "numpy", 5)]
        for name, fmt, proto in variants:
            dump(os.path.join(OUT, name), bufs, issame, fmt, proto)
            print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")
        with open(os.path.join(OUT, "lfw_bin_expected.txt"), "w") as f:
            f.write("# written by tools/make_lfw_bin.py --test-fixtures: pairs, issame, then per image: bytes fnv1a64\n")
            f.write("%d\n" % len(issame))
            f.write(" ".join(str(int(s)) for s in issame) + "\n")
            for b in bufs:
                f.write("%d %016x\n" % (b.size, fnv1a64(b.tobytes())))
        with open(os.path.join(OUT, "lfw_bin_variants.txt"), "w") as f:
            for name, fmt, proto in variants:
                f.write("%s\n" % name)
        return
    if not args.out:
        ap.error("--out is required (or --test-fixtures)")
    selection = None
    if args.pairs:
        selection = []
        for part in args.pairs.split(","):
            a, b = part.split(":")
            selection += list(range(int(a), int(b)))
    bufs, issame = build(root, pairs_path, selection)
    dump(args.out, bufs, issame, args.format, args.protocol)
    print("%s: %d pairs, %d bytes" % (args.out, len(issame), os.path.getsize(args.out)))


if __name__ == "__main__":
    main()
