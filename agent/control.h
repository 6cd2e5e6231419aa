/* control.h - the control socket: a unix stream server on the agent's
 * libev loop. Newline-delimited requests, one response per request, peer
 * credentials from the kernel (SO_PEERCRED, SO_PEERGROUPS). Non-blocking: a
 * stuck or slow client never stalls the agent. */
#ifndef ISOL_CONTROL_H
#define ISOL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "isol/err.h"
#include "isol/strbuf.h"

struct ev_loop;
struct control;
struct control_defer;

#define CONTROL_MAX_CLIENTS 64
#define CONTROL_MAX_GROUPS 64

struct control_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char comm[32];
	char user[32]; /* the uid's name, "" when it has none */
	bool can_read, can_write;
};

/* Handle one request line (NUL-terminated, without the newline) and append
 * exactly one response line, newline included, to @out. */
typedef void (*control_handler_fn)(void *ctx, const struct control_peer *peer, char *line,
				   size_t len, struct strbuf *out);

struct control_opts {
	const char *path;
	gid_t admin_gid; /* may change state; (gid_t)-1 = none */
	gid_t read_gid;  /* may read; (gid_t)-1 = none */
	size_t max_line;
};

/* From inside a handler: the answer comes later (a check must finish first).
 * The handler writes nothing to @out; the client's next requests wait. */
struct control_defer *control_defer(struct control *c);
/* Send the deferred answer (one line, newline included) and serve on. Safe
 * when the client has gone meanwhile. Frees @d. */
void control_resume(struct control_defer *d, const char *line, size_t len);

/* From inside a handler: the request is followed by @n raw bytes (apply's
 * file: no JSON string to escape and parse). They go to @fn once all are
 * in, with the client's peer and its output: @fn writes the answer, or
 * defers it. @bytes is writable, not NUL-terminated. @fn gets NULL bytes
 * (and a NULL @out) when the client goes before sending them all: then
 * it only frees @data. -EMSGSIZE past the line limit: the handler answers,
 * and the connection closes after it (what follows is not requests). */
typedef void (*control_payload_fn)(void *data, const struct control_peer *peer, char *bytes,
				   size_t n, struct strbuf *out);
int control_expect_payload(struct control *c, size_t n, control_payload_fn fn, void *data);

/* From inside a handler: after its answer, this client also gets every
 * line control_broadcast() sends (the event stream), until it hangs up. */
int control_watch(struct control *c);
size_t control_watchers(const struct control *c);
/* Queue @line for every watcher. One that does not read (more than
 * CONTROL_WATCH_BACKLOG bytes waiting) is dropped: it never slows the
 * agent or holds its memory. */
#define CONTROL_WATCH_BACKLOG (4u << 20)
void control_broadcast(struct control *c, const char *line, size_t len);

int control_open(struct control **cp, struct ev_loop *loop, const struct control_opts *o,
		 control_handler_fn fn, void *ctx, struct isol_err *err);
void control_close(struct control *c);
size_t control_clients(const struct control *c);

#endif
