/* test_wire.c - isol_spec <-> JSON and the socket path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isol/wire.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

static void test_round_trip(void **state)
{
	static const char *const lines[] = {
	    "isolate 10.0.0.5:5672",
	    "isolate 10.0.0.5",
	    "isolate [2001:db8::5]:80-90/udp --direction in,fwd --mode drop --ttl 90s",
	    "isolate 10.0.0.0/24 --direction all --force --reason 'planned maintenance'",
	    "isolate 2001:db8::/32/sctp --reason \"it's \\\\ \xc3\xa9t\xc3\xa9 \xe2\x9c\x93\"",
	    "isolate 10.0.0.5:1-65535/udp --ttl 36500d --direction out,in",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		struct isol_spec spec, back;
		struct isol_err err = {0};
		char *text;
		json_t *o, *again;

		assert_int_equal(isol_spec_parse_line(lines[i], &spec, &err), 0);
		o = isol_spec_to_json(&spec);
		assert_non_null(o);
		/* through text, as on the socket */
		text = json_dumps(o, JSON_COMPACT);
		assert_non_null(text);
		print_message("%s\n", text);
		again = json_loads(text, 0, NULL);
		assert_non_null(again);
		if (isol_spec_from_json(again, &back, &err) != 0)
			fail_msg("%s: %s", text, err.msg);
		assert_spec_equal(&spec, &back);
		free(text);
		json_decref(again);
		json_decref(o);
	}
}

static void test_fields(void **state)
{
	struct isol_spec spec;
	json_t *o;

	assert_int_equal(isol_spec_parse_line("isolate 10.0.0.5:80 --direction in,out --mode drop "
					      "--ttl 30s --reason why --force",
					      &spec, NULL),
			 0);
	o = isol_spec_to_json(&spec);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "isolate");
	assert_string_equal(json_string_value(json_object_get(o, "target")), "10.0.0.5:80/tcp");
	assert_string_equal(json_string_value(json_object_get(o, "direction")), "out,in");
	assert_string_equal(json_string_value(json_object_get(o, "mode")), "drop");
	assert_int_equal(json_integer_value(json_object_get(o, "ttl_ms")), 30000);
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "why");
	assert_true(json_is_true(json_object_get(o, "force")));
	assert_int_equal(json_object_size(o), 7);
	json_decref(o);

	/* no TTL and no reason: the fields are left out */
	assert_int_equal(isol_spec_parse_line("isolate 10.0.0.5", &spec, NULL), 0);
	o = isol_spec_to_json(&spec);
	assert_null(json_object_get(o, "ttl_ms"));
	assert_null(json_object_get(o, "reason"));
	assert_true(json_is_false(json_object_get(o, "force")));
	assert_string_equal(json_string_value(json_object_get(o, "direction")), "out");
	json_decref(o);
}

/* Only target is required; the rest takes the CLI defaults. */
static void test_minimal_request(void **state)
{
	struct isol_err err = {0};
	struct isol_spec spec;
	json_t *o =
	    json_loads("{\"v\":1,\"op\":\"isolate\",\"target\":\"10.0.0.5:5672\"}", 0, NULL);

	assert_int_equal(isol_spec_from_json(o, &spec, &err), 0);
	assert_int_equal(spec.kind, ISOL_KIND_ISOLATE);
	assert_int_equal(spec.dirs, ISOL_DIR_OUT);
	assert_int_equal(spec.mode, ISOL_MODE_REJECT);
	assert_int_equal(spec.ttl_ms, 0);
	assert_false(spec.force);
	assert_int_equal(spec.target.port_lo, 5672);
	json_decref(o);
}

static const struct {
	const char *json;
	const char *needle;
} bad[] = {
    {"[]", "must be a JSON object"},
    {"\"isolate\"", "must be a JSON object"},
    {"{}", "missing field 'target'"},
    {"{\"target\":5}", "'target' must be a string"},
    {"{\"target\":null}", "'target' must be a string"},
    {"{\"target\":\"10.0.0.5:0\"}", "port 0"},
    {"{\"target\":\"nonsense\"}", "'nonsense'"},
    {"{\"target\":\"10.0.0.5\",\"kind\":\"explode\"}", "unknown kind 'explode'"},
    {"{\"target\":\"10.0.0.5\",\"kind\":\"steer\"}", "needs --to"},
    {"{\"kind\":\"pin\",\"host\":\"a b\",\"to\":\"10.0.0.6\"}", "not a hostname"},
    {"{\"kind\":\"route\",\"target\":\"10.9.0.0/24\",\"type\":\"nowhere\"}", "'nowhere'"},
    {"{\"target\":\"10.0.0.5\",\"kill_flows\":true}", "kill_flows goes with steer"},
    {"{\"target\":\"--force\"}", "bad target"},
    {"{\"target\":\"10.0.0.5\",\"kind\":1}", "'kind' must be a string"},
    {"{\"target\":\"10.0.0.5\",\"direction\":\"up\"}", "bad --direction 'up'"},
    {"{\"target\":\"10.0.0.5\",\"direction\":[\"out\"]}", "'direction' must be a string"},
    {"{\"target\":\"10.0.0.5\",\"mode\":\"explode\"}", "bad --mode 'explode'"},
    {"{\"target\":\"10.0.0.5\",\"ttl_ms\":0}", "ttl_ms"},
    {"{\"target\":\"10.0.0.5\",\"ttl_ms\":-1}", "ttl_ms"},
    {"{\"target\":\"10.0.0.5\",\"ttl_ms\":1.5}", "ttl_ms"},
    {"{\"target\":\"10.0.0.5\",\"ttl_ms\":\"30s\"}", "ttl_ms"},
    {"{\"target\":\"10.0.0.5\",\"ttl_ms\":3153600000001}", "ttl_ms"},
    {"{\"target\":\"10.0.0.5\",\"force\":\"yes\"}", "'force' must be true or false"},
    {"{\"target\":\"10.0.0.5\",\"force\":1}", "'force' must be true or false"},
    {"{\"target\":\"10.0.0.5\",\"reason\":7}", "'reason' must be a string"},
    {"{\"target\":\"10.0.0.5\",\"reason\":\"a\\nb\"}", "one line"},
    {"{\"target\":\"10.0.0.5\",\"reason\":\"a\\rb\"}", "one line"},
};

static void test_bad_fields(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct isol_err err = {0};
		struct isol_spec spec;
		json_error_t jerr;
		json_t *o = json_loads(bad[i].json, JSON_DECODE_ANY, &jerr);
		int rc;

		if (o == NULL)
			fail_msg("test JSON %s: %s", bad[i].json, jerr.text);
		rc = isol_spec_from_json(o, &spec, &err);
		print_message("%s -> %d %s\n", bad[i].json, rc, err.msg);
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(err.code, -EINVAL);
		assert_non_null(strstr(err.msg, bad[i].needle));
		json_decref(o);
	}
}

static void test_reason_length(void **state)
{
	char reason[ISOL_REASON_MAX + 2];
	struct isol_err err = {0};
	struct isol_spec spec;
	json_t *o;

	memset(reason, 'r', sizeof(reason) - 1);
	reason[ISOL_REASON_MAX] = '\0';
	o = json_pack("{s:s, s:s}", "target", "10.0.0.5", "reason", reason);
	assert_int_equal(isol_spec_from_json(o, &spec, &err), 0);
	assert_int_equal(strlen(spec.reason), ISOL_REASON_MAX);
	json_decref(o);

	reason[ISOL_REASON_MAX] = 'r';
	reason[ISOL_REASON_MAX + 1] = '\0';
	o = json_pack("{s:s, s:s}", "target", "10.0.0.5", "reason", reason);
	assert_int_equal(isol_spec_from_json(o, &spec, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "at most 200"));
	json_decref(o);
}

static void test_max_ttl(void **state)
{
	struct isol_err err = {0};
	struct isol_spec spec;
	json_t *o = json_pack("{s:s, s:I}", "target", "10.0.0.5", "ttl_ms",
			      (json_int_t)(100ll * 365 * 86400000ll));

	assert_int_equal(isol_spec_from_json(o, &spec, &err), 0);
	assert_int_equal(spec.ttl_ms, 100ull * 365 * 86400000ull);
	json_decref(o);
}

static void test_socket_path(void **state)
{
	unsetenv(ISOL_SOCKET_ENV);
	assert_string_equal(isol_socket_path(NULL), ISOL_DEFAULT_SOCKET);
	assert_string_equal(isol_socket_path(""), ISOL_DEFAULT_SOCKET);
	setenv(ISOL_SOCKET_ENV, "/tmp/env.sock", 1);
	assert_string_equal(isol_socket_path(NULL), "/tmp/env.sock");
	assert_string_equal(isol_socket_path("/tmp/opt.sock"), "/tmp/opt.sock");
	setenv(ISOL_SOCKET_ENV, "", 1);
	assert_string_equal(isol_socket_path(NULL), ISOL_DEFAULT_SOCKET);
	unsetenv(ISOL_SOCKET_ENV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_minimal_request), cmocka_unit_test(test_bad_fields),
	    cmocka_unit_test(test_reason_length),   cmocka_unit_test(test_max_ttl),
	    cmocka_unit_test(test_socket_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
