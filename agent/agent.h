/* agent.h - the agent's state and the operations every path shares (CLI
 * requests now, the health prober later): decide, write to the kernel in one
 * transaction, journal (fsync) and only then report success. */
#ifndef ISOL_AGENT_H
#define ISOL_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "actions.h"
#include "control.h"
#include "effects.h"
#include "events.h"
#include "journal.h"
#include "protect.h"
#include "reconcile.h"
#include "supervise.h"

struct agent_opts {
	const char *socket_path;
	const char *state_dir;
	const char *hosts_file;
	gid_t admin_gid, read_gid;
	struct nft_table_opts table;
	const char *const *protects; /* --protect ADDR[/LEN], checked at start too */
	size_t nprotects;
	uint64_t escalate_after_ms; /* an action in force this long: an event; 0 = never */
	const char *notify;	    /* run for each event (--notify), or NULL */
	const char *notify_types;   /* which ones, comma separated; NULL = all */
};

struct isol_agent {
	struct ev_loop *loop;
	struct agent_opts o;
	struct isol_actions actions;
	struct journal *journal;
	struct reconcile rec;
	struct effects fx; /* routes and hosts pins */
	bool started_fx;
	struct protect protect;
	struct control *control;
	ev_timer expiry;   /* fires at the next TTL */
	ev_timer watchdog; /* our table still there? */
	ev_stat hosts_watch; /* our hosts block still there? */
	ev_io routes_watch;  /* our routes still there? */
	uint64_t started_ms;
	uint64_t rebuilds; /* times the table had to be put back */
	struct supervise *sv; /* policies, probes, automatic actions; may be NULL */
	struct events *events;
	ev_timer escalate; /* looks for actions in force longer than escalate_after_ms */
};

/* Everything a request carries besides its actions. */
struct agent_req {
	const char *origin;     /* "cli", "apply" */
	struct isol_actor actor;
	const char *ssh_peer;   /* may be NULL */
	bool dry_run;
	/* dry run: called with each nft line that would change */
	void (*change_fn)(const char *line, void *data);
	void *change_data;
};

int agent_start(struct isol_agent *ag, struct ev_loop *loop, const struct agent_opts *o,
		struct isol_err *err);
void agent_stop(struct isol_agent *ag);

/* Create @n actions from @specs atomically (all or none). On success the
 * actions are in the set with ids, and pointers are returned in @out when
 * non-NULL (dry run: freed, @out untouched). Refuses protected targets
 * (unless spec->force) and duplicates, naming the offending spec by index
 * through @bad_index (may be NULL). */
int agent_add(struct isol_agent *ag, const struct isol_spec *specs, size_t n,
	      const struct agent_req *req, struct isol_action **out, size_t *bad_index,
	      struct isol_err *err);

/* The same for actions the caller made (action_new, spec filled): they get
 * ids, times, origin and actor here. On success they are in the set and
 * @acts still points at them; on a refusal, a failure or a dry run they are
 * freed and @acts[i] set to NULL. An apply of 100,000 lines builds its
 * actions directly, without a second array of specs. */
int agent_add_actions(struct isol_agent *ag, struct isol_action **acts, size_t n,
		      const struct agent_req *req, size_t *bad_index, struct isol_err *err);

/* Remove @n actions atomically; @why goes to the journal ("rollback",
 * "restore", "expired"). On success they are out of the set and the caller
 * owns (and frees) them; on dry run and failure nothing changed. */
int agent_remove(struct isol_agent *ag, struct isol_action **acts, size_t n, const char *why,
		 const struct agent_req *req, struct isol_err *err);

/* Give @n live actions a new expiry @expires_ms (TTL renewal by the prober):
 * the kernel elements are replaced in one batch, the journal records it. */
int agent_renew(struct isol_agent *ag, struct isol_action **acts, size_t n, uint64_t expires_ms,
		struct isol_err *err);

/* Journal a refused request (audit), best effort. */
void agent_refused(struct isol_agent *ag, const char *op, const char *why,
		   const struct isol_actor *actor);

/* "isolated", "steered", "pinned", "routed" */
const char *agent_done_word(enum isol_kind kind);
/* Events of the shared paths (agent_events.c). */
json_t *agent_actor_json(const struct isol_actor *a);
void agent_event_applied(struct isol_agent *ag, struct isol_action *const *acts, size_t n,
			 const struct agent_req *req);
void agent_event_refused(struct isol_agent *ag, const char *op, const char *why,
			 struct isol_action *const *acts, size_t n, const struct agent_req *req);
void agent_event_removed(struct isol_agent *ag, struct isol_action *const *acts, size_t n,
			 const char *why, const struct agent_req *req, uint64_t now);
void agent_escalation_start(struct isol_agent *ag);

/* Remove our table (isolagent --flush, no agent running). */
int agent_flush_table(const struct agent_opts *o, struct isol_err *err);

#endif
