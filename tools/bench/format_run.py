#!/usr/bin/env python3
"""Prints one benchmark row: LABEL, the JSON from peak_rss.py, and the audio duration in seconds."""
import json
import sys

label, raw, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
d = json.loads(raw)
status = "" if d["status"] == 0 else f"  (exit status {d['status']})"
print(f"{label:<34}{d['wall_s']:9.2f}{seconds / d['wall_s']:11.1f}x{d['peak_rss_mib']:12.0f}{status}")
