/* Libraries mapped at first use: the loader (lazylib.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "lazylib.h"
#include "log.h"

static int never_load;

void
lazylib_never_load(void)
{
	never_load = 1;
}

int
lazylib_checks_deferred(void)
{
	return never_load;
}

/* Load l once; quiet (the callers say why). */
static int
load(struct lazylib *l)
{
	void *h;
	int st;

	/* The fast path: every wrapper call comes here. */
	if ((st = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE)) != 0)
		return st == 1 ? 0 : -1;
	pthread_mutex_lock(&l->lock);
	if ((st = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE)) != 0)
		goto out;
	if (never_load) {
		/* Not reached by the API process's checks (they ask
		 * lazylib_checks_deferred first); said if anything else is. */
		snprintf(l->why, sizeof(l->why), "%s: not loaded in this "
		    "process (%s need it)", l->soname, l->users);
		st = -1;
		goto done;
	}
	/* RTLD_NOW: a library that lacks a symbol it needs fails here, not
	 * in the middle of a fault. Never closed: the process keeps what it
	 * loaded, as if it had been linked. */
	if ((h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		const char *e = dlerror();

		snprintf(l->why, sizeof(l->why), "%s (%s need it)",
		    e != NULL ? e : l->soname, l->users);
		st = -1;
	} else {
		st = 1;
		for (size_t i = 0; i < l->n; i++) {
			if ((l->fn[i] = dlsym(h, l->names[i])) != NULL)
				continue;
			snprintf(l->why, sizeof(l->why), "%s has no %s: the "
			    "installed version is too old (%s need it)",
			    l->soname, l->names[i], l->users);
			st = -1;
			break;
		}
	}
done:
	__atomic_store_n(&l->state, st, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&l->lock);
	return st == 1 ? 0 : -1;
}

/* A wrapper found the library missing: nobody asked lazylib_need first,
 * so the log is the only place the reason can go; once. */
int
lazylib_load(struct lazylib *l)
{
	if (load(l) == 0)
		return 0;
	if (!__atomic_exchange_n(&l->told, 1, __ATOMIC_ACQ_REL))
		log_warnx("%s", l->why);
	return -1;
}

int
lazylib_need(struct lazylib *l, const char **why)
{
	if (load(l) == 0)
		return 0;
	/* The caller reports it: the log need not say it again. */
	__atomic_store_n(&l->told, 1, __ATOMIC_RELEASE);
	*why = l->why;
	return -1;
}

int
lazylib_loaded(struct lazylib *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_ACQUIRE) == 1;
}
