"""lqface — face detection, alignment and embedding for low-quality faces, from Python.

A thin layer over the shared library liblqface (ctypes): the same code as the `lqface`
command, with numpy arrays in and out. Images are uint8 arrays (height, width, 3), RGB
unless order="bgr" (OpenCV's order); embeddings are float32 arrays, L2-normalised.

    import lqface
    det = lqface.Detector()               # the shipped YuNet, wherever lqface finds it
    emb = lqface.Embedder(flip=True)      # the shipped MobileFaceNet
    img = lqface.load_image("photo.jpg")
    faces = det.detect(img)               # [Face(box, score, landmarks)], best first
    crops = [lqface.align(img, f.landmarks) for f in faces]
    e, quality = emb.embed(crops)         # (n, 512) float32, (n,) feature norms
    lqface.compare(e[0], e[1])            # cosine similarity

Errors raise LqfaceError with the library's message (it names the file and the problem).
Gallery identification will be a Gallery class over the library's gallery when it lands.
"""
import ctypes
from collections import namedtuple

import numpy as np

from . import _lib
from ._lib import lib

__all__ = ["LqfaceError", "Face", "Detector", "Embedder", "load_image", "align", "load_aligned_face",
           "compare", "find_model", "resolve_contract", "set_num_threads",
           "DEFAULT_EMBEDDER", "DEFAULT_DETECTOR"]

DEFAULT_EMBEDDER = "mobilefacenet_fr512.onnx"  # LQF_DEFAULT_EMBEDDER
DEFAULT_DETECTOR = "yunet_n_640_640.onnx"      # LQF_DEFAULT_DETECTOR
_ORDERS = {"rgb": 0, "bgr": 1}
_PICKS = {"center": 0, "centre": 0, "score": 1, "largest": 2}
_FIELDS = ("size", "order", "mean", "std")


class LqfaceError(Exception):
    """A failed library call: status (lqf_status code), its name, and the library's message."""

    def __init__(self, status):
        self.status = status
        self.name = lib.lqf_status_string(status).decode()
        msg = lib.lqf_last_error().decode(errors="replace")
        super().__init__(msg or self.name)


def _check(status):
    if status != 0:
        raise LqfaceError(status)


def _order(order):
    try:
        return _ORDERS[order.lower()]
    except (KeyError, AttributeError):
        raise ValueError("order must be 'rgb' or 'bgr', got %r" % (order,)) from None


def _bytes(s):
    return s.encode() if isinstance(s, str) else bytes(s)


Face = namedtuple("Face", "box score landmarks")
Face.__doc__ = """A detected face: box (x1, y1, x2, y2) in pixels, score 0..1, landmarks (5, 2)
float32: left eye, right eye, nose, left mouth corner, right mouth corner (x, y)."""


def _face(fc):
    return Face((fc.x1, fc.y1, fc.x2, fc.y2), fc.score, np.array(fc.landmarks, np.float32).reshape(5, 2))


class _InImage:
    """A numpy image lent to the library as an lqf_image (no copy; kept alive with it)."""

    def __init__(self, array, order):
        a = np.asarray(array)
        if a.ndim == 2:
            a = np.repeat(a[:, :, None], 3, axis=2)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError("an image is a uint8 array (height, width, 3), got %s %s" % (a.dtype, a.shape))
        self.array = np.ascontiguousarray(a)
        h, w = self.array.shape[:2]
        self.c = _lib.Image(w, h, 3, _order(order), self.array.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))

    @property
    def ptr(self):
        return ctypes.pointer(self.c)


def _take_image(p):
    """Copy an lqf_image the library made into a numpy array and free it."""
    try:
        im = p.contents
        return np.ctypeslib.as_array(im.data, shape=(im.height, im.width, im.channels)).copy()
    finally:
        lib.lqf_image_free(p)


def set_num_threads(n):
    """Threads the library uses (OpenMP and the GEMM library); <= 0 restores the default."""
    lib.lqf_set_num_threads(int(n))


def find_model(name):
    """Path of a model by file name: $LQFACE_MODELS, $LQFACE_SHARED/models, the installation's
    share/lqface/models, the build tree's shared models (lqf_model_find)."""
    buf = ctypes.create_string_buffer(4096)
    _check(lib.lqf_model_find(_bytes(name), buf, len(buf)))
    return buf.value.decode()


def load_image(path, order="rgb"):
    """Decode a JPEG, PNG or PGM/PPM file (by content) into (height, width, 3) uint8."""
    p = ctypes.POINTER(_lib.Image)()
    _check(lib.lqf_image_load(_bytes(path), _order(order), ctypes.byref(p)))
    return _take_image(p)


def align(image, landmarks, size=112, order="rgb"):
    """The face with these 5 landmarks ((5, 2) or 10 values, image pixels) aligned to the
    ArcFace template scaled to size x size, in the image's channel order."""
    lm = np.ascontiguousarray(np.asarray(landmarks, np.float32).reshape(10))
    src = _InImage(image, order)
    p = ctypes.POINTER(_lib.Image)()
    _check(lib.lqf_align_face(src.ptr, lm.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), int(size), ctypes.byref(p)))
    return _take_image(p)


class _Handle:
    """An object of the library with a free function, closed by close() or `with`."""
    _free = None

    def __init__(self):
        self._h = ctypes.c_void_p()

    def close(self):
        if self._h:
            type(self)._free(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if lib is not None:
            self.close()


class Detector(_Handle):
    """A face detector: YuNet (default) or RetinaFace ONNX. model None: the shipped YuNet-640."""
    _free = lib.lqf_detector_free

    def __init__(self, model=None, score_threshold=0.6, nms_threshold=0.3, top_k=5000, max_faces=0):
        super().__init__()
        self.model = model or find_model(DEFAULT_DETECTOR)
        o = _lib.DetectOptions()
        lib.lqf_detect_options_default(ctypes.byref(o))
        o.score_threshold, o.nms_threshold, o.top_k, o.max_faces = score_threshold, nms_threshold, top_k, max_faces
        _check(lib.lqf_detector_load(_bytes(self.model), ctypes.byref(o), ctypes.byref(self._h)))

    def detect(self, image, order="rgb"):
        """Faces of the image, by descending score."""
        src = _InImage(image, order)
        faces = ctypes.POINTER(_lib.FaceC)()
        n = ctypes.c_int()
        _check(lib.lqf_detect(self._h, src.ptr, ctypes.byref(faces), ctypes.byref(n)))
        try:
            return [_face(faces[i]) for i in range(n.value)]
        finally:
            _lib.libc.free(ctypes.cast(faces, ctypes.c_void_p))


def load_aligned_face(path, detector=None, pick="center", size=112, order="rgb"):
    """The command line's one-face-per-photo step: load the photo, detect, keep one face (pick:
    center, score or largest) and align it. detector None: the file is an aligned face.
    Returns (crop, Face or None)."""
    if pick not in _PICKS:
        raise ValueError("pick must be center, score or largest, got %r" % (pick,))
    p = ctypes.POINTER(_lib.Image)()
    fc = _lib.FaceC()
    h = detector._h if detector is not None else None
    _check(lib.lqf_load_aligned_face(h, _bytes(path), _PICKS[pick], int(size), _order(order), ctypes.byref(p),
                                     ctypes.byref(fc)))
    return _take_image(p), (_face(fc) if detector is not None else None)


def _contract_dict(c, source=None):
    d = {"size": (c.width, c.height), "order": "bgr" if c.order == 1 else "rgb",
         "mean": tuple(c.mean), "std": tuple(c.std)}
    if source is not None:
        d["source"] = {f: lib.lqf_contract_source_name(source[k]).decode() for k, f in enumerate(_FIELDS)}
    return d


def _contract_flags(contract, order, mean, std, input_size, flip):
    spec = _lib.ContractSpec()
    if contract:
        _check(lib.lqf_contract_parse(_bytes(contract), ctypes.byref(spec)))
    for key, val in (("order", order), ("mean", mean), ("std", std), ("size", input_size)):
        if val is None:
            continue
        if isinstance(val, (tuple, list, np.ndarray)):
            val = ("x" if key == "size" else ",").join("%r" % (float(v) if key != "size" else int(v)) for v in val)
        _check(lib.lqf_contract_set(ctypes.byref(spec), key.encode(), _bytes(str(val))))
    spec.c.flip_fusion = 1 if flip else 0
    return spec


def resolve_contract(model=None, contract=None, order=None, mean=None, std=None, input_size=None):
    """The input contract the embedding model gets under these flags, with the source of each
    field (flags, file metadata, checkpoint, default): what `lqface info` prints."""
    model = model or find_model(DEFAULT_EMBEDDER)
    spec = _contract_flags(contract, order, mean, std, input_size, False)
    info = _lib.ContractInfo()
    _check(lib.lqf_contract_resolve(_bytes(model), ctypes.byref(spec), ctypes.byref(info)))
    return _contract_dict(info.c, info.source)


class Embedder(_Handle):
    """An embedding model (ONNX or lqface checkpoint; None: the shipped MobileFaceNet).

    Its input contract is resolved as on the command line: contract (a spec such as
    "bgr,mean=127.5,std=128") and order / mean / std / input_size (one value or three;
    input_size S or (W, H)) over the file's metadata, a checkpoint's, the default.
    flip: flip fusion (embedding of the face plus its mirror image)."""
    _free = lib.lqf_embedder_free

    def __init__(self, model=None, flip=False, contract=None, order=None, mean=None, std=None, input_size=None):
        super().__init__()
        self.model = model or find_model(DEFAULT_EMBEDDER)
        spec = _contract_flags(contract, order, mean, std, input_size, flip)
        info = _lib.ContractInfo()
        _check(lib.lqf_contract_resolve(_bytes(self.model), ctypes.byref(spec), ctypes.byref(info)))
        _check(lib.lqf_embedder_load(_bytes(self.model), ctypes.byref(info.c), ctypes.byref(self._h)))
        self.contract = _contract_dict(info.c, info.source)
        self.dim = lib.lqf_embedder_dim(self._h)

    def embed(self, faces, order="rgb"):
        """Embed aligned faces (a list of (S, S, 3) arrays or one (n, S, S, 3) array, S the
        contract's size). Returns (embeddings (n, dim) float32, quality (n,) float32: the feature
        norm of the unflipped face, AdaFace's quality value)."""
        imgs = [_InImage(f, order) for f in faces]
        n = len(imgs)
        emb = np.zeros((n, self.dim), np.float32)
        q = np.zeros(n, np.float32)
        if n:
            ptrs = (ctypes.POINTER(_lib.Image) * n)(*[im.ptr for im in imgs])
            _check(lib.lqf_embedder_embed(self._h, ptrs, n, emb.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                          q.ctypes.data_as(ctypes.POINTER(ctypes.c_float))))
        return emb, q


def compare(a, b):
    """Cosine similarity of two L2-normalised embeddings (squared-L2 distance = 2 - 2 cos)."""
    a = np.ascontiguousarray(a, np.float32).ravel()
    b = np.ascontiguousarray(b, np.float32).ravel()
    if a.shape != b.shape:
        raise ValueError("embeddings of different sizes: %d and %d" % (a.size, b.size))
    fp = ctypes.POINTER(ctypes.c_float)
    return float(lib.lqf_cosine(a.ctypes.data_as(fp), b.ctypes.data_as(fp), a.size))
