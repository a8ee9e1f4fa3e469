#!/usr/bin/python3
"""peer_pytorch.py — the PyTorch side of bench/train/run.sh: training throughput of the same
networks lqface trains (IResNet-18/50 insightface variant, MobileFaceNet; module code from
tools/ref_backbone.py, the reference implementations) with an ArcFace head (AdaFace head.py
form, s 64, m 0.5) over C classes, SGD momentum 0.9 weight decay 5e-4: zero_grad, forward,
loss, backward, step on a random batch (N, 3, 112, 112), torch.set_num_threads(T). One warm-up
step, then STEPS timed steps; prints one JSON line like `lqface train --bench`.

usage: /usr/bin/python3 bench/train/peer_pytorch.py ARCH BATCH STEPS [THREADS] [CLASSES]
       ARCH: iresnet18 | iresnet50 | mobilefacenet
"""
import json
import math
import os
import resource
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
arch, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
classes = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
torch.set_num_threads(threads)

src = open(os.path.join(TOOLS, "ref_backbone.py")).read()
src = src[:src.index("# ------------------------------------------------------------ dumps")]
ns = {"__name__": "ref_backbone_modules"}
argv, sys.argv = sys.argv, [sys.argv[0], "/tmp/peer_pytorch_unused"]
exec(compile(src, "ref_backbone.py", "exec"), ns)
sys.argv = argv

torch.manual_seed(0)
if arch.startswith("iresnet"):
    model = ns["IResNet"](ns["IBasicBlock"], ns["UNITS"][int(arch[7:])], dropout=0, num_features=512)
elif arch == "mobilefacenet":
    model = ns["MobileFaceNet"]()
else:
    sys.exit(f"unknown arch {arch}")
kernel = torch.nn.Parameter(torch.randn(512, classes))
opt = torch.optim.SGD(list(model.parameters()) + [kernel], lr=0.01, momentum=0.9, weight_decay=5e-4)
x = torch.rand(batch, 3, 112, 112) * 2 - 1
y = torch.randint(0, classes, (batch,))


def step():
    opt.zero_grad()
    emb = model(x)
    cos = torch.mm(emb / emb.norm(dim=1, keepdim=True), kernel / kernel.norm(dim=0, keepdim=True))
    cos = cos.clamp(-1 + 1e-4, 1 - 1e-4)
    m_hot = torch.zeros_like(cos).scatter_(1, y.view(-1, 1), 0.5)
    logits = torch.clip(cos.acos() + m_hot, 1e-4, math.pi - 1e-4).cos() * 64
    torch.nn.functional.cross_entropy(logits, y).backward()
    opt.step()


model.train()
step()
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
print(json.dumps({"arch": arch, "batch": batch, "classes": classes, "threads": threads, "steps": steps,
                  "mean_step_s": round(sum(times) / steps, 4), "best_step_s": round(min(times), 4),
                  "img_per_s": round(batch * steps / sum(times), 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "torch": torch.__version__}))
