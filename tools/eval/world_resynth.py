#!/usr/bin/env python3
"""Plain WORLD analysis and resynthesis (pyworld Harvest 50-1100 Hz + CheapTrick + D4C + synthesis, 5 ms), as a
vc_eval convert command: the reference for what a vocoder without conversion scores on vc_eval's voicing agreement
and F0 error (Harvest reads its own resynthesis with errors too).

usage: world_resynth.py IN OUT
  $PY ../shared/eval/vc_eval.py --source … --target … --train-ids … --eval-ids … --no-spk \\
      --train-cmd 'touch {model}' --convert-cmd "$PY tools/eval/world_resynth.py {in} {out}"
"""
import sys

import numpy as np
import pyworld as pw
import soundfile as sf

x, fs = sf.read(sys.argv[1], dtype="float64", always_2d=True)
x = np.ascontiguousarray(x.mean(1))
f0, t = pw.harvest(x, fs, f0_floor=50, f0_ceil=1100, frame_period=5.0)
y = pw.synthesize(f0, pw.cheaptrick(x, f0, t, fs), pw.d4c(x, f0, t, fs), fs, 5.0)
sf.write(sys.argv[2] + ".tmp.wav", y, fs, subtype="PCM_16")
import os
os.replace(sys.argv[2] + ".tmp.wav", sys.argv[2])
