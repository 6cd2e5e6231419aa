/* fuzz_policy.c - libFuzzer harness for the policy loader (libyaml ->
 * model -> validation): it never crashes or leaks, a failure always says
 * where, and a policy that validates can build the spec of every action for
 * every primary and backup pairing. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_policy(const struct policy *p)
{
	struct isol_err err = {0, ""};
	struct isol_spec spec;
	size_t a, i, j, n = p->ntargets < 16 ? p->ntargets : 16;

	assert(p->name[0] && p->ntargets && p->nprobes && p->nactions);
	assert(p->primaries >= 1 && p->primaries <= p->ntargets);
	for (a = 0; a < p->nactions; a++) {
		const struct policy_action *act = &p->actions[a];

		for (i = 0; i < p->primaries && i < n; i++) {
			if (!policy_action_needs_backup(act)) {
				assert(policy_action_spec(p, act, &p->targets[i].target, NULL, NULL,
							  &spec, &err) == 0);
				assert(strncmp(spec.reason, "policy ", 7) == 0 && !spec.force);
				continue;
			}
			for (j = p->primaries; j < n; j++)
				assert(policy_action_spec(p, act, &p->targets[i].target,
							  &p->targets[j].target, "fuzz", &spec,
							  &err) == 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_errors errs;
	struct policy_set *set = NULL;
	size_t i;
	int rc;

	policy_errors_init(&errs);
	rc = policy_set_load_buf("fuzz.yaml", (const char *)data, size, &set, &errs);
	if (rc == 0) {
		assert(set != NULL && errs.total == 0);
		for (i = 0; i < policy_set_count(set); i++)
			check_policy(policy_set_at(set, i));
	} else {
		assert(set == NULL && errs.n > 0 && errs.total >= errs.n);
		for (i = 0; i < errs.n; i++)
			assert(strncmp(errs.v[i].text, "fuzz.yaml", 9) == 0);
	}
	policy_set_free(set);
	policy_errors_fini(&errs);
	return 0;
}
