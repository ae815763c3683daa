#!/usr/bin/env bash
# Installs the system packages videval builds against (FFmpeg dev libraries, clang for bindgen,
# SQLite for the rating app, the ffmpeg CLI used by tests to make fixtures); with --tests also
# Debian's Chromium, in which tests/tests/report_browser.rs opens the HTML reports, its WebDriver
# (chromium-driver) that drives the rating page in tests/tests/rating.rs, and Slurm with munge
# for tests/tests/slurm.rs. Idempotent: does nothing when all are present.
set -euo pipefail
packages=(build-essential pkg-config clang libclang-dev libavcodec-dev libavformat-dev
  libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev libswresample-dev ffmpeg
  libfontconfig1-dev fonts-dejavu-core procps libsqlite3-dev)
if [ "${1:-}" = "--tests" ]; then
  # Chromium opens the HTML reports; a one-node Slurm runs the emitted job files
  # (tests/tests/slurm.rs, started by ci/slurm/local-cluster.sh).
  packages+=(chromium chromium-driver slurmd slurmctld slurm-client munge)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "ci/setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
