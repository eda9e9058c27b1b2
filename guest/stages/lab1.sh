#!/bin/sh
# crtos_run=lab1: the hypervisor under the running Linux. The driver enters it on every
# CPU; Linux goes on as its guest; user programs look at it from inside; DISABLE gives
# the machine back. Three times.
#
# This script decides nothing. It runs each step and prints what the step printed and
# how it exited, every line tagged with the cycle, the command and this run's nonce
# (the kernel's nonce= parameter reaches init as an environment variable):
#     lab1: cycle 1: crtosctl query: hypervisor version 0x1, features 0x0 nonce=3f9c0e1a
#     lab1: cycle 1: crtosctl query: exit 0 nonce=3f9c0e1a
# What each check expects of these lines is in grader/src/labs/lab1.rs.
STAGE=lab1
. /guest/stage-lib.sh   # say, step

# ANCHOR: steps
insmod /lib/crtos.ko || { say "cannot load crtos.ko"; exit 1; }
say "linux up on $(nproc) CPUs"
for cycle in 1 2 3; do
	step crtosctl enable /images/hypervisor.img
	# Pinned to each online CPU in turn: Linux runs user programs everywhere, as a guest.
	step crtosctl cpuid
	step crtosctl cpu-features
	step crtosctl query
	step crtosctl hypercall 999
	step crtosctl user-vmcall 3
	step crtosctl probe-read 0x100
	step crtosctl disable
	step crtosctl cpuid
done
# ANCHOR_END: steps
say "done"
