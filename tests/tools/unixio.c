/* unixio - raw writes to a unix stream socket, for testing the control
 * socket against bad and slow clients without socat or python.
 *
 *   unixio --socket PATH [--junk BYTES] [--expect N] [--timeout MS]
 *          [--no-read] [--hold MS] < REQUESTS
 *
 * Sends everything on stdin, then BYTES of 'x' with no newline (--junk), then
 * prints every line the peer answers. It stops after N lines (--expect), when
 * the peer closes, or after --timeout MS (default 2000) of silence, and ends
 * with one status line:
 *   #closed   the peer closed the connection (or reset it)
 *   #open     the connection was still open when we stopped
 *   #refused  connect failed (the message is on stderr)
 * --no-read never reads: it sends, keeps the connection open for --hold MS
 * (default 2000) and prints "#sent BYTES" and the status (a client that
 * does not read its answers).
 * Exit 0, or 1 when the connection could not be made, 64 usage. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Send @len bytes; 0, or -1 when the peer went away (EPIPE/ECONNRESET) or
 * did not take the data within @timeout ms (errno ETIMEDOUT). */
static int send_all(int fd, const char *buf, size_t len, long timeout)
{
	double deadline = now_ms() + (double)timeout;

	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n >= 0) {
			buf += n;
			len -= (size_t)n;
			deadline = now_ms() + (double)timeout;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		double left = deadline - now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		poll(&pfd, 1, (int)left + 1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	unsigned long long junk = 0;
	long expect = -1, timeout = 2000, hold = 2000;
	int no_read = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--junk") && i + 1 < argc)
			junk = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--expect") && i + 1 < argc)
			expect = atol(argv[++i]);
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atol(argv[++i]);
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			hold = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-read"))
			no_read = 1;
		else
			goto usage;
	}
	if (!path || timeout <= 0)
		goto usage;

	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "unixio: socket path too long\n");
		return 64;
	}
	strcpy(sun.sun_path, path);
	signal(SIGPIPE, SIG_IGN);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "unixio: %s: %s\n", path, strerror(errno));
		printf("#refused\n");
		return 1;
	}

	/* stdin, then the junk */
	int closed = 0;
	unsigned long long sent = 0;
	char buf[65536];
	ssize_t n;

	while (!closed && (n = read(STDIN_FILENO, buf, sizeof(buf))) > 0) {
		if (send_all(fd, buf, (size_t)n, timeout) == -1) {
			closed = errno != ETIMEDOUT;
			break;
		}
		sent += (unsigned long long)n;
	}
	memset(buf, 'x', sizeof(buf));
	while (!closed && junk > 0) {
		size_t chunk = junk < sizeof(buf) ? (size_t)junk : sizeof(buf);

		if (send_all(fd, buf, chunk, timeout) == -1) {
			closed = errno != ETIMEDOUT;
			break;
		}
		junk -= chunk;
		sent += chunk;
	}

	if (no_read) {
		struct timespec ts = { .tv_sec = hold / 1000, .tv_nsec = (hold % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		printf("#sent %llu\n", sent);
		/* a peer that closed on us shows as POLLHUP / a 0-byte peek */
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };

		if (!closed && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)))
			closed = 1;
		printf("%s\n", closed ? "#closed" : "#open");
		return 0;
	}

	/* Read answers line by line until --expect lines, EOF or silence. */
	char line[1 << 16];
	size_t used = 0;
	long lines = 0;

	while (expect < 0 || lines < expect) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)timeout);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = recv(fd, line + used, sizeof(line) - 1 - used, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			closed = 1;
			break;
		}
		used += (size_t)n;
		line[used] = '\0';
		char *start = line, *nl;

		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			printf("%s\n", start);
			lines++;
			start = nl + 1;
		}
		used = (size_t)(line + used - start);
		memmove(line, start, used);
		if (used == sizeof(line) - 1) {
			fwrite(line, 1, used, stdout);
			printf("\n");
			used = 0;
		}
	}
	if (used) {
		line[used] = '\0';
		printf("%s\n", line);
	}
	printf("%s\n", closed ? "#closed" : "#open");
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: unixio --socket PATH [--junk BYTES] [--expect N] [--timeout MS] "
			"[--no-read] [--hold MS] < REQUESTS\n");
	return 64;
}
