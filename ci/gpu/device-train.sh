#!/usr/bin/env bash
# On a lent GPU machine: train generator configs side by side on the one GPU, then time sampling.
#   bash ci/gpu/device-train.sh CONFIG.yaml …                (carry .dev/bin from build-cuda.sh)
#   BUDGET_S=480 bash ci/gpu/device-train.sh CONFIG.yaml …   (fit the training into 480 s)
# With BUDGET_S, a pilot first trains every config side by side for 101 steps on a 2,048-clip pool
# (ci/gpu/fit-budget.py), measuring the start-up, the pool's rendering rate and the contended step time; every
# config then trains on the same number of clips (a multiple of 100 steps), the most that fits
# the budget with a 15% margin for all of them. The chosen `dit.samples` is written into the
# config as trained (train-config.yaml), so the run reproduces from it.
# Writes $OUT/<name>.tgz (checkpoint + loss.csv + the config as trained; over 15 MiB, in parts
# <name>.tgz.part00, part01, …) and $OUT/logs.txt.
# Back here: untar into models/weights/generator/, `videval train curve DIR`, ci/update-manifest.py.
set -uo pipefail
T0=$(date +%s)
log=$OUT/logs.txt
source "$(dirname "$0")/device-env.sh"
mkdir -p /tmp/ck /tmp/cfg
nvidia-smi -L >> "$log"

# Trains every /tmp/cfg/<name>.json side by side (each config's relative paths were resolved
# when fit-budget.py wrote it); $1 = what to call the run in the log, $2 = seconds allowed.
train_all() {
  local pids=() name
  for cfg in "${configs[@]}"; do
    name=$(basename "$cfg" .yaml)
    timeout "$2" /tmp/b/train_generator "/tmp/cfg/$name.json" "/tmp/$1/$name" > "/tmp/$1-$name.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for cfg in "${configs[@]}"; do
    name=$(basename "$cfg" .yaml)
    { echo "== $1 $name ($(( $(date +%s) - T0 )) s)"; cat "/tmp/$1-$name.log"; } >> "$log"
  done
}

configs=("$@")
if [ -n "${BUDGET_S:-}" ]; then
  python3 ci/gpu/fit-budget.py pilot /tmp/cfg "${configs[@]}" >> "$log" 2>&1 || exit 1
  train_all pilot 120
  left=$(( BUDGET_S - ($(date +%s) - T0) ))
  python3 ci/gpu/fit-budget.py fit /tmp/cfg "$left" /tmp "${configs[@]}" >> "$log" 2>&1 || { tail -60 "$log"; exit 1; }
else
  python3 ci/gpu/fit-budget.py as-is /tmp/cfg "${configs[@]}" >> "$log" 2>&1 || exit 1
fi
# With a budget, the training is stopped 40 s past it, leaving time for the logs and the timing.
train_all ck $(( ${BUDGET_S:-100000} + 40 - ($(date +%s) - T0) ))
for cfg in "${configs[@]}"; do
  name=$(basename "$cfg" .yaml)
  [ -f "/tmp/ck/$name/model.safetensors" ] || continue
  cp "/tmp/cfg/$name.yaml" "/tmp/ck/$name/train-config.yaml" && tar czf "$OUT/$name.tgz" -C /tmp/ck "$name"
  # Files come back at most 16 MiB each: larger archives travel in parts (cat NAME.tgz.part* back here).
  if [ "$(stat -c %s "$OUT/$name.tgz")" -gt $(( 15 << 20 )) ]; then
    split -b 15M -d "$OUT/$name.tgz" "$OUT/$name.tgz.part" && rm "$OUT/$name.tgz"
  fi
done
BENCH_VIDEOS=16 /tmp/b/sample_bench /tmp/ck/* >> "$log" 2>&1
echo "done in $(( $(date +%s) - T0 )) s" >> "$log"
tail -60 "$log"
