#!/usr/bin/env bash
# Mixing speed and memory: `vox mix` of four 3-minute stereo stems against `sox -m` (and ffmpeg amix) in one run,
# each command run REPEAT times (median wall time), then vox's peak RSS on 60-minute stems.
# Usage: tools/bench/mix.sh [WORKDIR] [REPEAT]   (needs tools/setup.sh: release build, sox, ffmpeg)
set -euo pipefail
cd "$(dirname "$0")/../.."
VOX=$PWD/.build/release/vox
[ -x "$VOX" ] || swift build -c release --product vox
WORK=${1:-$(mktemp -d)}
REPEAT=${2:-3}
mkdir -p "$WORK"
SHARED=$PWD/../shared

# Four stems of 3 minutes: the development songs' stems back to back (real material, 16-bit FLAC), or noise.
for stem in vocals drums bass other; do
  f="$WORK/$stem.flac"
  [ -f "$f" ] && continue
  if ls "$SHARED"/data/songs/*/$stem.flac >/dev/null 2>&1; then
    sox $(ls "$SHARED"/data/songs/*/$stem.flac) "$f" trim 0 180
  else
    sox -n -r 44100 -c 2 -b 16 "$f" synth 180 pinknoise tremolo 2 50 gain -18
  fi
done
STEMS=("$WORK/vocals.flac" "$WORK/drums.flac" "$WORK/bass.flac" "$WORK/other.flac")

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "input: 4 stereo 44.1 kHz 16-bit FLAC stems, 180 s each; output 16-bit WAV; median of $REPEAT runs"
run() {  # key label command...: median wall and CPU time of REPEAT runs, peak RSS of the last
  local key=$1 label=$2; shift 2
  local runs=() json
  for _ in $(seq "$REPEAT"); do
    json=$(python3 tools/bench/peak_rss.py "$@")
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["status"]==0, d' "$json"
    runs+=("$json")
  done
  json=$(python3 -c '
import json, statistics, sys
runs = [json.loads(a) for a in sys.argv[1:]]
d = runs[-1]
d["wall_s"] = statistics.median(r["wall_s"] for r in runs)
d["cpu_s"] = statistics.median(r["cpu_s"] for r in runs)
print(json.dumps(d))' "${runs[@]}")
  printf "%s%9.2f\n" "$(python3 tools/bench/format_run.py "$label" "$json" 180)" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cpu_s"])' "$json")"
  echo "$json" > "$WORK/$key.json"
}
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (wall times need an otherwise idle machine; CPU times do not)"
printf "%-34s%9s%12s%12s%9s\n" "mix of 4 stems (3 min)" "wall s" "real time" "peak MiB" "CPU s"
run sox "sox -m (unity, -v 1)" sox -m -v 1 "${STEMS[0]}" -v 1 "${STEMS[1]}" -v 1 "${STEMS[2]}" -v 1 "${STEMS[3]}" -b 16 "$WORK/out-sox.wav"
run ffmpeg "ffmpeg amix (normalize=0)" ffmpeg -nostdin -loglevel error -y -i "${STEMS[0]}" -i "${STEMS[1]}" -i "${STEMS[2]}" -i "${STEMS[3]}" \
    -filter_complex amix=inputs=4:normalize=0 -c:a pcm_s16le "$WORK/out-ffmpeg.wav"
run vox_unity "vox mix --loudness off --no-measure" "$VOX" mix -q "${STEMS[@]}" --loudness off --no-measure --bits 16 -o "$WORK/out-vox.wav"
cmp -s "$WORK/out-vox.wav" "$WORK/out-sox.wav" && echo "  (vox and sox outputs are byte-identical)"
run vox_unity_m "vox mix --loudness off (measured)" "$VOX" mix -q "${STEMS[@]}" --loudness off --bits 16 -o "$WORK/out-vox.wav"
run sox_norm "sox -m --norm=-1 (peak, 2 passes)" sox --norm=-1 -m -v 1 "${STEMS[0]}" -v 1 "${STEMS[1]}" -v 1 "${STEMS[2]}" -v 1 "${STEMS[3]}" -b 16 "$WORK/out-sox.wav"
run vox_finish "vox mix (-14 LUFS, limiter)" "$VOX" mix -q "${STEMS[@]}" --bits 16 -o "$WORK/out-vox.wav"
run vox_push "vox mix --loudness -8" "$VOX" mix -q "${STEMS[@]}" --loudness -8 --bits 16 -o "$WORK/out-vox.wav"
python3 - "$WORK" <<'PYEOF'
import json, sys
w = sys.argv[1]
keys = ["sox", "ffmpeg", "vox_unity", "vox_unity_m", "sox_norm", "vox_finish", "vox_push"]
r = {k: json.load(open(f"{w}/{k}.json")) for k in keys}
def ratio(peer, vox, what):
    return r[peer][what] / r[vox][what]
for peer, vox, text in [("sox", "vox_unity", "vox mix --loudness off --no-measure vs sox -m"),
                        ("sox", "vox_unity_m", "vox mix --loudness off (measured) vs sox -m"),
                        ("ffmpeg", "vox_unity", "vox mix --loudness off vs ffmpeg amix"),
                        ("sox_norm", "vox_finish", "vox mix (-14 LUFS) vs sox -m --norm")]:
    print(f"  {text:<48} wall {ratio(peer, vox, 'wall_s'):.2f}x, CPU {ratio(peer, vox, 'cpu_s'):.2f}x  (peer / vox: above 1 = vox faster)")
PYEOF

# Memory: the same command on 60-minute stems (the 3-minute ones 20 times over) should take about the same RSS.
LONG=()
for stem in vocals drums bass other; do
  f="$WORK/$stem-60min.flac"
  [ -f "$f" ] || sox $(for i in $(seq 20); do echo "$WORK/$stem.flac"; done) "$f"
  LONG+=("$f")
done
echo
printf "%-34s%9s%12s%12s\n" "vox mix (-14 LUFS), memory" "wall s" "real time" "peak MiB"
for len in 3 60; do
  if [ $len = 3 ]; then s=("${STEMS[@]}"); else s=("${LONG[@]}"); fi
  json=$(python3 tools/bench/peak_rss.py "$VOX" mix -q "${s[@]}" --bits 16 -o "$WORK/out-vox.wav")
  python3 tools/bench/format_run.py "$len-minute stems" "$json" $((len * 60))
  echo "$json" > "$WORK/mem-$len.json"
done
rm -f "$WORK"/out-*.wav
python3 - "$WORK/mem-3.json" "$WORK/mem-60.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(f"peak RSS 60 min / 3 min = {b['peak_rss_mib'] / a['peak_rss_mib']:.2f}x")
PYEOF
