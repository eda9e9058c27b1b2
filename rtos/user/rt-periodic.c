/* rt-periodic --side S --period-us P --count N --prio PRIO [--cpu C]
 *
 * A cyclictest-style measurement of wake-up latency: under SCHED_FIFO, sleep until an
 * absolute deadline (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)) every P µs, N
 * times, and record how late each wake-up was (actual - intended). The same static
 * binary runs as a Linux process and as an RTOS task, so the two sides of the jitter
 * comparison differ only in the kernel underneath.
 *
 * Nothing is printed inside the loop (output would perturb it); the samples go to a
 * fixed array touched before the loop, so no page faults or allocation happen there.
 * After the loop: min/median/p99/max in ns and TSC cycles, a histogram, and
 *   jitter: side=S period_us=P n=N median_ns=.. p99_ns=.. max_ns=.. nonce=..
 * Percentiles are nearest-rank (the k-th smallest with k = ceil(pct/100 * n)). Cycles
 * are nanoseconds times the TSC rate measured over the whole run (rdtsc at its start
 * and end against CLOCK_MONOTONIC): one rate for every sample, no FPU needed.
 * Only system calls the RTOS has are used; --cpu (sched_setaffinity) is for Linux. */
#define _GNU_SOURCE
#include "crtos-user.h"
#include <errno.h>

/* Enough for 20 s at 1 kHz; 80 KiB of .bss. */
#define MAX_COUNT 20000
/* The histogram's buckets double in width: <1 µs, 1-2, 2-4, ... up to 2^30 µs. */
#define HIST_BUCKETS 32

static uint32_t lat_ns[MAX_COUNT]; /* capped at UINT32_MAX (4.29 s) */

struct options {
	const char *side;
	long period_us, count, prio, cpu; /* cpu < 0: not pinned */
};

static void usage(void)
{
	say("rt-periodic: usage: rt-periodic --side S --period-us P --count N --prio PRIO [--cpu C]");
	exit(2);
}

static struct options parse_options(int argc, char **argv)
{
	struct options o = {.side = NULL, .period_us = 1000, .count = 1000, .prio = 80, .cpu = -1};
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		const char *opt = argv[i], *val = argv[i + 1];
		if (strcmp(opt, "--side") == 0)
			o.side = val;
		else if (strcmp(opt, "--period-us") == 0)
			o.period_us = parse_count("rt-periodic", opt, val);
		else if (strcmp(opt, "--count") == 0)
			o.count = parse_count("rt-periodic", opt, val);
		else if (strcmp(opt, "--prio") == 0)
			o.prio = parse_count("rt-periodic", opt, val);
		else if (strcmp(opt, "--cpu") == 0)
			o.cpu = parse_count("rt-periodic", opt, val);
		else
			usage();
	}
	if (!o.side || o.period_us == 0 || o.count == 0)
		usage();
	if (o.count > MAX_COUNT) {
		say("rt-periodic: error: --count %ld exceeds %d", o.count, MAX_COUNT);
		exit(2);
	}
	return o;
}

/* Pinning and priority are best effort: without them the numbers are still honest,
 * only worse, and a line says so. */
static void set_up(const struct options *o)
{
	if (o->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0)
			say("rt-periodic: note: cannot pin to cpu %ld (%s); running unpinned", o->cpu,
			    strerror(errno));
	}
	long rc = set_fifo(o->prio);
	if (rc == -EPERM || rc == -ENOSYS)
		say("rt-periodic: warning: SCHED_FIFO %ld refused (%s); measuring at the default policy",
		    o->prio, strerror(-rc));
	else if (rc != 0) {
		say("rt-periodic: error: sched_setscheduler returned %ld", rc);
		exit(1);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Nearest rank in a sorted array: the smallest value with at least pct % of the samples
 * at or below it. */
static uint32_t percentile(const uint32_t *sorted, long n, int pct)
{
	long rank = (pct * n + 99) / 100; /* ceil(pct * n / 100), 1-based */
	return sorted[rank > 0 ? rank - 1 : 0];
}

/* ns to TSC cycles at the rate measured over the whole run (integer math: no FPU use). */
static uint64_t ns_to_cycles(uint64_t ns, uint64_t run_cycles, uint64_t run_ns)
{
	return (uint64_t)((unsigned __int128)ns * run_cycles / run_ns);
}

int main(int argc, char **argv)
{
	struct options o = parse_options(argc, argv);
	say("rt-periodic: side=%s period_us=%ld count=%ld prio=%ld cpu=%ld", o.side, o.period_us,
	    o.count, o.prio, o.cpu);
	set_up(&o);
	memset(lat_ns, 0, sizeof lat_ns); /* fault the pages in now, not in the loop */

	const int64_t period = o.period_us * NS_PER_US;
	long overruns = 0;
	uint64_t tsc0 = rdtsc();
	int64_t t0 = now_ns(), next = t0;
	for (long i = 0; i < o.count; i++) {
		next += period;
		struct timespec deadline = ns_to_timespec(next);
		int rc;
		while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL)) == EINTR)
			;
		int64_t woke = now_ns();
		if (rc != 0) {
			say("rt-periodic: error: clock_nanosleep returned %d", rc);
			return 1;
		}
		int64_t late = woke - next;
		lat_ns[i] = late < 0 ? 0 : late > UINT32_MAX ? UINT32_MAX : (uint32_t)late;
		/* Woke after the following deadline: skip the periods already gone (as
		 * cyclictest does) rather than firing a burst of late wake-ups. */
		while (next + period <= woke) {
			next += period;
			overruns++;
		}
	}
	uint64_t run_cycles = rdtsc() - tsc0, run_ns = now_ns() - t0;

	long n = o.count;
	qsort(lat_ns, n, sizeof lat_ns[0], cmp_u32);
	uint32_t min = lat_ns[0], med = percentile(lat_ns, n, 50), p99 = percentile(lat_ns, n, 99),
		 max = lat_ns[n - 1];
	say("rt-periodic: latency_ns min=%u median=%u p99=%u max=%u overruns=%ld", min, med, p99, max,
	    overruns);
	say("rt-periodic: latency_cycles min=%llu median=%llu p99=%llu max=%llu tsc_khz=%llu",
	    (unsigned long long)ns_to_cycles(min, run_cycles, run_ns),
	    (unsigned long long)ns_to_cycles(med, run_cycles, run_ns),
	    (unsigned long long)ns_to_cycles(p99, run_cycles, run_ns),
	    (unsigned long long)ns_to_cycles(max, run_cycles, run_ns),
	    (unsigned long long)ns_to_cycles(NS_PER_MS, run_cycles, run_ns) /* cycles per ms */);

	long hist[HIST_BUCKETS] = {0};
	int top = 0;
	for (long i = 0; i < n; i++) {
		uint32_t us = lat_ns[i] / NS_PER_US;
		int b = 0;
		while (b < HIST_BUCKETS - 1 && us >= (1u << b))
			b++;
		hist[b]++;
		if (b > top)
			top = b;
	}
	char line[800]; /* 24 buckets at most (latencies are capped at 4.29 s) */
	int len = 0;
	for (int b = 0; b <= top && len < (int)sizeof line; b++)
		len += b == 0 ? snprintf(line + len, sizeof line - len, " <1:%ld", hist[0])
			      : snprintf(line + len, sizeof line - len, " %u-%u:%ld", 1u << (b - 1),
					 1u << b, hist[b]);
	say("rt-periodic: histogram_us%s", line);

	say("jitter: side=%s period_us=%ld n=%ld median_ns=%u p99_ns=%u max_ns=%u", o.side, o.period_us,
	    n, med, p99, max);
	return 0;
}
