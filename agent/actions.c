/* actions.c - the set of active actions: an id hash, a target index and the
 * creation-order list. Pure bookkeeping, no I/O.
 *
 * One allocation of 2 * nbuckets pointers holds both indexes:
 *   buckets[0 .. nbuckets)            id hash, chained through a->hnext;
 *   buckets[nbuckets .. 2*nbuckets)   target index, open addressing with
 *                                     linear probing (kind + target as key),
 *                                     so actions_find_same() is O(1) and an
 *                                     apply of 100,000 lines stays linear.
 * The table grows before it is half full, which keeps probe runs short. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "isol/strbuf.h"

#define ACTIONS_MIN_BUCKETS 64

static size_t id_hash(uint64_t id, size_t nbuckets)
{
	/* murmur3 finalizer: sequential ids spread over the whole table */
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (size_t)id & (nbuckets - 1);
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Hash only the meaningful fields: the struct may have padding. */
static size_t target_hash(const struct isol_spec *spec, size_t nbuckets)
{
	const struct isol_target *t = &spec->target;
	uint8_t head[8];
	uint64_t h = 0xcbf29ce484222325ull;

	head[0] = (uint8_t)spec->kind;
	head[1] = (uint8_t)t->family;
	head[2] = t->plen;
	head[3] = t->proto;
	head[4] = (uint8_t)(t->port_lo >> 8);
	head[5] = (uint8_t)t->port_lo;
	head[6] = (uint8_t)(t->port_hi >> 8);
	head[7] = (uint8_t)t->port_hi;
	h = fnv1a(h, head, sizeof(head));
	h = fnv1a(h, t->addr, (size_t)isol_target_addr_len(t));
	h ^= h >> 29;
	return (size_t)h & (nbuckets - 1);
}

/* Two actions that cannot coexist: the same isolation or steer target, the
 * same pinned hostname, the same route (prefix and metric). */
static bool same_key(const struct isol_spec *a, const struct isol_spec *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == ISOL_KIND_PIN)
		return strcasecmp(a->host, b->host) == 0;
	if (a->kind == ISOL_KIND_ROUTE && a->metric != b->metric)
		return false;
	return isol_target_equal(&a->target, &b->target);
}

static struct isol_action **tindex(const struct isol_actions *set)
{
	return set->buckets + set->nbuckets;
}

static void id_link(struct isol_actions *set, struct isol_action *a)
{
	size_t b = id_hash(a->id, set->nbuckets);

	a->hnext = set->buckets[b];
	set->buckets[b] = a;
}

static void target_link(struct isol_actions *set, struct isol_action *a)
{
	struct isol_action **tix = tindex(set);
	size_t mask = set->nbuckets - 1, i = target_hash(&a->spec, set->nbuckets);

	while (tix[i] != NULL)
		i = (i + 1) & mask;
	tix[i] = a;
}

/* Remove @a from the open-addressed index, then re-place the rest of its
 * probe run so that no lookup stops early at the hole. */
static void target_unlink(struct isol_actions *set, struct isol_action *a)
{
	struct isol_action **tix = tindex(set);
	size_t mask = set->nbuckets - 1, i = target_hash(&a->spec, set->nbuckets);

	while (tix[i] != a) {
		if (tix[i] == NULL)
			return; /* not indexed: nothing to undo */
		i = (i + 1) & mask;
	}
	tix[i] = NULL;
	for (i = (i + 1) & mask; tix[i] != NULL; i = (i + 1) & mask) {
		struct isol_action *moved = tix[i];

		tix[i] = NULL;
		target_link(set, moved);
	}
}

static int grow(struct isol_actions *set)
{
	size_t n = set->nbuckets ? set->nbuckets * 2 : ACTIONS_MIN_BUCKETS;
	struct isol_action **buckets, *a;

	buckets = calloc(2 * n, sizeof(*buckets));
	if (buckets == NULL)
		return -ENOMEM;
	free(set->buckets);
	set->buckets = buckets;
	set->nbuckets = n;
	for (a = set->head; a; a = a->next) {
		id_link(set, a);
		target_link(set, a);
	}
	return 0;
}

int actions_reserve(struct isol_actions *set, size_t more)
{
	int rc = 0;

	/* the index at most half full, as actions_insert() keeps it: one
	 * rehash now instead of one per doubling */
	while (rc == 0 && (set->count + more) * 2 > set->nbuckets)
		rc = grow(set);
	return rc;
}

long actions_first_repeat(struct isol_action *const *acts, size_t n)
{
	size_t cap = 16, mask, i, k;
	uint32_t *slot;

	while (cap < 2 * n)
		cap *= 2;
	mask = cap - 1;
	slot = calloc(cap, sizeof(*slot)); /* index + 1; 0 is empty */
	if (slot == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct isol_spec *sp = &acts[i]->spec;

		for (k = target_hash(sp, cap); slot[k]; k = (k + 1) & mask) {
			const struct isol_spec *o = &acts[slot[k] - 1]->spec;

			if (same_key(o, sp) && (o->dirs & sp->dirs) != 0) {
				free(slot);
				return (long)i;
			}
		}
		slot[k] = (uint32_t)i + 1;
	}
	free(slot);
	return -1;
}

void actions_init(struct isol_actions *set)
{
	memset(set, 0, sizeof(*set));
	set->next_id = 1;
}

void actions_fini(struct isol_actions *set)
{
	struct isol_action *a, *next;

	for (a = set->head; a; a = next) {
		next = a->next;
		action_free(a);
	}
	free(set->buckets);
	actions_init(set);
}

struct isol_action *action_new(void)
{
	struct isol_action *a = calloc(1, sizeof(*a));

	if (a == NULL)
		errno = ENOMEM;
	else
		isol_spec_init(&a->spec);
	return a;
}

/* What an action with @spec needs: its spec up to the reason's NUL (a
 * pin's: up to its hostname's). */
static size_t action_size(const struct isol_spec *spec)
{
	size_t size = offsetof(struct isol_action, spec) + offsetof(struct isol_spec, reason);

	if (spec->kind == ISOL_KIND_PIN)
		size += sizeof(spec->reason) + strlen(spec->host) + 1;
	else
		size += strlen(spec->reason) + 1;
	return size;
}

struct isol_action *action_shrink(struct isol_action *a)
{
	struct isol_action *n = realloc(a, action_size(&a->spec));

	return n ? n : a;
}

struct isol_action *action_from_spec(const struct isol_spec *spec)
{
	size_t size = action_size(spec);
	struct isol_action *a = malloc(size);

	if (a == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(a, 0, offsetof(struct isol_action, spec));
	memcpy(&a->spec, spec, size - offsetof(struct isol_action, spec));
	return a;
}

void action_free(struct isol_action *a)
{
	if (a)
		free(a->replaced);
	free(a);
}

int actions_insert(struct isol_actions *set, struct isol_action *a)
{
	int rc;

	/* every id taken is below next_id */
	if (a->id != 0 && a->id < set->next_id && actions_find(set, a->id) != NULL)
		return -EEXIST;
	/* keep the target index at most half full */
	if ((set->count + 1) * 2 > set->nbuckets) {
		rc = grow(set);
		if (rc < 0)
			return rc;
	}
	if (a->id == 0)
		a->id = set->next_id;
	if (a->id >= set->next_id)
		set->next_id = a->id + 1;

	id_link(set, a);
	target_link(set, a);
	a->next = NULL;
	a->prev = set->tail;
	if (set->tail)
		set->tail->next = a;
	else
		set->head = a;
	set->tail = a;
	set->count++;
	return 0;
}

void actions_remove(struct isol_actions *set, struct isol_action *a)
{
	struct isol_action **pp;

	if (set->nbuckets == 0)
		return;
	for (pp = &set->buckets[id_hash(a->id, set->nbuckets)]; *pp != a; pp = &(*pp)->hnext)
		if (*pp == NULL)
			return; /* not in this set */
	*pp = a->hnext;
	target_unlink(set, a);
	if (a->prev)
		a->prev->next = a->next;
	else
		set->head = a->next;
	if (a->next)
		a->next->prev = a->prev;
	else
		set->tail = a->prev;
	a->hnext = a->prev = a->next = NULL;
	set->count--;
}

struct isol_action *actions_find(const struct isol_actions *set, uint64_t id)
{
	struct isol_action *a;

	if (set->nbuckets == 0)
		return NULL;
	for (a = set->buckets[id_hash(id, set->nbuckets)]; a; a = a->hnext)
		if (a->id == id)
			return a;
	return NULL;
}

struct isol_action *actions_find_same(const struct isol_actions *set, const struct isol_spec *spec)
{
	struct isol_action **tix, *a, *found = NULL;
	size_t mask, i;

	if (set->nbuckets == 0)
		return NULL;
	tix = tindex(set);
	mask = set->nbuckets - 1;
	/* several actions may share a key (out and in apart): the oldest wins */
	for (i = target_hash(spec, set->nbuckets); (a = tix[i]) != NULL; i = (i + 1) & mask) {
		if (same_key(&a->spec, spec) && (a->spec.dirs & spec->dirs) != 0 &&
		    (found == NULL || a->id < found->id))
			found = a;
	}
	return found;
}

/* One action as a JSON object (docs/PROTOCOL.md), written directly: list of
 * 100,000 actions must not build 100,000 jansson trees. */
void action_write_json(struct strbuf *out, const struct isol_action *a, const char *hosts_file)
{
	char target[ISOL_TARGET_STRLEN], to[ISOL_TARGET_STRLEN], dirs[32];
	const struct isol_spec *sp = &a->spec;

	/* strbuf_printf() is avoided on the way of an isolation: a list or a
	 * rollback of 100,000 writes 100,000 of these */
	isol_spec_subject(sp, target, sizeof(target));
	strbuf_puts(out, "{\"id\":");
	strbuf_put_u64(out, a->id);
	strbuf_puts(out, ",\"kind\":\"");
	strbuf_puts(out, isol_kind_name(sp->kind));
	strbuf_puts(out, "\",\"target\":");
	strbuf_json_str(out, target);
	if (sp->kind != ISOL_KIND_ISOLATE)
		isol_spec_to_format(sp, to, sizeof(to));
	switch (sp->kind) {
	case ISOL_KIND_ISOLATE:
		isol_dirs_format(sp->dirs, dirs, sizeof(dirs));
		strbuf_puts(out, ",\"direction\":\"");
		strbuf_puts(out, dirs);
		strbuf_puts(out, "\",\"mode\":\"");
		strbuf_puts(out, isol_mode_name(sp->mode));
		strbuf_puts(out, "\"");
		break;
	case ISOL_KIND_STEER:
		strbuf_printf(out, ",\"to\":\"%s\",\"kill_flows\":%s,\"no_check\":%s", to,
			      sp->kill_flows ? "true" : "false", sp->no_check ? "true" : "false");
		break;
	case ISOL_KIND_PIN:
		strbuf_puts(out, ",\"host\":");
		strbuf_json_str(out, sp->host);
		strbuf_printf(out, ",\"to\":\"%s\",\"check_port\":%u,\"file\":", to, sp->check_port);
		strbuf_json_str(out, hosts_file ? hosts_file : "");
		break;
	case ISOL_KIND_ROUTE:
		strbuf_printf(out, ",\"type\":\"%s\"", isol_route_type_name(sp->route_type));
		if (sp->route_type == ISOL_ROUTE_VIA)
			strbuf_printf(out, ",\"to\":\"%s\"", to);
		strbuf_puts(out, ",\"dev\":");
		strbuf_json_str(out, sp->dev);
		strbuf_printf(out, ",\"metric\":%u,\"replace\":%s", sp->metric,
			      sp->replace ? "true" : "false");
		if (a->replaced) {
			strbuf_puts(out, ",\"replaced\":");
			strbuf_json_str(out, a->replaced);
		}
		break;
	default:
		break;
	}
	strbuf_puts(out, ",\"created_ms\":");
	strbuf_put_u64(out, a->created_ms);
	strbuf_puts(out, ",\"expires_ms\":");
	strbuf_put_u64(out, a->expires_ms);
	strbuf_puts(out, ",\"ttl_ms\":");
	strbuf_put_u64(out, sp->ttl_ms);
	strbuf_puts(out, sp->force ? ",\"force\":true,\"origin\":" : ",\"force\":false,\"origin\":");
	strbuf_json_str(out, a->origin);
	strbuf_puts(out, ",\"reason\":");
	strbuf_json_str(out, a->spec.reason);
	strbuf_puts(out, ",\"actor\":{\"uid\":");
	strbuf_put_u64(out, a->actor.uid);
	strbuf_puts(out, ",\"pid\":");
	strbuf_put_i64(out, a->actor.pid);
	strbuf_puts(out, ",\"comm\":");
	strbuf_json_str(out, a->actor.comm);
	if (a->actor.user[0]) {
		strbuf_puts(out, ",\"user\":");
		strbuf_json_str(out, a->actor.user);
	}
	strbuf_puts(out, "},\"packets\":");
	strbuf_put_u64(out, a->packets);
	strbuf_puts(out, ",\"bytes\":");
	strbuf_put_u64(out, a->bytes);
	strbuf_puts(out, "}");
}
