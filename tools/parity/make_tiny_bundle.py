#!/usr/bin/env python3
"""Writes a tiny TensorFlow checkpoint (tensor bundle) for the TensorBundle reader's test.

Run in the TensorFlow venv of ../shared/eval:
  ~/.cache/vox-eval/venv-tf/bin/python tools/parity/make_tiny_bundle.py Tests/VoxSeparationTests/Fixtures/tiny_bundle
Variables: dense/kernel float32 [2, 3] = 0.5 * arange(6) - 1, dense/bias float32 [3] = [1, 2, 3],
scale float32 [] = 2.5, count int64 [] = 7 (skipped by readers of float tensors)."""
import os, sys
import numpy as np
import tensorflow as tf

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
v = {
    "dense/kernel": tf.Variable((0.5 * np.arange(6) - 1).reshape(2, 3).astype(np.float32)),
    "dense/bias": tf.Variable(np.array([1, 2, 3], np.float32)),
    "scale": tf.Variable(np.float32(2.5)),
    "count": tf.Variable(np.int64(7)),
}
# tf.compat.v1.train.Saver keeps the variable names as keys, as in Spleeter's checkpoint.
saver = tf.compat.v1.train.Saver(var_list=v)
saver.save(sess=None, save_path=os.path.join(out, "model"), write_meta_graph=False, write_state=False)
print(sorted(os.listdir(out)))
