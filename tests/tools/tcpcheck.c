/* tcpcheck - what a TCP client sees, in one line, for the real-kernel tests.
 *
 *   tcpcheck [--timeout MS] ADDR:PORT           connect and read the banner
 *   tcpcheck [--timeout MS] --hold [--after MS] ADDR:PORT
 *
 * Plain mode connects (non-blocking, bounded by --timeout, default 1000 ms),
 * reads the server's banner line and prints one line:
 *   ok NAME MS | refused MS | timeout MS | reset MS | unreachable MS |
 *   denied MS | closed MS | error MS
 * MS is the time from connect() to the outcome, in milliseconds.
 *
 * --hold keeps the connection: after the banner it prints "held NAME MS",
 * then waits for SIGUSR1 (or --after MS), sends one line and prints what
 * became of it (ok NAME MS when the echo came back, reset MS on ECONNRESET,
 * ...), timed from the send.
 *
 * Exit codes: 0 ok, 1 refused, 2 timeout, 3 reset, 4 unreachable, 5 denied,
 * 6 closed, 7 other error, 64 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "endpoint.h"

enum outcome { OK, REFUSED, TIMEOUT, RESET, UNREACHABLE, DENIED, CLOSED, ERROR };

static const char *const outcome_names[] = {
	"ok", "refused", "timeout", "reset", "unreachable", "denied", "closed", "error",
};

static void usage(void)
{
	fprintf(stderr, "usage: tcpcheck [--timeout MS] [--hold [--after MS]] ADDR:PORT\n");
	exit(64);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static enum outcome from_errno(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return REFUSED;
	case ETIMEDOUT:
		return TIMEOUT;
	case ECONNRESET:
	case EPIPE:
		return RESET;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return UNREACHABLE;
	case EPERM:
	case EACCES:
		return DENIED;
	default:
		return ERROR;
	}
}

/* Read one line into @buf before @deadline (monotonic ms). */
static enum outcome read_line(int fd, char *buf, size_t len, double deadline, int *err)
{
	size_t used = 0;

	*err = 0;
	for (;;) {
		double left = deadline - now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (left <= 0)
			return TIMEOUT;
		int r = poll(&pfd, 1, (int)left + 1);

		if (r == -1) {
			if (errno == EINTR)
				continue;
			*err = errno;
			return ERROR;
		}
		if (r == 0)
			continue;
		ssize_t n = recv(fd, buf + used, len - 1 - used, 0);

		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*err = errno;
			return from_errno(errno);
		}
		if (n == 0)
			return CLOSED;
		used += (size_t)n;
		buf[used] = '\0';
		char *nl = strchr(buf, '\n');

		if (nl) {
			*nl = '\0';
			return OK;
		}
		if (used >= len - 1)
			return OK;
	}
}

static int report(enum outcome o, const char *name, double ms, int err, const char *what)
{
	if (o == OK)
		printf("%s %s %.1f\n", what ? what : "ok", name, ms);
	else
		printf("%s %.1f\n", outcome_names[o], ms);
	fflush(stdout);
	if (o == ERROR && err)
		fprintf(stderr, "tcpcheck: %s\n", strerror(err));
	return (int)o;
}

int main(int argc, char **argv)
{
	long timeout = 1000, after = -1;
	int hold = 0, i;
	const char *ep = NULL;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atol(argv[++i]);
		else if (!strcmp(argv[i], "--hold"))
			hold = 1;
		else if (!strcmp(argv[i], "--after") && i + 1 < argc)
			after = atol(argv[++i]);
		else if (argv[i][0] == '-' || ep)
			usage();
		else
			ep = argv[i];
	}
	if (!ep || timeout <= 0)
		usage();

	struct sockaddr_storage ss;
	socklen_t sl;

	if (endpoint_parse(ep, &ss, &sl) == -1) {
		fprintf(stderr, "tcpcheck: bad endpoint '%s'\n", ep);
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);

	/* Block SIGUSR1 before anyone can learn we hold the connection. */
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1) {
		perror("tcpcheck: socket");
		return 7;
	}

	double t0 = now_ms(), deadline = t0 + (double)timeout;
	int err = 0;
	enum outcome o = OK;

	if (connect(fd, (struct sockaddr *)&ss, sl) == -1) {
		if (errno != EINPROGRESS) {
			err = errno;
			o = from_errno(errno);
		} else {
			for (;;) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				double left = deadline - now_ms();

				if (left <= 0) {
					o = TIMEOUT;
					break;
				}
				int r = poll(&pfd, 1, (int)left + 1);

				if (r == -1 && errno == EINTR)
					continue;
				if (r == -1) {
					err = errno;
					o = ERROR;
					break;
				}
				if (r == 0)
					continue;
				socklen_t el = sizeof(err);

				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
				o = err ? from_errno(err) : OK;
				break;
			}
		}
	}

	char name[512] = "";

	if (o == OK)
		o = read_line(fd, name, sizeof(name), deadline, &err);
	if (!hold || o != OK)
		return report(o, name, now_ms() - t0, err, NULL);

	report(OK, name, now_ms() - t0, 0, "held");

	if (after >= 0) {
		struct timespec ts = { .tv_sec = after / 1000, .tv_nsec = (after % 1000) * 1000000L };

		while (sigtimedwait(&usr1, NULL, &ts) == -1 && errno == EINTR)
			;
	} else {
		int sig;

		sigwait(&usr1, &sig);
	}

	static const char probe[] = "ping\n";
	char echo[512];

	t0 = now_ms();
	deadline = t0 + (double)timeout;
	if (send(fd, probe, sizeof(probe) - 1, MSG_NOSIGNAL) == -1) {
		err = errno;
		return report(from_errno(errno), name, now_ms() - t0, err, NULL);
	}
	o = read_line(fd, echo, sizeof(echo), deadline, &err);
	return report(o, name, now_ms() - t0, err, NULL);
}
