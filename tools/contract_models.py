#!/usr/bin/python3
"""contract_models.py — models for the input-contract test (tests/cli_contract.sh), written at
test time (the BGR one is a 4.9 MB copy of a shared model: not kept in the repository).

  contract_models.py MODEL.onnx OUTDIR writes into OUTDIR
    bgr.onnx   MODEL (the shipped MobileFaceNet, RGB input) with the input channels of its
               first convolution reversed: it expects BGR faces and gives MODEL's embeddings
               when fed them
    open.onnx  a small embedding network whose input height and width are open (symbolic):
               Conv 3->8 3x3 pad 1, Relu, GlobalAveragePool, Flatten (fixed-seed weights)
    crop0..3.ppm, open_ref.f32
               four 96x96 RGB test faces (smooth random images, fixed seed) and open.onnx's
               embeddings of them computed in numpy: (x - 127.5) / 128, the network, L2
               normalisation (float32, one row of 8 per crop)

Needs Debian's python3-onnx and python3-numpy.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, load, numpy_helper, save


def make(model_path, outdir):
    m = load(model_path)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    image = [i.name for i in g.input if i.name not in inits]
    assert len(image) == 1, "one image input expected, got %s" % image
    convs = [n for n in g.node if image[0] in n.input]
    assert len(convs) == 1 and convs[0].op_type == "Conv", "the image must feed one Conv"
    w_init = inits[convs[0].input[1]]
    w = numpy_helper.to_array(w_init)
    assert w.ndim == 4 and w.shape[1] == 3, "first Conv weight %s" % (w.shape,)
    w_init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w[:, ::-1]), w_init.name))
    save(m, os.path.join(outdir, "bgr.onnx"))

    rng = np.random.default_rng(16)
    W = numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "W")
    B = numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "B")
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 8])
    nodes = [helper.make_node("Conv", ["input", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["embedding"], axis=1)]
    om = helper.make_model(helper.make_graph(nodes, "open_size", [x], [y], [W, B]),
                           opset_imports=[helper.make_opsetid("", 11)], producer_name="contract_models")
    om.ir_version = 7
    save(om, os.path.join(outdir, "open.onnx"))
    crops(outdir, numpy_helper.to_array(W).astype(np.float64), numpy_helper.to_array(B).astype(np.float64))


def open_reference(W, B, img):
    """open.onnx in numpy (float64) for one RGB uint8 image: the L2-normalised embedding."""
    h, w = img.shape[:2]
    x = np.pad((img.astype(np.float64) - 127.5) / 128.0, ((1, 1), (1, 1), (0, 0)))
    c = np.zeros((h, w, len(B))) + B
    for dy in range(3):
        for dx in range(3):
            c += np.einsum("hwi,oi->hwo", x[dy:dy + h, dx:dx + w], W[:, :, dy, dx])
    e = np.maximum(c, 0).mean(axis=(0, 1))
    return e / np.linalg.norm(e)


def crops(outdir, W, B):
    rng = np.random.default_rng(96)
    rows = []
    for k in range(4):
        coarse = rng.uniform(0, 255, (12, 12, 3))
        img = np.clip(np.kron(coarse, np.ones((8, 8, 1))) + rng.normal(0, 12, (96, 96, 3)), 0, 255).astype(np.uint8)
        with open(os.path.join(outdir, "crop%d.ppm" % k), "wb") as f:
            f.write(b"P6\n96 96\n255\n" + img.tobytes())
        rows.append(open_reference(W, B, img))
    np.asarray(rows, np.float32).tofile(os.path.join(outdir, "open_ref.f32"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    make(sys.argv[1], sys.argv[2])
