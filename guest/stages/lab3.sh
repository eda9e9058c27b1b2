#!/bin/sh
# crtos_run=lab3: system calls forwarded from RTOS tasks to Linux. The hypervisor runs
# under Linux (lab 1) and starts the RTOS on CPU 1 (lab 2); the daemon crtosd serves the
# calls RTOS tasks forward over the shared ring, each task in a shadow context jailed in
# $JAIL; `crtosctl run` starts a Linux executable as an RTOS task whose output reaches
# this terminal. Once with the daemon polling, once woken by IPIs; then the daemon is
# killed during a call and started again.
#
# This script decides nothing: it prints each step's output and exit status, tagged with
# the cycle (the notification mode) and this run's nonce; what each check expects is in
# grader/src/labs/lab3.rs. The RTOS prints on COM2 (`[rtos] ...` lines).
STAGE=lab3
. /guest/stage-lib.sh   # say, step
JAIL=/tmp/jail
SOCKET=/run/crtosd.sock
BYTES=70000
BIN=/rtos-bin
# start_daemon MODE and stop_daemon: stage-lib.sh.
daemon_fds() { ls /proc/$daemon/fd | wc -l; }

# ANCHOR: steps
insmod /lib/crtos.ko || { say "cannot load crtos.ko"; exit 1; }
say "linux up on $(nproc) CPUs"
cycle=setup
step crtosctl enable /images/hypervisor.img
# No run list: the RTOS waits for the programs crtosctl run sends it.
step crtosctl start-rtos /images/rtos.img "nonce=$nonce"
mkdir -p $JAIL/dev /run
mknod $JAIL/dev/null c 1 3
echo "written by linux $nonce" >$JAIL/linux.txt
echo "SECRET-$nonce" >/tmp/secret.txt
ln -s /tmp/secret.txt $JAIL/link-out
printf 'not an ELF file\n' >/tmp/not-elf
chmod +x /tmp/not-elf
$BIN/fwd-files pattern "$nonce" $BYTES >/tmp/expected.bin
# The same program natively, for the benchmark's baseline: a Linux system call.
step $BIN/fwd-bench linux 1000

for cycle in poll ipi; do
	start_daemon $cycle
	say "cycle $cycle: daemon fds before: $(daemon_fds)"
	# Relative paths: the task works in its shadow, whose / and working directory are $JAIL.
	step crtosctl run $BIN/fwd-files check "$nonce" $BYTES
	if cmp /tmp/expected.bin $JAIL/rtos-out.bin >/tmp/cmp.txt 2>&1; then
		say "cycle $cycle: linux reads rtos-out.bin: equal to the pattern"
	else
		say "cycle $cycle: linux reads rtos-out.bin: $(head -1 /tmp/cmp.txt)"
	fi
	step crtosctl run $BIN/fwd-exit 7
	step crtosctl run $BIN/fault null
	step crtosctl run /tmp/not-elf
	say "cycle $cycle: daemon fds after: $(daemon_fds)"
	step crtosctl run $BIN/fwd-bench $cycle 1000
	rm -rf $JAIL/rtos-out.bin
	stop_daemon
done

# The daemon killed while a task's call is in flight: the call fails with EIO (fwd-eio
# exits with the milliseconds it took), the RTOS lives on, rejects a broken daemon's
# answers, and a new daemon serves again.
cycle=kill
start_daemon ipi
crtosctl run $BIN/fwd-eio >/tmp/eio.log 2>&1 &
runner=$!
sleep 3
kill -KILL $daemon
wait $runner
say "cycle $cycle: crtosctl run fwd-eio: exit $? after the daemon was killed"
wait $daemon 2>/dev/null
sleep 1
step crtosctl shared
# A broken daemon on purpose: answers to no request, a bad status. The RTOS rejects and
# counts them, and serves the next daemon as before.
step crtosctl ring-garbage
start_daemon ipi
step crtosctl run $BIN/fwd-exit 0
stop_daemon
step crtosctl shared

cycle=end
# The hypervisor logs the stop on the UART Linux's console shares: let the console
# drain the lines above first, or the two interleave.
sleep 1
step crtosctl stop-rtos
step crtosctl disable
# ANCHOR_END: steps
say "done"
