#!/usr/bin/env bash
# Every test of the workspace. Installs what it needs first (FFmpeg dev libraries, clang, the
# ffmpeg CLI, Chromium for the report tests), so it runs on a fresh Debian machine with only Rust installed.
set -euo pipefail
cd "$(dirname "$0")/.."
./ci/setup.sh --tests
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
fi
cargo test --locked --workspace "$@"
