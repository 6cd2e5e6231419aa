/* control.c - unix socket server: accept, credentials, line framing, output
 * buffering. What a request means is the handler's business (verbs.c). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "control.h"
#include "log.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

struct conn {
	ev_io rio, wio;
	ev_idle more; /* complete lines left over: served when the loop is idle */
	struct control *ctl;
	struct control_peer peer;
	struct strbuf in, out;
	size_t out_off; /* bytes of @out already sent */
	size_t scanned; /* bytes of @in already searched for '\n' */
	bool pending;   /* @in may hold complete requests not served yet */
	struct control_defer *deferred; /* an answer is owed: serve nothing else */
	bool watching; /* gets every event (control_watch) */
	/* the raw bytes that follow the last request (control_expect_payload) */
	control_payload_fn payload_fn;
	void *payload_data;
	size_t payload_n;
	/* a payload refused: the bytes that follow are not requests; answer,
	 * then hang up */
	bool unframed;
	struct conn *prev, *next;
};

struct control_defer {
	struct conn *conn; /* NULL once the client has gone */
};

struct control {
	struct ev_loop *loop;
	struct conn *current; /* the conn whose request is being handled */
	ev_io lio;
	int fd;
	char *path;
	struct control_opts o;
	control_handler_fn fn;
	void *ctx;
	struct conn *conns;
	size_t nconns, nwatchers;
};

static void conn_free(struct conn *c)
{
	struct control *ctl = c->ctl;

	ev_io_stop(ctl->loop, &c->rio);
	ev_io_stop(ctl->loop, &c->wio);
	ev_idle_stop(ctl->loop, &c->more);
	if (c->deferred)
		c->deferred->conn = NULL;
	if (c->watching)
		ctl->nwatchers--;
	if (c->payload_fn)
		c->payload_fn(c->payload_data, &c->peer, NULL, 0, NULL);
	close(c->rio.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->nconns--;
	strbuf_fini(&c->in);
	strbuf_fini(&c->out);
	free(c);
}

#define OUT_HIGH_WATER (8u << 20)

static size_t out_pending(const struct conn *c)
{
	return c->out.len - c->out_off;
}

/* What to wait for: writable while output is queued; reading pauses while a
 * client does not read its answers, and while complete requests are still
 * buffered (those are served from an idle watcher, a few per turn). */
static void conn_update(struct conn *c)
{
	struct ev_loop *loop = c->ctl->loop;
	bool more = c->pending;

	if (out_pending(c) > 0)
		ev_io_start(loop, &c->wio);
	else
		ev_io_stop(loop, &c->wio);
	if (out_pending(c) > OUT_HIGH_WATER || c->deferred) {
		ev_io_stop(loop, &c->rio);
		ev_idle_stop(loop, &c->more);
	} else if (more) {
		ev_io_stop(loop, &c->rio);
		ev_idle_start(loop, &c->more);
	} else {
		ev_io_start(loop, &c->rio);
		ev_idle_stop(loop, &c->more);
	}
}

/* Send what the client will take. A big answer (100,000 actions rolled
 * back) goes out in socket-buffer pieces: the sent part is skipped by
 * offset, and moved away only once it is most of the buffer, not after
 * every piece (that copied the rest each time: quadratic). */
static int conn_flush(struct conn *c)
{
	while (c->out.len > c->out_off) {
		ssize_t n = send(c->rio.fd, c->out.buf + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (c->out_off > c->out.len / 2) {
					strbuf_consume(&c->out, c->out_off);
					c->out_off = 0;
				}
				return 0;
			}
			return -errno;
		}
		c->out_off += (size_t)n;
	}
	c->out.len = 0;
	c->out_off = 0;
	if (c->out.cap > (1u << 20)) { /* give back what a big answer took */
		strbuf_fini(&c->out);
		strbuf_init(&c->out);
	}
	return 0;
}

static void error_line(struct strbuf *out, const char *code, const char *msg)
{
	strbuf_printf(out, "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":", code);
	strbuf_json_str(out, msg);
	strbuf_puts(out, "}}\n");
}

/* Serve at most this many requests of one client per turn of the loop, so a
 * client that floods cannot starve the others. */
#define LINES_PER_TURN 32
#define READ_CHUNK (64u << 10)
#define PAYLOAD_CHUNK (4u << 20)

/* Serve complete lines, a few per turn; c->pending says whether some may
 * remain. Each byte is searched for the newline once. */
static void conn_process(struct conn *c)
{
	size_t off = 0, served = 0;

	c->pending = false;
	for (;;) {
		char *line, *nl;
		size_t len;

		if (c->unframed)
			break; /* the rest is a refused payload's bytes */
		if (served == LINES_PER_TURN || out_pending(c) > OUT_HIGH_WATER || c->deferred) {
			c->pending = true;
			break;
		}
		if (c->payload_fn) {
			control_payload_fn fn = c->payload_fn;

			if (c->in.len - off < c->payload_n)
				break; /* the rest is on its way */
			c->payload_fn = NULL;
			c->ctl->current = c;
			fn(c->payload_data, &c->peer, c->in.buf + off, c->payload_n, &c->out);
			c->ctl->current = NULL;
			off += c->payload_n;
			c->scanned = 0;
			served++;
			continue;
		}
		nl = memchr(c->in.buf + off + c->scanned, '\n', c->in.len - off - c->scanned);
		if (nl == NULL) {
			c->scanned = c->in.len - off;
			break;
		}
		line = c->in.buf + off;
		len = (size_t)(nl - line);
		*nl = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > 0) {
			c->ctl->current = c;
			c->ctl->fn(c->ctl->ctx, &c->peer, line, len, &c->out);
			c->ctl->current = NULL;
			served++;
		}
		off = (size_t)(nl - c->in.buf) + 1;
		c->scanned = 0;
	}
	if (off)
		strbuf_consume(&c->in, off);
}

/* After serving: send, and decide what to wait for next. */
static void conn_after(struct conn *c)
{
	size_t limit = c->ctl->o.max_line + (c->payload_fn ? c->payload_n : 0);

	if (c->in.len > limit && !c->pending) {
		char msg[128];

		snprintf(msg, sizeof(msg), "request line longer than %zu bytes", c->ctl->o.max_line);
		log_warn("control: pid %d uid %u: %s; closing", c->peer.pid, c->peer.uid, msg);
		error_line(&c->out, "invalid", msg);
		conn_flush(c);
		conn_free(c);
		return;
	}
	if (c->in.len == 0 && c->in.cap > (1u << 20)) {
		strbuf_fini(&c->in);
		strbuf_init(&c->in);
	}
	if (conn_flush(c) < 0 || c->unframed) {
		conn_free(c); /* unframed: what was flushed is all it gets */
		return;
	}
	conn_update(c);
}

static void conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	ssize_t n;

	/* a payload on its way: room for all of it, read in few calls */
	size_t want = READ_CHUNK;

	if (c->payload_fn && c->payload_n > c->in.len && c->payload_n - c->in.len > want)
		want = c->payload_n - c->in.len < PAYLOAD_CHUNK ? c->payload_n - c->in.len
								 : PAYLOAD_CHUNK;
	if (strbuf_reserve(&c->in, want) < 0) {
		log_error("control: out of memory reading from pid %d", c->peer.pid);
		conn_free(c);
		return;
	}
	n = recv(w->fd, c->in.buf + c->in.len, want, MSG_DONTWAIT);
	if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
		conn_free(c);
		return;
	}
	if (n > 0) {
		c->in.len += (size_t)n;
		c->in.buf[c->in.len] = '\0';
	}
	conn_process(c);
	conn_after(c);
}

static void conn_more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct conn *c = w->data;

	conn_process(c);
	conn_after(c);
}

static void conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;

	if (conn_flush(c) < 0) {
		conn_free(c);
		return;
	}
	conn_update(c);
}

static bool in_group(gid_t want, gid_t gid, const gid_t *groups, int n)
{
	int i;

	if (want == (gid_t)-1)
		return false;
	if (gid == want)
		return true;
	for (i = 0; i < n; i++)
		if (groups[i] == want)
			return true;
	return false;
}

/* uid -> name, remembered a while: getpwuid_r() reads /etc/passwd (or asks
 * NSS) on every call, a good part of a one-shot isolctl's round trip. */
#define USER_CACHE 8
#define USER_CACHE_S 30.0

static void user_name(uid_t uid, char *out, size_t len)
{
	static struct {
		uid_t uid;
		double at;
		char name[32];
	} cache[USER_CACHE];
	static unsigned next;
	struct timespec ts;
	struct passwd pw, *res = NULL;
	char pwbuf[1024];
	double now;
	unsigned i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	for (i = 0; i < USER_CACHE; i++) {
		if (cache[i].at > 0 && cache[i].uid == uid && now - cache[i].at < USER_CACHE_S) {
			snprintf(out, len, "%s", cache[i].name);
			return;
		}
	}
	out[0] = '\0';
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res &&
	    strlen(res->pw_name) < len && strlen(res->pw_name) < sizeof(cache[0].name))
		strcpy(out, res->pw_name);
	i = next++ % USER_CACHE;
	cache[i].uid = uid;
	cache[i].at = now;
	snprintf(cache[i].name, sizeof(cache[i].name), "%s", out); /* "" for no name, too */
}

static void peer_init(struct control *ctl, int fd, struct control_peer *p)
{
	gid_t groups[CONTROL_MAX_GROUPS];
	socklen_t glen = sizeof(groups);
	struct ucred uc;
	socklen_t len = sizeof(uc);
	char path[64];
	int ngroups = 0, cfd;

	memset(p, 0, sizeof(*p));
	p->uid = (uid_t)-1;
	p->pid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
		p->uid = uc.uid;
		p->gid = uc.gid;
		p->pid = uc.pid;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
		ngroups = (int)(glen / sizeof(gid_t));
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)p->pid);
	cfd = open(path, O_RDONLY | O_CLOEXEC);
	if (cfd != -1) {
		ssize_t n = read(cfd, p->comm, sizeof(p->comm) - 1);

		if (n > 0) {
			p->comm[n] = '\0';
			p->comm[strcspn(p->comm, "\n")] = '\0';
		}
		close(cfd);
	}
	if (p->uid != (uid_t)-1)
		user_name(p->uid, p->user, sizeof(p->user));
	p->can_write = p->uid == 0 || in_group(ctl->o.admin_gid, p->gid, groups, ngroups);
	p->can_read = p->can_write || in_group(ctl->o.read_gid, p->gid, groups, ngroups);
}

static void listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *ctl = w->data;
	struct conn *c;
	int fd;

	fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("control: accept: %s", strerror(errno));
		return;
	}
	if (ctl->nconns >= CONTROL_MAX_CLIENTS) {
		static const char busy[] = "{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":"
					   "\"too many clients\"}}\n";

		send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	strbuf_init(&c->in);
	strbuf_init(&c->out);
	peer_init(ctl, fd, &c->peer);
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	ev_idle_init(&c->more, conn_more_cb);
	c->rio.data = c->wio.data = c->more.data = c;
	c->next = ctl->conns;
	if (ctl->conns)
		ctl->conns->prev = c;
	ctl->conns = c;
	ctl->nconns++;
	ev_io_start(loop, &c->rio);
}

int control_open(struct control **cp, struct ev_loop *loop, const struct control_opts *o,
		 control_handler_fn fn, void *ctx, struct isol_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *ctl;
	char *dir, *slash;
	int fd;

	if (strlen(o->path) >= sizeof(sun.sun_path))
		return isol_err_set(err, -ENAMETOOLONG, "socket path '%s' is too long", o->path);
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	ctl->path = strdup(o->path);
	dir = strdup(o->path);
	if (ctl->path == NULL || dir == NULL) {
		free(dir);
		free(ctl->path);
		free(ctl);
		return isol_err_set(err, -ENOMEM, "out of memory");
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			log_warn("control: cannot create %s: %s", dir, strerror(errno));
	}
	free(dir);
	strcpy(sun.sun_path, o->path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		isol_err_set(err, -errno, "socket: %s", strerror(errno));
		goto err_free;
	}
	unlink(o->path); /* a stale socket of a dead agent; the journal lock
			  * already proved no other agent uses this state */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		isol_err_set(err, -errno, "cannot bind %s: %s", o->path, strerror(errno));
		goto err_close;
	}
	if (o->admin_gid != (gid_t)-1 && chown(o->path, 0, o->admin_gid) == -1)
		log_warn("control: cannot chown %s: %s", o->path, strerror(errno));
	chmod(o->path, 0660);
	if (listen(fd, 64) == -1) {
		isol_err_set(err, -errno, "listen on %s: %s", o->path, strerror(errno));
		goto err_close;
	}
	ctl->loop = loop;
	ctl->fd = fd;
	ctl->o = *o;
	ctl->o.path = ctl->path;
	ctl->fn = fn;
	ctl->ctx = ctx;
	ev_io_init(&ctl->lio, listen_cb, fd, EV_READ);
	ctl->lio.data = ctl;
	ev_io_start(loop, &ctl->lio);
	*cp = ctl;
	return 0;

err_close:
	close(fd);
err_free:
	free(ctl->path);
	free(ctl);
	return err ? err->code : -EIO;
}

void control_close(struct control *c)
{
	if (c == NULL)
		return;
	while (c->conns)
		conn_free(c->conns);
	ev_io_stop(c->loop, &c->lio);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}

struct control_defer *control_defer(struct control *ctl)
{
	struct control_defer *d;

	if (ctl->current == NULL || ctl->current->deferred)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->conn = ctl->current;
	ctl->current->deferred = d;
	return d;
}

void control_resume(struct control_defer *d, const char *line, size_t len)
{
	struct conn *c = d->conn;

	free(d);
	if (c == NULL)
		return; /* the client hung up while we worked */
	c->deferred = NULL;
	strbuf_append(&c->out, line, len);
	conn_process(c);
	conn_after(c);
}

int control_expect_payload(struct control *ctl, size_t n, control_payload_fn fn, void *data)
{
	struct conn *c = ctl->current;

	if (c == NULL || c->payload_fn || c->deferred)
		return -EBUSY;
	if (n > ctl->o.max_line) {
		c->unframed = true;
		return -EMSGSIZE;
	}
	c->payload_fn = fn;
	c->payload_data = data;
	c->payload_n = n;
	return 0;
}

size_t control_clients(const struct control *c)
{
	return c->nconns;
}

int control_watch(struct control *ctl)
{
	if (ctl->current == NULL)
		return -EINVAL;
	if (!ctl->current->watching)
		ctl->nwatchers++;
	ctl->current->watching = true;
	return 0;
}

size_t control_watchers(const struct control *c)
{
	return c->nwatchers;
}

void control_broadcast(struct control *ctl, const char *line, size_t len)
{
	struct conn *c, *next;

	if (ctl == NULL || ctl->nwatchers == 0)
		return;
	for (c = ctl->conns; c; c = next) {
		next = c->next;
		if (!c->watching || c == ctl->current)
			continue;
		if (out_pending(c) > CONTROL_WATCH_BACKLOG) {
			log_warn("control: pid %d uid %u does not read its events (%zu bytes "
				 "queued); dropped",
				 c->peer.pid, c->peer.uid, out_pending(c));
			conn_free(c);
			continue;
		}
		if (strbuf_append(&c->out, line, len) < 0 || conn_flush(c) < 0) {
			conn_free(c);
			continue;
		}
		conn_update(c);
	}
}
