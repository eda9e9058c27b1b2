#!/bin/sh
# crtos_run=uintr: user interrupts between Linux threads on the stock kernel, through
# the crtos module (driver/module/uintr.c), first on bare metal, then under the
# hypervisor (lab 1's solution image), then the module's unload.
#
# Like the lab stages, this script decides nothing: each step's output lines and exit
# status, tagged with the phase and this run's nonce, e.g.
#     uintr: cycle linux: uintr-test pingpong 1000: uintr-pingpong: n=1000 median=97 p99=160 nonce=3f9c0e1a
# guest/check-uintr.sh says what each line must show.
STAGE=uintr
. /guest/stage-lib.sh   # say, step

# ANCHOR: steps
say "linux up on $(nproc) CPUs, meltdown: $(cat /sys/devices/system/cpu/vulnerabilities/meltdown)"
cycle=stock
step uintr-test testui
insmod /lib/crtos.ko || { say "cannot load crtos.ko"; exit 1; }
cycle=linux
step uintr-test testui
step uintr-test pingpong 1000
step uintr-test eventfd-pingpong 1000
step uintr-test wait
step uintr-test bad-index
step uintr-test bystander 400
step uintr-test thread-exit
cycle=hv
step crtosctl enable /images/hypervisor.img
step uintr-test pingpong 1000
step uintr-test exits 1000
step uintr-test wait
step crtosctl disable
cycle=unload
step rmmod crtos
step uintr-test testui
# The kernel's view: the module's lines, user faults, and anything that went wrong.
kernel_log() { dmesg | grep -E 'crtos|traps:|Oops|BUG|WARNING|Call Trace' || true; }
step kernel_log
# ANCHOR_END: steps
say "done"
