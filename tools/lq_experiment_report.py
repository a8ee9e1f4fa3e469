#!/usr/bin/env python3
"""lq_experiment_report.py — the table and plots of scripts/lq_experiments.sh.

Reads RUNS/shipped.json and RUNS/<recipe>.json (`lqface eval verify --json` on LFW fold 10),
RUNS/<recipe>.scores/ (its per-pair distances, `--scores`) and RUNS/<recipe>/train_log.jsonl
(the training summary), writes OUT/lq_experiments.md (the tables) and OUT/lq_experiments.html
(the tables plus inline-SVG plots: accuracy against resolution, and against the face-
alignment-error level at 112, 28 and 14 px). Standard library only.

Paired comparison: the 10-fold protocol decides every pair with the threshold chosen on the
other nine folds (fold k = pairs 60k..60k+59; "same" when the squared distance is below the
fold's threshold from the JSON). Each pair's correctness is rebuilt from the distances and
checked against the JSON's per-fold accuracies; two recipes are then compared pair by pair
on the same condition: pairs the second gets right and the first wrong (+), the reverse
(-), and McNemar's exact two-sided p (binomial on the discordant pairs).

usage: lq_experiment_report.py RUNS OUT
"""
import html
import json
import math
import os
import sys

RECIPES = [
    ("shipped", "MobileFaceNet as shipped (no fine-tuning)"),
    ("a_arcface", "(a) ArcFace"),
    ("b_arcface_lq", "(b) ArcFace + LQ aug"),
    ("c_adaface_lq", "(c) AdaFace + LQ aug"),
    ("d_adaface_lq_aro", "(d) AdaFace + LQ aug + ARoFace"),
    ("e_qgface", "(e) QGFace-style"),
    ("f_adaface_lap_lq", "(f) AdaFace, Laplacian quality + LQ aug"),
    ("g_adaface_lq_arofix", "(g) AdaFace + LQ aug + ARoFace fixed k 2"),
    ("h_adaface_2views", "(h) AdaFace on e's two views, no gate, no contrast"),
]
COLOURS = ["#777777", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def run_keys(runs):
    """(key, label): each recipe's run, then its other seeds (RECIPE@SEED, scripts/lq_experiments.sh)."""
    out = []
    for key, label in RECIPES:
        out.append((key, label))
        seeds = sorted(f[len(key) + 1:-5] for f in os.listdir(runs)
                       if f.startswith(key + "@") and f.endswith(".json"))
        out += [("%s@%s" % (key, sd), "%s, seed %s" % (label, sd)) for sd in seeds]
    return out


def load(runs):
    rows = []
    for key, label in run_keys(runs):
        p = os.path.join(runs, key + ".json")
        if not os.path.exists(p):
            continue
        ev = json.load(open(p))
        cond = {}
        for v in ev["verification"]:
            cond[(v["resolution"] or 112, v["fae_level"])] = v
        summ = None
        lp = os.path.join(runs, key, "train_log.jsonl")
        if os.path.exists(lp):
            for line in open(lp):
                if '"event":"summary"' in line:
                    summ = json.loads(line)
        tp = os.path.join(runs, key + ".time.txt")  # /usr/bin/time -v of the training run
        if summ is not None and os.path.exists(tp):
            for line in open(tp):
                if "Maximum resident set size" in line:
                    summ["rss_gb"] = int(line.split(":")[1]) / 1024.0 ** 2
        rows.append((key, label, cond, summ, ev))
    return rows


def correctness(runs, key, cond):
    """{(res, fae): [0/1 per pair]} from the per-pair distances and the fold thresholds."""
    out = {}
    sdir = os.path.join(runs, key + ".scores")
    if not os.path.isdir(sdir):
        return None
    for (res, fae), v in cond.items():
        name = v["condition"].replace(" ", "_").replace("/", "_")[:63]
        path = os.path.join(sdir, name + ".tsv")
        if not os.path.exists(path) or v.get("skipped"):
            return None
        rows = [line.split("\t") for line in open(path) if line.strip()]
        n = len(rows)
        nf = len(v["fold_threshold"])
        per = n // nf
        ok = []
        for i, (d, same) in enumerate(rows):
            thr = v["fold_threshold"][min(i // per, nf - 1)]
            ok.append(int((float(d) < thr) == (same.strip() == "1")))
        for k in range(nf):
            a = sum(ok[k * per:(k + 1) * per]) / per
            if abs(a - v["fold_accuracy"][k]) > 1e-9:
                raise SystemExit("%s %s fold %d: rebuilt accuracy %.4f, JSON %.4f" % (key, v["condition"], k, a,
                                                                                    v["fold_accuracy"][k]))
        out[(res, fae)] = ok
    return out


def mcnemar(b, c):
    """exact two-sided p of b vs c discordant pairs"""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n
    return min(1.0, 2 * tail)


PAIRS = [("a_arcface", "b_arcface_lq", "LQ augmentation (ArcFace)"),
         ("b_arcface_lq", "c_adaface_lq", "AdaFace head instead of ArcFace"),
         ("c_adaface_lq", "d_adaface_lq_aro", "ARoFace, reference preset"),
         ("c_adaface_lq", "g_adaface_lq_arofix", "ARoFace, fixed preset k 2"),
         ("c_adaface_lq", "e_qgface", "QGFace-style vs AdaFace + LQ aug"),
         ("c_adaface_lq", "f_adaface_lap_lq", "Laplacian quality vs feature norm"),
         ("h_adaface_2views", "e_qgface", "QGFace gates + contrast vs the same two views alone"),
         ("c_adaface_lq", "h_adaface_2views", "QGFace's two views vs AdaFace's LQ augmentation"),
         ("shipped", "a_arcface", "fine-tuning (ArcFace) vs as shipped")]
GROUPS = [("112 px", [(112, 0)]), ("28 px", [(28, 0)]), ("14 px", [(14, 0)]),
          ("FAE 1-4 at 112", [(112, f) for f in range(1, 5)]),
          ("FAE 1-4 at 28", [(28, f) for f in range(1, 5)]),
          ("FAE 1-4 at 14", [(14, f) for f in range(1, 5)])]


def paired(runs, rows):
    ok = {}
    for key, _label, cond, _s, _e in rows:
        ok[key] = correctness(runs, key, cond)
    out = []
    seeds = sorted({k.split("@")[1] for k in ok if "@" in k})
    todo = [(a, b, w) for a, b, w in PAIRS] + [("%s@%s" % (a, sd), "%s@%s" % (b, sd), "%s (seed %s)" % (w, sd))
                                              for sd in seeds for a, b, w in PAIRS]
    for a, b, what in todo:
        if not ok.get(a) or not ok.get(b):
            continue
        cells = []
        for _g, conds in GROUPS:
            plus = minus = 0
            p_last = None
            for cnd in conds:
                x, y = ok[a].get(cnd), ok[b].get(cnd)
                if x is None or y is None:
                    continue
                p_ = sum(1 for u, v in zip(x, y) if v and not u)
                m_ = sum(1 for u, v in zip(x, y) if u and not v)
                plus += p_
                minus += m_
                p_last = mcnemar(p_, m_)  # the group's last condition: the size itself, or FAE 4
            cells.append("" if p_last is None else "+%d / -%d (p %.2f)" % (plus, minus, p_last))
        out.append((what, a, b, cells))
    return out


def acc(cond, res, fae):
    v = cond.get((res, fae))
    return None if v is None else 100.0 * v["accuracy_mean"]


def fmt(x):
    return "" if x is None else "%.2f" % x


COLUMNS = [("112 px", 112, 0), ("28 px", 28, 0), ("14 px", 14, 0),
           ("112 FAE 2", 112, 2), ("112 FAE 4", 112, 4),
           ("28 FAE 2", 28, 2), ("28 FAE 4", 28, 4), ("14 FAE 2", 14, 2), ("14 FAE 4", 14, 4)]


def table_rows(rows):
    out = []
    for key, label, cond, summ, ev in rows:
        cells = [fmt(acc(cond, r, f)) for _, r, f in COLUMNS]
        mean_lq = [acc(cond, r, f) for r in (28, 14) for f in (0, 1, 2, 3, 4)]
        mean_lq = [x for x in mean_lq if x is not None]
        lq = "%.2f" % (sum(mean_lq) / len(mean_lq)) if mean_lq else ""
        if summ:
            tr = "%d steps, %.0f s, %.1f img/s, loss %.2f -> %.2f" % (
                summ["steps"], summ["seconds"], summ["img_per_s"], summ["first_epoch_loss"], summ["last_epoch_loss"])
            if "rss_gb" in summ:
                tr += ", peak RSS %.1f GB" % summ["rss_gb"]
        else:
            tr = "-"
        out.append((label, cells, lq, tr))
    return out


def markdown(rows):
    hdr = "| recipe | " + " | ".join(c for c, _, _ in COLUMNS) + " | mean 28+14 px, FAE 0-4 | training |"
    sep = "|" + "---|" * (len(COLUMNS) + 3)
    lines = [hdr, sep]
    for label, cells, lq, tr in table_rows(rows):
        lines.append("| %s | %s | %s | %s |" % (label, " | ".join(cells), lq, tr))
    return "\n".join(lines) + "\n"


def svg_plot(title, xs, xlabels, xname, series, ylo, yhi, w=360, h=250):
    """series: [(label, colour, [y or None per x])]"""
    ml, mr, mt, mb = 44, 22, 24, 44
    pw, ph = w - ml - mr, h - mt - mb

    def X(i):
        return ml + (pw * i / (len(xs) - 1) if len(xs) > 1 else pw / 2)

    def Y(v):
        return mt + ph * (1 - (v - ylo) / (yhi - ylo))
    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (w, h),
         '<text x="%d" y="15" font-weight="bold">%s</text>' % (ml, html.escape(title))]
    step = next(d for d in (0.5, 1, 2, 5, 10, 20) if (yhi - ylo) / d <= 6)
    v = step * int(ylo / step + 0.999)
    while v <= yhi + 1e-9:
        s.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (ml, ml + pw, Y(v), Y(v)))
        s.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (ml - 4, Y(v) + 4, v))
        v += step
    for i, xl in enumerate(xlabels):
        s.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (X(i), mt + ph + 14, html.escape(xl)))
    for label, colour, ys in series:
        pts = [(X(i), Y(y)) for i, y in enumerate(ys) if y is not None]
        if len(pts) > 1:
            s.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' %
                     (colour, " ".join("%.1f,%.1f" % p for p in pts)))
        for p in pts:
            s.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s</title></circle>' % (p[0], p[1], colour,
                                                                                                html.escape(label)))
    s.append('<text x="%d" y="%d" text-anchor="end">accuracy %% / %s</text>' % (w - mr, h - 4, html.escape(xname)))
    s.append("</svg>")
    return "\n".join(s)


def paired_html(pr):
    if not pr:
        return ""
    th = "".join("<th>%s</th>" % html.escape(g) for g, _ in GROUPS)
    trs = "".join("<tr><td>%s</td><td>%s &rarr; %s</td>%s</tr>" % (html.escape(w), a, b, "".join(
        "<td>%s</td>" % html.escape(c) for c in cells)) for w, a, b, cells in pr)
    return ("<h3>Paired comparison on the same 600 pairs</h3><p>Pairs the second recipe gets right and the first "
            "wrong (+) and the reverse (&minus;), each pair decided with its fold's threshold as the 10-fold protocol "
            "does, summed over the group's conditions; McNemar's exact two-sided p of the group's hardest condition "
            "alone (the size itself, or FAE level 4).</p>"
            "<table><tr><th>change</th><th>recipes</th>%s</tr>%s</table>" % (th, trs))


def legend(rows):
    items = []
    for i, (key, label, *_r) in enumerate(rows):
        c = COLOURS[[k for k, _ in RECIPES].index(key)]
        items.append('<span style="margin-right:14px"><span style="display:inline-block;width:18px;height:4px;'
                     'background:%s;vertical-align:middle"></span> %s</span>' % (c, html.escape(label)))
    return "<p>" + "".join(items) + "</p>"


def page(all_rows, pr):
    colour = {k: COLOURS[i] for i, (k, _) in enumerate(RECIPES)}
    rows = [r for r in all_rows if "@" not in r[0]]  # the plots show the main seed
    allv = [acc(c, r, f) for _, _, c, _, _ in rows for r in (112, 28, 14) for f in range(5)]
    allv = [v for v in allv if v is not None]
    lo = max(0.0, 5 * int(min(allv) / 5)) if allv else 50
    plots = [svg_plot("accuracy vs resolution (fold 10)", [112, 28, 14], ["112", "28", "14"], "face size (px)",
                      [(l, colour[k], [acc(c, r, 0) for r in (112, 28, 14)]) for k, l, c, _, _ in rows], lo, 100)]
    for res in (112, 28, 14):
        ylo = [acc(c, res, f) for _, _, c, _, _ in rows for f in range(5)]
        ylo = [v for v in ylo if v is not None]
        ylo = max(0.0, 2 * int(min(ylo) / 2) - 2) if ylo else 50
        yhi = [acc(c, res, f) for _, _, c, _, _ in rows for f in range(5)]
        yhi = min(100.0, 2 * int(max(yhi) / 2) + 2) if yhi else 100
        plots.append(svg_plot("%d px: accuracy vs FAE level" % res, list(range(5)), ["0", "1", "2", "3", "4"], "FAE level",
                              [(l, colour[k], [acc(c, res, f) for f in range(5)]) for k, l, c, _, _ in rows], ylo, yhi))
    trs = []
    for label, cells, lq, tr in table_rows(all_rows):
        trs.append("<tr><td>%s</td>%s<td><b>%s</b></td><td>%s</td></tr>" % (
            html.escape(label), "".join("<td>%s</td>" % c for c in cells), lq, html.escape(tr)))
    th = "".join("<th>%s</th>" % html.escape(c) for c, _, _ in COLUMNS)
    ss = seed_summary(all_rows)
    seeds_html = "" if not ss else (
        "<h3>Over seeds</h3><table><tr><th>recipe</th><th>seeds</th><th>112 px</th><th>mean 28+14 px, FAE 0-4</th></tr>"
        + "".join("<tr><td>%s</td><td>%d</td><td>%.2f &plusmn; %.2f</td><td>%.2f &plusmn; %.2f</td></tr>" %
                  (html.escape(l), n, cm, cs, qm, qs) for l, n, cm, cs, qm, qs in ss) + "</table>")
    return """<!DOCTYPE html><html><head><meta charset="utf-8"><title>lqface: low-quality training recipes on LFW fold 10</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1200px} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:3px 7px;text-align:right} td:first-child{text-align:left} .plots svg{margin:6px;border:1px solid #eee}</style>
</head><body><h2>MobileFaceNet fine-tuned on LFW folds 1-9 under each recipe, tested on fold 10</h2>
<p>10-fold verification accuracy (%%) on fold 10's 600 pairs (identities disjoint from training), YuNet-aligned,
flip fusion. FAE level L: rotation &plusmn;3L&deg;, scale 1&plusmn;0.03L, shift &plusmn;1.5L px in the 112 frame.
Equal budgets: 2 epochs (314 steps of 64), same seed, optimiser and schedule. Produced by
<code>scripts/lq_experiments.sh</code>.</p>
<table><tr><th>recipe</th>%s<th>mean 28+14 px, FAE 0-4</th><th>training</th></tr>%s</table>
%s%s<div class="plots">%s</div>%s</body></html>
""" % (th, "\n".join(trs), seeds_html, legend(rows), "\n".join(plots), paired_html(pr))


def seed_summary(rows):
    """[(label, n seeds, clean mean, sd, LQ mean, sd)] for recipes run with more than one seed."""
    groups = {}
    for key, label, cond, _s, _e in rows:
        base = key.split("@")[0]
        lq = [acc(cond, r, f) for r in (28, 14) for f in range(5)]
        lq = [x for x in lq if x is not None]
        groups.setdefault(base, []).append((acc(cond, 112, 0), sum(lq) / len(lq)))
    out = []
    for key, label in RECIPES:
        g = groups.get(key, [])
        if len(g) < 2:
            continue

        def ms(v):
            m = sum(v) / len(v)
            return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
        out.append((label, len(g)) + ms([c for c, _ in g]) + ms([q for _, q in g]))
    return out


def seed_markdown(rows):
    ss = seed_summary(rows)
    if not ss:
        return ""
    lines = ["", "Over seeds (mean +- sample standard deviation of the runs above):", "",
             "| recipe | seeds | 112 px | mean 28+14 px, FAE 0-4 |", "|---|---|---|---|"]
    for label, n, cm, cs, qm, qs in ss:
        lines.append("| %s | %d | %.2f +- %.2f | %.2f +- %.2f |" % (label, n, cm, cs, qm, qs))
    return "\n".join(lines) + "\n"


def paired_markdown(pr):
    if not pr:
        return ""
    lines = ["", "Paired comparison on the same 600 pairs (second recipe vs first: pairs it gets right",
             "that the first gets wrong / the reverse, summed over the group's conditions; McNemar's exact",
             "p of the group's hardest condition alone: the size itself, or FAE level 4):", "",
             "| change | first -> second | " + " | ".join(g for g, _ in GROUPS) + " |",
             "|" + "---|" * (len(GROUPS) + 2)]
    for what, a, b, cells in pr:
        lines.append("| %s | %s -> %s | %s |" % (what, a, b, " | ".join(cells)))
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    runs, out = sys.argv[1], sys.argv[2]
    rows = load(runs)
    if not rows:
        sys.exit("no results in %s" % runs)
    os.makedirs(out, exist_ok=True)
    pr = paired(runs, rows)
    md = markdown(rows) + seed_markdown(rows) + paired_markdown(pr)
    open(os.path.join(out, "lq_experiments.md"), "w").write(md)
    open(os.path.join(out, "lq_experiments.html"), "w").write(page(rows, pr))
    # the evaluation JSONs themselves, for anyone re-plotting
    merged = {key: {"label": label, "training": summ, "evaluation": ev} for key, label, _c, summ, ev in rows}
    json.dump(merged, open(os.path.join(out, "lq_experiments.json"), "w"), indent=1)
    sys.stdout.write(md)


if __name__ == "__main__":
    main()
