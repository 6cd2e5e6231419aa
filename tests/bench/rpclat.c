/* rpclat - request-to-reply latency of `isolate` over one open control
 * connection (journal fsync included), beside its baseline, the fsync of a
 * small append; then the agent's own netlink batch timing from `status`.
 *
 *   rpclat --socket PATH [--count N] [--warmup W] [--base A.B] [--ttl-ms MS]
 *          [--fsync-dir DIR] [--reconnect]
 *
 * Connects once and sends N (default 2000) isolate requests for distinct
 * targets A.B.X.Y:5672 (base default 10.200) one at a time, each timed from
 * the write of the request to the newline of its reply with CLOCK_MONOTONIC.
 * W warm-up requests (default 50) go first and are not counted. Every reply
 * must be {"ok":true,...}. With --fsync-dir, each request is preceded by the
 * baseline: 100 bytes appended to a file in DIR (the agent's state directory,
 * so the same filesystem) and fdatasync(), timed; interleaved so that both
 * see the same disk. Prints key=value lines: rpc_{n,p50_us,p99_us,max_us,
 * mean_us}, fsync_{...} (with --fsync-dir), batch_p50_us and batch_p99_us
 * (from status). --reconnect opens a new connection for every request
 * (timed from connect(), as isolctl does it) and prints conn_{...} instead
 * of rpc_{...}. Exit 0, 1 on any failure, 64 usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"

struct conn {
	int fd;
	char buf[1 << 16];
	size_t len; /* bytes in buf */
	size_t off; /* start of the unread part */
};

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "rpclat: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd == -1 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		fprintf(stderr, "rpclat: connect %s: %s\n", path, strerror(errno));
		return -1;
	}
	c->len = c->off = 0;
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one reply line; returns it NUL-terminated (valid until the next call),
 * or NULL on EOF, error, or a line longer than the buffer. */
static char *read_line(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		ssize_t r;

		if (nl) {
			char *line = c->buf + c->off;

			*nl = '\0';
			c->off = (size_t)(nl - c->buf) + 1;
			return line;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof(c->buf) - 1)
			return NULL;
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		c->len += (size_t)r;
	}
}

/* One request, timed; the reply must say ok. Returns ns, 0 on failure. */
static uint64_t request(struct conn *c, const char *req, size_t len)
{
	uint64_t t0 = bench_now_ns(), t1;
	char *line;

	if (send_all(c->fd, req, len) == -1) {
		fprintf(stderr, "rpclat: write: %s\n", strerror(errno));
		return 0;
	}
	line = read_line(c);
	t1 = bench_now_ns();
	if (line == NULL) {
		fprintf(stderr, "rpclat: no reply to %.*s", (int)len, req);
		return 0;
	}
	if (strstr(line, "\"ok\":true") == NULL) {
		fprintf(stderr, "rpclat: request %.*s-> %s\n", (int)len, req, line);
		return 0;
	}
	return t1 > t0 ? t1 - t0 : 1;
}

/* The baseline: one 100-byte append to @fd and fdatasync(), in ns; 0 on error. */
static uint64_t fsync_append(int fd)
{
	static const char rec[100] = "fsync baseline record";
	uint64_t t0 = bench_now_ns();

	if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd) == -1) {
		fprintf(stderr, "rpclat: fsync baseline: %s\n", strerror(errno));
		return 0;
	}
	return bench_now_ns() - t0;
}

static int report_status(struct conn *c)
{
	static const char req[] = "{\"v\":1,\"op\":\"status\"}\n";
	json_t *st, *p50, *p99;
	json_error_t jerr;
	char *line;

	if (send_all(c->fd, req, sizeof(req) - 1) == -1 || (line = read_line(c)) == NULL) {
		fprintf(stderr, "rpclat: status: no reply\n");
		return -1;
	}
	st = json_loads(line, 0, &jerr);
	if (st == NULL) {
		fprintf(stderr, "rpclat: status: bad JSON: %s\n", jerr.text);
		return -1;
	}
	p50 = json_object_get(st, "batch_us_p50");
	p99 = json_object_get(st, "batch_us_p99");
	if (json_is_integer(p50))
		printf("batch_p50_us=%lld\n", (long long)json_integer_value(p50));
	else
		printf("batch_p50_us=NA\n");
	if (json_is_integer(p99))
		printf("batch_p99_us=%lld\n", (long long)json_integer_value(p99));
	else
		printf("batch_p99_us=NA\n");
	json_decref(st);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: rpclat --socket PATH [--count N] [--warmup W] [--base A.B] "
			"[--ttl-ms MS] [--fsync-dir DIR] [--reconnect]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'}, {"count", required_argument, NULL, 'n'},
	    {"warmup", required_argument, NULL, 'w'}, {"base", required_argument, NULL, 'b'},
	    {"ttl-ms", required_argument, NULL, 't'}, {"fsync-dir", required_argument, NULL, 'f'},
	    {"reconnect", no_argument, NULL, 'r'},    {NULL, 0, NULL, 0},
	};
	const char *path = NULL, *base = "10.200", *fsync_dir = NULL;
	char fsync_path[4096];
	uint64_t *fs = NULL;
	int fsync_fd = -1;
	bool reconnect = false;
	unsigned long count = 2000, warmup = 50, ttl_ms = 600000, i;
	static struct conn c;
	uint64_t *ns;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			path = optarg;
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			warmup = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			base = optarg;
			break;
		case 't':
			ttl_ms = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			fsync_dir = optarg;
			break;
		case 'r':
			reconnect = true;
			break;
		default:
			usage();
		}
	}
	if (path == NULL || count == 0 || count + warmup > 64000)
		usage();
	ns = calloc(count, sizeof(*ns));
	if (ns == NULL || conn_open(&c, path) == -1)
		return 1;
	if (fsync_dir) {
		snprintf(fsync_path, sizeof(fsync_path), "%s/rpclat-fsync.%d.tmp", fsync_dir,
			 (int)getpid());
		fsync_fd =
		    open(fsync_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
		fs = calloc(count, sizeof(*fs));
		if (fsync_fd == -1 || fs == NULL) {
			fprintf(stderr, "rpclat: %s: %s\n", fsync_path, strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < warmup + count; i++) {
		char addr[32], req[256];
		uint64_t t;
		int len;

		if (bench_addr(addr, sizeof(addr), base, i) == -1)
			usage();
		len =
		    snprintf(req, sizeof(req),
			     "{\"v\":1,\"op\":\"isolate\",\"target\":\"%s:5672\",\"ttl_ms\":%lu}\n",
			     addr, ttl_ms);
		if (fsync_fd != -1) {
			t = fsync_append(fsync_fd);
			if (t == 0)
				return 1;
			if (i >= warmup)
				fs[i - warmup] = t;
		}
		if (reconnect) {
			uint64_t t0 = bench_now_ns();

			close(c.fd);
			if (conn_open(&c, path) == -1 || request(&c, req, (size_t)len) == 0)
				return 1;
			t = bench_now_ns() - t0;
		} else {
			t = request(&c, req, (size_t)len);
			if (t == 0)
				return 1;
		}
		if (i >= warmup)
			ns[i - warmup] = t;
	}
	bench_report_ns(reconnect ? "conn" : "rpc", ns, count);
	if (fsync_fd != -1) {
		close(fsync_fd);
		unlink(fsync_path);
		bench_report_ns("fsync", fs, count);
		free(fs);
	}
	if (report_status(&c) == -1)
		return 1;
	close(c.fd);
	free(ns);
	return 0;
}
