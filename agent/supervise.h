/* supervise.h - the automatic side of the agent: loads the policies, probes
 * their targets on the loop (probe.c), feeds the results to the health state
 * machine (health.c) and turns its decisions into actions through the same
 * path as the CLI's (agent_add / agent_remove, origin "policy:NAME"),
 * renewing their TTLs while they are still needed. */
#ifndef ISOL_SUPERVISE_H
#define ISOL_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"
#include "isol/strbuf.h"
#include "policy.h"

struct isol_agent;
struct isol_action;
struct supervise;
struct prober;

/* Load the policies of @dir (a missing directory is no policies) and start
 * probing. -EINVAL with every error in @errs (file:line:col lines). */
int supervise_open(struct supervise **svp, struct isol_agent *ag, const char *dir,
		   struct policy_errors *errs, struct isol_err *err);
void supervise_close(struct supervise *sv);

/* Load @dir again, all or nothing: on any error the running policies stay
 * and @errs says why. Probe state of targets present before and after is
 * kept. */
int supervise_reload(struct supervise *sv, struct policy_errors *errs, struct isol_err *err);

/* No automatic actions while paused; probing goes on. */
void supervise_pause(struct supervise *sv, bool paused);
bool supervise_paused(const struct supervise *sv);

/* An action was removed by someone else (rollback, restore, expiry): if it
 * was one of ours, the health state machine hears of it. */
void supervise_action_removed(struct supervise *sv, const struct isol_action *a,
			      const char *why);

/* JSON for the control socket: the "targets" array of `health`, the
 * "policies" array of `policy list`. */
void supervise_health_json(struct supervise *sv, struct strbuf *out);
void supervise_policies_json(struct supervise *sv, struct strbuf *out);
size_t supervise_policy_count(const struct supervise *sv);
/* The prober, for one-shot diagnoses (isolctl probe); NULL without one. */
struct prober *supervise_prober(struct supervise *sv);

#endif
