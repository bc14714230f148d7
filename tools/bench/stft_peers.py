#!/usr/bin/env python3
"""STFT -> ISTFT round trip of deterministic noise with numpy (pocketfft) and scipy.signal.stft/istft.

Same framing as Vox: periodic Hann, centred frames, weighted overlap-add divided by the window-power envelope.
Prints one JSON object per implementation (best of --repeat)."""
import argparse, json, time
import numpy as np
import scipy.signal

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=float, default=180); ap.add_argument("--channels", type=int, default=2)
ap.add_argument("--rate", type=int, default=44100); ap.add_argument("--nfft", type=int, default=4096)
ap.add_argument("--hop", type=int, default=1024); ap.add_argument("--repeat", type=int, default=3)
a = ap.parse_args()
n = int(a.seconds * a.rate)
x = (0.1 * np.random.default_rng(0).standard_normal((a.channels, n))).astype(np.float32)
w = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(a.nfft) / a.nfft)).astype(np.float32)


def np_stft(x):
    xp = np.pad(x, ((0, 0), (a.nfft // 2, a.nfft // 2)))
    frames = np.lib.stride_tricks.sliding_window_view(xp, a.nfft, axis=-1)[:, ::a.hop]
    return np.fft.rfft(frames * w, axis=-1)


def np_istft(X):
    fr = np.fft.irfft(X, n=a.nfft, axis=-1) * w
    ch, T, _ = fr.shape
    L = (T - 1) * a.hop + a.nfft
    y = np.zeros((ch, L + a.nfft), dtype=fr.dtype)
    env = np.zeros(L + a.nfft, dtype=fr.dtype)
    w2 = np.broadcast_to(w * w, (T, a.nfft))
    for k in range(a.nfft // a.hop):
        y[:, k * a.hop:k * a.hop + T * a.hop] += fr[:, :, k * a.hop:(k + 1) * a.hop].reshape(ch, -1)
        env[k * a.hop:k * a.hop + T * a.hop] += w2[:, k * a.hop:(k + 1) * a.hop].reshape(-1)
    y = y[:, a.nfft // 2:a.nfft // 2 + n]
    return y / np.maximum(env[a.nfft // 2:a.nfft // 2 + n], 1e-10)


def sp_stft(x):
    return scipy.signal.stft(x, nperseg=a.nfft, noverlap=a.nfft - a.hop, window=w, boundary="zeros", padded=True)[2]


def sp_istft(Z):
    return scipy.signal.istft(Z, nperseg=a.nfft, noverlap=a.nfft - a.hop, window=w, boundary=True)[1][:, :n]


for name, fwd, inv in [("numpy.fft.rfft framing", np_stft, np_istft), ("scipy.signal.stft/istft", sp_stft, sp_istft)]:
    best_f = best_i = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter(); X = fwd(x); t1 = time.perf_counter(); y = inv(X); t2 = time.perf_counter()
        best_f, best_i = min(best_f, t1 - t0), min(best_i, t2 - t1)
    err = float(np.max(np.abs(y - x)))
    print(json.dumps({"impl": name, "stft_s": best_f, "istft_s": best_i, "total_s": best_f + best_i,
                      "rtf": (best_f + best_i) / a.seconds, "max_abs_err": err}))
