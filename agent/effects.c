/* effects.c - routes and hosts pins: check, apply, undo, re-assert. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effects.h"
#include "hosts.h"
#include "log.h"

int effects_open(struct effects *fx, const char *hosts_file, struct isol_err *err)
{
	memset(fx, 0, sizeof(*fx));
	fx->hosts_file = hosts_file;
	return route_open(&fx->routes, err);
}

void effects_close(struct effects *fx)
{
	route_close(fx->routes);
	fx->routes = NULL;
}

void effects_route_of(const struct isol_spec *spec, struct route_spec *r)
{
	static const enum route_type types[__ISOL_ROUTE_MAX] = {
		[ISOL_ROUTE_VIA] = ROUTE_VIA,
		[ISOL_ROUTE_BLACKHOLE] = ROUTE_BLACKHOLE,
		[ISOL_ROUTE_UNREACHABLE] = ROUTE_UNREACHABLE,
		[ISOL_ROUTE_PROHIBIT] = ROUTE_PROHIBIT,
	};

	memset(r, 0, sizeof(*r));
	r->family = spec->target.family;
	memcpy(r->dst, spec->target.addr, sizeof(r->dst));
	r->plen = spec->target.plen;
	r->type = types[spec->route_type];
	memcpy(r->gw, spec->to_addr, sizeof(r->gw));
	snprintf(r->dev, sizeof(r->dev), "%s", spec->dev);
	r->metric = spec->metric;
}

int effects_check(struct effects *fx, struct isol_action *const *acts, size_t n, size_t *bad,
		  struct isol_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct isol_action *a = acts[i];
		struct route_saved existing;
		struct route_spec r;
		int rc;

		if (a->spec.kind != ISOL_KIND_ROUTE)
			continue;
		effects_route_of(&a->spec, &r);
		rc = route_check(fx->routes, &r, &existing, err);
		if (rc == 1 && existing.protocol == ISOL_RTPROT) {
			char d[160];

			route_describe(&r, d, sizeof(d));
			isol_err_clear(err);
			rc = isol_err_set(err, -EEXIST, "isol already has a route there: %s", d);
		} else if (rc == 1 && !a->spec.replace) {
			rc = -EEXIST; /* the message from route_check shows the route */
		} else if (rc == 1) {
			isol_err_clear(err);
			free(a->replaced);
			a->replaced = malloc(ROUTE_LINE_MAX);
			if (a->replaced == NULL)
				rc = isol_err_set(err, -ENOMEM, "out of memory");
			else if (route_saved_format(&existing, a->replaced, ROUTE_LINE_MAX) >=
				 ROUTE_LINE_MAX)
				rc = isol_err_set(err, -EOPNOTSUPP,
						  "the route there is too large to save");
			else
				rc = 0;
		}
		if (rc < 0) {
			if (bad)
				*bad = i;
			return rc;
		}
	}
	return 0;
}

static void undo_route(struct effects *fx, const struct isol_action *a)
{
	struct isol_err err = { 0, "" };
	struct route_saved saved;
	struct route_spec r;

	effects_route_of(&a->spec, &r);
	if (a->replaced && route_saved_parse(a->replaced, &saved, &err) == 0) {
		/* over our own route, atomically: no moment without one */
		if (route_restore(fx->routes, &saved, &err) < 0)
			log_warn("action %llu: cannot put back the replaced route: %s",
				 (unsigned long long)a->id, err.msg);
		return;
	}
	if (route_del(fx->routes, &r, &err) < 0)
		log_warn("action %llu: cannot delete its route: %s", (unsigned long long)a->id,
			 err.msg);
}

/* The pins of @live, minus @del, plus @add (add and del may be NULL). */
static int collect_pins(const struct isol_actions *live, struct isol_action *const *add,
			size_t nadd, struct isol_action *const *del, size_t ndel,
			struct hosts_pin **out, size_t *n)
{
	struct isol_action *a;
	struct hosts_pin *pins;
	size_t cap = nadd, i, j;

	for (a = live->head; a; a = a->next)
		if (a->spec.kind == ISOL_KIND_PIN)
			cap++;
	pins = calloc(cap ? cap : 1, sizeof(*pins));
	if (pins == NULL)
		return -ENOMEM;
	*n = 0;
	for (a = live->head; a; a = a->next) {
		bool gone = false;

		if (a->spec.kind != ISOL_KIND_PIN)
			continue;
		for (j = 0; j < ndel && !gone; j++)
			gone = del[j] == a;
		for (j = 0; j < nadd && !gone; j++)
			gone = add[j] == a; /* counted below */
		if (gone)
			continue;
		pins[*n].id = a->id;
		snprintf(pins[*n].host, sizeof(pins[*n].host), "%s", a->spec.host);
		isol_spec_to_format(&a->spec, pins[*n].addr, sizeof(pins[*n].addr));
		(*n)++;
	}
	for (i = 0; i < nadd; i++) {
		if (add[i]->spec.kind != ISOL_KIND_PIN)
			continue;
		pins[*n].id = add[i]->id;
		snprintf(pins[*n].host, sizeof(pins[*n].host), "%s", add[i]->spec.host);
		isol_spec_to_format(&add[i]->spec, pins[*n].addr, sizeof(pins[*n].addr));
		(*n)++;
	}
	*out = pins;
	return 0;
}

static bool any_kind(struct isol_action *const *acts, size_t n, enum isol_kind kind)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (acts[i]->spec.kind == kind)
			return true;
	return false;
}

/* Render the block for @pins into the file (when it changed). */
static int write_pins(struct effects *fx, const struct hosts_pin *pins, size_t n, bool dry_run,
		      void (*fn)(const char *line, void *data), void *data, struct isol_err *err)
{
	struct strbuf cur, next;
	int rc, tries = 0;

again:
	strbuf_init(&cur);
	strbuf_init(&next);
	rc = hosts_read(fx->hosts_file, &cur, err);
	if (rc == 0 && hosts_block_matches(cur.buf, cur.len, pins, n))
		goto out;
	if (rc == 0)
		rc = hosts_render(cur.buf, cur.len, pins, n, &next);
	if (rc == 0 && dry_run) {
		char line[320];
		size_t i;

		snprintf(line, sizeof(line), "rewrite the isol block of %s with %zu pin%s:",
			 fx->hosts_file, n, n == 1 ? "" : "s");
		if (fn)
			fn(line, data);
		for (i = 0; i < n && fn; i++) {
			snprintf(line, sizeof(line), "  %s %s", pins[i].addr, pins[i].host);
			fn(line, data);
		}
	} else if (rc == 0) {
		rc = hosts_write_if_same(fx->hosts_file, &cur, next.buf, next.len, err);
		if (rc == -EAGAIN && ++tries < 5) {
			/* someone wrote the file meanwhile: start again from theirs */
			isol_err_clear(err);
			strbuf_fini(&cur);
			strbuf_fini(&next);
			goto again;
		}
		if (rc == 0)
			fx->hosts_writes++;
	}
out:
	strbuf_fini(&cur);
	strbuf_fini(&next);
	return rc;
}

int effects_apply(struct effects *fx, const struct isol_actions *live,
		  struct isol_action *const *add, size_t nadd, struct isol_action *const *del,
		  size_t ndel, bool dry_run, void (*fn)(const char *line, void *data), void *data,
		  struct isol_err *err)
{
	struct hosts_pin *pins = NULL;
	size_t i, done = 0, npins = 0;
	int rc = 0;

	/* the hosts file first: the step most likely to be refused (a read-only
	 * file), before anything else has moved */
	if (any_kind(add, nadd, ISOL_KIND_PIN) || any_kind(del, ndel, ISOL_KIND_PIN)) {
		rc = collect_pins(live, add, nadd, del, ndel, &pins, &npins);
		if (rc < 0)
			return isol_err_set(err, rc, "out of memory");
		rc = write_pins(fx, pins, npins, dry_run, fn, data, err);
		if (rc < 0)
			goto out;
	}
	for (i = 0; i < nadd; i++) {
		struct route_spec r;
		char d[200], line[260];

		if (add[i]->spec.kind != ISOL_KIND_ROUTE)
			continue;
		effects_route_of(&add[i]->spec, &r);
		if (dry_run) {
			route_describe(&r, d, sizeof(d));
			snprintf(line, sizeof(line), "%s route %s proto %d",
				 add[i]->replaced ? "replace" : "add", d, ISOL_RTPROT);
			if (fn)
				fn(line, data);
			continue;
		}
		rc = route_add(fx->routes, &r, add[i]->replaced != NULL, err);
		if (rc < 0)
			goto undo;
		done = i + 1;
	}
	for (i = 0; i < ndel; i++) {
		struct route_spec r;
		char d[200], line[260];

		if (del[i]->spec.kind != ISOL_KIND_ROUTE)
			continue;
		if (dry_run) {
			effects_route_of(&del[i]->spec, &r);
			route_describe(&r, d, sizeof(d));
			snprintf(line, sizeof(line), "delete route %s%s", d,
				 del[i]->replaced ? " and put back the route it replaced" : "");
			if (fn)
				fn(line, data);
			continue;
		}
		undo_route(fx, del[i]); /* best effort: a removal does not stop half way */
	}
	goto out;

undo:
	for (i = 0; i < done; i++)
		if (add[i]->spec.kind == ISOL_KIND_ROUTE)
			undo_route(fx, add[i]);
	if (pins) { /* put the block back as it was */
		struct isol_err ignored = { 0, "" };
		struct hosts_pin *old = NULL;
		size_t nold = 0;

		if (collect_pins(live, NULL, 0, add, nadd, &old, &nold) == 0)
			write_pins(fx, old, nold, false, NULL, NULL, &ignored);
		free(old);
	}
out:
	free(pins);
	return rc;
}

int effects_sync_hosts(struct effects *fx, const struct isol_actions *live, struct isol_err *err)
{
	struct hosts_pin *pins = NULL;
	uint64_t before = fx->hosts_writes;
	size_t n = 0;
	int rc;

	rc = collect_pins(live, NULL, 0, NULL, 0, &pins, &n);
	if (rc < 0)
		return isol_err_set(err, rc, "out of memory");
	if (n == 0) {
		/* no pins: only touch the file if a block of ours is left in it */
		struct strbuf cur;

		strbuf_init(&cur);
		if (hosts_read(fx->hosts_file, &cur, NULL) < 0 ||
		    hosts_block_matches(cur.buf, cur.len, NULL, 0)) {
			strbuf_fini(&cur);
			free(pins);
			return 0;
		}
		strbuf_fini(&cur);
	}
	rc = write_pins(fx, pins, n, false, NULL, NULL, err);
	free(pins);
	if (rc < 0)
		return rc;
	return fx->hosts_writes != before;
}

int effects_ensure_routes(struct effects *fx, const struct isol_actions *live,
			  struct isol_err *err)
{
	struct isol_action *a;
	int added = 0;

	for (a = live->head; a; a = a->next) {
		struct route_saved existing;
		struct route_spec r;
		int rc;

		if (a->spec.kind != ISOL_KIND_ROUTE)
			continue;
		effects_route_of(&a->spec, &r);
		/* only what is there: route_check's gateway checks may wait */
		rc = route_lookup(fx->routes, &r, &existing, err);
		isol_err_clear(err);
		if (rc == 1 && existing.protocol == ISOL_RTPROT)
			continue; /* ours, in place */
		if (rc == 1) {
			/* another tool put its own route there: do not fight it */
			log_warn("action %llu: another route now holds its place; left alone",
				 (unsigned long long)a->id);
			continue;
		}
		if (rc < 0) {
			log_warn("action %llu: its route cannot go back now", (unsigned long long)a->id);
			continue;
		}
		rc = route_add(fx->routes, &r, false, err);
		if (rc < 0) {
			log_warn("action %llu: cannot put its route back: %s", (unsigned long long)a->id,
				 err->msg);
			isol_err_clear(err);
			continue;
		}
		added++;
	}
	return added;
}
