/* probe.c - the prober and the life of a probe (start, deadline, verdict,
 * report), the one-shot diagnosis, and the pure helpers of probe.h. The
 * per-type work is in probe_tcp.c, probe_http.c, probe_icmp.c, probe_exec.c. */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "probe_int.h"

static const struct probe_ops *const probe_ops_of[__PROBE_TYPE_MAX] = {
    [PROBE_TCP] = &probe_tcp_ops,   [PROBE_HTTP] = &probe_http_ops, [PROBE_HTTPS] = &probe_http_ops,
    [PROBE_ICMP] = &probe_icmp_ops, [PROBE_EXEC] = &probe_exec_ops,
};

static const char *const type_names[__PROBE_TYPE_MAX] = {
    [PROBE_TCP] = "tcp",   [PROBE_HTTP] = "http", [PROBE_HTTPS] = "https",
    [PROBE_ICMP] = "icmp", [PROBE_EXEC] = "exec",
};

static const char *const status_names[__PROBE_STATUS_MAX] = {
    [PROBE_PASS] = "pass",
    [PROBE_FAIL] = "fail",
    [PROBE_NEUTRAL] = "neutral",
};

/* ---- the prober ---- */

struct prober *prober_new(struct ev_loop *loop, uint32_t mark)
{
	struct prober *pr;

	if (loop == NULL) {
		errno = EINVAL;
		return NULL;
	}
	pr = calloc(1, sizeof(*pr));
	if (pr == NULL)
		return NULL;
	pr->loop = loop;
	pr->mark = mark;
	/* exec commands run in this cgroup: made now, while file descriptors
	 * are at hand, rather than at the first exec */
	if (mark)
		cgroup_probes_prepare();
	return pr;
}

static void unlink_probe(struct probe *p)
{
	struct prober *pr = p->pr;

	if (p->prev)
		p->prev->next = p->next;
	else
		pr->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
	pr->running--;
}

/* Stop and free without calling back. */
static void destroy(struct probe *p)
{
	ev_timer_stop(p->pr->loop, &p->timer);
	p->ops->stop(p);
	unlink_probe(p);
	free(p);
}

void prober_free(struct prober *pr)
{
	if (pr == NULL)
		return;
	while (pr->head)
		destroy(pr->head);
	probe_http_fini(pr);
	probe_tcp_fini(pr);
	probe_icmp_fini(pr);
	free(pr);
}

size_t prober_running(const struct prober *pr)
{
	return pr->running;
}

/* ---- the life of a probe ---- */

double probe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void probe_set(struct probe *p, enum probe_status s, int error, const char *fmt, ...)
{
	va_list ap;

	if (p->has_result)
		return;
	p->has_result = true;
	p->res.status = s;
	p->res.error = error;
	p->res.elapsed_ms = probe_now_ms() - p->start_ms;
	va_start(ap, fmt);
	vsnprintf(p->res.reason, sizeof(p->res.reason), fmt, ap);
	va_end(ap);
}

void probe_pass(struct probe *p)
{
	probe_set(p, PROBE_PASS, 0, "%s", "");
}

void probe_set_errno(struct probe *p, const char *what, int err, bool sync)
{
	probe_set(p, probe_errno_is_local(err, sync) ? PROBE_NEUTRAL : PROBE_FAIL, -err, "%s: %s",
		  what, strerror(err));
}

void probe_set_timeout(struct probe *p)
{
	probe_set(p, PROBE_FAIL, -ETIMEDOUT, "timeout after %u ms", p->timeout_ms);
}

void probe_report(struct probe *p)
{
	void (*fn)(const struct probe_result *, void *) = p->fn;
	void *data = p->data;
	struct probe_result res;

	if (!p->has_result) /* a type that forgot: never report PASS by accident */
		probe_set(p, PROBE_NEUTRAL, -EPROTO, "internal: no verdict");
	res = p->res;
	destroy(p); /* before the callback, which may start probes anew */
	fn(&res, data);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *p = w->data;

	if (p->has_result) /* probe_report_soon() */
		probe_report(p);
	else
		p->ops->timeout(p);
}

void probe_report_soon(struct probe *p)
{
	ev_timer_stop(p->pr->loop, &p->timer);
	ev_timer_set(&p->timer, 0.0, 0.0);
	ev_timer_start(p->pr->loop, &p->timer);
}

int probe_socket_open(struct prober *pr, int family, int type, int proto, const char **what)
{
	uint32_t mark = pr->mark;
	int fd, e;

	*what = "socket";
	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd == -1)
		return -errno;
	/* exempt from our own rules: the probe must see the real target. A
	 * probe that cannot carry the mark could see our isolation, so it does
	 * not run at all */
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == -1) {
		e = errno;
		close(fd);
		*what = "setsockopt SO_MARK";
		return -e;
	}
	return fd;
}

int probe_socket(struct probe *p, int family, int type, int proto)
{
	const char *what;
	int fd = probe_socket_open(p->pr, family, type, proto, &what);

	if (fd >= 0)
		return fd;
	if (strcmp(what, "socket") == 0)
		probe_set_errno(p, what, -fd, true);
	else
		probe_set(p, PROBE_NEUTRAL, fd, "%s: %s", what, strerror(-fd));
	return -1;
}

socklen_t probe_sockaddr(const struct probe_opts *o, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (o->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, o->addr, 4);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, o->addr, 16);
		return sizeof(*sin6);
	}
}

static bool ranges_valid(const struct probe_ranges *r)
{
	size_t i;

	if (r->n > PROBE_RANGES_MAX)
		return false;
	for (i = 0; i < r->n; i++)
		if (r->r[i].lo < 100 || r->r[i].hi > 599 || r->r[i].lo > r->r[i].hi)
			return false;
	return true;
}

static int check_opts(const struct probe_opts *o, struct isol_err *err)
{
	char url[PROBE_URL_MAX], ct[PROBE_CONNECT_TO_MAX];

	if ((unsigned)o->type >= __PROBE_TYPE_MAX)
		return isol_err_set(err, -EINVAL, "unknown probe type %d", (int)o->type);
	if (o->type == PROBE_EXEC) {
		if (o->family != 0 && o->family != AF_INET && o->family != AF_INET6)
			return isol_err_set(err, -EINVAL, "exec probe: bad address family");
		return probe_argv_check(o->argv, err);
	}
	if (o->family != AF_INET && o->family != AF_INET6)
		return isol_err_set(err, -EINVAL, "%s probe: no target address",
				    probe_type_name(o->type));
	if (o->type == PROBE_ICMP)
		return 0;
	if (o->port == 0)
		return isol_err_set(err, -EINVAL, "%s probe: the target needs a port",
				    probe_type_name(o->type));
	if (o->type == PROBE_TCP)
		return 0;
	if (o->expect && !ranges_valid(o->expect))
		return isol_err_set(err, -EINVAL, "%s probe: bad expected status ranges",
				    probe_type_name(o->type));
	return probe_http_url(o, url, sizeof(url), ct, sizeof(ct), err);
}

struct probe *probe_start(struct prober *pr, const struct probe_opts *o,
			  void (*fn)(const struct probe_result *res, void *data), void *data,
			  struct isol_err *err)
{
	const struct probe_ops *ops;
	struct probe *p;
	int rc;

	if (pr == NULL || o == NULL || fn == NULL) {
		isol_err_set(err, -EINVAL, "probe: missing argument");
		errno = EINVAL;
		return NULL;
	}
	rc = check_opts(o, err);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	if (o->type == PROBE_EXEC && !ev_is_default_loop(pr->loop)) {
		isol_err_set(err, -EOPNOTSUPP, "exec probes need the default loop");
		errno = EOPNOTSUPP;
		return NULL;
	}
	ops = probe_ops_of[o->type];
	p = calloc(1, ops->size);
	if (p == NULL) {
		isol_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	p->pr = pr;
	p->ops = ops;
	p->type = o->type;
	p->timeout_ms = o->timeout_ms ? o->timeout_ms : PROBE_DEFAULT_TIMEOUT_MS;
	p->fn = fn;
	p->data = data;
	p->res.connect_ms = p->res.tls_ms = p->res.first_byte_ms = -1;
	p->next = pr->head;
	if (pr->head)
		pr->head->prev = p;
	pr->head = p;
	pr->running++;
	ev_timer_init(&p->timer, deadline_cb, (double)p->timeout_ms / 1e3, 0.0);
	p->timer.data = p;
	p->start_ms = probe_now_ms();
	rc = ops->start(p, o, err);
	if (rc < 0) {
		destroy(p);
		errno = -rc;
		return NULL;
	}
	if (p->has_result)
		probe_report_soon(p); /* a local failure: reported on the next turn */
	else
		ev_timer_start(pr->loop, &p->timer);
	return p;
}

void probe_cancel(struct probe *p)
{
	if (p)
		destroy(p);
}

/* ---- the one-shot diagnosis ---- */

struct diag_slot {
	struct probe_diagnosis *dg;
	struct probe *p;
};

struct probe_diagnosis {
	struct diag_slot slot[__PROBE_TYPE_MAX];
	struct probe_diag d;
	unsigned left;
	void (*fn)(const struct probe_diag *d, void *data);
	void *data;
};

static void diag_one_done(const struct probe_result *res, void *data)
{
	struct diag_slot *s = data;
	struct probe_diagnosis *dg = s->dg;
	void (*fn)(const struct probe_diag *, void *) = dg->fn;
	void *fn_data = dg->data;
	struct probe_diag d;

	dg->d.res[s - dg->slot] = *res;
	s->p = NULL;
	if (--dg->left > 0)
		return;
	d = dg->d;
	free(dg);
	fn(&d, fn_data);
}

struct probe_diagnosis *probe_diagnose(struct prober *pr, const struct probe_opts *o,
				       unsigned types,
				       void (*fn)(const struct probe_diag *d, void *data),
				       void *data, struct isol_err *err)
{
	struct probe_diagnosis *dg;
	struct probe_opts one;
	unsigned t;

	if (pr == NULL || o == NULL || fn == NULL) {
		isol_err_set(err, -EINVAL, "probe: missing argument");
		errno = EINVAL;
		return NULL;
	}
	if (types == 0)
		types = 1u << PROBE_ICMP | (o->port ? 1u << PROBE_TCP | 1u << PROBE_HTTP : 0);
	if (types >> __PROBE_TYPE_MAX) {
		isol_err_set(err, -EINVAL, "probe: unknown probe type in the set");
		errno = EINVAL;
		return NULL;
	}
	dg = calloc(1, sizeof(*dg));
	if (dg == NULL) {
		isol_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	dg->fn = fn;
	dg->data = data;
	dg->d.ran = types;
	for (t = 0; t < __PROBE_TYPE_MAX; t++) {
		if (!(types & 1u << t))
			continue;
		one = *o;
		one.type = (enum probe_type)t;
		dg->slot[t].dg = dg;
		dg->slot[t].p = probe_start(pr, &one, diag_one_done, &dg->slot[t], err);
		if (dg->slot[t].p == NULL) {
			int e = errno;

			probe_diagnose_cancel(dg);
			errno = e;
			return NULL;
		}
		dg->left++;
	}
	return dg;
}

void probe_diagnose_cancel(struct probe_diagnosis *dg)
{
	unsigned t;

	if (dg == NULL)
		return;
	for (t = 0; t < __PROBE_TYPE_MAX; t++)
		probe_cancel(dg->slot[t].p);
	free(dg);
}

/* ---- pure helpers ---- */

const char *probe_type_name(enum probe_type t)
{
	return (unsigned)t < __PROBE_TYPE_MAX ? type_names[t] : "?";
}

int probe_type_parse(const char *s, enum probe_type *t)
{
	unsigned i;

	for (i = 0; s && i < __PROBE_TYPE_MAX; i++) {
		if (strcmp(s, type_names[i]) == 0) {
			*t = (enum probe_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *probe_status_name(enum probe_status s)
{
	return (unsigned)s < __PROBE_STATUS_MAX ? status_names[s] : "?";
}

/* A status of three digits at *s; advances *s. -1 when there is none. */
static int parse_status(const char **s)
{
	const char *p = *s;
	int v = 0, i;

	for (i = 0; i < 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (p[3] >= '0' && p[3] <= '9')
		return -1;
	*s = p + 3;
	return v;
}

int probe_ranges_parse(const char *s, struct probe_ranges *out, struct isol_err *err)
{
	struct probe_ranges r = {0};
	const char *p = s, *item;
	int lo, hi;

	if (s == NULL || *s == '\0')
		return isol_err_set(err, -EINVAL, "expected statuses: empty");
	for (;;) {
		item = p;
		lo = parse_status(&p);
		hi = lo;
		if (lo >= 0 && *p == '-') {
			p++;
			hi = parse_status(&p);
		}
		if (lo < 0 || hi < 0 || (*p != ',' && *p != '\0'))
			return isol_err_set(err, -EINVAL,
					    "expected statuses: '%.*s' is not a status (NNN) or a "
					    "range (NNN-NNN)",
					    (int)strcspn(item, ","), item);
		if (lo < 100 || hi > 599)
			return isol_err_set(err, -EINVAL,
					    "expected statuses: '%.*s' is outside 100-599",
					    (int)(p - item), item);
		if (lo > hi)
			return isol_err_set(err, -EINVAL,
					    "expected statuses: '%.*s' ends before it starts",
					    (int)(p - item), item);
		if (r.n == PROBE_RANGES_MAX)
			return isol_err_set(err, -EINVAL, "expected statuses: more than %d ranges",
					    PROBE_RANGES_MAX);
		r.r[r.n].lo = (uint16_t)lo;
		r.r[r.n].hi = (uint16_t)hi;
		r.n++;
		if (*p == '\0')
			break;
		p++; /* ',' */
		while (*p == ' ')
			p++;
	}
	*out = r;
	return 0;
}

bool probe_ranges_match(const struct probe_ranges *r, int status)
{
	size_t i;

	if (r == NULL || r->n == 0)
		return status >= 200 && status <= 399;
	for (i = 0; i < r->n && i < PROBE_RANGES_MAX; i++)
		if (status >= r->r[i].lo && status <= r->r[i].hi)
			return true;
	return false;
}

int probe_ranges_format(const struct probe_ranges *r, char *buf, size_t len)
{
	struct strbuf sb;
	size_t i;
	int n;

	strbuf_init(&sb);
	if (r == NULL || r->n == 0)
		strbuf_puts(&sb, "200-399");
	for (i = 0; r && i < r->n && i < PROBE_RANGES_MAX; i++) {
		strbuf_printf(&sb, "%s%u", i ? "," : "", r->r[i].lo);
		if (r->r[i].hi != r->r[i].lo)
			strbuf_printf(&sb, "-%u", r->r[i].hi);
	}
	n = snprintf(buf, len, "%s", sb.buf ? sb.buf : "");
	strbuf_fini(&sb);
	return n;
}

int probe_argv_check(const char *const *argv, struct isol_err *err)
{
	size_t i;

	if (argv == NULL || argv[0] == NULL)
		return isol_err_set(err, -EINVAL, "exec probe: no command");
	if (argv[0][0] == '\0')
		return isol_err_set(err, -EINVAL, "exec probe: the command name is empty");
	for (i = 0; argv[i]; i++) {
		if (i == PROBE_ARGV_MAX)
			return isol_err_set(err, -EINVAL, "exec probe: more than %d words",
					    PROBE_ARGV_MAX);
		if (strnlen(argv[i], PROBE_ARG_MAX + 1) > PROBE_ARG_MAX)
			return isol_err_set(err, -EINVAL,
					    "exec probe: word %zu is longer than %d bytes", i,
					    PROBE_ARG_MAX);
	}
	return 0;
}

char **probe_argv_dup(const char *const *argv)
{
	size_t n = 0, bytes = 0, i;
	char **out, *s;

	if (argv == NULL) {
		errno = EINVAL;
		return NULL;
	}
	for (n = 0; argv[n]; n++)
		bytes += strlen(argv[n]) + 1;
	out = malloc((n + 1) * sizeof(char *) + bytes);
	if (out == NULL)
		return NULL;
	s = (char *)(out + n + 1);
	for (i = 0; i < n; i++) {
		size_t l = strlen(argv[i]) + 1;

		memcpy(s, argv[i], l);
		out[i] = s;
		s += l;
	}
	out[n] = NULL;
	return out;
}

/* Does @w need quotes for a shell to read it back as one word? */
static bool needs_quotes(const char *w)
{
	if (*w == '\0')
		return true;
	for (; *w; w++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "_-+=/.,:@%^",
			    *w))
			return true;
	return false;
}

int probe_argv_format(const char *const *argv, char *buf, size_t len)
{
	struct strbuf sb;
	const char *w;
	size_t i;
	int n;

	strbuf_init(&sb);
	for (i = 0; argv && argv[i]; i++) {
		if (i)
			strbuf_puts(&sb, " ");
		if (!needs_quotes(argv[i])) {
			strbuf_puts(&sb, argv[i]);
			continue;
		}
		strbuf_puts(&sb, "'");
		for (w = argv[i]; *w; w++) {
			if (*w == '\'')
				strbuf_puts(&sb, "'\\''");
			else
				strbuf_append(&sb, w, 1);
		}
		strbuf_puts(&sb, "'");
	}
	n = snprintf(buf, len, "%s", sb.buf ? sb.buf : "");
	strbuf_fini(&sb);
	return n;
}

bool probe_errno_is_local(int err, bool sync)
{
	switch (err) {
	/* out of something here, or this host cannot do it at all */
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
	case EAGAIN:	    /* fork: pid limit */
	case EADDRNOTAVAIL: /* a missing local address, no free port */
	case EADDRINUSE:
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
	case ESOCKTNOSUPPORT:
	case ENOSYS:
	case ENETDOWN: /* our own interface is down */
	case ENOENT:   /* exec: no such command */
	case ENOEXEC:
	case ENOTDIR:
		return true;
	/* decided by the local stack when returned at once (no route, a
	 * prohibit or blackhole route, our own firewall); from afar the same
	 * codes are ICMP errors about the target (host unreachable,
	 * administratively prohibited) */
	case EACCES:
	case EPERM:
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EINVAL:
		return sync;
	default:
		return false;
	}
}

/* A host name we may put into a URL as is: letters, digits, '-', '.', '_'. */
static bool host_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > PROBE_HOST_MAX || h[0] == '-' || h[0] == '.')
		return false;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == n;
}

static bool path_ok(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n > PROBE_PATH_MAX)
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

int probe_http_url(const struct probe_opts *o, char *url, size_t url_len, char *connect_to,
		   size_t ct_len, struct isol_err *err)
{
	const char *scheme = o->type == PROBE_HTTPS ? "https" : "http";
	const char *path = o->path ? o->path : "/";
	char a[INET6_ADDRSTRLEN], addr[INET6_ADDRSTRLEN + 2];
	int n;

	if (o->family != AF_INET && o->family != AF_INET6)
		return isol_err_set(err, -EINVAL, "%s probe: no target address", scheme);
	if (!path_ok(path))
		return isol_err_set(err, -EINVAL,
				    "%s probe: path '%.64s' must start with '/' and hold no spaces "
				    "or control characters",
				    scheme, path);
	if (o->host && !host_ok(o->host))
		return isol_err_set(err, -EINVAL,
				    "%s probe: host '%.64s' is not a host name (letters, digits, "
				    "'-', '.', '_')",
				    scheme, o->host);
	inet_ntop(o->family, o->addr, a, sizeof(a));
	snprintf(addr, sizeof(addr), o->family == AF_INET6 ? "[%s]" : "%s", a);
	n = snprintf(url, url_len, "%s://%s:%u%s", scheme, o->host ? o->host : addr, o->port, path);
	if (n < 0 || (size_t)n >= url_len)
		return isol_err_set(err, -ENOSPC, "%s probe: URL too long", scheme);
	if (o->host)
		n = snprintf(connect_to, ct_len, "%s:%u:%s:%u", o->host, o->port, addr, o->port);
	else
		n = snprintf(connect_to, ct_len, "%s", "");
	if (n < 0 || (size_t)n >= ct_len)
		return isol_err_set(err, -ENOSPC, "%s probe: host too long", scheme);
	return 0;
}

void probe_wait_status_format(int wstatus, char *buf, size_t len)
{
	if (WIFEXITED(wstatus))
		snprintf(buf, len, "exit %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(wstatus),
			 strsignal(WTERMSIG(wstatus)));
	else
		snprintf(buf, len, "wait status 0x%x", (unsigned)wstatus);
}

static bool is_http(enum probe_type t)
{
	return t == PROBE_HTTP || t == PROBE_HTTPS;
}

int probe_result_format(enum probe_type t, const struct probe_result *r, char *buf, size_t len)
{
	struct strbuf sb;
	int n;

	strbuf_init(&sb);
	strbuf_printf(&sb, "%s %.1f ms", probe_status_name(r->status), r->elapsed_ms);
	if (r->reason[0])
		strbuf_printf(&sb, ": %s", r->reason);
	else if (r->http_status)
		strbuf_printf(&sb, ": http %d", r->http_status);
	if (is_http(t) && r->connect_ms >= 0) {
		strbuf_printf(&sb, " (connect %.1f", r->connect_ms);
		if (r->tls_ms >= 0)
			strbuf_printf(&sb, ", tls %.1f", r->tls_ms);
		if (r->first_byte_ms >= 0)
			strbuf_printf(&sb, ", first byte %.1f", r->first_byte_ms);
		strbuf_puts(&sb, " ms)");
	}
	n = snprintf(buf, len, "%s", sb.buf ? sb.buf : "");
	strbuf_fini(&sb);
	return n;
}

int probe_result_json(enum probe_type t, const struct probe_result *r, struct strbuf *out)
{
	strbuf_printf(out, "{\"type\":\"%s\",\"status\":\"%s\",\"ms\":%.3f", probe_type_name(t),
		      probe_status_name(r->status), r->elapsed_ms);
	if (r->error)
		strbuf_printf(out, ",\"errno\":%d", -r->error);
	if (r->http_status)
		strbuf_printf(out, ",\"http_status\":%d", r->http_status);
	if (r->connect_ms >= 0)
		strbuf_printf(out, ",\"connect_ms\":%.3f", r->connect_ms);
	if (r->tls_ms >= 0)
		strbuf_printf(out, ",\"tls_ms\":%.3f", r->tls_ms);
	if (r->first_byte_ms >= 0)
		strbuf_printf(out, ",\"first_byte_ms\":%.3f", r->first_byte_ms);
	strbuf_puts(out, ",\"reason\":");
	strbuf_json_str(out, r->reason);
	return strbuf_puts(out, "}");
}

int probe_diag_format(const struct probe_diag *d, struct strbuf *out)
{
	char line[PROBE_REASON_MAX + 128];
	unsigned t;

	for (t = 0; t < __PROBE_TYPE_MAX; t++) {
		if (!(d->ran & 1u << t))
			continue;
		probe_result_format((enum probe_type)t, &d->res[t], line, sizeof(line));
		strbuf_printf(out, "%-6s%s\n", probe_type_name((enum probe_type)t), line);
	}
	return out->error;
}
