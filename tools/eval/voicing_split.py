#!/usr/bin/env python3
"""Where a conversion's voicing errors come from (vc_eval vuv%): the analysis's decision (vox pitch --conversion-voicing on
the source) against Harvest on the source, and the rendering (Harvest on the converted file) against that decision.
usage: voicing_split.py SOURCE_DIR VC_EVAL_WORK_DIR... (each with converted/ID.wav as vc_eval --work leaves it)"""
import sys, subprocess, numpy as np, soundfile as sf, pyworld as pw, warnings, glob, os
warnings.filterwarnings("ignore")
VOX = os.environ.get("VOX", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.build/release/vox"))
def harvest(p):
    x, fs = sf.read(p, dtype="float64", always_2d=True); x = x.mean(1)
    f0, t = pw.harvest(np.ascontiguousarray(x), fs, f0_floor=50, f0_ceil=1100, frame_period=5.0); return f0
def vox(p):
    out = subprocess.run([VOX, "pitch", p, "--csv", "--conversion-voicing"], capture_output=True, text=True, check=True).stdout
    rows = [l.split(",") for l in out.strip().splitlines() if l and l[0].isdigit()]
    return np.array([float(r[1]) for r in rows])
def main():
    src = sys.argv[1]; tot = np.zeros(7); N = 0
    for run in sys.argv[2:]:
        for c in sorted(glob.glob(run + "/converted/*.wav")):
            i = os.path.basename(c); s = f"{src}/{i}"
            hs, hc, v = harvest(s) > 0, harvest(c) > 0, vox(s) > 0
            n = min(len(hs), len(hc), len(v)); hs, hc, v = hs[:n], hc[:n], v[:n]
            r = np.array([np.mean(hs == hc), np.mean(v & ~hs), np.mean(~v & hs), np.mean(hc & ~v), np.mean(~hc & v),
                          np.mean((hc != hs) & (v == hs)), np.mean((hc != hs) & (v != hs))]) * 100
            tot += r * n; N += n
            print(run.split('/')[-1], i, "agree %.1f | decision FA %.1f miss %.1f | render FA %.1f miss %.1f | errors from render %.1f from decision %.1f" % tuple(r))
    print("ALL", "agree %.1f | decision FA %.1f miss %.1f | render FA %.1f miss %.1f | errors from render %.1f from decision %.1f" % tuple(tot / N))


if __name__ == "__main__":
    main()
