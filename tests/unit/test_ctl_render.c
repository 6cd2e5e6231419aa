/* test_ctl_render.c - isolctl without a socket: the request JSON writer, the
 * response reader, and the text it prints for people (ctl/ctl_render.c, with
 * ctl/ctl_json.c compiled in here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ctl_json.c is pure (no I/O but a FILE for pretty-printing): compile it into
 * this test rather than link it, since only ctl_render.c is linked. */
#include "ctl_json.c"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers */

struct capture {
	char *text;
	size_t len;
	FILE *f;
};

static void cap_open(struct capture *c)
{
	c->text = NULL;
	c->len = 0;
	c->f = open_memstream(&c->text, &c->len);
	assert_non_null(c->f);
}

static char *cap_close(struct capture *c)
{
	fclose(c->f);
	return c->text;
}

/* Parse @text as a response the way ctl_receive does. */
static void resp_from(struct ctl_resp *r, const char *text)
{
	struct isol_err err = {0};
	char *line = strdup(text);

	assert_non_null(line);
	if (ctl_resp_parse(r, line, strlen(line), &err) != 0)
		fail_msg("ctl_resp_parse(%s): %s", text, err.msg);
}

static char *jw_string(const char *s, size_t n)
{
	struct ctl_jw w;
	char *out;

	assert_int_equal(ctl_jw_init(&w, 8, NULL, NULL), 0);
	ctl_jw_str(&w, s, n);
	assert_int_equal(w.error, 0);
	out = strndup(w.buf, w.len);
	ctl_jw_fini(&w);
	return out;
}

/* ---- the request writer */

static void test_jw_escapes(void **state)
{
	static const char in[] = "a\"b\\c\nd\te\x01\x1f\x7f \xc3\xa9 \xf0\x9f\x98\x80 /";
	char *out = jw_string(in, sizeof(in) - 1);
	json_t *back;

	assert_string_equal(
	    out, "\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f\x7f \xc3\xa9 \xf0\x9f\x98\x80 /\"");
	/* and jansson reads back exactly the input */
	back = json_loads(out, JSON_DECODE_ANY, NULL);
	assert_non_null(back);
	assert_int_equal(json_string_length(back), sizeof(in) - 1);
	assert_memory_equal(json_string_value(back), in, sizeof(in) - 1);
	json_decref(back);
	free(out);

	out = jw_string("", 0);
	assert_string_equal(out, "\"\"");
	free(out);
}

struct sink {
	char buf[4096];
	size_t len;
	int calls;
	int fail_after; /* -1: never */
};

static int sink_flush(void *ctx, const char *data, size_t len)
{
	struct sink *s = ctx;

	if (s->fail_after >= 0 && s->calls >= s->fail_after)
		return -EPIPE;
	s->calls++;
	assert_true(s->len + len <= sizeof(s->buf));
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

static void test_jw_streams(void **state)
{
	struct sink sink = {.fail_after = -1};
	struct ctl_jw w;
	json_t *doc, *lines;
	const char *text;
	char line[64];
	int i;

	/* a 64-byte buffer flushed many times gives the same text as one buffer */
	assert_int_equal(ctl_jw_init(&w, 64, sink_flush, &sink), 0);
	ctl_jw_lit(&w, "{\"v\":1");
	ctl_jw_key(&w, "lines", false);
	ctl_jw_raw(&w, "[", 1);
	for (i = 0; i < 50; i++) {
		snprintf(line, sizeof(line), "isolate 10.0.0.%d --reason \"n %d\"", i, i);
		if (i)
			ctl_jw_raw(&w, ",", 1);
		ctl_jw_str(&w, line, strlen(line));
	}
	ctl_jw_raw(&w, "]}", 2);
	assert_int_equal(ctl_jw_flush(&w), 0);
	ctl_jw_fini(&w);
	assert_true(sink.calls > 10);

	doc = json_loadb(sink.buf, sink.len, 0, NULL);
	assert_non_null(doc);
	lines = json_object_get(doc, "lines");
	assert_int_equal(json_array_size(lines), 50);
	assert_string_equal(json_string_value(json_array_get(lines, 7)),
			    "isolate 10.0.0.7 --reason \"n 7\"");
	json_decref(doc);

	/* apply's "text": lines written as pieces of one string, escapes and all */
	memset(&sink, 0, sizeof(sink));
	sink.fail_after = -1;
	assert_int_equal(ctl_jw_init(&w, 64, sink_flush, &sink), 0);
	ctl_jw_lit(&w, "{\"text\":\"");
	for (i = 0; i < 50; i++) {
		snprintf(line, sizeof(line), "isolate 10.0.0.%d --reason \"n\t%d\"", i, i);
		ctl_jw_str_body(&w, line, strlen(line));
		ctl_jw_raw(&w, "\\n", 2);
	}
	ctl_jw_raw(&w, "\"}", 2);
	assert_int_equal(ctl_jw_flush(&w), 0);
	ctl_jw_fini(&w);
	doc = json_loadb(sink.buf, sink.len, 0, NULL);
	assert_non_null(doc);
	assert_non_null(strstr(json_string_value(json_object_get(doc, "text")),
			       "\nisolate 10.0.0.7 --reason \"n\t7\"\nisolate 10.0.0.8 "));
	text = json_string_value(json_object_get(doc, "text"));
	assert_int_equal(text[json_string_length(json_object_get(doc, "text")) - 1], '\n');
	json_decref(doc);

	/* a failing sink: the error sticks, later writes are no-ops */
	memset(&sink, 0, sizeof(sink));
	sink.fail_after = 1;
	assert_int_equal(ctl_jw_init(&w, 64, sink_flush, &sink), 0);
	for (i = 0; i < 100; i++)
		ctl_jw_lit(&w, "0123456789");
	assert_int_equal(w.error, -EPIPE);
	assert_int_equal(ctl_jw_flush(&w), -EPIPE);
	assert_int_equal(sink.calls, 1);
	ctl_jw_fini(&w);
}

static void test_jw_value(void **state)
{
	json_t *v = json_pack("{s:i, s:s, s:b, s:n, s:[i, f, {}], s:{s:s}}", "id", 7, "target",
			      "10.0.0.5:5672/tcp", "force", 1, "none", "list", -3, 1.5, "obj",
			      "k\"ey", "v\nal");
	struct ctl_jw w;
	json_t *back;

	assert_non_null(v);
	assert_int_equal(ctl_jw_init(&w, 16, NULL, NULL), 0);
	ctl_jw_value(&w, v);
	back = json_loadb(w.buf, w.len, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(v, back));
	/* compact and in insertion order */
	assert_memory_equal(w.buf, "{\"id\":7,\"target\":", 17);
	ctl_jw_fini(&w);
	json_decref(back);
	json_decref(v);
}

static void test_utf8(void **state)
{
	static const char *const good[] = {"",
					   "plain",
					   "\xc3\xa9t\xc3\xa9",
					   "\xe2\x9c\x93",
					   "\xf0\x9f\x98\x80",
					   "\xf4\x8f\xbf\xbf"};
	static const char *const bad[] = {
	    "\xff",		/* never valid */
	    "\xc0\xaf",		/* overlong '/' */
	    "\xe0\x80\xaf",	/* overlong */
	    "\xed\xa0\x80",	/* surrogate */
	    "\xf4\x90\x80\x80", /* past U+10FFFF */
	    "\xe2\x82",		/* cut short */
	    "ab\x80",		/* stray continuation */
	    "\xc3(",		/* bad continuation */
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		assert_true(ctl_utf8_valid(good[i], strlen(good[i])));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (ctl_utf8_valid(bad[i], strlen(bad[i])))
			fail_msg("bad UTF-8 #%zu accepted", i);
}

/* ---- the response reader */

static void test_json_skip(void **state)
{
	static const char *const good[] = {
	    "{}",
	    "[]",
	    " {\"a\" : [1, -2.5e+3, true, false, null, \"x\\u00e9\\n\"]} ",
	    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
	    "0",
	    "-0.1",
	    "{\"a\":{\"b\":{\"c\":[[]]}}}",
	};
	static const char *const bad[] = {
	    "",	     "{",	"[1,]",	     "{\"a\":1,}", "{a:1}",    "{\"a\" 1}",
	    "[1 2]", "\"\\x\"", "\"\\u12\"", "\"a\nb\"",   "01",       "1.",
	    "-",     "tru",	"nul",	     "[\"\xff\"]", "{\"a\":}", "\"open",
	};
	char deep[300];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		const char *end = good[i] + strlen(good[i]);
		const char *p = ctl_json_skip(good[i], end);

		if (p == NULL)
			fail_msg("valid JSON refused: %s", good[i]);
		assert_ptr_equal(skip_ws(p, end), end);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *end = bad[i] + strlen(bad[i]);
		const char *p = ctl_json_skip(bad[i], end);

		/* "01" stops after "0": not the whole text */
		if (p != NULL && skip_ws(p, end) == end)
			fail_msg("invalid JSON accepted: %s", bad[i]);
	}
	/* nesting is bounded: no stack overflow on hostile input */
	memset(deep, '[', 150);
	memset(deep + 150, ']', 150);
	assert_null(ctl_json_skip(deep, deep + 300));
}

static void test_json_iterate(void **state)
{
	static const char text[] = "{ \"a\" : 1 , \"b\":[1,{\"c\":\"}\"}] ,\"d\\\"\":\"x\"}";
	const char *key, *val, *vend;
	struct ctl_json_it it;
	size_t klen;

	assert_int_equal(ctl_json_it_init(&it, text, text + strlen(text)), 0);
	assert_int_equal(ctl_json_it_next(&it, &key, &klen, &val, &vend), 1);
	assert_int_equal(klen, 1);
	assert_memory_equal(key, "a", 1);
	assert_memory_equal(val, "1", (size_t)(vend - val));
	assert_int_equal(ctl_json_it_next(&it, &key, &klen, &val, &vend), 1);
	assert_memory_equal(key, "b", 1);
	assert_int_equal(vend - val, strlen("[1,{\"c\":\"}\"}]"));
	assert_int_equal(ctl_json_it_next(&it, &key, &klen, &val, &vend), 1);
	assert_int_equal(klen, 3); /* raw: d\" */
	assert_int_equal(ctl_json_it_next(&it, &key, &klen, &val, &vend), 0);
	assert_int_equal(ctl_json_it_next(&it, &key, &klen, &val, &vend), 0);
}

static void test_json_decode(void **state)
{
	static const char text[] = "\"a\\\"b\\\\ \\u00e9 \\ud83d\\ude00 \\ud800x \\/\\n\"";
	const char *end = text + strlen(text);
	char out[64], small[6];
	uint64_t v;

	assert_int_equal(ctl_json_str_decode(text, end, out, sizeof(out)), 0);
	assert_string_equal(out, "a\"b\\ \xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbdx /\n");
	/* cut at a character boundary, never inside one */
	assert_int_equal(ctl_json_str_decode("\"ab\xc3\xa9\xc3\xa9\"", end, small, sizeof(small)),
			 0);
	assert_string_equal(small, "ab\xc3\xa9");
	assert_int_equal(ctl_json_str_decode("12", end, out, sizeof(out)), -EINVAL);

	assert_int_equal(ctl_json_u64(" 42", " 42" + 3, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ctl_json_u64("1764060000000", "1764060000000" + 13, &v), 0);
	assert_int_equal(v, 1764060000000ull);
	assert_int_equal(ctl_json_u64("-1", "-1" + 2, &v), -EINVAL);
	assert_int_equal(ctl_json_u64("1.5", "1.5" + 3, &v), -EINVAL);
	assert_int_equal(ctl_json_u64("1e3", "1e3" + 3, &v), -EINVAL);
	assert_int_equal(ctl_json_u64("\"7\"", "\"7\"" + 3, &v), -EINVAL);
	assert_int_equal(
	    ctl_json_u64("99999999999999999999999", "99999999999999999999999" + 23, &v), -EINVAL);
}

static void test_resp_parse(void **state)
{
	static const char *const bad[] = {
	    "not json",
	    "[1,2]",
	    "{}",
	    "{\"ok\":1}",
	    "{\"ok\":true} trailing",
	    "{\"ok\":true,",
	    "{\"ok\":true,\"actions\":[1,]}",
	};
	struct isol_err err = {0};
	struct ctl_resp r;
	size_t i;

	resp_from(&r, "{\"ok\":true,\"actions\":[{\"id\":1},{\"id\":2}],\"now_ms\":5}");
	assert_true(json_is_true(json_object_get(r.obj, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r.obj, "now_ms")), 5);
	assert_int_equal(json_array_size(json_object_get(r.obj, "actions")), 0);
	assert_non_null(r.items);
	assert_memory_equal(r.items, "[{\"id\":1},{\"id\":2}]", r.items_len);
	ctl_resp_fini(&r);

	resp_from(&r, "{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"m\"}}");
	assert_true(json_is_false(json_object_get(r.obj, "ok")));
	assert_null(r.items);
	ctl_resp_fini(&r);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char *line = strdup(bad[i]);

		isol_err_clear(&err);
		if (ctl_resp_parse(&r, line, strlen(line), &err) != -EPROTO)
			fail_msg("bad response accepted: %s", bad[i]);
		assert_true(strlen(err.msg) > 0);
		assert_null(r.obj);
	}
}

static void test_json_pretty(void **state)
{
	static const char in[] = "{\"a\":[1,{},[]],\"b\":\"x,y:{\\\"}\",\"c\":{\"d\":null}}";
	struct capture c;
	char *out;

	cap_open(&c);
	ctl_json_pretty(c.f, in, strlen(in));
	out = cap_close(&c);
	assert_string_equal(out, "{\n"
				 "  \"a\": [\n"
				 "    1,\n"
				 "    {},\n"
				 "    []\n"
				 "  ],\n"
				 "  \"b\": \"x,y:{\\\"}\",\n"
				 "  \"c\": {\n"
				 "    \"d\": null\n"
				 "  }\n"
				 "}\n");
	free(out);
}

/* ---- text for people */

#define NOW 1764060000000ull

static const char list_two[] =
    "{\"ok\":true,\"now_ms\":1764060000000,\"actions\":["
    "{\"id\":7,\"kind\":\"isolate\",\"target\":\"10.0.0.5:5672/tcp\",\"direction\":\"out\","
    "\"mode\":\"reject\",\"created_ms\":1764059940000,\"expires_ms\":1764061740000,"
    "\"ttl_ms\":1800000,\"origin\":\"cli\",\"reason\":\"rabbitmq stuck\","
    "\"actor\":{\"uid\":0,\"pid\":4242,\"comm\":\"isolctl\"},\"packets\":12,\"bytes\":720},"
    "{\"id\":12345,\"kind\":\"isolate\",\"target\":\"[2001:db8::5]:80-90/udp\","
    "\"direction\":\"all\",\"mode\":\"drop\",\"created_ms\":1763973600000,\"expires_ms\":0,"
    "\"origin\":\"policy:rabbit\",\"reason\":\"\",\"actor\":{\"uid\":4000000000},"
    "\"packets\":0},"
    "{\"id\":12346,\"kind\":\"steer\",\"target\":\"10.0.0.5:5672/tcp\",\"to\":\"10.0.0.6\","
    "\"created_ms\":1764059940000,\"expires_ms\":0,\"origin\":\"cli\",\"reason\":\"\","
    "\"actor\":{\"uid\":1000,\"user\":\"ann\",\"pid\":9},\"packets\":3},"
    "{\"id\":12347,\"kind\":\"route\",\"target\":\"10.9.0.0/24\",\"type\":\"via\","
    "\"to\":\"10.0.0.2\",\"dev\":\"eth1\",\"created_ms\":1764059940000,\"expires_ms\":0,"
    "\"origin\":\"cli\",\"reason\":\"\",\"actor\":{\"uid\":0},\"packets\":0}]}";

static void test_list(void **state)
{
	struct ctl_resp r;
	struct capture c;
	char *out;

	resp_from(&r, list_two);
	cap_open(&c);
	/* the agent's now_ms wins over the local clock */
	ctl_render_list(c.f, &r, 1);
	out = cap_close(&c);
	assert_string_equal(
	    out,
	    "   ID  KIND     TARGET                   TO                     DIR  MODE    AGE  TTL  ORIGIN         ACTOR           HITS  REASON\n"
	    "    7  isolate  10.0.0.5:5672/tcp        -                      out  reject  1m   29m  cli            root(4242)        12  rabbitmq stuck\n"
	    "12345  isolate  [2001:db8::5]:80-90/udp  -                      all  drop    1d   -    policy:rabbit  uid 4000000000     0  -\n"
	    "12346  steer    10.0.0.5:5672/tcp        10.0.0.6               -    -       1m   -    cli            ann(9)             3  -\n"
	    "12347  route    10.9.0.0/24              via 10.0.0.2 dev eth1  -    -       1m   -    cli            root               0  -\n");
	free(out);
	ctl_resp_fini(&r);

	resp_from(&r, "{\"ok\":true,\"actions\":[]}");
	cap_open(&c);
	ctl_render_list(c.f, &r, NOW);
	out = cap_close(&c);
	assert_string_equal(out, "no active actions\n");
	free(out);
	ctl_resp_fini(&r);
}

static void test_list_rounding(void **state)
{
	/* 200 ms left is 1s, not 0s; 1.9 s old is 1s; past expiry says so */
	static const char text[] = "{\"ok\":true,\"now_ms\":100000,\"actions\":["
				   "{\"id\":1,\"created_ms\":98100,\"expires_ms\":100200},"
				   "{\"id\":2,\"created_ms\":1,\"expires_ms\":99999}]}";
	struct ctl_resp r;
	struct capture c;
	char *out;

	resp_from(&r, text);
	cap_open(&c);
	ctl_render_list(c.f, &r, 0);
	out = cap_close(&c);
	assert_string_equal(
	    out, "ID  KIND  TARGET  TO  DIR  MODE  AGE    TTL      ORIGIN  ACTOR  HITS  REASON\n"
		 " 1  -     -       -   -    -     1s     1s       -       -         -  -\n"
		 " 2  -     -       -   -    -     1m39s  expired  -       -         -  -\n");
	free(out);
	ctl_resp_fini(&r);
}

static void test_list_odd(void **state)
{
	/* wrong types, a non-object element, hostile text: "-" and '?', never a crash */
	static const char text[] =
	    "{\"ok\":true,\"actions\":[42,\"x\",null,{},"
	    "{\"id\":\"7\",\"target\":5,\"actor\":\"root\",\"packets\":-1,\"created_ms\":1.5,"
	    "\"reason\":\"\\u001b[31mred\\u009b\",\"origin\":[1,2]},"
	    "{\"id\":3,\"actor\":{\"uid\":-1,\"pid\":\"x\"},\"target\":\"" /* a long one */
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aa"
	    "\"}]}";
	struct ctl_resp r;
	struct capture c;
	char *out;

	resp_from(&r, text);
	cap_open(&c);
	ctl_render_list(c.f, &r, NOW);
	out = cap_close(&c);
	assert_null(strchr(out, '\x1b'));
	assert_null(strstr(out, "\xc2\x9b"));
	assert_non_null(strstr(out, "?[31mred?\n"));
	/* 6 rows and a header */
	{
		int lines = 0;

		for (char *p = out; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, 7);
	}
	free(out);
	ctl_resp_fini(&r);

	/* a response without the array at all */
	resp_from(&r, "{\"ok\":true,\"actions\":7}");
	cap_open(&c);
	ctl_render_list(c.f, &r, NOW);
	out = cap_close(&c);
	assert_string_equal(out, "no active actions\n");
	free(out);
	ctl_resp_fini(&r);
}

static char *render_isolate(const char *text, bool dry_run)
{
	struct ctl_resp r;
	struct capture c;

	resp_from(&r, text);
	cap_open(&c);
	ctl_render_isolate(c.f, r.obj, dry_run);
	ctl_resp_fini(&r);
	return cap_close(&c);
}

static void test_isolate(void **state)
{
	char *out;

	out = render_isolate("{\"ok\":true,\"action\":{\"id\":7,\"target\":\"10.0.0.5:5672/tcp\","
			     "\"direction\":\"out\",\"mode\":\"reject\",\"ttl_ms\":1800000}}",
			     false);
	assert_string_equal(out, "isolated 10.0.0.5:5672/tcp (id 7, out, reject, ttl 30m)\n");
	free(out);

	out = render_isolate("{\"ok\":true,\"action\":{\"id\":8,\"target\":\"10.0.0.0/24\","
			     "\"direction\":\"all\",\"mode\":\"drop\",\"ttl_ms\":5400000}}",
			     false);
	assert_string_equal(out, "isolated 10.0.0.0/24 (id 8, all, drop, ttl 1h30m)\n");
	free(out);

	out = render_isolate("{\"ok\":true}", false);
	assert_string_equal(out, "isolated - (id -, -, -, no ttl)\n");
	free(out);

	out = render_isolate("{\"ok\":true,\"action\":{},\"changes\":[\"add element inet isol "
			     "out4 { 10.0.0.7 . tcp . 80 }\",7,\"second\"]}",
			     true);
	assert_string_equal(out, "dry run: would apply:\n"
				 "  add element inet isol out4 { 10.0.0.7 . tcp . 80 }\n"
				 "  second\n");
	free(out);

	out = render_isolate("{\"ok\":true,\"changes\":[]}", true);
	assert_string_equal(out, "dry run: would apply: nothing\n");
	free(out);
}

static void test_removed(void **state)
{
	struct ctl_resp r;
	struct capture c;
	char *out;

	resp_from(&r, "{\"ok\":true,\"removed\":[{\"id\":7,\"target\":\"10.0.0.5:5672/tcp\"},"
		      "{\"id\":9,\"target\":\"10.0.0.6\"},{}]}");
	cap_open(&c);
	ctl_render_removed(c.f, &r, false);
	out = cap_close(&c);
	assert_string_equal(out, "rolled back 7 10.0.0.5:5672/tcp\n"
				 "rolled back 9 10.0.0.6\n"
				 "rolled back - -\n");
	free(out);
	ctl_resp_fini(&r);

	resp_from(&r, "{\"ok\":true,\"removed\":[{\"id\":7,\"target\":\"10.0.0.5\"}],"
		      "\"changes\":[\"destroy element x\"]}");
	cap_open(&c);
	ctl_render_removed(c.f, &r, true);
	out = cap_close(&c);
	assert_string_equal(out, "dry run: would roll back 7 10.0.0.5\n"
				 "dry run: would apply:\n"
				 "  destroy element x\n");
	free(out);
	ctl_resp_fini(&r);

	resp_from(&r, "{\"ok\":true,\"removed\":[]}");
	cap_open(&c);
	ctl_render_removed(c.f, &r, false);
	out = cap_close(&c);
	assert_string_equal(out, "nothing rolled back\n");
	free(out);
	ctl_resp_fini(&r);
}

static char *render_apply(const char *text, bool dry_run)
{
	struct ctl_resp r;
	struct capture c;

	resp_from(&r, text);
	cap_open(&c);
	ctl_render_apply(c.f, r.obj, dry_run);
	ctl_resp_fini(&r);
	return cap_close(&c);
}

static void test_apply(void **state)
{
	static const struct {
		const char *resp;
		bool dry_run;
		const char *want;
	} cases[] = {
	    {"{\"ok\":true,\"count\":100000,\"first_id\":1,\"last_id\":100000}", false,
	     "applied 100000 actions (ids 1-100000)\n"},
	    {"{\"ok\":true,\"count\":1,\"first_id\":5,\"last_id\":5}", false,
	     "applied 1 action (id 5)\n"},
	    {"{\"ok\":true,\"count\":0,\"first_id\":0,\"last_id\":0}", false,
	     "applied 0 actions (nothing to do)\n"},
	    {"{\"ok\":true,\"count\":3}", false, "applied 3 actions\n"},
	    {"{\"ok\":true}", false, "applied (the agent did not say how many actions)\n"},
	    {"{\"ok\":true,\"dry_run\":true,\"count\":3,\"first_id\":0,\"last_id\":0}", true,
	     "dry run: 3 actions valid, nothing applied\n"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out = render_apply(cases[i].resp, cases[i].dry_run);

		assert_string_equal(out, cases[i].want);
		free(out);
	}
}

static int render_error(const char *text, const char *verb, char **out)
{
	struct ctl_resp r;
	struct capture c;
	int rc;

	resp_from(&r, text);
	cap_open(&c);
	rc = ctl_render_error(c.f, r.obj, verb);
	ctl_resp_fini(&r);
	*out = cap_close(&c);
	return rc;
}

static void test_errors(void **state)
{
	static const struct {
		const char *code;
		int exit_code;
	} codes[] = {
	    {"invalid", 2}, {"denied", 1},   {"protected", 1}, {"not_found", 1},     {"exists", 1},
	    {"kernel", 1},  {"internal", 1}, {"busy", 1},      {"something_new", 1},
	};
	char text[256], *out;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		snprintf(text, sizeof(text),
			 "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"it failed\"}}",
			 codes[i].code);
		assert_int_equal(render_error(text, "isolate", &out), codes[i].exit_code);
		assert_memory_equal(out, "isolctl: it failed\n", 19);
		free(out);
		assert_int_equal(ctl_exit_for_code(codes[i].code), codes[i].exit_code);
	}
	assert_int_equal(ctl_exit_for_code(NULL), 1);

	assert_int_equal(render_error("{\"ok\":false,\"error\":{\"code\":\"protected\",\"message\":"
				      "\"127.0.0.1 is protected\"}}",
				      "isolate", &out),
			 1);
	assert_string_equal(out,
			    "isolctl: 127.0.0.1 is protected\n"
			    "isolctl: hint: to act on a protected target anyway, add --force\n");
	free(out);
	/* the agent's message already says how: no second hint */
	assert_int_equal(render_error("{\"ok\":false,\"error\":{\"code\":\"protected\",\"message\":"
				      "\"x is protected; add --force if you mean it\"}}",
				      "isolate", &out),
			 1);
	assert_string_equal(out, "isolctl: x is protected; add --force if you mean it\n");
	free(out);

	/* no error object at all; a message with escapes in it */
	assert_int_equal(render_error("{\"ok\":false}", "list", &out), 1);
	assert_string_equal(out, "isolctl: isolagent refused the request without a message\n");
	free(out);
	assert_int_equal(render_error("{\"ok\":false,\"error\":{\"code\":\"kernel\",\"message\":"
				      "\"bad\\u001b]0;title\\u0007\\nline\"}}",
				      "list", &out),
			 1);
	assert_string_equal(out, "isolctl: bad?]0;title??line\n");
	free(out);
}

static void test_show(void **state)
{
	struct ctl_resp r;
	struct capture c;
	char *out;

	setenv("TZ", "UTC", 1);
	tzset();
	resp_from(&r,
		  "{\"ok\":true,\"action\":{\"id\":7,\"kind\":\"isolate\",\"target\":"
		  "\"10.0.0.5:5672/tcp\",\"direction\":\"out\",\"mode\":\"reject\","
		  "\"created_ms\":1764059940000,\"expires_ms\":1764061740000,\"ttl_ms\":1800000,"
		  "\"origin\":\"cli\",\"reason\":\"rabbitmq stuck\",\"actor\":{\"uid\":0,\"pid\":"
		  "4242,\"comm\":\"isolctl\"},\"packets\":12,\"bytes\":720,\"force\":false,"
		  "\"extra_field\":{\"a\":1}}}");
	cap_open(&c);
	ctl_render_show(c.f, r.obj, NOW);
	out = cap_close(&c);
	assert_string_equal(out, "id:          7\n"
				 "kind:        isolate\n"
				 "target:      10.0.0.5:5672/tcp\n"
				 "direction:   out\n"
				 "mode:        reject\n"
				 "created:     2025-11-25 08:39:00 +0000 (1m ago)\n"
				 "expires:     2025-11-25 09:09:00 +0000 (in 29m)\n"
				 "ttl:         30m\n"
				 "origin:      cli\n"
				 "reason:      rabbitmq stuck\n"
				 "actor:       root (uid 0), pid 4242, isolctl\n"
				 "packets:     12\n"
				 "bytes:       720\n"
				 "force:       no\n"
				 "extra_field: {\"a\":1}\n");
	free(out);
	ctl_resp_fini(&r);

	/* nothing there: every documented field as "-" */
	resp_from(&r, "{\"ok\":true}");
	cap_open(&c);
	ctl_render_show(c.f, r.obj, NOW);
	out = cap_close(&c);
	assert_non_null(strstr(out, "id:        -\n"));
	assert_non_null(strstr(out, "expires:   -\n"));
	assert_non_null(strstr(out, "actor:     -\n"));
	assert_null(strstr(out, "force"));
	free(out);
	ctl_resp_fini(&r);
}

static void test_status(void **state)
{
	struct ctl_resp r;
	struct capture c;
	char *out;

	resp_from(&r, "{\"ok\":true,\"version\":\"0.1.0\",\"pid\":99,\"uptime_ms\":3723000,"
		      "\"actions\":2,\"table\":\"inet isol\",\"owner\":true,\"persist\":false,"
		      "\"state_dir\":\"/var/lib/isol\",\"journal_bytes\":4096,\"batch_us_p50\":38,"
		      "\"later\":\"x\"}");
	cap_open(&c);
	ctl_render_status(c.f, r.obj);
	out = cap_close(&c);
	assert_string_equal(out, "version:   0.1.0\n"
				 "pid:       99\n"
				 "uptime:    1h2m3s\n"
				 "actions:   2\n"
				 "table:     inet isol\n"
				 "owner:     yes\n"
				 "persist:   no\n"
				 "state_dir: /var/lib/isol\n"
				 "journal:   4096 bytes\n"
				 "batch_p50: 38 us\n"
				 "later:     x\n");
	free(out);
	ctl_resp_fini(&r);
}

static void test_put_safe(void **state)
{
	struct capture c;
	char *out;

	cap_open(&c);
	ctl_put_safe(c.f, "ok \xc3\xa9 \x1b[2J \x7f \xc2\x9b end\r");
	out = cap_close(&c);
	assert_string_equal(out, "ok \xc3\xa9 ?[2J ? ? end?");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jw_escapes),	  cmocka_unit_test(test_jw_streams),
	    cmocka_unit_test(test_jw_value),	  cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_json_skip),	  cmocka_unit_test(test_json_iterate),
	    cmocka_unit_test(test_json_decode),	  cmocka_unit_test(test_resp_parse),
	    cmocka_unit_test(test_json_pretty),	  cmocka_unit_test(test_list),
	    cmocka_unit_test(test_list_rounding), cmocka_unit_test(test_list_odd),
	    cmocka_unit_test(test_isolate),	  cmocka_unit_test(test_removed),
	    cmocka_unit_test(test_apply),	  cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_show),	  cmocka_unit_test(test_status),
	    cmocka_unit_test(test_put_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
