/* Shared helpers for the RTOS's user programs: the run's nonce, one-line output, raw
 * system calls and the monotonic clock. Every program here is a static musl executable
 * that runs unmodified on Linux and on the RTOS, so it may use only the system calls the
 * RTOS implements (see the RTOS chapter of the book): write/writev to fds 1 and 2,
 * clocks and sleeps, the scheduler calls, brk/mmap, exit. */
#ifndef CRTOS_USER_H
#define CRTOS_USER_H

#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_SEC 1000000000LL
#define NS_PER_US 1000LL
#define NS_PER_MS 1000000LL

/* The run's token (environment variable NONCE): every line a test checks carries it,
 * so a line printed by an old run or typed into a program cannot pass for this run's. */
static inline const char *nonce(void)
{
	const char *n = getenv("NONCE");
	return n && *n ? n : "none";
}

/* Prints one line, with " nonce=<N>" appended, in a single write(2): lines from tasks
 * that run at the same time never tear, and nothing waits in a stdio buffer when the
 * program faults or the RTOS preempts it. The buffer is fixed: no malloc. */
__attribute__((format(printf, 1, 2))) static inline void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof line)
		len = sizeof line - 1;
	len += snprintf(line + len, sizeof line - len, " nonce=%s\n", nonce());
	if ((size_t)len >= sizeof line) { /* truncated: still end the line */
		len = sizeof line - 1;
		line[len - 1] = '\n';
	}
	for (int off = 0; off < len;) {
		ssize_t n = write(1, line + off, len - off);
		if (n <= 0)
			return;
		off += n;
	}
}

/* A system call with its raw result: a negative errno on failure, as the kernel
 * returned it (musl's syscall() would turn it into -1 and errno). */
static inline long raw_syscall3(long nr, long a1, long a2, long a3)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3)
			 : "rcx", "r11", "memory"); /* syscall clobbers rcx (RIP) and r11 (RFLAGS) */
	return ret;
}

/* Makes the calling task SCHED_FIFO at priority prio; returns 0 or a negative errno.
 * The raw call: musl's sched_setscheduler() returns ENOSYS without asking the kernel
 * (musl's choice: POSIX scopes it to processes, Linux applies it to threads). */
static inline long set_fifo(int prio)
{
	struct sched_param param = {.sched_priority = prio};
	return raw_syscall3(SYS_sched_setscheduler, 0, SCHED_FIFO, (long)&param);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static inline struct timespec ns_to_timespec(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / NS_PER_SEC, .tv_nsec = ns % NS_PER_SEC};
	return ts;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Parses a non-negative decimal argument or exits with a usage message. */
static inline long parse_count(const char *prog, const char *what, const char *text)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || v < 0) {
		say("%s: error: %s must be a non-negative number, not '%s'", prog, what, text);
		exit(2);
	}
	return v;
}

#endif
