/* systemd's notify protocol (sd_notify(3), "NOTIFY_SOCKET"), spoken by
 * faultlined itself: one datagram per state change. It used to be
 * libsystemd's sd_notify; that library and the seven it loads cost the
 * idle agent 280 KiB of private memory in its two processes for two
 * functions (issue 16). */
#ifndef FL_SDNOTIFY_H
#define FL_SDNOTIFY_H

#include <stdint.h>

/* Send state ("READY=1", "WATCHDOG=1", "STOPPING=1") to $NOTIFY_SOCKET (a
 * path, or "@name" for an abstract socket). Never blocks: a full queue
 * drops the datagram (the next watchdog ping is half an interval away).
 * 1 sent, 0 no NOTIFY_SOCKET, -1 failed (errno set). */
int sdn_notify(const char *state);
/* The watchdog interval systemd asks for: 1 with *usec filled when
 * WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is ours), else 0. */
int sdn_watchdog_usec(uint64_t *usec);

#endif
