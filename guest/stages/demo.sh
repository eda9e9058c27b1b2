#!/bin/sh
# crtos_run=demo (`make demo`): the whole compounded system, one stage at a time. Each
# stage says in one line what it shows, then runs, bounded by a time limit of its own:
# a stage that hangs is killed and named, and the demo goes on to shut down cleanly.
#   1. Linux loads the driver and enables the hypervisor on every CPU (lab 1)
#   2. the hypervisor starts the RTOS on a CPU Linux gives up (lab 2)
#   3. `crtosctl run` starts Linux executables on the RTOS; their file and terminal calls
#      are forwarded to the daemon crtosd, polling, then woken by IPIs (lab 3), then
#      by user interrupts both ways (lab 4)
#   4. the same real-time program on the RTOS and on Linux, under a Linux load
#   5. the tables: `latency:` (forwarded calls) and `jitter:` (wake-up latency) lines
#   6. the RTOS stopped, the hypervisor disabled, Linux powers off
nonce=${nonce:--}
stage_no=0
failed=""
# stage SECONDS "WHAT IT SHOWS" COMMAND...: one line, then the command (a function or a
# program) in a subshell, with a watchdog that kills it and its children at the limit.
stage() {
	limit=$1 what=$2
	shift 2
	stage_no=$((stage_no + 1))
	echo
	echo "demo: [$stage_no] $what"
	("$@") &
	job=$!
	(sleep "$limit"; pkill -P $job; kill $job) 2>/dev/null &
	watchdog=$!
	wait $job
	rc=$?
	kill $watchdog 2>/dev/null
	[ $rc -eq 0 ] && return 0
	if [ $rc -ge 128 ]; then
		echo "demo: stage $stage_no ($what) hung: killed after ${limit}s"
	else
		echo "demo: stage $stage_no ($what) failed (exit $rc)"
	fi
	failed="$failed $stage_no"
	return $rc
}
JAIL=/tmp/jail
RESULTS=/tmp/results
N=300
PERIODS=500

setup_jail() {
	mkdir -p $JAIL/dev /run && mknod $JAIL/dev/null c 1 3
	echo "a file Linux wrote" >$JAIL/linux.txt
}
start_daemon() {
	crtosd --root $JAIL --notify "$1" >/tmp/crtosd-$1.log 2>&1 &
	echo $! >/tmp/crtosd.pid
	while [ ! -S /run/crtosd.sock ]; do sleep 0.1; done
	echo "crtosd is serving (notify=$1)"
}
# The daemon is not this shell's child (a stage's subshell started it): wait by polling.
stop_daemon() {
	pid=$(cat /tmp/crtosd.pid)
	kill "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	rm -f /run/crtosd.sock
}
enable() {
	insmod /lib/crtos.ko && crtosctl enable /images/hypervisor.img && crtosctl status | head -n 1
}
start_rtos() { crtosctl start-rtos /images/rtos.img "nonce=$nonce" && crtosctl status | head -n 1; }
restart_daemon() { stop_daemon && start_daemon "$1"; }
exit_status() {
	crtosctl run /rtos-bin/fwd-exit 3
	echo "crtosctl exited with $?"
}
bench_linux() { NONCE=$nonce /rtos-bin/fwd-bench linux $N | tee -a $RESULTS; }
shut_down() { stop_daemon; crtosctl stop-rtos && crtosctl disable && crtosctl status | head -n 1; }
files_demo() {
	crtosctl run /rtos-bin/fwd-files check "$nonce" 70000 && ls -l $JAIL/rtos-out.bin
}
bench() { crtosctl run /rtos-bin/fwd-bench "$1" $N | tee -a $RESULTS; }
# rt-periodic on the RTOS (launched from Linux) and on Linux (pinned to its last CPU) at
# once, while a checksum loop loads CPU 0.
jitter() {
	taskset 1 sh -c 'while :; do md5sum /bin/busybox >/dev/null; done' &
	load=$!
	crtosctl run /rtos-bin/rt-periodic --side rtos --period-us 1000 --count $PERIODS --prio 90 \
		>/tmp/rt-rtos.out 2>&1 &
	rtos=$!
	NONCE=$nonce /rtos-bin/rt-periodic --side linux --period-us 1000 --count $PERIODS --prio 80 \
		--cpu $(($(nproc) - 1)) >/tmp/rt-linux.out 2>&1
	wait $rtos
	kill $load
	grep -h '^jitter:' /tmp/rt-rtos.out /tmp/rt-linux.out | tee -a $RESULTS
}
tables() {
	echo "forwarded write of 1 byte, TSC cycles (Bochs: emulated, see the book):"
	grep '^latency:' $RESULTS | sed 's/ nonce=.*//'
	echo "wake-up latency of a 1 ms periodic task under a Linux load:"
	grep '^jitter:' $RESULTS | sed 's/ nonce=.*//'
}

stage 30 "Linux is up on $(nproc) CPUs: load the driver, enable the hypervisor under every CPU" \
	enable || exit 1
stage 60 "Linux gives up CPU $(($(nproc) - 1)); the hypervisor starts the RTOS there (INIT-SIPI-SIPI)" \
	start_rtos || exit 1
setup_jail
: >$RESULTS
stage 30 "start the daemon crtosd (it polls the ring)" start_daemon poll
stage 60 "crtosctl run: an RTOS task writes 70000 bytes to a Linux file and reads them back" files_demo
stage 60 "crtosctl run: the task's status is crtosctl's: fwd-exit 3 exits 3" \
	exit_status
stage 120 "the cost of a forwarded call, polling" bench poll
stage 30 "the daemon again, now sleeping in the driver, woken by IPIs" restart_daemon ipi
stage 120 "the cost of a forwarded call, with IPIs" bench ipi
stage 30 "the daemon again, now woken by the RTOS's SENDUIPI and waking it with its own" \
	restart_daemon uintr
stage 120 "the cost of a forwarded call, with user interrupts" bench uintr
stage 60 "the native Linux system call, for comparison" bench_linux
stage 120 "the same real-time task on the RTOS and on Linux, $PERIODS periods of 1 ms, Linux loaded" jitter
stage 10 "the tables" tables
stage 30 "stop the daemon and the RTOS (its CPU returns to Linux), disable the hypervisor" \
	shut_down
echo
[ -z "$failed" ] && echo "demo: all $stage_no stages done; Linux powers off" ||
	{ echo "demo: stages that failed:$failed"; exit 1; }
