#!/usr/bin/env bash
# The main job on the embedded defaults: evaluate the bundled generator over the bundled `smoke`
# suite and write an HTML report (runs/demo/report.html). Installs what it needs first.
# Extra arguments go to `videval run` (e.g. --suite physics, --limit 4, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
./ci/setup.sh
cargo build --locked -p videval --bin videval
exec ./target/debug/videval run --suite smoke --out runs/demo "$@"
