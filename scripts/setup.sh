#!/usr/bin/env bash
# One-command set-up: Debian packages, Bochs 3.0 (VMX+EPT, UINTR, SMP) built from
# Debian trixie's source package, and mdbook. Idempotent: every product lives in the
# project cache under a key (version + flags) and is published by an atomic rename,
# so an interrupted run leaves only *.tmp* directories, which the next run deletes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

T0=$(date +%s)
# One set-up at a time per cache (a second one waits), so neither deletes the other's work.
exec 9>"$CACHE/setup.lock"
flock 9

# ---------------------------------------------------------------- 1. packages
stage "Debian packages"
PKGS=(
  build-essential      # Bochs is C++; the driver module is C
  qemu-system-x86      # fast emulator for everything that needs no VMX/UINTR
  grub-pc-bin grub-common xorriso mtools   # grub-mkrescue: bootable ISOs for Bochs
  bochsbios vgabios seabios                # BIOS images (the dfsg Bochs tarball has none)
  busybox-static cpio xz-utils zstd kmod   # the Linux guest's initramfs
  linux-headers-amd64                      # for the out-of-tree driver module
  musl-tools           # musl-gcc: the RTOS's user programs are static Linux executables
  rt-tests             # cyclictest: the Linux-side cross-check of rt-periodic (rt-bench)
  gnuplot-nox          # plots of the jitter histograms for the book
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "all ${#PKGS[@]} present"
fi
done_stage

# ---------------------------------------------------------------- 2. Bochs source
BOCHS_VER=3.0
BOCHS_ORIG="bochs_${BOCHS_VER}+dfsg.orig.tar.xz"
# ANCHOR: bochs_flags
# Flags (the book's set-up chapter explains them). No --enable-amx: Linux's AMX set-up needs XFD,
# which Bochs lacks, and faults ("Attempted to kill the idle task"). --disable-show-ips:
# the once-a-second IPS report runs in a SIGALRM handler that takes Bochs's log lock,
# and deadlocks when the signal lands while that lock is held (a frozen guest, about
# one boot in 17; see the book's troubleshooting page).
BOCHS_FLAGS="--with-nogui --enable-x86-64 --enable-smp --enable-vmx=2 --enable-uintr \
--enable-cpu-level=6 --enable-all-optimizations --enable-avx --enable-evex --enable-cet \
--enable-pci --disable-plugins --disable-debugger --disable-docbook --disable-show-ips"
# ANCHOR_END: bochs_flags
BOCHS_KEY="bochs-${BOCHS_VER}-$(printf '%s' "$BOCHS_FLAGS" | sha256sum | cut -c1-10)"
BOCHS_DIR="$CACHE/$BOCHS_KEY"

stage "Bochs ${BOCHS_VER} source (Debian trixie)"
rm -rf "$CACHE"/*.tmp.* 2>/dev/null || true
if [[ -x "$BOCHS_DIR/bin/bochs" ]]; then
  say "already built: $BOCHS_DIR"
elif [[ -f "$CACHE/src/$BOCHS_ORIG.ok" ]]; then
  say "verified tarball in cache"
else
  # A private apt configuration in the cache: the system's sources are never touched.
  A="$CACHE/apt-trixie"
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$CACHE/src"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-trixie-stable.gpg] http://deb.debian.org/debian trixie main" >"$A/sources.list"
  APT_OPTS=(-o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
            -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "APT::Sandbox::User=root")
  apt-get -q "${APT_OPTS[@]}" update
  want=$(apt-cache "${APT_OPTS[@]}" showsrc bochs | awk -v f="$BOCHS_ORIG" '/^Checksums-Sha256:/{c=1;next} /^[^ ]/{c=0} c && $3==f {print $1; exit}')
  [[ -n "$want" ]] || die "trixie's Sources index has no $BOCHS_ORIG (has bochs moved on?)"
  # The .dsc answers 404 on the mirror, so apt-get source exits non-zero even though the
  # tarballs arrive: we check the one we need against the signed Sources index ourselves.
  (cd "$CACHE/src" && apt-get -q "${APT_OPTS[@]}" source --download-only bochs >/dev/null 2>&1 || true)
  [[ -f "$CACHE/src/$BOCHS_ORIG" ]] || die "download of $BOCHS_ORIG failed"
  got=$(sha256sum "$CACHE/src/$BOCHS_ORIG" | cut -d' ' -f1)
  [[ "$got" == "$want" ]] || { rm -f "$CACHE/src/$BOCHS_ORIG"; die "sha256 mismatch for $BOCHS_ORIG: $got != $want"; }
  echo "$want" >"$CACHE/src/$BOCHS_ORIG.ok"
  say "sha256 ok ($want)"
fi
done_stage

# ---------------------------------------------------------------- 3. Bochs build
stage "Bochs ${BOCHS_VER} build ($BOCHS_KEY)"
if [[ -x "$BOCHS_DIR/bin/bochs" ]]; then
  say "cached"
else
  B=$(mktemp -d "$CACHE/$BOCHS_KEY.tmp.XXXX")
  tar -xf "$CACHE/src/$BOCHS_ORIG" -C "$B"
  src=$(echo "$B"/bochs-*)
  say "configure (log: $B/build.log)"
  # shellcheck disable=SC2086
  (cd "$src" && ./configure --prefix="$BOCHS_DIR" $BOCHS_FLAGS) >"$B/build.log" 2>&1 || { tail -20 "$B/build.log"; die "configure failed"; }
  say "make -j$(nproc)"
  (cd "$src" && make -j"$(nproc)") >>"$B/build.log" 2>&1 || { tail -30 "$B/build.log"; die "make failed"; }
  mkdir -p "$B/out/bin"
  cp "$src/bochs" "$B/out/bin/bochs"
  printf '%s\n' "$BOCHS_FLAGS" >"$B/out/configure-flags"
  mv -T "$B/out" "$BOCHS_DIR"   # atomic publish: a half-built tree is never at $BOCHS_DIR
  rm -rf "$B"
fi
ln -sfn "$BOCHS_KEY" "$CACHE/bochs.tmp.link" && mv -T "$CACHE/bochs.tmp.link" "$CACHE/bochs"
say "$CACHE/bochs/bin/bochs"
done_stage

# ---------------------------------------------------------------- 4. mdbook
MDBOOK_VER=0.5.4
stage "mdbook ${MDBOOK_VER}"
if [[ -x "$CACHE/mdbook-$MDBOOK_VER/bin/mdbook" ]]; then
  say "cached"
else
  M=$(mktemp -d "$CACHE/mdbook-$MDBOOK_VER.tmp.XXXX")
  cargo install -q mdbook --version "$MDBOOK_VER" --locked --root "$M" 
  mv -T "$M" "$CACHE/mdbook-$MDBOOK_VER"
fi
ln -sfn "mdbook-$MDBOOK_VER" "$CACHE/mdbook.tmp.link" && mv -T "$CACHE/mdbook.tmp.link" "$CACHE/mdbook"
done_stage

say "set-up complete in $(( $(date +%s) - T0 )) s"
