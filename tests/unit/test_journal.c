/* test_journal.c - durable intent: write, replay, tombstones, torn and bad
 * lines, compaction, the lock, and 100,000 records. Each test works in its
 * own mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct fixture {
	char dir[64];
	char path[96]; /* DIR/journal */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/isol-test-journal-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/journal", f->dir);
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct journal *open_ok(const char *dir)
{
	struct isol_err err = {0};
	struct journal *j = NULL;

	if (journal_open(&j, dir, &err) != 0)
		fail_msg("journal_open(%s): %s", dir, err.msg);
	assert_non_null(j);
	return j;
}

/* Open and replay into a fresh @set, expecting no bad line. */
static struct journal *reopen(const char *dir, struct isol_actions *set)
{
	struct isol_err err = {0};
	struct journal *j = open_ok(dir);
	int rc;

	actions_init(set);
	rc = journal_replay(j, set, &err);
	if (rc != 0)
		fail_msg("journal_replay: %d %s", rc, err.msg);
	return j;
}

static struct isol_action *make(const char *target, unsigned dirs)
{
	struct isol_action *a = action_new();
	struct isol_err err = {0};

	assert_non_null(a);
	if (isol_target_parse(target, &a->spec.target, &err) != 0)
		fail_msg("%s: %s", target, err.msg);
	a->spec.dirs = dirs;
	a->created_ms = 1764060000000ull;
	strcpy(a->origin, "cli");
	strcpy(a->actor.comm, "isolctl");
	a->actor.pid = 4242;
	return a;
}

/* Insert into @set (gets an id) and journal it. */
static struct isol_action *add(struct journal *j, struct isol_actions *set, const char *target)
{
	struct isol_action *a = make(target, ISOL_DIR_OUT);

	assert_int_equal(actions_insert(set, a), 0);
	assert_int_equal(journal_add(j, a), 0);
	return a;
}

static void del(struct journal *j, struct isol_actions *set, uint64_t id)
{
	struct isol_action *a = actions_find(set, id);
	struct isol_actor actor = {.uid = 0, .pid = 1, .comm = "isolctl"};

	assert_non_null(a);
	assert_int_equal(journal_del(j, id, "rollback", &actor, 1764060001000ull), 0);
	actions_remove(set, a);
	action_free(a);
}

static uint64_t records_size(const char *path);

/* What a crash (or another writer) leaves after the records: written where
 * the next record would go, over the zeros the journal keeps ahead. */
static void append_raw(const char *path, const char *text)
{
	uint64_t end = records_size(path);
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, text, strlen(text), (off_t)end), (ssize_t)strlen(text));
	close(fd);
}

static void write_raw(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *slurp(const char *path)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	return buf;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* Where the records end: the journal keeps zeros written ahead of them. */
static uint64_t records_size(const char *path)
{
	char *buf;
	uint64_t n = file_size(path);
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, n), (ssize_t)n);
	close(fd);
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	free(buf);
	return n;
}

static void assert_action_equal(const struct isol_action *a, const struct isol_action *b)
{
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->spec.kind, b->spec.kind);
	assert_true(isol_target_equal(&a->spec.target, &b->spec.target));
	assert_int_equal(a->spec.dirs, b->spec.dirs);
	assert_int_equal(a->spec.mode, b->spec.mode);
	assert_int_equal(a->spec.ttl_ms, b->spec.ttl_ms);
	assert_int_equal(a->spec.force, b->spec.force);
	assert_string_equal(a->spec.reason, b->spec.reason);
	assert_int_equal(a->created_ms, b->created_ms);
	assert_int_equal(a->expires_ms, b->expires_ms);
	assert_string_equal(a->origin, b->origin);
	assert_int_equal(a->actor.uid, b->actor.uid);
	assert_int_equal(a->actor.pid, b->actor.pid);
	assert_string_equal(a->actor.comm, b->actor.comm);
}

/* Every field survives, strings with quotes, backslashes, control
 * characters and UTF-8 included. */
static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct isol_actions set, back;
	struct isol_action *a, *b;
	struct journal *j;
	char *text;

	j = reopen(f->dir, &set);
	assert_int_equal(set.count, 0);
	assert_int_equal(set.next_id, 1);
	assert_int_equal(journal_records(j), 0);

	a = make("10.0.0.5:5672", ISOL_DIR_OUT);
	a->spec.ttl_ms = 30000;
	a->expires_ms = a->created_ms + 30000;
	strcpy(a->spec.reason, "rabbit \"stuck\" \\ tab\there / \x01\x1f\x7f");
	assert_int_equal(actions_insert(&set, a), 0);

	a = make("[2001:db8::5]:80-90/udp", ISOL_DIR_IN | ISOL_DIR_FWD);
	a->spec.mode = ISOL_MODE_DROP;
	a->spec.force = true;
	strcpy(a->spec.reason, "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\xa5");
	strcpy(a->origin, "policy:web-frontend");
	a->actor.uid = 4000000000u;
	a->actor.pid = -1;
	strcpy(a->actor.comm, "we\"ird\nname");
	assert_int_equal(actions_insert(&set, a), 0);

	a = make("10.0.0.0/24", ISOL_DIR_ALL);
	memset(a->spec.reason, 'r', ISOL_REASON_MAX); /* the longest reason */
	memset(a->origin, 'o', sizeof(a->origin) - 1);
	memset(a->actor.comm, 'c', sizeof(a->actor.comm) - 1);
	assert_int_equal(actions_insert(&set, a), 0);

	a = make("2001:db8::/32/sctp", ISOL_DIR_OUT);
	a->created_ms = 0;
	a->origin[0] = '\0';
	a->actor.comm[0] = '\0';
	assert_int_equal(actions_insert(&set, a), 0);

	for (a = set.head; a; a = a->next)
		assert_int_equal(journal_add(j, a), 0);
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(journal_records(j), 4);
	assert_int_equal(journal_size(j), records_size(f->path));
	journal_close(j);

	/* the documented format, one record per line; records synced together
	 * are framed as one transaction */
	text = slurp(f->path);
	assert_memory_equal(text, "{\"t\":\"begin\"}\n", 14);
	assert_non_null(strstr(text, "}\n{\"t\":\"commit\"}\n"));
	assert_memory_equal(
	    text + 14,
	    "{\"t\":\"add\",\"id\":1,\"kind\":\"isolate\",\"target\":\"10.0.0.5:5672/tcp\","
	    "\"direction\":\"out\",\"mode\":\"reject\",\"force\":false,\"ttl_ms\":30000,",
	    strlen("{\"t\":\"add\",\"id\":1,\"kind\":\"isolate\",\"target\":\"10.0.0.5:5672/"
		   "tcp\",\"direction\":\"out\",\"mode\":\"reject\",\"force\":false,\"ttl_ms\":"
		   "30000,"));
	assert_non_null(strstr(
	    text, "\"reason\":\"rabbit \\\"stuck\\\" \\\\ tab\\there / \\u0001\\u001f\x7f\""));
	assert_non_null(strstr(text,
			       "\"target\":\"[2001:db8::5]:80-90/udp\",\"direction\":\"in,fwd\","
			       "\"mode\":\"drop\",\"force\":true"));
	assert_non_null(strstr(
	    text, "\"actor\":{\"uid\":4000000000,\"pid\":-1,\"comm\":\"we\\\"ird\\nname\"}"));
	assert_non_null(strstr(text, "\"target\":\"2001:db8::/32/sctp\""));
	free(text);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 4);
	assert_int_equal(back.next_id, 5);
	assert_int_equal(journal_records(j), 4);
	for (a = set.head, b = back.head; a; a = a->next, b = b->next) {
		assert_non_null(b);
		assert_action_equal(a, b);
	}
	assert_null(b);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
}

/* Bad UTF-8 cannot be written as JSON: it becomes '?', byte for byte, so
 * the text read back is never longer than the field. A comm that fills its
 * array without a NUL is read up to the array's end minus one. */
static void test_unwritable_strings(void **state)
{
	struct fixture *f = *state;
	struct isol_actions set, back;
	struct isol_action *a;
	struct journal *j;
	char expect[ISOL_REASON_MAX + 1];

	j = reopen(f->dir, &set);
	a = make("10.0.0.5", ISOL_DIR_OUT);
	strcpy(a->spec.reason, "bad\xff"
			       "byte \xc3(cut \xe2\x9c");
	strcpy(a->origin, "\xc0\xaf");
	memset(a->actor.comm, 'c', sizeof(a->actor.comm)); /* no NUL */
	assert_int_equal(actions_insert(&set, a), 0);
	a = make("10.0.0.6", ISOL_DIR_OUT);
	memset(a->spec.reason, '\xff', ISOL_REASON_MAX);
	assert_int_equal(actions_insert(&set, a), 0);
	for (a = set.head; a; a = a->next)
		assert_int_equal(journal_add(j, a), 0);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 2);
	assert_string_equal(back.head->spec.reason, "bad?byte ?(cut ??");
	assert_string_equal(back.head->origin, "??");
	assert_int_equal(strlen(back.head->actor.comm), sizeof(a->actor.comm) - 1);
	memset(expect, '?', ISOL_REASON_MAX);
	expect[ISOL_REASON_MAX] = '\0';
	assert_string_equal(back.tail->spec.reason, expect);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
}

static void test_tombstones(void **state)
{
	struct fixture *f = *state;
	struct isol_actions set, back;
	struct journal *j;

	j = reopen(f->dir, &set);
	add(j, &set, "10.0.0.1");
	add(j, &set, "10.0.0.2");
	add(j, &set, "10.0.0.3");
	assert_int_equal(journal_sync(j), 0);
	del(j, &set, 2);
	del(j, &set, 3); /* the newest: its id must still not come back */
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(journal_records(j), 5);
	journal_close(j);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 1);
	assert_non_null(actions_find(&back, 1));
	assert_null(actions_find(&back, 2));
	assert_null(actions_find(&back, 3));
	assert_int_equal(back.next_id, 4);
	assert_int_equal(journal_records(j), 5);
	/* a new action after the restart gets a new id */
	assert_int_equal(add(j, &back, "10.0.0.4")->id, 4);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
}

static void test_refused_and_null_actor(void **state)
{
	struct fixture *f = *state;
	struct isol_actor actor = {.uid = 1000, .pid = 77, .comm = "curl"};
	struct isol_actions set, back;
	struct journal *j;
	char *text;

	j = reopen(f->dir, &set);
	add(j, &set, "10.0.0.1");
	assert_int_equal(
	    journal_refused(j, "isolate", "peer uid 1000 may only read", &actor, 1764060002000ull),
	    0);
	assert_int_equal(journal_refused(j, NULL, NULL, NULL, 0), 0);
	assert_int_equal(journal_del(j, 1, "expired", NULL, 1764060003000ull), 0);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);

	text = slurp(f->path);
	assert_non_null(strstr(text,
			       "{\"t\":\"refused\",\"at_ms\":1764060002000,\"op\":\"isolate\","
			       "\"why\":\"peer uid 1000 may only read\",\"actor\":{\"uid\":1000,"
			       "\"pid\":77,\"comm\":\"curl\"}}\n"));
	assert_non_null(strstr(text, "{\"t\":\"del\",\"id\":1,\"why\":\"expired\",\"at_ms\":"
				     "1764060003000,\"actor\":null}\n"));
	free(text);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 0);
	assert_int_equal(back.next_id, 2);
	assert_int_equal(journal_records(j), 4);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
}

static void test_discard_and_empty_sync(void **state)
{
	struct fixture *f = *state;
	struct isol_actions set, back;
	struct journal *j;
	uint64_t size;

	j = reopen(f->dir, &set);
	assert_int_equal(journal_sync(j), 0); /* nothing buffered */
	assert_int_equal(journal_size(j), 0);
	add(j, &set, "10.0.0.1");
	assert_int_equal(journal_sync(j), 0);
	size = journal_size(j);
	assert_true(size > 0);
	add(j, &set, "10.0.0.2");
	add(j, &set, "10.0.0.3");
	journal_discard(j); /* the kernel refused the batch */
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(journal_size(j), size);
	assert_int_equal(records_size(f->path), size);
	assert_int_equal(journal_records(j), 1);
	journal_close(j);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 1);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
}

/* The journal keeps zeros written ahead of its records, so a sync
 * overwrites blocks that are there and need not write the file's size;
 * they are not records, at reopen or at replay. */
static void test_room_ahead(void **state)
{
	struct fixture *f = *state;
	struct isol_actions set, back;
	struct journal *j;
	uint64_t room;
	int i;

	j = reopen(f->dir, &set);
	add(j, &set, "10.0.0.1");
	assert_int_equal(journal_sync(j), 0);
	room = file_size(f->path);
	assert_true(room >= journal_size(j) + (512u << 10)); /* zeros ahead */
	assert_int_equal(records_size(f->path), journal_size(j));
	for (i = 2; i < 50; i++) {
		char t[32];

		snprintf(t, sizeof(t), "10.0.1.%d", i);
		add(j, &set, t);
		assert_int_equal(journal_sync(j), 0);
	}
	assert_int_equal(file_size(f->path), room); /* written into the room */
	assert_int_equal(records_size(f->path), journal_size(j));
	journal_close(j);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 49);
	assert_int_equal(journal_torn_bytes(j), 0);
	assert_int_equal(file_size(f->path), room); /* kept for the next records */
	add(j, &back, "10.0.2.1");
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	actions_fini(&back);
	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 50);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
}

/* Write 3 records, then let a crash leave @tail behind. */
static void torn_case(struct fixture *f, const char *tail)
{
	struct isol_actions set, back;
	struct journal *j;
	uint64_t good;

	j = reopen(f->dir, &set);
	add(j, &set, "10.0.0.1");
	add(j, &set, "10.0.0.2");
	add(j, &set, "10.0.0.3");
	assert_int_equal(journal_sync(j), 0);
	good = journal_size(j);
	journal_close(j);
	append_raw(f->path, tail);

	j = reopen(f->dir, &back);
	assert_int_equal(journal_torn_bytes(j), strlen(tail));
	assert_int_equal(journal_size(j), good);
	if (tail[0]) /* cut on disk, not only skipped */
		assert_int_equal(file_size(f->path), good);
	assert_int_equal(records_size(f->path), good);
	assert_int_equal(back.count, 3);
	assert_int_equal(journal_records(j), 3);
	/* the next record starts on a line of its own */
	add(j, &back, "10.0.0.4");
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	actions_fini(&back);

	j = reopen(f->dir, &back);
	assert_int_equal(journal_torn_bytes(j), 0);
	assert_int_equal(back.count, 4);
	assert_non_null(actions_find(&back, 4));
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
}

static void test_torn_no_newline(void **state)
{
	torn_case(*state, "{\"t\":\"add\",\"id\":4,\"kind\":\"isol");
}

static void test_torn_unparsable_last_line(void **state)
{
	torn_case(*state, "{\"t\":\"add\",\"id\":4,\"kind\":\"isol\n");
}

static void test_torn_zeros(void **state)
{
	struct fixture *f = *state;
	static const char zeros[16];
	int fd;

	torn_case(f, "");
	/* zeros after the records (a crash on some filesystems, or the room the
	 * journal keeps ahead) are not records, and not torn ones either */
	fd = open(f->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, zeros, sizeof(zeros)), sizeof(zeros));
	close(fd);
	{
		struct isol_actions back;
		struct journal *j = reopen(f->dir, &back);

		assert_int_equal(journal_torn_bytes(j), 0);
		assert_int_equal(back.count, 4);
		journal_close(j);
		actions_fini(&back);
	}
}

static void test_torn_only_fragment(void **state)
{
	struct fixture *f = *state;
	struct isol_actions back;
	struct journal *j;

	write_raw(f->path, "{\"t\":\"me");
	j = reopen(f->dir, &back);
	assert_int_equal(journal_torn_bytes(j), strlen("{\"t\":\"me"));
	assert_int_equal(records_size(f->path), 0);
	assert_int_equal(back.count, 0);
	journal_close(j);
	actions_fini(&back);
}

/* Bad lines that are not the last are reported with their line number and
 * skipped; the rest of the journal still counts. */
static void test_bad_lines_in_the_middle(void **state)
{
	struct fixture *f = *state;
	struct isol_err err = {0};
	struct isol_actions set, back;
	struct journal *j;
	int rc;

	j = reopen(f->dir, &set);
	add(j, &set, "10.0.0.1");
	add(j, &set, "10.0.0.2");
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	append_raw(f->path,
		   "this is not json\n" /* line 5: begin, 2 adds, commit before */
		   "{\"t\":\"add\",\"id\":9,\"target\":\"10.0.0.5:0\"}\n"	    /* 4 */
		   "{\"t\":\"what\",\"id\":3}\n"				    /* 5 */
		   "[1,2]\n"							    /* 6 */
		   "{\"t\":\"add\",\"target\":\"10.0.0.7\"}\n"			    /* 7 */
		   "\n"								    /* 8: blank */
		   "{\"t\":\"add\",\"id\":1,\"target\":\"10.0.0.8\"}\n"		    /* 9 */
		   "{\"t\":\"add\",\"id\":3,\"target\":\"10.0.0.3\",\"actor\":5}\n" /* 10 */
		   "{\"t\":\"add\",\"id\":4,\"target\":\"10.0.0.4\",\"created_ms\":-1}\n"
		   "{\"t\":\"add\",\"id\":5,\"target\":\"10.0.0.5\"}\n"); /* 12: fine */

	j = open_ok(f->dir);
	actions_init(&back);
	rc = journal_replay(j, &back, &err);
	print_message("replay: %d, %s\n", rc, err.msg);
	assert_int_equal(rc, 8);
	assert_int_equal(err.code, -EBADMSG);
	/* the first one, with its file and line */
	assert_non_null(strstr(err.msg, f->path));
	assert_non_null(strstr(err.msg, "journal:5: not JSON"));
	assert_int_equal(back.count, 3);
	assert_non_null(actions_find(&back, 1));
	assert_non_null(actions_find(&back, 2));
	assert_non_null(actions_find(&back, 5));
	/* the first add of id 1 stands; the duplicate did not replace it */
	assert_string_equal(isol_proto_name(actions_find(&back, 1)->spec.target.proto), "all");
	{
		uint8_t want[4] = {10, 0, 0, 1};

		assert_memory_equal(actions_find(&back, 1)->spec.target.addr, want, 4);
	}
	/* a skipped record's id is still never handed out */
	assert_int_equal(back.next_id, 10);
	assert_int_equal(journal_records(j), 12);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
}

/* Each kind of bad line, alone, gives a message that says what is wrong. */
static void test_bad_line_messages(void **state)
{
	static const struct {
		const char *line;
		const char *needle;
	} cases[] = {
	    {"{\"t\":\"add\",\"id\":9,\"target\":\"10.0.0.5:0\"}", "port 0"},
	    {"{\"t\":\"what\",\"id\":3}", "unknown record type 'what'"},
	    {"[1,2]", "without a \"t\""},
	    {"{\"t\":\"add\",\"target\":\"10.0.0.7\"}", "missing field 'id'"},
	    {"{\"t\":\"add\",\"id\":0,\"target\":\"10.0.0.7\"}", "id 0"},
	    {"{\"t\":\"add\",\"id\":-3,\"target\":\"10.0.0.7\"}", "'id'"},
	    {"{\"t\":\"add\",\"id\":\"7\",\"target\":\"10.0.0.7\"}", "'id'"},
	    {"{\"t\":\"add\",\"id\":7}", "missing field 'target'"},
	    {"{\"t\":\"add\",\"id\":7,\"target\":\"10.0.0.7\",\"actor\":5}", "'actor'"},
	    {"{\"t\":\"add\",\"id\":7,\"target\":\"10.0.0.7\",\"actor\":{\"pid\":1e3}}",
	     "actor.pid"},
	    {"{\"t\":\"add\",\"id\":7,\"target\":\"10.0.0.7\",\"actor\":{\"uid\":4294967296}}",
	     "'uid'"},
	    {"{\"t\":\"add\",\"id\":7,\"target\":\"10.0.0.7\",\"created_ms\":-1}", "created_ms"},
	    {"{\"t\":\"add\",\"id\":7,\"target\":\"10.0.0.7\",\"origin\":[]}", "'origin'"},
	    {"{\"t\":\"add\",\"id\":7,\"target\":\"10.0.0.7\",\"ttl_ms\":0}", "ttl_ms"},
	    {"{\"t\":\"del\"}", "missing field 'id'"},
	    {"{\"t\":\"meta\",\"v\":2,\"next_id\":5}", "version 2"},
	    {"{\"t\":\"meta\",\"v\":1}", "missing field 'next_id'"},
	    {"{\"t\":\"add\",\"id\":7,\"target\":\"10.0.0.7\"", "not JSON"},
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct isol_err err = {0};
		struct isol_actions set;
		struct journal *j;
		char text[512];
		int rc;

		/* the bad line first, a good one after it: not a torn tail */
		snprintf(text, sizeof(text),
			 "%s\n{\"t\":\"add\",\"id\":1,\"target\":\"10.0.0.1\"}\n", cases[i].line);
		write_raw(f->path, text);
		j = open_ok(f->dir);
		actions_init(&set);
		rc = journal_replay(j, &set, &err);
		print_message("%s -> %s\n", cases[i].line, err.msg);
		assert_int_equal(rc, 1);
		assert_non_null(strstr(err.msg, "journal:1: "));
		assert_non_null(strstr(err.msg, cases[i].needle));
		assert_int_equal(set.count, 1);
		journal_close(j);
		actions_fini(&set);
	}
}

static void test_blank_lines_and_meta(void **state)
{
	struct fixture *f = *state;
	struct isol_actions set;
	struct journal *j;

	write_raw(f->path, "{\"t\":\"meta\",\"v\":1,\"next_id\":40}\n\n"
			   "{\"t\":\"add\",\"id\":7,\"target\":\"10.0.0.7\"}\n\n"
			   "  {  \"t\" : \"del\" , \"id\" : 50 }  \n");
	j = reopen(f->dir, &set);
	assert_int_equal(set.count, 1);
	assert_int_equal(set.next_id, 51); /* a tombstone's id counts too */
	/* defaults for what an old record leaves out */
	assert_int_equal(set.head->spec.dirs, ISOL_DIR_OUT);
	assert_int_equal(set.head->expires_ms, 0);
	assert_string_equal(set.head->origin, "");
	journal_close(j);
	actions_fini(&set);
}

/* Ids are never reused: not after a delete, not after compaction dropped
 * every trace of the deleted actions, not even with an empty set. */
static void test_next_id_across_compaction(void **state)
{
	struct fixture *f = *state;
	struct isol_err err = {0};
	struct isol_actions set, back, fresh;
	struct journal *j;
	char tmp[128], *text;
	int i;

	j = reopen(f->dir, &set);
	for (i = 1; i <= 5; i++)
		add(j, &set, "10.0.0.1");
	assert_int_equal(journal_sync(j), 0);
	del(j, &set, 5);
	del(j, &set, 4);
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(journal_records(j), 7);

	assert_int_equal(journal_compact(j, &set, &err), 0);
	assert_int_equal(journal_records(j), 4);
	assert_int_equal(journal_size(j), records_size(f->path));
	snprintf(tmp, sizeof(tmp), "%s/journal.tmp", f->dir);
	assert_int_equal(access(tmp, F_OK), -1);
	text = slurp(f->path);
	assert_memory_equal(
	    text, "{\"t\":\"meta\",\"v\":1,\"next_id\":6}\n{\"t\":\"add\",\"id\":1,",
	    strlen("{\"t\":\"meta\",\"v\":1,\"next_id\":6}\n{\"t\":\"add\",\"id\":1,"));
	free(text);
	/* appends go to the new file */
	del(j, &set, 3);
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(journal_size(j), records_size(f->path));
	journal_close(j);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 2);
	assert_int_equal(back.next_id, 6);
	assert_int_equal(journal_records(j), 5);

	/* all gone, compacted to the meta line alone */
	del(j, &back, 1);
	del(j, &back, 2);
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(journal_compact(j, &back, &err), 0);
	assert_int_equal(journal_records(j), 1);
	journal_close(j);
	text = slurp(f->path);
	assert_string_equal(text, "{\"t\":\"meta\",\"v\":1,\"next_id\":6}\n");
	free(text);
	actions_fini(&back);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 0);
	assert_int_equal(back.next_id, 6);
	/* a set that never saw the journal cannot pull next_id back either */
	actions_init(&fresh);
	assert_int_equal(journal_compact(j, &fresh, &err), 0);
	journal_close(j);
	actions_fini(&back);

	j = reopen(f->dir, &back);
	assert_int_equal(back.next_id, 6);
	assert_int_equal(add(j, &back, "10.0.0.9")->id, 6);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
	actions_fini(&fresh);
}

static void test_compact_refuses_unsynced(void **state)
{
	struct fixture *f = *state;
	struct isol_err err = {0};
	struct isol_actions set;
	struct journal *j;

	j = reopen(f->dir, &set);
	add(j, &set, "10.0.0.1");
	assert_int_equal(journal_compact(j, &set, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "sync"));
	assert_int_equal(journal_sync(j), 0);
	isol_err_clear(&err);
	assert_int_equal(journal_compact(j, &set, &err), 0);
	journal_close(j);
	actions_fini(&set);
}

static void test_lock(void **state)
{
	struct fixture *f = *state;
	struct isol_err err = {0};
	struct journal *j1, *j2 = (struct journal *)&err;
	char want[128];

	j1 = open_ok(f->dir);
	assert_int_equal(journal_open(&j2, f->dir, &err), -EBUSY);
	assert_null(j2);
	snprintf(want, sizeof(want), "another isolagent is using %s", f->dir);
	assert_string_equal(err.msg, want);

	/* also from another process */
	{
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			struct journal *j3;

			_exit(journal_open(&j3, f->dir, NULL) == -EBUSY ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	journal_close(j1);
	j2 = open_ok(f->dir); /* released on close */
	journal_close(j2);
}

static void test_creates_dir(void **state)
{
	struct fixture *f = *state;
	char dir[128], tmp[160];
	struct journal *j;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/state", f->dir);
	j = open_ok(dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(tmp, sizeof(tmp), "%s/journal", dir);
	assert_int_equal(stat(tmp, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	journal_close(j);

	/* a compaction that died before its rename leaves a tmp file behind */
	snprintf(tmp, sizeof(tmp), "%s/journal.tmp", dir);
	write_raw(tmp, "{\"t\":\"meta\",\"v\":1,\"next_id\":99}\n");
	j = open_ok(dir);
	assert_int_equal(access(tmp, F_OK), -1);
	journal_close(j);
	journal_close(NULL);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct isol_err err = {0};
	struct journal *j;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/missing/state", f->dir);
	assert_int_equal(journal_open(&j, dir, &err), -ENOENT);
	assert_null(j);
	assert_non_null(strstr(err.msg, dir));
	assert_non_null(strstr(err.msg, strerror(ENOENT)));

	isol_err_clear(&err);
	snprintf(dir, sizeof(dir), "%s/file", f->dir);
	write_raw(dir, "x");
	assert_int_equal(journal_open(&j, dir, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, dir));
}

/* A write that fails half way (here: the file size limit) leaves no
 * fragment behind, and the records are still buffered for a retry. */
static void test_failed_sync_cuts_back(void **state)
{
	struct fixture *f = *state;
	struct isol_actions set, back;
	struct rlimit old, small;
	struct journal *j;
	uint64_t size;
	int i;

	signal(SIGXFSZ, SIG_IGN);
	j = reopen(f->dir, &set);
	add(j, &set, "10.0.0.1");
	assert_int_equal(journal_sync(j), 0);
	size = journal_size(j);
	for (i = 0; i < 20; i++)
		add(j, &set, "10.0.0.2");

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = size + 300; /* room for one record and a half */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(journal_sync(j), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(records_size(f->path), size);
	assert_int_equal(journal_size(j), size);
	assert_int_equal(journal_records(j), 1);

	assert_int_equal(journal_sync(j), 0); /* the retry writes them all */
	assert_int_equal(journal_records(j), 21);
	journal_close(j);
	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 21);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
	signal(SIGXFSZ, SIG_DFL);
}

/* journal_record_parse() must read every line exactly as json_loadb() does:
 * same value or both refuse. */
static void check_parse(const char *line, size_t len)
{
	json_t *fast = journal_record_parse(line, len, NULL);
	json_t *ref = json_loadb(line, len, 0, NULL);

	if ((fast == NULL) != (ref == NULL) || (fast && !json_equal(fast, ref)))
		fail_msg("journal_record_parse and json_loadb differ on '%.*s'", (int)len, line);
	json_decref(fast);
	json_decref(ref);
}

static void test_record_parse_matches_jansson(void **state)
{
	static const char *const lines[] = {
	    "{\"t\":\"add\",\"id\":1,\"kind\":\"isolate\",\"target\":\"10.0.0.5:5672/tcp\","
	    "\"direction\":\"out\",\"mode\":\"reject\",\"force\":false,\"ttl_ms\":30000,"
	    "\"reason\":\"x\",\"created_ms\":1764060000000,\"expires_ms\":1764060030000,"
	    "\"origin\":\"cli\",\"actor\":{\"uid\":0,\"pid\":1,\"comm\":\"isolctl\"}}",
	    "{}",
	    " { } ",
	    "{\"a\":\"\"}",
	    "{\"a\":true,\"b\":false,\"c\":null}",
	    "{\"a\":-0}",
	    "{\"a\":0}",
	    "{\"a\":9223372036854775807}",
	    "{\"a\":-9223372036854775808}",
	    "{\"a\":9223372036854775808}",
	    "{\"a\":-9223372036854775809}",
	    "{\"a\":99999999999999999999999}",
	    "{\"a\":1.5}",
	    "{\"a\":1e3}",
	    "{\"a\":1E3}",
	    "{\"a\":01}",
	    "{\"a\":-}",
	    "{\"a\":--1}",
	    "{\"a\":+1}",
	    "{\"a\":[1,2]}",
	    "[]",
	    "\"str\"",
	    "1",
	    "true",
	    "",
	    "   ",
	    "{\"a\":1,\"a\":2}",
	    "{\"a\":1,}",
	    "{,}",
	    "{\"a\" 1}",
	    "{\"a\":1}}",
	    "{\"a\":1} x",
	    "{\"a\":1",
	    "{\"a\"",
	    "{\"a",
	    "{",
	    "{\"a\":\"\\u00e9\"}",
	    "{\"a\":\"\\ud83d\\ude00\"}",
	    "{\"a\":\"\\ud83d\"}",
	    "{\"a\":\"q\\\"q\"}",
	    "{\"a\":\"\xc3\xa9\xe2\x9c\x93\xf0\x9f\x94\xa5\"}",
	    "{\"a\":\"\xff\"}",
	    "{\"\xff\":1}",
	    "{\"a\":\"\xc0\xaf\"}",
	    "{\"a\":\"\xed\xa0\x80\"}",
	    "{\"a\":\"\xf4\x90\x80\x80\"}",
	    "{\"a\":\"\xe2\x9c\"}",
	    "{\"a\":\"x\x01\"}",
	    "{\"a\":\"x\ty\"}",
	    "{\"a\":tru}",
	    "{\"a\":nul}",
	    "{\"a\":falsey}",
	    "{\"a\":True}",
	    "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":1}}}}}}",
	    "{\"a\":{}}",
	    "{\"a\":{\"b\":1},\"c\":{\"d\":[]}}",
	    "{\"\":1}",
	    "\t{\"a\":1}\r",
	    "{\"a\":1}\n",
	};
	const char *base = lines[0];
	char buf[512];
	size_t i, n = strlen(base);

	for (i = 0; i < ARRAY_SIZE(lines); i++)
		check_parse(lines[i], strlen(lines[i]));
	/* a NUL inside the line */
	check_parse("{\"a\":1}\0", 8);
	check_parse("{\"a\":\"x\0y\"}", 11);

	/* every prefix of a real record, and random damage to it */
	for (i = 0; i <= n; i++)
		check_parse(base, i);
	srand(1);
	for (i = 0; i < 20000; i++) {
		int k, flips = 1 + rand() % 3;

		memcpy(buf, base, n);
		for (k = 0; k < flips; k++) {
			static const char pick[] = "{}[]\":,-0123456789eE.\\ tfnu\x01\xff\xc3\x80"
						   "a";

			buf[rand() % n] =
			    rand() % 2 ? (char)(rand() % 256) : pick[rand() % (sizeof(pick) - 1)];
		}
		check_parse(buf, n);
	}
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* 100,000 adds, one sync, replay: all there. Times are printed; the bounds
 * are loose (this runs under ASan) and only catch an accidental O(n^2). */
static void test_100k(void **state)
{
	enum { N = 100000 };
	struct fixture *f = *state;
	struct isol_err err = {0};
	struct isol_actions set, back;
	struct isol_action *a, *b;
	struct timespec t0;
	struct journal *j;
	double add_ms, sync_ms, replay_ms, compact_ms;
	char target[64];
	int i;

	j = reopen(f->dir, &set);
	for (i = 0; i < N; i++) {
		snprintf(target, sizeof(target), "10.%d.%d.%d:%d", i >> 16 & 255, i >> 8 & 255,
			 i & 255, 1 + i % 65535);
		a = make(target, i % 3 ? ISOL_DIR_OUT : ISOL_DIR_ALL);
		a->spec.ttl_ms = 3600000;
		a->expires_ms = a->created_ms + 3600000 + (uint64_t)i;
		snprintf(a->spec.reason, sizeof(a->spec.reason), "apply line %d", i + 1);
		strcpy(a->origin, "apply");
		assert_int_equal(actions_insert(&set, a), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (a = set.head; a; a = a->next)
		if (journal_add(j, a) != 0)
			fail_msg("journal_add");
	add_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(journal_sync(j), 0);
	sync_ms = ms_since(&t0);
	assert_int_equal(journal_records(j), N);
	journal_close(j);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	j = reopen(f->dir, &back);
	replay_ms = ms_since(&t0);
	assert_int_equal(back.count, N);
	assert_int_equal(back.next_id, N + 1);
	for (a = set.head, b = back.head; a; a = a->next, b = b->next)
		assert_action_equal(a, b);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(journal_compact(j, &back, &err), 0);
	compact_ms = ms_since(&t0);
	assert_int_equal(journal_records(j), N + 1);
	journal_close(j);
	actions_fini(&back);

	print_message("100k: add %.0f ms, sync %.0f ms (%.1f MB), open+replay %.0f ms, "
		      "compact %.0f ms\n",
		      add_ms, sync_ms, (double)records_size(f->path) / 1e6, replay_ms, compact_ms);
	assert_true(add_ms + sync_ms < 5000);
	assert_true(replay_ms < 10000);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, N);
	assert_int_equal(back.next_id, N + 1);
	journal_close(j);
	actions_fini(&set);
	actions_fini(&back);
}

static int count_of(const char *text, const char *what)
{
	int n = 0;

	for (; (text = strstr(text, what)) != NULL; text += strlen(what))
		n++;
	return n;
}

/* An isolation like the one before it but for its target (and the next
 * id) is journaled short, as {"t":"add+","target":..}; the full record
 * comes back whenever anything else differs or another record came between,
 * in the journal and in its compaction alike. */
static void test_short_adds(void **state)
{
	static const char *const targets[] = { "10.1.0.1:80", "10.1.0.2:80", "[fd00::3]:443/udp",
					       "10.1.0.4", "10.1.0.4/30:1-9", "10.1.0.9:80" };
	struct fixture *f = *state;
	struct isol_err err = {0};
	struct isol_actions set, back;
	struct isol_action *a, *b;
	struct journal *j;
	char *text;
	size_t i;

	j = reopen(f->dir, &set);
	for (i = 0; i < 5; i++) {
		a = make(targets[i], ISOL_DIR_OUT | ISOL_DIR_IN);
		a->spec.ttl_ms = 60000;
		a->expires_ms = a->created_ms + 60000;
		a->spec.mode = ISOL_MODE_DROP;
		strcpy(a->spec.reason, i < 3 ? "broker stuck" : "another reason");
		strcpy(a->origin, "apply");
		assert_int_equal(actions_insert(&set, a), 0);
		assert_int_equal(journal_add(j, a), 0);
	}
	assert_int_equal(journal_sync(j), 0);
	text = slurp(f->path);
	/* 1 full, 2 and 3 short, 4 full (its reason), 5 short */
	assert_int_equal(count_of(text, "{\"t\":\"add+\""), 3);
	assert_int_equal(count_of(text, "{\"t\":\"add\","), 2);
	assert_non_null(strstr(text, "{\"t\":\"add+\",\"target\":\"[fd00::3]:443/udp\"}\n"));
	free(text);
	/* a tombstone between: the next add is written in full */
	del(j, &set, 2);
	a = make(targets[5], ISOL_DIR_OUT | ISOL_DIR_IN);
	*a = *actions_find(&set, 5); /* every field of 5 but its links */
	a->hnext = a->prev = a->next = NULL;
	a->id = 0;
	assert_int_equal(isol_target_parse(targets[5], &a->spec.target, &err), 0);
	assert_int_equal(actions_insert(&set, a), 0);
	assert_int_equal(a->id, 6);
	assert_int_equal(journal_add(j, a), 0);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	text = slurp(f->path);
	assert_int_equal(count_of(text, "{\"t\":\"add+\""), 3);
	assert_non_null(strstr(text, "{\"t\":\"add\",\"id\":6,"));
	free(text);

	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 5);
	assert_int_equal(back.next_id, 7);
	for (a = set.head, b = back.head; a; a = a->next, b = b->next)
		assert_action_equal(a, b);
	/* compacted: 1 full, 3 full (2 is gone), 4 full, 5 and 6 short */
	assert_int_equal(journal_compact(j, &back, &err), 0);
	journal_close(j);
	text = slurp(f->path);
	assert_int_equal(count_of(text, "{\"t\":\"add+\""), 2);
	free(text);
	actions_fini(&back);
	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 5);
	for (a = set.head, b = back.head; a; a = a->next, b = b->next)
		assert_action_equal(a, b);
	journal_close(j);
	actions_fini(&back);

	/* a short record after anything but an add is reported and skipped */
	append_raw(f->path, "{\"t\":\"del\",\"id\":1}\n{\"t\":\"add+\",\"target\":\"10.9.9.9\"}\n");
	j = open_ok(f->dir);
	actions_init(&back);
	assert_int_equal(journal_replay(j, &back, &err), 1);
	assert_non_null(strstr(err.msg, "add+"));
	assert_int_equal(back.count, 4);
	journal_close(j);
	actions_fini(&back);
	actions_fini(&set);
}

/* A large transaction written and synced ahead of its commit: replay
 * ignores it until the commit is there; a discard takes it off the file. */
static void test_write_ahead(void **state)
{
	struct fixture *f = *state;
	struct isol_err err = {0};
	struct isol_actions set, back;
	struct journal *j;
	char target[32];
	int i;

	j = reopen(f->dir, &set);
	add(j, &set, "10.0.0.1");
	assert_int_equal(journal_write_ahead(j), 0); /* one record: no transaction, nothing */
	assert_int_equal(journal_sync(j), 0);
	for (i = 0; i < 2000; i++) {
		snprintf(target, sizeof(target), "10.1.%d.%d:80", i / 250, i % 250 + 1);
		add(j, &set, target);
	}
	assert_int_equal(journal_write_ahead(j), 0);
	/* a crash now: the records are on disk, uncommitted */
	{
		struct journal *j2;

		journal_close(j);
		j2 = open_ok(f->dir);
		actions_init(&back);
		assert_int_equal(journal_replay(j2, &back, &err), 0);
		assert_int_equal(back.count, 1);
		journal_close(j2);
		actions_fini(&back);
	}
	/* again, and this time committed */
	actions_fini(&set);
	j = reopen(f->dir, &set);
	for (i = 0; i < 2000; i++) {
		snprintf(target, sizeof(target), "10.1.%d.%d:80", i / 250, i % 250 + 1);
		add(j, &set, target);
	}
	assert_int_equal(journal_write_ahead(j), 0);
	add(j, &set, "10.2.0.1"); /* more after the write-ahead, same transaction */
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 2002);
	/* and discarded: gone from the file */
	for (i = 0; i < 10; i++) {
		snprintf(target, sizeof(target), "10.3.0.%d", i + 1);
		add(j, &back, target);
	}
	assert_int_equal(journal_write_ahead(j), 0);
	journal_discard(j);
	journal_close(j);
	actions_fini(&back);
	j = reopen(f->dir, &back);
	assert_int_equal(back.count, 2002);
	journal_close(j);
	actions_fini(&back);
	actions_fini(&set);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* A crash while a transaction was written: none of it comes back. */
static void test_uncommitted_txn_ignored(void **state)
{
	struct fixture *f = *state;
	struct isol_err err = {0};
	struct isol_actions set, back;
	struct journal *j;
	char *text;

	j = reopen(f->dir, &set);
	add(j, &set, "10.0.0.1");
	assert_int_equal(journal_sync(j), 0); /* one record: no framing */
	journal_close(j);
	append_raw(f->path, "{\"t\":\"begin\"}\n"
			    "{\"t\":\"add\",\"id\":7,\"target\":\"10.0.0.7\"}\n"
			    "{\"t\":\"add\",\"id\":8,\"target\":\"10.0.0.8\"}\n");
	j = open_ok(f->dir);
	actions_init(&back);
	assert_int_equal(journal_replay(j, &back, &err), 0);
	assert_int_equal(back.count, 1);
	assert_null(actions_find(&back, 7));
	/* cut from the file: the next appends do not land after it */
	add(j, &back, "10.0.0.9");
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	text = slurp(f->path);
	assert_null(strstr(text, "10.0.0.7"));
	assert_non_null(strstr(text, "10.0.0.9"));
	free(text);
	actions_fini(&back);
	actions_fini(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_round_trip),
	    T(test_unwritable_strings),
	    T(test_tombstones),
	    T(test_uncommitted_txn_ignored),
	    T(test_short_adds),
	    T(test_write_ahead),
	    T(test_refused_and_null_actor),
	    T(test_discard_and_empty_sync),
	    T(test_torn_no_newline),
	    T(test_torn_unparsable_last_line),
	    T(test_torn_zeros),
	    T(test_room_ahead),
	    T(test_torn_only_fragment),
	    T(test_bad_lines_in_the_middle),
	    T(test_bad_line_messages),
	    T(test_blank_lines_and_meta),
	    T(test_next_id_across_compaction),
	    T(test_compact_refuses_unsynced),
	    T(test_lock),
	    T(test_creates_dir),
	    T(test_open_errors),
	    T(test_failed_sync_cuts_back),
	    T(test_record_parse_matches_jansson),
	    T(test_100k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
