#!/usr/bin/env bash
# Voice training and conversion speed on ONE core (taskset -c 0): `vox voice train` / `vox convert` side by side
# with the statistics-only WORLD converter ../shared/eval/example_world_vc.py (pyworld harvest + CheapTrick,
# --pitch octave) on the same files. Wall time of the whole command (process start, model load, decode,
# analysis, mapping, synthesis, write); RTF = wall / audio duration (lower is faster; 0.05 = 20x real time).
# Vox's CPU time (user + sys) is printed too: on a shared, loaded machine the wall time of a process pinned to one
# core measures the other jobs on that core as much as Vox; CPU time does not.
# Usage: tools/bench/convert.sh [WORKDIR]
#   Training: 5.2 min of LibriSpeech (speakers 1998, 2033, 2414, 2609; a timing set, not one voice).
#   Conversion: vocadito S1 (44.1 kHz singing, 33 s) and VCC2016 SM1 200001-200005 (16 kHz speech).
set -euo pipefail
cd "$(dirname "$0")/../.."
VOX=$PWD/.build/release/vox
[ -x "$VOX" ] || swift build -c release --product vox
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
SHARED=$PWD/../shared
PY=${VOX_EVAL_VENV:-$HOME/.cache/vox-eval/venv}/bin/python
export PYTHONWARNINGS=ignore
D=$SHARED/data/voices
TRAIN=("$D"/librispeech/{1998,2033,2414,2609})
TAKES=("$D"/vocadito/S1/vocadito_1.wav "$D"/vcc2016/SM1/20000[1-5].wav)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); one core used"
dur() { "$PY" -c "import soundfile as sf, sys; print(sum(sf.info(f).duration for f in sys.argv[1:]))" "$@"; }
wall() { python3 tools/bench/peak_rss.py taskset -c 0 "$@" | python3 -c "import json,sys; print(json.load(sys.stdin)['wall_s'])"; }
# "wall cpu" of one command.
wallcpu() { python3 tools/bench/peak_rss.py taskset -c 0 "$@" | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['wall_s'], j['cpu_s'])"; }
TRAIN_FILES=$(find "${TRAIN[@]}" -name '*.flac' | sort)
TRAIN_S=$(dur $TRAIN_FILES)
echo "== training on ${TRAIN_S} s"
vt=$(wall "$VOX" voice train $TRAIN_FILES -o "$WORK/bench.voxvoice" --name bench --consent "benchmark" -q)
pt=$(wall "$PY" "$SHARED/eval/example_world_vc.py" train $TRAIN_FILES -o "$WORK/bench.npz")
printf "train  vox %6.2f s (RTF %.3f)   example_world_vc %6.2f s (RTF %.3f)   ratio %.2fx\n" \
  "$vt" "$(echo "$vt / $TRAIN_S" | bc -l)" "$pt" "$(echo "$pt / $TRAIN_S" | bc -l)" "$(echo "$pt / $vt" | bc -l)"
echo "== conversion"
vs=0; vc=0; ps=0; total=0
for f in "${TAKES[@]}"; do
  d=$(dur "$f")
  read -r v c < <(wallcpu "$VOX" convert "$f" --voice "$WORK/bench.voxvoice" -o "$WORK/out.wav" --transpose auto -q)
  p=$(wall "$PY" "$SHARED/eval/example_world_vc.py" convert "$f" --voice "$WORK/bench.npz" -o "$WORK/out_peer.wav" --pitch octave)
  printf "%-28s %6.1f s   vox RTF %.3f (CPU %.3f)   example_world_vc RTF %.3f\n" "$(basename "$f")" "$d" "$(echo "$v / $d" | bc -l)" \
    "$(echo "$c / $d" | bc -l)" "$(echo "$p / $d" | bc -l)"
  vs=$(echo "$vs + $v" | bc -l); vc=$(echo "$vc + $c" | bc -l); ps=$(echo "$ps + $p" | bc -l); total=$(echo "$total + $d" | bc -l)
done
printf "all takes  %.1f s   vox RTF %.3f (%.0fx real time)   example_world_vc RTF %.3f   ratio %.2fx\n" "$total" \
  "$(echo "$vs / $total" | bc -l)" "$(echo "$total / $vs" | bc -l)" "$(echo "$ps / $total" | bc -l)" "$(echo "$ps / $vs" | bc -l)"
printf "vox CPU time %.2f s: CPU RTF %.3f (%.0fx real time on one core)\n" "$vc" "$(echo "$vc / $total" | bc -l)" "$(echo "$total / $vc" | bc -l)"
