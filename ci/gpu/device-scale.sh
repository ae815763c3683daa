#!/usr/bin/env bash
# On a lent GPU machine: the generator's sampling throughput at realistic sizes (DiT-B and DiT-L
# widths over a 256×256, 49-frame video; models/examples/scale_bench.rs), TF32 and plain f32.
#   bash ci/gpu/device-scale.sh SECONDS      (carry .dev/bin from build-cuda.sh)
# Appends to $OUT/scale.txt; stops each bench at its share of SECONDS.
set -uo pipefail
log=$OUT/scale.txt
source "$(dirname "$0")/device-env.sh"
budget=${1:-150}
nvidia-smi -L >> "$log"
echo "== TF32 (VIDEVAL_TF32=1)" >> "$log"
VIDEVAL_TF32=1 timeout $(( budget * 2 / 3 )) /tmp/b/scale_bench b l >> "$log" 2>&1
echo "== f32" >> "$log"
VIDEVAL_TF32=0 BENCH_VIDEOS=2 timeout $(( budget / 3 )) /tmp/b/scale_bench b >> "$log" 2>&1
cat "$log"
