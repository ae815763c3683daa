#!/usr/bin/env bash
# Every test of the workspace. Installs what it needs first (FFmpeg dev libraries, clang, the
# ffmpeg CLI, Chromium for the report tests), so it runs on a fresh Debian machine with only Rust installed.
set -euo pipefail
cd "$(dirname "$0")/.."
./ci/setup.sh --tests
# A one-node Slurm for tests/tests/slurm.rs; where it cannot start (not root, no daemons allowed),
# that test says so and skips.
if [ "$(id -u)" -eq 0 ]; then
  ./ci/slurm/local-cluster.sh || echo "ci/test.sh: no local Slurm cluster; tests/tests/slurm.rs will skip" >&2
fi
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
fi
cargo test --locked --workspace "$@"
