/* spawnlat - whole-process cost of commands: fork + exec + wait4, timed, with
 * the child's peak RSS from its rusage. Several commands are interleaved
 * sample by sample so that a noisy machine hits them all alike.
 *
 *   spawnlat [--count N] [--warmup W] [--base A.B] [--start K] [--log FILE]
 *            -c NAME ARGV... [-c NAME ARGV...]...
 *
 * Iteration i runs every command once (the order rotates by one each
 * iteration); "{}" in an argument becomes the address of sample K+i under the
 * /16 A.B (default 10.1): A.B.X.Y, so each iteration gets a new target. ARGV[0]
 * is a path (no PATH search), or the built-in "@fsync FILE": append 100 bytes
 * to FILE and fdatasync() it, in this process (the journal's baseline, spaced
 * like the commands around it). W warm-up iterations (default 0) go first, on
 * their own addresses, and are not counted. The children's stdin is
 * /dev/null, their stdout and stderr go to FILE (default /dev/null).
 * Prints for each NAME: NAME_{n,p50_us,p99_us,max_us,mean_us}, NAME_rss_p50_kb,
 * NAME_rss_max_kb (peak RSS of the children), NAME_user_ms and NAME_sys_ms
 * (the children's CPU time, summed over the counted runs) and NAME_fail (runs
 * that did not exit 0). Exit 0, 1 when a run failed, 64 usage. */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

struct cmd {
	const char *name;
	char **argv; /* points into main's argv; NULL-terminated copy */
	int argc;
	uint64_t *ns;
	uint64_t *rss_kb;
	unsigned long fails;
	double user_ms, sys_ms; /* summed over the counted runs */
	int fsync_fd;		/* the @fsync built-in's file, -1 for a real command */
};

static void usage(void)
{
	fprintf(stderr, "usage: spawnlat [--count N] [--warmup W] [--base A.B] [--start K] "
			"[--log FILE] -c NAME ARGV... [-c NAME ARGV...]...\n");
	exit(64);
}

/* @s with every "{}" replaced by @addr; malloc'd, NULL when out of memory. */
static char *substitute(const char *s, const char *addr)
{
	size_t alen = strlen(addr), n = 0;
	const char *p;
	char *out, *o;

	for (p = strstr(s, "{}"); p; p = strstr(p + 2, "{}"))
		n++;
	out = malloc(strlen(s) + n * alen + 1);
	if (out == NULL)
		return NULL;
	for (o = out; *s;) {
		if (s[0] == '{' && s[1] == '}') {
			memcpy(o, addr, alen);
			o += alen;
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* The @fsync built-in: one 100-byte append and fdatasync(), in ns. */
static uint64_t fsync_once(const struct cmd *c, int *st)
{
	static const char rec[100] = "spawnlat fsync baseline";
	uint64_t t0 = bench_now_ns();

	*st = 0;
	if (write(c->fsync_fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) ||
	    fdatasync(c->fsync_fd) == -1)
		*st = 1 << 8;
	return bench_now_ns() - t0;
}

/* Run @c once for address @addr; returns the time in ns (0 when it could not
 * be started) and leaves the peak RSS in *rss_kb and the wait status in *st. */
static uint64_t run_once(const struct cmd *c, const char *addr, int logfd, long *rss_kb, int *st,
			 struct rusage *ru_out)
{
	char *argv[c->argc + 1];
	struct rusage ru;
	uint64_t t0, t1;
	pid_t pid;
	int i;

	memset(ru_out, 0, sizeof(*ru_out));
	if (c->fsync_fd != -1) {
		*rss_kb = 0;
		return fsync_once(c, st);
	}
	for (i = 0; i < c->argc; i++) {
		argv[i] = substitute(c->argv[i], addr);
		if (argv[i] == NULL) {
			fprintf(stderr, "spawnlat: out of memory\n");
			exit(1);
		}
	}
	argv[c->argc] = NULL;
	t0 = bench_now_ns();
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid == -1) {
		fprintf(stderr, "spawnlat: fork: %s\n", strerror(errno));
		exit(1);
	}
	while (wait4(pid, st, 0, &ru) == -1) {
		if (errno != EINTR) {
			fprintf(stderr, "spawnlat: wait4: %s\n", strerror(errno));
			exit(1);
		}
	}
	t1 = bench_now_ns();
	for (i = 0; i < c->argc; i++)
		free(argv[i]);
	*rss_kb = ru.ru_maxrss;
	*ru_out = ru;
	return t1 - t0;
}

int main(int argc, char **argv)
{
	unsigned long count = 100, warmup = 0, start = 0, i;
	const char *base = "10.1", *log = "/dev/null";
	struct cmd cmds[16];
	int ncmd = 0, a = 1, logfd, k, rc = 0;

	for (; a < argc && strcmp(argv[a], "-c") != 0; a += 2) {
		if (a + 1 >= argc)
			usage();
		if (strcmp(argv[a], "--count") == 0)
			count = strtoul(argv[a + 1], NULL, 10);
		else if (strcmp(argv[a], "--warmup") == 0)
			warmup = strtoul(argv[a + 1], NULL, 10);
		else if (strcmp(argv[a], "--base") == 0)
			base = argv[a + 1];
		else if (strcmp(argv[a], "--start") == 0)
			start = strtoul(argv[a + 1], NULL, 10);
		else if (strcmp(argv[a], "--log") == 0)
			log = argv[a + 1];
		else
			usage();
	}
	/* -c NAME ARGV...: split argv in place at each -c */
	while (a < argc) {
		struct cmd *c = &cmds[ncmd];
		int b;

		if (ncmd == 16 || a + 2 >= argc)
			usage();
		c->name = argv[a + 1];
		for (b = a + 2; b < argc && strcmp(argv[b], "-c") != 0; b++)
			;
		c->argv = &argv[a + 2];
		c->argc = b - (a + 2);
		c->ns = calloc(count, sizeof(uint64_t));
		c->rss_kb = calloc(count, sizeof(uint64_t));
		c->fails = 0;
		c->user_ms = c->sys_ms = 0;
		c->fsync_fd = -1;
		if (c->ns == NULL || c->rss_kb == NULL)
			return 1;
		if (strcmp(c->argv[0], "@fsync") == 0) {
			if (c->argc != 2)
				usage();
			c->fsync_fd = open(
			    c->argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
			if (c->fsync_fd == -1) {
				fprintf(stderr, "spawnlat: %s: %s\n", c->argv[1], strerror(errno));
				return 1;
			}
		}
		ncmd++;
		a = b;
	}
	if (ncmd == 0 || count == 0)
		usage();
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd == -1) {
		fprintf(stderr, "spawnlat: %s: %s\n", log, strerror(errno));
		return 1;
	}
	for (i = 0; i < warmup + count; i++) {
		char addr[32];

		if (bench_addr(addr, sizeof(addr), base, start + i) == -1)
			usage();
		for (k = 0; k < ncmd; k++) {
			struct cmd *c = &cmds[(i + (unsigned long)k) % (unsigned long)ncmd];
			struct rusage ru;
			long rss;
			int st;
			uint64_t t = run_once(c, addr, logfd, &rss, &st, &ru);

			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				if (c->fails++ == 0)
					fprintf(stderr, "spawnlat: %s (%s) failed: status %d\n",
						c->name, addr, st);
			}
			if (i >= warmup) {
				c->ns[i - warmup] = t;
				c->rss_kb[i - warmup] = (uint64_t)rss;
				c->user_ms += (double)ru.ru_utime.tv_sec * 1e3 +
					      (double)ru.ru_utime.tv_usec / 1e3;
				c->sys_ms += (double)ru.ru_stime.tv_sec * 1e3 +
					     (double)ru.ru_stime.tv_usec / 1e3;
			}
		}
	}
	for (k = 0; k < ncmd; k++) {
		struct cmd *c = &cmds[k];

		bench_report_ns(c->name, c->ns, count);
		bench_sort(c->rss_kb, count);
		printf("%s_rss_p50_kb=%llu\n", c->name,
		       (unsigned long long)bench_pct(c->rss_kb, count, 50));
		printf("%s_rss_max_kb=%llu\n", c->name, (unsigned long long)c->rss_kb[count - 1]);
		printf("%s_user_ms=%.1f\n", c->name, c->user_ms);
		printf("%s_sys_ms=%.1f\n", c->name, c->sys_ms);
		printf("%s_fail=%lu\n", c->name, c->fails);
		if (c->fails)
			rc = 1;
		if (c->fsync_fd != -1) {
			close(c->fsync_fd);
			unlink(c->argv[1]);
		}
		free(c->ns);
		free(c->rss_kb);
	}
	close(logfd);
	return rc;
}
