#!/usr/bin/env python3
"""Runs a command and prints its wall time (s) and peak resident set size (MiB) as JSON.

Started from this small interpreter and measured with os.wait4, so the figure is the command's own peak."""
import json
import os
import sys
import time

t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    # The command's own stdout goes to stderr, so that this script's JSON is the only thing on stdout.
    os.dup2(2, 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"cmd": " ".join(sys.argv[1:]), "status": os.waitstatus_to_exitcode(status),
                  "wall_s": round(time.perf_counter() - t0, 3), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
                  "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}))
