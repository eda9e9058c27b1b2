#!/bin/sh
# crtos_run=kallsyms: print the running kernel's symbol table, for mapping an address
# from a Bochs log (RIP=...) to a function. PVH boots never randomise the kernel's
# addresses (KASLR lives in the bzImage's decompressor, which PVH skips), so the table
# from one QEMU boot holds for every PVH boot of the same kernel, Bochs included.
echo "kallsyms-begin"
cat /proc/kallsyms
echo "kallsyms-end"
