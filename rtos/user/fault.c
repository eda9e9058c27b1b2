/* fault KIND: commits one CPU fault in user mode. A correct kernel kills the task
 * (Linux: a signal; the RTOS: a line naming the task, the fault and the address), so
 * the "survived" line after it must never appear.
 *   null  load from address 0            #PF  (Linux: SIGSEGV)
 *   ud    ud2                            #UD  (SIGILL)
 *   div   integer division by zero       #DE  (SIGFPE)
 *   gp    load from a non-canonical      #GP  (SIGSEGV, or SIGBUS on some kernels)
 *         address: bits 63..47 differ, so no page walk happens at all */
#include "crtos-user.h"

/* The smallest non-canonical address above the lower half. */
#define NON_CANONICAL 0x8000000000000000UL

int main(int argc, char **argv)
{
	const char *kind = argc == 2 ? argv[1] : "";
	if (strcmp(kind, "null") == 0) {
		/* asm, not *(int *)0: the compiler may treat a C null dereference as
		 * unreachable and drop it. */
		uint64_t v;
		__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(0UL) : "memory");
	} else if (strcmp(kind, "ud") == 0) {
		__asm__ volatile("ud2");
	} else if (strcmp(kind, "div") == 0) {
		uint32_t lo = 1, hi = 0, zero = 0;
		__asm__ volatile("divl %2" : "+a"(lo), "+d"(hi) : "r"(zero));
	} else if (strcmp(kind, "gp") == 0) {
		uint64_t v;
		__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(NON_CANONICAL) : "memory");
	} else {
		say("fault: usage: fault null|ud|div|gp");
		return 2;
	}
	say("fault: survived kind=%s", kind);
	return 1;
}
