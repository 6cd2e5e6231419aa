/* reconcile.h - desired state (the action set) -> the kernel, one atomic
 * batch per change. Decides nothing: it is told what to add and remove. */
#ifndef ISOL_RECONCILE_H
#define ISOL_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actions.h"
#include "isol/err.h"
#include "nft.h"
#include "nlport.h"

#define RECONCILE_SAMPLES 1024

struct reconcile {
	struct nlport *port;
	struct nft_table_opts opts;
	/* steer actions in the table: its steering chains are there while > 0
	 * (they turn connection tracking on) */
	size_t steers;
	bool cgroup_checked; /* the exec probes' cgroup looked up (opts.cgroup_*) */
	/* netlink batch round trips in microseconds, a ring for p50/p99 */
	uint32_t samples[RECONCILE_SAMPLES];
	size_t nsamples;
};

int reconcile_open(struct reconcile *r, const struct nft_table_opts *o, struct isol_err *err);
void reconcile_close(struct reconcile *r);

/* Replace the table with a fresh skeleton holding every live action of
 * @set: destroy + create + elements in one transaction, so packets never see
 * a moment without rules. The first call makes the exec probes' cgroup
 * (cgroup.c) and exempts it, unless @o carried a cgroup already. Falls back
 * to an unowned table when the kernel lacks the owner/persist flags (then
 * r->opts.owner is false), and to no cgroup exemption when it refuses that
 * rule (then r->opts.cgroup_id is 0). */
int reconcile_rebuild(struct reconcile *r, const struct isol_actions *set, uint64_t now_ms,
		      struct isol_err *err);

/* Remove @del and add @add in one transaction, with the steering chains
 * added by the first steer and removed with the last. With @dry_run the
 * kernel validates and commits nothing. */
int reconcile_change(struct reconcile *r, struct isol_action *const *add, size_t nadd,
		     struct isol_action *const *del, size_t ndel, bool dry_run, uint64_t now_ms,
		     struct isol_err *err);

/* Refresh packets/bytes of every action from the per-element counters. */
int reconcile_counters(struct reconcile *r, struct isol_actions *set, struct isol_err *err);

/* 1 if our table is there, 0 if someone removed it (or, unowned, flushed
 * its rules or deleted a chain), -errno. */
int reconcile_table_present(struct reconcile *r);

/* Remove the table and everything in it (isolagent --flush). */
int reconcile_flush(struct reconcile *r, struct isol_err *err);

/* Percentile (1..100, nearest rank) of recent batch round trips in
 * microseconds; 0 gives the last one; 0 if none. */
uint32_t reconcile_batch_us(const struct reconcile *r, unsigned pct);

#endif
