/* check.c - non-blocking TCP connect checks with the probe mark. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "check.h"

struct check {
	struct ev_loop *loop;
	ev_io io;
	ev_timer timer;
	int fd;
	struct timespec start;
	check_done_fn fn;
	void *data;
	int early; /* connect() failed at once with this -errno */
};

static double elapsed_ms(const struct check *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - c->start.tv_sec) * 1e3 +
	       (double)(now.tv_nsec - c->start.tv_nsec) / 1e6;
}

static void finish(struct check *c, int rc)
{
	check_done_fn fn = c->fn;
	void *data = c->data;
	double ms = elapsed_ms(c);

	check_cancel(c);
	fn(data, rc, ms);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct check *c = w->data;
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	finish(c, -soerr);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct check *c = w->data;

	finish(c, c->early ? c->early : -ETIMEDOUT);
}

struct check *check_tcp(struct ev_loop *loop, int family, const uint8_t *addr, uint16_t port,
			uint32_t mark, double timeout_s, check_done_fn fn, void *data)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct check *c;
	int rc;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		sslen = sizeof(*sin6);
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		goto err_free;
	/* exempt from our own rules: the check must see the real backup */
	if (setsockopt(c->fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == -1)
		goto err_close;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	rc = connect(c->fd, (struct sockaddr *)&ss, sslen);
	c->loop = loop;
	c->fn = fn;
	c->data = data;
	ev_io_init(&c->io, io_cb, c->fd, EV_WRITE);
	ev_timer_init(&c->timer, timer_cb, timeout_s, 0.0);
	c->io.data = c->timer.data = c;
	if (rc == -1 && errno != EINPROGRESS) {
		/* refused at once (a local route or reject): report on the
		 * next turn of the loop, as promised */
		c->early = -errno;
		ev_timer_set(&c->timer, 0.0, 0.0);
		ev_timer_start(loop, &c->timer);
		return c;
	}
	ev_io_start(loop, &c->io);
	ev_timer_start(loop, &c->timer);
	return c;

err_close:
	close(c->fd);
err_free:
	free(c);
	return NULL;
}

void check_cancel(struct check *c)
{
	if (c == NULL)
		return;
	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->timer);
	close(c->fd);
	free(c);
}
