#!/usr/bin/python3
"""ref_metrics.py — independent reference for lqface's evaluation metrics and protocol readers.

Writes tests/data/eval/: synthetic LFW-like verification scores and the metrics that
insightface's eval/verification.py (calculate_roc / calculate_accuracy / calculate_val /
calculate_val_far, reproduced below with sklearn's KFold) computes on them; the ROC
(sklearn.metrics.roc_curve), TAR@FAR, EER, AUC; closed/open-set identification metrics
(rank-k, CMC, DIR@FPIR as in the IJB-S/PFE code) on a synthetic similarity matrix with
distractors; a small CFP protocol tree and a generic pair list with the pairs they must
parse to; and what LFW's real pairs.txt must parse to.

interp1d(kind='slinear') raises on duplicate x since scipy 1.9 ("Expect x to not have
duplicates"); insightface's calculate_val was written against the older behaviour, where
make_interp_spline(k=1) returned BSpline(t=[x0, x..., x-1], c=y, k=1) without checks. That
object is rebuilt here with scipy's BSpline (same evaluation code), behind interp1d's bounds
check, and cross-checked against interp1d wherever x has no duplicates.

Run: nice /usr/bin/python3 tools/ref_metrics.py [shared_dir]   (default ../shared)
"""
import os
import sys

import numpy as np
from scipy import interpolate
from scipy.optimize import brentq
from sklearn.metrics import auc as sk_auc
from sklearn.metrics import roc_curve
from sklearn.model_selection import KFold

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "eval")
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LQFACE_SHARED", os.path.join(HERE, "..", "..", "shared"))


# ---------------------------------------------------------------- insightface verification.py
class LFold:
    def __init__(self, n_splits=2, shuffle=False):
        self.n_splits = n_splits
        if self.n_splits > 1:
            self.k_fold = KFold(n_splits=n_splits, shuffle=shuffle)

    def split(self, indices):
        if self.n_splits > 1:
            return self.k_fold.split(indices)
        return [(indices, indices)]


def calculate_accuracy(threshold, dist, actual_issame):
    predict_issame = np.less(dist, threshold)
    tp = np.sum(np.logical_and(predict_issame, actual_issame))
    fp = np.sum(np.logical_and(predict_issame, np.logical_not(actual_issame)))
    tn = np.sum(np.logical_and(np.logical_not(predict_issame), np.logical_not(actual_issame)))
    fn = np.sum(np.logical_and(np.logical_not(predict_issame), actual_issame))
    tpr = 0 if (tp + fn == 0) else float(tp) / float(tp + fn)
    fpr = 0 if (fp + tn == 0) else float(fp) / float(fp + tn)
    acc = float(tp + tn) / dist.size
    return tpr, fpr, acc


def calculate_roc(thresholds, dist, actual_issame, nrof_folds=10):
    nrof_pairs = len(actual_issame)
    nrof_thresholds = len(thresholds)
    k_fold = LFold(n_splits=nrof_folds, shuffle=False)
    accuracy = np.zeros((nrof_folds))
    best_thr = np.zeros((nrof_folds))
    indices = np.arange(nrof_pairs)
    for fold_idx, (train_set, test_set) in enumerate(k_fold.split(indices)):
        acc_train = np.zeros((nrof_thresholds))
        for threshold_idx, threshold in enumerate(thresholds):
            _, _, acc_train[threshold_idx] = calculate_accuracy(threshold, dist[train_set], actual_issame[train_set])
        best_threshold_index = np.argmax(acc_train)
        _, _, accuracy[fold_idx] = calculate_accuracy(thresholds[best_threshold_index], dist[test_set],
                                                      actual_issame[test_set])
        best_thr[fold_idx] = thresholds[best_threshold_index]
    return accuracy, best_thr


def interp1d_slinear_scipy18(x, y):
    """interp1d(x, y, kind='slinear') as scipy <= 1.8 built it (sorted x, bounds checked)."""
    x = np.asarray(x, dtype=np.float64)
    ind = np.argsort(x, kind="mergesort")
    x, y = x[ind], np.asarray(y, dtype=np.float64)[ind]
    spl = interpolate.BSpline.construct_fast(np.r_[x[0], x, x[-1]], np.ascontiguousarray(y), 1)

    def f(q):
        if q < x[0] or q > x[-1]:
            raise ValueError("A value in x_new is outside the interpolation range.")
        return float(spl(q))

    if np.all(np.diff(x) > 0):  # where today's scipy accepts the data it must agree
        g = interpolate.interp1d(x, y, kind="slinear")
        for q in np.linspace(x[0], x[-1], 7):
            assert abs(float(g(q)) - f(q)) <= 1e-12 * max(1.0, abs(f(q)))
    return f


def calculate_val_far(threshold, dist, actual_issame):
    predict_issame = np.less(dist, threshold)
    true_accept = np.sum(np.logical_and(predict_issame, actual_issame))
    false_accept = np.sum(np.logical_and(predict_issame, np.logical_not(actual_issame)))
    n_same = np.sum(actual_issame)
    n_diff = np.sum(np.logical_not(actual_issame))
    val = float(true_accept) / float(n_same)
    far = float(false_accept) / float(n_diff)
    return val, far


def calculate_val(thresholds, dist, actual_issame, far_target, nrof_folds=10):
    nrof_pairs = len(actual_issame)
    nrof_thresholds = len(thresholds)
    k_fold = LFold(n_splits=nrof_folds, shuffle=False)
    val = np.zeros(nrof_folds)
    far = np.zeros(nrof_folds)
    thr = np.zeros(nrof_folds)
    indices = np.arange(nrof_pairs)
    for fold_idx, (train_set, test_set) in enumerate(k_fold.split(indices)):
        far_train = np.zeros(nrof_thresholds)
        for threshold_idx, threshold in enumerate(thresholds):
            _, far_train[threshold_idx] = calculate_val_far(threshold, dist[train_set], actual_issame[train_set])
        if np.max(far_train) >= far_target:
            f = interp1d_slinear_scipy18(far_train, thresholds)
            threshold = f(far_target)
        else:
            threshold = 0.0
        val[fold_idx], far[fold_idx] = calculate_val_far(threshold, dist[test_set], actual_issame[test_set])
        thr[fold_idx] = threshold
    return val, far, thr


# ---------------------------------------------------------------- ROC over all pairs
def roc_metrics(dist, issame):
    # sklearn scores "higher = more likely same": score = -dist; a pair accepted when dist <= t
    fpr, tpr, sk_thr = roc_curve(issame.astype(int), -dist, drop_intermediate=False)
    thr = -sk_thr
    thr[0] = -np.inf  # sklearn's first point is a sentinel accepting nothing
    out = {}
    targets = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    out["far_target"] = targets
    out["tar_at_far"], out["tar_thr"], out["far_at"] = [], [], []
    for t in targets:
        idx = np.nonzero(fpr <= t)[0][-1]
        out["tar_at_far"].append(tpr[idx])
        out["tar_thr"].append(thr[idx])
        out["far_at"].append(fpr[idx])
    # EER: crossing of the piecewise-linear ROC with FRR = FAR, found by root finding
    K = len(fpr) - 1
    s_axis = np.arange(K + 1, dtype=np.float64)

    def g(s):
        return (1.0 - np.interp(s, s_axis, tpr)) - np.interp(s, s_axis, fpr)

    s0 = brentq(g, 0.0, float(K), xtol=1e-13, rtol=1e-15, maxiter=500)
    out["eer"] = [float(np.interp(s0, s_axis, fpr))]
    out["auc"] = [sk_auc(fpr, tpr)]
    return out, np.stack([thr, tpr, fpr], axis=1)


def verification_reference(dist, issame, n_folds=10):
    issame = issame.astype(bool)
    acc, fthr = calculate_roc(np.arange(0, 4, 0.01), dist, issame, n_folds)
    val, far, vthr = calculate_val(np.arange(0, 4, 0.001), dist, issame, 1e-3, n_folds)
    grid = np.arange(0, 4, 0.01)
    all_acc = np.array([calculate_accuracy(t, dist, issame)[2] for t in grid])
    b = int(np.argmax(all_acc))
    ref = {
        "n": [len(dist), int(issame.sum()), int((~issame).sum()), n_folds],
        "fold_acc": acc, "fold_thr": fthr, "acc_mean": [np.mean(acc)], "acc_std": [np.std(acc)],
        "fold_val": val, "fold_far": far, "fold_val_thr": vthr,
        "val_mean": [np.mean(val)], "val_std": [np.std(val)], "far_mean": [np.mean(far)],
        "best_thr": [grid[b]], "best_thr_cos": [1.0 - grid[b] / 2.0], "best_acc": [all_acc[b]],
    }
    r, roc = roc_metrics(dist, issame)
    ref.update(r)
    return ref, roc


def write_ref(path, ref):
    with open(path, "w") as f:
        f.write("# written by tools/ref_metrics.py; key value...\n")
        for k, v in ref.items():
            f.write(k + " " + " ".join(repr(float(x)) for x in np.ravel(v)) + "\n")


def lfw_like(rng, n_pairs, block=300):
    """LFW layout: alternating blocks of `block` same and `block` different pairs."""
    issame = np.array([(i // block) % 2 == 0 for i in range(n_pairs)])
    d = np.where(issame, rng.normal(0.8, 0.25, n_pairs), rng.normal(1.7, 0.2, n_pairs))
    d = np.clip(d, 0.0, 4.0).astype(np.float32).astype(np.float64)  # distances of float32 embeddings
    # ties: some distances exactly on the accuracy grid, some copied across pairs
    k = rng.choice(n_pairs, 40, replace=False)
    d[k] = np.round(d[k] * 100) * 0.01
    src, dst = rng.choice(n_pairs, 60, replace=False), rng.choice(n_pairs, 60, replace=False)
    d[dst] = d[src]
    return d, issame


def save_verify(name, d, issame, n_folds=10, with_roc=True):
    d.astype("<f8").tofile(os.path.join(OUT, name + ".f64"))
    issame.astype(np.uint8).tofile(os.path.join(OUT, name + ".u8"))
    ref, roc = verification_reference(d, issame, n_folds)
    write_ref(os.path.join(OUT, name + "_ref.txt"), ref)
    if with_roc:
        roc.astype("<f8").tofile(os.path.join(OUT, name + "_roc.f64"))
    print(name, "acc %.4f +- %.4f  val %.4f  eer %.4f  roc points %d" %
          (ref["acc_mean"][0], ref["acc_std"][0], ref["val_mean"][0], ref["eer"][0], len(roc)))


# ---------------------------------------------------------------- identification
def ident_reference(sim, dsim, plab, glab, max_rank):
    full = sim.astype(np.float64)
    label_mat = plab[:, None] == glab[None, :]
    if dsim is not None:
        full = np.concatenate([full, dsim.astype(np.float64)], axis=1)
        label_mat = np.concatenate([label_mat, np.zeros(dsim.shape, dtype=bool)], axis=1)
    mated = label_mat.any(axis=1)
    best_mate = np.where(label_mat, full, -np.inf).max(axis=1)
    # rank: 1 + non-mate entries strictly above the best mate (ties favour the probe)
    rank = 1 + np.sum((full > best_mate[:, None]) & ~label_mat, axis=1)
    rm = rank[mated]
    ref = {"n": [len(plab), int(mated.sum()), int((~mated).sum())],
           "cmc": [np.mean(rm <= k) for k in range(1, max_rank + 1)],
           "rank": [np.mean(rm <= k) for k in (1, 5, 10, 20)]}
    # open set (PFE DIR_FAR / find_thresholds_by_FAR with the rank rule above)
    top = np.sort(full[~mated].max(axis=1))[::-1]
    fpirs = np.array([0.01, 0.1])
    m = np.round(len(top) * fpirs).astype(np.int32)
    thr = np.array([top[0] + 1e-5 if k == 0 else top[k - 1] for k in m])
    ref["dir"] = [np.mean((rm == 1) & (best_mate[mated] >= t)) for t in thr]
    ref["dir_thr"] = thr
    ref["fpir_measured"] = [np.mean(top >= t) for t in thr]
    return ref


def save_ident(name, rng, n_probe, n_gallery_ids, n_nonmated, n_distractor, max_rank=30):
    glab = np.concatenate([np.arange(n_gallery_ids), rng.choice(n_gallery_ids, n_gallery_ids // 4, replace=False)])
    rng.shuffle(glab)
    n_mated = n_probe - n_nonmated
    plab = np.concatenate([rng.choice(n_gallery_ids, n_mated), 10000 + np.arange(n_nonmated)])
    rng.shuffle(plab)
    sim = rng.normal(0.1, 0.12, (n_probe, len(glab)))
    mate = plab[:, None] == glab[None, :]
    sim[mate] = rng.normal(0.45, 0.15, mate.sum())
    sim = np.round(sim, 2)  # coarse scores: ties between mates and non-mates
    sim = sim.astype(np.float32)
    dsim = rng.normal(0.1, 0.12, (n_probe, n_distractor)).round(2).astype(np.float32) if n_distractor else None
    sim.astype("<f4").tofile(os.path.join(OUT, name + "_sim.f32"))
    if dsim is not None:
        dsim.astype("<f4").tofile(os.path.join(OUT, name + "_dsim.f32"))
    plab.astype("<i4").tofile(os.path.join(OUT, name + "_probe.i32"))
    glab.astype("<i4").tofile(os.path.join(OUT, name + "_gallery.i32"))
    ref = ident_reference(sim, dsim, plab, glab, max_rank)
    ref["shape"] = [n_probe, len(glab), n_distractor, max_rank]
    write_ref(os.path.join(OUT, name + "_ref.txt"), ref)
    print(name, "rank1 %.4f rank5 %.4f DIR %s" % (ref["rank"][0], ref["rank"][1], ref["dir"]))


# ---------------------------------------------------------------- protocol files
def write_cfp(rng):
    root = os.path.join(OUT, "cfp", "Protocol")
    nf, npf = 12, 8
    os.makedirs(root, exist_ok=True)
    fpath = {i: "../Data/Images/%03d/frontal/%02d.jpg" % ((i - 1) // 4 + 1, (i - 1) % 4 + 1) for i in range(1, nf + 1)}
    ppath = {i: "../Data/Images/%03d/profile/%02d.jpg" % ((i - 1) // 2 + 1, (i - 1) % 2 + 1) for i in range(1, npf + 1)}
    with open(os.path.join(root, "Pair_list_F.txt"), "w") as f:
        for i in range(1, nf + 1):
            f.write("%d %s\n" % (i, fpath[i]))
    with open(os.path.join(root, "Pair_list_P.txt"), "w") as f:
        for i in range(1, npf + 1):
            f.write("%d %s\n" % (i, ppath[i]))
    expected = {"FP": [], "FF": []}
    for split, nb in (("FP", npf), ("FF", nf)):
        for fold in (1, 2, 3):
            d = os.path.join(root, "Split", split, "%02d" % fold)
            os.makedirs(d, exist_ok=True)
            for kind, same in (("same", 1), ("diff", 0)):
                pairs = [(int(rng.integers(1, nf + 1)), int(rng.integers(1, nb + 1))) for _ in range(3)]
                with open(os.path.join(d, kind + ".txt"), "w") as f:
                    for a, b in pairs:
                        f.write("%d,%d\n" % (a, b))
                for a, b in pairs:
                    expected[split].append((fpath[a], (ppath if split == "FP" else fpath)[b], same))
    for split in expected:
        with open(os.path.join(OUT, "cfp_%s_expected.txt" % split.lower()), "w") as f:
            f.write("%d\n" % len(expected[split]))
            for a, b, s in expected[split]:
                f.write("%s %s %d\n" % (a, b, s))


def write_generic_list(rng):
    rows = [("img/%03d.jpg" % rng.integers(0, 999), "/abs/img/%03d.png" % rng.integers(0, 999), int(rng.integers(0, 2)))
            for _ in range(7)]
    with open(os.path.join(OUT, "pairs_list.txt"), "w") as f:
        f.write("# generic pair list: path_a path_b label\n\n")
        for a, b, s in rows:
            f.write("%s\t%s %d\n" % (a, b, s))
    with open(os.path.join(OUT, "pairs_list_expected.txt"), "w") as f:
        f.write("%d\n" % len(rows))
        for a, b, s in rows:
            f.write("%s %s %d\n" % (a, b, s))


def write_lfw_expected():
    path = os.path.join(SHARED, "data", "lfw", "pairs.txt")
    lines = open(path).read().split("\n")
    nfold, per = map(int, lines[0].split())
    pairs = []
    for ln in lines[1:]:
        t = ln.split()
        if len(t) == 3:
            pairs.append(("%s/%s_%04d.jpg" % (t[0], t[0], int(t[1])), "%s/%s_%04d.jpg" % (t[0], t[0], int(t[2])), 1))
        elif len(t) == 4:
            pairs.append(("%s/%s_%04d.jpg" % (t[0], t[0], int(t[1])), "%s/%s_%04d.jpg" % (t[2], t[2], int(t[3])), 0))
    assert len(pairs) == 2 * nfold * per
    with open(os.path.join(OUT, "lfw_pairs_expected.txt"), "w") as f:
        f.write("%d %d %d\n" % (len(pairs), sum(p[2] for p in pairs), nfold))
        f.write("".join(str(p[2]) for p in pairs) + "\n")
        for i in (0, 299, 300, 2718, len(pairs) - 1):
            f.write("%d %s %s\n" % (i, pairs[i][0], pairs[i][1]))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261122)
    d, s = lfw_like(rng, 6000)
    save_verify("verify_a", d, s)                       # 6000 pairs, 10 folds of 600
    d, s = lfw_like(rng, 5999)
    save_verify("verify_b", d, s, with_roc=False)       # 5999 pairs: folds of 600 x 9 + 599
    # C: perfectly separable, different pairs beyond the FAR grid (max training FAR 0 < 1e-3
    # -> VAL threshold 0); 250 pairs, folds of 25; many thresholds tie at accuracy 1.
    n = 250
    s = rng.random(n) < 0.5
    d = np.where(s, rng.normal(0.3, 0.1, n).clip(0, 1), rng.uniform(3.9995, 4.0, n))
    save_verify("verify_c", d, s)
    # D: insightface's interpolation corner: every training FAR plateau ends at the target
    # (9 false accepts out of 900) -> zero-length last knot span -> threshold 0.
    n = 2000
    s = np.array([(i // 100) % 2 == 0 for i in range(n)])
    d = np.where(s, rng.normal(0.5, 0.2, n).clip(0, 4), rng.uniform(3.9992, 4.0, n))
    for f in range(10):
        d[f * 200 + 100 + int(rng.integers(0, 100))] = rng.uniform(0.5, 3.5)
    d = d.astype(np.float32).astype(np.float64)
    d.astype("<f8").tofile(os.path.join(OUT, "verify_d.f64"))
    s.astype(np.uint8).tofile(os.path.join(OUT, "verify_d.u8"))
    ref = {}
    for target in (9 / 900, 4.5e-3, 1e-3):
        val, far, thr = calculate_val(np.arange(0, 4, 0.001), d, s, target, 10)
        ref["target_%g" % target] = [target] + list(val) + list(far) + list(thr)
    write_ref(os.path.join(OUT, "verify_d_ref.txt"), ref)

    save_ident("ident_a", rng, 300, 80, 60, 100)   # 60 non-mated: m = round(0.6) = 1, round(6) = 6
    save_ident("ident_b", rng, 150, 60, 50, 0)     # 50 non-mated: m = round(0.5) = 0 (half to even)
    write_cfp(rng)
    write_generic_list(rng)
    write_lfw_expected()


if __name__ == "__main__":
    main()
