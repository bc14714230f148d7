#!/usr/bin/env python3
"""watermark_mixes.py --vox VOX --data SHARED_DATA --work DIR [--converted SET/SPEAKER] [--only a,b]

A fast loop for the watermark's hardest attack: every test vocal (the bench's: one per shared voice), or with
--converted its conversion into that voice, marked by `vox watermark embed` and mixed with its RMS 6 dB under each
of the 8 song accompaniments (as watermark_attacks.py mix6: sox VHQ resampling of the marked vocal to the
accompaniment's rate, float WAV), then `vox watermark detect`. The unmarked vocals (and the trained voice and
the unmarked conversions, `vox convert --no-watermark`) are cached in DIR, so a rerun after changing the embedder
or detector takes about a minute for 200 mixes on 2 cores, where watermark.sh --mix-all takes 6-15 min.
Prints detections, min / median score, the lowest mixes, the marked files' SNR. Needs the eval venv, sox.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watermark_bench as wb  # noqa: E402


def unmarked_vocals(args):
    """(name, path) of the cached unmarked vocals: the bench's test vocals or their conversions."""
    vocals = wb.test_vocals(args.data, args.work, 0)
    if not args.converted:
        return vocals
    work = os.path.join(args.work, "converted_unmarked")
    os.makedirs(work, exist_ok=True)
    model = os.path.join(work, "voice.voxvoice")
    if not os.path.exists(model):
        speaker = os.path.join(args.data, "voices", args.converted)
        train = sorted(f for f in glob.glob(speaker + "/*") if f.endswith(wb.AUDIO))[:30]
        subprocess.run([args.vox, "voice", "train", *train, "-o", model, "--name", args.converted, "-q",
                        "--consent", f"Benchmark use of the public {args.converted} recordings (watermark bench)."],
                       check=True, capture_output=True)
    out = []
    for name, path in vocals:
        conv = os.path.join(work, name + ".wav")
        if not os.path.exists(conv):
            subprocess.run([args.vox, "convert", path, "--voice", model, "--transpose", "auto", "-o", conv, "-q",
                            "--no-watermark"], check=True, capture_output=True)
        out.append((name, conv))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vox", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--converted", metavar="SET/SPEAKER", help="mix the test vocals converted into this voice")
    ap.add_argument("--only", help="comma-separated vocal names")
    ap.add_argument("--payload", type=int, default=0x12345678)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    vocals = unmarked_vocals(args)
    if args.only:
        vocals = [v for v in vocals if v[0] in args.only.split(",")]
    accs = [(p, *sf.read(p, dtype="float64", always_2d=True)) for p in wb.accompaniments(args.data, args.work)]
    mixes = os.path.join(args.work, "mixes")
    os.makedirs(mixes, exist_ok=True)

    def one(vocal):
        name, path = vocal
        marked = os.path.join(mixes, name + ".marked.wav")
        subprocess.run([args.vox, "watermark", "embed", "-q", path, "-o", marked, "--payload", str(args.payload)],
                       check=True)
        x, sr = sf.read(path, dtype="float64")
        y, _ = sf.read(marked, dtype="float64")
        snr = 10 * np.log10(np.sum(x ** 2) / np.sum((x - y) ** 2))
        at_rate = {}
        files = []
        for j, (_, a, asr) in enumerate(accs):
            if asr not in at_rate:  # the marked vocal at the accompaniment's rate, as watermark_attacks.py does it
                if asr == sr:
                    at_rate[asr] = y
                else:
                    tmp = os.path.join(mixes, f"{name}.{asr}.wav")
                    subprocess.run(["sox", marked, "-r", str(asr), "-b", "32", "-e", "floating-point", tmp, "rate",
                                    "-v"], check=True, capture_output=True)
                    at_rate[asr], _ = sf.read(tmp, dtype="float64")
                    os.remove(tmp)
            n = min(len(at_rate[asr]), len(a))
            v = np.repeat(at_rate[asr][:n, None], a.shape[1], axis=1)
            gain = np.sqrt(np.mean(a[:n] ** 2) / max(np.mean(v ** 2), 1e-20)) * 10 ** (-6 / 20)
            f = os.path.join(mixes, f"{name}__{j}.wav")
            sf.write(f, a[:n] + gain * v, asr, subtype="FLOAT")
            files.append(f)
        found = wb.detect(args.vox, files)
        for f in files:
            os.remove(f)
        return snr, [(name, os.path.basename(accs[j][0])[:-4], found[f]) for j, f in enumerate(files)]

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, vocals))
    rows = [r for _, rs in results for r in rs]
    scores = np.array([d.get("score", np.nan) for _, _, d in rows])
    detected = sum(1 for _, _, d in rows if d.get("present"))
    snrs = [s for s, _ in results]
    label = f"converted into {args.converted}" if args.converted else "recordings"
    print(f"{label}: detected {detected}/{len(rows)}, min score {np.nanmin(scores):.2f}, "
          f"median {np.nanmedian(scores):.2f}; marked SNR min {min(snrs):.2f} / median {np.median(snrs):.2f} dB")
    low = sorted(zip(scores, rows), key=lambda t: t[0])[:8]
    print("  lowest: " + ", ".join(f"{v}/{acc} {s:.2f}" for s, (v, acc, _) in low))
    json.dump([{"vocal": v, "accompaniment": acc, **d} for v, acc, d in rows],
              open(os.path.join(args.work, "watermark_mixes.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
