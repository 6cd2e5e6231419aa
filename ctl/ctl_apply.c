/* ctl_apply.c - `isolctl apply -f FILE`: the file goes to the agent as the
 * payload of one request (its bytes follow the request line: nothing to
 * escape, nothing for the agent to parse as JSON), which the agent checks
 * line by line (every bad line named as FILE:LINE, nothing applied if any)
 * and applies as one transaction. The lines are parsed once, there. The
 * file is held once; the request is written in 256 KiB pieces. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "isol/spec.h"
#include "isol/wire.h"

#define STREAM_CHUNK (256u << 10)
/* A request line is at most ISOL_WIRE_MAX_LINE; keep room for the framing. */
#define MAX_FILE (ISOL_WIRE_MAX_LINE - 4096)

struct apply_file {
	const char *name; /* for messages and "source" */
	char *data;	  /* the whole file, NUL-terminated */
	size_t len;
};

static int read_all(int fd, struct apply_file *f)
{
	size_t cap = 64u << 10;
	struct stat st;
	char *nb;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 1;
	if (cap > MAX_FILE + 1)
		return -EFBIG;
	f->data = malloc(cap);
	if (f->data == NULL)
		return -ENOMEM;
	f->len = 0;
	for (;;) {
		ssize_t n;

		if (cap - f->len < 2) {
			if (cap > MAX_FILE)
				return -EFBIG;
			nb = realloc(f->data, cap * 2);
			if (nb == NULL)
				return -ENOMEM;
			f->data = nb;
			cap *= 2;
		}
		n = read(fd, f->data + f->len, cap - f->len - 1);
		if (n == 0)
			break;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		f->len += (size_t)n;
		if (f->len > MAX_FILE)
			return -EFBIG;
	}
	f->data[f->len] = '\0';
	return 0;
}

/* The request, then the file's bytes as its payload, streamed into @w. */
static void write_request(struct ctl *ctl, const struct ctl_apply_opts *opts,
			  const struct apply_file *f, struct ctl_jw *w, const char *source)
{
	ctl_req_begin(w, "apply");
	ctl_jw_key(w, "source", false);
	ctl_jw_str(w, source, strlen(source));
	ctl_jw_key(w, "force", false);
	ctl_jw_lit(w, opts->force ? "true" : "false");
	ctl_req_mutating(w, ctl, opts->dry_run);
	ctl_jw_key(w, "payload", false);
	ctl_jw_int(w, (long long)f->len);
	ctl_jw_raw(w, "}\n", 2);
	ctl_jw_raw(w, f->data, f->len);
	ctl_jw_flush(w);
}

int ctl_apply_run(struct ctl *ctl, const struct ctl_apply_opts *opts)
{
	bool from_stdin = strcmp(opts->file, "-") == 0;
	struct apply_file f = {.name = from_stdin ? "<stdin>" : opts->file};
	struct isol_err err = {0};
	struct ctl_conn conn;
	struct ctl_jw w;
	struct ctl_resp resp;
	char *source = NULL;
	int fd, rc;

	fd = from_stdin ? STDIN_FILENO : open(opts->file, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return ctl_fail(ctl, CTL_EXIT_USAGE, ISOL_E_INVALID, "apply: cannot open %s: %s",
				opts->file, strerror(errno));
	rc = read_all(fd, &f);
	if (!from_stdin)
		close(fd);
	if (rc < 0) {
		rc = ctl_fail(ctl, CTL_EXIT_USAGE, ISOL_E_INVALID, "apply: cannot read %s: %s",
			      f.name,
			      rc == -EFBIG ? "larger than one request may be (64 MiB): split it"
					   : strerror(-rc));
		goto out_data;
	}

	source = strdup(f.name);
	if (source)
		ctl_utf8_force(source);
	if (source == NULL || ctl_jw_init(&w, STREAM_CHUNK, ctl_conn_sink, &conn) < 0) {
		rc = ctl_fail(ctl, CTL_EXIT_FAILED, ISOL_E_INTERNAL, "out of memory");
		goto out_data;
	}
	rc = ctl_conn_open(&conn, ctl->socket, CTL_TIMEOUT_LONG_MS, &err);
	if (rc < 0) {
		rc = ctl_unreachable(ctl, &err);
		goto out_writer;
	}
	write_request(ctl, opts, &f, &w, source);
	if (w.error == -ENOMEM) {
		rc = ctl_fail(ctl, CTL_EXIT_FAILED, ISOL_E_INTERNAL, "out of memory");
		goto out_conn;
	}
	if (w.error && w.error != -EPIPE && w.error != -ECONNRESET) {
		rc = ctl_unreachable(ctl, &conn.send_err);
		goto out_conn;
	}
	/* after a hang-up mid-request the agent may still have said why */
	rc = ctl_receive(&conn, &resp, &err);
	if (rc < 0) {
		rc = ctl_unreachable(ctl, &err);
		goto out_conn;
	}
	rc = ctl_answered(ctl, "apply", &resp);
	if (rc == -1) {
		ctl_render_apply(ctl->out, resp.obj, opts->dry_run);
		rc = CTL_EXIT_OK;
	}
	ctl_resp_fini(&resp);
out_conn:
	ctl_conn_close(&conn);
out_writer:
	ctl_jw_fini(&w);
out_data:
	free(source);
	free(f.data);
	return rc;
}
