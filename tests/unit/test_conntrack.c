/* test_conntrack.c - which flows --kill-flows cuts (conntrack_match), and the
 * dump request that lets the kernel filter for it, parsed back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "conntrack.h"
#include "isol/target.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct match_case {
	const char *target;
	const char *daddr; /* the flow's original destination */
	uint8_t proto;
	uint16_t dport;
	bool match;
};

static const struct match_case cases[] = {
    /* a host: every protocol and port, ICMP included */
    {"10.0.0.5", "10.0.0.5", IPPROTO_TCP, 5672, true},
    {"10.0.0.5", "10.0.0.5", IPPROTO_UDP, 53, true},
    {"10.0.0.5", "10.0.0.5", IPPROTO_ICMP, 0, true},
    {"10.0.0.5", "10.0.0.6", IPPROTO_TCP, 5672, false},
    {"10.0.0.5", "10.0.0.4", IPPROTO_TCP, 5672, false},
    /* host and port: that protocol and port only */
    {"10.0.0.5:5672", "10.0.0.5", IPPROTO_TCP, 5672, true},
    {"10.0.0.5:5672", "10.0.0.5", IPPROTO_TCP, 5673, false},
    {"10.0.0.5:5672", "10.0.0.5", IPPROTO_UDP, 5672, false},
    {"10.0.0.5:5672", "10.0.0.5", IPPROTO_ICMP, 0, false},
    {"10.0.0.5:5672", "10.0.0.6", IPPROTO_TCP, 5672, false},
    {"10.0.0.5:53/udp", "10.0.0.5", IPPROTO_UDP, 53, true},
    {"10.0.0.5:53/udp", "10.0.0.5", IPPROTO_TCP, 53, false},
    {"10.0.0.5:80/sctp", "10.0.0.5", IPPROTO_SCTP, 80, true},
    {"10.0.0.5:80/sctp", "10.0.0.5", IPPROTO_TCP, 80, false},
    /* port ranges: both ends in, one past either end out */
    {"10.0.0.5:80-90/udp", "10.0.0.5", IPPROTO_UDP, 80, true},
    {"10.0.0.5:80-90/udp", "10.0.0.5", IPPROTO_UDP, 85, true},
    {"10.0.0.5:80-90/udp", "10.0.0.5", IPPROTO_UDP, 90, true},
    {"10.0.0.5:80-90/udp", "10.0.0.5", IPPROTO_UDP, 79, false},
    {"10.0.0.5:80-90/udp", "10.0.0.5", IPPROTO_UDP, 91, false},
    {"10.0.0.5:1-65535", "10.0.0.5", IPPROTO_TCP, 65535, true},
    {"10.0.0.5:1-65535", "10.0.0.5", IPPROTO_TCP, 0, false},
    /* a protocol without a port: every port of it */
    {"10.0.0.5/udp", "10.0.0.5", IPPROTO_UDP, 1, true},
    {"10.0.0.5/udp", "10.0.0.5", IPPROTO_UDP, 65535, true},
    {"10.0.0.5/udp", "10.0.0.5", IPPROTO_TCP, 1, false},
    /* prefixes: the edges */
    {"10.0.0.0/24", "10.0.0.0", IPPROTO_TCP, 80, true},
    {"10.0.0.0/24", "10.0.0.255", IPPROTO_ICMP, 0, true},
    {"10.0.0.0/24", "10.0.1.0", IPPROTO_TCP, 80, false},
    {"10.0.0.0/24", "9.255.255.255", IPPROTO_TCP, 80, false},
    {"10.1.0.0/16:443", "10.1.255.7", IPPROTO_TCP, 443, true},
    {"10.1.0.0/16:443", "10.1.255.7", IPPROTO_TCP, 444, false},
    {"10.0.0.4/31", "10.0.0.5", IPPROTO_TCP, 80, true},
    {"10.0.0.4/31", "10.0.0.6", IPPROTO_TCP, 80, false},
    {"0.0.0.0/0", "255.255.255.255", IPPROTO_UDP, 9, true},
    {"0.0.0.0/0", "0.0.0.0", IPPROTO_TCP, 1, true},
    /* IPv6 */
    {"2001:db8::5", "2001:db8::5", IPPROTO_TCP, 80, true},
    {"2001:db8::5", "2001:db8::5", IPPROTO_ICMPV6, 0, true},
    {"2001:db8::5", "2001:db8::6", IPPROTO_TCP, 80, false},
    {"[2001:db8::5]:5672", "2001:db8::5", IPPROTO_TCP, 5672, true},
    {"[2001:db8::5]:5672", "2001:db8::5", IPPROTO_TCP, 5671, false},
    {"[2001:db8::5]:5672", "2001:db8::5", IPPROTO_ICMPV6, 0, false},
    {"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", IPPROTO_TCP, 80, true},
    {"2001:db8::/32", "2001:db9::", IPPROTO_TCP, 80, false},
    {"[2001:db8::/64]:80-90/udp", "2001:db8::1:2", IPPROTO_UDP, 90, true},
    {"[2001:db8::/64]:80-90/udp", "2001:db8:0:1::", IPPROTO_UDP, 90, false},
    {"::/0", "fd77::2", IPPROTO_UDP, 9, true},
};

static void parse(const char *s, struct isol_target *t)
{
	struct isol_err err = {0};

	if (isol_target_parse(s, t, &err) != 0)
		fail_msg("parse '%s': %s", s, err.msg);
}

static void test_match_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct match_case *c = &cases[i];
		struct isol_target t;
		uint8_t a[16];
		int family = strchr(c->daddr, ':') ? AF_INET6 : AF_INET;

		parse(c->target, &t);
		assert_int_equal(inet_pton(family, c->daddr, a), 1);
		if (conntrack_match(&t, family, a, c->proto, c->dport) != c->match)
			fail_msg("target %s, flow to %s proto %u port %u: expected %s", c->target,
				 c->daddr, c->proto, c->dport, c->match ? "match" : "no match");
	}
}

/* The other family never matches, even with the same bytes or under /0. */
static void test_match_never_crosses_families(void **state)
{
	struct isol_target v4, v6;
	uint8_t a[16] = {0};

	(void)state;
	parse("0.0.0.0/0", &v4);
	parse("::/0", &v6);
	assert_false(conntrack_match(&v4, AF_INET6, a, IPPROTO_TCP, 80));
	assert_false(conntrack_match(&v6, AF_INET, a, IPPROTO_TCP, 80));
	parse("10.0.0.5", &v4);
	memcpy(a, v4.addr, 4);
	assert_true(conntrack_match(&v4, AF_INET, a, IPPROTO_TCP, 80));
	assert_false(conntrack_match(&v4, AF_INET6, a, IPPROTO_TCP, 80));
}

/* A port without a protocol (not from the parser, but possible in a struct
 * built by hand): TCP/UDP/SCTP/DCCP/UDP-Lite flows by port, never ICMP. */
static void test_match_port_without_proto_needs_ports(void **state)
{
	struct isol_target t;

	(void)state;
	parse("10.0.0.5:80", &t);
	t.proto = 0;
	assert_true(conntrack_match(&t, AF_INET, t.addr, IPPROTO_TCP, 80));
	assert_true(conntrack_match(&t, AF_INET, t.addr, IPPROTO_UDP, 80));
	assert_true(conntrack_match(&t, AF_INET, t.addr, IPPROTO_SCTP, 80));
	assert_true(conntrack_match(&t, AF_INET, t.addr, IPPROTO_DCCP, 80));
	assert_true(conntrack_match(&t, AF_INET, t.addr, 136 /* UDP-Lite */, 80));
	assert_false(conntrack_match(&t, AF_INET, t.addr, IPPROTO_ICMP, 80));
	assert_false(conntrack_match(&t, AF_INET, t.addr, IPPROTO_GRE, 80));
	assert_false(conntrack_match(&t, AF_INET, t.addr, IPPROTO_TCP, 81));
}

/* ---- the dump request, parsed back ---------------------------------------------------------- */

struct parsed_req {
	const struct nlmsghdr *nlh;
	const struct nfgenmsg *nfg;
	const struct nlattr *ct[CTA_MAX + 1];
	const struct nlattr *tuple[CTA_TUPLE_MAX + 1];
	const struct nlattr *ip[CTA_IP_MAX + 1];
	const struct nlattr *proto[CTA_PROTO_MAX + 1];
	const struct nlattr *filter[CTA_FILTER_MAX + 1];
};

static int store_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void parse_req(const char *buf, size_t len, struct parsed_req *p)
{
	memset(p, 0, sizeof(*p));
	p->nlh = (const struct nlmsghdr *)buf;
	assert_int_equal(p->nlh->nlmsg_len, len);
	assert_true(len <= CONNTRACK_REQ_SIZE);
	assert_int_equal(p->nlh->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
	assert_int_equal(p->nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	assert_int_equal(p->nlh->nlmsg_seq, 77);
	p->nfg = mnl_nlmsg_get_payload(p->nlh);
	assert_int_equal(p->nfg->version, NFNETLINK_V0);
	assert_int_equal(mnl_attr_parse(p->nlh, sizeof(struct nfgenmsg), store_attr, p->ct),
			 MNL_CB_OK);
	if (p->ct[CTA_TUPLE_ORIG])
		mnl_attr_parse_nested(p->ct[CTA_TUPLE_ORIG], store_attr, p->tuple);
	if (p->tuple[CTA_TUPLE_IP])
		mnl_attr_parse_nested(p->tuple[CTA_TUPLE_IP], store_attr, p->ip);
	if (p->tuple[CTA_TUPLE_PROTO])
		mnl_attr_parse_nested(p->tuple[CTA_TUPLE_PROTO], store_attr, p->proto);
	if (p->ct[CTA_FILTER])
		mnl_attr_parse_nested(p->ct[CTA_FILTER], store_attr, p->filter);
}

static uint32_t req_flags(const struct parsed_req *p)
{
	assert_non_null(p->filter[CTA_FILTER_ORIG_FLAGS]);
	assert_null(p->filter[CTA_FILTER_REPLY_FLAGS]);
	return mnl_attr_get_u32(p->filter[CTA_FILTER_ORIG_FLAGS]);
}

/* kernel ABI: CTA_FILTER_F_CTA_IP_DST, _PROTO_NUM, _PROTO_DST_PORT */
#define F_IP_DST   (1u << 1)
#define F_PROTO	   (1u << 3)
#define F_DST_PORT (1u << 5)

static void test_request_ipv4_host_port_is_filtered_by_kernel(void **state)
{
	char buf[CONNTRACK_REQ_SIZE];
	struct isol_target t;
	struct parsed_req p;
	size_t len;

	(void)state;
	parse("10.77.0.2:8001", &t);
	len = conntrack_dump_request(buf, &t, 77, true);
	parse_req(buf, len, &p);
	assert_int_equal(p.nfg->nfgen_family, AF_INET);
	assert_int_equal(req_flags(&p), F_IP_DST | F_PROTO | F_DST_PORT);
	assert_non_null(p.ip[CTA_IP_V4_DST]);
	assert_null(p.ip[CTA_IP_V4_SRC]);
	assert_memory_equal(mnl_attr_get_payload(p.ip[CTA_IP_V4_DST]), t.addr, 4);
	assert_int_equal(mnl_attr_get_u8(p.proto[CTA_PROTO_NUM]), IPPROTO_TCP);
	assert_int_equal(ntohs(mnl_attr_get_u16(p.proto[CTA_PROTO_DST_PORT])), 8001);
	assert_null(p.proto[CTA_PROTO_SRC_PORT]);
}

/* The kernel's IPv6 address filter is inverted: the address stays ours. */
static void test_request_ipv6_address_stays_in_userspace(void **state)
{
	char buf[CONNTRACK_REQ_SIZE];
	struct isol_target t;
	struct parsed_req p;
	size_t len;

	(void)state;
	parse("[fd77::2]:8001/udp", &t);
	len = conntrack_dump_request(buf, &t, 77, true);
	parse_req(buf, len, &p);
	assert_int_equal(p.nfg->nfgen_family, AF_INET6);
	assert_int_equal(req_flags(&p), F_PROTO | F_DST_PORT);
	assert_null(p.tuple[CTA_TUPLE_IP]);
	assert_int_equal(mnl_attr_get_u8(p.proto[CTA_PROTO_NUM]), IPPROTO_UDP);
	assert_int_equal(ntohs(mnl_attr_get_u16(p.proto[CTA_PROTO_DST_PORT])), 8001);
}

/* A port range or a prefix: only what is exact goes to the kernel. */
static void test_request_filters_only_exact_parts(void **state)
{
	char buf[CONNTRACK_REQ_SIZE];
	struct isol_target t;
	struct parsed_req p;
	size_t len;

	(void)state;
	parse("10.77.0.2:8000-8010", &t);
	len = conntrack_dump_request(buf, &t, 77, true);
	parse_req(buf, len, &p);
	assert_int_equal(req_flags(&p), F_IP_DST | F_PROTO);
	assert_null(p.proto[CTA_PROTO_DST_PORT]);

	parse("10.77.0.0/24:8001/sctp", &t);
	len = conntrack_dump_request(buf, &t, 77, true);
	parse_req(buf, len, &p);
	assert_int_equal(req_flags(&p), F_PROTO | F_DST_PORT);
	assert_null(p.tuple[CTA_TUPLE_IP]);
	assert_int_equal(mnl_attr_get_u8(p.proto[CTA_PROTO_NUM]), IPPROTO_SCTP);
}

/* Nothing exact but the family (or no filter asked): a plain family dump. */
static void test_request_without_exact_parts_is_a_family_dump(void **state)
{
	static const char *const targets[] = {"10.77.0.0/24", "fd77::2", "0.0.0.0/0"};
	char buf[CONNTRACK_REQ_SIZE];
	struct isol_target t;
	struct parsed_req p;
	size_t i, len;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		parse(targets[i], &t);
		len = conntrack_dump_request(buf, &t, 77, true);
		parse_req(buf, len, &p);
		assert_int_equal(len, NLMSG_LENGTH(sizeof(struct nfgenmsg)));
		assert_int_equal(p.nfg->nfgen_family, t.family);
	}
	parse("10.77.0.2:8001", &t);
	len = conntrack_dump_request(buf, &t, 77, false);
	parse_req(buf, len, &p);
	assert_int_equal(len, NLMSG_LENGTH(sizeof(struct nfgenmsg)));
	assert_null(p.ct[CTA_FILTER]);
	assert_null(p.ct[CTA_TUPLE_ORIG]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_cases),
	    cmocka_unit_test(test_match_never_crosses_families),
	    cmocka_unit_test(test_match_port_without_proto_needs_ports),
	    cmocka_unit_test(test_request_ipv4_host_port_is_filtered_by_kernel),
	    cmocka_unit_test(test_request_ipv6_address_stays_in_userspace),
	    cmocka_unit_test(test_request_filters_only_exact_parts),
	    cmocka_unit_test(test_request_without_exact_parts_is_a_family_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
