/* abuse: a program that hands the RTOS every kind of bad input it can think of, through
 * the raw Linux system-call ABI, and checks each answer against Linux's. The kernel must
 * answer with an error, never fault; the last line says the task got through. The last
 * two checks hold on the RTOS only: it backs every mapping at once, where Linux
 * overcommits (there a 1 TiB mapping succeeds and memory never runs out this way).
 * Each line:  abuse: <what>=<result> expect=<expected> ok=<0|1> nonce=<NONCE>  */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define KERNEL_ADDR 0xffff800000000000UL
#define RFLAGS_NT (1UL << 14)
#define ARCH_SET_FS 0x1002
#define SCHED_FIFO_POLICY 1

static const char *nonce;
static int all_ok = 1;

static void report(const char *what, long got, long expect)
{
	int ok = got == expect;
	all_ok &= ok;
	printf("abuse: %s=%ld expect=%ld ok=%d nonce=%s\n", what, got, expect, ok, nonce);
}

/* A system call with RFLAGS.NT set: the kernel's IRETQ must not inherit it. */
static long getpid_with_nt_flag(void)
{
	long ret;
	__asm__ volatile("pushfq; orq %[nt], (%%rsp); popfq; syscall; pushfq; andq %[not_nt], (%%rsp); popfq"
			 : "=a"(ret)
			 : "0"((long)SYS_getpid), [nt] "i"(RFLAGS_NT), [not_nt] "i"(~RFLAGS_NT)
			 : "rcx", "r11", "memory", "cc");
	return ret;
}

/* Maps 1 MiB blocks until the kernel says ENOMEM; frees them; returns the error. */
static long mmap_until_enomem(void)
{
	enum { MAX_BLOCKS = 1024, BLOCK = 1 << 20 };
	static long blocks[MAX_BLOCKS];
	long n = 0, err = 0;
	while (n < MAX_BLOCKS) {
		long p = syscall(SYS_mmap, 0, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p < 0) {
			err = -errno;
			break;
		}
		blocks[n++] = p;
	}
	for (long i = 0; i < n; i++)
		syscall(SYS_munmap, blocks[i], BLOCK);
	return n > 0 ? err : 1; /* not even one block: wrong too */
}

int main(void)
{
	nonce = getenv("NONCE");
	if (!nonce)
		nonce = "none";
	setvbuf(stdout, NULL, _IOLBF, 0);
	long pid = syscall(SYS_getpid);

	report("getpid_with_nt_flag", getpid_with_nt_flag() == pid, 1);
	report("write_wrapping_length", syscall(SYS_write, 1, 0x400000, -1L) == -1 ? -errno : 0, -EFAULT);
	report("write_kernel_buffer", syscall(SYS_write, 1, KERNEL_ADDR, 8) == -1 ? -errno : 0, -EFAULT);
	report("writev_1025_iovecs", syscall(SYS_writev, 1, 0x400000, 1025) == -1 ? -errno : 0, -EINVAL);
	report("write_bad_fd", syscall(SYS_write, 7, "x", 1) == -1 ? -errno : 0, -EBADF);
	struct timespec bad = {.tv_sec = 0, .tv_nsec = 1000000000};
	report("nanosleep_bad_nsec", syscall(SYS_nanosleep, &bad, NULL) == -1 ? -errno : 0, -EINVAL);
	report("nanosleep_kernel_ptr", syscall(SYS_nanosleep, KERNEL_ADDR, NULL) == -1 ? -errno : 0, -EFAULT);
	report("clock_gettime_bad_clock", syscall(SYS_clock_gettime, 99, &bad) == -1 ? -errno : 0, -EINVAL);
	report("clock_gettime_text_ptr", syscall(SYS_clock_gettime, 1, (void *)main) == -1 ? -errno : 0,
	       -EFAULT);
	int prio = 100;
	report("sched_setscheduler_prio_100",
	       syscall(SYS_sched_setscheduler, 0, SCHED_FIFO_POLICY, &prio) == -1 ? -errno : 0, -EINVAL);
	prio = 10;
	report("sched_setscheduler_no_such_pid",
	       syscall(SYS_sched_setscheduler, 999999, SCHED_FIFO_POLICY, &prio) == -1 ? -errno : 0, -ESRCH);
	report("arch_prctl_kernel_fs", syscall(SYS_arch_prctl, ARCH_SET_FS, KERNEL_ADDR) == -1 ? -errno : 0,
	       -EPERM);
	report("mmap_huge", syscall(SYS_mmap, 0, 1L << 40, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1
				    ? (errno == EINVAL || errno == ENOMEM ? -1 : -errno)
				    : 0,
	       -1);
	long brk0 = syscall(SYS_brk, 0);
	report("brk_beyond_limit_keeps_break", syscall(SYS_brk, KERNEL_ADDR) == brk0, 1);
	report("mmap_until_enomem", mmap_until_enomem(), -ENOMEM);
	report("mmap_after_enomem_works",
	       syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) > 0, 1);
	printf("abuse: done all_ok=%d nonce=%s\n", all_ok, nonce);
	return all_ok ? 0 : 1;
}
