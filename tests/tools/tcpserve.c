/* tcpserve - a small named TCP/UDP server for the real-kernel tests.
 *
 *   tcpserve [--name NAME] [--udp|--both] [--push MS] [--ready-file PATH] ADDR:PORT[-PORT]...
 *
 * TCP: every accepted connection first gets the banner line "NAME\n", then
 * every line it sends is echoed back. One thread per connection.
 * UDP: every datagram is answered with "NAME\n".
 * ADDR is IPv4 or IPv6 ("[fd77::2]:8001", "fd77::2:8001" is read as the last
 * colon separating the port). A port range listens on every port in it.
 * --ready-file is created once every socket is bound and listening. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "endpoint.h"

#define MAX_SOCKS 1024

static const char *server_name = "tcpserve";
static int push_ms = -1; /* --push MS: send "push NAME" once, MS after the banner */

struct listener {
	int fd;
	int udp;
};

static void usage(void)
{
	fprintf(stderr, "usage: tcpserve [--name NAME] [--udp|--both] [--ready-file PATH] "
			"ADDR:PORT[-PORT]...\n");
	exit(64);
}

static int open_socket(const struct sockaddr_storage *ss, socklen_t sl, int udp)
{
	int one = 1;
	int fd = socket(ss->ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sl) == -1)
		goto fail;
	if (!udp && listen(fd, 4096) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char banner[256], buf[4096];

	snprintf(banner, sizeof(banner), "%s\n", server_name);
	if (write_all(fd, banner, strlen(banner)) == 0) {
		if (push_ms >= 0) { /* a server that speaks first (AMQP heartbeats, say) */
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			if (poll(&pfd, 1, push_ms) == 0) {
				char push[280];

				snprintf(push, sizeof(push), "push %s\n", server_name);
				if (write_all(fd, push, strlen(push)) == -1) {
					close(fd);
					return NULL;
				}
			}
		}
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (write_all(fd, buf, (size_t)n) == -1)
				break;
		}
	}
	close(fd);
	return NULL;
}

static void *accept_loop(void *arg)
{
	const struct listener *l = arg;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				if (errno != EINTR && errno != ECONNABORTED)
					usleep(1000);
				continue;
			}
			perror("tcpserve: accept");
			return NULL;
		}
		if (pthread_create(&t, &attr, serve_conn, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
}

static void *udp_loop(void *arg)
{
	const struct listener *l = arg;
	char buf[65536], reply[256];
	int rl = snprintf(reply, sizeof(reply), "%s\n", server_name);

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(l->fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl);

		if (n == -1) {
			if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH)
				continue;
			perror("tcpserve: recvfrom");
			return NULL;
		}
		sendto(l->fd, reply, (size_t)rl, 0, (struct sockaddr *)&peer, pl);
	}
}

int main(int argc, char **argv)
{
	static struct listener ls[MAX_SOCKS];
	int nls = 0, tcp = 1, udp = 0, i;
	const char *ready = NULL;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			server_name = argv[++i];
		else if (!strcmp(argv[i], "--push") && i + 1 < argc)
			push_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--udp"))
			tcp = 0, udp = 1;
		else if (!strcmp(argv[i], "--both"))
			tcp = 1, udp = 1;
		else if (!strcmp(argv[i], "--ready-file") && i + 1 < argc)
			ready = argv[++i];
		else if (!strcmp(argv[i], "--help"))
			usage();
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
			fprintf(stderr, "tcpserve: bad endpoint '%s'\n", argv[i]);
			return 64;
		}
		for (p = lo; p <= hi; p++) {
			for (int u = 0; u < 2; u++) {
				if ((u == 0 && !tcp) || (u == 1 && !udp))
					continue;
				if (nls >= MAX_SOCKS) {
					fprintf(stderr, "tcpserve: too many sockets\n");
					return 64;
				}
				endpoint_set_port(&ss, p);
				ls[nls].fd = open_socket(&ss, sl, u);
				ls[nls].udp = u;
				if (ls[nls].fd == -1) {
					fprintf(stderr, "tcpserve: %s port %u/%s: %s\n", argv[i], p,
						u ? "udp" : "tcp", strerror(errno));
					return 1;
				}
				nls++;
			}
		}
	}

	for (i = 0; i < nls; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, ls[i].udp ? udp_loop : accept_loop, &ls[i]) != 0) {
			fprintf(stderr, "tcpserve: pthread_create failed\n");
			return 1;
		}
		pthread_detach(t);
	}
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd == -1) {
			perror("tcpserve: ready file");
			return 1;
		}
		close(fd);
	}
	for (;;)
		pause();
}
