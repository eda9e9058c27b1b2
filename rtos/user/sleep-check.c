/* sleep-check: does the kernel sleep at least as long as asked, and not much longer?
 * Each duration is slept twice: nanosleep (relative) and clock_nanosleep(CLOCK_MONOTONIC,
 * TIMER_ABSTIME) (absolute deadline), both timed with clock_gettime(CLOCK_MONOTONIC).
 * Exit status 0 only if every sleep was ok. */
#include "crtos-user.h"

static const int64_t durations_ns[] = {1 * NS_PER_MS, 5 * NS_PER_MS, 20 * NS_PER_MS};

/* A sleep may end late (timer granularity, another task running), never early. Late by
 * more than this counts as broken: a timer running at the wrong rate, a lost wake-up. */
#define MAX_LATE_NS (50 * NS_PER_MS)

static int report(const char *call, int64_t asked, int64_t got)
{
	int ok = got >= asked && got - asked <= MAX_LATE_NS;
	say("sleep-check: call=%s asked_ns=%lld got_ns=%lld ok=%d", call, (long long)asked,
	    (long long)got, ok);
	return ok;
}

int main(void)
{
	int all_ok = 1;
	for (size_t i = 0; i < sizeof durations_ns / sizeof durations_ns[0]; i++) {
		int64_t asked = durations_ns[i];

		struct timespec rel = ns_to_timespec(asked);
		int64_t t0 = now_ns();
		int rc = nanosleep(&rel, NULL);
		int64_t got = now_ns() - t0;
		all_ok &= report("nanosleep", asked, rc == 0 ? got : -1);

		t0 = now_ns();
		struct timespec abs = ns_to_timespec(t0 + asked);
		rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
		got = now_ns() - t0;
		all_ok &= report("abstime", asked, rc == 0 ? got : -1);
	}
	return all_ok ? 0 : 1;
}
