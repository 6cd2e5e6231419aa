/* udpcheck - what a UDP client sees, in one line, for the real-kernel tests.
 *
 *   udpcheck [--timeout MS] ADDR:PORT
 *
 * Sends one datagram on a connected socket and waits (default 1000 ms) for
 * tcpserve --udp to answer with its name. Prints one line:
 *   ok NAME MS | refused MS | timeout MS | unreachable MS | denied MS | error MS
 * (refused: ICMP port unreachable; unreachable: ICMP host/admin-prohibited;
 * denied: the local firewall dropped the send, EPERM).
 * Exit codes: 0 ok, 1 refused, 2 timeout, 4 unreachable, 5 denied, 7 error,
 * 64 usage (the same numbers as tcpcheck). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "endpoint.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int report(int e, const char *name, double ms)
{
	const char *what;
	int code;

	switch (e) {
	case 0:
		printf("ok %s %.1f\n", name, ms);
		return 0;
	case ECONNREFUSED:
		what = "refused", code = 1;
		break;
	case ETIMEDOUT:
		what = "timeout", code = 2;
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
		what = "unreachable", code = 4;
		break;
	case EPERM:
	case EACCES:
		what = "denied", code = 5;
		break;
	default:
		fprintf(stderr, "udpcheck: %s\n", strerror(e));
		what = "error", code = 7;
		break;
	}
	printf("%s %.1f\n", what, ms);
	return code;
}

int main(int argc, char **argv)
{
	long timeout = 1000;
	const char *ep = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atol(argv[++i]);
		else if (argv[i][0] == '-' || ep)
			goto usage;
		else
			ep = argv[i];
	}
	if (!ep || timeout <= 0)
		goto usage;

	struct sockaddr_storage ss;
	socklen_t sl;

	if (endpoint_parse(ep, &ss, &sl) == -1) {
		fprintf(stderr, "udpcheck: bad endpoint '%s'\n", ep);
		return 64;
	}
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd == -1) {
		perror("udpcheck: socket");
		return 7;
	}
	double t0 = now_ms(), deadline = t0 + (double)timeout;

	if (connect(fd, (struct sockaddr *)&ss, sl) == -1)
		return report(errno, "", now_ms() - t0);
	if (send(fd, "ping\n", 5, 0) == -1)
		return report(errno, "", now_ms() - t0);

	char buf[512];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double left = deadline - now_ms();

		if (left <= 0)
			return report(ETIMEDOUT, "", now_ms() - t0);
		int r = poll(&pfd, 1, (int)left + 1);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return report(errno, "", now_ms() - t0);
		if (r == 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return report(errno, "", now_ms() - t0);
		}
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		return report(0, buf, now_ms() - t0);
	}
usage:
	fprintf(stderr, "usage: udpcheck [--timeout MS] ADDR:PORT\n");
	return 64;
}
