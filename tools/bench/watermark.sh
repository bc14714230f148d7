#!/usr/bin/env bash
# Watermark attack suite: every shared voice marked by `vox watermark embed`, attacked with real tools (mixing at
# -6 dB under a song's accompaniment, ffmpeg loudnorm -14 LUFS + limiter, sox resampling to 48 k and 22.05 k,
# sox 16-bit dither, ffmpeg MP3 128 kb/s and Vorbis, random 10 s crops, gain +/-10 dB, noise at 20 dB SNR), then
# `vox watermark detect`: detection and payload rates per attack, SNR and Resemblyzer similarity of the marked
# vocals, false alarms on all unmarked audio in ../shared/data and on random 10 s excerpts of it.
# No peer: AudioSeal and WavMark need model-hub weights (not available offline).
# Usage: tools/bench/watermark.sh [WORKDIR] [extra watermark_bench.py options, e.g. --excerpts 1000 --crops 5]
#   --converted vcc2016/SF1 also trains that shared voice and attacks every test vocal converted into it (rows 'conv: ...';
#   about +15 min with --mix-all); --converted-only runs just those.
#   needs the eval venv (../shared/eval/install.sh: numpy, soundfile, resemblyzer), ffmpeg and sox.
set -euo pipefail
cd "$(dirname "$0")/../.."
VOX=$PWD/.build/release/vox
[ -x "$VOX" ] || swift build -c release --product vox
WORK=${1:-$(mktemp -d)}
shift || true
mkdir -p "$WORK"
PY=${VOX_EVAL_VENV:-$HOME/.cache/vox-eval/venv}/bin/python
[ -x "$PY" ] || { echo "watermark.sh: no eval venv at $PY (run ../shared/eval/install.sh)" >&2; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); ffmpeg $(ffmpeg -version | head -1 | cut -d' ' -f3), sox $(sox --version | awk '{print $NF}')"
PYTHONWARNINGS=ignore "$PY" tools/bench/watermark_bench.py --vox "$VOX" --data "$PWD/../shared/data" --work "$WORK" "$@"
