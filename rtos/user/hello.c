/* hello [args]: the first program the RTOS runs. Plain printf on purpose: musl's stdio
 * asks the kernel for the terminal size (ioctl TIOCGWINSZ; the RTOS answers -ENOTTY,
 * so stdout becomes fully buffered) and then writes with writev at exit. */
#include "crtos-user.h"

int main(int argc, char **argv)
{
	printf("hello: pid=%d argc=%d args=", (int)getpid(), argc);
	for (int i = 1; i < argc; i++)
		printf("%s%s", i > 1 ? "," : "", argv[i]);
	printf(" nonce=%s\n", nonce());
	return 0;
}
