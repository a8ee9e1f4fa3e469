#!/usr/bin/python3
"""make_fuzz_seeds.py — the seed corpora of the fuzz harnesses (tests/fuzz/fuzz_*.c) and the
hand-made regression inputs of issue 14's classes (tests/test_hostile.c,
tests/test_onnx_hostile.c), written independently of lqface's readers:

  tests/fuzz/corpus/<target>/seed_*   one small valid input per format variant the reader
                                      handles (the campaigns grow and minimise from these)
  tests/fuzz/regress/<target>/*       minimal hostile inputs, one per class (replayed by
                                      scripts/fuzz.sh and asserted by the hostile tests)

  image        JPEG (baseline, grey, progressive; the EXIF and CMYK test files), PNG (RGB,
               grey 16-bit, RGBA; the palette test file), PGM/PPM binary and text
  bin          insightface .bin packs of one pair of 8x8 JPEGs: Python-2 str, bytes at
               protocols 2 and 4, numpy arrays at protocols 2 and 5 (make_lfw_bin.py's writer)
  recordio     .rec "\\n##\\n" .idx "\\n##\\n" property: an insightface pack (meta record,
               two images, one identity record) and a plain im2rec pack, a split record
               (make_rec_fixture.py's writer)
  pairs        first byte = reader (0 LFW, 1 list, 2 CFP FP, 3 CFP FF), then the file(s)
  checkpoint   a safetensors file with F32/F16/BF16/F64 tensors; an lqface checkpoint of a
               tiny MobileFaceNet written by `lqface train` (needs --lqface BIN and ORL)
  train_config first byte = skip-unknown flag, then the shipped configs/*.conf
  onnx         small models encoded here with a minimal protobuf writer (no onnx package):
               Conv+BatchNormalization+Relu+GlobalAveragePool+Flatten+Gemm, Add/Mul with
               initializers, Reshape/Transpose/Concat, Gather of a constant

Regression classes (hostile inputs):
  bin/memo_amplify.bin        one 32 KiB image memoised and referenced 2 x 1500 times (the
                              reader copied every reference: ~96 MB from 36 KB)
  bin/encode_amplify.bin      one 32 KiB latin-1 text, _codecs.encode'd 3000 times through the memo
  checkpoint/short_header.safetensors   8 bytes whose header length says 100: the header byte
                              after the length field was read past the end
  checkpoint/short_header9.safetensors  9 bytes, header length 1000
  checkpoint/huge_config.safetensors    an lqface checkpoint whose config builds a network far
                              over the allocation limit (widths 4096, iresnet200)
  pairs/cfp_huge_index        a 12-byte CFP pair list naming index 10000000 (an 80 MB map)
  pairs/cfp_repeat            CFP split lines repeating one long path (the list copies each)
  image/pgm_huge_header.pgm   a P5 header of 16000 x 16000 with no pixels (allocated first)
  image/jpeg_huge_header.jpg  a baseline JPEG of 16000 x 16000 whose scan ends after 16 bytes
  image/png_chunk_length.png  (found by fuzzing) an eXIf chunk of 1.7 GB in a 45-byte file
  recordio/meta_huge          a meta record saying the images are keys 1..999999999
  onnx/conv_one_input.onnx    Conv with only its data input (read an uninitialised weight)
  onnx/add_one_input.onnx     Add (constant folded) with only one input
  onnx/gather_one_input.onnx  Gather with only its data input
  onnx/fold_huge.onnx         ~600 bytes whose constant folding builds a 512 MB constant
                              (Concat and broadcast Adds of one float) and then asks for 16 GiB
  onnx/dims_no_data.onnx      an initializer of dims [1 << 27, 16] with 4 bytes of raw data

Run from the repository root: /usr/bin/python3 tools/make_fuzz_seeds.py [--lqface build/lqface]
"""
import argparse
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from make_lfw_bin import Py2Pickler  # noqa: E402
from make_rec_fixture import MAGIC_B, RecWriter, ir_pack  # noqa: E402

SHARED = os.environ.get("LQFACE_SHARED", os.path.join(ROOT, "..", "shared"))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
REGRESS = os.path.join(ROOT, "tests", "fuzz", "regress")
SEP = b"\n##\n"  # part separator of multi-file inputs (tests/fuzz/fuzz_util.h)


def put(base, target, name, data):
    d = os.path.join(base, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def seed(target, name, data):
    put(CORPUS, target, "seed_" + name, data)


EXPECTED = []  # tests/fuzz/regress/expected.txt: "target/file STATUS MAX_ALLOC fragment-or-key=value..."


def regress(target, name, data, expect):
    """A hostile input and what the hostile test must see: status, the allocation limit it runs
    under (LQFACE_MAX_ALLOC), and a message fragment (errors) or counts (OK)."""
    put(REGRESS, target, name, data)
    EXPECTED.append("%s/%s %s" % (target, name, expect))


def tiny_bgr(w=8, h=6):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 30 % 256, y * 40 % 256, (x + y) * 20 % 256], axis=2).astype(np.uint8)


def enc(ext, img, params=()):
    ok, buf = cv2.imencode(ext, img, list(params))
    assert ok
    return buf.tobytes()


# ---------------------------------------------------------------------------- image
def images():
    img = tiny_bgr()
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    seed("image", "rgb.jpg", enc(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90]))
    seed("image", "grey.jpg", enc(".jpg", grey))
    seed("image", "progressive.jpg", enc(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]))
    seed("image", "rgb.png", enc(".png", img))
    seed("image", "grey16.png", enc(".png", (grey.astype(np.uint16) * 257)))
    seed("image", "rgba.png", enc(".png", np.dstack([img, grey])))
    seed("image", "palette.png", open(os.path.join(ROOT, "tests/data/image/palette.png"), "rb").read())
    for name in ("exif6.jpg", "cmyk.jpg"):
        seed("image", name, open(os.path.join(ROOT, "tests/data/image", name), "rb").read())
    h, w = grey.shape
    seed("image", "p5.pgm", b"P5\n%d %d\n255\n" % (w, h) + grey.tobytes())
    seed("image", "p6.ppm", b"P6\n# c\n%d %d\n255\n" % (w, h) + img[:, :, ::-1].tobytes())
    seed("image", "p2.pgm", b"P2\n3 2\n65535\n0 1 2\n300 65535 7\n")
    seed("image", "p3.ppm", b"P3\n2 1\n255\n1 2 3 4 5 6\n")
    # hostile: sizes from the header with nothing behind them
    regress("image", "pgm_huge_header.pgm", b"P5\n16000 16000\n255\n", "FORMAT 1G truncated PGM")
    jpg = bytearray(enc(".jpg", img))
    sof = jpg.index(b"\xff\xc0")  # baseline SOF0: length(2) precision(1) height(2) width(2)
    jpg[sof + 5:sof + 9] = struct.pack(">HH", 16000, 16000)
    sos = jpg.index(b"\xff\xda")
    sos_len = struct.unpack(">H", jpg[sos + 2:sos + 4])[0]
    # found by fuzz_image (a 10 s timeout under ASan): an eXIf chunk whose length (1.7 GB) is
    # far beyond the file, which libpng allocated before reading it
    ihdr = struct.pack(">IIBBBBB", 40, 30, 8, 3, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    regress("image", "png_chunk_length.png", png + struct.pack(">I", 0x65584966) + b"eXIfeXIfPLTE",
            "FORMAT 1G a chunk is longer than the file")
    regress("image", "jpeg_huge_header.jpg", bytes(jpg[:sos + 2 + sos_len + 16]),  # the scan cut after 16 bytes
            "FORMAT 1G truncated JPEG")


# ---------------------------------------------------------------------------- bin
def bins():
    bufs = [cv2.imencode(".jpg", tiny_bgr(8, 8))[1], cv2.imencode(".jpg", tiny_bgr(8, 8)[::-1].copy())[1]]
    issame = [True]
    for name, fmt, proto in (("py2.bin", "py2", 2), ("bytes_p2.bin", "bytes", 2), ("bytes_p4.bin", "bytes", 4),
                             ("numpy_p2.bin", "numpy", 2), ("numpy_p5.bin", "numpy", 5)):
        obj = (list(bufs), list(issame)) if fmt == "numpy" else ([b.tobytes() for b in bufs], list(issame))
        import io
        f = io.BytesIO()
        if fmt == "py2":
            Py2Pickler(f, protocol=2).dump(obj)
        else:
            pickle.dump(obj, f, protocol=proto)
        seed("bin", name, f.getvalue())
    # hostile: one image referenced 3000 times through the memo (pickle of a list that holds
    # the same bytes object: pickle writes it once and BINGETs it after)
    big = bytes(range(256)) * 128  # 32 KiB
    obj = ([big] * 3000, [True] * 1500)
    data = pickle.dumps(obj, protocol=4)
    assert len(data) < 64 * 1024
    regress("bin", "memo_amplify.bin", data, "OK 1G pairs=1500 image_bytes=%d distinct_images=1" % len(big))
    # hostile: _codecs.encode(text, 'latin1') REDUCEd 3000 times on one memoised text
    text = ("\u00e9" * 16384).encode("utf-8")  # 32 KiB of UTF-8, 16 KiB latin-1
    p = bytearray(b"\x80\x02")
    p += b"c_codecs\nencode\nq\x00"                       # memo 0: the global
    p += b"X" + struct.pack("<I", len(text)) + text + b"q\x01"   # memo 1: the text
    p += b"X\x06\x00\x00\x00latin1q\x02"                  # memo 2: 'latin1'
    p += b"(]("                                            # MARK; list; MARK
    for _ in range(3000):
        p += b"h\x00h\x01h\x02\x86R"                       # encode(text, 'latin1')
    p += b"e"                                              # APPENDS
    p += b"]("                                             # issame list; MARK
    p += b"\x88" * 1500 + b"e"
    p += b"t."                                             # TUPLE (from the first MARK); STOP
    regress("bin", "encode_amplify.bin", bytes(p), "OK 1G pairs=1500 image_bytes=16384 distinct_images=1")


# ---------------------------------------------------------------------------- recordio
def recordio():
    imgs = [enc(".png", tiny_bgr(4, 4)), enc(".jpg", tiny_bgr(8, 8))]
    w = RecWriter()  # insightface layout: meta, images 1..2, identity 3
    w.write(0, ir_pack([3.0, 4.0], 0, 0, b""))
    w.write(1, ir_pack(0.0, 1, 0, imgs[0]))
    w.write(2, ir_pack([1.0, 5.0], 2, 0, imgs[1]))
    w.write(3, ir_pack([1.0, 3.0], 3, 0, b""))
    seed("recordio", "insightface", bytes(w.data) + SEP + w.idx_text() + SEP + b"2,8,8\n")
    p = RecWriter()  # plain im2rec, no index, a payload holding the magic (split record)
    p.write(0, ir_pack(1.0, 0, 0, imgs[0]))
    p.write(1, ir_pack(0.0, 1, 0, imgs[1] + b"\0\0\0" + MAGIC_B + b"tail"))
    seed("recordio", "plain_scan", bytes(p.data))
    seed("recordio", "plain_idx", bytes(p.data) + SEP + p.idx_text())
    h = RecWriter()  # hostile: a meta record announcing a billion images
    h.write(0, ir_pack([999999999.0, 999999999.0], 0, 0, b""))
    h.write(1, ir_pack(0.0, 1, 0, imgs[0]))
    regress("recordio", "meta_huge", bytes(h.data) + SEP + h.idx_text(), "FORMAT 1G meta record says images are keys")
    cut = bytearray(p.data)  # the second record's length runs past the end of the file
    second = p.idx[1][1]
    cut[second + 4:second + 8] = struct.pack("<I", 1 << 28)
    regress("recordio", "length_beyond_file", bytes(cut), "FORMAT 1G beyond end of file")


# ---------------------------------------------------------------------------- pairs
def pairs():
    seed("pairs", "lfw", b"\x00" + b"2 1\nA_B 1 2\nA_B 1 C_D 3\nE 2 3\nE 1 F 1\n")
    seed("pairs", "lfw_rooted", b"\x04" + b"3\nA 1 2\nB 2 3\nC 1 4\nA 1 B 1\nB 2 C 2\nC 3 A 3\n")
    seed("pairs", "list", b"\x01" + b"# comment\n\na.jpg b.jpg 1\n/abs/c.png\td.png 0\r\n")
    pf = b"1 ../Data/Images/001/frontal/01.jpg\n2 ../Data/Images/001/frontal/02.jpg\n3 x/03.jpg\n"
    pp = b"1 ../Data/Images/001/profile/01.jpg\n2 y/02.jpg\n"
    seed("pairs", "cfp_fp", b"\x02" + SEP.join([pf, pp, b"1,1\n2,2\n", b"1,2\n3,1\n", b"3,2\n", b"2,1\n"]))
    seed("pairs", "cfp_ff", b"\x03" + SEP.join([pf, b"", b"1,2\n", b"1,3\n"]))
    regress("pairs", "cfp_huge_index", b"\x03" + SEP.join([b"10000000 a\n", b"", b"1,1\n", b"1,1\n"]),
            "FORMAT 1G larger than the file's 1 lines")
    long_path = b"p" * 8000
    regress("pairs", "cfp_repeat", b"\x03" + SEP.join([b"1 " + long_path + b"\n", b"", b"1,1\n" * 4000, b"1,1\n"]),
            "NOMEM 16M the pair list would take")


# ---------------------------------------------------------------------------- checkpoint
def safetensors(tensors, metadata):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    import json
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + data


def checkpoints(lqface):
    t = {"a.weight": ("F32", [2, 3], np.arange(6, dtype=np.float32).tobytes()),
         "b": ("F16", [2], np.array([1.5, -2], np.float16).tobytes()),
         "c": ("BF16", [1], b"\x80\x3f"),
         "d": ("F64", [], np.array([3.25]).tobytes()),
         "e": ("F32", [0, 4], b"")}
    seed("checkpoint", "mixed.safetensors", safetensors(t, {"k": "v\u00e9", "q": "\"\\"}))
    regress("checkpoint", "short_header.safetensors", struct.pack("<Q", 100), "FORMAT 1G header length 100")
    regress("checkpoint", "short_header9.safetensors", struct.pack("<Q", 1000) + b"{", "FORMAT 1G truncated")
    if not lqface:
        print("no --lqface: the lqface checkpoint seeds are not written", file=sys.stderr)
        return
    orl = os.path.join(SHARED, "data", "orl", "att_faces")
    tmp = "/tmp/lqface_fuzz_seeds"  # a fixed place: the config in the checkpoint names it
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    if True:
        lst = os.path.join(tmp, "train.lst")
        with open(lst, "w") as f:
            f.write("s1/1.pgm 0\ns1/2.pgm 0\ns2/1.pgm 1\ns2/2.pgm 1\n")
        common = [lqface, "train", "--data", lst, "--data_root", orl, "--input_size", "16", "--emb", "4",
                  "--batch", "2", "--steps", "1", "--threads", "1", "--loader_threads", "1", "--quiet",
                  "--head", "cosface", "--keep_last", "1"]
        for name, extra in (("mobilefacenet", ["--arch", "mobilefacenet", "--mfn_base", "2", "--mfn_sep", "4"]),
                            ("iresnet18", ["--arch", "iresnet18", "--width", "1,1,1,2"])):
            out = os.path.join(tmp, name)
            subprocess.run(common + extra + ["--ckpt_dir", out], check=True, stdout=subprocess.DEVNULL)
            data = open(os.path.join(out, "ckpt_step00000001.safetensors"), "rb").read()
            seed("checkpoint", name + ".safetensors", data)
        # hostile: the iresnet18 checkpoint with its config asking for IR-200 of width 4096
        # (tensors unchanged: the network must be refused before it is built); the checksum
        # entry is dropped (this file is not lqface's any more)
        n = struct.unpack("<Q", data[:8])[0]
        import json
        header = json.loads(data[8:8 + n])
        meta = header["__metadata__"]
        meta.pop("lqface_crc32", None)
        meta["config"] = meta["config"].replace("arch = iresnet18", "arch = iresnet200").replace(
            "width = 1,1,1,2", "width = 4096,4096,4096,4096")
        meta["arch"] = "iresnet200"
        tensors = {}
        body = data[8 + n:]
        for k, v in header.items():
            if k != "__metadata__":
                b0, b1 = v["data_offsets"]
                tensors[k] = (v["dtype"], v["shape"], body[b0:b1])
        regress("checkpoint", "huge_config.safetensors", safetensors(tensors, meta),
                "NOMEM 1G more than the input can hold")
    shutil.rmtree(tmp)


# ---------------------------------------------------------------------------- train config
def configs():
    for name in sorted(os.listdir(os.path.join(ROOT, "configs"))):
        text = open(os.path.join(ROOT, "configs", name), "rb").read()
        seed("train_config", name, b"\x00" + text)
    seed("train_config", "checkpoint_style", b"\x01" + b"arch = mobilefacenet\nfuture_key = 3\nwidth = 1,2,3,4\n"
         b"seed = 18446744073709551615\nmax_seconds = 1e300\nflip = -0\nlr = inf\naug_jpeg = 0.2,30,90\n")


# ---------------------------------------------------------------------------- onnx
def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def fld(num, val):
    """One protobuf field: int -> varint, bytes/str -> length-delimited, list -> repeated."""
    if isinstance(val, list):
        return b"".join(fld(num, v) for v in val)
    if isinstance(val, int):
        return varint(num << 3) + varint(val)
    if isinstance(val, str):
        val = val.encode()
    return varint(num << 3 | 2) + varint(len(val)) + val


FLOAT, INT64 = 1, 7


def tensor(name, dims, dtype=FLOAT, raw=None, values=None):
    if raw is None:
        arr = np.asarray(values if values is not None else np.zeros(dims), np.float32 if dtype == FLOAT else np.int64)
        raw = arr.tobytes()
    return fld(1, list(dims)) + fld(2, dtype) + fld(8, name) + fld(9, raw)


def value_info(name, dims):
    shape = b"".join(fld(1, fld(1, d)) for d in dims)
    return fld(1, name) + fld(2, fld(1, fld(1, FLOAT) + fld(2, shape)))


def attr(name, i=None, ints=None, f=None):
    if ints is not None:
        return fld(1, name) + fld(8, list(ints)) + fld(20, 7)
    if f is not None:
        return fld(1, name) + varint(2 << 3 | 5) + struct.pack("<f", f) + fld(20, 1)
    return fld(1, name) + fld(3, i) + fld(20, 2)


def node(op, ins, outs, name, attrs=()):
    return fld(1, list(ins)) + fld(2, list(outs)) + fld(3, name) + fld(4, op) + fld(5, list(attrs))


def model(nodes, inits, inputs, outputs, opset=13):
    g = fld(1, nodes) + fld(2, "g") + fld(5, inits) + fld(11, inputs) + fld(12, outputs)
    return fld(1, 7) + fld(2, "make_fuzz_seeds") + fld(7, g) + fld(8, fld(1, "") + fld(2, opset))


def onnx():
    x = value_info("x", [1, 3, 8, 8])
    conv = model([node("Conv", ["x", "w", "b"], ["c"], "conv", [attr("kernel_shape", ints=[3, 3]),
                                                               attr("pads", ints=[1, 1, 1, 1])]),
                  node("BatchNormalization", ["c", "s", "o", "m", "v"], ["n"], "bn", [attr("epsilon", f=1e-5)]),
                  node("Relu", ["n"], ["r"], "relu"),
                  node("GlobalAveragePool", ["r"], ["p"], "gap"),
                  node("Flatten", ["p"], ["f"], "flat", [attr("axis", 1)]),
                  node("Gemm", ["f", "gw", "gb"], ["y"], "fc", [attr("transB", 1)])],
                 [tensor("w", [4, 3, 3, 3], values=np.linspace(-1, 1, 108)), tensor("b", [4], values=[0.1] * 4),
                  tensor("s", [4], values=[1] * 4), tensor("o", [4]), tensor("m", [4]), tensor("v", [4], values=[1] * 4),
                  tensor("gw", [2, 4], values=[1, 2, 3, 4, 5, 6, 7, 8]), tensor("gb", [2])],
                 [x], [value_info("y", [1, 2])])
    seed("onnx", "conv_bn_gemm.onnx", conv)
    eltwise = model([node("Add", ["x", "k"], ["a"], "add"), node("Mul", ["a", "k"], ["m"], "mul"),
                     node("Sigmoid", ["m"], ["y"], "sig")],
                    [tensor("k", [1, 3, 1, 1], values=[1, 2, 3])], [x], [value_info("y", [1, 3, 8, 8])])
    seed("onnx", "eltwise.onnx", eltwise)
    layout = model([node("Reshape", ["x", "shape"], ["r"], "reshape"),
                    node("Transpose", ["r"], ["t"], "tr", [attr("perm", ints=[0, 2, 1])]),
                    node("Concat", ["t", "t"], ["y"], "cat", [attr("axis", 1)])],
                   [tensor("shape", [3], INT64, values=[1, 3, 64])], [x], [value_info("y", [1, 128, 3])])
    seed("onnx", "layout.onnx", layout)
    gather = model([node("Shape", ["x"], ["s"], "shape"),
                    node("Gather", ["s", "i"], ["g"], "gather", [attr("axis", 0)]),
                    node("Unsqueeze", ["g", "ax"], ["u"], "unsq"),
                    node("Concat", ["one", "u", "minus"], ["sh"], "cat", [attr("axis", 0)]),
                    node("Reshape", ["x", "sh"], ["y"], "reshape")],
                   [tensor("i", [], INT64, values=1), tensor("ax", [1], INT64, values=[0]),
                    tensor("one", [1], INT64, values=[1]), tensor("minus", [1], INT64, values=[-1])],
                   [x], [value_info("y", [1, 3, 64])])
    seed("onnx", "shape_gather.onnx", gather)
    for name in ("ops_misc.onnx", "ops_convbn.onnx"):
        seed("onnx", name, open(os.path.join(ROOT, "tests/data/onnx", name), "rb").read())
    # hostile (pending the importer's table-driven input check and size bounds)
    regress("onnx", "conv_one_input.onnx", model([node("Conv", ["x"], ["y"], "conv", [attr("kernel_shape", ints=[3, 3])])],
                                                 [], [x], [value_info("y", [1, 4, 6, 6])]), "FORMAT 256M 'conv'")
    regress("onnx", "add_one_input.onnx", model([node("Add", ["k"], ["a"], "add"), node("Add", ["x", "a"], ["y"], "add2")],
                                                [tensor("k", [1, 3, 1, 1], values=[1, 2, 3])], [x],
                                                [value_info("y", [1, 3, 8, 8])]), "FORMAT 256M 'add'")
    regress("onnx", "gather_one_input.onnx", model([node("Shape", ["x"], ["s"], "shape"),
                                                    node("Gather", ["s"], ["g"], "gather"),
                                                    node("Reshape", ["x", "g"], ["y"], "reshape")],
                                                   [], [x], [value_info("y", [1, 3, 64])]), "FORMAT 256M 'gather'")
    # constant folding from 4 bytes: Concat and broadcast Adds grow [1] to [8192, 8192]
    # (512 MB of doubles) and then to [1 << 26, 32] (16 GiB)
    i64 = lambda name, v: tensor(name, [len(v)], INT64, values=v)  # noqa: E731
    regress("onnx", "fold_huge.onnx", model(
        [node("Concat", ["k"] * 8, ["c8"], "cat8", [attr("axis", 0)]),
         node("Concat", ["c8"] * 4, ["c32"], "cat32", [attr("axis", 0)]),
         node("Reshape", ["c32", "r32"], ["a"], "ra"), node("Reshape", ["c32", "c32s"], ["b"], "rb"),
         node("Add", ["a", "b"], ["m"], "add1"), node("Reshape", ["m", "s1024"], ["f"], "rf"),
         node("Concat", ["f"] * 8, ["c8k"], "cat8k", [attr("axis", 0)]),
         node("Reshape", ["c8k", "r8k"], ["a2"], "ra2"), node("Reshape", ["c8k", "c8ks"], ["b2"], "rb2"),
         node("Add", ["a2", "b2"], ["m2"], "add2"), node("Reshape", ["m2", "big"], ["f2"], "rf2"),
         node("Add", ["f2", "b"], ["m3"], "add3"), node("Mul", ["x", "m3"], ["y"], "mul")],
        [tensor("k", [1], values=[1]), i64("r32", [32, 1]), i64("c32s", [1, 32]), i64("s1024", [1024]),
         i64("r8k", [8192, 1]), i64("c8ks", [1, 8192]), i64("big", [1 << 26, 1])],
        [x], [value_info("y", [1, 3, 8, 8])]), "NOMEM 256M LQFACE_MAX_ALLOC")
    regress("onnx", "dims_no_data.onnx", model([node("Add", ["x", "k"], ["y"], "add")],
                                               [tensor("k", [1 << 27, 16], raw=b"\0\0\x80\x3f")], [x],
                                               [value_info("y", [1, 3, 8, 8])]), "FORMAT 256M holds 4 bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lqface", help="the lqface binary (writes the lqface checkpoint seeds)")
    args = ap.parse_args()
    for base in (CORPUS, REGRESS):
        for t in ("image", "bin", "recordio", "pairs", "checkpoint", "train_config", "onnx"):
            d = os.path.join(base, t)
            if os.path.isdir(d):
                for f in os.listdir(d):
                    if f.startswith("seed_") or base == REGRESS:
                        os.remove(os.path.join(d, f))
    images()
    bins()
    recordio()
    pairs()
    checkpoints(args.lqface)
    configs()
    onnx()
    with open(os.path.join(REGRESS, "expected.txt"), "w") as f:
        f.write("# written by tools/make_fuzz_seeds.py: input, status, LQFACE_MAX_ALLOC, then a message fragment\n"
                "# (errors) or key=value counts (OK); onnx/ lines: tests/test_onnx_hostile.c, the others:\n"
                "# tests/test_hostile.c\n")
        f.write("\n".join(EXPECTED) + "\n")
    for base in (CORPUS, REGRESS):
        for t in sorted(x for x in os.listdir(base) if os.path.isdir(os.path.join(base, x))):
            files = os.listdir(os.path.join(base, t))
            size = sum(os.path.getsize(os.path.join(base, t, f)) for f in files)
            print("%s/%s: %d files, %d bytes" % (os.path.relpath(base, ROOT), t, len(files), size))


if __name__ == "__main__":
    main()
