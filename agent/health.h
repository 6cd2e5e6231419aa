/* health.h - the per-target health state machine and the guard rails of a
 * policy's group. Pure logic: no sockets, no clock, no randomness of its own.
 * The caller passes the time (any monotonic clock in ms), a random source,
 * and the probe results; the module says which probe rounds to start, when
 * to call it again, and what to do (decisions), which the agent turns into
 * actions through its normal path.
 *
 * A target:  INIT -> UP -> SUSPECT -> [guard rails] -> ACTED (hold-down)
 *            -> PROBATION -> (restore) -> UP_RECENT (observation) -> UP
 * Backups start NOT_READY until `rise` passes. A failed target that was not
 * acted on (refused, failed open, rolled back, or a backup) is DOWN until
 * `rise` passes. A round is every probe of a target at once: it fails as soon
 * as one probe fails and passes only when all pass; a neutral result (a
 * failure on this host: EMFILE, fork, no local address) counts neither way. */
#ifndef ISOL_HEALTH_H
#define ISOL_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"
#include "isol/spec.h"

#define HEALTH_PROBES_MAX 8   /* checks per target */
#define HEALTH_GROUP_MAX  64  /* group (policy) name, NUL included */
#define HEALTH_NAME_MAX	  128 /* target name, NUL included */
#define HEALTH_REASON_MAX 160
#define HEALTH_KIND(k)	  (1u << (k)) /* a bit of health_group_conf.kinds */

enum health_state {
	HEALTH_INIT,	  /* a primary not yet probed; counts as up */
	HEALTH_NOT_READY, /* a backup before its first `rise` passes */
	HEALTH_UP,
	HEALTH_SUSPECT, /* 1..fall-1 consecutive failures, probed at fast_interval */
	HEALTH_DOWN,	/* failed, no action in place (refused, failed open, rolled back, backup) */
	HEALTH_ACTED,	/* our action is in place; hold-down until it may be lifted */
	HEALTH_PROBATION, /* hold over, action still in place: needs `rise` passes */
	HEALTH_UP_RECENT, /* restored; a failure in this window re-acts at the next level */
	__HEALTH_STATE_MAX
};

enum health_result {
	HEALTH_PASS,
	HEALTH_FAIL,
	HEALTH_NEUTRAL,
	__HEALTH_RESULT_MAX /* also "no result yet" in a status */
};

/* Why an automatic action was refused (or lifted, for a fail-open restore). */
enum health_refusal {
	HEALTH_REFUSE_NONE,
	HEALTH_REFUSE_PAUSED,	   /* health_pause(): a person is at work */
	HEALTH_REFUSE_FROZEN,	   /* most watched targets failing: the fault is probably here */
	HEALTH_REFUSE_ROLLED_BACK, /* a person's rollback: until it recovers and fails again */
	HEALTH_REFUSE_RATE,	   /* rate_per_min new actions in the last minute */
	HEALTH_REFUSE_NO_BACKUP,   /* steer/pin and no backup UP with a recent pass */
	HEALTH_REFUSE_MAX_PCT,	   /* would act on more than max_isolated_pct of the group */
	HEALTH_REFUSE_MIN_AVAIL,   /* would leave fewer than min_available members */
	HEALTH_REFUSE_PANIC,	   /* fewer than panic_pct up, nowhere to steer: fail open */
	HEALTH_REFUSE_NOT_APPLIED, /* the agent could not apply it (health_note_not_applied) */
	__HEALTH_REFUSE_MAX
};

enum health_do {
	HEALTH_DO_ACT,	   /* apply @kinds to @target (steer/pin to @backup) */
	HEALTH_DO_RESTORE, /* lift every automatic action of @target */
	HEALTH_DO_REFUSE,  /* nothing to do: record/announce @why */
};

/* Module-wide settings; health_conf_init() gives the defaults shown. */
struct health_conf {
	unsigned jitter_pct;   /* 10: intervals +-10 %, holds up to 10 % shorter */
	unsigned freeze_pct;   /* 50: freeze when more than this % of all targets fail; 0 = never */
	unsigned freeze_min;   /* 3: ... and at least this many */
	unsigned rate_per_min; /* 10 new actions per minute, all groups together; 0 = unlimited */
	/* Uniform 32-bit random numbers (required). */
	uint32_t (*rand)(void *data);
	void *rand_data;
};

/* One policy's group; health_group_conf_init() gives the defaults shown. */
struct health_group_conf {
	const char *name;	    /* unique; copied */
	const char *const *targets; /* priority order: primaries, then backups; copied */
	unsigned ntargets;
	unsigned nprimary;	   /* 0: 1 when a kind goes to a backup, else all */
	unsigned nprobes;	   /* 1: checks per target, all must pass */
	unsigned kinds;		   /* HEALTH_KIND(ISOL_KIND_*) bits, at least one */
	unsigned backup_kinds;	   /* 0: steer and pin go to a backup; add route without `via` */
	uint64_t interval_ms;	   /* 5000 */
	uint64_t fast_interval_ms; /* 1000: suspect, and rising after a failure */
	uint64_t down_interval_ms; /* 10000: acted (hold), down */
	uint64_t timeout_ms;	   /* 2000: the longest probe; no result by then = neutral */
	unsigned fall;		   /* 3 consecutive failures to act */
	unsigned rise;		   /* 2 consecutive passes to restore or get ready */
	uint64_t hold_base_ms;	   /* 30000: hold = min(base * 2^(level-1), max) */
	uint64_t hold_max_ms;	   /* 300000 */
	bool manual_restore;	   /* stay ACTED until health_note_restored() */
	unsigned max_isolated_pct; /* 50: of the primaries, for actions without a backup */
	unsigned min_available;	   /* 1: primaries left without an action */
	unsigned panic_pct;	   /* 50: fewer primaries up than this % = panic; 0 = never */
	uint64_t observe_ms;	   /* 60000: observation window after a restore */
	uint64_t decay_ms;	   /* 60000: the level drops one step per this much health */
	unsigned recent_intervals; /* 3: a backup's pass is recent within this many intervals */
};

/* A probe round to start now: every probe 0..nprobes-1 of @target. */
struct health_round {
	unsigned target;
	uint32_t round; /* give it back to health_feed() with each result */
	unsigned nprobes;
	uint64_t timeout_ms;
};

struct health_decision {
	enum health_do what;
	unsigned target, group;
	/* ACT: what to apply, in one transaction, steer and pin before route and
	 * isolate (so callers are never refused with a healthy backup at hand).
	 * RESTORE: what was applied. */
	unsigned kinds;
	int backup;   /* steer/pin/route destination (a target id), -1 = none */
	bool replace; /* ACT on a target already acted on: replaces its actions */
	unsigned level;
	uint64_t hold_ms;	 /* ACT: the hold-down chosen (jittered) */
	enum health_refusal why; /* REFUSE, and a fail-open RESTORE */
	uint64_t at_ms;
	char reason[HEALTH_REASON_MAX]; /* for the action's reason and the event */
};

/* What `isolctl health` shows for one target. */
struct health_status {
	const char *group, *target; /* owned by the module */
	bool backup;		    /* a steer/pin destination, never acted on */
	enum health_state state;
	enum health_result last; /* last round; __HEALTH_RESULT_MAX = none yet */
	char last_reason[HEALTH_REASON_MAX];
	uint64_t last_at, last_pass_at; /* 0 = never */
	unsigned fails, passes;		/* consecutive */
	unsigned level;
	uint64_t hold_left_ms;	/* ACTED (auto restore): until probation */
	bool probing;		/* a round is in flight */
	uint64_t next_probe_ms; /* when not probing */
	unsigned kinds;		/* applied now; 0 = none */
	int backup_target;	/* steered/pinned to, -1 = none */
	bool rolled_back, group_panic, frozen, paused;
	enum health_refusal refused; /* the last refusal standing, NONE when acted or well */
	char refused_reason[HEALTH_REASON_MAX];
	uint64_t refused_at;
};

/* What survives a restart (journal it): the level, the decision state and
 * the hold, so a crash loop can neither reset holds nor forget a rollback. */
struct health_saved {
	char group[HEALTH_GROUP_MAX];
	char target[HEALTH_NAME_MAX];
	enum health_state state; /* ACTED, PROBATION, UP_RECENT, DOWN+rolled_back are restored */
	unsigned level;
	unsigned kinds;
	char backup[HEALTH_NAME_MAX]; /* "" = none */
	uint64_t hold_until_ms;	      /* wall clock; 0 = none */
	bool rolled_back;
};

struct health;

void health_conf_init(struct health_conf *c);
void health_group_conf_init(struct health_group_conf *c);

/* A module with no groups; @c is copied (rand is required). NULL with errno
 * EINVAL or ENOMEM. */
struct health *health_new(const struct health_conf *c);
void health_free(struct health *h);

/* Add a group: its targets get the next ids (in the order given) and their
 * first probe at a random point of the first interval after @now. Returns
 * the group id (>= 0), -EINVAL with a message for a bad conf, -EEXIST for a
 * name in use, -ENOMEM. */
int health_group_add(struct health *h, const struct health_group_conf *c, uint64_t now,
		     struct isol_err *err);

unsigned health_target_count(const struct health *h); /* ids are 0..count-1 */
/* Target id of @target in group @group, or -ENOENT. */
int health_target_find(const struct health *h, const char *group, const char *target);
const char *health_target_name(const struct health *h, unsigned target); /* NULL if none */
const char *health_group_name(const struct health *h, unsigned group);

/* Do what is due at @now (rounds past their deadline, holds and windows that
 * end, level decay, refused actions to retry) and fill @out with up to @max
 * rounds to start. Returns how many (call again while it returns @max), or
 * -ENOMEM. Decisions may be queued. */
int health_tick(struct health *h, uint64_t now, struct health_round *out, size_t max);

/* The result of probe @probe of round @round of @target, with a one-line
 * @reason (may be NULL: "connection refused", "http 500", "EMFILE"). 0, or
 * -ENOENT (no such target), -EINVAL (bad probe or result), -ESTALE (not the
 * open round, or that probe already reported: ignored), -ENOMEM. Decisions
 * may be queued. */
int health_feed(struct health *h, unsigned target, uint32_t round, unsigned probe,
		enum health_result res, const char *reason, uint64_t now);

/* When health_tick() must next be called; UINT64_MAX if never. */
uint64_t health_next_due(const struct health *h);

/* Pop the oldest queued decision into @d: 1, or 0 when there is none. */
int health_next_decision(struct health *h, struct health_decision *d);

/* A person rolled back the automatic action of @target: it is not acted on
 * again until it has recovered (`rise` passes) and failed again. The caller
 * has removed the action itself. 0, or -ENOENT if nothing was acted on. */
int health_note_rolled_back(struct health *h, unsigned target, uint64_t now);
/* A person restored @target (restore: manual, or `isolctl restore`): it is
 * watched again in the observation window. The caller has removed the action
 * itself. 0, or -ENOENT if nothing was acted on. */
int health_note_restored(struct health *h, unsigned target, uint64_t now);
/* The action decided for @target could not be applied (refused, kernel
 * error), or is gone (expired while the agent was down): back to DOWN, tried
 * again after down_interval. 0, or -ENOENT if nothing was acted on. */
int health_note_not_applied(struct health *h, unsigned target, const char *reason, uint64_t now);

/* No automatic actions (acts or restores) while paused; probing goes on.
 * Resuming re-evaluates every group at @now. */
int health_pause(struct health *h, bool paused, uint64_t now);

/* Status of @target at @now. 0 or -ENOENT. */
int health_status(const struct health *h, unsigned target, uint64_t now, struct health_status *st);
bool health_frozen(const struct health *h);

/* Persist @target (@now on the caller's clock, @wall_ms the wall clock at
 * the same moment, for the hold). 0 or -ENOENT. */
int health_save(const struct health *h, unsigned target, uint64_t now, uint64_t wall_ms,
		struct health_saved *s);
/* Restore a saved target into the group and target of the same names (after
 * health_group_add). Holds resume with what was left of them in wall time;
 * a probation or a window starts over. 0, -ENOENT (no such target, nothing
 * restored), -ENOMEM. Decisions may be queued (a backup no longer there). */
int health_load(struct health *h, const struct health_saved *s, uint64_t now, uint64_t wall_ms);
/* A new JSON object for the journal, NULL on ENOMEM. */
json_t *health_saved_to_json(const struct health_saved *s);
/* Parse what health_saved_to_json() made. 0 or -EINVAL with a message. */
int health_saved_from_json(const json_t *o, struct health_saved *s, struct isol_err *err);

/* A reload: give every target of @to that @from has (same group and target
 * names) @from's state, counters, timers and decisions in force, plus the
 * pause and the rate limit. Rounds in flight in @from are dropped (their
 * targets are probed again at @now). Drain @from's decisions first. 0 or
 * -ENOMEM. Decisions may be queued. */
int health_carry(struct health *to, const struct health *from, uint64_t now);

const char *health_state_name(enum health_state s); /* "up", "not-ready", "probation"... */
int health_state_parse(const char *s, enum health_state *st);
const char *health_result_name(enum health_result r);	/* "pass", "fail", "neutral", "-" */
const char *health_refusal_name(enum health_refusal r); /* "none", "frozen", "rate-limit"... */

#endif
