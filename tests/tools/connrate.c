/* connrate - TCP connection rate to one service, for the packet-path benchmark.
 *
 *   connrate [--threads N] [--seconds T] [--banner] ADDR:PORT
 *
 * Each of N threads (default 1) connects and closes as fast as it can for T
 * seconds (default 2). The close is an abortive one (SO_LINGER 0, a RST) so
 * TIME_WAIT does not exhaust the ephemeral ports. --banner waits for the
 * server's first line before closing (a full round trip per connection).
 * Prints one line:
 *   connrate RATE conn/s ok=N failed=M seconds=S threads=N
 * Exit 0 when at least one connection succeeded, 1 otherwise, 64 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "endpoint.h"

static struct sockaddr_storage target;
static socklen_t target_len;
static int want_banner;
static double stop_at;
static atomic_ulong total_ok, total_failed;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	unsigned long ok = 0, failed = 0;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[256];

	while (now_s() < stop_at) {
		/* a batch between clock reads keeps the clock off the profile */
		for (int i = 0; i < 16; i++) {
			int fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

			if (fd == -1) {
				failed++;
				continue;
			}
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			if (connect(fd, (struct sockaddr *)&target, target_len) == 0 &&
			    (!want_banner || recv(fd, buf, sizeof(buf), 0) > 0))
				ok++;
			else
				failed++;
			close(fd);
		}
	}
	atomic_fetch_add(&total_ok, ok);
	atomic_fetch_add(&total_failed, failed);
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = 1;
	double seconds = 2;
	const char *ep = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atol(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--banner"))
			want_banner = 1;
		else if (argv[i][0] == '-' || ep)
			goto usage;
		else
			ep = argv[i];
	}
	if (!ep || threads < 1 || threads > 256 || seconds <= 0)
		goto usage;
	if (endpoint_parse(ep, &target, &target_len) == -1) {
		fprintf(stderr, "connrate: bad endpoint '%s'\n", ep);
		return 64;
	}

	pthread_t tids[256];
	double t0 = now_s();

	stop_at = t0 + seconds;
	for (long i = 0; i < threads; i++) {
		if (pthread_create(&tids[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "connrate: pthread_create failed\n");
			return 1;
		}
	}
	for (long i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);

	double took = now_s() - t0;
	unsigned long ok = atomic_load(&total_ok), failed = atomic_load(&total_failed);

	printf("connrate %.0f conn/s ok=%lu failed=%lu seconds=%.2f threads=%ld\n",
	       (double)ok / took, ok, failed, took, threads);
	return ok > 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: connrate [--threads N] [--seconds T] [--banner] ADDR:PORT\n");
	return 64;
}
