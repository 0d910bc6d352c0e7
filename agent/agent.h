/* faultlined's shared state. The loop thread runs the engine; libmicrohttpd
 * threads serve the API. Both take agent.lock before touching anything
 * here or in the engine; the loop holds it only while dispatching. */
#ifndef FL_AGENT_H
#define FL_AGENT_H

#include <pthread.h>
#include <sys/types.h>

struct agent_config;
struct journal;
struct loop;
struct run;

/* A run the API can still reach; refs keeps it alive for readers of its
 * event stream after a newer run has replaced it. */
struct agent_run {
	struct run *run;
	int refs;
	struct agent_run *next;
};

#define AGENT_KEEP_RUNS 8

struct agent {
	pthread_mutex_t lock;
	pthread_cond_t changed;     /* broadcast on every event and run end */
	struct agent_config *cfg;
	struct loop *loop;
	struct journal *journal;
	struct agent_run *runs;     /* newest first; runs->run may be active */
	int exiting;
	gid_t sock_gid;
	pid_t protect[64];          /* the agent and its ancestors */
	size_t nprotect;
	char caps[256];             /* capabilities kept, for info */
	void *httpd;                /* struct MHD_Daemon * */
};

extern struct agent agent;

int api_start(struct agent *a, int listen_fd);
/* A daemon serving the same routes on listen_fd; flags are added to the
 * MHD flags and opts (MHD_OPTION_END-terminated, may be NULL) to its
 * options. remote.c starts the TLS one with this. */
struct MHD_OptionItem;
void *api_daemon(struct agent *a, int listen_fd, unsigned flags,
    struct MHD_OptionItem *opts);
void api_stop(struct agent *a);

/* Under the lock. */
struct run *agent_current(struct agent *a);
struct agent_run *agent_find(struct agent *a, const char *id);
void agent_run_put(struct agent *a, struct agent_run *ar);
int agent_submit(struct agent *a, struct run *r);

#endif
