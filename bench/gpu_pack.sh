#!/usr/bin/env bash
# Gathers what bench/gpu_check.sh needs beside the build on a GPU machine that is not this
# one (same x86-64, its own distribution): the shared libraries the binaries link (used
# there only when a binary lacks one) and Debian's hashcat, the anchor, laid out as Debian
# installs it. Run here after setup.sh; writes .devlibs/ (ignore it in git: it is carried
# beside the working tree, not committed).
set -eu
dest=${1:-.devlibs}
rm -rf "$dest"
mkdir -p "$dest/lib" "$dest/hashcat/bin" "$dest/hashcat/lib/modules" "$dest/hashcat/share" "$dest/icd"
for bin in build/apps/hashforge build/tests/hf_tests build/bench/hf_microbench; do
  [ -x "$bin" ] || continue
  ldd "$bin" | awk '$3 ~ /^\// {print $3}' | grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$dest/lib/"; done
done
if command -v hashcat >/dev/null; then
  cp "$(command -v hashcat)" "$dest/hashcat/bin/"
  ldd "$(command -v hashcat)" | awk '$3 ~ /^\// {print $3}' | grep -E 'minizip|xxhash' |
    while read -r lib; do cp -L "$lib" "$dest/lib/"; done
  # Module 0 is loaded at every start; 1400 (SHA2-256) and 100 (SHA1) are the anchors.
  for m in 00000 00100 01400; do cp /usr/lib/hashcat/modules/module_$m.so "$dest/hashcat/lib/modules/"; done
  # hashcat checks for kernel sources it will not use, so all of them go.
  cp -r /usr/share/hashcat/OpenCL /usr/share/hashcat/tunings /usr/share/hashcat/hashcat.hcstat2 "$dest/hashcat/share/"
fi
echo libnvidia-opencl.so.1 >"$dest/icd/nvidia.icd"
du -sh "$dest"
