# The Linux side of the jitter comparison (issue: lab 2's make rt-bench): the guest
# with the rt-bench overlay (rt-periodic, cyclictest and its libraries) boots with
# crtos_run=rt and prints one jitter line per program. Included from the root Makefile.
#
#   make rt-bench-linux                    on Bochs, RT_PERIODS=1000 periods of 1 ms
#   make rt-bench-linux RT_MACHINE=qemu    the same on QEMU (fast; TCG timing, not Bochs's)

RT_BENCH_OUT := build/rt-bench
RT_PERIODS ?= 1000
RT_MACHINE ?= bochs

.PHONY: rt-bench-linux rt-bench-initrd

rt-bench-initrd: $(RTOS_USER_OUT)/rt-periodic guest/rt-overlay.sh guest/cyclictest-jitter.sh
	@$(MAKE) --no-print-directory guest
	guest/rt-overlay.sh $(RT_BENCH_OUT)/overlay $(RTOS_USER_OUT)/rt-periodic
	scripts/initrd-overlay.sh $(RT_BENCH_OUT)/initrd.img $(GUEST_OUT)/initrd.img $(RT_BENCH_OUT)/overlay

rt-bench-linux: rt-bench-initrd tools ## Jitter on Linux under load (rt-periodic and cyclictest, SCHED_FIFO, pinned) on Bochs
	@n=$(NONCE); t0=$$(date +%s); \
	if [ '$(RT_MACHINE)' = qemu ]; then \
	  $(MACHINE) run --machine qemu --linux $(GUEST_OUT)/vmlinux --initrd $(RT_BENCH_OUT)/initrd.img \
	    --cpus 2 --memory 512 --cmdline '$(GUEST_CMDLINE) crtos_run=rt crtos_rt_periods=$(RT_PERIODS)'" nonce=$$n" \
	    --timeout 120 --run-dir $(RT_BENCH_OUT)/run-qemu --transcript $(RT_BENCH_OUT)/serial.log --quiet; \
	else \
	  $(MACHINE) run --machine bochs --pvh $(GUEST_OUT)/vmlinux --pvh-loader $(GUEST_OUT)/pvh-loader \
	    --packed-vmlinux $(GUEST_OUT)/vmlinux.packed --initrd $(RT_BENCH_OUT)/initrd.img --cpus 2 --memory 512 \
	    --cmdline '$(GUEST_CMDLINE_BOCHS) crtos_run=rt crtos_rt_periods=$(RT_PERIODS)'" nonce=$$n" \
	    --timeout 300 --run-dir $(RT_BENCH_OUT)/run-bochs --transcript $(RT_BENCH_OUT)/serial.log --quiet; \
	fi; rc=$$?; \
	tr -d '\r' <$(RT_BENCH_OUT)/serial.log | grep -E '^(rt|rt-periodic|cyclictest): ' || true; \
	lines=$$(tr -d '\r' <$(RT_BENCH_OUT)/serial.log | grep -E "^jitter: side=(linux|cyclictest) .* nonce=$$n$$"); \
	echo "$$lines"; echo "rt-bench-linux: $(RT_MACHINE), $(RT_PERIODS) periods, $$(( $$(date +%s) - t0 )) s wall"; \
	[ $$rc -eq 0 ] && [ $$(echo "$$lines" | grep -c .) -eq 2 ] || { echo "rt-bench-linux: FAILED (see $(RT_BENCH_OUT)/serial.log)" >&2; exit 1; }

# make rt-bench: both sides in one run, on Bochs with 3 CPUs. The hypervisor (the
# solution's) enters every CPU, the RTOS takes CPU 2 and runs rt-periodic there, while
# Linux runs the load on CPU 0 and measures rt-periodic and cyclictest on CPU 1: each
# side has a CPU of its own, so the comparison is about the kernels, not about sharing
# a CPU with the load. Its jitter lines, and rt-periodic's histograms as
# `histogram: side=S <1:N 1-2:N ...` (µs buckets), are kept in build/results/rt-bench.txt
# for make figures.
RT_BENCH_RTOS_INITRD := $(RT_BENCH_OUT)/initrd-rtos.img
.PHONY: rt-bench
$(RT_BENCH_RTOS_INITRD): rt-bench-initrd build/hv/solution/hypervisor.img $(RTOS_IMAGE)
	@rm -rf $(RT_BENCH_OUT)/overlay-rtos && mkdir -p $(RT_BENCH_OUT)/overlay-rtos/images
	cp build/hv/solution/hypervisor.img $(RTOS_IMAGE) $(RT_BENCH_OUT)/overlay-rtos/images/
	scripts/initrd-overlay.sh $@ $(RT_BENCH_OUT)/initrd.img $(RT_BENCH_OUT)/overlay-rtos

rt-bench: $(RT_BENCH_RTOS_INITRD) tools ## Jitter of the same rt-periodic on the RTOS and on Linux (and cyclictest), one Bochs run under a Linux load
	@n=$(NONCE); t0=$$(date +%s); \
	$(MACHINE) run --machine bochs --pvh $(GUEST_OUT)/vmlinux --pvh-loader $(GUEST_OUT)/pvh-loader \
	  --packed-vmlinux $(GUEST_OUT)/vmlinux.packed --initrd $(RT_BENCH_RTOS_INITRD) --cpus 3 --memory 512 \
	  --cmdline '$(GUEST_CMDLINE_BOCHS) crtos_run=rt crtos_rt_rtos=1 crtos_rt_periods=$(RT_PERIODS)'" nonce=$$n" \
	  --timeout 400 --run-dir $(RT_BENCH_OUT)/run-rtos --transcript $(RT_BENCH_OUT)/serial-rtos.log --quiet; rc=$$?; \
	merged=$(RT_BENCH_OUT)/run-rtos/serial-merged.log; \
	tr -d '\r' <$$merged | grep -E '^(rt|rt-periodic|cyclictest|\[rtos\] rt-periodic): ' || true; \
	lines=$$(tr -d '\r' <$$merged | sed 's/^\[rtos\] //' \
	  | grep -E "^jitter: side=(rtos|linux|cyclictest) .* nonce=$$n$$" | sed 's/ nonce=.*//'); \
	echo "$$lines"; echo "rt-bench: bochs, 3 CPUs, $(RT_PERIODS) periods, $$(( $$(date +%s) - t0 )) s wall"; \
	[ $$rc -eq 0 ] && [ $$(echo "$$lines" | grep -c .) -eq 3 ] || { echo "rt-bench: FAILED (see $(RT_BENCH_OUT)/serial-rtos.log)" >&2; exit 1; }; \
	hist=$$(tr -d '\r' <$$merged | sed -nE 's/^\[rtos\] rt-periodic: histogram_us/histogram: side=rtos/p; s/^rt-periodic: histogram_us/histogram: side=linux/p' | sed 's/ nonce=.*//'); \
	{ echo "# run: Bochs 3.0, 3 CPUs, $(RT_PERIODS) periods of 1 ms, under a Linux load"; echo "$$lines"; echo "$$hist"; } \
	  | scripts/save-results.sh rt-bench >/dev/null
