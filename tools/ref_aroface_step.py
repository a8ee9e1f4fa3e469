#!/usr/bin/python3
"""ref_aroface_step.py — reference dumps for tests/test_aroface_step.c: ONE ARoFace training
iteration's augmentation (AdvWarp.py adversarial_img_warping, ARoFace 5f87f83b7f) reimplemented
in torch 1.13 float32 around a real network: the reduced insightface IResNet-18 of
tools/ref_backbone.py (widths 4/8/12/16, input 3x32x32, embedding 16, default init seeded)
in TRAINING mode, and insightface's ArcFace training loss (normalised FC, clamp(-1,1),
CombinedMarginLoss m1=1 m2=0.5 m3=0 with its straight-through gradient, s=64, mean
cross-entropy) on a fixed batch of 8 ORL faces (4 identities x 2; the batch of
tools/ref_train_step.py: 32x32 INTER_AREA, grey to 3 channels, (x-127.5)/127.5).

lqface's random numbers are not torch's, so every random quantity of the iteration is drawn
HERE (numpy seed 2048) and dumped, and the C test feeds the same ones: the start p0
(s0~N(1,0.01), theta0~N(0,0.01), t0~N(0,0.01), in AdvWarp.py's draw order), the step sizes
eta_s, eta_theta, eta_t ~ N(0.1, 0.001) (spec §1; rounded to float32) and the two
permutations behind idx1/idx2 (torch.randperm in the reference).

Per case, the loop is AdvWarp.py's: k times { M = [[s cos, -s sin, tx],[s sin, s cos, ty]];
grid = affine_grid(M, img.size(), align_corners=False); warped = grid_sample(pad(img, 1, -1),
grid, 'border') [reference warp] or grid_sample(img, grid, 'zeros') [corrected warp]; loss of
backbone(warped) (batch statistics; the running statistics update, as in the reference);
grads w.r.t. (s, theta, t) only; p <- p + eta*sign(grad); clip s to [s0-0.5, s0+1.5], theta
to [theta0-0.8, theta0+0.8], t to [t0-0.3, theta0+0.3] (reference bug) or [t0-0.3, t0+0.3]
(fixed) }; final warp; idx1 = perm1[:int(B*ratio)], idx2 = perm2[:int(B*(1-ratio))];
mixed = cat(img[idx1], warped[idx2]). Every case starts from the same network state.
Cases (in file order):
  reference       reference warp and clip, k=1, ratio 0.75 (AdvWarp.py's defaults)
  reference_bind  as reference but eta = (0.6, 0.9, 0.35): every bound of the clip box binds
                  (s lower, theta both, t lower and the buggy t upper theta0+0.3)
  fixed_k2        corrected warp, fixed clip, k=2, ratio 0.5
Each case has its own p0, etas and permutations.

Run with Debian's python:  /usr/bin/python3 tools/ref_aroface_step.py [outdir]
(default tests/data/aroface; about 0.5 MB).
Files: net.txt (`tensor <name> <numel>` in state_dict order, then `case <name> <k> <ratio>`
lines) and step.bin (float32 LE), in order:
  state_dict values (initial; running statistics included), head kernel (16 x 4, one class
  per column, as lqface's W), x (8,32,32,3) NHWC, labels (8, as floats), then per case:
  eta (3), p0 (8,4), perm1 (8), perm2 (8), k x [loss (1), dL/dp (8,4) at the step's start],
  p (8,4) final, warped (8,32,32,3) NHWC, mixed (n1+n2,32,32,3) NHWC, mixed labels (n1+n2),
  the running statistics after the search (state_dict tensors ending running_mean /
  running_var, in order); finally the angle sweep: n (1), angles (n), torch.sin, torch.cos
  (n each) of float32 angles (2048 ~ N(0, 0.3), 2048 ~ U(-3.2, 3.2)): torch's float32 sin/cos
  (SLEEF's on an AVX2 CPU) are what lqf_similarity_forward has to reproduce bit for bit.
"""
import math
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tests", "data", "aroface")
SHARED = os.environ.get("LQFACE_SHARED", os.path.join(HERE, "..", "..", "shared"))
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(1)

# the module code of ref_backbone.py, up to its dumps (importing it would write its dumps)
src = open(os.path.join(HERE, "ref_backbone.py")).read()
src = src[:src.index("# ------------------------------------------------------------ dumps")]
ns = {"__name__": "ref_backbone_modules", "__file__": os.path.join(HERE, "ref_backbone.py")}
saved_argv = sys.argv
sys.argv = [sys.argv[0], os.path.join(OUT, ".unused")]  # ref_backbone makes its OUT at exec
exec(compile(src, "ref_backbone.py", "exec"), ns)
sys.argv = saved_argv
try:
    os.rmdir(os.path.join(OUT, ".unused"))
except OSError:
    pass

B, S, D, C = 8, 32, 16, 4


def orl_batch():
    """tools/ref_train_step.py's batch: s1..s4, images 1 and 2."""
    xs, labels = [], []
    for c in range(4):
        for i in (1, 2):
            img = cv2.imread(os.path.join(SHARED, "data", "orl", "att_faces", f"s{c + 1}", f"{i}.pgm"),
                             cv2.IMREAD_GRAYSCALE)
            img = cv2.resize(img, (S, S), interpolation=cv2.INTER_AREA).astype(np.float32)
            xs.append(np.stack([img] * 3))
            labels.append(c)
    x = (torch.from_numpy(np.stack(xs)) - 127.5) / 127.5
    return x, torch.tensor(labels)


def arcface_st_loss(emb, kernel, label, s=64.0, m2=0.5):
    """insightface PartialFC (sample rate 1) + CombinedMarginLoss(1, 0.5, 0) + CrossEntropy."""
    logits = F.linear(F.normalize(emb), F.normalize(kernel.t())).clamp(-1, 1)
    index = torch.where(label != -1)[0]
    target = logits[index, label[index].view(-1)]
    with torch.no_grad():
        target.arccos_()
        logits.arccos_()
        logits[index, label[index].view(-1)] = target + m2
        logits.cos_()
    return F.cross_entropy(logits * s, label)


def pad_with_value(img, pad_size=1, pad_value=-1):
    return F.pad(img, (pad_size,) * 4, "constant", pad_value)


def warp(img, scale, theta, t, corrected):
    n = img.shape[0]
    rot = torch.stack([scale * torch.cos(theta), -scale * torch.sin(theta),
                       scale * torch.sin(theta), scale * torch.cos(theta)], dim=-1).view(n, 2, 2)
    M = torch.cat([rot, t.view(n, 2, 1)], dim=-1)
    grid = F.affine_grid(M, img.size(), align_corners=False)
    if corrected:
        return F.grid_sample(img, grid, padding_mode="zeros", align_corners=False)
    return F.grid_sample(pad_with_value(img), grid, padding_mode="border", align_corners=False)


def adversarial_img_warping(backbone, img, kernel, labels, draws, k, ratio, corrected, fixed_clip):
    """AdvWarp.py's function with its random draws given (draws) and the loss inline."""
    eta_scale, eta_theta, eta_t = draws["eta"]
    sampled_scale = torch.from_numpy(draws["s0"])
    sampled_theta = torch.from_numpy(draws["theta0"])
    sampled_t = torch.from_numpy(draws["t0"])
    scale, theta, t = sampled_scale.detach(), sampled_theta.detach(), sampled_t.detach()
    trace = []
    for _ in range(k):
        scale.requires_grad_()
        theta.requires_grad_()
        t.requires_grad_()
        updated = warp(img, scale, theta, t, corrected)
        with torch.enable_grad():
            loss = arcface_st_loss(backbone(updated), kernel, labels)
            g_s, g_th, g_t = torch.autograd.grad(loss, [scale, theta, t])
            trace.append((loss.detach().reshape(1), torch.cat([g_s, g_th, g_t], 1)))
            scale = scale.detach() + eta_scale * torch.sign(g_s.detach())
            theta = theta.detach() + eta_theta * torch.sign(g_th.detach())
            t = t.detach() + eta_t * torch.sign(g_t.detach())
            scale = torch.min(torch.max(scale, sampled_scale - 0.5), sampled_scale + 1.5)
            theta = torch.min(torch.max(theta, sampled_theta - 0.8), sampled_theta + 0.8)
            t_hi = (sampled_t if fixed_clip else sampled_theta) + 0.3
            t = torch.min(torch.max(t, sampled_t - 0.3), t_hi)
    with torch.no_grad():
        updated = warp(img, scale, theta, t, corrected)
    n = img.shape[0]
    idx1 = torch.from_numpy(draws["perm1"])[:int(n * ratio)]
    idx2 = torch.from_numpy(draws["perm2"])[:int(n * (1 - ratio))]
    train_img = torch.cat((img[idx1], updated[idx2]), dim=0)
    train_labels = torch.cat((labels[idx1], labels[idx2]), dim=0)
    p = torch.cat([scale, theta, t], 1).detach()
    return train_img, train_labels, p, updated, trace


def draw(rng, eta=None):
    d = {"s0": rng.normal(1, 0.01, (B, 1)).astype(np.float32),
         "theta0": rng.normal(0, 0.01, (B, 1)).astype(np.float32),
         "t0": rng.normal(0, 0.01, (B, 2)).astype(np.float32)}
    e = rng.normal(0.1, 0.001, 3).astype(np.float32)
    d["eta"] = [float(v) for v in (np.asarray(eta, np.float32) if eta is not None else e)]
    d["perm1"] = rng.permutation(B).astype(np.int64)
    d["perm2"] = rng.permutation(B).astype(np.int64)
    return d


def nhwc(a):
    return a.detach().permute(0, 2, 3, 1).contiguous()


CASES = [  # name, k, ratio, corrected warp, fixed clip, eta override
    ("reference", 1, 0.75, False, False, None),
    ("reference_bind", 1, 0.75, False, False, (0.6, 0.9, 0.35)),
    ("fixed_k2", 2, 0.5, True, True, None),
]

torch.manual_seed(3)
model = ns["IResNet"](ns["IBasicBlock"], ns["UNITS"][18], dropout=0, num_features=D, widths=(4, 8, 12, 16), fc_hw=2)
kernel = torch.randn(D, C, generator=torch.Generator().manual_seed(11))
sd0 = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
stats = [k for k in sd0 if k.endswith(("running_mean", "running_var"))]
x, labels = orl_batch()
rng = np.random.RandomState(2048)

arrays = list(sd0.values()) + [kernel, nhwc(x), labels.float()]
lines = [f"tensor {k} {v.numel()}" for k, v in sd0.items()]
for name, k, ratio, corrected, fixed_clip, eta in CASES:
    model.load_state_dict(sd0, strict=False)
    model.train()
    d = draw(rng, eta)
    mixed, mlab, p, warped, trace = adversarial_img_warping(model, x, kernel, labels, d, k, ratio,
                                                           corrected, fixed_clip)
    p0 = np.concatenate([d["s0"], d["theta0"], d["t0"]], 1)
    arrays += [torch.tensor(d["eta"]), torch.from_numpy(p0), torch.from_numpy(d["perm1"]).float(),
               torch.from_numpy(d["perm2"]).float()]
    for loss, g in trace:
        arrays += [loss, g]
    sd1 = model.state_dict()
    arrays += [p, nhwc(warped), nhwc(mixed), mlab.float()] + [sd1[s].clone() for s in stats]
    lines.append(f"case {name} {k} {ratio}")
    g = torch.stack([gr for _, gr in trace]).abs()
    moved = (p - torch.from_numpy(p0)).abs()
    print(f"{name}: losses {[round(l.item(), 6) for l, _ in trace]}, min |dL/dp| {g.min().item():.3g}, "
          f"|p - p0| in [{moved.min().item():.4f}, {moved.max().item():.4f}], mixed {tuple(mixed.shape)}")

ang = torch.from_numpy(np.concatenate([rng.normal(0, 0.3, 2048), rng.uniform(-3.2, 3.2, 2048)]).astype(np.float32))
arrays += [torch.tensor([float(ang.numel())]), ang, torch.sin(ang), torch.cos(ang)]

with open(os.path.join(OUT, "net.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
with open(os.path.join(OUT, "step.bin"), "wb") as f:
    for a in arrays:
        f.write(a.detach().contiguous().numpy().astype("<f4").tobytes())
print("wrote", os.path.join(OUT, "step.bin"), os.path.getsize(os.path.join(OUT, "step.bin")), "bytes")
