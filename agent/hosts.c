/* hosts.c - the managed block of the hosts file: parse, render, write. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosts.h"

#define BEGIN_MARK "# BEGIN isol"
#define END_MARK "# END isol"
#define BEGIN_TEXT "# BEGIN isol (managed by isolagent: isolctl list / rollback; do not edit)"
/* The file had no final newline before our block: remember to take the one
 * we added away again when the block goes. */
#define NO_EOL_FLAG " [no-eol]"

int hosts_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0;
	const char *p;

	if (len == 0 || len > HOSTS_NAME_MAX || name[0] == '.' || name[len - 1] == '.')
		return 0;
	for (p = name; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

static int is_mark(const char *line, size_t len, const char *mark)
{
	size_t m = strlen(mark);

	return len >= m && memcmp(line, mark, m) == 0 &&
	       (len == m || line[m] == ' ' || line[m] == '\r' || line[m] == '\t');
}

struct span {
	size_t start, end; /* [start, end) byte offsets, end includes the EOL */
	int no_eol;
};

/* Find the managed blocks; returns how many (up to @max). A BEGIN with no
 * END is a block of its own line only (the marker is ours; the lines after
 * it are not). */
static size_t find_blocks(const char *in, size_t len, struct span *spans, size_t max)
{
	size_t off = 0, n = 0;
	int open = 0;

	while (off < len) {
		const char *nl = memchr(in + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - in) + 1 : len;
		size_t llen = end - off - (nl ? 1 : 0);

		if (!open && is_mark(in + off, llen, BEGIN_MARK)) {
			if (n < max) {
				spans[n].start = off;
				spans[n].end = end;
				spans[n].no_eol = memmem(in + off, llen, NO_EOL_FLAG,
							 strlen(NO_EOL_FLAG)) != NULL;
			}
			open = 1;
		} else if (open && is_mark(in + off, llen, END_MARK)) {
			if (n < max)
				spans[n].end = end;
			n++;
			open = 0;
		}
		off = end;
	}
	if (open)
		n++; /* unterminated: just its BEGIN line */
	return n < max ? n : max;
}

static const char *eol_of(const char *in, size_t len)
{
	const char *nl = memchr(in, '\n', len);

	return nl && nl > in && nl[-1] == '\r' ? "\r\n" : "\n";
}

static void render_block(struct strbuf *out, const struct hosts_pin *pins, size_t n,
			 const char *eol, int no_eol)
{
	size_t i;

	strbuf_printf(out, "%s%s%s", BEGIN_TEXT, no_eol ? NO_EOL_FLAG : "", eol);
	for (i = 0; i < n; i++)
		strbuf_printf(out, "%s\t%s\t# isol:%llu%s", pins[i].addr, pins[i].host,
			      (unsigned long long)pins[i].id, eol);
	strbuf_printf(out, "%s%s", END_MARK, eol);
}

#define MAX_BLOCKS 16

int hosts_render(const char *in, size_t len, const struct hosts_pin *pins, size_t n,
		 struct strbuf *out)
{
	struct span spans[MAX_BLOCKS];
	size_t nb = find_blocks(in, len, spans, MAX_BLOCKS), i, off = 0;
	const char *eol = eol_of(in, len);
	int no_eol = 0, placed = 0;

	out->len = 0;
	for (i = 0; i < nb; i++) {
		/* the text before this block, kept byte for byte */
		size_t keep_end = spans[i].start;

		no_eol |= spans[i].no_eol;
		if (spans[i].no_eol && i == nb - 1 && spans[i].end >= len && keep_end > off &&
		    in[keep_end - 1] == '\n' && n == 0) {
			/* the block was at the end and we had added the newline */
			keep_end--;
			if (keep_end > off && in[keep_end - 1] == '\r' && eol[0] == '\r')
				keep_end--;
		}
		strbuf_append(out, in + off, keep_end - off);
		if (!placed && n > 0) {
			render_block(out, pins, n, eol, spans[i].no_eol);
			placed = 1;
		}
		off = spans[i].end;
	}
	if (!placed && n > 0) {
		/* a new block goes first: the resolver takes the first line that
		 * names a host, so a pin must come before the file's own entry */
		struct strbuf rest;

		strbuf_init(&rest);
		strbuf_append(&rest, out->buf ? out->buf : "", out->len);
		out->len = 0;
		render_block(out, pins, n, eol, 0);
		strbuf_append(out, rest.buf ? rest.buf : "", rest.len);
		strbuf_fini(&rest);
	}
	strbuf_append(out, in + off, len - off);
	if (out->len == 0 && strbuf_reserve(out, 1) == 0)
		out->buf[0] = '\0';
	return out->error;
}

int hosts_block_matches(const char *in, size_t len, const struct hosts_pin *pins, size_t n)
{
	struct span spans[MAX_BLOCKS];
	size_t nb = find_blocks(in, len, spans, MAX_BLOCKS);
	struct strbuf want;
	int ok;

	if (n == 0)
		return nb == 0;
	if (nb != 1)
		return 0;
	strbuf_init(&want);
	render_block(&want, pins, n, eol_of(in, len), spans[0].no_eol);
	ok = want.error == 0 && spans[0].end - spans[0].start == want.len &&
	     memcmp(in + spans[0].start, want.buf, want.len) == 0;
	strbuf_fini(&want);
	return ok;
}

int hosts_read(const char *path, struct strbuf *out, struct isol_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	out->len = 0;
	if (fd == -1)
		return isol_err_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n;

		if (strbuf_reserve(out, 65536) < 0) {
			close(fd);
			return isol_err_set(err, -ENOMEM, "out of memory reading %s", path);
		}
		n = read(fd, out->buf + out->len, out->cap - out->len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int e = errno;

			close(fd);
			return isol_err_set(err, -e, "cannot read %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
	}
	out->buf[out->len] = '\0';
	close(fd);
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_in_place(const char *path, const char *data, size_t len, struct isol_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc;

	if (fd == -1)
		return isol_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
	flock(fd, LOCK_EX);
	rc = write_all(fd, data, len);
	if (rc == 0 && ftruncate(fd, (off_t)len) == -1)
		rc = -errno;
	if (rc == 0 && fsync(fd) == -1)
		rc = -errno;
	flock(fd, LOCK_UN);
	close(fd);
	if (rc < 0)
		return isol_err_set(err, rc, "cannot write %s in place: %s", path, strerror(-rc));
	return 0;
}

int hosts_write(const char *path, const char *data, size_t len, struct isol_err *err)
{
	char tmp[4096], dirbuf[4096];
	struct stat st;
	int fd, dfd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.isol-XXXXXX", path) >= (int)sizeof(tmp))
		return isol_err_set(err, -ENAMETOOLONG, "path too long: %s", path);
	if (stat(path, &st) == -1)
		return isol_err_set(err, -errno, "cannot stat %s: %s", path, strerror(errno));
	if (access(path, W_OK) == -1)
		return isol_err_set(err, -errno, "%s is not writable: %s", path, strerror(errno));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd == -1) {
		if (errno == EACCES || errno == EROFS || errno == EPERM)
			return write_in_place(path, data, len, err);
		return isol_err_set(err, -errno, "cannot create a temp file beside %s: %s", path,
				    strerror(errno));
	}
	rc = write_all(fd, data, len);
	if (rc == 0 && fchmod(fd, st.st_mode & 07777) == -1)
		rc = -errno;
	if (rc == 0 && fchown(fd, st.st_uid, st.st_gid) == -1 && errno != EPERM)
		rc = -errno;
	if (rc == 0 && fsync(fd) == -1)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) == -1) {
		rc = -errno;
		unlink(tmp);
		if (rc == -EBUSY || rc == -EXDEV) /* a bind mount: replace its content */
			return write_in_place(path, data, len, err);
		return isol_err_set(err, rc, "cannot replace %s: %s", path, strerror(-rc));
	}
	if (rc < 0) {
		unlink(tmp);
		return isol_err_set(err, rc, "cannot write %s: %s", tmp, strerror(-rc));
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int hosts_write_if_same(const char *path, const struct strbuf *was, const char *data, size_t len,
			struct isol_err *err)
{
	struct strbuf now;
	int rc;

	strbuf_init(&now);
	rc = hosts_read(path, &now, err);
	if (rc == 0 && (now.len != was->len ||
			(was->len && memcmp(now.buf, was->buf, was->len) != 0)))
		rc = -EAGAIN;
	strbuf_fini(&now);
	if (rc < 0)
		return rc;
	return hosts_write(path, data, len, err);
}
