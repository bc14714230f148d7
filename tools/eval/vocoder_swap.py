#!/usr/bin/env python3
"""vocoder_swap.py - which component of Vox's vocoder costs resynthesis quality against pyworld: swap them.

  vocoder_swap.py --vox .build/release/vox [--shared ../shared] [--set vctk|vcc2016] [--variants a,b,...]

Per file, each variant resynthesises the original and is scored like resynth_eval.py (the judges' MCD and
Resemblyzer cosine to the original, ../shared/eval/vc_eval.py); medians per variant at the end.
  pw_H             pyworld: harvest + cheaptrick + d4c + synthesize (the peer)
  pw_V             pyworld with Vox's F0 (`vox pitch --resynth-voicing`, the F0 `vox resynth` uses)
  pw_HvalVvoi      pyworld, Harvest's F0 values with Vox's voicing (log-F0 interpolated where Harvest is unvoiced)
  pw_VvalHvoi      pyworld, Vox's F0 values with Harvest's voicing
  vox_V            Vox whole-file analysis + synthesis (`vox resynth --features-out`)
  vox_H            Vox envelope, aperiodicity and synthesis with Harvest's F0 (`vox resynth --f0-csv`)
  vox_HvalVvoi, vox_VvalHvoi   as the pw_ ones, through Vox
  voxfeat_pwsynth  Vox's features (F0, envelope, band aperiodicity decoded as WORLD does) through pyworld's synthesize
F0 or voicing: compare pw_H with pw_V and the mixed ones; envelope/aperiodicity: vox_H with pw_H; synthesis:
voxfeat_pwsynth with vox_V.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ALL = ["pw_H", "pw_V", "pw_HvalVvoi", "pw_VvalHvoi", "vox_V", "vox_H", "vox_HvalVvoi", "vox_VvalHvoi", "voxfeat_pwsynth"]


def write_csv(path, f0, period=0.005):
    with open(path, "w") as f:
        f.write("time_s,f0_hz\n")
        for i, v in enumerate(f0):
            f.write(f"{i * period:.4f},{v:.4f}\n")


def interpolated(f0):
    """log-F0 interpolated through unvoiced frames (values for another tracker's voiced frames)."""
    v = f0 > 0
    idx = np.arange(len(f0))
    return np.exp(np.interp(idx, idx[v], np.log(f0[v]))) if v.any() else f0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vox", required=True)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared"))
    ap.add_argument("--set", default="vctk", choices=["vctk", "vcc2016"])
    ap.add_argument("--variants", default=",".join(ALL))
    ap.add_argument("--work")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.shared, "eval"))
    import pyworld as pw
    import vc_eval
    d = os.path.join(a.shared, "data/voices", a.set)
    files = sum((sorted(glob.glob(f"{s}/*.wav"))[:2] for s in sorted(glob.glob(f"{d}/*"))), [])
    want = set(a.variants.split(","))
    work = a.work or tempfile.mkdtemp(prefix="vocoder-swap-")
    os.makedirs(work, exist_ok=True)
    world = vc_eval.World(24, 50.0, 1100.0, 5.0, "harvest")
    spk = vc_eval.Spk()
    res = {}
    for p in files:
        # Speaker folder in the name: VCC2016 speakers share utterance names (and the judges cache by path).
        st = os.path.basename(os.path.dirname(p)) + "_" + os.path.basename(p).rsplit(".", 1)[0]
        x, fs = sf.read(p, dtype="float64", always_2d=True)
        x = np.ascontiguousarray(x.mean(1))
        fh, t = pw.harvest(x, fs, f0_floor=50.0, f0_ceil=1100.0, frame_period=5.0)
        subprocess.run([a.vox, "pitch", p, "--resynth-voicing", "-o", f"{work}/{st}_V.csv"], check=True)
        fv = np.loadtxt(f"{work}/{st}_V.csv", delimiter=",", skiprows=1)[:, 1]
        n = min(len(fh), len(fv))
        fh, fv, t = fh[:n], fv[:n], t[:n]
        tracks = {"H": fh, "V": fv, "HvalVvoi": np.where(fv > 0, interpolated(fh), 0.0),
                  "VvalHvoi": np.where(fh > 0, interpolated(fv), 0.0)}
        outs = {}

        def save(name, y):
            o = f"{work}/{st}_{name}.wav"
            sf.write(o, np.asarray(y)[:len(x)].astype(np.float32), fs, subtype="FLOAT")
            outs[name] = o

        for key, f0 in tracks.items():
            f0 = np.ascontiguousarray(f0, dtype=np.float64)
            if "pw_" + key in want:
                save("pw_" + key, pw.synthesize(f0, pw.cheaptrick(x, f0, t, fs), pw.d4c(x, f0, t, fs), fs, 5.0))
            name = "vox_" + key
            if name in want or (key == "V" and "voxfeat_pwsynth" in want):
                cmd = [a.vox, "resynth", p, "-o", f"{work}/{st}_{name}.wav", "-q"]
                if key == "V":
                    cmd += ["--features-out", f"{work}/{st}_{name}"]
                else:
                    write_csv(f"{work}/{st}_{name}.csv", f0)
                    cmd += ["--f0-csv", f"{work}/{st}_{name}.csv"]
                subprocess.run(cmd, check=True)
                if name in want:
                    outs[name] = f"{work}/{st}_{name}.wav"
        if "voxfeat_pwsynth" in want:
            f0 = np.fromfile(f"{work}/{st}_vox_V.f0.f32", np.float32).astype(np.float64)
            sp = np.fromfile(f"{work}/{st}_vox_V.sp.f32", np.float32).astype(np.float64).reshape(len(f0), -1)
            bap = np.fromfile(f"{work}/{st}_vox_V.bap.f32", np.float32).astype(np.float64).reshape(len(f0), -1)
            fft = (sp.shape[1] - 1) * 2
            # Band aperiodicity (dB at 0 Hz, the band centres, Nyquist) to WORLD's amplitude ratio per bin.
            centres = np.concatenate([[0.0], 3000.0 * np.arange(1, bap.shape[1] - 1), [fs / 2]])
            bins = np.arange(fft // 2 + 1) * fs / fft
            apr = np.ascontiguousarray([10 ** (np.interp(bins, centres, r) / 20) for r in bap])
            save("voxfeat_pwsynth", pw.synthesize(f0, np.ascontiguousarray(sp), apr, fs, 5.0))
        orig, e = world.analyse(p, fs), spk.emb(p)
        line = f"{st:<14} voicing agreement {np.mean((fh > 0) == (fv > 0)):.3f} |"
        for k in [k for k in ALL if k in outs]:
            m, s = vc_eval.mcd(orig, world.analyse(outs[k], fs))[0], vc_eval.cos(e, spk.emb(outs[k]))
            res.setdefault(k, []).append((m, s))
            line += f" {k} {m:.3f}/{s:.4f}"
        print(line, flush=True)
    print("== medians: variant, MCD dB, Resemblyzer")
    for k, v in res.items():
        m = np.median(np.array(v), axis=0)
        print(f"{k:<18} {m[0]:.3f} {m[1]:.4f}")


if __name__ == "__main__":
    main()
