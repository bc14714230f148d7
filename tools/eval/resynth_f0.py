#!/usr/bin/env python3
"""resynth_f0.py - how faithfully a vocoder renders the F0 it analysed: Harvest on the resynthesis against Harvest
on the original, median |difference| in cents over frames voiced in both (after removing the median offset, as
vc_eval.py's F0 error does), per file and the median over files.

  resynth_f0.py --vox .build/release/vox [--vox OTHER_BUILD ...] [--shared ../shared]

Vocoders: pyworld (harvest + cheaptrick + d4c + synthesize, 5 ms) and each `vox resynth IN -o OUT` given.
Files: VCC2016 SF1/SM1 200001-200003, VCTK (4 speakers x 2), vocadito S1 (vocadito_1).
"""
import argparse
import glob
import os
import subprocess
import tempfile
import warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import pyworld as pw  # noqa: E402


def files(shared):
    d = os.path.join(shared, "data/voices")
    out = []
    for s in ("SF1", "SM1"):
        out += sorted(glob.glob(f"{d}/vcc2016/{s}/2000*.wav"))[:3]
    for s in sorted(glob.glob(f"{d}/vctk/p*"))[:4]:
        out += sorted(glob.glob(f"{s}/*.wav"))[:2]
    out += sorted(glob.glob(f"{d}/vocadito/S1/*.wav"))[:1]
    return out


def load(p):
    x, fs = sf.read(p, always_2d=True)
    return np.ascontiguousarray(x.mean(1)), fs


def harvest(x, fs):
    return pw.harvest(x, fs, f0_floor=50.0, f0_ceil=1100.0, frame_period=5.0)[0]


def error_cents(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    m = (a > 0) & (b > 0)
    e = 1200 * np.log2(b[m] / a[m])
    return float(np.median(np.abs(e - np.median(e))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vox", action="append", required=True, help="a vox binary (repeat to compare builds)")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared"))
    args = ap.parse_args()
    names = ["pyworld"] + [f"vox{i + 1}" if len(args.vox) > 1 else "vox" for i in range(len(args.vox))]
    res = {k: [] for k in names}
    for p in files(args.shared):
        x, fs = load(p)
        ref = harvest(x, fs)
        f0, t = pw.harvest(x, fs, f0_floor=50.0, f0_ceil=1100.0, frame_period=5.0)
        y = pw.synthesize(f0, pw.cheaptrick(x, f0, t, fs), pw.d4c(x, f0, t, fs), fs, 5.0)
        res["pyworld"].append(error_cents(ref, harvest(np.ascontiguousarray(y), fs)))
        for name, binary in zip(names[1:], args.vox):
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "out.wav")
                subprocess.run([binary, "resynth", p, "-o", out, "-q"], check=True)
                y, _ = load(out)
            res[name].append(error_cents(ref, harvest(y, fs)))
        print(f"{os.path.basename(p):<16}", "  ".join(f"{k} {v[-1]:5.1f}" for k, v in res.items()), flush=True)
    print("== median over files (cents):", "  ".join(f"{k} {np.median(v):.1f}" for k, v in res.items()))
    for i, b in enumerate(args.vox):
        print(f"   {names[i + 1]} = {b}")


if __name__ == "__main__":
    main()
