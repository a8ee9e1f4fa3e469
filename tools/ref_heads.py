#!/usr/bin/python3
"""ref_heads.py — reference dumps for tests/test_heads.c: every margin head written in
PyTorch (float32, autograd for the gradients) the way its reference code writes it —
insightface CombinedMarginLoss + CrossEntropy, AdaFace head.py (AdaFace, ArcFace, CosFace),
the official CurricularFace and MagFace heads, sphereface_pytorch's AngleLinear/AngleLoss —
with W kept as (D,C) (one class centre per column, AdaFace's `kernel` layout).

Run:  /usr/bin/python3 tools/ref_heads.py   (writes tests/data/heads/)

Per case <name> it writes raw little-endian float32 files:
  <name>.cfg     [B, D, C, nbatch, type, s, m, m1, m2, m3, eps, h, t_alpha, l_a, u_a, l_m, u_m,
                  lambda_g, easy_margin, sphere_fixed_scale, lambda_max, lambda_min,
                  lambda_gamma, lambda_power, use_bias, t0, formula_inputs]
  <name>.W (D*C), <name>.bias (C, softmax with bias)   — unless formula_inputs
  per batch k: <name>.<k>.x (B*D), .labels (B, as floats), .logits (B*C, small cases),
               .dx (B*D), .dW (D*C), .db (C, with bias),
               .out [loss, ce, reg, accuracy, batch_mean, batch_std, t, lambda]
Large cases (formula_inputs = 1) take x, W and labels from closed-form formulas that the C
test recomputes, so only the outputs are stored.
"""
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "heads")
TYPES = ["softmax", "sphereface", "cosface", "arcface", "arcface_st", "combined",
         "curricularface", "adaface", "magface"]


def l2_norm(input, axis=1):  # AdaFace / CurricularFace helper
    norm = torch.norm(input, 2, axis, True)
    return torch.div(input, norm)


# ------------------------------------------------------------------ heads
class Softmax:
    def __init__(self, p):
        self.p = p

    def __call__(self, x, W, bias, label):
        logits = x.mm(W)
        if bias is not None:
            logits = logits + bias
        return logits, logits.detach(), None


class SphereFace:
    """sphereface_pytorch AngleLinear (phiflag) + AngleLoss (gamma 0, lambda annealing);
    sphere_fixed_scale replaces |x| by s."""
    mlambda = [
        lambda x: x ** 0,
        lambda x: x ** 1,
        lambda x: 2 * x ** 2 - 1,
        lambda x: 4 * x ** 3 - 3 * x,
        lambda x: 8 * x ** 4 - 8 * x ** 2 + 1,
        lambda x: 16 * x ** 5 - 20 * x ** 3 + 5 * x,
    ]

    def __init__(self, p):
        self.p = p
        self.it = 0

    def __call__(self, x, W, bias, label):
        p = self.p
        m = int(p["m"])
        ww = W.renorm(2, 1, 1e-5).mul(1e5)
        xlen = x.pow(2).sum(1).pow(0.5)
        wlen = ww.pow(2).sum(0).pow(0.5)
        cos_theta = x.mm(ww)
        cos_theta = cos_theta / xlen.view(-1, 1) / wlen.view(1, -1)
        cos_theta = cos_theta.clamp(-1, 1)
        origin = cos_theta.detach().clone()
        cos_m_theta = self.mlambda[m](cos_theta)
        theta = cos_theta.data.acos()
        k = (m * theta / 3.14159265).floor()
        n_one = k * 0.0 - 1
        phi_theta = (n_one ** k) * cos_m_theta - 2 * k
        scale = torch.full_like(xlen, p["s"]) if p["sphere_fixed_scale"] else xlen
        cos_theta = cos_theta * scale.view(-1, 1)
        phi_theta = phi_theta * scale.view(-1, 1)
        # AngleLoss
        self.it += 1
        if p["lambda_max"] > 0:
            lamb = max(p["lambda_min"], p["lambda_max"] / (1 + p["lambda_gamma"] * self.it) ** p["lambda_power"])
        else:
            lamb = 0.0
        self.lamb = lamb
        index = torch.zeros_like(cos_theta, dtype=torch.bool)
        index[torch.arange(len(label)), label] = True
        output = cos_theta * 1.0
        output[index] -= cos_theta[index] * (1.0 + 0) / (1 + lamb)
        output[index] += phi_theta[index] * (1.0 + 0) / (1 + lamb)
        return output, origin, None


class AdaFaceCosFace:
    """AdaFace head.py CosFace: clamp eps 1e-4, s*(cos - m) on the target."""

    def __init__(self, p):
        self.p = p

    def __call__(self, emb, norms, W, label):
        p = self.p
        kernel_norm = l2_norm(W, axis=0)
        cosine = torch.mm(emb, kernel_norm)
        origin = cosine.detach().clone()
        cosine = cosine.clamp(-1 + p["eps"], 1 - p["eps"])
        m_hot = torch.zeros(label.size()[0], cosine.size()[1])
        m_hot.scatter_(1, label.reshape(-1, 1), p["m"])
        cosine = cosine - m_hot
        return cosine * p["s"], origin


class AdaFaceArcFace:
    """AdaFace head.py ArcFace: s*cos(clip(theta + m, eps, pi - eps)), exact gradient."""

    def __init__(self, p):
        self.p = p

    def __call__(self, emb, norms, W, label):
        p = self.p
        kernel_norm = l2_norm(W, axis=0)
        cosine = torch.mm(emb, kernel_norm)
        origin = cosine.detach().clone()
        cosine = cosine.clamp(-1 + p["eps"], 1 - p["eps"])
        m_hot = torch.zeros(label.size()[0], cosine.size()[1])
        m_hot.scatter_(1, label.reshape(-1, 1), p["m"])
        theta = cosine.acos()
        theta_m = torch.clip(theta + m_hot, min=p["eps"], max=math.pi - p["eps"])
        return theta_m.cos() * p["s"], origin


class Combined:
    """s*(cos(m1*theta + m2) - m3) on the target, cosine clamped to [-1+eps, 1-eps]."""

    def __init__(self, p):
        self.p = p

    def __call__(self, emb, norms, W, label):
        p = self.p
        cosine = torch.mm(emb, l2_norm(W, axis=0))
        origin = cosine.detach().clone()
        cosine = cosine.clamp(-1 + p["eps"], 1 - p["eps"])
        idx = torch.arange(len(label))
        theta_y = cosine[idx, label].acos()
        target = torch.cos(p["m1"] * theta_y + p["m2"]) - p["m3"]
        onehot = F.one_hot(label, cosine.shape[1]).to(torch.float32)
        out = cosine * (1 - onehot) + onehot * target.view(-1, 1)
        return out * p["s"], origin


class InsightfaceArcFace:
    """insightface FC (normalize emb and weight, linear, clamp) + CombinedMarginLoss(m1=1, m3=0)."""

    def __init__(self, p):
        self.p = p
        self.m2 = p["m"]

    def __call__(self, emb, norms, W, label):
        weight = W.t()  # insightface keeps (C, D)
        norm_embeddings = F.normalize(emb)
        norm_weight_activated = F.normalize(weight)
        logits = F.linear(norm_embeddings, norm_weight_activated)
        logits = logits.clamp(-1, 1)
        origin = logits.detach().clone()
        index_positive = torch.where(label != -1)[0]
        target_logit = logits[index_positive, label[index_positive].view(-1)]
        with torch.no_grad():
            target_logit.arccos_()
            logits.arccos_()
            final_target_logit = target_logit + self.m2
            logits[index_positive, label[index_positive].view(-1)] = final_target_logit
            logits.cos_()
        logits = logits * self.p["s"]
        return logits, origin


class CurricularFace:
    """Official CurricularFace head (HuangYG123/CurricularFace head/metrics.py)."""

    def __init__(self, p):
        self.p = p
        m = p["m"]
        self.m = m
        self.s = p["s"]
        self.cos_m = math.cos(m)
        self.sin_m = math.sin(m)
        self.threshold = math.cos(math.pi - m)
        self.mm = math.sin(math.pi - m) * m
        self.t = torch.ones(1) * p["t0"]

    def __call__(self, emb, norms, W, label):
        embbedings = l2_norm(emb, axis=1)
        kernel_norm = l2_norm(W, axis=0)
        cos_theta = torch.mm(embbedings, kernel_norm)
        cos_theta = cos_theta.clamp(-1, 1)
        with torch.no_grad():
            origin_cos = cos_theta.clone()
        target_logit = cos_theta[torch.arange(0, embbedings.size(0)), label].view(-1, 1)
        sin_theta = torch.sqrt(1.0 - torch.pow(target_logit, 2))
        cos_theta_m = target_logit * self.cos_m - sin_theta * self.sin_m
        mask = cos_theta > cos_theta_m
        final_target_logit = torch.where(target_logit > self.threshold, cos_theta_m, target_logit - self.mm)
        hard_example = cos_theta[mask]
        with torch.no_grad():
            self.t = target_logit.mean() * self.p["t_alpha"] + (1 - self.p["t_alpha"]) * self.t
        cos_theta[mask] = hard_example * (self.t + hard_example)
        cos_theta.scatter_(1, label.view(-1, 1).long(), final_target_logit)
        output = cos_theta * self.s
        return output, origin_cos


class AdaFace:
    """AdaFace head.py AdaFace."""

    def __init__(self, p):
        self.p = p
        self.m = p["m"]
        self.eps = 1e-3
        self.h = p["h"]
        self.s = p["s"]
        self.t_alpha = p["t_alpha"]
        self.batch_mean = torch.ones(1) * 20
        self.batch_std = torch.ones(1) * 100

    def __call__(self, embbedings, norms, W, label):
        kernel_norm = l2_norm(W, axis=0)
        cosine = torch.mm(embbedings, kernel_norm)
        origin = cosine.detach().clone()
        cosine = cosine.clamp(-1 + self.eps, 1 - self.eps)
        safe_norms = torch.clip(norms, min=0.001, max=100)
        safe_norms = safe_norms.clone().detach()
        with torch.no_grad():
            mean = safe_norms.mean().detach()
            std = safe_norms.std().detach()
            self.batch_mean = mean * self.t_alpha + (1 - self.t_alpha) * self.batch_mean
            self.batch_std = std * self.t_alpha + (1 - self.t_alpha) * self.batch_std
        margin_scaler = (safe_norms - self.batch_mean) / (self.batch_std + self.eps)
        margin_scaler = margin_scaler * self.h
        margin_scaler = torch.clip(margin_scaler, -1, 1)
        m_arc = torch.zeros(label.size()[0], cosine.size()[1])
        m_arc.scatter_(1, label.reshape(-1, 1), 1.0)
        g_angular = self.m * margin_scaler * -1
        m_arc = m_arc * g_angular
        theta = cosine.acos()
        theta_m = torch.clip(theta + m_arc, min=self.eps, max=math.pi - self.eps)
        cosine = theta_m.cos()
        m_cos = torch.zeros(label.size()[0], cosine.size()[1])
        m_cos.scatter_(1, label.reshape(-1, 1), 1.0)
        g_add = self.m + (self.m * margin_scaler)
        m_cos = m_cos * g_add
        cosine = cosine - m_cos
        return cosine * self.s, origin


class MagFace:
    """Official MagFace MagLinear + MagLoss (IrvingMeng/MagFace models/magface.py)."""

    def __init__(self, p):
        self.p = p

    def _margin(self, x):
        p = self.p
        return (p["u_m"] - p["l_m"]) / (p["u_a"] - p["l_a"]) * (x - p["l_a"]) + p["l_m"]

    def __call__(self, x, W, bias, label):
        p = self.p
        x_norm = torch.norm(x, dim=1, keepdim=True).clamp(p["l_a"], p["u_a"])
        ada_margin = self._margin(x_norm)
        cos_m, sin_m = torch.cos(ada_margin), torch.sin(ada_margin)
        weight_norm = F.normalize(W, dim=0)
        cos_theta = torch.mm(F.normalize(x), weight_norm)
        cos_theta = cos_theta.clamp(-1, 1)
        origin = cos_theta.detach().clone()
        sin_theta = torch.sqrt(1.0 - torch.pow(cos_theta, 2))
        cos_theta_m = cos_theta * cos_m - sin_theta * sin_m
        if p["easy_margin"]:
            cos_theta_m = torch.where(cos_theta > 0, cos_theta_m, cos_theta)
        else:
            mm = torch.sin(math.pi - ada_margin) * ada_margin
            threshold = torch.cos(math.pi - ada_margin)
            cos_theta_m = torch.where(cos_theta > threshold, cos_theta_m, cos_theta - mm)
        cos_theta_m = p["s"] * cos_theta_m
        cos_theta = p["s"] * cos_theta
        # MagLoss
        loss_g = torch.mean(1 / (p["u_a"] ** 2) * x_norm + 1 / (x_norm))
        one_hot = torch.zeros_like(cos_theta)
        one_hot.scatter_(1, label.view(-1, 1), 1.0)
        output = one_hot * cos_theta_m + (1.0 - one_hot) * cos_theta
        return output, origin, p["lambda_g"] * loss_g


# ------------------------------------------------------------------ cases
DEFAULTS = dict(s=64.0, m=0.0, m1=1.0, m2=0.0, m3=0.0, eps=0.0, h=0.333, t_alpha=0.01,
                l_a=10.0, u_a=110.0, l_m=0.45, u_m=0.8, lambda_g=35.0, easy_margin=1,
                sphere_fixed_scale=0, lambda_max=0.0, lambda_min=5.0, lambda_gamma=0.1,
                lambda_power=1.0, use_bias=0, t0=0.0)
CFG_KEYS = ["s", "m", "m1", "m2", "m3", "eps", "h", "t_alpha", "l_a", "u_a", "l_m", "u_m",
            "lambda_g", "easy_margin", "sphere_fixed_scale", "lambda_max", "lambda_min",
            "lambda_gamma", "lambda_power", "use_bias", "t0"]


def make_head(kind, p):
    return {"softmax": Softmax, "sphereface": SphereFace, "cosface": AdaFaceCosFace,
            "arcface": AdaFaceArcFace, "arcface_st": InsightfaceArcFace, "combined": Combined,
            "curricularface": CurricularFace, "adaface": AdaFace, "magface": MagFace}[kind](p)


def run_head(head, kind, x, W, bias, label):
    """Returns (logits, loss, ce, reg, accuracy) with gradients populated on x, W, bias."""
    if kind in ("softmax", "sphereface", "magface"):
        logits, origin, reg = head(x, W, bias, label)
    else:  # heads fed a unit embedding and its norm (AdaFace net.py convention)
        norms = torch.norm(x, 2, 1, True)
        emb = torch.div(x, norms)
        logits, origin = head(emb, norms, W, label)
        reg = None
    ce = F.cross_entropy(logits, label)
    loss = ce + reg if reg is not None else ce
    loss.backward()
    acc = (origin.argmax(1) == label).float().mean().item()
    return logits.detach(), loss.item(), ce.item(), (reg.item() if reg is not None else 0.0), acc


def small_inputs(rng, B, D, C, kind, nb):
    """Embeddings near their class centre at varied strength and norm, so target cosines span
    roughly [-0.5, 0.98] and every branch of the margins is reached."""
    W = rng.standard_normal((D, C)).astype(np.float32) * 0.3
    Wn = W / np.linalg.norm(W, axis=0, keepdims=True)
    batches = []
    for _ in range(nb):
        label = rng.integers(0, C, size=B)
        strength = np.linspace(-0.6, 4.0, B)[rng.permutation(B)]
        noise = rng.standard_normal((B, D))
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        dirn = strength[:, None] * Wn[:, label].T + noise
        dirn /= np.linalg.norm(dirn, axis=1, keepdims=True)
        if kind == "magface":
            norms = rng.uniform(4.0, 125.0, size=B)   # both sides of [l_a, u_a]
        elif kind == "adaface":
            norms = rng.uniform(2.0, 60.0, size=B)
        else:
            norms = rng.uniform(0.5, 30.0, size=B)
        batches.append(((dirn * norms[:, None]).astype(np.float32), label.astype(np.int64)))
    return W, batches


def formula_inputs(B, D, C):
    """Closed-form inputs shared with the C test (computed in double, rounded to float)."""
    i = np.arange(B * D, dtype=np.float64)
    b = i // D
    x = ((1.0 + 0.5 * (b % 7)) * np.sin(0.37 * i + 0.1)).astype(np.float32).reshape(B, D)
    j = np.arange(D * C, dtype=np.float64)
    d = j // C
    W = (0.05 * np.cos(0.11 * j + 0.2 * d)).astype(np.float32).reshape(D, C)
    label = (np.arange(B) * 37 + 11) % C
    return W, [(x, label.astype(np.int64))]


def f32(path, a):
    np.asarray(a, dtype=np.float32).tofile(path)


def write_case(name, kind, B, D, C, nb=1, seed=0, formula=False, **over):
    p = dict(DEFAULTS)
    p.update(over)
    rng = np.random.default_rng(seed)
    if formula:
        W, batches = formula_inputs(B, D, C)
    else:
        W, batches = small_inputs(rng, B, D, C, kind, nb)
    bias = rng.standard_normal(C).astype(np.float32) if p["use_bias"] else None
    cfg = [B, D, C, nb, TYPES.index(kind)] + [float(p[k]) for k in CFG_KEYS] + [1.0 if formula else 0.0]
    base = os.path.join(OUT, name)
    f32(base + ".cfg", cfg)
    if not formula:
        f32(base + ".W", W)
        if bias is not None:
            f32(base + ".bias", bias)
    head = make_head(kind, p)
    for k, (x, label) in enumerate(batches):
        xt = torch.tensor(x, requires_grad=True)
        Wt = torch.tensor(W, requires_grad=True)
        bt = torch.tensor(bias, requires_grad=True) if bias is not None else None
        lt = torch.tensor(label)
        logits, loss, ce, reg, acc = run_head(head, kind, xt, Wt, bt, lt)
        pre = "%s.%d" % (base, k)
        if not formula:
            f32(pre + ".x", x)
            f32(pre + ".labels", label.astype(np.float32))
            f32(pre + ".logits", logits.numpy())
        f32(pre + ".dx", xt.grad.numpy())
        f32(pre + ".dW", Wt.grad.numpy())
        if bt is not None:
            f32(pre + ".db", bt.grad.numpy())
        bm = float(head.batch_mean) if kind == "adaface" else 0.0
        bs = float(head.batch_std) if kind == "adaface" else 0.0
        t = float(head.t) if kind == "curricularface" else 0.0
        lam = float(head.lamb) if kind == "sphereface" else 0.0
        f32(pre + ".out", [loss, ce, reg, acc, bm, bs, t, lam])
        print("%-22s batch %d  loss %.6f  acc %.3f" % (name, k, loss, acc))
    return name


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    B, D, C = 8, 16, 10
    cases = [
        write_case("softmax", "softmax", B, D, C, seed=1),
        write_case("softmax_bias", "softmax", B, D, C, seed=2, use_bias=1),
        write_case("sphereface", "sphereface", B, D, C, nb=3, seed=3, m=4, lambda_max=1500.0),
        write_case("sphereface_pure", "sphereface", B, D, C, seed=4, m=4, lambda_max=0.0),
        write_case("sphereface_fixed", "sphereface", B, D, C, seed=5, m=3, s=16.0,
                   sphere_fixed_scale=1, lambda_max=0.0),
        write_case("cosface", "cosface", B, D, C, seed=6, s=64.0, m=0.4, eps=1e-4),
        write_case("arcface", "arcface", B, D, C, seed=7, s=64.0, m=0.5, eps=1e-4),
        write_case("arcface_st", "arcface_st", B, D, C, seed=8, s=64.0, m=0.5),
        write_case("combined", "combined", B, D, C, seed=9, s=32.0, m1=0.9, m2=0.4, m3=0.15, eps=1e-4),
        write_case("curricularface", "curricularface", B, D, C, nb=2, seed=10, s=32.0, m=0.5),
        write_case("curricularface_t", "curricularface", B, D, C, seed=11, s=32.0, m=0.5, t0=0.4),
        write_case("adaface", "adaface", B, D, C, nb=3, seed=12, s=64.0, m=0.4, h=0.333,
                   t_alpha=0.01, eps=1e-3),
        write_case("adaface_fast", "adaface", B, D, C, nb=3, seed=13, s=32.0, m=0.4, h=0.333,
                   t_alpha=0.5, eps=1e-3),
        write_case("magface", "magface", B, D, C, seed=14, s=32.0, easy_margin=1),
        write_case("magface_hard", "magface", B, D, C, seed=15, s=32.0, easy_margin=0),
        write_case("large_arcface", "arcface", 64, 128, 1000, seed=0, formula=True, s=64.0,
                   m=0.5, eps=1e-4),
        write_case("large_adaface", "adaface", 64, 128, 1000, seed=0, formula=True, s=64.0,
                   m=0.4, h=0.333, t_alpha=0.01, eps=1e-3),
    ]
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("wrote %d cases, %d bytes, to %s" % (len(cases), total, OUT))


if __name__ == "__main__":
    sys.exit(main())
