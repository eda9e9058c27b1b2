#!/bin/sh
# crtos_run=lab2: the compounded system. The hypervisor runs under Linux (lab 1); then
# Linux gives its last CPU up and the hypervisor starts the RTOS there (lab 2), while
# Linux keeps CPU 0. Bad starts first (a bad image, one that hangs: nothing may change),
# then start, look, stop, three times. The RTOS prints on COM2 (its lines reach the transcript as `[rtos] ...`).
#
# This script decides nothing: it prints each step's output and exit status, tagged with
# the step and this run's nonce; what each check expects is in grader/src/labs/lab2.rs.
STAGE=lab2
. /guest/stage-lib.sh   # say, step
online() { say "cycle $cycle: cpus online: $(cat /sys/devices/system/cpu/online)"; }
# The RTOS's run list: two tasks of one priority that yield to each other, and hello.
RUN_LIST="run=spin@10:A:3:yield run=spin@10:B:3:yield run=hello@40:a:b nonce=$nonce"
# Where the RTOS's range starts in the reservation, as the driver says.
rtos_offset() {
	st=$(crtosctl status)
	base=$(echo "$st" | sed -n 's/^reservation: \(0x[0-9a-f]*\)-.*/\1/p')
	rtos=$(echo "$st" | sed -n 's/^ *rtos *\(0x[0-9a-f]*\) .*/\1/p')
	echo $((rtos - base))
}

# ANCHOR: steps
insmod /lib/crtos.ko || { say "cannot load crtos.ko"; exit 1; }
say "linux up on $(nproc) CPUs"
cycle=0
step crtosctl enable /images/hypervisor.img
crtosctl make-test-image --kind rtos --corrupt magic /tmp/bad-rtos.img >/dev/null
step crtosctl start-rtos /tmp/bad-rtos.img "$RUN_LIST"
online
# A valid image whose entry spins (jmp $): it never says it entered, so the start times
# out, and the CPU comes back to Linux, inside the hypervisor.
crtosctl make-test-image --kind rtos --corrupt hang /tmp/hang-rtos.img >/dev/null
step crtosctl start-rtos /tmp/hang-rtos.img "$RUN_LIST"
online
step crtosctl cpuid
for cycle in 1 2 3; do
	step crtosctl start-rtos /images/rtos.img $RUN_LIST
	online
	# Linux goes on: a user program on every CPU it still has.
	step crtosctl cpuid
	if [ $cycle = 1 ]; then
		step crtosctl status
		step crtosctl start-rtos /images/rtos.img $RUN_LIST
		step crtosctl disable
		# The hypervisor logs the denied read on the UART at once, while Linux's
		# console may still be sending the lines above: let it drain first.
		sleep 1
		step crtosctl probe-read $(($(rtos_offset) + 0x100))
	fi
	sleep 1
	step crtosctl stop-rtos
	online
	step crtosctl cpuid
done
cycle=4
step crtosctl disable
dmesg | grep -E 'crtos: (start-up page|RTOS|the hypervisor did not)' | while IFS= read -r line; do
	say "dmesg: ${line#\[*\] }"
done
# ANCHOR_END: steps
say "done"
