/* test_route.c - the route module without a kernel: spec -> libnl route ->
 * netlink message -> saved route -> line of words -> saved route, and back.
 *
 * `test_route ctl ...` is also a small driver of the kernel half (route_open,
 * route_check, route_add, route_del, route_restore, route_flush_ours, route
 * events) for tests/netns/test_route.sh, run inside a test namespace; see
 * ctl_usage() below. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "isol/target.h"
#include "route.h"

/* ---- helpers ------------------------------------------------------------------------ */

static struct route_spec spec(const char *prefix, enum route_type type, const char *gw)
{
	struct route_spec r;
	struct isol_target t;

	memset(&r, 0, sizeof(r));
	assert_int_equal(isol_target_parse(prefix, &t, NULL), 0);
	r.family = t.family;
	memcpy(r.dst, t.addr, sizeof(r.dst));
	r.plen = t.plen;
	r.type = type;
	if (gw)
		assert_int_equal(inet_pton(r.family, gw, r.gw), 1);
	return r;
}

static void assert_addr(struct nl_addr *a, int family, const char *text, int plen)
{
	uint8_t want[16] = {0};

	assert_non_null(a);
	assert_int_equal(nl_addr_get_family(a), family);
	assert_int_equal(inet_pton(family, text, want), 1);
	assert_memory_equal(nl_addr_get_binary_addr(a), want, family == AF_INET ? 4 : 16);
	if (plen >= 0)
		assert_int_equal(nl_addr_get_prefixlen(a), plen);
}

/* The message libnl would send to add @route (caller frees). */
static struct nl_msg *add_msg(struct rtnl_route *route)
{
	struct nl_msg *msg = NULL;

	assert_int_equal(rtnl_route_build_add_request(route, NLM_F_EXCL, &msg), 0);
	assert_non_null(msg);
	return msg;
}

static void format_line(const struct route_saved *s, char *buf, size_t len)
{
	int n = route_saved_format(s, buf, len);

	assert_true(n > 0);
	assert_true((size_t)n < len);
	assert_int_equal(strlen(buf), n);
}

/* ---- route_build ------------------------------------------------------------------------ */

static void test_build_v4_via(void **state)
{
	struct route_spec r = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.2");
	struct rtnl_route *route;
	struct rtnl_nexthop *nh;

	(void)state;
	r.metric = 5;
	route = route_build(&r, 7, NULL);
	assert_non_null(route);
	assert_int_equal(rtnl_route_get_family(route), AF_INET);
	assert_addr(rtnl_route_get_dst(route), AF_INET, "10.9.0.0", 24);
	assert_int_equal(rtnl_route_get_protocol(route), ISOL_RTPROT);
	assert_int_equal(rtnl_route_get_table(route), RT_TABLE_MAIN);
	assert_int_equal(rtnl_route_get_type(route), RTN_UNICAST);
	assert_int_equal(rtnl_route_get_scope(route), RT_SCOPE_UNIVERSE);
	assert_int_equal(rtnl_route_get_priority(route), 5);
	assert_int_equal(rtnl_route_get_nnexthops(route), 1);
	nh = rtnl_route_nexthop_n(route, 0);
	assert_addr(rtnl_route_nh_get_gateway(nh), AF_INET, "10.0.0.2", -1);
	assert_int_equal(rtnl_route_nh_get_ifindex(nh), 7);
	rtnl_route_put(route);

	/* no dev: the kernel picks the interface */
	route = route_build(&r, 0, NULL);
	assert_non_null(route);
	assert_int_equal(rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0)), 0);
	rtnl_route_put(route);
}

static void test_build_v6_via(void **state)
{
	struct route_spec r = spec("fd09::/64", ROUTE_VIA, "fd71:2::2");
	struct rtnl_route *route;

	(void)state;
	route = route_build(&r, 3, NULL);
	assert_non_null(route);
	assert_int_equal(rtnl_route_get_family(route), AF_INET6);
	assert_addr(rtnl_route_get_dst(route), AF_INET6, "fd09::", 64);
	/* metric 0 is the kernel's default, which is 1024 for IPv6: said
	 * explicitly, so that a delete cannot match another metric */
	assert_int_equal(rtnl_route_get_priority(route), 1024);
	assert_int_equal(rtnl_route_get_protocol(route), ISOL_RTPROT);
	assert_addr(rtnl_route_nh_get_gateway(rtnl_route_nexthop_n(route, 0)), AF_INET6,
		    "fd71:2::2", -1);
	rtnl_route_put(route);

	r.metric = 7;
	r.table = 100;
	route = route_build(&r, 3, NULL);
	assert_non_null(route);
	assert_int_equal(rtnl_route_get_priority(route), 7);
	assert_int_equal(rtnl_route_get_table(route), 100);
	rtnl_route_put(route);
}

static void test_build_types(void **state)
{
	static const struct {
		enum route_type t;
		uint8_t rtn;
	} types[] = {
	    {ROUTE_BLACKHOLE, RTN_BLACKHOLE},
	    {ROUTE_UNREACHABLE, RTN_UNREACHABLE},
	    {ROUTE_PROHIBIT, RTN_PROHIBIT},
	};
	static const char *const prefixes[] = {"10.8.0.0/16", "fd08::/48", "0.0.0.0/0"};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		for (j = 0; j < sizeof(prefixes) / sizeof(prefixes[0]); j++) {
			struct route_spec r = spec(prefixes[j], types[i].t, NULL);
			struct rtnl_route *route = route_build(&r, 0, NULL);

			assert_non_null(route);
			assert_int_equal(rtnl_route_get_type(route), types[i].rtn);
			assert_int_equal(rtnl_route_get_nnexthops(route), 0);
			assert_int_equal(rtnl_route_get_protocol(route), ISOL_RTPROT);
			/* universe, as `ip route add blackhole` (libnl would guess link) */
			assert_int_equal(rtnl_route_get_scope(route), RT_SCOPE_UNIVERSE);
			rtnl_route_put(route);
		}
}

static void test_build_bad(void **state)
{
	struct {
		struct route_spec r;
		const char *msg;
	} bad[8];
	size_t n = 0, i;

	(void)state;
	bad[n].r = spec("10.9.0.0/24", ROUTE_VIA, NULL);
	bad[n++].msg = "needs a gateway";
	bad[n].r = spec("10.9.0.0/24", ROUTE_BLACKHOLE, NULL);
	strcpy(bad[n].r.dev, "eth0");
	bad[n++].msg = "dev goes only with via";
	bad[n].r = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.1");
	bad[n].r.dst[3] = 5; /* 10.9.0.5/24 */
	bad[n++].msg = "10.9.0.5/24 has host bits set";
	bad[n].r = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.1");
	bad[n].r.plen = 33;
	bad[n++].msg = "longer than 32";
	bad[n].r = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.1");
	bad[n].r.family = AF_UNSPEC;
	bad[n++].msg = "IPv4 or IPv6";
	bad[n].r = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.1");
	bad[n].r.type = __ROUTE_TYPE_MAX;
	bad[n++].msg = "unknown route type";
	bad[n].r = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.1");
	memset(bad[n].r.dev, 'x', sizeof(bad[n].r.dev));
	bad[n++].msg = "too long";
	for (i = 0; i < n; i++) {
		struct isol_err err = {0};

		errno = 0;
		assert_null(route_build(&bad[i].r, 0, &err));
		assert_int_equal(errno, EINVAL);
		assert_int_equal(err.code, -EINVAL);
		if (strstr(err.msg, bad[i].msg) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].msg);
	}
}

/* ---- kernel messages -> saved routes ---------------------------------------------------- */

/* What the kernel will see of route_build, parsed back as it would list it. */
static void test_build_message_roundtrip(void **state)
{
	static const char *const cases[][3] = {
	    {"10.9.0.0/24", "10.71.2.2",
	     "10.9.0.0/24 via 10.71.2.2 ifindex 4 metric 5 proto isol "
	     "scope universe type unicast table 254"},
	    {"fd09::/64", "fd71:2::2",
	     "fd09::/64 via fd71:2::2 ifindex 4 metric 5 proto isol "
	     "scope universe type unicast table 254"},
	    {"0.0.0.0/0", "10.71.2.2",
	     "0.0.0.0/0 via 10.71.2.2 ifindex 4 metric 5 proto isol "
	     "scope universe type unicast table 254"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct route_spec r = spec(cases[i][0], ROUTE_VIA, cases[i][1]), back;
		struct rtnl_route *route;
		struct route_saved s;
		struct nl_msg *msg;
		char line[ROUTE_LINE_MAX];

		r.metric = 5;
		route = route_build(&r, 4, NULL);
		msg = add_msg(route);
		assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(msg), &s, NULL), 0);
		format_line(&s, line, sizeof(line));
		assert_string_equal(line, cases[i][2]);
		assert_int_equal(route_spec_from_saved(&s, &back), 0);
		assert_true(route_same_key(&r, &back));
		assert_int_equal(back.type, ROUTE_VIA);
		assert_memory_equal(back.gw, r.gw, 16);
		nlmsg_free(msg);
		rtnl_route_put(route);
	}
}

static void test_blackhole_message_roundtrip(void **state)
{
	struct route_spec r = spec("fd08::/48", ROUTE_PROHIBIT, NULL), back;
	struct rtnl_route *route;
	struct route_saved s;
	struct nl_msg *msg;

	(void)state;
	r.table = 100;
	route = route_build(&r, 0, NULL);
	msg = add_msg(route);
	assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(msg), &s, NULL), 0);
	assert_int_equal(s.type, RTN_PROHIBIT);
	assert_int_equal(s.table, 100);
	assert_int_equal(s.metric, 1024);
	assert_int_equal(s.nnh, 0);
	assert_int_equal(route_spec_from_saved(&s, &back), 0);
	assert_int_equal(back.type, ROUTE_PROHIBIT);
	assert_true(route_same_key(&r, &back));
	nlmsg_free(msg);
	rtnl_route_put(route);
}

/* A message shaped like the kernel's RTM_NEWROUTE for a listed route. */
static struct nl_msg *kernel_msg(int family, const char *dst, int plen, uint8_t proto,
				 uint8_t scope, uint8_t type, uint32_t flags)
{
	struct rtmsg rtm = {.rtm_family = (uint8_t)family,
			    .rtm_dst_len = (uint8_t)plen,
			    .rtm_table = RT_TABLE_MAIN,
			    .rtm_protocol = proto,
			    .rtm_scope = scope,
			    .rtm_type = type,
			    .rtm_flags = flags};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_MULTI);
	uint8_t a[16];

	assert_non_null(msg);
	assert_int_equal(nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO), 0);
	assert_int_equal(nla_put_u32(msg, RTA_TABLE, RT_TABLE_MAIN), 0);
	assert_int_equal(inet_pton(family, dst, a), 1);
	if (plen)
		assert_int_equal(nla_put(msg, RTA_DST, family == AF_INET ? 4 : 16, a), 0);
	return msg;
}

static void put_addr(struct nl_msg *msg, int attr, int family, const char *text)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(family, text, a), 1);
	assert_int_equal(nla_put(msg, attr, family == AF_INET ? 4 : 16, a), 0);
}

/* A connected IPv4 route with a source and route metrics, and an IPv6 route
 * with a preference: line of words, parsed back, built and listed again. */
static void test_kernel_routes_saved(void **state)
{
	struct {
		struct nl_msg *msg;
		const char *line;
	} c[3];
	struct nlattr *m;
	size_t i;

	(void)state;
	c[0].msg = kernel_msg(AF_INET, "10.71.1.0", 24, RTPROT_KERNEL, RT_SCOPE_LINK, RTN_UNICAST,
			      RTNH_F_LINKDOWN); /* a state flag: not saved */
	put_addr(c[0].msg, RTA_PREFSRC, AF_INET, "10.71.1.1");
	assert_int_equal(nla_put_u32(c[0].msg, RTA_OIF, 3), 0);
	m = nla_nest_start(c[0].msg, RTA_METRICS);
	assert_int_equal(nla_put_u32(c[0].msg, RTAX_MTU, 1400), 0);
	assert_int_equal(nla_put_u32(c[0].msg, RTAX_ADVMSS, 1360), 0);
	nla_nest_end(c[0].msg, m);
	c[0].line = "10.71.1.0/24 ifindex 3 src 10.71.1.1 metric 0 proto kernel scope link type "
		    "unicast table 254 mtu 1400 advmss 1360";

	c[1].msg = kernel_msg(AF_INET6, "fd09::", 64, RTPROT_RA, RT_SCOPE_UNIVERSE, RTN_UNICAST,
			      RTNH_F_ONLINK);
	assert_int_equal(nla_put_u32(c[1].msg, RTA_PRIORITY, 1024), 0);
	put_addr(c[1].msg, RTA_GATEWAY, AF_INET6, "fe80::1");
	assert_int_equal(nla_put_u32(c[1].msg, RTA_OIF, 5), 0);
	assert_int_equal(nla_put_u8(c[1].msg, RTA_PREF, 1), 0);
	{
		struct rta_cacheinfo ci = {.rta_expires = 1800};

		assert_int_equal(nla_put(c[1].msg, RTA_CACHEINFO, sizeof(ci), &ci), 0);
	}
	c[1].line = "fd09::/64 via fe80::1 ifindex 5 onlink metric 1024 proto ra scope universe "
		    "type unicast table 254 pref high";

	c[2].msg = kernel_msg(AF_INET, "0.0.0.0", 0, 250, RT_SCOPE_UNIVERSE, RTN_UNREACHABLE, 0);
	assert_int_equal(nla_put_u32(c[2].msg, RTA_PRIORITY, 7), 0);
	c[2].line = "0.0.0.0/0 metric 7 proto 250 scope universe type unreachable table 254";

	for (i = 0; i < 3; i++) {
		struct route_saved s, p, again;
		struct rtnl_route *route;
		struct nl_msg *msg;
		char line[ROUTE_LINE_MAX], line2[ROUTE_LINE_MAX];
		struct isol_err err = {0};

		assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(c[i].msg), &s, &err), 0);
		format_line(&s, line, sizeof(line));
		assert_string_equal(line, c[i].line);
		assert_int_equal(route_saved_parse(line, &p, &err), 0);
		format_line(&p, line2, sizeof(line2));
		assert_string_equal(line2, line);
		/* what route_restore would send, listed back */
		route = route_saved_build(&p, &err);
		assert_non_null(route);
		msg = add_msg(route);
		if (p.pref)
			assert_int_equal(nla_put_u8(msg, RTA_PREF, p.pref), 0);
		assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(msg), &again, &err), 0);
		format_line(&again, line2, sizeof(line2));
		assert_string_equal(line2, line);
		nlmsg_free(msg);
		rtnl_route_put(route);
		nlmsg_free(c[i].msg);
	}
}

static void test_multipath_saved(void **state)
{
	struct nl_msg *msg =
	    kernel_msg(AF_INET, "10.9.0.0", 24, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0);
	const char *want = "10.9.0.0/24 metric 0 proto static scope universe type unicast "
			   "table 254 nexthop via 10.71.1.2 ifindex 3 weight 1 nexthop via "
			   "10.71.2.2 ifindex 4 onlink weight 3";
	struct route_saved s, p, again;
	struct rtnl_route *route;
	struct nl_msg *out;
	struct nlattr *mp;
	char line[ROUTE_LINE_MAX];
	int i;

	(void)state;
	mp = nla_nest_start(msg, RTA_MULTIPATH);
	for (i = 0; i < 2; i++) {
		struct rtnexthop *rtnh = nlmsg_reserve(msg, sizeof(*rtnh), NLMSG_ALIGNTO);

		assert_non_null(rtnh);
		rtnh->rtnh_ifindex = 3 + i;
		rtnh->rtnh_hops = (uint8_t)(i * 2);
		rtnh->rtnh_flags = i ? RTNH_F_ONLINK : RTNH_F_DEAD;
		put_addr(msg, RTA_GATEWAY, AF_INET, i ? "10.71.2.2" : "10.71.1.2");
		rtnh->rtnh_len =
		    (unsigned short)((char *)nlmsg_tail(nlmsg_hdr(msg)) - (char *)rtnh);
	}
	nla_nest_end(msg, mp);
	assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(msg), &s, NULL), 0);
	assert_true(s.multipath);
	assert_int_equal(s.nnh, 2);
	format_line(&s, line, sizeof(line));
	assert_string_equal(line, want);
	assert_int_equal(route_saved_parse(line, &p, NULL), 0);
	route = route_saved_build(&p, NULL);
	assert_non_null(route);
	assert_int_equal(rtnl_route_get_nnexthops(route), 2);
	out = add_msg(route);
	assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(out), &again, NULL), 0);
	format_line(&again, line, sizeof(line));
	assert_string_equal(line, want);
	/* not one of ours */
	{
		struct route_spec r;

		assert_int_equal(route_spec_from_saved(&again, &r), -EINVAL);
	}
	nlmsg_free(out);
	rtnl_route_put(route);
	nlmsg_free(msg);
}

static void test_unsupported_routes(void **state)
{
	struct nl_msg *msg;
	struct route_saved s;
	struct isol_err err = {0};
	struct nlattr *m;

	(void)state;
	msg = kernel_msg(AF_INET, "10.9.0.0", 24, RTPROT_STATIC, 0, RTN_UNICAST, 0);
	assert_int_equal(nla_put_u16(msg, RTA_ENCAP_TYPE, 1), 0);
	assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(msg), &s, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "10.9.0.0/24 has an encapsulation"));
	nlmsg_free(msg);

	isol_err_clear(&err);
	msg = kernel_msg(AF_INET6, "fd09::", 64, RTPROT_STATIC, 0, RTN_UNICAST, 0);
	assert_int_equal(nla_put_u32(msg, RTA_NH_ID, 12), 0);
	assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(msg), &s, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "nexthop object"));
	/* the key is known even so (route_flush_ours relies on it) */
	assert_int_equal(s.family, AF_INET6);
	assert_int_equal(s.plen, 64);
	nlmsg_free(msg);

	isol_err_clear(&err);
	msg = kernel_msg(AF_INET, "10.9.0.0", 24, RTPROT_STATIC, 0, RTN_UNICAST, 0);
	m = nla_nest_start(msg, RTA_METRICS);
	assert_int_equal(nla_put_string(msg, RTAX_CC_ALGO, "bbr"), 0);
	nla_nest_end(msg, m);
	assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(msg), &s, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "route metric 16"));
	nlmsg_free(msg);

	isol_err_clear(&err);
	msg = kernel_msg(AF_INET6, "fd09::", 64, RTPROT_STATIC, 0, RTN_UNICAST, 0);
	nlmsg_hdr(msg)->nlmsg_type = RTM_NEWLINK;
	assert_int_equal(route_saved_from_nlmsg(nlmsg_hdr(msg), &s, &err), -EINVAL);
	nlmsg_free(msg);
}

/* ---- text ---------------------------------------------------------------------------- */

static void test_saved_text_roundtrip(void **state)
{
	static const char *const lines[] = {
	    "10.9.0.0/24 via 10.0.0.1 dev veth0 metric 0 proto static scope universe type "
	    "unicast table 254",
	    "10.9.0.0/24 via 10.0.0.1 dev veth0 onlink metric 100 proto boot scope universe "
	    "type unicast table 1000",
	    "192.168.0.0/16 dev eth0 src 192.168.1.5 metric 0 proto kernel scope link type "
	    "unicast table 254",
	    "10.8.0.0/16 metric 0 proto isol scope universe type blackhole table 254",
	    "0.0.0.0/0 via 10.0.0.1 dev eth0 metric 600 proto dhcp scope universe type unicast "
	    "table 254 mtu 1400 initcwnd 10",
	    "::/0 via fe80::1 dev eth0 metric 1024 proto ra scope universe type unicast table "
	    "254 pref low hoplimit 64",
	    "fd09::/64 metric 1024 proto 77 scope universe type unicast table 254 nexthop via "
	    "fd71:1::2 dev c1 weight 1 nexthop via fd71:2::2 dev c2 weight 256",
	    "10.0.0.1/32 dev eth0 metric 0 proto static scope link type unicast table 254 tos 16",
	    "127.0.0.0/8 dev lo src 127.0.0.1 metric 0 proto kernel scope host type local table "
	    "255",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct route_saved s;
		struct isol_err err = {0};
		char out[ROUTE_LINE_MAX];

		if (route_saved_parse(lines[i], &s, &err) != 0)
			fail_msg("'%s': %s", lines[i], err.msg);
		format_line(&s, out, sizeof(out));
		assert_string_equal(out, lines[i]);
	}
}

static void test_saved_parse_lenient(void **state)
{
	struct route_saved s;
	char out[ROUTE_LINE_MAX];

	(void)state;
	/* names and numbers, defaults for what is left out, extra blanks */
	assert_int_equal(route_saved_parse("  fd09::/64   via fd71::1\tdev c1 table main proto 4 "
					   "scope 0 type 1\n",
					   &s, NULL),
			 0);
	format_line(&s, out, sizeof(out));
	assert_string_equal(out, "fd09::/64 via fd71::1 dev c1 metric 1024 proto static scope "
				 "universe type unicast table 254");
	assert_int_equal(route_saved_parse("10.1.2.3 via 10.0.0.1", &s, NULL), 0);
	assert_int_equal(s.plen, 32);
	assert_int_equal(s.metric, 0);
	assert_int_equal(s.protocol, RTPROT_BOOT);
}

static void test_saved_parse_bad(void **state)
{
	static const char *const bad[][2] = {
	    {"", "bad prefix"},
	    {"nonsense", "bad prefix"},
	    {"10.9.0.1/24 via 10.0.0.1", "bad prefix"},
	    {"10.9.0.0/33", "bad prefix"},
	    {"10.9.0.0/24 via fd00::1", "bad via 'fd00::1'"},
	    {"10.9.0.0/24 via 0.0.0.0", "bad via"},
	    {"10.9.0.0/24 via 10.0.0.1 via 10.0.0.2", "bad via"},
	    {"10.9.0.0/24 via", "'via' needs a value"},
	    {"10.9.0.0/24 metric -1", "bad metric"},
	    {"10.9.0.0/24 metric 4294967296", "bad metric"},
	    {"10.9.0.0/24 proto 256", "bad proto"},
	    {"10.9.0.0/24 proto nosuch", "bad proto"},
	    {"10.9.0.0/24 scope planet", "bad scope"},
	    {"10.9.0.0/24 type 0", "bad type"},
	    {"10.9.0.0/24 table 0", "bad table"},
	    {"10.9.0.0/24 dev 0123456789abcdef", "bad dev"},
	    {"10.9.0.0/24 frobnicate 1", "unknown word 'frobnicate'"},
	    {"10.9.0.0/24 via 10.0.0.1 nexthop via 10.0.0.2", "'nexthop' after"},
	    {"10.9.0.0/24 weight 2", "bad weight"},
	    {"10.9.0.0/24 nexthop dev a weight 257", "bad weight"},
	    {"10.9.0.0/24 pref high", "bad pref"},
	    {"10.9.0.0/24 mtu 1400 mtu 1500", "bad mtu"},
	    {"10.9.0.0/24 nexthop nexthop nexthop nexthop nexthop nexthop nexthop nexthop "
	     "nexthop",
	     "more than 8"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct route_saved s;
		struct isol_err err = {0};

		assert_int_equal(route_saved_parse(bad[i][0], &s, &err), -EINVAL);
		if (strstr(err.msg, bad[i][1]) == NULL)
			fail_msg("'%s': message '%s' lacks '%s'", bad[i][0], err.msg, bad[i][1]);
	}
}

static void test_saved_format_small_buffer(void **state)
{
	struct route_saved s;
	char big[ROUTE_LINE_MAX], small[12];
	int n;

	(void)state;
	assert_int_equal(route_saved_parse("fd09::/64 nexthop via fd71:1::2 dev c1 nexthop via "
					   "fd71:2::2 dev c2",
					   &s, NULL),
			 0);
	n = route_saved_format(&s, big, sizeof(big));
	assert_int_equal(route_saved_format(&s, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, big, sizeof(small) - 1);
	s.family = 0;
	assert_int_equal(route_saved_format(&s, big, sizeof(big)), -EINVAL);
}

/* The longest route we can save fits ROUTE_LINE_MAX. */
static void test_saved_longest(void **state)
{
	struct route_saved s;
	char line[ROUTE_LINE_MAX * 2];
	int i, n;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.family = AF_INET6;
	memset(s.dst, 0xff, 16);
	s.plen = 128;
	s.has_prefsrc = true;
	memset(s.prefsrc, 0xff, 16);
	s.metric = s.table = UINT32_MAX;
	s.tos = s.protocol = s.scope = 255;
	s.type = 200;
	s.pref = 200;
	for (i = 1; i <= ROUTE_RTAX_MAX; i++) {
		s.rtax_mask |= 1u << i;
		s.rtax[i] = UINT32_MAX;
	}
	s.multipath = true;
	s.nnh = ROUTE_MAX_NH;
	for (i = 0; i < ROUTE_MAX_NH; i++) {
		memset(s.nh[i].gw, 0xff, 16);
		memset(s.nh[i].dev, 'd', IF_NAMESIZE - 1);
		s.nh[i].flags = RTNH_F_ONLINK;
		s.nh[i].weight = 256;
	}
	n = route_saved_format(&s, line, sizeof(line));
	assert_true(n > 1000);
	assert_true(n < ROUTE_LINE_MAX);
}

static void test_describe(void **state)
{
	struct route_spec r;
	char buf[ROUTE_LINE_MAX];

	(void)state;
	r = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.2");
	strcpy(r.dev, "eth1");
	r.metric = 5;
	route_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "10.9.0.0/24 via 10.0.0.2 dev eth1 metric 5");
	r = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.2");
	route_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "10.9.0.0/24 via 10.0.0.2");
	r = spec("fd09::/64", ROUTE_BLACKHOLE, NULL);
	r.table = 100;
	route_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "fd09::/64 blackhole table 100");
	r.metric = 1024; /* the default, said explicitly */
	r.table = 254;
	route_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "fd09::/64 blackhole");
	r = spec("10.8.0.0/16", ROUTE_UNREACHABLE, NULL);
	route_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "10.8.0.0/16 unreachable");
	r = spec("0.0.0.0/0", ROUTE_PROHIBIT, NULL);
	r.metric = 9;
	route_describe(&r, buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0/0 prohibit metric 9");
	r.family = 0;
	assert_int_equal(route_describe(&r, buf, sizeof(buf)), -EINVAL);
}

static void test_same_key(void **state)
{
	struct route_spec a = spec("fd09::/64", ROUTE_VIA, "fd71:1::2");
	struct route_spec b = spec("fd09::/64", ROUTE_BLACKHOLE, NULL);

	(void)state;
	assert_true(route_same_key(&a, &b)); /* the type is not part of the key */
	b.metric = 1024;
	b.table = 254;
	assert_true(route_same_key(&a, &b));
	assert_int_equal(route_metric(&a), 1024);
	assert_int_equal(route_table(&a), 254);
	b.metric = 5;
	assert_false(route_same_key(&a, &b));
	b.metric = 0;
	b.table = 100;
	assert_false(route_same_key(&a, &b));
	b = spec("fd09::/48", ROUTE_VIA, "fd71:1::2");
	assert_false(route_same_key(&a, &b));
	a = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.1");
	b = spec("10.9.0.0/24", ROUTE_VIA, "10.0.0.2");
	assert_true(route_same_key(&a, &b));
	assert_int_equal(route_metric(&a), 0);
}

/* ---- `test_route ctl`: a driver of the kernel half for the netns test --------------------- */

static int ctl_usage(void)
{
	fprintf(stderr, "usage: test_route ctl check ROUTE\n"
			"       test_route ctl add ROUTE [--replace] [--save FILE]\n"
			"       test_route ctl del ROUTE | lookup ROUTE\n"
			"       test_route ctl restore FILE | flush | watch MS\n"
			"ROUTE: PREFIX (via GW [dev IF] | blackhole | unreachable | prohibit)\n"
			"       [metric N] [table N]\n"
			"exit: 0 done, 1 refused or failed (message on stderr), 2 usage;\n"
			"check: 0 free, 3 a route is there (described on stdout)\n");
	return 2;
}

static int ctl_route(int argc, char **argv, struct route_spec *r, bool *replace, const char **save)
{
	struct isol_target t;
	struct isol_err err = {0};
	int i = 1;

	memset(r, 0, sizeof(*r));
	if (argc < 2 || isol_target_parse(argv[0], &t, &err) < 0 || isol_target_has_port(&t) ||
	    t.proto) {
		fprintf(stderr, "bad prefix: %s\n", err.msg);
		return -1;
	}
	r->family = t.family;
	memcpy(r->dst, t.addr, 16);
	r->plen = t.plen;
	if (!strcmp(argv[i], "via") && i + 1 < argc) {
		r->type = ROUTE_VIA;
		if (inet_pton(r->family, argv[i + 1], r->gw) != 1)
			return -1;
		i += 2;
	} else if (!strcmp(argv[i], "blackhole")) {
		r->type = ROUTE_BLACKHOLE;
		i++;
	} else if (!strcmp(argv[i], "unreachable")) {
		r->type = ROUTE_UNREACHABLE;
		i++;
	} else if (!strcmp(argv[i], "prohibit")) {
		r->type = ROUTE_PROHIBIT;
		i++;
	} else {
		return -1;
	}
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "dev") && i + 1 < argc)
			snprintf(r->dev, sizeof(r->dev), "%s", argv[++i]);
		else if (!strcmp(argv[i], "metric") && i + 1 < argc)
			r->metric = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "table") && i + 1 < argc)
			r->table = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--replace") && replace)
			*replace = true;
		else if (!strcmp(argv[i], "--save") && save && i + 1 < argc)
			*save = argv[++i];
		else
			return -1;
	}
	return 0;
}

static void ctl_event(enum route_gone why, const struct route_spec *r, void *data)
{
	char d[ROUTE_LINE_MAX];

	(void)data;
	if (why == ROUTE_GONE_UNKNOWN) {
		printf("resync\n");
	} else if (why == ROUTE_GONE_DELETED) {
		route_describe(r, d, sizeof(d));
		printf("deleted %s\n", d);
	} else { /* only the key is known */
		inet_ntop(r->family, r->dst, d, sizeof(d));
		printf("replaced %s/%u metric %u table %u\n", d, r->plen, r->metric, r->table);
	}
	fflush(stdout);
}

static int ctl_watch(struct route_ctx *ctx, long ms)
{
	struct timespec t0, t;
	struct pollfd pfd = {.fd = route_events_fd(ctx), .events = POLLIN};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		long left;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, (int)left) > 0)
			route_events_read(ctx, ctl_event, NULL);
	}
}

static int ctl_main(int argc, char **argv)
{
	struct route_ctx *ctx = NULL;
	struct isol_err err = {0};
	struct route_spec r;
	struct route_saved saved;
	char line[ROUTE_LINE_MAX], d[ROUTE_LINE_MAX];
	const char *save = NULL;
	bool replace = false;
	int rc = 2;

	if (argc < 1)
		return ctl_usage();
	if (route_open(&ctx, &err) < 0) {
		fprintf(stderr, "route_open: %s\n", err.msg);
		return 1;
	}
	if (!strcmp(argv[0], "check") || !strcmp(argv[0], "add") || !strcmp(argv[0], "del") ||
	    !strcmp(argv[0], "lookup")) {
		bool add = !strcmp(argv[0], "add");

		if (ctl_route(argc - 1, argv + 1, &r, add ? &replace : NULL, add ? &save : NULL) <
		    0) {
			rc = ctl_usage();
			goto out;
		}
		route_describe(&r, d, sizeof(d));
		if (!strcmp(argv[0], "lookup")) {
			rc = route_lookup(ctx, &r, &saved, &err);
			if (rc == 1) {
				route_saved_format(&saved, line, sizeof(line));
				printf("%s\n", line);
			} else if (rc == 0) {
				printf("free\n");
			}
			rc = rc < 0 ? 1 : rc == 1 ? 3 : 0;
			goto out;
		}
		if (!strcmp(argv[0], "del")) {
			rc = route_del(ctx, &r, &err) < 0 ? 1 : 0;
			if (rc == 0)
				printf("deleted %s\n", d);
			goto out;
		}
		rc = route_check(ctx, &r, &saved, &err);
		if (rc < 0) {
			rc = 1;
			goto out;
		}
		if (!add) {
			printf("%s\n", rc == 1 ? err.msg : "free");
			isol_err_clear(&err);
			rc = rc == 1 ? 3 : 0;
			goto out;
		}
		if (rc == 1 && (!replace || saved.protocol == ISOL_RTPROT)) {
			rc = 1;
			goto out;
		}
		if (rc == 1) {
			FILE *f;

			isol_err_clear(&err);
			route_saved_format(&saved, line, sizeof(line));
			printf("saved %s\n", line);
			if (save && ((f = fopen(save, "w")) == NULL ||
				     fprintf(f, "%s\n", line) < 0 || fclose(f) != 0)) {
				fprintf(stderr, "cannot write %s\n", save);
				rc = 1;
				goto out;
			}
		}
		rc = route_add(ctx, &r, rc == 1, &err) < 0 ? 1 : 0;
		if (rc == 0)
			printf("added %s\n", d);
	} else if (!strcmp(argv[0], "restore") && argc == 2) {
		FILE *f = fopen(argv[1], "r");

		if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
			fprintf(stderr, "cannot read %s\n", argv[1]);
			if (f)
				fclose(f);
			rc = 1;
			goto out;
		}
		fclose(f);
		rc = route_saved_parse(line, &saved, &err) < 0 ||
			     route_restore(ctx, &saved, &err) < 0
			 ? 1
			 : 0;
		if (rc == 0)
			printf("restored %s", line);
	} else if (!strcmp(argv[0], "flush") && argc == 1) {
		rc = route_flush_ours(ctx, &err) < 0 ? 1 : 0;
		if (rc == 0)
			printf("flushed\n");
	} else if (!strcmp(argv[0], "watch") && argc == 2) {
		rc = ctl_watch(ctx, strtol(argv[1], NULL, 10));
	} else {
		rc = ctl_usage();
	}
out:
	if (err.code)
		fprintf(stderr, "%s\n", err.msg);
	route_close(ctx);
	return rc;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_v4_via),
	    cmocka_unit_test(test_build_v6_via),
	    cmocka_unit_test(test_build_types),
	    cmocka_unit_test(test_build_bad),
	    cmocka_unit_test(test_build_message_roundtrip),
	    cmocka_unit_test(test_blackhole_message_roundtrip),
	    cmocka_unit_test(test_kernel_routes_saved),
	    cmocka_unit_test(test_multipath_saved),
	    cmocka_unit_test(test_unsupported_routes),
	    cmocka_unit_test(test_saved_text_roundtrip),
	    cmocka_unit_test(test_saved_parse_lenient),
	    cmocka_unit_test(test_saved_parse_bad),
	    cmocka_unit_test(test_saved_format_small_buffer),
	    cmocka_unit_test(test_saved_longest),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_same_key),
	};

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 2, argv + 2);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
