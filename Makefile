# crtos-lab: the one entry point for students, instructors and CI.
#   make setup   install what the labs need (Debian packages, Bochs 3.0, mdbook)
#   make demo    set up, then run the demo (today: the smoke kernel on both emulators)
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

.PHONY: help setup demo hello hello-kernel tools doctor lint test test-host test-boot book clean

help: ## List the targets
	@grep -hE '^[a-z0-9%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: ## Install everything the labs need (idempotent; a second run takes seconds)
	@bash scripts/setup.sh

hello-kernel: ## Build the smoke kernel
	$(CARGO) build --release -q -p hello

tools: ## Build the host tools (machine runner)
	$(CARGO) build --release -q -p machine

hello: hello-kernel tools ## Boot the smoke kernel on Bochs (vmx=1 uintr=1 cpus=2), then on QEMU (vmx=0 uintr=0)
	$(MACHINE) run --machine bochs --kernel $(HELLO) --cmdline "nonce=$(NONCE)" --run-dir build/runs/hello-bochs --timeout 60
	$(MACHINE) run --machine qemu --kernel $(HELLO) --cmdline "nonce=$(NONCE)" --run-dir build/runs/hello-qemu --timeout 30

demo: setup hello ## Set up, then run the demo

doctor: hello-kernel tools ## Report what this host has (Bochs and its flags, QEMU, KVM, headers)
	@$(MACHINE) doctor

lint: ## rustfmt and clippy, warnings as errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy -q --workspace --all-targets -- -D warnings

test-host: ## Host unit tests of every crate
	$(CARGO) test -q --workspace

test-boot: hello-kernel ## Real boots: the smoke kernel on Bochs and QEMU, timeouts, panics
	$(CARGO) test -q --release -p machine --test boot -- --include-ignored

book: ## Build the book (book/build/index.html)
	$(MDBOOK) build book

test: setup lint test-host test-boot book ## Everything CI runs
	@echo "make test: all passed"

clean: ## Remove build outputs (the cache in $(CACHE) stays)
	$(CARGO) clean
	rm -rf build book/build
