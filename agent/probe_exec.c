/* probe_exec.c - the exec probe: a command (argv, no shell) in a process
 * group of its own; exit 0 is a pass. At the deadline the whole group gets
 * SIGKILL, so a script cannot leave a hung grandchild behind; leftovers of a
 * group whose leader exited are killed too. The command's first line of
 * output becomes the reason of a failure. Children are reaped through
 * ev_child, so the loop must be libev's default loop.
 *
 * The command's own sockets do not carry the probe mark. So that it still
 * sees the real target and not isol's own isolation or steering, a prober
 * with a mark runs it in the exec probes' cgroup v2 (cgroup.c), whose sockets
 * the table accepts like marked ones (nft.c). A socket belongs to the cgroup
 * its process was in when it made it, so the child joins before it execs:
 * the command never runs outside. Without that cgroup (no cgroup2, no
 * permission; warned once) the command meets the isolation. It gets the mark
 * in ISOL_PROBE_MARK (for tools that can set one, e.g. ping -m) and the
 * target in ISOL_PROBE_ADDR / ISOL_PROBE_PORT. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sched.h>

#include "cgroup.h"
#include "log.h"
#include "probe_int.h"

#define EXEC_OUTPUT_MAX	 160	     /* bytes of output kept for the reason */
#define EXEC_KILL_GRACE	 1.0	     /* s to wait for the reap after SIGKILL */
#define EXEC_CHILD_STACK (64u << 10) /* execvpe's PATH buffer is the most it needs */

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

/* What the child needs; it runs in the parent's memory, so it reports back
 * through here. */
struct spawn_args {
	char **argv, **env;
	bool search;	      /* argv[0] has no '/': look it up in PATH */
	int null_fd, out_fd;  /* above stdio, close-on-exec */
	int procs_fd;	      /* write "0" here to join the cgroup; -1: do not */
	struct sigaction dfl; /* SIG_DFL, empty mask */
	sigset_t none;
	int join_err, exec_err; /* errno of the child's failures, 0 if none */
};

/* The child. Like glibc's posix_spawn's, it runs in the parent's memory, the
 * parent suspended until it execs or exits (CLONE_VM | CLONE_VFORK), on a
 * stack of its own: system calls only, everything prepared by the parent.
 * Not under ASan, whose bookkeeping knows the thread's stack, not this one. */
__attribute__((noreturn, no_sanitize_address)) static void spawn_child(struct spawn_args *a)
{
	int sig;

	/* first, so that every socket the command makes is the cgroup's */
	if (a->procs_fd != -1 && write(a->procs_fd, "0", 1) == -1)
		a->join_err = errno;
	/* a group of its own (killed whole); signals as a fresh process has
	 * them, not as the agent set them (SIGPIPE ignored, a blocked mask) */
	setpgid(0, 0);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &a->dfl, NULL); /* SIGKILL, SIGSTOP, libc's own: refused */
	sigprocmask(SIG_SETMASK, &a->none, NULL);
	if (dup2(a->null_fd, 0) != -1 && dup2(a->out_fd, 1) != -1 && dup2(a->out_fd, 2) != -1) {
		if (a->search)
			execvpe(a->argv[0], a->argv, a->env);
		else
			execve(a->argv[0], a->argv, a->env);
	}
	a->exec_err = errno;
	_exit(127);
}

static int spawn_child_fn(void *data)
{
	spawn_child(data);
}

#if defined(__x86_64__) || defined(__aarch64__)
#define STR_(x) #x
#define STR(x)	STR_(x)

/* clone3(2) that runs @fn(@arg) in the child on the stack @args names, as
 * glibc's clone() does for clone(2); glibc 2.36 has no such wrapper, and C
 * cannot switch stacks. The raw system call: the child's pid or -errno. */
long probe_clone3(struct clone_args *args, size_t size, int (*fn)(void *), void *arg);
/* clang-format off */
__asm__(".pushsection .text\n"
	".globl probe_clone3\n"
	".hidden probe_clone3\n"
	".type probe_clone3, %function\n"
	"probe_clone3:\n"
#if defined(__x86_64__)
	"	movq %rcx, %r8\n" /* the syscall instruction clobbers rcx */
	"	movl $" STR(__NR_clone3) ", %eax\n"
	"	syscall\n"
	"	testq %rax, %rax\n"
	"	jz 1f\n"
	"	ret\n"
	"1:	xorl %ebp, %ebp\n" /* the child: the outermost frame */
	"	movq %r8, %rdi\n"
	"	call *%rdx\n"
	"	movl %eax, %edi\n"
	"	movl $" STR(__NR_exit) ", %eax\n"
	"	syscall\n"
	"	hlt\n"
#else
	"	mov x8, #" STR(__NR_clone3) "\n"
	"	svc #0\n"
	"	cbz x0, 1f\n"
	"	ret\n"
	"1:	mov x29, #0\n" /* the child: the outermost frame */
	"	mov x30, #0\n"
	"	mov x0, x3\n"
	"	blr x2\n"
	"	mov x8, #" STR(__NR_exit) "\n"
	"	svc #0\n"
	"	brk #0\n"
#endif
	".size probe_clone3, .-probe_clone3\n"
	".popsection\n");
/* clang-format on */

/* The child is born in @cg (CLONE_INTO_CGROUP, linux 5.7): no migration,
 * no wait, and the command can never run outside. The child's pid or -errno;
 * -ENOSYS also once the kernel said it cannot. */
static long spawn_into(struct spawn_args *a, const struct isol_cgroup *cg, char *stack)
{
	static bool refused; /* clone3 or CLONE_INTO_CGROUP unknown (< 5.7) */
	struct clone_args ca;
	long pid;

	if (refused)
		return -ENOSYS;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.stack = (uint64_t)(uintptr_t)stack;
	ca.stack_size = EXEC_CHILD_STACK;
	ca.cgroup = (uint64_t)cg->dir_fd;
	pid = probe_clone3(&ca, sizeof(ca), spawn_child_fn, a);
	refused = pid == -ENOSYS || pid == -EINVAL || pid == -E2BIG;
	return pid;
}
#else
static long spawn_into(struct spawn_args *a, const struct isol_cgroup *cg, char *stack)
{
	return -ENOSYS;
}
#endif

/* @fd moved above 0..2 (where the child's stdio goes), close-on-exec. */
static int above_stdio(int fd)
{
	int nfd;

	if (fd == -1 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

/* Start @a->argv, in @cg unless NULL: its pid, or -errno when no process is
 * left running (an exec that failed is reaped here). The child shares our
 * memory until it execs, as with glibc's posix_spawn: cheap from a large
 * agent, where a fork would copy its page tables and make it fault on every
 * page it writes afterwards. It is born in the cgroup where the kernel can
 * (spawn_into), else it joins by writing the cgroup's cgroup.procs: that
 * migration waits for an RCU grace period, milliseconds in which the agent
 * waits too. A failure to join is in a->join_err; the command runs anyway. */
static long spawn(struct spawn_args *a, const struct isol_cgroup *cg)
{
	char *stack = malloc(EXEC_CHILD_STACK);
	sigset_t all, old;
	long pid = -ENOSYS;

	if (stack == NULL)
		return -ENOMEM;
	a->search = strchr(a->argv[0], '/') == NULL;
	memset(&a->dfl, 0, sizeof(a->dfl));
	a->dfl.sa_handler = SIG_DFL;
	sigemptyset(&a->none);
	a->procs_fd = -1;
	/* no handler of the agent's may run in the child */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (cg)
		pid = spawn_into(a, cg, stack);
	if (pid < 0 && pid != -EAGAIN && pid != -ENOMEM) {
		/* also when the cgroup refused the clone: the write tells why */
		a->procs_fd = cg ? cg->procs_fd : -1;
		pid = clone(spawn_child_fn, stack + EXEC_CHILD_STACK,
			    CLONE_VM | CLONE_VFORK | SIGCHLD, a);
		if (pid == -1)
			pid = -errno;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(stack); /* the child is done with it: exec'd or gone */
	if (pid > 0 && a->exec_err) {
		while (waitpid((pid_t)pid, NULL, 0) == -1 && errno == EINTR)
			;
		return -a->exec_err;
	}
	return pid;
}

static int exec_start(struct probe *p, const struct probe_opts *o, struct isol_err *err)
{
	struct exec_probe *e = (struct exec_probe *)p;
	struct spawn_args a = { .null_fd = -1, .out_fd = -1, .procs_fd = -1 };
	const struct isol_cgroup *cg;
	static bool join_warned;
	char vars[3][64];
	int fds[2];
	long pid;

	e->out_fd = -1;
	a.argv = probe_argv_dup(o->argv);
	a.env = make_env(o, p->pr->mark, vars);
	if (a.argv == NULL || a.env == NULL) {
		free(a.argv);
		free(a.env);
		return isol_err_set(err, -ENOMEM, "out of memory");
	}
	/* a prober without a mark exempts nothing (tests) */
	cg = p->pr->mark ? cgroup_probes() : NULL;
	if (pipe2(fds, O_CLOEXEC) == -1) {
		probe_set_errno(p, "pipe", errno, true); /* EMFILE: neutral */
		goto out_free;
	}
	fds[0] = above_stdio(fds[0]);
	a.out_fd = above_stdio(fds[1]);
	a.null_fd = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (fds[0] == -1 || a.out_fd == -1 || a.null_fd == -1) {
		probe_set_errno(p, "pipe", errno, true);
		goto out_close;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	pid = spawn(&a, cg);
	if (pid < 0) {
		/* no such command, no process left (EAGAIN): this host's doing */
		probe_set(p, PROBE_NEUTRAL, (int)pid, "exec %.64s: %s", a.argv[0],
			  strerror((int)-pid));
		goto out_close;
	}
	if (a.join_err && !join_warned) {
		join_warned = true;
		log_warn("exec probe: cannot join cgroup %s (%s): the command runs, but meets "
			 "isol's own rules",
			 cg->path, strerror(a.join_err));
	}
	close(a.out_fd);
	close(a.null_fd);
	e->pgid = (pid_t)pid;
	e->out_fd = fds[0];
	ev_child_init(&e->child, child_cb, e->pgid, 0);
	e->child.data = e;
	ev_child_start(p->pr->loop, &e->child);
	ev_io_init(&e->io, out_cb, e->out_fd, EV_READ);
	e->io.data = e;
	ev_io_start(p->pr->loop, &e->io);
	goto out_free;
out_close:
	if (fds[0] != -1)
		close(fds[0]);
	if (a.out_fd != -1)
		close(a.out_fd);
	if (a.null_fd != -1)
		close(a.null_fd);
out_free:
	free(a.argv);
	free(a.env);
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
