/* test_actions.c - the set of active actions: ids, order, lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"

static struct isol_action *make(const char *target, unsigned dirs)
{
	struct isol_action *a = action_new();
	struct isol_err err = {0};

	assert_non_null(a);
	if (isol_target_parse(target, &a->spec.target, &err) != 0)
		fail_msg("%s: %s", target, err.msg);
	a->spec.dirs = dirs;
	return a;
}

static struct isol_spec spec_of(const char *target, unsigned dirs)
{
	struct isol_spec spec;

	isol_spec_init(&spec);
	assert_int_equal(isol_target_parse(target, &spec.target, NULL), 0);
	spec.dirs = dirs;
	return spec;
}

/* Walk the list both ways and compare with the expected ids. */
static void assert_order(const struct isol_actions *set, const uint64_t *ids, size_t n)
{
	const struct isol_action *a;
	size_t i = 0;

	assert_int_equal(set->count, n);
	for (a = set->head; a; a = a->next, i++) {
		assert_true(i < n);
		assert_int_equal(a->id, ids[i]);
		assert_ptr_equal(a->prev, i ? actions_find(set, ids[i - 1]) : NULL);
	}
	assert_int_equal(i, n);
	for (a = set->tail; a; a = a->prev)
		assert_int_equal(a->id, ids[--i]);
	assert_int_equal(i, 0);
}

static void test_empty(void **state)
{
	struct isol_actions set;
	struct isol_spec spec = spec_of("10.0.0.5", ISOL_DIR_ALL);

	actions_init(&set);
	assert_int_equal(set.next_id, 1);
	assert_int_equal(set.count, 0);
	assert_null(set.head);
	assert_null(set.tail);
	assert_null(actions_find(&set, 1));
	assert_null(actions_find(&set, 0));
	assert_null(actions_find_same(&set, &spec));
	actions_fini(&set);
	actions_fini(&set); /* twice is harmless */
}

static void test_action_new_defaults(void **state)
{
	struct isol_action *a = action_new();

	assert_non_null(a);
	assert_int_equal(a->id, 0);
	assert_int_equal(a->spec.kind, ISOL_KIND_ISOLATE);
	assert_int_equal(a->spec.dirs, ISOL_DIR_OUT);
	assert_int_equal(a->spec.mode, ISOL_MODE_REJECT);
	assert_int_equal(a->expires_ms, 0);
	assert_string_equal(a->origin, "");
	action_free(a);
	action_free(NULL);
}

static void test_ids_and_order(void **state)
{
	struct isol_actions set;
	struct isol_action *a1, *a2, *a3;
	uint64_t all[] = {1, 2, 3}, no_mid[] = {1, 3}, only3[] = {3};

	actions_init(&set);
	a1 = make("10.0.0.1", ISOL_DIR_OUT);
	a2 = make("10.0.0.2", ISOL_DIR_OUT);
	a3 = make("10.0.0.3", ISOL_DIR_OUT);
	assert_int_equal(actions_insert(&set, a1), 0);
	assert_int_equal(actions_insert(&set, a2), 0);
	assert_int_equal(actions_insert(&set, a3), 0);
	assert_int_equal(a1->id, 1);
	assert_int_equal(a2->id, 2);
	assert_int_equal(a3->id, 3);
	assert_int_equal(set.next_id, 4);
	assert_order(&set, all, 3);
	assert_ptr_equal(actions_find(&set, 2), a2);
	assert_null(actions_find(&set, 4));

	actions_remove(&set, a2);
	assert_null(actions_find(&set, 2));
	assert_null(a2->prev);
	assert_null(a2->next);
	assert_order(&set, no_mid, 2);
	/* removed ids are not handed out again */
	assert_int_equal(set.next_id, 4);

	actions_remove(&set, a1);
	assert_order(&set, only3, 1);
	assert_ptr_equal(set.head, a3);
	assert_ptr_equal(set.tail, a3);

	/* the caller owns a removed action again and may put it back */
	assert_int_equal(actions_insert(&set, a2), 0);
	assert_int_equal(a2->id, 2);
	assert_ptr_equal(set.tail, a2);

	actions_remove(&set, a3);
	actions_remove(&set, a2);
	assert_int_equal(set.count, 0);
	assert_null(set.head);
	assert_null(set.tail);
	action_free(a1);
	action_free(a2);
	action_free(a3);
	actions_fini(&set);
}

static void test_explicit_ids(void **state)
{
	struct isol_actions set;
	struct isol_action *a = make("10.0.0.1", ISOL_DIR_OUT), *b = make("10.0.0.2", ISOL_DIR_OUT);
	struct isol_action *c = make("10.0.0.3", ISOL_DIR_OUT), *d = make("10.0.0.4", ISOL_DIR_OUT);
	struct isol_action *dup = make("10.0.0.9", ISOL_DIR_OUT);

	actions_init(&set);
	a->id = 10;
	assert_int_equal(actions_insert(&set, a), 0);
	assert_int_equal(set.next_id, 11);
	b->id = 5; /* replay order need not be id order */
	assert_int_equal(actions_insert(&set, b), 0);
	assert_int_equal(set.next_id, 11);
	assert_int_equal(actions_insert(&set, c), 0);
	assert_int_equal(c->id, 11);
	assert_int_equal(set.next_id, 12);

	dup->id = 5;
	assert_int_equal(actions_insert(&set, dup), -EEXIST);
	assert_int_equal(set.count, 3);
	assert_ptr_equal(actions_find(&set, 5), b);
	assert_int_equal(set.next_id, 12);

	d->id = UINT32_MAX + 7ull; /* ids are 64-bit */
	assert_int_equal(actions_insert(&set, d), 0);
	assert_ptr_equal(actions_find(&set, UINT32_MAX + 7ull), d);
	assert_null(actions_find(&set, 7));
	assert_int_equal(set.next_id, UINT32_MAX + 8ull);

	action_free(dup);
	actions_fini(&set);
	assert_int_equal(set.count, 0);
	assert_int_equal(set.next_id, 1);
}

static void test_remove_foreign_is_noop(void **state)
{
	struct isol_actions set, other;
	struct isol_action *a = make("10.0.0.1", ISOL_DIR_OUT), *b = make("10.0.0.2", ISOL_DIR_OUT);
	uint64_t ids[] = {1};

	actions_init(&set);
	actions_init(&other);
	assert_int_equal(actions_insert(&set, a), 0);
	b->id = 99;
	actions_remove(&set, b);   /* never inserted */
	actions_remove(&other, a); /* empty set */
	assert_order(&set, ids, 1);
	action_free(b);
	actions_fini(&set);
	actions_fini(&other);
}

static void test_find_same(void **state)
{
	struct isol_actions set;
	struct isol_action *out = make("10.0.0.5:5672", ISOL_DIR_OUT);
	struct isol_action *in = make("10.0.0.5:5672", ISOL_DIR_IN);
	struct isol_action *net = make("10.0.0.0/24", ISOL_DIR_OUT | ISOL_DIR_FWD);
	struct isol_action *v6 = make("[2001:db8::5]:5672", ISOL_DIR_ALL);
	struct isol_spec s;

	actions_init(&set);
	assert_int_equal(actions_insert(&set, out), 0);
	assert_int_equal(actions_insert(&set, in), 0);
	assert_int_equal(actions_insert(&set, net), 0);
	assert_int_equal(actions_insert(&set, v6), 0);

	s = spec_of("10.0.0.5:5672/tcp", ISOL_DIR_OUT);
	assert_ptr_equal(actions_find_same(&set, &s), out);
	s = spec_of("10.0.0.5:5672", ISOL_DIR_IN);
	assert_ptr_equal(actions_find_same(&set, &s), in);
	/* several match: the oldest */
	s = spec_of("10.0.0.5:5672", ISOL_DIR_ALL);
	assert_ptr_equal(actions_find_same(&set, &s), out);
	s = spec_of("10.0.0.5:5672", ISOL_DIR_FWD);
	assert_null(actions_find_same(&set, &s));
	/* target must be equal, not merely overlapping */
	s = spec_of("10.0.0.5:5673", ISOL_DIR_OUT);
	assert_null(actions_find_same(&set, &s));
	s = spec_of("10.0.0.5:5672/udp", ISOL_DIR_OUT);
	assert_null(actions_find_same(&set, &s));
	s = spec_of("10.0.0.5", ISOL_DIR_OUT);
	assert_null(actions_find_same(&set, &s));
	s = spec_of("10.0.0.0/24", ISOL_DIR_FWD);
	assert_ptr_equal(actions_find_same(&set, &s), net);
	s = spec_of("10.0.0.0/25", ISOL_DIR_FWD);
	assert_null(actions_find_same(&set, &s));
	s = spec_of("10.0.0.0/24", ISOL_DIR_IN);
	assert_null(actions_find_same(&set, &s));
	s = spec_of("[2001:db8::5]:5672", ISOL_DIR_IN);
	assert_ptr_equal(actions_find_same(&set, &s), v6);
	s = spec_of("[::ffff:10.0.0.5]:5672", ISOL_DIR_OUT);
	assert_null(actions_find_same(&set, &s));
	/* mode, TTL and reason do not make a different action */
	s = spec_of("10.0.0.5:5672", ISOL_DIR_OUT);
	s.mode = ISOL_MODE_DROP;
	s.ttl_ms = 5000;
	strcpy(s.reason, "again");
	assert_ptr_equal(actions_find_same(&set, &s), out);

	actions_remove(&set, out);
	s = spec_of("10.0.0.5:5672", ISOL_DIR_ALL);
	assert_ptr_equal(actions_find_same(&set, &s), in);
	s = spec_of("10.0.0.5:5672", ISOL_DIR_OUT);
	assert_null(actions_find_same(&set, &s));
	action_free(out);
	actions_fini(&set);
}

/* Random inserts and removals checked against a plain array, with targets
 * from a small pool so that many actions share a key and the target index
 * has long probe runs to repair on removal. */
static void test_against_model(void **state)
{
	enum { POOL = 40, STEPS = 20000 };
	struct isol_action **model = calloc(STEPS, sizeof(*model));
	size_t nmodel = 0, step, i;
	struct isol_actions set;
	char target[64];

	assert_non_null(model);
	srand(7);
	actions_init(&set);
	for (step = 0; step < STEPS; step++) {
		/* a slow net growth: to ~2,000 actions, about 60 per key */
		if (rand() % 100 < 55 || nmodel == 0) {
			struct isol_action *a;

			snprintf(target, sizeof(target), "10.0.%d.%d:%d", rand() % 2, rand() % 4,
				 80 + rand() % (POOL / 8));
			a = make(target, 1u << (rand() % 3));
			assert_int_equal(actions_insert(&set, a), 0);
			model[nmodel++] = a;
		} else {
			size_t k = (size_t)rand() % nmodel;

			actions_remove(&set, model[k]);
			action_free(model[k]);
			model[k] = model[--nmodel];
		}
		if (step % 97 != 0 && step != STEPS - 1)
			continue;
		/* every action is found by id and by its own spec */
		assert_int_equal(set.count, nmodel);
		for (i = 0; i < nmodel; i++) {
			struct isol_action *same = actions_find_same(&set, &model[i]->spec);
			size_t k;

			assert_ptr_equal(actions_find(&set, model[i]->id), model[i]);
			assert_non_null(same);
			/* and it is the oldest one with that key and direction */
			for (k = 0; step % 997 == 0 && k < nmodel; k++)
				if (model[k]->id < same->id &&
				    isol_target_equal(&model[k]->spec.target,
						      &model[i]->spec.target) &&
				    (model[k]->spec.dirs & model[i]->spec.dirs))
					fail_msg("find_same gave %llu, %llu is older",
						 (unsigned long long)same->id,
						 (unsigned long long)model[k]->id);
		}
	}
	actions_fini(&set);
	free(model);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* 200,000 actions: every lookup stays O(1) (a quadratic find_same would take
 * minutes here), and removal in random order leaves a consistent set. */
static void test_many(void **state)
{
	enum { N = 200000 };
	struct isol_action **all = calloc(N, sizeof(*all));
	struct isol_actions set;
	struct timespec t0;
	char target[64];
	size_t i;

	assert_non_null(all);
	actions_init(&set);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N; i++) {
		snprintf(target, sizeof(target), "10.%zu.%zu.%zu:%zu", i >> 16 & 255, i >> 8 & 255,
			 i & 255, 1000 + (i >> 24));
		all[i] = make(target, ISOL_DIR_OUT);
		/* as the control path does: refuse a duplicate before inserting */
		assert_null(actions_find_same(&set, &all[i]->spec));
		assert_int_equal(actions_insert(&set, all[i]), 0);
	}
	print_message("insert %d with find_same: %.0f ms\n", N, ms_since(&t0));
	assert_int_equal(set.count, N);
	assert_int_equal(set.next_id, N + 1);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N; i++) {
		assert_ptr_equal(actions_find(&set, i + 1), all[i]);
		assert_ptr_equal(actions_find_same(&set, &all[i]->spec), all[i]);
	}
	print_message("find + find_same %d: %.0f ms\n", N, ms_since(&t0));

	/* remove in a shuffled order */
	srand(42);
	for (i = N - 1; i > 0; i--) {
		size_t k = (size_t)rand() % (i + 1);
		struct isol_action *tmp = all[i];

		all[i] = all[k];
		all[k] = tmp;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N / 2; i++) {
		actions_remove(&set, all[i]);
		assert_null(actions_find(&set, all[i]->id));
		assert_null(actions_find_same(&set, &all[i]->spec));
		action_free(all[i]);
	}
	print_message("remove %d: %.0f ms\n", N / 2, ms_since(&t0));
	assert_int_equal(set.count, N - N / 2);
	for (i = N / 2; i < N; i++) {
		assert_ptr_equal(actions_find(&set, all[i]->id), all[i]);
		assert_ptr_equal(actions_find_same(&set, &all[i]->spec), all[i]);
	}
	/* the list is still in creation (id) order */
	{
		const struct isol_action *a;
		uint64_t last = 0;
		size_t n = 0;

		for (a = set.head; a; a = a->next, n++) {
			assert_true(a->id > last);
			last = a->id;
		}
		assert_int_equal(n, set.count);
	}
	actions_fini(&set);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_action_new_defaults),
	    cmocka_unit_test(test_ids_and_order),
	    cmocka_unit_test(test_explicit_ids),
	    cmocka_unit_test(test_remove_foreign_is_noop),
	    cmocka_unit_test(test_find_same),
	    cmocka_unit_test(test_against_model),
	    cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
