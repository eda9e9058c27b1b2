/* spin NAME ROUNDS MODE [WORK]: a CPU-bound task for the scheduler tests. Each round
 * does WORK iterations of busy work (default SPIN_WORK), then prints one line.
 *   MODE yield: sched_yield() after each round, so two tasks of one priority interleave
 *               round by round under FIFO scheduling.
 *   MODE busy:  never gives the CPU up; only a higher-priority task's wake-up (or the
 *               end of the program) takes it away. */
#include "crtos-user.h"
#include <sched.h>

/* About 10 ms of emulated time per round on Bochs: the loop is 5 instructions, so 2 M
 * instructions at Bochs's 200 M per emulated second. Long enough that several 1 ms
 * timer ticks land inside a round. */
#define SPIN_WORK 400000L

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		say("spin: usage: spin NAME ROUNDS yield|busy [WORK]");
		return 2;
	}
	const char *name = argv[1];
	long rounds = parse_count("spin", "ROUNDS", argv[2]);
	int yield = strcmp(argv[3], "yield") == 0;
	if (!yield && strcmp(argv[3], "busy") != 0) {
		say("spin: error: MODE must be yield or busy, not '%s'", argv[3]);
		return 2;
	}
	long work = argc == 5 ? parse_count("spin", "WORK", argv[4]) : SPIN_WORK;

	uint64_t x = 1;
	for (long round = 0; round < rounds; round++) {
		for (long i = 0; i < work; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x)); /* keep the compiler from folding the loop */
		}
		say("spin: name=%s round=%ld", name, round);
		if (yield)
			sched_yield();
	}
	return 0;
}
