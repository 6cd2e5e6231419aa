/* connbench - the packet-path benchmark: a TCP server that accepts and
 * closes, and a client that measures connections per second to it.
 *
 *   connbench serve ADDR:PORT [--ready FILE]
 *   connbench rate ADDR:PORT [--seconds S] [--threads N]
 *
 * serve listens on IPv4 ADDR:PORT, creates FILE once listening, and closes
 * every connection it accepts, until killed.
 * rate runs N threads (default 1) that each connect (blocking) and close with
 * SO_LINGER 0 (a RST, so no TIME_WAIT exhausts the ports) for S seconds
 * (default 2, fractions allowed). Prints conn_rate (per second), conn_ok,
 * conn_failed, conn_seconds, and conn_cpu_us: the client's user+system CPU
 * time per connection (it includes the output path the client's syscalls
 * run, netfilter hooks among them; less sensitive than the rate to other
 * load on a shared machine). Exit 0 when at least one connection succeeded,
 * 1 otherwise, 64 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench.h"

static struct sockaddr_in target;
static uint64_t stop_ns;
static atomic_ulong n_ok, n_failed;

static void usage(void)
{
	fprintf(stderr, "usage: connbench serve ADDR:PORT [--ready FILE]\n"
			"       connbench rate ADDR:PORT [--seconds S] [--threads N]\n");
	exit(64);
}

static int parse_endpoint(const char *s, struct sockaddr_in *sa)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	size_t hl;

	if (colon == NULL || (hl = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int serve(const char *ready)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&target, sizeof(target)) == -1 || listen(fd, 4096) == -1) {
		fprintf(stderr, "connbench serve: %s\n", strerror(errno));
		return 1;
	}
	if (ready) {
		int rfd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (rfd == -1) {
			fprintf(stderr, "connbench serve: %s: %s\n", ready, strerror(errno));
			return 1;
		}
		close(rfd);
	}
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c != -1)
			close(c);
	}
}

static double tv_us(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

static void *client(void *arg)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	unsigned long ok = 0, failed = 0;

	(void)arg;
	while (bench_now_ns() < stop_ns) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd == -1) {
			failed++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (connect(fd, (struct sockaddr *)&target, sizeof(target)) == 0)
			ok++;
		else
			failed++;
		close(fd);
	}
	atomic_fetch_add(&n_ok, ok);
	atomic_fetch_add(&n_failed, failed);
	return NULL;
}

static int rate(double seconds, int threads)
{
	pthread_t tid[64];
	struct rusage r0, r1;
	uint64_t t0, t1;
	double secs, cpu_us;
	int i;

	getrusage(RUSAGE_SELF, &r0);
	t0 = bench_now_ns();
	stop_ns = t0 + (uint64_t)(seconds * 1e9);
	for (i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, client, NULL) != 0) {
			fprintf(stderr, "connbench rate: pthread_create failed\n");
			return 1;
		}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	t1 = bench_now_ns();
	getrusage(RUSAGE_SELF, &r1);
	secs = (double)(t1 - t0) / 1e9;
	cpu_us =
	    tv_us(&r1.ru_utime) - tv_us(&r0.ru_utime) + tv_us(&r1.ru_stime) - tv_us(&r0.ru_stime);
	printf("conn_rate=%.0f\n", (double)atomic_load(&n_ok) / secs);
	printf("conn_ok=%lu\n", atomic_load(&n_ok));
	printf("conn_failed=%lu\n", atomic_load(&n_failed));
	printf("conn_seconds=%.3f\n", secs);
	printf("conn_cpu_us=%.3f\n",
	       atomic_load(&n_ok) ? cpu_us / (double)atomic_load(&n_ok) : 0.0);
	return atomic_load(&n_ok) > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *ready = NULL;
	double seconds = 2;
	int threads = 1, a;

	if (argc < 3 || parse_endpoint(argv[2], &target) == -1)
		usage();
	for (a = 3; a + 1 < argc; a += 2) {
		if (strcmp(argv[a], "--ready") == 0)
			ready = argv[a + 1];
		else if (strcmp(argv[a], "--seconds") == 0)
			seconds = atof(argv[a + 1]);
		else if (strcmp(argv[a], "--threads") == 0)
			threads = atoi(argv[a + 1]);
		else
			usage();
	}
	if (a != argc || seconds <= 0 || threads < 1 || threads > 64)
		usage();
	if (strcmp(argv[1], "serve") == 0)
		return serve(ready);
	if (strcmp(argv[1], "rate") == 0)
		return rate(seconds, threads);
	usage();
	return 64;
}
