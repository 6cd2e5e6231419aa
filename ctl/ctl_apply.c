/* ctl_apply.c - `isolctl apply -f FILE`: check every line here first (all
 * bad lines reported as FILE:LINE, nothing sent if any), then stream the
 * file to the agent as one request that it applies as one transaction: its
 * "text", one string (a JSON array of 100,000 strings costs the agent's
 * parser a value per line), comments and blank lines sent empty. The file
 * is held once; the request is written in 256 KiB pieces. */
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

/* The next line of @f from *@pos: its start and length without "\n" or
 * "\r\n". False at the end (a final newline does not start a line). */
static bool next_line(const struct apply_file *f, size_t *pos, char **line, size_t *len)
{
	char *s = f->data + *pos, *nl;
	size_t n;

	if (*pos >= f->len)
		return false;
	nl = memchr(s, '\n', f->len - *pos);
	n = nl ? (size_t)(nl - s) : f->len - *pos;
	*pos += n + (nl ? 1 : 0);
	if (n > 0 && s[n - 1] == '\r')
		n--;
	*line = s;
	*len = n;
	return true;
}

/* Blank or comment: what isol_line_split() finds no word in. Sent as "" to
 * keep line numbers without sending comment bytes (which need not be UTF-8). */
static bool is_blank(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i == n || s[i] == '#';
}

/* Check one line; 0 = an action, 1 = blank/comment, -EINVAL with @err set. */
static int check_line(char *line, size_t n, struct isol_err *err)
{
	struct isol_spec spec;
	char saved = line[n];
	int rc;

	if (memchr(line, '\0', n))
		return isol_err_set(err, -EINVAL, "NUL byte in line");
	line[n] = '\0'; /* a '\n' or '\r' of ours: restored below */
	rc = isol_spec_parse_line(line, &spec, err);
	line[n] = saved;
	if (rc == 0 && !ctl_utf8_valid(line, n))
		return isol_err_set(err, -EINVAL, "line is not valid UTF-8");
	return rc;
}

/* Pass 1: every line, every error. Returns the number of bad lines and,
 * in @wire, how many bytes the lines will take in the request. */
static size_t check_file(struct ctl *ctl, const struct apply_file *f, json_t *details, size_t *wire)
{
	size_t pos = 0, lineno = 0, bad = 0, n;
	char *line;

	*wire = 0;
	while (next_line(f, &pos, &line, &n)) {
		struct isol_err err = {0};
		int rc;

		lineno++;
		rc = check_line(line, n, &err);
		if (rc >= 0) { /* the line's bytes and its "\n" */
			*wire += (rc == 0 ? ctl_jw_str_len(line, n) - 2 : 0) + 2;
			continue;
		}
		bad++;
		ctl_put_safe(ctl->err, f->name);
		fprintf(ctl->err, ":%zu: ", lineno);
		ctl_put_safe(ctl->err, err.msg);
		fputc('\n', ctl->err);
		ctl_utf8_force(err.msg); /* it may quote the line's bytes */
		if (details)
			json_array_append_new(details,
					      json_pack("{s:I, s:s}", "line", (json_int_t)lineno,
							"message", err.msg));
	}
	return bad;
}

/* Pass 2: the request, streamed into @w. */
static void write_request(struct ctl *ctl, const struct ctl_apply_opts *opts,
			  const struct apply_file *f, struct ctl_jw *w, const char *source)
{
	size_t pos = 0, n;
	char *line;

	ctl_req_begin(w, "apply");
	ctl_jw_key(w, "source", false);
	ctl_jw_str(w, source, strlen(source));
	ctl_jw_key(w, "force", false);
	ctl_jw_lit(w, opts->force ? "true" : "false");
	ctl_req_mutating(w, ctl, opts->dry_run);
	ctl_jw_key(w, "text", false);
	ctl_jw_raw(w, "\"", 1);
	while (next_line(f, &pos, &line, &n) && !w->error) {
		if (!is_blank(line, n))
			ctl_jw_str_body(w, line, n);
		ctl_jw_raw(w, "\\n", 2);
	}
	ctl_jw_raw(w, "\"}\n", 3);
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
	json_t *details = NULL;
	char *source = NULL;
	size_t bad, wire;
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

	if (ctl->json)
		details = json_array();
	bad = check_file(ctl, &f, details, &wire);
	if (bad) {
		rc = ctl_fail_details(ctl, CTL_EXIT_USAGE, ISOL_E_INVALID, details,
				      "%s: %zu bad line%s; nothing was sent to isolagent", f.name,
				      bad, bad == 1 ? "" : "s");
		goto out_data;
	}
	json_decref(details);
	if (wire > MAX_FILE) {
		rc =
		    ctl_fail(ctl, CTL_EXIT_USAGE, ISOL_E_INVALID,
			     "apply: %s makes a request of %zu MiB, over the agent's %u MiB limit: "
			     "split it",
			     f.name, wire >> 20, ISOL_WIRE_MAX_LINE >> 20);
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
