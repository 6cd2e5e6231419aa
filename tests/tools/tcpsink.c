/* tcpsink - accept TCP connections and close them at once, for load tests of
 * the prober (10,000 targets at a second each need a server that costs
 * little: one thread, epoll, no banner).
 *
 *   tcpsink [--ready-file PATH] ADDR:PORT[-PORT]...
 *
 * ADDR may be 0.0.0.0 / [::]: with a local route for a whole prefix in the
 * namespace (ip route add local 10.78.0.0/16 dev lo) every address of it
 * answers. Prints nothing; --ready-file is created once every socket listens. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "endpoint.h"

#define MAX_SOCKS 1024

static void usage(void)
{
	fprintf(stderr, "usage: tcpsink [--ready-file PATH] ADDR:PORT[-PORT]...\n");
	exit(64);
}

int main(int argc, char **argv)
{
	const char *ready = NULL;
	int ep, i, n = 0, one = 1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ready-file") && i + 1 < argc)
			ready = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			usage();
		else
			break;
	}
	if (i >= argc)
		usage();
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1) {
		perror("tcpsink: epoll_create1");
		return 1;
	}
	for (; i < argc; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		unsigned lo, hi, p;

		if (endpoint_parse_range(argv[i], &ss, &sl, &lo, &hi) == -1) {
			fprintf(stderr, "tcpsink: bad endpoint '%s'\n", argv[i]);
			return 64;
		}
		for (p = lo; p <= hi; p++) {
			struct epoll_event ev = {.events = EPOLLIN};
			int fd;

			if (++n > MAX_SOCKS) {
				fprintf(stderr, "tcpsink: too many sockets\n");
				return 64;
			}
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)p);
			else
				((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)p);
			fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd == -1)
				return 1;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ss.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			if (bind(fd, (struct sockaddr *)&ss, sl) == -1 || listen(fd, 65535) == -1) {
				fprintf(stderr, "tcpsink: %s port %u: %s\n", argv[i], p,
					strerror(errno));
				return 1;
			}
			ev.data.fd = fd;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		}
	}
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd == -1) {
			perror("tcpsink: ready file");
			return 1;
		}
		close(fd);
	}
	for (;;) {
		struct epoll_event evs[64];
		int k = epoll_wait(ep, evs, 64, -1);

		for (i = 0; i < k; i++) {
			int c;

			while ((c = accept4(evs[i].data.fd, NULL, NULL, SOCK_CLOEXEC)) != -1)
				close(c);
			if (errno == EMFILE || errno == ENFILE)
				usleep(1000);
		}
	}
}
