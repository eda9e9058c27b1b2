# The RTOS (rtos/): its image with the user programs embedded, its tests and its
# benchmark. Included from the root Makefile (after rtos/user/user.mk).
#
#   make rtos         build target/release/rtos with build/rtos/user/* and the bench program
#   make rtos-test    host unit tests (run list, ELF checks), then the grader's `rtos-qemu`
#                     lab on QEMU and `rtos` (timing too) on Bochs
#   make rtos-bench   costs in emulated TSC cycles on Bochs (see the book's RTOS chapter)

RTOS_KERNEL := target/release/rtos
# The kernel's own test programs, next to those of rtos/user: the benchmark, a program
# of bad system calls (rtos/tests/abuse.c), and a copy of `hello` with a broken header
# (e_machine = 3, i386) that the loader must refuse.
RTOS_EXTRA_OUT := build/rtos/extra
RTOS_EXTRA_PROGS := $(RTOS_EXTRA_OUT)/bench $(RTOS_EXTRA_OUT)/abuse $(RTOS_EXTRA_OUT)/bad-elf
# build.rs embeds every file of these directories (absolute paths, ':'-separated).
RTOS_PROGRAM_DIRS = $(abspath $(RTOS_USER_OUT)):$(abspath $(RTOS_EXTRA_OUT))
RTOS_BENCH_CMDLINE = bench run=bench@20:getpid:1000 run=bench@10:yield:1000 run=bench@10:yield:1000 \
  run=rt-periodic@20:--side:rtos:--period-us:1000:--count:1000:--prio:90 nonce=$(NONCE)

.PHONY: rtos rtos-test rtos-bench

rtos: rtos-user $(RTOS_EXTRA_PROGS) ## Build the RTOS with its user programs embedded
	CRTOS_RTOS_PROGRAMS=$(RTOS_PROGRAM_DIRS) $(CARGO) build --release -q -p rtos

$(RTOS_EXTRA_OUT)/bench: rtos/bench/bench.c rtos/rtos.mk
	@mkdir -p $(@D)
	$(MUSL_GCC) $(RTOS_USER_CFLAGS) -o $@ $<
	$(call rtos-user-check-exec,$@)

$(RTOS_EXTRA_OUT)/abuse: rtos/tests/abuse.c rtos/rtos.mk
	@mkdir -p $(@D)
	$(MUSL_GCC) $(RTOS_USER_CFLAGS) -o $@ $<
	$(call rtos-user-check-exec,$@)

$(RTOS_EXTRA_OUT)/bad-elf: $(RTOS_USER_OUT)/hello rtos/rtos.mk
	@mkdir -p $(@D)
	cp $< $@.tmp
	printf '\003' | dd of=$@.tmp bs=1 seek=18 conv=notrunc status=none
	mv $@.tmp $@

rtos-test: rtos tools ## The RTOS: host unit tests, then standalone on QEMU (lab rtos-qemu) and Bochs with timing (lab rtos)
	$(CARGO) test -q -p rtos --lib
	$(CARGO) run --release -q -p grader -- rtos-qemu --machine qemu
	$(CARGO) run --release -q -p grader -- rtos --machine bochs

rtos-bench: rtos tools ## The RTOS's costs in emulated TSC cycles on Bochs (≈20 s)
	@echo "rtos-bench: the RTOS on Bochs, one CPU: getpid x1000, yield x1000 x2, rt-periodic 1 kHz x1000 (≈20 s)"
	$(MACHINE) run --machine bochs --kernel $(RTOS_KERNEL) --cmdline "$(RTOS_BENCH_CMDLINE)" \
	  --cpus 1 --run-dir build/runs/rtos-bench --timeout 600 --quiet
	@grep -hE '^(bench|jitter|rt-periodic: latency_cycles)' build/runs/rtos-bench/serial-com2.log | sed "s/ nonce=.*//" | awk "!seen[\$$0]++"
