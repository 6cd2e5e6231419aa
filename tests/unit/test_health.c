/* test_health.c - the health state machine driven by tables of probe results
 * and clock steps: no sockets, no sleeping, exact states and times. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "health.h"

#define P	HEALTH_PASS
#define F	HEALTH_FAIL
#define N	HEALTH_NEUTRAL
#define K_ISO	HEALTH_KIND(ISOL_KIND_ISOLATE)
#define K_STEER HEALTH_KIND(ISOL_KIND_STEER)
#define MAXT	32
#define MAXLOG	512

struct env {
	struct health *h;
	uint64_t now;
	uint32_t seed;
	bool open[MAXT]; /* a round in flight, not answered yet */
	uint32_t round[MAXT];
	unsigned nprobes[MAXT];
	uint64_t started[MAXT][64]; /* round start times per target, first 64 */
	unsigned nstarted[MAXT];
	struct health_decision log[MAXLOG];
	unsigned nlog;
};

static uint32_t rand_zero(void *data)
{
	(void)data;
	return 0;
}

static uint32_t rand_lcg(void *data)
{
	uint32_t *s = data;

	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/* Exact by default: no jitter, first probes at once, no freeze, no rate limit. */
static void env_init(struct env *e, const struct health_conf *c)
{
	struct health_conf d;

	memset(e, 0, sizeof(*e));
	if (!c) {
		health_conf_init(&d);
		d.jitter_pct = 0;
		d.freeze_pct = 0;
		d.rate_per_min = 0;
		d.rand = rand_zero;
		c = &d;
	}
	e->h = health_new(c);
	assert_non_null(e->h);
}

static void env_fini(struct env *e)
{
	health_free(e->h);
}

/* A group conf with round numbers: interval 5 s, fast 1 s, down 10 s,
 * timeout 2 s, fall 3, rise 2, hold 30 s .. 300 s; guard rails off. */
static void conf_easy(struct health_group_conf *c, const char *name, const char *const *targets,
		      unsigned n)
{
	health_group_conf_init(c);
	c->name = name;
	c->targets = targets;
	c->ntargets = n;
	c->max_isolated_pct = 100;
	c->min_available = 0;
	c->panic_pct = 0;
}

static int add(struct env *e, const struct health_group_conf *c)
{
	struct isol_err err = {0};
	int g = health_group_add(e->h, c, e->now, &err);

	if (g < 0)
		print_error("health_group_add: %s\n", err.msg);
	assert_true(g >= 0);
	return g;
}

static void drain(struct env *e)
{
	struct health_decision d;

	while (health_next_decision(e->h, &d) == 1) {
		assert_true(e->nlog < MAXLOG);
		e->log[e->nlog++] = d;
	}
}

/* Tick at @now; remember the rounds started. */
static void tick(struct env *e, uint64_t now)
{
	struct health_round r[8];
	int n, i;

	e->now = now;
	do {
		n = health_tick(e->h, now, r, 8);
		assert_true(n >= 0);
		for (i = 0; i < n; i++) {
			unsigned t = r[i].target;

			assert_true(t < MAXT);
			assert_false(e->open[t]);
			e->open[t] = true;
			e->round[t] = r[i].round;
			e->nprobes[t] = r[i].nprobes;
			if (e->nstarted[t] < 64)
				e->started[t][e->nstarted[t]] = now;
			e->nstarted[t]++;
		}
	} while (n == 8);
	drain(e);
}

/* Answer the open round of @t with one result per probe. */
static void answer(struct env *e, unsigned t, const enum health_result *res, unsigned nres,
		   const char *reason)
{
	unsigned i;
	int rc = 0;

	assert_true(e->open[t]);
	e->open[t] = false;
	for (i = 0; i < nres; i++) {
		rc = health_feed(e->h, t, e->round[t], i, res[i], reason, e->now);
		if (rc == -ESTALE) /* the round failed early on an earlier probe */
			continue;
		assert_int_equal(rc, 0);
	}
	drain(e);
}

/* Run the world from e->now to @until: at each due time, tick and answer
 * every round started with what @world says probe p of target t sees. */
static void run(struct env *e, uint64_t until,
		enum health_result (*world)(unsigned t, unsigned p, uint64_t now, void *data),
		void *data)
{
	for (;;) {
		uint64_t due = health_next_due(e->h);
		unsigned t, p;

		if (due > until)
			break;
		tick(e, due < e->now ? e->now : due);
		for (t = 0; t < MAXT; t++) {
			enum health_result res[HEALTH_PROBES_MAX];

			if (!e->open[t])
				continue;
			for (p = 0; p < e->nprobes[t]; p++)
				res[p] = world(t, p, e->now, data);
			answer(e, t, res, p, NULL);
		}
	}
	tick(e, until);
}

static void dump(const struct env *e)
{
	unsigned i;

	for (i = 0; i < e->nlog; i++)
		print_message("  %llu %s t%u kinds %u backup %d level %u hold %llu why %s: %s\n",
			      (unsigned long long)e->log[i].at_ms,
			      e->log[i].what == HEALTH_DO_ACT	    ? "ACT"
			      : e->log[i].what == HEALTH_DO_RESTORE ? "RESTORE"
								    : "REFUSE",
			      e->log[i].target, e->log[i].kinds, e->log[i].backup, e->log[i].level,
			      (unsigned long long)e->log[i].hold_ms,
			      health_refusal_name(e->log[i].why), e->log[i].reason);
}

static unsigned count(const struct env *e, enum health_do what, int target)
{
	unsigned i, n = 0;

	for (i = 0; i < e->nlog; i++)
		if (e->log[i].what == what && (target < 0 || e->log[i].target == (unsigned)target))
			n++;
	return n;
}

static const struct health_decision *nth(const struct env *e, enum health_do what, unsigned k)
{
	unsigned i;

	for (i = 0; i < e->nlog; i++)
		if (e->log[i].what == what && k-- == 0)
			return &e->log[i];
	dump(e);
	fail_msg("no decision %d number %u", what, k);
	return NULL;
}

static struct health_status status(const struct env *e, unsigned t)
{
	struct health_status st;

	assert_int_equal(health_status(e->h, t, e->now, &st), 0);
	return st;
}

/* ---- a table: one round per row, at an exact time ---- */

struct step {
	uint64_t at;
	enum health_result res[2];
	enum health_state state;
	unsigned fails, passes;
	uint64_t next_due; /* what health_next_due() says afterwards */
	int decision;	   /* -1 none, else the HEALTH_DO_* it produced */
};

static void play(struct env *e, unsigned nprobes, const struct step *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned before = e->nlog;
		struct health_status st;

		assert_int_equal(health_next_due(e->h), s[i].at);
		tick(e, s[i].at);
		answer(e, 0, s[i].res, nprobes,
		       (s[i].res[0] == F || s[i].res[1] == F)
			   ? nprobes == 1 ? "connection refused" : "http 500"
			   : NULL);
		st = status(e, 0);
		if (st.state != s[i].state || st.fails != s[i].fails || st.passes != s[i].passes ||
		    health_next_due(e->h) != s[i].next_due)
			fail_msg("row %zu (t=%llu): state %s fails %u passes %u next %llu", i,
				 (unsigned long long)s[i].at, health_state_name(st.state), st.fails,
				 st.passes, (unsigned long long)health_next_due(e->h));
		if (s[i].decision < 0) {
			assert_int_equal(e->nlog, before);
		} else {
			assert_int_equal(e->nlog, before + 1);
			assert_int_equal(e->log[before].what, s[i].decision);
			assert_int_equal(e->log[before].at_ms, s[i].at);
		}
	}
}

static const char *const one[] = {"10.0.0.5:5672"};

static void test_fall_rise_counting(void **state)
{
	static const struct step steps[] = {
	    {0, {P}, HEALTH_UP, 0, 1, 5000, -1},
	    {5000, {F}, HEALTH_SUSPECT, 1, 0, 6000, -1}, /* fast_interval */
	    {6000, {F}, HEALTH_SUSPECT, 2, 0, 7000, -1},
	    {7000, {P}, HEALTH_UP, 0, 1, 12000, -1}, /* full reset */
	    {12000, {F}, HEALTH_SUSPECT, 1, 0, 13000, -1},
	    {13000, {F}, HEALTH_SUSPECT, 2, 0, 14000, -1},
	    {14000, {F}, HEALTH_ACTED, 3, 0, 24000, HEALTH_DO_ACT}, /* hold to 44000 */
	    {24000, {P}, HEALTH_ACTED, 0, 1, 34000, -1}, /* passes in the hold do not restore */
	    {34000, {F}, HEALTH_ACTED, 1, 0, 44000, -1},
	    {44000, {P}, HEALTH_PROBATION, 0, 1, 45000, -1}, /* hold over: rising, fast */
	    {45000, {F}, HEALTH_PROBATION, 1, 0, 50000, -1}, /* reset */
	    {50000, {P}, HEALTH_PROBATION, 0, 1, 51000, -1},
	    {51000, {P}, HEALTH_UP_RECENT, 0, 2, 56000, HEALTH_DO_RESTORE},
	    {56000, {P}, HEALTH_UP_RECENT, 0, 3, 61000, -1},
	};
	struct health_group_conf c;
	struct health_status st;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "rabbitmq", one, 1);
	add(&e, &c);
	st = status(&e, 0);
	assert_int_equal(st.state, HEALTH_INIT);
	assert_int_equal(st.last, __HEALTH_RESULT_MAX);
	play(&e, 1, steps, sizeof(steps) / sizeof(steps[0]));

	assert_int_equal(e.log[0].kinds, K_ISO);
	assert_int_equal(e.log[0].level, 1);
	assert_int_equal(e.log[0].hold_ms, 30000);
	assert_int_equal(e.log[0].backup, -1);
	assert_string_equal(e.log[0].reason, "3 consecutive failures: connection refused");
	/* the window ends and the level decays a minute after the restore */
	st = status(&e, 0);
	assert_int_equal(st.level, 1);
	tick(&e, 110999);
	assert_int_equal(status(&e, 0).state, HEALTH_UP_RECENT);
	tick(&e, 111000);
	st = status(&e, 0);
	assert_int_equal(st.state, HEALTH_UP);
	assert_int_equal(st.level, 0);
	env_fini(&e);
}

static void test_multi_probe(void **state)
{
	static const struct step steps[] = {
	    {0, {P, P}, HEALTH_UP, 0, 1, 5000, -1},
	    {5000, {P, F}, HEALTH_SUSPECT, 1, 0, 6000, -1}, /* tcp passes, http fails */
	    {6000, {P, N}, HEALTH_SUSPECT, 1, 0, 7000, -1}, /* pass + neutral: neutral */
	    {7000, {F, P}, HEALTH_SUSPECT, 2, 0, 8000, -1},
	    {8000, {P, F}, HEALTH_ACTED, 3, 0, 18000, HEALTH_DO_ACT}, /* hold to 38000 */
	    {18000, {P, F}, HEALTH_ACTED, 4, 0, 28000, -1},
	    {28000, {P, F}, HEALTH_ACTED, 5, 0, 38000, -1},
	    {38000, {P, F}, HEALTH_PROBATION, 6, 0, 43000, -1}, /* tcp alone: not well */
	    {43000, {P, F}, HEALTH_PROBATION, 7, 0, 48000, -1},
	    {48000, {P, P}, HEALTH_PROBATION, 0, 1, 49000, -1},
	    {49000, {P, F}, HEALTH_PROBATION, 1, 0, 54000, -1},
	    {54000, {P, P}, HEALTH_PROBATION, 0, 1, 55000, -1},
	    {55000, {P, P}, HEALTH_UP_RECENT, 0, 2, 60000, HEALTH_DO_RESTORE},
	};
	static const char *const rmq[] = {"rmq"};
	struct health_group_conf c;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "web", rmq, 1);
	c.nprobes = 2;
	add(&e, &c);
	play(&e, 2, steps, sizeof(steps) / sizeof(steps[0]));
	assert_string_equal(e.log[0].reason, "3 consecutive failures: probe 1: http 500");

	/* one failed check ends the round at once; the other's late result is stale */
	assert_int_equal(health_next_due(e.h), 60000);
	tick(&e, 60000);
	assert_int_equal(health_feed(e.h, 0, e.round[0], 1, F, "http 503", 60001), 0);
	drain(&e);
	/* a failure in the observation window: acted on again at once, one level up */
	assert_int_equal(status(&e, 0).state, HEALTH_ACTED);
	assert_int_equal(status(&e, 0).fails, 1);
	assert_int_equal(count(&e, HEALTH_DO_ACT, 0), 2);
	assert_int_equal(e.log[e.nlog - 1].level, 2);
	assert_int_equal(e.log[e.nlog - 1].hold_ms, 60000);
	assert_string_equal(e.log[e.nlog - 1].reason,
			    "failed in the observation window after a restore: probe 1: http 503");
	assert_int_equal(health_feed(e.h, 0, e.round[0], 0, P, NULL, 60002), -ESTALE);
	assert_int_equal(health_feed(e.h, 0, e.round[0], 2, P, NULL, 60002), -EINVAL);
	assert_int_equal(health_feed(e.h, 7, e.round[0], 0, P, NULL, 60002), -ENOENT);
	env_fini(&e);
}

static void test_neutral(void **state)
{
	static const struct step steps[] = {
	    {0, {P}, HEALTH_UP, 0, 1, 5000, -1},
	    {5000, {F}, HEALTH_SUSPECT, 1, 0, 6000, -1},
	    {6000, {N}, HEALTH_SUSPECT, 1, 0, 7000, -1}, /* EMFILE: counts neither way */
	    {7000, {F}, HEALTH_SUSPECT, 2, 0, 8000, -1},
	    {8000, {N}, HEALTH_SUSPECT, 2, 0, 9000, -1},
	    {9000, {F}, HEALTH_ACTED, 3, 0, 19000, HEALTH_DO_ACT},
	    {19000, {N}, HEALTH_ACTED, 3, 0, 29000, -1},
	    {29000, {N}, HEALTH_ACTED, 3, 0, 39000, -1}, /* hold ends 39000 */
	    {39000, {P}, HEALTH_PROBATION, 0, 1, 40000, -1},
	    {40000, {N}, HEALTH_PROBATION, 0, 1, 41000, -1},
	    {41000, {P}, HEALTH_UP_RECENT, 0, 2, 46000, HEALTH_DO_RESTORE},
	};
	struct health_group_conf c;
	struct health_status st;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "g", one, 1);
	add(&e, &c);
	play(&e, 1, steps, sizeof(steps) / sizeof(steps[0]));

	/* a round whose result never comes is neutral at timeout + grace */
	tick(&e, 46000);
	assert_true(e.open[0]);
	st = status(&e, 0);
	assert_true(st.probing);
	assert_int_equal(health_next_due(e.h), 46000 + 2000 + 500);
	tick(&e, 48500);
	st = status(&e, 0);
	assert_false(st.probing);
	assert_int_equal(st.last, HEALTH_NEUTRAL);
	assert_string_equal(st.last_reason, "no result within the timeout");
	assert_int_equal(st.passes, 2);
	assert_int_equal(st.state, HEALTH_UP_RECENT);
	assert_int_equal(st.next_probe_ms, 51000); /* from the round's start */
	env_fini(&e);
}

/* down during even seconds, up during odd ones */
static enum health_result flapping(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)t, (void)p, (void)data;
	return (now / 1000) % 2 ? P : F;
}

static void test_flapping_holds_grow(void **state)
{
	struct health_group_conf c;
	uint64_t last_act = 0;
	unsigned i, acts = 0;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "flap", one, 1);
	c.interval_ms = 1000;
	c.fast_interval_ms = 200;
	c.hold_base_ms = 2000;
	c.hold_max_ms = 64000;
	add(&e, &c);
	run(&e, 20 * 60 * 1000, flapping, NULL);

	/* 1200 flaps of the world; the decisions alternate act/restore, each
	 * act one level up with twice the hold, never shorter than its hold */
	for (i = 0; i < e.nlog; i++) {
		const struct health_decision *d = &e.log[i];
		uint64_t want = 2000ull << (acts < 6 ? acts : 5);

		assert_int_not_equal(d->what, HEALTH_DO_REFUSE);
		assert_int_equal(d->what, i % 2 ? HEALTH_DO_RESTORE : HEALTH_DO_ACT);
		if (d->what == HEALTH_DO_ACT) {
			assert_int_equal(d->level, acts + 1);
			assert_int_equal(d->hold_ms, want > 64000 ? 64000 : want);
			last_act = d->at_ms;
			acts++;
		} else {
			assert_true(d->at_ms >= last_act + e.log[i - 1].hold_ms);
		}
	}
	assert_int_equal(e.log[0].at_ms, 400); /* 0, 200, 400: three failures */
	assert_true(acts >= 15 && acts <= 25);
	assert_int_equal(status(&e, 0).level, acts);
	env_fini(&e);
}

/* failing at the listed seconds, passing otherwise */
struct fail_at {
	const uint64_t *secs;
	size_t n;
};

static enum health_result fails_at(unsigned t, unsigned p, uint64_t now, void *data)
{
	const struct fail_at *f = data;
	size_t i;

	(void)t, (void)p;
	for (i = 0; i < f->n; i++)
		if (now == f->secs[i] * 1000)
			return F;
	return P;
}

static void test_decay_after_health(void **state)
{
	static const uint64_t secs[] = {0, 2, 5, 150};
	struct fail_at f = {secs, 4};
	struct health_group_conf c;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "decay", one, 1);
	c.interval_ms = c.fast_interval_ms = c.down_interval_ms = 1000;
	c.fall = c.rise = 1;
	c.hold_base_ms = 1000;
	c.hold_max_ms = 64000;
	c.observe_ms = 5000;
	add(&e, &c);
	run(&e, 68000, fails_at, &f);
	assert_int_equal(count(&e, HEALTH_DO_ACT, 0), 3);
	assert_int_equal(count(&e, HEALTH_DO_RESTORE, 0), 3);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->at_ms, 0);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->hold_ms, 1000);
	assert_int_equal(nth(&e, HEALTH_DO_RESTORE, 0)->at_ms, 1000);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 1)->at_ms, 2000); /* in the window */
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 1)->hold_ms, 2000);
	assert_int_equal(nth(&e, HEALTH_DO_RESTORE, 1)->at_ms, 4000);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 2)->at_ms, 5000);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 2)->hold_ms, 4000);
	assert_int_equal(nth(&e, HEALTH_DO_RESTORE, 2)->at_ms, 9000);
	assert_int_equal(status(&e, 0).level, 3); /* restored at 9 s: decays from 69 s */
	run(&e, 69000, fails_at, &f);
	assert_int_equal(status(&e, 0).level, 2);
	run(&e, 129000, fails_at, &f);
	assert_int_equal(status(&e, 0).level, 1);
	run(&e, 151000, fails_at, &f);
	/* failed at 150 s on level 1: acts on level 2, not 4 */
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 3)->at_ms, 150000);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 3)->level, 2);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 3)->hold_ms, 2000);
	env_fini(&e);
}

static enum health_result all_fail(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)t, (void)p, (void)now, (void)data;
	return F;
}

static enum health_result all_pass(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)t, (void)p, (void)now, (void)data;
	return P;
}

/* save -> JSON text -> parse -> load into a fresh module, as a restart does */
static void restart(struct env *e, const struct health_group_conf *c, uint64_t now,
		    uint64_t wall_then, uint64_t wall_now)
{
	struct health_saved s[MAXT], back;
	unsigned i, n = health_target_count(e->h);
	struct isol_err err = {0};

	for (i = 0; i < n; i++) {
		json_t *o, *p;
		char *text;

		assert_int_equal(health_save(e->h, i, e->now, wall_then, &s[i]), 0);
		o = health_saved_to_json(&s[i]);
		assert_non_null(o);
		text = json_dumps(o, JSON_COMPACT);
		assert_non_null(text);
		p = json_loads(text, 0, NULL);
		assert_non_null(p);
		assert_int_equal(health_saved_from_json(p, &back, &err), 0);
		assert_memory_equal(&back, &s[i], sizeof(back));
		json_decref(o);
		json_decref(p);
		free(text);
	}
	env_fini(e);
	env_init(e, NULL);
	e->now = now;
	add(e, c);
	for (i = 0; i < n; i++)
		assert_int_equal(health_load(e->h, &s[i], now, wall_now), 0);
	drain(e);
}

static void test_level_persisted(void **state)
{
	static const uint64_t secs[] = {0, 2, 5};
	struct fail_at f = {secs, 3};
	struct health_group_conf c;
	struct health_status st;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "persist", one, 1);
	c.interval_ms = c.fast_interval_ms = c.down_interval_ms = 1000;
	c.fall = c.rise = 1;
	c.hold_base_ms = 1000;
	c.observe_ms = 5000;
	add(&e, &c);
	run(&e, 5500, fails_at, &f);
	st = status(&e, 0);
	assert_int_equal(st.state, HEALTH_ACTED);
	assert_int_equal(st.level, 3);
	assert_int_equal(st.hold_left_ms, 3500); /* acted at 5 s for 4 s */

	/* the agent restarts 1.5 s later (wall clock) on a new monotonic clock */
	restart(&e, &c, 777, 1000000, 1001500);
	assert_int_equal(e.nlog, 0);
	st = status(&e, 0);
	assert_int_equal(st.state, HEALTH_ACTED);
	assert_int_equal(st.level, 3);
	assert_int_equal(st.kinds, K_ISO);
	assert_int_equal(st.hold_left_ms, 2000);
	/* a crash loop does not reset it either */
	restart(&e, &c, 10, 5000, 5000);
	restart(&e, &c, 20, 5000, 5000);
	st = status(&e, 0);
	assert_int_equal(st.level, 3);
	assert_int_equal(st.hold_left_ms, 2000);
	/* hold over, restored; a failure in the window acts on level 4 */
	run(&e, 2020, all_pass, NULL);
	assert_int_equal(count(&e, HEALTH_DO_RESTORE, 0), 1);
	assert_int_equal(nth(&e, HEALTH_DO_RESTORE, 0)->at_ms, 2020);
	run(&e, 3020, all_fail, NULL);
	assert_int_equal(count(&e, HEALTH_DO_ACT, 0), 1);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->level, 4);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->hold_ms, 8000);
	env_fini(&e);
}

static void test_saved_json_errors(void **state)
{
	struct isol_err err = {0};
	struct health_saved s;
	json_t *o;

	(void)state;
	o = json_loads("{\"group\":\"g\",\"target\":\"t\",\"state\":\"acted\",\"level\":99}", 0,
		       NULL);
	assert_int_equal(health_saved_from_json(o, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "level"));
	json_decref(o);
	isol_err_clear(&err);
	o = json_loads("{\"group\":\"g\",\"target\":\"t\",\"state\":\"nap\",\"level\":1}", 0, NULL);
	assert_int_equal(health_saved_from_json(o, &s, &err), -EINVAL);
	json_decref(o);
	isol_err_clear(&err);
	o = json_loads("{\"group\":\"g\",\"target\":\"t\",\"state\":\"down\",\"level\":1,"
		       "\"kinds\":[\"steer\",\"isolate\"],\"rolled_back\":true}",
		       0, NULL);
	assert_int_equal(health_saved_from_json(o, &s, &err), 0);
	assert_int_equal(s.kinds, K_STEER | K_ISO);
	assert_true(s.rolled_back);
	assert_string_equal(s.backup, "");
	json_decref(o);
}

/* P down always; B1 up from 5 s to 20 s; B2 up from 10 s to 40 s */
static enum health_result backups_world(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)p, (void)data;
	if (t == 1)
		return now >= 5000 && now < 20000 ? P : F;
	if (t == 2)
		return now >= 10000 && now < 40000 ? P : F;
	return F;
}

static const char *const pbb[] = {"primary", "backup1", "backup2"};

static void backup_conf(struct health_group_conf *c, const char *name, unsigned n)
{
	conf_easy(c, name, pbb, n);
	c->kinds = K_STEER;
	c->interval_ms = c->fast_interval_ms = c->down_interval_ms = 1000;
	c->fall = 2;
	c->rise = 2;
	c->hold_base_ms = 10000;
}

static void test_backups(void **state)
{
	const struct health_decision *d;
	struct health_group_conf c;
	struct health_status st;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	backup_conf(&c, "steer", 3);
	add(&e, &c);
	assert_int_equal(status(&e, 1).state, HEALTH_NOT_READY);
	assert_true(status(&e, 1).backup);
	assert_false(status(&e, 0).backup);

	/* P has failed but no backup is ready: refused, with the reason */
	run(&e, 5500, backups_world, NULL);
	assert_int_equal(e.nlog, 1);
	d = &e.log[0];
	assert_int_equal(d->what, HEALTH_DO_REFUSE);
	assert_int_equal(d->why, HEALTH_REFUSE_NO_BACKUP);
	assert_int_equal(d->at_ms, 1000);
	assert_string_equal(d->reason,
			    "no backup up with a recent pass: backup1 not-ready backup2 not-ready");
	st = status(&e, 0);
	assert_int_equal(st.state, HEALTH_DOWN);
	assert_int_equal(st.refused, HEALTH_REFUSE_NO_BACKUP);
	assert_int_equal(status(&e, 1).state, HEALTH_NOT_READY); /* one pass of two */

	/* B1 ready after its second pass: steered to it, then and there */
	run(&e, 6000, backups_world, NULL);
	assert_int_equal(e.nlog, 2);
	d = &e.log[1];
	assert_int_equal(d->what, HEALTH_DO_ACT);
	assert_int_equal(d->at_ms, 6000);
	assert_int_equal(d->kinds, K_STEER);
	assert_int_equal(d->backup, 1);
	assert_false(d->replace);
	assert_int_equal(status(&e, 0).refused, HEALTH_REFUSE_NONE);

	/* B1 fails twice (20 s, 21 s): moved to B2, the hold kept */
	run(&e, 21000, backups_world, NULL);
	assert_int_equal(e.nlog, 3);
	d = &e.log[2];
	assert_int_equal(d->what, HEALTH_DO_ACT);
	assert_true(d->replace);
	assert_int_equal(d->backup, 2);
	assert_int_equal(d->at_ms, 21000);
	assert_int_equal(d->level, 1);
	assert_int_equal(status(&e, 0).backup_target, 2);

	/* B2 fails too: nowhere to steer, fail open (announced once) */
	run(&e, 41000, backups_world, NULL);
	assert_int_equal(e.nlog, 4);
	d = &e.log[3];
	assert_int_equal(d->what, HEALTH_DO_RESTORE);
	assert_int_equal(d->why, HEALTH_REFUSE_NO_BACKUP);
	assert_int_equal(d->kinds, K_STEER);
	assert_int_equal(d->backup, 2);
	assert_int_equal(d->at_ms, 41000);
	assert_string_equal(d->reason,
			    "backup backup2 is down and no other backup is ready: fail open");
	st = status(&e, 0);
	assert_int_equal(st.state, HEALTH_DOWN);
	assert_int_equal(st.kinds, 0);
	assert_int_equal(st.refused, HEALTH_REFUSE_NO_BACKUP);
	run(&e, 100000, backups_world, NULL);
	assert_int_equal(e.nlog, 4);
	assert_int_equal(status(&e, 0).refused, HEALTH_REFUSE_NO_BACKUP);
	env_fini(&e);
}

/* B passes twice, then only neutral results (this host's trouble) until 10 s */
static enum health_result stale_world(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)p, (void)data;
	if (t == 1)
		return now <= 1000 || now >= 10000 ? P : N;
	return now >= 5000 ? F : P;
}

static void test_backup_needs_recent_pass(void **state)
{
	struct health_group_conf c;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	backup_conf(&c, "stale", 2);
	add(&e, &c);
	run(&e, 6000, stale_world, NULL);
	assert_int_equal(status(&e, 1).state, HEALTH_UP); /* but its pass is 5 s old */
	assert_int_equal(e.nlog, 1);
	assert_int_equal(e.log[0].what, HEALTH_DO_REFUSE);
	assert_int_equal(e.log[0].why, HEALTH_REFUSE_NO_BACKUP);
	assert_string_equal(e.log[0].reason,
			    "no backup up with a recent pass: backup1 no pass for 5s");
	/* a fresh pass of the backup unblocks the steer at once */
	run(&e, 10000, stale_world, NULL);
	assert_int_equal(e.nlog, 2);
	assert_int_equal(e.log[1].what, HEALTH_DO_ACT);
	assert_int_equal(e.log[1].at_ms, 10000);
	assert_int_equal(e.log[1].backup, 1);
	env_fini(&e);
}

static const char *const abcd[] = {"a", "b", "c", "d"};

static void test_all_down_guard_rails(void **state)
{
	struct health_group_conf c;
	struct health_status st;
	unsigned i, acted = 0;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "three", abcd, 3);
	c.max_isolated_pct = 50;
	c.min_available = 1;
	c.fall = 1;
	add(&e, &c);
	run(&e, 60000, all_fail, NULL);
	/* one of three acted on; the others refused once each, not every round */
	assert_int_equal(count(&e, HEALTH_DO_ACT, -1), 1);
	assert_int_equal(count(&e, HEALTH_DO_REFUSE, -1), 2);
	assert_int_equal(count(&e, HEALTH_DO_RESTORE, -1), 0);
	for (i = 0; i < 3; i++) {
		st = status(&e, i);
		if (st.kinds) {
			acted++;
			continue;
		}
		assert_int_equal(st.state, HEALTH_DOWN);
		assert_int_equal(st.refused, HEALTH_REFUSE_MAX_PCT);
		assert_string_equal(st.refused_reason,
				    "max_isolated_pct: acting on it would make 2 of 3 primaries "
				    "(limit 50%)");
		assert_int_equal(st.refused_at, 0);
	}
	assert_int_equal(acted, 1);
	env_fini(&e);

	/* min_available: two members, 100 % allowed, one must stay */
	env_init(&e, NULL);
	conf_easy(&c, "two", abcd, 2);
	c.min_available = 1;
	c.fall = 1;
	add(&e, &c);
	run(&e, 10000, all_fail, NULL);
	assert_int_equal(count(&e, HEALTH_DO_ACT, -1), 1);
	assert_int_equal(count(&e, HEALTH_DO_REFUSE, -1), 1);
	for (i = 0; i < e.nlog; i++)
		if (e.log[i].what == HEALTH_DO_REFUSE)
			assert_int_equal(e.log[i].why, HEALTH_REFUSE_MIN_AVAIL);
	env_fini(&e);
}

/* a from 0 s, b from 10 s, c from 20 s to 30 s; d never */
static enum health_result cascade(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)p, (void)data;
	switch (t) {
	case 0:
		return F;
	case 1:
		return now >= 10000 ? F : P;
	case 2:
		return now >= 20000 && now < 30000 ? F : P;
	default:
		return P;
	}
}

static void test_panic_fail_open(void **state)
{
	struct health_group_conf c;
	struct env e;
	unsigned i;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "pool", abcd, 4);
	c.max_isolated_pct = 50;
	c.min_available = 1;
	c.panic_pct = 50;
	c.interval_ms = c.fast_interval_ms = c.down_interval_ms = 1000;
	c.fall = c.rise = 1;
	add(&e, &c);
	run(&e, 40000, cascade, NULL);
	{
		static const struct {
			enum health_do what;
			unsigned target;
			uint64_t at;
			enum health_refusal why;
			unsigned level;
		} want[] = {
		    {HEALTH_DO_ACT, 0, 0, HEALTH_REFUSE_NONE, 1},
		    {HEALTH_DO_ACT, 1, 10000, HEALTH_REFUSE_NONE, 1}, /* 2 of 4: the limit */
		    /* c fails: 1 of 4 up is panic: lift everything */
		    {HEALTH_DO_RESTORE, 0, 20000, HEALTH_REFUSE_PANIC, 1},
		    {HEALTH_DO_RESTORE, 1, 20000, HEALTH_REFUSE_PANIC, 1},
		    {HEALTH_DO_REFUSE, 2, 20000, HEALTH_REFUSE_PANIC, 0},
		    /* c back: a and b acted on again, one level up */
		    {HEALTH_DO_ACT, 0, 30000, HEALTH_REFUSE_NONE, 2},
		    {HEALTH_DO_ACT, 1, 30000, HEALTH_REFUSE_NONE, 2},
		};

		assert_int_equal(e.nlog, sizeof(want) / sizeof(want[0]));
		for (i = 0; i < e.nlog; i++) {
			assert_int_equal(e.log[i].what, want[i].what);
			assert_int_equal(e.log[i].target, want[i].target);
			assert_int_equal(e.log[i].at_ms, want[i].at);
			assert_int_equal(e.log[i].why, want[i].why);
			assert_int_equal(e.log[i].level, want[i].level);
		}
	}
	assert_string_equal(e.log[2].reason, "panic: 1 of 4 primaries up: fail open");
	env_fini(&e);
}

/* two primaries (down from 5 s and 10 s), one backup (down from 20 s) */
static enum health_result tier_world(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)p, (void)data;
	if (t == 0)
		return now >= 5000 ? F : P;
	if (t == 1)
		return now >= 10000 ? F : P;
	return now >= 20000 ? F : P;
}

static void test_panic_steers_to_backup_tier(void **state)
{
	struct health_group_conf c;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	backup_conf(&c, "tier", 3);
	c.nprimary = 2;
	c.max_isolated_pct = 50;
	c.min_available = 1;
	c.panic_pct = 50;
	add(&e, &c);
	run(&e, 19000, tier_world, NULL);
	/* both primaries down (panic): both steered, past max_isolated_pct */
	assert_int_equal(e.nlog, 2);
	assert_int_equal(e.log[0].what, HEALTH_DO_ACT);
	assert_int_equal(e.log[0].target, 0);
	assert_int_equal(e.log[0].at_ms, 6000);
	assert_int_equal(e.log[1].what, HEALTH_DO_ACT);
	assert_int_equal(e.log[1].target, 1);
	assert_int_equal(e.log[1].at_ms, 11000);
	assert_int_equal(e.log[1].backup, 2);
	assert_true(status(&e, 1).group_panic);
	/* the backup fails: fail open, both */
	run(&e, 30000, tier_world, NULL);
	assert_int_equal(count(&e, HEALTH_DO_RESTORE, -1), 2);
	assert_int_equal(nth(&e, HEALTH_DO_RESTORE, 0)->at_ms, 21000);
	assert_int_equal(nth(&e, HEALTH_DO_RESTORE, 1)->at_ms, 21000);
	assert_int_equal(count(&e, HEALTH_DO_ACT, -1), 2);
	env_fini(&e);
}

/* everything down from 10 s to 20 s; then t0 alone from 40 s */
static enum health_result local_fault(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)p, (void)data;
	if (now >= 10000 && now < 20000)
		return F;
	return t == 0 && now >= 40000 ? F : P;
}

static void test_global_freeze(void **state)
{
	static const char *const names[6][1] = {{"t0"}, {"t1"}, {"t2"}, {"t3"}, {"t4"}, {"t5"}};
	static const char *const gnames[6] = {"g0", "g1", "g2", "g3", "g4", "g5"};
	struct health_group_conf c;
	struct health_conf hc;
	struct health_status st;
	struct env e;
	unsigned i;

	(void)state;
	health_conf_init(&hc);
	hc.jitter_pct = 0;
	hc.rate_per_min = 0;
	hc.rand = rand_zero;
	env_init(&e, &hc);
	for (i = 0; i < 6; i++) {
		conf_easy(&c, gnames[i], names[i], 1);
		c.interval_ms = c.fast_interval_ms = c.down_interval_ms = 1000;
		c.fall = 2;
		add(&e, &c);
	}
	run(&e, 15000, local_fault, NULL);
	assert_true(health_frozen(e.h));
	assert_int_equal(count(&e, HEALTH_DO_ACT, -1), 0);
	assert_int_equal(count(&e, HEALTH_DO_REFUSE, -1), 6);
	for (i = 0; i < 6; i++) {
		st = status(&e, i);
		assert_true(st.frozen);
		assert_int_equal(st.state, HEALTH_DOWN);
		assert_int_equal(st.refused, HEALTH_REFUSE_FROZEN);
	}
	assert_string_equal(st.refused_reason, "global freeze: 6 of 6 watched targets failing (the "
					       "fault is probably on this host)");
	/* the host recovers: probes come back one by one, nobody is acted on */
	run(&e, 30000, local_fault, NULL);
	assert_false(health_frozen(e.h));
	assert_int_equal(count(&e, HEALTH_DO_ACT, -1), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(status(&e, i).state, HEALTH_UP);
	/* one real failure later is acted on */
	run(&e, 45000, local_fault, NULL);
	assert_int_equal(count(&e, HEALTH_DO_ACT, -1), 1);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->target, 0);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->at_ms, 41000);
	env_fini(&e);
}

/* target i down from (i + 1) s */
static enum health_result staggered(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)p, (void)data;
	return now >= (t + 1) * 1000ull ? F : P;
}

static void test_rate_limit(void **state)
{
	static const char *const names[4][1] = {{"t0"}, {"t1"}, {"t2"}, {"t3"}};
	static const char *const gnames[4] = {"g0", "g1", "g2", "g3"};
	struct health_group_conf c;
	struct health_conf hc;
	struct env e;
	unsigned i;

	(void)state;
	health_conf_init(&hc);
	hc.jitter_pct = 0;
	hc.freeze_pct = 0;
	hc.rate_per_min = 2;
	hc.rand = rand_zero;
	env_init(&e, &hc);
	for (i = 0; i < 4; i++) {
		conf_easy(&c, gnames[i], names[i], 1);
		c.interval_ms = c.fast_interval_ms = 1000;
		c.down_interval_ms = 10000; /* so only the rate timer can wake them */
		c.fall = 1;
		c.hold_base_ms = 300000;
		add(&e, &c);
	}
	run(&e, 70000, staggered, NULL);
	{
		static const struct {
			enum health_do what;
			unsigned target;
			uint64_t at;
		} want[] = {
		    {HEALTH_DO_ACT, 0, 1000},	 {HEALTH_DO_ACT, 1, 2000},
		    {HEALTH_DO_REFUSE, 2, 3000}, {HEALTH_DO_REFUSE, 3, 4000},
		    {HEALTH_DO_ACT, 2, 61000},	 {HEALTH_DO_ACT, 3, 62000},
		};

		assert_int_equal(e.nlog, 6);
		for (i = 0; i < 6; i++) {
			assert_int_equal(e.log[i].what, want[i].what);
			assert_int_equal(e.log[i].target, want[i].target);
			assert_int_equal(e.log[i].at_ms, want[i].at);
		}
	}
	assert_int_equal(e.log[2].why, HEALTH_REFUSE_RATE);
	assert_string_equal(e.log[2].reason, "rate limit: 2 new actions in the last minute");
	env_fini(&e);
}

/* down until 10 s, up until 101 s, down after */
static enum health_result down_up_down(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)t, (void)p, (void)data;
	return now < 10000 || now >= 101000 ? F : P;
}

static void test_manual_restore(void **state)
{
	struct health_group_conf c;
	struct health_status st;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "manual", one, 1);
	c.interval_ms = c.fast_interval_ms = c.down_interval_ms = 1000;
	c.fall = c.rise = 1;
	c.hold_base_ms = 2000;
	c.manual_restore = true;
	add(&e, &c);
	run(&e, 100000, down_up_down, NULL);
	assert_int_equal(e.nlog, 1);
	assert_int_equal(e.log[0].what, HEALTH_DO_ACT);
	st = status(&e, 0);
	assert_int_equal(st.state, HEALTH_ACTED); /* well for 90 s, still ours */
	assert_int_equal(st.passes, 91);
	assert_int_equal(st.hold_left_ms, 0);
	assert_int_equal(st.kinds, K_ISO);

	assert_int_equal(health_note_restored(e.h, 0, 100500), 0);
	drain(&e);
	assert_int_equal(e.nlog, 1); /* the person's restore is not ours to decide */
	assert_int_equal(status(&e, 0).state, HEALTH_UP_RECENT);
	assert_int_equal(health_note_restored(e.h, 0, 100500), -ENOENT);
	run(&e, 102000, down_up_down, NULL);
	assert_int_equal(e.nlog, 2);
	assert_int_equal(e.log[1].what, HEALTH_DO_ACT);
	assert_int_equal(e.log[1].at_ms, 101000);
	assert_int_equal(e.log[1].level, 2);
	env_fini(&e);
}

/* down until 20 s, up until 30 s, down after */
static enum health_result down_up_down2(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)t, (void)p, (void)data;
	return now < 20000 || now >= 30000 ? F : P;
}

static void test_rollback_wins(void **state)
{
	struct health_group_conf c;
	struct health_status st;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "rb", one, 1);
	c.interval_ms = c.fast_interval_ms = c.down_interval_ms = 1000;
	c.fall = c.rise = 2;
	c.hold_base_ms = 5000;
	add(&e, &c);
	run(&e, 1500, down_up_down2, NULL);
	assert_int_equal(count(&e, HEALTH_DO_ACT, 0), 1);
	assert_int_equal(e.log[0].at_ms, 1000);
	assert_int_equal(health_note_rolled_back(e.h, 0, 1500), 0);
	drain(&e);
	assert_int_equal(e.nlog, 1);
	st = status(&e, 0);
	assert_int_equal(st.state, HEALTH_DOWN);
	assert_true(st.rolled_back);
	assert_int_equal(st.refused, HEALTH_REFUSE_ROLLED_BACK);
	assert_int_equal(health_note_rolled_back(e.h, 0, 1500), -ENOENT);

	/* still failing, and across a restart: the person's word stands */
	run(&e, 10000, down_up_down2, NULL);
	restart(&e, &c, 10000, 50000, 50000);
	assert_true(status(&e, 0).rolled_back);
	run(&e, 20500, down_up_down2, NULL);
	assert_int_equal(e.nlog, 0);
	/* recovered (20 s, 21 s), failed again (30 s, 31 s): acted on */
	run(&e, 21000, down_up_down2, NULL);
	st = status(&e, 0);
	assert_int_equal(st.state, HEALTH_UP);
	assert_false(st.rolled_back);
	run(&e, 32000, down_up_down2, NULL);
	assert_int_equal(e.nlog, 1);
	assert_int_equal(e.log[0].what, HEALTH_DO_ACT);
	assert_int_equal(e.log[0].at_ms, 31000);
	assert_int_equal(e.log[0].level, 2);
	env_fini(&e);
}

static void test_not_applied_and_pause(void **state)
{
	struct health_group_conf c;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "np", one, 1);
	c.interval_ms = c.fast_interval_ms = 1000;
	c.down_interval_ms = 5000;
	c.fall = 1;
	add(&e, &c);
	run(&e, 0, all_fail, NULL);
	assert_int_equal(count(&e, HEALTH_DO_ACT, 0), 1);
	assert_int_equal(health_note_not_applied(e.h, 0, "protected target", 0), 0);
	assert_int_equal(status(&e, 0).refused, HEALTH_REFUSE_NOT_APPLIED);
	assert_string_equal(status(&e, 0).refused_reason, "not applied: protected target");
	run(&e, 4999, all_fail, NULL);
	assert_int_equal(count(&e, HEALTH_DO_ACT, 0), 1);
	run(&e, 5000, all_fail, NULL); /* tried again after down_interval */
	assert_int_equal(count(&e, HEALTH_DO_ACT, 0), 2);
	assert_int_equal(e.log[1].at_ms, 5000);

	/* paused: no restore; resumed: restored at once */
	assert_int_equal(health_pause(e.h, true, 5000), 0);
	run(&e, 200000, all_pass, NULL);
	assert_int_equal(count(&e, HEALTH_DO_RESTORE, 0), 0);
	assert_true(status(&e, 0).paused);
	assert_int_equal(status(&e, 0).state, HEALTH_PROBATION);
	assert_int_equal(health_pause(e.h, false, 200000), 0);
	drain(&e);
	assert_int_equal(count(&e, HEALTH_DO_RESTORE, 0), 1);
	/* paused: a failure is refused, and acted on after resume */
	assert_int_equal(health_pause(e.h, true, 200000), 0);
	run(&e, 300000, all_fail, NULL);
	assert_int_equal(count(&e, HEALTH_DO_REFUSE, 0), 1);
	assert_int_equal(e.log[e.nlog - 1].why, HEALTH_REFUSE_PAUSED);
	assert_int_equal(health_pause(e.h, false, 300000), 0);
	drain(&e);
	assert_int_equal(count(&e, HEALTH_DO_ACT, 0), 3);
	env_fini(&e);
}

static enum health_result primary_down_at_5s(unsigned t, unsigned p, uint64_t now, void *data)
{
	(void)p, (void)data;
	return t == 0 && now >= 5000 ? F : P;
}

static void test_steer_and_isolate(void **state)
{
	struct health_group_conf c;
	struct env e;

	(void)state;
	env_init(&e, NULL);
	backup_conf(&c, "both", 2);
	c.kinds = K_STEER | K_ISO;
	add(&e, &c);
	/* P down from 0, B1 up from 5 s (backups_world): isolate alone first */
	run(&e, 1000, backups_world, NULL);
	assert_int_equal(e.nlog, 1);
	assert_int_equal(e.log[0].what, HEALTH_DO_ACT);
	assert_int_equal(e.log[0].kinds, K_ISO);
	assert_int_equal(e.log[0].backup, -1);
	/* the backup is ready: steer and isolate together, the hold kept */
	run(&e, 7000, backups_world, NULL);
	assert_int_equal(e.nlog, 2);
	assert_int_equal(e.log[1].what, HEALTH_DO_ACT);
	assert_true(e.log[1].replace);
	assert_int_equal(e.log[1].kinds, K_STEER | K_ISO);
	assert_int_equal(e.log[1].backup, 1);
	assert_int_equal(e.log[1].at_ms, 6000);
	assert_int_equal(e.log[1].level, 1);
	assert_int_equal(e.log[1].hold_ms, 5000);
	env_fini(&e);

	/* with the backup ready from the start, both at once */
	env_init(&e, NULL);
	backup_conf(&c, "both", 2);
	c.kinds = K_STEER | K_ISO;
	add(&e, &c);
	run(&e, 10000, primary_down_at_5s, NULL);
	assert_int_equal(count(&e, HEALTH_DO_ACT, -1), 1);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->at_ms, 6000);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->kinds, K_STEER | K_ISO);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->backup, 1);
	env_fini(&e);

	/* route without a fixed `via`: through the backup's address, like a steer */
	env_init(&e, NULL);
	backup_conf(&c, "route", 2);
	c.kinds = HEALTH_KIND(ISOL_KIND_ROUTE);
	c.backup_kinds = K_STEER | HEALTH_KIND(ISOL_KIND_PIN) | HEALTH_KIND(ISOL_KIND_ROUTE);
	add(&e, &c);
	run(&e, 10000, primary_down_at_5s, NULL);
	assert_int_equal(count(&e, HEALTH_DO_ACT, -1), 1);
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->kinds, HEALTH_KIND(ISOL_KIND_ROUTE));
	assert_int_equal(nth(&e, HEALTH_DO_ACT, 0)->backup, 1);
	env_fini(&e);
}

static void test_jitter_bounds(void **state)
{
	static const char *const twenty[20] = {"t0",  "t1",  "t2",  "t3",  "t4",  "t5",	 "t6",
					       "t7",  "t8",  "t9",  "t10", "t11", "t12", "t13",
					       "t14", "t15", "t16", "t17", "t18", "t19"};
	uint64_t lo = UINT64_MAX, hi = 0, first_lo = UINT64_MAX, first_hi = 0;
	struct health_group_conf c;
	struct health_conf hc;
	struct env e;
	unsigned i, k;

	(void)state;
	health_conf_init(&hc);
	hc.freeze_pct = 0;
	hc.rate_per_min = 0;
	hc.rand = rand_lcg;
	hc.rand_data = &e.seed;
	env_init(&e, &hc);
	e.seed = 42;
	e.now = 1000;
	conf_easy(&c, "j", twenty, 20);
	add(&e, &c);
	run(&e, 300000, all_pass, NULL);
	for (i = 0; i < 20; i++) {
		uint64_t f = e.started[i][0];

		assert_true(f >= 1000 && f < 6000); /* within the first interval */
		first_lo = f < first_lo ? f : first_lo;
		first_hi = f > first_hi ? f : first_hi;
		for (k = 1; k < 50; k++) {
			uint64_t d = e.started[i][k] - e.started[i][k - 1];

			assert_true(d >= 4500 && d <= 5500); /* 5 s +- 10 % */
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
	}
	assert_true(first_hi - first_lo > 2500); /* spread, not all at once */
	assert_true(lo < 4600 && hi > 5400);
	/* holds: 30 s, up to 10 % shorter, never longer */
	run(&e, 320000, all_fail, NULL);
	assert_int_equal(count(&e, HEALTH_DO_ACT, -1), 20);
	lo = UINT64_MAX, hi = 0;
	for (i = 0; i < 20; i++) {
		uint64_t h = nth(&e, HEALTH_DO_ACT, i)->hold_ms;

		assert_true(h >= 27000 && h <= 30000);
		lo = h < lo ? h : lo;
		hi = h > hi ? h : hi;
	}
	assert_true(hi - lo > 1000);
	env_fini(&e);
}

static void test_carry_on_reload(void **state)
{
	static const char *const two[] = {"x", "y"};
	struct health_group_conf c, c2;
	struct health_status st;
	struct env e, e2;
	uint32_t old_round;

	(void)state;
	env_init(&e, NULL);
	conf_easy(&c, "keep", one, 1);
	c.fall = 1;
	add(&e, &c);
	run(&e, 5000, all_fail, NULL);
	tick(&e, 10000); /* a round in flight at the reload */
	assert_true(e.open[0]);
	old_round = e.round[0];

	env_init(&e2, NULL);
	e2.now = 10000;
	conf_easy(&c2, "new", two, 2);
	add(&e2, &c2);
	add(&e2, &c);
	assert_int_equal(health_carry(e2.h, e.h, 10000), 0);
	drain(&e2);
	assert_int_equal(e2.nlog, 0);
	assert_int_equal(health_target_find(e2.h, "keep", "10.0.0.5:5672"), 2);
	assert_int_equal(health_target_find(e2.h, "keep", "nope"), -ENOENT);
	st = status(&e2, 2);
	assert_int_equal(st.state, HEALTH_ACTED);
	assert_int_equal(st.level, 1);
	assert_int_equal(st.kinds, K_ISO);
	assert_int_equal(st.fails, 1);
	assert_false(st.probing);
	assert_int_equal(st.next_probe_ms, 10000);
	assert_int_equal(status(&e2, 0).state, HEALTH_INIT);
	assert_int_equal(health_feed(e2.h, 2, old_round, 0, P, NULL, 10001), -ESTALE);
	env_fini(&e);
	env_fini(&e2);
}

static void test_conf_errors(void **state)
{
	struct health_group_conf c;
	struct isol_err err = {0};
	struct health_conf hc;
	struct env e;

	(void)state;
	health_conf_init(&hc);
	assert_null(health_new(&hc)); /* no random source */
	assert_int_equal(errno, EINVAL);

	env_init(&e, NULL);
	backup_conf(&c, "s", 1);
	assert_int_equal(health_group_add(e.h, &c, 0, &err), -EINVAL);
	assert_string_equal(err.msg, "s: steer needs a backup (a target after the primaries)");
	isol_err_clear(&err);
	conf_easy(&c, "r", one, 1);
	c.kinds = HEALTH_KIND(ISOL_KIND_ROUTE);
	c.backup_kinds = K_STEER | HEALTH_KIND(ISOL_KIND_ROUTE); /* route without `via` */
	assert_int_equal(health_group_add(e.h, &c, 0, &err), -EINVAL);
	assert_string_equal(err.msg, "r: route needs a backup (a target after the primaries)");
	c.backup_kinds = 0; /* route with a fixed `via`: alone */
	isol_err_clear(&err);
	assert_int_equal(health_group_add(e.h, &c, 0, &err), 0);
	isol_err_clear(&err);
	conf_easy(&c, "s", one, 1);
	c.nprobes = HEALTH_PROBES_MAX + 1;
	assert_int_equal(health_group_add(e.h, &c, 0, &err), -EINVAL);
	isol_err_clear(&err);
	conf_easy(&c, "s", one, 1);
	assert_int_equal(health_group_add(e.h, &c, 0, &err), 1);
	assert_int_equal(health_group_add(e.h, &c, 0, &err), -EEXIST);
	assert_int_equal(health_target_count(e.h), 2);
	assert_string_equal(health_group_name(e.h, 1), "s");
	assert_null(health_target_name(e.h, 2));
	assert_int_equal(health_status(e.h, 2, 0, &(struct health_status){0}), -ENOENT);
	env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fall_rise_counting),
	    cmocka_unit_test(test_multi_probe),
	    cmocka_unit_test(test_neutral),
	    cmocka_unit_test(test_flapping_holds_grow),
	    cmocka_unit_test(test_decay_after_health),
	    cmocka_unit_test(test_level_persisted),
	    cmocka_unit_test(test_saved_json_errors),
	    cmocka_unit_test(test_backups),
	    cmocka_unit_test(test_backup_needs_recent_pass),
	    cmocka_unit_test(test_all_down_guard_rails),
	    cmocka_unit_test(test_panic_fail_open),
	    cmocka_unit_test(test_panic_steers_to_backup_tier),
	    cmocka_unit_test(test_global_freeze),
	    cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_manual_restore),
	    cmocka_unit_test(test_rollback_wins),
	    cmocka_unit_test(test_not_applied_and_pause),
	    cmocka_unit_test(test_steer_and_isolate),
	    cmocka_unit_test(test_jitter_bounds),
	    cmocka_unit_test(test_carry_on_reload),
	    cmocka_unit_test(test_conf_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
