/* supervise.c - policies -> probes -> health decisions -> actions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <ev.h>

#include "agent.h"
#include "health.h"
#include "isol/duration.h"
#include "journal.h"
#include "log.h"
#include "policy_parse.h"
#include "probe.h"
#include "supervise.h"

#define ROUNDS_PER_TICK 256

struct sv_target {
	const struct policy *pol;
	const struct isol_target *t;
	char name[ISOL_TARGET_STRLEN];
	unsigned group;
	uint64_t ids[POLICY_ACTIONS_MAX]; /* our actions in force, 0 = none */
	struct probe *running[POLICY_PROBES_MAX];
	struct sv_probe_arg *args[POLICY_PROBES_MAX]; /* freed with the probe */
	enum health_state seen; /* the state the last event told */
	enum health_refusal refused_told; /* the last refusal told, NONE after an action */
};

struct sv_probe_arg {
	struct supervise *sv;
	unsigned target, probe;
	uint32_t round;
};

struct supervise {
	struct isol_agent *ag;
	struct ev_loop *loop;
	char *dir;
	struct policy_set *set;
	struct health *health;
	struct prober *prober;
	struct sv_target *targets;
	size_t ntargets;
	ev_timer tick;
	bool paused;
};

static uint32_t sv_rand(void *data)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)random();
	return r;
}

static uint64_t now_mono(void)
{
	return isol_mono_ms();
}

static void tick_arm(struct supervise *sv);
static void run_decisions(struct supervise *sv);

/* --- building: policies -> health groups ----------------------------------- */

static unsigned kinds_of(const struct policy *p, bool need_backup)
{
	unsigned k = 0;
	size_t i;

	for (i = 0; i < p->nactions; i++)
		if (!need_backup || policy_action_needs_backup(&p->actions[i]))
			k |= HEALTH_KIND(p->actions[i].kind);
	return k;
}

static void stop_probes(struct supervise *sv)
{
	size_t i, j;

	for (i = 0; i < sv->ntargets; i++) {
		for (j = 0; j < POLICY_PROBES_MAX; j++) {
			if (sv->targets[i].running[j] == NULL)
				continue;
			/* a cancelled probe never calls back: its argument goes here */
			probe_cancel(sv->targets[i].running[j]);
			sv->targets[i].running[j] = NULL;
			free(sv->targets[i].args[j]);
			sv->targets[i].args[j] = NULL;
		}
	}
}

/* A health module and target table for @set. */
static int build(struct supervise *sv, struct policy_set *set, struct health **hp,
		 struct sv_target **tp, size_t *np, struct isol_err *err)
{
	struct health_conf hc;
	struct health *h;
	struct sv_target *targets = NULL;
	size_t n = 0, i, j;
	uint64_t now = now_mono();

	health_conf_init(&hc);
	hc.rand = sv_rand;
	h = health_new(&hc);
	if (h == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < policy_set_count(set); i++)
		n += policy_set_at(set, i)->ntargets;
	targets = calloc(n ? n : 1, sizeof(*targets));
	if (targets == NULL) {
		health_free(h);
		return isol_err_set(err, -ENOMEM, "out of memory");
	}
	n = 0;
	for (i = 0; i < policy_set_count(set); i++) {
		const struct policy *p = policy_set_at(set, i);
		struct health_group_conf gc;
		struct policy_timing tm;
		const char **names;
		int g;

		if (!p->enabled)
			continue;
		names = calloc(p->ntargets, sizeof(*names));
		if (names == NULL)
			goto nomem;
		for (j = 0; j < p->ntargets; j++) {
			struct sv_target *t = &targets[n + j];

			t->pol = p;
			t->t = &p->targets[j].target;
			isol_target_format(t->t, t->name, sizeof(t->name));
			names[j] = t->name;
		}
		policy_timing(p, &tm);
		health_group_conf_init(&gc);
		gc.name = p->name;
		gc.targets = names;
		gc.ntargets = (unsigned)p->ntargets;
		gc.nprimary = (unsigned)p->primaries;
		gc.nprobes = (unsigned)p->nprobes;
		gc.kinds = kinds_of(p, false);
		gc.backup_kinds = kinds_of(p, true);
		gc.interval_ms = tm.interval_ms;
		gc.fast_interval_ms = tm.fast_interval_ms;
		gc.down_interval_ms = tm.down_interval_ms;
		gc.timeout_ms = tm.timeout_ms;
		gc.fall = tm.fall;
		gc.rise = tm.rise;
		gc.hold_base_ms = p->hold_base_ms;
		gc.hold_max_ms = p->hold_max_ms;
		gc.decay_ms = p->hold_decay_ms;
		gc.observe_ms = p->hold_observe_ms;
		gc.manual_restore = p->restore == POLICY_RESTORE_MANUAL;
		gc.max_isolated_pct = p->max_isolated_pct;
		gc.min_available = p->min_available;
		gc.panic_pct = p->panic_pct;
		g = health_group_add(h, &gc, now, err);
		free(names);
		if (g < 0) {
			health_free(h);
			free(targets);
			return g;
		}
		for (j = 0; j < p->ntargets; j++)
			targets[n + j].group = (unsigned)g;
		n += p->ntargets;
	}
	*hp = h;
	*tp = targets;
	*np = n;
	return 0;

nomem:
	health_free(h);
	free(targets);
	return isol_err_set(err, -ENOMEM, "out of memory");
}

/* Our actions in force from before (a restart or a reload): each policy
 * action of a live target goes back to its target, by origin and subject. */
static void adopt_actions(struct supervise *sv)
{
	struct isol_action *a;
	size_t i, k;

	for (a = sv->ag->actions.head; a; a = a->next) {
		char origin[64];

		if (strncmp(a->origin, "policy:", 7) != 0)
			continue;
		for (i = 0; i < sv->ntargets; i++) {
			struct sv_target *t = &sv->targets[i];

			policy_origin(t->pol, origin, sizeof(origin));
			if (strcmp(origin, a->origin) != 0)
				continue;
			if (a->spec.kind != ISOL_KIND_PIN &&
			    !isol_target_equal(&a->spec.target, t->t) &&
			    a->spec.kind != ISOL_KIND_ROUTE)
				continue;
			for (k = 0; k < POLICY_ACTIONS_MAX && t->ids[k]; k++)
				;
			if (k < POLICY_ACTIONS_MAX)
				t->ids[k] = a->id;
			break;
		}
	}
}

/* --- events ----------------------------------------------------------------- */

/* A change of @target's state since the last look is an event, with the
 * evidence: the last probe result and why, the counts, the level. @tell
 * false only looks (after a load or a reload). */
static void note_state(struct supervise *sv, unsigned target, bool tell)
{
	struct sv_target *t = &sv->targets[target];
	struct health_status st;
	json_t *o;

	if (health_status(sv->health, target, now_mono(), &st) < 0 || st.state == t->seen)
		return;
	if (tell) {
		o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:b}", "policy", t->pol->name,
			      "target", t->name, "from", health_state_name(t->seen), "to",
			      health_state_name(st.state), "result", health_result_name(st.last),
			      "error", st.last_reason, "fails", st.fails, "passes", st.passes,
			      "level", st.level, "backup", st.backup);
		events_emit(sv->ag->events, EVENT_HEALTH, o, "%s %s: %s -> %s%s%s%s",
			    t->pol->name, t->name, health_state_name(t->seen),
			    health_state_name(st.state),
			    st.last == HEALTH_FAIL && st.last_reason[0] ? " (" : "",
			    st.last == HEALTH_FAIL ? st.last_reason : "",
			    st.last == HEALTH_FAIL && st.last_reason[0] ? ")" : "");
	}
	t->seen = st.state;
}

static void note_all_states(struct supervise *sv)
{
	size_t i;

	for (i = 0; i < sv->ntargets; i++)
		note_state(sv, (unsigned)i, false);
}

/* A refusal of the guard rails, told once until something else happens. */
static void note_refusal(struct supervise *sv, const struct health_decision *d)
{
	struct sv_target *t = &sv->targets[d->target];

	if (t->refused_told == d->why)
		return;
	t->refused_told = d->why;
	events_emit(sv->ag->events, EVENT_REFUSED,
		    json_pack("{s:s,s:s,s:s,s:s,s:s}", "op", "policy", "policy", t->pol->name,
			      "target", t->name, "why", health_refusal_name(d->why), "error",
			      d->reason),
		    "policy %s: automatic action on %s refused: %s (%s)", t->pol->name, t->name,
		    health_refusal_name(d->why), d->reason);
}

/* --- probing ---------------------------------------------------------------- */

static void probe_done(const struct probe_result *res, void *data)
{
	struct sv_probe_arg *arg = data;
	struct supervise *sv = arg->sv;
	static const enum health_result map[__PROBE_STATUS_MAX] = {
		[PROBE_PASS] = HEALTH_PASS,
		[PROBE_FAIL] = HEALTH_FAIL,
		[PROBE_NEUTRAL] = HEALTH_NEUTRAL,
	};

	sv->targets[arg->target].running[arg->probe] = NULL;
	sv->targets[arg->target].args[arg->probe] = NULL;
	if (res->status == PROBE_FAIL) /* make bench reads it: failure to action */
		log_debug("probe fail: %s probe %u: %s", sv->targets[arg->target].name, arg->probe,
			  res->reason);
	health_feed(sv->health, arg->target, arg->round, arg->probe, map[res->status],
		    res->reason[0] ? res->reason : NULL, now_mono());
	note_state(sv, arg->target, true);
	free(arg);
	run_decisions(sv);
	tick_arm(sv);
}

static void start_round(struct supervise *sv, const struct health_round *r)
{
	struct sv_target *t = &sv->targets[r->target];
	const struct policy *p = t->pol;
	unsigned i;

	for (i = 0; i < r->nprobes && i < p->nprobes; i++) {
		const struct policy_probe *pp = &p->probes[i];
		struct isol_err err = { 0, "" };
		struct probe_ranges ranges;
		struct sv_probe_arg *arg;
		struct probe_opts o;
		unsigned k;

		memset(&o, 0, sizeof(o));
		o.type = (enum probe_type)pp->type; /* the same order, checked below */
		o.family = t->t->family;
		memcpy(o.addr, t->t->addr, sizeof(o.addr));
		o.port = policy_probe_port(pp, t->t);
		o.timeout_ms = (uint32_t)pp->timeout_ms;
		o.path = pp->path[0] ? pp->path : NULL;
		o.host = pp->host[0] ? pp->host : NULL;
		ranges.n = pp->nexpect;
		for (k = 0; k < pp->nexpect && k < PROBE_RANGES_MAX; k++) {
			ranges.r[k].lo = pp->expect[k].lo;
			ranges.r[k].hi = pp->expect[k].hi;
		}
		o.expect = &ranges;
		o.insecure = !pp->tls_verify;
		o.ca_file = pp->ca_file[0] ? pp->ca_file : NULL;
		o.argv = (const char *const *)pp->argv;
		arg = malloc(sizeof(*arg));
		if (arg == NULL) {
			health_feed(sv->health, r->target, r->round, i, HEALTH_NEUTRAL,
				    "out of memory", now_mono());
			continue;
		}
		arg->sv = sv;
		arg->target = r->target;
		arg->probe = i;
		arg->round = r->round;
		t->running[i] = probe_start(sv->prober, &o, probe_done, arg, &err);
		t->args[i] = arg;
		if (t->running[i] == NULL) {
			t->args[i] = NULL;
			free(arg);
			health_feed(sv->health, r->target, r->round, i, HEALTH_NEUTRAL,
				    err.msg[0] ? err.msg : strerror(errno), now_mono());
		}
	}
}

/* --- decisions -> actions ------------------------------------------------ */

static void req_init(struct agent_req *req, const struct policy *p, char *origin, size_t len)
{
	memset(req, 0, sizeof(*req));
	policy_origin(p, origin, len);
	req->origin = origin;
	req->actor.uid = (uint32_t)getuid();
	req->actor.pid = (int32_t)getpid();
	snprintf(req->actor.comm, sizeof(req->actor.comm), "isolagent");
}

/* Remove what we applied for @t (still there), with @why in the journal. */
static void lift(struct supervise *sv, struct sv_target *t, const char *why)
{
	struct isol_action *acts[POLICY_ACTIONS_MAX];
	struct isol_err err = { 0, "" };
	struct agent_req req;
	char origin[64];
	size_t n = 0, k;

	for (k = 0; k < POLICY_ACTIONS_MAX; k++) {
		struct isol_action *a = t->ids[k] ? actions_find(&sv->ag->actions, t->ids[k]) : NULL;

		if (a)
			acts[n++] = a;
		t->ids[k] = 0;
	}
	if (n == 0)
		return;
	req_init(&req, t->pol, origin, sizeof(origin));
	if (agent_remove(sv->ag, acts, n, why, &req, &err) < 0) {
		log_error("policy %s: cannot lift the actions on %s: %s", t->pol->name, t->name,
			  err.msg);
		return;
	}
	for (k = 0; k < n; k++)
		action_free(acts[k]);
}

static int kind_rank(enum isol_kind k)
{
	/* steer and pin first: callers are never refused with a backup at hand */
	switch (k) {
	case ISOL_KIND_STEER:
		return 0;
	case ISOL_KIND_PIN:
		return 1;
	case ISOL_KIND_ROUTE:
		return 2;
	default:
		return 3;
	}
}

static void act(struct supervise *sv, const struct health_decision *d)
{
	struct sv_target *t = &sv->targets[d->target];
	const struct isol_target *backup = d->backup >= 0 ? sv->targets[d->backup].t : NULL;
	struct isol_action *out[POLICY_ACTIONS_MAX];
	struct isol_spec specs[POLICY_ACTIONS_MAX];
	struct isol_err err = { 0, "" };
	struct agent_req req;
	char origin[64];
	size_t n = 0, i, k;
	int rank;

	if (d->replace)
		lift(sv, t, "policy");
	for (rank = 0; rank < 4; rank++) {
		for (i = 0; i < t->pol->nactions; i++) {
			const struct policy_action *pa = &t->pol->actions[i];

			if (kind_rank(pa->kind) != rank || !(d->kinds & HEALTH_KIND(pa->kind)))
				continue;
			if (policy_action_spec(t->pol, pa, t->t, backup, d->reason, &specs[n],
					       &err) < 0) {
				health_note_not_applied(sv->health, d->target, err.msg, now_mono());
				log_warn("policy %s: %s: %s", t->pol->name, t->name, err.msg);
				return;
			}
			/* the state machine has just seen the backup pass */
			specs[n].no_check = true;
			n++;
		}
	}
	if (n == 0)
		return;
	req_init(&req, t->pol, origin, sizeof(origin));
	if (agent_add(sv->ag, specs, n, &req, out, NULL, &err) < 0) {
		health_note_not_applied(sv->health, d->target, err.msg, now_mono());
		log_warn("policy %s: %s: not applied: %s", t->pol->name, t->name, err.msg);
		return;
	}
	for (i = 0, k = 0; i < n && k < POLICY_ACTIONS_MAX; i++, k++)
		t->ids[k] = out[i]->id;
	log_warn("policy %s: %s failed its probes: %s (level %u, hold %llums)", t->pol->name,
		 t->name, d->reason, d->level, (unsigned long long)d->hold_ms);
}

/* Journal @target's health state (level, hold, decision state): a restart,
 * or a crash loop, must not reset a hold or forget a rollback. */
static void persist(struct supervise *sv, unsigned target)
{
	struct sv_target *t = &sv->targets[target];
	struct health_saved saved;
	char key[POLICY_NAME_MAX + ISOL_TARGET_STRLEN + 2];
	json_t *o;

	if (health_save(sv->health, target, now_mono(), isol_now_ms(), &saved) < 0)
		return;
	o = health_saved_to_json(&saved);
	if (o == NULL)
		return;
	snprintf(key, sizeof(key), "%s %s", t->pol->name, t->name);
	if (journal_health(sv->ag->journal, key, o) < 0 || journal_sync(sv->ag->journal) < 0) {
		journal_discard(sv->ag->journal);
		log_warn("policy %s: cannot journal the state of %s", t->pol->name, t->name);
	}
	json_decref(o);
}

/* Bring back the journaled health state of every target (at start). */
static void restore_states(struct supervise *sv)
{
	const json_t *states = journal_health_states(sv->ag->journal);
	size_t i, k;

	if (states == NULL)
		return;
	for (i = 0; i < sv->ntargets; i++) {
		struct sv_target *t = &sv->targets[i];
		char key[POLICY_NAME_MAX + ISOL_TARGET_STRLEN + 2];
		struct isol_err err = { 0, "" };
		struct health_saved saved;
		struct health_status st;
		const json_t *o;
		bool have = false;

		snprintf(key, sizeof(key), "%s %s", t->pol->name, t->name);
		o = json_object_get(states, key);
		if (o == NULL)
			continue;
		if (health_saved_from_json(o, &saved, &err) < 0) {
			log_warn("policy %s: the journaled state of %s is not usable: %s",
				 t->pol->name, t->name, err.msg);
			continue;
		}
		if (health_load(sv->health, &saved, now_mono(), isol_now_ms()) < 0) {
			log_warn("policy %s: cannot restore the state of %s", t->pol->name,
				 t->name);
			continue;
		}
		log_info("policy %s: %s restored: %s, level %u", t->pol->name, t->name,
			 health_state_name(saved.state), saved.level);
		for (k = 0; k < POLICY_ACTIONS_MAX; k++)
			have |= t->ids[k] != 0;
		if (health_status(sv->health, (unsigned)i, now_mono(), &st) == 0 && st.kinds &&
		    !have) /* acted on, but its action is gone (expired while we were down) */
			health_note_not_applied(sv->health, (unsigned)i, "its action is gone",
						now_mono());
	}
}

static void run_decisions(struct supervise *sv)
{
	struct health_decision d;

	while (health_next_decision(sv->health, &d) == 1) {
		struct sv_target *t = &sv->targets[d.target];

		switch (d.what) {
		case HEALTH_DO_ACT:
			t->refused_told = HEALTH_REFUSE_NONE;
			act(sv, &d);
			break;
		case HEALTH_DO_RESTORE:
			log_warn("policy %s: %s: restoring (%s)", t->pol->name, t->name, d.reason);
			t->refused_told = HEALTH_REFUSE_NONE;
			lift(sv, t, "policy");
			break;
		case HEALTH_DO_REFUSE:
			log_warn("policy %s: %s: automatic action refused: %s (%s)", t->pol->name,
				 t->name, health_refusal_name(d.why), d.reason);
			note_refusal(sv, &d);
			break;
		}
		note_state(sv, d.target, true);
		persist(sv, d.target);
	}
}

/* Actions still needed get their TTL renewed when a third of it is left. */
static void renew_due(struct supervise *sv)
{
	uint64_t now = isol_now_ms();
	size_t i, k;

	for (i = 0; i < sv->ntargets; i++) {
		struct sv_target *t = &sv->targets[i];

		for (k = 0; k < POLICY_ACTIONS_MAX; k++) {
			struct isol_action *a =
				t->ids[k] ? actions_find(&sv->ag->actions, t->ids[k]) : NULL;
			struct isol_err err = { 0, "" };

			if (a == NULL || a->expires_ms == 0 || a->spec.ttl_ms == 0)
				continue;
			if (a->expires_ms > now + a->spec.ttl_ms / 3)
				continue;
			if (agent_renew(sv->ag, &a, 1, now + a->spec.ttl_ms, &err) < 0)
				log_warn("policy %s: cannot renew action %llu: %s", t->pol->name,
					 (unsigned long long)a->id, err.msg);
		}
	}
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct supervise *sv = w->data;
	struct health_round rounds[ROUNDS_PER_TICK];
	int n, i;

	do {
		n = health_tick(sv->health, now_mono(), rounds, ROUNDS_PER_TICK);
		for (i = 0; i < n; i++)
			start_round(sv, &rounds[i]);
	} while (n == ROUNDS_PER_TICK);
	run_decisions(sv);
	renew_due(sv);
	tick_arm(sv);
}

static void tick_arm(struct supervise *sv)
{
	uint64_t due = health_next_due(sv->health), now = now_mono();
	double in = due == UINT64_MAX ? 1.0 : due > now ? (double)(due - now) / 1000.0 : 0.0;

	if (in > 1.0)
		in = 1.0; /* TTL renewals are checked at least once a second */
	ev_timer_stop(sv->loop, &sv->tick);
	ev_timer_set(&sv->tick, in, 0.0);
	ev_timer_start(sv->loop, &sv->tick);
}

/* --- the interface ---------------------------------------------------------- */

static int load(const char *dir, struct policy_set **setp, struct policy_errors *errs)
{
	int rc = policy_set_load_dir(dir, setp, errs);

	if (rc == -ENOENT && errs->total <= 1) {
		/* no directory: no policies */
		policy_errors_fini(errs);
		policy_errors_init(errs);
		*setp = policy_set_new();
		return *setp ? 0 : -ENOMEM;
	}
	return rc;
}

int supervise_open(struct supervise **svp, struct isol_agent *ag, const char *dir,
		   struct policy_errors *errs, struct isol_err *err)
{
	struct supervise *sv = calloc(1, sizeof(*sv));
	int rc;

	/* the policy enum and the probe enum name the same types in the same order */
	_Static_assert((int)POLICY_PROBE_EXEC == (int)PROBE_EXEC, "probe types");
	if (sv == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	sv->ag = ag;
	sv->loop = ag->loop;
	sv->dir = strdup(dir);
	sv->prober = prober_new(ag->loop, ag->o.table.mark);
	if (sv->dir == NULL || sv->prober == NULL) {
		rc = isol_err_set(err, -ENOMEM, "cannot start the prober: %s", strerror(errno));
		goto err_free;
	}
	rc = load(dir, &sv->set, errs);
	if (rc < 0) {
		size_t i;

		/* the agent still serves the CLI; a fixed file and a SIGHUP (or
		 * isolctl policy reload) bring the policies in */
		log_error("policies in %s: %zu error%s; running without policies", dir,
			  errs->total, errs->total == 1 ? "" : "s");
		for (i = 0; i < errs->n; i++)
			log_error("%s", errs->v[i].text);
		sv->set = policy_set_new();
		if (sv->set == NULL) {
			rc = isol_err_set(err, -ENOMEM, "out of memory");
			goto err_free;
		}
	}
	rc = build(sv, sv->set, &sv->health, &sv->targets, &sv->ntargets, err);
	if (rc < 0)
		goto err_free;
	adopt_actions(sv);
	restore_states(sv);
	note_all_states(sv);
	ev_timer_init(&sv->tick, tick_cb, 0.0, 0.0);
	sv->tick.data = sv;
	tick_arm(sv);
	log_info("%zu polic%s loaded from %s, %zu targets watched", policy_set_count(sv->set),
		 policy_set_count(sv->set) == 1 ? "y" : "ies", dir, sv->ntargets);
	*svp = sv;
	return 0;

err_free:
	prober_free(sv->prober);
	policy_set_free(sv->set);
	free(sv->dir);
	free(sv);
	return rc;
}

void supervise_close(struct supervise *sv)
{
	if (sv == NULL)
		return;
	ev_timer_stop(sv->loop, &sv->tick);
	stop_probes(sv);
	prober_free(sv->prober);
	health_free(sv->health);
	free(sv->targets);
	policy_set_free(sv->set);
	free(sv->dir);
	free(sv);
}

int supervise_reload(struct supervise *sv, struct policy_errors *errs, struct isol_err *err)
{
	struct policy_set *set = NULL;
	struct sv_target *targets = NULL;
	struct health *h = NULL;
	size_t n = 0, i, j;
	int rc;

	rc = load(sv->dir, &set, errs);
	if (rc < 0) {
		isol_err_set(err, rc, "policies in %s: %zu error%s; the running policies stay",
			     sv->dir, errs->total, errs->total == 1 ? "" : "s");
		events_emit(sv->ag->events, EVENT_POLICY,
			    json_pack("{s:s,s:i,s:s}", "dir", sv->dir, "errors", (int)errs->total,
				      "first_error", errs->n ? errs->v[0].text : ""),
			    "%s%s%s", err->msg, errs->n ? ": " : "", errs->n ? errs->v[0].text : "");
		return rc;
	}
	rc = build(sv, set, &h, &targets, &n, err);
	if (rc < 0) {
		policy_set_free(set);
		return rc;
	}
	run_decisions(sv); /* drain, as health_carry wants */
	stop_probes(sv);
	health_carry(h, sv->health, now_mono());
	/* our actions on targets that stay keep their ids */
	for (i = 0; i < n; i++) {
		for (j = 0; j < sv->ntargets; j++) {
			if (strcmp(targets[i].pol->name, sv->targets[j].pol->name) == 0 &&
			    strcmp(targets[i].name, sv->targets[j].name) == 0) {
				memcpy(targets[i].ids, sv->targets[j].ids, sizeof(targets[i].ids));
				break;
			}
		}
	}
	health_free(sv->health);
	free(sv->targets);
	policy_set_free(sv->set);
	sv->health = h;
	sv->targets = targets;
	sv->ntargets = n;
	sv->set = set;
	if (sv->paused)
		health_pause(h, true, now_mono());
	note_all_states(sv);
	run_decisions(sv);
	tick_arm(sv);
	log_info("policies reloaded from %s: %zu, %zu targets watched", sv->dir,
		 policy_set_count(set), n);
	events_emit(sv->ag->events, EVENT_POLICY,
		    json_pack("{s:s,s:i,s:i}", "dir", sv->dir, "policies",
			      (int)policy_set_count(set), "targets", (int)n),
		    "policies reloaded from %s: %zu, %zu targets watched", sv->dir,
		    policy_set_count(set), n);
	return 0;
}

void supervise_pause(struct supervise *sv, bool paused)
{
	sv->paused = paused;
	health_pause(sv->health, paused, now_mono());
	run_decisions(sv);
	tick_arm(sv);
}

bool supervise_paused(const struct supervise *sv)
{
	return sv->paused;
}

void supervise_action_removed(struct supervise *sv, const struct isol_action *a,
			      const char *why)
{
	size_t i, k;

	for (i = 0; i < sv->ntargets; i++) {
		struct sv_target *t = &sv->targets[i];
		bool ours = false;

		for (k = 0; k < POLICY_ACTIONS_MAX; k++) {
			if (t->ids[k] == a->id) {
				t->ids[k] = 0;
				ours = true;
			}
		}
		if (!ours)
			continue;
		if (strcmp(why, "expired") == 0)
			health_note_not_applied(sv->health, (unsigned)i, "its TTL ran out", now_mono());
		else if (strcmp(why, "restore") == 0)
			health_note_restored(sv->health, (unsigned)i, now_mono());
		else
			health_note_rolled_back(sv->health, (unsigned)i, now_mono());
		persist(sv, (unsigned)i);
		run_decisions(sv);
		return;
	}
}

size_t supervise_policy_count(const struct supervise *sv)
{
	return sv ? policy_set_count(sv->set) : 0;
}

void supervise_health_json(struct supervise *sv, struct strbuf *out)
{
	uint64_t now = now_mono();
	size_t i;

	strbuf_puts(out, "[");
	for (i = 0; i < sv->ntargets; i++) {
		struct health_status st;

		if (health_status(sv->health, (unsigned)i, now, &st) < 0)
			continue;
		strbuf_puts(out, i ? ",{\"policy\":" : "{\"policy\":");
		strbuf_json_str(out, st.group);
		strbuf_puts(out, ",\"target\":");
		strbuf_json_str(out, st.target);
		strbuf_printf(out,
			      ",\"backup\":%s,\"state\":\"%s\",\"last\":\"%s\",\"fails\":%u,"
			      "\"passes\":%u,\"level\":%u,\"hold_left_ms\":%llu,\"probing\":%s,"
			      "\"next_probe_ms\":%lld,\"paused\":%s,\"frozen\":%s,\"panic\":%s,"
			      "\"rolled_back\":%s,\"refused\":\"%s\",\"reason\":",
			      st.backup ? "true" : "false", health_state_name(st.state),
			      health_result_name(st.last), st.fails, st.passes, st.level,
			      (unsigned long long)st.hold_left_ms, st.probing ? "true" : "false",
			      st.probing ? -1ll : (long long)(st.next_probe_ms > now ? st.next_probe_ms - now : 0),
			      st.paused ? "true" : "false", st.frozen ? "true" : "false",
			      st.group_panic ? "true" : "false", st.rolled_back ? "true" : "false",
			      health_refusal_name(st.refused));
		strbuf_json_str(out, st.last_reason);
		strbuf_puts(out, ",\"refused_reason\":");
		strbuf_json_str(out, st.refused_reason);
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "]");
}

void supervise_policies_json(struct supervise *sv, struct strbuf *out)
{
	size_t i, j;

	strbuf_puts(out, "[");
	for (i = 0; i < policy_set_count(sv->set); i++) {
		const struct policy *p = policy_set_at(sv->set, i);

		strbuf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		strbuf_json_str(out, p->name);
		strbuf_puts(out, ",\"file\":");
		strbuf_json_str(out, p->file ? p->file : "");
		strbuf_printf(out, ",\"enabled\":%s,\"restore\":\"%s\",\"targets\":[",
			      p->enabled ? "true" : "false", policy_restore_name(p->restore));
		for (j = 0; j < p->ntargets; j++) {
			char t[ISOL_TARGET_STRLEN];

			isol_target_format(&p->targets[j].target, t, sizeof(t));
			strbuf_printf(out, "%s\"%s\"", j ? "," : "", t);
		}
		strbuf_puts(out, "],\"actions\":[");
		for (j = 0; j < p->nactions; j++)
			strbuf_printf(out, "%s\"%s\"", j ? "," : "",
				      isol_kind_name(p->actions[j].kind));
		strbuf_puts(out, "],\"probes\":[");
		for (j = 0; j < p->nprobes; j++)
			strbuf_printf(out, "%s\"%s\"", j ? "," : "",
				      policy_probe_type_name(p->probes[j].type));
		strbuf_puts(out, "]}");
	}
	strbuf_puts(out, "]");
}

struct prober *supervise_prober(struct supervise *sv)
{
	return sv ? sv->prober : NULL;
}
