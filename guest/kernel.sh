#!/usr/bin/env bash
# Debian's stock kernel for the guest, never installed on the host:
#   guest/kernel.sh KVER OUTDIR   (KVER e.g. 6.1.0-56-amd64)
# Downloads linux-image-KVER with `apt-get download` into the project cache (keyed by
# package version), takes vmlinuz and its config out of the .deb, and extracts the
# uncompressed vmlinux once (the compressed kernel spends ~22 s of a Bochs boot
# decompressing itself; QEMU can boot the vmlinux directly through its PVH entry).
# Also makes sure the headers of exactly that kernel are installed for the module.
# Products: OUTDIR/vmlinuz, OUTDIR/vmlinux, OUTDIR/config.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

KVER=${1:?usage: kernel.sh KVER OUTDIR}
OUT=${2:?usage: kernel.sh KVER OUTDIR}
PKG="linux-image-$KVER"

stage "kernel $KVER: headers"
if [[ -f "/usr/src/linux-headers-$KVER/Makefile" ]]; then
  say "/usr/src/linux-headers-$KVER present"
else
  say "installing linux-headers-$KVER (for the crtos module)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "linux-headers-$KVER"
fi
# The image must be the same build as the headers: same package version.
PKGVER=$(dpkg-query -W -f='${Version}' "linux-headers-$KVER")
done_stage

KCACHE="$CACHE/linux/$PKGVER-$KVER"
stage "kernel $KVER ($PKGVER): image"
if [[ -f "$KCACHE/vmlinux" ]]; then
  say "cached: $KCACHE"
else
  mkdir -p "$(dirname "$KCACHE")"; rm -rf "$KCACHE".tmp.*
  T=$(mktemp -d "$KCACHE.tmp.XXXX")
  download() { (cd "$T" && apt-get download -q "$PKG=$PKGVER" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true); }
  download
  deb=$(echo "$T"/linux-image-*.deb)
  if [[ ! -f "$deb" ]]; then
    say "not in the package lists: apt-get update, then again"  # stale or missing lists
    as_root apt-get update -q >/dev/null
    download
    deb=$(echo "$T"/linux-image-*.deb)
  fi
  [[ -f "$deb" ]] || die "apt-get download $PKG=$PKGVER failed even after apt-get update"
  say "downloaded $(basename "$deb") ($(du -m "$deb" | cut -f1) MiB)"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$T" "./boot/vmlinuz-$KVER" "./boot/config-$KVER"
  mv "$T/boot/vmlinuz-$KVER" "$T/vmlinuz"
  mv "$T/boot/config-$KVER" "$T/config"
  # As the kernel's scripts/extract-vmlinux does: find the XZ stream inside the
  # bzImage and decompress it. xz stops at the stream's end; what follows is padding,
  # hence the tolerated "trailing garbage" status.
  grep -q '^CONFIG_KERNEL_XZ=y' "$T/config" || die "this kernel is not XZ-compressed; extend kernel.sh"
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$T/vmlinuz" | head -1 | cut -d: -f1)
  [[ -n "$off" ]] || die "no XZ stream in vmlinuz"
  tail -c +"$((off + 1))" "$T/vmlinuz" | xz -dcq >"$T/vmlinux" 2>/dev/null || true
  [[ "$(head -c 4 "$T/vmlinux" | od -An -c | tr -d ' ')" == '177ELF' ]] || die "extracting vmlinux failed"
  say "vmlinux: $(du -m "$T/vmlinux" | cut -f1) MiB"
  rm -f "$deb"
  rm -rf "$T/boot"
  mv -T "$T" "$KCACHE"
fi
mkdir -p "$OUT"
for f in vmlinuz vmlinux config; do cp --preserve=timestamps "$KCACHE/$f" "$OUT/$f"; done
done_stage
