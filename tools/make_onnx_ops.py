#!/usr/bin/python3
"""make_onnx_ops.py — small synthetic ONNX models covering the operators and attribute forms
the six shared models do not use (tests/test_onnx_ops.c).

Writes tests/data/onnx/ops_<name>.onnx (random seeded weights, dynamic batch "N") and
ops_<name>_in.f32 (random input, batch 2). tools/ref_onnx.js then runs ONNX Runtime on them
and writes ops_<name>_out.f32. Needs Debian's python3-onnx (onnx.helper only; no runtime).

  convbn  (opset 13): Conv without bias + BatchNormalization + Relu, 1x1 Conv + BN + residual
                      Add, PRelu with one shared slope, MaxPool 3x3/2 pads 1, Resize by `sizes`
                      (nearest, asymmetric/floor) computed by Shape/Slice/Concat, Mul by a scalar, Sigmoid; two outputs
  dense   (opset 11): Conv with dilation 2 and asymmetric pads, Conv with SAME_UPPER, Flatten, MatMul, Add/Sub/
                      Div/Mul with constants, Softmax (axis -1), Identity, Dropout; a second
                      output through ReduceSum(keepdims=0) and Unsqueeze
  layout  (opset 9):  Transpose then Relu on the transposed 4-D tensor, Concat on axes 1 and 2,
                      Upsample (scales input), Sub of a [C,1,1] constant, Div of two
                      activations, LeakyRelu, Reshape with 0 and -1, Gemm (alpha, beta, transB=0),
                      Exp, Squeeze/Unsqueeze (attributes), Clip (attributes), Softmax over
                      the flattened C,H,W (opset < 13 semantics)
  misc    (opset 11): Clip (inputs), GlobalAveragePool, Tanh, Abs, Sqrt, ReduceMean, ReduceL2 +
                      Div (an L2-normalised embedding), Pow 2, Neg, Reciprocal, a zero Pad
                      (pads input) folded into the strided Conv that reads it

Run: /usr/bin/python3 tools/make_onnx_ops.py   (then: node tools/ref_onnx.js)
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests/data/onnx")
rng = np.random.default_rng(20261122)


def w(*shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def save(name, nodes, inits, in_shape, outputs, opset, batch=2):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + list(in_shape[1:]))
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    g = helper.make_graph(nodes, name, [x], outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_onnx_ops")
    m.ir_version = 7
    onnx.save(m, os.path.join(OUT, f"ops_{name}.onnx"))
    xin = rng.uniform(-1.5, 1.5, size=[batch] + list(in_shape[1:])).astype(np.float32)
    xin.tofile(os.path.join(OUT, f"ops_{name}_in.f32"))
    print(f"ops_{name}.onnx: {len(nodes)} nodes, input {xin.shape}")


def convbn():
    C = 8
    bn = lambda p: [init(p + "_g", rng.uniform(0.5, 1.5, C).astype(np.float32)), init(p + "_b", w(C)),
                    init(p + "_m", w(C)), init(p + "_v", rng.uniform(0.5, 2.0, C).astype(np.float32))]
    inits = [init("w1", w(C, 3, 3, 3)), init("w2", w(C, C, 1, 1)), init("b2", w(C)),
             init("slope", np.array([0.2], np.float32)), init("hw", np.array([16, 24], np.int64)),
             init("s0", np.array([0], np.int64)), init("s2", np.array([2], np.int64)),
             init("k", np.array(1.7, np.float32))] + bn("bn1") + bn("bn2")
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1_g", "bn1_b", "bn1_m", "bn1_v"], ["n1"], epsilon=1e-3),
        helper.make_node("Relu", ["n1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[1, 1]),
        helper.make_node("BatchNormalization", ["c2", "bn2_g", "bn2_b", "bn2_m", "bn2_v"], ["n2"]),
        helper.make_node("Add", ["n2", "r1"], ["a"]),
        helper.make_node("PRelu", ["a", "slope"], ["p"]),
        helper.make_node("MaxPool", ["p"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["mp"], ["shp"]),
        helper.make_node("Slice", ["shp", "s0", "s2"], ["nc"]),
        helper.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
        helper.make_node("Resize", ["mp", "", "", "sizes"], ["y"], mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        helper.make_node("Mul", ["y", "k"], ["yk"]),
        helper.make_node("Sigmoid", ["yk"], ["s"]),
    ]
    save("convbn", nodes, inits, [1, 3, 16, 12], ["y", "s"], 13)


def dense():
    inits = [init("wd", w(5, 3, 3, 3)), init("w", w(6, 5, 3, 3)), init("b", w(6)), init("B", w(6 * 4 * 4, 10, scale=0.1)),
             init("bias", w(10)), init("sub", w(1, 10)), init("div", rng.uniform(0.5, 2, 10).astype(np.float32)),
             init("mul", np.array([1.5], np.float32))]
    nodes = [
        helper.make_node("Conv", ["x", "wd"], ["cd"], kernel_shape=[3, 3], dilations=[2, 2], pads=[2, 1, 2, 3]),
        helper.make_node("Conv", ["cd", "w", "b"], ["c"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Flatten", ["c"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "B"], ["mm"]),
        helper.make_node("Add", ["mm", "bias"], ["a"]),
        helper.make_node("Sub", ["a", "sub"], ["s"]),
        helper.make_node("Div", ["s", "div"], ["d"]),
        helper.make_node("Mul", ["mul", "d"], ["m"]),
        helper.make_node("Softmax", ["m"], ["sm"], axis=-1),
        helper.make_node("Identity", ["sm"], ["id"]),
        helper.make_node("Dropout", ["id"], ["y"]),
        helper.make_node("ReduceSum", ["c"], ["rs"], axes=[1], keepdims=0),
        helper.make_node("Unsqueeze", ["rs"], ["z"], axes=[1]),
    ]
    save("dense", nodes, inits, [1, 3, 8, 8], ["y", "z"], 11)


def layout():
    inits = [init("cst", w(4, 1, 1)), init("scales", np.array([1, 1, 2, 3], np.float32)),
             init("shape", np.array([0, -1], np.int64)), init("G", w(7, 6 * 6 * 4 * 2 + 0, scale=0.1).T.copy()),
             init("gc", w(7))]
    # G is [K, N] = [288, 7] after the transpose above; Gemm with transB=0
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),       # [N,6,6,4]
        helper.make_node("Relu", ["t"], ["tr"]),
        helper.make_node("Transpose", ["tr"], ["t2"], perm=[0, 3, 1, 2]),     # back to [N,4,6,6]
        helper.make_node("Sub", ["t2", "cst"], ["sb"]),
        helper.make_node("LeakyRelu", ["sb"], ["lr"], alpha=0.2),
        helper.make_node("Concat", ["lr", "x"], ["cat1"], axis=1),            # [N,8,6,6]
        helper.make_node("Exp", ["x"], ["ex"]),
        helper.make_node("Div", ["x", "ex"], ["dv"]),
        helper.make_node("Concat", ["dv", "sb"], ["cat2"], axis=2),           # [N,4,12,6]
        helper.make_node("Upsample", ["cat2", "scales"], ["up"], mode="nearest"),  # [N,4,24,18]
        helper.make_node("Reshape", ["cat1", "shape"], ["flat"]),             # [N,288]
        helper.make_node("Gemm", ["flat", "G", "gc"], ["gm"], alpha=0.5, beta=2.0),
        helper.make_node("Unsqueeze", ["gm"], ["u"], axes=[2, 3]),            # [N,7,1,1]
        helper.make_node("Squeeze", ["u"], ["sq"], axes=[3]),                 # [N,7,1]
        helper.make_node("Exp", ["sq"], ["y"]),
        helper.make_node("Clip", ["sb"], ["clip"], min=-0.3, max=0.4),        # opset < 11: attributes
        helper.make_node("Softmax", ["x"], ["smx"], axis=1),                  # opset < 13: over C*H*W
    ]
    save("layout", nodes, inits, [1, 4, 6, 6], ["y", "up", "clip", "smx"], 9)


def misc():
    inits = [init("w", w(8, 3, 3, 3)), init("b", w(8)), init("lo", np.array(-0.5, np.float32)),
             init("hi", np.array(0.8, np.float32)), init("two", np.array(2.0, np.float32)),
             init("pw", w(4, 3, 3, 3)), init("pads", np.array([0, 0, 2, 0, 0, 0, 1, 3], np.int64))]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c", "lo", "hi"], ["c1"]),                  # opset 11: inputs
        helper.make_node("GlobalAveragePool", ["c1"], ["gap"]),
        helper.make_node("Tanh", ["c"], ["th"]),
        helper.make_node("Abs", ["th"], ["ab"]),
        helper.make_node("Sqrt", ["ab"], ["sr"]),
        helper.make_node("ReduceMean", ["sr"], ["rm"], axes=[2, 3], keepdims=1),
        helper.make_node("Add", ["gap", "rm"], ["a"]),
        helper.make_node("Flatten", ["a"], ["f"]),
        helper.make_node("ReduceL2", ["f"], ["nrm"], axes=[1], keepdims=1),
        helper.make_node("Div", ["f", "nrm"], ["emb"]),                       # AdaFace-style x / |x|
        helper.make_node("Pow", ["f", "two"], ["p2"]),
        helper.make_node("Neg", ["p2"], ["ng"]),
        helper.make_node("Reciprocal", ["ng"], ["misc"]),
        helper.make_node("Pad", ["x", "pads"], ["xp"], mode="constant"),     # folded into the conv
        helper.make_node("Conv", ["xp", "pw"], ["padconv"], kernel_shape=[3, 3], strides=[2, 1], pads=[1, 0, 0, 1]),
    ]
    save("misc", nodes, inits, [1, 3, 10, 10], ["emb", "misc", "padconv"], 11)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    convbn()
    dense()
    layout()
    misc()
