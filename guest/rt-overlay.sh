#!/usr/bin/env bash
# The files the rt stage (guest/stages/rt.sh) needs, as a directory for
# scripts/initrd-overlay.sh: our static rt-periodic, the histogram converter
# (cyclictest-jitter.sh), and Debian's cyclictest (rt-tests). cyclictest is dynamic:
# the shared libraries ldd names and the program loader go to the paths the loader
# looks in (no ld.so.cache in the initramfs: the default directories are searched).
# About 2.3 MiB, most of it glibc; the base initramfs is 3.7 MiB.
#   guest/rt-overlay.sh OUT_DIR RT_PERIODIC
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
OUT=${1:?usage: rt-overlay.sh OUT_DIR RT_PERIODIC} RT=${2:?}
CT=$(command -v cyclictest) || die "no cyclictest: run make setup (rt-tests)"

stage "rt-bench overlay"
rm -rf "$OUT"
mkdir -p "$OUT/bin"
cp "$RT" "$OUT/bin/rt-periodic"
cp "$CT" "$OUT/bin/cyclictest"
cp "$(dirname "$0")/cyclictest-jitter.sh" "$OUT/bin/cyclictest-jitter"
# ldd's lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and the loader
# "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no file.
for lib in $(ldd "$CT" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
  mkdir -p "$OUT$(dirname "$lib")"
  cp -L "$lib" "$OUT$lib"
done
say "$(find "$OUT" -type f | sed "s|^$OUT||" | sort | tr '\n' ' ')"
say "$(du -sk --apparent-size "$OUT" | cut -f1) KiB added to the initramfs"
done_stage
