#!/usr/bin/env python3
"""watermark_attacks.py MARKED.wav OUTDIR [--accompaniment ACC] [--seed N] [--crops K]

Writes attacked copies of MARKED into OUTDIR, one file per attack, with real tools where there are some:
  mix6        mixed under ACC (a song's accompaniment), the vocal's RMS 6 dB under the accompaniment's (float WAV)
  lufs14      ffmpeg loudnorm to -14 LUFS, true-peak limiter at -1 dBTP (two-pass, linear where it can)
  rs48k       sox rate -v 48000;  rs22k: sox rate -v 22050
  dither16    sox -b 16 (TPDF dither) from a float copy
  mp3         ffmpeg libmp3lame 128 kb/s CBR, decoded by libsndfile in Vox
  ogg         ffmpeg libvorbis -q:a 4 (~128 kb/s)
  crop10_i    random 10 s excerpts (K of them)
  gain+10, gain-10   +/-10 dB in float (no clipping: the next tool in a chain would limit)
  noise20     white noise at 20 dB SNR (signal power over the whole file)
numpy + soundfile for the sample-exact attacks; prints one line per file written.
"""
import argparse
import os
import subprocess

import numpy as np
import soundfile as sf


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("marked")
    ap.add_argument("outdir")
    ap.add_argument("--accompaniment")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crops", type=int, default=3)
    ap.add_argument("--only", help="comma-separated attack names")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.outdir, exist_ok=True)
    x, sr = sf.read(args.marked, dtype="float64", always_2d=True)
    out = lambda name, ext="wav": os.path.join(args.outdir, f"{name}.{ext}")
    only = set(args.only.split(",")) if args.only else None
    want = lambda name: only is None or name in only
    written = []

    def save(name, y, rate=sr, subtype="FLOAT"):
        sf.write(out(name), y, rate, subtype=subtype)
        written.append(out(name))

    if args.accompaniment and want("mix6"):
        a, asr = sf.read(args.accompaniment, dtype="float64", always_2d=True)
        v = x
        if asr != sr:  # bring the vocal to the accompaniment's rate with sox (VHQ)
            tmp = out("_vocal_rs")
            sf.write(tmp, x, sr, subtype="FLOAT")
            run(["sox", tmp, "-r", str(asr), out("_vocal_rs2"), "rate", "-v"])
            v, _ = sf.read(out("_vocal_rs2"), dtype="float64", always_2d=True)
            os.remove(tmp); os.remove(out("_vocal_rs2"))
        n = min(len(v), len(a))
        if v.shape[1] != a.shape[1]:
            v = np.repeat(v[:, :1], a.shape[1], axis=1)
        # The vocal's level is set 6 dB under the accompaniment's (RMS over the mixed span), whatever its recording
        # level: the shared songs' vocals sit at about 0 dB, so this is a quiet vocal.
        v, a = v[:n], a[:n]
        gain = np.sqrt(np.mean(a ** 2) / max(np.mean(v ** 2), 1e-20)) * 10 ** (-6 / 20)
        save("mix6", a + gain * v, asr)
    if want("lufs14"):
        run(["ffmpeg", "-y", "-v", "error", "-i", args.marked, "-af", "loudnorm=I=-14:TP=-1:LRA=11",
             "-ar", str(sr), "-c:a", "pcm_f32le", out("lufs14")])
        written.append(out("lufs14"))
    for name, rate in (("rs48k", 48000), ("rs22k", 22050)):
        if want(name):
            run(["sox", args.marked, "-r", str(rate), "-b", "32", "-e", "floating-point", out(name), "rate", "-v"])
            written.append(out(name))
    if want("dither16"):
        run(["sox", args.marked, "-b", "16", out("dither16"), "dither"])
        written.append(out("dither16"))
    if want("mp3"):
        run(["ffmpeg", "-y", "-v", "error", "-i", args.marked, "-c:a", "libmp3lame", "-b:a", "128k", out("mp3", "mp3")])
        written.append(out("mp3", "mp3"))
    if want("ogg"):
        run(["ffmpeg", "-y", "-v", "error", "-i", args.marked, "-c:a", "libvorbis", "-q:a", "4", out("ogg", "ogg")])
        written.append(out("ogg", "ogg"))
    if want("crop10"):
        n10 = int(10 * sr)
        for i in range(args.crops):
            start = int(rng.integers(0, max(1, len(x) - n10)))
            save(f"crop10_{i}", x[start:start + n10])
    if want("gain+10"):
        save("gain+10", x * 10 ** (10 / 20))
    if want("gain-10"):
        save("gain-10", x * 10 ** (-10 / 20))
    if want("noise20"):
        p = np.mean(x ** 2)
        save("noise20", x + rng.standard_normal(x.shape) * np.sqrt(p / 100))
    for w in written:
        print(w)


if __name__ == "__main__":
    main()
