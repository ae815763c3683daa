#!/usr/bin/env bash
# videval beside PyAV, scipy and numpy on the same inputs, in one run (see side_by_side.py).
# Needs python3 with av, numpy and scipy (pip install av numpy scipy; not part of the tests).
# The videval binary is the release build (what `cargo install` gives); the Fréchet timings come
# from a release build of the metrics crate's example.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked --release -p videval --bin videval
cargo build --locked --release -p videval-metrics --example frechet_timing
exec python3 ci/bench/side_by_side.py --videval target/release/videval \
  --frechet target/release/examples/frechet_timing "$@"
