#!/usr/bin/env bash
# Vocoder speed: analysis + synthesis of the same files by Vox (`vox resynth`: F0 + CheapTrick + D4C + synthesis)
# and by pyworld (harvest + cheaptrick + d4c + synthesize, ../shared/eval/peer_timing.py) in one run.
# Usage: tools/bench/vocoder.sh [WORKDIR]        (VOCODER_LONG=1: also the peak RSS of `vox resynth` on the song
#   vocal stem looped to 3 and to 60 minutes: streaming keeps them close; target 60 min ≤ 1.5 × 3 min; ~10 min)
#   Files: the three vocadito singers (44.1 kHz), four VCTK utterances (16 kHz), two song vocal stems (44.1 kHz).
#   Compute time on both sides excludes process start and file I/O (pyworld: timed around the four calls;
#   Vox: the analysis and synthesis times `vox resynth --json` reports). Vox's whole-command wall time (start,
#   decode, analysis, synthesis, write) is shown too.
set -euo pipefail
cd "$(dirname "$0")/../.."
VOX=$PWD/.build/release/vox
[ -x "$VOX" ] || swift build -c release --product vox
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
SHARED=$PWD/../shared
PY=${VOX_EVAL_VENV:-$HOME/.cache/vox-eval/venv}/bin/python
D=$SHARED/data
FILES=("$D"/voices/vocadito/*/*.wav "$D"/voices/vctk/p22[5-8]/*_003.wav "$D"/songs/real_201_vocadito_S1/vocals.flac
       "$D"/songs/mbrola_102_us2/vocals.flac)
for f in "${FILES[@]}"; do [ -f "$f" ] || { echo "missing $f (shared data)"; exit 1; }; done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

echo "== pyworld (peer)"
"$PY" "$SHARED/eval/peer_timing.py" world "${FILES[@]}" --json "$WORK/pyworld.json"

echo "== vox"
rm -f "$WORK/vox.jsonl"
for f in "${FILES[@]}"; do
  wall=$(python3 tools/bench/peak_rss.py "$VOX" resynth -q "$f" -o "$WORK/out.wav")
  "$VOX" resynth -q --json "$f" -o "$WORK/out.wav" > "$WORK/one.json"
  python3 - "$WORK/one.json" "$wall" "$f" >> "$WORK/vox.jsonl" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1])); w = json.loads(sys.argv[2])
print(json.dumps({"file": sys.argv[3], "seconds": r["inputSeconds"], "analysis_s": r["analysisSeconds"],
                  "synthesis_s": r["synthesisSeconds"], "wall_s": w["wall_s"], "peak_rss_mib": w["peak_rss_mib"]}))
PYEOF
done
python3 - "$WORK/pyworld.json" "$WORK/vox.jsonl" <<'PYEOF'
import json, os, sys
pw = {r["file"]: r for r in json.load(open(sys.argv[1]))["world"]}
vx = [json.loads(l) for l in open(sys.argv[2])]
print(f"{'file':<40}{'dur s':>7}{'pyworld s':>11}{'vox s':>8}{'vox wall':>10}{'speed-up':>10}")
tp = tv = tw = dur = 0.0
for v in vx:
    p = pw[v["file"]]
    c = v["analysis_s"] + v["synthesis_s"]
    tp += p["total_s"]; tv += c; tw += v["wall_s"]; dur += v["seconds"]
    name = os.path.join(os.path.basename(os.path.dirname(v["file"])), os.path.basename(v["file"]))
    print(f"{name[-39:]:<40}{v['seconds']:7.2f}{p['total_s']:11.3f}{c:8.3f}{v['wall_s']:10.3f}{p['total_s'] / c:9.1f}x")
print(f"all: {dur:.1f} s of audio; pyworld {tp:.2f} s (RTF {tp / dur:.3f}), vox {tv:.2f} s (RTF {tv / dur:.4f}), "
      f"vox wall incl. start/I/O {tw:.2f} s")
print(f"vox is {tp / tv:.1f}x faster than pyworld (compute), {tp / tw:.1f}x counting its whole command")
print(f"vox peak RSS: {max(v['peak_rss_mib'] for v in vx):.0f} MiB (largest of the nine commands)")
PYEOF
if [ "${VOCODER_LONG:-0}" = 1 ]; then
  echo "== vox resynth memory on long input (the vocadito S1 stem looped)"
  for minutes in 3 60; do
    f="$WORK/vocals-${minutes}min.flac"
    [ -f "$f" ] || sox "$D/songs/real_201_vocadito_S1/vocals.flac" "$f" repeat $((minutes * 60 * 100 / 2354))
    python3 tools/bench/peak_rss.py "$VOX" resynth -q "$f" -o "$WORK/long.wav" | tee "$WORK/long-$minutes.json"
  done
  python3 -c 'import json,sys; a,b=(json.load(open(p))["peak_rss_mib"] for p in sys.argv[1:]); print(f"peak RSS 60 min / 3 min = {b/a:.2f}x")' \
    "$WORK/long-3.json" "$WORK/long-60.json"
  rm -f "$WORK/long.wav"
fi
