#!/usr/bin/env bash
# Separation speed and memory: the same 3-minute song separated by Vox and by the Spleeter peers (TensorFlow and
# torch implementations, from ../shared/eval) in one run, then Vox's peak RSS on a 60-minute input.
# Usage: tools/bench/separate.sh [WORKDIR]
#   needs tools/setup.sh (release build + model); peers need ../shared/eval/install.sh (TF=1 for the TF peer).
#   Per-stage balance (which stage runs when, on which thread, for how much CPU): VOX_TRACE_SEPARATION=1 vox separate ...
set -euo pipefail
cd "$(dirname "$0")/../.."
VOX=$PWD/.build/release/vox
[ -x "$VOX" ] || swift build -c release
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
SHARED=$PWD/../shared
PY=${VOX_EVAL_VENV:-$HOME/.cache/vox-eval/venv}/bin/python

song="$WORK/song-3min.flac"
if [ ! -f "$song" ]; then
  if ls "$SHARED"/data/songs/*/mixture.flac >/dev/null 2>&1; then
    # The development songs back to back, cut to 3 minutes: real music, vocals and accompaniment.
    sox $(ls "$SHARED"/data/songs/*/mixture.flac) "$song" trim 0 180
  else
    sox -n -r 44100 -c 2 -b 16 "$song" synth 180 pinknoise synth 180 sine 220-880 tremolo 3 60 gain -9
  fi
fi
long="$WORK/song-60min.flac"
[ -f "$long" ] || sox $(for i in $(seq 20); do echo "$song"; done) "$long"
# The inputs were just written (~400 MB): flush them now so that the kernel's writeback does not overlap the first
# timed run (once measured: 5.4 s system CPU for a separation started right after writing the 60-minute file, 1.7 s
# after a sync; three later tries on a busy machine showed no difference, so it is one suspect, not the proven cause).
sync

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
run() {  # label, command...
  local label=$1; shift
  rm -rf "$WORK/out"; mkdir -p "$WORK/out"
  local json
  json=$(python3 tools/bench/peak_rss.py "$@")
  python3 tools/bench/format_run.py "$label" "$json" 180
  echo "$json" > "$WORK/$(echo "$label" | tr -c 'a-z0-9' '_').json"
}
printf "%-34s%9s%12s%12s\n" "separator (3-minute song)" "wall s" "real time" "peak MiB"
run "vox (default: full band)" "$VOX" separate -q --flat "$song" -o "$WORK/out"
run "vox --band spleeter" "$VOX" separate -q --flat --band spleeter "$song" -o "$WORK/out"
if [ -x "$PY" ]; then
  run "peer spleeter (tensorflow)" "$PY" "$SHARED/eval/peer_spleeter.py" --impl tf "$song" "$WORK/out"
  run "peer spleeter (torch)" "$PY" "$SHARED/eval/peer_spleeter.py" --impl torch "$song" "$WORK/out"
else
  echo "(peers skipped: no eval venv at $PY; run ../shared/eval/install.sh with TF=1)"
fi
python3 - "$WORK" <<'PYEOF'
import glob, json, os, sys
w = sys.argv[1]
r = {os.path.basename(p)[:-5]: json.load(open(p)) for p in glob.glob(w + "/*.json")}
vox = r.get("vox__default__full_band_")
for k, v in sorted(r.items()):
    if vox and k.startswith("peer"):
        print(f"  {k}: vox is {v['wall_s'] / vox['wall_s']:.2f}x faster")
PYEOF
echo
printf "%-34s%9s%12s%12s\n" "vox, memory" "wall s" "real time" "peak MiB"
for f in "$song" "$long"; do
  json=$(python3 tools/bench/peak_rss.py "$VOX" separate -q --flat "$f" -o "$WORK/out")
  python3 tools/bench/format_run.py "$(basename "$f")" "$json" "$(soxi -D "$f")"
  echo "$json" > "$WORK/mem-$(basename "$f").json"
done
python3 - "$WORK/mem-song-3min.flac.json" "$WORK/mem-song-60min.flac.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(f"peak RSS 60 min / 3 min = {b['peak_rss_mib'] / a['peak_rss_mib']:.2f}x")
PYEOF
