#!/usr/bin/python3
"""ref_layers.py — reference dumps for tests/test_layers.c: forward outputs, input gradients
and parameter gradients of every layer the training engine differentiates, computed by
PyTorch 1.13 autograd (float32) — an independent implementation of src/backend/cpu/*_backward.c,
norm.c and linear.c.

Run with Debian's python:  /usr/bin/python3 tools/ref_layers.py [outdir]  (default tests/data/layers)

Arrays are raw little-endian float32 in PyTorch's logical order (NCHW, OIHW, (out,in)),
concatenated per case in <name>.bin in the order given by the comment of each kind below;
manifest.txt has one line per case: kind name and the shape parameters. The upstream
gradient dy is random, so every output element takes part in the check.
"""
import os
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(20261122)
torch.set_num_threads(1)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "layers")
os.makedirs(OUT, exist_ok=True)
manifest = []


def dump(name, *arrays):
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        for a in arrays:
            f.write(a.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())


def leaf(t):
    return t.clone().requires_grad_(True)


# conv <name> n cin h w cout kh kw sh sw pt pl pb pr group
# bin: x, w (OIHW), b, dy, y, dx, dw, db
def conv_case(name, n, cin, h, w, cout, k, s, p, g=1):
    x = leaf(torch.randn(n, cin, h, w))
    wt = leaf(torch.randn(cout, cin // g, k, k) / (cin // g * k * k) ** 0.5)
    b = leaf(torch.randn(cout) * 0.3)
    y = F.conv2d(x, wt, b, stride=s, padding=p, groups=g)
    dy = torch.randn(y.shape)
    y.backward(dy)
    dump(name, x, wt, b, dy, y, x.grad, wt.grad, b.grad)
    manifest.append(f"conv {name} {n} {cin} {h} {w} {cout} {k} {k} {s} {s} {p} {p} {p} {p} {g}")


conv_case("conv3x3s1", 2, 4, 7, 6, 5, 3, 1, 1)
conv_case("conv3x3s2", 2, 3, 8, 7, 6, 3, 2, 1)
conv_case("conv3x3s2_n1", 1, 5, 9, 9, 4, 3, 2, 1)
conv_case("conv1x1s1", 2, 5, 4, 5, 7, 1, 1, 0)
conv_case("conv1x1s2", 2, 6, 7, 7, 8, 1, 2, 0)
conv_case("dw3x3s1", 2, 20, 6, 7, 20, 3, 1, 1, g=20)
conv_case("dw3x3s2", 2, 18, 7, 8, 18, 3, 2, 1, g=18)
conv_case("dw7x7valid", 3, 17, 7, 7, 17, 7, 1, 0, g=17)
conv_case("group4", 2, 8, 6, 6, 8, 3, 1, 1, g=4)
conv_case("conv_tiles", 2, 16, 24, 24, 3, 11, 1, 5)   # K = 1936: two column tiles per image


# bn <name> rows_n c h w (h = w = 0: BatchNorm1d over (n, c))
# bin: x, gamma, beta, rm0, rv0, dy, y, dx, dgamma, dbeta, rm1, rv1,
#      then eval mode with (rm1, rv1): y_eval, dx_eval, dgamma_eval, dbeta_eval
def bn_case(name, n, c, h=0, w=0):
    shape = (n, c, h, w) if h else (n, c)
    x0 = torch.randn(shape) * 1.5 + 0.7
    gamma0 = torch.rand(c) + 0.5
    beta0 = torch.randn(c) * 0.2
    rm0 = torch.randn(c) * 0.1
    rv0 = torch.rand(c) + 0.5
    bn = (torch.nn.BatchNorm2d if h else torch.nn.BatchNorm1d)(c, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(gamma0)
        bn.bias.copy_(beta0)
        bn.running_mean.copy_(rm0)
        bn.running_var.copy_(rv0)
    bn.train()
    x = leaf(x0)
    y = bn(x)
    dy = torch.randn(y.shape)
    y.backward(dy)
    rm1, rv1 = bn.running_mean.clone(), bn.running_var.clone()
    dx, dg, db = x.grad.clone(), bn.weight.grad.clone(), bn.bias.grad.clone()
    bn.eval()
    bn.zero_grad()
    xe = leaf(x0)
    ye = bn(xe)
    ye.backward(dy)
    dump(name, x0, gamma0, beta0, rm0, rv0, dy, y, dx, dg, db, rm1, rv1, ye, xe.grad, bn.weight.grad, bn.bias.grad)
    manifest.append(f"bn {name} {n} {c} {h} {w}")


bn_case("bn2d", 3, 6, 5, 4)
bn_case("bn1d", 3, 10)


# prelu <name> n c h w shared   bin: x, slope (c or 1), dy, y, dx, dslope
def prelu_case(name, n, c, h, w, shared):
    x = leaf(torch.randn(n, c, h, w))
    sl = leaf(torch.rand(1 if shared else c) * 0.5)
    y = F.prelu(x, sl)
    dy = torch.randn(y.shape)
    y.backward(dy)
    dump(name, x, sl, dy, y, x.grad, sl.grad)
    manifest.append(f"prelu {name} {n} {c} {h} {w} {int(shared)}")


prelu_case("prelu", 2, 7, 5, 3, False)
prelu_case("prelu_shared", 2, 5, 4, 4, True)

# relu <name> n c h w   bin: x, dy, y, dx
x = leaf(torch.randn(2, 6, 3, 4))
y = F.relu(x)
dy = torch.randn(y.shape)
y.backward(dy)
dump("relu", x, dy, y, x.grad)
manifest.append("relu relu 2 6 3 4")


# linear <name> n in out bias   bin: x, w (out,in), b, dy, y, dx, dw, db
def linear_case(name, n, fin, fout, bias=True):
    x = leaf(torch.randn(n, fin))
    w = leaf(torch.randn(fout, fin) / fin ** 0.5)
    b = leaf(torch.randn(fout) * 0.1)
    y = F.linear(x, w, b if bias else None)
    dy = torch.randn(y.shape)
    y.backward(dy)
    dump(name, x, w, b, dy, y, x.grad, w.grad, b.grad if bias else torch.zeros(fout))
    manifest.append(f"linear {name} {n} {fin} {fout} {int(bias)}")


linear_case("linear", 3, 37, 11)
linear_case("linear_nobias", 2, 16, 9, False)

# dropout <name> n p   bin: x, mask01 (torch's own draw, recovered from its output), dy, y, dx
p = 0.4
x = leaf(torch.randn(3, 50))
y = F.dropout(x, p, training=True)
mask = (y != 0).float()
dy = torch.randn(y.shape)
y.backward(dy)
dump("dropout", x, mask, dy, y, x.grad)
manifest.append(f"dropout dropout {x.numel()} {p}")

# flatten <name> n c h w   bin: x (NCHW), dy (n, c*h*w), y, dx
x = leaf(torch.randn(2, 5, 3, 4))
y = torch.flatten(x, 1)
dy = torch.randn(y.shape)
y.backward(dy)
dump("flatten", x, dy, y, x.grad)
manifest.append("flatten flatten 2 5 3 4")


# maxpool <name> n c h w k s p   bin: x, dy, y, dx
def pool_case(name, n, c, h, w, k, s, p):
    x = leaf(torch.randn(n, c, h, w))
    y = F.max_pool2d(x, k, s, p)
    dy = torch.randn(y.shape)
    y.backward(dy)
    dump(name, x, dy, y, x.grad)
    manifest.append(f"maxpool {name} {n} {c} {h} {w} {k} {s} {p}")


pool_case("maxpool1s2", 2, 6, 7, 8, 1, 2, 0)   # AdaFace shortcut subsampling
pool_case("maxpool3s2", 2, 5, 9, 8, 3, 2, 1)

# l2norm <name> n d   bin: x, dy, dnorm, y, norm, dx   (loss = <dy, x/|x|> + <dnorm, |x|>)
x = leaf(torch.randn(4, 24))
nrm = torch.norm(x, 2, 1, True)
y = torch.div(x, nrm)
dy = torch.randn(y.shape)
dn = torch.randn(nrm.shape)
(y * dy).sum().add_((nrm * dn).sum()).backward()
dump("l2norm", x, dy, dn, y, nrm, x.grad)
manifest.append("l2norm l2norm 4 24")

# small-group convolution paths (Cin/G = Cout/G = 3 strided, = 2 with a 5x5 kernel) and a
# grouped convolution that takes the im2col path (Cin/G = 8, Cout/G = 4)
conv_case("group3s2", 2, 9, 7, 8, 9, 3, 2, 1, g=3)
conv_case("group2big", 2, 16, 6, 6, 16, 5, 1, 2, g=8)
conv_case("group_im2col", 2, 16, 5, 5, 8, 3, 1, 1, g=2)

with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print("wrote", len(manifest), "cases to", OUT)
