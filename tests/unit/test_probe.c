/* test_probe.c - probes: the pure parts (status ranges, argv, URLs, errno
 * classes, result text and JSON) without sockets, then the life cycle on a
 * real loop against loopback (tcp, http with a tiny server in the loop, exec,
 * cancel, free with probes running) with no mark, so no privilege needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "probe.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names ---- */

static void test_type_names(void **state)
{
	enum probe_type t;
	unsigned i;

	for (i = 0; i < __PROBE_TYPE_MAX; i++) {
		assert_int_equal(probe_type_parse(probe_type_name((enum probe_type)i), &t), 0);
		assert_int_equal(t, i);
	}
	assert_int_equal(probe_type_parse("ftp", &t), -EINVAL);
	assert_int_equal(probe_type_parse("", &t), -EINVAL);
	assert_int_equal(probe_type_parse(NULL, &t), -EINVAL);
	assert_string_equal(probe_type_name(__PROBE_TYPE_MAX), "?");
	assert_string_equal(probe_status_name(PROBE_NEUTRAL), "neutral");
	assert_string_equal(probe_status_name(__PROBE_STATUS_MAX), "?");
}

/* ---- status ranges ---- */

static const struct {
	const char *in, *canon;
	size_t n;
} ranges_ok[] = {
    {"200-299,301", "200-299,301", 2},
    {"200", "200", 1},
    {"100-599", "100-599", 1},
    {"200-299, 301,  500-503", "200-299,301,500-503", 3},
    {"204-204", "204", 1},
    {"200,200", "200,200", 2},
};

static void test_ranges_parse(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ranges_ok); i++) {
		struct probe_ranges r;
		struct isol_err err = {0};
		char buf[128];

		print_message("ranges: %s\n", ranges_ok[i].in);
		assert_int_equal(probe_ranges_parse(ranges_ok[i].in, &r, &err), 0);
		assert_int_equal(err.code, 0);
		assert_int_equal(r.n, ranges_ok[i].n);
		assert_int_equal(probe_ranges_format(&r, buf, sizeof(buf)),
				 (int)strlen(ranges_ok[i].canon));
		assert_string_equal(buf, ranges_ok[i].canon);
	}
}

static const struct {
	const char *in, *needle;
} ranges_bad[] = {
    {"", "empty"},
    {"abc", "'abc'"},
    {"99", "'99'"},
    {"1,2,3", "'1'"},
    {"600", "outside"},
    {"099", "outside"},
    {"2000", "'2000'"},
    {"300-200", "ends before"},
    {"200-", "'200-'"},
    {"-200", "'-200'"},
    {"200,", "''"},
    {",200", "''"},
    {"200,,300", "''"},
    {"200-299,abc", "'abc'"},
    {"200 ,300", "'200 '"},
    {"200-299-300", "'200-299-300'"},
    {"100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116", "more than"},
};

static void test_ranges_invalid(void **state)
{
	struct probe_ranges r = {.n = 7};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ranges_bad); i++) {
		struct isol_err err = {0};

		print_message("bad ranges: '%s'\n", ranges_bad[i].in);
		assert_int_equal(probe_ranges_parse(ranges_bad[i].in, &r, &err), -EINVAL);
		assert_int_equal(err.code, -EINVAL);
		if (strstr(err.msg, ranges_bad[i].needle) == NULL)
			fail_msg("'%s': no '%s' in '%s'", ranges_bad[i].in, ranges_bad[i].needle,
				 err.msg);
		assert_int_equal(r.n, 7); /* untouched */
	}
	assert_int_equal(probe_ranges_parse(NULL, &r, NULL), -EINVAL);
}

static void test_ranges_match(void **state)
{
	struct probe_ranges r, empty = {0};
	char buf[16];

	assert_true(probe_ranges_match(NULL, 200));
	assert_true(probe_ranges_match(NULL, 399));
	assert_true(probe_ranges_match(&empty, 302));
	assert_false(probe_ranges_match(NULL, 199));
	assert_false(probe_ranges_match(NULL, 400));
	assert_false(probe_ranges_match(NULL, 500));
	assert_false(probe_ranges_match(NULL, 0));
	assert_int_equal(probe_ranges_parse("200-299,301", &r, NULL), 0);
	assert_true(probe_ranges_match(&r, 200));
	assert_true(probe_ranges_match(&r, 299));
	assert_true(probe_ranges_match(&r, 301));
	assert_false(probe_ranges_match(&r, 300));
	assert_false(probe_ranges_match(&r, 302));
	assert_false(probe_ranges_match(&r, 500));
	assert_int_equal(probe_ranges_format(NULL, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "200-399");
	/* truncation reports the length needed */
	assert_int_equal(probe_ranges_format(&r, buf, 4), 11);
	assert_string_equal(buf, "200");
}

/* ---- exec words ---- */

static void test_argv_check(void **state)
{
	const char *ok[] = {"/bin/sh", "-c", "exit 0", NULL};
	const char *none[] = {NULL};
	const char *empty[] = {"", NULL};
	static const char *many[PROBE_ARGV_MAX + 2];
	char *longw = malloc(PROBE_ARG_MAX + 2);
	const char *lw[] = {"echo", NULL, NULL};
	struct isol_err err = {0};
	size_t i;

	assert_int_equal(probe_argv_check(ok, &err), 0);
	assert_int_equal(probe_argv_check(NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no command"));
	isol_err_clear(&err);
	assert_int_equal(probe_argv_check(none, &err), -EINVAL);
	isol_err_clear(&err);
	assert_int_equal(probe_argv_check(empty, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "empty"));
	for (i = 0; i <= PROBE_ARGV_MAX; i++)
		many[i] = "x";
	many[PROBE_ARGV_MAX + 1] = NULL;
	isol_err_clear(&err);
	assert_int_equal(probe_argv_check(many, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "more than"));
	many[PROBE_ARGV_MAX] = NULL; /* exactly the maximum */
	assert_int_equal(probe_argv_check(many, NULL), 0);

	assert_non_null(longw);
	memset(longw, 'a', PROBE_ARG_MAX + 1);
	longw[PROBE_ARG_MAX + 1] = '\0';
	lw[1] = longw;
	isol_err_clear(&err);
	assert_int_equal(probe_argv_check(lw, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "word 1"));
	longw[PROBE_ARG_MAX] = '\0';
	assert_int_equal(probe_argv_check(lw, NULL), 0);
	free(longw);
}

static void test_argv_dup(void **state)
{
	const char *in[] = {"sh", "-c", "echo 'a b'", "", NULL};
	const char *none[] = {NULL};
	char **d;
	size_t i;

	d = probe_argv_dup(in);
	assert_non_null(d);
	for (i = 0; in[i]; i++) {
		assert_string_equal(d[i], in[i]);
		assert_ptr_not_equal(d[i], in[i]);
	}
	assert_null(d[i]);
	d[0][0] = 'S'; /* ours to change */
	assert_string_equal(in[0], "sh");
	free(d); /* one allocation */
	d = probe_argv_dup(none);
	assert_non_null(d);
	assert_null(d[0]);
	free(d);
	errno = 0;
	assert_null(probe_argv_dup(NULL));
	assert_int_equal(errno, EINVAL);
}

static void test_argv_format(void **state)
{
	const char *a[] = {"sh", "-c", "exit 3", NULL};
	const char *b[] = {"/usr/bin/check", "--url=http://x:80/a", "it's", "", "$HOME", NULL};
	char buf[128];

	assert_int_equal(probe_argv_format(a, buf, sizeof(buf)), 14);
	assert_string_equal(buf, "sh -c 'exit 3'");
	probe_argv_format(b, buf, sizeof(buf));
	assert_string_equal(buf, "/usr/bin/check --url=http://x:80/a 'it'\\''s' '' '$HOME'");
	assert_int_equal(probe_argv_format(a, buf, 4), 14);
	assert_string_equal(buf, "sh ");
	assert_int_equal(probe_argv_format(NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

/* ---- errno classes ---- */

static void test_errno_is_local(void **state)
{
	static const struct {
		int err;
		bool sync, local;
	} t[] = {
	    {EMFILE, true, true},	 {EMFILE, false, true},	      {ENFILE, false, true},
	    {ENOBUFS, true, true},	 {ENOMEM, true, true},	      {EADDRNOTAVAIL, true, true},
	    {EAGAIN, true, true},	 {ENOENT, true, true},	      {ENETUNREACH, true, true},
	    {ENETUNREACH, false, false}, {EHOSTUNREACH, true, true},  {EHOSTUNREACH, false, false},
	    {EACCES, true, true},	 {EACCES, false, false},      {EPERM, true, true},
	    {EINVAL, true, true},	 {ECONNREFUSED, true, false}, {ECONNREFUSED, false, false},
	    {ETIMEDOUT, false, false},	 {ECONNRESET, false, false},  {EHOSTDOWN, false, false},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		print_message("errno %d (%s) sync %d\n", t[i].err, strerror(t[i].err), t[i].sync);
		assert_int_equal(probe_errno_is_local(t[i].err, t[i].sync), t[i].local);
	}
}

/* ---- URLs ---- */

static void opts_addr(struct probe_opts *o, enum probe_type type, const char *addr, uint16_t port)
{
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(o->family, addr, o->addr), 1);
	o->port = port;
}

static void test_http_url(void **state)
{
	static const struct {
		enum probe_type type;
		const char *addr, *host, *path;
		uint16_t port;
		const char *url, *ct;
	} t[] = {
	    {PROBE_HTTP, "10.0.0.5", NULL, NULL, 8080, "http://10.0.0.5:8080/", ""},
	    {PROBE_HTTPS, "fd77::2", NULL, "/health", 443, "https://[fd77::2]:443/health", ""},
	    {PROBE_HTTPS, "10.77.0.2", "svc.test", "/x?y=1&z", 8443,
	     "https://svc.test:8443/x?y=1&z", "svc.test:8443:10.77.0.2:8443"},
	    {PROBE_HTTP, "fd77::2", "Svc_1.example", "/", 80, "http://Svc_1.example:80/",
	     "Svc_1.example:80:[fd77::2]:80"},
	    {PROBE_HTTP, "10.0.0.5", "10.0.0.9", "/", 80, "http://10.0.0.9:80/",
	     "10.0.0.9:80:10.0.0.5:80"},
	};
	char url[PROBE_URL_MAX], ct[PROBE_CONNECT_TO_MAX];
	struct probe_opts o;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		opts_addr(&o, t[i].type, t[i].addr, t[i].port);
		o.host = t[i].host;
		o.path = t[i].path;
		assert_int_equal(probe_http_url(&o, url, sizeof(url), ct, sizeof(ct), NULL), 0);
		assert_string_equal(url, t[i].url);
		assert_string_equal(ct, t[i].ct);
	}
}

static void test_http_url_invalid(void **state)
{
	static const struct {
		const char *host, *path, *needle;
	} t[] = {
	    {"a b", NULL, "host 'a b'"},
	    {"-x", NULL, "host"},
	    {".x", NULL, "host"},
	    {"a/b", NULL, "host"},
	    {"a:80", NULL, "host"},
	    {"user@a", NULL, "host"},
	    {"", NULL, "host"},
	    {"[fd77::2]", NULL, "host"},
	    {NULL, "health", "path 'health'"},
	    {NULL, "", "path"},
	    {NULL, "/a b", "path"},
	    {NULL, "/a\r\nX-Evil: 1", "path"},
	    {NULL, "/\x7f", "path"},
	    {NULL, "/caf\xc3\xa9", "path"},
	};
	char url[PROBE_URL_MAX], ct[PROBE_CONNECT_TO_MAX], longp[PROBE_PATH_MAX + 2];
	char longh[PROBE_HOST_MAX + 2];
	struct probe_opts o;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct isol_err err = {0};

		opts_addr(&o, PROBE_HTTP, "10.0.0.5", 80);
		o.host = t[i].host;
		o.path = t[i].path;
		assert_int_equal(probe_http_url(&o, url, sizeof(url), ct, sizeof(ct), &err),
				 -EINVAL);
		if (strstr(err.msg, t[i].needle) == NULL)
			fail_msg("#%zu: no '%s' in '%s'", i, t[i].needle, err.msg);
	}
	opts_addr(&o, PROBE_HTTP, "10.0.0.5", 80);
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	o.path = longp;
	assert_int_equal(probe_http_url(&o, url, sizeof(url), ct, sizeof(ct), NULL), -EINVAL);
	longp[PROBE_PATH_MAX] = '\0'; /* exactly the maximum */
	assert_int_equal(probe_http_url(&o, url, sizeof(url), ct, sizeof(ct), NULL), 0);
	memset(longh, 'h', sizeof(longh));
	longh[sizeof(longh) - 1] = '\0';
	o.host = longh;
	assert_int_equal(probe_http_url(&o, url, sizeof(url), ct, sizeof(ct), NULL), -EINVAL);
	longh[PROBE_HOST_MAX] = '\0';
	assert_int_equal(probe_http_url(&o, url, sizeof(url), ct, sizeof(ct), NULL), 0);
	/* small buffers are an error, not a truncated URL */
	assert_int_equal(probe_http_url(&o, url, 20, ct, sizeof(ct), NULL), -ENOSPC);
	assert_int_equal(probe_http_url(&o, url, sizeof(url), ct, 20, NULL), -ENOSPC);
	o.family = 0;
	assert_int_equal(probe_http_url(&o, url, sizeof(url), ct, sizeof(ct), NULL), -EINVAL);
}

/* ---- result text ---- */

static void test_wait_status(void **state)
{
	char buf[64];

	probe_wait_status_format(3 << 8, buf, sizeof(buf));
	assert_string_equal(buf, "exit 3");
	probe_wait_status_format(SIGKILL, buf, sizeof(buf));
	assert_string_equal(buf, "killed by signal 9 (Killed)");
	probe_wait_status_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "exit 0");
}

static struct probe_result result(enum probe_status s, double ms, const char *reason)
{
	struct probe_result r = {.status = s, .elapsed_ms = ms};

	r.connect_ms = r.tls_ms = r.first_byte_ms = -1;
	snprintf(r.reason, sizeof(r.reason), "%s", reason);
	return r;
}

static void test_result_format(void **state)
{
	struct probe_result r;
	char buf[256];
	int n;

	r = result(PROBE_PASS, 0.44, "");
	n = probe_result_format(PROBE_TCP, &r, buf, sizeof(buf));
	assert_string_equal(buf, "pass 0.4 ms");
	assert_int_equal(n, 11);
	r = result(PROBE_FAIL, 2000.06, "timeout after 2000 ms");
	probe_result_format(PROBE_TCP, &r, buf, sizeof(buf));
	assert_string_equal(buf, "fail 2000.1 ms: timeout after 2000 ms");
	r = result(PROBE_NEUTRAL, 0, "socket: Too many open files");
	probe_result_format(PROBE_ICMP, &r, buf, sizeof(buf));
	assert_string_equal(buf, "neutral 0.0 ms: socket: Too many open files");
	r = result(PROBE_PASS, 3.1, "");
	r.http_status = 200;
	r.connect_ms = 0.3;
	r.tls_ms = 1.94;
	r.first_byte_ms = 3.0;
	probe_result_format(PROBE_HTTPS, &r, buf, sizeof(buf));
	assert_string_equal(buf, "pass 3.1 ms: http 200 (connect 0.3, tls 1.9, first byte 3.0 ms)");
	r = result(PROBE_FAIL, 2.0, "http 500");
	r.http_status = 500;
	r.connect_ms = 0.5;
	r.first_byte_ms = 1.9;
	probe_result_format(PROBE_HTTP, &r, buf, sizeof(buf));
	assert_string_equal(buf, "fail 2.0 ms: http 500 (connect 0.5, first byte 1.9 ms)");
	/* timings only for http */
	probe_result_format(PROBE_TCP, &r, buf, sizeof(buf));
	assert_string_equal(buf, "fail 2.0 ms: http 500");
	n = probe_result_format(PROBE_HTTP, &r, buf, 5);
	assert_string_equal(buf, "fail");
	assert_int_equal(n, (int)strlen("fail 2.0 ms: http 500 (connect 0.5, first byte 1.9 ms)"));
}

static void test_result_json(void **state)
{
	struct probe_result r = result(PROBE_FAIL, 1.5, "connect: \"refused\"");
	json_error_t jerr;
	struct strbuf sb;
	json_t *j;

	r.error = -ECONNREFUSED;
	r.http_status = 503;
	r.connect_ms = 0.25;
	strbuf_init(&sb);
	assert_int_equal(probe_result_json(PROBE_HTTP, &r, &sb), 0);
	j = json_loads(sb.buf, 0, &jerr);
	if (j == NULL)
		fail_msg("bad JSON '%s': %s", sb.buf, jerr.text);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "http");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "fail");
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
			    "connect: \"refused\"");
	assert_int_equal(json_integer_value(json_object_get(j, "errno")), ECONNREFUSED);
	assert_int_equal(json_integer_value(json_object_get(j, "http_status")), 503);
	assert_true(json_real_value(json_object_get(j, "ms")) == 1.5);
	assert_true(json_real_value(json_object_get(j, "connect_ms")) == 0.25);
	assert_null(json_object_get(j, "tls_ms"));
	json_decref(j);
	strbuf_fini(&sb);
}

static void test_diag_format(void **state)
{
	struct probe_diag d = {0};
	struct strbuf sb;

	d.ran = 1u << PROBE_ICMP | 1u << PROBE_TCP;
	d.res[PROBE_ICMP] = result(PROBE_PASS, 0.2, "");
	d.res[PROBE_TCP] = result(PROBE_FAIL, 0.3, "connect: Connection refused");
	d.res[PROBE_HTTP] = result(PROBE_PASS, 9, ""); /* did not run: not shown */
	strbuf_init(&sb);
	assert_int_equal(probe_diag_format(&d, &sb), 0);
	assert_string_equal(sb.buf, "tcp   fail 0.3 ms: connect: Connection refused\n"
				    "icmp  pass 0.2 ms\n");
	strbuf_fini(&sb);
}

/* ---- on a real loop, loopback, no mark ---- */

struct got {
	int calls;
	struct probe_result res;
};

static void got_cb(const struct probe_result *res, void *data)
{
	struct got *g = data;

	g->calls++;
	g->res = *res;
}

static void run_until(struct ev_loop *loop, const int *calls, int want, double max_s)
{
	double end = ev_time() + max_s;

	while (*calls < want && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
}

/* A listening socket on 127.0.0.1; its port in *port. */
static int listener(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void test_tcp_loop(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct prober *pr = prober_new(loop, 0);
	struct got g = {0};
	struct probe_opts o;
	uint16_t port;
	int lfd = listener(&port);

	assert_non_null(pr);
	opts_addr(&o, PROBE_TCP, "127.0.0.1", port);
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	assert_int_equal(g.calls, 0); /* never from inside probe_start */
	assert_int_equal(prober_running(pr), 1);
	run_until(loop, &g.calls, 1, 2);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res.status, PROBE_PASS);
	assert_string_equal(g.res.reason, "");
	assert_int_equal(prober_running(pr), 0);

	close(lfd); /* now nobody listens there */
	memset(&g, 0, sizeof(g));
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 2);
	assert_int_equal(g.res.status, PROBE_FAIL);
	assert_int_equal(g.res.error, -ECONNREFUSED);
	assert_string_equal(g.res.reason, "connect: Connection refused");

	/* cancelled: never called back */
	memset(&g, 0, sizeof(g));
	probe_cancel(probe_start(pr, &o, got_cb, &g, NULL));
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(g.calls, 0);
	assert_int_equal(prober_running(pr), 0);
	prober_free(pr);
}

/* Open file descriptors of this process. */
static int count_fds(void)
{
	char path[64];
	int n = 0, fd;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* A connected socket is kept for the next probe (connect(AF_UNSPEC)), so a
 * row of passes costs no new sockets; prober_free closes the kept ones. */
static void test_tcp_recycle(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	int before = count_fds(), during, i;
	struct prober *pr = prober_new(loop, 0);
	struct probe_opts o4, o6, refused;
	uint16_t port;
	int lfd = listener(&port), lfd6, closed;
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t sl = sizeof(sin6);

	lfd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(lfd6 >= 0);
	assert_int_equal(bind(lfd6, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	assert_int_equal(listen(lfd6, 256), 0);
	assert_int_equal(getsockname(lfd6, (struct sockaddr *)&sin6, &sl), 0);
	closed = listener(&refused.port);
	close(closed);
	opts_addr(&refused, PROBE_TCP, "127.0.0.1", refused.port);
	opts_addr(&o4, PROBE_TCP, "127.0.0.1", port);
	opts_addr(&o6, PROBE_TCP, "::1", ntohs(sin6.sin6_port));
	for (i = 0; i < 60; i++) {
		const struct probe_opts *o = i % 3 == 0 ? &o4 : i % 3 == 1 ? &o6 : &refused;
		struct got g = {0};

		assert_non_null(probe_start(pr, o, got_cb, &g, NULL));
		run_until(loop, &g.calls, 1, 2);
		assert_int_equal(g.calls, 1);
		assert_int_equal(g.res.status, o == &refused ? PROBE_FAIL : PROBE_PASS);
		/* drain the accept queues: the resets must not pile up there */
		while (i % 3 != 2) {
			int c = accept4(i % 3 == 0 ? lfd : lfd6, NULL, NULL, SOCK_NONBLOCK);

			if (c == -1)
				break;
			close(c);
		}
	}
	during = count_fds();
	/* the listeners, one kept socket per family, epoll and friends */
	assert_true(during <= before + 8);
	prober_free(pr);
	close(lfd);
	close(lfd6);
	assert_int_equal(count_fds(), before);
}

static void test_start_invalid(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct prober *pr = prober_new(loop, 0);
	struct probe_ranges bad = {.n = 1, .r = {{500, 400}}};
	const char *noargv[] = {NULL};
	struct isol_err err = {0};
	struct probe_opts o;
	struct got g = {0};

	opts_addr(&o, PROBE_TCP, "127.0.0.1", 0);
	errno = 0;
	assert_null(probe_start(pr, &o, got_cb, &g, &err));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err.msg, "port"));
	opts_addr(&o, PROBE_HTTP, "127.0.0.1", 80);
	o.path = "nope";
	isol_err_clear(&err);
	assert_null(probe_start(pr, &o, got_cb, &g, &err));
	assert_non_null(strstr(err.msg, "path"));
	o.path = NULL;
	o.expect = &bad;
	assert_null(probe_start(pr, &o, got_cb, &g, NULL));
	assert_int_equal(errno, EINVAL);
	memset(&o, 0, sizeof(o));
	o.type = PROBE_ICMP;
	assert_null(probe_start(pr, &o, got_cb, &g, NULL)); /* no address */
	o.type = PROBE_EXEC;
	o.argv = noargv;
	assert_null(probe_start(pr, &o, got_cb, &g, NULL));
	o.type = __PROBE_TYPE_MAX;
	assert_null(probe_start(pr, &o, got_cb, &g, NULL));
	assert_null(probe_start(pr, NULL, got_cb, &g, NULL));
	assert_null(prober_new(NULL, 0));
	assert_int_equal(prober_running(pr), 0);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(g.calls, 0);
	prober_free(pr);
	prober_free(NULL);
}

static void test_exec_loop(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct prober *pr = prober_new(loop, 0x1234);
	const char *ok[] = {"true", NULL};
	const char *bad[] = {"/bin/sh", "-c", "echo; echo '  oops: it broke  ' >&2; exit 3", NULL};
	const char *env[] = {"/bin/sh", "-c",
			     "test \"$ISOL_PROBE_MARK\" = 0x1234 && test \"$ISOL_PROBE_ADDR\" = "
			     "127.0.0.1 && test \"$ISOL_PROBE_PORT\" = 7",
			     NULL};
	const char *sig[] = {"/bin/sh", "-c", "kill -SEGV $$", NULL};
	const char *missing[] = {"/nonexistent/probe", NULL};
	char pidfile[] = "/tmp/test_probe.XXXXXX";
	char script[256];
	const char *slow[] = {"/bin/sh", "-c", script, NULL};
	struct probe_opts o = {.type = PROBE_EXEC};
	struct got g = {0};
	FILE *f;
	int gpid = 0, fd;

	o.argv = ok;
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.res.status, PROBE_PASS);

	memset(&g, 0, sizeof(g));
	o.argv = bad;
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.res.status, PROBE_FAIL);
	assert_string_equal(g.res.reason, "exit 3: oops: it broke");

	memset(&g, 0, sizeof(g));
	opts_addr(&o, PROBE_EXEC, "127.0.0.1", 7);
	o.argv = env;
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.res.status, PROBE_PASS);

	memset(&g, 0, sizeof(g));
	o.argv = sig;
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.res.status, PROBE_FAIL);
	assert_non_null(strstr(g.res.reason, "killed by signal 11"));

	memset(&g, 0, sizeof(g));
	o.argv = missing;
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	assert_int_equal(g.calls, 0);
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.res.status, PROBE_NEUTRAL);
	assert_int_equal(g.res.error, -ENOENT);

	/* the deadline kills the whole group, grandchild included */
	fd = mkstemp(pidfile);
	assert_true(fd >= 0);
	close(fd);
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; wait", pidfile);
	memset(&g, 0, sizeof(g));
	o.argv = slow;
	o.timeout_ms = 300;
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.res.status, PROBE_FAIL);
	assert_int_equal(g.res.error, -ETIMEDOUT);
	assert_string_equal(g.res.reason, "timeout after 300 ms (process group killed)");
	assert_true(g.res.elapsed_ms >= 290 && g.res.elapsed_ms < 1000);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &gpid), 1);
	fclose(f);
	unlink(pidfile);
	/* dead: gone, or a zombie of whoever reaps orphans here */
	if (kill(gpid, 0) == 0) {
		char path[64], st = '?';

		snprintf(path, sizeof(path), "/proc/%d/stat", gpid);
		f = fopen(path, "r");
		if (f) {
			assert_int_equal(fscanf(f, "%*d %*s %c", &st), 1);
			fclose(f);
			assert_int_equal(st, 'Z');
		}
	}
	prober_free(pr);
}

static void test_free_running(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct prober *pr = prober_new(loop, 0);
	const char *slow[] = {"sleep", "30", NULL};
	struct probe_opts o = {.type = PROBE_EXEC, .argv = slow};
	struct got g = {0};
	uint16_t port;
	int lfd = listener(&port);

	int i;

	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	opts_addr(&o, PROBE_HTTP, "127.0.0.1", port); /* accepted, never answered */
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	for (i = 0; i < 10; i++) /* connected, request sent: curl holds a socket */
		ev_run(loop, EVRUN_NOWAIT);
	opts_addr(&o, PROBE_TCP, "127.0.0.1", port);
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	assert_int_equal(prober_running(pr), 3);
	prober_free(pr); /* nothing leaks (ASan), nobody is called */
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(g.calls, 0);
	close(lfd);
}

/* A tiny HTTP server in the loop: answers every request with `status`, keeps
 * the last request head. */
struct mini_http {
	struct ev_loop *loop;
	ev_io accept_w;
	int status;
	char last[2048];
};

struct mini_conn {
	ev_io w;
	struct mini_http *srv;
	char buf[2048];
	size_t len;
};

static void mini_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mini_conn *c = w->data;
	ssize_t n = read(w->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	char resp[256];
	int rl;

	if (n == -1 && errno == EAGAIN)
		return;
	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		if (strstr(c->buf, "\r\n\r\n") == NULL && c->len < sizeof(c->buf) - 1)
			return;
		snprintf(c->srv->last, sizeof(c->srv->last), "%s", c->buf);
		rl =
		    snprintf(resp, sizeof(resp),
			     "HTTP/1.1 %d X\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
			     c->srv->status);
		assert_int_equal(write(w->fd, resp, (size_t)rl), rl);
	}
	ev_io_stop(loop, w);
	close(w->fd);
	free(c);
}

static void mini_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mini_http *srv = w->data;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct mini_conn *c;

	if (fd == -1)
		return;
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->srv = srv;
	ev_io_init(&c->w, mini_read_cb, fd, EV_READ);
	c->w.data = c;
	ev_io_start(loop, &c->w);
}

static void test_http_loop(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct prober *pr = prober_new(loop, 0);
	struct mini_http srv = {.loop = loop, .status = 200};
	struct probe_ranges only500;
	struct probe_opts o;
	struct got g = {0};
	uint16_t port;
	int lfd = listener(&port);
	char want[64];

	ev_io_init(&srv.accept_w, mini_accept_cb, lfd, EV_READ);
	srv.accept_w.data = &srv;
	ev_io_start(loop, &srv.accept_w);

	opts_addr(&o, PROBE_HTTP, "127.0.0.1", port);
	o.path = "/health?x=1";
	o.host = "svc.test";
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res.status, PROBE_PASS);
	assert_int_equal(g.res.http_status, 200);
	assert_true(g.res.connect_ms >= 0);
	assert_true(g.res.first_byte_ms >= g.res.connect_ms);
	assert_int_equal(g.res.tls_ms, -1);
	/* the request names the host and the path; it went to the address */
	assert_non_null(strstr(srv.last, "GET /health?x=1 HTTP/1.1\r\n"));
	snprintf(want, sizeof(want), "\r\nHost: svc.test:%u\r\n", port);
	assert_non_null(strstr(srv.last, want));
	assert_non_null(strstr(srv.last, "User-Agent: isol-probe"));

	srv.status = 500;
	memset(&g, 0, sizeof(g));
	o.host = NULL;
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.res.status, PROBE_FAIL);
	assert_int_equal(g.res.http_status, 500);
	assert_string_equal(g.res.reason, "http 500");
	snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%u\r\n", port);
	assert_non_null(strstr(srv.last, want));

	assert_int_equal(probe_ranges_parse("500", &only500, NULL), 0);
	o.expect = &only500;
	memset(&g, 0, sizeof(g));
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.res.status, PROBE_PASS);

	/* many at once, one cancelled */
	{
		struct got many[20] = {{0}};
		struct probe *p[20];
		int i, calls = 0;

		srv.status = 204;
		o.expect = NULL;
		for (i = 0; i < 20; i++) {
			p[i] = probe_start(pr, &o, got_cb, &many[i], NULL);
			assert_non_null(p[i]);
		}
		probe_cancel(p[7]);
		for (double end = ev_time() + 5; ev_time() < end;) {
			ev_run(loop, EVRUN_ONCE);
			for (calls = 0, i = 0; i < 20; i++)
				calls += many[i].calls;
			if (calls == 19)
				break;
		}
		assert_int_equal(calls, 19);
		for (i = 0; i < 20; i++) {
			if (i == 7) {
				assert_int_equal(many[i].calls, 0);
				continue;
			}
			assert_int_equal(many[i].calls, 1);
			assert_int_equal(many[i].res.status, PROBE_PASS);
			assert_int_equal(many[i].res.http_status, 204);
		}
	}

	/* nobody there */
	ev_io_stop(loop, &srv.accept_w);
	close(lfd);
	memset(&g, 0, sizeof(g));
	assert_non_null(probe_start(pr, &o, got_cb, &g, NULL));
	run_until(loop, &g.calls, 1, 5);
	assert_int_equal(g.res.status, PROBE_FAIL);
	assert_string_equal(g.res.reason, "connect: Connection refused");
	prober_free(pr);
}

static void diag_cb(const struct probe_diag *d, void *data)
{
	struct probe_diag *out = data;

	*out = *d;
}

static void test_diagnose_loop(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct prober *pr = prober_new(loop, 0);
	struct probe_diag d = {0};
	struct probe_diagnosis *dg;
	struct probe_opts o;
	uint16_t port;
	int lfd = listener(&port); /* tcp passes; http gets no answer */

	opts_addr(&o, PROBE_TCP, "127.0.0.1", port);
	o.timeout_ms = 200;
	dg = probe_diagnose(pr, &o, 1u << PROBE_TCP | 1u << PROBE_HTTP, diag_cb, &d, NULL);
	assert_non_null(dg);
	for (double end = ev_time() + 5; d.ran == 0 && ev_time() < end;)
		ev_run(loop, EVRUN_ONCE);
	assert_int_equal(d.ran, 1u << PROBE_TCP | 1u << PROBE_HTTP);
	assert_int_equal(d.res[PROBE_TCP].status, PROBE_PASS);
	assert_int_equal(d.res[PROBE_HTTP].status, PROBE_FAIL);
	assert_string_equal(d.res[PROBE_HTTP].reason, "timeout after 200 ms");

	/* cancelled: nobody is called */
	memset(&d, 0, sizeof(d));
	dg = probe_diagnose(pr, &o, 0, diag_cb, &d, NULL);
	assert_non_null(dg);
	probe_diagnose_cancel(dg);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(d.ran, 0);
	assert_int_equal(prober_running(pr), 0);
	/* one that cannot start takes the others down with it */
	o.path = "bad";
	assert_null(probe_diagnose(pr, &o, 0, diag_cb, &d, NULL));
	assert_int_equal(prober_running(pr), 0);
	prober_free(pr);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_type_names),	   cmocka_unit_test(test_ranges_parse),
	    cmocka_unit_test(test_ranges_invalid), cmocka_unit_test(test_ranges_match),
	    cmocka_unit_test(test_argv_check),	   cmocka_unit_test(test_argv_dup),
	    cmocka_unit_test(test_argv_format),	   cmocka_unit_test(test_errno_is_local),
	    cmocka_unit_test(test_http_url),	   cmocka_unit_test(test_http_url_invalid),
	    cmocka_unit_test(test_wait_status),	   cmocka_unit_test(test_result_format),
	    cmocka_unit_test(test_result_json),	   cmocka_unit_test(test_diag_format),
	    cmocka_unit_test(test_tcp_loop),	   cmocka_unit_test(test_tcp_recycle),
	    cmocka_unit_test(test_start_invalid),  cmocka_unit_test(test_exec_loop),
	    cmocka_unit_test(test_free_running),   cmocka_unit_test(test_http_loop),
	    cmocka_unit_test(test_diagnose_loop),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
