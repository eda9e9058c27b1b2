/* uintr-cross DIR N: the RTOS side of lab 4's cross pair, user interrupts between an
 * RTOS task and a Linux process (`uintr-test cross DIR N`, started first). Both
 * receivers have their UPID in the shared region, so each names its own vector with a
 * shared handle (crtos.h: CRTOS_UINTR_SHARED_HANDLE) that the other side understands;
 * the two swap them through files in DIR, which this task reaches through forwarded
 * open/write/rename/read.
 *   1. receive vector 3, write DIR/rtos.handle (.tmp, then rename), wait for
 *      DIR/linux.handle, register a sender to it; refused handles get -EINVAL
 *   2. block in uintr_wait until Linux sends vector 3:
 *      uintr-cross: rtos woken by linux vector=3
 *   3. send Linux vector 4 while it blocks in CRTOS_UINTR_WAIT (Linux prints the line);
 *      Linux says it woke with vector 3, so the first ping cannot fold into the
 *      wake-up while that is still pending (one PIR bit holds both)
 *   4. N round trips, both sides running, rdtsc around each:
 *      uintr-cross: rtos<->linux n=<N> median=<cycles> p99=<cycles>
 *   5. uintr-cross: rtos done
 * Any timeout: "uintr-cross: rtos error: <what>", exit 1. Without UINTR (this host):
 * "uintr-cross: no UINTR", exit 0. Instruction bytes and system calls: uintr-user.h. */
#include "crtos-user.h"
#include "uintr-user.h"

#include <errno.h>
#include <fcntl.h>

#include "crtos.h" /* CRTOS_UINTR_SHARED_HANDLE, CRTOS_UPID_SLOTS */


#define RTOS_VECTOR 3  /* Linux -> RTOS */
#define LINUX_VECTOR 4 /* RTOS -> Linux */
#define MAX_ROUNDS 100000
/* The peer's file: looked for every POLL_MS, given up after PEER_TIMEOUT_MS. */
#define POLL_MS 5
#define PEER_TIMEOUT_MS 30000
/* Linux is in CRTOS_UINTR_WAIT by then: it blocks as soon as its vector 3 is sent. */
#define LINUX_BLOCKS_MS 100
/* A user interrupt that has not come after this many TSC ticks (20 emulated seconds
 * at Bochs's 200 MHz TSC, as driver/uintr-test's LOST_AFTER_TICKS) is lost. */
#define LOST_AFTER_TICKS 4000000000ULL

static _Noreturn void fail(const char *fmt, long value)
{
	char what[256];
	snprintf(what, sizeof what, fmt, value);
	say("uintr-cross: rtos error: %s", what);
	exit(1);
}

/* The RTOS's uintr_register_handler; exits 0 without UINTR (CPU or kernel). */
static void become_receiver(void)
{
	long r = cpu_has_uintr() ? raw_syscall3(NR_UINTR_REGISTER_HANDLER, (long)uintr_handler, 0, 0)
				 : -EOPNOTSUPP;
	if (r == -ENOSYS || r == -EOPNOTSUPP) {
		say("uintr-cross: no UINTR");
		exit(0);
	}
	if (r != 0)
		fail("uintr_register_handler=%ld", r);
}

/* DIR/<side>.handle holds the handle in decimal: written to .tmp, then renamed, so
 * the reader never sees half a number. */
static void publish(const char *dir, uint64_t handle)
{
	char tmp[512], path[512], text[32];
	snprintf(tmp, sizeof tmp, "%s/rtos.handle.tmp", dir);
	snprintf(path, sizeof path, "%s/rtos.handle", dir);
	int len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)handle);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, len) != len || close(fd) || rename(tmp, path))
		fail("writing DIR/rtos.handle: errno=%ld", errno);
}

/* The number in DIR/linux.handle, once Linux has written it (30 s at most). */
static uint64_t peer_handle(const char *dir)
{
	char path[512], text[32] = {0};
	snprintf(path, sizeof path, "%s/linux.handle", dir);
	struct timespec poll = ns_to_timespec(POLL_MS * NS_PER_MS);
	for (int64_t end = now_ns() + PEER_TIMEOUT_MS * NS_PER_MS; now_ns() < end;) {
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, text, sizeof text - 1);
			close(fd);
			char *stop;
			unsigned long long h = strtoull(text, &stop, 10);
			if (n <= 0 || stop == text || *stop != '\n')
				fail("DIR/linux.handle holds no number (%ld bytes)", n);
			return h;
		}
		nanosleep(&poll, NULL);
	}
	fail("no DIR/linux.handle after %ld ms", PEER_TIMEOUT_MS);
}

/* Handles uintr_register_sender must refuse: a slot past the UPID area, a vector past
 * the last slot's 63, bits above the flag. */
static void refused_handles(uint64_t own)
{
	long outside = raw_syscall3(NR_UINTR_REGISTER_SENDER,
				    CRTOS_UINTR_SHARED_HANDLE(CRTOS_UPID_SLOTS, RTOS_VECTOR), 0, 0);
	long vector64 = raw_syscall3(NR_UINTR_REGISTER_SENDER,
				     CRTOS_UINTR_SHARED_HANDLE(CRTOS_UPID_SLOTS - 1, 64), 0, 0);
	long high = raw_syscall3(NR_UINTR_REGISTER_SENDER, own | 1ULL << 40, 0, 0);
	int ok = outside == -EINVAL && vector64 == -EINVAL && high == -EINVAL;
	say("uintr-cross: rtos bad handles: slot_%d=%ld last_slot_vector_64=%ld bit_40=%ld ok=%d",
	    CRTOS_UPID_SLOTS, outside, vector64, high, ok);
}

/* Spins (UIF set) until the handler has run more than `seen` times. */
static void spin_beyond(uint64_t seen, long round)
{
	uint64_t start = rdtsc();
	while (received == seen)
		if (rdtsc() - start > LOST_AFTER_TICKS)
			fail(round < 0 ? "Linux never said it woke (%ld)"
				       : "round trip %ld: Linux's answer never came",
			     round);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void round_trips(uint64_t to_linux, long rounds)
{
	static uint64_t cycles[MAX_ROUNDS];
	for (long i = 0; i < rounds; i++) {
		uint64_t seen = received, t0 = rdtsc();
		senduipi(to_linux);
		spin_beyond(seen, i);
		cycles[i] = rdtsc() - t0;
	}
	qsort(cycles, rounds, sizeof cycles[0], cmp_u64);
	say("uintr-cross: rtos<->linux n=%ld median=%llu p99=%llu", rounds,
	    (unsigned long long)cycles[rounds / 2], (unsigned long long)cycles[rounds * 99 / 100]);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		say("uintr-cross: usage: uintr-cross DIR N");
		return 2;
	}
	long rounds = parse_count("uintr-cross", "N", argv[2]);
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		say("uintr-cross: rtos error: N must be 1..%d", MAX_ROUNDS);
		return 2;
	}
	/* ANCHOR: rtos_side */
	become_receiver();
	long own = raw_syscall3(NR_UINTR_CREATE_FD, RTOS_VECTOR, 0, 0);
	if (own < 0)
		fail("uintr_create_fd=%ld", own);
	publish(argv[1], (uint64_t)own);
	uint64_t linux_handle = peer_handle(argv[1]);
	refused_handles((uint64_t)own);
	long to_linux = raw_syscall3(NR_UINTR_REGISTER_SENDER, (long)linux_handle, 0, 0);
	if (to_linux < 0)
		fail("uintr_register_sender(Linux's handle)=%ld", to_linux);

	/* 2: UIF clear around the test and the call, so an early interrupt waits in UIRR
	 * (the kernel looks there) instead of slipping in before a wait that never ends. */
	int64_t t0 = now_ns();
	int waits = 0;
	clui();
	while (received == 0) {
		raw_syscall3(NR_UINTR_WAIT, 0, 0, 0);
		waits++;
		stui();
		clui();
	}
	stui();
	say("uintr-cross: rtos woken by linux vector=%llu", (unsigned long long)last_vector);
	say("uintr-cross: rtos waited_us=%lld in %d uintr_wait calls",
	    (long long)((now_ns() - t0) / NS_PER_US), waits);

	/* 3: Linux blocks once its vector 3 is out; give it the time to get there. */
	struct timespec pause = ns_to_timespec(LINUX_BLOCKS_MS * NS_PER_MS);
	nanosleep(&pause, NULL);
	senduipi((uint64_t)to_linux);
	spin_beyond(1, -1);

	round_trips((uint64_t)to_linux, rounds);
	/* ANCHOR_END: rtos_side */
	if (last_vector != RTOS_VECTOR)
		fail("last vector %ld", (long)last_vector);
	say("uintr-cross: rtos done");
	return 0;
}
