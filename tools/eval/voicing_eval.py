#!/usr/bin/env python3
"""voicing_eval.py - frame-by-frame voicing of `vox pitch` against pyworld Harvest on speech.

  voicing_eval.py --vox .build/release/vox [--shared ../shared] [--files 'GLOB'] [--json OUT.json]
                  [--conversion-voicing]

Harvest (50-1100 Hz, 5 ms) is what the judges use to read voicing (vc_eval.py's vuv_agree, resynth_eval.py's MCD
analysis), so a tracker whose voiced/unvoiced decisions differ from Harvest's makes the vocoder synthesise noise
where the judges expect voice, or the reverse. Per file and pooled: agreement (% of frames with the same decision),
voiced share of each tracker, misses (Harvest voiced, Vox not), false alarms (Vox voiced, Harvest not) and, over
frames voiced in both, the share more than 300 cents apart (octave-type errors).
Default files: VCTK (3 per speaker), VCC2016 SF1/SM1 200001-200003, LibriSpeech (first file of 4 readers).
"""
import argparse
import glob
import json
import os
import subprocess
import tempfile
import warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402


def default_files(shared):
    d = os.path.join(shared, "data/voices")
    out = []
    for s in sorted(glob.glob(f"{d}/vctk/p*")):
        out += sorted(glob.glob(f"{s}/*.wav"))[:3]
    for s in ("SF1", "SM1"):
        out += sorted(glob.glob(f"{d}/vcc2016/{s}/2000*.wav"))[:3]
    for s in sorted(glob.glob(f"{d}/librispeech/*"))[:4]:
        out += sorted(glob.glob(f"{s}/*.flac"))[:1]
    return out


def harvest(path):
    import pyworld as pw
    x, fs = sf.read(path, dtype="float64", always_2d=True)
    f0, _ = pw.harvest(np.ascontiguousarray(x.mean(1)), fs, f0_floor=50.0, f0_ceil=1100.0, frame_period=5.0)
    return f0


def vox(binary, path, extra=()):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "f0.csv")
        subprocess.run([binary, "pitch", path, "-o", out, *extra], check=True)
        return np.loadtxt(out, delimiter=",", skiprows=1)[:, 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vox", required=True)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared"))
    ap.add_argument("--files", help="glob of audio files instead of the default speech set")
    ap.add_argument("--json")
    ap.add_argument("--conversion-voicing", action="store_true",
                    help="the track as `vox convert` analyses it (vox pitch --conversion-voicing)")
    a = ap.parse_args()
    paths = sorted(glob.glob(a.files)) if a.files else default_files(a.shared)
    tot = {"frames": 0, "agree": 0, "harvest_voiced": 0, "vox_voiced": 0, "miss": 0, "false_alarm": 0,
           "both": 0, "far": 0}
    rows = []
    for p in paths:
        h, v = harvest(p), vox(a.vox, p, ["--conversion-voicing"] if a.conversion_voicing else [])
        n = min(len(h), len(v))
        h, v = h[:n], v[:n]
        hv, vv = h > 0, v > 0
        both = hv & vv
        r = {"file": p, "frames": n, "agree": int((hv == vv).sum()), "harvest_voiced": int(hv.sum()),
             "vox_voiced": int(vv.sum()), "miss": int((hv & ~vv).sum()), "false_alarm": int((vv & ~hv).sum()),
             "both": int(both.sum()), "far": int((np.abs(1200 * np.log2(v[both] / h[both])) > 300).sum())}
        rows.append(r)
        for k in tot:
            tot[k] += r[k]
        print(f"{os.path.relpath(p, a.shared)[-40:]:<41} agree {100 * r['agree'] / n:5.1f}%  voiced harvest "
              f"{100 * r['harvest_voiced'] / n:5.1f}% vox {100 * r['vox_voiced'] / n:5.1f}%  miss "
              f"{100 * r['miss'] / n:5.1f}% false alarm {100 * r['false_alarm'] / n:5.1f}%", flush=True)
    n = max(1, tot["frames"])
    summary = {"files": len(rows), "agreement_pct": 100 * tot["agree"] / n,
               "harvest_voiced_pct": 100 * tot["harvest_voiced"] / n, "vox_voiced_pct": 100 * tot["vox_voiced"] / n,
               "miss_pct": 100 * tot["miss"] / n, "false_alarm_pct": 100 * tot["false_alarm"] / n,
               "far_pct_of_both_voiced": 100 * tot["far"] / max(1, tot["both"])}
    print(f"== {len(rows)} files: agreement {summary['agreement_pct']:.2f}% | voiced harvest "
          f"{summary['harvest_voiced_pct']:.1f}% vox {summary['vox_voiced_pct']:.1f}% | miss {summary['miss_pct']:.2f}% "
          f"false alarm {summary['false_alarm_pct']:.2f}% | >300 c apart {summary['far_pct_of_both_voiced']:.2f}% "
          f"of frames voiced in both")
    if a.json:
        json.dump({"summary": summary, "rows": rows}, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
