/* fwd-exit CODE: one line on standard output, one on standard error, then exit with
 * CODE. Run by `crtosctl run`, both lines must reach the caller's terminal and CODE
 * must become crtosctl's exit status. */
#include "crtos-user.h"

int main(int argc, char **argv)
{
	long code = argc == 2 ? parse_count("fwd-exit", "CODE", argv[1]) : 0;
	say("fwd-exit: to stdout, exiting with %ld", code);
	char line[128];
	int len = snprintf(line, sizeof line, "fwd-exit: to stderr nonce=%s\n", nonce());
	if (write(2, line, (size_t)len) != len)
		return 1;
	return (int)(code & 0xFF);
}
