# crtos-lab: the one entry point for students, instructors and CI.
#   make setup   install what the labs need (Debian packages, Bochs 3.0, mdbook)
#   make demo    set up, then run the demo (the smoke kernel; Linux under the hypervisor)
#   make test    set up, then run every test (what CI runs)
#   make help    list every target
SHELL := bash
.DEFAULT_GOAL := help
CARGO ?= cargo
MACHINE := target/release/machine
HELLO := target/release/hello
CACHE ?= $(or $(CRTOS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/crtos-lab)
MDBOOK := $(CACHE)/mdbook/bin/mdbook
# A fresh token per run, so a hard-coded line cannot pass for the kernel's report.
NONCE = $(shell od -An -N4 -tx4 /dev/urandom | tr -d ' ')

.PHONY: help setup demo demo-linux hello hello-kernel tools doctor lint test test-host test-boot \
        test-ring test-grader test-hv test-labs book clean hypervisor hv-selftest hv-bench ring-bench \
        lab1 lab2 lab3 lab4

help: ## List the targets
	@grep -hE '^[a-z0-9%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: ## Install everything the labs need (idempotent; a second run takes seconds)
	@bash scripts/setup.sh
	@bash grader/install.sh

hello-kernel: ## Build the smoke kernel
	$(CARGO) build --release -q -p hello

tools: ## Build the host tools (machine runner)
	$(CARGO) build --release -q -p machine

hello: hello-kernel tools ## Boot the smoke kernel on Bochs (vmx=1 uintr=1 cpus=2), then on QEMU (vmx=0 uintr=0)
	$(MACHINE) run --machine bochs --kernel $(HELLO) --cmdline "nonce=$(NONCE)" --run-dir build/runs/hello-bochs --timeout 60
	$(MACHINE) run --machine qemu --kernel $(HELLO) --cmdline "nonce=$(NONCE)" --run-dir build/runs/hello-qemu --timeout 30

demo: setup hello demo-linux ## Set up, then run the demo: the smoke kernel, then Linux under the hypervisor

demo-linux: tools ## Linux on Bochs: load the driver, enable the hypervisor (the solution), look at it, disable it
	@$(MAKE) --no-print-directory guest GUEST_IMAGES=$(GUEST_HV_IMAGE)
	$(MACHINE) run --machine bochs --pvh $(GUEST_OUT)/vmlinux --pvh-loader $(GUEST_OUT)/pvh-loader \
	  --packed-vmlinux $(GUEST_OUT)/vmlinux.packed --initrd $(GUEST_OUT)/initrd.img --cpus 2 --memory 512 \
	  --cmdline '$(GUEST_CMDLINE_BOCHS) crtos_run=demo' --timeout 180 --run-dir build/runs/demo

doctor: hello-kernel tools ## Report what this host has (Bochs and its flags, QEMU, KVM, headers)
	@$(MACHINE) doctor

# Kernels and host tools are built for the same (host) target, so one cargo command
# over both would unify their dependencies' features: a host tool's `bitflags/std`
# would pull std into the kernels. So they are always built in separate commands.
KERNEL_PKGS := -p baremetal -p hello -p hypervisor -p hv-selftest -p rust-hello -p rtos
HOST_PKGS := -p crtos-abi -p kernel-build -p machine -p grader -p crtos-ctl -p syscall-ring

lint: ## rustfmt and clippy, warnings as errors
	$(CARGO) fmt --all --check
	rustfmt --edition 2021 --check $(wildcard labs/*/*.rs solutions/*/*.rs)
	$(CARGO) clippy -q $(HOST_PKGS) --all-targets -- -D warnings
	$(CARGO) clippy -q $(KERNEL_PKGS) -- -D warnings
	$(CARGO) clippy -q $(HV_HOST_TEST) --tests -- -D warnings

# The hypervisor's logic, tested on the host: without its `runtime` feature std links
# in (a separate cargo command from the kernels', as above).
HV_HOST_TEST := -p hypervisor --no-default-features --lib

test-host: ## Host unit tests of every crate (the hypervisor's logic included)
	$(CARGO) test -q $(HOST_PKGS)
	$(CARGO) test -q $(HV_HOST_TEST)

test-boot: hello-kernel ## Real boots: the smoke kernel on Bochs and QEMU, timeouts, panics
	$(CARGO) test -q --release -p machine --test boot -- --include-ignored

test-ring: ## The shared ring: unit, property, loom and stress tests; the lab 3 skeleton fails
	bash crates/ring/ci.sh

ring-bench: ## The ring's benchmark against rtrb and crossbeam's ArrayQueue (≈2.5 min; prints ratios)
	$(CARGO) bench -p syscall-ring --bench ring

test-grader: hello-kernel ## The grader: recorded transcripts and real boots
	$(CARGO) test -q --release -p grader -- --include-ignored

# ---------------------------------------------------------------- the hypervisor
HV_IMAGE := build/hv/hypervisor.img
LAB1_FEATURES = $(if $(SOLUTION),,--features lab1-student)

hypervisor: ## Build the hypervisor image the driver loads (build/hv/hypervisor.img)
	$(CARGO) build --release -q -p hypervisor $(LAB1_FEATURES)
	@mkdir -p $(dir $(HV_IMAGE))
	$(CARGO) run --release -q -p crtos-ctl -- pack-image --kind hv target/release/hypervisor $(HV_IMAGE)

hv-selftest: ## Build the hypervisor's bare-metal self-test kernel
	$(CARGO) build --release -q -p hv-selftest $(LAB1_FEATURES)

test-hv: tools ## The hypervisor's self-test on Bochs: 3 enable/disable cycles, hypercalls, EPT
	$(MAKE) --no-print-directory hv-selftest SOLUTION=1
	$(MACHINE) run --machine bochs --kernel target/release/hv-selftest --cmdline "nonce=$(NONCE)" \
	  --run-dir build/runs/hv-selftest --timeout 120 --quiet

hv-bench: tools ## Cost of CPUID and of a null hypercall under the hypervisor vs bare metal (TSC cycles)
	$(MAKE) --no-print-directory hv-selftest SOLUTION=1
	$(MACHINE) run --machine bochs --kernel target/release/hv-selftest --cmdline "bench nonce=$(NONCE)" \
	  --run-dir build/runs/hv-bench --timeout 120 --quiet
	@grep '^bench:' build/runs/hv-bench/serial.log | sed 's/ nonce=.*//'

# ---------------------------------------------------------------- labs
# make labN             build with your files from labs/labN/
# make labN SOLUTION=1  build with the solution's files from solutions/labN/
# Then `grader` grades what was built last (build/grader/current-lab says which).
LAB_TREE = $(if $(SOLUTION),solution,student)
define record-lab
	@mkdir -p build/grader && printf 'lab=%s\ntree=%s\n' $(1) $(LAB_TREE) > build/grader/current-lab
	@echo "make: built $(1) from the $(LAB_TREE) files; now run: grader"
endef

# Lab 1's Linux image: the guest's initramfs plus this build's hypervisor in /images.
LAB1_OUT := build/lab1
lab1: tools ## Lab 1, VMX on (SOLUTION=1: the solution)
	$(MAKE) --no-print-directory hv-selftest hypervisor guest
	@rm -rf $(LAB1_OUT)/overlay && mkdir -p $(LAB1_OUT)/overlay/images
	cp $(HV_IMAGE) $(LAB1_OUT)/overlay/images/hypervisor.img
	scripts/initrd-overlay.sh $(LAB1_OUT)/initrd.img $(GUEST_OUT)/initrd.img $(LAB1_OUT)/overlay
	$(call record-lab,lab1)

lab2 lab3 lab4:
	@echo "make: $@ is not in this tree yet (it arrives with its issue); lab1 is ready" >&2; exit 2

# Every lab both ways: the solution scores full marks, the skeleton less (and builds).
GRADER := $(CARGO) run --release -q -p grader --
# Grades lab $(1) on the skeleton: it must score below full, name the function that
# stopped the run ($(2)) and list what is left to write (including $(3)).
define expect-skeleton-below-full
	@if $(GRADER) $(1) --machine bochs > build/grader/$(1)-skeleton.txt 2>&1; then \
	  echo "test-labs: the $(1) skeleton got full marks" >&2; exit 1; \
	else tail -1 build/grader/$(1)-skeleton.txt; \
	  grep -q "$(2)" build/grader/$(1)-skeleton.txt || \
	  { echo "test-labs: the $(1) skeleton's report does not name the missing function ($(2))" >&2; exit 1; }; \
	  grep -q "^still to write (todo! left in your files): .*$(3)" build/grader/$(1)-skeleton.txt || \
	  { echo "test-labs: the $(1) skeleton's report does not list what is left ($(3))" >&2; exit 1; }; fi
endef

test-labs: tools ## Each lab's grader on its solution (full marks) and its skeleton (below full)
	$(MAKE) --no-print-directory lab1 SOLUTION=1
	$(GRADER) lab1-selftest --machine bochs
	$(GRADER) lab1 --machine bochs
	$(MAKE) --no-print-directory lab1
	$(call expect-skeleton-below-full,lab1-selftest,LAB 1: vmxon.rs: check_vmx_support,vmxon.rs: enter_vmx_operation)
	$(call expect-skeleton-below-full,lab1,LAB 1: vmxon.rs: check_vmx_support,vmxon.rs: enter_vmx_operation)
	$(MAKE) --no-print-directory lab1 SOLUTION=1

book: ## Build the book (book/build/index.html)
	$(MDBOOK) build book

test: setup lint test-host test-boot test-ring test-grader test-hv test-labs guest-test rtos-user-test rtos-test book ## Everything CI runs
	@echo "make test: all passed"

include guest/guest.mk
include rtos/user/user.mk
include rtos/rtos.mk

clean: ## Remove build outputs (the cache in $(CACHE) stays)
	$(CARGO) clean
	rm -rf build book/build
