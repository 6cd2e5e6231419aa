/* test_events.c - the event stream without an agent: every event gets the
 * common fields and a seq that goes on across a reopen (also after a torn
 * last write), the ring hands back what watchers missed, the file rotates
 * and is read back in order with a window and a limit, and bad notification
 * types are refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "events.h"
#include "isol/duration.h"

struct seen {
	char lines[8][1024];
	size_t n;
};

static void sink(const char *line, size_t len, void *data)
{
	struct seen *s = data;

	assert_true(len > 0 && line[len - 1] == '\n'); /* one line each, newline included */
	if (s->n < 8) {
		snprintf(s->lines[s->n], sizeof(s->lines[0]), "%.*s", (int)len, line);
	}
	s->n++;
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/isol-test-events.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void rmdir_all(char *d)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", d, EVENTS_FILE);
	unlink(p);
	snprintf(p, sizeof(p), "%s/%s.1", d, EVENTS_FILE);
	unlink(p);
	rmdir(d);
	free(d);
}

static void test_fields_and_sink(void **state)
{
	struct events *e = events_open(NULL, NULL);
	struct seen s = {0};
	json_t *o;

	assert_non_null(e);
	events_set_sink(e, sink, &s);
	events_emit(e, EVENT_APPLIED, json_pack("{s:i}", "count", 3), "applied %d actions", 3);
	events_emit(e, EVENT_AGENT, NULL, "started");
	assert_int_equal(s.n, 2);
	o = json_loads(s.lines[0], 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "applied");
	assert_string_equal(json_string_value(json_object_get(o, "message")), "applied 3 actions");
	assert_int_equal(json_integer_value(json_object_get(o, "count")), 3);
	assert_true(json_integer_value(json_object_get(o, "ts_ms")) > 1700000000000LL);
	/* the wall clock in ISO 8601, UTC, to the millisecond */
	assert_int_equal(strlen(json_string_value(json_object_get(o, "time"))), 24);
	/* the common fields come first, for people reading the file */
	assert_int_equal(strncmp(s.lines[0], "{\"seq\":1,", 9), 0);
	json_decref(o);
	assert_int_equal(events_last_seq(e), 2);
	events_close(e);
}

static void test_backlog(void **state)
{
	struct events *e = events_open(NULL, NULL);
	struct seen s = {0};
	int i;

	for (i = 0; i < EVENTS_RING + 10; i++)
		events_emit(e, EVENT_HEALTH, NULL, "event %d", i + 1);
	/* the last 3 */
	assert_int_equal(events_backlog(e, 0, 3, sink, &s), 3);
	assert_non_null(strstr(s.lines[0], "\"event 1032\""));
	assert_non_null(strstr(s.lines[2], "\"event 1034\""));
	/* after a seq: only newer ones */
	memset(&s, 0, sizeof(s));
	assert_int_equal(events_backlog(e, EVENTS_RING + 8, 100, sink, &s), 2);
	/* more than the ring holds: the ring */
	memset(&s, 0, sizeof(s));
	assert_int_equal(events_backlog(e, 0, 100000, sink, &s), EVENTS_RING);
	assert_non_null(strstr(s.lines[0], "\"event 11\""));
	/* nothing new */
	assert_int_equal(events_backlog(e, events_last_seq(e), 10, sink, &s), 0);
	events_close(e);
}

static void test_file_seq_and_read_back(void **state)
{
	char *dir = tmpdir(), path[256];
	struct events *e = events_open(dir, NULL);
	bool truncated;
	size_t bad;
	json_t *arr;
	int fd;

	assert_non_null(e);
	events_emit(e, EVENT_APPLIED, NULL, "one");
	events_emit(e, EVENT_REMOVED, NULL, "two");
	events_close(e);

	/* a torn last write (the agent died in it): the seq comes from the
	 * last whole line, and the torn one is skipped on reading */
	snprintf(path, sizeof(path), "%s/%s", dir, EVENTS_FILE);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"seq\":3,\"ts_", 13), 13);
	close(fd);

	e = events_open(dir, NULL);
	assert_int_equal(events_last_seq(e), 2);
	events_emit(e, EVENT_AGENT, NULL, "three");
	arr = events_read_since(e, 0, 100, &truncated, &bad, NULL);
	assert_non_null(arr);
	/* the torn line is ended at the reopen: it alone is bad, the next
	 * event is whole */
	assert_int_equal(bad, 1);
	assert_int_equal(json_array_size(arr), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 2), "message")),
			    "three");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 2), "seq")), 3);
	assert_false(truncated);
	json_decref(arr);

	/* a window in time */
	arr = events_read_since(e, isol_now_ms() + 60000, 100, &truncated, &bad, NULL);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	/* a limit keeps the latest */
	events_emit(e, EVENT_AGENT, NULL, "four");
	arr = events_read_since(e, 0, 1, &truncated, &bad, NULL);
	assert_int_equal(json_array_size(arr), 1);
	assert_true(truncated);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "message")),
			    "four");
	json_decref(arr);
	events_close(e);
	rmdir_all(dir);
}

static void test_rotation(void **state)
{
	char *dir = tmpdir(), path[256];
	struct events *e = events_open(dir, NULL);
	struct stat st;
	bool truncated;
	size_t bad;
	json_t *arr;
	int i;

	events_set_file_max(e, 2000);
	for (i = 0; i < 40; i++)
		events_emit(e, EVENT_HEALTH, NULL, "event %d with some words to take room", i + 1);
	snprintf(path, sizeof(path), "%s/%s.1", dir, EVENTS_FILE);
	assert_int_equal(stat(path, &st), 0); /* an old generation */
	assert_true(st.st_size <= 2000);
	snprintf(path, sizeof(path), "%s/%s", dir, EVENTS_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= 2000);
	/* read back: the old generation first, in seq order, the oldest lost */
	arr = events_read_since(e, 0, 1000, &truncated, &bad, NULL);
	assert_true(json_array_size(arr) > 2 && json_array_size(arr) < 40);
	assert_int_equal(bad, 0);
	for (i = 1; i < (int)json_array_size(arr); i++)
		assert_int_equal(
		    json_integer_value(json_object_get(json_array_get(arr, (size_t)i), "seq")),
		    json_integer_value(json_object_get(json_array_get(arr, (size_t)i - 1), "seq")) + 1);
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(arr, json_array_size(arr) - 1), "seq")),
			 40);
	json_decref(arr);
	events_close(e);
	rmdir_all(dir);
}

/* With a loop, the file is written after the turn's answers: at the
 * loop's prepare, or when the file is read back. */
static void test_deferred_writes(void **state)
{
	char *dir = tmpdir(), path[256];
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct events *e = events_open(dir, NULL);
	struct stat st;
	bool truncated;
	size_t bad;
	json_t *arr;

	assert_non_null(loop);
	events_defer(e, loop);
	snprintf(path, sizeof(path), "%s/%s", dir, EVENTS_FILE);
	events_emit(e, EVENT_APPLIED, NULL, "one");
	events_emit(e, EVENT_APPLIED, NULL, "two");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0); /* not yet */
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0); /* both, in one write */
	events_emit(e, EVENT_REMOVED, NULL, "three");
	arr = events_read_since(e, 0, 100, &truncated, &bad, NULL);
	assert_int_equal(json_array_size(arr), 3); /* reading flushes first */
	json_decref(arr);
	events_emit(e, EVENT_AGENT, NULL, "four");
	events_close(e); /* and closing */
	e = events_open(dir, NULL);
	assert_int_equal(events_last_seq(e), 4);
	events_close(e);
	ev_loop_destroy(loop);
	rmdir_all(dir);
}

static void test_notify_types(void **state)
{
	struct events *e = events_open(NULL, NULL);
	struct isol_err err = {0, ""};

	assert_int_equal(events_set_notify(e, NULL, "/bin/true", "applied,removed", &err), 0);
	assert_int_equal(events_set_notify(e, NULL, "/bin/true", "all", &err), 0);
	assert_int_equal(events_set_notify(e, NULL, "/bin/true", "applied,bogus", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'bogus'"));
	assert_int_equal(events_set_notify(e, NULL, "/bin/true", ",", &err), -EINVAL);
	events_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields_and_sink),
	    cmocka_unit_test(test_backlog),
	    cmocka_unit_test(test_file_seq_and_read_back),
	    cmocka_unit_test(test_rotation),
	    cmocka_unit_test(test_deferred_writes),
	    cmocka_unit_test(test_notify_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
