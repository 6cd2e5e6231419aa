/* ctl_events.c - `isolctl watch` (the event stream as it happens) and
 * `isolctl report` (the story of an incident from the agent's events file:
 * what failed, what was done, by whom, for how long, what it stopped). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "isol/duration.h"
#include "isol/wire.h"

static const char *const event_types[] = {
	"applied", "removed", "refused",    "health", "policy",
	"paused",  "resumed", "escalation", "agent",
};
#define NTYPES (sizeof(event_types) / sizeof(event_types[0]))

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static long long jint(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "applied,removed" -> a bit per event_types[]; -1 for an unknown name. */
static int parse_types(const char *s, unsigned *mask)
{
	char buf[256], *tok, *save = NULL;
	size_t i;

	*mask = 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NTYPES && strcmp(tok, event_types[i]) != 0; i++)
			;
		if (i == NTYPES)
			return -1;
		*mask |= 1u << i;
	}
	return *mask ? 0 : -1;
}

static bool type_wanted(const char *type, unsigned mask)
{
	size_t i;

	if (mask == 0)
		return true;
	for (i = 0; i < NTYPES; i++)
		if (strcmp(type, event_types[i]) == 0)
			return mask & (1u << i);
	return false;
}

/* Local time of @ms: "14:03:07.123", with the date when @date. */
static void fmt_time(long long ms, bool date, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	localtime_r(&s, &tm);
	n = strftime(buf, len, date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03lld", ms % 1000);
}

static void print_event(FILE *out, const json_t *ev, bool date)
{
	char when[40];

	fmt_time(jint(ev, "ts_ms"), date, when, sizeof(when));
	fprintf(out, "%s  %-10s ", when, jstr(ev, "type"));
	ctl_put_safe(out, jstr(ev, "message"));
	fputc('\n', out);
}

/* ---- watch --------------------------------------------------------------- */

/* Lines from the agent, kept across reads: the answer and the first events
 * may come in one read. */
struct lines {
	char *buf;
	size_t len, cap, start;
};

/* The next line (NUL-terminated in place, without its newline), waiting for
 * it up to @timeout_ms (-1: for ever). NULL with *rc: -ECONNRESET when the
 * agent closed the stream, -ETIMEDOUT, -ENOMEM, -EMSGSIZE, another -errno. */
static char *next_line(struct lines *l, int fd, int timeout_ms, int *rc)
{
	for (;;) {
		char *nl = l->len > l->start ? memchr(l->buf + l->start, '\n', l->len - l->start)
					     : NULL;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (nl) {
			char *line = l->buf + l->start;

			*nl = '\0';
			l->start = (size_t)(nl - l->buf) + 1;
			return line;
		}
		if (l->start > 0) { /* keep the partial line at the front */
			memmove(l->buf, l->buf + l->start, l->len - l->start);
			l->len -= l->start;
			l->start = 0;
		}
		if (l->cap - l->len < 4096) {
			size_t ncap = l->cap ? l->cap * 2 : 65536;
			char *nb;

			if (ncap > (64u << 20)) {
				*rc = -EMSGSIZE;
				return NULL;
			}
			nb = realloc(l->buf, ncap);
			if (nb == NULL) {
				*rc = -ENOMEM;
				return NULL;
			}
			l->buf = nb;
			l->cap = ncap;
		}
		n = poll(&p, 1, timeout_ms);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0) {
			*rc = -ETIMEDOUT;
			return NULL;
		}
		n = read(fd, l->buf + l->len, l->cap - l->len - 1);
		if (n == 0 || (n == -1 && errno == ECONNRESET)) {
			*rc = -ECONNRESET;
			return NULL;
		}
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*rc = -errno;
			return NULL;
		}
		l->len += (size_t)n;
	}
}

int ctl_verb_watch(struct ctl *ctl, int argc, char **argv)
{
	struct isol_err err = {0};
	struct lines lines = {0};
	struct ctl_conn c;
	struct ctl_resp resp;
	long long backlog = 0;
	unsigned mask = 0;
	char req[128], *line;
	int i, rc, n;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--backlog") == 0 && i + 1 < argc) {
			char *end;

			backlog = strtoll(argv[++i], &end, 10);
			if (*argv[i] == '\0' || *end || backlog < 0 || backlog > 1024)
				return ctl_usage(ctl, "watch", "--backlog takes a count, 0 to 1024, not '%s'",
						 argv[i]);
		} else if (strcmp(argv[i], "--types") == 0 && i + 1 < argc) {
			if (parse_types(argv[++i], &mask) < 0)
				return ctl_usage(ctl, "watch",
						 "--types takes a list of applied, removed, refused, "
						 "health, policy, paused, resumed, escalation, agent; "
						 "not '%s'",
						 argv[i]);
		} else {
			return ctl_usage(ctl, "watch", "unexpected argument '%s'", argv[i]);
		}
	}
	n = snprintf(req, sizeof(req), "{\"v\":%d,\"op\":\"watch\",\"backlog\":%lld}\n",
		     ISOL_WIRE_VERSION, backlog);
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	rc = ctl_conn_open(&c, ctl->socket, CTL_TIMEOUT_MS, &err);
	if (rc == 0)
		rc = ctl_conn_send(&c, req, (size_t)n, &err);
	if (rc < 0) {
		if (c.fd >= 0)
			ctl_conn_close(&c);
		return ctl_unreachable(ctl, &err);
	}
	line = next_line(&lines, c.fd, (int)CTL_TIMEOUT_MS, &rc);
	if (line == NULL) {
		isol_err_set(&err, rc, "no answer from isolagent at %s: %s", ctl->socket,
			     strerror(-rc));
		ctl_conn_close(&c);
		free(lines.buf);
		return ctl_unreachable(ctl, &err);
	}
	line = strdup(line);
	if (line == NULL || ctl_resp_parse(&resp, line, strlen(line), &err) < 0) {
		ctl_conn_close(&c);
		free(lines.buf);
		return ctl_unreachable(ctl, &err);
	}
	if (!json_is_true(json_object_get(resp.obj, "ok"))) {
		rc = ctl_answered(ctl, "watch", &resp);
		ctl_resp_fini(&resp);
		ctl_conn_close(&c);
		free(lines.buf);
		return rc;
	}
	ctl_resp_fini(&resp);
	if (!ctl->json)
		fprintf(ctl->err, "watching the events of isolagent at %s (Ctrl-C to stop)\n",
			ctl->socket);
	fflush(ctl->err);
	while ((line = next_line(&lines, c.fd, -1, &rc)) != NULL) {
		json_t *ev = json_loads(line, 0, NULL);

		if (ev == NULL || !json_is_object(ev)) {
			json_decref(ev);
			continue; /* not an event: never stop the stream for it */
		}
		if (type_wanted(jstr(ev, "type"), mask)) {
			if (ctl->json)
				fprintf(ctl->out, "%s\n", line);
			else
				print_event(ctl->out, ev, false);
			fflush(ctl->out);
		}
		json_decref(ev);
	}
	ctl_conn_close(&c);
	free(lines.buf);
	if (rc == -ECONNRESET)
		isol_err_set(&err, rc, "isolagent at %s closed the event stream (stopped, or this "
				       "watcher fell too far behind)",
			     ctl->socket);
	else
		isol_err_set(&err, rc, "reading events from %s: %s", ctl->socket, strerror(-rc));
	return ctl_unreachable(ctl, &err);
}

/* ---- report -------------------------------------------------------------- */

struct row {
	long long id, applied_ms, removed_ms, packets;
	char kind[16], target[96], origin[56], by[64], why[24];
	bool removed;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static void by_text(const json_t *ev, char *buf, size_t len)
{
	const json_t *actor = json_object_get(ev, "actor");
	const char *origin = jstr(ev, "origin");

	if (strncmp(origin, "policy:", 7) == 0)
		snprintf(buf, len, "%s", origin);
	else if (json_object_get(actor, "user"))
		snprintf(buf, len, "%s", jstr(actor, "user"));
	else if (json_object_get(actor, "uid") && jint(actor, "pid") > 0)
		snprintf(buf, len, "uid %lld", jint(actor, "uid"));
	else
		snprintf(buf, len, "%s", origin);
}

static struct row *row_find(struct rows *r, long long id)
{
	size_t lo = 0, hi = r->n;

	/* ids grow with time, so rows are in id order */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->v[lo].id == id ? &r->v[lo] : NULL;
}

static struct row *row_add(struct rows *r, long long id)
{
	struct row *x;

	if (r->n && r->v[r->n - 1].id >= id)
		return row_find(r, id); /* out of order: seen already, or skipped */
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		struct row *nv = realloc(r->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		r->v = nv;
		r->cap = ncap;
	}
	x = &r->v[r->n++];
	memset(x, 0, sizeof(*x));
	x->id = id;
	return x;
}

/* The actions the events tell of, applied and removed. */
static void collect_rows(const json_t *events, struct rows *rows, long long *more)
{
	const json_t *ev, *a;
	size_t i, k;

	json_array_foreach(events, i, ev) {
		const char *type = jstr(ev, "type");
		const json_t *acts = json_object_get(ev, "actions");
		bool applied = strcmp(type, "applied") == 0, removed = strcmp(type, "removed") == 0;

		if (!applied && !removed)
			continue;
		*more += jint(ev, "count") - (long long)json_array_size(acts);
		json_array_foreach(acts, k, a) {
			struct row *x = applied ? row_add(rows, jint(a, "id"))
						: row_find(rows, jint(a, "id"));

			if (x == NULL && removed) { /* applied before the report's window */
				x = row_add(rows, jint(a, "id"));
				if (x == NULL)
					x = row_find(rows, jint(a, "id"));
			}
			if (x == NULL)
				continue;
			snprintf(x->kind, sizeof(x->kind), "%s", jstr(a, "kind"));
			snprintf(x->target, sizeof(x->target), "%s", jstr(a, "target"));
			snprintf(x->origin, sizeof(x->origin), "%s", jstr(a, "origin"));
			if (applied) {
				x->applied_ms = jint(ev, "ts_ms");
				by_text(ev, x->by, sizeof(x->by));
			} else {
				x->removed = true;
				x->removed_ms = jint(ev, "ts_ms");
				x->applied_ms = jint(a, "created_ms");
				x->packets = jint(a, "packets");
				snprintf(x->why, sizeof(x->why), "%s", jstr(ev, "why"));
				if (x->by[0] == '\0')
					snprintf(x->by, sizeof(x->by), "%s", x->origin);
			}
		}
	}
}

static void print_report(struct ctl *ctl, const json_t *resp, const char *since_text)
{
	const json_t *events = json_object_get(resp, "events"), *ev;
	long long now = jint(resp, "now_ms"), more = 0;
	size_t i, failures = 0, refusals = 0;
	struct rows rows = {0};
	FILE *out = ctl->out;
	char when[40];

	fmt_time(jint(resp, "since_ms"), true, when, sizeof(when));
	when[19] = '\0'; /* to the second */
	fprintf(out, "isol report: the last %s (since %s), %zu events%s\n", since_text, when,
		json_array_size(events),
		json_is_true(json_object_get(resp, "truncated")) ? " (the latest; older ones left out)"
								 : "");
	if (json_array_size(events) == 0) {
		fprintf(out, "nothing happened\n");
		return;
	}

	fprintf(out, "\nWhat failed\n");
	json_array_foreach(events, i, ev) {
		const char *to = jstr(ev, "to");

		if (strcmp(jstr(ev, "type"), "health") == 0 &&
		    (strcmp(to, "suspect") == 0 || strcmp(to, "down") == 0 ||
		     strcmp(to, "acted") == 0)) {
			fmt_time(jint(ev, "ts_ms"), false, when, sizeof(when));
			fprintf(out, "  %s  ", when);
			ctl_put_safe(out, jstr(ev, "message"));
			fputc('\n', out);
			failures++;
		}
	}
	if (failures == 0)
		fprintf(out, "  no probe failures\n");

	fprintf(out, "\nWhat was done\n");
	collect_rows(events, &rows, &more);
	if (rows.n == 0) {
		fprintf(out, "  no actions\n");
	} else {
		fprintf(out, "  %-6s %-8s %-26s %-18s %-19s %-19s %-9s %s\n", "ID", "KIND", "TARGET",
			"BY", "FROM", "UNTIL", "FOR", "HITS");
		for (i = 0; i < rows.n; i++) {
			struct row *x = &rows.v[i];
			char from[40] = "-", until[64], dur[32] = "-", stopped[32] = "-";
			long long end = x->removed ? x->removed_ms : now;

			if (x->applied_ms)
				fmt_time(x->applied_ms, true, from, sizeof(from));
			from[19] = '\0';
			if (x->removed) {
				fmt_time(x->removed_ms, false, until, sizeof(until));
				until[8] = '\0';
				snprintf(until + 8, sizeof(until) - 8, " %s", x->why);
				if (strcmp(x->kind, "isolate") == 0 || strcmp(x->kind, "steer") == 0)
					snprintf(stopped, sizeof(stopped), "%lld", x->packets);
			} else {
				snprintf(until, sizeof(until), "in force");
			}
			if (x->applied_ms && end > x->applied_ms)
				isol_duration_format((uint64_t)(end - x->applied_ms) / 1000 * 1000, dur,
						     sizeof(dur));
			fprintf(out, "  %-6lld %-8s ", x->id, x->kind);
			ctl_put_safe(out, x->target);
			fprintf(out, "%*s ", (int)(strlen(x->target) < 26 ? 26 - strlen(x->target) : 0),
				"");
			ctl_put_safe(out, x->by);
			fprintf(out, "%*s %-19s %-19s %-9s %s\n",
				(int)(strlen(x->by) < 18 ? 18 - strlen(x->by) : 0), "", from, until, dur,
				stopped);
		}
		if (more > 0)
			fprintf(out, "  ... and %lld more actions in bulk requests (see --json)\n", more);
		fprintf(out, "  (HITS: packets an isolation stopped or a steer sent to the backup)\n");
	}
	free(rows.v);

	json_array_foreach(events, i, ev)
		refusals += strcmp(jstr(ev, "type"), "refused") == 0;
	if (refusals)
		fprintf(out, "\n%zu refusal%s (see the timeline)\n", refusals,
			refusals == 1 ? "" : "s");

	fprintf(out, "\nTimeline\n");
	json_array_foreach(events, i, ev) {
		fputs("  ", out);
		print_event(out, ev, false);
	}
}

int ctl_verb_report(struct ctl *ctl, int argc, char **argv)
{
	struct isol_err err = {0};
	const char *since_text = "24h";
	uint64_t since = 24 * 3600 * 1000ull;
	struct ctl_resp resp;
	char req[160];
	int i, rc, n;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
			since_text = argv[++i];
			if (isol_duration_parse(since_text, &since, &err) < 0)
				return ctl_usage(ctl, "report", "--since takes a duration (30m, 2h, 1d), "
								"not '%s'",
						 since_text);
		} else {
			return ctl_usage(ctl, "report", "unexpected argument '%s'", argv[i]);
		}
	}
	n = snprintf(req, sizeof(req), "{\"v\":%d,\"op\":\"report\",\"since_ms\":%llu}\n",
		     ISOL_WIRE_VERSION,
		     (unsigned long long)(isol_now_ms() > since ? isol_now_ms() - since : 0));
	rc = ctl_call(ctl->socket, req, (size_t)n, CTL_TIMEOUT_LONG_MS, &resp, &err);
	if (rc < 0)
		return ctl_unreachable(ctl, &err);
	rc = ctl_answered(ctl, "report", &resp);
	if (rc != -1) {
		ctl_resp_fini(&resp);
		return rc;
	}
	print_report(ctl, resp.obj, since_text);
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}
