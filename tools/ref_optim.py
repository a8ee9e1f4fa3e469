#!/usr/bin/python3
"""ref_optim.py — reference dumps for tests/test_optim.c from PyTorch 1.13's own optimisers,
clip_grad_norm_ and lr schedulers (plus insightface arcface_torch's PolyScheduler, copied
below because insightface is not installed).

Run:  /usr/bin/python3 tools/ref_optim.py   (writes tests/data/optim/)

Files (raw little-endian float32):
  sgd.f32, adamw.f32: [n, ngroups, (begin, end, wd, lr_mult) x ngroups, hyper(4), nsteps,
                       lr(nsteps), params0(n), grads(nsteps x n), params_after(nsteps x n)]
     hyper = SGD (momentum, dampening, 0, 0) / AdamW (beta1, beta2, eps, 0). The parameter
     buffer is the concatenation of the tensors; its last 4 floats belong to no group.
  clip.f32: ncases x [n, max_norm, total_norm, g(n), g_clipped(n)]
  sched_<name>.f32: [kind, base, warmup, start_factor, total, power, gamma, eta_min, nmil,
                     milestones(nmil), nrec, (last_epoch, lr) x nrec]: the rate set at
     construction, then after each scheduler.step() (PolyScheduler starts at last_epoch -1,
     which lqf_lr_at clamps to step 0)
"""
import os
import warnings

import numpy as np
import torch
from torch.optim.lr_scheduler import (CosineAnnealingLR, LinearLR, MultiStepLR, SequentialLR,
                                      _LRScheduler)

warnings.filterwarnings("ignore")
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "optim")
KIND = {"constant": 0, "poly": 1, "multistep": 2, "cosine": 3}


class PolyScheduler(_LRScheduler):
    """insightface recognition/arcface_torch/lr_scheduler.py, with `power` made a parameter
    (insightface hard-codes 2)."""

    def __init__(self, optimizer, base_lr, max_steps, warmup_steps, last_epoch=-1, power=2):
        self.base_lr = base_lr
        self.warmup_lr_init = 0.0001
        self.max_steps: int = max_steps
        self.warmup_steps: int = warmup_steps
        self.power = power
        super(PolyScheduler, self).__init__(optimizer, -1, False)
        self.last_epoch = last_epoch

    def get_warmup_lr(self):
        alpha = float(self.last_epoch) / float(self.warmup_steps)
        return [self.base_lr * alpha for _ in self.optimizer.param_groups]

    def get_lr(self):
        if self.last_epoch == -1:
            return [self.warmup_lr_init for _ in self.optimizer.param_groups]
        if self.last_epoch < self.warmup_steps:
            return self.get_warmup_lr()
        else:
            alpha = pow(1 - float(self.last_epoch - self.warmup_steps)
                        / float(self.max_steps - self.warmup_steps), self.power)
            return [self.base_lr * alpha for _ in self.optimizer.param_groups]


def f32(name, vals):
    np.asarray(vals, dtype=np.float32).tofile(os.path.join(OUT, name))


# ------------------------------------------------------------------ optimisers
def make_params(rng):
    """Group A: two tensors (16 + 8), group B: one tensor (16), then 4 floats in no group."""
    shapes = [(4, 4), (8,), (16,), (4,)]
    return [torch.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]


def run_opt(name, rng, make_opt, groups_desc, hyper, lrs, gscale=(1, 1, 1, 1)):
    ps = make_params(rng)
    flat0 = torch.cat([p.detach().reshape(-1) for p in ps]).numpy().copy()
    opt = make_opt([{"params": ps[0:2], "weight_decay": groups_desc[0][2]},
                    {"params": ps[2:3], "weight_decay": groups_desc[1][2]}])
    grads, after = [], []
    for lr in lrs:
        g = [torch.tensor((rng.standard_normal(p.shape) * sc).astype(np.float32)) for p, sc in zip(ps, gscale)]
        for p, gg in zip(ps, g):
            p.grad = gg.clone()
        for grp, desc in zip(opt.param_groups, groups_desc):
            grp["lr"] = lr * desc[3]
        opt.step()
        grads.append(torch.cat([x.reshape(-1) for x in g]).numpy())
        after.append(torch.cat([p.detach().reshape(-1) for p in ps]).numpy().copy())
    n = flat0.size
    head = [n, len(groups_desc)]
    for d in groups_desc:
        head += list(d)
    head += list(hyper) + [len(lrs)] + list(lrs)
    f32(name, np.concatenate([np.array(head, dtype=np.float64), flat0, np.concatenate(grads),
                              np.concatenate(after)]))
    print("%s: %d params, %d steps" % (name, n, len(lrs)))


def optimisers():
    rng = np.random.default_rng(7)
    groups = [(0, 24, 5e-4, 1.0), (24, 40, 0.0, 0.5)]
    run_opt("sgd.f32", rng,
            lambda pg: torch.optim.SGD(pg, lr=0.1, momentum=0.9, dampening=0, nesterov=False),
            groups, (0.9, 0.0, 0.0, 0.0), [0.1, 0.05, 0.02])
    groups = [(0, 24, 0.05, 1.0), (24, 40, 0.0, 2.0)]
    run_opt("adamw.f32", rng,
            lambda pg: torch.optim.AdamW(pg, lr=1e-3, betas=(0.9, 0.999), eps=1e-8),
            groups, (0.9, 0.999, 1e-8, 0.0), [1e-3, 1e-3, 5e-4],
            gscale=(1, 1, 2e-8, 1))  # tiny gradients in group B: eps outside the sqrt matters


def clipping():
    rng = np.random.default_rng(8)
    rows = []
    for max_norm, scale in ((5.0, 3.0), (100.0, 3.0), (1.0, 0.01)):
        ps = [torch.zeros(s, requires_grad=True) for s in ((10, 3), (7,), (13,))]
        for p in ps:
            p.grad = torch.tensor(rng.standard_normal(p.shape).astype(np.float32) * scale)
        g0 = torch.cat([p.grad.reshape(-1) for p in ps]).numpy().copy()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm).item()
        g1 = torch.cat([p.grad.reshape(-1) for p in ps]).numpy()
        rows.append(np.concatenate([[g0.size, max_norm, total], g0, g1]))
        print("clip max_norm %g: total norm %.6f" % (max_norm, total))
    f32("clip.f32", np.concatenate(rows))


# ------------------------------------------------------------------ schedules
def sched(name, kind, base, build, steps=100, warmup=0, start_factor=0.0, total=0, power=0.0,
          gamma=0.0, eta_min=0.0, milestones=()):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base, momentum=0.9)
    s = build(opt)
    rows = [s.last_epoch, opt.param_groups[0]["lr"]]  # before any step (-1 for PolyScheduler)
    for _ in range(steps):
        p.grad = torch.zeros(1)
        opt.step()
        s.step()
        rows += [s.last_epoch, opt.param_groups[0]["lr"]]
    head = [KIND[kind], base, warmup, start_factor, total, power, gamma, eta_min, len(milestones)]
    head += list(milestones) + [steps + 1]
    f32("sched_%s.f32" % name, head + rows)
    print("sched_%s: lr %s ... %s" % (name, rows[1], rows[-1]))


def schedules():
    sched("warmup_constant", "constant", 0.1,
          lambda o: LinearLR(o, start_factor=0.1, total_iters=10), warmup=10, start_factor=0.1)
    sched("poly_p1", "poly", 0.1, lambda o: PolyScheduler(o, 0.1, 100, 10, power=1),
          warmup=10, total=100, power=1)
    sched("poly_p2", "poly", 0.4, lambda o: PolyScheduler(o, 0.4, 100, 20, power=2),
          warmup=20, total=100, power=2)
    sched("poly_nowarmup", "poly", 0.1, lambda o: PolyScheduler(o, 0.1, 100, 0, power=1),
          warmup=0, total=100, power=1)
    sched("multistep", "multistep", 0.1, lambda o: MultiStepLR(o, [30, 60, 80], gamma=0.1),
          gamma=0.1, milestones=(30, 60, 80))
    sched("multistep_warmup", "multistep", 0.1,
          lambda o: SequentialLR(o, [LinearLR(o, start_factor=0.25, total_iters=5),
                                     MultiStepLR(o, [20, 50], gamma=0.1)], milestones=[5]),
          warmup=5, start_factor=0.25, gamma=0.1, milestones=(20, 50))
    sched("cosine", "cosine", 0.1, lambda o: CosineAnnealingLR(o, T_max=100), total=100)
    sched("cosine_warmup", "cosine", 0.05,
          lambda o: SequentialLR(o, [LinearLR(o, start_factor=0.01, total_iters=10),
                                     CosineAnnealingLR(o, T_max=90, eta_min=1e-4)],
                                 milestones=[10]),
          warmup=10, start_factor=0.01, total=100, eta_min=1e-4)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    optimisers()
    clipping()
    schedules()
    names = sorted(f for f in os.listdir(OUT) if f.startswith("sched_"))
    with open(os.path.join(OUT, "schedules.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main()
