/* User interrupts from a user program's side, for the RTOS's programs (uintr.c,
 * uintr-cross.c): the system calls of Intel's UINTR RFC as the RTOS numbers them
 * (rtos/src/syscall/uintr.rs), the handler, and the instructions. SENDUIPI, UIRET,
 * STUI and CLUI are written as bytes: musl-gcc's assembler may not know them. Include
 * it in one file per program (it defines the handler and its counters). */
#ifndef UINTR_USER_H
#define UINTR_USER_H

#include <cpuid.h>
#include <stdint.h>

#define NR_UINTR_REGISTER_HANDLER 471
#define NR_UINTR_UNREGISTER_HANDLER 472
#define NR_UINTR_CREATE_FD 473
#define NR_UINTR_REGISTER_SENDER 474
#define NR_UINTR_WAIT 476

/* What the handler saw: how many user interrupts, and the last vector. */
static volatile uint64_t received;
static volatile uint64_t last_vector;

/* The handler: delivery pushed RSP, RFLAGS, RIP and the vector; it records, removes
 * the vector and returns with UIRET (F3 0F 01 EC). Only RAX is used, and saved. */
void uintr_handler(void);
__asm__(".text\n"
	".globl uintr_handler\n"
	"uintr_handler:\n"
	"  push %rax\n"
	"  mov 8(%rsp), %rax\n"
	"  mov %rax, last_vector(%rip)\n"
	"  lock incq received(%rip)\n"
	"  pop %rax\n"
	"  add $8, %rsp\n"
	"  .byte 0xf3, 0x0f, 0x01, 0xec\n");

static inline void stui(void) { __asm__ volatile(".byte 0xf3, 0x0f, 0x01, 0xef" ::: "memory"); }
static inline void clui(void) { __asm__ volatile(".byte 0xf3, 0x0f, 0x01, 0xee" ::: "memory"); }
/* SENDUIPI RAX: F3 0F C7 /6 with ModRM.rm = RAX (0xF0). */
static inline void senduipi(uint64_t index)
{
	__asm__ volatile(".byte 0xf3, 0x0f, 0xc7, 0xf0" ::"a"(index) : "memory");
}

/* CPUID.(7,0):EDX[5]: the CPU has user interrupts. */
static inline int cpu_has_uintr(void)
{
	unsigned a, b, c, d;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 5 & 1);
}

#endif
