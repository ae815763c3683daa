#!/usr/bin/env bash
# On a lent GPU machine: the generator's sampling throughput at realistic sizes (DiT-B and DiT-L
# widths over a 256×256, 49-frame video; models/examples/scale_bench.rs), TF32 and plain f32.
#   bash ci/gpu/device-scale.sh SECONDS      (carry .dev/bin from build-cuda.sh)
# Each size runs in its own process (one failing leaves the others' rows) and is stopped at its
# share of SECONDS: DiT-B TF32 30%, DiT-L TF32 45%, DiT-B f32 25%. Appends to $OUT/scale.txt.
set -uo pipefail
log=$OUT/scale.txt
source "$(dirname "$0")/device-env.sh"
budget=${1:-300}
nvidia-smi -L >> "$log"
run() {  # share% TF32 videos size
  echo "== $4, VIDEVAL_TF32=$2, $3 videos" >> "$log"
  VIDEVAL_TF32=$2 BENCH_VIDEOS=$3 timeout $(( budget * $1 / 100 )) /tmp/b/scale_bench "$4" >> "$log" 2>&1 \
    || echo "exit $? (124: stopped at its share of the budget)" >> "$log"
}
run 30 1 3 b
run 45 1 3 l
run 25 0 2 b
cat "$log"
