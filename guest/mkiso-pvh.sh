#!/usr/bin/env bash
# A GRUB ISO that boots the extracted vmlinux through the PVH loader (Bochs fast path):
#   guest/mkiso-pvh.sh OUT.iso PVH_LOADER VMLINUX INITRD "KERNEL CMDLINE"
# GRUB loads the loader as a multiboot kernel with vmlinux and the initramfs as its
# modules (see pvh-loader/loader.c). Each word of the command line is single-quoted for
# GRUB's parser, which would otherwise expand the `$` in memmap=52M$0x10000000.
set -euo pipefail
OUT=${1:?} LOADER=${2:?} VMLINUX=${3:?} INITRD=${4:?} CMDLINE=${5:-}
ROOT="$OUT.d"
rm -rf "$ROOT"
mkdir -p "$ROOT/boot/grub"
cp "$LOADER" "$ROOT/boot/pvh-loader"
# Hard links when possible: the vmlinux is 63 MiB and the ISO is made for every run.
ln -f "$VMLINUX" "$ROOT/boot/vmlinux" 2>/dev/null || cp "$VMLINUX" "$ROOT/boot/vmlinux"
ln -f "$INITRD" "$ROOT/boot/initrd.img" 2>/dev/null || cp "$INITRD" "$ROOT/boot/initrd.img"
args=""
for w in $CMDLINE; do args+=" '${w//\'/\'\\\'\'}'"; done
cat >"$ROOT/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "crtos-lab (PVH)" {
multiboot /boot/pvh-loader$args
module /boot/vmlinux
module /boot/initrd.img
boot
}
CFG
grub-mkrescue -o "$OUT.tmp" "$ROOT" 2>"$OUT.log" || { cat "$OUT.log" >&2; exit 1; }
mv "$OUT.tmp" "$OUT"
rm -rf "$ROOT"
