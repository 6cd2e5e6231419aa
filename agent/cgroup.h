/* cgroup.h - the cgroup v2 of exec probes: a child of the agent's own cgroup
 * named isol-probes. A probe command runs in it, and the table accepts the
 * packets of its sockets (nft.c: `socket cgroupv2 level L`), so the command
 * sees the real component, not isol's own isolation or steering. */
#ifndef ISOL_CGROUP_H
#define ISOL_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "isol/err.h"

#define CGROUP_PROBES_NAME "isol-probes"
#define CGROUP_MAX_LEVEL   255 /* the deepest level nft's socket expression takes */

struct isol_cgroup {
	char path[PATH_MAX]; /* its directory: /sys/fs/cgroup/.../isol-probes */
	uint64_t id;	     /* the kernel's cgroup id: the directory's inode */
	uint32_t level;	     /* its depth below the cgroup2 root ("/" is 0) */
	int dir_fd;	     /* the directory, for clone3's CLONE_INTO_CGROUP */
	int procs_fd;	     /* its cgroup.procs, open for writing. A write of "0"
			      * moves the writer in: one system call, fit for a
			      * child between clone and exec, but a migration
			      * waits for an RCU grace period (milliseconds) */
};

/* The cgroup of exec probes of this process, made (or found: it outlives us)
 * on the first call and kept until exit. NULL when there is none (no
 * cgroup2, no permission, a read-only fs): then a warning, once, and probe
 * commands meet isol's own rules. Only a failure for want of file
 * descriptors or memory is tried again at the next call. */
const struct isol_cgroup *cgroup_probes(void);
/* The same, quietly and with no answer: made early (while file descriptors
 * are at hand) by a process that may never need it; cgroup_probes() tells
 * of a failure when it is needed. */
void cgroup_probes_prepare(void);

/* ---- the parts of cgroup_probes(), pure or on a given directory (tests) ---- */

/* The cgroup v2 path ("/a/b") of the text of /proc/PID/cgroup: its "0::"
 * line. 0, -ENOENT (no cgroup v2 line) or -ENAMETOOLONG. */
int cgroup_parse_self(const char *text, char *path, size_t len);

/* Where the cgroup2 file system is mounted (@mnt) and which of its cgroups
 * is the root of that mount (@root, "/" unless a subtree is bind-mounted),
 * from the text of /proc/PID/mountinfo; /sys/fs/cgroup wins over other
 * mounts. 0, -ENOENT (no cgroup2 mount) or -ENAMETOOLONG. */
int cgroup_parse_mount(const char *text, char *mnt, size_t mnt_len, char *root, size_t root_len);

/* The depth of a cgroup path: "/" 0, "/a" 1, "/a/b/" 2. */
uint32_t cgroup_path_level(const char *path);

/* Make (mkdir; an existing one is fine) the cgroup @name under @self (a path
 * as /proc/self/cgroup shows it) of the cgroup2 fs mounted at @mnt with
 * @root, and open it and its cgroup.procs. Fills @cg, which owns two fds
 * afterwards (cgroup_close; also after a failure). 0 or -errno with a
 * message in @err. */
int cgroup_open(struct isol_cgroup *cg, const char *mnt, const char *root, const char *self,
		const char *name, struct isol_err *err);
void cgroup_close(struct isol_cgroup *cg);

#endif
