#!/usr/bin/env python3
"""grid_consistency.py --vox VOX SONG [--shift-frames 320] [-- EXTRA VOX SEPARATE OPTIONS]

Window-grid consistency of `vox separate` on a real song: the song is separated as it is and with its first
SHIFT x 1024 samples cut (default 320 frames = 5 U-Net strides), and the two vocal stems are compared over their
common part minus 10 s at each end (SNR in dB). Different window grids must agree to >= 40 dB (issue 3).
Needs sox and numpy/soundfile (the eval venv).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vox", required=True)
    ap.add_argument("song")
    ap.add_argument("--shift-frames", type=int, default=320)
    ap.add_argument("extra", nargs="*", help="more `vox separate` options, after --")
    a = ap.parse_args()
    shift = a.shift_frames * 1024
    with tempfile.TemporaryDirectory() as work:
        shifted = os.path.join(work, "shifted.flac")
        subprocess.run(["sox", a.song, shifted, "trim", f"{shift}s"], check=True)
        stems = []
        for name, path in (("whole", a.song), ("shifted", shifted)):
            out = os.path.join(work, name)
            subprocess.run([a.vox, "separate", "-q", "--flat", path, "-o", out] + a.extra, check=True)
            stems.append(sf.read(os.path.join(out, "vocals.wav"))[0])
        whole, later = stems[0][shift:], stems[1]
        n = min(len(whole), len(later))
        rate = sf.info(a.song).samplerate
        part = slice(10 * rate, n - 10 * rate)
        if part.stop <= part.start:
            sys.exit("the song is too short: needs more than 20 s after the cut")
        diff = whole[part] - later[part]
        snr = 10 * np.log10(np.sum(whole[part] ** 2) / np.sum(diff ** 2))
        print(f"window grids {a.shift_frames} frames apart agree to {snr:.1f} dB")


if __name__ == "__main__":
    main()
