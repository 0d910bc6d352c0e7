/* Logging in the style of OpenBSD daemons: log_warn appends strerror(errno),
 * log_warnx does not; fatal/fatalx exit and belong only in main programs. */
#ifndef FL_LOG_H
#define FL_LOG_H

void log_init(int to_stderr, int verbose, const char *ident);
/* Send every line to sink instead (level 0 warning, 1 info, 2 debug): the
 * API process hands its lines to the engine this way. */
void log_set_sink(void (*sink)(int level, const char *msg));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Notice: what an operator must be able to find later (every injection
 * and revert, the audit of every mutating request). Under systemd each line
 * carries its journald priority. */
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
