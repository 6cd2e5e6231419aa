/* spec.h - one requested action as the user words it, the same on the command
 * line, in an `apply` file, in the journal and on the wire:
 *   isolate TARGET [--direction out|in|fwd|all] [--mode reject|drop]
 *   steer TARGET --to ADDR[:PORT] [--kill-flows] [--no-check]
 *   pin HOSTNAME ADDR [--check-port PORT]
 *   route PREFIX via GW [dev IF] | blackhole | unreachable | prohibit
 *         [--metric N] [--replace]
 * each with [--ttl DUR] [--reason TEXT] [--force]
 * Shared by isolctl (argv) and the agent (apply lines), so both read the
 * words identically. */
#ifndef ISOL_SPEC_H
#define ISOL_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "isol/err.h"
#include "isol/target.h"

#define ISOL_REASON_MAX 200

enum isol_kind {
	ISOL_KIND_ISOLATE,
	ISOL_KIND_STEER,
	ISOL_KIND_PIN,
	ISOL_KIND_ROUTE,
	__ISOL_KIND_MAX
};

enum isol_route_type {
	ISOL_ROUTE_VIA,
	ISOL_ROUTE_BLACKHOLE,
	ISOL_ROUTE_UNREACHABLE,
	ISOL_ROUTE_PROHIBIT,
	__ISOL_ROUTE_MAX
};

#define ISOL_HOST_MAX 253
#define ISOL_DEV_MAX 15

/* Directions are a bit set: `all` is every bit. */
enum isol_dir {
	ISOL_DIR_OUT = 1 << 0, /* this host calling the target (output hook) */
	ISOL_DIR_IN = 1 << 1,  /* callers reaching a local target (input hook) */
	ISOL_DIR_FWD = 1 << 2, /* routed / container traffic (forward hook) */
	ISOL_DIR_ALL = ISOL_DIR_OUT | ISOL_DIR_IN | ISOL_DIR_FWD,
};

enum isol_mode {
	ISOL_MODE_REJECT, /* TCP reset / ICMP admin-prohibited: callers fail fast */
	ISOL_MODE_DROP,   /* silence: callers time out */
	__ISOL_MODE_MAX
};

struct isol_spec {
	enum isol_kind kind;
	struct isol_target target; /* isolate, steer: what; route: the prefix */
	unsigned dirs;             /* isolate: enum isol_dir bits, never 0 */
	enum isol_mode mode;       /* isolate */
	uint64_t ttl_ms;           /* 0 = no expiry */
	bool force;                /* allow protected targets */

	/* where to: steer --to, pin's ADDR, route's gateway */
	int to_family;             /* 0 when unset */
	uint8_t to_addr[16];
	uint16_t to_port;          /* steer: 0 = the target's own port */
	bool kill_flows, no_check; /* steer */
	uint16_t check_port;       /* pin: 0 = no check */
	enum isol_route_type route_type;
	char dev[ISOL_DEV_MAX + 1]; /* route: "" = any */
	uint32_t metric;           /* route: 0 = kernel default */
	bool replace;              /* route: may replace an existing route */

	/* The two long strings come last, in this order: an action in the
	 * agent's set is allocated only as long as it needs (actions.h). */
	char reason[ISOL_REASON_MAX + 1];
	char host[ISOL_HOST_MAX + 1]; /* pin */
};

/* Well-formed UTF-8 (RFC 3629), what JSON may carry. */
bool isol_utf8_valid(const char *s);

/* Defaults: isolate, out, reject, no TTL, no reason. */
void isol_spec_init(struct isol_spec *spec);

/* Parse a mutating verb (isolate, steer, pin, route) and its words from argv
 * (argv[0] is the verb).
 * Options unknown to this verb, missing values and bad values are -EINVAL
 * with a message naming the word. --dry-run is accepted and reported through
 * @dry_run (may be NULL: then it is refused, as inside apply files). */
int isol_spec_parse_argv(int argc, char **argv, struct isol_spec *spec, bool *dry_run,
			 struct isol_err *err);

/* Split one `apply` line into words: blanks separate, "double" and 'single'
 * quotes group, `#` outside quotes starts a comment. Writes pointers into
 * @line (modified in place). Returns the word count, 0 for a blank/comment
 * line, or -EINVAL (unterminated quote, more than @max words). */
int isol_line_split(char *line, char **argv, int max, struct isol_err *err);

/* Parse one apply line: split + isol_spec_parse_argv. 0 = parsed an action,
 * 1 = blank or comment (nothing to do), -EINVAL with a message. */
int isol_spec_parse_line(const char *line, struct isol_spec *spec, struct isol_err *err);

/* Render the spec back as words that parse to the same spec. */
int isol_spec_format(const struct isol_spec *spec, char *buf, size_t len);

const char *isol_kind_name(enum isol_kind kind);
int isol_kind_parse(const char *s, enum isol_kind *kind);
const char *isol_route_type_name(enum isol_route_type t); /* via, blackhole, ... */
/* The "to" address as text: "10.0.0.6", "10.0.0.6:5673", "[2001:db8::6]:80". */
int isol_spec_to_format(const struct isol_spec *spec, char *buf, size_t len);
/* Parse ADDR or ADDR:PORT (IPv6 in brackets with a port) into spec->to_*.
 * @allow_port false refuses a port. */
int isol_spec_to_parse(struct isol_spec *spec, const char *s, bool allow_port,
		       struct isol_err *err);
/* What `list` shows as the action's subject: the target, or the hostname. */
int isol_spec_subject(const struct isol_spec *spec, char *buf, size_t len);
const char *isol_mode_name(enum isol_mode mode);
/* "out", "in", "fwd", "all", or a comma list like "out,in". */
int isol_dirs_format(unsigned dirs, char *buf, size_t len);
int isol_dirs_parse(const char *s, unsigned *dirs);
int isol_mode_parse(const char *s, enum isol_mode *mode);

#endif
