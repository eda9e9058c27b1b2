/* fwd-eio: forwarded calls while the daemon dies.
 *
 * Writes one byte to /dev/null again and again (each a forwarded round trip) until a
 * write fails. When the daemon is killed, the call in flight must fail with EIO within
 * 100 ms (the RTOS notices the driver's "daemon gone"), and so must every later call.
 * Its standard output went with the daemon, so the result is the exit status: the
 * milliseconds (RTOS clock) from the last good call's return to the failure's return,
 * at most 250; 251 if the failure was not EIO; 252 if no call failed after 10 minutes. */
#define _GNU_SOURCE
#include "crtos-user.h"
#include <errno.h>
#include <fcntl.h>

#define GIVE_UP_NS (600 * NS_PER_SEC)

int main(void)
{
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0)
		return 253;
	say("fwd-eio: writing until the daemon goes");
	int64_t start = now_ns(), last_ok = start;
	for (;;) {
		long ret = raw_syscall3(SYS_write, fd, (long)"x", 1);
		int64_t now = now_ns();
		if (ret == 1) {
			last_ok = now;
			if (now - start > GIVE_UP_NS)
				return 252;
			continue;
		}
		if (ret != -EIO)
			return 251;
		int64_t ms = (now - last_ok) / NS_PER_MS;
		/* A second call must fail at once, too. */
		if (raw_syscall3(SYS_write, fd, (long)"x", 1) != -EIO)
			return 251;
		return ms > 250 ? 250 : (int)ms;
	}
}
