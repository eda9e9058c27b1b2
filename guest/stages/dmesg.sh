#!/bin/sh
# crtos_run=dmesg: print the kernel log once the boot is over. With `quiet` nothing
# slows the boot down (every console line costs emulated time at 115200 baud), so
# GUEST_APPEND=initcall_debug then shows honest per-initcall times.
echo "dmesg-begin"
dmesg
echo "dmesg-end"
