#!/bin/sh
# In-guest tests of the crtos driver and crtosctl, run by init for crtos_run=tests.
# Each test prints one line the host checks (guest/check-transcript.sh):
#   guest-test: NAME: PASS | FAIL: why | SKIP: why
# then a summary line. Exit status 0 only if nothing failed.
# A test is a shell function that prints why it failed and returns non-zero.
KO=/lib/crtos.ko
IMG=/images
pass=0 fail=0 skip=0

run_test() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		echo "guest-test: $name: PASS"
		pass=$((pass + 1))
	else
		echo "guest-test: $name: FAIL: $(echo "$out" | tail -n 4 | tr '\n' ' ')"
		fail=$((fail + 1))
	fi
}
skip_test() {
	echo "guest-test: $1: SKIP: $2"
	skip=$((skip + 1))
}

# expect_failure CMD...: the command must fail and its message must contain each of
# the strings given after "--".
expect_failure() {
	cmd=""
	while [ "$1" != "--" ]; do cmd="$cmd $1"; shift; done
	shift
	if msg=$($cmd 2>&1); then
		echo "'$cmd' succeeded: $msg"
		return 1
	fi
	for want in "$@"; do
		case "$msg" in
		*"$want"*) ;;
		*) echo "'$cmd' said '$msg', expected it to mention '$want'"; return 1 ;;
		esac
	done
}

# The driver must still be loaded, disabled, with every CPU online.
state_is_sane() {
	st=$(crtosctl status 2>&1) || { echo "status failed: $st"; return 1; }
	case "$st" in *"state: disabled"*) ;; *) echo "state changed: $st"; return 1 ;; esac
	case "$st" in *"online cpus: $(nproc)"*) ;; *) echo "a CPU went missing: $st"; return 1 ;; esac
}

cmdline=$(cat /proc/cmdline)
want_features=""
case " $cmdline " in *" crtos_expect=vmx,uintr "*) want_features=1 ;; esac

# ---------------------------------------------------------------- CPU features
cpu_has_vmx_and_uintr() {
	n=$(grep -c '^flags.* vmx' /proc/cpuinfo)
	[ "$n" = "$(nproc)" ] || { echo "vmx in /proc/cpuinfo on $n of $(nproc) CPUs"; return 1; }
	# Linux 6.1 has no name for UINTR, so read CPUID.(7,0):EDX[5] directly.
	crtosctl cpu-features | grep -qx 'uintr: yes' || { crtosctl cpu-features; return 1; }
}
echo "guest-info: cpu: $(crtosctl cpu-features | tr '\n' ' ')cpus=$(nproc)"
if [ -n "$want_features" ]; then
	run_test cpu-vmx-uintr cpu_has_vmx_and_uintr
fi

# ---------------------------------------------------------------- loading
no_driver_message() {
	expect_failure crtosctl status -- "driver is not loaded" "insmod"
}
run_test no-driver-message no_driver_message

refuses_missing_reservation() {
	# 0x30000000 lies beyond the guest's 512 MiB: no memmap= reservation there.
	if out=$(insmod $KO reserved_base=0x30000000 2>&1); then
		rmmod crtos
		echo "insmod without a reservation succeeded"
		return 1
	fi
	case "$out" in *"Cannot allocate memory"*) ;; *) echo "insmod said: $out (want ENOMEM)"; return 1 ;; esac
	dmesg | grep -q 'memmap=52M\$0x30000000' || { echo "no kernel log line naming memmap=: $(dmesg | tail -n 2)"; return 1; }
	[ ! -e /dev/crtos ] || { echo "/dev/crtos exists after a failed load"; return 1; }
	! grep -q '^crtos ' /proc/modules || { echo "module listed after a failed load"; return 1; }
	! grep -q crtos /proc/iomem || { echo "iomem claims left behind"; return 1; }
}
run_test missing-reservation-enomem refuses_missing_reservation

module_loads() {
	insmod $KO || return 1
	grep -q '^crtos ' /proc/modules || { echo "crtos not in /proc/modules"; return 1; }
}
run_test module-loads module_loads

device_node() {
	[ -c /dev/crtos ] || { echo "/dev/crtos is not a character device: $(ls -l /dev/crtos 2>&1)"; return 1; }
}
run_test device-node device_node

iomem_reservation() {
	for line in "10000000-133fffff : Reserved" "10000000-10ffffff : crtos-hypervisor" \
		"11000000-12ffffff : crtos-rtos" "13000000-133fffff : crtos-shared"; do
		grep -q "$line" /proc/iomem || { echo "/proc/iomem lacks '$line':"; grep -i -e reserved -e crtos /proc/iomem; return 1; }
	done
}
run_test iomem-reservation iomem_reservation

status_disabled() {
	state_is_sane || return 1
	if [ -n "$want_features" ]; then
		all=$(seq -s, 0 $(($(nproc) - 1)))
		crtosctl status | grep -qx "vmx cpus: $all" || { crtosctl status; return 1; }
		crtosctl status | grep -qx "uintr cpus: $all" || { crtosctl status; return 1; }
	fi
}
run_test status-disabled status_disabled
echo "guest-info: $(crtosctl status | grep cpus | tr '\n' ' ')"

# ---------------------------------------------------------------- bad images
for c in magic version header-size image-size entry percpu too-big checksum flags truncated; do
	reason=$c
	[ "$c" = truncated ] && reason=too-small
	bad_hv_image() {
		expect_failure crtosctl enable $IMG/hv-$1.img -- "(EINVAL)" "[reason: $2]" "nothing changed" || return 1
		state_is_sane
	}
	run_test "enable-rejects-$c" bad_hv_image "$c" "$reason"
done

rtos_image_as_hypervisor() {
	expect_failure crtosctl enable $IMG/rtos-none.img -- "(EINVAL)" "[reason: magic]" && state_is_sane
}
run_test enable-rejects-rtos-image rtos_image_as_hypervisor

missing_file() {
	expect_failure crtosctl enable /images/no-such.img -- "cannot read the image" && state_is_sane
}
run_test enable-missing-file missing_file

# A header that passes every check, over a body that is not a hypervisor: the driver
# must not jump into it.
valid_header_not_code() {
	expect_failure crtosctl enable $IMG/hv-none.img -- "(EINVAL)" "[reason: not-code]" "nothing changed" || return 1
	state_is_sane
}
run_test enable-refuses-a-body-that-is-not-code valid_header_not_code

# These two need an ENABLE that succeeds: a hypervisor image in /images (make's
# GUEST_TEST_INITRD, lab 1's solution image) and VMX on every CPU (Bochs).
HV=/images/hypervisor.img
enable_twice() {
	crtosctl enable $HV || return 1
	expect_failure crtosctl enable $HV -- "(EBUSY)" "already enabled" || return 1
	crtosctl status | grep -q '^state: enabled' || { crtosctl status; return 1; }
}
unload_while_enabled() {
	crtosctl status | grep -q '^state: enabled' || crtosctl enable $HV || return 1
	if rmmod crtos 2>/dev/null; then
		echo "rmmod succeeded while the hypervisor ran"
		return 1
	fi
	[ -c /dev/crtos ] || { echo "/dev/crtos vanished"; return 1; }
	crtosctl disable || return 1
	state_is_sane
}
# CPU hot-plug is blocked while the hypervisor runs: taking CPU 1 offline fails with
# EBUSY and changes nothing; after DISABLE it works again.
hotplug_blocked_while_enabled() {
	online=/sys/devices/system/cpu/cpu1/online
	[ -f $online ] || { echo "no $online"; return 1; }
	crtosctl status | grep -q '^state: enabled' || crtosctl enable $HV || return 1
	if msg=$(sh -c "echo 0 > $online" 2>&1); then
		echo 1 >$online
		echo "CPU 1 went offline while the hypervisor ran"
		return 1
	fi
	case "$msg" in *[Bb]usy*) ;; *) echo "offline attempt said '$msg', want EBUSY"; return 1 ;; esac
	[ "$(cat $online)" = 1 ] || { echo "CPU 1 is not online any more"; return 1; }
	dmesg | grep -q "CPU hot-plug blocked until disable" || { echo "no log line says why"; return 1; }
	crtosctl cpuid >/dev/null || { echo "the hypervisor stopped answering"; return 1; }
	crtosctl disable || return 1
	echo 0 >$online || { echo "offline after disable failed"; return 1; }
	echo 1 >$online || { echo "online after disable failed"; return 1; }
	state_is_sane
}
# Linux sends NMIs while it is a guest (here: sysrq's backtrace of every CPU). Those
# that hit a CPU inside the hypervisor are handed back; none may stop the machine.
# CPU 0 meanwhile runs CPUID and VMCALL loops (crtosctl bench), so that it spends most
# of its time handling VM exits and NMIs keep arriving there.
nmis_while_enabled() {
	[ -w /proc/sysrq-trigger ] || { echo "no /proc/sysrq-trigger"; return 1; }
	crtosctl status | grep -q '^state: enabled' || crtosctl enable $HV || return 1
	(for _ in 1 2 3 4 5 6 7 8; do crtosctl bench >/dev/null; done) &
	for _ in 1 2 3 4 5 6 7 8 9 10; do echo l >/proc/sysrq-trigger; done
	wait
	after=$(dmesg | grep -c 'NMI backtrace for cpu')
	[ "$after" -ge 2 ] || { echo "no NMI backtraces in the kernel log: $(dmesg | tail -n 3)"; return 1; }
	crtosctl cpuid >/dev/null || { echo "the hypervisor stopped answering"; return 1; }
	crtosctl disable || return 1
	state_is_sane
}
# Lab 3: under the hypervisor the shared region is Linux's (the daemon maps it), while
# the hypervisor's and the RTOS's ranges stay closed: all-ones, and each read counted.
shared_open_under_hv() {
	crtosctl status | grep -q '^state: enabled' || crtosctl enable $HV || return 1
	crtosctl check-shared || return 1
	# The driver's own mapping: the control page's magic, "CRTOSCP1" little-endian.
	crtosctl probe-read $((0x3000000)) | grep -q ': 0x315043534f545243$' || { crtosctl probe-read $((0x3000000)); return 1; }
	denied() { crtosctl exits | sed -n 's/.*(\([0-9]*\) denied accesses).*/\1/p'; }
	before=$(denied)
	for off in 0x100 $((0x1000000 + 0x100)); do
		out=$(taskset 1 crtosctl probe-read $off)
		case "$out" in *": 0xffffffffffffffff") ;; *) echo "closed $off: $out"; return 1 ;; esac
	done
	after=$(denied)
	[ "$after" -ge $((before + 2)) ] || { echo "denied accesses on CPU 0: $before, then $after"; return 1; }
	crtosctl disable || return 1
	state_is_sane
}
if [ -f $HV ] && [ "$(grep -c '^flags.* vmx' /proc/cpuinfo)" = "$(nproc)" ]; then
	run_test enable-twice-ebusy enable_twice
	run_test unload-while-enabled unload_while_enabled
	run_test hotplug-blocked-while-enabled hotplug_blocked_while_enabled
	run_test nmis-while-enabled nmis_while_enabled
	run_test shared-open-under-hypervisor shared_open_under_hv
	# Whatever happened above, leave the machine on bare metal for the tests below.
	crtosctl status | grep -q '^state: enabled' && crtosctl disable >/dev/null
else
	skip_test enable-twice-ebusy "needs $HV and VMX on every CPU"
	skip_test unload-while-enabled "needs $HV and VMX on every CPU"
	skip_test hotplug-blocked-while-enabled "needs $HV and VMX on every CPU"
	skip_test nmis-while-enabled "needs $HV and VMX on every CPU"
	skip_test shared-open-under-hypervisor "needs $HV and VMX on every CPU"
fi

# ---------------------------------------------------------------- not enabled
disable_not_enabled() {
	expect_failure crtosctl disable -- "(ENODEV)" "nothing to disable" && state_is_sane
}
run_test disable-not-enabled disable_not_enabled

start_rtos_not_enabled() {
	expect_failure crtosctl start-rtos $IMG/rtos-none.img -- "(ENODEV)" "crtosctl enable" && state_is_sane
}
run_test start-rtos-not-enabled start_rtos_not_enabled

start_rtos_bad_image() {
	expect_failure crtosctl start-rtos $IMG/rtos-checksum.img -- "(EINVAL)" "[reason: checksum]" || return 1
	expect_failure crtosctl start-rtos $IMG/hv-none.img -- "(EINVAL)" "[reason: magic]" || return 1
	state_is_sane
}
run_test start-rtos-rejects-bad-image start_rtos_bad_image

query_not_enabled() {
	expect_failure crtosctl query -- "(ENODEV)" "no hypervisor is running" && state_is_sane
}
run_test query-not-enabled query_not_enabled

# ---------------------------------------------------------------- shared region
run_test shared-mmap crtosctl check-shared

# ---------------------------------------------------------------- lab 3: the daemon's file
# `crtosctl shared` prints the control page (key: value); the hidden `crtosctl
# daemon-file STEP...` makes the daemon's calls one at a time, printing each answer
# (driver/ctl/src/daemon_file.rs). No RTOS runs here: what the RTOS does with the
# vector and the liveness flag is tested where it runs (lab 3's stage).
control() { crtosctl shared | sed -n "s/^$1: //p"; }

# After insmod (and after check-shared above, which must leave it alone): the header,
# and a vector from Linux's allocator that really is ours.
control_page_after_load() {
	[ "$(control magic)" = "ok (CRTOSCP1, version 1, size 1216)" ] || { crtosctl shared; return 1; }
	v=$(control linux_vector)
	# Above the exceptions, below the system vectors (6.1: 0xec and up).
	[ $((v)) -gt 32 ] && [ $((v)) -lt $((0xec)) ] || { echo "linux_vector $v is not a device vector"; return 1; }
	dmesg | grep -q "crtos: notifications from the RTOS on vector $v, APIC ID $(control linux_apic_id) (irq [0-9]*, CPU 0)" ||
		{ echo "no log line for vector $v: $(dmesg | grep crtos: | tail -n 3)"; return 1; }
	grep -q 'crtos-notify' /proc/interrupts || { echo "no crtos-notify in /proc/interrupts"; return 1; }
	# Taken on CPU 0: its APIC ID.
	apic0=$(awk '/^apicid/ { print $3; exit }' /proc/cpuinfo)
	[ "$(control linux_apic_id)" = "$apic0" ] || { echo "linux_apic_id $(control linux_apic_id), CPU 0's APIC ID $apic0"; return 1; }
	[ "$(control daemon_alive)" = 0 ] || { echo "a daemon is alive before any attached"; return 1; }
}
run_test control-page-after-load control_page_after_load

# Every answer of the driver to the daemon's calls, in one process: two files, the
# second refused while the first is attached, then attached once the first is closed.
daemon_file_answers() {
	g=$(control daemon_generation)
	want="open:a: ok
attach:a:poll: $((g + 1))
open:b: ok
attach:b:poll: EBUSY
attach:b:7: EINVAL
read:b: EPERM
poll:b: 0x8
notify:b: EPERM
read:a: EAGAIN
poll:a: 0x0
notify:a: ENXIO
close:a: ok
attach:b:ipi: $((g + 2))"
	got=$(crtosctl daemon-file open:a attach:a:poll open:b attach:b:poll attach:b:7 read:b poll:b \
		notify:b read:a poll:a notify:a close:a attach:b:ipi 2>&1)
	[ "$got" = "$want" ] || { echo "got: $(echo "$got" | tr '\n' '|')"; return 1; }
	# The process exited, so b was closed: nobody is attached.
	[ "$(control daemon_alive)" = 0 ] || { crtosctl shared; return 1; }
	[ "$(control daemon_generation)" = $((g + 2)) ] || { crtosctl shared; return 1; }
}
run_test daemon-attach-answers daemon_file_answers

# A new daemon process gets the next generation.
generation_per_daemon() {
	g=$(control daemon_generation)
	for want in $((g + 1)) $((g + 2)); do
		got=$(crtosctl daemon-file open:a attach:a:poll | sed -n 's/^attach:a:poll: //p')
		[ "$got" = "$want" ] || { echo "attach gave generation '$got', want $want"; return 1; }
	done
}
run_test daemon-generation-per-attach generation_per_daemon

# A daemon asleep in read(2), killed: the driver clears daemon_alive by itself (the
# closed file is the death signal), and check-shared refuses while it lived.
killed_daemon_is_dead() {
	crtosctl daemon-file open:d attach:d:ipi wait:d >/dev/null 2>&1 &
	pid=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ "$(control daemon_alive)" = 1 ] && break
		sleep 1
	done
	[ "$(control daemon_alive)" = 1 ] || { kill -9 $pid; echo "the daemon never attached"; return 1; }
	[ "$(control notify_mode)" = ipi ] || { kill -9 $pid; crtosctl shared; return 1; }
	expect_failure crtosctl check-shared -- "daemon is attached" || { kill -9 $pid; return 1; }
	kill -9 $pid
	wait $pid 2>/dev/null
	[ "$(control daemon_alive)" = 0 ] || { echo "daemon_alive still set after SIGKILL"; crtosctl shared; return 1; }
	[ "$(control daemon_waiting)" = 0 ] || { crtosctl shared; return 1; }
	dmesg | grep -q "crtos: daemon detached (generation $(control daemon_generation))" ||
		{ echo "no detach log line"; return 1; }
	crtosctl check-shared >/dev/null
}
run_test killed-daemon-detaches killed_daemon_is_dead

# ---------------------------------------------------------------- unload, reload
unload_reload() {
	rmmod crtos || return 1
	[ ! -e /dev/crtos ] || { echo "/dev/crtos left after rmmod"; return 1; }
	! grep -q crtos /proc/iomem || { echo "iomem claims left after rmmod"; return 1; }
	insmod $KO || return 1
	state_is_sane
}
run_test unload-reload unload_reload

still_usable() {
	echo "written by the guest" >/tmp/usable || return 1
	grep -q "written by the guest" /tmp/usable || return 1
	ls / >/dev/null || return 1
	state_is_sane || return 1
	crtosctl check-shared >/dev/null
}
run_test system-still-usable still_usable

read -r up _ </proc/uptime
echo "guest-tests: $pass passed, $fail failed, $skip skipped (at ${up}s of kernel uptime)"
[ "$fail" = 0 ]
