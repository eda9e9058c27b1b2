#!/bin/sh
# crtos_run=demo: what the stack does today, step by step (`make demo`). Grows with the
# labs: the RTOS (lab 2), the ring (lab 3) and user interrupts (lab 4) join here.
step() { echo; echo "demo: $*"; }
step "Linux is up on $(nproc) CPUs; loading the crtos driver"
insmod /lib/crtos.ko || exit 1
grep -i -e crtos /proc/iomem
crtosctl status | head -n 1
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
step "disabling: every CPU leaves VMX, Linux is back on bare metal"
crtosctl disable || exit 1
crtosctl cpuid
crtosctl status | head -n 1
