/* uintr MODE ...: user interrupts between RTOS tasks (lab 4), with the system calls of
 * Intel's UINTR RFC (numbers 471-476; the RTOS's "fd" is a handle, tid * 64 + vector,
 * so a task names its peer by the peer's tid, known from the run list's order).
 *   pong PEER N    receiver of vector 2, answers each of N pings to PEER's vector 1
 *   ping PEER N    sends N pings to PEER, waits for each answer, prints the round trip:
 *                  uintr-pingpong: n=<N> median=<cycles> p99=<cycles>
 *   sleeper        blocks in uintr_wait until a user interrupt comes (vector 5)
 *   waker PEER     after 20 ms, sends PEER (a sleeper) its vector 5
 *   bad            bad requests get errnos (a kernel handler address -EFAULT, a second
 *                  handler -EBUSY, vector 64 and an unknown receiver -EINVAL); then SENDUIPI with an index past the UITT,
 *                  which must kill it (#GP): "uintr-bad: survived" must never appear
 *   stale          sends to itself, unregisters its handler and registers a new one:
 *                  the old UITT entry must be gone, so the SENDUIPI kills it (#GP)
 *                  instead of reaching the new UPID ("uintr-stale: survived" never)
 * Where the CPU or the kernel has no user interrupts (Linux today, QEMU) every mode
 * says "no UINTR" and exits 0. SENDUIPI, UIRET, STUI, CLUI are written as bytes:
 * musl-gcc's assembler may not know them. */
#include "crtos-user.h"
#include "uintr-user.h"

#include <errno.h>


#define PING_VECTOR 1
#define PONG_VECTOR 2
#define WAKE_VECTOR 5
/* The RTOS's handle of a receiver's vector (syscall/uintr.rs). */
#define HANDLE(tid, vector) ((long)(tid) * 64 + (vector))
/* A peer may be launched later (crtosctl run, one task at a time): look for it every
 * millisecond, for up to 10 s. */
#define REGISTER_TRIES 10000
#define REGISTER_PAUSE_NS NS_PER_MS
#define MAX_ROUNDS 100000


/* Registers the handler; 0, or exits 0 with "no UINTR" where there is none. */
static void become_receiver(const char *mode)
{
	long r = cpu_has_uintr() ? raw_syscall3(NR_UINTR_REGISTER_HANDLER, (long)uintr_handler, 0, 0)
				 : -EOPNOTSUPP;
	if (r == -ENOSYS || r == -EOPNOTSUPP) {
		say("uintr: no UINTR (%s) mode=%s", r == -ENOSYS ? "kernel" : "cpu", mode);
		exit(0);
	}
	if (r != 0) {
		say("uintr: error: uintr_register_handler=%ld", r);
		exit(1);
	}
}

/* The UITT index for PEER's vector, once PEER has registered (it may not have run yet). */
static long sender_to(long peer, int vector)
{
	struct timespec pause = ns_to_timespec(REGISTER_PAUSE_NS);
	for (int i = 0; i < REGISTER_TRIES; i++) {
		long index = raw_syscall3(NR_UINTR_REGISTER_SENDER, HANDLE(peer, vector), 0, 0);
		if (index >= 0)
			return index;
		nanosleep(&pause, NULL);
	}
	say("uintr: error: task %ld never registered vector %d", peer, vector);
	exit(1);
}

/* Blocks until the handler has run more than `seen` times. UIF is clear around the
 * test and the call, so an interrupt between them waits in UIRR (the kernel looks
 * there too) instead of being taken before the wait that then never ends. */
static void wait_beyond(uint64_t seen)
{
	clui();
	while (received == seen) {
		raw_syscall3(NR_UINTR_WAIT, 0, 0, 0);
		stui(); /* delivers what came */
		clui();
	}
	stui();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int pingpong(int ping, long peer, long rounds)
{
	become_receiver(ping ? "ping" : "pong");
	raw_syscall3(NR_UINTR_CREATE_FD, ping ? PING_VECTOR : PONG_VECTOR, 0, 0);
	long index = sender_to(peer, ping ? PONG_VECTOR : PING_VECTOR);
	stui();
	static uint64_t cycles[MAX_ROUNDS];
	for (long i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		if (ping)
			senduipi(index);
		wait_beyond(i);
		if (!ping)
			senduipi(index);
		cycles[i] = rdtsc() - t0;
	}
	if (last_vector != (uint64_t)(ping ? PING_VECTOR : PONG_VECTOR)) {
		say("uintr: error: last vector %llu", (unsigned long long)last_vector);
		return 1;
	}
	if (!ping) {
		say("uintr-pong: n=%ld received=%llu", rounds, (unsigned long long)received);
		return 0;
	}
	qsort(cycles, rounds, sizeof cycles[0], cmp_u64);
	say("uintr-pingpong: n=%ld median=%llu p99=%llu", rounds,
	    (unsigned long long)cycles[rounds / 2], (unsigned long long)cycles[rounds * 99 / 100]);
	return 0;
}

static int sleeper(void)
{
	become_receiver("sleeper");
	raw_syscall3(NR_UINTR_CREATE_FD, WAKE_VECTOR, 0, 0);
	stui();
	clui();
	long ret = received ? -EINTR : raw_syscall3(NR_UINTR_WAIT, 0, 0, 0);
	stui();
	int ok = ret == -EINTR && received == 1 && last_vector == WAKE_VECTOR;
	say("uintr-wait: woken ret=%ld received=%llu vector=%llu ok=%d", ret,
	    (unsigned long long)received, (unsigned long long)last_vector, ok);
	return !ok;
}

static int waker(long peer)
{
	become_receiver("waker"); /* only to learn whether there are user interrupts */
	long index = sender_to(peer, WAKE_VECTOR);
	struct timespec pause = ns_to_timespec(20 * NS_PER_MS);
	nanosleep(&pause, NULL);
	senduipi(index);
	say("uintr-waker: sent index=%ld", index);
	return 0;
}

static int bad(void)
{
	become_receiver("bad");
	long kernel_handler = raw_syscall3(NR_UINTR_REGISTER_HANDLER, (long)0xffff800000000000UL, 0, 0);
	long again = raw_syscall3(NR_UINTR_REGISTER_HANDLER, (long)uintr_handler, 0, 0);
	long vector64 = raw_syscall3(NR_UINTR_CREATE_FD, 64, 0, 0);
	long nobody = raw_syscall3(NR_UINTR_REGISTER_SENDER, HANDLE(100000, 1), 0, 0);
	int ok = kernel_handler == -EFAULT && again == -EBUSY && vector64 == -EINVAL &&
		 nobody == -EINVAL;
	say("uintr-bad: kernel_handler=%ld register_again=%ld create_fd_64=%ld sender_to_nobody=%ld ok=%d",
	    kernel_handler, again, vector64, nobody, ok);
	raw_syscall3(NR_UINTR_CREATE_FD, PING_VECTOR, 0, 0);
	sender_to(getpid(), PING_VECTOR); /* a valid UITT: now the index is what is wrong */
	say("uintr-bad: senduipi index=4096");
	senduipi(4096);
	say("uintr-bad: survived");
	return 1;
}

static int stale(void)
{
	become_receiver("stale");
	raw_syscall3(NR_UINTR_CREATE_FD, PING_VECTOR, 0, 0);
	long index = sender_to(getpid(), PING_VECTOR);
	long gone = raw_syscall3(NR_UINTR_UNREGISTER_HANDLER, 0, 0, 0);
	long again = raw_syscall3(NR_UINTR_REGISTER_HANDLER, (long)uintr_handler, 0, 0);
	stui();
	say("uintr-stale: unregister=%ld register=%ld senduipi index=%ld", gone, again, index);
	senduipi(index);
	say("uintr-stale: survived received=%llu", (unsigned long long)received);
	return 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc >= 2 ? argv[1] : "";
	if ((strcmp(mode, "ping") == 0 || strcmp(mode, "pong") == 0) && argc == 4) {
		long rounds = parse_count("uintr", "N", argv[3]);
		if (rounds < 1 || rounds > MAX_ROUNDS) {
			say("uintr: error: N must be 1..%d", MAX_ROUNDS);
			return 2;
		}
		return pingpong(mode[1] == 'i', parse_count("uintr", "PEER", argv[2]), rounds);
	}
	if (strcmp(mode, "sleeper") == 0 && argc == 2)
		return sleeper();
	if (strcmp(mode, "waker") == 0 && argc == 3)
		return waker(parse_count("uintr", "PEER", argv[2]));
	if (strcmp(mode, "bad") == 0 && argc == 2)
		return bad();
	if (strcmp(mode, "stale") == 0 && argc == 2)
		return stale();
	say("uintr: usage: uintr ping|pong PEER N | sleeper | waker PEER | bad | stale");
	return 2;
}
