#!/usr/bin/python3
"""ref_train_step.py — reference dumps for tests/test_train.c: three full training steps of a
reduced IResNet-18 (widths 4/8/12/16, input 3x32x32, embedding 16) with a margin head, in
torch 1.13, on one fixed batch of 8 ORL faces (4 identities x 2 images, resized to 32x32 with
cv2.INTER_AREA, grey replicated to 3 channels, (x - 127.5) / 127.5).

The network modules are tools/ref_backbone.py's (the insightface iresnet.py and AdaFace net.py
code with reduced widths); its class definitions are executed from that file (importing it
would rewrite the backbone dumps). Cases:
  sgd_arcface    insightface IResNet, ArcFace (AdaFace head.py form: exact gradient, eps 1e-4,
                 s 64, m 0.5), SGD lr 0.01 momentum 0.9 weight decay 5e-4 except BatchNorm
                 parameters (features.weight is frozen, as in insightface)
  adamw_adaface  AdaFace IResNet (dropout 0), AdaFace head (m 0.4, h 0.333, s 64, t_alpha 0.01,
                 EMA batch statistics), AdamW lr 1e-3 betas (0.9, 0.999) eps 1e-2 weight decay
                 5e-4 except BatchNorm parameters. Why eps 1e-2: the shift of every BatchNorm
                 whose output joins the residual stream has an analytically ZERO gradient (every
                 reader of the stream is a training-mode BatchNorm, invariant to a per-channel
                 shift), so both implementations hand Adam rounding noise (~1e-7); with eps 1e-8
                 Adam turns that noise into full +-lr steps of random sign. eps 1e-2 keeps those
                 steps ~1e-8 while the real gradients (>= 1e-2) still get Adam's normalisation.
Each: the head kernel (16 x 4, one class per column) and the network start from a seeded
draw; three steps of zero_grad / forward / loss / backward / step on the same batch.

Run with Debian's python:  /usr/bin/python3 tools/ref_train_step.py [outdir]  (default tests/data/train)
With --check CKPT [widths input emb]: loads a checkpoint written by `lqface train` for an
insightface IResNet-18 (default widths 8,16,24,32, input 32, emb 32: configs/orl_tiny.conf)
into the PyTorch module with load_state_dict(strict=True) and prints the embedding of a
random batch in eval mode (shapes and names must match exactly).
Files: <case>.txt (config lines, `tensor <name> <numel>` in state_dict order) and <case>.bin
(float32 LE): initial state_dict, initial kernel, x (NCHW), labels (as floats), the 3 losses,
state_dict after 3 steps (running statistics included), kernel after, and for AdaFace the
head's batch_mean and batch_std after.
"""
import math
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = sys.argv[2:] if len(sys.argv) > 2 and sys.argv[1] == "--check" else None
OUT = sys.argv[1] if len(sys.argv) > 1 and not CHECK else os.path.join(HERE, "..", "tests", "data", "train")
SHARED = os.environ.get("LQFACE_SHARED", os.path.join(HERE, "..", "..", "shared"))
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(1)

# the module code of ref_backbone.py, up to its dumps
src = open(os.path.join(HERE, "ref_backbone.py")).read()
src = src[:src.index("# ------------------------------------------------------------ dumps")]
ns = {"__name__": "ref_backbone_modules", "__file__": os.path.join(HERE, "ref_backbone.py")}
saved_argv = sys.argv
sys.argv = [sys.argv[0], os.path.join(OUT, ".unused")]  # ref_backbone makes OUT at import
exec(compile(src, "ref_backbone.py", "exec"), ns)
sys.argv = saved_argv
try:
    os.rmdir(os.path.join(OUT, ".unused"))
except OSError:
    pass


if CHECK:
    import json
    import struct
    path = CHECK[0]
    widths = tuple(int(v) for v in (CHECK[1] if len(CHECK) > 1 else "8,16,24,32").split(","))
    hw = int(CHECK[2]) if len(CHECK) > 2 else 32
    emb = int(CHECK[3]) if len(CHECK) > 3 else 32
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    data = raw[8 + n:]
    tensors = {k: torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]), dtype=torch.float32)
               .reshape(v["shape"]) for k, v in header.items()}
    model = ns["IResNet"](ns["IBasicBlock"], ns["UNITS"][18], dropout=0, num_features=emb, widths=widths, fc_hw=hw // 16)
    want = model.state_dict()
    sd = {k: tensors[k] for k in want if not k.endswith("num_batches_tracked")}
    for k in want:
        if k.endswith("num_batches_tracked"):
            sd[k] = want[k]
    model.load_state_dict(sd, strict=True)
    extra = sorted(k for k in tensors if k not in want and not k.startswith(("optim.", "head.")))
    model.eval()
    with torch.no_grad():
        e = model(torch.randn(2, 3, hw, hw, generator=torch.Generator().manual_seed(0)))
    print(f"{path}: {len(sd)} state_dict tensors loaded strictly ({meta['arch']}, step {meta['step']}); "
          f"other backbone tensors: {extra}; head.kernel {list(tensors['head.kernel'].shape)}; "
          f"eval embedding norms {e.norm(dim=1).tolist()}")
    sys.exit(0)


def l2n(x, axis):
    return x / torch.norm(x, 2, axis, True)


def arcface_logits(emb, kernel, label, s=64.0, m=0.5, eps=1e-4):
    """AdaFace head.py ArcFace."""
    cosine = torch.mm(l2n(emb, 1), l2n(kernel, 0)).clamp(-1 + eps, 1 - eps)
    m_hot = torch.zeros_like(cosine).scatter_(1, label.view(-1, 1), m)
    theta_m = torch.clip(cosine.acos() + m_hot, min=eps, max=math.pi - eps)
    return theta_m.cos() * s


class AdaFaceHead:
    """AdaFace head.py (m 0.4, h 0.333, s 64, t_alpha 0.01, eps 1e-3)."""

    def __init__(self):
        self.m, self.h, self.s, self.t_alpha, self.eps = 0.4, 0.333, 64.0, 0.01, 1e-3
        self.batch_mean = torch.ones(1) * 20
        self.batch_std = torch.ones(1) * 100

    def logits(self, emb, kernel, label):
        norms = torch.norm(emb, 2, 1, True)
        embn = emb / norms
        cosine = torch.mm(embn, l2n(kernel, 0)).clamp(-1 + self.eps, 1 - self.eps)
        safe = torch.clip(norms, min=0.001, max=100).clone().detach()
        with torch.no_grad():
            mean, std = safe.mean().detach(), safe.std().detach()
            self.batch_mean = mean * self.t_alpha + (1 - self.t_alpha) * self.batch_mean
            self.batch_std = std * self.t_alpha + (1 - self.t_alpha) * self.batch_std
        ms = (safe - self.batch_mean) / (self.batch_std + self.eps)
        ms = torch.clip(ms * self.h, -1, 1)
        m_arc = torch.zeros(label.size(0), cosine.size(1)).scatter_(1, label.view(-1, 1), 1.0)
        m_arc = m_arc * (self.m * ms * -1)
        theta_m = torch.clip(cosine.acos() + m_arc, min=self.eps, max=math.pi - self.eps)
        cosine = theta_m.cos()
        m_cos = torch.zeros(label.size(0), cosine.size(1)).scatter_(1, label.view(-1, 1), 1.0)
        m_cos = m_cos * (self.m + self.m * ms)
        return (cosine - m_cos) * self.s


def orl_batch():
    xs, labels = [], []
    for c in range(4):
        for i in (1, 2):
            img = cv2.imread(os.path.join(SHARED, "data", "orl", "att_faces", f"s{c + 1}", f"{i}.pgm"),
                             cv2.IMREAD_GRAYSCALE)
            img = cv2.resize(img, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
            xs.append(np.stack([img] * 3))
            labels.append(c)
    x = (torch.from_numpy(np.stack(xs)) - 127.5) / 127.5
    return x, torch.tensor(labels)


def groups(model, kernel, wd):
    bn = set()
    for mod in model.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            for p in mod.parameters(recurse=False):
                bn.add(id(p))
    decay = [p for p in model.parameters() if p.requires_grad and id(p) not in bn]
    nodecay = [p for p in model.parameters() if p.requires_grad and id(p) in bn]
    return [{"params": decay + [kernel], "weight_decay": wd}, {"params": nodecay, "weight_decay": 0.0}]


def run(name, model, emb_fn, head, make_opt, config):
    g = torch.Generator().manual_seed(11)
    kernel = torch.randn(16, 4, generator=g).requires_grad_(True)
    kernel0 = kernel.detach().clone()
    sd0 = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    x, labels = orl_batch()
    opt = make_opt(groups(model, kernel, 5e-4))
    model.train()
    losses = []
    for _ in range(3):
        opt.zero_grad()
        z = head(emb_fn(x), kernel, labels)
        loss = nn.functional.cross_entropy(z, labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    sd1 = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    arrays = list(sd0.values()) + [kernel0]
    arrays += [x, labels.float(), torch.tensor(losses)] + list(sd1.values()) + [kernel.detach()]
    lines = list(config) + [f"tensor {k} {v.numel()}" for k, v in sd0.items()]
    if isinstance(getattr(head, "__self__", None), AdaFaceHead):
        arrays += [head.__self__.batch_mean.reshape(1), head.__self__.batch_std.reshape(1)]
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        for a in arrays:
            f.write(a.detach().contiguous().numpy().astype("<f4").tobytes())
    print(name, "losses", losses)


W = (4, 8, 12, 16)
UNITS = ns["UNITS"]
torch.manual_seed(3)
m = ns["IResNet"](ns["IBasicBlock"], UNITS[18], dropout=0, num_features=16, widths=W, fc_hw=2)
run("sgd_arcface", m, m, arcface_logits,
    lambda gr: torch.optim.SGD(gr, lr=0.01, momentum=0.9),
    ["variant insightface", "head arcface", "optimizer sgd", "lr 0.01"])
torch.manual_seed(4)
m = ns["Backbone"](18, widths=W, fc_hw=2, emb=16, dropout=0.0)
ada = AdaFaceHead()
run("adamw_adaface", m, m.embedding, ada.logits,
    lambda gr: torch.optim.AdamW(gr, lr=1e-3, betas=(0.9, 0.999), eps=1e-2),
    ["variant adaface", "head adaface", "optimizer adamw", "lr 0.001"])
