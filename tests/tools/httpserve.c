/* httpserve - a small HTTP/1.1 server for the real-kernel tests of probes.
 *
 *   httpserve [--name NAME] [--status N] [--vhost HOST] [--ready-file PATH]
 *             ADDR:PORT[-PORT]...
 *
 * Every request gets one answer, then the connection is closed:
 *   /status/NNN   status NNN
 *   /slow         status 200 after 5 s (for timeouts)
 *   /close        no answer at all, the connection is closed
 *   /vhost        200 when the Host header names HOST (port aside), else 421
 *   anything else --status (default 200)
 * The body is "NAME STATUS host=HOST\n". ADDR is IPv4 or IPv6 in brackets.
 * One thread per connection. --ready-file is created once every socket
 * listens. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "endpoint.h"

#define MAX_SOCKS 256

static const char *server_name = "httpserve";
static const char *vhost;
static int default_status = 200;

static void usage(void)
{
	fprintf(stderr, "usage: httpserve [--name NAME] [--status N] [--vhost HOST] "
			"[--ready-file PATH] ADDR:PORT[-PORT]...\n");
	exit(64);
}

static int listen_on(struct sockaddr_storage *ss, socklen_t sl, unsigned port)
{
	int one = 1, fd;

	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, sl) == -1 || listen(fd, 1024) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The value of header @name in the request head @req, into @out. */
static void header(const char *req, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	const char *p = req;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl;

			v += strspn(v, " \t");
			vl = strcspn(v, "\r\n");
			snprintf(out, len, "%.*s", (int)vl, v);
			return;
		}
	}
}

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg, status = default_status;
	char req[8192], path[1024] = "/", host[256], body[512], resp[1024];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(req) - 1) {
		n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[got] = '\0';
	sscanf(req, "%*s %1023s", path);
	header(req, "Host", host, sizeof(host));
	if (strncmp(path, "/status/", 8) == 0) {
		status = atoi(path + 8);
	} else if (strcmp(path, "/slow") == 0) {
		sleep(5);
	} else if (strcmp(path, "/close") == 0) {
		goto out;
	} else if (strcmp(path, "/vhost") == 0) {
		size_t hl = strcspn(host, ":");

		status =
		    vhost && strlen(vhost) == hl && strncasecmp(host, vhost, hl) == 0 ? 200 : 421;
	}
	snprintf(body, sizeof(body), "%s %d host=%s\n", server_name, status, host);
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s",
		     status, status < 400 ? "OK" : "Error", strlen(body), body);
	send(fd, resp, (size_t)n, MSG_NOSIGNAL);
out:
	close(fd);
	return NULL;
}

static void *accept_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
				usleep(1000);
			continue;
		}
		if (pthread_create(&t, &attr, serve_conn, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *ready = NULL;
	int fds[MAX_SOCKS], nfds = 0, i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			server_name = argv[++i];
		else if (!strcmp(argv[i], "--status") && i + 1 < argc)
			default_status = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--vhost") && i + 1 < argc)
			vhost = argv[++i];
		else if (!strcmp(argv[i], "--ready-file") && i + 1 < argc)
			ready = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			usage();
		else
			break;
	}
	if (i >= argc)
		usage();
	for (; i < argc; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		unsigned lo, hi, p;

		if (endpoint_parse_range(argv[i], &ss, &sl, &lo, &hi) == -1) {
			fprintf(stderr, "httpserve: bad endpoint '%s'\n", argv[i]);
			return 64;
		}
		for (p = lo; p <= hi; p++) {
			if (nfds == MAX_SOCKS) {
				fprintf(stderr, "httpserve: too many sockets\n");
				return 64;
			}
			fds[nfds] = listen_on(&ss, sl, p);
			if (fds[nfds] == -1) {
				fprintf(stderr, "httpserve: %s port %u: %s\n", argv[i], p,
					strerror(errno));
				return 1;
			}
			nfds++;
		}
	}
	for (i = 0; i < nfds; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, accept_loop, (void *)(intptr_t)fds[i]) != 0) {
			fprintf(stderr, "httpserve: pthread_create failed\n");
			return 1;
		}
		pthread_detach(t);
	}
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd == -1) {
			perror("httpserve: ready file");
			return 1;
		}
		close(fd);
	}
	for (;;)
		pause();
}
