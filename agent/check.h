/* check.h - one-shot reachability checks on the agent's loop: does the
 * backup answer before we steer to it, does a pinned address answer on its
 * port. The socket carries the probe mark, so the check sees the real
 * component, not our own isolation or steering. Non-blocking throughout. */
#ifndef ISOL_CHECK_H
#define ISOL_CHECK_H

#include <stdint.h>

struct ev_loop;
struct check;

/* @rc: 0 answered, or -errno (-ETIMEDOUT, -ECONNREFUSED, ...); @ms: how long. */
typedef void (*check_done_fn)(void *data, int rc, double ms);

/* Start a TCP connect to @addr:@port. @fn is called exactly once, never from
 * inside check_tcp() itself, unless check_cancel() comes first. NULL with
 * errno on failure to start (then @fn is not called). */
struct check *check_tcp(struct ev_loop *loop, int family, const uint8_t *addr, uint16_t port,
			uint32_t mark, double timeout_s, check_done_fn fn, void *data);
void check_cancel(struct check *c);

#endif
