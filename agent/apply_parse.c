/* apply_parse.c - an apply request's lines -> actions (apply_parse.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apply_parse.h"
#include "isol/spec.h"
#include "thread.h"

struct line {
	const char *s; /* NUL-terminated, without its "\n" or "\r\n" */
	bool nul;      /* held a NUL byte of its own */
};

/* One thread's share: lines [lo, hi). */
struct range {
	const struct line *lines;
	size_t lo, hi;
	const char *source;
	bool force;
	struct isol_action **by_line; /* shared, each range writes its own part */
	size_t bad, named;
	struct isol_err errs[APPLY_ERRORS_MAX];
	int rc; /* -ENOMEM */
};

/* Blank or a comment: no word before a '#' (comments may hold any bytes). */
static bool blank(const char *s)
{
	s += strspn(s, " \t\r");
	return *s == '\0' || *s == '#';
}

static void *parse_range(void *arg)
{
	struct range *r = arg;
	struct isol_spec spec;
	size_t i;

	for (i = r->lo; i < r->hi; i++) {
		const struct line *l = &r->lines[i];
		struct isol_err err = { 0, "" };
		int rc;

		if (l->nul)
			rc = isol_err_set(&err, -EINVAL, "NUL byte in line");
		else if (blank(l->s))
			continue;
		else if (!isol_utf8_valid(l->s))
			rc = isol_err_set(&err, -EINVAL, "line is not valid UTF-8");
		else
			rc = isol_spec_parse_line(l->s, &spec, &err);
		if (rc < 0) {
			if (r->named < APPLY_ERRORS_MAX) {
				isol_err_prefix(&err, "%s:%zu: ", r->source, i + 1);
				r->errs[r->named++] = err;
			}
			r->bad++;
			continue;
		}
		if (rc == 1)
			continue; /* blank after all (a quoted nothing) */
		if (r->bad)
			continue; /* nothing will be applied: parse on, for the errors */
		spec.force |= r->force;
		r->by_line[i] = action_from_spec(&spec);
		if (r->by_line[i] == NULL) {
			r->rc = -ENOMEM;
			break;
		}
	}
	return NULL;
}

/* Cut @text into lines in place. */
static struct line *index_lines(char *text, size_t len, size_t *count)
{
	char *p = text, *end = text + len, *nl;
	struct line *lines;
	size_t n = 0;

	for (nl = p; nl < end && (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL; nl++)
		n++;
	n += len > 0 && text[len - 1] != '\n';
	lines = malloc((n ? n : 1) * sizeof(*lines));
	if (lines == NULL)
		return NULL;
	for (n = 0; p < end; n++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end; /* the byte of room after the text */
		lines[n].nul = memchr(p, '\0', (size_t)(nl - p)) != NULL;
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		lines[n].s = p;
		p = nl + 1;
	}
	*count = n;
	return lines;
}

int apply_parse(char *text, size_t len, const char *source, bool force, int threads,
		struct apply_parsed *out)
{
	struct range *r = NULL;
	struct line *lines;
	size_t count = 0, i, k, nr;
	pthread_t helper;
	bool helped = false;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	strbuf_init(&out->details);
	lines = index_lines(text, len, &count);
	if (lines == NULL)
		return -ENOMEM;
	nr = threads > 1 && count >= APPLY_PARALLEL_MIN ? 2 : 1;
	r = calloc(nr, sizeof(*r));
	out->acts = calloc(count + 1, sizeof(*out->acts)); /* by line, until compacted */
	out->lineno = malloc((count + 1) * sizeof(*out->lineno));
	if (r == NULL || out->acts == NULL || out->lineno == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (k = 0; k < nr; k++) {
		r[k].lines = lines;
		r[k].lo = count * k / nr;
		r[k].hi = count * (k + 1) / nr;
		r[k].source = source;
		r[k].force = force;
		r[k].by_line = out->acts;
	}
	/* the second half on a thread of its own, the first here; if no
	 * thread can be had, both here */
	if (nr == 2)
		helped = isol_thread_start(&helper, parse_range, &r[1]) == 0;
	parse_range(&r[0]);
	if (helped)
		pthread_join(helper, NULL);
	else if (nr == 2)
		parse_range(&r[1]);

	for (k = 0; k < nr; k++) {
		if (r[k].rc < 0)
			rc = r[k].rc;
		for (i = 0; i < r[k].named && out->bad + i < APPLY_ERRORS_MAX; i++) {
			if (out->bad + i > 0)
				strbuf_puts(&out->details, ",");
			strbuf_json_str(&out->details, r[k].errs[i].msg);
		}
		if (r[k].bad && out->bad == 0)
			out->first = r[k].errs[0];
		out->bad += r[k].bad;
	}
	if (out->details.error)
		rc = -ENOMEM;
	/* compact: the actions in line order, with their lines */
	for (i = 0; i < count; i++) {
		struct isol_action *a = out->acts[i];

		out->acts[i] = NULL;
		if (a == NULL)
			continue;
		if (rc < 0 || out->bad) {
			action_free(a);
			continue;
		}
		out->lineno[out->n] = i + 1;
		out->acts[out->n++] = a;
	}
out:
	free(r);
	free(lines);
	if (rc < 0)
		apply_parsed_fini(out);
	return rc;
}

void apply_parsed_fini(struct apply_parsed *p)
{
	size_t i;

	for (i = 0; p->acts && i < p->n; i++)
		action_free(p->acts[i]);
	free(p->acts);
	free(p->lineno);
	strbuf_fini(&p->details);
	p->acts = NULL;
	p->lineno = NULL;
	p->n = 0;
}
