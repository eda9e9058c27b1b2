#!/bin/sh
# crtos_run=lab1: the hypervisor under the running Linux. The driver enters it on every
# CPU; Linux goes on as its guest; user programs check it from inside; DISABLE gives
# the machine back. Three times. Every line a grader checks carries this run's nonce
# (the kernel's nonce= parameter reaches init as an environment variable).
nonce=${nonce:--}
say() { echo "lab1: $* nonce=$nonce"; }
fail=0
check() { # description, then the command; prints PASS/FAIL with the command's output
	what=$1
	shift
	if out=$("$@" 2>&1); then
		say "$what: PASS"
	else
		say "$what: FAIL"
		fail=$((fail + 1))
	fi
	echo "$out" | sed 's/^/    /'
}
expect() { # description, a pattern the output must contain, then the command
	what=$1
	pattern=$2
	shift 2
	out=$("$@" 2>&1)
	if echo "$out" | grep -q -- "$pattern"; then
		say "$what: PASS"
	else
		say "$what: FAIL"
		fail=$((fail + 1))
	fi
	echo "$out" | sed 's/^/    /'
}

insmod /lib/crtos.ko || { say "cannot load crtos.ko"; exit 1; }
cpus=$(nproc)
say "linux up on $cpus CPUs"
for cycle in 1 2 3; do
	check "cycle $cycle: enable" crtosctl enable /images/hypervisor.img
	# Pinned to each online CPU in turn: Linux runs user programs everywhere, as a guest.
	expect "cycle $cycle: CPUID signature on every CPU" "cpu $((cpus - 1)): CPUID 0x40000000 = crtos-lab-hv" \
		sh -c "crtosctl cpuid | grep -c 'crtos-lab-hv' | grep -qx $cpus && crtosctl cpuid"
	expect "cycle $cycle: QUERY answers version 1" "version 0x1" crtosctl query
	expect "cycle $cycle: unknown hypercall returns -ENOSYS" "hypercall 999: -38 (-ENOSYS)" crtosctl hypercall 999
	expect "cycle $cycle: hypercall from user mode returns -EPERM" "user-mode vmcall 3: -1 (-EPERM)" crtosctl user-vmcall 3
	expect "cycle $cycle: reading the hypervisor's memory is denied" "reservation+0x100: 0xffffffffffffffff" \
		crtosctl probe-read 0x100
	check "cycle $cycle: disable" crtosctl disable
	expect "cycle $cycle: signature gone after disable" "(no hypervisor)" crtosctl cpuid
done
say "$fail failure(s)"
[ "$fail" -eq 0 ]
