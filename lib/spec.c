/* spec.c - the words of a mutating verb (CLI argv or an apply line) -> isol_spec. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isol/duration.h"
#include "isol/spec.h"

static const char *const kind_names[__ISOL_KIND_MAX] = {
	[ISOL_KIND_ISOLATE] = "isolate",
	[ISOL_KIND_STEER] = "steer",
	[ISOL_KIND_PIN] = "pin",
	[ISOL_KIND_ROUTE] = "route",
};
static const char *const route_type_names[__ISOL_ROUTE_MAX] = {
	[ISOL_ROUTE_VIA] = "via",
	[ISOL_ROUTE_BLACKHOLE] = "blackhole",
	[ISOL_ROUTE_UNREACHABLE] = "unreachable",
	[ISOL_ROUTE_PROHIBIT] = "prohibit",
};
static const char *const mode_names[__ISOL_MODE_MAX] = {
	[ISOL_MODE_REJECT] = "reject",
	[ISOL_MODE_DROP] = "drop",
};

const char *isol_kind_name(enum isol_kind kind)
{
	return (unsigned)kind < __ISOL_KIND_MAX ? kind_names[kind] : "?";
}

int isol_kind_parse(const char *s, enum isol_kind *kind)
{
	int i;

	for (i = 0; i < __ISOL_KIND_MAX; i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*kind = (enum isol_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *isol_route_type_name(enum isol_route_type t)
{
	return (unsigned)t < __ISOL_ROUTE_MAX ? route_type_names[t] : "?";
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
static bool utf8_valid(const char *s);

bool isol_utf8_valid(const char *s)
{
	return utf8_valid(s);
}

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

int isol_spec_to_parse(struct isol_spec *spec, const char *s, bool allow_port,
		       struct isol_err *err)
{
	struct isol_target t;

	if (isol_target_parse(s, &t, err) < 0)
		return -EINVAL;
	if (!isol_target_is_host(&t))
		return isol_err_set(err, -EINVAL, "'%s' must be one address, not a prefix", s);
	if (t.proto && !isol_target_has_port(&t))
		return isol_err_set(err, -EINVAL, "'%s': no protocol here", s);
	if (isol_target_has_port(&t)) {
		if (!allow_port)
			return isol_err_set(err, -EINVAL, "'%s' must be an address, without a port",
					    s);
		if (t.port_lo != t.port_hi)
			return isol_err_set(err, -EINVAL, "'%s' must name one port, not a range", s);
		spec->to_port = t.port_lo;
	} else {
		spec->to_port = 0;
	}
	spec->to_family = t.family;
	memcpy(spec->to_addr, t.addr, sizeof(spec->to_addr));
	return 0;
}

int isol_spec_to_format(const struct isol_spec *spec, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "";

	if (spec->to_family == 0)
		return snprintf(buf, len, "-");
	inet_ntop(spec->to_family, spec->to_addr, a, sizeof(a));
	if (spec->to_port == 0)
		return snprintf(buf, len, "%s", a);
	if (spec->to_family == AF_INET6)
		return snprintf(buf, len, "[%s]:%u", a, spec->to_port);
	return snprintf(buf, len, "%s:%u", a, spec->to_port);
}

int isol_spec_subject(const struct isol_spec *spec, char *buf, size_t len)
{
	if (spec->kind == ISOL_KIND_PIN)
		return snprintf(buf, len, "%s", spec->host);
	return isol_target_format(&spec->target, buf, len);
}

/* Which verbs take which option. */
#define K_ISO (1u << ISOL_KIND_ISOLATE)
#define K_STEER (1u << ISOL_KIND_STEER)
#define K_PIN (1u << ISOL_KIND_PIN)
#define K_ROUTE (1u << ISOL_KIND_ROUTE)
#define K_ALL (K_ISO | K_STEER | K_PIN | K_ROUTE)

enum opt_id {
	OPT_FORCE, OPT_DRY_RUN, OPT_TTL, OPT_REASON, OPT_DIRECTION, OPT_MODE, OPT_TO,
	OPT_KILL_FLOWS, OPT_NO_CHECK, OPT_CHECK_PORT, OPT_METRIC, OPT_REPLACE,
};

static const struct {
	const char *name;
	enum opt_id id;
	bool value;
	unsigned kinds;
} opts[] = {
	{ "--force", OPT_FORCE, false, K_ALL },
	{ "--dry-run", OPT_DRY_RUN, false, K_ALL },
	{ "--ttl", OPT_TTL, true, K_ALL },
	{ "--reason", OPT_REASON, true, K_ALL },
	{ "--direction", OPT_DIRECTION, true, K_ISO },
	{ "--mode", OPT_MODE, true, K_ISO },
	{ "--to", OPT_TO, true, K_STEER },
	{ "--kill-flows", OPT_KILL_FLOWS, false, K_STEER },
	{ "--no-check", OPT_NO_CHECK, false, K_STEER },
	{ "--check-port", OPT_CHECK_PORT, true, K_PIN },
	{ "--metric", OPT_METRIC, true, K_ROUTE },
	{ "--replace", OPT_REPLACE, false, K_ROUTE },
};

static int parse_u32(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

static int apply_opt(struct isol_spec *spec, enum opt_id id, const char *v, bool *dry_run,
		     struct isol_err *err)
{
	unsigned long n;

	switch (id) {
	case OPT_FORCE:
		spec->force = true;
		break;
	case OPT_DRY_RUN:
		if (!dry_run)
			return isol_err_set(err, -EINVAL,
					    "--dry-run applies to the whole apply, not one line");
		*dry_run = true;
		break;
	case OPT_TTL:
		if (isol_duration_parse(v, &spec->ttl_ms, err) < 0) {
			isol_err_prefix(err, "--ttl: ");
			return -EINVAL;
		}
		break;
	case OPT_REASON:
		if (strlen(v) > ISOL_REASON_MAX)
			return isol_err_set(err, -EINVAL, "--reason is longer than %d bytes",
					    ISOL_REASON_MAX);
		if (strpbrk(v, "\n\r"))
			return isol_err_set(err, -EINVAL, "--reason must be one line");
		if (!utf8_valid(v))
			return isol_err_set(err, -EINVAL, "--reason must be UTF-8 text");
		strcpy(spec->reason, v);
		break;
	case OPT_DIRECTION:
		if (isol_dirs_parse(v, &spec->dirs) < 0)
			return isol_err_set(err, -EINVAL,
					    "bad --direction '%s' (out, in, fwd, all, or a "
					    "comma list like out,in)",
					    v);
		break;
	case OPT_MODE:
		if (isol_mode_parse(v, &spec->mode) < 0)
			return isol_err_set(err, -EINVAL, "bad --mode '%s' (reject or drop)", v);
		break;
	case OPT_TO:
		if (isol_spec_to_parse(spec, v, true, err) < 0) {
			isol_err_prefix(err, "--to: ");
			return -EINVAL;
		}
		break;
	case OPT_KILL_FLOWS:
		spec->kill_flows = true;
		break;
	case OPT_NO_CHECK:
		spec->no_check = true;
		break;
	case OPT_CHECK_PORT:
		if (parse_u32(v, 65535, &n) < 0 || n == 0)
			return isol_err_set(err, -EINVAL, "bad --check-port '%s' (1-65535)", v);
		spec->check_port = (uint16_t)n;
		break;
	case OPT_METRIC:
		if (parse_u32(v, 0xffffffffu, &n) < 0)
			return isol_err_set(err, -EINVAL, "bad --metric '%s' (0-4294967295)", v);
		spec->metric = (uint32_t)n;
		break;
	case OPT_REPLACE:
		spec->replace = true;
		break;
	}
	return 0;
}

static int parse_isolate(struct isol_spec *spec, int n, char **w, struct isol_err *err)
{
	if (n == 0)
		return isol_err_set(err, -EINVAL, "isolate needs a TARGET (e.g. 10.0.0.5:5672)");
	if (n > 1)
		return isol_err_set(err, -EINVAL, "unexpected argument '%s' (one target per action)",
				    w[1]);
	return isol_target_parse(w[0], &spec->target, err);
}

static int parse_steer(struct isol_spec *spec, int n, char **w, struct isol_err *err)
{
	const struct isol_target *t = &spec->target;

	if (n == 0)
		return isol_err_set(err, -EINVAL,
				    "steer needs a TARGET and --to (e.g. steer 10.0.0.5:5672 --to "
				    "10.0.0.6)");
	if (n > 1)
		return isol_err_set(err, -EINVAL, "unexpected argument '%s' (one target per action)",
				    w[1]);
	if (isol_target_parse(w[0], &spec->target, err) < 0)
		return -EINVAL;
	if (!isol_target_is_host(t))
		return isol_err_set(err, -EINVAL,
				    "steer: '%s' must be one address (ADDR or ADDR:PORT), not a "
				    "prefix",
				    w[0]);
	if (isol_target_has_port(t) && t->port_lo != t->port_hi)
		return isol_err_set(err, -EINVAL, "steer: '%s' must name one port, not a range",
				    w[0]);
	if (t->proto == IPPROTO_SCTP)
		return isol_err_set(err, -EINVAL, "steer: tcp or udp only");
	if (spec->to_family == 0)
		return isol_err_set(err, -EINVAL, "steer needs --to ADDR[:PORT] (the backup)");
	if (spec->to_family != t->family)
		return isol_err_set(err, -EINVAL,
				    "steer: --to must be of the same family as the target (IPv4 or "
				    "IPv6)");
	if (spec->to_port && !isol_target_has_port(t))
		return isol_err_set(err, -EINVAL,
				    "steer: --to with a port needs a target with a port (e.g. "
				    "10.0.0.5:5672)");
	if (!isol_target_has_port(t) && t->proto)
		return isol_err_set(err, -EINVAL, "steer: a protocol needs a port");
	return 0;
}

static int parse_pin(struct isol_spec *spec, int n, char **w, struct isol_err *err)
{
	const char *p;
	size_t len, label = 0;

	if (n != 2)
		return isol_err_set(err, -EINVAL, "pin needs HOSTNAME ADDR (e.g. pin mq.internal "
						  "10.0.0.6)");
	len = strlen(w[0]);
	if (len == 0 || len > ISOL_HOST_MAX || w[0][0] == '.' || w[0][len - 1] == '.')
		return isol_err_set(err, -EINVAL, "pin: '%.80s' is not a hostname", w[0]);
	for (p = w[0]; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return isol_err_set(err, -EINVAL, "pin: '%.80s' is not a hostname",
						    w[0]);
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
			if (++label > 63)
				return isol_err_set(err, -EINVAL,
						    "pin: a label of '%.80s' is over 63 bytes", w[0]);
		} else {
			return isol_err_set(err, -EINVAL,
					    "pin: '%.80s' is not a hostname (letters, digits, '-', "
					    "'_', dots)",
					    w[0]);
		}
	}
	strcpy(spec->host, w[0]);
	if (isol_spec_to_parse(spec, w[1], false, err) < 0) {
		isol_err_prefix(err, "pin: ");
		return -EINVAL;
	}
	return 0;
}

static int parse_route(struct isol_spec *spec, int n, char **w, struct isol_err *err)
{
	int i = 1;

	if (n < 2)
		return isol_err_set(err, -EINVAL,
				    "route needs PREFIX via GW [dev IF], or PREFIX blackhole | "
				    "unreachable | prohibit");
	if (isol_target_parse(w[0], &spec->target, err) < 0)
		return -EINVAL;
	if (isol_target_has_port(&spec->target) || spec->target.proto)
		return isol_err_set(err, -EINVAL, "route: '%s' must be a prefix, without a port",
				    w[0]);
	if (strcmp(w[i], "via") == 0) {
		if (i + 1 >= n)
			return isol_err_set(err, -EINVAL, "route: 'via' needs a gateway address");
		if (isol_spec_to_parse(spec, w[i + 1], false, err) < 0) {
			isol_err_prefix(err, "route: gateway: ");
			return -EINVAL;
		}
		if (spec->to_family != spec->target.family)
			return isol_err_set(err, -EINVAL,
					    "route: the gateway must be of the prefix's family");
		spec->route_type = ISOL_ROUTE_VIA;
		i += 2;
	} else {
		int t;

		for (t = ISOL_ROUTE_BLACKHOLE; t < __ISOL_ROUTE_MAX; t++)
			if (strcmp(w[i], route_type_names[t]) == 0)
				break;
		if (t == __ISOL_ROUTE_MAX)
			return isol_err_set(err, -EINVAL,
					    "route: expected 'via GW', 'blackhole', 'unreachable' or "
					    "'prohibit', not '%s'",
					    w[i]);
		spec->route_type = (enum isol_route_type)t;
		i++;
	}
	if (i < n && strcmp(w[i], "dev") == 0) {
		if (spec->route_type != ISOL_ROUTE_VIA)
			return isol_err_set(err, -EINVAL, "route: 'dev' goes with 'via'");
		if (i + 1 >= n)
			return isol_err_set(err, -EINVAL, "route: 'dev' needs an interface name");
		if (strlen(w[i + 1]) > ISOL_DEV_MAX || strpbrk(w[i + 1], "/ \t") ||
		    w[i + 1][0] == '\0')
			return isol_err_set(err, -EINVAL, "route: '%.40s' is not an interface name",
					    w[i + 1]);
		strcpy(spec->dev, w[i + 1]);
		i += 2;
	}
	if (i < n)
		return isol_err_set(err, -EINVAL, "route: unexpected '%s'", w[i]);
	return 0;
}

int isol_spec_parse_argv(int argc, char **argv, struct isol_spec *spec, bool *dry_run,
			 struct isol_err *err)
{
	char *words[16];
	int nwords = 0, i;
	size_t k;

	isol_spec_init(spec);
	if (dry_run)
		*dry_run = false;
	if (argc < 1)
		return isol_err_set(err, -EINVAL, "missing verb");
	if (isol_kind_parse(argv[0], &spec->kind) < 0)
		return isol_err_set(err, -EINVAL,
				    "unknown action '%s' (expected: isolate, steer, pin, route)",
				    argv[0]);

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;
		char name[32];
		size_t nlen;

		if (a[0] != '-' || a[1] != '-' || a[2] == '\0') {
			if (a[0] == '-' && a[1] != '\0')
				return isol_err_set(err, -EINVAL, "unknown option '%s'", a);
			if (nwords == (int)(sizeof(words) / sizeof(words[0])))
				return isol_err_set(err, -EINVAL, "too many arguments");
			words[nwords++] = argv[i];
			continue;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (nlen >= sizeof(name))
			return isol_err_set(err, -EINVAL, "unknown option '%.40s'", a);
		memcpy(name, a, nlen);
		name[nlen] = '\0';
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if (strcmp(opts[k].name, name) == 0)
				break;
		if (k == sizeof(opts) / sizeof(opts[0]) || !(opts[k].kinds & (1u << spec->kind)))
			return isol_err_set(err, -EINVAL, "unknown option '%s' for %s", name,
					    argv[0]);
		if (opts[k].value) {
			if (!(v = opt_value(argc, argv, &i, eq, err)))
				return -EINVAL;
		} else if (eq) {
			return isol_err_set(err, -EINVAL, "option '%s' takes no value", name);
		}
		if (apply_opt(spec, opts[k].id, v, dry_run, err) < 0)
			return -EINVAL;
	}
	switch (spec->kind) {
	case ISOL_KIND_ISOLATE:
		return parse_isolate(spec, nwords, words, err);
	case ISOL_KIND_STEER:
		return parse_steer(spec, nwords, words, err);
	case ISOL_KIND_PIN:
		return parse_pin(spec, nwords, words, err);
	case ISOL_KIND_ROUTE:
		return parse_route(spec, nwords, words, err);
	default:
		return isol_err_set(err, -EINVAL, "unknown action");
	}
}

int isol_line_split(char *line, char **argv, int max, struct isol_err *err)
{
	char *r = line, *w = line;
	int argc = 0;

	for (;;) {
		r += strspn(r, " \t\r\n");
		if (*r == '\0' || *r == '#')
			break;
		if (argc == max)
			return isol_err_set(err, -EINVAL, "too many words (max %d)", max);
		argv[argc++] = w;
		/* runs of plain bytes, and quoted runs whose quotes go */
		for (;;) {
			size_t run = strcspn(r, " \t\r\n\"'");

			if (w != r)
				memmove(w, r, run);
			w += run;
			r += run;
			if (*r == '"' || *r == '\'') {
				char quote = *r++, *end = strchr(r, quote);

				if (end == NULL)
					return isol_err_set(err, -EINVAL, "unterminated %c quote", quote);
				memmove(w, r, (size_t)(end - r));
				w += end - r;
				r = end + 1;
				continue;
			}
			break; /* a blank or the end */
		}
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
	char target[ISOL_TARGET_STRLEN], to[ISOL_TARGET_STRLEN], dirs[32], ttl[32] = "";
	int n = 0;

	isol_target_format(&spec->target, target, sizeof(target));
	isol_spec_to_format(spec, to, sizeof(to));
	if (spec->ttl_ms)
		isol_duration_format(spec->ttl_ms, ttl, sizeof(ttl));
	switch (spec->kind) {
	case ISOL_KIND_ISOLATE:
		isol_dirs_format(spec->dirs, dirs, sizeof(dirs));
		n = snprintf(buf, len, "isolate %s --direction %s --mode %s", target, dirs,
			     isol_mode_name(spec->mode));
		break;
	case ISOL_KIND_STEER:
		n = snprintf(buf, len, "steer %s --to %s%s%s", target, to,
			     spec->kill_flows ? " --kill-flows" : "",
			     spec->no_check ? " --no-check" : "");
		break;
	case ISOL_KIND_PIN:
		n = snprintf(buf, len, "pin %s %s", spec->host, to);
		if (spec->check_port && n >= 0 && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n, " --check-port %u",
				      spec->check_port);
		break;
	case ISOL_KIND_ROUTE:
		if (spec->route_type == ISOL_ROUTE_VIA)
			n = snprintf(buf, len, "route %s via %s%s%s", target, to,
				     spec->dev[0] ? " dev " : "", spec->dev);
		else
			n = snprintf(buf, len, "route %s %s", target,
				     isol_route_type_name(spec->route_type));
		if (n >= 0 && (size_t)n < len && spec->metric)
			n += snprintf(buf + n, len - (size_t)n, " --metric %u", spec->metric);
		if (n >= 0 && (size_t)n < len && spec->replace)
			n += snprintf(buf + n, len - (size_t)n, " --replace");
		break;
	default:
		return snprintf(buf, len, "?");
	}
	if (n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "%s%s%s", spec->ttl_ms ? " --ttl " : "",
			      ttl, spec->force ? " --force" : "");
	if (spec->reason[0] && n >= 0 && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, " --reason ");
		if ((size_t)n < len)
			n += (int)quote_word(spec->reason, buf + n, len - (size_t)n);
	}
	return n;
}
