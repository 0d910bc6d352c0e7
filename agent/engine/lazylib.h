/* Libraries mapped at first use (issue 16, "Start-up"; README,
 * "Dependencies").
 *
 * libcurl, libpq and MariaDB Connector/C each bring the TLS stack with
 * them (libssl, libcrypto, Kerberos, LDAP, SASL, libssh2: about 30
 * libraries and 700 KiB of relocated data per process), yet an idle agent
 * uses none of them, and faultctl needs libcurl only to talk to an
 * agent. So no binary links them: lazy_curl.c, lazy_pq.c and
 * lazy_mysql.c define every function of theirs that faultline calls, with
 * the library's own prototype, and each of those loads its library with
 * dlopen on the first call and jumps to the real function.
 *
 * When a library cannot be loaded, every function of it returns its
 * failure value (NULL, an error code, -1) and the reason is logged once;
 * callers that start a use of the library (http_start, faultctl's
 * client, the PostgreSQL and MySQL drivers, pod-kill) ask lazylib_need()
 * first so that the user
 * reads the reason itself, in one line. */
#ifndef FL_LAZYLIB_H
#define FL_LAZYLIB_H

#include <pthread.h>
#include <stddef.h>

struct lazylib {
	const char *soname;        /* what dlopen opens: "libpq.so.5" */
	const char *users;         /* who needs it, for the message */
	const char *const *names;  /* the functions, in the order of fn */
	void **fn;                 /* filled all at once by lazylib_load */
	size_t n;
	pthread_mutex_t lock;      /* a load from two threads loads once */
	int state;                 /* 0 not tried, 1 loaded, -1 failed;
	                              atomic */
	int told;                  /* the failure has been reported;
	                              atomic */
	char why[384];             /* the failure, once state is -1 */
};

#define LAZYLIB_INIT(so, who, namev, fnv) { (so), (who), (namev), (fnv), \
	sizeof(namev) / sizeof((namev)[0]), PTHREAD_MUTEX_INITIALIZER, 0, 0, "" }

/* Load l (dlopen, then dlsym of every name: a library without one of them
 * is not loaded at all) unless done already. 0, or -1; the result of the
 * first call is the result of every later one. The wrappers' way in: the
 * first failure nobody has reported yet is logged (log_warnx). */
int lazylib_load(struct lazylib *l);

/* lazylib_load, for callers that start a use of the library and report
 * the failure themselves: 0, or -1 with *why set to one line naming the
 * library, the loader's reason and what needs it (owned by l). */
int lazylib_need(struct lazylib *l, const char **why);

/* The API process calls this before its sandbox (which refuses every
 * open, and which must stay small): no library is ever loaded in it, and
 * the checks of an experiment that need one (a PostgreSQL DSN) are left to
 * the engine, which parses every submitted experiment again and answers
 * 400 with the same diagnostics. */
void lazylib_never_load(void);
/* 1 after lazylib_never_load: skip a check that needs a library. */
int lazylib_checks_deferred(void);

/* Whether l is loaded already (never loads it). */
int lazylib_loaded(struct lazylib *l);

/* The libraries (lazy_curl.c, lazy_pq.c, lazy_mysql.c). */
extern struct lazylib lazy_curl, lazy_pq, lazy_mysql;

/* The generated wrappers: the table's index of each function, its name,
 * and a definition with the library's prototype that loads the library
 * and calls through the table (or returns fail when it cannot load).
 * LAZY_INDEX and LAZY_NAME take any number of trailing arguments so that
 * one list serves all three. */
#define LAZY_INDEX(ret, name, ...) LZ_##name,
#define LAZY_NAME(ret, name, ...) #name,
#define LAZY_VOID_INDEX(name, ...) LZ_##name,
#define LAZY_VOID_NAME(name, ...) #name,
#define LAZY_DEFINE(lib, table, ret, name, params, args, fail) \
	ret name params \
	{ \
		if (lazylib_load(&(lib)) == -1) \
			return fail; \
		return ((ret (*) params)(table)[LZ_##name]) args; \
	}
#define LAZY_DEFINE_VOID(lib, table, name, params, args) \
	void name params \
	{ \
		if (lazylib_load(&(lib)) == 0) \
			((void (*) params)(table)[LZ_##name]) args; \
	}

#endif
