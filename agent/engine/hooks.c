/* Cleanup hooks run one at a time on the loop: a pidfd watches the child, a
 * pipe carries its output, timers enforce the timeout. The state of a
 * sequence is one heap object owned by the loop callbacks until done runs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "common.h"
#include "experiment.h"
#include "hooks.h"
#include "journal.h"
#include "log.h"
#include "loop.h"
#include "proc.h"

/* One sequence of hooks. */
struct hookrun {
	struct loop *loop;
	struct strlist cmds;        /* owned copy */
	uint64_t timeout_ms;
	hooks_done_cb done;
	void *arg;
	struct journal *j;          /* NULL: hooks are not journaled */
	char *run;                  /* owned */
	size_t first;               /* index of cmds.v[0] in the run's list */
	struct runas ra;            /* whose hooks (ra.set 0: root) */

	struct hook_result *res;    /* cmds.n entries, handed to done */
	size_t cur;

	/* The running hook. */
	pid_t pid;
	int outfd, errfd;
	char *buf;
	size_t len;
	int truncated;
	int exited;
	int status;
	uint64_t start;
	uint64_t t_term, t_kill, t_next;
};

static void start_next(struct loop *l, void *arg);

static void
read_output(struct hookrun *h)
{
	char tmp[8192];
	ssize_t n;

	for (;;) {
		n = read(h->outfd, tmp, sizeof(tmp));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (h->len < HOOK_OUTPUT_MAX) {
			size_t take = (size_t)n;
			if (take > HOOK_OUTPUT_MAX - h->len) {
				take = HOOK_OUTPUT_MAX - h->len;
				h->truncated = 1;
			}
			memcpy(h->buf + h->len, tmp, take);
			h->len += take;
		} else
			h->truncated = 1;
	}
}

static void
on_output(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct hookrun *h = arg;

	(void)events;
	read_output(h);
	/* On EOF (every writer gone) stop watching; the rest is read when
	 * the child is reaped. */
	if (events & (EPOLLHUP | EPOLLERR)) {
		loop_del_fd(l, fd);
		read_output(h);
	}
}

/* Journal hook h->cur's end (from its result). */
static void
journal_done(struct hookrun *h)
{
	struct hook_result *r = &h->res[h->cur];
	struct fl_err e;

	if (h->j != NULL && journal_hook_done(h->j, h->run, h->first + h->cur,
	    r->exit_code, r->term_signal, r->timed_out, r->duration_ms, r->error,
	    &e) == -1)
		log_warnx("cleanup hook %s: %s", r->command, e.msg);
}

static void
finish_hook(struct hookrun *h)
{
	struct hook_result *r = &h->res[h->cur];
	const char *what = NULL;
	static const char note[] = "\n[output truncated at 65536 bytes]\n";
	int err;
	char ebuf[512];

	loop_timer_cancel(h->loop, h->t_term);
	loop_timer_cancel(h->loop, h->t_kill);
	/* Everything the hook wrote is in the pipe by now; take it and stop,
	 * without waiting for descendants that may still hold the pipe. */
	read_output(h);
	loop_del_fd(h->loop, h->outfd);
	close(h->outfd);
	h->outfd = -1;
	if (r->timed_out)
		(void)kill(-h->pid, SIGKILL);
	r->duration_ms = fl_mono_ms() - h->start;
	if (WIFEXITED(h->status))
		r->exit_code = WEXITSTATUS(h->status);
	else {
		r->exit_code = -1;
		if (WIFSIGNALED(h->status))
			r->term_signal = WTERMSIG(h->status);
	}
	if ((err = spawn_exec_error(h->errfd, &what)) != 0) {
		r->exit_code = -1;
		snprintf(ebuf, sizeof(ebuf), "%s %s: %s", what,
		    h->cmds.v[h->cur], strerror(err));
		if (strcmp(what, "allow_exec") == 0) {
			char **av = argv_split(h->cmds.v[h->cur]);
			snprintf(ebuf, sizeof(ebuf), "exec %s: not allowed by [guard] "
			    "allow_exec", av && av[0] ? av[0] : h->cmds.v[h->cur]);
			argv_free(av);
		} else if (strcmp(what, "exec") == 0) {
			/* "exec /x: No such file or directory" names the
			 * program, not the whole line. */
			char **av = argv_split(h->cmds.v[h->cur]);
			snprintf(ebuf, sizeof(ebuf), "exec %s: %s",
			    av && av[0] ? av[0] : h->cmds.v[h->cur],
			    strerror(err));
			argv_free(av);
		}
		r->error = fl_utf8_sanitize(ebuf, strlen(ebuf));
	} else if (r->timed_out) {
		snprintf(ebuf, sizeof(ebuf), "timed out after %llums, killed by "
		    "signal %d", (unsigned long long)h->timeout_ms,
		    r->term_signal);
		r->error = strdup(ebuf);
	}
	h->errfd = -1;
	if (h->truncated) {   /* buf has room: HOOK_OUTPUT_MAX + 64 */
		memcpy(h->buf + h->len, note, sizeof(note) - 1);
		h->len += sizeof(note) - 1;
	}
	h->buf[h->len] = '\0';
	/* What a program prints need not be UTF-8; the report is JSON. */
	if ((r->output = fl_utf8_sanitize(h->buf, h->len)) == NULL)
		r->output = strdup("[output lost: out of memory]\n");
	free(h->buf);
	h->buf = NULL;
	h->len = 0;
	h->truncated = 0;
	h->pid = -1;
	journal_done(h);
	h->cur++;
	/* Next hook from a fresh loop turn, not from inside this callback. */
	h->t_next = loop_timer(h->loop, 0, start_next, h);
}

static void
on_exit_(struct loop *l, pid_t pid, int status, void *arg)
{
	struct hookrun *h = arg;

	(void)l;
	(void)pid;
	h->exited = 1;
	h->status = status;
	finish_hook(h);
}

static void
on_kill(struct loop *l, void *arg)
{
	struct hookrun *h = arg;

	(void)l;
	h->t_kill = 0;
	if (h->pid > 0)
		(void)kill(-h->pid, SIGKILL);
}

static void
on_timeout(struct loop *l, void *arg)
{
	struct hookrun *h = arg;

	h->t_term = 0;
	if (h->pid <= 0)
		return;
	h->res[h->cur].timed_out = 1;
	(void)kill(-h->pid, SIGTERM);
	h->t_kill = loop_timer(l, HOOK_KILL_GRACE_MS, on_kill, h);
}

static void
finish_all(struct hookrun *h)
{
	hooks_done_cb done = h->done;
	void *arg = h->arg;
	struct hook_result *res = h->res;
	size_t n = h->cmds.n;

	strlist_free(&h->cmds);
	free(h->buf);
	free(h->run);
	free(h);
	done(arg, res, n);
}

/* Fill result cur as not run, with why. */
static void
not_run(struct hookrun *h, const char *why)
{
	struct hook_result *r = &h->res[h->cur];

	r->exit_code = -1;
	r->error = fl_utf8_sanitize(why, strlen(why));
	r->output = strdup("");
	journal_done(h);
	h->cur++;
}

static void
start_next(struct loop *l, void *arg)
{
	struct hookrun *h = arg;
	struct fl_err e;
	char **av;
	int op[2];

	h->t_next = 0;
	while (h->cur < h->cmds.n) {
		struct hook_result *r = &h->res[h->cur];

		h->start = fl_mono_ms();
		if ((av = argv_split(h->cmds.v[h->cur])) == NULL ||
		    av[0] == NULL) {
			argv_free(av);
			not_run(h, "empty command");
			continue;
		}
		op[0] = op[1] = -1;
		if ((h->buf = malloc(HOOK_OUTPUT_MAX + 64)) == NULL ||
		    pipe2(op, O_CLOEXEC) == -1 ||
		    /* Only our end: the hook must see an ordinary blocking
		     * stdout, or a full pipe fails its writes with EAGAIN. */
		    fcntl(op[0], F_SETFL, O_NONBLOCK) == -1) {
			int err = errno;

			if (op[0] != -1) {
				close(op[0]);
				close(op[1]);
			}
			errno = err;
			argv_free(av);
			free(h->buf);
			h->buf = NULL;
			not_run(h, strerror(errno));
			continue;
		}
		h->pid = spawn_as(av, op[1], &h->errfd, &h->ra, &e);
		argv_free(av);
		close(op[1]);
		if (h->pid == -1) {
			close(op[0]);
			free(h->buf);
			h->buf = NULL;
			not_run(h, e.msg);
			continue;
		}
		h->outfd = op[0];
		h->exited = 0;
		if (loop_add_fd(l, h->outfd, EPOLLIN, on_output, h) == -1 ||
		    loop_child(l, h->pid, on_exit_, h) == -1) {
			/* Cannot watch it: kill it and record that. */
			int st;

			loop_del_fd(l, h->outfd);
			(void)kill(-h->pid, SIGKILL);
			(void)waitpid(h->pid, &st, 0);
			close(h->outfd);
			close(h->errfd);
			free(h->buf);
			h->buf = NULL;
			r->duration_ms = fl_mono_ms() - h->start;
			not_run(h, "cannot watch the hook process");
			continue;
		}
		if (h->j != NULL) {
			struct proc_info pi;

			/* The group and its leader's start time: a replay
			 * after a crash kills this group, and only if its
			 * leader is still this process. */
			if (proc_read(h->pid, &pi) == -1)
				pi.starttime = 0;
			if (journal_hook_start(h->j, h->run, h->first + h->cur,
			    h->pid, pi.starttime, &e) == -1)
				log_warnx("cleanup hook %s: %s", r->command, e.msg);
		}
		if (h->timeout_ms > 0)
			h->t_term = loop_timer(l, h->timeout_ms, on_timeout, h);
		return;
	}
	finish_all(h);
}

int
hooks_run(struct loop *l, const struct strlist *cmds, uint64_t timeout_ms,
    hooks_done_cb done, void *arg)
{
	return hooks_run_journaled(l, cmds, timeout_ms, NULL, done, arg);
}

int
hooks_run_journaled(struct loop *l, const struct strlist *cmds,
    uint64_t timeout_ms, const struct hooks_journal *hj, hooks_done_cb done,
    void *arg)
{
	return hooks_run_as(l, cmds, timeout_ms, hj, NULL, done, arg);
}

int
hooks_run_as(struct loop *l, const struct strlist *cmds, uint64_t timeout_ms,
    const struct hooks_journal *hj, const struct runas *ra,
    hooks_done_cb done, void *arg)
{
	struct hookrun *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	if (ra != NULL)
		h->ra = *ra;
	if (hj != NULL && hj->j != NULL) {
		if ((h->run = strdup(hj->run)) == NULL) {
			free(h);
			return -1;
		}
		h->j = hj->j;
		h->first = hj->first;
	}
	h->loop = l;
	h->timeout_ms = timeout_ms;
	h->done = done;
	h->arg = arg;
	h->pid = -1;
	h->outfd = h->errfd = -1;
	for (size_t i = 0; i < cmds->n; i++)
		if (strlist_add(&h->cmds, cmds->v[i]) == -1)
			goto fail;
	if ((h->res = calloc(cmds->n ? cmds->n : 1, sizeof(*h->res))) == NULL)
		goto fail;
	for (size_t i = 0; i < cmds->n; i++)
		if ((h->res[i].command = fl_utf8_sanitize(cmds->v[i],
		    strlen(cmds->v[i]))) == NULL)
			goto fail;
	if ((h->t_next = loop_timer(l, 0, start_next, h)) == 0)
		goto fail;
	return 0;
fail:
	if (h->res != NULL)
		hook_results_free(h->res, cmds->n);
	strlist_free(&h->cmds);
	free(h->run);
	free(h);
	return -1;
}

void
hook_results_free(struct hook_result *res, size_t n)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(res[i].command);
		free(res[i].output);
		free(res[i].error);
	}
	free(res);
}
