#!/usr/bin/env bash
# Peak RSS of `vox convert-format` and `vox spectrogram` on a 60-minute vs a 3-minute stereo 44.1 kHz file.
# Streaming means the two should be close (target: 60 min ≤ 1.5 × 3 min).
# Usage: tools/bench/memory.sh [WORKDIR]   (needs tools/setup.sh: release build and sox; ~1.3 GB of disk in WORKDIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
VOX=.build/release/vox
[ -x "$VOX" ] || swift build -c release
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
trap '[ -z "${1:-}" ] && rm -rf "$WORK"' EXIT
for minutes in 3 60; do
  f="$WORK/song-${minutes}min.flac"
  # Pink noise with a slow tremolo: broadband, like a dense mix, and FLAC keeps it exact.
  [ -f "$f" ] || sox -n -r 44100 -c 2 -b 16 "$f" synth "$((minutes * 60))" pinknoise tremolo 0.5 40 gain -6
done
printf "%-16s %-8s %9s %12s\n" command length wall_s peak_MiB
declare -A rss
for minutes in 3 60; do
  f="$WORK/song-${minutes}min.flac"
  for cmd in convert-format spectrogram; do
    if [ "$cmd" = convert-format ]; then args=(convert-format "$f" "$WORK/out.wav" --rate 48000 --bits 24 --quiet)
    else args=(spectrogram "$f" -o "$WORK/out.png" --quiet); fi
    json=$(python3 tools/bench/peak_rss.py "$VOX" "${args[@]}")
    read -r wall mib < <(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["status"]==0, d; print(d["wall_s"], d["peak_rss_mib"])' "$json")
    rss[$cmd-$minutes]=$mib
    printf "%-16s %-8s %9s %12s\n" "$cmd" "${minutes} min" "$wall" "$mib"
  done
done
for cmd in convert-format spectrogram; do
  python3 -c "import sys; a,b=float(sys.argv[2]),float(sys.argv[3]); print(f'{sys.argv[1]}: peak RSS 60 min / 3 min = {b/a:.2f}x')" "$cmd" "${rss[$cmd-3]}" "${rss[$cmd-60]}"
done
