#!/usr/bin/env python3
"""safetensors references for tests/test_checkpoint.c, written by hand with struct + json
(the Python `safetensors` package is not installed) following its layout rules: u64 LE
header length, JSON header (`__metadata__` map of strings; per tensor dtype, shape,
data_offsets relative to the data section), header padded with spaces to a multiple of 8,
tensors stored contiguously sorted by (dtype alignment descending, name), little-endian.

Default: writes tests/data/checkpoint/
  python.safetensors        F32/F16/BF16/F64 tensors incl. a scalar, an empty tensor and a
                            non-ASCII name (JSON \\u escape), metadata with escapes
  python_expected.txt/.f32  name, shape and the values as float32 (converted by torch)
  bad_*.safetensors + bad.txt   damaged files and the error each must give
With --check FILE: reads a checkpoint written by lqface (test_checkpoint writes
/tmp/lqface_written.safetensors) with json + torch.frombuffer, checks the layout rules and
compares the tensors with the formula the test used.
Usage: /usr/bin/python3 tools/ref_checkpoint.py [--check FILE]"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "checkpoint")
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8}
TORCH = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
         "I64": torch.int64}


def serialize(tensors, metadata):
    """tensors: name -> (dtype, shape, raw bytes). Returns the file bytes."""
    order = sorted(tensors, key=lambda n: (-SIZES[tensors[n][0]], n))
    header, off = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for n in order:
        dt, shape, raw = tensors[n]
        header[n] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(tensors[n][2] for n in order)


def raw_of(t):  # torch tensor -> little-endian bytes (uint8 view, as safetensors does)
    return t.contiguous().view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""


def make():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    ts = {
        "backbone.conv1.weight": torch.randn(4, 3, 3, 3, generator=g),
        "backbone.bn1.running_var": torch.rand(4, generator=g) + 0.5,
        "head.kernel": torch.randn(5, 7, generator=g),
        "head.batch_mean": torch.tensor(20.25),  # a scalar, shape []
        "empty": torch.zeros(0, 3),
        "half.weight": torch.tensor([1.0, -2.5, 6.1e-5, 3.0e-7, 65504.0, -0.0], dtype=torch.float16),
        "bf16.weight": torch.tensor([1.5, -3.140625, 1e30], dtype=torch.bfloat16),
        "f64.weight": torch.tensor([[math.pi, -math.e], [1e-3, 123456.789]], dtype=torch.float64),
        "unicod\u00e9.weight": torch.arange(3, dtype=torch.float32),
    }
    dts = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64"}
    tensors = {n: (dts[t.dtype], tuple(t.shape), raw_of(t)) for n, t in ts.items()}
    meta = {"source": "tools/ref_checkpoint.py", "quote": "a \"quoted\" \\ value\nwith a newline", "format": "none"}
    blob = serialize(tensors, meta)
    open(os.path.join(OUT, "python.safetensors"), "wb").write(blob)
    with open(os.path.join(OUT, "python_expected.txt"), "w", encoding="utf-8") as f:
        for k, v in meta.items():
            f.write("meta %s %s\n" % (k, json.dumps(v)))
        vals = []
        for n in sorted(ts):
            t = ts[n].to(torch.float32)
            f.write("tensor %s %d %s\n" % (json.dumps(n), t.dim(), " ".join(str(d) for d in t.shape)))
            vals.append(t.reshape(-1).numpy())
    np.concatenate(vals).astype("<f4").tofile(os.path.join(OUT, "python_expected.f32"))

    # damaged files: (name, bytes, status, message fragment)
    ok = {"a": ("F32", (2, 2), struct.pack("<4f", 1, 2, 3, 4)), "b": ("F32", (3,), struct.pack("<3f", 5, 6, 7))}
    good = serialize(ok, {"k": "v"})
    bad = []
    bad.append(("bad_truncated", good[:-5], "FORMAT", "out of bounds"))
    bad.append(("bad_header_len", struct.pack("<Q", 1 << 40) + good[8:], "FORMAT", "header length"))
    bad.append(("bad_header_cut", good[:20], "FORMAT", "truncated"))
    bad.append(("bad_not_st", b"PK\x03\x04 this is a zip file, not safetensors" + bytes(40), "FORMAT", "not a safetensors"))
    hdr = lambda d: (lambda h: struct.pack("<Q", len(h)) + h)(json.dumps(d).encode() + b" " * ((8 - len(json.dumps(d).encode()) % 8) % 8))
    data = struct.pack("<7f", *range(7))
    bad.append(("bad_dtype", hdr({"a": {"dtype": "F33", "shape": [7], "data_offsets": [0, 28]}}) + data,
                "FORMAT", "unknown dtype"))
    bad.append(("bad_int_dtype", hdr({"a": {"dtype": "I32", "shape": [7], "data_offsets": [0, 28]}}) + data,
                "UNSUPPORTED", "I32"))
    bad.append(("bad_oob", hdr({"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}) + data,
                "FORMAT", "out of bounds"))
    bad.append(("bad_shape", hdr({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 28]}}) + data,
                "FORMAT", "needs 24 bytes"))
    bad.append(("bad_overlap", hdr({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                    "b": {"dtype": "F32", "shape": [4], "data_offsets": [12, 28]}}) + data,
                "FORMAT", "overlap"))
    bad.append(("bad_hole", hdr({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
                                 "b": {"dtype": "F32", "shape": [3], "data_offsets": [16, 28]}}) + data,
                "FORMAT", "hole"))
    bad.append(("bad_json", struct.pack("<Q", 16) + b'{"a": {"dtype": ' + data, "FORMAT", "not valid JSON"))
    bad.append(("bad_meta", hdr({"__metadata__": {"k": 3}}), "FORMAT", "not a string"))
    bad.append(("bad_no_offsets", hdr({"a": {"dtype": "F32", "shape": [7]}}) + data, "FORMAT", "lacks data_offsets"))
    with open(os.path.join(OUT, "bad.txt"), "w") as f:
        for name, blob, status, frag in bad:
            open(os.path.join(OUT, name + ".safetensors"), "wb").write(blob)
            f.write(f"{name}.safetensors {status} {frag}\n")
    print("wrote", OUT)


def read(path):
    """Parse a safetensors file by the rules; returns (metadata, {name: torch tensor})."""
    buf = open(path, "rb").read()
    (n,) = struct.unpack("<Q", buf[:8])
    assert 8 + n <= len(buf), "header past the end"
    assert n % 8 == 0, "header not padded to 8"
    hb = buf[8:8 + n]
    assert hb.rstrip(b" ").endswith(b"}") and hb.startswith(b"{"), "header is not a JSON object"
    header = json.loads(hb)
    meta = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    data = buf[8 + n:]
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    at = 0
    for b, e, k in spans:
        assert b == at, f"{k}: hole or overlap at {b} (expected {at})"
        at = e
    assert at == len(data), "data section not tiled exactly"
    out = {}
    for k, v in header.items():
        b, e = v["data_offsets"]
        numel = math.prod(v["shape"])
        assert (e - b) == numel * SIZES[v["dtype"]], f"{k}: size mismatch"
        t = torch.frombuffer(bytearray(data[b:e]), dtype=TORCH[v["dtype"]]) if e > b else torch.zeros(0)
        out[k] = t.reshape(v["shape"])
    return meta, out


def check(path):
    """The checkpoint test_checkpoint.c writes: tensor k of its list has values
    sin(0.37 i + k) * (k + 1) (i = flat index), shapes below, and lqface's metadata."""
    meta, ts = read(path)
    spec = [("conv1.weight", [8, 3, 3, 3]), ("bn1.running_mean", [8]), ("fc.weight", [16, 8]),
            ("head.batch_mean", []), ("optim.fc.weight.momentum", [16, 8])]
    worst = 0.0
    for k, (name, shape) in enumerate(spec):
        t = ts[name]
        assert list(t.shape) == shape, f"{name}: shape {list(t.shape)} != {shape}"
        assert t.dtype == torch.float32
        n = max(1, math.prod(shape))
        want = torch.tensor([math.sin(0.37 * i + k) * (k + 1) for i in range(n)], dtype=torch.float32).reshape(shape)
        worst = max(worst, (t - want).abs().max().item())
    assert set(ts) == {s[0] for s in spec}, f"unexpected tensors {sorted(ts)}"
    for key in ("format", "format_version", "arch", "shortcut", "channel_order", "input_mean", "input_std",
                "input_size", "embedding_size", "head", "step", "epoch"):
        assert key in meta, f"metadata {key} missing"
    assert meta["format"] == "lqface-checkpoint" and meta["channel_order"] == "BGR" and meta["arch"] == "iresnet18"
    print(f"{path}: {len(ts)} tensors read with torch.frombuffer, max |diff| vs formula {worst:g}; "
          f"metadata {json.dumps(meta, sort_keys=True)}")
    assert worst <= 1e-6
    print("OK")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        make()
