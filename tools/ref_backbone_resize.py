#!/usr/bin/python3
"""ref_backbone_resize.py — reference dumps for the shape-inference case of tests/test_backbone.c:
the three reduced networks of tools/ref_backbone.py (same module code, imported), built for a
3x32x32 input, run in eval mode at ANOTHER input size, 28x24 (both still end in 2x2 maps
before the flatten/GDC, so the weights fit), batch 2. lqface builds each graph at 32x32,
loads the weights by name and must follow the new size by shape inference alone.

Run with Debian's python:  /usr/bin/python3 tools/ref_backbone_resize.py [outdir]  (default tests/data/backbone)
Files: <net>_resize.txt (ref_backbone.py's config and tensor lines, then `run <batch> <H> <W>`)
and <net>_resize.bin (float32 LE): state_dict values, x (NCHW), embedding in eval mode.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_backbone as rb  # noqa: E402

torch.set_num_threads(1)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "backbone")
os.makedirs(OUT, exist_ok=True)
B, H, W = 2, 28, 24

torch.manual_seed(11)
for name in ("ir18_insightface", "ir18_adaface", "mobilefacenet"):
    m = rb.reduced(name)
    g = torch.Generator().manual_seed(91)
    rb.randomise(m, g)
    sd = {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
    params = dict(m.named_parameters())
    lines = list(rb.CONFIG[name])
    for k, v in sd.items():
        lines.append(f"tensor {k} {v.numel()} {int(k in params and params[k].requires_grad)}")
    lines.append(f"run {B} {H} {W}")
    x = torch.randn(B, 3, H, W, generator=g)
    m.eval()
    with torch.no_grad():
        emb = m.embedding(x) if name == "ir18_adaface" else m(x)
    arrays = [v.clone() for v in sd.values()] + [x, emb]
    with open(os.path.join(OUT, name + "_resize.bin"), "wb") as f:
        for a in arrays:
            f.write(a.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())
    with open(os.path.join(OUT, name + "_resize.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(name + "_resize", sum(a.numel() for a in arrays) * 4, "bytes")
