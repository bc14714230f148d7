#!/usr/bin/env bash
# STFT + iSTFT round trip of a 3-minute stereo 44.1 kHz signal at 4096/1024: Vox vs numpy and scipy, one run.
# Usage: tools/bench/stft.sh [--seconds S] [--repeat K]   (needs tools/setup.sh: release build, numpy, scipy)
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product vox-bench >/dev/null
ARGS=(--seconds 180 --channels 2 --rate 44100 --nfft 4096 --hop 1024 --repeat 3 "$@")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "signal: ${ARGS[*]}"
{ .build/release/vox-bench stft "${ARGS[@]}"; python3 tools/bench/stft_peers.py "${ARGS[@]}"; } | python3 tools/bench/ratio_table.py
