# Sourced by the ci/gpu/device-*.sh scripts on a lent GPU machine: points the loader at the
# machine's CUDA 13 libraries and unpacks the binaries carried in .dev/bin (build-cuda.sh) into
# /tmp/b, once.
libs=$(find / -xdev \( -name 'libcublas.so.13' -o -name 'libcurand.so.10' -o -name 'libcudart.so.13' \) 2>/dev/null \
  | xargs -r -n1 dirname | sort -u | tr '\n' ':')
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:-}
mkdir -p /tmp/b
for f in .dev/bin/*.xz; do
  n=/tmp/b/$(basename "$f" .xz)
  [ -x "$n" ] || { xz -dc "$f" > "$n" && chmod +x "$n"; }
done
