/* test_duration.c - human durations: parse, exact format, round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "isol/duration.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DAY	      86400000ull
#define MAX_MS	      (100ull * 365 * DAY)

static const struct {
	const char *in;
	uint64_t ms;
} valid[] = {
    {"500ms", 500},
    {"1ms", 1},
    {"30s", 30000},
    {"10m", 600000},
    {"2h", 7200000},
    {"1d", DAY},
    {"1h30m", 5400000},
    {"1m30s", 90000},
    {"90s", 90000},
    {"1s500ms", 1500},
    {"1d1h1m1s1ms", DAY + 3600000 + 60000 + 1000 + 1},
    {"0s5ms", 5}, /* a zero part is fine when the total is not */
    {"007s", 7000},
    {"1m1m", 120000},	/* repeated units add up */
    {"36500d", MAX_MS}, /* exactly the maximum */
};

static void test_parse_valid(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(valid); i++) {
		struct isol_err err = {0};
		uint64_t ms = 12345;

		print_message("valid: %s\n", valid[i].in);
		assert_int_equal(isol_duration_parse(valid[i].in, &ms, &err), 0);
		assert_int_equal(err.code, 0);
		assert_int_equal(ms, valid[i].ms);
	}
}

static const struct {
	const char *in;
	const char *needle;
} invalid[] = {
    {"", "empty"},
    {"0", "'0'"}, /* no unit */
    {"0s", "zero"},
    {"0ms0s", "zero"},
    {"5", "unit"},
    {"5x", "'x'"},
    {"5S", "'S'"},
    {"s", "number"},
    {"ms", "number"},
    {"-5s", "'-5s'"},
    {"+5s", "'+5s'"},
    {"1h 30m", "' 30m'"},
    {" 1h", "' 1h'"},
    {"1h ", "' '"},
    {"1.5h", "'.5h'"},
    {"1m30", "unit"},
    {"36501d", "too large"},
    {"99999999999999999999s", "too large"},
    {"18446744073709551615ms", "too large"},
    {"9999999999999999d", "too large"},
};

static void test_parse_invalid(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(invalid); i++) {
		struct isol_err err = {0};
		uint64_t ms = 4242;
		int rc;

		rc = isol_duration_parse(invalid[i].in, &ms, &err);
		print_message("invalid: '%s' -> %d %s\n", invalid[i].in, rc, err.msg);
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(err.code, -EINVAL);
		assert_non_null(strstr(err.msg, invalid[i].needle));
		assert_int_equal(ms, 4242); /* untouched on error */
	}
	assert_int_equal(isol_duration_parse(NULL, NULL, NULL), -EINVAL);
}

static const struct {
	uint64_t ms;
	const char *out;
} formats[] = {
    {0, "0s"},
    {1, "1ms"},
    {500, "500ms"},
    {1000, "1s"},
    {1500, "1s500ms"},
    {60000, "1m"},
    {90000, "1m30s"},
    {3600000, "1h"},
    {5400000, "1h30m"},
    {DAY, "1d"},
    {DAY + 1, "1d1ms"},
    {DAY + 3600000 + 60000 + 1000 + 1, "1d1h1m1s1ms"},
    {3 * DAY + 7200000, "3d2h"},
    {MAX_MS, "36500d"},
};

static void test_format(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(formats); i++) {
		char buf[64];
		uint64_t back;
		int n;

		n = isol_duration_format(formats[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, formats[i].out);
		assert_int_equal(n, (int)strlen(formats[i].out));
		if (formats[i].ms == 0)
			continue;
		/* the exact form parses back to the same value */
		assert_int_equal(isol_duration_parse(buf, &back, NULL), 0);
		assert_int_equal(back, formats[i].ms);
	}
}

static void test_format_round_trip_many(void **state)
{
	uint64_t ms, back;
	char buf[64];

	for (ms = 1; ms < MAX_MS; ms = ms * 3 + 7) {
		isol_duration_format(ms, buf, sizeof(buf));
		assert_int_equal(isol_duration_parse(buf, &back, NULL), 0);
		assert_int_equal(back, ms);
	}
}

static void test_format_truncates(void **state)
{
	char buf[5];
	int n;

	n = isol_duration_format(DAY + 3600000 + 60000 + 1000 + 1, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 4);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "1d1h", 4);
	assert_int_equal(isol_duration_format(1000, buf, 0), 0);
	n = isol_duration_format(1000, buf, 1);
	assert_int_equal(n, 0);
	assert_string_equal(buf, "");
}

static void test_clocks(void **state)
{
	uint64_t now = isol_now_ms(), m1 = isol_mono_ms(), m2;

	assert_true(now > 1600000000000ull); /* after 2020 */
	assert_true(now < 4102444800000ull); /* before 2100 */
	m2 = isol_mono_ms();
	assert_true(m2 >= m1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),	     cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_format),	     cmocka_unit_test(test_format_round_trip_many),
	    cmocka_unit_test(test_format_truncates), cmocka_unit_test(test_clocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
