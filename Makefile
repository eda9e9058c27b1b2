# crtos-lab: the one entry point for students, instructors and CI.
#   make setup   install what the labs need (Debian packages, Bochs 3.0, mdbook)
#   make demo    set up, then run the demo (the whole system in one Bochs boot)
#   make test    set up, then run every test (what CI runs)
#   make help    list every target
SHELL := bash
.DEFAULT_GOAL := help
CARGO ?= cargo
MACHINE := target/release/machine
HELLO := target/release/hello
# The cache set-up fills (Bochs, mdbook): defined once, in scripts/lib.sh ($CRTOS_CACHE
# overrides it).
CACHE := $(shell source scripts/lib.sh && echo "$$CACHE")
MDBOOK := $(CACHE)/mdbook/bin/mdbook
# A fresh token per run, so a hard-coded line cannot pass for the kernel's report.
NONCE = $(shell od -An -N4 -tx4 /dev/urandom | tr -d ' ')

.PHONY: help setup demo demo-linux hello hello-kernel tools doctor lint test test-host test-boot \
        test-ring test-daemon test-grader test-hv test-labs book clean hypervisor hv-selftest hv-bench ring-bench \
        lab1 lab2 lab3 lab4 FORCE

# The Linux guest's rules and variables (GUEST_OUT, GUEST_PVH_FILES, ...), used below.
include guest/guest.mk

help: ## List the targets
	@grep -hE '^[a-z0-9%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: ## Install everything the labs need (idempotent; a second run takes seconds)
	@bash scripts/setup.sh
	@bash grader/install.sh

# A cargo build is a rule on its output file that always runs (FORCE): cargo decides
# what is stale, and leaves the file's time alone when nothing changed, so what is made
# from it is remade only when it really changed.
FORCE:

hello-kernel: $(HELLO) ## Build the smoke kernel
$(HELLO): FORCE
	$(CARGO) build --release -q -p hello

tools: $(MACHINE) ## Build the host tools (machine runner)
$(MACHINE): FORCE
	$(CARGO) build --release -q -p machine

hello: $(HELLO) $(MACHINE) ## Boot the smoke kernel on Bochs (vmx=1 uintr=1 cpus=2), then on QEMU (vmx=0 uintr=0)
	$(MACHINE) run --machine bochs --kernel $(HELLO) --cmdline "nonce=$(NONCE)" --run-dir build/runs/hello-bochs --timeout 60
	$(MACHINE) run --machine qemu --kernel $(HELLO) --cmdline "nonce=$(NONCE)" --run-dir build/runs/hello-qemu --timeout 30

# `demo` and `test` set up first, then make their parts (test's in parallel under -j):
# set-up installs what every part uses, so no part may start before it has finished.
# As prerequisites of one target, set-up and the parts would run side by side.
demo: setup ## Set up, then the whole system in one Bochs boot: hypervisor, RTOS, forwarding, jitter, tables (≈5 min)
	@$(MAKE) --no-print-directory demo-linux

# Three CPUs: Linux keeps two (the load on CPU 0, its real-time task on CPU 1), the RTOS
# takes the third. Each stage of guest/stages/demo.sh has its own time limit inside the
# guest; the runner's --timeout bounds the whole boot.
demo-linux: $(MACHINE) build/lab3/solution/initrd.img $(GUEST_PVH_FILES) ## The demo's boot alone (no set-up): the solution's lab 3 image, crtos_run=demo
	$(MACHINE) run --machine bochs --pvh $(GUEST_OUT)/vmlinux --pvh-loader $(GUEST_OUT)/pvh-loader \
	  --packed-vmlinux $(GUEST_OUT)/vmlinux.packed --initrd build/lab3/solution/initrd.img --cpus 3 --memory 512 \
	  --cmdline '$(GUEST_CMDLINE_BOCHS) crtos_run=demo nonce=$(NONCE)' --timeout 420 --run-dir build/runs/demo

doctor: $(HELLO) $(MACHINE) ## Report what this host has (Bochs and its flags, QEMU, KVM, headers)
	@$(MACHINE) doctor

# Kernels and host tools are built for the same (host) target, so one cargo command
# over both would unify their dependencies' features: a host tool's `bitflags/std`
# would pull std into the kernels. So they are always built in separate commands.
KERNEL_PKGS := -p baremetal -p hello -p hypervisor -p hv-selftest -p rust-hello -p rtos -p uintr-check
# The kernels with lab files: built from one tree or the other (see "the two trees").
LAB_KERNEL_PKGS := -p hypervisor -p hv-selftest
HOST_PKGS := -p crtos-abi -p kernel-build -p machine -p grader -p crtos-ctl -p syscall-ring -p crtosd -p uintr-test -p uintr-user

lint: ## rustfmt and clippy, warnings as errors, on the student's tree and the solution's
	$(CARGO) fmt --all --check
	rustfmt --edition 2021 --check $(wildcard labs/*/*.rs solutions/*/*.rs)
	$(CARGO) clippy -q $(HOST_PKGS) --all-targets -- -D warnings
	$(call tree-cargo,solution) clippy -q $(KERNEL_PKGS) -- -D warnings
	$(call tree-cargo,student) clippy -q $(LAB_KERNEL_PKGS) -- -D warnings
	$(call tree-cargo,student) clippy -q -p rtos $(call rtos-features,student) -- -D warnings
	CRTOS_TREE=solution $(CARGO) clippy -q $(HV_HOST_TEST) --tests -- -D warnings

# The hypervisor's logic, tested on the host: without its `runtime` feature std links
# in (a separate cargo command from the kernels', as above).
HV_HOST_TEST := -p hypervisor --no-default-features --lib

# Host tests that build a kernel crate test the solution's files, whatever make built
# last (see "the two trees").
test-host: export CRTOS_TREE := solution
test-host: ## Host unit tests of every crate (the hypervisor's logic included)
	@# crtosd's launch tests run the real crtosctl binary, which `cargo test` does not build.
	$(CARGO) build -q -p crtos-ctl
	$(CARGO) test -q $(HOST_PKGS)
	$(CARGO) test -q $(HV_HOST_TEST)

test-boot: $(HELLO) ## Real boots: the smoke kernel on Bochs and QEMU, timeouts, panics
	$(CARGO) test -q --release -p machine --test boot -- --include-ignored

test-ring: ## The shared ring: unit, property, loom and stress tests; the lab 3 skeleton fails
	bash crates/ring/ci.sh

test-daemon: ## The lab 3 daemon crtosd: forwarding over a shared mapping; the lab 3 skeleton fails
	bash driver/daemon/ci.sh

ring-bench: ## The ring's benchmark against rtrb and crossbeam's ArrayQueue (≈2.5 min; prints ratios; kept for make figures)
	set -o pipefail; $(CARGO) bench -p syscall-ring --bench ring | scripts/save-results.sh ring-bench

test-grader: $(HELLO) ## The grader: recorded transcripts and real boots
	$(CARGO) test -q --release -p grader -- --include-ignored

# The RTOS and its programs (their variables are used by the lab blocks below).
include rtos/user/user.mk
include rtos/rtos.mk

# ---------------------------------------------------------------- the two trees
# A lab's kernels are built from one of two trees: the student's files in labs/
# (`make labN`) or the solution's in solutions/ (`make labN SOLUTION=1`). The kernel's
# build.rs picks the files from CRTOS_TREE (crates/kernel-build/src/lab_tree.rs), and
# each tree has its own target directory, target/student or target/solution, so going
# from one tree to the other rebuilds nothing.
TREES := student solution
TREE := $(if $(SOLUTION),solution,student)
# `$(call tree-cargo,TREE) build ...`: cargo for that tree.
tree-cargo = CRTOS_TREE=$(1) CARGO_TARGET_DIR=target/$(1) $(CARGO)

# ---------------------------------------------------------------- the hypervisor
# Its image, packed by the guest's crtosctl (the tool that loads it), for each tree.
target/%/release/hypervisor target/%/release/hv-selftest &: FORCE
	$(call tree-cargo,$*) build --release -q $(LAB_KERNEL_PKGS)
build/hv/%/hypervisor.img: target/%/release/hypervisor $(GUEST_OUT)/crtosctl
	@mkdir -p $(@D)
	$(GUEST_OUT)/crtosctl pack-image --kind hv $< $@

# Kept between runs (.SECONDARY): a file that only a chain of
# pattern rules makes is "intermediate", and make deletes it when it is done.
.SECONDARY: $(foreach t,$(TREES),target/$(t)/release/hypervisor build/hv/$(t)/hypervisor.img)

hypervisor: build/hv/$(TREE)/hypervisor.img ## Build the hypervisor image the driver loads (build/hv/TREE/hypervisor.img)

hv-selftest: target/$(TREE)/release/hv-selftest ## Build the hypervisor's bare-metal self-test kernel

test-hv: $(MACHINE) target/solution/release/hv-selftest ## The hypervisor's self-test on Bochs: 3 enable/disable cycles, hypercalls, EPT; a panic powers off
	$(MACHINE) run --machine bochs --kernel target/solution/release/hv-selftest --cmdline "nonce=$(NONCE)" \
	  --run-dir build/runs/hv-selftest --timeout 120 --quiet
	! $(MACHINE) run --machine bochs --kernel target/solution/release/hv-selftest --cmdline "panic nonce=$(NONCE)" \
	  --run-dir build/runs/hv-panic --timeout 60 --quiet
	@grep -q '^unhandled VM exit' build/runs/hv-panic/serial.log && \
	  grep -q 'ACPI control: soft power off' build/runs/hv-panic/bochs.log || \
	  { echo "test-hv: the hypervisor's panic did not power the machine off (build/runs/hv-panic)" >&2; exit 1; }

hv-bench: $(MACHINE) target/solution/release/hv-selftest ## Cost of CPUID and of a null hypercall under the hypervisor vs bare metal (TSC cycles)
	$(MACHINE) run --machine bochs --kernel target/solution/release/hv-selftest --cmdline "bench nonce=$(NONCE)" \
	  --run-dir build/runs/hv-bench --timeout 120 --quiet
	@grep '^bench:' build/runs/hv-bench/serial.log | sed 's/ nonce=.*//'

# ---------------------------------------------------------------- labs
# make labN             build with your files from labs/labN/
# make labN SOLUTION=1  build with the solution's files from solutions/labN/
# Then `grader` grades what was built last (build/grader/current-lab says which lab and
# which tree; rust-analyzer and `cargo check` read it too, to check the files you edit).
#
# One block per lab: LABn_IMAGES, the files `make labN` builds for tree $(1) (the paths
# the grader's labs/labN.rs boots, with {tree} for the tree), and the labN target.
define record-lab
	@mkdir -p build/grader && printf 'lab=%s\ntree=%s\n' $(1) $(TREE) > build/grader/current-lab
	@echo "make: built $(1) from the $(TREE) files; now run: grader"
endef

# Lab 1, VMX on: the self-test kernel, and Linux with the tree's hypervisor in /images.
# (A new lab: its LABn_IMAGES and rules here, its labN target, its lines in test-labs,
# and its name in the .PHONY line at the top.)
LAB1_IMAGES = target/$(1)/release/hv-selftest build/lab1/$(1)/initrd.img $(GUEST_PVH_FILES)
build/lab1/%/initrd.img: $(GUEST_OUT)/initrd.img build/hv/%/hypervisor.img scripts/initrd-overlay.sh
	@rm -rf $(@D)/overlay && mkdir -p $(@D)/overlay/images
	cp build/hv/$*/hypervisor.img $(@D)/overlay/images/hypervisor.img
	scripts/initrd-overlay.sh $@ $(GUEST_OUT)/initrd.img $(@D)/overlay
lab1: $(MACHINE) $(call LAB1_IMAGES,$(TREE)) ## Lab 1, VMX on (SOLUTION=1: the solution)
	$(call record-lab,lab1)

# Lab 2, AP boot: Linux with the tree's hypervisor and the RTOS image in /images.
RTOS_IMAGE := build/rtos/rtos.img
LAB2_IMAGES = build/lab2/$(1)/initrd.img $(GUEST_PVH_FILES)
$(RTOS_IMAGE): rtos $(GUEST_OUT)/crtosctl
	@mkdir -p $(@D)
	$(GUEST_OUT)/crtosctl pack-image --kind rtos $(RTOS_KERNEL) $@
build/lab2/%/initrd.img: $(GUEST_OUT)/initrd.img build/hv/%/hypervisor.img $(RTOS_IMAGE) scripts/initrd-overlay.sh
	@rm -rf $(@D)/overlay && mkdir -p $(@D)/overlay/images
	cp build/hv/$*/hypervisor.img $(RTOS_IMAGE) $(@D)/overlay/images/
	scripts/initrd-overlay.sh $@ $(GUEST_OUT)/initrd.img $(@D)/overlay
lab2: $(MACHINE) $(call LAB2_IMAGES,$(TREE)) ## Lab 2, AP boot: the RTOS on a CPU taken from Linux (SOLUTION=1: the solution)
	$(call record-lab,lab2)

# Lab 3, forwarding: Linux with the tree's hypervisor, RTOS and daemon, and lab 3's
# programs in /rtos-bin. The student's ring and dispatch are in the RTOS's ring and in
# crtosd (feature lab3-student), so both are built per tree; crtosd static, like
# crtosctl (the guest has no C library).
LAB3_IMAGES = build/lab3/$(1)/initrd.img $(GUEST_PVH_FILES)
LAB3_PROGRAMS := fwd-files fwd-bench fwd-exit fwd-eio fault hello rt-periodic uintr-cross
lab3-features = $(if $(filter student,$(1)),--features lab3-student)
# The student tree's RTOS has the student's files of both its labs: the ring (lab 3)
# and the user interrupts (lab 4; only tasks that use them reach those files).
rtos-features = $(if $(filter student,$(1)),--features "lab3-student lab4-student")
target/%/release/rtos: rtos-user $(RTOS_EXTRA_PROGS) FORCE
	CRTOS_RTOS_PROGRAMS=$(RTOS_PROGRAM_DIRS) $(call tree-cargo,$*) build --release -q -p rtos $(call rtos-features,$*)
build/rtos/%/rtos.img: target/%/release/rtos $(GUEST_OUT)/crtosctl
	@mkdir -p $(@D)
	$(GUEST_OUT)/crtosctl pack-image --kind rtos $< $@
target/%/x86_64-unknown-linux-gnu/release/crtosd: FORCE
	RUSTFLAGS="-C target-feature=+crt-static" $(call tree-cargo,$*) build --release -q \
	  --target x86_64-unknown-linux-gnu -p crtosd $(call lab3-features,$*)
build/lab3/%/initrd.img: $(GUEST_OUT)/initrd.img build/hv/%/hypervisor.img build/rtos/%/rtos.img \
    target/%/x86_64-unknown-linux-gnu/release/crtosd $(addprefix $(RTOS_USER_OUT)/,$(LAB3_PROGRAMS)) scripts/initrd-overlay.sh
	@rm -rf $(@D)/overlay && mkdir -p $(@D)/overlay/images $(@D)/overlay/bin $(@D)/overlay/rtos-bin
	cp build/hv/$*/hypervisor.img $(@D)/overlay/images/hypervisor.img
	cp build/rtos/$*/rtos.img $(@D)/overlay/images/rtos.img
	cp target/$*/x86_64-unknown-linux-gnu/release/crtosd $(@D)/overlay/bin/crtosd
	cp $(addprefix $(RTOS_USER_OUT)/,$(LAB3_PROGRAMS)) $(@D)/overlay/rtos-bin/
	scripts/initrd-overlay.sh $@ $(GUEST_OUT)/initrd.img $(@D)/overlay
.SECONDARY: $(foreach t,$(TREES),target/$(t)/release/rtos build/rtos/$(t)/rtos.img build/lab3/$(t)/initrd.img \
  target/$(t)/x86_64-unknown-linux-gnu/release/crtosd)
lab3: $(MACHINE) $(call LAB3_IMAGES,$(TREE)) ## Lab 3, forwarding: RTOS tasks use Linux's files through the ring and crtosd (SOLUTION=1: the solution)
	$(call record-lab,lab3)

# Lab 4, user interrupts: lab 3's image (the tree's hypervisor, RTOS and crtosd; the
# guest's initramfs already has uintr-test) with lab 4's RTOS programs in /rtos-bin too
# (uintr, and uintr-cross, which lab 3's list has already).
# The student's files are in the RTOS (feature lab4-student, above).
LAB4_IMAGES = build/lab4/$(1)/initrd.img $(GUEST_PVH_FILES)
LAB4_PROGRAMS := $(sort $(LAB3_PROGRAMS) uintr uintr-cross)
build/lab4/%/initrd.img: $(GUEST_OUT)/initrd.img build/hv/%/hypervisor.img build/rtos/%/rtos.img \
    target/%/x86_64-unknown-linux-gnu/release/crtosd $(addprefix $(RTOS_USER_OUT)/,$(LAB4_PROGRAMS)) scripts/initrd-overlay.sh
	@rm -rf $(@D)/overlay && mkdir -p $(@D)/overlay/images $(@D)/overlay/bin $(@D)/overlay/rtos-bin
	cp build/hv/$*/hypervisor.img $(@D)/overlay/images/hypervisor.img
	cp build/rtos/$*/rtos.img $(@D)/overlay/images/rtos.img
	cp target/$*/x86_64-unknown-linux-gnu/release/crtosd $(@D)/overlay/bin/crtosd
	cp $(addprefix $(RTOS_USER_OUT)/,$(LAB4_PROGRAMS)) $(@D)/overlay/rtos-bin/
	scripts/initrd-overlay.sh $@ $(GUEST_OUT)/initrd.img $(@D)/overlay
.SECONDARY: $(foreach t,$(TREES),build/lab4/$(t)/initrd.img)
lab4: $(MACHINE) $(call LAB4_IMAGES,$(TREE)) ## Lab 4, user interrupts: RTOS tasks and Linux threads interrupt each other by SENDUIPI; forwarding in uintr mode (SOLUTION=1: the solution)
	$(call record-lab,lab4)

# Every lab both ways: the solution scores full marks, the skeleton less (and builds).
GRADER := $(CARGO) run --release -q -p grader --
# Grades lab $(1) on the skeleton: it must score below full, name the function that
# stopped the run ($(2)) and list what is left to write (including $(3)).
define expect-skeleton-below-full
	@if $(GRADER) $(1) --tree student --machine bochs > build/grader/$(1)-skeleton.txt 2>&1; then \
	  echo "test-labs: the $(1) skeleton got full marks" >&2; exit 1; \
	else tail -1 build/grader/$(1)-skeleton.txt; \
	  grep -q "$(2)" build/grader/$(1)-skeleton.txt || \
	  { echo "test-labs: the $(1) skeleton's report does not name the missing function ($(2))" >&2; exit 1; }; \
	  grep -q "^still to write (todo! left in your files): .*$(3)" build/grader/$(1)-skeleton.txt || \
	  { echo "test-labs: the $(1) skeleton's report does not list what is left ($(3))" >&2; exit 1; }; fi
endef

test-labs: $(MACHINE) $(foreach t,$(TREES),$(call LAB1_IMAGES,$(t)) $(call LAB2_IMAGES,$(t)) $(call LAB3_IMAGES,$(t)) \
    $(call LAB4_IMAGES,$(t))) ## Each lab's grader on its solution (full marks) and its skeleton (below full)
	$(GRADER) lab1-selftest --tree solution --machine bochs
	$(GRADER) lab1 --tree solution --machine bochs
	$(GRADER) lab2 --tree solution --machine bochs
	$(GRADER) lab3 --tree solution --machine bochs
	$(GRADER) lab4 --tree solution --machine bochs
	@mkdir -p build/grader
	$(call expect-skeleton-below-full,lab1-selftest,LAB 1: vmxon.rs: check_vmx_support,vmxon.rs: enter_vmx_operation)
	$(call expect-skeleton-below-full,lab1,LAB 1: vmxon.rs: check_vmx_support,vmxon.rs: enter_vmx_operation)
	@# The student tree's lab 2 stands on its lab 1: unsolved, enabling stops the run there.
	$(call expect-skeleton-below-full,lab2,LAB 1: vmxon.rs: check_vmx_support,boot_page_tables.rs: build_boot_page_tables)
	$(call expect-skeleton-below-full,lab3,LAB 1: vmxon.rs: check_vmx_support,ring_queue.rs: Producer::push)
	$(call expect-skeleton-below-full,lab4,LAB 1: vmxon.rs: check_vmx_support,context_switch.rs: UintrState::switch_out)

book: ## Build the book (book/build/index.html); every include must name a real anchor, every link a real page
	bash book/check-includes.sh
	bash book/check-links.sh
	$(MDBOOK) build book

TEST_PARTS := lint test-host test-boot test-ring test-daemon test-grader test-hv test-uintr test-uintr-linux test-labs guest-test \
              rtos-user-test rtos-test book test-handout
test: setup ## Everything CI runs: set-up, then every part (make -j2 test is safe)
	@$(MAKE) --no-print-directory $(TEST_PARTS)
	@echo "make test: all passed"

include guest/rt-bench.mk
include guest/fwd-bench.mk
include crates/uintr-check/uintr.mk
include guest/uintr-linux.mk
include scripts/handout.mk
include book/figures.mk

clean: ## Remove build outputs (the cache in $(CACHE) stays)
	$(CARGO) clean
	rm -rf build book/build
