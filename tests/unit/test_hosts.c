/* test_hosts.c - the managed hosts block: everything outside it is kept byte
 * for byte, and removing the last pin gives the original file back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sched.h>
#include <sys/mount.h>

#include "hosts.h"

static const struct hosts_pin pins[] = {
	{ 12, "mq.internal", "10.0.0.6" },
	{ 13, "db.internal", "2001:db8::7" },
};

static const char *const odd_files[] = {
	"",
	"127.0.0.1\tlocalhost\n",
	"127.0.0.1 localhost",                     /* no final newline */
	"127.0.0.1 localhost\r\n::1 localhost\r\n", /* CRLF */
	"127.0.0.1 localhost\r\n::1 localhost",    /* CRLF, no final newline */
	"# comment only\n\n\n",
	"\n",
	"10.0.0.1 a # BEGIN isol is not a marker here\n",
	"  # BEGIN isol indented is not ours\n",
	"x\n# BEGIN isolation-notes (someone else's)\ny\n",
	"\t\t\n#\n1.2.3.4\tweird\t\t\tspacing   \n",
};

static void roundtrip(const char *orig)
{
	struct strbuf with, without;

	strbuf_init(&with);
	strbuf_init(&without);
	assert_int_equal(hosts_render(orig, strlen(orig), pins, 2, &with), 0);
	assert_non_null(strstr(with.buf, "10.0.0.6\tmq.internal\t# isol:12"));
	assert_true(hosts_block_matches(with.buf, with.len, pins, 2));
	/* the block comes first (the resolver takes the first match), and the
	 * original text is all there after it */
	assert_true(with.len > strlen(orig));
	assert_int_equal(strncmp(with.buf, "# BEGIN isol", 12), 0);
	assert_memory_equal(with.buf + with.len - strlen(orig), orig, strlen(orig));
	if (strstr(orig, "\r\n"))
		assert_non_null(strstr(with.buf, "# isol:12\r\n"));
	else
		assert_null(strstr(with.buf, "\r"));
	/* pin the same again: stable */
	assert_int_equal(hosts_render(with.buf, with.len, pins, 2, &without), 0);
	assert_int_equal(without.len, with.len);
	assert_memory_equal(without.buf, with.buf, with.len);
	/* take the pins away: byte for byte what it was */
	assert_int_equal(hosts_render(with.buf, with.len, NULL, 0, &without), 0);
	assert_int_equal(without.len, strlen(orig));
	assert_memory_equal(without.buf, orig, strlen(orig));
	assert_true(hosts_block_matches(without.buf, without.len, NULL, 0));
	strbuf_fini(&with);
	strbuf_fini(&without);
}

static void test_odd_files(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(odd_files) / sizeof(odd_files[0]); i++)
		roundtrip(odd_files[i]);
}

static void test_edits_around_block_survive(void **state)
{
	const char *orig = "127.0.0.1 localhost\n";
	struct strbuf a, b;
	char *edited;

	strbuf_init(&a);
	strbuf_init(&b);
	assert_int_equal(hosts_render(orig, strlen(orig), pins, 1, &a), 0);
	/* the operator adds lines before and after our block */
	assert_true(asprintf(&edited, "# top\n%s10.9.9.9 after\n", a.buf) > 0);
	assert_int_equal(hosts_render(edited, strlen(edited), NULL, 0, &b), 0);
	assert_string_equal(b.buf, "# top\n127.0.0.1 localhost\n10.9.9.9 after\n");
	/* a block somewhere in the middle stays where it is */
	assert_int_equal(hosts_render(edited, strlen(edited), pins, 2, &b), 0);
	assert_int_equal(strncmp(b.buf, "# top\n# BEGIN isol", 18), 0);
	free(edited);
	strbuf_fini(&a);
	strbuf_fini(&b);
}

static void test_duplicate_and_broken_markers(void **state)
{
	const char *two = "a\n# BEGIN isol\n1.1.1.1 x # isol:1\n# END isol\nb\n"
			  "# BEGIN isol\n2.2.2.2 y # isol:2\n# END isol\nc\n";
	const char *dangling = "a\n# BEGIN isol\nb\n";
	struct strbuf out;

	strbuf_init(&out);
	/* two blocks (a hand edit) become one, in the place of the first */
	assert_int_equal(hosts_render(two, strlen(two), pins, 1, &out), 0);
	assert_null(strstr(out.buf, "1.1.1.1"));
	assert_null(strstr(out.buf, "2.2.2.2"));
	assert_int_equal(strncmp(out.buf, "a\n# BEGIN isol", 14), 0);
	assert_non_null(strstr(out.buf, "# END isol\nb\nc\n"));
	assert_true(hosts_block_matches(out.buf, out.len, pins, 1));
	assert_false(hosts_block_matches(two, strlen(two), pins, 1));
	/* a BEGIN without END: only the marker line is ours, b is kept */
	assert_int_equal(hosts_render(dangling, strlen(dangling), NULL, 0, &out), 0);
	assert_string_equal(out.buf, "a\nb\n");
	strbuf_fini(&out);
}

static void test_huge_file(void **state)
{
	struct strbuf big, out, back;
	size_t i;

	strbuf_init(&big);
	strbuf_init(&out);
	strbuf_init(&back);
	for (i = 0; i < 200000; i++)
		strbuf_printf(&big, "10.%zu.%zu.%zu host%zu.example\n", i >> 16, (i >> 8) & 255,
			      i & 255, i);
	assert_int_equal(hosts_render(big.buf, big.len, pins, 2, &out), 0);
	assert_int_equal(hosts_render(out.buf, out.len, NULL, 0, &back), 0);
	assert_int_equal(back.len, big.len);
	assert_memory_equal(back.buf, big.buf, big.len);
	strbuf_fini(&big);
	strbuf_fini(&out);
	strbuf_fini(&back);
}

static void test_names(void **state)
{
	assert_true(hosts_name_valid("mq.internal"));
	assert_true(hosts_name_valid("a-b_c.d1"));
	assert_false(hosts_name_valid(""));
	assert_false(hosts_name_valid("a..b"));
	assert_false(hosts_name_valid(".a"));
	assert_false(hosts_name_valid("a b"));
	assert_false(hosts_name_valid("a\tb"));
	assert_false(hosts_name_valid("a#b"));
}

static void test_write_keeps_mode(void **state)
{
	char dir[] = "/tmp/isol-hosts-XXXXXX", path[64];
	struct isol_err err = { 0, "" };
	struct strbuf got;
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hosts", dir);
	f = fopen(path, "w");
	fputs("old\n", f);
	fclose(f);
	chmod(path, 0640);
	assert_int_equal(hosts_write(path, "new\n", 4, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	strbuf_init(&got);
	assert_int_equal(hosts_read(path, &got, &err), 0);
	assert_string_equal(got.buf, "new\n");
	strbuf_fini(&got);
	/* a missing file: a clear error, nothing created */
	unlink(path);
	assert_true(hosts_write(path, "x", 1, &err) < 0);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(access(path, F_OK), -1);
	rmdir(dir);
}

/* A bind-mounted hosts file (containers): rename fails with EBUSY, so the
 * file is rewritten in place; the mount keeps showing the new content. Needs
 * root for a private mount namespace; skipped otherwise. */
static void test_write_bind_mount(void **state)
{
	char dir[] = "/tmp/isol-bind-XXXXXX", src[64], dst[64];
	struct isol_err err = { 0, "" };
	struct strbuf got;
	FILE *f;

	if (geteuid() != 0 || unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
		skip();
		return;
	}
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(dst, sizeof(dst), "%s/hosts", dir);
	f = fopen(src, "w");
	fputs("from the host\n", f);
	fclose(f);
	f = fopen(dst, "w");
	fclose(f);
	assert_int_equal(mount(src, dst, NULL, MS_BIND, NULL), 0);
	assert_int_equal(hosts_write(dst, "rewritten\n", 10, &err), 0);
	strbuf_init(&got);
	assert_int_equal(hosts_read(dst, &got, &err), 0);
	assert_string_equal(got.buf, "rewritten\n");
	assert_int_equal(hosts_read(src, &got, &err), 0); /* the file behind the mount */
	assert_string_equal(got.buf, "rewritten\n");
	strbuf_fini(&got);
	umount(dst);
	unlink(src);
	unlink(dst);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_odd_files),
		cmocka_unit_test(test_edits_around_block_survive),
		cmocka_unit_test(test_duplicate_and_broken_markers),
		cmocka_unit_test(test_huge_file),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_write_keeps_mode),
		cmocka_unit_test(test_write_bind_mount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
