# make fwd-bench (lab 3, and lab 4's uintr mode): the round trip of a minimal call,
# native (linux) and forwarded in each notification mode (poll, ipi, uintr), and 4 KiB
# write throughput, in emulated TSC cycles on Bochs, one run of the solution's lab 3
# image with crtos_run=fwd-bench. The lines land in
# build/results/fwd-bench.txt for the book's figures (make figures).
#
#   make fwd-bench               FWD_N=1000 calls per mode
#   make fwd-bench FWD_MODES=uintr   only these modes (comma-separated), after linux
FWD_N ?= 1000
FWD_MODES ?= poll,ipi,uintr
comma := ,
FWD_BENCH_OUT := build/fwd-bench
.PHONY: fwd-bench

fwd-bench: $(call LAB3_IMAGES,solution) tools ## Forwarded-call latency (linux, poll, ipi, uintr) and throughput on Bochs, emulated cycles
	@n=$(NONCE); t0=$$(date +%s); mkdir -p build/results; \
	$(MACHINE) run --machine bochs --pvh $(GUEST_OUT)/vmlinux --pvh-loader $(GUEST_OUT)/pvh-loader \
	  --packed-vmlinux $(GUEST_OUT)/vmlinux.packed --initrd build/lab3/solution/initrd.img --cpus 2 --memory 512 \
	  --cmdline '$(GUEST_CMDLINE_BOCHS) crtos_run=fwd-bench crtos_fwd_n=$(FWD_N) crtos_fwd_modes=$(FWD_MODES)'" nonce=$$n" \
	  --timeout 900 --run-dir $(FWD_BENCH_OUT)/run --transcript $(FWD_BENCH_OUT)/serial.log --quiet; rc=$$?; \
	lines=$$(tr -d '\r' <$(FWD_BENCH_OUT)/run/serial-merged.log | sed 's/^\[rtos\] //' \
	  | grep -E "^(latency|throughput): mode=.* nonce=$$n$$" | sed 's/ nonce=.*//'); \
	echo "$$lines" | scripts/save-results.sh fwd-bench; \
	echo "fwd-bench: bochs, 2 CPUs, $(FWD_N) calls per mode, $$(( $$(date +%s) - t0 )) s wall"; \
	[ $$rc -eq 0 ] && [ $$(echo "$$lines" | grep -c '^latency:') -eq $(words linux $(subst $(comma), ,$(FWD_MODES))) ] || { echo "fwd-bench: FAILED (see $(FWD_BENCH_OUT)/serial.log)" >&2; exit 1; }
