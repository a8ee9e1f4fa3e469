#!/usr/bin/python3
"""make_rec_fixture.py — independent reference data for lqface's data readers (src/data/).

Writes into tests/data/recordio/ (run with Debian's /usr/bin/python3 from the repo root):
  fixture.rec/.idx/property  an insightface-style MXNet RecordIO pack written here with
                             Python's struct, following dmlc-core's RecordIOWriter::WriteRecord
                             (split at every 4-aligned occurrence of the magic) and mxnet's
                             recordio.pack (IRHeader 'IfQQ' + flag float32 labels + image):
                             12 ORL images (PNG and JPEG via cv2.imencode) as keys 1..12 with
                             flag 0, 2 and 3 headers, record 0 = meta (flag 2, [13, 17])
                             written AFTER the images as insightface's face2rec2.py does, and
                             identity records 13..16 with [img_a, img_b).  Key 5 carries
                             trailing bytes holding the magic (aligned, twice in a row, at the
                             very end, and once unaligned); key 7 has id2 == magic, so the
                             split falls inside the IRHeader.
  fixture_expected.txt       per record: key offset flag label id id2 nlabels labels...
                             image_len sha256(image); then per dataset item: key label sha256.
  plain/plain.rec/.idx       plain im2rec-style pack (record 0 is an image, flag 0), keys 0 5 9,
                             no property file (num_classes = max label + 1).
  plain/plain_expected.txt   same columns as the dataset lines above.
  pack_expected.txt          sha256 of the .rec/.idx/property that lqf_rec_pack must produce
                             (meta and plain mode) for the folder test_recordio.c builds:
                             ORL s10, s2, s9 x {1,10,2}.pgm, s2/10.pgm with a trailer holding
                             the magic, plus files that are not images.
  orl_folder.txt             the image-folder dataset over ORL: index label relpath sha256.
  orl_list.txt, orl_list_expected.txt  a list-file dataset ("relpath label") and its items.
  lfw_split.txt              LFW pairs.txt fold identity split (folds 1-9 vs 10): counts and
                             sha256 of the sorted name lists, image counts in lfw-deepfunneled.
"""
import hashlib
import os
import struct
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("LQFACE_SHARED", os.path.join(ROOT, "..", "shared"))
ORL = os.path.join(SHARED, "data", "orl", "att_faces")
LFW = os.path.join(SHARED, "data", "lfw")
OUT = os.path.join(ROOT, "tests", "data", "recordio")
MAGIC = 0xCED7230A
MAGIC_B = struct.pack("<I", MAGIC)
IMG_EXT = (".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".pnm")


def sha(b):
    return hashlib.sha256(b).hexdigest()


def f32(x):
    return float(np.float32(x))


# ------------------------------------------------------------------ MXNet formats
def write_record(payload):
    """Bytes of one record as dmlc-core RecordIOWriter::WriteRecord lays it out."""
    out = bytearray()
    n = len(payload)
    lower = n // 4 * 4
    dptr = 0
    for i in range(0, lower, 4):
        if payload[i:i + 4] == MAGIC_B:
            cflag = 1 if dptr == 0 else 2
            out += MAGIC_B + struct.pack("<I", (cflag << 29) | (i - dptr)) + payload[dptr:i]
            dptr = i + 4
    cflag = 3 if dptr != 0 else 0
    out += MAGIC_B + struct.pack("<I", (cflag << 29) | (n - dptr)) + payload[dptr:]
    out += b"\0" * ((-n) % 4)
    return bytes(out)


def ir_pack(label, id_, id2, img):
    """mxnet.recordio.pack: a number label -> flag 0; a list -> flag = len, label field 0."""
    if isinstance(label, (list, tuple)):
        lab = np.asarray(label, dtype=np.float32)
        return struct.pack("<IfQQ", lab.size, 0.0, id_, id2) + lab.tobytes() + img
    return struct.pack("<IfQQ", 0, label, id_, id2) + img


def ir_unpack(s):
    flag, label, id_, id2 = struct.unpack("<IfQQ", s[:24])
    labels = list(np.frombuffer(s[24:24 + 4 * flag], dtype=np.float32)) if flag else []
    return flag, label, id_, id2, labels, s[24 + 4 * flag:]


class RecWriter:
    def __init__(self):
        self.data = bytearray()
        self.idx = []

    def write(self, key, payload):
        self.idx.append((key, len(self.data)))
        self.data += write_record(payload)

    def idx_text(self):
        return "".join("%d\t%d\n" % kv for kv in self.idx).encode()

    def save(self, prefix):
        with open(prefix + ".rec", "wb") as f:
            f.write(self.data)
        with open(prefix + ".idx", "wb") as f:
            f.write(self.idx_text())


def orl_image(ident, num):
    return cv2.imread(os.path.join(ORL, "s%d" % ident, "%d.pgm" % num), cv2.IMREAD_GRAYSCALE)


def list_images(d):
    return sorted(f for f in os.listdir(d)
                  if not f.startswith(".") and f.lower().endswith(IMG_EXT)
                  and os.path.isfile(os.path.join(d, f)))


def list_identities(root):
    ids = []
    for name in sorted(os.listdir(root)):
        p = os.path.join(root, name)
        if name.startswith(".") or not os.path.isdir(p):
            continue
        if list_images(p):
            ids.append(name)
    return ids


# ------------------------------------------------------------------ fixture.rec (meta style)
def make_fixture():
    idents = [5, 12, 23, 38]
    images = []  # (class, encoded bytes)
    for c, ident in enumerate(idents):
        for j, num in enumerate((1, 4, 9)):
            img = orl_image(ident, num)
            if (c + j) % 2 == 0:
                ok, enc = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            else:
                ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
            assert ok
            images.append((c, enc.tobytes(), "s%d/%d.pgm" % (ident, num), "png" if (c + j) % 2 == 0 else "jpg"))

    w = RecWriter()
    records = {}  # key -> payload
    n = len(images)
    for k in range(1, n + 1):
        c, enc = images[k - 1][:2]
        id2 = 0
        if k % 3 == 0:
            label = float(c)
        elif k % 3 == 1:
            label = [float(c), 1.0]
        else:
            label = [float(c), 0.25, -7.5]
        if k == 5:
            hdr = len(ir_pack(label, k, 0, b""))
            pad = (-(hdr + len(enc))) % 4
            # aligned magic twice in a row, an unaligned one, and one ending the payload
            enc = enc + b"\0" * pad + MAGIC_B + MAGIC_B + b"lq" + MAGIC_B + b"fa" + MAGIC_B
        if k == 7:
            id2 = MAGIC
        records[k] = ir_pack(label, k, id2, enc)
    id_start = n + 1
    identities = []
    for c in range(len(idents)):
        ks = [k for k in range(1, n + 1) if images[k - 1][0] == c]
        identities.append((min(ks), max(ks) + 1))
    records[0] = ir_pack([float(id_start), float(id_start + len(identities))], 0, 0, b"")
    for i, (a, b) in enumerate(identities):
        records[id_start + i] = ir_pack([float(a), float(b)], id_start + i, 0, b"")

    order = list(range(1, n + 1)) + [0] + list(range(id_start, id_start + len(identities)))
    for k in order:
        w.write(k, records[k])
    w.save(os.path.join(OUT, "fixture"))
    with open(os.path.join(OUT, "property"), "w") as f:
        f.write("%d,%d,%d\n" % (len(idents), 112, 92))

    split = [k for k in order if write_record(records[k]).count(MAGIC_B) > 1]
    assert 5 in split and 7 in split, split

    offs = dict(w.idx)
    lines = ["# record: key offset flag label id id2 nlabels labels... image_len sha256(image)"]
    for k in order:
        flag, label, id_, id2, labels, img = ir_unpack(records[k])
        lines.append("record %d %d %d %.9g %d %d %d %s %d %s" % (
            k, offs[k], flag, f32(label), id_, id2, len(labels),
            " ".join("%.9g" % f32(x) for x in labels), len(img), sha(img)))
    lines.append("# dataset item: index key label sha256(image) source encoding")
    for i, k in enumerate(range(1, id_start)):
        flag, label, _, _, labels, img = ir_unpack(records[k])
        cls = int(labels[0]) if flag else int(label)
        lines.append("item %d %d %d %s %s %s" % (i, k, cls, sha(img), images[k - 1][2], images[k - 1][3]))
    lines.append("meta %d %d %d" % (id_start, id_start + len(identities), len(idents)))
    lines.append("split_keys %s" % " ".join(str(k) for k in split))
    with open(os.path.join(OUT, "fixture_expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return images


def make_plain(images):
    w = RecWriter()
    lines = ["# dataset item: index key label sha256(image)"]
    for i, (key, src, label) in enumerate([(0, 2, 0), (5, 4, 1), (9, 10, 1)]):
        enc = images[src][1]
        w.write(key, ir_pack(float(label), key, 0, enc))
        lines.append("item %d %d %d %s" % (i, key, label, sha(enc)))
    os.makedirs(os.path.join(OUT, "plain"), exist_ok=True)
    w.save(os.path.join(OUT, "plain", "plain"))
    lines.append("num_classes 2")
    with open(os.path.join(OUT, "plain", "plain_expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------ expected lqf_rec_pack output
def pack_folder_files():
    """The folder test_recordio.c builds: {identity: {file: bytes}}; non-images included."""
    folder = {}
    for ident in ("s10", "s2", "s9"):
        files = {}
        for num in ("1", "10", "2"):
            with open(os.path.join(ORL, ident, num + ".pgm"), "rb") as f:
                files[num + ".pgm"] = f.read()
        folder[ident] = files
    b = folder["s2"]["10.pgm"]
    pad = (-(24 + len(b))) % 4
    folder["s2"]["10.pgm"] = b + b"\0" * pad + MAGIC_B + MAGIC_B + b"tail" + MAGIC_B
    folder["s9"]["notes.txt"] = b"not an image\n"
    return folder


def pack_reference(folder, plain):
    ids = sorted(i for i in folder if any(f.lower().endswith(IMG_EXT) for f in folder[i]))
    items = []
    for c, ident in enumerate(ids):
        for fn in sorted(f for f in folder[ident] if f.lower().endswith(IMG_EXT)):
            items.append((c, folder[ident][fn]))
    w = RecWriter()
    n = len(items)
    if plain:
        for k, (c, b) in enumerate(items):
            w.write(k, ir_pack(float(c), k, 0, b))
    else:
        id_start = n + 1
        w.write(0, ir_pack([float(id_start), float(id_start + len(ids))], 0, 0, b""))
        for k, (c, b) in enumerate(items, start=1):
            w.write(k, ir_pack(float(c), k, 0, b))
        for c in range(len(ids)):
            ks = [k for k, it in enumerate(items, start=1) if it[0] == c]
            w.write(id_start + c, ir_pack([float(min(ks)), float(max(ks) + 1)], id_start + c, 0, b""))
    first = items[0][1]
    wdt, hgt = [int(x) for x in first.split(b"\n")[1].split()]
    prop = ("%d,%d,%d\n" % (len(ids), hgt, wdt)).encode()
    return bytes(w.data), w.idx_text(), prop, n, len(ids)


def make_pack_expected():
    folder = pack_folder_files()
    lines = []
    for mode, plain in (("meta", False), ("plain", True)):
        rec, idx, prop, n, k = pack_reference(folder, plain)
        assert rec.count(MAGIC_B) > n + (0 if plain else k + 1)  # the trailer was split
        lines.append("%s images %d classes %d rec %d %s idx %s property %s" % (
            mode, n, k, len(rec), sha(rec), sha(idx), sha(prop)))
    with open(os.path.join(OUT, "pack_expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------ datasets
def make_orl_folder():
    ids = list_identities(ORL)
    lines = []
    i = 0
    for c, ident in enumerate(ids):
        for fn in list_images(os.path.join(ORL, ident)):
            with open(os.path.join(ORL, ident, fn), "rb") as f:
                lines.append("%d %d %s/%s %s" % (i, c, ident, fn, sha(f.read())))
            i += 1
    with open(os.path.join(OUT, "orl_folder.txt"), "w") as f:
        f.write("classes %d images %d\n" % (len(ids), i))
        f.write("\n".join(lines) + "\n")


def make_orl_list():
    rng = np.random.RandomState(7)
    entries = []
    for ident in rng.choice(np.arange(1, 41), 6, replace=False):
        for num in rng.choice(np.arange(1, 11), 3, replace=False):
            entries.append(("s%d/%d.pgm" % (ident, num), int(ident) % 5))
    order = rng.permutation(len(entries))
    entries = [entries[j] for j in order]
    with open(os.path.join(OUT, "orl_list.txt"), "w") as f:
        f.write("# ORL subset: relative path, label\n")
        for p, l in entries:
            f.write("%s %d\n" % (p, l))
    with open(os.path.join(OUT, "orl_list_expected.txt"), "w") as f:
        f.write("classes %d images %d\n" % (max(l for _, l in entries) + 1, len(entries)))
        for i, (p, l) in enumerate(entries):
            with open(os.path.join(ORL, p), "rb") as g:
                f.write("%d %d %s %s\n" % (i, l, p, sha(g.read())))


def make_lfw_split(test_fold=10):
    with open(os.path.join(LFW, "pairs.txt")) as f:
        lines = [l.split() for l in f.read().splitlines() if l.strip()]
    nfold, n = int(lines[0][0]), int(lines[0][1])
    folds = []
    for k in range(nfold):
        names = set()
        for t in lines[1 + k * 2 * n: 1 + (k + 1) * 2 * n]:
            if len(t) == 3:
                names.add(t[0])
            else:
                names.update((t[0], t[2]))
        folds.append(names)
    test = sorted(folds[test_fold - 1])
    train = sorted(set().union(*[folds[k] for k in range(nfold) if k != test_fold - 1]) - set(test))
    root = os.path.join(LFW, "lfw-deepfunneled")
    n_train = sum(len(list_images(os.path.join(root, x))) for x in train)
    n_test = sum(len(list_images(os.path.join(root, x))) for x in test)
    joined = lambda names: "".join(x + "\n" for x in names).encode()
    with open(os.path.join(OUT, "lfw_split.txt"), "w") as f:
        f.write("test_fold %d\n" % test_fold)
        f.write("train_identities %d\ntest_identities %d\n" % (len(train), len(test)))
        f.write("train_images %d\ntest_images %d\n" % (n_train, n_test))
        f.write("train_names_sha256 %s\ntest_names_sha256 %s\n" % (sha(joined(train)), sha(joined(test))))
        f.write("first_train %s\nfirst_test %s\n" % (train[0], test[0]))


def main():
    os.makedirs(OUT, exist_ok=True)
    images = make_fixture()
    make_plain(images)
    make_pack_expected()
    make_orl_folder()
    make_orl_list()
    make_lfw_split()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print("wrote %s (%d bytes)" % (OUT, total))


if __name__ == "__main__":
    sys.exit(main())
