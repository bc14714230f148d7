#!/usr/bin/env python3
"""f0_eval.py - F0 accuracy of `vox pitch` and pyworld Harvest against ground truth, same files, same metrics.

  f0_eval.py --vox .build/release/vox [--shared ../shared] [--set all|parallel|vocadito] [--json OUT.json]

Truth:
  parallel/  the intended contour of each phrase (notes + glides + scoops + vibrato + drift, rebuilt with
             ../shared/synth/sing.py:f0_contour from scores.json, plus each voice's octave shift), on the sung
             vowels only (20 ms trimmed at each end, as sing.verify_f0 does); 0 elsewhere.
  vocadito/  S1/vocadito_1_f0.csv (the dataset's annotation; 0 = unvoiced).
Metrics (as ../shared/eval/f0_compare.py): the truth is interpolated to each tracker's own frame times (voiced
where the interpolated voicing flag > 0.5); over frames voiced in both: GPE>50c = share off by more than 50 cents,
median |error| in cents, GPE>20 %; voicing recall = truth-voiced frames the tracker calls voiced. Pooled over all
frames of a set. Harvest runs with f0_floor 50, f0_ceil 1100, 5 ms frames (the vocoder peer's settings).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402


def parallel_items(shared):
    sys.path.insert(0, os.path.join(shared, "synth"))
    import sing
    d = json.load(open(os.path.join(shared, "data/parallel/scores.json")))
    for ph in d["phrases"]:
        t, base, full = sing.f0_contour(ph["notes"], ph["total_s"], ph["style"])
        for voice, r in ph["renders"].items():
            cents = full + 100.0 * r["octave_shift"]
            f = 440.0 * 2.0 ** ((cents / 100.0 - 69.0) / 12.0)
            mask = np.zeros(len(t), bool)
            for p, a, b in r["phoneme_segments"]:
                if p != "_" and sing.is_vowel(p):
                    mask |= (t >= a + 0.02) & (t <= b - 0.02)
            yield f"parallel/{ph['id']}/{voice}", os.path.join(shared, "data/parallel", r["file"]), t, np.where(mask, f, 0.0)


def vocadito_items(shared):
    p = os.path.join(shared, "data/voices/vocadito/S1")
    tr = np.loadtxt(os.path.join(p, "vocadito_1_f0.csv"), delimiter=",")
    yield "vocadito/S1/vocadito_1", os.path.join(p, "vocadito_1.wav"), tr[:, 0], tr[:, 1]


def compare(tt, ft, te, fe):
    ref = np.interp(te, tt, ft)
    rv = np.interp(te, tt, (ft > 0).astype(float)) > 0.5
    ref = np.where(rv, ref, 0.0)
    both = rv & (fe > 0)
    c = 1200 * np.log2(fe[both] / ref[both]) if both.any() else np.zeros(0)
    return c, int(rv.sum()), int(both.sum()), int((fe > 0).sum())


def harvest(path):
    import pyworld as pw
    x, sr = sf.read(path, dtype="float64", always_2d=True)
    x = np.ascontiguousarray(x.mean(1))
    t0 = time.perf_counter()
    f0, t = pw.harvest(x, sr, f0_floor=50.0, f0_ceil=1100.0, frame_period=5.0)
    return t, f0, time.perf_counter() - t0


def vox(binary, path, extra=()):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "f0.csv")
        t0 = time.perf_counter()
        subprocess.run([binary, "pitch", path, "-o", out, *extra], check=True)
        dt = time.perf_counter() - t0
        a = np.loadtxt(out, delimiter=",", skiprows=1)
    return a[:, 0], a[:, 1], dt


def summary(cs, ref_voiced, both, est_voiced):
    c = np.concatenate(cs) if cs else np.zeros(0)
    a = np.abs(c)
    return {"frames_both_voiced": int(both), "gpe50_pct": float(100 * np.mean(a > 50)) if len(c) else None,
            "median_abs_cents": float(np.median(a)) if len(c) else None,
            "gpe20pct_pct": float(100 * np.mean(a > 1200 * np.log2(1.2))) if len(c) else None,
            "voicing_recall_pct": float(100 * both / max(1, ref_voiced)),
            "voicing_precision_est_voiced": int(est_voiced)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vox", required=True)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared"))
    ap.add_argument("--set", default="all", choices=["all", "parallel", "vocadito"])
    ap.add_argument("--json")
    ap.add_argument("--vox-args", default="", help="extra arguments for vox pitch")
    ap.add_argument("--skip-harvest", action="store_true", help="score Vox only")
    a = ap.parse_args()
    sets = {"parallel": parallel_items, "vocadito": vocadito_items}
    names = list(sets) if a.set == "all" else [a.set]
    result = {}
    for s in names:
        acc = {k: {"c": [], "rv": 0, "both": 0, "ev": 0, "sec": 0.0} for k in ("vox", "harvest")}
        rows = []
        for name, path, tt, ft in sets[s](a.shared):
            row = {"item": name}
            trackers = (("vox", lambda p: vox(a.vox, p, a.vox_args.split())), ("harvest", harvest))
            for k, fn in trackers[:1] if a.skip_harvest else trackers:
                te, fe, dt = fn(path)
                c, rv, both, ev = compare(tt, ft, te, fe)
                acc[k]["c"].append(c); acc[k]["rv"] += rv; acc[k]["both"] += both; acc[k]["ev"] += ev; acc[k]["sec"] += dt
                row[k] = {"gpe50_pct": float(100 * np.mean(np.abs(c) > 50)) if len(c) else None,
                          "median_abs_cents": float(np.median(np.abs(c))) if len(c) else None}
            rows.append(row)
            print(f"{name:<32} " + " | ".join(f"{k} gpe50 {row[k]['gpe50_pct']:6.2f}% med {row[k]['median_abs_cents']:6.2f}c"
                                              for k in row if k != "item"), flush=True)
        result[s] = {"items": rows}
        for k in [k for k in acc if acc[k]["c"]]:
            result[s][k] = summary(acc[k]["c"], acc[k]["rv"], acc[k]["both"], acc[k]["ev"])
            result[s][k]["seconds"] = acc[k]["sec"]
        print(f"== {s}: " + " | ".join(
            f"{k}: GPE>50c {result[s][k]['gpe50_pct']:.2f}% median |err| {result[s][k]['median_abs_cents']:.2f} c "
            f"GPE>20% {result[s][k]['gpe20pct_pct']:.2f}% voicing recall {result[s][k]['voicing_recall_pct']:.1f}% "
            f"({result[s][k]['seconds']:.1f} s)" for k in ("vox", "harvest") if k in result[s]), flush=True)
    if a.json:
        json.dump(result, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
