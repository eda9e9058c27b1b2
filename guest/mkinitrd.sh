#!/usr/bin/env bash
# The guest's initramfs: busybox, the init script, the crtos module, crtosctl,
# uintr-test, lab 3's daemon crtosd and the driver's test images, as one uncompressed
# newc cpio.
#   guest/mkinitrd.sh OUT BUSYBOX CRTOS_KO CRTOSCTL UINTR_TEST CRTOSD
# A lab's own images (its hypervisor, say) are appended later as a second archive by
# scripts/initrd-overlay.sh, so this one is built once for every lab.
# Uncompressed on purpose: the archive is ~3 MiB, and decompressing it would cost
# emulated instructions on every boot (much dearer under Bochs than the extra bytes
# GRUB reads).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

OUT=${1:?usage: mkinitrd.sh OUT BUSYBOX CRTOS_KO CRTOSCTL UINTR_TEST CRTOSD}
BUSYBOX=${2:?}
CRTOS_KO=${3:?}
CRTOSCTL=${4:?}
UINTR_TEST=${5:?}
CRTOSD=${6:?}

# A dynamic busybox would need a libc in the initramfs: no program interpreter allowed.
! readelf -lW "$BUSYBOX" | grep -q "Requesting program interpreter" || die "$BUSYBOX is not static (install busybox-static)"

stage "initramfs"
ROOT="$OUT.d"
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,run,lib,images,stages,guest}
cp "$BUSYBOX" "$ROOT/bin/busybox"
# Applet links made here, not with `busybox --install` at boot: no guest time spent.
for applet in $("$BUSYBOX" --list); do
  [[ "$applet" == busybox ]] || ln -s busybox "$ROOT/bin/$applet"
done
cp "$HERE/init" "$ROOT/init"
cp "$HERE/tests.sh" "$ROOT/guest/tests.sh"
cp "$HERE/stage-lib.sh" "$ROOT/guest/stage-lib.sh"
cp "$HERE"/stages/*.sh "$ROOT/stages/" 2>/dev/null || true
cp "$CRTOS_KO" "$ROOT/lib/crtos.ko"
cp "$CRTOSCTL" "$ROOT/bin/crtosctl"
cp "$UINTR_TEST" "$ROOT/bin/uintr-test"
cp "$CRTOSD" "$ROOT/bin/crtosd"
chmod 755 "$ROOT/init" "$ROOT/guest/tests.sh" "$ROOT/bin/crtosctl" "$ROOT/bin/uintr-test" "$ROOT/bin/crtosd"

# Test images for the driver's checks, one per way an image can be broken.
for c in none magic version header-size image-size entry percpu too-big checksum flags truncated; do
  "$CRTOSCTL" make-test-image --kind hv --corrupt "$c" "$ROOT/images/hv-$c.img"
done
for c in none checksum magic; do
  "$CRTOSCTL" make-test-image --kind rtos --corrupt "$c" "$ROOT/images/rtos-$c.img"
done

# The kernel opens /dev/console for init before init can mount devtmpfs, so the node
# must be in the archive. cpio can only archive nodes that exist, and making one needs
# root; so this small archive is written by hand (newc format) and the kernel unpacks
# it before the main one (concatenated archives are allowed).
newc() { # name mode rdevmajor rdevminor
  local name=$1 mode=$2 namesize=$((${#1} + 1))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    0 "$mode" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
  printf '%s\0' "$name"
  # header (110 bytes) + name, padded to a multiple of 4
  printf '%*s' $(((4 - (110 + namesize) % 4) % 4)) '' | tr ' ' '\0'
}
{
  newc dev $((0040755)) 0 0
  newc dev/console $((0020600)) 5 1
  newc 'TRAILER!!!' 0 0 0
} >"$OUT.tmp"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) >>"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
say "$OUT: $(du -k "$OUT" | cut -f1) KiB"
done_stage
