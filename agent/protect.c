/* protect.c - the protected list and its checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/route.h>

#include "protect.h"

static struct protect_entry *entry_new(struct protect *p)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		struct protect_entry *n = realloc(p->v, ncap * sizeof(*n));

		if (n == NULL)
			return NULL;
		p->v = n;
		p->cap = ncap;
	}
	memset(&p->v[p->n], 0, sizeof(p->v[0]));
	return &p->v[p->n++];
}

void protect_init(struct protect *p)
{
	memset(p, 0, sizeof(*p));
	protect_add(p, "127.0.0.0/8", "loopback", NULL);
	protect_add(p, "::1", "loopback", NULL);
}

void protect_fini(struct protect *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int protect_add(struct protect *p, const char *spec, const char *label, struct isol_err *err)
{
	struct isol_target t;
	struct protect_entry *e;

	if (isol_target_parse(spec, &t, err) < 0 || isol_target_has_port(&t) || t.proto)
		return isol_err_set(err, -EINVAL, "bad protected address '%s' (ADDR or ADDR/LEN)",
				    spec);
	e = entry_new(p);
	if (e == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	e->family = t.family;
	memcpy(e->addr, t.addr, sizeof(e->addr));
	e->plen = t.plen;
	snprintf(e->label, sizeof(e->label), "%s", label);
	return 0;
}

struct gw_ctx {
	struct protect *p;
};

static void gw_nh(struct rtnl_nexthop *nh, void *data)
{
	struct gw_ctx *ctx = data;
	struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
	struct protect_entry *e;

	if (gw == NULL || nl_addr_get_len(gw) > 16)
		return;
	e = entry_new(ctx->p);
	if (e == NULL)
		return;
	e->family = nl_addr_get_family(gw);
	memcpy(e->addr, nl_addr_get_binary_addr(gw), nl_addr_get_len(gw));
	e->plen = nl_addr_get_len(gw) * 8;
	e->dynamic = 1;
	snprintf(e->label, sizeof(e->label), "default gateway");
}

static void gw_route(struct nl_object *obj, void *data)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct nl_addr *dst = rtnl_route_get_dst(r);

	if (dst && nl_addr_get_prefixlen(dst) != 0)
		return;
	if (rtnl_route_get_type(r) != RTN_UNICAST)
		return;
	rtnl_route_foreach_nexthop(r, gw_nh, data);
}

void protect_refresh(struct protect *p, uint64_t now_ms)
{
	struct nl_cache *cache = NULL;
	struct nl_sock *sk;
	struct gw_ctx ctx = { p };
	size_t i, keep = 0;

	if (p->refreshed_ms && now_ms - p->refreshed_ms < 1000)
		return;
	sk = nl_socket_alloc();
	if (sk == NULL)
		return;
	if (nl_connect(sk, NETLINK_ROUTE) < 0 ||
	    rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache) < 0)
		goto out;
	for (i = 0; i < p->n; i++) /* drop the old gateways */
		if (!p->v[i].dynamic)
			p->v[keep++] = p->v[i];
	p->n = keep;
	nl_cache_foreach(cache, gw_route, &ctx);
	p->refreshed_ms = now_ms;
	nl_cache_free(cache);
out:
	nl_socket_free(sk);
}

const char *protect_match(const struct protect *p, const struct isol_target *t,
			  const char *ssh_peer, char *why, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct protect_entry *e = &p->v[i];

		if (!isol_target_overlaps(t, e->family, e->addr, e->plen))
			continue;
		inet_ntop(e->family, e->addr, a, sizeof(a));
		if (e->plen != (e->family == AF_INET ? 32u : 128u))
			snprintf(why, len, "target overlaps %s/%u (%s)", a, e->plen, e->label);
		else
			snprintf(why, len, "target covers %s (%s)", a, e->label);
		return e->label;
	}
	if (ssh_peer && *ssh_peer) {
		struct isol_target peer;

		if (isol_target_parse(ssh_peer, &peer, NULL) == 0 &&
		    isol_target_overlaps(t, peer.family, peer.addr, peer.plen)) {
			snprintf(why, len, "target covers %s (your SSH session's client)", ssh_peer);
			return "ssh session";
		}
	}
	return NULL;
}
