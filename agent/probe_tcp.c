/* probe_tcp.c - the tcp probe: a non-blocking connect with the probe mark.
 * Connected is a pass. The connection then ends with a reset, not a close
 * handshake, so a probe every second leaves no TIME_WAIT behind on either
 * side; and the socket is kept: connect(AF_UNSPEC) dissolves the connection
 * (sending the reset) and leaves a socket that can connect anew, so a probe
 * of a healthy target costs no socket(), close() or setsockopt() (about a
 * fifth of the CPU time of 10,000 probes a second). Only sockets that
 * connected are recycled; any other ends with close(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe_int.h"

struct tcp_probe {
	struct probe p;
	ev_io io;
	int fd;
	int family;
	bool recycled; /* fd came from the idle list */
};

static int family_index(int family)
{
	return family == AF_INET6;
}

/* A marked socket: an idle one, or a new one (-1 with the verdict set). */
static int get_socket(struct tcp_probe *t, int family)
{
	struct prober *pr = t->p.pr;
	int i = family_index(family);

	if (pr->tcp_nidle[i] > 0) {
		t->recycled = true;
		return pr->tcp_idle[i][--pr->tcp_nidle[i]];
	}
	t->recycled = false;
	return probe_socket(&t->p, family, SOCK_STREAM, 0);
}

/* Dissolve the connection (a reset to the target) and keep the socket, or
 * close it when the list is full or the kernel will not. */
static void put_socket(struct prober *pr, int fd, int family)
{
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int i = family_index(family);

	if (pr->tcp_nidle[i] < PROBE_TCP_IDLE_MAX && connect(fd, &unspec, sizeof(unspec)) == 0) {
		pr->tcp_idle[i][pr->tcp_nidle[i]++] = fd;
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

void probe_tcp_fini(struct prober *pr)
{
	size_t i, k;

	for (i = 0; i < 2; i++)
		for (k = 0; k < pr->tcp_nidle[i]; k++)
			close(pr->tcp_idle[i][k]);
	pr->tcp_nidle[0] = pr->tcp_nidle[1] = 0;
}

static void tcp_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp_probe *t = w->data;
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr == 0)
		probe_pass(&t->p);
	else
		probe_set_errno(&t->p, "connect", soerr, false);
	probe_report(&t->p);
}

static int tcp_start(struct probe *p, const struct probe_opts *o, struct isol_err *err)
{
	struct tcp_probe *t = (struct tcp_probe *)p;
	struct sockaddr_storage ss;
	socklen_t sl = probe_sockaddr(o, o->port, &ss);
	int rc;

	t->family = o->family;
again:
	t->fd = get_socket(t, o->family);
	if (t->fd == -1)
		return 0; /* the verdict is set */
	rc = connect(t->fd, (struct sockaddr *)&ss, sl);
	if (rc == -1 && errno != EINPROGRESS && t->recycled) {
		/* a kept socket that will not connect again is not the target's
		 * fault: start over with a new one */
		close(t->fd);
		goto again;
	}
	if (rc == 0) {
		probe_pass(p);
		return 0;
	}
	if (errno != EINPROGRESS) {
		/* at once: no route, a prohibit route, out of ports (neutral),
		 * or refused on loopback (fail) */
		probe_set_errno(p, "connect", errno, true);
		return 0;
	}
	ev_io_init(&t->io, tcp_io_cb, t->fd, EV_WRITE);
	t->io.data = t;
	ev_io_start(p->pr->loop, &t->io);
	return 0;
}

static void tcp_timeout(struct probe *p)
{
	probe_set_timeout(p);
	probe_report(p);
}

static void tcp_stop(struct probe *p)
{
	struct tcp_probe *t = (struct tcp_probe *)p;

	ev_io_stop(p->pr->loop, &t->io);
	if (t->fd == -1)
		return;
	if (p->has_result && p->res.status == PROBE_PASS)
		put_socket(p->pr, t->fd, t->family);
	else
		close(t->fd);
	t->fd = -1;
}

const struct probe_ops probe_tcp_ops = {
    .size = sizeof(struct tcp_probe),
    .start = tcp_start,
    .timeout = tcp_timeout,
    .stop = tcp_stop,
};
