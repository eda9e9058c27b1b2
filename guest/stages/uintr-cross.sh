#!/bin/sh
# crtos_run=uintr-cross: lab 4's cross pair, user interrupts between an RTOS task and a
# Linux process. Lab 3's solution image: the hypervisor under Linux, the RTOS on CPU 1,
# crtosd polling. `uintr-test cross DIR N` starts first, in the background;
# `crtosctl run /rtos-bin/uintr-cross DIR N` then runs the RTOS side. The two swap
# their shared handles through files in DIR: the daemon's jail is $JAIL and the task
# works in its root, so DIR is the relative path `cross` for both (Linux's side runs
# in $JAIL too). Both refuse bad handles on the way (their -EINVAL/EINVAL lines).
#
# This script decides nothing: each step's output lines and exit status, tagged with
# the cycle and this run's nonce; guest/check-uintr-cross.sh says what each must show.
STAGE=uintr-cross
. /guest/stage-lib.sh   # say, step
JAIL=/tmp/jail
SOCKET=/run/crtosd.sock
BIN=/rtos-bin
ROUNDS=${crtos_cross_n:-200}

# ANCHOR: steps
insmod /lib/crtos.ko || { say "cannot load crtos.ko"; exit 1; }
say "linux up on $(nproc) CPUs"
cycle=setup
step crtosctl enable /images/hypervisor.img
step crtosctl start-rtos /images/rtos.img "nonce=$nonce"
mkdir -p $JAIL/cross /run
crtosd --root $JAIL --notify poll --socket $SOCKET >/tmp/crtosd.log 2>&1 &
daemon=$!
i=0
while [ ! -S $SOCKET ] && [ $i -lt 600 ] && kill -0 $daemon 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
say "cycle $cycle: crtosd --notify poll: socket $( [ -S $SOCKET ] && echo up || echo missing)"

cycle=cross
(cd $JAIL && exec uintr-test cross cross "$ROUNDS") >/tmp/linux-side.log 2>&1 &
linux_side=$!
step crtosctl run $BIN/uintr-cross cross "$ROUNDS"
wait $linux_side
linux_status=$?
while IFS= read -r line; do say "cycle $cycle: uintr-test cross cross $ROUNDS: $line"; done </tmp/linux-side.log
say "cycle $cycle: uintr-test cross cross $ROUNDS: exit $linux_status"
say "cycle $cycle: handle files: $(cd $JAIL/cross && ls | tr '\n' ' ')"

cycle=end
kill $daemon 2>/dev/null
wait $daemon
say "cycle $cycle: crtosd exit $?"
while IFS= read -r line; do say "cycle $cycle: crtosd log: $line"; done </tmp/crtosd.log
# Let the console drain before the hypervisor's lines on the shared UART.
sleep 1
step crtosctl stop-rtos
step crtosctl disable
kernel_log() { dmesg | grep -E 'crtos|traps:|Oops|BUG|WARNING|Call Trace' || true; }
step kernel_log
# ANCHOR_END: steps
say "done"
