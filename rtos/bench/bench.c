/* bench MODE N: the RTOS's user-visible costs, in TSC cycles (static musl, like the
 * programs in rtos/user; it runs on Linux too).
 *   getpid N   N raw getpid system calls, each timed alone: the system-call round trip.
 *   yield  N   N sched_yield calls, each timed. Run two of them at one priority: each
 *              yield then switches to the other task and back, so a timed yield holds
 *              two system calls and two context switches; the line reports half of it.
 * Prints the median:  bench: rtos <what> median_cycles=<c> n=<N> nonce=<NONCE>  */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_N 100000

static uint64_t samples[MAX_N];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *nonce = getenv("NONCE");
	long n = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
	if (n <= 0 || n > MAX_N || (strcmp(argv[1], "getpid") && strcmp(argv[1], "yield"))) {
		fprintf(stderr, "bench: usage: bench getpid|yield N (N <= %d)\n", MAX_N);
		return 2;
	}
	int getpid_mode = strcmp(argv[1], "getpid") == 0;
	for (long i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		if (getpid_mode)
			syscall(SYS_getpid);
		else
			sched_yield();
		samples[i] = rdtsc() - t0;
	}
	qsort(samples, n, sizeof samples[0], by_value);
	uint64_t median = samples[n / 2];
	if (getpid_mode)
		printf("bench: rtos syscall_getpid median_cycles=%llu n=%ld nonce=%s\n",
		       (unsigned long long)median, n, nonce ? nonce : "none");
	else
		printf("bench: rtos context_switch median_cycles=%llu n=%ld (half a yield round trip) nonce=%s\n",
		       (unsigned long long)median / 2, n, nonce ? nonce : "none");
	return 0;
}
