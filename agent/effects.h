/* effects.h - what actions change outside our nftables table: routes (with
 * our protocol number, through route.c) and the managed block of the hosts
 * file (through hosts.c). The agent decides; this applies, and undoes what
 * it applied when a later step fails, so a change is all or nothing. */
#ifndef ISOL_EFFECTS_H
#define ISOL_EFFECTS_H

#include <stdbool.h>
#include <stddef.h>

#include "actions.h"
#include "isol/err.h"
#include "route.h"

struct effects {
	struct route_ctx *routes;
	const char *hosts_file;
	uint64_t hosts_writes; /* times the block was (re)written */
};

int effects_open(struct effects *fx, const char *hosts_file, struct isol_err *err);
void effects_close(struct effects *fx);

/* The route of a route action. */
void effects_route_of(const struct isol_spec *spec, struct route_spec *r);

/* Before anything changes: can the routes of @acts go in? A route that would
 * take an existing one's place is refused unless spec.replace, and then the
 * existing one is saved in the action's `replaced` (put back on removal).
 * @bad gets the index of the refused action. */
int effects_check(struct effects *fx, struct isol_action *const *acts, size_t n, size_t *bad,
		  struct isol_err *err);

/* Make the routes and pins of @add real and those of @del gone; @live is the
 * set after the change (the hosts block is rendered from its pins). With
 * @dry_run nothing changes and @fn gets a line per change. On failure what
 * was done is undone. */
int effects_apply(struct effects *fx, const struct isol_actions *live,
		  struct isol_action *const *add, size_t nadd, struct isol_action *const *del,
		  size_t ndel, bool dry_run, void (*fn)(const char *line, void *data), void *data,
		  struct isol_err *err);

/* Rewrite the hosts block from @live when the file does not hold it (start,
 * someone's edit). 1 rewritten, 0 nothing to do, -errno. */
int effects_sync_hosts(struct effects *fx, const struct isol_actions *live, struct isol_err *err);
/* Add back the routes of @live that are missing. The count added, or -errno. */
int effects_ensure_routes(struct effects *fx, const struct isol_actions *live,
			  struct isol_err *err);

#endif
