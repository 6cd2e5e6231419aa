/* events.h - what happened, for people and for scripts. Every applied,
 * removed or refused action, every change of a target's health, reloads,
 * pauses and escalations become one event: a JSON object with a sequence
 * number, the time, a type, one sentence a person can read, and the
 * details (who, what, evidence). Events go to
 *   - watchers (`isolctl watch`), through a sink the agent sets;
 *   - the events file in the state directory (events.jsonl, one generation
 *     kept as events.jsonl.1), which `isolctl report` reads back;
 *   - a notification command (`isolagent --notify PATH`), the event on its
 *     stdin, a few at a time, killed after a deadline.
 * The journal stays the record of intent; events are the story told about
 * it, written without fsync. */
#ifndef ISOL_EVENTS_H
#define ISOL_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "isol/err.h"

struct ev_loop;
struct events;

#define EVENTS_RING 1024		   /* recent events kept in memory */
#define EVENTS_FILE "events.jsonl"
#define EVENTS_FILE_MAX (16u << 20)	   /* then it becomes events.jsonl.1 */
#define EVENTS_NOTIFY_RUNNING 4		   /* notification commands at once */
#define EVENTS_NOTIFY_QUEUE 256		   /* events waiting for one */
#define EVENTS_NOTIFY_TIMEOUT 10.0	   /* s, then its process group is killed */

/* Event types (the "type" field). */
#define EVENT_APPLIED "applied"
#define EVENT_REMOVED "removed"
#define EVENT_REFUSED "refused"
#define EVENT_HEALTH "health"
#define EVENT_POLICY "policy"
#define EVENT_PAUSED "paused"
#define EVENT_RESUMED "resumed"
#define EVENT_ESCALATION "escalation"
#define EVENT_AGENT "agent"

typedef void (*events_sink_fn)(const char *line, size_t len, void *data);

/* Events of an agent whose state lives in @state_dir (NULL: memory only,
 * for tests). The file is opened for appending; failing to, the agent runs
 * on and says so once. */
struct events *events_open(const char *state_dir, struct isol_err *err);
void events_close(struct events *e);

/* Every event, as one line with its newline, to @fn (the watchers). */
void events_set_sink(struct events *e, events_sink_fn fn, void *data);

/* Run @path for every event whose type is in @types (comma separated;
 * NULL or "all": every type): the event's JSON line on its stdin, and
 * ISOL_EVENT_TYPE, ISOL_EVENT_SEQ, ISOL_EVENT_MESSAGE in its environment.
 * @loop must be libev's default loop (children are reaped with ev_child).
 * Returns -EINVAL with a message for an unknown type. */
int events_set_notify(struct events *e, struct ev_loop *loop, const char *path,
		      const char *types, struct isol_err *err);

/* Emit an event of @type: "seq", "ts_ms", "time", "type", "message" (from
 * @fmt), then the details. @o holds them (owned; NULL for none). */
void events_emit(struct events *e, const char *type, json_t *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same with the details already written as JSON object members
 * ("\"count\":1,\"actions\":[...]", @len bytes, no braces): for the paths
 * of every isolation, which must not pay for a jansson tree. */
void events_emit_raw(struct events *e, const char *type, const char *members, size_t len,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

uint64_t events_last_seq(const struct events *e);

/* Recent events with seq > @after, oldest first, at most @max: each line
 * (newline included) to @fn. Returns how many. */
size_t events_backlog(const struct events *e, uint64_t after, size_t max,
		      events_sink_fn fn, void *data);

/* Events from the files with ts_ms >= @since_ms, oldest first, as a new
 * array; at most @max, the latest ones (then *truncated). Lines that do
 * not parse are skipped and counted in *bad. */
json_t *events_read_since(struct events *e, uint64_t since_ms, size_t max, bool *truncated,
			  size_t *bad, struct isol_err *err);

/* From now on, write the file and start notification commands once per
 * turn of @loop, after the turn's answers are sent (an ev_prepare): the
 * reply to an isolation does not wait for the events file. */
void events_defer(struct events *e, struct ev_loop *loop);
/* Write what waits for the file, start waiting notifications (also at
 * events_close and before reading the file back). */
void events_flush(struct events *e);

/* The size at which the file becomes events.jsonl.1 (tests make it small). */
void events_set_file_max(struct events *e, size_t max);

/* Notification commands running or waiting (for `status`, and tests). */
size_t events_notify_pending(const struct events *e);

#endif
