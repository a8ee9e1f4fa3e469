#!/usr/bin/env python3
"""Write a copy of an embedding ONNX model whose batch dimension is dynamic, so the peer
runtimes (ONNX Runtime, OpenCV cv2.dnn) can run batch 32 like lqface does. The shipped
mobilefacenet_fr512.onnx fixes batch 1 in its input and in the final Reshape's shape
constant; both are relaxed here (input dim 0 -> 'N', reshape [1,...] -> [0,...], where 0 copies the batch).
Usage: /usr/bin/python3 bench/make_batched_onnx.py IN.onnx OUT.onnx   (needs python3-onnx)"""
import sys

import onnx
from onnx import numpy_helper

src, dst = sys.argv[1], sys.argv[2]
m = onnx.load(src)
g = m.graph
for t in list(g.input) + list(g.output):
    t.type.tensor_type.shape.dim[0].dim_param = "N"
inits = {i.name: i for i in g.initializer}
for n in g.node:
    if n.op_type == "Reshape" and n.input[1] in inits:
        shape = numpy_helper.to_array(inits[n.input[1]]).copy()
        if shape[0] == 1:
            shape[0] = 0  # ONNX: 0 copies the input's dimension (the batch)
            inits[n.input[1]].CopyFrom(numpy_helper.from_array(shape, n.input[1]))
for vi in list(g.value_info):
    g.value_info.remove(vi)
onnx.checker.check_model(m)
onnx.save(m, dst)
print("wrote", dst)
