#!/usr/bin/python3
"""ref_qgface.py — reference dumps for tests/test_qgface.c: QGFace's quality-guided training
written again in PyTorch (float32, autograd) from its public code (IsidoreSong/QGFace head.py
AdaFace with _quality_scaler, class QGFace with pair_coupling "D2N", mask_same_class,
margin_method None, quality_scale_method "sgn", range "half", rescale; framework.py's
training_step and _dequeue_and_enqueue), plus the Laplacian-energy image quality of
src/augment/quality.h computed with cv2.Laplacian.

Run:  /usr/bin/python3 tools/ref_qgface.py   (writes tests/data/qgface/, about 100 kB)

Files are raw little-endian float32 (labels stored as floats):
  gate_<c>.cfg   [B, D, C, nbatch, qs, s, m, h, eps, t_alpha, mean0, std0, ema_init_batch,
                  use_quality]
  gate_<c>.W (D*C); per batch k: gate_<c>.<k>.x (B*D), .labels (B), .q (B, use_quality),
                  .out [loss, batch_mean, batch_std], .zhat (B), .dx (B*D), .dW (D*C)
  step.cfg       [B, D, C, nsteps, qs_cla, qs_con, s, m, h, eps, t_alpha, mean0, std0, K, w,
                  n_queue0]
  step.W, step.queue0 (n_queue0*D), step.qlabels0 (n_queue0);
  per step k: step.<k>.emb (2B*D: the k rows then the q rows, framework.py's order; with
              QGFace's LH_align data k is the HQ view and q the LQ one), .labels (B), .out [loss_cla, loss_con, loss_total, queue_len],
              .demb (2B*D) d(loss_total)/d(emb), .dW (D*C)
  lap.cfg        [n, w, h]; lap.img (n*h*w*3 uint8 as float, RGB); lap.q (n) quality (RGB);
                 lap.qbgr (n) the same images read as BGR
"""
import math
import os

import cv2
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "qgface")


def f32(path, a):
    np.asarray(a, dtype=np.float32).tofile(path)


def l2n(x, axis=1):
    return x / torch.norm(x, 2, axis, True)


class AdaFaceGate:
    """AdaFace head.py forward with QGFace's soft quality gate; `quality` replaces the norm."""

    def __init__(self, qs, s=64.0, m=0.4, h=0.333, eps=1e-3, t_alpha=0.01, mean0=20.0, std0=100.0,
                 ema_init_batch=False):
        self.qs, self.s, self.m, self.h, self.eps, self.t_alpha = qs, s, m, h, eps, t_alpha
        self.batch_mean = torch.tensor([mean0])
        self.batch_std = torch.tensor([std0])
        self.ema_init_batch = ema_init_batch
        self.calls = 0

    def scaler(self, signal):
        safe = torch.clip(signal, min=0.001, max=100).clone().detach()
        with torch.no_grad():
            mean, std = safe.mean(), safe.std()
            if self.ema_init_batch and self.calls == 0:
                self.batch_mean, self.batch_std = mean.reshape(1), std.reshape(1)
            else:
                self.batch_mean = mean * self.t_alpha + (1 - self.t_alpha) * self.batch_mean
                self.batch_std = std * self.t_alpha + (1 - self.t_alpha) * self.batch_std
        self.calls += 1
        z = (safe - self.batch_mean) / (self.batch_std + self.eps) * self.h
        return torch.clip(z, -1, 1)

    def __call__(self, x, W, label, quality=None):
        norms = torch.norm(x, 2, 1, True)
        emb = x / norms
        ms = self.scaler(norms if quality is None else quality.reshape(-1, 1))
        cosine = emb.mm(l2n(W, axis=0)).clamp(-1 + self.eps, 1 - self.eps)
        onehot = torch.zeros_like(cosine)
        onehot.scatter_(1, label.reshape(-1, 1), 1.0)
        theta = torch.clip(cosine.acos() + onehot * (-self.m * ms), min=self.eps, max=math.pi - self.eps)
        cosine = theta.cos() - onehot * (self.m + self.m * ms)
        logits = cosine * self.s
        if self.qs > 0:
            logits = logits * (1 / (1 + torch.exp(-(ms + 2 * (0.5 - self.qs)) * self.s)))
        return F.nll_loss(F.log_softmax(logits, dim=1), label), ms.reshape(-1)


class QGCon:
    """QGFace's contrastive head (D2N coupling, same-class mask, no margin, sgn/half gate,
    rescale) over a FIFO queue that receives the batch's 2B embeddings first."""

    def __init__(self, qs, K, s=64.0):
        self.qs, self.K, self.s = qs, K, s

    def __call__(self, q, k, queue, qlabels, labels, zq, zk):
        qn, kn = l2n(q), l2n(k)
        pos = torch.cat([(qn * kn).sum(1, keepdim=True), (kn * qn).sum(1, keepdim=True)])
        neg = torch.cat([qn.mm(queue.t()), kn.mm(queue.t())])
        cos = torch.cat([pos, neg], 1).clamp(-1, 1)
        mask = labels.reshape(-1, 1) == qlabels.reshape(1, -1)
        full = torch.zeros_like(cos, dtype=torch.bool)
        full[:, 1:] = torch.cat([mask, mask])
        cos = cos.masked_fill(full, 0.0)
        t = torch.min((zq + 1) / 2, (zk + 1) / 2)
        t = torch.cat([t, t])
        gate = torch.where(t < self.qs, torch.ones_like(t), torch.zeros_like(t)) if self.qs > 0 else torch.ones_like(t)
        z = cos * self.s * gate.reshape(-1, 1)
        target = torch.zeros(z.shape[0], dtype=torch.long)
        loss = F.nll_loss(F.log_softmax(z, dim=1), target)
        l_down = F.cross_entropy(torch.zeros(1, cos.shape[1]), torch.LongTensor([0]))
        l_up = F.cross_entropy(torch.zeros(1, 129), torch.LongTensor([0]))
        return loss / l_down * l_up


def random_emb(rng, n, D, lo, hi):
    d = rng.standard_normal((n, D))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return (d * rng.uniform(lo, hi, (n, 1))).astype(np.float32)


def write_gate(name, B, D, C, nb, qs, mean0, std0, use_quality, ema_init, seed):
    rng = np.random.default_rng(seed)
    head = AdaFaceGate(qs, mean0=mean0, std0=std0, ema_init_batch=ema_init)
    W = rng.standard_normal((D, C)).astype(np.float32)
    f32(f"{OUT}/{name}.cfg", [B, D, C, nb, qs, head.s, head.m, head.h, head.eps, head.t_alpha, mean0, std0,
                              int(ema_init), int(use_quality)])
    f32(f"{OUT}/{name}.W", W)
    for k in range(nb):
        x = random_emb(rng, B, D, 8.0, 30.0)
        lab = rng.integers(0, C, B)
        qv = rng.uniform(2.0, 8.0, B).astype(np.float32)
        xt = torch.tensor(x, requires_grad=True)
        Wt = torch.tensor(W, requires_grad=True)
        loss, zhat = head(xt, Wt, torch.tensor(lab), torch.tensor(qv) if use_quality else None)
        loss.backward()
        p = f"{OUT}/{name}.{k}"
        f32(p + ".x", x)
        f32(p + ".labels", lab)
        if use_quality:
            f32(p + ".q", qv)
        f32(p + ".out", [loss.item(), head.batch_mean.item(), head.batch_std.item()])
        f32(p + ".zhat", zhat.detach().numpy())
        f32(p + ".dx", xt.grad.numpy())
        f32(p + ".dW", Wt.grad.numpy())
        gates = 1 / (1 + np.exp(-(zhat.detach().numpy() + 2 * (0.5 - qs)) * head.s))
        print(f"{name}.{k}: loss {loss.item():.6f} gates {np.round(gates, 3)}")


def write_step(B=6, D=16, C=5, nsteps=2, qs=0.45, K=20, w=0.7, n0=12, seed=7):
    rng = np.random.default_rng(seed)
    mean0, std0 = 18.0, 8.0
    cla = AdaFaceGate(qs, mean0=mean0, std0=std0)
    con = QGCon(qs, K)
    W = rng.standard_normal((D, C)).astype(np.float32)
    queue = l2n(torch.tensor(rng.standard_normal((n0, D)).astype(np.float32)))
    qlabels = torch.tensor(rng.integers(0, C, n0))
    f32(f"{OUT}/step.cfg", [B, D, C, nsteps, qs, qs, cla.s, cla.m, cla.h, cla.eps, cla.t_alpha, mean0, std0, K, w, n0])
    f32(f"{OUT}/step.W", W)
    f32(f"{OUT}/step.queue0", queue.numpy())
    f32(f"{OUT}/step.qlabels0", qlabels.numpy())
    for k in range(nsteps):
        emb = random_emb(rng, 2 * B, D, 8.0, 30.0)
        # the second view of a sample is a perturbation of the first (positive pairs agree)
        emb[B:] = emb[:B] + 4.0 * rng.standard_normal((B, D)).astype(np.float32)
        lab = torch.tensor(rng.integers(0, C, B))
        et = torch.tensor(emb, requires_grad=True)
        Wt = torch.tensor(W, requires_grad=True)
        lab2 = torch.cat([lab, lab])
        loss_cla, ms = cla(et, Wt, lab2)
        zk, zq = ms.split(B)
        ke, qe = et.split(B)
        # _dequeue_and_enqueue: the batch's 2B normalised keys go first, cut to K
        queue = torch.cat([l2n(et.detach()), queue])[:K]
        qlabels = torch.cat([lab2, qlabels])[:K]
        loss_con = con(qe, ke, queue, qlabels, lab, zq, zk)
        total = loss_cla + w * loss_con
        total.backward()
        p = f"{OUT}/step.{k}"
        f32(p + ".emb", emb)
        f32(p + ".labels", lab.numpy())
        f32(p + ".out", [loss_cla.item(), loss_con.item(), total.item(), queue.shape[0]])
        f32(p + ".demb", et.grad.numpy())
        f32(p + ".dW", Wt.grad.numpy())
        t = torch.min((zq + 1) / 2, (zk + 1) / 2)
        print(f"step.{k}: cla {loss_cla.item():.6f} con {loss_con.item():.6f} gate(con) {(t < qs).int().tolist()}")


def write_laplacian(n=4, w=23, h=17, seed=3):
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (n, h, w, 3)).astype(np.uint8)
    imgs[1] = cv2.GaussianBlur(imgs[1], (5, 5), 1.5)
    yy, xx = np.mgrid[0:h, 0:w]
    imgs[2] = np.stack([(xx * 11) % 256, (yy * 7) % 256, (xx + yy) * 3 % 256], -1).astype(np.uint8)
    imgs[3] = cv2.resize(cv2.resize(imgs[0], (6, 4), interpolation=cv2.INTER_AREA), (w, h),
                         interpolation=cv2.INTER_LINEAR)

    def quality(img, bgr):
        c = img.astype(np.float64)
        r, g, b = (c[..., 2], c[..., 1], c[..., 0]) if bgr else (c[..., 0], c[..., 1], c[..., 2])
        y = (0.299 * r + 0.587 * g + 0.114 * b).astype(np.float32)
        lap = cv2.Laplacian(y, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT_101).astype(np.float64)
        return math.log1p(float(np.mean(lap * lap)))

    f32(f"{OUT}/lap.cfg", [n, w, h])
    f32(f"{OUT}/lap.img", imgs)
    q = [quality(im, False) for im in imgs]
    f32(f"{OUT}/lap.q", q)
    f32(f"{OUT}/lap.qbgr", [quality(im, True) for im in imgs])
    print("laplacian quality:", np.round(q, 4))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_gate("gate_norm", B=8, D=12, C=6, nb=3, qs=0.45, mean0=18.0, std0=8.0, use_quality=False,
               ema_init=False, seed=1)
    write_gate("gate_quality", B=8, D=12, C=6, nb=2, qs=0.5, mean0=20.0, std0=100.0, use_quality=True,
               ema_init=True, seed=2)
    write_step()
    write_laplacian()


if __name__ == "__main__":
    main()
