/* fwd-bench MODE N: the cost of a forwarded system call, in TSC cycles.
 *
 * N writes of one byte to /dev/null, each timed with rdtsc; then 256 writes of 4 KiB
 * (1 MiB) timed as a whole. MODE only labels the lines (the notification mode the
 * daemon runs in: poll, ipi, uintr; `linux` when the same binary runs natively as the
 * baseline). Prints
 *   latency: mode=M n=N median=<cycles> p99=<cycles>
 *   throughput: mode=M bytes=<B> cycles=<C> bytes_per_kcycle=<B*1000/C>
 * Under Bochs the cycles are emulated: its TSC advances with executed instructions
 * (see the book's results chapter). Percentiles are nearest-rank. */
#define _GNU_SOURCE
#include "crtos-user.h"
#include <fcntl.h>

#define MAX_N 20000
#define BULK_WRITES 256
#define BULK_SIZE 4096

static uint64_t samples[MAX_N];

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The k-th smallest with k = ceil(pct/100 * n), of sorted samples. */
static uint64_t percentile(const uint64_t *sorted, long n, long pct)
{
	long k = (pct * n + 99) / 100;
	return sorted[k > 0 ? k - 1 : 0];
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		say("fwd-bench: usage: fwd-bench MODE N");
		return 2;
	}
	const char *mode = argv[1];
	long n = parse_count("fwd-bench", "N", argv[2]);
	if (n == 0 || n > MAX_N) {
		say("fwd-bench: error: N must be in 1..%d", MAX_N);
		return 2;
	}
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0) {
		say("fwd-bench: cannot open /dev/null");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		if (write(fd, "x", 1) != 1) {
			say("fwd-bench: write %ld failed", i);
			return 1;
		}
		samples[i] = rdtsc() - t0;
	}
	qsort(samples, n, sizeof samples[0], by_value);
	say("latency: mode=%s n=%ld median=%llu p99=%llu", mode, n,
	    (unsigned long long)percentile(samples, n, 50),
	    (unsigned long long)percentile(samples, n, 99));

	static char block[BULK_SIZE];
	memset(block, 'b', sizeof block);
	uint64_t t0 = rdtsc();
	for (int i = 0; i < BULK_WRITES; i++)
		if (write(fd, block, sizeof block) != BULK_SIZE) {
			say("fwd-bench: bulk write %d failed", i);
			return 1;
		}
	uint64_t cycles = rdtsc() - t0;
	long bytes = (long)BULK_WRITES * BULK_SIZE;
	say("throughput: mode=%s bytes=%ld cycles=%llu bytes_per_kcycle=%llu", mode, bytes,
	    (unsigned long long)cycles, (unsigned long long)(bytes * 1000ULL / (cycles ? cycles : 1)));
	close(fd);
	return 0;
}
