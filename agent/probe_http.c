/* probe_http.c - http and https probes on libcurl's multi interface, driven
 * by the agent's loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION -> ev_io and
 * ev_timer, curl_multi_socket_action back). Every probe is a fresh
 * connection to the target's address with the probe mark; the Host header,
 * the TLS server name and the certificate check use the configured host
 * (CURLOPT_CONNECT_TO), so the probe sees what a real client sees. TLS
 * verification is on unless the probe says otherwise. The transfer stops at
 * the first byte of the body: the status line is the verdict. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "probe_int.h"

#define HTTP_USER_AGENT "isol-probe"

struct probe_http_multi {
	struct prober *pr;
	CURLM *multi;
	ev_timer timer; /* curl's own timeouts */
};

/* A socket curl asked us to watch. */
struct http_sock {
	ev_io io;
	struct probe_http_multi *hm;
	curl_socket_t fd;
};

struct http_probe {
	struct probe p;
	CURL *easy;
	struct curl_slist *connect_to;
	struct probe_ranges expect;
	bool got_body;	 /* we stopped the transfer at the body on purpose */
	int local_errno; /* our socket callbacks failed: this host's fault */
	const char *local_what;
	char errbuf[CURL_ERROR_SIZE];
};

static void check_done(struct probe_http_multi *hm);

static void sock_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_sock *s = w->data;
	struct probe_http_multi *hm = s->hm;
	int action =
	    (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	/* @s may be freed inside (CURL_POLL_REMOVE) */
	curl_multi_socket_action(hm->multi, s->fd, action, &running);
	check_done(hm);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct probe_http_multi *hm = userp;
	struct http_sock *s = socketp;
	int events;

	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(hm->pr->loop, &s->io);
			free(s);
		}
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		s->hm = hm;
		s->fd = fd;
		ev_init(&s->io, sock_io_cb);
		s->io.data = s;
		curl_multi_assign(hm->multi, fd, s);
	}
	events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	ev_io_stop(hm->pr->loop, &s->io);
	ev_io_set(&s->io, fd, events);
	ev_io_start(hm->pr->loop, &s->io);
	return 0;
}

static void multi_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe_http_multi *hm = w->data;
	int running;

	curl_multi_socket_action(hm->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(hm);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct probe_http_multi *hm = userp;

	/* never call curl back from here: 0 means "on the next turn" */
	ev_timer_stop(hm->pr->loop, &hm->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&hm->timer, (double)timeout_ms / 1e3, 0.0);
		ev_timer_start(hm->pr->loop, &hm->timer);
	}
	return 0;
}

static struct probe_http_multi *multi_get(struct prober *pr)
{
	struct probe_http_multi *hm = pr->http;

	if (hm)
		return hm;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	hm = calloc(1, sizeof(*hm));
	if (hm == NULL)
		goto err_global;
	hm->pr = pr;
	hm->multi = curl_multi_init();
	if (hm->multi == NULL)
		goto err_free;
	curl_multi_setopt(hm->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(hm->multi, CURLMOPT_SOCKETDATA, hm);
	curl_multi_setopt(hm->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(hm->multi, CURLMOPT_TIMERDATA, hm);
	ev_init(&hm->timer, multi_timer_cb);
	hm->timer.data = hm;
	pr->http = hm;
	return hm;

err_free:
	free(hm);
err_global:
	curl_global_cleanup();
	return NULL;
}

void probe_http_fini(struct prober *pr)
{
	struct probe_http_multi *hm = pr->http;

	if (hm == NULL)
		return;
	curl_multi_cleanup(hm->multi); /* may still call sock_cb: hm lives on */
	ev_timer_stop(pr->loop, &hm->timer);
	free(hm);
	pr->http = NULL;
	curl_global_cleanup();
}

static curl_socket_t open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_probe *hp = clientp;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

	if (fd == -1 && hp->local_errno == 0) {
		hp->local_errno = errno;
		hp->local_what = "socket";
	}
	return fd == -1 ? CURL_SOCKET_BAD : fd;
}

static int sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	struct http_probe *hp = clientp;
	uint32_t mark = hp->p.pr->mark;

	/* exempt from our own rules, or not run at all */
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == -1) {
		if (hp->local_errno == 0) {
			hp->local_errno = errno;
			hp->local_what = "setsockopt SO_MARK";
		}
		return CURL_SOCKOPT_ERROR;
	}
	return CURL_SOCKOPT_OK;
}

static size_t body_cb(char *ptr, size_t size, size_t n, void *data)
{
	struct http_probe *hp = data;

	hp->got_body = true;
	return 0; /* the status is in: stop here (CURLE_WRITE_ERROR) */
}

static double info_ms(CURL *easy, CURLINFO what)
{
	curl_off_t us = 0;

	if (curl_easy_getinfo(easy, what, &us) != CURLE_OK || us <= 0)
		return -1;
	return (double)us / 1e3;
}

static bool tls_error(CURLcode rc)
{
	return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
	       rc == CURLE_SSL_INVALIDCERTSTATUS || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
	       rc == CURLE_SSL_SHUTDOWN_FAILED || rc == CURLE_SSL_ISSUER_ERROR;
}

/* Problems of this host or of our own configuration, not of the target. */
static bool local_error(CURLcode rc)
{
	return rc == CURLE_OUT_OF_MEMORY || rc == CURLE_FAILED_INIT ||
	       rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_NOT_BUILT_IN ||
	       rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CRL_BADFILE ||
	       rc == CURLE_SSL_ENGINE_NOTFOUND || rc == CURLE_SSL_ENGINE_SETFAILED ||
	       rc == CURLE_SSL_ENGINE_INITFAILED || rc == CURLE_SSL_CIPHER ||
	       rc == CURLE_INTERFACE_FAILED;
}

static void http_finish(struct http_probe *hp, CURLcode rc)
{
	struct probe *p = &hp->p;
	const char *msg = hp->errbuf[0] ? hp->errbuf : curl_easy_strerror(rc);
	long code = 0;
	long oserr = 0;

	p->res.connect_ms = info_ms(hp->easy, CURLINFO_CONNECT_TIME_T);
	if (p->type == PROBE_HTTPS)
		p->res.tls_ms = info_ms(hp->easy, CURLINFO_APPCONNECT_TIME_T);
	p->res.first_byte_ms = info_ms(hp->easy, CURLINFO_STARTTRANSFER_TIME_T);
	if (hp->local_errno) {
		probe_set(p, PROBE_NEUTRAL, -hp->local_errno, "%s: %s", hp->local_what,
			  strerror(hp->local_errno));
	} else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && hp->got_body)) {
		curl_easy_getinfo(hp->easy, CURLINFO_RESPONSE_CODE, &code);
		p->res.http_status = (int)code;
		if (probe_ranges_match(&hp->expect, (int)code))
			probe_pass(p);
		else
			probe_set(p, PROBE_FAIL, 0, "http %ld", code);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		probe_set_timeout(p);
	} else if (rc == CURLE_COULDNT_CONNECT) {
		curl_easy_getinfo(hp->easy, CURLINFO_OS_ERRNO, &oserr);
		/* curl does not say whether connect() failed at once or later;
		 * "no route" and "prohibited" come from the local table far more
		 * often than from afar, "host unreachable" is a neighbour that does
		 * not answer (the target is down) */
		if (oserr > 0)
			probe_set_errno(p, "connect", (int)oserr, oserr != EHOSTUNREACH);
		else
			probe_set(p, PROBE_FAIL, -ECONNREFUSED, "connect: %s", msg);
	} else if (local_error(rc)) {
		probe_set(p, PROBE_NEUTRAL, 0, "%s: %s", probe_type_name(p->type), msg);
	} else if (tls_error(rc)) {
		probe_set(p, PROBE_FAIL, 0, "tls: %s", msg);
	} else {
		probe_set(p, PROBE_FAIL, 0, "http: %s", msg);
	}
	probe_report(p);
}

static void check_done(struct probe_http_multi *hm)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(hm->multi, &left))) {
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if (priv)
			http_finish((struct http_probe *)(void *)priv, m->data.result);
	}
}

static int http_start(struct probe *p, const struct probe_opts *o, struct isol_err *err)
{
	struct http_probe *hp = (struct http_probe *)p;
	char url[PROBE_URL_MAX], ct[PROBE_CONNECT_TO_MAX];
	struct probe_http_multi *hm;
	CURL *e;
	int rc;

	rc = probe_http_url(o, url, sizeof(url), ct, sizeof(ct), err);
	if (rc < 0)
		return rc;
	if (o->expect)
		hp->expect = *o->expect;
	hm = multi_get(p->pr);
	if (hm == NULL) {
		probe_set(p, PROBE_NEUTRAL, -ENOMEM, "%s: cannot set up libcurl",
			  probe_type_name(p->type));
		return 0;
	}
	e = hp->easy = curl_easy_init();
	if (e == NULL) {
		probe_set(p, PROBE_NEUTRAL, -ENOMEM, "%s: cannot set up libcurl",
			  probe_type_name(p->type));
		return 0;
	}
	if (ct[0]) {
		hp->connect_to = curl_slist_append(NULL, ct);
		if (hp->connect_to == NULL)
			return isol_err_set(err, -ENOMEM, "out of memory");
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, hp->connect_to);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, hp);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, hp->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never the environment's proxy */
	curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	/* a fresh connection every time: an old one proves nothing */
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	/* our deadline decides; curl's is a backstop */
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms + 1000L);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, hp);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, hp);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, hp);
	if (p->type == PROBE_HTTPS) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
		if (o->ca_file)
			curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
	}
	if (curl_multi_add_handle(hm->multi, e) != CURLM_OK) {
		probe_set(p, PROBE_NEUTRAL, -ENOMEM, "%s: libcurl refused the transfer",
			  probe_type_name(p->type));
		return 0;
	}
	return 0;
}

static void http_timeout(struct probe *p)
{
	probe_set_timeout(p);
	probe_report(p);
}

static void http_stop(struct probe *p)
{
	struct http_probe *hp = (struct http_probe *)p;

	if (hp->easy) {
		if (p->pr->http)
			curl_multi_remove_handle(p->pr->http->multi, hp->easy);
		curl_easy_cleanup(hp->easy);
		hp->easy = NULL;
	}
	curl_slist_free_all(hp->connect_to);
	hp->connect_to = NULL;
}

const struct probe_ops probe_http_ops = {
    .size = sizeof(struct http_probe),
    .start = http_start,
    .timeout = http_timeout,
    .stop = http_stop,
};
