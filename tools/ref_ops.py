#!/usr/bin/python3
"""ref_ops.py — writes the reference dumps for tests/test_ops.c with PyTorch (an independent
implementation of every kernel in src/backend/cpu/).

Run with Debian's python:  /usr/bin/python3 tools/ref_ops.py [outdir]   (default tests/data/ops)

Everything is written in PyTorch's logical NCHW order as raw little-endian float32; the C
test converts to channels-last itself. tests/data/ops/manifest.txt lists the cases, one per
line, with the shape parameters the C test needs; each case's arrays are concatenated in the
order documented below in <kind>_<name>.bin.
"""
import os
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_num_threads(1)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "ops")
os.makedirs(OUT, exist_ok=True)
manifest = []
LEAKY_ALPHA = 0.1


def dump(name, *arrays):
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        for a in arrays:
            f.write(a.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())


def act(y, kind, slope):
    if kind == "relu":
        return F.relu(y)
    if kind == "leaky":
        return F.leaky_relu(y, LEAKY_ALPHA)
    if kind == "sigmoid":
        return torch.sigmoid(y)
    if kind == "prelu1":
        return F.prelu(y, slope[:1])
    if kind == "prelu":
        return F.prelu(y, slope)
    raise ValueError(kind)


# ---------------------------------------------------------------- convolution
# conv <name> n cin h w cout kh kw sh sw pt pl pb pr dh dw group act3
# bin: x (n,cin,h,w), w (cout,cin/g,kh,kw), b (cout), slope (cout), res (n,cout,oh,ow),
#      y_bias = conv+b, y_ep = prelu(conv+b, slope)+res, y_act3 = act3(conv) (no bias)
def conv_case(name, n, cin, h, w, cout, kh, kw, s=(1, 1), pad=(0, 0, 0, 0), d=(1, 1), g=1, act3="relu"):
    pt, pl, pb, pr = pad
    x = torch.randn(n, cin, h, w)
    wt = torch.randn(cout, cin // g, kh, kw) / (cin // g * kh * kw) ** 0.5
    b = torch.randn(cout) * 0.5
    slope = torch.rand(cout) * 0.4 + 0.05
    xp = F.pad(x, (pl, pr, pt, pb))
    y = F.conv2d(xp, wt, None, stride=s, dilation=d, groups=g)
    res = torch.randn(y.shape)
    y_bias = y + b.view(1, -1, 1, 1)
    y_ep = F.prelu(y_bias, slope) + res
    y_act3 = act(y, act3, slope)
    dump("conv_" + name, x, wt, b, slope, res, y_bias, y_ep, y_act3)
    manifest.append("conv %s %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %s %d %d" %
                    (name, n, cin, h, w, cout, kh, kw, s[0], s[1], pt, pl, pb, pr, d[0], d[1], g, act3,
                     y.shape[2], y.shape[3]))


conv_case("3x3s1p1", 2, 8, 9, 11, 12, 3, 3, pad=(1, 1, 1, 1), act3="relu")
conv_case("3x3s2p1", 2, 8, 11, 9, 16, 3, 3, s=(2, 2), pad=(1, 1, 1, 1), act3="leaky")
conv_case("stem3x3s2", 2, 3, 15, 13, 16, 3, 3, s=(2, 2), pad=(1, 1, 1, 1), act3="prelu1")
conv_case("1x1", 2, 24, 7, 9, 20, 1, 1, act3="sigmoid")
conv_case("1x1s2", 2, 16, 9, 11, 8, 1, 1, s=(2, 2), act3="relu")
conv_case("1x1pad", 2, 6, 5, 7, 10, 1, 1, pad=(1, 0, 0, 2), act3="leaky")
conv_case("dw3x3s1", 2, 24, 9, 11, 24, 3, 3, pad=(1, 1, 1, 1), g=24, act3="relu")
conv_case("dw3x3s2", 2, 32, 11, 9, 32, 3, 3, s=(2, 2), pad=(1, 1, 1, 1), g=32, act3="prelu1")
conv_case("dw7x7gdc", 2, 40, 7, 7, 40, 7, 7, g=40, act3="sigmoid")
conv_case("dw5x5d2", 2, 16, 12, 10, 16, 5, 5, s=(1, 2), pad=(3, 2, 1, 4), d=(2, 2), g=16, act3="leaky")
conv_case("group2", 2, 8, 9, 7, 12, 3, 3, pad=(1, 1, 1, 1), g=2, act3="relu")
conv_case("group4s2", 2, 16, 11, 9, 8, 3, 3, s=(2, 2), pad=(1, 1, 1, 1), g=4, act3="leaky")
conv_case("dwmult2", 2, 6, 7, 8, 12, 3, 3, pad=(1, 1, 1, 1), g=6, act3="relu")
conv_case("dil2", 2, 6, 10, 9, 10, 3, 3, pad=(2, 2, 2, 2), d=(2, 2), act3="prelu1")
conv_case("asympad", 2, 5, 9, 8, 7, 3, 2, s=(2, 1), pad=(0, 1, 2, 0), act3="sigmoid")
conv_case("big3x3", 2, 32, 9, 7, 24, 3, 3, pad=(1, 1, 1, 1), act3="relu")
conv_case("1x1prelu1", 2, 32, 5, 3, 16, 1, 1, act3="prelu1")
conv_case("1x1leaky", 2, 16, 3, 7, 48, 1, 1, act3="leaky")
conv_case("onech3x3", 2, 1, 9, 8, 1, 3, 3, pad=(1, 1, 1, 1), act3="sigmoid")
conv_case("dw3x3c16", 2, 16, 6, 13, 16, 3, 3, pad=(1, 1, 1, 1), g=16, act3="relu")
conv_case("dw3x3c64", 2, 64, 3, 10, 64, 3, 3, pad=(1, 1, 1, 1), g=64, act3="prelu1")
conv_case("dw3x3s2c64", 2, 64, 7, 10, 64, 3, 3, s=(2, 2), pad=(1, 1, 1, 1), g=64, act3="leaky")
conv_case("dw3x3nopad", 2, 20, 6, 9, 20, 3, 3, g=20, act3="relu")
conv_case("dw3x3narrow", 2, 32, 3, 2, 32, 3, 3, pad=(1, 1, 1, 1), g=32, act3="prelu1")
conv_case("dw3x3s2px", 2, 48, 1, 1, 48, 3, 3, s=(2, 2), pad=(1, 1, 1, 1), g=48, act3="leaky")
conv_case("dw3x3pad2", 2, 16, 5, 6, 16, 3, 3, pad=(2, 2, 0, 1), g=16, act3="relu")
# few input channels (the direct path for stems): output-channel blocks of 1..4 x 16, tails
conv_case("fc_c3o8", 2, 3, 13, 15, 8, 3, 3, s=(2, 2), pad=(1, 1, 1, 1), act3="leaky")
conv_case("fc_c1o24d2", 2, 1, 7, 8, 24, 3, 3, pad=(2, 2, 2, 2), d=(2, 2), act3="prelu1")
conv_case("fc_c4o40asym", 2, 4, 9, 8, 40, 3, 2, s=(2, 1), pad=(0, 1, 2, 0), act3="relu")
conv_case("fc_c3o72", 2, 3, 5, 7, 72, 3, 3, pad=(1, 1, 1, 1), act3="relu")
conv_case("fc_c2o64k5", 2, 2, 12, 10, 64, 5, 5, s=(2, 2), pad=(2, 2, 2, 2), act3="sigmoid")

# ---------------------------------------------------------------- max pooling
# pool <name> n c h w kh kw sh sw pt pl pb pr ceil oh ow ; bin: x, y
def pool_case(name, n, c, h, w, k, s, pad=(0, 0, 0, 0), ceil=0):
    pt, pl, pb, pr = pad
    x = torch.randn(n, c, h, w)
    if pt == pb and pl == pr:
        y = F.max_pool2d(x, k, s, (pt, pl), ceil_mode=bool(ceil))
    else:  # asymmetric padding: pad with -inf, then pool without padding
        assert not ceil
        y = F.max_pool2d(F.pad(x, (pl, pr, pt, pb), value=float("-inf")), k, s)
    dump("pool_" + name, x, y)
    manifest.append("pool %s %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d" %
                    (name, n, c, h, w, k[0], k[1], s[0], s[1], pt, pl, pb, pr, ceil, y.shape[2], y.shape[3]))


pool_case("3x3s2ceil", 2, 10, 11, 9, (3, 3), (2, 2), ceil=1)
pool_case("3x3s2ceil_even", 2, 5, 12, 10, (3, 3), (2, 2), ceil=1)
pool_case("2x2s2ceil", 2, 7, 9, 11, (2, 2), (2, 2), ceil=1)
pool_case("2x2s2floor", 2, 7, 9, 11, (2, 2), (2, 2), ceil=0)
pool_case("3x3s2p1", 2, 16, 10, 7, (3, 3), (2, 2), pad=(1, 1, 1, 1))
pool_case("3x3s2p1ceil", 2, 3, 10, 8, (3, 3), (2, 2), pad=(1, 1, 1, 1), ceil=1)
pool_case("asym", 2, 4, 6, 7, (3, 2), (1, 2), pad=(1, 0, 0, 1))

# ---------------------------------------------------------------- resize (nearest)
# resize <name> n c h w sh sw ; bin: x, y
for name, (n, c, h, w, sh, sw) in {"x2": (2, 6, 5, 7, 2, 2), "x3x2": (2, 17, 3, 4, 3, 2)}.items():
    x = torch.randn(n, c, h, w)
    y = F.interpolate(x, scale_factor=(sh, sw), mode="nearest")
    dump("resize_" + name, x, y)
    manifest.append("resize %s %d %d %d %d %d %d" % (name, n, c, h, w, sh, sw))

# ---------------------------------------------------------------- activations
# act <name> n c h w kind ; bin: x, slope (c), y    (NCHW, kernel runs on NHWC rows)
for kind in ["relu", "prelu", "prelu1", "leaky", "sigmoid"]:
    x = torch.randn(2, 19, 5, 3) * 3
    slope = torch.rand(19) * 0.5 - 0.1
    y = act(x, kind, slope)
    dump("act_" + kind, x, slope, y)
    manifest.append("act %s 2 19 5 3 %s" % (kind, kind))
x = torch.randn(1000) * 4
dump("exp_1000", x, torch.exp(x))
manifest.append("exp 1000 1000")

# ---------------------------------------------------------------- softmax
# softmax <name> layout(nhwc|dense) ndim dims... axis ; bin: x, y (logical dense order)
def softmax_case(name, layout, shape, axis):
    x = torch.randn(*shape) * 3
    y = torch.softmax(x, dim=axis)
    dump("softmax_" + name, x, y)
    manifest.append("softmax %s %s %d %s %d" % (name, layout, len(shape), " ".join(map(str, shape)), axis))


softmax_case("nhwc_axis1", "nhwc", (2, 5, 3, 7), 1)
softmax_case("nhwc_axis3", "nhwc", (2, 4, 3, 6), 3)
softmax_case("dense_last", "dense", (9, 2), 1)
softmax_case("dense_axis1", "dense", (2, 6, 5), 1)

# ---------------------------------------------------------------- reduce_sum
# reduce <name> layout ndim dims... mask ; bin: x, y (y has keepdims extent 1)
def reduce_case(name, layout, shape, axes):
    x = torch.randn(*shape)
    y = x.sum(dim=axes, keepdim=True)
    dump("reduce_" + name, x, y)
    mask = sum(1 << a for a in axes)
    manifest.append("reduce %s %s %d %s %d" % (name, layout, len(shape), " ".join(map(str, shape)), mask))


reduce_case("nhwc_c", "nhwc", (2, 5, 3, 4), [1])
reduce_case("nhwc_cw", "nhwc", (2, 5, 3, 4), [1, 3])
reduce_case("nhwc_hw", "nhwc", (2, 6, 3, 5), [2, 3])
reduce_case("dense_1", "dense", (3, 7, 2), [1])
reduce_case("dense_all", "dense", (3, 4, 5), [0, 1, 2])

# ---------------------------------------------------------------- binary (broadcasting)
# binary <name> op layout ndim adims... bdims... ; bin: a, b, y (logical dense order)
OPS = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}


def binary_case(name, op, layout, ashape, bshape):
    a = torch.randn(*ashape)
    b = torch.randn(*bshape)
    if op == "div":
        b = b.sign() * (b.abs() + 0.5)
    y = OPS[op](a, b)
    dump("binary_" + name, a, b, y)
    manifest.append("binary %s %s %s %d %s %s" % (name, op, layout, len(ashape), " ".join(map(str, ashape)),
                                                  " ".join(map(str, bshape))))


binary_case("full_add", "add", "nhwc", (2, 5, 3, 7), (2, 5, 3, 7))
binary_case("full_div", "div", "nhwc", (2, 5, 3, 7), (2, 5, 3, 7))
binary_case("chan_mul", "mul", "nhwc", (2, 6, 5, 3), (1, 6, 1, 1))
binary_case("chan_sub", "sub", "nhwc", (2, 6, 5, 3), (1, 6, 1, 1))
binary_case("scalar_sub", "sub", "nhwc", (2, 3, 4, 5), (1, 1, 1, 1))
binary_case("scalar_first", "div", "nhwc", (1, 1, 1, 1), (2, 3, 4, 5))
binary_case("both_bcast", "add", "nhwc", (2, 1, 4, 1), (1, 3, 1, 5))
binary_case("dense3", "mul", "dense", (4, 1, 6), (1, 5, 6))
binary_case("dense_row", "add", "dense", (7, 9), (7, 1))

# ---------------------------------------------------------------- copy_view
# copy <name> ... ; nchw2nhwc: x (N,C,H,W), y (N,H,W,C)
x = torch.randn(2, 5, 4, 3)
dump("copy_nchw2nhwc", x, x.permute(0, 2, 3, 1))
manifest.append("copy nchw2nhwc 2 5 4 3")
x = torch.randn(2, 40, 9, 7)
dump("copy_nchw2nhwc_big", x, x.permute(0, 2, 3, 1))
manifest.append("copy nchw2nhwc_big 2 40 9 7")
x = torch.randn(3, 4, 5)
dump("copy_perm201", x, x.permute(2, 0, 1))
manifest.append("copy perm201 3 4 5")
x = torch.randn(3, 37, 41)
dump("copy_perm201_big", x, x.permute(2, 0, 1))
manifest.append("copy perm201_big 3 37 41")
a, b = torch.randn(2, 3, 4, 5), torch.randn(2, 6, 4, 5)
dump("copy_concat", a, b, torch.cat([a, b], dim=1))
manifest.append("copy concat 2 3 6 4 5")
x = torch.randn(2, 3, 4, 5)
dump("copy_slice", x, x[:, :, 1:3, ::2])
manifest.append("copy slice 2 3 4 5")

with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print("wrote %d cases to %s" % (len(manifest), OUT))
