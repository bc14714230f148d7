#!/usr/bin/env python3
"""Reads JSON lines (first line = Vox) with impl / stft_s / istft_s / total_s / max_abs_err; prints a ratio table."""
import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.strip()]
vox = rows[0]
print(f"{'implementation':<44}{'stft s':>8}{'istft s':>9}{'total s':>9}{'max err':>10}{'time / vox':>12}")
for r in rows:
    ratio = r["total_s"] / vox["total_s"]
    print(f"{r['impl']:<44}{r['stft_s']:8.3f}{r['istft_s']:9.3f}{r['total_s']:9.3f}{r['max_abs_err']:10.1e}{ratio:11.2f}x")
