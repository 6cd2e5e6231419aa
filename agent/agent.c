/* agent.c - start-up recovery, the shared add/remove paths, TTL expiry and
 * the table watchdog. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent.h"
#include "conntrack.h"
#include "isol/duration.h"
#include "log.h"
#include "thread.h"

#define WATCHDOG_INTERVAL 0.25 /* seconds: a removed table is back within a second */
/* Up to this many steers, a removal reads the counters first, so that its
 * event says what the actions stopped. The isolations' counters are only
 * those that were hit (@hits, at most 65535), read always; a steer's is on
 * its element, and reading them means a dump of every steer. */
#define EVENT_COUNTERS_MAX 20000

static void broadcast_event(const char *line, size_t len, void *data)
{
	struct isol_agent *ag = data;

	control_broadcast(ag->control, line, len);
}

static void expiry_arm(struct isol_agent *ag);
static const char *protects_action(struct isol_agent *ag, const struct isol_spec *spec,
				   const char *ssh_peer, char *why, size_t len);

/* Drop actions whose TTL has passed. The kernel expired the nftables
 * elements on its own; routes and pins have no kernel clock, so they are
 * taken out here. */
static void expire_due(struct isol_agent *ag, uint64_t now)
{
	struct agent_req req = { .origin = "ttl" };
	struct isol_err err = { 0, "" };
	struct isol_action **due, *a;
	size_t n = 0, i;

	for (a = ag->actions.head; a; a = a->next)
		if (a->expires_ms && a->expires_ms <= now)
			n++;
	if (n == 0)
		return;
	due = malloc(n * sizeof(*due));
	if (due == NULL) {
		log_error("out of memory expiring %zu actions", n);
		return;
	}
	n = 0;
	for (a = ag->actions.head; a; a = a->next)
		if (a->expires_ms && a->expires_ms <= now)
			due[n++] = a;
	if (agent_remove(ag, due, n, "expired", &req, &err) < 0) {
		log_error("cannot expire %zu actions: %s", n, err.msg);
	} else {
		for (i = 0; i < n; i++) {
			log_info("action %llu expired", (unsigned long long)due[i]->id);
			action_free(due[i]);
		}
	}
	free(due);
}

static void expiry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct isol_agent *ag = w->data;

	expire_due(ag, isol_now_ms());
	expiry_arm(ag);
}

static void expiry_arm(struct isol_agent *ag)
{
	uint64_t next = 0, now = isol_now_ms();
	struct isol_action *a;

	for (a = ag->actions.head; a; a = a->next)
		if (a->expires_ms && (next == 0 || a->expires_ms < next))
			next = a->expires_ms;
	ev_timer_stop(ag->loop, &ag->expiry);
	if (next == 0)
		return;
	ev_timer_set(&ag->expiry, next > now ? (double)(next - now) / 1000.0 + 0.001 : 0.0, 0.0);
	ev_timer_start(ag->loop, &ag->expiry);
}

/* Arm sooner if @a expires before the timer would fire. */
static void expiry_note(struct isol_agent *ag, const struct isol_action *a)
{
	double in;

	if (a->expires_ms == 0)
		return;
	in = (double)(a->expires_ms - isol_now_ms()) / 1000.0 + 0.001;
	if (ev_is_active(&ag->expiry) && ev_timer_remaining(ag->loop, &ag->expiry) <= in)
		return;
	ev_timer_stop(ag->loop, &ag->expiry);
	ev_timer_set(&ag->expiry, in > 0 ? in : 0, 0.0);
	ev_timer_start(ag->loop, &ag->expiry);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct isol_agent *ag = w->data;
	struct isol_err err = { 0, "" };
	int rc = reconcile_table_present(&ag->rec);

	if (rc != 0)
		return;
	/* someone deleted or flushed our table (possible only where the
	 * kernel has no owner flag): put it back with everything in it */
	expire_due(ag, isol_now_ms());
	if (reconcile_rebuild(&ag->rec, &ag->actions, isol_now_ms(), &err) < 0) {
		log_error("table inet %s was removed and cannot be rebuilt: %s",
			  ag->o.table.table, err.msg);
		return;
	}
	ag->rebuilds++;
	log_warn("table inet %s was removed by someone else; rebuilt with %zu actions",
		 ag->o.table.table, ag->actions.count);
}

/* Someone edited the hosts file: put our block back as it must be. */
static void hosts_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
	struct isol_agent *ag = w->data;
	struct isol_err err = { 0, "" };
	int rc = effects_sync_hosts(&ag->fx, &ag->actions, &err);

	if (rc < 0)
		log_warn("hosts file %s changed and the isol block cannot be put back: %s",
			 ag->o.hosts_file, err.msg);
	else if (rc > 0)
		log_warn("hosts file %s was changed by someone else; isol block put back",
			 ag->o.hosts_file);
}

struct route_gone_ctx {
	struct isol_agent *ag;
	bool check_all;
};

static void route_gone(enum route_gone why, const struct route_spec *r, void *data)
{
	struct route_gone_ctx *ctx = data;
	struct isol_action *a;

	if (why == ROUTE_GONE_UNKNOWN) {
		ctx->check_all = true;
		return;
	}
	for (a = ctx->ag->actions.head; a; a = a->next) {
		struct route_spec mine;

		if (a->spec.kind != ISOL_KIND_ROUTE)
			continue;
		effects_route_of(&a->spec, &mine);
		if (route_same_key(&mine, r))
			ctx->check_all = true; /* one of ours went: put it back */
	}
}

static void routes_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct route_gone_ctx ctx = { w->data, false };
	struct isol_err err = { 0, "" };
	int n;

	route_events_read(ctx.ag->fx.routes, route_gone, &ctx);
	if (!ctx.check_all)
		return;
	n = effects_ensure_routes(&ctx.ag->fx, &ctx.ag->actions, &err);
	if (n > 0)
		log_warn("%d route%s of isol removed by someone else; put back", n,
			 n == 1 ? "" : "s");
}

int agent_start(struct isol_agent *ag, struct ev_loop *loop, const struct agent_opts *o,
		struct isol_err *err)
{
	uint64_t now;
	struct isol_action *a, *next;
	char why[160];
	size_t i;
	int rc;

	memset(ag, 0, sizeof(*ag));
	ag->loop = loop;
	ag->o = *o;
	ag->started_ms = isol_now_ms();
	actions_init(&ag->actions);
	protect_init(&ag->protect);
	for (i = 0; i < o->nprotects; i++) {
		char label[64];

		snprintf(label, sizeof(label), "--protect %s", o->protects[i]);
		rc = protect_add(&ag->protect, o->protects[i], label, err);
		if (rc < 0)
			return rc;
	}

	rc = journal_open(&ag->journal, o->state_dir, err);
	if (rc < 0)
		return rc;
	ag->events = events_open(o->state_dir, err);
	if (ag->events == NULL)
		return err ? err->code : -ENOMEM;
	events_set_sink(ag->events, broadcast_event, ag);
	events_defer(ag->events, loop);
	if (o->notify &&
	    events_set_notify(ag->events, loop, o->notify, o->notify_types, err) < 0)
		return err ? err->code : -EINVAL;
	rc = journal_replay(ag->journal, &ag->actions, err);
	if (rc < 0)
		return rc;
	if (err && err->code) {
		log_warn("journal: %s (skipped)", err->msg);
		isol_err_clear(err);
	}

	rc = reconcile_open(&ag->rec, &o->table, err);
	if (rc < 0)
		return rc;
	rc = effects_open(&ag->fx, o->hosts_file, err);
	if (rc < 0)
		return rc;
	ag->started_fx = true;

	now = isol_now_ms();
	/* the protected list may have changed while we were down (a new
	 * default gateway): an unforced action must not cut it off */
	protect_refresh(&ag->protect, now);
	for (a = ag->actions.head; a; a = next) {
		next = a->next;
		if (a->spec.force || !protects_action(ag, &a->spec, NULL, why, sizeof(why)))
			continue;
		log_warn("action %llu dropped at start: %s", (unsigned long long)a->id, why);
		journal_del(ag->journal, a->id, "protected", NULL, now);
		actions_remove(&ag->actions, a);
		if (a->spec.kind == ISOL_KIND_ROUTE) /* its route must go too */
			effects_apply(&ag->fx, &ag->actions, NULL, 0, &a, 1, false, NULL, NULL,
				      err);
		isol_err_clear(err);
		action_free(a);
	}
	if (journal_sync(ag->journal) < 0)
		return isol_err_set(err, -EIO, "cannot write the journal in %s", o->state_dir);

	/* one transaction: no moment without rules; expired ones left out */
	rc = reconcile_rebuild(&ag->rec, &ag->actions, isol_now_ms(), err);
	if (rc < 0)
		return rc;
	/* what expired while we were down goes now: routes, pins, bookkeeping */
	expire_due(ag, isol_now_ms());
	if (effects_sync_hosts(&ag->fx, &ag->actions, err) < 0) {
		log_warn("hosts file: %s", err->msg);
		isol_err_clear(err);
	}
	effects_ensure_routes(&ag->fx, &ag->actions, err);
	isol_err_clear(err);
	ag->o.table = ag->rec.opts; /* owner may have been dropped */
	log_info("table inet %s in place with %zu actions (owner %s)", o->table.table,
		 ag->actions.count, ag->rec.opts.owner ? "yes, persist" : "no, watched");

	ev_timer_init(&ag->expiry, expiry_cb, 0.0, 0.0);
	ag->expiry.data = ag;
	expiry_arm(ag);
	ev_timer_init(&ag->watchdog, watchdog_cb, WATCHDOG_INTERVAL, WATCHDOG_INTERVAL);
	ag->watchdog.data = ag;
	ev_timer_start(loop, &ag->watchdog);
	ev_stat_init(&ag->hosts_watch, hosts_cb, o->hosts_file, 0.5);
	ag->hosts_watch.data = ag;
	ev_stat_start(loop, &ag->hosts_watch);
	ev_io_init(&ag->routes_watch, routes_cb, route_events_fd(ag->fx.routes), EV_READ);
	ag->routes_watch.data = ag;
	ev_io_start(loop, &ag->routes_watch);
	agent_escalation_start(ag);
	events_emit(ag->events, EVENT_AGENT, NULL,
		    "isolagent %s started: %zu actions in force, table inet %s (owner %s)",
		    ISOL_VERSION, ag->actions.count, o->table.table,
		    ag->rec.opts.owner ? "yes" : "no, watched");
	return 0;
}

void agent_stop(struct isol_agent *ag)
{
	if (ag->events && ag->journal)
		events_emit(ag->events, EVENT_AGENT, NULL,
			    "isolagent stopping: %zu actions stay in force without it",
			    ag->actions.count);
	if (ag->loop) {
		ev_timer_stop(ag->loop, &ag->escalate);
		ev_timer_stop(ag->loop, &ag->expiry);
		ev_timer_stop(ag->loop, &ag->watchdog);
		ev_stat_stop(ag->loop, &ag->hosts_watch);
		ev_io_stop(ag->loop, &ag->routes_watch);
	}
	supervise_close(ag->sv);
	ag->sv = NULL;
	if (ag->started_fx)
		effects_close(&ag->fx);
	control_close(ag->control);
	ag->control = NULL;
	if (ag->rec.port)
		reconcile_close(&ag->rec); /* the table persists: isolation stays */
	journal_close(ag->journal);
	ag->journal = NULL;
	events_close(ag->events);
	ag->events = NULL;
	actions_fini(&ag->actions);
	protect_fini(&ag->protect);
}

int agent_renew(struct isol_agent *ag, struct isol_action **acts, size_t n, uint64_t expires_ms,
		struct isol_err *err)
{
	uint64_t now = isol_now_ms(), *old;
	size_t i;
	int rc;

	old = malloc(n * sizeof(*old));
	if (old == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		old[i] = acts[i]->expires_ms;
		acts[i]->expires_ms = expires_ms;
	}
	/* destroy and add again in one batch: the new timeout, no gap */
	rc = reconcile_change(&ag->rec, acts, n, acts, n, false, now, err);
	for (i = 0; rc == 0 && i < n; i++)
		rc = journal_renew(ag->journal, acts[i]->id, expires_ms);
	if (rc == 0)
		rc = journal_sync(ag->journal);
	if (rc < 0) {
		journal_discard(ag->journal);
		for (i = 0; i < n; i++)
			acts[i]->expires_ms = old[i];
		if (err && err->code == 0)
			isol_err_set(err, rc, "cannot renew: %s", strerror(-rc));
	}
	free(old);
	return rc;
}

void agent_refused(struct isol_agent *ag, const char *op, const char *why,
		   const struct isol_actor *actor)
{
	struct agent_req req = { .origin = "cli", .actor = *actor };

	agent_event_refused(ag, op, why, NULL, 0, &req);
	journal_refused(ag->journal, op, why, actor, isol_now_ms());
	if (journal_sync(ag->journal) < 0)
		log_warn("journal: cannot record a refusal");
}

/* Is the action's target protected? Pins change no traffic path of ours. */
static const char *protects_action(struct isol_agent *ag, const struct isol_spec *spec,
				   const char *ssh_peer, char *why, size_t len)
{
	if (spec->kind == ISOL_KIND_PIN)
		return NULL;
	return protect_match(&ag->protect, &spec->target, ssh_peer, why, len);
}

static void describe_all(struct isol_agent *ag, struct isol_action **acts, size_t n, bool add,
			 const struct agent_req *req, uint64_t now)
{
	size_t i;

	if (req->change_fn == NULL)
		return;
	for (i = 0; i < n; i++)
		nft_describe_action(&ag->o.table, acts[i], add, now, req->change_fn,
				    req->change_data);
}

/* Two lines of one request naming the same target in an overlapping
 * direction: the later one is refused. */
static int check_request_duplicates(struct isol_action *const *acts, size_t n,
				    size_t *bad_index, struct isol_err *err)
{
	char t[ISOL_HOST_MAX + 1];
	long i = n < 2 ? -1 : actions_first_repeat(acts, n);

	if (i == -ENOMEM)
		return isol_err_set(err, -ENOMEM, "out of memory");
	if (i < 0)
		return 0;
	isol_spec_subject(&acts[i]->spec, t, sizeof(t));
	if (bad_index)
		*bad_index = (size_t)i;
	return isol_err_set(err, -EEXIST, "%s is named twice in this request", t);
}

const char *agent_done_word(enum isol_kind kind)
{
	switch (kind) {
	case ISOL_KIND_STEER:
		return "steered";
	case ISOL_KIND_PIN:
		return "pinned";
	case ISOL_KIND_ROUTE:
		return "routed";
	default:
		return "isolated";
	}
}

/* Duplicate check across the set and within the request. */
static int check_duplicates(struct isol_agent *ag, struct isol_action *const *acts, size_t n,
			    size_t *bad_index, struct isol_err *err)
{
	struct isol_action *prev;
	char t[ISOL_HOST_MAX + 1];
	size_t i;

	for (i = 0; i < n; i++) {

		const struct isol_spec *sp = &acts[i]->spec;

		prev = actions_find_same(&ag->actions, sp);
		if (prev == NULL)
			continue;
		isol_spec_subject(sp, t, sizeof(t));
		if (bad_index)
			*bad_index = i;
		return isol_err_set(err, -EEXIST,
				    "%s is already %s by action %llu (roll it back first%s)", t,
				    agent_done_word(sp->kind), (unsigned long long)prev->id,
				    sp->kind == ISOL_KIND_ISOLATE ? ", or pick another direction" : "");
	}
	return check_request_duplicates(acts, n, bad_index, err);
}

/* Established flows stay where NAT put them: cut them, so they reconnect to
 * the backup. After the commit: a failure here does not undo the steer. */
static void kill_flows(const struct isol_action *a)
{
	struct isol_err err = { 0, "" };
	int n = conntrack_kill(&a->spec.target, &err);

	if (n < 0)
		log_warn("action %llu: --kill-flows: %s", (unsigned long long)a->id, err.msg);
	else
		log_info("action %llu: %d established flow%s cut", (unsigned long long)a->id, n,
			 n == 1 ? "" : "s");
}

int agent_add(struct isol_agent *ag, const struct isol_spec *specs, size_t n,
	      const struct agent_req *req, struct isol_action **out, size_t *bad_index,
	      struct isol_err *err)
{
	struct isol_action **acts;
	size_t i;
	int rc;

	acts = calloc(n ? n : 1, sizeof(*acts));
	if (acts == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		acts[i] = action_new();
		if (acts[i] == NULL) {
			while (i-- > 0)
				action_free(acts[i]);
			free(acts);
			return isol_err_set(err, -ENOMEM, "out of memory");
		}
		acts[i]->spec = specs[i];
	}
	rc = agent_add_actions(ag, acts, n, req, bad_index, err);
	for (i = 0; rc == 0 && out && i < n; i++)
		out[i] = acts[i];
	free(acts);
	return rc;
}

/* From this many actions in one request on, the journal is written by a
 * second thread while the kernel applies the batch (journal_ahead). */
#define JOURNAL_AHEAD_MIN 8192

struct ahead {
	struct isol_agent *ag;
	struct isol_action *const *acts;
	size_t n;
	pthread_t thread;
	bool started;
	int rc;
};

/* The records of a large request, written and synced ahead of its commit
 * (journal_write_ahead): on the second core while the kernel takes the
 * batch, which is most of the request's time. */
static void *journal_ahead(void *arg)
{
	struct ahead *h = arg;
	size_t i;

	for (i = 0; i < h->n && h->rc == 0; i++)
		h->rc = journal_add(h->ag->journal, h->acts[i]);
	if (h->rc == 0)
		h->rc = journal_write_ahead(h->ag->journal);
	return NULL;
}

int agent_add_actions(struct isol_agent *ag, struct isol_action **acts, size_t n,
		      const struct agent_req *req, size_t *bad_index, struct isol_err *err)
{
	uint64_t now = isol_now_ms(), id, mono0 = isol_mono_ms();
	struct ahead ahead = { .started = false };
	size_t i, olen;
	char why[160];
	int rc;

	if (n == 0)
		return isol_err_set(err, -EINVAL, "no actions given");
	protect_refresh(&ag->protect, now);
	for (i = 0; i < n; i++) {
		const struct isol_spec *sp = &acts[i]->spec;

		if (sp->force)
			continue;
		if (protects_action(ag, sp, req->ssh_peer, why, sizeof(why))) {
			char t[ISOL_TARGET_STRLEN];

			isol_target_format(&sp->target, t, sizeof(t));
			if (bad_index)
				*bad_index = i;
			rc = isol_err_set(err, -EACCES, "%s is protected: %s; add --force if "
							"you really mean it",
					  t, why);
			goto out_free;
		}
	}
	rc = check_duplicates(ag, acts, n, bad_index, err);
	if (rc < 0)
		goto out_free;
	if (actions_reserve(&ag->actions, n) < 0) {
		rc = isol_err_set(err, -ENOMEM, "out of memory");
		goto out_free;
	}

	id = ag->actions.next_id;
	olen = strnlen(req->origin, sizeof(acts[0]->origin) - 1);
	for (i = 0; i < n; i++) {
		struct isol_action *a = acts[i];

		a->id = id + i;
		a->created_ms = now;
		a->expires_ms = a->spec.ttl_ms ? now + a->spec.ttl_ms : 0;
		memcpy(a->origin, req->origin, olen); /* not snprintf: 100,000 times */
		a->origin[olen] = '\0';
		a->actor = req->actor;
	}

	rc = effects_check(&ag->fx, acts, n, bad_index, err);
	if (rc < 0)
		goto out_free;
	for (i = 0; i < n; i++)
		acts[i] = action_shrink(acts[i]); /* final now: give back its unused tail */
	/* a large request is journaled by a second thread while the kernel
	 * applies it; nothing else touches the journal meanwhile */
	ahead.ag = ag;
	ahead.acts = acts;
	ahead.n = n;
	ahead.rc = 0;
	ahead.started = !req->dry_run && n >= JOURNAL_AHEAD_MIN &&
			isol_thread_start(&ahead.thread, journal_ahead, &ahead) == 0;
	rc = reconcile_change(&ag->rec, acts, n, NULL, 0, req->dry_run, now, err);
	if (ahead.started) {
		pthread_join(ahead.thread, NULL);
		if (rc == 0 && ahead.rc < 0) {
			struct isol_err ignored = { 0, "" };

			/* not durable, so not done: out of the kernel again */
			reconcile_change(&ag->rec, NULL, 0, acts, n, false, now, &ignored);
			rc = isol_err_set(err, ahead.rc,
					  "cannot write the journal in %s: %s (nothing changed)",
					  ag->o.state_dir, strerror(-ahead.rc));
		}
		if (rc < 0)
			journal_discard(ag->journal);
	}
	if (rc < 0)
		goto out_free;
	if (req->dry_run) {
		describe_all(ag, acts, n, true, req, now);
		rc = effects_apply(&ag->fx, &ag->actions, acts, n, NULL, 0, true, req->change_fn,
				   req->change_data, err);
		goto out_free;
	}
	rc = effects_apply(&ag->fx, &ag->actions, acts, n, NULL, 0, false, NULL, NULL, err);
	if (rc < 0) {
		struct isol_err ignored = { 0, "" };

		reconcile_change(&ag->rec, NULL, 0, acts, n, false, now, &ignored);
		if (ahead.started)
			journal_discard(ag->journal);
		goto out_free;
	}

	for (i = 0; i < n; i++) {
		rc = actions_insert(&ag->actions, acts[i]);
		if (rc == 0 && !ahead.started)
			rc = journal_add(ag->journal, acts[i]);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = journal_sync(ag->journal);
	if (rc < 0) {
		struct isol_err ignored = { 0, "" };

		/* not durable, so not done: take it out of the kernel again */
		journal_discard(ag->journal);
		reconcile_change(&ag->rec, NULL, 0, acts, n, false, now, &ignored);
		for (i = 0; i < n; i++)
			if (actions_find(&ag->actions, acts[i]->id) == acts[i])
				actions_remove(&ag->actions, acts[i]);
		effects_apply(&ag->fx, &ag->actions, NULL, 0, acts, n, false, NULL, NULL,
			      &ignored);
		isol_err_clear(err);
		isol_err_set(err, rc, "cannot write the journal in %s: %s (nothing changed)",
			     ag->o.state_dir, strerror(-rc));
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		expiry_note(ag, acts[i]);
		if (acts[i]->spec.kind == ISOL_KIND_STEER && acts[i]->spec.kill_flows)
			kill_flows(acts[i]);
	}
	agent_event_applied(ag, acts, n, req);
	if (n == 1) {
		char words[512];

		isol_spec_format(&acts[0]->spec, words, sizeof(words));
		log_info("action %llu: %s (%s, uid %u pid %d %s)", (unsigned long long)acts[0]->id,
			 words, req->origin, req->actor.uid, req->actor.pid, req->actor.comm);
	} else {
		/* where the time went, for a large one: the kernel's batch is
		 * most of it (reconcile_batch_us(), 0: the last one) */
		log_info("actions %llu-%llu: %zu actions applied in %llu ms, the kernel's "
			 "batch %.1f ms (%s, uid %u)",
			 (unsigned long long)acts[0]->id, (unsigned long long)acts[n - 1]->id, n,
			 (unsigned long long)(isol_mono_ms() - mono0),
			 reconcile_batch_us(&ag->rec, 0) / 1000.0, req->origin, req->actor.uid);
	}
	return 0;

out_free:
	/* refused, failed, or only a dry run: nothing of it stays */
	if (rc < 0 && !req->dry_run)
		agent_event_refused(ag, n == 1 ? isol_kind_name(acts[0]->spec.kind) : "apply",
				    err && err->msg[0] ? err->msg : strerror(-rc), acts, n, req);
	for (i = 0; i < n; i++) {
		action_free(acts[i]);
		acts[i] = NULL;
	}
	return rc;
}

int agent_remove(struct isol_agent *ag, struct isol_action **acts, size_t n, const char *why,
		 const struct agent_req *req, struct isol_err *err)
{
	uint64_t now = isol_now_ms();
	size_t i;
	int rc;

	if (n == 0)
		return isol_err_set(err, -ENOENT, "nothing to remove");
	if (!req->dry_run && ag->rec.steers <= EVENT_COUNTERS_MAX) {
		struct isol_err ignored = { 0, "" };

		/* what they stopped, for the event; not when that means a dump
		 * so big that it would stall the agent */
		reconcile_counters(&ag->rec, &ag->actions, &ignored);
	}
	/* the hosts file and routes first: a read-only hosts file refuses the
	 * whole removal before anything moved */
	rc = effects_apply(&ag->fx, &ag->actions, NULL, 0, acts, n, req->dry_run, req->change_fn,
			   req->change_data, err);
	if (rc < 0)
		return rc;
	rc = reconcile_change(&ag->rec, NULL, 0, acts, n, req->dry_run, now, err);
	if (rc < 0) {
		struct isol_err ignored = { 0, "" };

		if (!req->dry_run) /* put the routes and pins back */
			effects_apply(&ag->fx, &ag->actions, acts, n, NULL, 0, false, NULL, NULL,
				      &ignored);
		return rc;
	}
	if (req->dry_run) {
		describe_all(ag, acts, n, false, req, now);
		return 0;
	}
	for (i = 0; i < n; i++)
		journal_del(ag->journal, acts[i]->id, why, &req->actor, now);
	rc = journal_sync(ag->journal);
	if (rc < 0) {
		/* the kernel no longer holds them; without a tombstone they
		 * would come back at restart: say so, keep them listed */
		struct isol_err ignored = { 0, "" };

		journal_discard(ag->journal);
		reconcile_change(&ag->rec, acts, n, NULL, 0, false, now, &ignored);
		return isol_err_set(err, rc, "cannot write the journal in %s: %s (nothing changed)",
				    ag->o.state_dir, strerror(-rc));
	}
	for (i = 0; i < n; i++) {
		log_info("action %llu removed (%s, uid %u)", (unsigned long long)acts[i]->id, why,
			 req->actor.uid);
		actions_remove(&ag->actions, acts[i]);
	}
	agent_event_removed(ag, acts, n, why, req, now);
	/* only now: what the state machine decides may remove other actions,
	 * and every one of @acts must be out of the set by then */
	for (i = 0; i < n && ag->sv && strcmp(why, "policy") != 0; i++)
		supervise_action_removed(ag->sv, acts[i], why);
	if (ag->actions.count == 0 || journal_records(ag->journal) > 4 * ag->actions.count + 1000) {
		struct isol_err cerr = { 0, "" };

		if (journal_compact(ag->journal, &ag->actions, &cerr) < 0)
			log_warn("journal: compaction failed: %s", cerr.msg);
	}
	return 0;
}

int agent_flush_table(const struct agent_opts *o, struct isol_err *err)
{
	struct isol_actions none;
	struct reconcile rec;
	struct effects fx;
	int rc, rc2;

	rc = reconcile_open(&rec, &o->table, err);
	if (rc < 0)
		return rc;
	rc = reconcile_flush(&rec, err);
	reconcile_close(&rec);
	if (effects_open(&fx, o->hosts_file, err) < 0)
		return rc < 0 ? rc : err->code;
	rc2 = route_flush_ours(fx.routes, err);
	actions_init(&none);
	if (rc2 == 0)
		rc2 = effects_sync_hosts(&fx, &none, err) < 0 ? -EIO : 0;
	actions_fini(&none);
	effects_close(&fx);
	return rc < 0 ? rc : rc2;
}
