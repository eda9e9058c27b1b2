#!/bin/sh
# crtos_run=demo: what the stack does today, step by step (`make demo`). Grows with the
# labs: the RTOS (lab 2), the ring (lab 3) and user interrupts (lab 4) join here.
step() { echo; echo "demo: $*"; }
step "Linux is up on $(nproc) CPUs; loading the crtos driver"
insmod /lib/crtos.ko || exit 1
grep -i -e crtos /proc/iomem
crtosctl status | head -n 1
step "what CPUID costs on bare metal (TSC cycles of the emulated machine)"
crtosctl bench
step "enabling the hypervisor: every CPU turns VMX on and resumes Linux as its guest"
crtosctl enable /images/hypervisor.img || exit 1
crtosctl status | head -n 1
step "Linux user space sees the hypervisor through CPUID, on every CPU"
crtosctl cpuid
step "hypercalls: QUERY, an unknown number, and one from user mode"
crtosctl query
crtosctl hypercall 999
crtosctl user-vmcall 3
step "Linux reads the hypervisor's memory: EPT denies it (all-ones), the hypervisor logs it"
crtosctl probe-read 0x100
step "what CPUID and a null hypercall cost under the hypervisor"
crtosctl bench
step "a short Linux workload, then CPU 0's VM exits by reason"
find / -xdev >/dev/null 2>&1
dd if=/dev/zero of=/tmp/demo bs=4k count=256 2>/dev/null && rm /tmp/demo
crtosctl exits
step "disabling: every CPU leaves VMX, Linux is back on bare metal"
crtosctl disable || exit 1
crtosctl cpuid
crtosctl status | head -n 1
