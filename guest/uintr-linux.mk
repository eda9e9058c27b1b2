# User interrupts between Linux threads on the stock kernel (driver/module/uintr.c,
# driver/uintr-test): the guest stage guest/stages/uintr.sh under Bochs, on bare metal
# and under lab 1's solution hypervisor, checked by guest/check-uintr.sh. Included by
# the top-level Makefile; part of `make test`.
.PHONY: test-uintr-linux

test-uintr-linux: $(MACHINE) $(GUEST_PVH_FILES) $(GUEST_HV_INITRD) ## UINTR on Linux through the module, under Bochs: ping-pong, blocked wait, bad index, a bystander, no VM exits added
	@nonce=$(NONCE); run=build/runs/uintr-linux; \
	$(MACHINE) run --machine bochs --pvh $(GUEST_OUT)/vmlinux --pvh-loader $(GUEST_OUT)/pvh-loader \
	  --packed-vmlinux $(GUEST_OUT)/vmlinux.packed $(GUEST_MACHINE_ARGS) --initrd $(GUEST_HV_INITRD) \
	  --cmdline '$(GUEST_CMDLINE_BOCHS) crtos_run=uintr nonce='"$$nonce" --timeout 300 --quiet \
	  --run-dir $$run --transcript $$run/serial.log; \
	guest/check-uintr.sh $$run/serial.log "$$nonce"
