/* actions.h - the set of active actions: ids, TTLs, origin, actor, lifecycle.
 * Pure bookkeeping: no I/O, no kernel. Ids are positive and never reused. */
#ifndef ISOL_ACTIONS_H
#define ISOL_ACTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "isol/spec.h"

struct isol_actor {
	uint32_t uid;
	int32_t pid;
	char comm[32]; /* from /proc/PID/comm, "" when unknown */
	char user[32]; /* the uid's name, resolved by the agent, "" when unknown */
};

struct isol_action {
	uint64_t id;
	uint64_t created_ms; /* wall clock, ms since the epoch */
	uint64_t expires_ms; /* wall clock; 0 = no TTL */
	char origin[48];     /* "cli", "apply", "policy:NAME" */
	struct isol_actor actor;
	uint64_t packets, bytes; /* last counters read from the kernel */
	bool escalated; /* its escalation event is out (not journaled: once per run) */
	/* route --replace: the route it replaced, to put back (route_saved
	 * words), owned; NULL for every other action */
	char *replaced;

	/* bookkeeping owned by actions.c */
	struct isol_action *hnext; /* id hash chain */
	struct isol_action *prev, *next; /* creation order */

	/* Last: once action_shrink() has run, the spec ends right after the
	 * reason's NUL (and, for a pin, the hostname's): 100,000 isolations
	 * do not carry 100,000 empty 254-byte hostnames. Read its fields; never
	 * copy or overwrite it whole after that. */
	struct isol_spec spec;
};

struct isol_actions {
	struct isol_action **buckets;
	size_t nbuckets;
	size_t count;
	uint64_t next_id; /* the id the next action will get */
	struct isol_action *head, *tail;
};

void actions_init(struct isol_actions *set);
void actions_fini(struct isol_actions *set); /* frees every action */

/* A zeroed action owned by the caller until actions_insert(). NULL on ENOMEM. */
struct isol_action *action_new(void);
/* Give back the unused tail of @a's spec (see struct isol_action), once its
 * spec is final and before anyone else holds @a. Returns the action (moved,
 * or @a itself when it cannot shrink). */
struct isol_action *action_shrink(struct isol_action *a);
/* A new action holding @spec, already as small as action_shrink() makes
 * it: one allocation (an apply of 100,000 lines makes 100,000). */
struct isol_action *action_from_spec(const struct isol_spec *spec);
void action_free(struct isol_action *a);

/* Give @a an id (if 0) and take ownership. An explicit id (journal replay)
 * advances next_id past it. -EEXIST if the id is taken. */
int actions_insert(struct isol_actions *set, struct isol_action *a);
/* Make room for @more actions at once (a large request): one rehash. */
int actions_reserve(struct isol_actions *set, size_t more);
/* The first of @acts (in order) that cannot coexist with an earlier one of
 * them (actions_find_same's rule), -1 if none, -ENOMEM. */
long actions_first_repeat(struct isol_action *const *acts, size_t n);
/* Unlink @a from the set; the caller owns it again. */
void actions_remove(struct isol_actions *set, struct isol_action *a);
struct isol_action *actions_find(const struct isol_actions *set, uint64_t id);
/* An active action with the same kind, target and overlapping direction. */
struct isol_action *actions_find_same(const struct isol_actions *set,
				      const struct isol_spec *spec);
/* Iterate in creation order: for (a = set->head; a; a = a->next). */

/* One action as the JSON object of docs/PROTOCOL.md, appended to @out:
 * responses and events write it the same way, without a jansson tree (a
 * list of 100,000 actions). @hosts_file: where a pin lives. */
struct strbuf;
void action_write_json(struct strbuf *out, const struct isol_action *a, const char *hosts_file);

#endif
