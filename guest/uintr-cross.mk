# Lab 4's cross pair: user interrupts between an RTOS task (rtos/user/uintr-cross.c) and
# a Linux process (uintr-test cross), on lab 3's solution image under Bochs: the guest
# stage guest/stages/uintr-cross.sh, checked by guest/check-uintr-cross.sh. Included by
# the top-level Makefile; not (yet) part of `make test`.
#
#   make test-uintr-cross                CROSS_N=200 round trips
CROSS_N ?= 200
.PHONY: test-uintr-cross

test-uintr-cross: $(MACHINE) $(call LAB3_IMAGES,solution) ## UINTR between an RTOS task and a Linux process, under Bochs: blocked waits both ways, round trips, bad handles
	@nonce=$(NONCE); run=build/runs/uintr-cross; t0=$$(date +%s); \
	$(MACHINE) run --machine bochs --pvh $(GUEST_OUT)/vmlinux --pvh-loader $(GUEST_OUT)/pvh-loader \
	  --packed-vmlinux $(GUEST_OUT)/vmlinux.packed $(GUEST_MACHINE_ARGS) --initrd build/lab3/solution/initrd.img \
	  --cmdline '$(GUEST_CMDLINE_BOCHS) crtos_run=uintr-cross crtos_cross_n=$(CROSS_N) nonce='"$$nonce" \
	  --timeout 600 --quiet --run-dir $$run --transcript $$run/serial.log; \
	echo "test-uintr-cross: $$(( $$(date +%s) - t0 )) s wall"; \
	guest/check-uintr-cross.sh $$run/serial.log "$$nonce" $(CROSS_N)
