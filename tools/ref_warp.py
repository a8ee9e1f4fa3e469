#!/usr/bin/python3
"""ref_warp.py — reference dumps for tests/test_warp.c (src/augment/warp.c): PyTorch 1.13
float32 autograd through F.affine_grid and F.grid_sample (align_corners=False), the
similarity parameterisation and ARoFace's warp as AdvWarp.py writes it (pad 1 px with -1,
grid for the unpadded size, 'border'), its corrected variant (no pad, 'zeros'), and a torch
reimplementation of AdvWarp.py's parameter update (signed ascent + clipping, incl. the
theta0 + 0.3 upper bound on t) and of its clean/warped mixing.

Run:  /usr/bin/python3 tools/ref_warp.py   (writes tests/data/warp/, about 0.9 MB)

All files are raw little-endian float32, images and grids channels-last (NHWC / N,H,W,2)
as lqface stores them (torch runs NCHW; this script transposes).
  ag.*      affine_grid N=2, 5x7:  theta (2,2,3), grid, dgrid (upstream), dtheta
  gs.*      grid_sample N=2, C=3, input 9x8, output 6x7: x, grid, dy (upstream);
            gs_zeros.{y,dx,dgrid}, gs_border.{y,dx,dgrid}
  sim.*     similarity N=5: params (s,theta,tx,ty), M (N,2,3), dM (upstream), dparams
  face.u8   one LFW photo aligned to the 112x112 ArcFace template with cv2 (RGB bytes, HWC)
  warp.cfg  [N, H, W, C, g1_scale, g2_scale, b0, b1, b2]
  warp.params (2,4); for mode in (ref, fix):
     warp_<mode>.out      (2,112,112,3) forward of (face/255-0.5)/0.5
     warp_<mode>.dp1      dL/dparams for upstream g1[i] = g1_scale*sin(0.37*i + 0.2) (i: flat
                          NHWC index), computed in float64 and rounded to float32
     warp_<mode>.dimg0    channel 0 of dL/dimage for the separable upstream
                          g2[n,h,w,c] = a[j]*b[c], a[j] = float32(g2_scale*sin(0.53*j + 0.1))
                          (j: flat NHW index); b = (1, -0.5, 2) are powers of two, so torch's
                          dL/dimage channel c is exactly b[c] * channel 0 (checked here) and
                          one channel is stored instead of three
     warp_<mode>.dp2      dL/dparams for g2
  clip.*    AdvWarp.py update: B=8, p0 (B,4), grads (K,B,4) with zeros, eta (3), K steps;
            clip_ref.p / clip_fix.p (K,B,4) the parameters after each step
  adv.*     AdvWarp.py's adversarial_img_warping loop with a closed-form loss in place of
            backbone + PartialFC: L = 0.5*sum((warped - T)^2), T[n,h,w,c] =
            float32(0.5*sin(0.05*h + 0.07*w + c + n)) (NHWC); B=4 copies of face.u8, start
            p0 ~ N((1,0,0,0), 0.01^2) as AdvWarp samples it, eta 0.1, K=3 steps:
            adv.p0 (B,4), adv.cfg [B, K, eta], adv_ref.p / adv_fix.p (K,B,4) after each step,
            adv_ref.dp / adv_fix.dp (K,B,4) the gradients dL/dp each step used
  mix<k>.*  mixing cases: cfg [B, ratio], perm1, perm2 (B), labels (B),
            out_labels, out_src (value 100*label-index+(0 clean | 1 warped) per mixed sample)
"""
import math
import os

import cv2
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "warp")
SHARED = os.environ.get("LQFACE_SHARED", os.path.join(HERE, "..", "..", "shared"))
ARCFACE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                    [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)


def save(name, a):
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    a.tofile(os.path.join(OUT, name))


def nhwc(t):  # (N,C,H,W) tensor -> NHWC numpy
    return t.detach().permute(0, 2, 3, 1).contiguous().numpy()


def nchw(a):  # NHWC numpy -> (N,C,H,W) tensor
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


# ------------------------------------------------------------------ affine_grid
def case_affine_grid(rng):
    N, H, W = 2, 5, 7
    theta = torch.tensor(rng.normal(0, 0.7, (N, 2, 3)), dtype=torch.float32, requires_grad=True)
    grid = F.affine_grid(theta, (N, 1, H, W), align_corners=False)
    dgrid = torch.tensor(rng.normal(0, 1, (N, H, W, 2)), dtype=torch.float32)
    grid.backward(dgrid)
    save("ag.theta", theta.detach())
    save("ag.grid", grid.detach())
    save("ag.dgrid", dgrid)
    save("ag.dtheta", theta.grad)


# ------------------------------------------------------------------ grid_sample
def case_grid_sample(rng):
    N, C, HI, WI, H, W = 2, 3, 9, 8, 6, 7
    x = rng.normal(0, 1, (N, HI, WI, C)).astype(np.float32)
    g = rng.uniform(-1.35, 1.35, (N, H, W, 2)).astype(np.float32)
    # exact first/last pixel centres of the 8-wide input: u = 0 and u = 7 (no grid gradient
    # under 'border', torch's "borders are out of bounds"); y exactly -1 and 1.
    g[0, 0, 0, 0], g[0, 0, 1, 0], g[1, 2, 3, 0] = -0.875, 0.875, -0.875
    g[0, 1, 0, 1], g[1, 5, 6, 1] = -1.0, 1.0
    dy = rng.normal(0, 1, (N, H, W, C)).astype(np.float32)
    save("gs.x", x)
    save("gs.grid", g)
    save("gs.dy", dy)
    for mode in ("zeros", "border"):
        xt = nchw(x).requires_grad_()
        gt = torch.from_numpy(g.copy()).requires_grad_()
        y = F.grid_sample(xt, gt, mode="bilinear", padding_mode=mode, align_corners=False)
        y.backward(nchw(dy))
        save("gs_%s.y" % mode, nhwc(y))
        save("gs_%s.dx" % mode, nhwc(xt.grad))
        save("gs_%s.dgrid" % mode, gt.grad)


# ------------------------------------------------------------------ similarity (AdvWarp.py)
def similarity(scale, theta, t):
    """AdvWarp.py:45-47: scale, theta (B,1), t (B,2) -> (B,2,3)."""
    B = scale.shape[0]
    cos_theta = torch.cos(theta)
    sin_theta = torch.sin(theta)
    rot = torch.stack([torch.mul(scale, cos_theta), torch.mul(-scale, sin_theta),
                       torch.mul(scale, sin_theta), torch.mul(scale, cos_theta)], dim=-1).view(B, 2, 2)
    return torch.cat([rot, t.view(B, 2, 1)], dim=-1)


def split_params(p):
    s = p[:, 0:1].clone().requires_grad_()
    th = p[:, 1:2].clone().requires_grad_()
    t = p[:, 2:4].clone().requires_grad_()
    return s, th, t


def case_similarity(rng):
    N = 5
    p = torch.tensor(np.stack([rng.uniform(0.5, 2.0, N), rng.uniform(-3.0, 3.0, N),
                               rng.normal(0, 0.3, N), rng.normal(0, 0.3, N)], 1), dtype=torch.float32)
    s, th, t = split_params(p)
    M = similarity(s, th, t)
    dM = torch.tensor(rng.normal(0, 1, (N, 2, 3)), dtype=torch.float32)
    M.backward(dM)
    save("sim.params", p)
    save("sim.M", M.detach())
    save("sim.dM", dM)
    save("sim.dparams", torch.cat([s.grad, th.grad, t.grad], 1))


# ------------------------------------------------------------------ ARoFace warp
def pad_with_value(img, pad_size=1, pad_value=-1):  # AdvWarp.py:92-105
    pad = (pad_size, pad_size, pad_size, pad_size)
    return F.pad(img, pad, "constant", pad_value)


def aroface_warp(img, s, th, t, mode):
    M = similarity(s, th, t)
    grid = F.affine_grid(M, img.size(), align_corners=False)
    if mode == "ref":  # AdvWarp.py:48-49
        return F.grid_sample(pad_with_value(img), grid, padding_mode="border", align_corners=False)
    return F.grid_sample(img, grid, padding_mode="zeros", align_corners=False)


def aligned_face():
    rel = "Aaron_Eckhart/Aaron_Eckhart_0001.jpg"
    lm = None
    with open(os.path.join(SHARED, "data", "lfw", "lfw_landmark.txt")) as f:
        for line in f:
            parts = line.split()
            if parts[0] == rel:
                lm = np.array([float(v) for v in parts[1:11]], np.float32).reshape(5, 2)
                break
    bgr = cv2.imread(os.path.join(SHARED, "data", "lfw", "lfw-deepfunneled", rel))
    M, _ = cv2.estimateAffinePartial2D(lm, ARCFACE, method=cv2.LMEDS)
    face = cv2.warpAffine(bgr, M, (112, 112), borderValue=0.0)
    return np.ascontiguousarray(face[:, :, ::-1])  # RGB, HWC uint8


def case_warp():
    face = aligned_face()
    face.tofile(os.path.join(OUT, "face.u8"))
    N, H, W, C = 2, 112, 112, 3
    img8 = torch.from_numpy(np.stack([face, face])).permute(0, 3, 1, 2).float()  # (N,C,H,W)
    img = (img8 / 255 - 0.5) / 0.5  # train_v2 normalisation, float32
    # sample 0 near AdvWarp's random start, sample 1 a clearly visible perturbation
    params = torch.tensor([[1.0063, 0.0121, -0.0087, 0.0154],
                           [1.13, -0.31, 0.12, -0.07]], dtype=torch.float32)
    g1_scale, g2_scale = 0.0078125, 0.0078125  # 1/128: exact in the float32 cfg
    b = np.array([1.0, -0.5, 2.0], np.float32)
    i = np.arange(N * H * W * C, dtype=np.float64)
    g1 = (g1_scale * np.sin(0.37 * i + 0.2)).astype(np.float32).reshape(N, H, W, C)
    j = np.arange(N * H * W, dtype=np.float64)
    a = (g2_scale * np.sin(0.53 * j + 0.1)).astype(np.float32).reshape(N, H, W, 1)
    g2 = a * b.reshape(1, 1, 1, C)
    save("warp.cfg", [N, H, W, C, g1_scale, g2_scale, b[0], b[1], b[2]])
    save("warp.params", params)
    for mode in ("ref", "fix"):
        s, th, t = split_params(params)
        out = aroface_warp(img, s, th, t, mode)
        out.backward(nchw(g1))
        save("warp_%s.out" % mode, nhwc(out))
        save("warp_%s.dp1" % mode, torch.cat([s.grad, th.grad, t.grad], 1))
        s, th, t = split_params(params)
        im = img.clone().requires_grad_()
        out = aroface_warp(im, s, th, t, mode)
        out.backward(nchw(g2))
        dimg = nhwc(im.grad)
        for c in range(C):
            assert np.array_equal(dimg[..., c], b[c] * dimg[..., 0]), "dimg not separable"
        save("warp_%s.dimg0" % mode, dimg[..., 0])
        dp2 = torch.cat([s.grad, th.grad, t.grad], 1)
        save("warp_%s.dp2" % mode, dp2)
        # float32 vs float64 torch, for the report
        s64, th64, t64 = split_params(params.double())
        out64 = aroface_warp(img.double(), s64, th64, t64, mode)
        out64.backward(nchw(g1).double())
        dp64 = torch.cat([s64.grad, th64.grad, t64.grad], 1)
        s, th, t = split_params(params)
        out = aroface_warp(img, s, th, t, mode)
        out.backward(nchw(g1))
        dp32 = torch.cat([s.grad, th.grad, t.grad], 1)
        print("warp %s: |out32-out64| %.2e, dp1 %s, |dp32-dp64| %.2e" % (
            mode, (out.double() - out64).abs().max().item(), dp32.numpy().round(4).tolist(),
            (dp32.double() - dp64).abs().max().item()))


# ------------------------------------------------------------------ AdvWarp.py's update
def advwarp_update(scale, theta, t, gs, gth, gt, s0, th0, t0, eta, fixed):
    """AdvWarp.py:58-66 with the gradients given: signed ascent, then the clipping box
    (fixed=False reproduces the t upper bound sampled_theta + 0.3)."""
    scale = scale.detach() + eta[0] * torch.sign(gs)
    theta = theta.detach() + eta[1] * torch.sign(gth)
    t = t.detach() + eta[2] * torch.sign(gt)
    scale = torch.min(torch.max(scale, s0 - 0.5), s0 + 1.5)
    theta = torch.min(torch.max(theta, th0 - 0.8), th0 + 0.8)
    t = torch.min(torch.max(t, t0 - 0.3), (t0 if fixed else th0) + 0.3)
    return scale, theta, t


def case_clip(rng):
    B, K = 8, 6
    s0 = torch.FloatTensor(rng.normal(1, 0.01, (B, 1)))
    th0 = torch.FloatTensor(rng.normal(0, 0.01, (B, 1)))
    t0 = torch.FloatTensor(rng.normal(0, 0.01, (B, 2)))
    # a few wide starts so that theta0 + 0.3 < t0 - 0.3 (lower bound above upper bound)
    th0[1, 0], t0[1, 0] = -0.45, 0.2
    th0[5, 0], t0[5, 1] = 0.7, -0.1
    eta = [0.25, 0.3, 0.15]  # large steps so every bound binds within K steps
    g = rng.normal(0, 1, (K, B, 4)).astype(np.float32)
    g[rng.uniform(size=g.shape) < 0.15] = 0.0  # sign(0) = 0
    g[:, 2, :] = np.abs(g[:, 2, :]) + 0.1      # sample 2 always ascends, sample 3 descends
    g[:, 3, :] = -np.abs(g[:, 3, :]) - 0.1
    p0 = torch.cat([s0, th0, t0], 1)
    save("clip.p0", p0)
    save("clip.grad", g)
    save("clip.eta", eta)
    save("clip.cfg", [B, K])
    for fixed, name in ((False, "clip_ref.p"), (True, "clip_fix.p")):
        scale, theta, t = s0.clone(), th0.clone(), t0.clone()
        steps = []
        for k in range(K):
            gk = torch.from_numpy(g[k])
            scale, theta, t = advwarp_update(scale, theta, t, gk[:, 0:1], gk[:, 1:2], gk[:, 2:4],
                                             s0, th0, t0, eta, fixed)
            steps.append(torch.cat([scale, theta, t], 1))
        save(name, torch.stack(steps))


def case_adv(rng):
    """adversarial_img_warping (AdvWarp.py:26-69) on CPU with a closed-form loss."""
    B, K, eta = 4, 3, 0.1
    face = np.fromfile(os.path.join(OUT, "face.u8"), np.uint8).reshape(112, 112, 3)
    img8 = torch.from_numpy(np.stack([face] * B)).permute(0, 3, 1, 2).float()
    img = (img8 / 255 - 0.5) / 0.5
    H, W, C = 112, 112, 3
    hh, ww, cc, nn = np.meshgrid(np.arange(H), np.arange(W), np.arange(C), np.arange(B), indexing="ij")
    T = (0.5 * np.sin(0.05 * hh + 0.07 * ww + cc + nn)).astype(np.float32).transpose(3, 0, 1, 2)  # NHWC
    Tt = nchw(T)
    sampled_scale = torch.FloatTensor(rng.normal(1, 0.01, (B, 1)))
    sampled_theta = torch.FloatTensor(rng.normal(0, 0.01, (B, 1)))
    sampled_t = torch.FloatTensor(rng.normal(0, 0.01, (B, 2)))
    save("adv.p0", torch.cat([sampled_scale, sampled_theta, sampled_t], 1))
    save("adv.cfg", [B, K, eta])
    for mode in ("ref", "fix"):
        scale, theta, t = sampled_scale.detach(), sampled_theta.detach(), sampled_t.detach()
        ps, dps = [], []
        for it in range(K):
            scale.requires_grad_()
            theta.requires_grad_()
            t.requires_grad_()
            updated_img = aroface_warp(img, scale, theta, t, mode)
            loss = 0.5 * ((updated_img - Tt) ** 2).sum()
            grad_scale, grad_theta, grad_t = torch.autograd.grad(loss, [scale, theta, t])
            g = torch.cat([grad_scale, grad_theta, grad_t], 1)
            print("adv %s step %d: min |dL/dp| %.3g" % (mode, it, g.abs().min().item()))
            scale, theta, t = advwarp_update(scale, theta, t, grad_scale, grad_theta, grad_t, sampled_scale,
                                             sampled_theta, sampled_t, [eta] * 3, mode == "fix")
            ps.append(torch.cat([scale, theta, t], 1).detach())
            dps.append(g)
        save("adv_%s.p" % mode, torch.stack(ps))
        save("adv_%s.dp" % mode, torch.stack(dps))


# ------------------------------------------------------------------ mixing (AdvWarp.py:80-89)
def case_mix(k, B, ratio, seed):
    gen = torch.Generator().manual_seed(seed)
    perm1 = torch.randperm(B, generator=gen)
    perm2 = torch.randperm(B, generator=gen)
    idx1 = perm1[:int(B * ratio)]
    idx2 = perm2[:int(B * (1 - ratio))]
    labels = torch.arange(B) * 7 + 3
    clean = torch.arange(B) * 100.0
    warped = torch.arange(B) * 100.0 + 1
    out_labels = torch.cat((labels[idx1], labels[idx2]), dim=0)
    out_src = torch.cat((clean[idx1], warped[idx2]), dim=0)
    save("mix%d.cfg" % k, [B, ratio])
    save("mix%d.perm1" % k, perm1.float())
    save("mix%d.perm2" % k, perm2.float())
    save("mix%d.labels" % k, labels.float())
    save("mix%d.out_labels" % k, out_labels.float())
    save("mix%d.out_src" % k, out_src)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.RandomState(2048)
    case_affine_grid(rng)
    case_grid_sample(rng)
    case_similarity(rng)
    case_warp()
    case_clip(rng)
    case_adv(rng)
    for k, (B, ratio, seed) in enumerate([(8, 0.75, 1), (10, 0.7, 2), (7, 0.3, 3), (128, 0.75, 4)]):
        case_mix(k, B, ratio, seed)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("wrote %s (%d files, %.1f KB)" % (OUT, len(os.listdir(OUT)), total / 1024))


if __name__ == "__main__":
    main()
