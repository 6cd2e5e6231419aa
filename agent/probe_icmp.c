/* probe_icmp.c - the icmp probe: one echo request, through a ping socket
 * (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6: the kernel picks the identifier and
 * filters the replies) when this host allows it, else through a raw socket.
 * The ping socket is connected, so an ICMP error about the target (a hard
 * one: prohibited, port or protocol unreachable) ends the probe at once.
 *
 * Ping sockets are allowed only to the groups in net.ipv4.ping_group_range,
 * which on many hosts excludes everyone. The agent has CAP_NET_RAW, so a
 * refused ping socket falls back to a raw socket: one per address family,
 * shared by every probe that needs it (each raw socket gets a copy of every
 * ICMP packet the host receives, so one per probe would multiply that), with
 * the probe mark, and a filter that lets only echo replies and the errors
 * about an echo through. We build the request (identifier: the socket's,
 * sequence: the probe's) and match a reply by identifier, sequence and
 * address; an unreachable or time exceeded about our request ends the probe
 * at once. Only when the raw socket is refused too is the probe neutral. */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/icmp.h>

#include "probe_int.h"

#define ICMP_PROBE_SEQ	 1   /* ping socket: one request per socket */
#define ICMP_ECHO_LEN	 24  /* header and "isol probe", zero-padded */
#define ICMP_RAW_BUCKETS 256 /* raw: probes waiting, by sequence */

struct icmp_probe {
	struct probe p;
	ev_io io; /* ping socket */
	int fd;	  /* ping socket, -1 on the raw path */
	int family;
	uint8_t addr[16];
	/* the raw path: linked in raw->wait while the request is out */
	struct probe_icmp_raw *raw;
	struct icmp_probe *next;
	uint16_t seq;
};

struct probe_icmp_raw {
	struct prober *pr;
	int fd, family;
	ev_io io; /* runs while a probe waits */
	uint16_t id, next_seq;
	size_t waiting;
	struct icmp_probe *wait[ICMP_RAW_BUCKETS];
};

/* What a received packet says about one of our requests. */
struct icmp_news {
	uint16_t seq;
	uint8_t addr[16]; /* the target it is about */
	int error;	  /* 0: an echo reply; else the errno of the ICMP error */
};

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* --- the ping socket ------------------------------------------------------- */

static void ping_io_cb(struct ev_loop *loop, ev_io *w, int revents)
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

static void ping_start(struct icmp_probe *ip, int fd, const struct probe_opts *o)
{
	uint8_t pkt[ICMP_ECHO_LEN] = {0};
	struct sockaddr_storage ss;
	socklen_t sl = probe_sockaddr(o, 0, &ss);

	ip->fd = fd;
	if (connect(ip->fd, (struct sockaddr *)&ss, sl) == -1) {
		probe_set_errno(&ip->p, "connect", errno, true);
		return;
	}
	pkt[0] = o->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	pkt[7] = ICMP_PROBE_SEQ; /* identifier and checksum: the kernel's */
	memcpy(pkt + 8, "isol probe", 10);
	if (send(ip->fd, pkt, sizeof(pkt), 0) == -1) {
		/* at once: no route, our own firewall, no buffer */
		probe_set_errno(&ip->p, "send", errno, true);
		return;
	}
	ev_io_init(&ip->io, ping_io_cb, ip->fd, EV_READ);
	ip->io.data = ip;
	ev_io_start(ip->p.pr->loop, &ip->io);
}

/* --- the raw socket: parsing --------------------------------------------------- */

/* errno of an ICMP destination unreachable by code, as the kernel reports
 * it on sockets (icmp_err_convert, icmpv6_err_convert) */
static int unreach_errno(int family, uint8_t code)
{
	static const int v4[] = {
	    ENETUNREACH,  EHOSTUNREACH, ENOPROTOOPT,  ECONNREFUSED, EMSGSIZE,	  EOPNOTSUPP,
	    ENETUNREACH,  EHOSTDOWN,	ENONET,	      ENETUNREACH,  EHOSTUNREACH, ENETUNREACH,
	    EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH,
	};
	static const int v6[] = {
	    ENETUNREACH, EACCES, EHOSTUNREACH, EHOSTUNREACH, ECONNREFUSED, EACCES, EACCES,
	};

	if (family == AF_INET)
		return code < sizeof(v4) / sizeof(v4[0]) ? v4[code] : EHOSTUNREACH;
	return code < sizeof(v6) / sizeof(v6[0]) ? v6[code] : EHOSTUNREACH;
}

/* An echo header (ICMP and ICMPv6 share its layout) with our identifier:
 * its sequence into @news. */
static bool our_echo(const uint8_t *h, uint8_t type, uint16_t id, struct icmp_news *news)
{
	if (h[0] != type || (h[4] << 8 | h[5]) != id)
		return false;
	news->seq = (uint16_t)(h[6] << 8 | h[7]);
	return true;
}

/* An IPv4 packet from the raw socket (IP header included). */
static bool parse_v4(const uint8_t *b, size_t n, uint16_t id, struct icmp_news *news)
{
	size_t hl = (b[0] & 0x0fu) * 4u, ihl;
	const uint8_t *icmp = b + hl, *inner;

	if (n < 20 || hl < 20 || n < hl + 8)
		return false;
	if (icmp[0] == ICMP_ECHOREPLY) {
		memcpy(news->addr, b + 12, 4); /* from the target */
		news->error = 0;
		return our_echo(icmp, ICMP_ECHOREPLY, id, news);
	}
	if (icmp[0] != ICMP_DEST_UNREACH && icmp[0] != ICMP_TIME_EXCEEDED)
		return false;
	/* an error about our request: its IP header and first 8 bytes */
	inner = icmp + 8;
	if (n < hl + 8 + 20)
		return false;
	ihl = (inner[0] & 0x0fu) * 4u;
	if (ihl < 20 || n < hl + 8 + ihl + 8 || inner[9] != IPPROTO_ICMP)
		return false;
	memcpy(news->addr, inner + 16, 4); /* to the target */
	news->error = icmp[0] == ICMP_DEST_UNREACH ? unreach_errno(AF_INET, icmp[1]) : EHOSTUNREACH;
	return our_echo(inner + ihl, ICMP_ECHO, id, news);
}

/* An ICMPv6 message from the raw socket (no IPv6 header) sent by @from. */
static bool parse_v6(const uint8_t *b, size_t n, const struct sockaddr_in6 *from, uint16_t id,
		     struct icmp_news *news)
{
	const uint8_t *inner = b + 8;

	if (n < 8)
		return false;
	if (b[0] == ICMP6_ECHO_REPLY) {
		memcpy(news->addr, &from->sin6_addr, 16);
		news->error = 0;
		return our_echo(b, ICMP6_ECHO_REPLY, id, news);
	}
	if (b[0] != ICMP6_DST_UNREACH && b[0] != ICMP6_TIME_EXCEEDED)
		return false;
	/* the IPv6 header of our request (no extension header: we set none),
	 * then its first bytes */
	if (n < 8 + 40 + 8 || inner[6] != IPPROTO_ICMPV6)
		return false;
	memcpy(news->addr, inner + 24, 16);
	news->error = b[0] == ICMP6_DST_UNREACH ? unreach_errno(AF_INET6, b[1]) : EHOSTUNREACH;
	return our_echo(inner + 40, ICMP6_ECHO_REQUEST, id, news);
}

/* --- the raw socket: probes waiting -------------------------------------------- */

static struct icmp_probe **bucket(struct probe_icmp_raw *raw, uint16_t seq)
{
	return &raw->wait[seq % ICMP_RAW_BUCKETS];
}

static struct icmp_probe *raw_find(struct probe_icmp_raw *raw, uint16_t seq)
{
	struct icmp_probe *ip;

	for (ip = *bucket(raw, seq); ip; ip = ip->next)
		if (ip->seq == seq)
			return ip;
	return NULL;
}

/* A sequence number no waiting probe has; -1 when all are taken. */
static int raw_new_seq(struct probe_icmp_raw *raw)
{
	unsigned i;

	for (i = 0; i <= UINT16_MAX; i++) {
		uint16_t seq = ++raw->next_seq;

		if (raw_find(raw, seq) == NULL)
			return seq;
	}
	return -1;
}

static void raw_wait(struct probe_icmp_raw *raw, struct icmp_probe *ip)
{
	struct icmp_probe **b = bucket(raw, ip->seq);

	ip->raw = raw;
	ip->next = *b;
	*b = ip;
	if (raw->waiting++ == 0)
		ev_io_start(raw->pr->loop, &raw->io);
}

static void raw_unwait(struct icmp_probe *ip)
{
	struct probe_icmp_raw *raw = ip->raw;
	struct icmp_probe **pp;

	for (pp = bucket(raw, ip->seq); *pp; pp = &(*pp)->next) {
		if (*pp == ip) {
			*pp = ip->next;
			break;
		}
	}
	ip->raw = NULL;
	/* idle: no wakeups for the echo replies of other programs */
	if (--raw->waiting == 0)
		ev_io_stop(raw->pr->loop, &raw->io);
}

static void raw_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe_icmp_raw *raw = w->data;
	struct sockaddr_in6 from;
	struct icmp_news news;
	struct icmp_probe *ip;
	uint8_t buf[1024];

	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(raw->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		bool ours;

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) /* EAGAIN; nothing else is queued on an unconnected raw socket */
			return;
		if (raw->family == AF_INET)
			ours = parse_v4(buf, (size_t)n, raw->id, &news);
		else
			ours = parse_v6(buf, (size_t)n, &from, raw->id, &news);
		/* another program's ping, or a late reply to a probe that is gone */
		ip = ours ? raw_find(raw, news.seq) : NULL;
		if (ip == NULL || memcmp(ip->addr, news.addr, addr_len(raw->family)) != 0)
			continue;
		if (news.error)
			probe_set_errno(&ip->p, "icmp", news.error, false);
		else
			probe_pass(&ip->p);
		probe_report(&ip->p); /* unlinks it; the callback may start more */
	}
}

/* --- the raw socket: making and sending ------------------------------------------- */

/* Only echo replies and the errors that can be about an echo: a raw socket
 * otherwise gets every ICMP packet of the host. Best effort: the parser
 * checks the rest. */
static void raw_filter(int fd, int family)
{
	if (family == AF_INET) {
		struct icmp_filter f = {~(1u << ICMP_ECHOREPLY | 1u << ICMP_DEST_UNREACH |
					  1u << ICMP_TIME_EXCEEDED)}; /* bits: blocked */

		setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
	} else {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
		ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
		setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	}
}

/* The prober's raw socket for @family, made on first use. 0 or -errno. */
static int raw_get(struct prober *pr, int family, struct probe_icmp_raw **out)
{
	struct probe_icmp_raw **slot = &pr->icmp_raw[family == AF_INET6], *raw = *slot;
	struct timespec ts;
	const char *what;
	int fd;

	if (raw) {
		*out = raw;
		return 0;
	}
	fd = probe_socket_open(pr, family, SOCK_RAW,
			       family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, &what);
	if (fd < 0)
		return fd;
	raw = calloc(1, sizeof(*raw));
	if (raw == NULL) {
		close(fd);
		return -ENOMEM;
	}
	raw_filter(fd, family);
	raw->pr = pr;
	raw->fd = fd;
	raw->family = family;
	/* an identifier of its own, so that replies to other programs' pings
	 * (and to another prober's) are told apart */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	raw->id = (uint16_t)((unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec ^
			     (unsigned)(family == AF_INET6));
	raw->next_seq = (uint16_t)(ts.tv_nsec >> 10);
	ev_io_init(&raw->io, raw_io_cb, fd, EV_READ);
	raw->io.data = raw;
	*slot = raw;
	*out = raw;
	return 0;
}

/* RFC 1071, over bytes in network order */
static uint16_t inet_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n % 2)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void raw_start(struct icmp_probe *ip, const struct probe_opts *o, int ping_err)
{
	struct probe *p = &ip->p;
	uint8_t pkt[ICMP_ECHO_LEN] = {0};
	struct probe_icmp_raw *raw;
	struct sockaddr_storage ss;
	socklen_t sl = probe_sockaddr(o, 0, &ss);
	char why[64] = "";
	int rc, seq;

	rc = raw_get(p->pr, o->family, &raw);
	if (rc < 0) {
		if (ping_err == EACCES)
			snprintf(why, sizeof(why), " (gid %u is not in net.ipv4.ping_group_range)",
				 (unsigned)getegid());
		probe_set(p, PROBE_NEUTRAL, rc, "ping socket: %s%s; raw socket: %s",
			  strerror(ping_err), why, strerror(-rc));
		return;
	}
	seq = raw_new_seq(raw);
	if (seq < 0) {
		probe_set(p, PROBE_NEUTRAL, -EBUSY, "icmp: %u probes wait already",
			  (unsigned)raw->waiting);
		return;
	}
	ip->seq = (uint16_t)seq;
	pkt[0] = o->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	pkt[4] = (uint8_t)(raw->id >> 8);
	pkt[5] = (uint8_t)raw->id;
	pkt[6] = (uint8_t)(ip->seq >> 8);
	pkt[7] = (uint8_t)ip->seq;
	memcpy(pkt + 8, "isol probe", 10);
	if (o->family == AF_INET) { /* the kernel sums ICMPv6 itself (RFC 3542) */
		uint16_t sum = inet_checksum(pkt, sizeof(pkt));

		pkt[2] = (uint8_t)(sum >> 8);
		pkt[3] = (uint8_t)sum;
	}
	if (sendto(raw->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, sl) == -1) {
		probe_set_errno(p, "send", errno, true); /* at once: this host's */
		return;
	}
	raw_wait(raw, ip);
}

/* --- the probe ------------------------------------------------------------------ */

static int icmp_start(struct probe *p, const struct probe_opts *o, struct isol_err *err)
{
	struct icmp_probe *ip = (struct icmp_probe *)p;
	const char *what;
	int fd;

	ip->family = o->family;
	ip->fd = -1;
	memcpy(ip->addr, o->addr, addr_len(o->family));
	fd = probe_socket_open(p->pr, o->family, SOCK_DGRAM,
			       o->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, &what);
	if (fd >= 0)
		ping_start(ip, fd, o);
	else if (strcmp(what, "socket") != 0)
		probe_set(p, PROBE_NEUTRAL, fd, "%s: %s", what, strerror(-fd)); /* SO_MARK */
	else if (fd == -EACCES || fd == -EPERM)
		raw_start(ip, o, -fd); /* not in ping_group_range */
	else
		probe_set_errno(p, what, -fd, true); /* EMFILE: neutral */
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

	if (ip->raw)
		raw_unwait(ip);
	ev_io_stop(p->pr->loop, &ip->io);
	if (ip->fd != -1)
		close(ip->fd);
	ip->fd = -1;
}

void probe_icmp_fini(struct prober *pr)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		struct probe_icmp_raw *raw = pr->icmp_raw[i];

		if (raw == NULL)
			continue;
		ev_io_stop(pr->loop, &raw->io);
		close(raw->fd);
		free(raw);
		pr->icmp_raw[i] = NULL;
	}
}

const struct probe_ops probe_icmp_ops = {
    .size = sizeof(struct icmp_probe),
    .start = icmp_start,
    .timeout = icmp_timeout,
    .stop = icmp_stop,
};
