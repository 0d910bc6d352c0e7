/* process-kill: the state and targets of the victims, and the signals
 * (process_kill.h).
 *
 * Signals go out in batches of PK_BATCH: for each victim of the batch a
 * pidfd is opened and the start time checked (proc_pin: one read of
 * /proc/PID/stat, the only one after the scan); for a stop signal, a
 * victim found stopped meanwhile is marked and the marks are journaled
 * before anything of the batch is signalled; then the pinned processes
 * are signalled through their pidfds. The events are one per list per
 * round: those signalled, those gone, reused, left stopped, failed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process_kill.h"

/* Pidfds held at once: few enough for any descriptor limit. */
#define PK_BATCH 64

/* ---- one event per list ----------------------------------------------- */

void
pk_ev_init(struct pk_ev *ev, const char *type, const char *fault)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	snprintf(ev->buf, sizeof(ev->buf) / 2, "%s: ", fault);
	fault_utf8_trim(ev->buf);
	ev->head = ev->off = strlen(ev->buf);
}

/* Room kept for "; and 4294967295 more (4294967295 in all)". */
#define PK_EV_TAIL 48

void
pk_ev_add(struct pk_ev *ev, const char *fmt, ...)
{
	char entry[512];
	size_t len;
	va_list ap;

	ev->n++;
	if (ev->shown + 1 < ev->n)
		return;  /* one was left out: the rest too, in order */
	va_start(ap, fmt);
	vsnprintf(entry, sizeof(entry), fmt, ap);
	va_end(ap);
	len = strlen(entry) + (ev->shown > 0 ? 2 : 0);
	if (ev->off + len + PK_EV_TAIL >= sizeof(ev->buf))
		return;
	snprintf(ev->buf + ev->off, sizeof(ev->buf) - ev->off, "%s%s",
	    ev->shown > 0 ? "; " : "", entry);
	ev->off += len;
	ev->shown++;
}

void
pk_ev_emit(struct pk_ev *ev, struct fault_ctx *ctx)
{
	if (ev->n == 0)
		return;
	if (ev->shown < ev->n)
		snprintf(ev->buf + ev->off, sizeof(ev->buf) - ev->off,
		    "%sand %zu more (%zu in all)", ev->shown > 0 ? "; " : "",
		    ev->n - ev->shown, ev->n);
	fault_event(ctx, ev->type, "%s", ev->buf);
	ev->buf[ev->head] = '\0';
	ev->off = ev->head;
	ev->n = ev->shown = 0;
}

/* ---- state and targets (every string valid UTF-8; NULL is an error) -- */

static json_t *
victim_json(const struct pk_proc *p, unsigned round)
{
	/* A state letter is ASCII; anything else would not be UTF-8. */
	char st[2] = { p->state > ' ' && p->state < 127 ? p->state : '?', '\0' };

	return json_pack("{s:i, s:I, s:s, s:s, s:i}", "pid", (int)p->pid,
	    "starttime", (json_int_t)p->starttime, "comm", p->name,
	    "prior_state", st, "round", (int)round);
}

int
pk_append_victims(json_t *victims, const struct pk_list *v, unsigned round)
{
	size_t from = json_array_size(victims);

	for (size_t i = 0; i < v->n; i++)
		if (json_array_append_new(victims, victim_json(&v->v[i],
		    round)) == -1) {
			while (json_array_size(victims) > from)
				json_array_remove(victims,
				    json_array_size(victims) - 1);
			return -1;
		}
	return 0;
}

/* "pid 123 (api) user www-data" for each of v, appended to f->targets.
 * The user name comes from the user database, once per distinct uid
 * (victims mostly share one): made valid UTF-8 too. */
int
pk_add_targets(struct fault *f, const struct pk_list *v)
{
	struct proc_users users = { NULL, 0, 0, "" };
	char buf[PROC_NAME_MAX + 128];
	int rc = 0;

	if (f->targets == NULL && (f->targets = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < v->n && rc == 0; i++) {
		const char *user = proc_users_name(&users, v->v[i].uid);
		char *text = NULL;

		snprintf(buf, sizeof(buf), "pid %d (%s) user %s",
		    (int)v->v[i].pid, v->v[i].name, user);
		if (fl_utf8_valid(buf, strlen(buf), NULL))
			rc = json_array_append_new(f->targets, json_string(buf));
		else if ((text = fl_utf8_sanitize(buf, strlen(buf))) == NULL)
			rc = -1;
		else
			rc = json_array_append_new(f->targets,
			    json_string(text));
		free(text);
	}
	proc_users_free(&users);
	return rc;
}

/* ---- signalling ------------------------------------------------------- */

static int
victim_stopped_before(const json_t *v)
{
	const char *ps = json_string_value(json_object_get(v, "prior_state"));

	return ps != NULL && proc_is_stopped(ps[0]);
}

/* The lists of one call, each one event. */
struct pk_evs {
	struct pk_ev sent, gone, reused, failed, left, marked;
};

/* Note the outcome r of pinning or signalling one victim; returns its
 * "result". The first failure goes to e. */
static const char *
outcome(struct pk_evs *evs, enum proc_send r, json_int_t pid,
    const char *comm, const char *signame, int *rc, struct fl_err *e)
{
	int err = errno;

	switch (r) {
	case PROC_SENT:
		pk_ev_add(&evs->sent, "SIG%s sent to pid %d (%s)", signame,
		    (int)pid, comm);
		return "sent";
	case PROC_GONE:
		pk_ev_add(&evs->gone, "pid %d (%s) is gone; not signalled",
		    (int)pid, comm);
		return "gone";
	case PROC_REUSED:
		pk_ev_add(&evs->reused, "pid %d was reused; not signalled",
		    (int)pid);
		return "reused";
	case PROC_SEND_ERROR:
	default:
		pk_ev_add(&evs->failed, "SIG%s to pid %d (%s): %s", signame,
		    (int)pid, comm, strerror(err));
		if (*rc == 0)
			fl_fail(e, "SIG%s to pid %d (%s): %s", signame, (int)pid,
			    comm, strerror(err));
		*rc = -1;
		return "error";
	}
}

static void
set_result(json_t *v, const char *res, int *rc, struct fl_err *e)
{
	if (json_object_set_new(v, "result", json_string(res)) == -1 &&
	    *rc == 0) {
		fl_fail(e, "out of memory");
		*rc = -1;
	}
}

struct pk_pin {
	json_t *v;
	json_int_t pid;
	const char *comm;
	int pfd;
};

/* Signal victims[from..] with signo; one event per list, and (inject)
 * each victim's "result". revert: send CONT only where the stop was ours.
 * A stop signal never goes to a victim found stopped now (someone paused
 * it since it was chosen): it is marked "already stopped" with its state,
 * journaled before its batch is signalled, so that revert never resumes
 * it. Returns -1 (e filled with the first failure) if any signal could
 * not be sent, or the marks could not be journaled (then the rest is not
 * signalled). */
int
pk_signal_victims(struct fault *f, struct fault_ctx *ctx, json_t *victims,
    size_t from, int signo, const char *signame, int revert,
    struct fl_err *e)
{
	int stop = !revert && fault_is_stop_signal(signo), rc = 0, halted = 0;
	size_t i = from, total = json_array_size(victims);
	struct pk_pin pins[PK_BATCH];
	struct pk_evs evs;

	pk_ev_init(&evs.sent, revert ? "revert" : "inject", f->name);
	pk_ev_init(&evs.gone, "info", f->name);
	pk_ev_init(&evs.reused, "info", f->name);
	pk_ev_init(&evs.failed, "error", f->name);
	pk_ev_init(&evs.left, "info", f->name);
	pk_ev_init(&evs.marked, "info", f->name);
	while (i < total) {
		size_t np = 0, nmarked = 0;

		if (halted)
			break;

		/* Pin a batch: pidfd, start time, state. */
		for (; i < total && np < PK_BATCH; i++) {
			json_t *v = json_array_get(victims, i);
			json_int_t pid = json_integer_value(json_object_get(v,
			    "pid"));
			uint64_t st = (uint64_t)json_integer_value(
			    json_object_get(v, "starttime"));
			const char *comm = json_string_value(json_object_get(v,
			    "comm"));
			const char *result = json_string_value(
			    json_object_get(v, "result"));
			const char *res;
			enum proc_send r;
			char state = '?';
			int pfd;

			/* A hand-edited or corrupt journal must not make us
			 * signal PID 0 (our process group) or -1 (all). */
			if (pid <= 1 || pid > 4194304)
				continue;
			if (comm == NULL)
				comm = "?";
			if (victim_stopped_before(v)) {
				if (revert)
					pk_ev_add(&evs.left, "pid %d (%s) was "
					    "already stopped before the fault; "
					    "left stopped", (int)pid, comm);
				continue;
			}
			/* Revert undoes only a stop that was sent. No result:
			 * sent, or a restart found the journal written but not
			 * the result. */
			if (revert && result != NULL &&
			    strcmp(result, "sent") != 0)
				continue;
			r = proc_pin((pid_t)pid, st, &pfd, &state);
			if (r == PROC_SENT && stop && proc_is_stopped(state)) {
				if (pfd != -1)
					close(pfd);
				if (json_object_set_new(v, "prior_state",
				    json_string(state == 't' ? "t" : "T")) == -1 ||
				    json_object_set_new(v, "result",
				    json_string("already stopped")) == -1) {
					rc = fl_fail(e, "out of memory");
					halted = 1;
					break;
				}
				pk_ev_add(&evs.marked, "pid %d (%s) was stopped "
				    "by someone else since it was chosen; not "
				    "signalled, it stays stopped", (int)pid, comm);
				nmarked++;
				continue;
			}
			if (r == PROC_SENT) {
				pins[np].v = v;
				pins[np].pid = pid;
				pins[np].comm = comm;
				pins[np++].pfd = pfd;
				continue;
			}
			res = outcome(&evs, r, pid, comm, signame, &rc, e);
			if (!revert)
				set_result(v, res, &rc, e);
		}
		/* The marks are on disk before their batch is signalled. */
		if (!halted && nmarked > 0 && fault_journal_update(ctx, f) == -1) {
			fl_fail(e, "%s: journal update failed; nothing more "
			    "signalled", f->name);
			rc = -1;
			halted = 1;
		}
		if (halted) {
			for (size_t k = 0; k < np; k++)
				if (pins[k].pfd != -1)
					close(pins[k].pfd);
			break;
		}
		for (size_t k = 0; k < np; k++) {
			const char *res = outcome(&evs, proc_pinned_signal(
			    (pid_t)pins[k].pid, pins[k].pfd, signo), pins[k].pid,
			    pins[k].comm, signame, &rc, e);

			if (!revert)
				set_result(pins[k].v, res, &rc, e);
		}
	}
	pk_ev_emit(&evs.marked, ctx);
	pk_ev_emit(&evs.left, ctx);
	pk_ev_emit(&evs.sent, ctx);
	pk_ev_emit(&evs.gone, ctx);
	pk_ev_emit(&evs.reused, ctx);
	pk_ev_emit(&evs.failed, ctx);
	return rc;
}
