#!/bin/sh
# crtos_run=demo: what the stack does today, step by step. Grows with the labs: the
# hypervisor (lab 1) and the RTOS (lab 2) join here once they exist.
set -e
echo "demo: loading the crtos driver"
insmod /lib/crtos.ko
grep -i -e crtos /proc/iomem
crtosctl status
echo "demo: enabling a hypervisor image (a test image: no hypervisor exists yet)"
if crtosctl enable /images/hv-none.img; then
	crtosctl query
	crtosctl disable
else
	echo "demo: (expected until lab 1: the driver validated the image and entered nothing)"
fi
crtosctl status | head -n 1
