#!/usr/bin/env bash
# The crtos module for the guest's kernel:  guest/build-module.sh KVER OUT.ko
# Kbuild writes its objects next to the sources, so it builds a copy under
# build/guest/module and driver/ stays clean. The initramfs gets the module without
# debug info (600 KiB less to load and unpack).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
KVER=${1:?usage: build-module.sh KVER OUT.ko}
OUT=${2:?usage: build-module.sh KVER OUT.ko}
B="$(dirname "$OUT")/module"

stage "crtos module for $KVER"
rm -rf "$B"
mkdir -p "$B/include"
cp driver/module/*.c driver/module/*.h driver/module/Kbuild "$B/"
cp driver/include/crtos.h "$B/include/"
# The headers package has no vmlinux, so kbuild says it skips BTF: true, and no news.
make --no-print-directory -C "/usr/src/linux-headers-$KVER" M="$(cd "$B" && pwd)" modules 2>&1 |
  { grep -v -e '^Skipping BTF generation' || true; }
strip --strip-debug -o "$OUT" "$B/crtos.ko"
done_stage
