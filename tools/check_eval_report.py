#!/usr/bin/env python3
"""Independent check of an `lqface eval verify` run: recompute every condition's metrics
from the score files lqface wrote (--scores DIR: one 'squared_l2<TAB>issame' line per pair)
with numpy + scikit-learn (insightface's calculate_roc / calculate_val, in ref_metrics.py)
and compare with the JSON report (--json). Exits 1 on any difference above 1e-9.
Usage: /usr/bin/python3 tools/check_eval_report.py REPORT.json SCORES_DIR"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_metrics import verification_reference  # noqa: E402

rep = json.load(open(sys.argv[1]))
bad = 0
for row in rep["verification"]:
    name = row["condition"].replace(" ", "_").replace("/", "_")
    data = np.loadtxt(os.path.join(sys.argv[2], name + ".tsv"), ndmin=2)
    dist, same = data[:, 0], data[:, 1].astype(int)
    ref, _ = verification_reference(dist, same, len(row["fold_accuracy"]))
    checks = {
        "accuracy_mean": (row["accuracy_mean"], ref["acc_mean"][0]),
        "accuracy_std": (row["accuracy_std"], ref["acc_std"][0]),
        "best_threshold_squared_l2": (row["best_threshold_squared_l2"], ref["best_thr"][0]),
    }
    for k in range(len(row["fold_accuracy"])):
        checks[f"fold_accuracy[{k}]"] = (row["fold_accuracy"][k], ref["fold_acc"][k])
        checks[f"fold_threshold[{k}]"] = (row["fold_threshold"][k], ref["fold_thr"][k])
    for k, t in enumerate(row["far_targets"]):
        checks[f"tar_at_far[{t:g}]"] = (row["tar_at_far"][k], ref["tar_at_far"][k])
    if row["val_at_far_1e-3"] is not None:
        checks["val_at_far_1e-3"] = (row["val_at_far_1e-3"], ref["val_mean"][0])
    worst = max(abs(a - b) for a, b in checks.values())
    ok = worst <= 1e-9
    bad += not ok
    print(f"{row['condition']:<22} pairs {len(dist):5d}  accuracy {100*row['accuracy_mean']:.2f}%  "
          f"{len(checks)} values, max |lqface - numpy/sklearn| = {worst:.2e}  {'ok' if ok else 'MISMATCH'}")
print(f"{len(rep['verification']) - bad} passed, {bad} failed")
sys.exit(1 if bad else 0)
