/* policy.h - the policy model: a group of targets in priority order, the
 * probes that say whether each is well, and the actions taken when one is
 * not; defaults, validation with every error located, and the isol_spec an
 * action becomes. No I/O here: policy_parse reads the YAML.
 *
 * Lifecycle: policy_new() -> the parser fills fields and records where each
 * key was written (the `at` marks) -> policy_finish() applies the defaults and
 * validates -> policy_set_add(). Every key of the YAML is a field here; the
 * example files in policies/ document them. */
#ifndef ISOL_POLICY_H
#define ISOL_POLICY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"
#include "isol/spec.h"
#include "isol/target.h"

#define POLICY_NAME_MAX	     40 /* "policy:" + name fits isol_action.origin */
#define POLICY_DESC_MAX	     200
#define POLICY_TARGETS_MAX   100000
#define POLICY_PROBES_MAX    8
#define POLICY_ACTIONS_MAX   __ISOL_KIND_MAX /* at most one of each kind */
#define POLICY_EXPECT_MAX    16
#define POLICY_PATH_MAX	     1024
#define POLICY_HTTP_HOST_MAX (ISOL_HOST_MAX + 6) /* name[:port] */
#define POLICY_ARGV_MAX	     64
#define POLICY_ERRORS_MAX    1000 /* per error list; one more line says so */

/* Defaults (DESIGN.md, "Health and automatic actions"). */
#define POLICY_DEF_INTERVAL_MS	    5000  /* fast_interval, down_interval and */
#define POLICY_DEF_FAST_INTERVAL_MS 1000  /* timeout are then clamped to */
#define POLICY_DEF_DOWN_INTERVAL_MS 10000 /* fit interval: see policy_probe */
#define POLICY_DEF_TIMEOUT_MS	    2000
#define POLICY_DEF_FALL		    3
#define POLICY_DEF_RISE		    2
#define POLICY_DEF_HOLD_BASE_MS	    30000
#define POLICY_DEF_HOLD_MAX_MS	    300000
#define POLICY_DEF_HOLD_DECAY_MS    60000
#define POLICY_DEF_HOLD_OBSERVE_MS  60000
#define POLICY_DEF_TTL_MS	    600000
#define POLICY_DEF_MAX_ISOLATED_PCT 50
#define POLICY_DEF_MIN_AVAILABLE    1 /* 0 for a policy with one target */
#define POLICY_DEF_PANIC_PCT	    50
#define POLICY_DEF_HTTP_EXPECT_LO   200
#define POLICY_DEF_HTTP_EXPECT_HI   399

/* Limits (inclusive). */
#define POLICY_INTERVAL_MIN_MS 50
#define POLICY_INTERVAL_MAX_MS 3600000
#define POLICY_TIMEOUT_MIN_MS  10
#define POLICY_FALL_RISE_MAX   100
#define POLICY_HOLD_MIN_MS     1000
#define POLICY_HOLD_MAX_MS     86400000
#define POLICY_TTL_MIN_MS      5000
#define POLICY_TTL_MAX_MS      (30ull * 86400000)

/* Where something was written: 1-based line and column, 0 when unknown
 * (a default). */
struct policy_mark {
	unsigned line, col;
};

/* ---- errors: one line each, "file:line:col: message" ---- */

struct policy_error {
	unsigned line, col; /* 0 for errors about a whole file or directory */
	char *text;	    /* the complete line, owned */
};

struct policy_errors {
	struct policy_error *v;
	size_t n, cap;
	/* every error reported, kept or not: past POLICY_ERRORS_MAX lines (or
	 * out of memory) lines are dropped, and one last line says so */
	size_t total;
};

void policy_errors_init(struct policy_errors *errs);
void policy_errors_fini(struct policy_errors *errs);
/* Record "FILE:LINE:COL: message", or "FILE: message" when @line is 0.
 * errs->total counts it even when the line itself is dropped, so a caller
 * that compares totals never mistakes a failure for success. */
void policy_errors_add(struct policy_errors *errs, const char *file, unsigned line, unsigned col,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void policy_errors_vadd(struct policy_errors *errs, const char *file, unsigned line, unsigned col,
			const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* Stable sort of errs->v[from..] by line and column (one file's errors). */
void policy_errors_sort(struct policy_errors *errs, size_t from);

/* ---- probes ---- */

enum policy_probe_type {
	POLICY_PROBE_TCP,   /* non-blocking connect to ADDR:PORT */
	POLICY_PROBE_HTTP,  /* GET path, status in expect */
	POLICY_PROBE_HTTPS, /* the same over TLS, certificate verified unless told */
	POLICY_PROBE_ICMP,  /* echo through a ping socket */
	POLICY_PROBE_EXEC,  /* a command: exit 0 is a pass */
	__POLICY_PROBE_MAX
};

/* The keys of a probe mapping, in the order the example files list them. */
enum policy_probe_key {
	POLICY_PK_TYPE,
	POLICY_PK_INTERVAL,
	POLICY_PK_FAST_INTERVAL,
	POLICY_PK_DOWN_INTERVAL,
	POLICY_PK_TIMEOUT,
	POLICY_PK_FALL,
	POLICY_PK_RISE,
	POLICY_PK_PORT,
	POLICY_PK_PATH,
	POLICY_PK_EXPECT,
	POLICY_PK_HOST,
	POLICY_PK_TLS_VERIFY,
	POLICY_PK_CA_FILE,
	POLICY_PK_COMMAND,
	__POLICY_PK_MAX
};

struct policy_status_range {
	uint16_t lo, hi; /* 100..599, lo <= hi */
};

struct policy_probe {
	enum policy_probe_type type;
	/* interval: the normal cadence; fast_interval: while a failure is being
	 * confirmed (SUSPECT); down_interval: while the target is acted on.
	 * Defaults: fast = min(1s, interval), down = max(10s, interval),
	 * timeout = min(2s, interval); explicit values must keep
	 * fast <= interval <= down and timeout <= interval. */
	uint64_t interval_ms, fast_interval_ms, down_interval_ms, timeout_ms;
	unsigned fall, rise; /* consecutive failures to act / passes to restore */
	uint16_t port;	     /* 0 = the target's port (see policy_probe_port) */
	/* http, https */
	char path[POLICY_PATH_MAX + 1]; /* default "/" */
	struct policy_status_range expect[POLICY_EXPECT_MAX];
	unsigned nexpect; /* default one range, 200-399 */
	/* the Host header and, for https, the server name the certificate must
	 * carry; "" = the address. The connection still goes to the target. */
	char host[POLICY_HTTP_HOST_MAX + 1];
	bool tls_verify;		   /* https; default true */
	char ca_file[POLICY_PATH_MAX + 1]; /* https: trust these CAs; "" = the system's */
	/* exec: argv, NULL-terminated, owned; argv[0] an absolute path. The
	 * prober runs it without a shell in its own process group, kills the
	 * group at `timeout`, and passes the target in the environment
	 * (ISOL_PROBE_ADDR, ISOL_PROBE_PORT: see probe.h). Exit 0 is a pass. */
	char **argv;
	unsigned argc;

	struct policy_mark mark;		/* the probe mapping */
	struct policy_mark at[__POLICY_PK_MAX]; /* where each key was written */
	uint32_t bad;				/* keys whose value did not parse */
};

/* ---- actions ---- */

enum policy_action_key {
	POLICY_AK_KIND,
	POLICY_AK_TTL,
	POLICY_AK_DIRECTION,
	POLICY_AK_MODE,
	POLICY_AK_KILL_FLOWS,
	POLICY_AK_CHECK,
	POLICY_AK_HOSTNAME,
	POLICY_AK_PREFIX,
	POLICY_AK_VIA,
	POLICY_AK_DEV,
	POLICY_AK_METRIC,
	__POLICY_AK_MAX
};

struct policy_action {
	enum isol_kind kind;
	uint64_t ttl_ms; /* renewed by the prober while still needed */
	/* isolate */
	unsigned dirs;	     /* enum isol_dir bits; default out */
	enum isol_mode mode; /* default reject */
	/* steer */
	bool kill_flows; /* move established connections too; default false */
	/* steer, pin: the agent checks that the backup answers (on the
	 * backup's port) right before applying; default true */
	bool check;
	/* pin */
	char hostname[ISOL_HOST_MAX + 1];
	/* route: route `prefix` via the backup target's address, or, with
	 * `via`, via a fixed gateway or as blackhole | unreachable | prohibit */
	struct isol_target prefix;
	bool has_via;
	enum isol_route_type route_type;
	int via_family;
	uint8_t via_addr[16];
	char dev[ISOL_DEV_MAX + 1];
	uint32_t metric;

	struct policy_mark mark;
	struct policy_mark at[__POLICY_AK_MAX];
	uint32_t bad;
};

/* ---- the policy ---- */

enum policy_key {
	POLICY_K_NAME,
	POLICY_K_DESCRIPTION,
	POLICY_K_ENABLED,
	POLICY_K_TARGETS,
	POLICY_K_PRIMARIES,
	POLICY_K_PROBE,
	POLICY_K_PROBES,
	POLICY_K_ACTION,
	POLICY_K_ACTIONS,
	POLICY_K_HOLD,
	POLICY_K_RESTORE,
	POLICY_K_GUARD,
	__POLICY_K_MAX
};

enum policy_hold_key {
	POLICY_HK_BASE,
	POLICY_HK_MAX,
	POLICY_HK_DECAY,
	POLICY_HK_OBSERVE,
	__POLICY_HK_MAX
};

enum policy_guard_key {
	POLICY_GK_MAX_ISOLATED_PCT,
	POLICY_GK_MIN_AVAILABLE,
	POLICY_GK_PANIC_PCT,
	__POLICY_GK_MAX
};

enum policy_restore {
	POLICY_RESTORE_AUTO,   /* restored when the target is well again */
	POLICY_RESTORE_MANUAL, /* kept until a person restores it */
	__POLICY_RESTORE_MAX
};

struct policy_target {
	struct isol_target target;
	struct policy_mark mark;
};

struct policy {
	char name[POLICY_NAME_MAX + 1];
	char description[POLICY_DESC_MAX + 1];
	bool enabled; /* default true; false: loaded, validated, not run */
	char *file;   /* where it was read, owned */
	struct policy_mark mark;

	/* priority order: targets[0..primaries) are primaries, the rest are
	 * backups (start not-ready; what steer, pin and route fail over to) */
	struct policy_target *targets;
	size_t ntargets;
	/* default: every target for isolate-only policies and routes with a
	 * fixed `via`, else 1 (the first target; the rest back it up) */
	size_t primaries;

	struct policy_probe *probes; /* a target is well only if all pass */
	size_t nprobes;
	struct policy_action *actions; /* at most one of each kind */
	size_t nactions;

	/* hold-down before probation: min(base * 2^(level-1), max), jittered;
	 * the level decays one step per `decay` of health; a failure within
	 * `observe` after a restore re-acts at the next level */
	uint64_t hold_base_ms, hold_max_ms, hold_decay_ms, hold_observe_ms;
	enum policy_restore restore;
	/* guard rails: at most max_isolated_pct % of the group acted on, at
	 * least min_available members left alone; fewer than panic_pct % UP is
	 * panic (steer the group to healthy backups, else fail open) */
	unsigned max_isolated_pct, min_available, panic_pct;

	struct policy_mark at[__POLICY_K_MAX];
	struct policy_mark hold_at[__POLICY_HK_MAX];
	struct policy_mark guard_at[__POLICY_GK_MAX];
	uint32_t bad, hold_bad, guard_bad;
};

/* Key names, for the parser's lookups and for messages. */
extern const char *const policy_key_names[__POLICY_K_MAX];
extern const char *const policy_probe_key_names[__POLICY_PK_MAX];
extern const char *const policy_action_key_names[__POLICY_AK_MAX];
extern const char *const policy_hold_key_names[__POLICY_HK_MAX];
extern const char *const policy_guard_key_names[__POLICY_GK_MAX];
/* The index of @s in @names[0..n), or -1. */
int policy_key_lookup(const char *const *names, int n, const char *s);

const char *policy_probe_type_name(enum policy_probe_type t); /* "tcp", ... */
int policy_probe_type_parse(const char *s, enum policy_probe_type *t);
const char *policy_restore_name(enum policy_restore r); /* "auto", "manual" */
int policy_restore_parse(const char *s, enum policy_restore *r);

/* Single values the parser checks with the model's rules: 0 or -EINVAL
 * with a message. A name is 1-40 of [A-Za-z0-9._-], starting with a letter
 * or digit; a hostname is what the hosts file takes. */
int policy_name_check(const char *s, struct isol_err *err);
int policy_hostname_check(const char *s, struct isol_err *err);

/* A zeroed policy with nothing set, owned by the caller. NULL on ENOMEM. */
struct policy *policy_new(void);
void policy_free(struct policy *p);
/* Grow p->probes / p->actions by one zeroed element; NULL on ENOMEM or when
 * the limit is reached (errno E2BIG). The element is the policy's. */
struct policy_probe *policy_add_probe(struct policy *p);
struct policy_action *policy_add_action(struct policy *p);
/* Take @t (parsed) at @mark. -ENOMEM, -E2BIG past POLICY_TARGETS_MAX. */
int policy_add_target(struct policy *p, const struct isol_target *t, struct policy_mark mark);
/* Set p->file (copied). -ENOMEM. */
int policy_set_file(struct policy *p, const char *file);

/* Apply the defaults to what was not written, then check everything that
 * needs more than one value: ranges, keys that do not belong to the probe
 * type or action kind, required keys, a steer without a backup, a pin
 * without a hostname, targets the probes cannot check... Every problem is
 * added to @errs against @file at the mark of what is wrong. Returns the
 * number of errors added (0: the policy is ready to run). */
size_t policy_finish(struct policy *p, const char *file, struct policy_errors *errs);

/* The port @probe checks on @target: the probe's port, else the target's,
 * else 80/443 for http/https; 0 for icmp (and exec without either). */
uint16_t policy_probe_port(const struct policy_probe *probe, const struct isol_target *target);

/* The timing of a probe round: the health state machine probes a target
 * with all of its probes at once, so several probes fold into one timing:
 * the shortest interval, fast_interval and down_interval, the longest
 * timeout, and the largest fall and rise (enough evidence for every probe). */
struct policy_timing {
	uint64_t interval_ms, fast_interval_ms, down_interval_ms, timeout_ms;
	unsigned fall, rise;
};
void policy_timing(const struct policy *p, struct policy_timing *t);

/* "policy:NAME", the origin of the actions @p takes. */
int policy_origin(const struct policy *p, char *buf, size_t len);

/* The spec the agent applies when @target of @p fails: action @a on
 * @target, over to @backup for steer, pin and route without `via` (NULL
 * for isolate or a fixed `via`). TTL from the action, force false, reason
 * "policy NAME: WHY" (WHY defaults to "TARGET failed its probes"; cut to
 * fit). The result has passed the same checks as the CLI's words.
 * Returns 0 or -EINVAL with a message (e.g. a backup of another family). */
int policy_action_spec(const struct policy *p, const struct policy_action *a,
		       const struct isol_target *target, const struct isol_target *backup,
		       const char *why, struct isol_spec *spec, struct isol_err *err);

/* Whether @a needs a backup target to fail over to. */
bool policy_action_needs_backup(const struct policy_action *a);

/* ---- a set of policies, unique by name ---- */

struct policy_set {
	struct policy **v; /* in load order: files sorted, then file order */
	size_t n, cap;
};

struct policy_set *policy_set_new(void);      /* NULL on ENOMEM */
void policy_set_free(struct policy_set *set); /* frees every policy; NULL is fine */
/* Take ownership of @p. -EEXIST if the name is taken (p stays the
 * caller's), -ENOMEM. */
int policy_set_add(struct policy_set *set, struct policy *p);
struct policy *policy_set_find(const struct policy_set *set, const char *name);
/* Iterate: for (i = 0; i < policy_set_count(set); i++) policy_set_at(set, i) */
size_t policy_set_count(const struct policy_set *set);
struct policy *policy_set_at(const struct policy_set *set, size_t i);

#endif
