/* reconcile.c - one netlink transaction per change, timed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroup.h"
#include "kcompat.h"
#include "log.h"
#include "reconcile.h"

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int reconcile_open(struct reconcile *r, const struct nft_table_opts *o, struct isol_err *err)
{
	memset(r, 0, sizeof(*r));
	r->opts = *o;
	return nlport_open(&r->port, err);
}

void reconcile_close(struct reconcile *r)
{
	nlport_close(r->port);
	r->port = NULL;
}

static int send_timed(struct reconcile *r, struct nft_batch *b, struct isol_err *err)
{
	uint64_t t0 = mono_us();
	int rc = nlport_send_batch(r->port, b, err);

	r->samples[r->nsamples++ % RECONCILE_SAMPLES] = (uint32_t)(mono_us() - t0);
	return rc;
}

static size_t count_steers(struct isol_action *const *acts, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += acts[i]->spec.kind == ISOL_KIND_STEER;
	return k;
}

static int rebuild_once(struct reconcile *r, const struct isol_actions *set, uint64_t now_ms,
			struct isol_err *err)
{
	struct isol_action **all = NULL, *a;
	struct nft_batch b;
	size_t n = 0, steers;
	int rc;

	if (set->count) {
		all = malloc(set->count * sizeof(*all));
		if (all == NULL)
			return isol_err_set(err, -ENOMEM, "out of memory");
		for (a = set->head; a; a = a->next)
			all[n++] = a;
	}
	steers = count_steers(all, n);
	rc = nft_batch_init(&b, nlport_next_seq(r->port, 0));
	if (rc == 0)
		rc = nft_encode_rebuild(&b, &r->opts, steers > 0);
	if (rc == 0)
		rc = nft_encode_actions(&b, &r->opts, all, n, true, now_ms);
	if (rc == 0)
		rc = nft_batch_end(&b);
	nlport_next_seq(r->port, b.seq - nlport_next_seq(r->port, 0));
	if (rc == 0)
		rc = send_timed(r, &b, err);
	else
		isol_err_set(err, rc, "cannot build the table: %s", strerror(-rc));
	if (rc == 0)
		r->steers = steers;
	nft_batch_fini(&b);
	free(all);
	return rc;
}

/* The exec probes' cgroup into the table, looked up once: the prober puts
 * probe commands in it (probe_exec.c) and the table accepts its sockets'
 * packets. Without one the table has no such rule, as before. */
static void use_probe_cgroup(struct reconcile *r)
{
	const struct isol_cgroup *cg;

	if (r->cgroup_checked)
		return;
	r->cgroup_checked = true;
	if (r->opts.cgroup_id)
		return; /* chosen by the caller */
	cg = cgroup_probes();
	if (cg) {
		r->opts.cgroup_id = cg->id;
		r->opts.cgroup_level = cg->level;
	}
}

/* A kernel without the socket expression's cgroupv2 key (< 5.13, or no
 * nft_socket) refuses the exemption rule: the table without it, then, rather
 * than no table. The exemption stays off once that works. 0 or -1. */
static int rebuild_unexempt(struct reconcile *r, const struct isol_actions *set, uint64_t now_ms,
			    int rc, const char *why)
{
	uint64_t id = r->opts.cgroup_id;

	if (id == 0 || (rc != -EOPNOTSUPP && rc != -ENOENT && rc != -EINVAL))
		return -1;
	r->opts.cgroup_id = 0;
	if (rebuild_once(r, set, now_ms, NULL) < 0) {
		r->opts.cgroup_id = id;
		return -1;
	}
	log_warn("kernel refused the rule that exempts exec probes (%s); their connections "
		 "meet isol's own rules",
		 why);
	return 0;
}

int reconcile_rebuild(struct reconcile *r, const struct isol_actions *set, uint64_t now_ms,
		      struct isol_err *err)
{
	struct isol_err first = { 0, "" };
	int rc;

	use_probe_cgroup(r);
	rc = rebuild_once(r, set, now_ms, &first);
	if (rc < 0 && rebuild_unexempt(r, set, now_ms, rc, first.msg) == 0)
		return 0;
	if (rc == -EOPNOTSUPP && r->opts.owner) {
		/* a kernel without persist (< 6.9): an owned table would die with
		 * the agent, so own nothing and watch for deletion instead */
		log_warn("kernel lacks the nftables owner/persist table flags (%s); "
			 "using an unowned table, rebuilt if someone removes it",
			 first.msg);
		r->opts.owner = false;
		r->opts.persist = false;
		isol_err_clear(&first);
		rc = rebuild_once(r, set, now_ms, &first);
		if (rc < 0 && rebuild_unexempt(r, set, now_ms, rc, first.msg) == 0)
			return 0;
	}
	if (rc < 0 && err)
		*err = first;
	return rc;
}

int reconcile_change(struct reconcile *r, struct isol_action *const *add, size_t nadd,
		     struct isol_action *const *del, size_t ndel, bool dry_run, uint64_t now_ms,
		     struct isol_err *err)
{
	size_t sdel = count_steers(del, ndel), sadd = count_steers(add, nadd);
	size_t after = r->steers - (sdel < r->steers ? sdel : r->steers) + sadd;
	struct nft_batch b;
	uint32_t seq0 = nlport_next_seq(r->port, 0);
	int rc;

	rc = nft_batch_init(&b, seq0);
	if (rc == 0 && ndel)
		rc = nft_encode_actions(&b, &r->opts, del, ndel, false, now_ms);
	if (rc == 0 && nadd)
		rc = nft_encode_actions(&b, &r->opts, add, nadd, true, now_ms);
	if (rc == 0 && (r->steers == 0) != (after == 0))
		rc = nft_encode_steering(&b, &r->opts, after > 0);
	if (rc == 0 && !dry_run)
		rc = nft_batch_end(&b);
	nlport_next_seq(r->port, b.seq - seq0);
	if (rc == 0)
		rc = send_timed(r, &b, err);
	else
		isol_err_set(err, rc, "cannot build the change: %s", strerror(-rc));
	if (rc == 0 && !dry_run)
		r->steers = after;
	nft_batch_fini(&b);
	return rc;
}

#define STALE_MAX 4096 /* stale counters forgotten per read */

struct ctr_ctx {
	struct isol_actions *set;
	uint32_t *stale; /* marks in @hits that no live isolation has */
	size_t nstale;
};

static void ctr_cb(uint64_t id, uint64_t packets, uint64_t bytes, void *data)
{
	struct ctr_ctx *ctx = data;
	struct isol_action *a = actions_find(ctx->set, id);

	if (a) {
		a->packets += packets;
		a->bytes += bytes;
	}
}

/* @hits is keyed by the isolation's mark: the id's low 31 bits (and the
 * drop bit). Ids are below 2^31 for all but the longest-lived agents; past
 * that, the live action whose mark it is. */
static void hits_cb(uint64_t key, uint64_t packets, uint64_t bytes, void *data)
{
	struct ctr_ctx *ctx = data;
	uint64_t low = key & ~(uint64_t)ISOL_MARK_DROP, hi;

	for (hi = ctx->set->next_id >> 31;; hi--) {
		struct isol_action *a = actions_find(ctx->set, (hi << 31) | low);

		if (a && a->spec.kind == ISOL_KIND_ISOLATE && nft_isolation_mark(a) == key) {
			a->packets += packets;
			a->bytes += bytes;
			return;
		}
		if (hi == 0)
			break;
	}
	if (ctx->stale && ctx->nstale < STALE_MAX)
		ctx->stale[ctx->nstale++] = (uint32_t)key;
}

/* Counters of isolations gone: a packet that met the isolation while its
 * removal was being committed made one after the batch destroyed none.
 * Nothing can make them again (no element maps to the mark), so they go;
 * left alone they would fill @hits over months. */
static void forget_stale(struct reconcile *r, const uint32_t *marks, size_t n)
{
	struct isol_err ignored = { 0, "" };
	uint32_t seq0 = nlport_next_seq(r->port, 0);
	struct nft_batch b;
	int rc;

	rc = nft_batch_init(&b, seq0);
	if (rc == 0)
		rc = nft_encode_hits_forget(&b, &r->opts, marks, n);
	if (rc == 0)
		rc = nft_batch_end(&b);
	nlport_next_seq(r->port, b.seq - seq0);
	if (rc == 0)
		rc = send_timed(r, &b, &ignored);
	if (rc < 0)
		log_warn("cannot forget %zu stale counters: %s", n,
			 ignored.msg[0] ? ignored.msg : strerror(-rc));
	else
		log_debug("forgot %zu stale counters", n);
	nft_batch_fini(&b);
}

int reconcile_counters(struct reconcile *r, struct isol_actions *set, struct isol_err *err)
{
	struct ctr_ctx ctx = { set, NULL, 0 };
	struct isol_action *a;
	int m, rc;

	for (a = set->head; a; a = a->next)
		a->packets = a->bytes = 0;
	/* the isolations that were hit (and counters left by ones gone); then
	 * the steers' own counters */
	ctx.stale = malloc(STALE_MAX * sizeof(*ctx.stale));
	rc = nlport_dump_counters(r->port, r->opts.table, nft_map_name(ISOL_SET_HITS), true,
				  hits_cb, &ctx, err);
	if (rc == 0 && ctx.nstale)
		forget_stale(r, ctx.stale, ctx.nstale);
	free(ctx.stale);
	for (m = ISOL_MAP_STEER4; m <= ISOL_MAP_STEERH6 && rc == 0 && r->steers; m++)
		rc = nlport_dump_counters(r->port, r->opts.table, nft_map_name((enum isol_map)m),
					  false, ctr_cb, &ctx, err);
	return rc;
}

int reconcile_table_present(struct reconcile *r)
{
	int rc = nlport_table_flags(r->port, r->opts.table, NULL, NULL);

	if (rc <= 0 || r->opts.owner)
		return rc; /* owned: nobody else can flush or delete its parts */
	rc = nlport_count_rules(r->port, r->opts.table);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	return (size_t)rc ==
	       nft_skeleton_rules(&r->opts) + (r->steers ? nft_steering_rules(&r->opts) : 0);
}

int reconcile_flush(struct reconcile *r, struct isol_err *err)
{
	struct nft_batch b;
	uint32_t seq0 = nlport_next_seq(r->port, 0);
	int rc;

	rc = nft_batch_init(&b, seq0);
	if (rc == 0)
		rc = nft_encode_destroy_table(&b, &r->opts);
	if (rc == 0)
		rc = nft_batch_end(&b);
	nlport_next_seq(r->port, b.seq - seq0);
	if (rc == 0)
		rc = send_timed(r, &b, err);
	nft_batch_fini(&b);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t reconcile_batch_us(const struct reconcile *r, unsigned pct)
{
	uint32_t tmp[RECONCILE_SAMPLES];
	size_t n = r->nsamples < RECONCILE_SAMPLES ? r->nsamples : RECONCILE_SAMPLES;

	if (n == 0 || pct == 0)
		return n ? r->samples[(r->nsamples - 1) % RECONCILE_SAMPLES] : 0;
	memcpy(tmp, r->samples, n * sizeof(tmp[0]));
	qsort(tmp, n, sizeof(tmp[0]), cmp_u32);
	/* nearest rank: with two samples p99 is the larger one */
	return tmp[(n * pct + 99) / 100 - 1 < n ? (n * pct + 99) / 100 - 1 : n - 1];
}
