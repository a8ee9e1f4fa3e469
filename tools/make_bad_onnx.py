#!/usr/bin/python3
"""make_bad_onnx.py — a tiny, well-formed ONNX model that uses an operator lqface does not
implement (LSTM, node 'lstm_1'), for the command-line test tests/cli_onnx.sh
(tests/test_onnx_bad.c builds its bad models itself with protobuf-c).

Writes tests/data/onnx/bad_lstm.onnx. Needs Debian's python3-onnx.
Run: /usr/bin/python3 tools/make_bad_onnx.py
"""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests/data/onnx/bad_lstm.onnx")

H = 4
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 1, 3])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 1, 1, H])
W = numpy_helper.from_array(np.zeros((1, 4 * H, 3), np.float32), "W")
R = numpy_helper.from_array(np.zeros((1, 4 * H, H), np.float32), "R")
nodes = [
    helper.make_node("Relu", ["x"], ["r"], name="relu_0"),
    helper.make_node("LSTM", ["r", "W", "R"], ["y"], name="lstm_1", hidden_size=H),
]
m = helper.make_model(helper.make_graph(nodes, "bad_lstm", [x], [y], [W, R]),
                      opset_imports=[helper.make_opsetid("", 11)], producer_name="make_bad_onnx")
m.ir_version = 7
save(m, OUT)
print(OUT, os.path.getsize(OUT), "bytes")
