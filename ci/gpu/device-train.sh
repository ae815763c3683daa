#!/usr/bin/env bash
# On a lent GPU machine: train generator configs side by side on the one GPU, then time sampling.
#   bash ci/gpu/device-train.sh models/weights/generator/tiny-s-gpu.yaml …   (carry .dev from build-cuda.sh)
# Writes $OUT/<name>.tgz (checkpoint + loss.csv + the config as trained) and $OUT/logs.txt.
# Back here: untar into models/weights/generator/, `videval train curve DIR`, ci/update-manifest.py.
set -uo pipefail
T0=$(date +%s)
log=$OUT/logs.txt
libs=$(find / -xdev \( -name 'libcublas.so.13' -o -name 'libcurand.so.10' -o -name 'libcudart.so.13' \) 2>/dev/null \
  | xargs -r -n1 dirname | sort -u | tr '\n' ':')
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:-}
mkdir -p /tmp/b /tmp/ck
for f in .dev/bin/*.xz; do n=/tmp/b/$(basename "$f" .xz); xz -dc "$f" > "$n"; chmod +x "$n"; done
nvidia-smi -L >> "$log"
pids=()
for cfg in "$@"; do
  name=$(basename "$cfg" .yaml)
  python3 -c "import json,sys,yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], 'w'))" "$cfg" "${cfg%.yaml}.json"
  /tmp/b/train_generator "${cfg%.yaml}.json" "/tmp/ck/$name" > "/tmp/train-$name.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for cfg in "$@"; do
  name=$(basename "$cfg" .yaml)
  { echo "== $name"; cat "/tmp/train-$name.log"; } >> "$log"
  cp "$cfg" "/tmp/ck/$name/train-config.yaml" 2>/dev/null && tar czf "$OUT/$name.tgz" -C /tmp/ck "$name"
done
BENCH_VIDEOS=16 /tmp/b/sample_bench /tmp/ck/* >> "$log" 2>&1
echo "done in $(( $(date +%s) - T0 )) s" >> "$log"
tail -40 "$log"
