/* fwd-files: lab 3's file checks, run as an RTOS task whose file calls go to Linux.
 *
 *   fwd-files pattern SEED BYTES   write the test pattern to stdout (run on Linux: the
 *                                  file the RTOS writes must equal this, byte for byte)
 *   fwd-files check SEED BYTES     in the task's jail: write rtos-out.bin (the pattern),
 *                                  read it back, compare lseek/fstat/pread64/getdents64
 *                                  with what was written, read linux.txt that Linux
 *                                  wrote, work with a directory, and try three ways out
 *                                  of the jail (../, an absolute path, a symlink).
 *
 * Each fact is one line (say(): one write(2), so lines never tear). The transfers are
 * 5000 and 7000 bytes at a time on purpose: more than one payload buffer (4 KiB), so
 * the RTOS must split them. Plain libc calls: musl turns them into the legacy numbers
 * (open, stat, ...) or the *at ones, and the RTOS forwards both. */
#define _GNU_SOURCE
#include "crtos-user.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#define OUT "rtos-out.bin"
#define WRITE_CHUNK 5000
#define READ_CHUNK 7000

/* Byte i of the pattern for SEED: xorshift64 over (seed, i), so every byte depends on
 * the run's nonce and a misplaced or repeated chunk shows. */
static unsigned char pattern_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = seed ^ (i * 0x9E3779B97F4A7C15ULL);
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (unsigned char)(x >> 24);
}

static void fill(unsigned char *buf, size_t len, uint64_t seed, uint64_t offset)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, offset + i);
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int pattern(uint64_t seed, long bytes)
{
	unsigned char buf[WRITE_CHUNK];
	for (long off = 0; off < bytes; off += WRITE_CHUNK) {
		size_t len = bytes - off < WRITE_CHUNK ? (size_t)(bytes - off) : WRITE_CHUNK;
		fill(buf, len, seed, (uint64_t)off);
		if (write_all(1, buf, len))
			return 1;
	}
	return 0;
}

static void report_errno(const char *what)
{
	say("fwd-files: %s: failed errno=%d (%s)", what, errno, strerror(errno));
}

/* Writes the pattern to OUT in WRITE_CHUNK pieces, then fsync. */
static int write_out(uint64_t seed, long bytes)
{
	static unsigned char buf[WRITE_CHUNK];
	int fd = open(OUT, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return report_errno("open " OUT " for writing"), -1;
	for (long off = 0; off < bytes; off += WRITE_CHUNK) {
		size_t len = bytes - off < WRITE_CHUNK ? (size_t)(bytes - off) : WRITE_CHUNK;
		fill(buf, len, seed, (uint64_t)off);
		if (write_all(fd, buf, len))
			return report_errno("write " OUT), close(fd), -1;
	}
	if (fsync(fd) || close(fd))
		return report_errno("fsync/close " OUT), -1;
	say("fwd-files: wrote %s bytes=%ld", OUT, bytes);
	return 0;
}

/* Reads OUT back whole (READ_CHUNK at a time) and at one offset with pread64; says
 * what lseek and fstat report. */
static int read_back(uint64_t seed, long bytes)
{
	static unsigned char got[READ_CHUNK], want[READ_CHUNK];
	int fd = open(OUT, O_RDONLY);
	if (fd < 0)
		return report_errno("open " OUT " for reading"), -1;
	struct stat st;
	if (fstat(fd, &st))
		return report_errno("fstat " OUT), close(fd), -1;
	off_t end = lseek(fd, 0, SEEK_END), start = lseek(fd, 0, SEEK_SET);
	say("fwd-files: fstat size=%lld lseek end=%lld start=%lld", (long long)st.st_size,
	    (long long)end, (long long)start);
	long total = 0, mismatch = -1;
	for (ssize_t n; (n = read(fd, got, READ_CHUNK)) > 0; total += n) {
		fill(want, (size_t)n, seed, (uint64_t)total);
		for (ssize_t i = 0; i < n && mismatch < 0; i++)
			if (got[i] != want[i])
				mismatch = total + i;
	}
	long at = bytes / 3;
	ssize_t p = pread(fd, got, 64, at);
	fill(want, 64, seed, (uint64_t)at);
	int pread_ok = p == 64 && memcmp(got, want, 64) == 0;
	close(fd);
	say("fwd-files: read back bytes=%ld first_mismatch=%ld pread_at=%ld ok=%d", total, mismatch,
	    at, pread_ok);
	return 0;
}

static void read_linux_file(void)
{
	char text[256] = {0};
	int fd = open("linux.txt", O_RDONLY);
	if (fd < 0)
		return report_errno("open linux.txt");
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n > 0 && text[n - 1] == '\n')
		text[n - 1] = '\0';
	struct stat st;
	long long size = stat("linux.txt", &st) == 0 ? (long long)st.st_size : -1;
	say("fwd-files: linux.txt says '%s' stat size=%lld", text, size);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The root directory's entries (getdents64 through readdir), sorted, . and .. left out. */
static void list_root(void)
{
	DIR *d = opendir(".");
	if (!d)
		return report_errno("opendir .");
	char *names[64];
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) && n < 64;)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof names[0], by_name);
	char line[512] = "";
	for (int i = 0; i < n; i++)
		snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i ? " " : "", names[i]);
	say("fwd-files: dir / has: %s", line);
}

/* mkdir, create, rename, unlink, rmdir, access, chdir and getcwd, in that order; the
 * first step that fails is named. In the jail, getcwd says /sub (the jail is `/`). */
static void directory_ops(void)
{
	char cwd[64] = "";
	int fd;
	const char *failed = mkdir("sub", 0755) ? "mkdir sub"
		: (fd = open("sub/a", O_WRONLY | O_CREAT, 0644)) < 0 ? "create sub/a"
		: close(fd) ? "close sub/a"
		: rename("sub/a", "sub/b") ? "rename sub/a sub/b"
		: access("sub/a", F_OK) == 0 ? "sub/a still there after rename"
		: unlink("sub/b") ? "unlink sub/b"
		: chdir("sub") ? "chdir sub"
		: !getcwd(cwd, sizeof cwd) ? "getcwd in sub"
		: chdir("..") ? "chdir .."
		: rmdir("sub") ? "rmdir sub"
		: access("sub", F_OK) == 0 ? "sub still there after rmdir"
		: NULL;
	if (failed)
		report_errno(failed);
	else
		say("fwd-files: mkdir create rename unlink chdir rmdir: ok, getcwd in sub was %s", cwd);
}

/* Three ways out of the jail; none may reach Linux's /tmp/secret.txt. */
static void try_escapes(void)
{
	const char *paths[] = {"../../tmp/secret.txt", "/tmp/secret.txt", "link-out"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		char text[128] = {0};
		int fd = open(paths[i], O_RDONLY);
		if (fd < 0) {
			say("fwd-files: escape %s: refused errno=%d (%s)", paths[i], errno,
			    strerror(errno));
			continue;
		}
		ssize_t n = read(fd, text, sizeof text - 1);
		close(fd);
		say("fwd-files: escape %s: READ %ld bytes '%s'", paths[i], (long)n, text);
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		say("fwd-files: usage: fwd-files pattern|check SEED BYTES");
		return 2;
	}
	uint64_t seed = strtoull(argv[2], NULL, 16);
	long bytes = parse_count("fwd-files", "BYTES", argv[3]);
	if (strcmp(argv[1], "pattern") == 0)
		return pattern(seed, bytes);
	if (strcmp(argv[1], "check") != 0)
		return 2;
	if (write_out(seed, bytes) || read_back(seed, bytes))
		return 1;
	read_linux_file();
	list_root();
	directory_ops();
	try_escapes();
	return 0;
}
