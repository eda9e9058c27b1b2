# The UINTR check (crates/uintr-check): a bare-metal kernel that proves the project's
# Bochs emulates user interrupts correctly (our fixes in scripts/bochs-patches) and
# the facts lab 4 relies on. Included by the top-level Makefile; part of `make test`.
UINTR_CHECK := target/release/uintr-check

.PHONY: uintr-check test-uintr

uintr-check: $(UINTR_CHECK) ## Build the UINTR check kernel
$(UINTR_CHECK): FORCE
	$(CARGO) build --release -q -p uintr-check

# One nonce per run (NONCE is a new token at every expansion): the kernel's summary
# line must carry it. CRTOS_BOCHS=<path> runs another Bochs build (e.g. an unpatched one).
test-uintr: $(UINTR_CHECK) $(MACHINE) ## UINTR on Bochs, 2 CPUs: SENDUIPI's register, UIRET, self/cross-CPU, held at CPL 0
	@nonce=$(NONCE); run=build/runs/uintr-check; \
	$(MACHINE) run --machine bochs --kernel $(UINTR_CHECK) --cpus 2 --cmdline "nonce=$$nonce" \
	  --run-dir $$run --timeout 120 --quiet; status=$$?; \
	grep '^uintr-check:' $$run/serial.log | sed "s/ nonce=$$nonce$$//"; \
	grep -q "^uintr-check: .* checks passed nonce=$$nonce$$" $$run/serial.log || \
	  { echo "test-uintr: no summary line with this run's nonce (see $$run/serial.log)" >&2; exit 1; }; \
	exit $$status
