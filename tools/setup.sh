#!/usr/bin/env bash
# Installs everything Vox needs on Debian 12 (Swift 6 already installed) and builds it in release mode.
# Idempotent: packages already present are skipped; re-running only rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

# System libraries (headers + runtime) and the command-line tools the benchmarks compare against.
PACKAGES=(pkg-config libsndfile1-dev libfftw3-dev libsoxr-dev libebur128-dev libopenblas-dev zlib1g-dev libssl-dev
          sox ffmpeg python3-pip python3-numpy python3-scipy)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: system packages already installed"
fi

command -v swift >/dev/null || { echo "setup: Swift 6 is required (swift not found on PATH)" >&2; exit 1; }
swift build -c release
# The separation model (Spleeter 2stems, converted without TensorFlow).
bash tools/install_models.sh
echo "setup: done; the CLI is .build/release/vox"
