/* test_apply_parse.c - an apply request's lines -> actions: line numbers,
 * blanks and comments, every bad line named, and the same answer from one
 * thread as from two. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_parse.h"

/* A writable copy with the byte of room apply_parse() wants. */
static char *dup_text(const char *s, size_t *len)
{
	char *t;

	*len = strlen(s);
	t = malloc(*len + 1);
	assert_non_null(t);
	memcpy(t, s, *len + 1);
	return t;
}

static void test_lines_and_numbers(void **state)
{
	static const char text[] = "# incident 42\n"
				   "\n"
				   "isolate 10.0.0.5:5672 --ttl 30m --reason \"rabbitmq stuck\"\r\n"
				   "   # indented comment \xff\xfe (any bytes)\n"
				   "isolate 10.0.1.0/24 --direction all --mode drop\n"
				   "steer 10.0.0.5:5672 --to 10.0.0.6 --no-check"; /* no final newline */
	struct apply_parsed p;
	size_t len;
	char *t = dup_text(text, &len);

	assert_int_equal(apply_parse(t, len, "f.txt", true, 1, &p), 0);
	assert_int_equal(p.bad, 0);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.lineno[0], 3);
	assert_int_equal(p.lineno[1], 5);
	assert_int_equal(p.lineno[2], 6);
	assert_string_equal(p.acts[0]->spec.reason, "rabbitmq stuck"); /* no "\r" */
	assert_int_equal(p.acts[0]->spec.ttl_ms, 30 * 60 * 1000);
	assert_int_equal(p.acts[1]->spec.mode, ISOL_MODE_DROP);
	assert_int_equal(p.acts[2]->spec.kind, ISOL_KIND_STEER);
	assert_true(p.acts[0]->spec.force && p.acts[2]->spec.force); /* @force on every one */
	assert_int_equal(p.acts[0]->id, 0);				 /* not in a set yet */
	apply_parsed_fini(&p);
	free(t);
}

static void test_every_bad_line_named(void **state)
{
	static const char text[] = "isolate 10.0.0.5:5672\n"
				   "isolate 10.0.0.5:70000\n"
				   "frobnicate 10.0.0.6\n"
				   "isolate 10.0.0.7 --reason \"caf\xe9\"\n"
				   "isolate 10.0.0.8\0x\n"
				   "isolate 10.0.0.9\n";
	struct apply_parsed p;
	size_t len = sizeof(text) - 1;
	char *t = malloc(len + 1);

	assert_non_null(t);
	memcpy(t, text, len + 1);
	assert_int_equal(apply_parse(t, len, "f.txt", false, 1, &p), 0);
	assert_int_equal(p.bad, 4);
	assert_int_equal(p.n, 0); /* all or nothing */
	assert_non_null(strstr(p.first.msg, "f.txt:2: "));
	assert_non_null(strstr(p.details.buf, "f.txt:3: "));
	assert_non_null(strstr(p.details.buf, "f.txt:4: line is not valid UTF-8"));
	assert_non_null(strstr(p.details.buf, "f.txt:5: NUL byte in line"));
	assert_null(strstr(p.details.buf, "f.txt:6"));
	apply_parsed_fini(&p);
	free(t);
}

/* N lines, every line @bad_every-th one bad (0: none) */
static char *many(size_t n, size_t bad_every, size_t *len)
{
	char *t = malloc(n * 64 + 1), *p = t;
	size_t i;

	assert_non_null(t);
	for (i = 0; i < n; i++) {
		if (bad_every && i % bad_every == bad_every - 1)
			p += sprintf(p, "isolate 10.%zu.%zu.%zu:99999\n", i >> 16 & 255, i >> 8 & 255,
				     i & 255);
		else if (i % 7 == 3)
			p += sprintf(p, "# comment %zu\n", i);
		else
			p += sprintf(p, "isolate 10.%zu.%zu.%zu:%zu --ttl 1h\n", i >> 16 & 255,
				     i >> 8 & 255, i & 255, 1 + i % 65535);
	}
	*len = (size_t)(p - t);
	return t;
}

static void test_two_threads_same_answer(void **state)
{
	const size_t n = 3 * APPLY_PARALLEL_MIN + 5;
	struct apply_parsed one, two;
	size_t len, len2, i;
	char *t1 = many(n, 0, &len), *t2 = many(n, 0, &len2);

	assert_int_equal(apply_parse(t1, len, "big", false, 1, &one), 0);
	assert_int_equal(apply_parse(t2, len2, "big", false, 2, &two), 0);
	assert_int_equal(one.bad, 0);
	assert_int_equal(two.bad, 0);
	assert_int_equal(one.n, two.n);
	assert_true(one.n > n / 2);
	for (i = 0; i < one.n; i++) {
		assert_int_equal(one.lineno[i], two.lineno[i]);
		assert_memory_equal(&one.acts[i]->spec.target, &two.acts[i]->spec.target,
				    sizeof(one.acts[i]->spec.target));
		assert_int_equal(two.acts[i]->spec.ttl_ms, 3600000);
	}
	apply_parsed_fini(&one);
	apply_parsed_fini(&two);
	free(t1);
	free(t2);

	/* bad lines in both halves: counted, the first APPLY_ERRORS_MAX named in
	 * line order, the first one the message */
	t1 = many(n, 97, &len);
	t2 = many(n, 97, &len2);
	assert_int_equal(apply_parse(t1, len, "big", false, 1, &one), 0);
	assert_int_equal(apply_parse(t2, len2, "big", false, 2, &two), 0);
	assert_int_equal(one.bad, n / 97);
	assert_int_equal(two.bad, one.bad);
	assert_int_equal(two.n, 0);
	assert_string_equal(one.first.msg, two.first.msg);
	assert_non_null(strstr(two.first.msg, "big:97: "));
	assert_string_equal(one.details.buf, two.details.buf);
	apply_parsed_fini(&one);
	apply_parsed_fini(&two);
	free(t1);
	free(t2);
}

static void test_empty(void **state)
{
	struct apply_parsed p;
	char t[1] = "";

	assert_int_equal(apply_parse(t, 0, "e", false, 2, &p), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.bad, 0);
	apply_parsed_fini(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_and_numbers),
	    cmocka_unit_test(test_every_bad_line_named),
	    cmocka_unit_test(test_two_threads_same_answer),
	    cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
