# The RTOS's user programs: static Linux executables (x86-64 system-call ABI) that run
# unmodified on Linux and on the RTOS. Included from the root Makefile.
#
#   make rtos-user        build every program into $(RTOS_USER_OUT)/<name>
#   make rtos-user-test   build them, then run each natively on this Linux host
#
# C programs: Debian's musl-gcc (musl-tools), static and non-PIE, so the RTOS's ELF
# loader sees one ET_EXEC with fixed addresses and no program interpreter. The Rust
# program is a no_std crate for the host target with its own _start (rust-hello/).

RTOS_USER_OUT := build/rtos/user
RTOS_USER_DIR := rtos/user
RTOS_USER_C := hello spin sleep-check fault badcall preempt rt-periodic \
  fwd-files fwd-bench fwd-exit fwd-eio uintr uintr-cross
RTOS_USER_PROGS := $(RTOS_USER_C) rust-hello
RTOS_USER_BINS := $(addprefix $(RTOS_USER_OUT)/,$(RTOS_USER_PROGS))
MUSL_GCC ?= musl-gcc
# -I: crtos.h's numbers (uintr-cross's shared handles), defined once for every party.
RTOS_USER_CFLAGS := -static -no-pie -fno-pie -O2 -Wall -Wextra -Werror -std=gnu11 -Idriver/include
# The Rust program's cargo output (its own cargo command: see KERNEL_PKGS in the Makefile).
RTOS_RUST_HELLO_BIN := target/release/rust-hello

.PHONY: rtos-user rtos-user-test rtos-user-force

rtos-user: $(RTOS_USER_BINS) ## Build the RTOS's user programs (static Linux executables) into build/rtos/user

# Fails the build unless $(1) is a static, non-PIE executable: ELF type EXEC and no
# program interpreter (musl-gcc would silently make a static-PIE if asked for -pie).
define rtos-user-check-exec
	@readelf -h $(1) | grep -q 'Type:[[:space:]]*EXEC' || { echo "error: $(1) is not ET_EXEC" >&2; rm -f $(1); exit 1; }
	@! readelf -lW $(1) | grep -q 'program interpreter' || { echo "error: $(1) is dynamic" >&2; rm -f $(1); exit 1; }
endef

$(RTOS_USER_OUT)/%: $(RTOS_USER_DIR)/%.c $(RTOS_USER_DIR)/crtos-user.h $(RTOS_USER_DIR)/user.mk
	@mkdir -p $(@D)
	@command -v $(MUSL_GCC) >/dev/null || { echo "error: no $(MUSL_GCC): run make setup (musl-tools)" >&2; exit 1; }
	$(MUSL_GCC) $(RTOS_USER_CFLAGS) -o $@ $<
	$(call rtos-user-check-exec,$@)
$(RTOS_USER_OUT)/uintr-cross: driver/include/crtos.h $(RTOS_USER_DIR)/uintr-user.h
$(RTOS_USER_OUT)/uintr: $(RTOS_USER_DIR)/uintr-user.h

# Cargo runs every time (a no-op when nothing changed); the copy keeps the build
# output in one folder for the RTOS image and the Linux guest.
$(RTOS_RUST_HELLO_BIN): rtos-user-force
	$(CARGO) build --release -q -p rust-hello
$(RTOS_USER_OUT)/rust-hello: $(RTOS_RUST_HELLO_BIN)
	@mkdir -p $(@D)
	cp $< $@
	$(call rtos-user-check-exec,$@)

rtos-user-test: rtos-user ## Run every RTOS user program natively on this Linux host and check its output
	bash $(RTOS_USER_DIR)/test-native.sh $(RTOS_USER_OUT)

rtos-user-force:
