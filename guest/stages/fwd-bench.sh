#!/bin/sh
# crtos_run=fwd-bench (make fwd-bench): the cost of a forwarded system call. The
# hypervisor and the RTOS start as in lab 3; for each notification mode crtosd runs in,
# the RTOS task fwd-bench times $crtos_fwd_n one-byte writes to the shadow's /dev/null
# and 1 MiB of 4 KiB writes; the same binary natively on Linux is the baseline. Prints
# the programs' own lines:
#   latency: mode=<linux|poll|ipi|uintr> n=<N> median=<cycles> p99=<cycles> nonce=..
#   throughput: mode=<...> bytes=<B> cycles=<C> bytes_per_kcycle=<..> nonce=..
STAGE=fwd-bench
. /guest/stage-lib.sh   # say
n=${crtos_fwd_n:-1000}
modes=$(echo "${crtos_fwd_modes:-poll,ipi,uintr}" | tr , ' ')
limit=240   # seconds (Bochs) for one mode's run
fail() { say "$*"; exit 1; }
insmod /lib/crtos.ko || fail "cannot load crtos.ko"
crtosctl enable /images/hypervisor.img >/dev/null || fail "crtosctl enable failed"
crtosctl start-rtos /images/rtos.img "nonce=$nonce" >/dev/null || fail "crtosctl start-rtos failed"
mkdir -p /tmp/jail/dev /run && mknod /tmp/jail/dev/null c 1 3
NONCE=$nonce /rtos-bin/fwd-bench linux "$n"
for mode in $modes; do
	rm -f /run/crtosd.sock   # the last daemon's, or the wait below ends at once
	crtosd --root /tmp/jail --notify "$mode" >/tmp/crtosd.log 2>&1 &
	daemon=$!
	i=0
	while [ ! -S /run/crtosd.sock ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	# A mode that hangs is named, with the daemon's log and the driver's lines, and
	# the next mode still runs.
	if ! timeout $limit crtosctl run /rtos-bin/fwd-bench "$mode" "$n"; then
		say "fwd-bench in mode $mode failed (or took over $limit s)"
		cat /tmp/crtosd.log
		dmesg | grep crtos | tail -n 20
		crtosctl shared
	fi
	grep -E '^crtosd: (serving|uintr)' /tmp/crtosd.log | while IFS= read -r line; do say "$line"; done
	kill $daemon
	wait $daemon
done
crtosctl stop-rtos >/dev/null && crtosctl disable >/dev/null || fail "could not stop the RTOS and disable"
say "done"
