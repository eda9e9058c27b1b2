# The Linux guest: Debian's stock kernel, a busybox initramfs, the crtos module and
# crtosctl. Included from the root Makefile (paths are relative to the repository root).
#
#   make guest             build the image (kernel + initramfs + module + tools), cached
#   make guest-test-qemu   boot it under QEMU with the in-guest tests, check the result
#   make guest-test-bochs  the same under Bochs (VMX and UINTR present and checked), with
#                          the solution hypervisor in /images for the tests that enable
#                          (lab 1's solution image, GUEST_HV_INITRD)
#   make guest-test        both
#   make guest-shell       boot to a shell under QEMU (Ctrl-A X quits)
#   make guest-kallsyms    the kernel's symbol table (build/guest/kallsyms.txt)
#   make guest-clean       remove build/guest
#
# Variables: GUEST_KVER (default: the kernel linux-headers-amd64 points at),
# GUEST_RUN (what init runs: tests, shell, or a stage in guest/stages/: demo,
# kallsyms, later the labs' stages), GUEST_BOOT (pvh or bzimage), GUEST_APPEND (extra
# kernel arguments), CRTOS_CACHE.
#
# Images reach the guest's /images one way: the base initramfs built here holds none
# (only the driver's broken test images); a lab appends its own as a second archive
# (scripts/initrd-overlay.sh), e.g. lab 1's build/lab1/TREE/initrd.img.

GUEST_OUT   := build/guest
GUEST_KVER  ?= $(shell dpkg-query -W -f='$${Depends}' linux-headers-amd64 2>/dev/null | sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p')
GUEST_BUSYBOX ?= /bin/busybox
GUEST_CTL_BIN := target/x86_64-unknown-linux-gnu/release/crtosctl
GUEST_UINTR_TEST_BIN := target/x86_64-unknown-linux-gnu/release/uintr-test
GUEST_DAEMON_BIN := target/x86_64-unknown-linux-gnu/release/crtosd
GUEST_MODULE_SRC := $(wildcard driver/module/*.c driver/module/*.h) driver/module/Kbuild driver/include/crtos.h
GUEST_INITRD_SRC := guest/init guest/tests.sh guest/stage-lib.sh guest/mkinitrd.sh $(wildcard guest/stages/*.sh)
# What a PVH boot under Bochs needs besides the initramfs.
GUEST_PVH_FILES := $(GUEST_OUT)/vmlinux $(GUEST_OUT)/pvh-loader $(GUEST_OUT)/vmlinux.packed
# The guest with the solution hypervisor in /images: lab 1's solution image (its rule is
# in the root Makefile's lab 1 block).
GUEST_HV_INITRD := build/lab1/solution/initrd.img

# Kernel command line (the memory map in the book's architecture chapter): the
# reservation for hypervisor (16 MiB), RTOS (32 MiB) and shared region (4 MiB) at
# 256 MiB, matching driver/include/crtos.h.
# The plain string: the machine runner quotes each word for GRUB itself.
GUEST_MEMMAP  := memmap=52M$$0x10000000
# no_ipi_broadcast=1: an offline CPU still receives Linux's "all but self" shorthand
# IPIs, and from lab 2 on the RTOS runs on one: Linux sends each IPI to its targets.
GUEST_CMDLINE := console=ttyS0,115200 quiet cryptomgr.notests $(GUEST_MEMMAP) no_ipi_broadcast=1
# Bochs's TSC ticks at its ips rate (200 MHz) while the CPU model's CPUID claims
# 4.2 GHz: without tsc_early_khz guest time runs ~20x slow.
# clearcpuid=aperfmperf: the model advertises APERF/MPERF (CPUID.6:ECX[0]) but Bochs
# lacks the MSRs, so Linux's scheduler tick reads two unknown MSRs every 4 ms and Bochs
# logs each read. Bochs's once-a-second "ips =" SIGALRM handler logs too, and when it
# interrupts a log write it deadlocks on the log mutex: the emulator freezes (≈ 1 boot
# in 15). Without the reads, Bochs logs a few hundred lines per boot instead of 5000.
GUEST_CMDLINE_BOCHS := $(GUEST_CMDLINE) tsc_early_khz=200000 clearcpuid=aperfmperf crtos_expect=vmx,uintr
GUEST_RUN ?= tests
# Extra kernel arguments for one run, e.g. make guest-test-qemu GUEST_APPEND=initcall_debug
GUEST_APPEND ?=
# How the kernel is entered. pvh (default): the vmlinux extracted once on the host,
# entered through its PVH entry note (QEMU: -kernel vmlinux; Bochs: GRUB + our small
# multiboot loader, guest/pvh-loader/), skipping the ~20 s the bzImage spends
# decompressing itself under Bochs. bzimage: Debian's vmlinuz booted as it is.
GUEST_BOOT ?= pvh

# The machine runner is the root Makefile's $(MACHINE) (built by its one rule).
GUEST_MACHINE_ARGS = --cpus 2 --memory 512

.PHONY: guest guest-kernel guest-module guest-ctl guest-initrd guest-test guest-test-qemu \
        guest-test-bochs guest-shell guest-clean guest-kallsyms

guest: guest-initrd ## Build the Linux guest (stock kernel, busybox initramfs, crtos.ko, crtosctl, crtosd), cached

# The version stamp changes only when GUEST_KVER does, so everything below rebuilds
# exactly when the kernel changes.
$(GUEST_OUT)/kernel.version: FORCE
	@test -n "$(GUEST_KVER)" || { echo "error: no kernel version: install linux-headers-amd64 or set GUEST_KVER" >&2; exit 1; }
	@mkdir -p $(@D)
	@echo '$(GUEST_KVER)' | cmp -s - $@ || echo '$(GUEST_KVER)' >$@

guest-kernel: $(GUEST_OUT)/vmlinuz
$(GUEST_OUT)/vmlinuz $(GUEST_OUT)/vmlinux &: $(GUEST_OUT)/kernel.version guest/kernel.sh
	guest/kernel.sh $(GUEST_KVER) $(GUEST_OUT)
	@touch $(GUEST_OUT)/vmlinuz $(GUEST_OUT)/vmlinux

guest-module: $(GUEST_OUT)/crtos.ko
$(GUEST_OUT)/crtos.ko: $(GUEST_MODULE_SRC) $(GUEST_OUT)/vmlinuz guest/build-module.sh
	@env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL guest/build-module.sh $(GUEST_KVER) $@

# Static, so they run in the initramfs without a libc; the flag is given for this
# target only (with an explicit --target, RUSTFLAGS do not reach build scripts).
# Cargo runs every time (a no-op when nothing changed) and leaves a binary's mtime
# alone then, so the initramfs is rebuilt only when a tool really changed.
# crtosctl, lab 3's daemon crtosd and lab 4's uintr-test (user interrupts between Linux
# threads): all Linux tools, one cargo command.
guest-ctl: $(GUEST_OUT)/crtosctl $(GUEST_OUT)/crtosd
$(GUEST_CTL_BIN) $(GUEST_DAEMON_BIN) $(GUEST_UINTR_TEST_BIN) &: FORCE
	@bash -c 'source scripts/lib.sh; stage "crtosctl, crtosd, uintr-test (static)"; \
	  RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release \
	    --target x86_64-unknown-linux-gnu -p crtos-ctl -p crtosd -p uintr-test && done_stage'
$(GUEST_OUT)/crtosctl: $(GUEST_CTL_BIN)
	@mkdir -p $(@D)
	strip -o $@ $<
$(GUEST_OUT)/uintr-test: $(GUEST_UINTR_TEST_BIN)
	@mkdir -p $(@D)
	strip -o $@ $<
$(GUEST_OUT)/crtosd: $(GUEST_DAEMON_BIN)
	@mkdir -p $(@D)
	strip -o $@ $<

guest-initrd: $(GUEST_OUT)/initrd.img $(GUEST_OUT)/vmlinuz $(GUEST_PVH_FILES)

# 32-bit freestanding C for GRUB's multiboot; gcc -m32 needs no multilib for this
# (no libc, no libgcc, stdint.h is the compiler's own).
GUEST_PVH_SRC := guest/pvh-loader/entry.S guest/pvh-loader/loader.c guest/pvh-loader/loader.ld
$(GUEST_OUT)/pvh-loader: $(GUEST_PVH_SRC)
	@mkdir -p $(@D)
	gcc -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	  -fno-asynchronous-unwind-tables -mno-sse -mno-mmx -mno-80387 -O2 \
	  -Wall -Wextra -Werror -nostdlib -static -no-pie -Wl,-T,guest/pvh-loader/loader.ld \
	  -Wl,--build-id=none -Wl,--no-warn-rwx-segments -o $@ \
	  guest/pvh-loader/entry.S guest/pvh-loader/loader.c
$(GUEST_OUT)/initrd.img: $(GUEST_INITRD_SRC) guest/guest.mk $(GUEST_OUT)/crtos.ko $(GUEST_OUT)/crtosctl \
                         $(GUEST_OUT)/uintr-test $(GUEST_OUT)/crtosd $(GUEST_BUSYBOX)
	guest/mkinitrd.sh $@ $(GUEST_BUSYBOX) $(GUEST_OUT)/crtos.ko $(GUEST_OUT)/crtosctl $(GUEST_OUT)/uintr-test \
	  $(GUEST_OUT)/crtosd

# The vmlinux for GRUB to read under Bochs: same memory image, 35 instead of 63 MiB
# (segments packed, trailing zeros left to the loader's zero-fill): ≈ 1.5 s less.
$(GUEST_OUT)/pack-vmlinux: guest/pvh-loader/pack-vmlinux.c
	@mkdir -p $(@D)
	gcc -O2 -Wall -Wextra -Werror -o $@ $<
$(GUEST_OUT)/vmlinux.packed: $(GUEST_OUT)/vmlinux $(GUEST_OUT)/pack-vmlinux
	$(GUEST_OUT)/pack-vmlinux $< $@

# One boot per test run; the runner ends it on the guest's "[exit] code=N" line, and
# the transcript check makes sure every test really ran and passed.
guest-test: guest-test-qemu guest-test-bochs ## The driver's in-guest tests under QEMU and Bochs

guest-test-qemu: guest $(MACHINE) ## Boot the guest under QEMU with the in-guest tests
	$(MACHINE) run --machine qemu \
	  --linux $(GUEST_OUT)/$(if $(filter pvh,$(GUEST_BOOT)),vmlinux,vmlinuz) $(GUEST_MACHINE_ARGS) \
	  --initrd $(GUEST_OUT)/initrd.img \
	  --cmdline '$(GUEST_CMDLINE) crtos_run=$(GUEST_RUN) $(GUEST_APPEND)' --timeout 60 \
	  --run-dir $(GUEST_OUT)/run-qemu --transcript $(GUEST_OUT)/serial-qemu.log
	guest/check-transcript.sh $(GUEST_OUT)/serial-qemu.log

# pvh: the runner makes a GRUB ISO with the PVH loader and its two modules for each
# run (the command line is part of it; ~0.5 s, hard links).
# The initramfs has the solution hypervisor in /images (GUEST_TEST_INITRD; set it to
# $(GUEST_OUT)/initrd.img to leave it out, and the two tests that need it say SKIP).
GUEST_TEST_INITRD ?= $(GUEST_HV_INITRD)
guest-test-bochs: guest $(GUEST_TEST_INITRD) $(MACHINE) ## Boot the guest under Bochs (VMX, UINTR) with the in-guest tests
ifeq ($(GUEST_BOOT),pvh)
	$(MACHINE) run --machine bochs --pvh $(GUEST_OUT)/vmlinux --pvh-loader $(GUEST_OUT)/pvh-loader \
	  --packed-vmlinux $(GUEST_OUT)/vmlinux.packed $(GUEST_MACHINE_ARGS) --initrd $(GUEST_TEST_INITRD) \
	  --cmdline '$(GUEST_CMDLINE_BOCHS) crtos_run=$(GUEST_RUN) $(GUEST_APPEND)' --timeout 240 \
	  --run-dir $(GUEST_OUT)/run-bochs --transcript $(GUEST_OUT)/serial-bochs.log
else
	$(MACHINE) run --machine bochs --linux $(GUEST_OUT)/vmlinuz $(GUEST_MACHINE_ARGS) --initrd $(GUEST_TEST_INITRD) \
	  --cmdline '$(GUEST_CMDLINE_BOCHS) crtos_run=$(GUEST_RUN) $(GUEST_APPEND)' --timeout 240 \
	  --run-dir $(GUEST_OUT)/run-bochs --transcript $(GUEST_OUT)/serial-bochs.log
endif
	guest/check-transcript.sh $(GUEST_OUT)/serial-bochs.log --expect-cpu-features

# The running kernel's symbol table in build/guest/kallsyms.txt, for turning a RIP from
# a Bochs log into a function name (PVH boots are never randomised: one table fits all).
guest-kallsyms: guest $(MACHINE) ## The guest kernel's symbols in build/guest/kallsyms.txt
	$(MACHINE) run --machine qemu --linux $(GUEST_OUT)/vmlinux $(GUEST_MACHINE_ARGS) --initrd $(GUEST_OUT)/initrd.img \
	  --cmdline '$(GUEST_CMDLINE) crtos_run=kallsyms' --timeout 60 --quiet \
	  --run-dir $(GUEST_OUT)/run-kallsyms --transcript $(GUEST_OUT)/serial-kallsyms.log
	tr -d '\r' <$(GUEST_OUT)/serial-kallsyms.log | sed -n '/^kallsyms-begin$$/,/^kallsyms-end$$/{//!p}' \
	  >$(GUEST_OUT)/kallsyms.txt
	@echo "$$(wc -l <$(GUEST_OUT)/kallsyms.txt) symbols in $(GUEST_OUT)/kallsyms.txt"

# Interactive: QEMU straight on the terminal (Ctrl-A X quits, Ctrl-A C the monitor).
guest-shell: guest ## A shell in the guest under QEMU (Ctrl-A X quits)
	qemu-system-x86_64 -display none -no-reboot -serial mon:stdio -m 512 -smp 2 \
	  -kernel $(GUEST_OUT)/$(if $(filter pvh,$(GUEST_BOOT)),vmlinux,vmlinuz) -initrd $(GUEST_OUT)/initrd.img \
	  -append '$(GUEST_CMDLINE) crtos_run=shell $(GUEST_APPEND)'

guest-clean: ## Remove build/guest
	rm -rf $(GUEST_OUT)
