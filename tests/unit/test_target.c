/* test_target.c - target parsing, canonical form and comparisons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "isol/target.h"
#include "isol/spec.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct valid_case {
	const char *in;
	int family;
	const char *addr; /* as inet_pton reads it */
	unsigned plen;
	unsigned proto;
	unsigned lo, hi;
	const char *canonical;
};

static const struct valid_case valid[] = {
    {"10.0.0.5", AF_INET, "10.0.0.5", 32, 0, 0, 65535, "10.0.0.5"},
    {"10.0.0.5:5672", AF_INET, "10.0.0.5", 32, IPPROTO_TCP, 5672, 5672, "10.0.0.5:5672/tcp"},
    {"10.0.0.5:5672/tcp", AF_INET, "10.0.0.5", 32, IPPROTO_TCP, 5672, 5672, "10.0.0.5:5672/tcp"},
    {"10.0.0.5:53/udp", AF_INET, "10.0.0.5", 32, IPPROTO_UDP, 53, 53, "10.0.0.5:53/udp"},
    {"10.0.0.5:80-90/sctp", AF_INET, "10.0.0.5", 32, IPPROTO_SCTP, 80, 90, "10.0.0.5:80-90/sctp"},
    {"10.0.0.5:1", AF_INET, "10.0.0.5", 32, IPPROTO_TCP, 1, 1, "10.0.0.5:1/tcp"},
    {"10.0.0.5:65535", AF_INET, "10.0.0.5", 32, IPPROTO_TCP, 65535, 65535, "10.0.0.5:65535/tcp"},
    {"10.0.0.5:1-65535", AF_INET, "10.0.0.5", 32, IPPROTO_TCP, 1, 65535, "10.0.0.5:1-65535/tcp"},
    {"10.0.0.5:80-80", AF_INET, "10.0.0.5", 32, IPPROTO_TCP, 80, 80, "10.0.0.5:80/tcp"},
    {"10.0.0.5:080", AF_INET, "10.0.0.5", 32, IPPROTO_TCP, 80, 80, "10.0.0.5:80/tcp"},
    /* every port of one protocol, written two ways */
    {"10.0.0.5/udp", AF_INET, "10.0.0.5", 32, IPPROTO_UDP, 0, 65535, "10.0.0.5/udp"},
    {"10.0.0.5:0-65535", AF_INET, "10.0.0.5", 32, IPPROTO_TCP, 0, 65535, "10.0.0.5/tcp"},
    {"10.0.0.5/32", AF_INET, "10.0.0.5", 32, 0, 0, 65535, "10.0.0.5"},
    {"10.0.0.0/24", AF_INET, "10.0.0.0", 24, 0, 0, 65535, "10.0.0.0/24"},
    {"10.0.0.0/24:443", AF_INET, "10.0.0.0", 24, IPPROTO_TCP, 443, 443, "10.0.0.0/24:443/tcp"},
    {"10.0.0.0/24/udp", AF_INET, "10.0.0.0", 24, IPPROTO_UDP, 0, 65535, "10.0.0.0/24/udp"},
    {"10.1.0.0/16:1000-2000/udp", AF_INET, "10.1.0.0", 16, IPPROTO_UDP, 1000, 2000,
     "10.1.0.0/16:1000-2000/udp"},
    {"0.0.0.0/0", AF_INET, "0.0.0.0", 0, 0, 0, 65535, "0.0.0.0/0"},
    {"2001:db8::5", AF_INET6, "2001:db8::5", 128, 0, 0, 65535, "2001:db8::5"},
    {"2001:DB8:0:0::5", AF_INET6, "2001:db8::5", 128, 0, 0, 65535, "2001:db8::5"},
    {"[2001:db8::5]:5672", AF_INET6, "2001:db8::5", 128, IPPROTO_TCP, 5672, 5672,
     "[2001:db8::5]:5672/tcp"},
    {"[2001:db8::5]:80-90/udp", AF_INET6, "2001:db8::5", 128, IPPROTO_UDP, 80, 90,
     "[2001:db8::5]:80-90/udp"},
    {"[2001:db8::5]", AF_INET6, "2001:db8::5", 128, 0, 0, 65535, "2001:db8::5"},
    {"2001:db8::5/tcp", AF_INET6, "2001:db8::5", 128, IPPROTO_TCP, 0, 65535, "2001:db8::5/tcp"},
    {"2001:db8::/32", AF_INET6, "2001:db8::", 32, 0, 0, 65535, "2001:db8::/32"},
    {"[2001:db8::/32]:443", AF_INET6, "2001:db8::", 32, IPPROTO_TCP, 443, 443,
     "[2001:db8::/32]:443/tcp"},
    {"::/0", AF_INET6, "::", 0, 0, 0, 65535, "::/0"},
    {"::1", AF_INET6, "::1", 128, 0, 0, 65535, "::1"},
    {"[::1]:22", AF_INET6, "::1", 128, IPPROTO_TCP, 22, 22, "[::1]:22/tcp"},
    {"::ffff:10.0.0.5", AF_INET6, "::ffff:10.0.0.5", 128, 0, 0, 65535, "::ffff:10.0.0.5"},
    /* eight groups, no "::": two colons or more means IPv6, even with digits only */
    {"2001:db8:0:0:0:0:5:80", AF_INET6, "2001:db8::5:80", 128, 0, 0, 65535, "2001:db8::5:80"},
};

static void test_valid(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(valid); i++) {
		const struct valid_case *c = &valid[i];
		struct isol_err err = {0};
		struct isol_target t, again;
		uint8_t addr[16] = {0};
		char buf[ISOL_TARGET_STRLEN];
		int rc;

		print_message("valid: %s\n", c->in);
		rc = isol_target_parse(c->in, &t, &err);
		if (rc != 0)
			print_message("  unexpected error: %s\n", err.msg);
		assert_int_equal(rc, 0);
		assert_int_equal(err.code, 0);
		assert_int_equal(t.family, c->family);
		assert_int_equal(inet_pton(c->family, c->addr, addr), 1);
		assert_memory_equal(t.addr, addr, c->family == AF_INET ? 4 : 16);
		assert_int_equal(t.plen, c->plen);
		assert_int_equal(t.proto, c->proto);
		assert_int_equal(t.port_lo, c->lo);
		assert_int_equal(t.port_hi, c->hi);

		rc = isol_target_format(&t, buf, sizeof(buf));
		assert_int_equal(rc, (int)strlen(c->canonical));
		assert_string_equal(buf, c->canonical);

		/* the canonical form parses back to the same target and text */
		assert_int_equal(isol_target_parse(buf, &again, &err), 0);
		assert_true(isol_target_equal(&t, &again));
		assert_int_equal(isol_target_format(&again, buf, sizeof(buf)),
				 (int)strlen(c->canonical));
		assert_string_equal(buf, c->canonical);
	}
}

struct invalid_case {
	const char *in;
	const char *needle; /* must appear in the message */
	const char *needle2;
};

static const struct invalid_case invalid[] = {
    {"10.0.0.5:65536", "65536", "over 65535"},
    {"10.0.0.5:70000", "70000", "over 65535"},
    {"10.0.0.5:99999999999", "99999999999", "10.0.0.5"},
    {"10.0.0.5:80-70000", "70000", "over 65535"},
    {"10.0.0.5:0", "port 0", "10.0.0.5:0"},
    {"10.0.0.5:0-0", "port 0", NULL},
    {"10.0.0.5:90-80", "90-80", "reversed"},
    {"10.0.0.5:abc", "'abc'", NULL},
    {"10.0.0.5:", "port ''", NULL},
    {"10.0.0.5:-80", "'-80'", NULL},
    {"10.0.0.5:80-", "'80-'", NULL},
    {"10.0.0.5:+80", "'+80'", NULL},
    {"10.0.0.256", "'10.0.0.256'", "IPv4"},
    {"10.0.0", "'10.0.0'", NULL},
    {"10.0.0.5.6", "'10.0.0.5.6'", NULL},
    {"10.0.0.5/24", "host bits", "/24"},
    {"2001:db8::5/64", "host bits", "/64"},
    {"10.0.0.0/33", "'33'", "0..32"},
    {"2001:db8::/129", "'129'", "0..128"},
    {"10.0.0.0/", "''", NULL},
    {"10.0.0.5:80/icmp", "'icmp'", "unknown protocol"},
    {"10.0.0.5/TCP", "'TCP'", "unknown protocol"},
    {"garbage", "'garbage'", NULL},
    {"", "empty", NULL},
    {"[2001:db8::5:80", "missing ']'", NULL},
    {"[2001:db8::5]80", "':PORT'", NULL},
    {"[2001:db8::5]:", "port ''", NULL},
    {"[10.0.0.5]:80", "'10.0.0.5'", "IPv6"},
    {"[]", "''", NULL},
    {"2001:db8::zz", "'2001:db8::zz'", NULL},
    {"fe80::1%eth0", "'fe80::1%eth0'", NULL},
    {"10.0.0.5 ", "'10.0.0.5 '", NULL},
    {"10.0.0.5:80:90", "'10.0.0.5:80:90'", "not an IPv6"},
    {"2001:db8::5:99999", "brackets", NULL},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "too long", NULL},
};

static void test_invalid(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(invalid); i++) {
		const struct invalid_case *c = &invalid[i];
		struct isol_err err = {0};
		struct isol_target t;
		int rc;

		rc = isol_target_parse(c->in, &t, &err);
		print_message("invalid: '%s' -> %d %s\n", c->in, rc, err.msg);
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(err.code, -EINVAL);
		assert_non_null(strstr(err.msg, c->needle));
		if (c->needle2)
			assert_non_null(strstr(err.msg, c->needle2));
		assert_null(strchr(err.msg, '\n'));
	}
}

/* Without brackets, "ADDR:PORT" with an IPv6 address cannot be told apart
 * from a longer address: 2001:db8::5:80 is one address, no port. */
static void test_ipv6_without_brackets_is_an_address(void **state)
{
	struct isol_target t;
	char buf[ISOL_TARGET_STRLEN];

	assert_int_equal(isol_target_parse("2001:db8::5:80/udp", &t, NULL), 0);
	assert_int_equal(t.family, AF_INET6);
	assert_int_equal(t.proto, IPPROTO_UDP);
	assert_false(isol_target_has_port(&t));
	isol_target_format(&t, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::5:80/udp");
}

static void test_null_err_is_allowed(void **state)
{
	struct isol_target t;

	assert_int_equal(isol_target_parse("nope", &t, NULL), -EINVAL);
	assert_int_equal(isol_target_parse(NULL, &t, NULL), -EINVAL);
}

static void test_first_error_wins(void **state)
{
	struct isol_err err = {0};
	struct isol_target t;

	assert_int_equal(isol_target_parse("10.0.0.5:0", &t, &err), -EINVAL);
	assert_int_equal(isol_target_parse("garbage", &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "port 0"));
	assert_null(strstr(err.msg, "garbage"));
}

static void parse(const char *s, struct isol_target *t)
{
	struct isol_err err = {0};

	if (isol_target_parse(s, t, &err) != 0)
		fail_msg("%s: %s", s, err.msg);
}

static void test_predicates(void **state)
{
	struct isol_target t;

	parse("10.0.0.5:80", &t);
	assert_true(isol_target_is_host(&t));
	assert_true(isol_target_has_port(&t));
	assert_true(isol_target_is_exact(&t));
	assert_int_equal(isol_target_addr_len(&t), 4);

	parse("10.0.0.5", &t);
	assert_true(isol_target_is_host(&t));
	assert_false(isol_target_has_port(&t));
	assert_false(isol_target_is_exact(&t));

	parse("10.0.0.5:80-81", &t);
	assert_false(isol_target_is_exact(&t));

	parse("10.0.0.0/24:80", &t);
	assert_false(isol_target_is_host(&t));
	assert_false(isol_target_is_exact(&t));

	parse("[2001:db8::1]:443", &t);
	assert_true(isol_target_is_exact(&t));
	assert_int_equal(isol_target_addr_len(&t), 16);

	assert_string_equal(isol_proto_name(IPPROTO_TCP), "tcp");
	assert_string_equal(isol_proto_name(IPPROTO_UDP), "udp");
	assert_string_equal(isol_proto_name(IPPROTO_SCTP), "sctp");
	assert_string_equal(isol_proto_name(0), "all");
	assert_string_equal(isol_proto_name(IPPROTO_ICMP), "?");
}

static void test_equal(void **state)
{
	struct isol_target a, b;

	parse("10.0.0.5:80", &a);
	parse("10.0.0.5:80/tcp", &b);
	assert_true(isol_target_equal(&a, &b));
	parse("10.0.0.5:80/udp", &b);
	assert_false(isol_target_equal(&a, &b));
	parse("10.0.0.5:81", &b);
	assert_false(isol_target_equal(&a, &b));
	parse("10.0.0.5:80-81", &b);
	assert_false(isol_target_equal(&a, &b));
	parse("10.0.0.6:80", &b);
	assert_false(isol_target_equal(&a, &b));
	parse("[::ffff:10.0.0.5]:80", &b);
	assert_false(isol_target_equal(&a, &b));
	parse("10.0.0.0/24", &a);
	parse("10.0.0.0/25", &b);
	assert_false(isol_target_equal(&a, &b));
}

static void test_overlaps(void **state)
{
	struct isol_target t;
	uint8_t a[16];

	parse("10.0.0.0/24", &t);
	inet_pton(AF_INET, "10.0.0.77", a);
	assert_true(isol_target_overlaps(&t, AF_INET, a, 32));
	inet_pton(AF_INET, "10.0.1.77", a);
	assert_false(isol_target_overlaps(&t, AF_INET, a, 32));
	/* a wider prefix contains the target */
	inet_pton(AF_INET, "10.0.0.0", a);
	assert_true(isol_target_overlaps(&t, AF_INET, a, 8));
	inet_pton(AF_INET, "11.0.0.0", a);
	assert_false(isol_target_overlaps(&t, AF_INET, a, 8));
	/* other family never overlaps */
	inet_pton(AF_INET6, "::ffff:10.0.0.77", a);
	assert_false(isol_target_overlaps(&t, AF_INET6, a, 128));

	parse("2001:db8::5", &t);
	inet_pton(AF_INET6, "2001:db8::", a);
	assert_true(isol_target_overlaps(&t, AF_INET6, a, 32));
	assert_false(isol_target_overlaps(&t, AF_INET6, a, 128));
	inet_pton(AF_INET6, "2001:db8::5", a);
	assert_true(isol_target_overlaps(&t, AF_INET6, a, 128));
	/* /0 covers everything of its family */
	inet_pton(AF_INET6, "fe80::1", a);
	assert_true(isol_target_overlaps(&t, AF_INET6, a, 0));
}

static void test_format_truncates(void **state)
{
	struct isol_target t;
	char buf[8];
	int n;

	parse("[2001:db8::5]:80-90/udp", &t);
	n = isol_target_format(&t, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen("[2001:db8::5]:80-90/udp"));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, "[2001:d", 7);
}

/* The longest possible target fits ISOL_TARGET_STRLEN. */
/* A target with no address (a pin's, zeroed) formats as "-", never as the
 * bytes of an address buffer inet_ntop() left unwritten (found by
 * fuzz_spec_line: "pin HOST ::" formatted back). */
static void test_format_no_address(void **state)
{
	struct isol_target t;
	struct isol_spec spec;
	char buf[128];

	memset(&t, 0, sizeof(t));
	assert_int_equal(isol_target_format(&t, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "-");
	assert_int_equal(isol_spec_parse_line("pin\nr32solate\n::", &spec, NULL), 0);
	isol_spec_format(&spec, buf, sizeof(buf));
	assert_string_equal(buf, "pin r32solate ::");
}

static void test_strlen_is_enough(void **state)
{
	struct isol_target t;
	char buf[ISOL_TARGET_STRLEN];

	parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120]:65534-65535/sctp", &t);
	assert_true(isol_target_format(&t, buf, sizeof(buf)) < (int)sizeof(buf));
	assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120]:65534-65535/sctp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_ipv6_without_brackets_is_an_address),
	    cmocka_unit_test(test_null_err_is_allowed),
	    cmocka_unit_test(test_first_error_wins),
	    cmocka_unit_test(test_predicates),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_overlaps),
	    cmocka_unit_test(test_format_truncates),
	    cmocka_unit_test(test_strlen_is_enough),
	    cmocka_unit_test(test_format_no_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
