/* Test tool: write raw bytes into a descriptor of another process, as that
 * process would, to check how its peer treats a malformed message.
 *
 *   fl-privsep-poke PID FD HEX
 *
 * Takes a copy of descriptor FD of process PID (pidfd_getfd, Linux 5.6;
 * root) and writes the bytes HEX ("01000000ff..." two hex digits per
 * byte) to it. The integration tests use it on the API process's end of
 * the socketpair (descriptor 3) to send the engine a message the API
 * process never would. Exit 0 when every byte was written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	unsigned char buf[4096];
	size_t n = 0, len;
	int pidfd, fd;

	if (argc != 4 || (len = strlen(argv[3])) % 2 != 0 ||
	    len / 2 > sizeof(buf)) {
		fprintf(stderr, "usage: fl-privsep-poke PID FD HEX\n");
		return 2;
	}
	for (size_t i = 0; i < len; i += 2) {
		unsigned v;

		if (sscanf(argv[3] + i, "%2x", &v) != 1) {
			fprintf(stderr, "fl-privsep-poke: bad hex\n");
			return 2;
		}
		buf[n++] = (unsigned char)v;
	}
	if ((pidfd = (int)syscall(SYS_pidfd_open, atoi(argv[1]), 0)) == -1 ||
	    (fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(argv[2]), 0)) == -1) {
		fprintf(stderr, "fl-privsep-poke: %s\n", strerror(errno));
		return 1;
	}
	if (write(fd, buf, n) != (ssize_t)n) {
		fprintf(stderr, "fl-privsep-poke: write: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
