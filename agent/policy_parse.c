/* policy_parse.c - YAML (libyaml document API) -> policies. Each key's value
 * is read and range-checked here at its own line:col; what needs more than
 * one value is policy_finish()'s. The walk follows the schema, not the
 * document, so an alias can never send it round a cycle; a node budget
 * bounds what aliases can multiply. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "isol/duration.h"
#include "policy_parse.h"

struct pctx {
	yaml_document_t *doc;
	const char *file;
	struct policy_errors *errs;
	size_t budget;	  /* nodes left to visit */
	bool over;	  /* budget spent: reported once, the file stops */
	size_t npolicies; /* in this file */
	int oom;	  /* -ENOMEM seen */
};

typedef void pair_fn(struct pctx *c, void *obj, int key, yaml_node_t *val);

static struct policy_mark mark_of(const yaml_node_t *n)
{
	struct policy_mark m = {(unsigned)n->start_mark.line + 1,
				(unsigned)n->start_mark.column + 1};

	return m;
}

static void __attribute__((format(printf, 3, 4)))
perr(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	struct policy_mark m = {0, 0};
	va_list ap;

	if (n)
		m = mark_of(n);
	va_start(ap, fmt);
	policy_errors_vadd(c->errs, c->file, m.line, m.col, fmt, ap);
	va_end(ap);
}

static void oom(struct pctx *c, const yaml_node_t *n)
{
	c->oom = -ENOMEM;
	perr(c, n, "out of memory");
}

/* The node at @index, counted against the budget; NULL when spent. */
static yaml_node_t *node(struct pctx *c, int index)
{
	if (c->over)
		return NULL;
	if (c->budget == 0) {
		c->over = true;
		policy_errors_add(c->errs, c->file, 0, 0,
				  "more than %d YAML nodes (aliases multiplying?); stopped here",
				  POLICY_NODES_MAX);
		return NULL;
	}
	c->budget--;
	return yaml_document_get_node(c->doc, index);
}

static const char *shape(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a single value";
	}
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;

	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
		strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

/* The text of scalar @n, or NULL after saying why not. @what names the key
 * ("fall", "hold.base"), @expect what belongs there ("a whole number"). */
static const char *scalar(struct pctx *c, const yaml_node_t *n, const char *what,
			  const char *expect)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE) {
		perr(c, n, "%s: expected %s, got %s", what, expect, shape(n));
		return NULL;
	}
	s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length) {
		perr(c, n, "%s: contains a NUL byte", what);
		return NULL;
	}
	if (is_null(n)) {
		perr(c, n, "%s: missing value (expected %s)", what, expect);
		return NULL;
	}
	return s;
}

static int get_string(struct pctx *c, const yaml_node_t *n, const char *what, char *buf,
		      size_t size)
{
	const char *s = scalar(c, n, what, "a string");

	if (s == NULL)
		return -EINVAL;
	if (strlen(s) >= size) {
		perr(c, n, "%s: longer than %zu bytes", what, size - 1);
		return -EINVAL;
	}
	strcpy(buf, s);
	return 0;
}

static int get_duration(struct pctx *c, const yaml_node_t *n, const char *what, uint64_t min,
			uint64_t max, uint64_t *ms)
{
	const char *s = scalar(c, n, what, "a duration like 5s");
	struct isol_err err = {0, ""};
	char lo[32], hi[32];
	uint64_t v;

	if (s == NULL)
		return -EINVAL;
	if (isol_duration_parse(s, &v, &err) < 0) {
		perr(c, n, "%s: %s", what, err.msg);
		return -EINVAL;
	}
	if (v < min || v > max) {
		isol_duration_format(min, lo, sizeof(lo));
		isol_duration_format(max, hi, sizeof(hi));
		perr(c, n, "%s: %.40s is out of range (%s to %s)", what, s, lo, hi);
		return -EINVAL;
	}
	*ms = v;
	return 0;
}

static int get_uint(struct pctx *c, const yaml_node_t *n, const char *what, unsigned long min,
		    unsigned long max, unsigned long *out)
{
	const char *s = scalar(c, n, what, "a whole number");
	unsigned long long v;
	char *end;

	if (s == NULL)
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0') {
		perr(c, n, "%s: expected a whole number, not '%.40s'", what, s);
		return -EINVAL;
	}
	if (errno == ERANGE || v < min || v > max) {
		perr(c, n, "%s: %.40s is out of range (%lu to %lu)", what, s, min, max);
		return -EINVAL;
	}
	*out = (unsigned long)v;
	return 0;
}

static int get_bool(struct pctx *c, const yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no",
									       "off"};
	const char *s = scalar(c, n, what, "true or false");
	size_t i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	perr(c, n, "%s: expected true or false, not '%.40s'", what, s);
	return -EINVAL;
}

/* A hint for a policy key that belongs one level down. */
static const char *misplaced(const char *const *names, const char *key)
{
	if (names != policy_key_names)
		return "";
	if (policy_key_lookup(policy_probe_key_names, __POLICY_PK_MAX, key) >= 0)
		return " (it belongs in a probe)";
	if (policy_key_lookup(policy_action_key_names, __POLICY_AK_MAX, key) >= 0)
		return " (it belongs in an action)";
	if (policy_key_lookup(policy_hold_key_names, __POLICY_HK_MAX, key) >= 0)
		return " (it belongs in hold)";
	if (policy_key_lookup(policy_guard_key_names, __POLICY_GK_MAX, key) >= 0)
		return " (it belongs in guard)";
	return "";
}

/* Walk mapping @n: each key looked up in @names, marked in @at (unknown
 * and repeated keys reported), its value handed to @fn. */
static bool walk_map(struct pctx *c, yaml_node_t *n, const char *what, const char *const *names,
		     int nnames, struct policy_mark *at, void *obj, pair_fn *fn)
{
	yaml_node_pair_t *pair;

	if (n->type != YAML_MAPPING_NODE) {
		perr(c, n, "%s: expected a mapping (key: value), got %s", what, shape(n));
		return false;
	}
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node(c, pair->key), *v = node(c, pair->value);
		const char *ks;
		int idx;

		if (k == NULL || v == NULL)
			return false;
		if (k->type != YAML_SCALAR_NODE ||
		    strlen((const char *)k->data.scalar.value) != k->data.scalar.length) {
			perr(c, k, "%s: a key must be a plain word, not %s", what,
			     k->type == YAML_SCALAR_NODE ? "text with a NUL byte" : shape(k));
			continue;
		}
		ks = (const char *)k->data.scalar.value;
		idx = policy_key_lookup(names, nnames, ks);
		if (idx < 0) {
			perr(c, k, "unknown key '%.40s' in %s%s", ks, what, misplaced(names, ks));
			continue;
		}
		if (at[idx].line) {
			perr(c, k, "duplicate key '%s' in %s (first at %u:%u)", ks, what,
			     at[idx].line, at[idx].col);
			continue;
		}
		at[idx] = mark_of(k);
		fn(c, obj, idx, v);
	}
	return true;
}

/* ---- probes ---- */

/* Three digits at *@p, moved past them. */
static int status_word(const char **p, unsigned *v)
{
	const char *s = *p;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' ||
	    (s[3] >= '0' && s[3] <= '9'))
		return -EINVAL;
	*v = (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 + (unsigned)(s[2] - '0');
	*p = s + 3;
	return 0;
}

/* "200", "200-399", "200-299,304": ranges added to @pr. */
static int parse_expect_word(struct pctx *c, const yaml_node_t *n, struct policy_probe *pr)
{
	const char *s = scalar(c, n, "expect", "an HTTP status or range like 200-399");
	char buf[128], *tok, *save = NULL;

	if (s == NULL)
		return -EINVAL;
	if (strlen(s) >= sizeof(buf)) {
		perr(c, n, "expect: '%.40s...' is too long", s);
		return -EINVAL;
	}
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *p;
		unsigned lo, hi;

		tok += strspn(tok, " ");
		p = tok;
		if (status_word(&p, &lo) < 0) {
			hi = 0; /* reported below */
		} else if (*p == '-') {
			p++;
			if (status_word(&p, &hi) < 0)
				hi = 0;
		} else {
			hi = lo;
		}
		while (*p == ' ')
			p++;
		if (hi == 0 || *p != '\0') {
			perr(c, n, "expect: '%.40s' is not a status or range like 200-399", tok);
			return -EINVAL;
		}
		if (lo < 100 || hi > 599 || lo > hi) {
			perr(c, n, "expect: '%.40s' is not within 100-599, low to high", tok);
			return -EINVAL;
		}
		if (pr->nexpect == POLICY_EXPECT_MAX) {
			perr(c, n, "expect: at most %d ranges", POLICY_EXPECT_MAX);
			return -EINVAL;
		}
		pr->expect[pr->nexpect].lo = (uint16_t)lo;
		pr->expect[pr->nexpect].hi = (uint16_t)hi;
		pr->nexpect++;
	}
	if (pr->nexpect == 0) {
		perr(c, n, "expect: no status given");
		return -EINVAL;
	}
	return 0;
}

static int parse_expect(struct pctx *c, yaml_node_t *n, struct policy_probe *pr)
{
	yaml_node_item_t *it;
	int rc = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return parse_expect_word(c, n, pr);
	if (n->data.sequence.items.start == n->data.sequence.items.top) {
		perr(c, n, "expect: the list is empty");
		return -EINVAL;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = node(c, *it);

		if (item == NULL)
			return -EINVAL;
		if (parse_expect_word(c, item, pr) < 0)
			rc = -EINVAL;
	}
	return rc;
}

static int parse_command(struct pctx *c, yaml_node_t *n, struct policy_probe *pr)
{
	size_t count, i;
	int rc = 0;

	if (n->type != YAML_SEQUENCE_NODE) {
		perr(c, n,
		     "command: expected a list of words (argv, no shell), e.g. [/usr/bin/check, "
		     "-q], got %s",
		     shape(n));
		return -EINVAL;
	}
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count == 0 || count > POLICY_ARGV_MAX) {
		perr(c, n, "command: %s", count ? "more than 64 words" : "the list is empty");
		return -EINVAL;
	}
	pr->argv = calloc(count + 1, sizeof(char *));
	if (pr->argv == NULL) {
		oom(c, n);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		yaml_node_t *item = node(c, n->data.sequence.items.start[i]);
		const char *s;

		if (item == NULL)
			return -EINVAL;
		s = scalar(c, item, "command", "a word");
		if (s == NULL) {
			rc = -EINVAL;
			continue;
		}
		if (i == 0 && s[0] != '/') {
			perr(c, item,
			     "command: '%.64s' must be an absolute path (the agent does not search "
			     "PATH)",
			     s);
			rc = -EINVAL;
			continue;
		}
		pr->argv[pr->argc] = strdup(s);
		if (pr->argv[pr->argc] == NULL) {
			oom(c, item);
			return -ENOMEM;
		}
		pr->argc++;
	}
	return rc;
}

static int check_http_path(struct pctx *c, const yaml_node_t *n, const char *s)
{
	const char *p;

	if (s[0] != '/') {
		perr(c, n, "path: '%.64s' must start with '/'", s);
		return -EINVAL;
	}
	for (p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			perr(c, n,
			     "path: '%.64s' has a space or a non-ASCII byte (percent-encode it)",
			     s);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_http_host(struct pctx *c, const yaml_node_t *n, const char *s)
{
	const char *p;

	for (p = s; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-._:[]", *p))) {
			perr(c, n, "host: '%.64s' is not a Host header value (NAME or NAME:PORT)",
			     s);
			return -EINVAL;
		}
	}
	return 0;
}

static void probe_pair(struct pctx *c, void *obj, int k, yaml_node_t *v)
{
	struct policy_probe *pr = obj;
	const char *name = policy_probe_key_names[k], *s;
	unsigned long n = 0;
	int rc = 0;

	switch (k) {
	case POLICY_PK_TYPE:
		s = scalar(c, v, name, "tcp, http, https, icmp or exec");
		if (s == NULL)
			rc = -EINVAL;
		else if ((rc = policy_probe_type_parse(s, &pr->type)) < 0)
			perr(c, v,
			     "type: unknown probe type '%.40s' (tcp, http, https, icmp or exec)",
			     s);
		break;
	case POLICY_PK_INTERVAL:
		rc = get_duration(c, v, name, POLICY_INTERVAL_MIN_MS, POLICY_INTERVAL_MAX_MS,
				  &pr->interval_ms);
		break;
	case POLICY_PK_FAST_INTERVAL:
		rc = get_duration(c, v, name, POLICY_INTERVAL_MIN_MS, POLICY_INTERVAL_MAX_MS,
				  &pr->fast_interval_ms);
		break;
	case POLICY_PK_DOWN_INTERVAL:
		rc = get_duration(c, v, name, POLICY_INTERVAL_MIN_MS, POLICY_INTERVAL_MAX_MS,
				  &pr->down_interval_ms);
		break;
	case POLICY_PK_TIMEOUT:
		rc = get_duration(c, v, name, POLICY_TIMEOUT_MIN_MS, POLICY_INTERVAL_MAX_MS,
				  &pr->timeout_ms);
		break;
	case POLICY_PK_FALL:
	case POLICY_PK_RISE:
		rc = get_uint(c, v, name, 1, POLICY_FALL_RISE_MAX, &n);
		if (rc == 0 && k == POLICY_PK_FALL)
			pr->fall = (unsigned)n;
		else if (rc == 0)
			pr->rise = (unsigned)n;
		break;
	case POLICY_PK_PORT:
		rc = get_uint(c, v, name, 1, 65535, &n);
		pr->port = (uint16_t)n;
		break;
	case POLICY_PK_PATH:
		rc = get_string(c, v, name, pr->path, sizeof(pr->path));
		if (rc == 0)
			rc = check_http_path(c, v, pr->path);
		break;
	case POLICY_PK_EXPECT:
		rc = parse_expect(c, v, pr);
		break;
	case POLICY_PK_HOST:
		rc = get_string(c, v, name, pr->host, sizeof(pr->host));
		if (rc == 0)
			rc = check_http_host(c, v, pr->host);
		break;
	case POLICY_PK_TLS_VERIFY:
		rc = get_bool(c, v, name, &pr->tls_verify);
		break;
	case POLICY_PK_CA_FILE:
		rc = get_string(c, v, name, pr->ca_file, sizeof(pr->ca_file));
		if (rc == 0 && pr->ca_file[0] != '/') {
			perr(c, v, "ca_file: '%.64s' must be an absolute path", pr->ca_file);
			rc = -EINVAL;
		}
		break;
	case POLICY_PK_COMMAND:
		rc = parse_command(c, v, pr);
		break;
	}
	if (rc < 0)
		pr->bad |= 1u << k;
}

static int parse_probe(struct pctx *c, struct policy *p, yaml_node_t *n, const char *what)
{
	struct policy_probe *pr;

	if (n->type != YAML_MAPPING_NODE) {
		perr(c, n, "%s: expected a probe (a mapping with type: ...), got %s", what,
		     shape(n));
		return -EINVAL;
	}
	pr = policy_add_probe(p);
	if (pr == NULL) {
		if (errno != E2BIG) {
			oom(c, n);
			return -ENOMEM;
		}
		perr(c, n, "%s: at most %d probes", what, POLICY_PROBES_MAX);
		return -EINVAL;
	}
	pr->mark = mark_of(n);
	walk_map(c, n, "probe", policy_probe_key_names, __POLICY_PK_MAX, pr->at, pr, probe_pair);
	return 0;
}

/* ---- actions ---- */

static int parse_kind(struct pctx *c, yaml_node_t *v, struct policy_action *a)
{
	const char *s = scalar(c, v, "kind", "isolate, steer, pin or route");

	if (s == NULL)
		return -EINVAL;
	if (isol_kind_parse(s, &a->kind) < 0) {
		perr(c, v, "kind: unknown action '%.40s' (isolate, steer, pin or route)", s);
		return -EINVAL;
	}
	return 0;
}

static int parse_via(struct pctx *c, yaml_node_t *v, struct policy_action *a)
{
	const char *s =
	    scalar(c, v, "via", "a gateway address, blackhole, unreachable or prohibit");
	struct isol_err err = {0, ""};
	struct isol_spec tmp;
	int t;

	if (s == NULL)
		return -EINVAL;
	for (t = ISOL_ROUTE_BLACKHOLE; t < __ISOL_ROUTE_MAX; t++) {
		if (strcmp(s, isol_route_type_name((enum isol_route_type)t)) == 0) {
			a->has_via = true;
			a->route_type = (enum isol_route_type)t;
			return 0;
		}
	}
	isol_spec_init(&tmp);
	if (isol_spec_to_parse(&tmp, s, false, &err) < 0) {
		perr(c, v, "via: %s (or blackhole, unreachable, prohibit)", err.msg);
		return -EINVAL;
	}
	a->has_via = true;
	a->route_type = ISOL_ROUTE_VIA;
	a->via_family = tmp.to_family;
	memcpy(a->via_addr, tmp.to_addr, sizeof(a->via_addr));
	return 0;
}

static void action_pair(struct pctx *c, void *obj, int k, yaml_node_t *v)
{
	struct policy_action *a = obj;
	const char *name = policy_action_key_names[k], *s;
	struct isol_err err = {0, ""};
	unsigned long n = 0;
	int rc = 0;

	switch (k) {
	case POLICY_AK_KIND:
		rc = parse_kind(c, v, a);
		break;
	case POLICY_AK_TTL:
		rc = get_duration(c, v, name, POLICY_TTL_MIN_MS, POLICY_TTL_MAX_MS, &a->ttl_ms);
		break;
	case POLICY_AK_DIRECTION:
		s = scalar(c, v, name, "out, in, fwd or all");
		if (s == NULL)
			rc = -EINVAL;
		else if ((rc = isol_dirs_parse(s, &a->dirs)) < 0)
			perr(c, v,
			     "direction: '%.40s' is not out, in, fwd, all or a list like out,in",
			     s);
		break;
	case POLICY_AK_MODE:
		s = scalar(c, v, name, "reject or drop");
		if (s == NULL)
			rc = -EINVAL;
		else if ((rc = isol_mode_parse(s, &a->mode)) < 0)
			perr(c, v, "mode: '%.40s' is not reject or drop", s);
		break;
	case POLICY_AK_KILL_FLOWS:
		rc = get_bool(c, v, name, &a->kill_flows);
		break;
	case POLICY_AK_CHECK:
		rc = get_bool(c, v, name, &a->check);
		break;
	case POLICY_AK_HOSTNAME:
		s = scalar(c, v, name, "a hostname");
		if (s == NULL)
			rc = -EINVAL;
		else if ((rc = policy_hostname_check(s, &err)) < 0)
			perr(c, v, "hostname: %s", err.msg);
		else
			strcpy(a->hostname, s);
		break;
	case POLICY_AK_PREFIX:
		s = scalar(c, v, name, "a prefix like 10.20.0.0/16");
		if (s == NULL) {
			rc = -EINVAL;
		} else if ((rc = isol_target_parse(s, &a->prefix, &err)) < 0) {
			perr(c, v, "prefix: %s", err.msg);
		} else if (isol_target_has_port(&a->prefix) || a->prefix.proto) {
			perr(c, v, "prefix: '%.64s' must be a prefix, without a port or protocol",
			     s);
			rc = -EINVAL;
		}
		break;
	case POLICY_AK_VIA:
		rc = parse_via(c, v, a);
		break;
	case POLICY_AK_DEV:
		s = scalar(c, v, name, "an interface name");
		if (s == NULL) {
			rc = -EINVAL;
		} else if (strlen(s) > ISOL_DEV_MAX || strpbrk(s, "/ \t:") || !strcmp(s, ".") ||
			   !strcmp(s, "..")) {
			perr(c, v, "dev: '%.40s' is not an interface name", s);
			rc = -EINVAL;
		} else {
			strcpy(a->dev, s);
		}
		break;
	case POLICY_AK_METRIC:
		rc = get_uint(c, v, name, 0, 0xffffffffUL, &n);
		a->metric = (uint32_t)n;
		break;
	}
	if (rc < 0)
		a->bad |= 1u << k;
}

static int parse_action(struct pctx *c, struct policy *p, yaml_node_t *n, const char *what)
{
	struct policy_action *a;

	if (n->type == YAML_SEQUENCE_NODE) {
		perr(c, n,
		     "%s: expected an action (a mapping with kind: ..., or just the kind), got "
		     "a list",
		     what);
		return -EINVAL;
	}
	a = policy_add_action(p);
	if (a == NULL) {
		if (errno != E2BIG) {
			oom(c, n);
			return -ENOMEM;
		}
		perr(c, n, "%s: at most %d actions (one of each kind)", what, POLICY_ACTIONS_MAX);
		return -EINVAL;
	}
	a->mark = mark_of(n);
	if (n->type == YAML_SCALAR_NODE) { /* `action: isolate`, every default */
		a->at[POLICY_AK_KIND] = mark_of(n);
		if (parse_kind(c, n, a) < 0)
			a->bad |= 1u << POLICY_AK_KIND;
		return 0;
	}
	walk_map(c, n, "action", policy_action_key_names, __POLICY_AK_MAX, a->at, a, action_pair);
	return 0;
}

/* ---- the policy ---- */

static void hold_pair(struct pctx *c, void *obj, int k, yaml_node_t *v)
{
	static const char *const what[__POLICY_HK_MAX] = {"hold.base", "hold.max", "hold.decay",
							  "hold.observe"};
	struct policy *p = obj;
	uint64_t *field[__POLICY_HK_MAX] = {&p->hold_base_ms, &p->hold_max_ms, &p->hold_decay_ms,
					    &p->hold_observe_ms};

	if (get_duration(c, v, what[k], POLICY_HOLD_MIN_MS, POLICY_HOLD_MAX_MS, field[k]) < 0)
		p->hold_bad |= 1u << k;
}

static void guard_pair(struct pctx *c, void *obj, int k, yaml_node_t *v)
{
	struct policy *p = obj;
	unsigned long n;

	switch (k) {
	case POLICY_GK_MAX_ISOLATED_PCT:
		if (get_uint(c, v, "guard.max_isolated_pct", 1, 100, &n) == 0)
			p->max_isolated_pct = (unsigned)n;
		else
			p->guard_bad |= 1u << k;
		break;
	case POLICY_GK_MIN_AVAILABLE:
		if (get_uint(c, v, "guard.min_available", 0, POLICY_TARGETS_MAX, &n) == 0)
			p->min_available = (unsigned)n;
		else
			p->guard_bad |= 1u << k;
		break;
	case POLICY_GK_PANIC_PCT:
		if (get_uint(c, v, "guard.panic_pct", 0, 100, &n) == 0)
			p->panic_pct = (unsigned)n;
		else
			p->guard_bad |= 1u << k;
		break;
	}
}

static int parse_targets(struct pctx *c, struct policy *p, yaml_node_t *n)
{
	yaml_node_item_t *it;
	int rc = 0;

	if (n->type != YAML_SEQUENCE_NODE) {
		perr(c, n, "targets: expected a list like [10.0.0.5:5672, 10.0.0.6:5672], got %s",
		     shape(n));
		return -EINVAL;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = node(c, *it);
		struct isol_err err = {0, ""};
		struct isol_target t;
		const char *s;
		int r;

		if (item == NULL)
			return -EINVAL;
		s = scalar(c, item, "targets", "a target like 10.0.0.5:5672");
		if (s == NULL) {
			rc = -EINVAL;
			continue;
		}
		if (isol_target_parse(s, &t, &err) < 0) {
			perr(c, item, "targets: %s", err.msg);
			rc = -EINVAL;
			continue;
		}
		r = policy_add_target(p, &t, mark_of(item));
		if (r == -E2BIG) {
			perr(c, item, "targets: more than %d", POLICY_TARGETS_MAX);
			return -EINVAL;
		}
		if (r < 0) {
			oom(c, item);
			return r;
		}
	}
	return rc;
}

static void policy_pair(struct pctx *c, void *obj, int k, yaml_node_t *v)
{
	struct policy *p = obj;
	const char *name = policy_key_names[k], *s;
	struct isol_err err = {0, ""};
	yaml_node_item_t *it;
	unsigned long n;
	int rc = 0;

	switch (k) {
	case POLICY_K_NAME:
		s = scalar(c, v, name, "a name");
		if (s == NULL)
			rc = -EINVAL;
		else if ((rc = policy_name_check(s, &err)) < 0)
			perr(c, v, "%s", err.msg);
		else
			strcpy(p->name, s);
		break;
	case POLICY_K_DESCRIPTION:
		rc = get_string(c, v, name, p->description, sizeof(p->description));
		break;
	case POLICY_K_ENABLED:
		rc = get_bool(c, v, name, &p->enabled);
		break;
	case POLICY_K_TARGETS:
		rc = parse_targets(c, p, v);
		break;
	case POLICY_K_PRIMARIES:
		rc = get_uint(c, v, name, 1, POLICY_TARGETS_MAX, &n);
		if (rc == 0)
			p->primaries = n;
		break;
	case POLICY_K_PROBE:
		if (v->type == YAML_SEQUENCE_NODE) {
			perr(c, v,
			     "probe: expected a mapping, got a list (use 'probes' for a list)");
			rc = -EINVAL;
		} else {
			rc = parse_probe(c, p, v, name);
		}
		break;
	case POLICY_K_ACTION:
		rc = parse_action(c, p, v, name);
		break;
	case POLICY_K_PROBES:
	case POLICY_K_ACTIONS:
		if (v->type != YAML_SEQUENCE_NODE) {
			perr(c, v, "%s: expected a list, got %s (use '%s' for one)", name, shape(v),
			     k == POLICY_K_PROBES ? "probe" : "action");
			rc = -EINVAL;
			break;
		}
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *item = node(c, *it);

			if (item == NULL)
				break;
			if ((k == POLICY_K_PROBES ? parse_probe(c, p, item, name)
						  : parse_action(c, p, item, name)) < 0)
				rc = -EINVAL;
		}
		break;
	case POLICY_K_HOLD:
		if (!walk_map(c, v, name, policy_hold_key_names, __POLICY_HK_MAX, p->hold_at, p,
			      hold_pair))
			rc = -EINVAL;
		break;
	case POLICY_K_GUARD:
		if (!walk_map(c, v, name, policy_guard_key_names, __POLICY_GK_MAX, p->guard_at, p,
			      guard_pair))
			rc = -EINVAL;
		break;
	case POLICY_K_RESTORE:
		s = scalar(c, v, name, "auto or manual");
		if (s == NULL)
			rc = -EINVAL;
		else if ((rc = policy_restore_parse(s, &p->restore)) < 0)
			perr(c, v, "restore: '%.40s' is not auto or manual", s);
		break;
	}
	if (rc < 0)
		p->bad |= 1u << k;
}

static void parse_policy(struct pctx *c, yaml_node_t *n, struct policy_set *set)
{
	struct policy *p, *other;
	int rc;

	if (n->type != YAML_MAPPING_NODE) {
		perr(c, n, "expected a policy (a mapping with name:, targets:, ...), got %s",
		     shape(n));
		return;
	}
	if (++c->npolicies > POLICY_PER_FILE_MAX) {
		if (c->npolicies == POLICY_PER_FILE_MAX + 1)
			perr(c, n, "more than %d policies in one file", POLICY_PER_FILE_MAX);
		return;
	}
	p = policy_new();
	if (p == NULL || policy_set_file(p, c->file) < 0) {
		policy_free(p);
		oom(c, n);
		return;
	}
	p->mark = mark_of(n);
	walk_map(c, n, "policy", policy_key_names, __POLICY_K_MAX, p->at, p, policy_pair);
	policy_finish(p, c->file, c->errs);
	if (p->name[0] == '\0') {
		policy_free(p); /* reported: no name, or a bad one */
		return;
	}
	rc = policy_set_add(set, p);
	if (rc == -EEXIST) {
		other = policy_set_find(set, p->name);
		policy_errors_add(
		    c->errs, c->file, p->at[POLICY_K_NAME].line, p->at[POLICY_K_NAME].col,
		    "policy name '%s' is already used (at %s:%u:%u)", p->name, other->file,
		    other->at[POLICY_K_NAME].line, other->at[POLICY_K_NAME].col);
		policy_free(p);
	} else if (rc < 0) {
		policy_free(p);
		oom(c, n);
	}
}

static void parse_root(struct pctx *c, yaml_node_t *root, struct policy_set *set)
{
	yaml_node_item_t *it;

	if (root->type == YAML_MAPPING_NODE) {
		parse_policy(c, root, set);
		return;
	}
	if (root->type == YAML_SCALAR_NODE && is_null(root))
		return; /* an empty document */
	if (root->type != YAML_SEQUENCE_NODE) {
		perr(c, root, "expected a policy (a mapping) or a list of policies, got %s",
		     shape(root));
		return;
	}
	for (it = root->data.sequence.items.start; it < root->data.sequence.items.top; it++) {
		yaml_node_t *item = node(c, *it);

		if (item == NULL)
			return;
		parse_policy(c, item, set);
	}
}

/* Where libyaml's reader stopped: it gives a byte offset, not a mark. */
static void offset_mark(const char *buf, size_t len, size_t off, unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void yaml_error(struct pctx *c, const yaml_parser_t *y, const char *buf, size_t len)
{
	unsigned line = (unsigned)y->problem_mark.line + 1,
		 col = (unsigned)y->problem_mark.column + 1;
	const char *problem = y->problem ? y->problem : "unknown error";

	switch (y->error) {
	case YAML_MEMORY_ERROR:
		c->oom = -ENOMEM;
		policy_errors_add(c->errs, c->file, 0, 0, "YAML: out of memory");
		return;
	case YAML_READER_ERROR:
		offset_mark(buf, len, y->problem_offset, &line, &col);
		if (y->problem_value != -1)
			policy_errors_add(c->errs, c->file, line, col, "YAML: %s (byte 0x%02X)",
					  problem, (unsigned)y->problem_value & 0xff);
		else
			policy_errors_add(c->errs, c->file, line, col, "YAML: %s", problem);
		return;
	default:
		if (y->context)
			policy_errors_add(c->errs, c->file, line, col, "YAML: %s (%s at %u:%u)",
					  problem, y->context, (unsigned)y->context_mark.line + 1,
					  (unsigned)y->context_mark.column + 1);
		else
			policy_errors_add(c->errs, c->file, line, col, "YAML: %s", problem);
	}
}

/* Parse @buf into @set, errors into @errs (this file's sorted by place). */
static int load_into(struct policy_set *set, const char *name, const char *buf, size_t len,
		     struct policy_errors *errs)
{
	struct pctx c = {NULL, name, errs, POLICY_NODES_MAX, false, 0, 0};
	size_t first = errs->n, total = errs->total;
	yaml_document_t doc;
	yaml_parser_t y;

	if (!yaml_parser_initialize(&y)) {
		policy_errors_add(errs, name, 0, 0, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&y, (const unsigned char *)buf, len);
	for (;;) {
		yaml_node_t *root;

		if (!yaml_parser_load(&y, &doc)) {
			yaml_error(&c, &y, buf, len);
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (root == NULL) { /* the end of the stream */
			yaml_document_delete(&doc);
			break;
		}
		c.doc = &doc;
		parse_root(&c, root, set);
		yaml_document_delete(&doc);
		if (c.over)
			break;
	}
	yaml_parser_delete(&y);
	policy_errors_sort(errs, first);
	if (c.oom)
		return c.oom;
	return errs->total != total ? -EINVAL : 0;
}

/* Keep the first error code that is not -EINVAL (I/O tells more). */
static void keep_rc(int *rc, int r)
{
	if (r < 0 && (*rc == 0 || *rc == -EINVAL))
		*rc = r;
}

static int finish(struct policy_set *set, int rc, struct policy_set **setp)
{
	if (rc < 0) {
		policy_set_free(set);
		*setp = NULL;
		return rc;
	}
	*setp = set;
	return 0;
}

int policy_set_load_buf(const char *name, const char *buf, size_t len, struct policy_set **setp,
			struct policy_errors *errs)
{
	struct policy_set *set = policy_set_new();

	*setp = NULL;
	if (set == NULL) {
		policy_errors_add(errs, name, 0, 0, "out of memory");
		return -ENOMEM;
	}
	return finish(set, load_into(set, name, buf, len, errs), setp);
}

/* Read all of @path (a regular file, at most POLICY_FILE_MAX). */
static int read_file(const char *path, char **bufp, size_t *lenp, struct policy_errors *errs)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	int fd, rc;

	/* O_NONBLOCK: a FIFO named x.yaml must not hang a reload */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		rc = -errno;
		policy_errors_add(errs, path, 0, 0, "cannot open: %s", strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) == -1) {
		rc = -errno;
		policy_errors_add(errs, path, 0, 0, "cannot stat: %s", strerror(-rc));
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		policy_errors_add(errs, path, 0, 0, "not a regular file");
		goto close_fd;
	}
	if ((uintmax_t)st.st_size > POLICY_FILE_MAX) {
		rc = -EFBIG;
		policy_errors_add(errs, path, 0, 0, "larger than %u bytes", POLICY_FILE_MAX);
		goto close_fd;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		policy_errors_add(errs, path, 0, 0, "out of memory");
		goto close_fd;
	}
	while (len <= (size_t)st.st_size) { /* one byte more: a file that grew */
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = -errno;
			policy_errors_add(errs, path, 0, 0, "cannot read: %s", strerror(-rc));
			goto free_buf;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > (size_t)st.st_size) {
		rc = -EAGAIN;
		policy_errors_add(errs, path, 0, 0, "changed while being read; try again");
		goto free_buf;
	}
	buf[len] = '\0';
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;

free_buf:
	free(buf);
close_fd:
	close(fd);
	return rc;
}

static int load_file_into(struct policy_set *set, const char *path, struct policy_errors *errs)
{
	size_t len;
	char *buf;
	int rc;

	rc = read_file(path, &buf, &len, errs);
	if (rc < 0)
		return rc;
	rc = load_into(set, path, buf, len, errs);
	free(buf);
	return rc;
}

int policy_set_load_file(const char *path, struct policy_set **setp, struct policy_errors *errs)
{
	struct policy_set *set = policy_set_new();

	*setp = NULL;
	if (set == NULL) {
		policy_errors_add(errs, path, 0, 0, "out of memory");
		return -ENOMEM;
	}
	return finish(set, load_file_into(set, path, errs), setp);
}

static bool is_policy_file(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.') /* hidden, editors' lock and swap files */
		return false;
	return (len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
	       (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int policy_set_load_dir(const char *dir, struct policy_set **setp, struct policy_errors *errs)
{
	struct policy_set *set = NULL;
	char **names = NULL, **grown;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int rc = 0;
	DIR *d;

	*setp = NULL;
	d = opendir(dir);
	if (d == NULL) {
		rc = -errno;
		policy_errors_add(errs, dir, 0, 0, "cannot open directory: %s", strerror(-rc));
		return rc;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!is_policy_file(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL)
				goto no_memory;
			names = grown;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL)
			goto no_memory;
		n++;
	}
	if (errno) {
		rc = -errno;
		policy_errors_add(errs, dir, 0, 0, "cannot read directory: %s", strerror(-rc));
		goto free_names;
	}
	/* strcmp, not the locale: the order must not depend on the environment */
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	set = policy_set_new();
	if (set == NULL)
		goto no_memory;
	for (i = 0; i < n; i++) {
		char *path;

		if (asprintf(&path, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/",
			     names[i]) == -1)
			goto no_memory;
		/* on to the next file whatever happened: report everything */
		keep_rc(&rc, load_file_into(set, path, errs));
		free(path);
	}
	goto free_names;

no_memory:
	policy_errors_add(errs, dir, 0, 0, "out of memory");
	rc = -ENOMEM;
free_names:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return finish(set, rc, setp);
}
