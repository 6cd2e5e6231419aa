/* test_spec.c - the words of a mutating verb: argv, apply lines, format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "isol/spec.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int parse_words(struct isol_spec *spec, bool *dry_run, struct isol_err *err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return isol_spec_parse_argv(argc, argv, spec, dry_run, err);
}

static void test_defaults(void **state)
{
	struct isol_err err = {0};
	struct isol_spec spec;
	bool dry = true;

	assert_int_equal(parse_words(&spec, &dry, &err, "isolate", "10.0.0.5:5672", NULL), 0);
	assert_int_equal(spec.kind, ISOL_KIND_ISOLATE);
	assert_int_equal(spec.dirs, ISOL_DIR_OUT);
	assert_int_equal(spec.mode, ISOL_MODE_REJECT);
	assert_int_equal(spec.ttl_ms, 0);
	assert_false(spec.force);
	assert_string_equal(spec.reason, "");
	assert_false(dry);
	assert_int_equal(spec.target.family, AF_INET);
	assert_int_equal(spec.target.port_lo, 5672);
	assert_int_equal(spec.target.proto, IPPROTO_TCP);
}

static void test_all_options(void **state)
{
	struct isol_err err = {0};
	struct isol_spec spec;
	bool dry = false;

	assert_int_equal(parse_words(&spec, &dry, &err, "isolate", "--direction", "in", "--mode",
				     "drop", "--ttl", "1h30m", "--reason", "rabbit stuck",
				     "--force", "--dry-run", "[2001:db8::5]:80/udp", NULL),
			 0);
	assert_int_equal(spec.dirs, ISOL_DIR_IN);
	assert_int_equal(spec.mode, ISOL_MODE_DROP);
	assert_int_equal(spec.ttl_ms, 5400000);
	assert_string_equal(spec.reason, "rabbit stuck");
	assert_true(spec.force);
	assert_true(dry);
	assert_int_equal(spec.target.family, AF_INET6);
	assert_int_equal(spec.target.proto, IPPROTO_UDP);
}

static void test_equals_form(void **state)
{
	struct isol_err err = {0};
	struct isol_spec spec;

	assert_int_equal(parse_words(&spec, NULL, &err, "isolate", "10.0.0.0/24", "--ttl=30s",
				     "--direction=out,fwd", "--mode=drop", "--reason=", NULL),
			 0);
	assert_int_equal(spec.ttl_ms, 30000);
	assert_int_equal(spec.dirs, ISOL_DIR_OUT | ISOL_DIR_FWD);
	assert_int_equal(spec.mode, ISOL_MODE_DROP);
	assert_string_equal(spec.reason, "");
	assert_int_equal(
	    parse_words(&spec, NULL, &err, "isolate", "10.0.0.5", "--direction=all", NULL), 0);
	assert_int_equal(spec.dirs, ISOL_DIR_ALL);
}

struct bad_argv {
	char words[8][24]; /* writable, as argv is */
	const char *needle;
};

static struct bad_argv bad[] = {
    {{"isolate", "10.0.0.5", "--bogus"}, "'--bogus'"},
    {{"isolate", "10.0.0.5", "--bogus=1"}, "'--bogus'"},
    {{"isolate", "10.0.0.5", "-x"}, "'-x'"},
    {{"isolate", "10.0.0.5", "--"}, "'--'"},
    {{"isolate", "10.0.0.5", "--force=yes"}, "--force"},
    {{"isolate", "10.0.0.5", "--ttl"}, "'--ttl' needs a value"},
    {{"isolate", "10.0.0.5", "--reason"}, "'--reason' needs a value"},
    {{"isolate", "10.0.0.5", "--direction"}, "'--direction' needs a value"},
    {{"isolate", "10.0.0.5", "--mode"}, "'--mode' needs a value"},
    {{"isolate", "10.0.0.5", "--ttl", "5x"}, "--ttl: "},
    {{"isolate", "10.0.0.5", "--ttl", "0s"}, "zero"},
    {{"isolate", "10.0.0.5", "--mode", "explode"}, "'explode'"},
    {{"isolate", "10.0.0.5", "--direction", "up"}, "'up'"},
    {{"isolate", "10.0.0.5", "--direction", "out,up"}, "'out,up'"},
    {{"isolate", "10.0.0.5", "--reason", "two\nlines"}, "one line"},
    {{"isolate", "10.0.0.5", "--reason", "caf\xe9"}, "UTF-8"},		/* latin-1 */
    {{"isolate", "10.0.0.5", "--reason", "\xc0\xaf"}, "UTF-8"},		/* overlong */
    {{"isolate", "10.0.0.5", "--reason", "\xed\xa0\x80"}, "UTF-8"},	/* surrogate */
    {{"isolate", "10.0.0.5", "--reason", "\xf4\x90\x80\x80"}, "UTF-8"}, /* > U+10FFFF */
    {{"isolate", "10.0.0.5", "--reason", "\xe2\x9c"}, "UTF-8"},		/* cut short */
    {{"isolate"}, "needs a TARGET"},
    {{"isolate", "--force"}, "needs a TARGET"},
    {{"isolate", "10.0.0.5", "10.0.0.6"}, "'10.0.0.6'"},
    {{"isolate", "10.0.0.5:0"}, "port 0"},
    {{"steer", "10.0.0.5"}, "needs --to"},
    {{"explode", "10.0.0.5"}, "'explode'"},
    {{"steer", "10.0.0.0/24", "--to", "10.0.0.6"}, "not a prefix"},
    {{"steer", "10.0.0.5:80-90", "--to", "10.0.0.6"}, "one port"},
    {{"steer", "10.0.0.5", "--to", "10.0.0.6:80"}, "needs a target with a port"},
    {{"steer", "10.0.0.5:80", "--to", "2001:db8::1"}, "same family"},
    {{"steer", "10.0.0.5:80", "--to", "10.0.0.0/24"}, "not a prefix"},
    {{"steer", "10.0.0.5:80", "--to", "10.0.0.6:70000"}, "over 65535"},
    {{"steer", "10.0.0.5:80", "--to", "10.0.0.6", "--mode", "drop"}, "unknown option '--mode' for steer"},
    {{"isolate", "10.0.0.5", "--to", "10.0.0.6"}, "unknown option '--to' for isolate"},
    {{"pin", "mq.internal"}, "HOSTNAME ADDR"},
    {{"pin", "mq internal", "10.0.0.6"}, "not a hostname"},
    {{"pin", "mq..internal", "10.0.0.6"}, "not a hostname"},
    {{"pin", "mq.internal", "10.0.0.6:80"}, "without a port"},
    {{"pin", "mq.internal", "banana"}, "'banana'"},
    {{"pin", "mq.internal", "10.0.0.6", "--check-port", "0"}, "--check-port"},
    {{"pin", "mq.internal", "10.0.0.6", "--check-port", "65536"}, "--check-port"},
    {{"route", "10.9.0.0/24"}, "route needs PREFIX"},
    {{"route", "10.9.0.0/24", "via"}, "gateway"},
    {{"route", "10.9.0.0/24", "via", "fd00::1"}, "family"},
    {{"route", "10.9.0.0/24", "towards", "10.0.0.1"}, "'towards'"},
    {{"route", "10.9.0.0/24:80", "blackhole"}, "without a port"},
    {{"route", "10.9.0.0/24", "blackhole", "dev", "eth0"}, "'dev' goes with 'via'"},
    {{"route", "10.9.0.0/24", "via", "10.0.0.1", "dev", "a/b"}, "interface name"},
    {{"route", "10.9.0.0/24", "via", "10.0.0.1", "extra"}, "unexpected 'extra'"},
    {{"route", "10.9.0.0/24", "blackhole", "--metric", "x"}, "--metric"},
    {{"route", "10.9.0.0/24", "blackhole", "--replace=yes"}, "takes no value"},
};

/* Each verb: words -> spec -> canonical words -> the same spec. */
static void test_kinds_round_trip(void **state)
{
	static const char *const lines[] = {
		"steer 10.0.0.5:5672 --to 10.0.0.6",
		"steer 10.0.0.5:5672/udp --to 10.0.0.6:5673 --kill-flows --no-check --ttl 5m",
		"steer [2001:db8::5]:80 --to [2001:db8::6]:8080",
		"steer 10.0.0.5 --to 10.0.0.6",
		"pin mq.internal 10.0.0.6",
		"pin db.internal 2001:db8::7 --check-port 5432 --reason 'db moved'",
		"route 10.9.0.0/24 via 10.0.0.2",
		"route 10.9.0.0/24 via 10.0.0.2 dev eth1 --metric 5 --replace --ttl 1h",
		"route 2001:db8:9::/48 blackhole",
		"route 10.9.0.0/16 unreachable --metric 100",
		"route 10.9.0.0/16 prohibit --force",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		struct isol_spec a, b;
		struct isol_err err = {0};
		char buf[1024];

		assert_int_equal(isol_spec_parse_line(lines[i], &a, &err), 0);
		isol_spec_format(&a, buf, sizeof(buf));
		assert_int_equal(isol_spec_parse_line(buf, &b, &err), 0);
		assert_int_equal(a.kind, b.kind);
		assert_true(isol_target_equal(&a.target, &b.target));
		assert_int_equal(a.to_family, b.to_family);
		assert_memory_equal(a.to_addr, b.to_addr, 16);
		assert_int_equal(a.to_port, b.to_port);
		assert_int_equal(a.kill_flows, b.kill_flows);
		assert_int_equal(a.no_check, b.no_check);
		assert_string_equal(a.host, b.host);
		assert_int_equal(a.check_port, b.check_port);
		assert_int_equal(a.route_type, b.route_type);
		assert_string_equal(a.dev, b.dev);
		assert_int_equal(a.metric, b.metric);
		assert_int_equal(a.replace, b.replace);
		assert_int_equal(a.ttl_ms, b.ttl_ms);
		assert_int_equal(a.force, b.force);
		assert_string_equal(a.reason, b.reason);
	}
}

static void test_kinds_values(void **state)
{
	struct isol_err err = {0};
	struct isol_spec s;
	char buf[64];

	assert_int_equal(isol_spec_parse_line("steer 10.0.0.5:5672 --to 10.0.0.6:5673", &s, &err), 0);
	assert_int_equal(s.kind, ISOL_KIND_STEER);
	assert_int_equal(s.to_port, 5673);
	isol_spec_to_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.6:5673");
	assert_int_equal(isol_spec_parse_line("pin mq.internal 10.0.0.6", &s, &err), 0);
	assert_string_equal(s.host, "mq.internal");
	isol_spec_subject(&s, buf, sizeof(buf));
	assert_string_equal(buf, "mq.internal");
	assert_int_equal(isol_spec_parse_line("route 10.9.0.0/24 via 10.0.0.2 dev eth1 --metric 7", &s, &err), 0);
	assert_int_equal(s.route_type, ISOL_ROUTE_VIA);
	assert_string_equal(s.dev, "eth1");
	assert_int_equal(s.metric, 7);
	assert_int_equal(s.target.plen, 24);
	assert_int_equal(isol_spec_parse_line("route 10.9.0.0/24 blackhole", &s, &err), 0);
	assert_int_equal(s.route_type, ISOL_ROUTE_BLACKHOLE);
	assert_int_equal(s.to_family, 0);
}

static void test_bad_argv(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct isol_err err = {0};
		struct isol_spec spec;
		char *argv[8];
		bool dry;
		int argc = 0, rc;

		while (argc < 8 && bad[i].words[argc][0] != '\0') {
			argv[argc] = bad[i].words[argc];
			argc++;
		}
		rc = isol_spec_parse_argv(argc, argv, &spec, &dry, &err);
		print_message("bad argv %zu -> %d %s\n", i, rc, err.msg);
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(err.code, -EINVAL);
		assert_non_null(strstr(err.msg, bad[i].needle));
	}
}

/* An empty value is a value, and a bad one. */
static void test_empty_value(void **state)
{
	struct isol_err err = {0};
	struct isol_spec spec;

	assert_int_equal(
	    parse_words(&spec, NULL, &err, "isolate", "10.0.0.5", "--direction", "", NULL),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "bad --direction ''"));
	isol_err_clear(&err);
	assert_int_equal(parse_words(&spec, NULL, &err, "isolate", "10.0.0.5", "--ttl", "", NULL),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "--ttl: empty duration"));
}

static void test_no_verb(void **state)
{
	struct isol_err err = {0};
	struct isol_spec spec;

	assert_int_equal(isol_spec_parse_argv(0, NULL, &spec, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "missing verb"));
}

static void test_reason_limits(void **state)
{
	char reason[ISOL_REASON_MAX + 2];
	struct isol_err err = {0};
	struct isol_spec spec;

	memset(reason, 'r', ISOL_REASON_MAX);
	reason[ISOL_REASON_MAX] = '\0';
	assert_int_equal(
	    parse_words(&spec, NULL, &err, "isolate", "10.0.0.5", "--reason", reason, NULL), 0);
	assert_string_equal(spec.reason, reason);
	assert_int_equal(parse_words(&spec, NULL, &err, "isolate", "10.0.0.5", "--reason",
				     "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\xa5", NULL),
			 0);
	assert_string_equal(spec.reason, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\xa5");

	reason[ISOL_REASON_MAX] = 'r';
	reason[ISOL_REASON_MAX + 1] = '\0';
	assert_int_equal(
	    parse_words(&spec, NULL, &err, "isolate", "10.0.0.5", "--reason", reason, NULL),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "longer than 200"));
}

static void test_dry_run_refused_without_pointer(void **state)
{
	struct isol_err err = {0};
	struct isol_spec spec;

	assert_int_equal(parse_words(&spec, NULL, &err, "isolate", "10.0.0.5", "--dry-run", NULL),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "--dry-run"));
}

/* isol_line_split */

struct split_case {
	const char *line;
	int argc;
	const char *words[6];
};

static const struct split_case splits[] = {
    {"", 0, {NULL}},
    {"   \t  ", 0, {NULL}},
    {"# a comment", 0, {NULL}},
    {"   # indented comment", 0, {NULL}},
    {"isolate 10.0.0.5", 2, {"isolate", "10.0.0.5"}},
    {"  isolate\t10.0.0.5  ", 2, {"isolate", "10.0.0.5"}},
    {"isolate 10.0.0.5\r\n", 2, {"isolate", "10.0.0.5"}},
    {"isolate 10.0.0.5 # why", 2, {"isolate", "10.0.0.5"}},
    {"isolate 10.0.0.5#not-a-comment", 2, {"isolate", "10.0.0.5#not-a-comment"}},
    {"a --reason \"two words\"", 3, {"a", "--reason", "two words"}},
    {"a --reason 'two words'", 3, {"a", "--reason", "two words"}},
    {"a --reason \"it's # fine\"", 3, {"a", "--reason", "it's # fine"}},
    {"a --reason 'say \"hi\"'", 3, {"a", "--reason", "say \"hi\""}},
    {"a --reason=\"x y\" b", 3, {"a", "--reason=x y", "b"}},
    {"a 'it'\"'\"'s'", 2, {"a", "it's"}},
    {"a \"\" b", 3, {"a", "", "b"}},
    {"a ''", 2, {"a", ""}},
};

static void test_line_split(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(splits); i++) {
		char buf[256], *argv[8];
		struct isol_err err = {0};
		int n, k;

		strcpy(buf, splits[i].line);
		n = isol_line_split(buf, argv, 8, &err);
		print_message("split '%s' -> %d\n", splits[i].line, n);
		assert_int_equal(n, splits[i].argc);
		for (k = 0; k < n; k++)
			assert_string_equal(argv[k], splits[i].words[k]);
	}
}

static void test_line_split_errors(void **state)
{
	char buf[256], *argv[4];
	struct isol_err err = {0};

	strcpy(buf, "isolate 10.0.0.5 --reason \"open");
	assert_int_equal(isol_line_split(buf, argv, 4, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unterminated \" quote"));

	isol_err_clear(&err);
	strcpy(buf, "isolate 'open");
	assert_int_equal(isol_line_split(buf, argv, 4, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unterminated ' quote"));

	isol_err_clear(&err);
	strcpy(buf, "a b c d");
	assert_int_equal(isol_line_split(buf, argv, 4, &err), 4);
	strcpy(buf, "a b c d e");
	assert_int_equal(isol_line_split(buf, argv, 4, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "too many words (max 4)"));
	/* trailing blanks after the last word are not one word too many */
	isol_err_clear(&err);
	strcpy(buf, "a b c d   # comment");
	assert_int_equal(isol_line_split(buf, argv, 4, &err), 4);
}

/* isol_spec_parse_line */

static void test_parse_line(void **state)
{
	struct isol_err err = {0};
	struct isol_spec spec;

	assert_int_equal(isol_spec_parse_line("isolate 10.1.2.3:5672 --ttl 1h --reason 'disk full' "
					      "--direction all # from the runbook",
					      &spec, &err),
			 0);
	assert_int_equal(spec.target.port_lo, 5672);
	assert_int_equal(spec.ttl_ms, 3600000);
	assert_string_equal(spec.reason, "disk full");
	assert_int_equal(spec.dirs, ISOL_DIR_ALL);

	assert_int_equal(isol_spec_parse_line("", &spec, &err), 1);
	assert_int_equal(isol_spec_parse_line("   ", &spec, &err), 1);
	assert_int_equal(isol_spec_parse_line("# only a comment", &spec, &err), 1);
	assert_int_equal(err.code, 0);
}

static void test_parse_line_errors(void **state)
{
	static const struct {
		const char *line;
		const char *needle;
	} cases[] = {
	    {"isolate 10.0.0.5 --dry-run", "--dry-run applies to the whole apply"},
	    {"isolate 10.0.0.5 --bogus", "'--bogus'"},
	    {"isolate 10.0.0.5 --ttl", "needs a value"},
	    {"isolate 10.0.0.5 --reason 'open", "unterminated"},
	    {"isolate 10.0.0.5:99999", "99999"},
	    {"quarantine 10.0.0.5", "'quarantine'"},
	    {"isolate", "needs a TARGET"},
	};
	char longline[2048];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct isol_err err = {0};
		struct isol_spec spec;

		assert_int_equal(isol_spec_parse_line(cases[i].line, &spec, &err), -EINVAL);
		print_message("line '%s' -> %s\n", cases[i].line, err.msg);
		assert_non_null(strstr(err.msg, cases[i].needle));
	}

	{
		struct isol_err err = {0};
		struct isol_spec spec;

		memset(longline, 'a', sizeof(longline) - 1);
		longline[sizeof(longline) - 1] = '\0';
		assert_int_equal(isol_spec_parse_line(longline, &spec, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "longer than"));
	}
	{
		struct isol_err err = {0};
		struct isol_spec spec;
		char many[256] = "isolate";

		for (i = 0; i < 40; i++)
			strcat(many, " x");
		assert_int_equal(isol_spec_parse_line(many, &spec, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "too many words"));
	}
}

static void assert_spec_equal(const struct isol_spec *a, const struct isol_spec *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_true(isol_target_equal(&a->target, &b->target));
	assert_int_equal(a->dirs, b->dirs);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->ttl_ms, b->ttl_ms);
	assert_int_equal(a->force, b->force);
	assert_string_equal(a->reason, b->reason);
}

/* isol_spec_format renders words that parse back to the same spec. */
static void test_format_round_trip(void **state)
{
	static const char *const lines[] = {
	    "isolate 10.0.0.5:5672",
	    "isolate [2001:db8::5]:80-90/udp --direction in,fwd --mode drop --ttl 90s",
	    "isolate 10.0.0.0/24 --direction all --force --reason 'planned maintenance'",
	    "isolate 10.0.0.5 --reason \"it's down\"",
	    "isolate 10.0.0.5 --reason 'he said \"no\"'",
	    "isolate 10.0.0.5 --reason 'it'\"'\"'s \"both\"'",
	    "isolate 10.0.0.5 --reason '# not a comment'",
	    "isolate 10.0.0.5 --reason 'tab\there'",
	    "isolate 10.0.0.5 --ttl 1d1h1m1s1ms --mode reject",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		struct isol_spec spec, back;
		struct isol_err err = {0};
		char buf[512];
		int n;

		assert_int_equal(isol_spec_parse_line(lines[i], &spec, &err), 0);
		n = isol_spec_format(&spec, buf, sizeof(buf));
		print_message("format: %s\n", buf);
		assert_int_equal(n, (int)strlen(buf));
		if (isol_spec_parse_line(buf, &back, &err) != 0)
			fail_msg("'%s' does not parse back: %s", buf, err.msg);
		assert_spec_equal(&spec, &back);
	}
}

static void test_format_text(void **state)
{
	struct isol_spec spec;
	char buf[256];

	assert_int_equal(isol_spec_parse_line("isolate 10.0.0.5:80 --ttl 90s --force", &spec, NULL),
			 0);
	isol_spec_format(&spec, buf, sizeof(buf));
	assert_string_equal(
	    buf, "isolate 10.0.0.5:80/tcp --direction out --mode reject --ttl 1m30s --force");
}

/* A short buffer: cut, NUL-terminated, and the full length returned. */
static void test_format_truncates(void **state)
{
	struct isol_spec spec, back;
	char full[512], buf[70];
	size_t cut;
	int n;

	assert_int_equal(isol_spec_parse_line("isolate 10.0.0.5", &spec, NULL), 0);
	strcpy(spec.reason, "it's \"quoted\" 'twice'");
	n = isol_spec_format(&spec, full, sizeof(full));
	assert_int_equal(n, (int)strlen(full));
	/* three ' and two ": double quotes, each " spelled "'"'" */
	assert_non_null(strstr(full, "--reason \"it's \"'\"'\"quoted\"'\"'\" 'twice'\""));
	assert_int_equal(isol_spec_parse_line(full, &back, NULL), 0);
	assert_string_equal(back.reason, "it's \"quoted\" 'twice'");

	for (cut = 1; cut <= sizeof(buf); cut++) {
		memset(buf, 'X', sizeof(buf));
		n = isol_spec_format(&spec, buf, cut);
		assert_true(n >= (int)cut - 1);
		assert_int_equal(strlen(buf), cut - 1 < strlen(full) ? cut - 1 : strlen(full));
		assert_memory_equal(buf, full, strlen(buf));
	}
}

/* The worst reason for quoting still formats into a line that an apply
 * file may hold (isol_spec_parse_line() takes 1023 bytes). */
static void test_format_worst_reason(void **state)
{
	struct isol_spec spec, back;
	struct isol_err err = {0};
	char line[1024];
	int i, n;

	assert_int_equal(
	    isol_spec_parse_line("isolate [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120]:"
				 "65534-65535/sctp --direction in,fwd --mode drop "
				 "--ttl 1d1h1m1s1ms --force",
				 &spec, NULL),
	    0);
	for (i = 0; i < ISOL_REASON_MAX; i++)
		spec.reason[i] = i % 2 ? '\'' : '"';
	spec.reason[ISOL_REASON_MAX] = '\0';
	n = isol_spec_format(&spec, line, sizeof(line));
	print_message("worst case: %d bytes\n", n);
	assert_true(n < (int)sizeof(line));
	if (isol_spec_parse_line(line, &back, &err) != 0)
		fail_msg("'%s': %s", line, err.msg);
	assert_string_equal(back.reason, spec.reason);
	assert_true(isol_target_equal(&spec.target, &back.target));
}

static void test_names(void **state)
{
	enum isol_mode mode;
	unsigned dirs;
	char buf[32];

	assert_string_equal(isol_kind_name(ISOL_KIND_ISOLATE), "isolate");
	assert_string_equal(isol_kind_name(__ISOL_KIND_MAX), "?");
	assert_string_equal(isol_mode_name(ISOL_MODE_DROP), "drop");
	assert_string_equal(isol_mode_name((enum isol_mode) - 1), "?");
	assert_int_equal(isol_mode_parse("reject", &mode), 0);
	assert_int_equal(mode, ISOL_MODE_REJECT);
	assert_int_equal(isol_mode_parse("Reject", &mode), -EINVAL);

	for (dirs = 1; dirs <= ISOL_DIR_ALL; dirs++) {
		unsigned back = 0;

		isol_dirs_format(dirs, buf, sizeof(buf));
		assert_int_equal(isol_dirs_parse(buf, &back), 0);
		assert_int_equal(back, dirs);
	}
	isol_dirs_format(ISOL_DIR_OUT | ISOL_DIR_FWD, buf, sizeof(buf));
	assert_string_equal(buf, "out,fwd");
	isol_dirs_format(ISOL_DIR_ALL, buf, sizeof(buf));
	assert_string_equal(buf, "all");
	assert_int_equal(isol_dirs_parse(",", &dirs), -EINVAL);
	assert_int_equal(isol_dirs_parse("", &dirs), -EINVAL);
	assert_int_equal(isol_dirs_parse("OUT", &dirs), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_all_options),
	    cmocka_unit_test(test_equals_form),
	    cmocka_unit_test(test_bad_argv),
	    cmocka_unit_test(test_kinds_round_trip),
	    cmocka_unit_test(test_kinds_values),
	    cmocka_unit_test(test_empty_value),
	    cmocka_unit_test(test_no_verb),
	    cmocka_unit_test(test_reason_limits),
	    cmocka_unit_test(test_dry_run_refused_without_pointer),
	    cmocka_unit_test(test_line_split),
	    cmocka_unit_test(test_line_split_errors),
	    cmocka_unit_test(test_parse_line),
	    cmocka_unit_test(test_parse_line_errors),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_format_text),
	    cmocka_unit_test(test_format_truncates),
	    cmocka_unit_test(test_format_worst_reason),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
