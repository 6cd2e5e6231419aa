/* spec.c - the words of a mutating verb (CLI argv or an apply line) -> isol_spec. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isol/duration.h"
#include "isol/spec.h"

static const char *const kind_names[__ISOL_KIND_MAX] = {
	[ISOL_KIND_ISOLATE] = "isolate",
};
static const char *const mode_names[__ISOL_MODE_MAX] = {
	[ISOL_MODE_REJECT] = "reject",
	[ISOL_MODE_DROP] = "drop",
};

const char *isol_kind_name(enum isol_kind kind)
{
	return (unsigned)kind < __ISOL_KIND_MAX ? kind_names[kind] : "?";
}

const char *isol_mode_name(enum isol_mode mode)
{
	return (unsigned)mode < __ISOL_MODE_MAX ? mode_names[mode] : "?";
}

int isol_mode_parse(const char *s, enum isol_mode *mode)
{
	int i;

	for (i = 0; i < __ISOL_MODE_MAX; i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*mode = (enum isol_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const struct {
	const char *name;
	unsigned bit;
} dir_names[] = {
	{ "out", ISOL_DIR_OUT }, { "in", ISOL_DIR_IN }, { "fwd", ISOL_DIR_FWD },
};

int isol_dirs_parse(const char *s, unsigned *dirs)
{
	char buf[64], *tok, *save = NULL;
	unsigned d = 0;
	size_t i;

	if (strcmp(s, "all") == 0) {
		*dirs = ISOL_DIR_ALL;
		return 0;
	}
	if (strlen(s) >= sizeof(buf) || *s == '\0')
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(dir_names) / sizeof(dir_names[0]); i++)
			if (strcmp(tok, dir_names[i].name) == 0)
				break;
		if (i == sizeof(dir_names) / sizeof(dir_names[0]))
			return -EINVAL;
		d |= dir_names[i].bit;
	}
	if (d == 0)
		return -EINVAL;
	*dirs = d;
	return 0;
}

int isol_dirs_format(unsigned dirs, char *buf, size_t len)
{
	size_t off = 0, i;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	if ((dirs & ISOL_DIR_ALL) == ISOL_DIR_ALL)
		return snprintf(buf, len, "all");
	for (i = 0; i < sizeof(dir_names) / sizeof(dir_names[0]); i++) {
		if (!(dirs & dir_names[i].bit) || off >= len)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "",
					dir_names[i].name);
	}
	return (int)off;
}

void isol_spec_init(struct isol_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->kind = ISOL_KIND_ISOLATE;
	spec->dirs = ISOL_DIR_OUT;
	spec->mode = ISOL_MODE_REJECT;
}

/* JSON carries only UTF-8: a reason that is not would be lost on the wire. */
static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned char lo = 0x80, hi = 0xbf;
		int n, i;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return false;
		if (*p == 0xe0)
			lo = 0xa0; /* overlong */
		else if (*p == 0xed)
			hi = 0x9f; /* surrogates */
		else if (*p == 0xf0)
			lo = 0x90; /* overlong */
		else if (*p == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
		if (p[1] < lo || p[1] > hi)
			return false;
		for (i = 2; i <= n; i++)
			if (p[i] < 0x80 || p[i] > 0xbf)
				return false;
		p += n + 1;
	}
	return true;
}

/* Take the value of option argv[*i] ("--ttl 5m" or "--ttl=5m"). */
static const char *opt_value(int argc, char **argv, int *i, const char *eq,
			     struct isol_err *err)
{
	if (eq)
		return eq + 1;
	if (*i + 1 >= argc) {
		isol_err_set(err, -EINVAL, "option '%s' needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

int isol_spec_parse_argv(int argc, char **argv, struct isol_spec *spec, bool *dry_run,
			 struct isol_err *err)
{
	const char *target = NULL;
	int i;

	isol_spec_init(spec);
	if (dry_run)
		*dry_run = false;
	if (argc < 1)
		return isol_err_set(err, -EINVAL, "missing verb");
	if (strcmp(argv[0], "isolate") != 0)
		return isol_err_set(err, -EINVAL, "unknown action '%s' (expected: isolate)",
				    argv[0]);
	spec->kind = ISOL_KIND_ISOLATE;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v, *eq;
		char name[32];
		size_t nlen;

		if (a[0] != '-' || a[1] != '-' || a[2] == '\0') {
			if (a[0] == '-' && a[1] != '\0')
				return isol_err_set(err, -EINVAL, "unknown option '%s'", a);
			if (target)
				return isol_err_set(err, -EINVAL,
						    "unexpected argument '%s' (one target per action)",
						    a);
			target = a;
			continue;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (nlen >= sizeof(name))
			return isol_err_set(err, -EINVAL, "unknown option '%.40s'", a);
		memcpy(name, a, nlen);
		name[nlen] = '\0';

		if (strcmp(name, "--force") == 0 && !eq) {
			spec->force = true;
		} else if (strcmp(name, "--dry-run") == 0 && !eq) {
			if (!dry_run)
				return isol_err_set(err, -EINVAL,
						    "--dry-run applies to the whole apply, not one line");
			*dry_run = true;
		} else if (strcmp(name, "--ttl") == 0) {
			if (!(v = opt_value(argc, argv, &i, eq, err)))
				return -EINVAL;
			if (isol_duration_parse(v, &spec->ttl_ms, err) < 0) {
				isol_err_prefix(err, "--ttl: ");
				return -EINVAL;
			}
		} else if (strcmp(name, "--reason") == 0) {
			if (!(v = opt_value(argc, argv, &i, eq, err)))
				return -EINVAL;
			if (strlen(v) > ISOL_REASON_MAX)
				return isol_err_set(err, -EINVAL, "--reason is longer than %d bytes",
						    ISOL_REASON_MAX);
			if (strpbrk(v, "\n\r"))
				return isol_err_set(err, -EINVAL, "--reason must be one line");
			if (!utf8_valid(v))
				return isol_err_set(err, -EINVAL, "--reason must be UTF-8 text");
			strcpy(spec->reason, v);
		} else if (strcmp(name, "--direction") == 0) {
			if (!(v = opt_value(argc, argv, &i, eq, err)))
				return -EINVAL;
			if (isol_dirs_parse(v, &spec->dirs) < 0)
				return isol_err_set(err, -EINVAL,
						    "bad --direction '%s' (out, in, fwd, all, or a "
						    "comma list like out,in)",
						    v);
		} else if (strcmp(name, "--mode") == 0) {
			if (!(v = opt_value(argc, argv, &i, eq, err)))
				return -EINVAL;
			if (isol_mode_parse(v, &spec->mode) < 0)
				return isol_err_set(err, -EINVAL, "bad --mode '%s' (reject or drop)",
						    v);
		} else {
			return isol_err_set(err, -EINVAL, "unknown option '%s' for %s", name,
					    argv[0]);
		}
	}
	if (!target)
		return isol_err_set(err, -EINVAL, "%s needs a TARGET (e.g. 10.0.0.5:5672)",
				    argv[0]);
	return isol_target_parse(target, &spec->target, err);
}

int isol_line_split(char *line, char **argv, int max, struct isol_err *err)
{
	char *r = line, *w = line;
	int argc = 0;

	for (;;) {
		char quote = 0;

		while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			r++;
		if (*r == '\0' || *r == '#')
			break;
		if (argc == max)
			return isol_err_set(err, -EINVAL, "too many words (max %d)", max);
		argv[argc++] = w;
		while (*r != '\0') {
			if (quote) {
				if (*r == quote)
					quote = 0;
				else
					*w++ = *r;
				r++;
			} else if (*r == '"' || *r == '\'') {
				quote = *r++;
			} else if (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n') {
				break;
			} else {
				*w++ = *r++;
			}
		}
		if (quote)
			return isol_err_set(err, -EINVAL, "unterminated %c quote", quote);
		if (*r != '\0')
			r++;
		*w++ = '\0';
	}
	return argc;
}

int isol_spec_parse_line(const char *line, struct isol_spec *spec, struct isol_err *err)
{
	char buf[1024], *argv[32];
	size_t n = strlen(line);
	int argc;

	if (n >= sizeof(buf))
		return isol_err_set(err, -EINVAL, "line is longer than %zu bytes", sizeof(buf) - 1);
	memcpy(buf, line, n + 1);
	argc = isol_line_split(buf, argv, 32, err);
	if (argc < 0)
		return argc;
	if (argc == 0)
		return 1;
	return isol_spec_parse_argv(argc, argv, spec, NULL, err);
}

static void put_char(char *buf, size_t len, size_t *n, char c)
{
	if (*n + 1 < len)
		buf[*n] = c;
	(*n)++;
}

/* @s as one word for isol_line_split(), which has quotes but no escapes:
 * quoted with whichever of ' and " it holds fewer of, and each of those
 * inside closes the quote, adds itself in the other quotes, and reopens:
 * 'it'"'"'s'. Returns the full length, like snprintf. */
static size_t quote_word(const char *s, char *buf, size_t len)
{
	size_t n = 0, single = 0, dbl = 0;
	const char *p;
	char q, o;
	int k;

	for (p = s; *p; p++) {
		single += *p == '\'';
		dbl += *p == '"';
	}
	q = single <= dbl ? '\'' : '"';
	o = q == '\'' ? '"' : '\'';
	put_char(buf, len, &n, q);
	for (p = s; *p; p++) {
		if (*p != q) {
			put_char(buf, len, &n, *p);
			continue;
		}
		for (k = 0; k < 5; k++)
			put_char(buf, len, &n, k % 2 ? o : q);
	}
	put_char(buf, len, &n, q);
	if (len > 0)
		buf[n < len ? n : len - 1] = '\0';
	return n;
}

int isol_spec_format(const struct isol_spec *spec, char *buf, size_t len)
{
	char target[ISOL_TARGET_STRLEN], dirs[32], ttl[32] = "";
	int n;

	isol_target_format(&spec->target, target, sizeof(target));
	isol_dirs_format(spec->dirs, dirs, sizeof(dirs));
	if (spec->ttl_ms)
		isol_duration_format(spec->ttl_ms, ttl, sizeof(ttl));
	n = snprintf(buf, len, "%s %s --direction %s --mode %s%s%s%s", isol_kind_name(spec->kind),
		     target, dirs, isol_mode_name(spec->mode), spec->ttl_ms ? " --ttl " : "", ttl,
		     spec->force ? " --force" : "");
	if (spec->reason[0] && n >= 0 && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, " --reason ");
		if ((size_t)n < len)
			n += (int)quote_word(spec->reason, buf + n, len - (size_t)n);
	}
	return n;
}
