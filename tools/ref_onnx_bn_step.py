#!/usr/bin/python3
"""ref_onnx_bn_step.py — fine-tuning an ONNX network WITH its BatchNorm layers (the training
config's onnx_bn = train), for tests/test_train.c: a small embedding network written as an
ONNX file with onnx.helper, and the same network in torch 1.13 taking one SGD step.

The network (input 3x16x16, embedding 16) has a BatchNormalization in each place lqface
must handle: after a bias-free Conv (then PRelu), after a Conv with a bias (non-default
epsilon 1e-3 and momentum 0.8, i.e. torch's 0.2; then Relu and a residual Add), after a
strided Conv with the default attributes, and on the 2-D output of a Gemm (BatchNorm1d,
which no convolution precedes: it stays a BatchNorm even with onnx_bn = fold). Initializer
names are the torch state_dict keys; BatchNorm scales, shifts and running statistics are
drawn away from their initial values so that every term of the step matters.

The step: 8 ORL faces (4 identities x 2 images, cv2.INTER_AREA to 16x16, grey to 3 channels,
(x - 127.5) / 127.5), training mode (batch statistics; running statistics updated with
torch's momentum and the unbiased variance), AdaFace head.py's ArcFace (s 64, m 0.5, eps
1e-4; tools/ref_heads.py's) over a seeded 16 x 4 kernel, cross-entropy, SGD lr 0.01
momentum 0.9, weight decay 5e-4 on everything but the BatchNorm scales and shifts.

Writes tests/data/train/onnx_bn.onnx, onnx_bn.txt (config lines, `tensor <name> <numel>` in
state_dict order) and onnx_bn.bin (float32 LE, tools/ref_train_step.py's layout for one
step): state_dict before, kernel, x (NCHW), labels (as floats), the loss, state_dict after
(running statistics included), kernel after.
Run with Debian's python (python3-onnx, python3-torch, python3-opencv):
  /usr/bin/python3 tools/ref_onnx_bn_step.py
"""
import os
import sys

import cv2
import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ref_heads  # noqa: E402  (AdaFace head.py's ArcFace)

OUT = os.path.join(HERE, "..", "tests", "data", "train")
SHARED = os.environ.get("LQFACE_SHARED", os.path.join(HERE, "..", "..", "shared"))
torch.set_num_threads(1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.prelu1 = nn.PReLU(8)
        self.conv2 = nn.Conv2d(8, 8, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(8, eps=1e-3, momentum=0.2)
        self.conv3 = nn.Conv2d(8, 16, 3, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 4 * 4, 16)
        self.bn4 = nn.BatchNorm1d(16)

    def forward(self, x):
        a = self.prelu1(self.bn1(self.conv1(x)))
        b = torch.relu(self.bn2(self.conv2(a))) + a
        c = torch.relu(self.bn3(self.conv3(b)))
        return self.bn4(self.fc(c.flatten(1)))


def onnx_model(sd):
    """The same network as ONNX nodes (opset 13) over the state_dict's values."""
    ini = [numpy_helper.from_array(v.numpy().reshape(8, 1, 1) if k == "prelu1.weight" else v.numpy(), k)
           for k, v in sd.items()]

    def bn(name, x, y, **attrs):
        ins = [x] + [f"{name}.{p}" for p in ("weight", "bias", "running_mean", "running_var")]
        return helper.make_node("BatchNormalization", ins, [y], name=name, **attrs)

    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight"], ["c1"], name="conv1", strides=[2, 2], **conv),
        bn("bn1", "c1", "n1", epsilon=1e-5, momentum=0.9),
        helper.make_node("PRelu", ["n1", "prelu1.weight"], ["a"], name="prelu1"),
        helper.make_node("Conv", ["a", "conv2.weight", "conv2.bias"], ["c2"], name="conv2", **conv),
        bn("bn2", "c2", "n2", epsilon=1e-3, momentum=0.8),
        helper.make_node("Relu", ["n2"], ["r2"], name="relu2"),
        helper.make_node("Add", ["r2", "a"], ["b"], name="add2"),
        helper.make_node("Conv", ["b", "conv3.weight"], ["c3"], name="conv3", strides=[2, 2], **conv),
        bn("bn3", "c3", "n3"),
        helper.make_node("Relu", ["n3"], ["r3"], name="relu3"),
        helper.make_node("Flatten", ["r3"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["g"], name="fc", transB=1),
        bn("bn4", "g", "emb"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])
    y = helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["N", 16])
    m = helper.make_model(helper.make_graph(nodes, "onnx_bn", [x], [y], ini),
                          opset_imports=[helper.make_opsetid("", 13)], producer_name="ref_onnx_bn_step")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def orl_batch(side):
    """4 identities x 2 images, INTER_AREA to side x side, grey to 3 channels, normalised."""
    who = [(c, i) for c in range(4) for i in (1, 2)]
    grey = [cv2.imread(os.path.join(SHARED, "data", "orl", "att_faces", f"s{c + 1}", f"{i}.pgm"), cv2.IMREAD_GRAYSCALE)
            for c, i in who]
    x = np.stack([np.repeat(cv2.resize(g, (side, side), interpolation=cv2.INTER_AREA)[None], 3, 0) for g in grey])
    return (torch.from_numpy(x.astype(np.float32)) - 127.5) / 127.5, torch.tensor([c for c, _ in who])


def main():
    torch.manual_seed(21)
    model = Net()
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = mod.num_features
                mod.weight.copy_(1 + 0.2 * torch.randn(c))
                mod.bias.copy_(0.2 * torch.randn(c))
                mod.running_mean.copy_(0.3 * torch.randn(c))
                mod.running_var.copy_(0.5 + torch.rand(c))
        model.prelu1.weight.copy_(0.25 + 0.1 * torch.randn(8))
    sd0 = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    os.makedirs(OUT, exist_ok=True)
    onnx.save(onnx_model(sd0), os.path.join(OUT, "onnx_bn.onnx"))

    kernel = torch.randn(16, 4, generator=torch.Generator().manual_seed(12)).requires_grad_(True)
    kernel0 = kernel.detach().clone()
    x, labels = orl_batch(16)
    bn_params = [p for k, p in model.named_parameters() if k.startswith("bn")]
    others = [p for k, p in model.named_parameters() if not k.startswith("bn")]
    opt = torch.optim.SGD([{"params": others + [kernel], "weight_decay": 5e-4},
                           {"params": bn_params, "weight_decay": 0.0}], lr=0.01, momentum=0.9)
    head = ref_heads.make_head("arcface", dict(ref_heads.DEFAULTS, m=0.5, eps=1e-4))
    model.train()
    opt.zero_grad()
    emb = model(x)
    norms = torch.norm(emb, 2, 1, True)
    logits, _ = head(emb / norms, norms, kernel, labels)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    opt.step()
    sd1 = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}

    arrays = list(sd0.values()) + [kernel0, x, labels.float(), loss.detach().reshape(1)]
    arrays += list(sd1.values()) + [kernel.detach()]
    lines = ["onnx onnx_bn.onnx", "head arcface", "optimizer sgd", "lr 0.01"]
    lines += [f"tensor {k} {v.numel()}" for k, v in sd0.items()]
    with open(os.path.join(OUT, "onnx_bn.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, "onnx_bn.bin"), "wb") as f:
        for a in arrays:
            f.write(a.detach().contiguous().numpy().astype("<f4").tobytes())
    print("onnx_bn: loss", loss.item(), "; running_var of bn2 moved by",
          (sd1["bn2.running_var"] - sd0["bn2.running_var"]).abs().max().item())


if __name__ == "__main__":
    main()
