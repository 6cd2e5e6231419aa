/* probe_int.h - what probe.c (the prober, the common life cycle of a probe)
 * shares with the per-type files probe_tcp.c, probe_http.c, probe_icmp.c and
 * probe_exec.c. Not for other modules: they use probe.h. */
#ifndef ISOL_PROBE_INT_H
#define ISOL_PROBE_INT_H

#include <sys/socket.h>

#include <ev.h>

#include "probe.h"

struct probe_http_multi; /* probe_http.c: curl multi handle and its watchers */
struct probe_icmp_raw;	 /* probe_icmp.c: a raw icmp socket the icmp probes share */

#define PROBE_TCP_IDLE_MAX 256 /* recycled tcp sockets kept per family */

struct prober {
	struct ev_loop *loop;
	uint32_t mark;
	struct probe *head; /* running probes */
	size_t running;
	struct probe_http_multi *http; /* made by the first http probe */
	/* probe_tcp.c: disconnected tcp sockets, marked, ready to connect
	 * again ([0] IPv4, [1] IPv6) */
	int tcp_idle[2][PROBE_TCP_IDLE_MAX];
	size_t tcp_nidle[2];
	/* probe_icmp.c: raw sockets ([0] IPv4, [1] IPv6), made by the first
	 * icmp probe that is refused a ping socket */
	struct probe_icmp_raw *icmp_raw[2];
};

/* A type's operations. Its struct starts with a struct probe. */
struct probe_ops {
	size_t size;
	/* Begin. 0 when running or when a result waits in p->res for
	 * probe_report_soon(); else -EINVAL/-ENOMEM (message in @err) and the
	 * probe is stopped and freed without a callback. */
	int (*start)(struct probe *p, const struct probe_opts *o, struct isol_err *err);
	/* The deadline passed: set the result and probe_report(), or wait more. */
	void (*timeout)(struct probe *p);
	/* Release everything the type holds; safe after a partial start. */
	void (*stop)(struct probe *p);
};

struct probe {
	struct prober *pr;
	const struct probe_ops *ops;
	struct probe *prev, *next;
	enum probe_type type;
	uint32_t timeout_ms;
	double start_ms; /* monotonic */
	ev_timer timer;	 /* the deadline, then (done_soon) the report */
	bool has_result; /* res holds the verdict */
	struct probe_result res;
	void (*fn)(const struct probe_result *res, void *data);
	void *data;
};

extern const struct probe_ops probe_tcp_ops, probe_http_ops, probe_icmp_ops, probe_exec_ops;

double probe_now_ms(void);

/* Record the verdict (the first one wins) and its time. */
void probe_set(struct probe *p, enum probe_status s, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void probe_pass(struct probe *p);
/* "WHAT: strerror(err)", NEUTRAL when probe_errno_is_local(err, sync). */
void probe_set_errno(struct probe *p, const char *what, int err, bool sync);
/* FAIL "timeout after N ms", -ETIMEDOUT. */
void probe_set_timeout(struct probe *p);

/* Report the verdict now: stop the probe, free it, call back. */
void probe_report(struct probe *p);
/* The same on the next turn of the loop (never from inside probe_start). */
void probe_report_soon(struct probe *p);

/* A non-blocking, close-on-exec socket with the prober's mark. The fd, or
 * -1 with the verdict set (NEUTRAL: this host could not make it). */
int probe_socket(struct probe *p, int family, int type, int proto);
/* The same without a verdict: the fd, or -errno and in @what the call that
 * failed ("socket", "setsockopt SO_MARK"). */
int probe_socket_open(struct prober *pr, int family, int type, int proto, const char **what);

/* @o's address and @port as a socket address; its length. */
socklen_t probe_sockaddr(const struct probe_opts *o, uint16_t port, struct sockaddr_storage *ss);

/* probe_http.c: tear down the curl multi handle (prober_free). */
void probe_http_fini(struct prober *pr);
/* probe_tcp.c: close the recycled sockets (prober_free). */
void probe_tcp_fini(struct prober *pr);
/* probe_icmp.c: close the raw sockets (prober_free, once no probe runs). */
void probe_icmp_fini(struct prober *pr);

#endif
