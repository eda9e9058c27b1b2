#!/usr/bin/env bash
# Appends files to an initramfs as a second cpio archive (the kernel unpacks every
# archive in turn, later files replacing earlier ones), so a lab's build adds its own
# images to the guest's image without rebuilding it.
#   scripts/initrd-overlay.sh OUT BASE_INITRD DIR
set -euo pipefail
OUT=${1:?usage: initrd-overlay.sh OUT BASE_INITRD DIR} BASE=${2:?} DIR=${3:?}
[[ -f "$BASE" ]] || { echo "error: $BASE is missing (make guest)" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
{
  cat "$BASE"
  (cd "$DIR" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet)
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
