/* badcall: system calls a kernel must refuse without harm. Each result is the raw
 * value the kernel returned (a negative errno), compared with Linux's:
 *   write(1, 0x10, 5)                     -EFAULT: the buffer is not mapped
 *   read(0, 0xffff800000000000, 8)        -EFAULT: the buffer is kernel memory
 *   syscall 999                           -ENOSYS: no such call
 * Exit status 0 only if every result matched. On Linux fd 0 must be open for reading
 * (read checks the fd before the buffer). */
#include "crtos-user.h"
#include <errno.h>
#include <sys/syscall.h>

/* Mapped by no program: the first page is never mapped (null-pointer guard). */
#define UNMAPPED_USER_ADDR 0x10L
/* The start of the kernel half of the address space (canonical, supervisor-only). */
#define KERNEL_ADDR ((long)0xffff800000000000UL)
/* Above every system call number Linux or the RTOS has. */
#define NO_SUCH_SYSCALL 999L

static int check(const char *call, long ret, long expect)
{
	int ok = ret == expect;
	say("badcall: %s=%ld expect=%ld ok=%d", call, ret, expect, ok);
	return ok;
}

int main(void)
{
	int all_ok = 1;
	all_ok &= check("write", raw_syscall3(SYS_write, 1, UNMAPPED_USER_ADDR, 5), -EFAULT);
	all_ok &= check("read", raw_syscall3(SYS_read, 0, KERNEL_ADDR, 8), -EFAULT);
	all_ok &= check("syscall999", raw_syscall3(NO_SUCH_SYSCALL, 0, 0, 0), -ENOSYS);
	return all_ok ? 0 : 1;
}
