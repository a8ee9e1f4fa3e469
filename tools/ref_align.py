#!/usr/bin/python3
"""ref_align.py — reference dumps for lqface's image decoding and face alignment tests.

Run with Debian's /usr/bin/python3 (cv2 4.6, numpy) from the repository root:
    nice /usr/bin/python3 tools/ref_align.py [--shared ../shared]
Writes tests/data/align/ and tests/data/image/ (all little-endian, no headers):

align/  (test_align.c)
  names.txt            50 LFW deep-funneled relpaths, one per line
  landmarks.f32        50 x 10   lfw_landmark.txt points (original-LFW landmarks, used as is)
  transforms.f64       50 x 6    Umeyama similarity landmarks -> ArcFace template, computed
                                 here with an independent numpy SVD implementation
  crops_full.u8        16 x 112 x 112 x 3   cv2.warpAffine crops (BGR) of the first 16 photos
  crops_blockmean.f32  50 x 14 x 14 x 3     8x8-block means of all 50 crops
  extra.txt / extra_M.f64 / extra_crops.u8  4 warps that run off the source's borders
                                 (index of photo, out w, out h per line; 2x3 M; BGR crops)
image/  (test_image.c)
  jpeg_names.txt       LFW relpaths; the first 2 have raw decodes, all have row sums
  jpeg_raw.u8          2 x 250 x 250 x 3   cv2.imread(IMREAD_COLOR) (BGR)
  jpeg_rowsums.u32     N x 250 x 3         per-row, per-channel sums of each decode
  files.txt            "<file> <w> <h> <reference>" for the small test images made here;
                       <reference>.u8 holds h x w x 3 BGR bytes: cv2.imread for the
                       JPEG/PNG/8-bit PNM files, and for maxval != 255 PNMs the Netpbm
                       definition round(v * 255 / maxval) computed with numpy (cv2 does not
                       rescale those, see tests/test_image.c)
  rgb_png_q95_ref.u8   rgb.png encoded by cv2.imencode('.jpg', quality 95) and decoded
"""
import argparse
import os
import struct
import sys
import zlib

import cv2
import numpy as np

TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)


def umeyama(src, dst):
    """Least-squares similarity src->dst (Umeyama 1991, no reflection), float64, like
    skimage.transform.SimilarityTransform.estimate. Returns the 2x3 matrix."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    n, dim = src.shape
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    sd, dd = src - src_mean, dst - dst_mean
    A = dd.T @ sd / n
    d = np.ones(dim)
    if np.linalg.det(A) < 0:
        d[dim - 1] = -1
    T = np.eye(dim + 1)
    U, S, V = np.linalg.svd(A)
    rank = np.linalg.matrix_rank(A)
    if rank == 0:
        raise ValueError("degenerate")
    if rank == dim - 1:
        if np.linalg.det(U) * np.linalg.det(V) > 0:
            T[:dim, :dim] = U @ V
        else:
            s = d[dim - 1]
            d[dim - 1] = -1
            T[:dim, :dim] = U @ np.diag(d) @ V
            d[dim - 1] = s
    else:
        T[:dim, :dim] = U @ np.diag(d) @ V
    scale = 1.0 / sd.var(axis=0).sum() * (S @ d)
    T[:dim, dim] = dst_mean - scale * (T[:dim, :dim] @ src_mean.T)
    T[:dim, :dim] *= scale
    return T[:2]


def block_means(img, b=8):
    h, w, c = img.shape
    return img.reshape(h // b, b, w // b, b, c).astype(np.float64).mean(axis=(1, 3)).astype(np.float32)


def write_png_palette(path, idx, palette):
    """A palette (colour type 3) PNG written by hand: cv2 cannot write one."""
    h, w = idx.shape

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)

    raw = b"".join(b"\x00" + idx[y].astype(np.uint8).tobytes() for y in range(h))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
    png += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    png += chunk(b"tRNS", bytes([128] * 4))  # some transparency, dropped by the decoders
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def write_pnm(path, kind, arr, maxval):
    """Netpbm writer: kind 'P2','P3' (ASCII) or 'P5','P6' (binary, 2 bytes if maxval > 255)."""
    h, w = arr.shape[:2]
    hdr = "%s\n# made by tools/ref_align.py\n%d %d\n%d\n" % (kind, w, h, maxval)
    if kind in ("P2", "P3"):
        vals = arr.reshape(h, -1)
        body = "\n".join(" ".join(str(int(v)) for v in row) for row in vals) + "\n"
        open(path, "w").write(hdr + body)
    else:
        data = arr.astype(">u2" if maxval > 255 else np.uint8).tobytes()
        open(path, "wb").write(hdr.encode() + data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("LQFACE_SHARED", "../shared"))
    ap.add_argument("--out", default="tests/data")
    a = ap.parse_args()
    lfw = os.path.join(a.shared, "data/lfw")
    adir, idir = os.path.join(a.out, "align"), os.path.join(a.out, "image")
    os.makedirs(adir, exist_ok=True)
    os.makedirs(idir, exist_ok=True)

    # ---------------------------------------------------------------- alignment
    lines = [l.split() for l in open(os.path.join(lfw, "lfw_landmark.txt")) if l.strip()]
    picked = [lines[i * (len(lines) // 50)] for i in range(50)]
    names = [p[0] for p in picked]
    lm = np.array([[float(v) for v in p[1:11]] for p in picked], np.float32)
    tmpl = TEMPLATE.astype(np.float64)
    Ms, crops = [], []
    for name, pts in zip(names, lm):
        img = cv2.imread(os.path.join(lfw, "lfw-deepfunneled", name), cv2.IMREAD_COLOR)
        assert img is not None, name
        M = umeyama(pts.reshape(5, 2).astype(np.float64), tmpl)
        Ms.append(M)
        crops.append(cv2.warpAffine(img, M, (112, 112), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0))
    open(os.path.join(adir, "names.txt"), "w").write("\n".join(names) + "\n")
    lm.tofile(os.path.join(adir, "landmarks.f32"))
    np.array(Ms, np.float64).tofile(os.path.join(adir, "transforms.f64"))
    np.array(crops[:16], np.uint8).tofile(os.path.join(adir, "crops_full.u8"))
    np.array([block_means(c) for c in crops], np.float32).tofile(os.path.join(adir, "crops_blockmean.f32"))

    # warps that leave the source: rotations and zooms centred near corners/edges
    rng = np.random.default_rng(7)
    extra, extra_M, extra_crops = [], [], []
    for k, (idx, ow, oh) in enumerate([(0, 96, 96), (1, 120, 80), (2, 64, 100), (3, 100, 100)]):
        img = cv2.imread(os.path.join(lfw, "lfw-deepfunneled", names[idx]), cv2.IMREAD_COLOR)
        ang, s = rng.uniform(-0.6, 0.6), rng.uniform(0.4, 1.7)
        cx, cy = [(0, 0), (250, 120), (130, 250), (240, 240)][k]
        # maps source point (cx, cy) to the output centre: half the output is off-image
        R = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) * s
        t = np.array([ow / 2, oh / 2]) - R @ np.array([cx + rng.uniform(-3, 3), cy + rng.uniform(-3, 3)])
        M = np.hstack([R, t[:, None]])
        if k == 3:  # a general (sheared) affine map
            M[0, 1] += 0.2
        extra.append("%d %d %d" % (idx, ow, oh))
        extra_M.append(M)
        extra_crops.append(cv2.warpAffine(img, M, (ow, oh), flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_CONSTANT, borderValue=0).reshape(-1))
    open(os.path.join(adir, "extra.txt"), "w").write("\n".join(extra) + "\n")
    np.array(extra_M, np.float64).tofile(os.path.join(adir, "extra_M.f64"))
    np.concatenate(extra_crops).astype(np.uint8).tofile(os.path.join(adir, "extra_crops.u8"))

    # ---------------------------------------------------------------- JPEG decoding
    jnames = [lines[i * (len(lines) // 24) + 7][0] for i in range(24)]
    decs = [cv2.imread(os.path.join(lfw, "lfw-deepfunneled", n), cv2.IMREAD_COLOR) for n in jnames]
    assert all(d is not None and d.shape == (250, 250, 3) for d in decs)
    open(os.path.join(idir, "jpeg_names.txt"), "w").write("\n".join(jnames) + "\n")
    np.array(decs[:2], np.uint8).tofile(os.path.join(idir, "jpeg_raw.u8"))
    np.array([d.astype(np.uint32).sum(axis=1) for d in decs], np.uint32).tofile(
        os.path.join(idir, "jpeg_rowsums.u32"))

    # ---------------------------------------------------------------- small test files
    src = decs[0]
    face = cv2.resize(src, (40, 30), interpolation=cv2.INTER_AREA)  # BGR 30x40
    grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    files = []

    def add(fname, ref_bgr):
        ref_name = fname.replace(".", "_") + "_ref"
        np.ascontiguousarray(ref_bgr, np.uint8).tofile(os.path.join(idir, ref_name + ".u8"))
        files.append("%s %d %d %s" % (fname, ref_bgr.shape[1], ref_bgr.shape[0], ref_name))

    def add_cv2(fname):
        ref = cv2.imread(os.path.join(idir, fname), cv2.IMREAD_COLOR)
        assert ref is not None, fname
        add(fname, ref)

    cv2.imwrite(os.path.join(idir, "grey.jpg"), grey, [cv2.IMWRITE_JPEG_QUALITY, 90])
    add_cv2("grey.jpg")
    cv2.imwrite(os.path.join(idir, "progressive.jpg"), face,
                [cv2.IMWRITE_JPEG_QUALITY, 80, cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    add_cv2("progressive.jpg")
    try:  # Adobe CMYK JPEG and EXIF-rotated JPEGs written by Pillow (optional)
        from PIL import Image
        Image.fromarray(face[:, :, ::-1]).convert("CMYK").save(os.path.join(idir, "cmyk.jpg"), quality=90)
        add_cv2("cmyk.jpg")
        # EXIF orientations 2..8 (cv2.imread turns the image upright; so must lqface)
        for o in range(2, 9):
            ex = Image.Exif()
            ex[0x0112] = o
            fn = "exif%d.jpg" % o
            Image.fromarray(face[:, :, ::-1]).save(os.path.join(idir, fn), quality=90, exif=ex.tobytes())
            ref = cv2.imread(os.path.join(idir, fn), cv2.IMREAD_COLOR)
            assert ref.shape[:2] == ((30, 40) if o < 5 else (40, 30)), (o, ref.shape)
            add(fn, ref)
        ex = Image.Exif()  # PNG eXIf chunk: cv2.imread applies it too
        ex[0x0112] = 6
        Image.fromarray(face[:, :, ::-1]).save(os.path.join(idir, "exif6.png"), exif=ex.tobytes())
        add_cv2("exif6.png")
    except ImportError:
        pass
    cv2.imwrite(os.path.join(idir, "rgb.png"), face)
    add_cv2("rgb.png")
    bgra = np.dstack([face, (np.arange(30 * 40).reshape(30, 40) % 256).astype(np.uint8)])
    cv2.imwrite(os.path.join(idir, "rgba.png"), bgra)
    add_cv2("rgba.png")
    g16 = (grey.astype(np.uint16) * 257 + rng.integers(0, 257, grey.shape)).astype(np.uint16)
    cv2.imwrite(os.path.join(idir, "grey16.png"), g16)
    add_cv2("grey16.png")
    c16 = (face.astype(np.uint16) * 256 + rng.integers(0, 256, face.shape)).astype(np.uint16)
    cv2.imwrite(os.path.join(idir, "rgb16.png"), c16)
    add_cv2("rgb16.png")
    pal = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)  # RGB entries
    idx = (grey // 64).astype(np.uint8)
    write_png_palette(os.path.join(idir, "palette.png"), idx, pal)
    add_cv2("palette.png")
    # PNM with maxval 255: cv2 is the reference
    write_pnm(os.path.join(idir, "grey.pgm"), "P5", grey, 255)
    add_cv2("grey.pgm")
    write_pnm(os.path.join(idir, "rgb.ppm"), "P6", face[:, :, ::-1], 255)
    add_cv2("rgb.ppm")
    write_pnm(os.path.join(idir, "ascii.pgm"), "P2", grey, 255)
    add_cv2("ascii.pgm")
    write_pnm(os.path.join(idir, "ascii.ppm"), "P3", face[:, :, ::-1], 255)
    add_cv2("ascii.ppm")
    # PNM with other maxvals: Netpbm's definition, round(v * 255 / maxval), with numpy
    v16 = rng.integers(0, 65536, face.shape[:2]).astype(np.int64)
    write_pnm(os.path.join(idir, "grey16.pgm"), "P5", v16, 65535)
    q = np.floor(v16 * 255 / 65535 + 0.5).astype(np.uint8)
    add("grey16.pgm", np.dstack([q, q, q]))
    v1k = rng.integers(0, 1001, face.shape).astype(np.int64)
    write_pnm(os.path.join(idir, "ascii1000.ppm"), "P3", v1k, 1000)
    q = np.floor(v1k * 255 / 1000 + 0.5).astype(np.uint8)
    add("ascii1000.ppm", q[:, :, ::-1])
    v100 = rng.integers(0, 101, face.shape[:2]).astype(np.int64)
    write_pnm(os.path.join(idir, "grey100.pgm"), "P5", v100, 100)
    q = np.floor(v100 * 255 / 100 + 0.5).astype(np.uint8)
    add("grey100.pgm", np.dstack([q, q, q]))
    open(os.path.join(idir, "files.txt"), "w").write("\n".join(files) + "\n")
    # JPEG encoding: cv2.imencode at quality 95 of rgb.png's pixels, decoded again
    ok, enc = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    cv2.imdecode(enc, cv2.IMREAD_COLOR).tofile(os.path.join(idir, "rgb_png_q95_ref.u8"))

    total = sum(os.path.getsize(os.path.join(d, f)) for d in (adir, idir) for f in os.listdir(d))
    print("wrote %s and %s: %.1f KB" % (adir, idir, total / 1024.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
