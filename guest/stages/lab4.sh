#!/bin/sh
# crtos_run=lab4: user interrupts. The hypervisor runs under Linux (lab 1) and starts
# the RTOS on the last CPU (lab 2); crtosd serves its forwarded calls (lab 3). Then:
#   rtos   RTOS tasks interrupt each other (rtos/user/uintr.c, launched by crtosctl run)
#   linux  Linux threads interrupt each other through the module, under the hypervisor
#          (uintr-test; guest/check-uintr.sh says what its lines must show)
#   cross  an RTOS task and a Linux thread interrupt each other (uintr-cross, uintr-test
#          cross)
#   uintr  forwarding with crtosd --notify uintr: lab 3's file test and benchmark
#
# This script decides nothing: it prints each step's output and exit status, tagged with
# the cycle and this run's nonce; what each check expects is in grader/src/labs/lab4.rs.
# The RTOS prints on COM2 (`[rtos] ...` lines).
STAGE=lab4
. /guest/stage-lib.sh   # say, step
JAIL=/tmp/jail
SOCKET=/run/crtosd.sock
BYTES=70000
BIN=/rtos-bin
ROUNDS=1000

# Two steps at once: $1 in the background, started first (a receiver the second one
# names), then, a second later, the rest in the foreground; then waits for both.
# (start_daemon and stop_daemon are stage-lib.sh's.)
pair() {
	first=$1
	shift
	step $first &
	pair_first=$!
	sleep 1
	step "$@"
	wait $pair_first
}

# ANCHOR: steps
insmod /lib/crtos.ko || { say "cannot load crtos.ko"; exit 1; }
say "linux up on $(nproc) CPUs"
cycle=setup
step crtosctl enable /images/hypervisor.img
# No run list: the RTOS's tasks are the ones crtosctl run starts, numbered from 1 in
# the order below (uintr's ping and pong, waker and sleeper name their peer's tid).
step crtosctl start-rtos /images/rtos.img "nonce=$nonce"
mkdir -p $JAIL/dev /run
mknod $JAIL/dev/null c 1 3
echo "written by linux $nonce" >$JAIL/linux.txt

cycle=rtos
start_daemon ipi
# Tasks 1 and 2: a ping-pong; 3 sleeps in uintr_wait until 4 wakes it; 5 and 6 fault.
pair "crtosctl run $BIN/uintr pong 2 $ROUNDS" crtosctl run $BIN/uintr ping 1 $ROUNDS
pair "crtosctl run $BIN/uintr sleeper" crtosctl run $BIN/uintr waker 3
step crtosctl run $BIN/uintr bad
step crtosctl run $BIN/uintr stale

# Linux threads under the hypervisor, the RTOS running beside them.
cycle=linux
step uintr-test pingpong $ROUNDS
step uintr-test wait
step uintr-test bad-index
step uintr-test bystander 400
step uintr-test exits $ROUNDS
say "cycle linux: done"

# The two swap their shared handles through files in `cross`: the task works in the
# jail's root, so Linux's side runs in $JAIL too and both name the same directory.
# ANCHOR: cross
cycle=cross
mkdir -p $JAIL/cross
(cd $JAIL && exec uintr-test cross cross $ROUNDS) >/tmp/linux-side.log 2>&1 &
linux_side=$!
step crtosctl run $BIN/uintr-cross cross $ROUNDS
wait $linux_side
linux_status=$?
while IFS= read -r line; do say "cycle $cycle: uintr-test cross cross $ROUNDS: $line"; done </tmp/linux-side.log
say "cycle $cycle: uintr-test cross cross $ROUNDS: exit $linux_status"
# ANCHOR_END: cross
stop_daemon

# Forwarding woken by user interrupts both ways (lab 3's test, as in its cycles).
cycle=uintr
$BIN/fwd-files pattern "$nonce" $BYTES >/tmp/expected.bin
start_daemon uintr
step crtosctl run $BIN/fwd-files check "$nonce" $BYTES
if cmp /tmp/expected.bin $JAIL/rtos-out.bin >/tmp/cmp.txt 2>&1; then
	say "cycle uintr: linux reads rtos-out.bin: equal to the pattern"
else
	say "cycle uintr: linux reads rtos-out.bin: $(head -1 /tmp/cmp.txt)"
fi
step crtosctl run $BIN/fwd-bench uintr $ROUNDS
stop_daemon

cycle=end
# The kernel's view: the module's lines, user faults, and anything that went wrong.
kernel_log() { dmesg | grep -E 'crtos|traps:|Oops|BUG|WARNING|Call Trace' || true; }
step kernel_log
sleep 1
step crtosctl stop-rtos
step crtosctl disable
# ANCHOR_END: steps
say "done"
