/* The engine's single event loop: epoll for descriptors, a timer list for
 * one-shot timers, pidfds for children. Single-threaded; another thread may
 * only call loop_wakeup(). */
#ifndef FL_LOOP_H
#define FL_LOOP_H

#include <stdint.h>
#include <sys/types.h>

struct loop;

typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, void *arg);
/* status is as from waitpid(). */
typedef void (*loop_child_cb)(struct loop *l, pid_t pid, int status, void *arg);
typedef void (*loop_wake_cb)(struct loop *l, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* events are EPOLLIN/EPOLLOUT/...; the loop never closes fd. */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod_fd(struct loop *l, int fd, uint32_t events);
int loop_del_fd(struct loop *l, int fd);

/* One-shot timer after delay_ms; returns an id > 0, or 0 on failure.
 * Cancelling an id that already fired or was cancelled is harmless. */
uint64_t loop_timer(struct loop *l, uint64_t delay_ms, loop_timer_cb cb, void *arg);
void loop_timer_cancel(struct loop *l, uint64_t id);

/* Watch a child we forked: cb runs once when it exits, after it is reaped. */
int loop_child(struct loop *l, pid_t pid, loop_child_cb cb, void *arg);
/* Stop watching (the child is not reaped; caller must kill+wait it). */
void loop_child_forget(struct loop *l, pid_t pid);

/* Cross-thread wake-up: cb runs in the loop thread after loop_wakeup(). */
int loop_set_wake(struct loop *l, loop_wake_cb cb, void *arg);
void loop_wakeup(struct loop *l);

/* Monotonic milliseconds, cached per iteration. */
uint64_t loop_now(struct loop *l);

/* Run one iteration, waiting at most max_wait_ms (-1: until something). */
int loop_run_once(struct loop *l, int max_wait_ms);
/* Run until loop_break(). Returns 0, or -1 on an epoll error. */
int loop_run(struct loop *l);
void loop_break(struct loop *l);

#endif
