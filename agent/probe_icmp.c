/* probe_icmp.c - the icmp probe: one echo request through a ping socket
 * (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6: no raw socket, the kernel picks the
 * identifier and filters the replies). The socket is connected, so an ICMP
 * error about the target (host unreachable) ends the probe at once. Ping
 * sockets are allowed only to the groups in net.ipv4.ping_group_range; a
 * refusal is a fact about this host, so it is neutral. */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe_int.h"

#define ICMP_PROBE_SEQ 1

struct icmp_probe {
	struct probe p;
	ev_io io;
	int fd;
	int family;
};

static void icmp_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct icmp_probe *ip = w->data;
	uint8_t buf[512];
	uint8_t reply = ip->family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;

	for (;;) {
		ssize_t n = recv(ip->fd, buf, sizeof(buf), 0);

		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return; /* not ours, or nothing yet */
			/* an ICMP error about the target */
			probe_set_errno(&ip->p, "icmp", errno, false);
			break;
		}
		/* type, code, checksum, identifier, sequence: the same layout
		 * for ICMP and ICMPv6 echo */
		if (n >= 8 && buf[0] == reply && buf[6] == 0 && buf[7] == ICMP_PROBE_SEQ) {
			probe_pass(&ip->p);
			break;
		}
	}
	probe_report(&ip->p);
}

static int icmp_start(struct probe *p, const struct probe_opts *o, struct isol_err *err)
{
	struct icmp_probe *ip = (struct icmp_probe *)p;
	uint8_t pkt[8 + 16] = {0};
	struct sockaddr_storage ss;
	socklen_t sl = probe_sockaddr(o, 0, &ss);

	ip->family = o->family;
	ip->fd = probe_socket(p, o->family, SOCK_DGRAM,
			      o->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (ip->fd == -1) {
		if (p->res.error == -EACCES)
			snprintf(p->res.reason, sizeof(p->res.reason),
				 "ping socket: Permission denied (gid %u is not in "
				 "net.ipv4.ping_group_range)",
				 (unsigned)getegid());
		return 0;
	}
	if (connect(ip->fd, (struct sockaddr *)&ss, sl) == -1) {
		probe_set_errno(p, "connect", errno, true);
		return 0;
	}
	pkt[0] = o->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	pkt[7] = ICMP_PROBE_SEQ; /* identifier and checksum: the kernel's */
	memcpy(pkt + 8, "isol probe", 10);
	if (send(ip->fd, pkt, sizeof(pkt), 0) == -1) {
		/* at once: no route, our own firewall, no buffer */
		probe_set_errno(p, "send", errno, true);
		return 0;
	}
	ev_io_init(&ip->io, icmp_io_cb, ip->fd, EV_READ);
	ip->io.data = ip;
	ev_io_start(p->pr->loop, &ip->io);
	return 0;
}

static void icmp_timeout(struct probe *p)
{
	probe_set_timeout(p);
	probe_report(p);
}

static void icmp_stop(struct probe *p)
{
	struct icmp_probe *ip = (struct icmp_probe *)p;

	ev_io_stop(p->pr->loop, &ip->io);
	if (ip->fd != -1)
		close(ip->fd);
	ip->fd = -1;
}

const struct probe_ops probe_icmp_ops = {
    .size = sizeof(struct icmp_probe),
    .start = icmp_start,
    .timeout = icmp_timeout,
    .stop = icmp_stop,
};
