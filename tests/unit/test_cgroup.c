/* test_cgroup.c - finding the agent's cgroup v2 and making the exec probes'
 * cgroup: the parsers of /proc/self/cgroup and /proc/self/mountinfo, the
 * levels, and cgroup_open() on a plain directory standing in for the
 * cgroup2 mount (no privilege needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"

static void test_parse_self(void **state)
{
	char path[64];

	/* a hybrid host: v1 hierarchies first, the v2 line last */
	assert_int_equal(
	    cgroup_parse_self("12:memory:/x\n1:name=systemd:/y\n0::/a/b\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/a/b");
	assert_int_equal(cgroup_parse_self("0::/\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/");
	assert_int_equal(
	    cgroup_parse_self("0::/system.slice/isolagent.service", path, sizeof(path)),
	    0); /* no newline at the end */
	assert_string_equal(path, "/system.slice/isolagent.service");
	/* v1 only: nothing to use */
	assert_int_equal(cgroup_parse_self("4:memory:/x\n3:cpu:/\n", path, sizeof(path)), -ENOENT);
	assert_int_equal(cgroup_parse_self("", path, sizeof(path)), -ENOENT);
	assert_int_equal(cgroup_parse_self("0::/a/very/long/path\n", path, 8), -ENAMETOOLONG);
}

static void test_parse_mount(void **state)
{
	char mnt[64], root[64];
	/* this machine's kind: v1 controllers and v2 at .../unified */
	const char *hybrid =
	    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	/* optional fields before the "-"; the usual place wins over a first one */
	const char *two =
	    "50 1 0:40 / /mnt/cg\\040two rw shared:7 - cgroup2 none rw\n"
	    "26 22 0:23 / /sys/fs/cgroup rw,nosuid shared:4 master:1 - cgroup2 cgroup2 rw\n";
	/* a container: a subtree bind-mounted */
	const char *sub = "60 59 0:29 /kubepods/pod1 /sys/fs/cgroup ro - cgroup2 cgroup rw\n";

	assert_int_equal(cgroup_parse_mount(hybrid, mnt, sizeof(mnt), root, sizeof(root)), 0);
	assert_string_equal(mnt, "/sys/fs/cgroup/unified");
	assert_string_equal(root, "/");
	assert_int_equal(cgroup_parse_mount(two, mnt, sizeof(mnt), root, sizeof(root)), 0);
	assert_string_equal(mnt, "/sys/fs/cgroup");
	assert_int_equal(cgroup_parse_mount("50 1 0:40 / /mnt/cg\\040two rw - cgroup2 none rw\n",
					    mnt, sizeof(mnt), root, sizeof(root)),
			 0);
	assert_string_equal(mnt, "/mnt/cg two"); /* octal escapes undone */
	assert_int_equal(cgroup_parse_mount(sub, mnt, sizeof(mnt), root, sizeof(root)), 0);
	assert_string_equal(root, "/kubepods/pod1");
	assert_int_equal(cgroup_parse_mount("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n",
					    mnt, sizeof(mnt), root, sizeof(root)),
			 -ENOENT);
	assert_int_equal(
	    cgroup_parse_mount("garbage\n\n - cgroup2\n", mnt, sizeof(mnt), root, sizeof(root)),
	    -ENOENT);
}

static void test_levels(void **state)
{
	assert_int_equal(cgroup_path_level("/"), 0);
	assert_int_equal(cgroup_path_level(""), 0);
	assert_int_equal(cgroup_path_level("/a"), 1);
	assert_int_equal(cgroup_path_level("/a/b/"), 2);
	assert_int_equal(cgroup_path_level("/system.slice/isolagent.service"), 2);
	assert_int_equal(cgroup_path_level("//a//b"), 2);
}

/* cgroup_open on a plain directory: the cgroup2 fs makes cgroup.procs by
 * itself, so the test makes it first (an existing cgroup is reused). */
static void test_open(void **state)
{
	char dir[] = "/tmp/test_cgroup.XXXXXX", p[PATH_MAX], want[PATH_MAX + 32];
	struct isol_err err = {0, ""};
	struct isol_cgroup cg;
	struct stat st;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/a", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/a/b", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/a/b/isol-probes", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/a/b/isol-probes/cgroup.procs", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);

	assert_int_equal(cgroup_open(&cg, dir, "/", "/a/b", CGROUP_PROBES_NAME, &err), 0);
	snprintf(want, sizeof(want), "%s/a/b/isol-probes", dir);
	assert_string_equal(cg.path, want);
	assert_int_equal(cg.level, 3); /* "/a/b/isol-probes" */
	assert_int_equal(stat(want, &st), 0);
	assert_true(cg.id == (uint64_t)st.st_ino);
	assert_true(cg.dir_fd >= 0);
	assert_true(cg.procs_fd >= 0);
	/* joining is one write of "0" */
	assert_int_equal(write(cg.procs_fd, "0", 1), 1);
	cgroup_close(&cg);
	assert_int_equal(cg.dir_fd, -1);
	assert_int_equal(cg.procs_fd, -1);

	/* a mount that shows a subtree: the hierarchy's /a is mounted at
	 * DIR/a, so /a/b is DIR/a/b; the level still counts from the top */
	snprintf(p, sizeof(p), "%s/a", dir);
	assert_int_equal(cgroup_open(&cg, p, "/a/", "/a/b", CGROUP_PROBES_NAME, &err), 0);
	snprintf(want, sizeof(want), "%s/a/b/isol-probes", dir);
	assert_string_equal(cg.path, want);
	assert_int_equal(cg.level, 3);
	cgroup_close(&cg);
	/* a plain directory has no cgroup.procs */
	assert_int_equal(cgroup_open(&cg, dir, "/", "/a", "b", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cgroup.procs"));
	cgroup_close(&cg);
	isol_err_clear(&err);
	/* outside the mount's root */
	assert_int_equal(cgroup_open(&cg, dir, "/c", "/a/b", "x", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "outside"));
	isol_err_clear(&err);
	/* the agent in the root cgroup, a directory made anew */
	assert_int_equal(cgroup_open(&cg, dir, "/", "/", "fresh", &err), -ENOENT);
	snprintf(want, sizeof(want), "%s/fresh", dir);
	assert_string_equal(cg.path, want);
	assert_int_equal(cg.level, 1);
	assert_int_equal(stat(want, &st), 0); /* made, though it has no cgroup.procs */
	cgroup_close(&cg);
	isol_err_clear(&err);
	/* no such mount */
	assert_int_equal(cgroup_open(&cg, "/nonexistent/cgroup", "/", "/", "x", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot make cgroup"));

	rmdir(want);
	snprintf(p, sizeof(p), "%s/a/b/isol-probes/cgroup.procs", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/a/b/isol-probes", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/a/b", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/a", dir);
	rmdir(p);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_self),
	    cmocka_unit_test(test_parse_mount),
	    cmocka_unit_test(test_levels),
	    cmocka_unit_test(test_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
