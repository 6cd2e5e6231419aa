/* probe.h - health probes on the agent's libev loop: tcp connect, http/https
 * (libcurl's multi interface driven by the loop), icmp echo (a ping socket,
 * or a raw one where ping sockets are not allowed) and exec (a command in its
 * own process group). All non-blocking; thousands run at once. Every probe
 * socket carries the exemption mark, and exec commands run in a cgroup whose
 * sockets are exempt too, so a probe sees the real component, not isol's own
 * isolation or steering. A failure caused on this host (EMFILE, fork failed,
 * no local route, neither a ping nor a raw socket allowed) is NEUTRAL and
 * never counts against the target. */
#ifndef ISOL_PROBE_H
#define ISOL_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"
#include "isol/strbuf.h"

struct ev_loop;
struct prober;
struct probe;
struct probe_diagnosis;

enum probe_type { PROBE_TCP, PROBE_HTTP, PROBE_HTTPS, PROBE_ICMP, PROBE_EXEC, __PROBE_TYPE_MAX };

enum probe_status {
	PROBE_PASS,
	PROBE_FAIL,    /* the target answered wrong, or not at all */
	PROBE_NEUTRAL, /* this host could not run the probe: no verdict on the target */
	__PROBE_STATUS_MAX
};

#define PROBE_DEFAULT_TIMEOUT_MS 2000
#define PROBE_REASON_MAX	 192
#define PROBE_RANGES_MAX	 16
#define PROBE_ARGV_MAX		 256  /* words of an exec command */
#define PROBE_ARG_MAX		 4096 /* bytes of one word */
#define PROBE_HOST_MAX		 253
#define PROBE_PATH_MAX		 1024
#define PROBE_URL_MAX		 (PROBE_HOST_MAX + PROBE_PATH_MAX + 64)
#define PROBE_CONNECT_TO_MAX	 (PROBE_HOST_MAX + 64)

/* Expected HTTP statuses, "200-299,301": each range lo..hi within 100..599. */
struct probe_ranges {
	size_t n; /* 0: the default, 200-399 */
	struct {
		uint16_t lo, hi;
	} r[PROBE_RANGES_MAX];
};

/* What to probe. probe_start() reads it during the call only (it copies what
 * it keeps), so it may live on the caller's stack. */
struct probe_opts {
	enum probe_type type;
	int family;	     /* AF_INET or AF_INET6; exec: 0 or the target's */
	uint8_t addr[16];    /* network byte order */
	uint16_t port;	     /* tcp, http(s): required; icmp: unused */
	uint32_t timeout_ms; /* 0: PROBE_DEFAULT_TIMEOUT_MS */

	/* http, https */
	const char *path;		   /* NULL: "/"; starts with '/' */
	const char *host;		   /* NULL: the address. Else the Host header, the
					    * TLS server name and the name the certificate
					    * must carry; the connection still goes to addr */
	const struct probe_ranges *expect; /* NULL or n == 0: 200-399 */
	bool insecure;			   /* https: do not verify the certificate */
	const char *ca_file;		   /* https: trust these CAs, not the system's */

	/* exec: argv[0] is a path, or a name looked up in PATH; NULL-terminated.
	 * The command gets ISOL_PROBE_MARK and, when family is set,
	 * ISOL_PROBE_ADDR and ISOL_PROBE_PORT in its environment. */
	const char *const *argv;
};

struct probe_result {
	enum probe_status status;
	int error;	   /* -errno behind a FAIL or NEUTRAL when there is one, else 0 */
	double elapsed_ms; /* start to verdict: connect time, rtt, run time */
	int http_status;   /* http(s): the status received, 0 when none */
	/* http(s) phases from the start, -1 when not reached */
	double connect_ms, tls_ms, first_byte_ms;
	char reason[PROBE_REASON_MAX]; /* "" on PASS, else "connect: Connection refused",
					* "http 500", "timeout after 2000 ms", "exit 3: ..." */
};

/* A prober runs probes on @loop. Sockets get SO_MARK @mark (0: no mark, for
 * tests that run without CAP_NET_ADMIN), and exec commands run in the exec
 * probes' cgroup (cgroup.c; not with mark 0). exec probes need @loop to be
 * libev's default loop (child watchers live only there). Between probes it
 * keeps up to 256 tcp sockets per address family open for reuse, and a raw
 * icmp socket per family once one was needed (file descriptors to budget
 * for). NULL with errno on failure. */
struct prober *prober_new(struct ev_loop *loop, uint32_t mark);
/* Stops every running probe without calling its callback, and frees. Not
 * from inside a probe callback. NULL is fine. */
void prober_free(struct prober *pr);
/* Probes running now. */
size_t prober_running(const struct prober *pr);

/* Start one probe. @fn is called exactly once with the result (which it may
 * copy but not keep), never from inside probe_start() itself, unless
 * probe_cancel() comes first; the probe is gone when @fn runs. @fn may start
 * and cancel other probes. Local failures (EMFILE, ...) come as NEUTRAL
 * results through @fn, not as errors here. NULL with errno: EINVAL for
 * options that can never work (message in @err), ENOMEM, EOPNOTSUPP for exec
 * on a loop other than the default. */
struct probe *probe_start(struct prober *pr, const struct probe_opts *o,
			  void (*fn)(const struct probe_result *res, void *data), void *data,
			  struct isol_err *err);
/* Stop a running probe: its callback is not called; exec kills the group.
 * NULL is fine. */
void probe_cancel(struct probe *p);

/* One-shot diagnosis from this host (isolctl probe TARGET): several probes of
 * @o's target at once. @types: bits 1u << PROBE_x; 0 = icmp, plus tcp and
 * http when @o has a port. @o->type is ignored. @fn gets every result once
 * all are in; d->ran has a bit for each probe that ran. Same lifetime rules
 * as probe_start(). */
struct probe_diag {
	unsigned ran;
	struct probe_result res[__PROBE_TYPE_MAX];
};
struct probe_diagnosis *probe_diagnose(struct prober *pr, const struct probe_opts *o,
				       unsigned types,
				       void (*fn)(const struct probe_diag *d, void *data),
				       void *data, struct isol_err *err);
void probe_diagnose_cancel(struct probe_diagnosis *dg);

/* ---- pure helpers: no sockets, no loop ---- */

const char *probe_type_name(enum probe_type t);		 /* "tcp", ..., "?" */
int probe_type_parse(const char *s, enum probe_type *t); /* 0 or -EINVAL */
const char *probe_status_name(enum probe_status s);	 /* "pass", "fail", "neutral" */

/* Parse "200-299,301" (spaces after commas allowed). 0, or -EINVAL with a
 * message in @err quoting the bad part; @out is then untouched. */
int probe_ranges_parse(const char *s, struct probe_ranges *out, struct isol_err *err);
/* @r NULL or empty means 200-399. */
bool probe_ranges_match(const struct probe_ranges *r, int status);
/* "200-299,301"; the length it needed, like snprintf. */
int probe_ranges_format(const struct probe_ranges *r, char *buf, size_t len);

/* Check the words of an exec command: at least one, argv[0] not empty, at
 * most PROBE_ARGV_MAX words of PROBE_ARG_MAX bytes. 0 or -EINVAL with @err. */
int probe_argv_check(const char *const *argv, struct isol_err *err);
/* A private copy in one allocation (free() it); NULL with errno. */
char **probe_argv_dup(const char *const *argv);
/* The command as a shell would read it back: sh -c 'exit 3'. Returns the
 * length it needed, like snprintf. */
int probe_argv_format(const char *const *argv, char *buf, size_t len);

/* Is this errno a failure of this host rather than of the target? @sync:
 * returned at once by connect()/send(), so decided by the local stack (no
 * route, unreachable route type) rather than by an ICMP error from afar. */
bool probe_errno_is_local(int err, bool sync);

/* The URL and the curl CONNECT_TO entry of an http(s) probe: the URL names
 * @o->host (or the address) and @o->path; the entry sends the connection to
 * the address. @connect_to is "" when no host is set. Buffers of
 * PROBE_URL_MAX and PROBE_CONNECT_TO_MAX always suffice. 0, -EINVAL (a host
 * or path that would change the request's meaning) or -ENOSPC, with @err. */
int probe_http_url(const struct probe_opts *o, char *url, size_t url_len, char *connect_to,
		   size_t ct_len, struct isol_err *err);

/* An exec command's end as text, from a wait status: "exit 3", "killed by
 * signal 9 (Killed)". */
void probe_wait_status_format(int wstatus, char *buf, size_t len);

/* One line: "pass 0.4 ms", "fail 2000.1 ms: timeout after 2000 ms",
 * "pass 3.1 ms: http 200 (connect 0.3, tls 1.9, first byte 3.0 ms)".
 * Returns the length it needed, like snprintf. */
int probe_result_format(enum probe_type t, const struct probe_result *r, char *buf, size_t len);
/* The same as a JSON object appended to @out: {"type":"http","status":"pass",
 * "ms":3.1,"http_status":200,"connect_ms":0.3,...,"reason":""}; "errno" when
 * the result has one. 0 or -ENOMEM. */
int probe_result_json(enum probe_type t, const struct probe_result *r, struct strbuf *out);
/* One aligned line per probe that ran, for people. 0 or -ENOMEM. */
int probe_diag_format(const struct probe_diag *d, struct strbuf *out);

#endif
