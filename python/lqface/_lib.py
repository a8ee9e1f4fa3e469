"""_lib.py — loading liblqface.so and the ctypes declarations of the part of its public API
(include/lqface.h) the module uses.

The library is, in this order: $LQFACE_LIB; the one _paths.py names (CMake writes it into
the build tree's python/lqface and into the installed module, relative there); the system
loader's liblqface.
"""
import ctypes
import ctypes.util
import os
from ctypes import POINTER, c_char_p, c_double, c_float, c_int, c_size_t, c_uint, c_uint8, c_void_p


class Image(ctypes.Structure):
    """lqf_image: 8-bit interleaved height x width x channels."""
    _fields_ = [("width", c_int), ("height", c_int), ("channels", c_int), ("order", c_int),
                ("data", POINTER(c_uint8))]


class FaceC(ctypes.Structure):
    """lqf_face: box, score, 5 landmarks (x, y)."""
    _fields_ = [("x1", c_float), ("y1", c_float), ("x2", c_float), ("y2", c_float), ("score", c_float),
                ("landmarks", c_float * 10)]


class DetectOptions(ctypes.Structure):
    _fields_ = [("score_threshold", c_float), ("nms_threshold", c_float), ("top_k", c_int), ("max_faces", c_int)]


class InputContract(ctypes.Structure):
    _fields_ = [("width", c_int), ("height", c_int), ("order", c_int), ("mean", c_float * 3), ("std", c_float * 3),
                ("flip_fusion", c_int)]


N_FIELDS = 4  # LQF_CONTRACT_NFIELDS: size, order, mean, std


class ContractSpec(ctypes.Structure):
    _fields_ = [("has", c_uint), ("c", InputContract)]


class ContractInfo(ctypes.Structure):
    _fields_ = [("c", InputContract), ("source", c_int * N_FIELDS)]


def _library_path():
    env = os.environ.get("LQFACE_LIB")
    if env:
        return env
    try:
        from . import _paths
        return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), _paths.LIBRARY))
    except ImportError:
        pass
    found = ctypes.util.find_library("lqface")
    if found:
        return found
    raise OSError("liblqface not found: install lqface (cmake --install), use the module of a build tree "
                  "(build/python), or set LQFACE_LIB to liblqface.so")


lib = ctypes.CDLL(_library_path())
libc = ctypes.CDLL(None)
libc.free.argtypes = [c_void_p]
libc.free.restype = None

_SIGNATURES = {
    "lqf_status_string": (c_char_p, [c_int]),
    "lqf_last_error": (c_char_p, []),
    "lqf_set_num_threads": (None, [c_int]),
    "lqf_image_load": (c_int, [c_char_p, c_int, POINTER(POINTER(Image))]),
    "lqf_image_free": (None, [POINTER(Image)]),
    "lqf_align_face": (c_int, [POINTER(Image), POINTER(c_float), c_int, POINTER(POINTER(Image))]),
    "lqf_detect_options_default": (None, [POINTER(DetectOptions)]),
    "lqf_detector_load": (c_int, [c_char_p, POINTER(DetectOptions), POINTER(c_void_p)]),
    "lqf_detector_free": (None, [c_void_p]),
    "lqf_detect": (c_int, [c_void_p, POINTER(Image), POINTER(POINTER(FaceC)), POINTER(c_int)]),
    "lqf_load_aligned_face": (c_int, [c_void_p, c_char_p, c_int, c_int, c_int, POINTER(POINTER(Image)),
                                      POINTER(FaceC)]),
    "lqf_contract_set": (c_int, [POINTER(ContractSpec), c_char_p, c_char_p]),
    "lqf_contract_parse": (c_int, [c_char_p, POINTER(ContractSpec)]),
    "lqf_contract_source_name": (c_char_p, [c_int]),
    "lqf_contract_resolve": (c_int, [c_char_p, POINTER(ContractSpec), POINTER(ContractInfo)]),
    "lqf_embedder_load": (c_int, [c_char_p, POINTER(InputContract), POINTER(c_void_p)]),
    "lqf_embedder_free": (None, [c_void_p]),
    "lqf_embedder_dim": (c_int, [c_void_p]),
    "lqf_embedder_contract": (None, [c_void_p, POINTER(InputContract)]),
    "lqf_embedder_embed": (c_int, [c_void_p, POINTER(POINTER(Image)), c_int, POINTER(c_float), POINTER(c_float)]),
    "lqf_cosine": (c_float, [POINTER(c_float), POINTER(c_float), c_int]),
    "lqf_model_find": (c_int, [c_char_p, c_char_p, c_size_t]),
    "lqf_now": (c_double, []),
}
for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
