/* probe_exec.c - the exec probe: a command (argv, no shell) in a process
 * group of its own; exit 0 is a pass. At the deadline the whole group gets
 * SIGKILL, so a script cannot leave a hung grandchild behind; leftovers of a
 * group whose leader exited are killed too. The command's first line of
 * output becomes the reason of a failure. Children are reaped through
 * ev_child, so the loop must be libev's default loop.
 *
 * The command's own sockets do not carry the probe mark: a command that
 * connects to an isolated target sees the isolation. It gets the mark in
 * ISOL_PROBE_MARK (for tools that can set one, e.g. ping -m) and the target
 * in ISOL_PROBE_ADDR / ISOL_PROBE_PORT. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe_int.h"

#define EXEC_OUTPUT_MAX 160 /* bytes of output kept for the reason */
#define EXEC_KILL_GRACE 1.0 /* s to wait for the reap after SIGKILL */

extern char **environ;

struct exec_probe {
	struct probe p;
	ev_child child;
	ev_io io;   /* the command's stdout and stderr */
	int out_fd; /* -1 once closed */
	pid_t pgid; /* the leader's pid; 0 before the spawn */
	bool reaped;
	char out[EXEC_OUTPUT_MAX];
	size_t out_len;
};

/* Read what is there; keep the start, drop the rest. Closes at EOF. */
static void drain(struct exec_probe *e)
{
	char buf[4096];
	ssize_t n;

	while (e->out_fd != -1) {
		n = read(e->out_fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			ev_io_stop(e->p.pr->loop, &e->io);
			close(e->out_fd);
			e->out_fd = -1;
			return;
		}
		if (e->out_len < sizeof(e->out) - 1) {
			size_t k = sizeof(e->out) - 1 - e->out_len;

			if ((size_t)n < k)
				k = (size_t)n;
			memcpy(e->out + e->out_len, buf, k);
			e->out_len += k;
		}
	}
}

static void out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	drain(w->data);
}

/* The first non-empty line of the output, trimmed, or "". */
static void first_line(const struct exec_probe *e, char *buf, size_t len)
{
	const char *s = e->out, *end = e->out + e->out_len;

	buf[0] = '\0';
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;

		while (s < le && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		while (le > s && (le[-1] == ' ' || le[-1] == '\t' || le[-1] == '\r'))
			le--;
		if (le > s) {
			size_t i;

			snprintf(buf, len, "%.*s", (int)(le - s), s);
			for (i = 0; buf[i]; i++) /* one line of text in logs and replies */
				if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
					buf[i] = ' ';
			return;
		}
		s = nl ? nl + 1 : end;
	}
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct exec_probe *e = w->data;
	int st = w->rstatus;
	char how[64], line[EXEC_OUTPUT_MAX];

	ev_child_stop(loop, w);
	e->reaped = true;
	/* the group is ours: nothing of it outlives the probe. The leader's
	 * pid is not handed out again while the group has members. */
	if (e->pgid > 0)
		kill(-e->pgid, SIGKILL);
	drain(e);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		probe_pass(&e->p);
	} else {
		probe_wait_status_format(st, how, sizeof(how));
		first_line(e, line, sizeof(line));
		probe_set(&e->p, PROBE_FAIL, 0, "%s%s%s", how, line[0] ? ": " : "", line);
	}
	probe_report(&e->p); /* after a timeout the verdict is already set */
}

static void exec_timeout(struct probe *p)
{
	struct exec_probe *e = (struct exec_probe *)p;
	size_t l;

	probe_set_timeout(p);
	l = strlen(p->res.reason);
	snprintf(p->res.reason + l, sizeof(p->res.reason) - l, " (process group killed)");
	if (e->pgid > 0) /* never 0: that would be our own group */
		kill(-e->pgid, SIGKILL);
	/* report once reaped; if it cannot be reaped (stuck in the kernel),
	 * report anyway after a grace period */
	ev_timer_set(&p->timer, EXEC_KILL_GRACE, 0.0);
	ev_timer_start(p->pr->loop, &p->timer);
}

/* environ without ISOL_PROBE_*, then ours; pointers into @vars. */
static char **make_env(const struct probe_opts *o, uint32_t mark, char vars[3][64])
{
	size_t n = 0, i, k = 0;
	char a[INET6_ADDRSTRLEN];
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 4, sizeof(char *));
	if (env == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "ISOL_PROBE_", 11) != 0)
			env[k++] = environ[i];
	snprintf(vars[0], 64, "ISOL_PROBE_MARK=0x%x", mark);
	env[k++] = vars[0];
	if (o->family == AF_INET || o->family == AF_INET6) {
		inet_ntop(o->family, o->addr, a, sizeof(a));
		snprintf(vars[1], 64, "ISOL_PROBE_ADDR=%s", a);
		env[k++] = vars[1];
		snprintf(vars[2], 64, "ISOL_PROBE_PORT=%u", o->port);
		env[k++] = vars[2];
	}
	env[k] = NULL;
	return env;
}

static int exec_start(struct probe *p, const struct probe_opts *o, struct isol_err *err)
{
	struct exec_probe *e = (struct exec_probe *)p;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char vars[3][64], **argv, **env;
	sigset_t none, all;
	int fds[2], rc;
	pid_t pid;

	e->out_fd = -1;
	argv = probe_argv_dup(o->argv);
	env = make_env(o, p->pr->mark, vars);
	if (argv == NULL || env == NULL) {
		free(argv);
		free(env);
		return isol_err_set(err, -ENOMEM, "out of memory");
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		probe_set_errno(p, "pipe", errno, true); /* EMFILE: neutral */
		goto out_free;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawnattr_init(&attr);
	/* a group of its own (killed whole); signals as a fresh process has
	 * them, not as the agent set them (SIGPIPE ignored, a blocked mask) */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	/* glibc's posix_spawn is vfork-like: cheap from a large agent, and an
	 * exec that fails comes back here as the return value */
	if (strchr(argv[0], '/'))
		rc = posix_spawn(&pid, argv[0], &fa, &attr, argv, env);
	else
		rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		/* no such command, no process left (EAGAIN): this host's doing */
		probe_set(p, PROBE_NEUTRAL, -rc, "exec %.64s: %s", argv[0], strerror(rc));
		goto out_free;
	}
	e->pgid = pid;
	e->out_fd = fds[0];
	ev_child_init(&e->child, child_cb, pid, 0);
	e->child.data = e;
	ev_child_start(p->pr->loop, &e->child);
	ev_io_init(&e->io, out_cb, e->out_fd, EV_READ);
	e->io.data = e;
	ev_io_start(p->pr->loop, &e->io);
out_free:
	free(argv);
	free(env);
	return 0;
}

static void exec_stop(struct probe *p)
{
	struct exec_probe *e = (struct exec_probe *)p;

	ev_child_stop(p->pr->loop, &e->child);
	ev_io_stop(p->pr->loop, &e->io);
	if (e->out_fd != -1)
		close(e->out_fd);
	e->out_fd = -1;
	/* cancelled: the group goes; libev reaps the leader */
	if (e->pgid > 0 && !e->reaped)
		kill(-e->pgid, SIGKILL);
}

const struct probe_ops probe_exec_ops = {
    .size = sizeof(struct exec_probe),
    .start = exec_start,
    .timeout = exec_timeout,
    .stop = exec_stop,
};
