/* Bench tool: the sequential client loop conn-exhaust's mysql mode is
 * measured against (bench/conn-exhaust-mysql.sh). Opens N authenticated
 * connections one after the other with Connector/C's ordinary blocking
 * mysql_real_connect, as a hand-written script would, then holds them
 * until SIGTERM/SIGINT.
 *
 *   fl-mysql-seq HOST PORT USER PASSWORD DATABASE N
 *
 * Prints "held N" on stdout once all are open; exit 1 with the
 * connector's message on the first failure. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <mysql.h>

int
main(int argc, char **argv)
{
	MYSQL **m;
	sigset_t ss;
	long n;
	int sig;

	if (argc != 7 || (n = strtol(argv[6], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: fl-mysql-seq HOST PORT USER PASSWORD DATABASE N\n");
		return 2;
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if ((m = calloc((size_t)n, sizeof(*m))) == NULL)
		return 1;
	for (long i = 0; i < n; i++) {
		if ((m[i] = mysql_init(NULL)) == NULL ||
		    mysql_real_connect(m[i], argv[1], argv[3], argv[4], argv[5],
		    (unsigned int)atoi(argv[2]), NULL, 0) == NULL) {
			fprintf(stderr, "fl-mysql-seq: connection %ld: %s\n", i + 1,
			    m[i] != NULL ? mysql_error(m[i]) : "out of memory");
			return 1;
		}
	}
	printf("held %ld\n", n);
	fflush(stdout);
	sigwait(&ss, &sig);
	for (long i = 0; i < n; i++)
		mysql_close(m[i]);
	free(m);
	return 0;
}
