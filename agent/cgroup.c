/* cgroup.c - finds the agent's own cgroup v2 and makes the cgroup of exec
 * probes below it. Fails soft: without it, probes just are not exempt. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"

#define MOUNTINFO_FIELDS 64

/* --- the parts ------------------------------------------------------------ */

int cgroup_parse_self(const char *text, char *path, size_t len)
{
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		/* v1 hierarchies have an id and controllers; v2 is "0::/path" */
		if (n > 3 && strncmp(line, "0::", 3) == 0 && line[3] == '/') {
			if (n - 3 >= len)
				return -ENAMETOOLONG;
			memcpy(path, line + 3, n - 3);
			path[n - 3] = '\0';
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static int copy_field(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return -ENAMETOOLONG;
	strcpy(dst, src);
	unescape(dst);
	return 0;
}

/* Fields of one mountinfo line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS
 * [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS. @line is cut up in place. */
static bool mount_is_cgroup2(char *line, char **root, char **mnt)
{
	char *f[MOUNTINFO_FIELDS], *save = NULL, *t;
	size_t n = 0, i;

	for (t = strtok_r(line, " ", &save); t && n < MOUNTINFO_FIELDS;
	     t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	for (i = 6; i + 1 < n; i++) {
		if (strcmp(f[i], "-") == 0) {
			*root = f[3];
			*mnt = f[4];
			return strcmp(f[i + 1], "cgroup2") == 0;
		}
	}
	return false;
}

int cgroup_parse_mount(const char *text, char *mnt, size_t mnt_len, char *root, size_t root_len)
{
	char *copy = strdup(text), *line, *nl, *r, *m;
	int rc = -ENOENT;

	if (copy == NULL)
		return -ENOMEM;
	for (line = copy; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (!mount_is_cgroup2(line, &r, &m))
			continue;
		/* the first cgroup2 mount, unless the usual place comes later */
		if (rc == 0 && strcmp(m, "/sys/fs/cgroup") != 0)
			continue;
		rc = copy_field(mnt, mnt_len, m);
		if (rc == 0)
			rc = copy_field(root, root_len, r);
		if (rc < 0 || strcmp(mnt, "/sys/fs/cgroup") == 0)
			break;
	}
	free(copy);
	return rc;
}

uint32_t cgroup_path_level(const char *path)
{
	uint32_t level = 0;
	const char *p;

	for (p = path; *p; p++)
		if (*p != '/' && (p == path || p[-1] == '/'))
			level++;
	return level;
}

/* @self below the mount's @root: "" for the root itself, else "/a/b". NULL
 * when the mount does not show that cgroup. */
static const char *below_root(const char *root, const char *self)
{
	size_t n = strlen(root);

	while (n > 0 && root[n - 1] == '/')
		n--;
	if (strncmp(self, root, n) != 0 || (self[n] != '/' && self[n] != '\0'))
		return NULL;
	self += n;
	return strspn(self, "/") == strlen(self) ? "" : self;
}

int cgroup_open(struct isol_cgroup *cg, const char *mnt, const char *root, const char *self,
		const char *name, struct isol_err *err)
{
	const char *rel = below_root(root, self);
	char procs[PATH_MAX + 16];
	struct stat st;
	size_t n, rlen;
	int e;

	memset(cg, 0, sizeof(*cg));
	cg->dir_fd = cg->procs_fd = -1;
	if (rel == NULL)
		return isol_err_set(err, -ENOENT,
				    "cgroup %s is outside the cgroup2 mount %s (its root is %s)",
				    self, mnt, root);
	rlen = strlen(rel);
	while (rlen > 0 && rel[rlen - 1] == '/')
		rlen--;
	n = (size_t)snprintf(cg->path, sizeof(cg->path), "%s%.*s/%s", mnt, (int)rlen, rel, name);
	if (n >= sizeof(cg->path))
		return isol_err_set(err, -ENAMETOOLONG, "cgroup path too long under %s", mnt);
	cg->level = cgroup_path_level(self) + 1;
	if (cg->level > CGROUP_MAX_LEVEL)
		return isol_err_set(err, -ERANGE,
				    "cgroup %s is %u levels deep (nftables: at most %d)", cg->path,
				    cg->level, CGROUP_MAX_LEVEL);
	/* it outlives the agent (a restart finds it, same id). cgroup v2's "no
	 * internal processes" rule is about controllers enabled in a cgroup's
	 * subtree_control: we enable none, so the agent's own cgroup may hold
	 * both the agent and this child */
	if (mkdir(cg->path, 0755) == -1 && errno != EEXIST) {
		e = errno;
		return isol_err_set(err, -e, "cannot make cgroup %s: %s", cg->path, strerror(e));
	}
	e = stat(cg->path, &st) == -1 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (e)
		return isol_err_set(err, -e, "cgroup %s: %s", cg->path, strerror(e));
	cg->id = (uint64_t)st.st_ino; /* kernfs: the inode number is the cgroup id */
	cg->dir_fd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->dir_fd == -1) {
		e = errno;
		return isol_err_set(err, -e, "cannot open cgroup %s: %s", cg->path, strerror(e));
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg->path);
	cg->procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (cg->procs_fd == -1) {
		e = errno;
		return isol_err_set(err, -e, "cannot open %s: %s", procs, strerror(e));
	}
	return 0;
}

void cgroup_close(struct isol_cgroup *cg)
{
	if (cg->dir_fd != -1)
		close(cg->dir_fd);
	if (cg->procs_fd != -1)
		close(cg->procs_fd);
	cg->dir_fd = cg->procs_fd = -1;
}

/* --- this process --------------------------------------------------------- */

/* The whole of a (/proc) file, NUL-terminated, into *out (free it). */
static int read_text(const char *path, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nbuf;
	ssize_t n;
	int fd, e;

	if (buf == NULL)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		e = errno;
		free(buf);
		return -e;
	}
	for (;;) {
		if (len + 1 == cap) {
			nbuf = realloc(buf, cap * 2);
			if (nbuf == NULL) {
				e = ENOMEM;
				goto err;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			goto err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return 0;
err:
	close(fd);
	free(buf);
	return -e;
}

static int probes_open(struct isol_cgroup *cg, struct isol_err *err)
{
	char self[PATH_MAX], mnt[PATH_MAX], root[PATH_MAX], *text;
	int rc;

	rc = read_text("/proc/self/cgroup", &text);
	if (rc < 0)
		return isol_err_set(err, rc, "cannot read /proc/self/cgroup: %s", strerror(-rc));
	rc = cgroup_parse_self(text, self, sizeof(self));
	free(text);
	if (rc < 0)
		return isol_err_set(err, rc, "this process is in no cgroup v2 (/proc/self/cgroup)");
	rc = read_text("/proc/self/mountinfo", &text);
	if (rc < 0)
		return isol_err_set(err, rc, "cannot read /proc/self/mountinfo: %s", strerror(-rc));
	rc = cgroup_parse_mount(text, mnt, sizeof(mnt), root, sizeof(root));
	free(text);
	if (rc < 0)
		return isol_err_set(err, rc, "no cgroup2 file system is mounted");
	return cgroup_open(cg, mnt, root, self, CGROUP_PROBES_NAME, err);
}

static struct isol_cgroup probes = {.dir_fd = -1, .procs_fd = -1};
static int probes_state; /* 0 not made yet, 1 there, -1 never */
static char probes_why[sizeof(((struct isol_err *)0)->msg)];

void cgroup_probes_prepare(void)
{
	struct isol_err err = {0, ""};
	int rc;

	if (probes_state != 0)
		return;
	rc = probes_open(&probes, &err);
	if (rc == 0) {
		probes_state = 1;
		log_debug("exec probes run in cgroup %s (id %llu, level %u)", probes.path,
			  (unsigned long long)probes.id, probes.level);
		return;
	}
	cgroup_close(&probes);
	snprintf(probes_why, sizeof(probes_why), "%s", err.msg);
	/* out of file descriptors or memory: maybe not next time */
	if (rc != -EMFILE && rc != -ENFILE && rc != -ENOMEM)
		probes_state = -1;
}

const struct isol_cgroup *cgroup_probes(void)
{
	static bool warned;

	cgroup_probes_prepare();
	if (probes_state > 0)
		return &probes;
	if (!warned)
		log_warn("exec probes get no cgroup of their own (%s): their connections meet "
			 "isol's own rules",
			 probes_why);
	warned = true;
	return NULL;
}
