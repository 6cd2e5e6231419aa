/* ctl.h - the pieces of isolctl: verbs (ctl_verbs.c), the socket client
 * (ctl_client.c), request JSON writing (ctl_json.c), apply files
 * (ctl_apply.c) and response rendering (ctl_render.c). main.c wires them. */
#ifndef ISOL_CTL_H
#define ISOL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "isol/err.h"

#ifndef ISOL_VERSION
#define ISOL_VERSION "unknown" /* the Makefile sets it */
#endif

/* Exit codes: the CLI contract. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,	  /* refused or failed by the agent */
	CTL_EXIT_USAGE = 2,	  /* bad arguments, or the agent said "invalid" */
	CTL_EXIT_UNREACHABLE = 3, /* no answer from the agent */
};

/* Per-request deadlines: everything (connect, send, receive) must finish in it. */
#define CTL_TIMEOUT_MS	    30000u
#define CTL_TIMEOUT_LONG_MS 120000u /* apply, rollback --all */
/* A response line may be large (list of 100,000 actions is ~30 MiB) but not endless. */
#define CTL_MAX_RESPONSE (512u << 20)

/* What every verb needs: where the agent is, how to print. */
struct ctl {
	const char *socket;   /* resolved path */
	bool json;	      /* --json: print the agent's response object */
	bool pretty;	      /* indent JSON (stdout is a terminal) */
	const char *ssh_peer; /* first field of $SSH_CONNECTION, validated, or NULL */
	FILE *out;
	FILE *err;
};

/* ---- ctl_verbs.c: one function per verb; argv[0] is the verb. They return
 * an exit code and have printed everything already. */
int ctl_verb_isolate(struct ctl *ctl, int argc, char **argv);
int ctl_verb_list(struct ctl *ctl, int argc, char **argv);
int ctl_verb_show(struct ctl *ctl, int argc, char **argv);
int ctl_verb_restore(struct ctl *ctl, int argc, char **argv);
int ctl_verb_rollback(struct ctl *ctl, int argc, char **argv);
int ctl_verb_apply(struct ctl *ctl, int argc, char **argv);
int ctl_verb_status(struct ctl *ctl, int argc, char **argv);
int ctl_verb_health(struct ctl *ctl, int argc, char **argv);
int ctl_verb_pause(struct ctl *ctl, int argc, char **argv);
int ctl_verb_policy(struct ctl *ctl, int argc, char **argv);
int ctl_verb_probe(struct ctl *ctl, int argc, char **argv);
int ctl_verb_version(struct ctl *ctl, int argc, char **argv);
/* ctl_events.c */
int ctl_verb_watch(struct ctl *ctl, int argc, char **argv);
int ctl_verb_report(struct ctl *ctl, int argc, char **argv);

/* Report a local failure: "isolctl: MSG" on stderr and, with --json, an
 * {"ok":false,"error":{"code":CODE,"message":MSG}} document on stdout.
 * Returns @exit_code. */
int ctl_fail(struct ctl *ctl, int exit_code, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with @details (stolen, may be NULL) set as error.details in the
 * JSON document, e.g. every bad line of an apply file. */
int ctl_fail_details(struct ctl *ctl, int exit_code, const char *code, json_t *details,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A usage error of @verb: exit 2, with a pointer to its --help. */
int ctl_usage(struct ctl *ctl, const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- ctl_json.c: write JSON text into a growing buffer, optionally
 * flushed to a sink as it fills (so a 100,000-line apply request is
 * streamed, never held twice). */
struct ctl_jw {
	char *buf;
	size_t len, cap;
	/* when set, called with the buffered bytes once they reach @cap;
	 * returns 0 or a negative errno, which sticks in @error */
	int (*flush)(void *ctx, const char *data, size_t len);
	void *ctx;
	int error; /* first error (-ENOMEM, or from flush); later writes are no-ops */
};

/* @cap is the initial size, or the flush threshold when @flush is set. */
int ctl_jw_init(struct ctl_jw *w, size_t cap, int (*flush)(void *, const char *, size_t),
		void *ctx);
void ctl_jw_fini(struct ctl_jw *w);
void ctl_jw_raw(struct ctl_jw *w, const char *s, size_t n);
void ctl_jw_lit(struct ctl_jw *w, const char *s); /* raw NUL-terminated */
/* A JSON string literal with quotes. @s must be valid UTF-8 (see
 * ctl_utf8_valid); control characters, '"' and '\\' are escaped. */
void ctl_jw_str(struct ctl_jw *w, const char *s, size_t n);
/* The same without the quotes: a piece of a longer string. */
void ctl_jw_str_body(struct ctl_jw *w, const char *s, size_t n);
void ctl_jw_int(struct ctl_jw *w, long long v);
/* Any jansson value, compact. */
void ctl_jw_value(struct ctl_jw *w, const json_t *v);
/* Object members: `"key":value` preceded by ',' unless @first. */
void ctl_jw_key(struct ctl_jw *w, const char *key, bool first);
/* Hand the buffered bytes to the sink; 0 or the sticky error. */
int ctl_jw_flush(struct ctl_jw *w);

bool ctl_utf8_valid(const char *s, size_t n);
/* Make @s valid UTF-8 for a JSON document: if it is not, every non-ASCII
 * byte becomes '?'. */
void ctl_utf8_force(char *s);

/* Reading JSON text without building a tree: a 100,000-action list is
 * ~30 MiB of text, and as jansson values ten times that in memory. */

/* Skip one value (leading blanks allowed) and check its grammar; returns
 * the first byte after it, or NULL when it is not valid JSON. */
const char *ctl_json_skip(const char *p, const char *end);

/* Members of an object or elements of an array, one at a time. */
struct ctl_json_it {
	const char *p, *end;
	char close; /* '}' or ']' */
	bool first;
};
/* @p points at (blanks and) '{' or '['. 0, or -EPROTO. */
int ctl_json_it_init(struct ctl_json_it *it, const char *p, const char *end);
/* 1 with the next item, 0 at the end, -EPROTO on bad JSON. For objects
 * @key/@klen is the raw key between its quotes (escapes not decoded); for
 * arrays it is NULL. [*val, *vend) is the value's text. */
int ctl_json_it_next(struct ctl_json_it *it, const char **key, size_t *klen, const char **val,
		     const char **vend);
/* Decode the JSON string at @p (its opening quote) into @out, cut at a
 * character boundary to fit @len (NUL-terminated). 0, or -EINVAL when @p is
 * not a string. The iterator and this decoder expect text already checked
 * by ctl_json_skip() (ctl_resp_parse does); on other text they stay in
 * bounds but may return garbage. */
int ctl_json_str_decode(const char *p, const char *end, char *out, size_t len);
/* A non-negative integer value; -EINVAL for anything else. */
int ctl_json_u64(const char *p, const char *end, uint64_t *v);
/* Re-indent valid JSON text for a terminal, two spaces a level. */
void ctl_json_pretty(FILE *out, const char *p, size_t len);

/* A response: the small members parsed by jansson, and the one large array
 * ("actions" of list, "removed" of restore/rollback) left as text to be
 * walked one element at a time. */
struct ctl_resp {
	json_t *obj;	   /* every member, the large array replaced by [] */
	const char *items; /* that array's text, "[...]", or NULL */
	size_t items_len;
	char *raw; /* the line as received */
	size_t raw_len;
};
/* Take ownership of @line (malloc'd, NUL-terminated at @len) and parse it:
 * an object with a boolean "ok". 0, or -EPROTO with a message (the line is
 * freed either way on failure). */
int ctl_resp_parse(struct ctl_resp *r, char *line, size_t len, struct isol_err *err);
void ctl_resp_fini(struct ctl_resp *r);

/* ---- ctl_client.c: one connection to the agent. */
struct ctl_conn {
	int fd;
	const char *path;
	uint64_t deadline_ms; /* monotonic */
	unsigned timeout_ms;
	struct isol_err send_err; /* the first failure of ctl_conn_sink */
};

/* Connect to @path within @timeout_ms; the same deadline then bounds the
 * whole exchange. 0 or -errno with a message in @err. */
int ctl_conn_open(struct ctl_conn *c, const char *path, unsigned timeout_ms, struct isol_err *err);
void ctl_conn_close(struct ctl_conn *c);
/* Write all of @data. -EPIPE/-ECONNRESET when the agent hung up (it may
 * still have answered: read the response), -ETIMEDOUT, or another -errno. */
int ctl_conn_send(struct ctl_conn *c, const void *data, size_t len, struct isol_err *err);
/* Sink for struct ctl_jw: @ctx is a struct ctl_conn. */
int ctl_conn_sink(void *ctx, const char *data, size_t len);
/* Read one response line (without its newline) into a malloc'd buffer the
 * caller frees. 0 or -errno (-ETIMEDOUT, -ECONNRESET for a close without an
 * answer, -EMSGSIZE past CTL_MAX_RESPONSE). */
int ctl_conn_recv_line(struct ctl_conn *c, char **line, size_t *len, struct isol_err *err);

/* Read and parse one response (see ctl_resp_parse). 0 or -errno with a
 * message; -EPROTO when the line is not a response. */
int ctl_receive(struct ctl_conn *c, struct ctl_resp *r, struct isol_err *err);
/* One request/response exchange on a fresh connection to @path. @req is a
 * whole request line with its newline. Same results as ctl_receive. */
int ctl_call(const char *path, const char *req, size_t len, unsigned timeout_ms, struct ctl_resp *r,
	     struct isol_err *err);

/* ---- ctl_verbs.c helpers shared with ctl_apply.c */
/* `{"v":1,"op":OP` */
void ctl_req_begin(struct ctl_jw *w, const char *op);
/* `,"dry_run":..` and `,"ssh_peer":..` when known. */
void ctl_req_mutating(struct ctl_jw *w, const struct ctl *ctl, bool dry_run);
/* Report a transport failure (exit 3). */
int ctl_unreachable(struct ctl *ctl, const struct isol_err *err);
/* After a response: print it as JSON (--json), or report an error; returns
 * -1 when the caller should render the success as text, else the exit code. */
int ctl_answered(struct ctl *ctl, const char *verb, const struct ctl_resp *r);

/* ---- ctl_apply.c: `apply -f FILE`. */
struct ctl_apply_opts {
	const char *file; /* path, or "-" for stdin */
	bool dry_run;
	bool force;
};
int ctl_apply_run(struct ctl *ctl, const struct ctl_apply_opts *opts);

/* ---- ctl_render.c: responses -> text for people. Pure functions of the
 * response and the clock; they never fail on odd input (a missing field
 * prints as "-"). */
/* The exit code an error code from the agent maps to. */
int ctl_exit_for_code(const char *code);
/* "isolctl: MESSAGE" (+ a hint) on @err for an ok:false response; returns
 * its exit code. @verb tunes the hint. */
int ctl_render_error(FILE *err, const json_t *resp, const char *verb);
void ctl_render_isolate(FILE *out, const json_t *resp, bool dry_run);
void ctl_render_list(FILE *out, const struct ctl_resp *r, uint64_t now_ms);
void ctl_render_show(FILE *out, const json_t *resp, uint64_t now_ms);
void ctl_render_removed(FILE *out, const struct ctl_resp *r, bool dry_run);
void ctl_render_apply(FILE *out, const json_t *resp, bool dry_run);
void ctl_render_status(FILE *out, const json_t *resp);
/* The response object as one JSON document (indented when @pretty). */
void ctl_render_json(FILE *out, const json_t *resp, bool pretty);
/* Write @s with terminal control characters replaced by '?', so an agent
 * string can never drive the terminal. */
void ctl_put_safe(FILE *out, const char *s);

#endif
