/* preempt PRIO PERIOD_US N: a high-priority periodic task. Run next to a busy
 * lower-priority task (spin ... busy), each wake-up must take the CPU at once: the
 * lateness stays near the timer's resolution instead of a whole time slice. Prints the
 * lateness of each wake-up, then the worst. */
#include "crtos-user.h"
#include <errno.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		say("preempt: usage: preempt PRIO PERIOD_US N");
		return 2;
	}
	int prio = parse_count("preempt", "PRIO", argv[1]);
	int64_t period = parse_count("preempt", "PERIOD_US", argv[2]) * NS_PER_US;
	long n = parse_count("preempt", "N", argv[3]);

	long rc = set_fifo(prio);
	if (rc != 0)
		say("preempt: warning: sched_setscheduler(SCHED_FIFO, %d)=%ld; running at the default policy",
		    prio, rc);

	int64_t next = now_ns(), max_late = 0;
	for (long i = 0; i < n; i++) {
		next += period;
		struct timespec deadline = ns_to_timespec(next);
		while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL)) == EINTR)
			;
		if (rc != 0) {
			say("preempt: error: clock_nanosleep returned %ld", rc);
			return 1;
		}
		int64_t late = now_ns() - next;
		if (late > max_late)
			max_late = late;
		say("preempt: late_ns=%lld", (long long)late);
	}
	say("preempt: n=%ld max_late_ns=%lld", n, (long long)max_late);
	return 0;
}
