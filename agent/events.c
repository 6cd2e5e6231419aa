/* events.c - the event stream: a ring of recent lines for watchers, an
 * append-only file for reports, a notification command for people who are
 * not watching. See events.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "events.h"
#include "isol/duration.h"
#include "isol/strbuf.h"
#include "log.h"

extern char **environ;

static const char *const event_types[] = {
	EVENT_APPLIED, EVENT_REMOVED, EVENT_REFUSED,	EVENT_HEALTH, EVENT_POLICY,
	EVENT_PAUSED,  EVENT_RESUMED, EVENT_ESCALATION, EVENT_AGENT,
};
#define NTYPES (sizeof(event_types) / sizeof(event_types[0]))

struct notify_run {
	ev_child child;
	ev_timer deadline;
	struct events *e;
	pid_t pid;
};

struct events {
	uint64_t seq;
	char *ring[EVENTS_RING]; /* lines, newline included; ring[seq % EVENTS_RING] */
	size_t ring_len[EVENTS_RING];

	char *path, *old_path; /* NULL: memory only */
	struct strbuf pending; /* lines for the file, written once per loop turn */
	ev_prepare flush;      /* ... after the turn's answers are sent */
	struct ev_loop *wloop; /* NULL: write at once */
	int fd;
	off_t size, max_size;
	bool write_failed; /* said once */

	events_sink_fn sink;
	void *sink_data;

	struct ev_loop *loop;
	char *notify; /* the command, NULL: none */
	unsigned notify_types; /* bit per event_types[] */
	char *queue[EVENTS_NOTIFY_QUEUE]; /* lines waiting, FIFO */
	size_t qhead, qlen;
	size_t running;
	uint64_t dropped;
};

static int type_index(const char *type)
{
	size_t i;

	for (i = 0; i < NTYPES; i++)
		if (strcmp(type, event_types[i]) == 0)
			return (int)i;
	return -1;
}

static int open_file(struct events *e)
{
	struct stat st;
	char last;

	e->fd = open(e->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (e->fd == -1)
		return -errno;
	e->size = fstat(e->fd, &st) == 0 ? st.st_size : 0;
	/* a write torn by a crash: end its line, so the next event stays whole */
	if (e->size > 0 && pread(e->fd, &last, 1, e->size - 1) == 1 && last != '\n' &&
	    write(e->fd, "\n", 1) == 1)
		e->size++;
	return 0;
}

/* The seq of the file's last complete event: numbers go on across restarts. */
static uint64_t last_seq(const char *path)
{
	char buf[16384], *p, *end;
	uint64_t seq = 0;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		off_t off = st.st_size > (off_t)sizeof(buf) - 1 ? st.st_size - (off_t)sizeof(buf) + 1 : 0;

		n = pread(fd, buf, sizeof(buf) - 1, off);
		if (n > 0) {
			buf[n] = '\0';
			end = buf + n;
			if (end[-1] != '\n') { /* a torn last write: the line before it */
				p = memrchr(buf, '\n', (size_t)n);
				end = p ? p : buf;
			}
			while (end > buf && end[-1] == '\n')
				end--;
			*end = '\0';
			p = strrchr(buf, '\n');
			p = p ? p + 1 : buf;
			if (p > buf || off == 0) { /* a whole line */
				json_t *o = json_loads(p, 0, NULL);

				seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
				json_decref(o);
			}
		}
	}
	close(fd);
	return seq;
}

struct events *events_open(const char *state_dir, struct isol_err *err)
{
	struct events *e = calloc(1, sizeof(*e));
	int rc;

	if (e == NULL) {
		isol_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	e->fd = -1;
	e->max_size = EVENTS_FILE_MAX;
	strbuf_init(&e->pending);
	if (state_dir == NULL)
		return e;
	if (asprintf(&e->path, "%s/%s", state_dir, EVENTS_FILE) < 0 ||
	    asprintf(&e->old_path, "%s/%s.1", state_dir, EVENTS_FILE) < 0) {
		events_close(e);
		isol_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	e->seq = last_seq(e->path);
	rc = open_file(e);
	if (rc < 0) {
		/* events are the story, not the record: run on without the file */
		log_warn("events: cannot open %s: %s; `isolctl report` will have nothing",
			 e->path, strerror(-rc));
		e->write_failed = true;
	}
	return e;
}

void events_close(struct events *e)
{
	size_t i;

	if (e == NULL)
		return;
	events_flush(e);
	if (e->wloop)
		ev_prepare_stop(e->wloop, &e->flush);
	strbuf_fini(&e->pending);
	for (i = 0; i < EVENTS_RING; i++)
		free(e->ring[i]);
	for (i = 0; i < e->qlen; i++)
		free(e->queue[(e->qhead + i) % EVENTS_NOTIFY_QUEUE]);
	/* running notification commands are left to finish on their own; their
	 * watchers die with the loop */
	if (e->fd != -1)
		close(e->fd);
	free(e->path);
	free(e->old_path);
	free(e->notify);
	free(e);
}

void events_set_sink(struct events *e, events_sink_fn fn, void *data)
{
	e->sink = fn;
	e->sink_data = data;
}

int events_set_notify(struct events *e, struct ev_loop *loop, const char *path,
		      const char *types, struct isol_err *err)
{
	unsigned mask = 0;

	if (types == NULL || strcmp(types, "all") == 0) {
		mask = (1u << NTYPES) - 1;
	} else {
		char *copy = strdup(types), *tok, *save = NULL;

		if (copy == NULL)
			return isol_err_set(err, -ENOMEM, "out of memory");
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int i = type_index(tok);

			if (i < 0) {
				isol_err_set(err, -EINVAL,
					     "unknown event type '%s' (applied, removed, refused, "
					     "health, policy, paused, resumed, escalation, agent, all)",
					     tok);
				free(copy);
				return err ? err->code : -EINVAL;
			}
			mask |= 1u << i;
		}
		free(copy);
		if (mask == 0)
			return isol_err_set(err, -EINVAL, "no event types given");
	}
	free(e->notify);
	e->notify = strdup(path);
	if (e->notify == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	e->loop = loop;
	e->notify_types = mask;
	return 0;
}

/* --- notification commands ---------------------------------------------------- */

static void notify_next(struct events *e);
static void write_file(struct events *e, const char *line, size_t len);

static void notify_done(struct notify_run *r)
{
	struct events *e = r->e;

	ev_child_stop(e->loop, &r->child);
	ev_timer_stop(e->loop, &r->deadline);
	free(r);
	e->running--;
	notify_next(e);
}

static void notify_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct notify_run *r = w->data;
	int st = w->rstatus;

	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		log_warn("events: %s exited with %d", r->e->notify, WEXITSTATUS(st));
	else if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
		log_warn("events: %s killed by signal %d", r->e->notify, WTERMSIG(st));
	notify_done(r);
}

static void notify_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct notify_run *r = w->data;

	log_warn("events: %s still running after %.0f s; its process group is killed",
		 r->e->notify, EVENTS_NOTIFY_TIMEOUT);
	kill(-r->pid, SIGKILL);
	/* the reap comes through notify_child_cb */
}

/* Start the command for @line (owned). */
static void notify_spawn(struct events *e, char *line)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = { e->notify, NULL };
	char env_type[48], env_seq[48], env_msg[512];
	char **envp = NULL;
	struct notify_run *r;
	json_t *o;
	size_t n = 0, i;
	int pfd[2], rc;
	pid_t pid;

	/* environment: ours plus three variables */
	o = json_loads(line, 0, NULL);
	snprintf(env_type, sizeof(env_type), "ISOL_EVENT_TYPE=%s",
		 o ? json_string_value(json_object_get(o, "type")) ?: "" : "");
	snprintf(env_seq, sizeof(env_seq), "ISOL_EVENT_SEQ=%lld",
		 o ? (long long)json_integer_value(json_object_get(o, "seq")) : 0LL);
	snprintf(env_msg, sizeof(env_msg), "ISOL_EVENT_MESSAGE=%s",
		 o ? json_string_value(json_object_get(o, "message")) ?: "" : "");
	json_decref(o);
	while (environ[n])
		n++;
	envp = calloc(n + 4, sizeof(*envp));
	if (envp == NULL || pipe2(pfd, O_CLOEXEC) == -1) {
		log_warn("events: cannot run %s: %s", e->notify, strerror(errno));
		free(envp);
		free(line);
		return;
	}
	for (i = 0; i < n; i++)
		envp[i] = environ[i];
	envp[n] = env_type;
	envp[n + 1] = env_seq;
	envp[n + 2] = env_msg;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[0], STDIN_FILENO);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0); /* a group of its own: killed whole */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, e->notify, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	close(pfd[0]);
	if (rc != 0) {
		log_warn("events: cannot run %s: %s", e->notify, strerror(rc));
		close(pfd[1]);
		free(line);
		return;
	}
	/* an event line is far below the pipe's capacity: this does not block
	 * even when the command never reads */
	fcntl(pfd[1], F_SETFL, O_NONBLOCK);
	if (write(pfd[1], line, strlen(line)) < 0)
		log_warn("events: cannot write to %s: %s", e->notify, strerror(errno));
	close(pfd[1]);
	free(line);

	r = calloc(1, sizeof(*r));
	if (r == NULL) { /* reaped by nobody: better than blocking */
		log_warn("events: out of memory watching %s (pid %d)", e->notify, (int)pid);
		return;
	}
	r->e = e;
	r->pid = pid;
	ev_child_init(&r->child, notify_child_cb, pid, 0);
	ev_timer_init(&r->deadline, notify_deadline_cb, EVENTS_NOTIFY_TIMEOUT, 0.0);
	r->child.data = r->deadline.data = r;
	ev_child_start(e->loop, &r->child);
	ev_timer_start(e->loop, &r->deadline);
	e->running++;
}

static void notify_next(struct events *e)
{
	while (e->running < EVENTS_NOTIFY_RUNNING && e->qlen > 0) {
		char *line = e->queue[e->qhead];

		e->qhead = (e->qhead + 1) % EVENTS_NOTIFY_QUEUE;
		e->qlen--;
		notify_spawn(e, line);
	}
}

static void notify_queue(struct events *e, const char *line, size_t len)
{
	char *copy;

	if (e->qlen == EVENTS_NOTIFY_QUEUE) {
		if (e->dropped++ % 100 == 0)
			log_warn("events: %s cannot keep up; %llu events not notified", e->notify,
				 (unsigned long long)e->dropped);
		return;
	}
	copy = strndup(line, len);
	if (copy == NULL)
		return;
	e->queue[(e->qhead + e->qlen) % EVENTS_NOTIFY_QUEUE] = copy;
	e->qlen++;
	if (e->wloop == NULL)
		notify_next(e);
	/* else after the turn's answers: a spawn takes a millisecond */
}

void events_flush(struct events *e)
{
	if (e->pending.len) {
		write_file(e, e->pending.buf, e->pending.len);
		strbuf_consume(&e->pending, e->pending.len);
	}
	if (e->pending.cap > (1u << 20)) {
		strbuf_fini(&e->pending);
		strbuf_init(&e->pending);
	}
	if (e->notify && e->loop)
		notify_next(e);
}

static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct events *e = w->data;

	ev_prepare_stop(loop, w);
	events_flush(e);
}

void events_defer(struct events *e, struct ev_loop *loop)
{
	e->wloop = loop;
	ev_prepare_init(&e->flush, flush_cb);
	e->flush.data = e;
}

void events_set_file_max(struct events *e, size_t max)
{
	e->max_size = (off_t)max;
}

size_t events_notify_pending(const struct events *e)
{
	return e->running + e->qlen;
}

/* --- emitting ---------------------------------------------------------------- */

static void write_file(struct events *e, const char *line, size_t len)
{
	ssize_t n;

	if (e->path == NULL)
		return;
	if (e->fd != -1 && e->size > 0 && e->size + (off_t)len > e->max_size) {
		close(e->fd);
		e->fd = -1;
		if (rename(e->path, e->old_path) == -1)
			log_warn("events: cannot rotate %s: %s", e->path, strerror(errno));
	}
	if (e->fd == -1 && open_file(e) < 0) {
		if (!e->write_failed)
			log_warn("events: cannot open %s: %s", e->path, strerror(errno));
		e->write_failed = true;
		return;
	}
	n = write(e->fd, line, len);
	if (n == (ssize_t)len) {
		e->size += n;
		e->write_failed = false;
	} else if (!e->write_failed) {
		log_warn("events: cannot write %s: %s", e->path,
			 n < 0 ? strerror(errno) : "short write");
		e->write_failed = true;
	}
}

static void format_time(uint64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
}

/* The line: the common fields first (for people reading the file), then
 * the details; to the file, the watchers, the notification queue, the ring. */
static void emit_line(struct events *e, const char *type, const char *members, size_t mlen,
		      const char *fmt, va_list ap)
{
	char msg[512], when[40];
	uint64_t now = isol_now_ms();
	struct strbuf sb;
	size_t slot;
	int t;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	format_time(now, when, sizeof(when));
	e->seq++;
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"seq\":%llu,\"ts_ms\":%llu,\"time\":\"%s\",\"type\":\"%s\",\"message\":",
		      (unsigned long long)e->seq, (unsigned long long)now, when, type);
	strbuf_json_str(&sb, msg);
	if (members && mlen) {
		strbuf_puts(&sb, ",");
		strbuf_append(&sb, members, mlen);
	}
	if (strbuf_puts(&sb, "}\n") < 0 || sb.buf == NULL) {
		strbuf_fini(&sb);
		return;
	}
	if (e->wloop && e->path) {
		strbuf_append(&e->pending, sb.buf, sb.len);
		ev_prepare_start(e->wloop, &e->flush);
	} else {
		write_file(e, sb.buf, sb.len);
	}
	if (e->notify && e->wloop)
		ev_prepare_start(e->wloop, &e->flush);
	if (e->sink)
		e->sink(sb.buf, sb.len, e->sink_data);
	t = type_index(type);
	if (e->notify && t >= 0 && (e->notify_types & (1u << t)))
		notify_queue(e, sb.buf, sb.len);
	slot = e->seq % EVENTS_RING;
	free(e->ring[slot]);
	e->ring_len[slot] = sb.len;
	e->ring[slot] = sb.buf; /* the ring owns it now */
}

void events_emit_raw(struct events *e, const char *type, const char *members, size_t len,
		     const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	emit_line(e, type, members, len, fmt, ap);
	va_end(ap);
}

void events_emit(struct events *e, const char *type, json_t *o, const char *fmt, ...)
{
	char *text = NULL;
	size_t len = 0;
	va_list ap;

	if (e == NULL) {
		json_decref(o);
		return;
	}
	if (o && json_object_size(o) > 0) {
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		len = text ? strlen(text) : 0;
	}
	json_decref(o);
	va_start(ap, fmt);
	/* the object's members: its text without the braces */
	emit_line(e, type, len > 2 ? text + 1 : NULL, len > 2 ? len - 2 : 0, fmt, ap);
	va_end(ap);
	free(text);
}

uint64_t events_last_seq(const struct events *e)
{
	return e->seq;
}

size_t events_backlog(const struct events *e, uint64_t after, size_t max, events_sink_fn fn,
		      void *data)
{
	uint64_t first = e->seq > EVENTS_RING ? e->seq - EVENTS_RING + 1 : 1, s;
	size_t n = 0;

	if (after + 1 > first)
		first = after + 1;
	if (e->seq >= first && e->seq - first + 1 > max)
		first = e->seq - max + 1;
	for (s = first; s <= e->seq && s > 0; s++) {
		size_t slot = s % EVENTS_RING;

		if (e->ring[slot] == NULL)
			continue;
		fn(e->ring[slot], e->ring_len[slot], data);
		n++;
	}
	return n;
}

/* --- reading back --------------------------------------------------------------- */

static int read_file(const char *path, uint64_t since_ms, json_t *all, size_t *bad)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *o;
		json_int_t ts;

		if (n <= 1)
			continue;
		o = json_loadb(line, (size_t)n, JSON_DISABLE_EOF_CHECK, NULL);
		ts = o ? json_integer_value(json_object_get(o, "ts_ms")) : 0;
		if (o == NULL || !json_is_object(o) || ts <= 0) {
			(*bad)++;
			json_decref(o);
			continue;
		}
		if ((uint64_t)ts >= since_ms)
			json_array_append_new(all, o);
		else
			json_decref(o);
	}
	free(line);
	fclose(f);
	return 0;
}

json_t *events_read_since(struct events *e, uint64_t since_ms, size_t max, bool *truncated,
			  size_t *bad, struct isol_err *err)
{
	json_t *all, *out;
	size_t n, i, from;
	int rc;

	*truncated = false;
	*bad = 0;
	if (e->path == NULL)
		return json_array();
	events_flush(e); /* what this turn emitted is part of the story */
	all = json_array();
	if (all == NULL)
		goto nomem;
	rc = read_file(e->old_path, since_ms, all, bad);
	if (rc == 0)
		rc = read_file(e->path, since_ms, all, bad);
	if (rc < 0) {
		json_decref(all);
		isol_err_set(err, rc, "cannot read %s: %s", e->path, strerror(-rc));
		return NULL;
	}
	n = json_array_size(all);
	if (n <= max)
		return all;
	*truncated = true;
	out = json_array();
	if (out == NULL) {
		json_decref(all);
		goto nomem;
	}
	from = n - max;
	for (i = from; i < n; i++)
		json_array_append(out, json_array_get(all, i));
	json_decref(all);
	return out;

nomem:
	isol_err_set(err, -ENOMEM, "out of memory");
	return NULL;
}
