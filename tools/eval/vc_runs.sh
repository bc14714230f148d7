#!/usr/bin/env bash
# vc_runs.sh - the conversion figures of the README and issue 5, with ../shared/eval/vc_eval.py.
#
#   bash tools/eval/vc_runs.sh OUTDIR [SET] [-- extra vc_eval args]
#
# SET: official (VCC2016 SM1<->SF1, train 100001-100030, eval 200001-200005), splits (the two held-out splits
# of the training ids, both directions), singing (parallel us1->us2, us1->de1, train phrase_000-005, eval
# 006-007), all (default: the three before), more (other singing pairs: us1->en1, us1->fr4, us2->us1,
# de1->sw2). Two runs at a time (one per core). Writes OUTDIR/NAME.json, OUTDIR/NAME.log and OUTDIR/NAME/
# (vc_eval's work folder: model, converted/ID.wav) per run; `python3 tools/eval/vc_table.py OUTDIR` prints the
# table. Needs the eval venv (bash ../shared/eval/install.sh; VOX_EVAL_VENV overrides its place) and a release build
# (swift build -c release; VOX=path uses another). Extra args go to every vc_eval call (e.g. --no-spk for a quick
# run without Resemblyzer).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:?usage: vc_runs.sh OUTDIR [official|splits|singing|all|more] [-- vc_eval args]}; shift
SET=${1:-all}; [ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
PY=${VOX_EVAL_VENV:-$HOME/.cache/vox-eval/venv}/bin/python
D=../shared/data
[ -x "$PY" ] || { echo "vc_runs: no eval venv at $PY (bash ../shared/eval/install.sh)" >&2; exit 1; }
[ -d "$D" ] || { echo "vc_runs: ../shared/data is absent" >&2; exit 1; }
VOX=${VOX:-$(pwd)/.build/release/vox}  # VOX=path compares another build
[ -x "$VOX" ] || { echo "vc_runs: no $VOX (swift build -c release)" >&2; exit 1; }
mkdir -p "$OUT"

# run NAME SOURCE TARGET TARGET_NAME TRAIN EVAL
run() {
  local name=$1 src=$2 tgt=$3 tname=$4 train=$5 evals=$6
  "$PY" ../shared/eval/vc_eval.py --source "$src" --target "$tgt" --train-ids "$train" --eval-ids "$evals" \
    --train-cmd "$VOX voice train {files} -o {model} --name $tname --consent 'VCC2016 evaluation' -q" \
    --convert-cmd "$VOX convert {in} --voice {model} -o {out} --transpose auto -q" \
    --label "$name" --work "$OUT/$name" --json "$OUT/$name.json" "${EXTRA[@]}" > "$OUT/$name.log" 2>&1 \
    || { echo "vc_runs: $name failed, see $OUT/$name.log" >&2; return 1; }
}
V=$D/voices/vcc2016; P="$D/parallel/{id}"
S1="100001-100025 100026-100030"; S2="100006-100030 100001-100005"
if [ "$SET" = official ] || [ "$SET" = all ]; then
  run official_SM1-SF1 $V/SM1 $V/SF1 SF1 100001-100030 200001-200005 &
  run official_SF1-SM1 $V/SF1 $V/SM1 SM1 100001-100030 200001-200005; wait
fi
if [ "$SET" = splits ] || [ "$SET" = all ]; then
  for s in 1 2; do
    ids=S$s; read -r tr ev <<< "${!ids}"
    run split${s}_SM1-SF1 $V/SM1 $V/SF1 SF1 "$tr" "$ev" &
    run split${s}_SF1-SM1 $V/SF1 $V/SM1 SM1 "$tr" "$ev"; wait
  done
fi
if [ "$SET" = singing ] || [ "$SET" = all ]; then
  run singing_us1-us2 "$P/us1.flac" "$P/us2.flac" us2 phrase_000-phrase_005 phrase_006,phrase_007 &
  run singing_us1-de1 "$P/us1.flac" "$P/de1.flac" de1 phrase_000-phrase_005 phrase_006,phrase_007; wait
fi
if [ "$SET" = more ]; then   # other singing pairs, not in the issue's set: a check that the method generalises
  run singing_us1-en1 "$P/us1.flac" "$P/en1.flac" en1 phrase_000-phrase_005 phrase_006,phrase_007 &
  run singing_us1-fr4 "$P/us1.flac" "$P/fr4.flac" fr4 phrase_000-phrase_005 phrase_006,phrase_007; wait
  run singing_us2-us1 "$P/us2.flac" "$P/us1.flac" us1 phrase_000-phrase_005 phrase_006,phrase_007 &
  run singing_de1-sw2 "$P/de1.flac" "$P/sw2.flac" sw2 phrase_000-phrase_005 phrase_006,phrase_007; wait
fi
echo "vc_runs: done; python3 tools/eval/vc_table.py $OUT"
