#!/usr/bin/python3
"""compare_eval_reports.py — are two `lqface eval` runs the same evaluation?

Compares two JSON reports (--json) value by value, leaving out what a run's timing decides
("seconds"), and optionally two --scores directories file by file, byte for byte. Used to
check that a refactoring leaves every number unchanged (docs/results/eval_refactor_check.txt).

    /usr/bin/python3 tools/compare_eval_reports.py A.json B.json [SCORES_A SCORES_B]

Prints one line per verification / identification row and exits 0 when all are identical.
"""
import json
import os
import sys


def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k != "seconds"}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def main():
    if len(sys.argv) not in (3, 5):
        raise SystemExit(__doc__)
    a, b = (strip(json.load(open(p))) for p in sys.argv[1:3])
    ok = True
    for key, metric in (("verification", "accuracy_mean"), ("identification", "rank1")):
        ra, rb = a.get(key, []), b.get(key, [])
        if len(ra) != len(rb):
            print(f"{key}: {len(ra)} rows vs {len(rb)}")
            ok = False
        for x, y in zip(ra, rb):
            same = x == y
            ok &= same
            print(f"{key:14s} {x['condition']:16s} {metric} {x[metric]:.10g} vs {y[metric]:.10g}: "
                  f"{'all values identical' if same else 'DIFFERENT'}")
    rest = {k: v for k, v in a.items() if k not in ("verification", "identification")}
    rest_b = {k: v for k, v in b.items() if k not in ("verification", "identification")}
    if rest != rest_b:
        print("header differs:", {k: (rest.get(k), rest_b.get(k)) for k in rest if rest.get(k) != rest_b.get(k)})
        ok = False
    if len(sys.argv) == 5:
        da, db = sys.argv[3:5]
        names = sorted(set(os.listdir(da)) | set(os.listdir(db)))
        for n in names:
            pa, pb = os.path.join(da, n), os.path.join(db, n)
            same = os.path.exists(pa) and os.path.exists(pb) and open(pa, "rb").read() == open(pb, "rb").read()
            ok &= same
            lines = sum(1 for _ in open(pa)) if os.path.exists(pa) else 0
            print(f"scores {n:24s} {lines} pairs: {'byte-identical' if same else 'DIFFERENT'}")
    print("identical" if ok else "DIFFERENT")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
