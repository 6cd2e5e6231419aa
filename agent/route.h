/* route.h - routes through libnl-route-3, tagged with a protocol number of our
 * own so that the agent only ever deletes routes it created. A route that
 * would take the place of an existing one is refused unless asked; the one
 * replaced is kept as a struct route_saved (a line of words for the journal)
 * and put back on rollback. NLE_* codes stay inside route.c: every function
 * returns 0 or a negative errno, with a message in struct isol_err. */
#ifndef ISOL_ROUTE_H
#define ISOL_ROUTE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"

/* Our rtnetlink protocol number. 186 is taken (bgp in iproute2's rt_protos;
 * FRR uses 186-198, BIRD 12, Calico 80, the kernel's own RTPROT_* stop at
 * 192 with babel 42 and openr 99). 105 = 0x69 = 'i', the first byte of our
 * packet mark "isol", is unused by all of them. `ip route` prints it as
 * "proto 105" (or "proto isol" with a line "105 isol" in
 * /etc/iproute2/rt_protos.d/isol.conf). */
#define ISOL_RTPROT 105

#define ROUTE_MAX_NH   8    /* nexthops of a saved multipath route */
#define ROUTE_RTAX_MAX 17   /* RTAX_FASTOPEN_NO_COOKIE, the last route metric we know */
#define ROUTE_LINE_MAX 1280 /* route_saved_format() of the largest route fits */

enum route_type { ROUTE_VIA, ROUTE_BLACKHOLE, ROUTE_UNREACHABLE, ROUTE_PROHIBIT, __ROUTE_TYPE_MAX };

/* A route of ours, as the user asked for it. */
struct route_spec {
	int family;	 /* AF_INET or AF_INET6 */
	uint8_t dst[16]; /* network byte order; host bits zero */
	uint8_t plen;	 /* prefix length */
	enum route_type type;
	uint8_t gw[16];	       /* ROUTE_VIA only */
	char dev[IF_NAMESIZE]; /* ROUTE_VIA only; "" = the kernel picks */
	uint32_t metric;       /* 0 = kernel default (0 for IPv4, 1024 for IPv6) */
	uint32_t table;	       /* 0 = main (254) */
};

struct route_nh {
	uint8_t gw[16];	       /* all zero: no gateway */
	int ifindex;	       /* 0: none; filled from dev when sent */
	char dev[IF_NAMESIZE]; /* "": none */
	uint16_t weight;       /* 1..256 as `ip route` shows it; multipath only */
	uint8_t flags;	       /* RTNH_F_ONLINK or 0 */
};

/* Any route of the kernel that we know how to put back exactly. */
struct route_saved {
	int family;
	uint8_t dst[16], plen;
	uint8_t tos, protocol, scope, type; /* rtmsg fields; type is RTN_* */
	uint8_t pref;			    /* IPv6 router preference, 0 = medium */
	bool has_prefsrc, multipath;
	uint8_t prefsrc[16];
	uint32_t table, metric;		   /* as the kernel has them: 254, 1024... */
	uint32_t rtax_mask;		   /* bit i: rtax[i] is set */
	uint32_t rtax[ROUTE_RTAX_MAX + 1]; /* RTA_METRICS: mtu, advmss... */
	int nnh;
	struct route_nh nh[ROUTE_MAX_NH];
};

/* ---- pure: no kernel ----------------------------------------------------- */

/* One line of words, parseable by route_saved_parse(), e.g.
 * "10.9.0.0/24 via 10.0.0.1 dev veth0 metric 0 proto static scope universe type unicast
 * table 254". Returns the length it needed (like snprintf), or -EINVAL. */
int route_saved_format(const struct route_saved *s, char *buf, size_t len);
/* Parse a line of route_saved_format(). -EINVAL with the offending word in @err. */
int route_saved_parse(const char *s, struct route_saved *out, struct isol_err *err);
/* "10.9.0.0/24 via 10.0.0.2 dev eth1 metric 5", "fd09::/64 blackhole table 100". */
int route_describe(const struct route_spec *r, char *buf, size_t len);

/* The metric and table that the kernel gives @r (1024 for an IPv6 metric 0, 254 for 0). */
uint32_t route_metric(const struct route_spec *r);
uint32_t route_table(const struct route_spec *r);
/* Same kernel key (family, prefix, table, metric): one replaces the other. */
bool route_same_key(const struct route_spec *a, const struct route_spec *b);

/* Spec -> a libnl route with protocol ISOL_RTPROT, table, type, scope universe,
 * metric and, for ROUTE_VIA, one nexthop (gateway, and @ifindex when > 0).
 * Checks the spec (family, prefix length, host bits, gateway family). The
 * caller owns the result (rtnl_route_put). NULL with -EINVAL in @err. */
struct rtnl_route *route_build(const struct route_spec *r, int ifindex, struct isol_err *err);
/* A saved route -> libnl route, with the ifindex of each nexthop as given. */
struct rtnl_route *route_saved_build(const struct route_saved *s, struct isol_err *err);

struct nlmsghdr;
/* A kernel RTM_NEWROUTE/RTM_DELROUTE message -> @out (ifindex filled, dev
 * names empty). -EOPNOTSUPP, naming it, for what we could not put back
 * exactly (encapsulation, nexthop objects, realms, MPLS...); -EINVAL for a
 * malformed message. */
int route_saved_from_nlmsg(const struct nlmsghdr *nlh, struct route_saved *out,
			   struct isol_err *err);
/* Our own route back from a kernel one (protocol ISOL_RTPROT): -EINVAL if it
 * is not a shape we create. dev is copied from nh[0]. */
int route_spec_from_saved(const struct route_saved *s, struct route_spec *out);

/* ---- the kernel ------------------------------------------------------------ */

/* Owns two libnl sockets in the caller's network namespace: one for requests,
 * one subscribed to IPv4 and IPv6 route events (non-blocking). */
struct route_ctx;
int route_open(struct route_ctx **ctx, struct isol_err *err);
void route_close(struct route_ctx *ctx);

/* Is @r possible, and is its place free? Checks, changing nothing:
 *   dev: -ENODEV "no interface named X", -ENETDOWN when it is down;
 *   via: the gateway must be on a directly connected network (of dev, when
 *   given) and answer ARP/ND: -ENETUNREACH or -EHOSTUNREACH naming it.
 *   This may wait up to 1 s for a gateway the kernel has not resolved yet.
 * Returns 0: nothing at that prefix/table/metric; 1: a route is there, copied
 * to @existing (dev names filled in) and described in @err (code -EEXIST,
 * "a route exists: ... (--replace replaces it ...)"): a caller going on with
 * --replace must isol_err_clear() it first, and must refuse when
 * existing->protocol == ISOL_RTPROT (another action's route). -EOPNOTSUPP
 * when the route there cannot be saved exactly, or several share the key. */
int route_check(struct route_ctx *ctx, const struct route_spec *r, struct route_saved *existing,
		struct isol_err *err);
/* What is at @r's key, checking nothing else (no gateway, no interface):
 * 0 nothing, 1 a route (copied to @existing, dev names filled), -errno.
 * Cheap enough to re-check every route of ours after a route event. */
int route_lookup(struct route_ctx *ctx, const struct route_spec *r, struct route_saved *existing,
		 struct isol_err *err);
/* Add @r with our protocol: create-exclusive, or with @replace over the route
 * at the same key (NLM_F_REPLACE: atomic, no moment without a route; the
 * caller saved it with route_check first). */
int route_add(struct route_ctx *ctx, const struct route_spec *r, bool replace,
	      struct isol_err *err);
/* Delete our route at @r's key, only if its protocol is ours. A route that
 * is already gone (or foreign) is success: nothing to do. */
int route_del(struct route_ctx *ctx, const struct route_spec *r, struct isol_err *err);
/* Put back a route we replaced, over our own route at that key (atomically)
 * or into a free place. Success if it is there already; -EEXIST if another
 * tool has put a different route there; -ENODEV if its interface is gone. */
int route_restore(struct route_ctx *ctx, const struct route_saved *s, struct isol_err *err);
/* Delete every route with protocol ISOL_RTPROT, in every table, both
 * families (isolagent --flush, the end of rollback --all). 0, or the first
 * -errno (it goes on with the others). */
int route_flush_ours(struct route_ctx *ctx, struct isol_err *err);

/* Route events. Watch route_events_fd() for EV_READ and call
 * route_events_read(), which reads everything pending and calls @fn:
 *   ROUTE_GONE_DELETED   a route with our protocol was deleted: @r is it;
 *   ROUTE_GONE_REPLACED  another tool put a route in place at some key
 *                        (NLM_F_REPLACE): if we had a route there it is
 *                        gone; @r carries only the key (family, dst, plen,
 *                        table, metric);
 *   ROUTE_GONE_UNKNOWN   events were lost (socket overrun): @r is NULL,
 *                        check every route.
 * Our own deletions come back here too: look @r up among the active actions
 * with route_same_key(). */
enum route_gone { ROUTE_GONE_DELETED, ROUTE_GONE_REPLACED, ROUTE_GONE_UNKNOWN };
int route_events_fd(struct route_ctx *ctx);
void route_events_read(struct route_ctx *ctx,
		       void (*fn)(enum route_gone why, const struct route_spec *r, void *data),
		       void *data);

#endif
