#!/usr/bin/env bash
# The mutation fuzzers of tests/tests/fuzz.rs at 100 times CI's iterations, in release.
# Inputs that panic are saved under target/fuzz-crashes/ and named in the failure; each becomes
# a regression test. Usage: ci/fuzz-nightly.sh [SCALE]
set -euo pipefail
cd "$(dirname "$0")/.."
VIDEVAL_FUZZ_SCALE="${1:-100}" cargo test --release --locked -p videval-tests --test fuzz -- --test-threads 2
