#!/usr/bin/python3
"""ref_backbone.py — reference dumps for tests/test_backbone.c: reduced-width IResNet-18 in
the insightface variant (backbones/iresnet.py) and the AdaFace variant (net.py, mode 'ir'),
and a reduced MobileFaceNet (insightface backbones/mobilefacenet.py), written here after the
reference module code with the stage widths, the MobileFaceNet base width (64 in the
original) and the GDC kernel (7 = input/16) made parameters; module and parameter NAMES
are the originals', so the state_dict keys are the real ones.

For each network (batch 3, input 3x32x32, train mode): every state_dict tensor (BatchNorm
affine parameters, running statistics and PReLU slopes randomised away from their init so
that every path matters), the input x, a fixed w_out, the embedding, the gradients of
L = sum(w_out * embedding) w.r.t. x and every trainable parameter, the running statistics
after the training forward, and the embedding in eval mode afterwards. Also the parameter
counts of the full-size networks (counts.txt), computed by torch.

Run with Debian's python:  /usr/bin/python3 tools/ref_backbone.py [outdir]  (default tests/data/backbone)
Files: <net>.txt (config lines, then `tensor <name> <numel> <has_grad>` in state_dict order)
and <net>.bin (float32 LE): state_dict values, x (NCHW), w_out, emb, dx, grads (tensors with
has_grad 1, in order), running stats after the forward (names ending running_mean/var, in
order), emb_eval.
"""
import os
import sys

import torch
import torch.nn as nn
from torch.nn import (BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d, Module, PReLU,
                      Sequential)

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "backbone")


# ------------------------------------------------------------ insightface iresnet.py
def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class IBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes, eps=1e-05)
        self.conv1 = conv3x3(inplanes, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=1e-05)
        self.prelu = nn.PReLU(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes, eps=1e-05)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.bn1(x)
        out = self.conv1(out)
        out = self.bn2(out)
        out = self.prelu(out)
        out = self.conv2(out)
        out = self.bn3(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return out


class IResNet(nn.Module):
    def __init__(self, block, layers, dropout=0, num_features=512, widths=(64, 128, 256, 512), fc_hw=7):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes, eps=1e-05)
        self.prelu = nn.PReLU(self.inplanes)
        self.layer1 = self._make_layer(block, widths[0], layers[0], stride=2)
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.bn2 = nn.BatchNorm2d(widths[3] * block.expansion, eps=1e-05)
        self.dropout = nn.Dropout(p=dropout, inplace=True)
        self.fc = nn.Linear(widths[3] * block.expansion * fc_hw * fc_hw, num_features)
        self.features = nn.BatchNorm1d(num_features, eps=1e-05)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, 0.1)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion, eps=1e-05))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.prelu(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.bn2(x)
        x = torch.flatten(x, 1)
        x = self.dropout(x)
        x = self.fc(x)
        x = self.features(x)
        return x


UNITS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 14, 3], 100: [3, 13, 30, 3], 200: [6, 26, 60, 6]}


# ------------------------------------------------------------ AdaFace net.py (mode 'ir')
class Flatten(Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class BasicBlockIR(Module):
    def __init__(self, in_channel, depth, stride):
        super().__init__()
        if in_channel == depth:
            self.shortcut_layer = MaxPool2d(1, stride)
        else:
            self.shortcut_layer = Sequential(Conv2d(in_channel, depth, (1, 1), stride, bias=False), BatchNorm2d(depth))
        self.res_layer = Sequential(BatchNorm2d(in_channel), Conv2d(in_channel, depth, (3, 3), (1, 1), 1, bias=False),
                                    BatchNorm2d(depth), PReLU(depth), Conv2d(depth, depth, (3, 3), stride, 1, bias=False),
                                    BatchNorm2d(depth))

    def forward(self, x):
        shortcut = self.shortcut_layer(x)
        res = self.res_layer(x)
        return res + shortcut


def initialize_weights(modules):
    for m in modules:
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                m.bias.data.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.fill_(1)
            m.bias.data.zero_()
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                m.bias.data.zero_()


class Backbone(Module):
    def __init__(self, num_layers, widths=(64, 128, 256, 512), fc_hw=7, emb=512, dropout=0.4):
        super().__init__()
        self.input_layer = Sequential(Conv2d(3, widths[0], (3, 3), 1, 1, bias=False), BatchNorm2d(widths[0]),
                                      PReLU(widths[0]))
        units = UNITS[num_layers]
        ins = [widths[0], widths[0], widths[1], widths[2]]
        modules = []
        for s in range(4):
            modules.append(BasicBlockIR(ins[s], widths[s], 2))
            for _ in range(units[s] - 1):
                modules.append(BasicBlockIR(widths[s], widths[s], 1))
        self.body = Sequential(*modules)
        self.output_layer = Sequential(BatchNorm2d(widths[3]), Dropout(dropout), Flatten(),
                                       Linear(widths[3] * fc_hw * fc_hw, emb), BatchNorm1d(emb, affine=False))
        initialize_weights(self.modules())

    def embedding(self, x):  # the un-normalised output (forward() returns x/|x|, |x|)
        x = self.input_layer(x)
        for module in self.body:
            x = module(x)
        return self.output_layer(x)

    def forward(self, x):
        x = self.embedding(x)
        norm = torch.norm(x, 2, 1, True)
        return torch.div(x, norm), norm


# ------------------------------------------------------------ insightface mobilefacenet.py
class ConvBlock(Module):
    def __init__(self, in_c, out_c, kernel=(1, 1), stride=(1, 1), padding=(0, 0), groups=1):
        super().__init__()
        self.layers = nn.Sequential(
            Conv2d(in_c, out_c, kernel, groups=groups, stride=stride, padding=padding, bias=False),
            BatchNorm2d(num_features=out_c), PReLU(num_parameters=out_c))

    def forward(self, x):
        return self.layers(x)


class LinearBlock(Module):
    def __init__(self, in_c, out_c, kernel=(1, 1), stride=(1, 1), padding=(0, 0), groups=1):
        super().__init__()
        self.layers = nn.Sequential(Conv2d(in_c, out_c, kernel, stride, padding, groups=groups, bias=False),
                                    BatchNorm2d(num_features=out_c))

    def forward(self, x):
        return self.layers(x)


class DepthWise(Module):
    def __init__(self, in_c, out_c, residual=False, kernel=(3, 3), stride=(2, 2), padding=(1, 1), groups=1):
        super().__init__()
        self.residual = residual
        self.layers = nn.Sequential(
            ConvBlock(in_c, out_c=groups, kernel=(1, 1), padding=(0, 0), stride=(1, 1)),
            ConvBlock(groups, groups, groups=groups, kernel=kernel, padding=padding, stride=stride),
            LinearBlock(groups, out_c, kernel=(1, 1), padding=(0, 0), stride=(1, 1)))

    def forward(self, x):
        short_cut = x if self.residual else None
        x = self.layers(x)
        return short_cut + x if self.residual else x


class Residual(Module):
    def __init__(self, c, num_block, groups, kernel=(3, 3), stride=(1, 1), padding=(1, 1)):
        super().__init__()
        self.layers = Sequential(*[DepthWise(c, c, True, kernel, stride, padding, groups) for _ in range(num_block)])

    def forward(self, x):
        return self.layers(x)


class GDC(Module):
    def __init__(self, embedding_size, sep=512, k=7):
        super().__init__()
        self.layers = nn.Sequential(LinearBlock(sep, sep, groups=sep, kernel=(k, k), stride=(1, 1), padding=(0, 0)),
                                    Flatten(), Linear(sep, embedding_size, bias=False), BatchNorm1d(embedding_size))

    def forward(self, x):
        return self.layers(x)


class MobileFaceNet(Module):
    def __init__(self, num_features=512, blocks=(1, 4, 6, 2), scale=2, base=64, sep=512, k=7):
        super().__init__()
        b = base
        self.layers = nn.ModuleList()
        self.layers.append(ConvBlock(3, b * scale, kernel=(3, 3), stride=(2, 2), padding=(1, 1)))
        if blocks[0] == 1:
            self.layers.append(ConvBlock(b * scale, b * scale, kernel=(3, 3), stride=(1, 1), padding=(1, 1), groups=b))
        else:
            self.layers.append(Residual(b * scale, num_block=blocks[0], groups=2 * b, kernel=(3, 3), stride=(1, 1),
                                        padding=(1, 1)))
        self.layers.extend([
            DepthWise(b * scale, b * scale, kernel=(3, 3), stride=(2, 2), padding=(1, 1), groups=2 * b),
            Residual(b * scale, num_block=blocks[1], groups=2 * b, kernel=(3, 3), stride=(1, 1), padding=(1, 1)),
            DepthWise(b * scale, 2 * b * scale, kernel=(3, 3), stride=(2, 2), padding=(1, 1), groups=4 * b),
            Residual(2 * b * scale, num_block=blocks[2], groups=4 * b, kernel=(3, 3), stride=(1, 1), padding=(1, 1)),
            DepthWise(2 * b * scale, 2 * b * scale, kernel=(3, 3), stride=(2, 2), padding=(1, 1), groups=8 * b),
            Residual(2 * b * scale, num_block=blocks[3], groups=4 * b, kernel=(3, 3), stride=(1, 1), padding=(1, 1)),
        ])
        self.conv_sep = ConvBlock(2 * b * scale, sep, kernel=(1, 1), stride=(1, 1), padding=(0, 0))
        self.features = GDC(num_features, sep, k)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    m.bias.data.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    m.bias.data.zero_()

    def forward(self, x):
        for func in self.layers:
            x = func(x)
        x = self.conv_sep(x)
        return self.features(x)


# ------------------------------------------------------------ dumps
def randomise(model, g):
    """BN affine/statistics and PReLU slopes away from their init (frozen tensors kept)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                if m.affine:
                    if m.weight.requires_grad:
                        m.weight.uniform_(0.5, 1.5, generator=g)
                    m.bias.normal_(0, 0.1, generator=g)
                m.running_mean.normal_(0, 0.1, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
            elif isinstance(m, nn.PReLU):
                m.weight.uniform_(0.05, 0.45, generator=g)


def dump(name, model, config, batch=3, hw=32, emb_fn=None):
    g = torch.Generator().manual_seed(77)
    randomise(model, g)
    sd = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    params = dict(model.named_parameters())
    arrays = [v.clone() for v in sd.values()]
    lines = list(config)
    for k, v in sd.items():
        has_grad = int(k in params and params[k].requires_grad)
        lines.append(f"tensor {k} {v.numel()} {has_grad}")
    x = torch.randn(batch, 3, hw, hw, generator=g).requires_grad_(True)
    model.train()
    emb = (emb_fn or model)(x)
    w_out = torch.randn(emb.shape, generator=g)
    (emb * w_out).sum().backward()
    arrays += [x.detach(), w_out, emb.detach(), x.grad]
    for k in sd:
        if k in params and params[k].requires_grad:
            arrays.append(params[k].grad)
    after = model.state_dict()
    for k in sd:
        if k.endswith("running_mean") or k.endswith("running_var"):
            arrays.append(after[k].clone())
    model.eval()
    with torch.no_grad():
        arrays.append((emb_fn or model)(x))
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        for a in arrays:
            f.write(a.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(name, sum(a.numel() for a in arrays) * 4, "bytes")


# The reduced networks of the dumps (also used by tools/ref_backbone_resize.py).
W = (4, 8, 12, 16)


def reduced(kind):
    if kind == "ir18_insightface":
        return IResNet(IBasicBlock, UNITS[18], dropout=0, num_features=16, widths=W, fc_hw=2)
    if kind == "ir18_adaface":
        return Backbone(18, widths=W, fc_hw=2, emb=16, dropout=0.0)
    return MobileFaceNet(num_features=16, blocks=(1, 4, 6, 2), scale=2, base=4, sep=32, k=2)


CONFIG = {"ir18_insightface": ["kind iresnet", "depth 18", f"width {W[0]} {W[1]} {W[2]} {W[3]}", "input 3 32 32",
                               "emb 16"],
          "ir18_adaface": ["kind adaface", "depth 18", f"width {W[0]} {W[1]} {W[2]} {W[3]}", "input 3 32 32", "emb 16"],
          "mobilefacenet": ["kind mobilefacenet", "input 3 32 32", "emb 16", "mfn 4 2 32 1 4 6 2"]}


def main():
    global OUT
    if len(sys.argv) > 1:
        OUT = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(5)
    m = reduced("ir18_insightface")
    dump("ir18_insightface", m, CONFIG["ir18_insightface"])
    m = reduced("ir18_adaface")
    dump("ir18_adaface", m, CONFIG["ir18_adaface"], emb_fn=m.embedding)
    m = reduced("mobilefacenet")
    dump("mobilefacenet", m, CONFIG["mobilefacenet"])

    # parameter counts of the full-size networks (torch's sum of parameter sizes)
    counts = []
    for depth in (18, 50, 100):
        n = sum(p.numel() for p in IResNet(IBasicBlock, UNITS[depth]).parameters())
        counts.append(f"iresnet {depth} {n}")
    for depth in (18, 50):
        n = sum(p.numel() for p in Backbone(depth).parameters())
        counts.append(f"adaface {depth} {n}")
    counts.append(f"mobilefacenet 0 {sum(p.numel() for p in MobileFaceNet().parameters())}")
    with open(os.path.join(OUT, "counts.txt"), "w") as f:
        f.write("\n".join(counts) + "\n")
    print("\n".join(counts))

    # ------------------------------------------------------------ imported ONNX network
    # The shared MobileFaceNet ONNX model run by a small torch interpreter of its four operators
    # (Conv, PRelu, Add, Reshape) in float64 autograd: input x[i] = 0.9*sin(0.001*i + 0.3*(i%3))
    # over the flat NHWC (1,112,112,3) index, loss sum(w * out) with w[i] = cos(0.7*i).
    # onnx_mfn.txt: `grad <initializer name> <numel>` lines; onnx_mfn.bin: out (512), dx (NCHW),
    # then those gradients (OIHW for convolution weights).
    import math
    import onnx
    from onnx import numpy_helper

    SHARED = os.environ.get("LQFACE_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    model = onnx.load(os.path.join(SHARED, "models", "mobilefacenet_fr512.onnx"))
    vals = {}
    for t in model.graph.initializer:
        a = numpy_helper.to_array(t)
        vals[t.name] = (torch.tensor(a, dtype=torch.float64, requires_grad=True) if a.dtype.kind == "f"
                        else torch.tensor(a))
    H = 112
    flat = torch.tensor([0.9 * math.sin(0.001 * i + 0.3 * (i % 3)) for i in range(H * H * 3)], dtype=torch.float64)
    x = flat.reshape(1, H, H, 3).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    vals[model.graph.input[0].name] = x
    for n in model.graph.node:
        at = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        i = [vals[k] for k in n.input]
        if n.op_type == "Conv":
            pt, pl, pb, pr = at.get("pads", [0, 0, 0, 0])
            y = torch.nn.functional.pad(i[0], (pl, pr, pt, pb))
            y = torch.nn.functional.conv2d(y, i[1], i[2] if len(i) > 2 else None, stride=tuple(at.get("strides", [1, 1])),
                                           dilation=tuple(at.get("dilations", [1, 1])), groups=at.get("group", 1))
        elif n.op_type == "PRelu":
            y = torch.where(i[0] > 0, i[0], i[0] * i[1])
        elif n.op_type == "Add":
            y = i[0] + i[1]
        elif n.op_type == "Reshape":
            shape = [int(s) if int(s) != 0 else i[0].shape[k] for k, s in enumerate(i[1].tolist())]
            y = i[0].reshape(shape)
        else:
            raise ValueError(n.op_type)
        vals[n.output[0]] = y
    out = vals[model.graph.output[0].name].reshape(1, -1)
    w = torch.tensor([math.cos(0.7 * k) for k in range(out.numel())], dtype=torch.float64).reshape(out.shape)
    (out * w).sum().backward()
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    prelus = [n for n in model.graph.node if n.op_type == "PRelu"]
    names = [convs[0].input[1], convs[0].input[2], convs[1].input[1], convs[10].input[1], convs[10].input[2],
             prelus[0].input[1], prelus[-1].input[1],
             [n for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)][-1].input[1]]
    arrays = [out.detach(), x.grad]
    lines = []
    for k in names:
        lines.append(f"grad {k} {vals[k].numel()}")
        arrays.append(vals[k].grad)
    with open(os.path.join(OUT, "onnx_mfn.bin"), "wb") as f:
        for a in arrays:
            f.write(a.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())
    with open(os.path.join(OUT, "onnx_mfn.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("onnx_mfn", sum(a.numel() for a in arrays) * 4, "bytes;", ", ".join(lines))


if __name__ == "__main__":
    main()
