/* ctl_client.c - the only file of isolctl that touches the control socket:
 * connect, write one request line, read one response line, all under one
 * deadline so a stuck agent can never hang the caller. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "isol/duration.h"

#define RECV_CHUNK (64u << 10)

static int remaining_ms(const struct ctl_conn *c)
{
	uint64_t now = isol_mono_ms();

	if (now >= c->deadline_ms)
		return 0;
	return c->deadline_ms - now > 600000 ? 600000 : (int)(c->deadline_ms - now);
}

/* Wait until @fd is ready for @events or the deadline passes. */
static int wait_fd(const struct ctl_conn *c, short events)
{
	struct pollfd p = {.fd = c->fd, .events = events};

	for (;;) {
		int ms = remaining_ms(c), rc;

		if (ms == 0)
			return -ETIMEDOUT;
		rc = poll(&p, 1, ms);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -errno;
		if (rc > 0)
			return 0;
	}
}

static const char *hint_for(int e)
{
	if (e == EACCES || e == EPERM)
		return "run as root, or as a member of the agent's admin or read group";
	return "is isolagent running? --socket or $ISOL_SOCKET";
}

int ctl_conn_open(struct ctl_conn *c, const char *path, unsigned timeout_ms, struct isol_err *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	int e;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = path;
	c->deadline_ms = isol_mono_ms() + timeout_ms;
	c->timeout_ms = timeout_ms;
	if (n == 0 || n >= sizeof(addr.sun_path))
		return isol_err_set(err, -ENAMETOOLONG,
				    "cannot reach isolagent at %s: the socket path is %s", path,
				    n == 0 ? "empty" : "too long (max 107 bytes)");
	memcpy(addr.sun_path, path, n);

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd == -1) {
		e = errno;
		return isol_err_set(err, -e, "cannot reach isolagent at %s: socket: %s", path,
				    strerror(e));
	}
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return 0;
		e = errno;
		if (e == EINTR)
			continue;
		/* a full listen backlog: the agent is alive but behind; retry */
		if (e == EAGAIN && remaining_ms(c) > 0) {
			poll(NULL, 0, 5);
			continue;
		}
		break;
	}
	close(c->fd);
	c->fd = -1;
	if (e == EAGAIN)
		return isol_err_set(err, -ETIMEDOUT,
				    "cannot reach isolagent at %s: it accepts no connections "
				    "(timed out after %us)",
				    path, timeout_ms / 1000);
	return isol_err_set(err, -e, "cannot reach isolagent at %s: %s (%s)", path, strerror(e),
			    hint_for(e));
}

void ctl_conn_close(struct ctl_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

int ctl_conn_send(struct ctl_conn *c, const void *data, size_t len, struct isol_err *err)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int rc;

		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			rc = -errno;
			return isol_err_set(err, rc, "isolagent at %s hung up while receiving: %s",
					    c->path, strerror(-rc));
		}
		rc = wait_fd(c, POLLOUT);
		if (rc == -ETIMEDOUT)
			return isol_err_set(err, rc,
					    "isolagent at %s did not take the request within %us",
					    c->path, c->timeout_ms / 1000);
		if (rc < 0)
			return isol_err_set(err, rc, "poll: %s", strerror(-rc));
	}
	return 0;
}

int ctl_conn_sink(void *ctx, const char *data, size_t len)
{
	struct ctl_conn *c = ctx;

	return ctl_conn_send(c, data, len, &c->send_err);
}

int ctl_conn_recv_line(struct ctl_conn *c, char **line, size_t *len, struct isol_err *err)
{
	size_t used = 0, cap = RECV_CHUNK, scanned = 0;
	char *buf = malloc(cap), *nl;
	int rc;

	*line = NULL;
	*len = 0;
	if (buf == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	for (;;) {
		ssize_t n;

		if (cap - used < RECV_CHUNK / 2) {
			char *nb;

			if (cap >= CTL_MAX_RESPONSE) {
				rc = isol_err_set(err, -EMSGSIZE,
						  "the response of isolagent is larger than %u MiB",
						  CTL_MAX_RESPONSE >> 20);
				goto fail;
			}
			nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				rc = isol_err_set(err, -ENOMEM,
						  "out of memory reading the response");
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(c->fd, buf + used, cap - used - 1, MSG_DONTWAIT);
		if (n > 0) {
			used += (size_t)n;
			nl = memchr(buf + scanned, '\n', used - scanned);
			scanned = used;
			if (nl) {
				used = (size_t)(nl - buf);
				break;
			}
			continue;
		}
		if (n == 0 || errno == ECONNRESET) {
			if (used > 0) /* an answer without its newline: take it */
				break;
			rc = isol_err_set(err, -ECONNRESET,
					  "isolagent at %s closed the connection without answering",
					  c->path);
			goto fail;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			rc = -errno;
			isol_err_set(err, rc, "reading from isolagent at %s: %s", c->path,
				     strerror(-rc));
			goto fail;
		}
		rc = wait_fd(c, POLLIN);
		if (rc == -ETIMEDOUT) {
			isol_err_set(err, rc, "isolagent at %s did not answer within %us", c->path,
				     c->timeout_ms / 1000);
			goto fail;
		}
		if (rc < 0) {
			isol_err_set(err, rc, "poll: %s", strerror(-rc));
			goto fail;
		}
	}
	buf[used] = '\0';
	*line = buf;
	*len = used;
	return 0;
fail:
	free(buf);
	return rc;
}

int ctl_receive(struct ctl_conn *c, struct ctl_resp *r, struct isol_err *err)
{
	char *line;
	size_t len;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ctl_conn_recv_line(c, &line, &len, err);
	if (rc < 0)
		return rc;
	return ctl_resp_parse(r, line, len, err);
}

int ctl_call(const char *path, const char *req, size_t len, unsigned timeout_ms, struct ctl_resp *r,
	     struct isol_err *err)
{
	struct ctl_conn c;
	struct isol_err send_err = {0};
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ctl_conn_open(&c, path, timeout_ms, err);
	if (rc < 0)
		return rc;
	rc = ctl_conn_send(&c, req, len, &send_err);
	if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET) {
		isol_err_set(err, send_err.code, "%s", send_err.msg);
		goto out;
	}
	/* even after a hang-up the agent may have said why: read it */
	rc = ctl_receive(&c, r, err);
out:
	ctl_conn_close(&c);
	return rc;
}
