#!/usr/bin/python3
"""ref_match.py — independent reference for lqface's matching (src/match/, test_match.c).

Writes tests/data/match/ (little-endian, no headers):
  q.f32      NQ x D   queries, L2-normalised float32
  g.f32      NG x D   gallery rows, L2-normalised float32
  sim.f64    NQ x NG  Q G^T computed by numpy in float64 from the float32 values
  topk.i32   NQ x K   indices of the K highest similarities per query (numpy stable argsort
                      of -sim: the lower index first among equal values)
  topk.f64   NQ x K   those similarities
  pairs.i32  NP x 2   random (query row, gallery row) pairs
  dist.f64   NP       squared L2 distance of each pair, float64
  shape.txt  "NQ NG D K NP"

Run: nice /usr/bin/python3 tools/ref_match.py
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "match")
NQ, NG, D, K, NP = 96, 300, 32, 10, 300


def unit_rows(rng, n, d):
    x = rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240611)
    q = unit_rows(rng, NQ, D)
    g = unit_rows(rng, NG, D)
    # a few queries close to gallery rows, so the top entries are real matches
    q[:40] = g[rng.choice(NG, 40, replace=False)] + 0.05 * unit_rows(rng, 40, D)
    q[:40] /= np.linalg.norm(q[:40], axis=1, keepdims=True)
    sim = q.astype(np.float64) @ g.astype(np.float64).T
    order = np.argsort(-sim, axis=1, kind="stable")[:, :K]
    top = np.take_along_axis(sim, order, axis=1)
    pairs = np.stack([rng.integers(0, NQ, NP), rng.integers(0, NG, NP)], axis=1).astype(np.int32)
    diff = q[pairs[:, 0]].astype(np.float64) - g[pairs[:, 1]].astype(np.float64)
    dist = (diff * diff).sum(axis=1)
    q.tofile(os.path.join(OUT, "q.f32"))
    g.tofile(os.path.join(OUT, "g.f32"))
    sim.tofile(os.path.join(OUT, "sim.f64"))
    order.astype(np.int32).tofile(os.path.join(OUT, "topk.i32"))
    top.tofile(os.path.join(OUT, "topk.f64"))
    pairs.tofile(os.path.join(OUT, "pairs.i32"))
    dist.tofile(os.path.join(OUT, "dist.f64"))
    with open(os.path.join(OUT, "shape.txt"), "w") as f:
        f.write(f"{NQ} {NG} {D} {K} {NP}\n")
    gaps = -np.diff(np.sort(sim, axis=1)[:, ::-1][:, :K + 1], axis=1)
    print(f"wrote {OUT}: smallest gap between neighbouring top-{K} similarities {gaps.min():.2e}")


if __name__ == "__main__":
    main()
