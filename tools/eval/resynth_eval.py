#!/usr/bin/env python3
"""resynth_eval.py - analysis/resynthesis quality of `vox resynth` and of pyworld on the same files.

  resynth_eval.py --vox .build/release/vox [--shared ../shared] [--set quick|all] [--json OUT.json] [--work DIR]

For each file: Vox = `vox resynth IN -o OUT` (no edits); pyworld = harvest (50-1100 Hz) + cheaptrick + d4c +
synthesize at 5 ms, the peer vocoder. Both outputs are scored against the original with the judges' own code
(../shared/eval/vc_eval.py): MCD (harvest + CheapTrick -> pysptk mcep order 24, c1..c24, frames within 40 dB
of the loudest, DTW) and Resemblyzer cosine similarity (vc_eval.Spk, as spk_sim.py). Medians per set.
Files (quick): vocadito (3 singers), VCTK (4 speakers x 2), LibriSpeech (10 readers x 1), VCC2016 (2 x 2),
the vocal stems of the 8 songs (mixed to mono by both vocoders), parallel phrase_000 (6 voices).
"""
import argparse
import glob
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


def files(shared, full):
    d = os.path.join(shared, "data")
    k = None if full else 2
    sets = {
        "vocadito": sorted(glob.glob(f"{d}/voices/vocadito/*/*.wav")),
        "vctk": sum((sorted(glob.glob(f"{s}/*.wav"))[:k] for s in sorted(glob.glob(f"{d}/voices/vctk/p*"))), []),
        "librispeech": sum((sorted(glob.glob(f"{s}/*.flac"))[:(None if full else 1)]
                            for s in sorted(glob.glob(f"{d}/voices/librispeech/*"))), []),
        "vcc2016": sum((sorted(glob.glob(f"{s}/*.wav"))[:k] for s in sorted(glob.glob(f"{d}/voices/vcc2016/S*"))), []),
        "song_vocals": sorted(glob.glob(f"{d}/songs/*/vocals.flac")),
        "parallel": sorted(glob.glob(f"{d}/parallel/phrase_000/*.flac")) if not full else sorted(glob.glob(f"{d}/parallel/*/*.flac")),
    }
    return sets


def pyworld_resynth(src, dst):
    import pyworld as pw
    x, fs = sf.read(src, dtype="float64", always_2d=True)
    x = np.ascontiguousarray(x.mean(1))
    t0 = time.perf_counter()
    f0, t = pw.harvest(x, fs, f0_floor=50.0, f0_ceil=1100.0, frame_period=5.0)
    sp = pw.cheaptrick(x, f0, t, fs)
    ap = pw.d4c(x, f0, t, fs)
    y = pw.synthesize(f0, sp, ap, fs, 5.0)
    dt = time.perf_counter() - t0
    sf.write(dst, y[:len(x)].astype(np.float32), fs, subtype="FLOAT")
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vox", required=True)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared"))
    ap.add_argument("--set", default="quick", choices=["quick", "all"])
    ap.add_argument("--only", help="comma-separated set names")
    ap.add_argument("--no-spk", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--work")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.shared, "eval"))
    import vc_eval
    world = vc_eval.World(24, 50.0, 1100.0, 5.0, "harvest")
    spk = None if a.no_spk else vc_eval.Spk()
    work = a.work or tempfile.mkdtemp(prefix="resynth-eval-")
    os.makedirs(work, exist_ok=True)
    result = {}
    sets = files(a.shared, a.set == "all")
    if a.only:
        sets = {k: v for k, v in sets.items() if k in a.only.split(",")}
    print(f"{'file':<46}{'MCD vox':>9}{'MCD pw':>8}{'sim vox':>9}{'sim pw':>8}{'dur ok':>7}")
    for name, paths in sets.items():
        rows = []
        for p in paths:
            stem = name + "_" + os.path.relpath(p, os.path.join(a.shared, "data")).replace("/", "_").rsplit(".", 1)[0]
            ov, op = os.path.join(work, stem + "_vox.wav"), os.path.join(work, stem + "_pw.wav")
            subprocess.run([a.vox, "resynth", p, "-o", ov, "-q"], check=True)
            pyworld_resynth(p, op)
            info_in, info_out = sf.info(p), sf.info(ov)
            r = {"file": p, "duration_exact": info_in.frames == info_out.frames}
            # MCD at the original's rate; originals are mixed to mono like the vocoders do.
            fs = info_in.samplerate
            orig = world.analyse(p, fs)
            r["mcd_vox"] = vc_eval.mcd(orig, world.analyse(ov, fs))[0]
            r["mcd_pw"] = vc_eval.mcd(orig, world.analyse(op, fs))[0]
            if spk:
                e = spk.emb(p)
                r["sim_vox"] = vc_eval.cos(e, spk.emb(ov))
                r["sim_pw"] = vc_eval.cos(e, spk.emb(op))
            rows.append(r)
            print(f"{stem[-45:]:<46}{r['mcd_vox']:9.3f}{r['mcd_pw']:8.3f}{r.get('sim_vox', float('nan')):9.4f}"
                  f"{r.get('sim_pw', float('nan')):8.4f}{str(r['duration_exact']):>7}", flush=True)
        summ = {k: float(np.median([r[k] for r in rows])) for k in ("mcd_vox", "mcd_pw", "sim_vox", "sim_pw") if k in rows[0]}
        summ["files"] = len(rows)
        summ["all_durations_exact"] = all(r["duration_exact"] for r in rows)
        result[name] = {"summary": summ, "rows": rows}
        print(f"== {name} ({len(rows)} files) medians: MCD vox {summ['mcd_vox']:.3f} dB, pyworld {summ['mcd_pw']:.3f} dB"
              + (f" | Resemblyzer vox {summ['sim_vox']:.4f}, pyworld {summ['sim_pw']:.4f}" if spk else ""), flush=True)
    allrows = [r for v in result.values() for r in v["rows"]]
    overall = {k: float(np.median([r[k] for r in allrows])) for k in ("mcd_vox", "mcd_pw", "sim_vox", "sim_pw") if k in allrows[0]}
    result["overall"] = overall
    print("== overall medians: " + ", ".join(f"{k} {v:.4f}" for k, v in overall.items()))
    if a.json:
        json.dump(result, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
