/* health.c - the per-target health state machine and the guard rails of a
 * group: pure logic over probe verdicts and a clock the caller passes in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"

#define STEERLIKE      (HEALTH_KIND(ISOL_KIND_STEER) | HEALTH_KIND(ISOL_KIND_PIN))
#define KINDS_ALL      ((1u << __ISOL_KIND_MAX) - 1)
#define LEVEL_MAX      30
#define ROUND_GRACE_MS 500 /* past the probe timeout before a missing result is neutral */
#define RATE_WINDOW_MS 60000

struct htarget {
	char *name;
	unsigned group;
	bool backup; /* role: a steer/pin destination, never acted on */
	enum health_state state;
	unsigned fails, passes; /* consecutive, full reset */
	enum health_result last;
	char last_reason[HEALTH_REASON_MAX];
	uint64_t last_at, last_pass_at;
	bool has_pass;

	/* the open round */
	bool inflight, round_neutral;
	uint32_t round, pending; /* pending: probes not reported yet, one bit each */
	uint64_t round_start, deadline;
	char round_reason[HEALTH_REASON_MAX];
	uint64_t next_probe;

	/* decisions */
	unsigned level;
	uint64_t hold_until, window_until, decay_at, retry_at;
	unsigned kinds; /* applied now */
	int backup_t;	/* steered/pinned to */
	bool want;	/* failed, waiting for an action */
	bool rolled_back;
	enum health_refusal refused;
	char refused_reason[HEALTH_REASON_MAX];
	uint64_t refused_at;

	uint64_t wake; /* the earliest of everything above that is timed */
	unsigned hidx; /* position in the heap */
};

struct hgroup {
	struct health_group_conf c; /* name and targets point nowhere: see name */
	char *name;
	unsigned first, n, nprimary; /* targets first..first+n-1, primaries first */
	bool dirty, panic;
};

struct health {
	struct health_conf c;
	struct htarget *t;
	unsigned nt;
	struct hgroup *g;
	unsigned ng;
	unsigned *heap;	 /* target ids, a min-heap on wake */
	unsigned *dirty; /* groups to evaluate */
	unsigned ndirty;
	struct health_decision *dq;
	size_t dq_head, dq_len, dq_cap;
	uint64_t *rate; /* times of the last rate_per_min new actions, a ring */
	unsigned rate_len, rate_pos;
	uint64_t rate_retry_at; /* 0 = none */
	unsigned nfailing;	/* targets whose last verdict was a failure */
	bool frozen, paused;
	uint32_t next_round;
	int error; /* sticky -ENOMEM from the decision queue */
};

static const char *const state_names[__HEALTH_STATE_MAX] = {
    [HEALTH_INIT] = "init",	      [HEALTH_NOT_READY] = "not-ready", [HEALTH_UP] = "up",
    [HEALTH_SUSPECT] = "suspect",     [HEALTH_DOWN] = "down",		[HEALTH_ACTED] = "acted",
    [HEALTH_PROBATION] = "probation", [HEALTH_UP_RECENT] = "up-recent",
};

static const char *const refusal_names[__HEALTH_REFUSE_MAX] = {
    [HEALTH_REFUSE_NONE] = "none",
    [HEALTH_REFUSE_PAUSED] = "paused",
    [HEALTH_REFUSE_FROZEN] = "frozen",
    [HEALTH_REFUSE_ROLLED_BACK] = "rolled-back",
    [HEALTH_REFUSE_RATE] = "rate-limit",
    [HEALTH_REFUSE_NO_BACKUP] = "no-backup",
    [HEALTH_REFUSE_MAX_PCT] = "max-isolated-pct",
    [HEALTH_REFUSE_MIN_AVAIL] = "min-available",
    [HEALTH_REFUSE_PANIC] = "panic",
    [HEALTH_REFUSE_NOT_APPLIED] = "not-applied",
};

const char *health_state_name(enum health_state s)
{
	return (unsigned)s < __HEALTH_STATE_MAX ? state_names[s] : "?";
}

int health_state_parse(const char *s, enum health_state *st)
{
	unsigned i;

	for (i = 0; i < __HEALTH_STATE_MAX; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*st = (enum health_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *health_result_name(enum health_result r)
{
	switch (r) {
	case HEALTH_PASS:
		return "pass";
	case HEALTH_FAIL:
		return "fail";
	case HEALTH_NEUTRAL:
		return "neutral";
	default:
		return "-";
	}
}

const char *health_refusal_name(enum health_refusal r)
{
	return (unsigned)r < __HEALTH_REFUSE_MAX ? refusal_names[r] : "?";
}

void health_conf_init(struct health_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->jitter_pct = 10;
	c->freeze_pct = 50;
	c->freeze_min = 3;
	c->rate_per_min = 10;
}

void health_group_conf_init(struct health_group_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->nprobes = 1;
	c->kinds = HEALTH_KIND(ISOL_KIND_ISOLATE);
	c->interval_ms = 5000;
	c->fast_interval_ms = 1000;
	c->down_interval_ms = 10000;
	c->timeout_ms = 2000;
	c->fall = 3;
	c->rise = 2;
	c->hold_base_ms = 30000;
	c->hold_max_ms = 300000;
	c->max_isolated_pct = 50;
	c->min_available = 1;
	c->panic_pct = 50;
	c->observe_ms = 60000;
	c->decay_ms = 60000;
	c->recent_intervals = 3;
}

struct health *health_new(const struct health_conf *c)
{
	struct health *h;

	if (!c || !c->rand || c->jitter_pct > 100 || c->freeze_pct > 100) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->c = *c;
	if (c->rate_per_min) {
		h->rate = calloc(c->rate_per_min, sizeof(*h->rate));
		if (!h->rate) {
			free(h);
			return NULL;
		}
	}
	return h;
}

void health_free(struct health *h)
{
	unsigned i;

	if (!h)
		return;
	for (i = 0; i < h->nt; i++)
		free(h->t[i].name);
	for (i = 0; i < h->ng; i++)
		free(h->g[i].name);
	free(h->t);
	free(h->g);
	free(h->heap);
	free(h->dirty);
	free(h->dq);
	free(h->rate);
	free(h);
}

/* ---- small helpers ---- */

static struct hgroup *group_of(struct health *h, const struct htarget *t)
{
	return &h->g[t->group];
}

static unsigned tid_of(const struct health *h, const struct htarget *t)
{
	return (unsigned)(t - h->t);
}

static bool is_up(enum health_state s)
{
	return s == HEALTH_INIT || s == HEALTH_UP || s == HEALTH_SUSPECT || s == HEALTH_UP_RECENT;
}

static bool is_healthy(enum health_state s) /* the level decays in these */
{
	return s == HEALTH_UP || s == HEALTH_UP_RECENT;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* @x +- jitter_pct, never below 1 ms. */
static uint64_t jitter(struct health *h, uint64_t x)
{
	uint64_t span = x * h->c.jitter_pct / 100;

	if (span == 0)
		return x ? x : 1;
	x = x - span + h->c.rand(h->c.rand_data) % (2 * span + 1);
	return x ? x : 1;
}

/* min(base * 2^(level-1), max), then up to jitter_pct shorter: a jittered
 * hold never exceeds max_hold, and holds started together end apart. */
static uint64_t hold_for(struct health *h, const struct hgroup *g, unsigned level)
{
	uint64_t v = g->c.hold_base_ms, span;
	unsigned i;

	for (i = 1; i < level && v < g->c.hold_max_ms; i++)
		v *= 2;
	if (v > g->c.hold_max_ms)
		v = g->c.hold_max_ms;
	span = v * h->c.jitter_pct / 100;
	if (span)
		v -= h->c.rand(h->c.rand_data) % (span + 1);
	return v ? v : 1;
}

/* fast_interval while the evidence is building up (suspect, rising), the
 * down interval while nothing would change (hold, down and failing). */
static uint64_t interval_for(const struct hgroup *g, const struct htarget *t)
{
	bool rising = t->passes && t->passes < g->c.rise;

	switch (t->state) {
	case HEALTH_SUSPECT:
		return g->c.fast_interval_ms;
	case HEALTH_ACTED:
		return g->c.down_interval_ms;
	case HEALTH_DOWN:
		return rising ? g->c.fast_interval_ms : g->c.down_interval_ms;
	case HEALTH_PROBATION:
	case HEALTH_NOT_READY:
		return rising ? g->c.fast_interval_ms : g->c.interval_ms;
	default:
		return g->c.interval_ms;
	}
}

static void enter(struct health *h, struct htarget *t, enum health_state s, uint64_t now)
{
	if (is_healthy(s) && !is_healthy(t->state))
		t->decay_at = now + group_of(h, t)->c.decay_ms;
	t->state = s;
}

/* ---- the heap of wake-up times ---- */

static uint64_t wake_of(struct health *h, const struct htarget *t)
{
	const struct hgroup *g = &h->g[t->group];
	uint64_t w = t->inflight ? t->deadline : t->next_probe;

	if (t->state == HEALTH_ACTED && !g->c.manual_restore)
		w = min64(w, t->hold_until);
	if (t->state == HEALTH_UP_RECENT)
		w = min64(w, t->window_until);
	if (is_healthy(t->state) && t->level && g->c.decay_ms)
		w = min64(w, t->decay_at);
	if (t->retry_at)
		w = min64(w, t->retry_at);
	return w;
}

static void heap_swap(struct health *h, unsigned a, unsigned b)
{
	unsigned x = h->heap[a];

	h->heap[a] = h->heap[b];
	h->heap[b] = x;
	h->t[h->heap[a]].hidx = a;
	h->t[h->heap[b]].hidx = b;
}

static void heap_fix(struct health *h, struct htarget *t)
{
	unsigned i = t->hidx;

	t->wake = wake_of(h, t);
	while (i > 0 && h->t[h->heap[(i - 1) / 2]].wake > h->t[h->heap[i]].wake) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->nt && h->t[h->heap[l]].wake < h->t[h->heap[m]].wake)
			m = l;
		if (r < h->nt && h->t[h->heap[r]].wake < h->t[h->heap[m]].wake)
			m = r;
		if (m == i)
			break;
		heap_swap(h, i, m);
		i = m;
	}
}

static void mark_dirty(struct health *h, struct hgroup *g)
{
	if (!g->dirty) {
		g->dirty = true;
		h->dirty[h->ndirty++] = (unsigned)(g - h->g);
	}
}

static void mark_all_dirty(struct health *h)
{
	unsigned i;

	for (i = 0; i < h->ng; i++)
		mark_dirty(h, &h->g[i]);
}

/* ---- decisions ---- */

static struct health_decision *decide(struct health *h, enum health_do what, struct htarget *t,
				      uint64_t now)
{
	struct health_decision *d;

	if (h->dq_head == h->dq_len)
		h->dq_head = h->dq_len = 0;
	if (h->dq_len == h->dq_cap) {
		size_t cap = h->dq_cap ? 2 * h->dq_cap : 16;
		struct health_decision *n = realloc(h->dq, cap * sizeof(*n));

		if (!n) {
			h->error = -ENOMEM;
			return NULL;
		}
		h->dq = n;
		h->dq_cap = cap;
	}
	d = &h->dq[h->dq_len++];
	memset(d, 0, sizeof(*d));
	d->what = what;
	d->target = tid_of(h, t);
	d->group = t->group;
	d->kinds = t->kinds;
	d->backup = t->backup_t;
	d->level = t->level;
	d->at_ms = now;
	return d;
}

int health_next_decision(struct health *h, struct health_decision *d)
{
	if (h->dq_head == h->dq_len)
		return 0;
	*d = h->dq[h->dq_head++];
	return 1;
}

static void set_refused(struct htarget *t, enum health_refusal why, const char *reason,
			uint64_t now)
{
	if (t->refused != why)
		t->refused_at = now;
	t->refused = why;
	snprintf(t->refused_reason, sizeof(t->refused_reason), "%s", reason);
}

static void clear_refused(struct htarget *t)
{
	t->refused = HEALTH_REFUSE_NONE;
	t->refused_reason[0] = '\0';
}

/* A refusal is announced once per reason, not on every evaluation; the text
 * (with its counts) stays current in the status. */
static void refuse(struct health *h, struct htarget *t, enum health_refusal why, const char *reason,
		   uint64_t now)
{
	struct health_decision *d;

	if (t->refused != why && (d = decide(h, HEALTH_DO_REFUSE, t, now))) {
		d->why = why;
		snprintf(d->reason, sizeof(d->reason), "%s", reason);
	}
	set_refused(t, why, reason, now);
}

static void act_new(struct health *h, struct htarget *t, unsigned kinds, int bk, uint64_t now)
{
	struct hgroup *g = group_of(h, t);
	struct health_decision *d;
	uint64_t hold;

	if (t->level < LEVEL_MAX)
		t->level++;
	hold = hold_for(h, g, t->level);
	t->hold_until = now + hold;
	enter(h, t, HEALTH_ACTED, now);
	t->want = false;
	t->kinds = kinds;
	t->backup_t = bk;
	t->retry_at = 0;
	clear_refused(t);
	d = decide(h, HEALTH_DO_ACT, t, now);
	if (d) {
		int n;

		d->hold_ms = hold;
		if (t->fails < g->c.fall)
			n = snprintf(d->reason, sizeof(d->reason),
				     "failed in the observation window after a restore: %s",
				     t->last_reason);
		else
			n = snprintf(d->reason, sizeof(d->reason), "%u consecutive failures: %s",
				     t->fails, t->last_reason);
		if (bk >= 0 && n > 0 && (size_t)n < sizeof(d->reason))
			snprintf(d->reason + n, sizeof(d->reason) - (size_t)n, " (backup %s)",
				 h->t[bk].name);
	}
	heap_fix(h, t);
}

/* Change what is applied to a target already acted on; the hold stays. */
static void act_replace(struct health *h, struct htarget *t, unsigned kinds, int bk,
			const char *reason, uint64_t now)
{
	struct health_decision *d;

	t->kinds = kinds;
	t->backup_t = bk;
	d = decide(h, HEALTH_DO_ACT, t, now);
	if (d) {
		d->replace = true;
		d->hold_ms = t->hold_until > now ? t->hold_until - now : 0;
		snprintf(d->reason, sizeof(d->reason), "%s", reason);
	}
}

/* Lift the action of a target that is still failing: it waits in DOWN. */
static void fail_open(struct health *h, struct htarget *t, enum health_refusal why,
		      const char *reason, uint64_t now)
{
	struct health_decision *d = decide(h, HEALTH_DO_RESTORE, t, now);

	if (d) {
		d->why = why;
		snprintf(d->reason, sizeof(d->reason), "%s", reason);
	}
	t->kinds = 0;
	t->backup_t = -1;
	enter(h, t, HEALTH_DOWN, now);
	t->want = true;
	set_refused(t, why, reason, now);
	heap_fix(h, t);
}

static void restore(struct health *h, struct htarget *t, uint64_t now)
{
	struct hgroup *g = group_of(h, t);
	struct health_decision *d = decide(h, HEALTH_DO_RESTORE, t, now);

	if (d)
		snprintf(d->reason, sizeof(d->reason), "%u consecutive passes after the hold-down",
			 t->passes);
	t->kinds = 0;
	t->backup_t = -1;
	enter(h, t, HEALTH_UP_RECENT, now);
	t->window_until = now + g->c.observe_ms;
	clear_refused(t);
	heap_fix(h, t);
}

/* ---- the guard rails ---- */

static bool rate_ok(struct health *h, uint64_t now)
{
	uint64_t free_at;

	if (!h->c.rate_per_min || h->rate_len < h->c.rate_per_min)
		return true;
	free_at = h->rate[h->rate_pos] + RATE_WINDOW_MS; /* the oldest leaves the window */
	if (now >= free_at)
		return true;
	if (!h->rate_retry_at || free_at < h->rate_retry_at)
		h->rate_retry_at = free_at;
	return false;
}

static void rate_take(struct health *h, uint64_t now)
{
	if (!h->c.rate_per_min)
		return;
	h->rate[h->rate_pos] = now;
	h->rate_pos = (h->rate_pos + 1) % h->c.rate_per_min;
	if (h->rate_len < h->c.rate_per_min)
		h->rate_len++;
}

/* The first backup (priority order) UP with a recent pass, or -1. */
static int best_backup(struct health *h, const struct hgroup *g, uint64_t now)
{
	uint64_t recent = g->c.recent_intervals * g->c.interval_ms;
	unsigned i;

	for (i = g->nprimary; i < g->n; i++) {
		const struct htarget *b = &h->t[g->first + i];

		if ((b->state == HEALTH_UP || b->state == HEALTH_UP_RECENT) && b->has_pass &&
		    now - b->last_pass_at <= recent)
			return (int)(g->first + i);
	}
	return -1;
}

/* A backup whose first verdict since the start is still to come: until it
 * is in, the group's failover state (kept across a restart) stands. */
static bool backups_unprobed(const struct health *h, const struct hgroup *g)
{
	unsigned i;

	for (i = g->nprimary; i < g->n; i++) {
		const struct htarget *b = &h->t[g->first + i];

		if (b->state == HEALTH_NOT_READY && b->fails == 0)
			return true;
	}
	return false;
}

/* An existing steer keeps its backup through a suspect probe or two; it
 * moves when the backup has failed `fall` times. */
static bool backup_lost(const struct health *h, int bk)
{
	if (bk < 0)
		return true;
	/* a backup not probed yet since a restart is not lost: its first
	 * verdict decides, not the agent's own restart */
	if (h->t[bk].state == HEALTH_NOT_READY && h->t[bk].fails == 0)
		return false;
	return h->t[bk].state != HEALTH_UP && h->t[bk].state != HEALTH_UP_RECENT &&
	       h->t[bk].state != HEALTH_SUSPECT;
}

static void describe_backups(const struct health *h, const struct hgroup *g, uint64_t now,
			     char *buf, size_t len)
{
	size_t off;
	unsigned i;
	int n;

	n = snprintf(buf, len, "no backup up with a recent pass:");
	off = n > 0 ? (size_t)n : 0;
	for (i = g->nprimary; i < g->n && off < len; i++) {
		const struct htarget *b = &h->t[g->first + i];

		if (b->state == HEALTH_UP || b->state == HEALTH_UP_RECENT)
			n = snprintf(buf + off, len - off, " %s no pass for %llus", b->name,
				     (unsigned long long)((now - b->last_pass_at) / 1000));
		else
			n = snprintf(buf + off, len - off, " %s %s", b->name,
				     health_state_name(b->state));
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Failed, still failing (a target that passes again on its way back up is
 * not acted on), and nothing in force. */
static bool pending(const struct htarget *t)
{
	return t->state == HEALTH_DOWN && t->want && !t->rolled_back && !t->kinds && t->fails;
}

/* Everything a group should have in force, against what it has: restores
 * first, then repairs of steers whose backup died, then new actions, each
 * behind the guard rails. Steering to a healthy backup takes nothing away
 * from callers, so the capacity rails (max_isolated_pct, min_available)
 * bind only actions without a backup. */
static void group_evaluate(struct health *h, struct hgroup *g, uint64_t now)
{
	/* steer: what goes to a backup; iso: what stands alone */
	unsigned steer = g->c.kinds & g->c.backup_kinds, iso = g->c.kinds & ~g->c.backup_kinds;
	unsigned i, n = g->nprimary, up = 0, acted = 0;
	char why[HEALTH_REASON_MAX];
	struct htarget *m;
	int b;

	g->dirty = false;
	for (i = 0; i < n; i++) {
		m = &h->t[g->first + i];
		up += is_up(m->state);
		acted += m->kinds != 0;
	}
	g->panic = g->c.panic_pct && (uint64_t)up * 100 < (uint64_t)g->c.panic_pct * n;
	if (h->paused) {
		for (i = 0; i < n; i++) {
			m = &h->t[g->first + i];
			if (pending(m))
				refuse(h, m, HEALTH_REFUSE_PAUSED, "paused: no automatic actions",
				       now);
		}
		return;
	}
	b = steer ? best_backup(h, g, now) : -1;

	for (i = 0; i < n; i++) {
		m = &h->t[g->first + i];
		if (m->state == HEALTH_PROBATION && m->passes >= g->c.rise) {
			restore(h, m, now);
			acted--;
		}
	}

	for (i = 0; i < n && !h->frozen; i++) {
		m = &h->t[g->first + i];
		if (!(m->kinds & steer) || !backup_lost(h, m->backup_t))
			continue;
		if (b >= 0) {
			snprintf(why, sizeof(why), "backup %s is %s: moved to %s",
				 m->backup_t >= 0 ? h->t[m->backup_t].name : "(gone)",
				 m->backup_t >= 0 ? health_state_name(h->t[m->backup_t].state)
						  : "gone",
				 h->t[b].name);
			act_replace(h, m, g->c.kinds, b, why, now);
		} else if (iso && !g->panic) {
			snprintf(why, sizeof(why),
				 "backup %s is down and no other is ready: acting without a backup",
				 m->backup_t >= 0 ? h->t[m->backup_t].name : "(gone)");
			act_replace(h, m, iso, -1, why, now);
		} else {
			snprintf(why, sizeof(why),
				 "backup %s is down and no other backup is ready: fail open",
				 m->backup_t >= 0 ? h->t[m->backup_t].name : "(gone)");
			fail_open(h, m, HEALTH_REFUSE_NO_BACKUP, why, now);
			acted--;
		}
	}

	/* acted on without a backup (none was ready): now one is */
	for (i = 0; i < n && steer && b >= 0 && !h->frozen; i++) {
		m = &h->t[g->first + i];
		if (!m->kinds || (m->kinds & steer))
			continue;
		if (!rate_ok(h, now))
			break;
		rate_take(h, now);
		snprintf(why, sizeof(why), "backup %s is ready", h->t[b].name);
		act_replace(h, m, g->c.kinds, b, why, now);
	}

	if (g->panic && b < 0 && steer && backups_unprobed(h, g))
		return; /* a restart: the backups' first probes decide, not their absence */
	if (g->panic && b < 0) {
		snprintf(why, sizeof(why), "panic: %u of %u primaries up%s: fail open", up, n,
			 steer ? " and no backup ready" : "");
		for (i = 0; i < n; i++) {
			m = &h->t[g->first + i];
			if (m->kinds)
				fail_open(h, m, HEALTH_REFUSE_PANIC, why, now);
			else if (pending(m))
				refuse(h, m, HEALTH_REFUSE_PANIC, why, now);
		}
		return;
	}

	for (i = 0; i < n; i++) {
		enum health_refusal r = HEALTH_REFUSE_NONE;
		unsigned kinds = g->c.kinds;
		int bk = -1;

		m = &h->t[g->first + i];
		if (!pending(m) || m->retry_at > now)
			continue;
		if (h->frozen) {
			r = HEALTH_REFUSE_FROZEN;
			snprintf(why, sizeof(why),
				 "global freeze: %u of %u watched targets failing (the fault is "
				 "probably on this host)",
				 h->nfailing, h->nt);
		} else if (steer && b >= 0) {
			bk = b;
		} else if (steer && !iso) {
			r = HEALTH_REFUSE_NO_BACKUP;
			describe_backups(h, g, now, why, sizeof(why));
		} else {
			kinds = iso;
		}
		if (!r && bk < 0) {
			if ((uint64_t)(acted + 1) * 100 > (uint64_t)g->c.max_isolated_pct * n) {
				r = HEALTH_REFUSE_MAX_PCT;
				snprintf(why, sizeof(why),
					 "max_isolated_pct: acting on it would make %u of %u "
					 "primaries (limit %u%%)",
					 acted + 1, n, g->c.max_isolated_pct);
			} else if (n - (acted + 1) < g->c.min_available) {
				r = HEALTH_REFUSE_MIN_AVAIL;
				snprintf(why, sizeof(why),
					 "min_available: it would leave %u of %u primaries without "
					 "an action (minimum %u)",
					 n - (acted + 1), n, g->c.min_available);
			}
		}
		if (!r && !rate_ok(h, now)) {
			r = HEALTH_REFUSE_RATE;
			snprintf(why, sizeof(why), "rate limit: %u new actions in the last minute",
				 h->c.rate_per_min);
		}
		if (r) {
			refuse(h, m, r, why, now);
			continue;
		}
		rate_take(h, now);
		act_new(h, m, kinds, bk, now);
		acted++;
	}
}

/* A freeze lifts while the probes of a recovering host come back one by
 * one: the failures seen during it are forgotten, so a target still waiting
 * for an action must fail `fall` times again before it gets one. */
static void thaw(struct health *h, uint64_t now)
{
	unsigned i;

	for (i = 0; i < h->nt; i++) {
		struct htarget *t = &h->t[i];
		uint64_t soon;

		if (!pending(t))
			continue;
		h->nfailing--;
		t->fails = t->passes = 0;
		t->want = false;
		enter(h, t, HEALTH_SUSPECT, now);
		clear_refused(t);
		soon = now + jitter(h, group_of(h, t)->c.fast_interval_ms);
		if (!t->inflight && t->next_probe > soon)
			t->next_probe = soon;
		heap_fix(h, t);
	}
}

/* Bring decisions up to date after anything changed. */
static int settle(struct health *h, uint64_t now)
{
	bool frozen = h->c.freeze_pct && h->nfailing >= h->c.freeze_min &&
		      (uint64_t)h->nfailing * 100 > (uint64_t)h->c.freeze_pct * h->nt;
	unsigned i;
	int err;

	if (frozen != h->frozen) {
		h->frozen = frozen;
		if (!frozen)
			thaw(h, now);
		mark_all_dirty(h);
	}
	if (h->rate_retry_at && now >= h->rate_retry_at) {
		h->rate_retry_at = 0;
		mark_all_dirty(h);
	}
	/* in the order marked (all: policy order); an evaluation marks none */
	for (i = 0; i < h->ndirty; i++)
		group_evaluate(h, &h->g[h->dirty[i]], now);
	h->ndirty = 0;
	err = h->error;
	h->error = 0;
	return err;
}

/* ---- the state machine ---- */

static void failed(struct health *h, struct htarget *t, uint64_t now)
{
	enter(h, t, HEALTH_DOWN, now);
	t->want = !t->backup;
	clear_refused(t);
	mark_dirty(h, group_of(h, t));
}

static void verdict(struct health *h, struct htarget *t, enum health_result v, uint64_t now)
{
	struct hgroup *g = group_of(h, t);

	if (v == HEALTH_PASS) {
		/* a backup's pass that makes it fresh may unblock a steer */
		if (t->backup &&
		    (!t->has_pass ||
		     now - t->last_pass_at > (uint64_t)g->c.recent_intervals * g->c.interval_ms))
			mark_dirty(h, g);
		if (t->fails)
			h->nfailing--;
		t->fails = 0;
		t->passes++;
		t->last_pass_at = now;
		t->has_pass = true;
		switch (t->state) {
		case HEALTH_INIT:
		case HEALTH_SUSPECT:
			enter(h, t, HEALTH_UP, now);
			break;
		case HEALTH_NOT_READY:
		case HEALTH_DOWN:
			if (t->passes >= g->c.rise) {
				enter(h, t, HEALTH_UP, now);
				t->want = false;
				t->rolled_back = false;
				t->retry_at = 0;
				clear_refused(t);
				mark_dirty(h, g);
			}
			break;
		case HEALTH_PROBATION:
			if (t->passes >= g->c.rise)
				mark_dirty(h, g);
			break;
		default:
			break;
		}
	} else if (v == HEALTH_FAIL) {
		if (!t->fails)
			h->nfailing++;
		t->fails++;
		t->passes = 0;
		switch (t->state) {
		case HEALTH_INIT:
		case HEALTH_UP:
		case HEALTH_SUSPECT:
			if (t->fails >= g->c.fall)
				failed(h, t, now);
			else
				enter(h, t, HEALTH_SUSPECT, now);
			break;
		case HEALTH_UP_RECENT: /* flapping: the next hold is longer */
			failed(h, t, now);
			break;
		default:
			break;
		}
	}
}

static void round_end(struct health *h, struct htarget *t, enum health_result v, const char *reason,
		      uint64_t now)
{
	uint64_t next;

	t->inflight = false;
	t->pending = 0;
	t->last = v;
	t->last_at = now;
	snprintf(t->last_reason, sizeof(t->last_reason), "%s", reason);
	verdict(h, t, v, now);
	next = t->round_start + jitter(h, interval_for(group_of(h, t), t));
	t->next_probe = next > now ? next : now;
}

static void timers(struct health *h, struct htarget *t, uint64_t now)
{
	struct hgroup *g = group_of(h, t);

	if (t->inflight && now >= t->deadline)
		round_end(h, t, HEALTH_NEUTRAL,
			  t->round_neutral ? t->round_reason : "no result within the timeout", now);
	if (t->state == HEALTH_ACTED && !g->c.manual_restore && now >= t->hold_until) {
		enter(h, t, HEALTH_PROBATION, now);
		t->passes = 0;
		if (!t->inflight)
			t->next_probe = now;
	}
	if (t->state == HEALTH_UP_RECENT && now >= t->window_until)
		enter(h, t, HEALTH_UP, now);
	if (is_healthy(t->state) && t->level && g->c.decay_ms && now >= t->decay_at) {
		uint64_t steps = (now - t->decay_at) / g->c.decay_ms + 1;

		t->level = steps >= t->level ? 0 : t->level - (unsigned)steps;
		t->decay_at += steps * g->c.decay_ms;
	}
	if (t->retry_at && now >= t->retry_at) {
		t->retry_at = 0;
		mark_dirty(h, g);
	}
}

static void round_start(struct health *h, struct htarget *t, uint64_t now, struct health_round *r)
{
	struct hgroup *g = group_of(h, t);

	if (++h->next_round == 0)
		h->next_round = 1;
	t->inflight = true;
	t->round_neutral = false;
	t->round = h->next_round;
	t->pending = (1u << g->c.nprobes) - 1;
	t->round_start = now;
	t->deadline = now + g->c.timeout_ms + ROUND_GRACE_MS;
	t->round_reason[0] = '\0';
	r->target = tid_of(h, t);
	r->round = t->round;
	r->nprobes = g->c.nprobes;
	r->timeout_ms = g->c.timeout_ms;
}

int health_tick(struct health *h, uint64_t now, struct health_round *out, size_t max)
{
	size_t n = 0;
	int err;

	while (h->nt && h->t[h->heap[0]].wake <= now) {
		struct htarget *t = &h->t[h->heap[0]];
		bool full = false;

		timers(h, t, now);
		if (!t->inflight && t->next_probe <= now) {
			if (n < max)
				round_start(h, t, now, &out[n++]);
			else
				full = true;
		}
		heap_fix(h, t);
		if (full)
			break;
	}
	err = settle(h, now);
	return err ? err : (int)n;
}

int health_feed(struct health *h, unsigned target, uint32_t round, unsigned probe,
		enum health_result res, const char *reason, uint64_t now)
{
	char buf[HEALTH_REASON_MAX];
	struct htarget *t;
	uint32_t bit;

	if (target >= h->nt)
		return -ENOENT;
	t = &h->t[target];
	if (probe >= group_of(h, t)->c.nprobes || (unsigned)res >= __HEALTH_RESULT_MAX)
		return -EINVAL;
	bit = 1u << probe;
	if (!t->inflight || t->round != round || !(t->pending & bit))
		return -ESTALE;
	t->pending &= ~bit;
	if (!reason)
		reason = health_result_name(res);
	if (group_of(h, t)->c.nprobes > 1)
		snprintf(buf, sizeof(buf), "probe %u: %s", probe, reason);
	else
		snprintf(buf, sizeof(buf), "%s", reason);
	if (res == HEALTH_FAIL) {
		round_end(h, t, HEALTH_FAIL, buf, now); /* one failed check fails the round */
	} else {
		if (res == HEALTH_NEUTRAL && !t->round_neutral) {
			t->round_neutral = true;
			memcpy(t->round_reason, buf, sizeof(buf));
		}
		if (!t->pending)
			round_end(h, t, t->round_neutral ? HEALTH_NEUTRAL : HEALTH_PASS,
				  t->round_neutral ? t->round_reason : buf, now);
	}
	heap_fix(h, t);
	return settle(h, now);
}

uint64_t health_next_due(const struct health *h)
{
	uint64_t w = h->nt ? h->t[h->heap[0]].wake : UINT64_MAX;

	return h->rate_retry_at ? min64(w, h->rate_retry_at) : w;
}

/* ---- groups and targets ---- */

static unsigned backup_kinds_of(const struct health_group_conf *c)
{
	return c->backup_kinds ? c->backup_kinds : STEERLIKE;
}

static int conf_check(const struct health *h, const struct health_group_conf *c, unsigned *nprimary,
		      struct isol_err *err)
{
	unsigned i, j, need;

	if (!c->name || !c->name[0] || strlen(c->name) >= HEALTH_GROUP_MAX)
		return isol_err_set(err, -EINVAL, "group name empty or longer than %d bytes",
				    HEALTH_GROUP_MAX - 1);
	for (i = 0; i < h->ng; i++)
		if (strcmp(h->g[i].name, c->name) == 0)
			return isol_err_set(err, -EEXIST, "%s: a group of that name exists",
					    c->name);
	if (!c->targets || c->ntargets == 0)
		return isol_err_set(err, -EINVAL, "%s: no targets", c->name);
	for (i = 0; i < c->ntargets; i++) {
		if (!c->targets[i] || !c->targets[i][0] || strlen(c->targets[i]) >= HEALTH_NAME_MAX)
			return isol_err_set(err, -EINVAL,
					    "%s: target %u empty or longer than %d bytes", c->name,
					    i + 1, HEALTH_NAME_MAX - 1);
		for (j = 0; j < i; j++)
			if (strcmp(c->targets[i], c->targets[j]) == 0)
				return isol_err_set(err, -EINVAL, "%s: target %s listed twice",
						    c->name, c->targets[i]);
	}
	if (c->nprobes < 1 || c->nprobes > HEALTH_PROBES_MAX)
		return isol_err_set(err, -EINVAL, "%s: %u probes (1 to %d)", c->name, c->nprobes,
				    HEALTH_PROBES_MAX);
	if (!c->kinds || (c->kinds & ~KINDS_ALL) || (c->backup_kinds & ~KINDS_ALL))
		return isol_err_set(err, -EINVAL, "%s: no action kind, or an unknown one", c->name);
	if (!c->interval_ms || !c->fast_interval_ms || !c->down_interval_ms || !c->timeout_ms)
		return isol_err_set(err, -EINVAL, "%s: intervals and timeout must be positive",
				    c->name);
	if (!c->fall || !c->rise)
		return isol_err_set(err, -EINVAL, "%s: fall and rise must be at least 1", c->name);
	if (!c->hold_base_ms || c->hold_max_ms < c->hold_base_ms)
		return isol_err_set(err, -EINVAL, "%s: hold base must be positive and <= max",
				    c->name);
	if (c->max_isolated_pct > 100 || c->panic_pct > 100)
		return isol_err_set(err, -EINVAL, "%s: percentages are 0 to 100", c->name);
	if (!c->decay_ms || !c->recent_intervals)
		return isol_err_set(err, -EINVAL, "%s: decay and recent_intervals must be positive",
				    c->name);
	need = c->kinds & backup_kinds_of(c);
	*nprimary = c->nprimary ? c->nprimary : need ? 1 : c->ntargets;
	if (*nprimary > c->ntargets)
		return isol_err_set(err, -EINVAL, "%s: %u primaries but %u targets", c->name,
				    *nprimary, c->ntargets);
	if (need && *nprimary == c->ntargets)
		return isol_err_set(err, -EINVAL,
				    "%s: %s needs a backup (a target after the primaries)", c->name,
				    isol_kind_name((enum isol_kind)__builtin_ctz(need)));
	return 0;
}

int health_group_add(struct health *h, const struct health_group_conf *c, uint64_t now,
		     struct isol_err *err)
{
	unsigned nprimary = 0, i, nt = h->nt + c->ntargets;
	struct hgroup *groups, *g;
	struct htarget *targets;
	unsigned *heap, *dirty;
	char *name;
	int rc;

	rc = conf_check(h, c, &nprimary, err);
	if (rc < 0)
		return rc;
	targets = realloc(h->t, nt * sizeof(*targets));
	if (!targets)
		goto nomem;
	h->t = targets;
	heap = realloc(h->heap, nt * sizeof(*heap));
	if (!heap)
		goto nomem;
	h->heap = heap;
	groups = realloc(h->g, (h->ng + 1) * sizeof(*groups));
	if (!groups)
		goto nomem;
	h->g = groups;
	dirty = realloc(h->dirty, (h->ng + 1) * sizeof(*dirty));
	if (!dirty)
		goto nomem;
	h->dirty = dirty;
	name = strdup(c->name);
	if (!name)
		goto nomem;
	for (i = 0; i < c->ntargets; i++) {
		struct htarget *t = &h->t[h->nt + i];

		memset(t, 0, sizeof(*t));
		t->name = strdup(c->targets[i]);
		if (!t->name) {
			while (i--)
				free(h->t[h->nt + i].name);
			free(name);
			goto nomem;
		}
	}

	g = &h->g[h->ng];
	memset(g, 0, sizeof(*g));
	g->c = *c;
	g->c.name = NULL;
	g->c.targets = NULL;
	g->c.nprimary = nprimary;
	g->c.backup_kinds = backup_kinds_of(c);
	g->name = name;
	g->first = h->nt;
	g->n = c->ntargets;
	g->nprimary = nprimary;
	for (i = 0; i < c->ntargets; i++) {
		struct htarget *t = &h->t[h->nt];

		t->group = h->ng;
		t->backup = i >= nprimary;
		t->state = t->backup ? HEALTH_NOT_READY : HEALTH_INIT;
		t->last = __HEALTH_RESULT_MAX;
		t->backup_t = -1;
		/* the first probe at a random point of the first interval, so a
		 * reload or a restart does not probe everything at once */
		t->next_probe = now + h->c.rand(h->c.rand_data) % c->interval_ms;
		t->hidx = h->nt;
		h->heap[h->nt] = h->nt;
		h->nt++;
		heap_fix(h, t);
	}
	return (int)h->ng++;

nomem:
	return isol_err_set(err, -ENOMEM, "%s: out of memory", c->name);
}

unsigned health_target_count(const struct health *h)
{
	return h->nt;
}

static int group_find(const struct health *h, const char *name)
{
	unsigned i;

	for (i = 0; i < h->ng; i++)
		if (strcmp(h->g[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

/* Target @name in group @gi; @hint is where it probably is (same index). */
static int target_in_group(const struct health *h, unsigned gi, const char *name, unsigned hint)
{
	const struct hgroup *g = &h->g[gi];
	unsigned i;

	if (hint < g->n && strcmp(h->t[g->first + hint].name, name) == 0)
		return (int)(g->first + hint);
	for (i = 0; i < g->n; i++)
		if (strcmp(h->t[g->first + i].name, name) == 0)
			return (int)(g->first + i);
	return -ENOENT;
}

int health_target_find(const struct health *h, const char *group, const char *target)
{
	int gi = group_find(h, group);

	return gi < 0 ? gi : target_in_group(h, (unsigned)gi, target, 0);
}

const char *health_target_name(const struct health *h, unsigned target)
{
	return target < h->nt ? h->t[target].name : NULL;
}

const char *health_group_name(const struct health *h, unsigned group)
{
	return group < h->ng ? h->g[group].name : NULL;
}

/* ---- what people do ---- */

static struct htarget *acted_target(struct health *h, unsigned target)
{
	if (target >= h->nt || !h->t[target].kinds)
		return NULL;
	return &h->t[target];
}

int health_note_rolled_back(struct health *h, unsigned target, uint64_t now)
{
	struct htarget *t = acted_target(h, target);

	if (!t)
		return -ENOENT;
	t->kinds = 0;
	t->backup_t = -1;
	enter(h, t, HEALTH_DOWN, now);
	t->want = false;
	t->rolled_back = true;
	set_refused(t, HEALTH_REFUSE_ROLLED_BACK,
		    "rolled back by a person: not acted on again until it recovers and fails "
		    "again",
		    now);
	heap_fix(h, t);
	mark_dirty(h, group_of(h, t));
	return settle(h, now);
}

int health_note_restored(struct health *h, unsigned target, uint64_t now)
{
	struct htarget *t = acted_target(h, target);

	if (!t)
		return -ENOENT;
	t->kinds = 0;
	t->backup_t = -1;
	if (t->fails)
		h->nfailing--;
	t->fails = t->passes = 0;
	enter(h, t, HEALTH_UP_RECENT, now);
	t->window_until = now + group_of(h, t)->c.observe_ms;
	clear_refused(t);
	heap_fix(h, t);
	mark_dirty(h, group_of(h, t));
	return settle(h, now);
}

int health_note_not_applied(struct health *h, unsigned target, const char *reason, uint64_t now)
{
	struct htarget *t = acted_target(h, target);
	char buf[HEALTH_REASON_MAX];

	if (!t)
		return -ENOENT;
	t->kinds = 0;
	t->backup_t = -1;
	enter(h, t, HEALTH_DOWN, now);
	t->want = true;
	t->retry_at = now + group_of(h, t)->c.down_interval_ms;
	snprintf(buf, sizeof(buf), "not applied: %s", reason ? reason : "unknown error");
	set_refused(t, HEALTH_REFUSE_NOT_APPLIED, buf, now);
	heap_fix(h, t);
	mark_dirty(h, group_of(h, t));
	return settle(h, now);
}

int health_pause(struct health *h, bool paused, uint64_t now)
{
	h->paused = paused;
	mark_all_dirty(h);
	return settle(h, now);
}

bool health_frozen(const struct health *h)
{
	return h->frozen;
}

int health_status(const struct health *h, unsigned target, uint64_t now, struct health_status *st)
{
	const struct htarget *t;
	const struct hgroup *g;

	if (target >= h->nt)
		return -ENOENT;
	t = &h->t[target];
	g = &h->g[t->group];
	memset(st, 0, sizeof(*st));
	st->group = g->name;
	st->target = t->name;
	st->backup = t->backup;
	st->state = t->state;
	st->last = t->last;
	memcpy(st->last_reason, t->last_reason, sizeof(st->last_reason));
	st->last_at = t->last_at;
	st->last_pass_at = t->last_pass_at;
	st->fails = t->fails;
	st->passes = t->passes;
	st->level = t->level;
	if (t->state == HEALTH_ACTED && !g->c.manual_restore && t->hold_until > now)
		st->hold_left_ms = t->hold_until - now;
	st->probing = t->inflight;
	st->next_probe_ms = t->inflight ? 0 : t->next_probe;
	st->kinds = t->kinds;
	st->backup_target = t->backup_t;
	st->rolled_back = t->rolled_back;
	st->group_panic = g->panic;
	st->frozen = h->frozen;
	st->paused = h->paused;
	st->refused = t->refused;
	memcpy(st->refused_reason, t->refused_reason, sizeof(st->refused_reason));
	st->refused_at = t->refused_at;
	return 0;
}

/* ---- persistence and reload ---- */

int health_save(const struct health *h, unsigned target, uint64_t now, uint64_t wall_ms,
		struct health_saved *s)
{
	const struct htarget *t;

	if (target >= h->nt)
		return -ENOENT;
	t = &h->t[target];
	memset(s, 0, sizeof(*s));
	snprintf(s->group, sizeof(s->group), "%s", h->g[t->group].name);
	snprintf(s->target, sizeof(s->target), "%s", t->name);
	s->state = t->state;
	s->level = t->level;
	s->kinds = t->kinds;
	if (t->backup_t >= 0)
		snprintf(s->backup, sizeof(s->backup), "%s", h->t[t->backup_t].name);
	if (t->state == HEALTH_ACTED)
		s->hold_until_ms = wall_ms + (t->hold_until > now ? t->hold_until - now : 0);
	s->rolled_back = t->rolled_back;
	return 0;
}

int health_load(struct health *h, const struct health_saved *s, uint64_t now, uint64_t wall_ms)
{
	struct htarget *t;
	struct hgroup *g;
	int id, gi;

	gi = group_find(h, s->group);
	if (gi < 0)
		return gi;
	id = target_in_group(h, (unsigned)gi, s->target, 0);
	if (id < 0)
		return id;
	t = &h->t[id];
	g = &h->g[gi];
	t->level = s->level < LEVEL_MAX ? s->level : LEVEL_MAX;
	if ((s->state == HEALTH_ACTED || s->state == HEALTH_PROBATION) && s->kinds) {
		t->kinds = s->kinds & KINDS_ALL;
		t->backup_t = s->backup[0] ? target_in_group(h, (unsigned)gi, s->backup, 0) : -1;
		if (t->backup_t >= 0 && !h->t[t->backup_t].backup)
			t->backup_t = -1;
		enter(h, t, s->state, now);
		t->hold_until = now + (s->hold_until_ms > wall_ms ? s->hold_until_ms - wall_ms : 0);
		t->passes = 0;
		t->want = false;
	} else if (s->state == HEALTH_UP_RECENT) {
		enter(h, t, HEALTH_UP_RECENT, now);
		t->window_until = now + g->c.observe_ms;
	} else if (s->state == HEALTH_DOWN && s->rolled_back) {
		enter(h, t, HEALTH_DOWN, now);
		t->want = false;
		t->rolled_back = true;
		set_refused(t, HEALTH_REFUSE_ROLLED_BACK,
			    "rolled back by a person: not acted on again until it recovers and "
			    "fails again",
			    now);
	}
	heap_fix(h, t);
	mark_dirty(h, g);
	return settle(h, now);
}

json_t *health_saved_to_json(const struct health_saved *s)
{
	json_t *o = json_object(), *kinds = json_array();
	int k, rc;

	if (!o || !kinds)
		goto fail;
	for (k = 0; k < __ISOL_KIND_MAX; k++)
		if ((s->kinds & HEALTH_KIND(k)) &&
		    json_array_append_new(kinds, json_string(isol_kind_name((enum isol_kind)k))))
			goto fail;
	rc = json_object_set_new(o, "kinds", kinds);
	kinds = NULL; /* @o owns it now, or it was freed */
	if (rc || json_object_set_new(o, "group", json_string(s->group)) ||
	    json_object_set_new(o, "target", json_string(s->target)) ||
	    json_object_set_new(o, "state", json_string(health_state_name(s->state))) ||
	    json_object_set_new(o, "level", json_integer(s->level)) ||
	    json_object_set_new(o, "backup", json_string(s->backup)) ||
	    json_object_set_new(o, "hold_until_ms", json_integer((json_int_t)s->hold_until_ms)) ||
	    json_object_set_new(o, "rolled_back", json_boolean(s->rolled_back)))
		goto fail;
	return o;

fail:
	json_decref(kinds);
	json_decref(o);
	return NULL;
}

static int copy_str(const json_t *o, const char *key, char *buf, size_t len, bool required,
		    struct isol_err *err)
{
	const json_t *v = json_object_get(o, key);

	if (!v && !required) {
		buf[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= len ||
	    (required && !json_string_length(v)))
		return isol_err_set(err, -EINVAL,
				    "health record: \"%s\" must be a string of 1 to %zu bytes", key,
				    len - 1);
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int health_saved_from_json(const json_t *o, struct health_saved *s, struct isol_err *err)
{
	const json_t *v, *k;
	size_t i;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o))
		return isol_err_set(err, -EINVAL, "health record: not an object");
	if ((rc = copy_str(o, "group", s->group, sizeof(s->group), true, err)) < 0 ||
	    (rc = copy_str(o, "target", s->target, sizeof(s->target), true, err)) < 0 ||
	    (rc = copy_str(o, "backup", s->backup, sizeof(s->backup), false, err)) < 0)
		return rc;
	v = json_object_get(o, "state");
	if (!json_is_string(v) || health_state_parse(json_string_value(v), &s->state) < 0)
		return isol_err_set(err, -EINVAL, "health record: bad \"state\"");
	v = json_object_get(o, "level");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > LEVEL_MAX)
		return isol_err_set(err, -EINVAL, "health record: \"level\" must be 0 to %d",
				    LEVEL_MAX);
	s->level = (unsigned)json_integer_value(v);
	v = json_object_get(o, "kinds");
	if (v && !json_is_array(v))
		return isol_err_set(err, -EINVAL, "health record: \"kinds\" must be a list");
	json_array_foreach(v, i, k)
	{
		enum isol_kind kind;

		if (!json_is_string(k) || isol_kind_parse(json_string_value(k), &kind) < 0)
			return isol_err_set(err, -EINVAL, "health record: bad kind in \"kinds\"");
		s->kinds |= HEALTH_KIND(kind);
	}
	v = json_object_get(o, "hold_until_ms");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
		return isol_err_set(err, -EINVAL, "health record: bad \"hold_until_ms\"");
	s->hold_until_ms = v ? (uint64_t)json_integer_value(v) : 0;
	v = json_object_get(o, "rolled_back");
	if (v && !json_is_boolean(v))
		return isol_err_set(err, -EINVAL, "health record: bad \"rolled_back\"");
	s->rolled_back = v && json_is_true(v);
	return 0;
}

int health_carry(struct health *to, const struct health *from, uint64_t now)
{
	unsigned gi, i;

	for (gi = 0; gi < to->ng; gi++) {
		const struct hgroup *tg = &to->g[gi];
		int fg = group_find(from, tg->name);

		for (i = 0; fg >= 0 && i < tg->n; i++) {
			struct htarget *t = &to->t[tg->first + i];
			const struct htarget *f;
			int id = target_in_group(from, (unsigned)fg, t->name, i);

			if (id < 0)
				continue;
			f = &from->t[id];
			t->state = f->state;
			t->fails = f->fails;
			t->passes = f->passes;
			t->last = f->last;
			memcpy(t->last_reason, f->last_reason, sizeof(t->last_reason));
			t->last_at = f->last_at;
			t->last_pass_at = f->last_pass_at;
			t->has_pass = f->has_pass;
			t->inflight = false; /* its results go to @from's ids: dropped */
			t->next_probe = f->inflight ? now : f->next_probe;
			t->level = f->level;
			t->hold_until = f->hold_until;
			t->window_until = f->window_until;
			t->decay_at = f->decay_at;
			t->retry_at = f->retry_at;
			t->kinds = f->kinds;
			t->backup_t = f->backup_t >= 0
					  ? target_in_group(to, gi, from->t[f->backup_t].name,
							    f->backup_t - from->g[fg].first)
					  : -1;
			if (t->backup_t >= 0 && !to->t[t->backup_t].backup)
				t->backup_t = -1;
			t->want = f->want && !t->backup;
			t->rolled_back = f->rolled_back;
			t->refused = f->refused;
			memcpy(t->refused_reason, f->refused_reason, sizeof(t->refused_reason));
			t->refused_at = f->refused_at;
		}
	}
	to->nfailing = 0;
	for (i = 0; i < to->nt; i++) {
		to->nfailing += to->t[i].fails != 0;
		heap_fix(to, &to->t[i]);
	}
	to->paused = from->paused;
	if (to->c.rate_per_min && from->c.rate_per_min) {
		/* the newest entries of @from's ring, oldest first */
		unsigned n = min64(from->rate_len, to->c.rate_per_min), k;

		to->rate_len = to->rate_pos = 0;
		for (k = 0; k < n; k++)
			rate_take(to, from->rate[(from->rate_pos + from->c.rate_per_min - n + k) %
						 from->c.rate_per_min]);
	}
	to->rate_retry_at = from->rate_retry_at;
	if (to->next_round < from->next_round)
		to->next_round = from->next_round;
	mark_all_dirty(to);
	return settle(to, now);
}
