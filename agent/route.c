/* route.c - our routes through libnl-route-3: the pure part (spec -> libnl
 * route, kernel message -> saved route, saved route <-> one line of words)
 * and the kernel part (check, add, delete, put back, flush, events). The
 * only place where libnl's NLE_* codes are seen: they leave as -errno. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "route.h"

#define GW_WAIT_MS    1000 /* how long route_check waits for a gateway's ARP/ND reply */
#define ROUTE_PREFSTR (INET6_ADDRSTRLEN + 5)

struct route_ctx {
	struct nl_sock *req; /* requests; replies matched by sequence number */
	struct nl_sock *ev;  /* RTNLGRP_IPV4_ROUTE + RTNLGRP_IPV6_ROUTE, non-blocking */
};

/* ---- small helpers --------------------------------------------------------- */

static int nle_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_SUCCESS:
		return 0;
	case NLE_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_INVAL:
	case NLE_NOATTR:
	case NLE_MISSING_ATTR:
	case NLE_AF_MISMATCH:
	case NLE_PARSE_ERR:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_MSGSIZE:
	case NLE_MSG_TRUNC:
	case NLE_MSG_OVERFLOW:
	case NLE_ATTRSIZE:
		return -EMSGSIZE;
	case NLE_OPNOTSUPP:
	case NLE_MSGTYPE_NOSUPPORT:
	case NLE_SRCRT_NOSUPPORT:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_PROTO_MISMATCH:
		return -EPROTONOSUPPORT;
	case NLE_NOACCESS:
	case NLE_PERM:
		return -EPERM;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_DUMP_INTR:
		return -EAGAIN;
	case NLE_SEQ_MISMATCH:
	case NLE_MSG_TOOSHORT:
		return -EPROTO;
	default:
		return -EIO;
	}
}

static int alen(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static bool is_zero(const uint8_t *a, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (a[i])
			return false;
	return true;
}

static bool host_bits_clear(const uint8_t *a, int n, unsigned plen)
{
	int i;

	for (i = 0; i < n; i++) {
		unsigned bit = (unsigned)i * 8;
		uint8_t mask = bit >= plen	 ? 0
			       : plen - bit >= 8 ? 0xff
						 : (uint8_t)(0xff00 >> (plen - bit));

		if (a[i] & (uint8_t)~mask)
			return false;
	}
	return true;
}

static const char *addr_str(int family, const uint8_t *a, char *buf)
{
	if (inet_ntop(family, a, buf, INET6_ADDRSTRLEN) == NULL)
		snprintf(buf, INET6_ADDRSTRLEN, "?");
	return buf;
}

static const char *prefix_str(int family, const uint8_t *a, unsigned plen, char *buf)
{
	char s[INET6_ADDRSTRLEN];

	snprintf(buf, ROUTE_PREFSTR, "%s/%u", addr_str(family, a, s), plen);
	return buf;
}

uint32_t route_metric(const struct route_spec *r)
{
	return r->metric == 0 && r->family == AF_INET6 ? 1024 : r->metric;
}

uint32_t route_table(const struct route_spec *r)
{
	return r->table ? r->table : RT_TABLE_MAIN;
}

bool route_same_key(const struct route_spec *a, const struct route_spec *b)
{
	return a->family == b->family && alen(a->family) && a->plen == b->plen &&
	       !memcmp(a->dst, b->dst, (size_t)alen(a->family)) &&
	       route_table(a) == route_table(b) && route_metric(a) == route_metric(b);
}

/* ---- names of numbers, as iproute2 spells them ---------------------------------- */

struct name {
	unsigned v;
	const char *n;
};

static const struct name proto_names[] = {
    {RTPROT_UNSPEC, "unspec"},
    {RTPROT_REDIRECT, "redirect"},
    {RTPROT_KERNEL, "kernel"},
    {RTPROT_BOOT, "boot"},
    {RTPROT_STATIC, "static"},
    {8, "gated"},
    {9, "ra"},
    {10, "mrt"},
    {11, "zebra"},
    {12, "bird"},
    {13, "dnrouted"},
    {14, "xorp"},
    {15, "ntk"},
    {16, "dhcp"},
    {18, "keepalived"},
    {42, "babel"},
    {99, "openr"},
    {186, "bgp"},
    {187, "isis"},
    {188, "ospf"},
    {189, "rip"},
    {192, "eigrp"},
    {ISOL_RTPROT, "isol"},
};

static const struct name scope_names[] = {
    {RT_SCOPE_UNIVERSE, "universe"}, {RT_SCOPE_SITE, "site"},	    {RT_SCOPE_LINK, "link"},
    {RT_SCOPE_HOST, "host"},	     {RT_SCOPE_NOWHERE, "nowhere"},
};

static const struct name type_names[] = {
    {RTN_UNICAST, "unicast"},
    {RTN_LOCAL, "local"},
    {RTN_BROADCAST, "broadcast"},
    {RTN_ANYCAST, "anycast"},
    {RTN_MULTICAST, "multicast"},
    {RTN_BLACKHOLE, "blackhole"},
    {RTN_UNREACHABLE, "unreachable"},
    {RTN_PROHIBIT, "prohibit"},
    {RTN_THROW, "throw"},
    {RTN_NAT, "nat"},
    {RTN_XRESOLVE, "xresolve"},
};

static const struct name table_names[] = {
    {RT_TABLE_DEFAULT, "default"},
    {RT_TABLE_MAIN, "main"},
    {RT_TABLE_LOCAL, "local"},
};

/* RFC 4191 router preference as RTA_PREF carries it; medium (0) is not written. */
static const struct name pref_names[] = {{0, "medium"}, {1, "high"}, {3, "low"}};

/* RTAX_* index -> the word for it; NULL: not one we save (cc algorithm: a string). */
static const char *const rtax_names[ROUTE_RTAX_MAX + 1] = {
    [RTAX_LOCK] = "lock",
    [RTAX_MTU] = "mtu",
    [RTAX_WINDOW] = "window",
    [RTAX_RTT] = "rtt",
    [RTAX_RTTVAR] = "rttvar",
    [RTAX_SSTHRESH] = "ssthresh",
    [RTAX_CWND] = "cwnd",
    [RTAX_ADVMSS] = "advmss",
    [RTAX_REORDERING] = "reordering",
    [RTAX_HOPLIMIT] = "hoplimit",
    [RTAX_INITCWND] = "initcwnd",
    [RTAX_FEATURES] = "features",
    [RTAX_RTO_MIN] = "rto_min",
    [RTAX_INITRWND] = "initrwnd",
    [RTAX_QUICKACK] = "quickack",
    [RTAX_FASTOPEN_NO_COOKIE] = "fastopen_no_cookie",
};

#define NNAMES(t) (sizeof(t) / sizeof((t)[0]))

static const char *name_of(const struct name *t, size_t n, unsigned v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].n;
	return NULL;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* A name from @t or a number up to @max. */
static bool parse_named(const struct name *t, size_t n, const char *s, uint32_t max, uint32_t *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(t[i].n, s)) {
			*out = t[i].v;
			return true;
		}
	return parse_u32(s, max, out);
}

static const char *type_name(unsigned type)
{
	const char *n = name_of(type_names, NNAMES(type_names), type);

	return n ? n : "unknown";
}

/* ---- spec -> libnl route ---------------------------------------------------------- */

static int spec_check(const struct route_spec *r, struct isol_err *err)
{
	char p[ROUTE_PREFSTR];
	int n = alen(r->family);

	if (n == 0)
		return isol_err_set(err, -EINVAL, "route: the family must be IPv4 or IPv6");
	if (r->plen > n * 8)
		return isol_err_set(err, -EINVAL, "route: prefix length /%u is longer than %d bits",
				    r->plen, n * 8);
	if (!host_bits_clear(r->dst, n, r->plen))
		return isol_err_set(err, -EINVAL, "route: %s has host bits set",
				    prefix_str(r->family, r->dst, r->plen, p));
	if ((unsigned)r->type >= __ROUTE_TYPE_MAX)
		return isol_err_set(err, -EINVAL, "route: unknown route type %d", (int)r->type);
	if (memchr(r->dev, '\0', sizeof(r->dev)) == NULL)
		return isol_err_set(err, -EINVAL, "route: interface name too long");
	if (r->type == ROUTE_VIA && is_zero(r->gw, n))
		return isol_err_set(err, -EINVAL, "route: a via route needs a gateway");
	if (r->type != ROUTE_VIA && r->dev[0])
		return isol_err_set(err, -EINVAL, "route: dev goes only with via GW");
	return 0;
}

static struct nl_addr *addr_new(int family, const uint8_t *a, unsigned plen)
{
	struct nl_addr *addr = nl_addr_build(family, a, (size_t)alen(family));

	if (addr)
		nl_addr_set_prefixlen(addr, (int)plen);
	return addr;
}

/* A route with everything but its nexthops. */
static struct rtnl_route *key_route(int family, const uint8_t *dst, unsigned plen, uint8_t tos,
				    uint32_t table, uint32_t metric, uint8_t type, uint8_t proto,
				    uint8_t scope)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct nl_addr *a = addr_new(family, dst, plen);

	if (route == NULL || a == NULL)
		goto nomem;
	if (rtnl_route_set_family(route, (uint8_t)family) < 0 || rtnl_route_set_dst(route, a) < 0 ||
	    rtnl_route_set_type(route, type) < 0)
		goto nomem;
	nl_addr_put(a);
	rtnl_route_set_tos(route, tos);
	rtnl_route_set_table(route, table);
	rtnl_route_set_priority(route, metric);
	rtnl_route_set_protocol(route, proto);
	rtnl_route_set_scope(route, scope);
	return route;
nomem:
	if (a)
		nl_addr_put(a);
	if (route)
		rtnl_route_put(route);
	return NULL;
}

static int add_nexthop(struct rtnl_route *route, int family, const uint8_t *gw, int ifindex,
		       unsigned flags, unsigned hops)
{
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();

	if (nh == NULL)
		return -ENOMEM;
	if (gw && !is_zero(gw, alen(family))) {
		struct nl_addr *a = addr_new(family, gw, (unsigned)alen(family) * 8);

		if (a == NULL) {
			rtnl_route_nh_free(nh);
			return -ENOMEM;
		}
		rtnl_route_nh_set_gateway(nh, a);
		nl_addr_put(a);
	}
	if (ifindex > 0)
		rtnl_route_nh_set_ifindex(nh, ifindex);
	if (flags)
		rtnl_route_nh_set_flags(nh, flags);
	rtnl_route_nh_set_weight(nh, (uint8_t)hops);
	rtnl_route_add_nexthop(route, nh);
	return 0;
}

static const uint8_t spec_rtn[__ROUTE_TYPE_MAX] = {
    [ROUTE_VIA] = RTN_UNICAST,
    [ROUTE_BLACKHOLE] = RTN_BLACKHOLE,
    [ROUTE_UNREACHABLE] = RTN_UNREACHABLE,
    [ROUTE_PROHIBIT] = RTN_PROHIBIT,
};

struct rtnl_route *route_build(const struct route_spec *r, int ifindex, struct isol_err *err)
{
	struct rtnl_route *route;
	int rc = spec_check(r, err);

	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	/* Scope universe for every type, as `ip route add` does (libnl would
	 * guess "link" for a route without a gateway). */
	route = key_route(r->family, r->dst, r->plen, 0, route_table(r), route_metric(r),
			  spec_rtn[r->type], ISOL_RTPROT, RT_SCOPE_UNIVERSE);
	if (route == NULL)
		goto nomem;
	if (r->type == ROUTE_VIA && add_nexthop(route, r->family, r->gw, ifindex, 0, 0) < 0)
		goto nomem;
	return route;
nomem:
	if (route)
		rtnl_route_put(route);
	isol_err_set(err, -ENOMEM, "out of memory");
	errno = ENOMEM;
	return NULL;
}

struct rtnl_route *route_saved_build(const struct route_saved *s, struct isol_err *err)
{
	struct rtnl_route *route;
	char p[ROUTE_PREFSTR];
	int i;

	if (alen(s->family) == 0 || s->plen > alen(s->family) * 8 || s->nnh < 0 ||
	    s->nnh > ROUTE_MAX_NH) {
		isol_err_set(err, -EINVAL, "saved route: bad family, prefix or nexthops");
		errno = EINVAL;
		return NULL;
	}
	route = key_route(s->family, s->dst, s->plen, s->tos, s->table, s->metric, s->type,
			  s->protocol, s->scope);
	if (route == NULL)
		goto nomem;
	if (s->has_prefsrc) {
		struct nl_addr *a = addr_new(s->family, s->prefsrc, (unsigned)alen(s->family) * 8);

		if (a == NULL || rtnl_route_set_pref_src(route, a) < 0) {
			if (a)
				nl_addr_put(a);
			goto nomem;
		}
		nl_addr_put(a);
	}
	for (i = 1; i <= ROUTE_RTAX_MAX; i++)
		if (s->rtax_mask & (1u << i) && rtnl_route_set_metric(route, i, s->rtax[i]) < 0) {
			rtnl_route_put(route);
			isol_err_set(err, -EINVAL, "saved route %s: metric %d not supported here",
				     prefix_str(s->family, s->dst, s->plen, p), i);
			errno = EINVAL;
			return NULL;
		}
	for (i = 0; i < s->nnh; i++) {
		const struct route_nh *nh = &s->nh[i];

		if (add_nexthop(route, s->family, nh->gw, nh->ifindex, nh->flags,
				nh->weight ? nh->weight - 1u : 0) < 0)
			goto nomem;
	}
	return route;
nomem:
	if (route)
		rtnl_route_put(route);
	isol_err_set(err, -ENOMEM, "out of memory");
	errno = ENOMEM;
	return NULL;
}

/* ---- kernel message -> saved route ------------------------------------------------- */

static const char *rta_what(int type)
{
	switch (type) {
	case RTA_SRC:
		return "a source prefix";
	case RTA_IIF:
		return "an input interface";
	case RTA_FLOW:
		return "realms";
	case RTA_ENCAP:
	case RTA_ENCAP_TYPE:
		return "an encapsulation";
	case RTA_NH_ID:
		return "a nexthop object";
	case RTA_VIA:
		return "a gateway of another family";
	case RTA_NEWDST:
		return "an MPLS label";
	case RTA_TTL_PROPAGATE:
		return "ttl-propagate";
	case RTA_MARK:
		return "a mark";
	default:
		return NULL;
	}
}

static int unsupported(struct isol_err *err, const struct route_saved *s, int attr)
{
	char p[ROUTE_PREFSTR];
	const char *what = rta_what(attr);

	prefix_str(s->family, s->dst, s->plen, p);
	if (what)
		return isol_err_set(err, -EOPNOTSUPP,
				    "the route to %s has %s, which isol cannot save", p, what);
	return isol_err_set(err, -EOPNOTSUPP,
			    "the route to %s has attribute %d, which isol cannot save", p, attr);
}

static int parse_multipath(const struct nlattr *mp, struct route_saved *out, struct isol_err *err)
{
	const struct rtnexthop *rtnh = nla_data(mp);
	int left = nla_len(mp);
	int n = alen(out->family);
	char p[ROUTE_PREFSTR];

	out->multipath = true;
	while (left >= (int)sizeof(*rtnh) && rtnh->rtnh_len >= sizeof(*rtnh) &&
	       rtnh->rtnh_len <= left) {
		struct route_nh *nh;
		struct nlattr *a;
		int rem;

		if (out->nnh == ROUTE_MAX_NH)
			return isol_err_set(
			    err, -EOPNOTSUPP, "the route to %s has more than %d nexthops",
			    prefix_str(out->family, out->dst, out->plen, p), ROUTE_MAX_NH);
		nh = &out->nh[out->nnh++];
		nh->ifindex = rtnh->rtnh_ifindex;
		nh->weight = (uint16_t)(rtnh->rtnh_hops + 1u);
		nh->flags = rtnh->rtnh_flags & RTNH_F_ONLINK;
		nla_for_each_attr(a, (struct nlattr *)RTNH_DATA(rtnh),
				  (int)(rtnh->rtnh_len - RTNH_ALIGN(sizeof(*rtnh))), rem)
		{
			if (nla_type(a) == RTA_GATEWAY) {
				if (nla_len(a) != n)
					return isol_err_set(err, -EINVAL, "bad nexthop gateway");
				memcpy(nh->gw, nla_data(a), (size_t)n);
			} else {
				return unsupported(err, out, nla_type(a));
			}
		}
		left -= (int)RTNH_ALIGN(rtnh->rtnh_len);
		rtnh = RTNH_NEXT(rtnh);
	}
	return 0;
}

int route_saved_from_nlmsg(const struct nlmsghdr *cnlh, struct route_saved *out,
			   struct isol_err *err)
{
	/* libnl's parsers take a mutable header but do not write to it */
	struct nlmsghdr *nlh = (struct nlmsghdr *)(uintptr_t)cnlh;
	struct nlattr *tb[RTA_MAX + 1], *a;
	const struct rtmsg *rtm;
	int n, rem, attr;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*rtm)) ||
	    (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE))
		return isol_err_set(err, -EINVAL, "not a route message");
	if (nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return isol_err_set(err, -EINVAL, "malformed route message");
	rtm = nlmsg_data(nlh);
	n = alen(rtm->rtm_family);
	if (n == 0 || rtm->rtm_dst_len > n * 8)
		return isol_err_set(err, -EINVAL, "not an IPv4 or IPv6 route");
	out->family = rtm->rtm_family;
	out->plen = rtm->rtm_dst_len;
	out->tos = rtm->rtm_tos;
	out->protocol = rtm->rtm_protocol;
	out->scope = rtm->rtm_scope;
	out->type = rtm->rtm_type;
	out->table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (tb[RTA_DST]) {
		if (nla_len(tb[RTA_DST]) != n)
			return isol_err_set(err, -EINVAL, "bad route destination");
		memcpy(out->dst, nla_data(tb[RTA_DST]), (size_t)n);
	}
	if (tb[RTA_PRIORITY])
		out->metric = nla_get_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_PREFSRC]) {
		if (nla_len(tb[RTA_PREFSRC]) != n)
			return isol_err_set(err, -EINVAL, "bad route source");
		memcpy(out->prefsrc, nla_data(tb[RTA_PREFSRC]), (size_t)n);
		out->has_prefsrc = true;
	}
	if (tb[RTA_PREF] && nla_len(tb[RTA_PREF]) >= 1)
		out->pref = nla_get_u8(tb[RTA_PREF]);
	if (rtm->rtm_src_len)
		return unsupported(err, out, RTA_SRC);
	if (rtm->rtm_flags & RTM_F_CLONED)
		return isol_err_set(err, -EOPNOTSUPP, "a cached route, not one of the table");
	for (attr = 1; attr <= RTA_MAX; attr++) {
		switch (attr) {
		case RTA_DST:
		case RTA_OIF:
		case RTA_GATEWAY:
		case RTA_PRIORITY:
		case RTA_PREFSRC:
		case RTA_METRICS:
		case RTA_MULTIPATH:
		case RTA_CACHEINFO: /* statistics (and IPv6 expiry: refreshed by the next RA) */
		case RTA_TABLE:
		case RTA_PREF:
		case RTA_EXPIRES:
			break;
		default:
			if (tb[attr])
				return unsupported(err, out, attr);
		}
	}
	if (tb[RTA_METRICS]) {
		nla_for_each_nested(a, tb[RTA_METRICS], rem)
		{
			int t = nla_type(a);

			if (t < 1 || t > ROUTE_RTAX_MAX || rtax_names[t] == NULL ||
			    nla_len(a) < 4) {
				char p[ROUTE_PREFSTR];

				return isol_err_set(
				    err, -EOPNOTSUPP,
				    "the route to %s has route metric %d, which isol cannot save",
				    prefix_str(out->family, out->dst, out->plen, p), t);
			}
			out->rtax[t] = nla_get_u32(a);
			out->rtax_mask |= 1u << t;
		}
	}
	if (tb[RTA_MULTIPATH]) {
		int rc = parse_multipath(tb[RTA_MULTIPATH], out, err);

		if (rc < 0)
			return rc;
	} else if (tb[RTA_GATEWAY] || tb[RTA_OIF]) {
		struct route_nh *nh = &out->nh[0];

		out->nnh = 1;
		if (tb[RTA_GATEWAY]) {
			if (nla_len(tb[RTA_GATEWAY]) != n)
				return isol_err_set(err, -EINVAL, "bad route gateway");
			memcpy(nh->gw, nla_data(tb[RTA_GATEWAY]), (size_t)n);
		}
		if (tb[RTA_OIF])
			nh->ifindex = (int)nla_get_u32(tb[RTA_OIF]);
		nh->flags = rtm->rtm_flags & RTNH_F_ONLINK;
	}
	return 0;
}

int route_spec_from_saved(const struct route_saved *s, struct route_spec *out)
{
	int n = alen(s->family);

	memset(out, 0, sizeof(*out));
	if (n == 0 || s->tos)
		return -EINVAL;
	out->family = s->family;
	memcpy(out->dst, s->dst, (size_t)n);
	out->plen = s->plen;
	out->metric = s->metric;
	out->table = s->table;
	switch (s->type) {
	case RTN_UNICAST:
		if (s->nnh != 1 || is_zero(s->nh[0].gw, n))
			return -EINVAL;
		out->type = ROUTE_VIA;
		memcpy(out->gw, s->nh[0].gw, (size_t)n);
		memcpy(out->dev, s->nh[0].dev, sizeof(out->dev));
		return 0;
	case RTN_BLACKHOLE:
		out->type = ROUTE_BLACKHOLE;
		return 0;
	case RTN_UNREACHABLE:
		out->type = ROUTE_UNREACHABLE;
		return 0;
	case RTN_PROHIBIT:
		out->type = ROUTE_PROHIBIT;
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- text ------------------------------------------------------------------------ */

struct sbuf {
	char *buf;
	size_t len, need;
};

static void __attribute__((format(printf, 2, 3))) put(struct sbuf *b, const char *fmt, ...)
{
	size_t room = b->need < b->len ? b->len - b->need : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? b->buf + b->need : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->need += (size_t)n;
}

static void put_named(struct sbuf *b, const char *word, const struct name *t, size_t n, unsigned v)
{
	const char *name = name_of(t, n, v);

	if (name)
		put(b, " %s %s", word, name);
	else
		put(b, " %s %u", word, v);
}

static void put_nh(struct sbuf *b, int family, const struct route_nh *nh)
{
	char a[INET6_ADDRSTRLEN];

	if (!is_zero(nh->gw, alen(family)))
		put(b, " via %s", addr_str(family, nh->gw, a));
	if (nh->dev[0])
		put(b, " dev %s", nh->dev);
	else if (nh->ifindex > 0)
		put(b, " ifindex %d", nh->ifindex);
	if (nh->flags & RTNH_F_ONLINK)
		put(b, " onlink");
}

int route_saved_format(const struct route_saved *s, char *buf, size_t len)
{
	struct sbuf b = {buf, len, 0};
	char p[ROUTE_PREFSTR], a[INET6_ADDRSTRLEN];
	int i;

	if (len)
		buf[0] = '\0';
	if (alen(s->family) == 0 || s->plen > alen(s->family) * 8 || s->nnh < 0 ||
	    s->nnh > ROUTE_MAX_NH)
		return -EINVAL;
	put(&b, "%s", prefix_str(s->family, s->dst, s->plen, p));
	if (!s->multipath && s->nnh == 1)
		put_nh(&b, s->family, &s->nh[0]);
	if (s->has_prefsrc)
		put(&b, " src %s", addr_str(s->family, s->prefsrc, a));
	put(&b, " metric %u", s->metric);
	put_named(&b, "proto", proto_names, NNAMES(proto_names), s->protocol);
	put_named(&b, "scope", scope_names, NNAMES(scope_names), s->scope);
	put_named(&b, "type", type_names, NNAMES(type_names), s->type);
	put(&b, " table %u", s->table);
	if (s->tos)
		put(&b, " tos %u", s->tos);
	if (s->pref)
		put_named(&b, "pref", pref_names, NNAMES(pref_names), s->pref);
	for (i = 1; i <= ROUTE_RTAX_MAX; i++)
		if (s->rtax_mask & (1u << i) && rtax_names[i])
			put(&b, " %s %u", rtax_names[i], s->rtax[i]);
	if (s->multipath)
		for (i = 0; i < s->nnh; i++) {
			put(&b, " nexthop");
			put_nh(&b, s->family, &s->nh[i]);
			put(&b, " weight %u", s->nh[i].weight ? s->nh[i].weight : 1u);
		}
	return (int)b.need;
}

static int parse_prefix(const char *s, int *family, uint8_t *addr, uint8_t *plen)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t al = slash ? (size_t)(slash - s) : strlen(s);
	uint32_t l;

	if (al == 0 || al >= sizeof(a))
		return -EINVAL;
	memcpy(a, s, al);
	a[al] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, a, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, a, addr) == 1)
		*family = AF_INET6;
	else
		return -EINVAL;
	l = (uint32_t)alen(*family) * 8;
	if (slash && !parse_u32(slash + 1, l, &l))
		return -EINVAL;
	if (!host_bits_clear(addr, alen(*family), l))
		return -EINVAL;
	*plen = (uint8_t)l;
	return 0;
}

static bool parse_addr(int family, const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	return s && inet_pton(family, s, out) == 1 && !is_zero(out, alen(family));
}

int route_saved_parse(const char *line, struct route_saved *out, struct isol_err *err)
{
	char buf[ROUTE_LINE_MAX * 2], *save = NULL, *w;
	struct route_nh *cur = NULL;
	bool has_metric = false;
	uint32_t v;

	memset(out, 0, sizeof(*out));
	if (strlen(line) >= sizeof(buf))
		return isol_err_set(err, -EINVAL, "saved route: line too long");
	strcpy(buf, line);
	w = strtok_r(buf, " \t\r\n", &save);
	if (w == NULL || parse_prefix(w, &out->family, out->dst, &out->plen) < 0)
		return isol_err_set(err, -EINVAL, "saved route: bad prefix '%s'", w ? w : "");
	out->table = RT_TABLE_MAIN;
	out->type = RTN_UNICAST;
	out->scope = RT_SCOPE_UNIVERSE;
	out->protocol = RTPROT_BOOT;
	while ((w = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
		const char *val = NULL;
		int i;

		if (!strcmp(w, "nexthop")) {
			if (out->nnh && !out->multipath)
				return isol_err_set(
				    err, -EINVAL, "saved route: 'nexthop' after a single via/dev");
			if (out->nnh == ROUTE_MAX_NH)
				return isol_err_set(err, -EINVAL,
						    "saved route: more than %d nexthops",
						    ROUTE_MAX_NH);
			out->multipath = true;
			cur = &out->nh[out->nnh++];
			cur->weight = 1;
			continue;
		}
		if (!strcmp(w, "onlink")) {
			if (cur == NULL) {
				out->nnh = 1;
				cur = &out->nh[0];
			}
			cur->flags |= RTNH_F_ONLINK;
			continue;
		}
		val = strtok_r(NULL, " \t\r\n", &save);
		if (val == NULL)
			return isol_err_set(err, -EINVAL, "saved route: '%s' needs a value", w);
		if (!strcmp(w, "via") || !strcmp(w, "dev") || !strcmp(w, "ifindex")) {
			if (cur == NULL) {
				out->nnh = 1;
				cur = &out->nh[0];
			}
			if (!strcmp(w, "via")) {
				if (!is_zero(cur->gw, 16) || !parse_addr(out->family, val, cur->gw))
					goto bad;
			} else if (!strcmp(w, "dev")) {
				if (cur->dev[0] || strlen(val) >= sizeof(cur->dev))
					goto bad;
				strcpy(cur->dev, val);
			} else {
				if (!parse_u32(val, INT32_MAX, &v) || v == 0)
					goto bad;
				cur->ifindex = (int)v;
			}
		} else if (!strcmp(w, "weight")) {
			if (cur == NULL || !out->multipath || !parse_u32(val, 256, &v) || v == 0)
				goto bad;
			cur->weight = (uint16_t)v;
		} else if (!strcmp(w, "src")) {
			if (!parse_addr(out->family, val, out->prefsrc))
				goto bad;
			out->has_prefsrc = true;
		} else if (!strcmp(w, "metric")) {
			if (!parse_u32(val, UINT32_MAX, &out->metric))
				goto bad;
			has_metric = true;
		} else if (!strcmp(w, "proto")) {
			if (!parse_named(proto_names, NNAMES(proto_names), val, 255, &v))
				goto bad;
			out->protocol = (uint8_t)v;
		} else if (!strcmp(w, "scope")) {
			if (!parse_named(scope_names, NNAMES(scope_names), val, 255, &v))
				goto bad;
			out->scope = (uint8_t)v;
		} else if (!strcmp(w, "type")) {
			if (!parse_named(type_names, NNAMES(type_names), val, RTN_MAX, &v) ||
			    v == 0)
				goto bad;
			out->type = (uint8_t)v;
		} else if (!strcmp(w, "table")) {
			if (!parse_named(table_names, NNAMES(table_names), val, UINT32_MAX, &v) ||
			    v == 0)
				goto bad;
			out->table = v;
		} else if (!strcmp(w, "tos")) {
			if (!parse_u32(val, 255, &v))
				goto bad;
			out->tos = (uint8_t)v;
		} else if (!strcmp(w, "pref")) {
			if (out->family != AF_INET6 ||
			    !parse_named(pref_names, NNAMES(pref_names), val, 255, &v))
				goto bad;
			out->pref = (uint8_t)v;
		} else {
			for (i = 1; i <= ROUTE_RTAX_MAX; i++)
				if (rtax_names[i] && !strcmp(w, rtax_names[i]))
					break;
			if (i > ROUTE_RTAX_MAX)
				return isol_err_set(err, -EINVAL, "saved route: unknown word '%s'",
						    w);
			if (out->rtax_mask & (1u << i) || !parse_u32(val, UINT32_MAX, &v))
				goto bad;
			out->rtax[i] = v;
			out->rtax_mask |= 1u << i;
		}
		continue;
	bad:
		return isol_err_set(err, -EINVAL, "saved route: bad %s '%s'", w, val);
	}
	if (!has_metric && out->family == AF_INET6)
		out->metric = 1024;
	return 0;
}

int route_describe(const struct route_spec *r, char *buf, size_t len)
{
	static const char *const types[__ROUTE_TYPE_MAX] = {"via", "blackhole", "unreachable",
							    "prohibit"};
	struct sbuf b = {buf, len, 0};
	char p[ROUTE_PREFSTR], a[INET6_ADDRSTRLEN];

	if (len)
		buf[0] = '\0';
	if (alen(r->family) == 0 || r->plen > alen(r->family) * 8 ||
	    (unsigned)r->type >= __ROUTE_TYPE_MAX)
		return -EINVAL;
	put(&b, "%s %s", prefix_str(r->family, r->dst, r->plen, p), types[r->type]);
	if (r->type == ROUTE_VIA) {
		put(&b, " %s", addr_str(r->family, r->gw, a));
		if (r->dev[0] && memchr(r->dev, '\0', sizeof(r->dev)))
			put(&b, " dev %s", r->dev);
	}
	if (r->metric && route_metric(r) != (r->family == AF_INET6 ? 1024u : 0u))
		put(&b, " metric %u", r->metric);
	if (route_table(r) != RT_TABLE_MAIN)
		put(&b, " table %u", r->table);
	return (int)b.need;
}

/* ---- the request socket ------------------------------------------------------------- */

typedef int (*msg_fn)(struct nlmsghdr *nlh, void *arg);

/* The kernel's error and its extended-ack message, if any. */
static int ack_error(struct nlmsghdr *h, char *why, size_t whylen)
{
	struct nlmsgerr *e = nlmsg_data(h);
	size_t off;

	if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
		return -EPROTO;
	if (e->error && why && whylen && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
		struct nlattr *a;
		int rem;

		off = sizeof(*e);
		if (!(h->nlmsg_flags & NLM_F_CAPPED))
			off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
		if (NLMSG_HDRLEN + off < h->nlmsg_len)
			nla_for_each_attr(a, (struct nlattr *)((char *)e + off),
					  (int)(h->nlmsg_len - NLMSG_HDRLEN - off), rem)
			{
				if (nla_type(a) == NLMSGERR_ATTR_MSG && nla_len(a) > 0)
					snprintf(why, whylen, "%.*s", nla_len(a),
						 (const char *)nla_data(a));
			}
	}
	return e->error > 0 ? -e->error : e->error;
}

/* Send @msg (consumed) and read until its ack, its error or the end of its
 * dump, calling @fn for every other message of ours. Returns the kernel's
 * -errno (its message in @why), @fn's first error, or -EAGAIN when a dump
 * was interrupted by a change (the caller may retry). */
static int transact(struct route_ctx *ctx, struct nl_msg *msg, msg_fn fn, void *arg, char *why,
		    size_t whylen)
{
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	int rc, cbrc = 0;
	bool intr = false;
	uint32_t seq;

	if (why && whylen)
		why[0] = '\0';
	rc = nl_send_auto(ctx->req, msg);
	seq = hdr->nlmsg_seq;
	nlmsg_free(msg);
	if (rc < 0)
		return nle_errno(rc);
	for (;;) {
		struct sockaddr_nl peer;
		unsigned char *buf = NULL;
		struct nlmsghdr *h;
		int n = nl_recv(ctx->req, &peer, &buf, NULL), left;
		bool done = false;

		if (n <= 0) {
			free(buf);
			return n == 0 ? -EIO : nle_errno(n);
		}
		left = n;
		for (h = (struct nlmsghdr *)buf; nlmsg_ok(h, left); h = nlmsg_next(h, &left)) {
			if (h->nlmsg_seq != seq)
				continue; /* a late answer to an earlier request */
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (h->nlmsg_type == NLMSG_ERROR) {
				rc = ack_error(h, why, whylen);
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				rc = 0;
				if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
					int e = *(int *)nlmsg_data(h);

					rc = e < 0 ? e : 0;
				}
				done = true;
				break;
			}
			if (fn && cbrc == 0)
				cbrc = fn(h, arg);
		}
		free(buf);
		if (done)
			break;
	}
	if (rc < 0)
		return rc;
	if (cbrc < 0)
		return cbrc;
	return intr ? -EAGAIN : 0;
}

static struct nl_msg *new_msg(int type, int flags, void *hdr, size_t hdrlen)
{
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

	if (msg && nlmsg_append(msg, hdr, hdrlen, NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/* Every route of @family (and @table, @proto when not 0) through @fn. */
static int dump_routes(struct route_ctx *ctx, int family, uint32_t table, uint8_t proto, msg_fn fn,
		       void (*restart)(void *arg), void *arg)
{
	int tries, rc = -EAGAIN;

	for (tries = 0; tries < 4 && rc == -EAGAIN; tries++) {
		struct rtmsg rtm = {.rtm_family = (uint8_t)family, .rtm_protocol = proto};
		struct nl_msg *msg;

		if (table && table < 256)
			rtm.rtm_table = (uint8_t)table;
		msg = new_msg(RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
		if (msg == NULL || (table && nla_put_u32(msg, RTA_TABLE, table) < 0)) {
			if (msg)
				nlmsg_free(msg);
			return -ENOMEM;
		}
		if (restart)
			restart(arg);
		rc = transact(ctx, msg, fn, arg, NULL, 0);
		if (rc == -ENOENT) /* no such table (strict dump): no routes */
			rc = 0;
	}
	return rc;
}

static void names_fill(struct route_saved *s)
{
	int i;

	for (i = 0; i < s->nnh; i++)
		if (s->nh[i].ifindex > 0 && !s->nh[i].dev[0] &&
		    if_indextoname((unsigned)s->nh[i].ifindex, s->nh[i].dev) == NULL)
			s->nh[i].dev[0] = '\0';
}

/* The routes at one kernel key. */
struct key_find {
	int family;
	const uint8_t *dst;
	uint8_t plen, tos;
	uint32_t table, metric;
	int count;
	struct route_saved first;
	int first_rc;
	struct isol_err first_err;
};

static void key_restart(void *arg)
{
	struct key_find *k = arg;

	k->count = 0;
	k->first_rc = 0;
	isol_err_clear(&k->first_err);
}

static int key_cb(struct nlmsghdr *nlh, void *arg)
{
	struct key_find *k = arg;
	struct nlattr *tb[RTA_MAX + 1];
	struct rtmsg *rtm = nlmsg_data(nlh);
	int n = alen(k->family);
	uint32_t table, metric;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*rtm))
		return 0;
	if (rtm->rtm_family != k->family || rtm->rtm_dst_len != k->plen || rtm->rtm_src_len ||
	    rtm->rtm_tos != k->tos || (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	if (nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return 0;
	table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	metric = tb[RTA_PRIORITY] ? nla_get_u32(tb[RTA_PRIORITY]) : 0;
	if (table != k->table || metric != k->metric)
		return 0;
	if (k->plen && (!tb[RTA_DST] || nla_len(tb[RTA_DST]) != n ||
			memcmp(nla_data(tb[RTA_DST]), k->dst, (size_t)n)))
		return 0;
	if (k->count++ == 0) {
		k->first_rc = route_saved_from_nlmsg(nlh, &k->first, &k->first_err);
		names_fill(&k->first);
	}
	return 0;
}

static int key_lookup(struct route_ctx *ctx, struct key_find *k, struct isol_err *err)
{
	char p[ROUTE_PREFSTR];
	int rc = dump_routes(ctx, k->family, k->table, 0, key_cb, key_restart, k);

	if (rc < 0)
		return isol_err_set(err, rc, "listing the routes to %s: %s",
				    prefix_str(k->family, k->dst, k->plen, p), strerror(-rc));
	return 0;
}

/* ---- open / close ------------------------------------------------------------------- */

static void sockopt_on(struct nl_sock *sk, int opt)
{
	int one = 1;

	/* Older kernels lack some of these; everything works without them,
	 * with less precise messages. */
	(void)setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, opt, &one, sizeof(one));
}

int route_open(struct route_ctx **pctx, struct isol_err *err)
{
	struct route_ctx *ctx = calloc(1, sizeof(*ctx));
	int rc;

	*pctx = NULL;
	if (ctx == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	ctx->req = nl_socket_alloc();
	ctx->ev = nl_socket_alloc();
	if (ctx->req == NULL || ctx->ev == NULL) {
		rc = isol_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = nl_connect(ctx->req, NETLINK_ROUTE);
	if (rc < 0) {
		rc = isol_err_set(err, nle_errno(rc), "rtnetlink socket: %s", nl_geterror(rc));
		goto fail;
	}
	nl_socket_disable_auto_ack(ctx->req); /* transact() asks for acks itself */
	nl_socket_enable_msg_peek(ctx->req);  /* dumps: no message cut short */
	sockopt_on(ctx->req, NETLINK_EXT_ACK);
	sockopt_on(ctx->req, NETLINK_CAP_ACK);
	sockopt_on(ctx->req, NETLINK_GET_STRICT_CHK); /* dumps filtered by the kernel */

	nl_socket_disable_seq_check(ctx->ev);
	rc = nl_connect(ctx->ev, NETLINK_ROUTE);
	if (rc >= 0)
		rc = nl_socket_add_memberships(ctx->ev, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, 0);
	if (rc >= 0)
		rc = nl_socket_set_nonblocking(ctx->ev);
	if (rc < 0) {
		rc =
		    isol_err_set(err, nle_errno(rc), "rtnetlink event socket: %s", nl_geterror(rc));
		goto fail;
	}
	nl_socket_enable_msg_peek(ctx->ev);
	(void)nl_socket_set_buffer_size(ctx->ev, 1 << 20, 0); /* bursts of route changes */
	*pctx = ctx;
	return 0;
fail:
	route_close(ctx);
	return rc;
}

void route_close(struct route_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->req)
		nl_socket_free(ctx->req);
	if (ctx->ev)
		nl_socket_free(ctx->ev);
	free(ctx);
}

/* ---- checks -------------------------------------------------------------------------- */

static int dev_index(const char *dev, int *ifindex, struct isol_err *err)
{
	unsigned i = if_nametoindex(dev);

	if (i == 0)
		return isol_err_set(err, -ENODEV, "no interface named %s", dev);
	*ifindex = (int)i;
	return 0;
}

struct lookup {
	bool found;
	uint8_t type;
	bool has_gw;
	uint8_t gw[16];
	int oif;
};

static int lookup_cb(struct nlmsghdr *nlh, void *arg)
{
	struct lookup *lk = arg;
	struct nlattr *tb[RTA_MAX + 1];
	struct rtmsg *rtm = nlmsg_data(nlh);

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*rtm) ||
	    nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return 0;
	lk->found = true;
	lk->type = rtm->rtm_type;
	if (tb[RTA_GATEWAY] && nla_len(tb[RTA_GATEWAY]) <= 16) {
		lk->has_gw = true;
		memcpy(lk->gw, nla_data(tb[RTA_GATEWAY]), (size_t)nla_len(tb[RTA_GATEWAY]));
	}
	if (tb[RTA_OIF])
		lk->oif = (int)nla_get_u32(tb[RTA_OIF]);
	return 0;
}

struct linkinfo {
	bool found;
	unsigned flags;
};

static int link_cb(struct nlmsghdr *nlh, void *arg)
{
	struct linkinfo *li = arg;
	struct ifinfomsg *ifi = nlmsg_data(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK && nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(*ifi)) {
		li->found = true;
		li->flags = ifi->ifi_flags;
	}
	return 0;
}

static int link_flags(struct route_ctx *ctx, int ifindex, unsigned *flags)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg = new_msg(RTM_GETLINK, NLM_F_ACK, &ifi, sizeof(ifi));
	struct linkinfo li = {0};
	int rc;

	if (msg == NULL)
		return -ENOMEM;
	rc = transact(ctx, msg, link_cb, &li, NULL, 0);
	if (rc < 0)
		return rc;
	if (!li.found)
		return -ENODEV;
	*flags = li.flags;
	return 0;
}

static int neigh_cb(struct nlmsghdr *nlh, void *arg)
{
	uint16_t *state = arg;
	struct ndmsg *ndm = nlmsg_data(nlh);

	if (nlh->nlmsg_type == RTM_NEWNEIGH && nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(*ndm))
		*state = ndm->ndm_state;
	return 0;
}

/* The neighbour state of @gw on @ifindex: NUD_NONE when there is no entry. */
static int neigh_state(struct route_ctx *ctx, int family, const uint8_t *gw, int ifindex,
		       uint16_t *state)
{
	struct ndmsg ndm = {.ndm_family = (uint8_t)family, .ndm_ifindex = ifindex};
	struct nl_msg *msg = new_msg(RTM_GETNEIGH, NLM_F_ACK, &ndm, sizeof(ndm));
	int rc;

	*state = NUD_NONE;
	if (msg == NULL)
		return -ENOMEM;
	if (nla_put(msg, NDA_DST, alen(family), gw) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	rc = transact(ctx, msg, neigh_cb, state, NULL, 0);
	return rc == -ENOENT ? 0 : rc;
}

/* Make the kernel resolve @gw: one empty UDP datagram to its discard port. */
static void neigh_kick(int family, const uint8_t *gw, int ifindex)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd == -1)
		return;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
		memcpy(&sin->sin_addr, gw, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
		memcpy(&sin6->sin6_addr, gw, 16);
		if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
			sin6->sin6_scope_id = (uint32_t)ifindex;
		sl = sizeof(*sin6);
	}
	(void)sendto(fd, "", 0, 0, (struct sockaddr *)&ss, sl);
	close(fd);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#define NUD_ANSWERED (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)

/* Does @gw answer ARP/ND on @ifindex? At once when the kernel knows it;
 * otherwise ask and wait up to GW_WAIT_MS. */
static int neigh_wait(struct route_ctx *ctx, int family, const uint8_t *gw, int ifindex,
		      const char *gws, struct isol_err *err)
{
	uint64_t start = mono_ms(), kicked = 0;
	char dev[IF_NAMESIZE] = "?";
	uint16_t state;
	int rc;

	for (;;) {
		uint64_t now;

		rc = neigh_state(ctx, family, gw, ifindex, &state);
		if (rc == -EOPNOTSUPP || rc == -EINVAL)
			return 0; /* a kernel without RTM_GETNEIGH for one entry: cannot tell */
		if (rc < 0)
			return isol_err_set(err, rc, "gateway %s: neighbour lookup: %s", gws,
					    strerror(-rc));
		if (state & NUD_ANSWERED)
			return 0;
		now = mono_ms();
		if (now - start >= GW_WAIT_MS)
			break;
		if (!(state & NUD_INCOMPLETE) && (kicked == 0 || now - kicked >= 200)) {
			neigh_kick(family, gw, ifindex);
			kicked = now;
		}
		usleep(10000);
	}
	if_indextoname((unsigned)ifindex, dev);
	return isol_err_set(err, -EHOSTUNREACH,
			    "gateway %s does not answer on %s (no %s reply in %d ms)", gws, dev,
			    family == AF_INET ? "ARP" : "neighbour discovery", GW_WAIT_MS);
}

static int gw_check(struct route_ctx *ctx, const struct route_spec *r, int ifindex,
		    struct isol_err *err)
{
	struct rtmsg rtm = {.rtm_family = (uint8_t)r->family};
	char gws[INET6_ADDRSTRLEN], via[INET6_ADDRSTRLEN], why[200];
	char dev[IF_NAMESIZE] = "?", want[IF_NAMESIZE] = "?";
	struct lookup lk = {0};
	bool ll = r->family == AF_INET6 && r->gw[0] == 0xfe && (r->gw[1] & 0xc0) == 0x80;
	struct nl_msg *msg;
	unsigned flags = 0;
	int rc, n = alen(r->family);

	addr_str(r->family, r->gw, gws);
	if (ll && ifindex == 0)
		return isol_err_set(err, -EINVAL,
				    "gateway %s is link-local: name its interface (dev IF)", gws);
	rtm.rtm_dst_len = (uint8_t)(n * 8);
	msg = new_msg(RTM_GETROUTE, NLM_F_ACK, &rtm, sizeof(rtm));
	if (msg == NULL || nla_put(msg, RTA_DST, n, r->gw) < 0 ||
	    (ll && nla_put_u32(msg, RTA_OIF, (uint32_t)ifindex) < 0)) {
		if (msg)
			nlmsg_free(msg);
		return isol_err_set(err, -ENOMEM, "out of memory");
	}
	rc = transact(ctx, msg, lookup_cb, &lk, why, sizeof(why));
	if (rc == -ENETUNREACH || rc == -EHOSTUNREACH)
		return isol_err_set(err, -ENETUNREACH,
				    "gateway %s is not reachable: no route to it", gws);
	if (rc < 0)
		return isol_err_set(err, -ENETUNREACH, "gateway %s is not reachable: %s", gws,
				    why[0] ? why : strerror(-rc));
	if (!lk.found)
		return isol_err_set(err, -ENETUNREACH, "gateway %s is not reachable", gws);
	if (lk.type == RTN_LOCAL)
		return isol_err_set(err, -EINVAL, "gateway %s is an address of this host", gws);
	if (lk.type != RTN_UNICAST)
		return isol_err_set(err, -ENETUNREACH,
				    "gateway %s is not reachable (route type %s)", gws,
				    type_name(lk.type));
	if (lk.oif > 0)
		if_indextoname((unsigned)lk.oif, dev);
	if (lk.has_gw)
		return isol_err_set(err, -ENETUNREACH,
				    "gateway %s is not on a directly connected network (the kernel "
				    "reaches it via %s dev %s)",
				    gws, addr_str(r->family, lk.gw, via), dev);
	if (ifindex && lk.oif != ifindex) {
		if_indextoname((unsigned)ifindex, want);
		return isol_err_set(err, -ENETUNREACH,
				    "gateway %s is not reachable on %s (it is on %s)", gws, want,
				    dev);
	}
	if (lk.oif <= 0)
		return 0;
	rc = link_flags(ctx, lk.oif, &flags);
	if (rc < 0)
		return isol_err_set(err, rc, "interface %s: %s", dev, strerror(-rc));
	if (!(flags & IFF_UP))
		return isol_err_set(err, -ENETDOWN, "interface %s is down", dev);
	if (flags & (IFF_NOARP | IFF_LOOPBACK | IFF_POINTOPOINT))
		return 0;
	return neigh_wait(ctx, r->family, r->gw, lk.oif, gws, err);
}

int route_lookup(struct route_ctx *ctx, const struct route_spec *r, struct route_saved *existing,
		 struct isol_err *err)
{
	struct key_find k = {0};
	int rc = spec_check(r, err);

	if (rc < 0)
		return rc;
	k.family = r->family;
	k.dst = r->dst;
	k.plen = r->plen;
	k.table = route_table(r);
	k.metric = route_metric(r);
	rc = key_lookup(ctx, &k, err);
	if (rc < 0)
		return rc;
	if (k.count && existing)
		*existing = k.first; /* key fields at least, even if it cannot be saved */
	return k.count ? 1 : 0;
}

int route_check(struct route_ctx *ctx, const struct route_spec *r, struct route_saved *existing,
		struct isol_err *err)
{
	struct key_find k = {0};
	char line[ROUTE_LINE_MAX], p[ROUTE_PREFSTR];
	int rc, ifindex = 0;

	rc = spec_check(r, err);
	if (rc < 0)
		return rc;
	if (r->type == ROUTE_VIA) {
		if (r->dev[0]) {
			unsigned flags;

			rc = dev_index(r->dev, &ifindex, err);
			if (rc < 0)
				return rc;
			rc = link_flags(ctx, ifindex, &flags);
			if (rc == 0 && !(flags & IFF_UP))
				return isol_err_set(err, -ENETDOWN, "interface %s is down", r->dev);
		}
		rc = gw_check(ctx, r, ifindex, err);
		if (rc < 0)
			return rc;
	}
	k.family = r->family;
	k.dst = r->dst;
	k.plen = r->plen;
	k.table = route_table(r);
	k.metric = route_metric(r);
	rc = key_lookup(ctx, &k, err);
	if (rc < 0)
		return rc;
	if (k.count == 0)
		return 0;
	route_saved_format(&k.first, line, sizeof(line));
	prefix_str(r->family, r->dst, r->plen, p);
	if (k.count > 1)
		return isol_err_set(err, -EOPNOTSUPP,
				    "%d routes share %s metric %u table %u (ip route append?); "
				    "isol will not replace them: %s",
				    k.count, p, k.metric, k.table, line);
	if (k.first_rc < 0)
		return isol_err_set(err, -EOPNOTSUPP,
				    "a route exists: %s; %s, so isol will not replace it", line,
				    k.first_err.msg);
	if (existing)
		*existing = k.first;
	if (k.first.protocol == ISOL_RTPROT)
		isol_err_set(err, -EEXIST,
			     "isol has a route there already: %s (roll back its action first)",
			     line);
	else
		isol_err_set(
		    err, -EEXIST,
		    "a route exists: %s (--replace replaces it and puts it back on rollback)",
		    line);
	return 1;
}

/* ---- changes ----------------------------------------------------------------------------- */

static int send_route(struct route_ctx *ctx, struct rtnl_route *route, bool add, int flags,
		      uint8_t pref, char *why, size_t whylen)
{
	struct nl_msg *msg = NULL;
	int rc;

	rc = add ? rtnl_route_build_add_request(route, flags | NLM_F_ACK, &msg)
		 : rtnl_route_build_del_request(route, flags | NLM_F_ACK, &msg);
	if (rc < 0)
		return nle_errno(rc);
	if (pref && nla_put_u8(msg, RTA_PREF, pref) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return transact(ctx, msg, NULL, NULL, why, whylen);
}

int route_add(struct route_ctx *ctx, const struct route_spec *r, bool replace, struct isol_err *err)
{
	struct rtnl_route *route;
	char d[ROUTE_LINE_MAX], why[200];
	int rc, ifindex = 0;

	if (r->type == ROUTE_VIA && r->dev[0]) {
		rc = dev_index(r->dev, &ifindex, err);
		if (rc < 0)
			return rc;
	}
	route = route_build(r, ifindex, err);
	if (route == NULL)
		return -errno;
	rc =
	    send_route(ctx, route, true, replace ? NLM_F_REPLACE : NLM_F_EXCL, 0, why, sizeof(why));
	rtnl_route_put(route);
	if (rc == 0)
		return 0;
	route_describe(r, d, sizeof(d));
	if (rc == -EEXIST)
		return isol_err_set(err, rc, "route %s: a route exists at that prefix and metric",
				    d);
	return isol_err_set(err, rc, "route %s: %s%s%s", d, why[0] ? why : strerror(-rc),
			    why[0] ? " - " : "", why[0] ? strerror(-rc) : "");
}

/* Delete the route of ours at a key (the kernel matches the protocol too). */
static int del_ours(struct route_ctx *ctx, int family, const uint8_t *dst, uint8_t plen,
		    uint8_t tos, uint32_t table, uint32_t metric, uint8_t type, char *why,
		    size_t whylen)
{
	struct rtnl_route *route =
	    key_route(family, dst, plen, tos, table, metric, type, ISOL_RTPROT, RT_SCOPE_UNIVERSE);
	int rc;

	if (route == NULL)
		return -ENOMEM;
	rc = send_route(ctx, route, false, 0, 0, why, whylen);
	rtnl_route_put(route);
	return rc == -ESRCH || rc == -ENOENT ? 0 : rc;
}

int route_del(struct route_ctx *ctx, const struct route_spec *r, struct isol_err *err)
{
	struct key_find k = {0};
	char d[ROUTE_LINE_MAX], why[200];
	int rc = spec_check(r, err);

	if (rc < 0)
		return rc;
	/* An IPv4 delete with metric 0 matches any metric: look first, so that
	 * only our route at exactly this key goes. */
	k.family = r->family;
	k.dst = r->dst;
	k.plen = r->plen;
	k.table = route_table(r);
	k.metric = route_metric(r);
	rc = key_lookup(ctx, &k, err);
	if (rc < 0)
		return rc;
	if (k.count == 0 || k.first.protocol != ISOL_RTPROT)
		return 0; /* gone already, or not ours: nothing of ours to delete */
	rc = del_ours(ctx, r->family, r->dst, r->plen, 0, k.table, k.metric, k.first.type, why,
		      sizeof(why));
	if (rc == 0)
		return 0;
	route_describe(r, d, sizeof(d));
	return isol_err_set(err, rc, "deleting route %s: %s", d, why[0] ? why : strerror(-rc));
}

static bool saved_same(const struct route_saved *a, const struct route_saved *b)
{
	char la[ROUTE_LINE_MAX], lb[ROUTE_LINE_MAX];

	route_saved_format(a, la, sizeof(la));
	route_saved_format(b, lb, sizeof(lb));
	return !strcmp(la, lb);
}

int route_restore(struct route_ctx *ctx, const struct route_saved *s, struct isol_err *err)
{
	struct route_saved w = *s;
	struct key_find k = {0};
	struct rtnl_route *route;
	char line[ROUTE_LINE_MAX], other[ROUTE_LINE_MAX], why[200];
	int rc, i, flags = NLM_F_EXCL;

	if (route_saved_format(s, line, sizeof(line)) < 0)
		return isol_err_set(err, -EINVAL, "saved route: bad family or prefix");
	for (i = 0; i < w.nnh; i++)
		if (w.nh[i].dev[0]) {
			rc = dev_index(w.nh[i].dev, &w.nh[i].ifindex, NULL);
			if (rc < 0)
				return isol_err_set(err, rc,
						    "cannot put back %s: no interface named %s",
						    line, w.nh[i].dev);
		}
	k.family = w.family;
	k.dst = w.dst;
	k.plen = w.plen;
	k.tos = w.tos;
	k.table = w.table;
	k.metric = w.metric;
	rc = key_lookup(ctx, &k, err);
	if (rc < 0)
		return rc;
	if (k.count > 0 && k.first.protocol != ISOL_RTPROT) {
		if (k.first_rc == 0 && saved_same(&k.first, s))
			return 0; /* somebody put it back already */
		route_saved_format(&k.first, other, sizeof(other));
		return isol_err_set(err, -EEXIST,
				    "not putting back %s: another route is there now: %s", line,
				    other);
	}
	if (k.count > 0)
		flags = NLM_F_REPLACE; /* ours: swap atomically, no moment without a route */
	route = route_saved_build(&w, err);
	if (route == NULL)
		return -errno;
	rc = send_route(ctx, route, true, flags, w.family == AF_INET6 ? w.pref : 0, why,
			sizeof(why));
	rtnl_route_put(route);
	if (rc < 0)
		return isol_err_set(err, rc, "putting back %s: %s", line,
				    why[0] ? why : strerror(-rc));
	return 0;
}

/* Keys of our routes, collected during a dump and deleted after it. */
struct ours {
	struct route_saved *v;
	size_t n, cap;
	int rc;
};

static void ours_restart(void *arg)
{
	((struct ours *)arg)->n = 0;
}

static int ours_cb(struct nlmsghdr *nlh, void *arg)
{
	struct ours *o = arg;
	struct rtmsg *rtm = nlmsg_data(nlh);
	struct route_saved s;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*rtm) ||
	    rtm->rtm_protocol != ISOL_RTPROT)
		return 0;
	/* key fields are filled even when the rest cannot be saved */
	if (route_saved_from_nlmsg(nlh, &s, NULL) == -EINVAL)
		return 0;
	if (o->n == o->cap) {
		size_t ncap = o->cap ? o->cap * 2 : 16;
		struct route_saved *nv = realloc(o->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		o->v = nv;
		o->cap = ncap;
	}
	o->v[o->n++] = s;
	return 0;
}

int route_flush_ours(struct route_ctx *ctx, struct isol_err *err)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct ours o = {0};
	char line[ROUTE_LINE_MAX], why[200];
	int rc = 0;
	size_t f, i;

	for (f = 0; f < 2; f++) {
		int r = dump_routes(ctx, families[f], 0, ISOL_RTPROT, ours_cb, ours_restart, &o);

		if (r < 0) {
			rc = isol_err_set(err, r, "listing routes: %s", strerror(-r));
			continue;
		}
		for (i = 0; i < o.n; i++) {
			const struct route_saved *s = &o.v[i];

			r = del_ours(ctx, s->family, s->dst, s->plen, s->tos, s->table, s->metric,
				     s->type, why, sizeof(why));
			if (r < 0) {
				route_saved_format(s, line, sizeof(line));
				rc = isol_err_set(err, r, "deleting %s: %s", line,
						  why[0] ? why : strerror(-r));
			}
		}
		o.n = 0;
	}
	free(o.v);
	return rc;
}

/* ---- events -------------------------------------------------------------------------------- */

int route_events_fd(struct route_ctx *ctx)
{
	return nl_socket_get_fd(ctx->ev);
}

static void event_msg(struct nlmsghdr *nlh,
		      void (*fn)(enum route_gone why, const struct route_spec *r, void *data),
		      void *data)
{
	struct rtmsg *rtm = nlmsg_data(nlh);
	struct route_saved s;
	struct route_spec r;
	int rc;

	if ((nlh->nlmsg_type != RTM_DELROUTE && nlh->nlmsg_type != RTM_NEWROUTE) ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*rtm))
		return;
	if (nlh->nlmsg_type == RTM_DELROUTE && rtm->rtm_protocol == ISOL_RTPROT) {
		rc = route_saved_from_nlmsg(nlh, &s, NULL);
		if (rc == -EINVAL)
			return;
		names_fill(&s);
		if (route_spec_from_saved(&s, &r) < 0)
			return; /* not a shape we create: not from us */
		fn(ROUTE_GONE_DELETED, &r, data);
	} else if (nlh->nlmsg_type == RTM_NEWROUTE && (nlh->nlmsg_flags & NLM_F_REPLACE) &&
		   rtm->rtm_protocol != ISOL_RTPROT && !rtm->rtm_tos && !rtm->rtm_src_len) {
		rc = route_saved_from_nlmsg(nlh, &s, NULL);
		if (rc == -EINVAL)
			return;
		memset(&r, 0, sizeof(r));
		r.family = s.family;
		memcpy(r.dst, s.dst, sizeof(r.dst));
		r.plen = s.plen;
		r.table = s.table;
		r.metric = s.metric;
		r.type = ROUTE_VIA;
		fn(ROUTE_GONE_REPLACED, &r, data);
	}
}

void route_events_read(struct route_ctx *ctx,
		       void (*fn)(enum route_gone why, const struct route_spec *r, void *data),
		       void *data)
{
	bool overrun = false;

	for (;;) {
		struct sockaddr_nl peer;
		unsigned char *buf = NULL;
		struct nlmsghdr *h;
		int n = nl_recv(ctx->ev, &peer, &buf, NULL), left;

		if (n == -NLE_NOMEM && !overrun) { /* ENOBUFS: the kernel dropped events */
			free(buf);
			overrun = true;
			fn(ROUTE_GONE_UNKNOWN, NULL, data);
			continue;
		}
		if (n <= 0) { /* 0 or -NLE_AGAIN: nothing more for now */
			free(buf);
			return;
		}
		left = n;
		if (peer.nl_pid == 0) /* the kernel's, not a forged one */
			for (h = (struct nlmsghdr *)buf; nlmsg_ok(h, left);
			     h = nlmsg_next(h, &left))
				event_msg(h, fn, data);
		free(buf);
	}
}
