/* The socketpair protocol between the engine and the API process
 * (privsep.h): exact checks of every message, and the buffered channel. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "loop.h"
#include "privsep.h"

/* One row per type: the size of its fixed struct, where the length of its
 * variable part is (or -1 when it has none) and how long that may be, and
 * where its peer and string fields are (-1: none). */
struct spec {
	const char *name;
	size_t fixed;
	long var_len_at;
	size_t var_max;
	long peer_at;
	long str_at;        /* a char array that must hold a NUL */
	size_t str_len;
	long str2_at;
	size_t str2_len;
};

#define NONE (-1L)
#define AT(type, field) ((long)offsetof(struct type, field))
#define SZ(type, field) (sizeof(((struct type *)0)->field))

static const struct spec specs[PS_TYPE_MAX] = {
	[PS_HELLO] = { "hello", sizeof(struct ps_hello), NONE, 0, NONE,
	    NONE, 0, NONE, 0 },
	[PS_LOG] = { "log", sizeof(struct ps_log), AT(ps_log, len), 4096,
	    NONE, NONE, 0, NONE, 0 },
#define REQ(t, n) [t] = { n, sizeof(struct ps_req), NONE, 0, AT(ps_req, peer), \
	    NONE, 0, NONE, 0 }
	REQ(PS_INFO, "info"),
	REQ(PS_LIST, "list"),
	REQ(PS_RECOVER, "recover"),
	REQ(PS_GD_LIST, "gameday-list"),
	REQ(PS_GD_HISTORY, "gameday-history"),
#undef REQ
#define ARG(t, n) [t] = { n, sizeof(struct ps_req_arg), NONE, 0, \
	    AT(ps_req_arg, peer), AT(ps_req_arg, arg), SZ(ps_req_arg, arg), NONE, 0 }
	ARG(PS_REPORT, "report"),
	ARG(PS_ABORT, "abort"),
	ARG(PS_EVIDENCE, "evidence"),
	ARG(PS_GD_RUN, "gameday-run"),
	ARG(PS_GD_SHOW, "gameday-show"),
#undef ARG
	[PS_SUBSCRIBE] = { "subscribe", sizeof(struct ps_subscribe), NONE, 0,
	    AT(ps_subscribe, peer), AT(ps_subscribe, run),
	    SZ(ps_subscribe, run), NONE, 0 },
	[PS_UNSUBSCRIBE] = { "unsubscribe", 0, NONE, 0, NONE, NONE, 0, NONE, 0 },
#define EXP(t, n) [t] = { n, sizeof(struct ps_experiment), \
	    AT(ps_experiment, text_len), PS_MAX_TEXT, AT(ps_experiment, peer), \
	    AT(ps_experiment, file), SZ(ps_experiment, file), NONE, 0 }
	EXP(PS_SUBMIT, "submit"),
	EXP(PS_PLAN, "plan"),
#undef EXP
	[PS_CONFIG] = { "config", sizeof(struct ps_config),
	    AT(ps_config, tls_len), 3 * 1024 * 1024, NONE,
	    AT(ps_config, user), SZ(ps_config, user),
	    AT(ps_config, listen), SZ(ps_config, listen) },
	[PS_REPLY] = { "reply", sizeof(struct ps_reply), AT(ps_reply, json_len),
	    PS_MAX_JSON, NONE, NONE, 0, NONE, 0 },
	[PS_EVENT] = { "event", sizeof(struct ps_text), AT(ps_text, len),
	    PS_MAX_JSON, NONE, NONE, 0, NONE, 0 },
	[PS_STREAM_END] = { "stream-end", 0, NONE, 0, NONE, NONE, 0, NONE, 0 },
	[PS_HALT] = { "halt", sizeof(struct ps_halt), NONE, 0,
	    AT(ps_halt, peer), AT(ps_halt, reason), SZ(ps_halt, reason), NONE, 0 },
	[PS_UNHALT] = { "unhalt", sizeof(struct ps_req), NONE, 0,
	    AT(ps_req, peer), NONE, 0, NONE, 0 },
	[PS_METRICS] = { "metrics", 0, NONE, 0, NONE, NONE, 0, NONE, 0 },
	[PS_METRICS_TEXT] = { "metrics-text", sizeof(struct ps_text),
	    AT(ps_text, len), PS_MAX_METRICS, NONE, NONE, 0, NONE, 0 },
	[PS_CLIENTS] = { "clients", sizeof(struct ps_text), AT(ps_text, len),
	    PS_MAX_TEXT, NONE, NONE, 0, NONE, 0 },
	[PS_AUDIT] = { "audit", sizeof(struct ps_audit), NONE, 0,
	    AT(ps_audit, peer), AT(ps_audit, route), SZ(ps_audit, route),
	    AT(ps_audit, hash), SZ(ps_audit, hash) },
};

const char *
ps_type_name(uint32_t type)
{
	if (type == 0 || type >= PS_TYPE_MAX || specs[type].name == NULL)
		return "unknown";
	return specs[type].name;
}

/* A NUL inside s[0..len), and only printable text before it (no control
 * characters: these strings end up in logs and reports). */
static int
str_ok(const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);

	if (nul == NULL)
		return 0;
	for (const char *p = s; p < nul; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return fl_utf8_valid(s, (size_t)(nul - s), NULL);
}

/* Largest payload a type may have: checked on the header alone, before
 * its payload is buffered. */
static size_t
max_len(uint32_t type)
{
	return specs[type].fixed + (specs[type].var_len_at != NONE ?
	    specs[type].var_max : 0);
}

static int
hdr_ok(const struct ps_hdr *h, char *why, size_t whylen)
{
	if (h->type == 0 || h->type >= PS_TYPE_MAX || specs[h->type].name == NULL) {
		snprintf(why, whylen, "unknown message type %u", h->type);
		return 0;
	}
	if (h->zero != 0) {
		snprintf(why, whylen, "%s: reserved header field is %u",
		    specs[h->type].name, h->zero);
		return 0;
	}
	if (h->len > max_len(h->type) || h->len < specs[h->type].fixed) {
		snprintf(why, whylen, "%s: length %u, expected %s%zu",
		    specs[h->type].name, h->len,
		    specs[h->type].var_len_at != NONE ? "at most " : "",
		    specs[h->type].var_len_at != NONE ? max_len(h->type) :
		    specs[h->type].fixed);
		return 0;
	}
	return 1;
}

int
ps_check(const struct ps_hdr *h, const void *payload, char *why,
    size_t whylen)
{
	const struct spec *s;
	const char *p = payload;
	uint32_t vlen = 0;

	if (!hdr_ok(h, why, whylen))
		return -1;
	s = &specs[h->type];
	if (s->var_len_at != NONE) {
		memcpy(&vlen, p + s->var_len_at, sizeof(vlen));
		/* The zero field that follows every variable-length field. */
		if (vlen > s->var_max || (size_t)h->len != s->fixed + vlen) {
			snprintf(why, whylen, "%s: length %u does not match its "
			    "fixed part %zu + variable part %u", s->name, h->len,
			    s->fixed, vlen);
			return -1;
		}
		if (memchr(p + s->fixed, '\0', vlen) != NULL ||
		    !fl_utf8_valid(p + s->fixed, vlen, NULL)) {
			snprintf(why, whylen, "%s: variable part is not UTF-8 text",
			    s->name);
			return -1;
		}
	} else if ((size_t)h->len != s->fixed) {
		snprintf(why, whylen, "%s: length %u, expected %zu", s->name,
		    h->len, s->fixed);
		return -1;
	}
	if (s->peer_at != NONE) {
		struct ps_peer peer;

		memcpy(&peer, p + s->peer_at, sizeof(peer));
		if ((peer.kind != PS_PEER_UNIX && peer.kind != PS_PEER_TLS) ||
		    peer.zero != 0 || !str_ok(peer.who, sizeof(peer.who)) ||
		    !str_ok(peer.client, sizeof(peer.client))) {
			snprintf(why, whylen, "%s: bad peer", s->name);
			return -1;
		}
	}
	if ((s->str_at != NONE && !str_ok(p + s->str_at, s->str_len)) ||
	    (s->str2_at != NONE && !str_ok(p + s->str2_at, s->str2_len))) {
		snprintf(why, whylen, "%s: unterminated or unprintable string",
		    s->name);
		return -1;
	}
	/* Reserved fields must be zero, so that nothing rides along. */
	if (h->type == PS_SUBMIT || h->type == PS_PLAN) {
		const struct ps_experiment *x = payload;

		if (x->zero != 0) {
			snprintf(why, whylen, "%s: reserved field set", s->name);
			return -1;
		}
	} else if (h->type == PS_AUDIT) {
		const struct ps_audit *au = payload;

		if (!str_ok(au->run, sizeof(au->run))) {
			snprintf(why, whylen, "audit: unterminated run id");
			return -1;
		}
	} else if (h->type == PS_EVENT || h->type == PS_CLIENTS ||
	    h->type == PS_METRICS_TEXT) {
		const struct ps_text *t = payload;

		if (t->zero != 0) {
			snprintf(why, whylen, "%s: reserved field set", s->name);
			return -1;
		}
	} else if (h->type == PS_CONFIG) {
		const struct ps_config *cf = payload;

		if ((uint64_t)cf->cert_len + cf->key_len + cf->ca_len != cf->tls_len) {
			snprintf(why, whylen, "config: TLS lengths do not add up");
			return -1;
		}
	} else if (h->type == PS_LOG) {
		const struct ps_log *l = payload;

		if (l->level > PS_LOG_WARN) {
			snprintf(why, whylen, "log: bad level %u", l->level);
			return -1;
		}
	}
	return 0;
}

const char *
ps_var(const struct ps_hdr *h, const void *payload, size_t *len)
{
	const struct spec *s = &specs[h->type];

	if (s->var_len_at == NONE) {
		*len = 0;
		return NULL;
	}
	*len = h->len - s->fixed;
	return (const char *)payload + s->fixed;
}

/* --- the channel ------------------------------------------------------- */

struct ps_chan {
	struct loop *loop;
	int fd;
	int broken;
	ps_msg_cb on_msg;
	ps_err_cb on_err;
	void *arg;
	unsigned char *in;          /* a header, then its payload */
	size_t inlen, incap;
	unsigned char *out;         /* queued bytes, out[outoff..outlen) */
	size_t outlen, outoff, outcap;
	int want_out;               /* EPOLLOUT is armed */
	uint64_t fail_timer;        /* reports a failure found in ps_send */
	char fail_why[256];
};

static void chan_io(struct loop *l, int fd, uint32_t events, void *arg);

static void
fail_cb(struct loop *l, void *arg)
{
	struct ps_chan *c = arg;

	(void)l;
	c->fail_timer = 0;
	c->on_err(c, c->fail_why, c->arg);
}

/* Stop using the channel and report why from the loop, never re-entrantly:
 * the error callback may free the channel, and the caller (a read handler,
 * a message callback, ps_send) still holds it. */
static void
chan_fail(struct ps_chan *c, const char *why)
{
	if (c->broken)
		return;
	c->broken = 1;
	loop_del_fd(c->loop, c->fd);
	snprintf(c->fail_why, sizeof(c->fail_why), "%s", why);
	c->fail_timer = loop_timer(c->loop, 0, fail_cb, c);
}

struct ps_chan *
ps_chan_new(struct loop *l, int fd, ps_msg_cb on_msg, ps_err_cb on_err,
    void *arg)
{
	struct ps_chan *c;
	int fl;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = l;
	c->fd = fd;
	c->on_msg = on_msg;
	c->on_err = on_err;
	c->arg = arg;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    loop_add_fd(l, fd, EPOLLIN, chan_io, c) == -1) {
		free(c);
		return NULL;
	}
	return c;
}

void
ps_chan_free(struct ps_chan *c)
{
	if (c == NULL)
		return;
	if (!c->broken)
		loop_del_fd(c->loop, c->fd);
	if (c->fail_timer != 0)
		loop_timer_cancel(c->loop, c->fail_timer);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

int
ps_chan_fd(const struct ps_chan *c)
{
	return c->fd;
}

size_t
ps_chan_queued(const struct ps_chan *c)
{
	return c->outlen - c->outoff;
}

/* Write as much as the socket takes; arm EPOLLOUT for the rest. */
static int
flush_some(struct ps_chan *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0)
			return -1;
		c->outoff += (size_t)w;
	}
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if ((c->outlen > 0) != c->want_out) {
		c->want_out = c->outlen > 0;
		loop_mod_fd(c->loop, c->fd, EPOLLIN | (c->want_out ? EPOLLOUT : 0));
	}
	return 0;
}

int
ps_send(struct ps_chan *c, uint32_t type, uint32_t id, const void *fixed,
    size_t flen, const void *var, size_t vlen)
{
	struct ps_hdr h;
	size_t need;

	if (c->broken)
		return -1;
	if (flen + vlen > UINT32_MAX ||
	    ps_chan_queued(c) + sizeof(h) + flen + vlen > PS_QUEUE_MAX) {
		chan_fail(c, "output queue full: the other process does not read");
		return -1;
	}
	h.type = type;
	h.len = (uint32_t)(flen + vlen);
	h.id = id;
	h.zero = 0;
	need = c->outlen + sizeof(h) + flen + vlen;
	if (need > c->outcap) {
		size_t nc = c->outcap ? c->outcap : 65536;
		unsigned char *nb;

		/* Reclaim what was already written before growing. */
		if (c->outoff > 0) {
			memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
			c->outlen -= c->outoff;
			c->outoff = 0;
			need = c->outlen + sizeof(h) + flen + vlen;
		}
		while (nc < need)
			nc *= 2;
		if (nc > c->outcap) {
			if ((nb = realloc(c->out, nc)) == NULL) {
				chan_fail(c, "out of memory");
				return -1;
			}
			c->out = nb;
			c->outcap = nc;
		}
	}
	memcpy(c->out + c->outlen, &h, sizeof(h));
	c->outlen += sizeof(h);
	if (flen > 0)
		memcpy(c->out + c->outlen, fixed, flen);
	c->outlen += flen;
	if (vlen > 0)
		memcpy(c->out + c->outlen, var, vlen);
	c->outlen += vlen;
	if (flush_some(c) == -1) {
		chan_fail(c, "write to the other process failed");
		return -1;
	}
	return 0;
}

void
ps_chan_flush(struct ps_chan *c)
{
	int fl = fcntl(c->fd, F_GETFL);

	if (c->broken || fl == -1)
		return;
	fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		c->outoff += (size_t)w;
	}
	fcntl(c->fd, F_SETFL, fl);
}

/* Deliver every whole message in the input buffer. Returns -1 after a
 * failure was reported. */
static int
deliver(struct ps_chan *c)
{
	char why[256];

	for (;;) {
		struct ps_hdr h;
		size_t total;

		if (c->inlen < sizeof(h))
			return 0;
		memcpy(&h, c->in, sizeof(h));
		if (!hdr_ok(&h, why, sizeof(why))) {
			chan_fail(c, why);
			return -1;
		}
		total = sizeof(h) + h.len;
		if (c->inlen < total)
			return 0;
		if (ps_check(&h, c->in + sizeof(h), why, sizeof(why)) == -1) {
			chan_fail(c, why);
			return -1;
		}
		c->on_msg(c, &h, c->in + sizeof(h), c->arg);
		if (c->broken)
			return -1;
		memmove(c->in, c->in + total, c->inlen - total);
		c->inlen -= total;
	}
}

static void
chan_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ps_chan *c = arg;

	(void)l;
	if (events & EPOLLOUT) {
		if (flush_some(c) == -1) {
			chan_fail(c, "write to the other process failed");
			return;
		}
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	/* Read in bounded slices so that one busy peer cannot starve the
	 * rest of the loop. */
	for (int round = 0; round < 16; round++) {
		ssize_t r;
		size_t want = 65536;

		if (c->inlen >= sizeof(struct ps_hdr)) {
			struct ps_hdr h;

			memcpy(&h, c->in, sizeof(h));
			/* hdr_ok ran in deliver(): h.len is bounded. */
			if (sizeof(h) + h.len > c->inlen &&
			    sizeof(h) + h.len - c->inlen > want)
				want = sizeof(h) + h.len - c->inlen;
		}
		if (c->inlen + want > c->incap) {
			size_t nc = c->incap ? c->incap : 65536;
			unsigned char *nb;

			while (nc < c->inlen + want)
				nc *= 2;
			if ((nb = realloc(c->in, nc)) == NULL) {
				chan_fail(c, "out of memory");
				return;
			}
			c->in = nb;
			c->incap = nc;
		}
		r = recv(fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r == 0) {
			chan_fail(c, c->inlen > 0 ? "end of file inside a message" :
			    "end of file");
			return;
		}
		if (r < 0) {
			chan_fail(c, "read from the other process failed");
			return;
		}
		c->inlen += (size_t)r;
		if (deliver(c) == -1)
			return;
	}
}
