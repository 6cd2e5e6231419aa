/* apply_parse.h - the text of an `apply` request -> its actions, all or
 * none: every bad line is named (SOURCE:LINE: message). A large request is
 * parsed by two threads, each a half of its lines: the parse is pure, and
 * on a 100,000-line file it is the largest part of the agent's own time. */
#ifndef ISOL_APPLY_PARSE_H
#define ISOL_APPLY_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "actions.h"
#include "isol/err.h"
#include "isol/strbuf.h"

/* Bad lines named one by one; past this many they are counted. */
#define APPLY_ERRORS_MAX 100
/* From this many lines on, a second thread parses half of them. */
#define APPLY_PARALLEL_MIN 8192

struct apply_parsed {
	struct isol_action **acts; /* the actions, in line order (shrunk, unowned by a set) */
	size_t *lineno;		   /* the line of each, from 1 */
	size_t n;
	size_t bad;		/* bad lines; then acts is empty */
	struct isol_err first;	/* the first bad line's error */
	struct strbuf details;	/* the first APPLY_ERRORS_MAX errors, JSON strings */
};

/* Parse @text (@len bytes, lines apart by "\n" or "\r\n"; cut in place, so
 * writable, with one byte of room after it). Blank lines and # comments are
 * skipped; a comment may hold any bytes, an action's line must be UTF-8 and
 * hold no NUL. @force adds --force to every action. Returns 0 (see @out->bad
 * for bad lines) or -ENOMEM. @threads: 1 or 2 (2 only helps past
 * APPLY_PARALLEL_MIN lines). */
int apply_parse(char *text, size_t len, const char *source, bool force, int threads,
		struct apply_parsed *out);
/* Free what is still owned: the actions not taken (set acts[i] NULL to
 * take one), the arrays, the details. */
void apply_parsed_fini(struct apply_parsed *p);

#endif
