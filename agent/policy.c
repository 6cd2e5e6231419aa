/* policy.c - the policy model: error lists, defaults, the checks that need
 * more than one value, and the isol_spec an automatic action becomes. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isol/duration.h"
#include "policy.h"

const char *const policy_key_names[__POLICY_K_MAX] = {
    [POLICY_K_NAME] = "name",		[POLICY_K_DESCRIPTION] = "description",
    [POLICY_K_ENABLED] = "enabled",	[POLICY_K_TARGETS] = "targets",
    [POLICY_K_PRIMARIES] = "primaries", [POLICY_K_PROBE] = "probe",
    [POLICY_K_PROBES] = "probes",	[POLICY_K_ACTION] = "action",
    [POLICY_K_ACTIONS] = "actions",	[POLICY_K_HOLD] = "hold",
    [POLICY_K_RESTORE] = "restore",	[POLICY_K_GUARD] = "guard",
};

const char *const policy_probe_key_names[__POLICY_PK_MAX] = {
    [POLICY_PK_TYPE] = "type",
    [POLICY_PK_INTERVAL] = "interval",
    [POLICY_PK_FAST_INTERVAL] = "fast_interval",
    [POLICY_PK_DOWN_INTERVAL] = "down_interval",
    [POLICY_PK_TIMEOUT] = "timeout",
    [POLICY_PK_FALL] = "fall",
    [POLICY_PK_RISE] = "rise",
    [POLICY_PK_PORT] = "port",
    [POLICY_PK_PATH] = "path",
    [POLICY_PK_EXPECT] = "expect",
    [POLICY_PK_HOST] = "host",
    [POLICY_PK_TLS_VERIFY] = "tls_verify",
    [POLICY_PK_CA_FILE] = "ca_file",
    [POLICY_PK_COMMAND] = "command",
};

const char *const policy_action_key_names[__POLICY_AK_MAX] = {
    [POLICY_AK_KIND] = "kind",
    [POLICY_AK_TTL] = "ttl",
    [POLICY_AK_DIRECTION] = "direction",
    [POLICY_AK_MODE] = "mode",
    [POLICY_AK_KILL_FLOWS] = "kill_flows",
    [POLICY_AK_CHECK] = "check",
    [POLICY_AK_HOSTNAME] = "hostname",
    [POLICY_AK_PREFIX] = "prefix",
    [POLICY_AK_VIA] = "via",
    [POLICY_AK_DEV] = "dev",
    [POLICY_AK_METRIC] = "metric",
};

const char *const policy_hold_key_names[__POLICY_HK_MAX] = {
    [POLICY_HK_BASE] = "base",
    [POLICY_HK_MAX] = "max",
    [POLICY_HK_DECAY] = "decay",
    [POLICY_HK_OBSERVE] = "observe",
};

const char *const policy_guard_key_names[__POLICY_GK_MAX] = {
    [POLICY_GK_MAX_ISOLATED_PCT] = "max_isolated_pct",
    [POLICY_GK_MIN_AVAILABLE] = "min_available",
    [POLICY_GK_PANIC_PCT] = "panic_pct",
};

static const char *const probe_type_names[__POLICY_PROBE_MAX] = {
    [POLICY_PROBE_TCP] = "tcp",	  [POLICY_PROBE_HTTP] = "http", [POLICY_PROBE_HTTPS] = "https",
    [POLICY_PROBE_ICMP] = "icmp", [POLICY_PROBE_EXEC] = "exec",
};

static const char *const restore_names[__POLICY_RESTORE_MAX] = {
    [POLICY_RESTORE_AUTO] = "auto",
    [POLICY_RESTORE_MANUAL] = "manual",
};

/* Which probe types each probe key applies to, which action kinds each
 * action key applies to (bit sets). */
#define T_BIT(t) (1u << (t))
#define T_ALL	 ((1u << __POLICY_PROBE_MAX) - 1)
#define T_HTTPX	 (T_BIT(POLICY_PROBE_HTTP) | T_BIT(POLICY_PROBE_HTTPS))
static const unsigned probe_key_types[__POLICY_PK_MAX] = {
    [POLICY_PK_TYPE] = T_ALL,
    [POLICY_PK_INTERVAL] = T_ALL,
    [POLICY_PK_FAST_INTERVAL] = T_ALL,
    [POLICY_PK_DOWN_INTERVAL] = T_ALL,
    [POLICY_PK_TIMEOUT] = T_ALL,
    [POLICY_PK_FALL] = T_ALL,
    [POLICY_PK_RISE] = T_ALL,
    [POLICY_PK_PORT] = T_BIT(POLICY_PROBE_TCP) | T_HTTPX,
    [POLICY_PK_PATH] = T_HTTPX,
    [POLICY_PK_EXPECT] = T_HTTPX,
    [POLICY_PK_HOST] = T_HTTPX,
    [POLICY_PK_TLS_VERIFY] = T_BIT(POLICY_PROBE_HTTPS),
    [POLICY_PK_CA_FILE] = T_BIT(POLICY_PROBE_HTTPS),
    [POLICY_PK_COMMAND] = T_BIT(POLICY_PROBE_EXEC),
};

#define K_BIT(k) (1u << (k))
#define K_ALL	 ((1u << __ISOL_KIND_MAX) - 1)
static const unsigned action_key_kinds[__POLICY_AK_MAX] = {
    [POLICY_AK_KIND] = K_ALL,
    [POLICY_AK_TTL] = K_ALL,
    [POLICY_AK_DIRECTION] = K_BIT(ISOL_KIND_ISOLATE),
    [POLICY_AK_MODE] = K_BIT(ISOL_KIND_ISOLATE),
    [POLICY_AK_KILL_FLOWS] = K_BIT(ISOL_KIND_STEER),
    [POLICY_AK_CHECK] = K_BIT(ISOL_KIND_STEER) | K_BIT(ISOL_KIND_PIN),
    [POLICY_AK_HOSTNAME] = K_BIT(ISOL_KIND_PIN),
    [POLICY_AK_PREFIX] = K_BIT(ISOL_KIND_ROUTE),
    [POLICY_AK_VIA] = K_BIT(ISOL_KIND_ROUTE),
    [POLICY_AK_DEV] = K_BIT(ISOL_KIND_ROUTE),
    [POLICY_AK_METRIC] = K_BIT(ISOL_KIND_ROUTE),
};

int policy_key_lookup(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *policy_probe_type_name(enum policy_probe_type t)
{
	return (unsigned)t < __POLICY_PROBE_MAX ? probe_type_names[t] : "?";
}

int policy_probe_type_parse(const char *s, enum policy_probe_type *t)
{
	int i = policy_key_lookup(probe_type_names, __POLICY_PROBE_MAX, s);

	if (i < 0)
		return -EINVAL;
	*t = (enum policy_probe_type)i;
	return 0;
}

const char *policy_restore_name(enum policy_restore r)
{
	return (unsigned)r < __POLICY_RESTORE_MAX ? restore_names[r] : "?";
}

int policy_restore_parse(const char *s, enum policy_restore *r)
{
	int i = policy_key_lookup(restore_names, __POLICY_RESTORE_MAX, s);

	if (i < 0)
		return -EINVAL;
	*r = (enum policy_restore)i;
	return 0;
}

/* ---- error lists ---- */

void policy_errors_init(struct policy_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
}

void policy_errors_fini(struct policy_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->v[i].text);
	free(errs->v);
	memset(errs, 0, sizeof(*errs));
}

static void errors_push(struct policy_errors *errs, unsigned line, unsigned col, char *text)
{
	struct policy_error *v;

	if (text == NULL)
		return;
	if (errs->n == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 16;

		v = realloc(errs->v, cap * sizeof(*v));
		if (v == NULL) {
			free(text);
			return;
		}
		errs->v = v;
		errs->cap = cap;
	}
	errs->v[errs->n].line = line;
	errs->v[errs->n].col = col;
	errs->v[errs->n].text = text;
	errs->n++;
}

void policy_errors_vadd(struct policy_errors *errs, const char *file, unsigned line, unsigned col,
			const char *fmt, va_list ap)
{
	char msg[512], *text = NULL;
	int rc;

	errs->total++;
	if (errs->n > POLICY_ERRORS_MAX)
		return;
	if (errs->n == POLICY_ERRORS_MAX) {
		/* sorts last: it is about everything after it */
		if (asprintf(&text, "%s: too many errors, stopped reporting after %d", file,
			     POLICY_ERRORS_MAX) == -1)
			return;
		errors_push(errs, ~0u, 0, text);
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line)
		rc = asprintf(&text, "%s:%u:%u: %s", file, line, col, msg);
	else
		rc = asprintf(&text, "%s: %s", file, msg);
	if (rc == -1)
		return;
	errors_push(errs, line, col, text);
}

void policy_errors_add(struct policy_errors *errs, const char *file, unsigned line, unsigned col,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy_errors_vadd(errs, file, line, col, fmt, ap);
	va_end(ap);
}

static bool error_before(const struct policy_error *a, const struct policy_error *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

void policy_errors_sort(struct policy_errors *errs, size_t from)
{
	size_t i, j;

	/* insertion sort: stable, and lists are short (bounded) */
	for (i = from + 1; i < errs->n; i++) {
		struct policy_error e = errs->v[i];

		for (j = i; j > from && error_before(&e, &errs->v[j - 1]); j--)
			errs->v[j] = errs->v[j - 1];
		errs->v[j] = e;
	}
}

/* ---- single values the parser checks with our rules ---- */

int policy_name_check(const char *s, struct isol_err *err)
{
	size_t len = strlen(s), i;

	if (len == 0)
		return isol_err_set(err, -EINVAL, "name is empty");
	if (len > POLICY_NAME_MAX)
		return isol_err_set(err, -EINVAL, "name '%.48s...' is longer than %d bytes", s,
				    POLICY_NAME_MAX);
	for (i = 0; i < len; i++) {
		char c = s[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.')))
			return isol_err_set(err, -EINVAL,
					    "name '%s': use letters, digits, '-', '_' and '.', "
					    "starting with a letter or digit",
					    s);
	}
	return 0;
}

int policy_hostname_check(const char *s, struct isol_err *err)
{
	size_t len = strlen(s), label = 0;
	const char *p;

	if (len == 0)
		return isol_err_set(err, -EINVAL, "hostname is empty");
	if (len > ISOL_HOST_MAX)
		return isol_err_set(err, -EINVAL, "hostname is longer than %d bytes",
				    ISOL_HOST_MAX);
	if (s[0] == '.' || s[len - 1] == '.')
		return isol_err_set(err, -EINVAL, "'%.80s' is not a hostname", s);
	for (p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return isol_err_set(err, -EINVAL, "'%.80s' is not a hostname", s);
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
			if (++label > 63)
				return isol_err_set(err, -EINVAL,
						    "a label of '%.80s' is over 63 bytes", s);
		} else {
			return isol_err_set(err, -EINVAL,
					    "'%.80s' is not a hostname (letters, digits, '-', '_', "
					    "dots)",
					    s);
		}
	}
	return 0;
}

/* ---- the model ---- */

struct policy *policy_new(void)
{
	return calloc(1, sizeof(struct policy));
}

void policy_free(struct policy *p)
{
	size_t i;
	unsigned j;

	if (p == NULL)
		return;
	for (i = 0; i < p->nprobes; i++) {
		for (j = 0; j < p->probes[i].argc; j++)
			free(p->probes[i].argv[j]);
		free(p->probes[i].argv);
	}
	free(p->probes);
	free(p->actions);
	free(p->targets);
	free(p->file);
	free(p);
}

struct policy_probe *policy_add_probe(struct policy *p)
{
	struct policy_probe *v;

	if (p->nprobes == POLICY_PROBES_MAX) {
		errno = E2BIG;
		return NULL;
	}
	v = realloc(p->probes, (p->nprobes + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	p->probes = v;
	memset(&v[p->nprobes], 0, sizeof(*v));
	return &v[p->nprobes++];
}

struct policy_action *policy_add_action(struct policy *p)
{
	struct policy_action *v;

	if (p->nactions == POLICY_ACTIONS_MAX) {
		errno = E2BIG;
		return NULL;
	}
	v = realloc(p->actions, (p->nactions + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	p->actions = v;
	memset(&v[p->nactions], 0, sizeof(*v));
	return &v[p->nactions++];
}

int policy_add_target(struct policy *p, const struct isol_target *t, struct policy_mark mark)
{
	struct policy_target *v;
	size_t cap;

	if (p->ntargets == POLICY_TARGETS_MAX)
		return -E2BIG;
	/* grow by doubling: large groups (thousands of targets) are normal */
	if ((p->ntargets & (p->ntargets - 1)) == 0) {
		cap = p->ntargets ? p->ntargets * 2 : 4;
		v = realloc(p->targets, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		p->targets = v;
	}
	p->targets[p->ntargets].target = *t;
	p->targets[p->ntargets].mark = mark;
	p->ntargets++;
	return 0;
}

int policy_set_file(struct policy *p, const char *file)
{
	char *f = strdup(file);

	if (f == NULL)
		return -ENOMEM;
	free(p->file);
	p->file = f;
	return 0;
}

/* ---- defaults and checks ---- */

struct vctx {
	const char *file;
	struct policy_errors *errs;
	size_t n;
};

static void __attribute__((format(printf, 3, 4)))
verr(struct vctx *v, struct policy_mark m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy_errors_vadd(v->errs, v->file, m.line, m.col, fmt, ap);
	va_end(ap);
	v->n++;
}

/* A key that was written with a value that parsed. */
static bool given(const struct policy_mark *at, uint32_t bad, int k)
{
	return at[k].line != 0 && !(bad & (1u << k));
}

static const char *dur(uint64_t ms, char *buf, size_t len)
{
	isol_duration_format(ms, buf, len);
	return buf;
}

/* "tcp, http and https" from a bit set of names. */
static void name_list(const char *const *names, int n, unsigned bits, char *buf, size_t len)
{
	int i, count = 0, total = 0;
	size_t off = 0;

	for (i = 0; i < n; i++)
		total += !!(bits & (1u << i));
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		if (!(bits & (1u << i)))
			continue;
		count++;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					count == 1	? ""
					: count < total ? ", "
							: " and ",
					names[i]);
	}
}

static void probe_defaults(struct policy_probe *pr)
{
	const struct policy_mark *at = pr->at;
	uint32_t bad = pr->bad;

	if (!given(at, bad, POLICY_PK_INTERVAL))
		pr->interval_ms = POLICY_DEF_INTERVAL_MS;
	if (!given(at, bad, POLICY_PK_FAST_INTERVAL))
		pr->fast_interval_ms = pr->interval_ms < POLICY_DEF_FAST_INTERVAL_MS
					   ? pr->interval_ms
					   : POLICY_DEF_FAST_INTERVAL_MS;
	if (!given(at, bad, POLICY_PK_DOWN_INTERVAL))
		pr->down_interval_ms = pr->interval_ms > POLICY_DEF_DOWN_INTERVAL_MS
					   ? pr->interval_ms
					   : POLICY_DEF_DOWN_INTERVAL_MS;
	if (!given(at, bad, POLICY_PK_TIMEOUT))
		pr->timeout_ms = pr->interval_ms < POLICY_DEF_TIMEOUT_MS ? pr->interval_ms
									 : POLICY_DEF_TIMEOUT_MS;
	if (!given(at, bad, POLICY_PK_FALL))
		pr->fall = POLICY_DEF_FALL;
	if (!given(at, bad, POLICY_PK_RISE))
		pr->rise = POLICY_DEF_RISE;
	if (!given(at, bad, POLICY_PK_PORT))
		pr->port = 0;
	if (!given(at, bad, POLICY_PK_PATH))
		strcpy(pr->path, "/");
	if (!given(at, bad, POLICY_PK_EXPECT)) {
		pr->expect[0].lo = POLICY_DEF_HTTP_EXPECT_LO;
		pr->expect[0].hi = POLICY_DEF_HTTP_EXPECT_HI;
		pr->nexpect = 1;
	}
	if (!given(at, bad, POLICY_PK_HOST))
		pr->host[0] = '\0';
	if (!given(at, bad, POLICY_PK_TLS_VERIFY))
		pr->tls_verify = true;
	if (!given(at, bad, POLICY_PK_CA_FILE))
		pr->ca_file[0] = '\0';
}

/* The mark of the relation's culprit: the key written, else the other. */
static struct policy_mark either(const struct policy_mark *at, int k, int other)
{
	return at[k].line ? at[k] : at[other];
}

static void probe_check(struct vctx *v, struct policy_probe *pr)
{
	const struct policy_mark *at = pr->at;
	char a[32], b[32], types[64];
	int k;

	if (at[POLICY_PK_TYPE].line == 0) {
		verr(v, pr->mark, "probe has no 'type' (tcp, http, https, icmp or exec)");
		return;
	}
	if (pr->bad & (1u << POLICY_PK_TYPE))
		return; /* reported; which keys belong is unknown */
	for (k = 0; k < __POLICY_PK_MAX; k++) {
		if (at[k].line == 0 || (probe_key_types[k] & T_BIT(pr->type)))
			continue;
		name_list(probe_type_names, __POLICY_PROBE_MAX, probe_key_types[k], types,
			  sizeof(types));
		verr(v, at[k], "'%s' is for %s probes, not %s", policy_probe_key_names[k], types,
		     policy_probe_type_name(pr->type));
	}
	if (pr->fast_interval_ms > pr->interval_ms)
		verr(v, either(at, POLICY_PK_FAST_INTERVAL, POLICY_PK_INTERVAL),
		     "fast_interval %s is longer than interval %s",
		     dur(pr->fast_interval_ms, a, sizeof(a)), dur(pr->interval_ms, b, sizeof(b)));
	if (pr->down_interval_ms < pr->interval_ms)
		verr(v, either(at, POLICY_PK_DOWN_INTERVAL, POLICY_PK_INTERVAL),
		     "down_interval %s is shorter than interval %s",
		     dur(pr->down_interval_ms, a, sizeof(a)), dur(pr->interval_ms, b, sizeof(b)));
	if (pr->timeout_ms > pr->interval_ms)
		verr(v, either(at, POLICY_PK_TIMEOUT, POLICY_PK_INTERVAL),
		     "timeout %s is longer than interval %s (a probe would still run when the "
		     "next is due)",
		     dur(pr->timeout_ms, a, sizeof(a)), dur(pr->interval_ms, b, sizeof(b)));
	if (pr->type == POLICY_PROBE_EXEC && at[POLICY_PK_COMMAND].line == 0)
		verr(v, pr->mark,
		     "exec probe has no 'command' (a list, e.g. [/usr/bin/check, -q])");
}

/* Can @pr check @t? Reported once per probe, at the first target it cannot. */
static void probe_check_targets(struct vctx *v, const struct policy *p,
				const struct policy_probe *pr)
{
	char t[ISOL_TARGET_STRLEN];
	size_t i;

	if (pr->bad & (1u << POLICY_PK_TYPE) || pr->at[POLICY_PK_TYPE].line == 0)
		return;
	if (pr->type != POLICY_PROBE_TCP && pr->type != POLICY_PROBE_HTTP &&
	    pr->type != POLICY_PROBE_HTTPS)
		return;
	if (given(pr->at, pr->bad, POLICY_PK_PORT))
		return; /* checks its own port, over tcp, whatever the target is */
	for (i = 0; i < p->ntargets; i++) {
		const struct isol_target *tg = &p->targets[i].target;

		if (!isol_target_is_host(tg))
			continue; /* reported: not a probe target at all */
		isol_target_format(tg, t, sizeof(t));
		if (pr->type == POLICY_PROBE_TCP && !isol_target_has_port(tg)) {
			verr(v, pr->mark,
			     "tcp probe needs a port: target %s has none (write ADDR:PORT or give "
			     "the probe a 'port')",
			     t);
			return;
		}
		if (tg->proto && tg->proto != IPPROTO_TCP) {
			verr(v, pr->mark,
			     "%s probe cannot check %s target %s (give the probe a tcp 'port')",
			     policy_probe_type_name(pr->type), isol_proto_name(tg->proto), t);
			return;
		}
	}
}

bool policy_action_needs_backup(const struct policy_action *a)
{
	return a->kind == ISOL_KIND_STEER || a->kind == ISOL_KIND_PIN ||
	       (a->kind == ISOL_KIND_ROUTE && !a->has_via);
}

static void action_defaults(struct policy_action *a)
{
	if (!given(a->at, a->bad, POLICY_AK_TTL))
		a->ttl_ms = POLICY_DEF_TTL_MS;
	if (!given(a->at, a->bad, POLICY_AK_DIRECTION))
		a->dirs = ISOL_DIR_OUT;
	if (!given(a->at, a->bad, POLICY_AK_MODE))
		a->mode = ISOL_MODE_REJECT;
	if (!given(a->at, a->bad, POLICY_AK_KILL_FLOWS))
		a->kill_flows = false;
	if (!given(a->at, a->bad, POLICY_AK_CHECK))
		a->check = true;
	if (!given(a->at, a->bad, POLICY_AK_VIA))
		a->has_via = false;
}

/* Is the action usable at all (its kind known)? */
static bool action_known(const struct policy_action *a)
{
	return given(a->at, a->bad, POLICY_AK_KIND);
}

static void action_check(struct vctx *v, const struct policy *p, struct policy_action *a,
			 size_t idx)
{
	const struct policy_mark *at = a->at;
	const char *kind = isol_kind_name(a->kind);
	char kinds[64];
	size_t i;
	int k;

	if (at[POLICY_AK_KIND].line == 0) {
		verr(v, a->mark, "action has no 'kind' (isolate, steer, pin or route)");
		return;
	}
	if (!action_known(a))
		return;
	for (i = 0; i < idx; i++) {
		if (action_known(&p->actions[i]) && p->actions[i].kind == a->kind) {
			verr(v, at[POLICY_AK_KIND], "a second %s action (one of each kind at most)",
			     kind);
			return;
		}
	}
	for (k = 0; k < __POLICY_AK_MAX; k++) {
		static const char *const knames[__ISOL_KIND_MAX] = {"isolate", "steer", "pin",
								    "route"};

		if (at[k].line == 0 || (action_key_kinds[k] & K_BIT(a->kind)))
			continue;
		name_list(knames, __ISOL_KIND_MAX, action_key_kinds[k], kinds, sizeof(kinds));
		verr(v, at[k], "'%s' is for %s actions, not %s", policy_action_key_names[k], kinds,
		     kind);
	}
	switch (a->kind) {
	case ISOL_KIND_PIN:
		if (at[POLICY_AK_HOSTNAME].line == 0)
			verr(v, a->mark,
			     "pin action has no 'hostname' (the name to point at the "
			     "backup)");
		break;
	case ISOL_KIND_ROUTE:
		if (at[POLICY_AK_PREFIX].line == 0)
			verr(v, a->mark,
			     "route action has no 'prefix' (the destination to re-route, e.g. "
			     "10.20.0.0/16)");
		if (given(at, a->bad, POLICY_AK_PREFIX) && given(at, a->bad, POLICY_AK_VIA) &&
		    a->route_type == ISOL_ROUTE_VIA && a->via_family != a->prefix.family)
			verr(v, at[POLICY_AK_VIA],
			     "via: the gateway is not of the prefix's family");
		if (at[POLICY_AK_DEV].line && given(at, a->bad, POLICY_AK_VIA) &&
		    a->route_type != ISOL_ROUTE_VIA)
			verr(v, at[POLICY_AK_DEV], "'dev' goes with a gateway, not with via %s",
			     isol_route_type_name(a->route_type));
		break;
	default:
		break;
	}
	/* (more primaries than targets is reported on its own) */
	if (policy_action_needs_backup(a) && !(p->bad & (1u << POLICY_K_TARGETS)) &&
	    p->ntargets > 0 && p->primaries == p->ntargets) {
		if (p->ntargets == 1)
			verr(v, at[POLICY_AK_KIND],
			     "%s needs a backup: list at least 2 targets (the primary first)",
			     kind);
		else
			verr(v, at[POLICY_AK_KIND],
			     "%s needs a backup: primaries is %zu of %zu targets, none is left as "
			     "a backup",
			     kind, p->primaries, p->ntargets);
	}
}

/* Build the spec of @a for @t (and @b), reporting a failure at @m. */
static void spec_check(struct vctx *v, const struct policy *p, const struct policy_action *a,
		       const struct policy_target *t, const struct policy_target *b)
{
	struct isol_spec spec;
	struct isol_err err = {0, ""};
	char ts[ISOL_TARGET_STRLEN], bs[ISOL_TARGET_STRLEN];
	const struct policy_target *at = b ? b : t;

	if (policy_action_spec(p, a, t ? &t->target : NULL, b ? &b->target : NULL, "check", &spec,
			       &err) == 0)
		return;
	if (t == NULL) {
		verr(v, a->mark, "%s", err.msg);
		return;
	}
	isol_target_format(&t->target, ts, sizeof(ts));
	if (b == NULL) {
		verr(v, t->mark, "%s %s: %s", isol_kind_name(a->kind), ts, err.msg);
		return;
	}
	isol_target_format(&b->target, bs, sizeof(bs));
	verr(v, at->mark, "%s %s to backup %s: %s", isol_kind_name(a->kind), ts, bs, err.msg);
}

/* Every action applied to the targets it can meet: primaries alone, or
 * each primary with the first backup and the first primary with each
 * backup. With one family per pair checked and the port shape checked
 * below, every pairing is then known to build, in O(n). */
static void actions_check_targets(struct vctx *v, const struct policy *p)
{
	size_t i, j, before;

	if (p->ntargets == 0 || p->primaries == 0 || p->primaries > p->ntargets)
		return;
	for (i = 0; i < p->nactions; i++) {
		const struct policy_action *a = &p->actions[i];

		if (!action_known(a))
			continue;
		if (a->bad || (a->kind == ISOL_KIND_PIN && a->at[POLICY_AK_HOSTNAME].line == 0) ||
		    (a->kind == ISOL_KIND_ROUTE && a->at[POLICY_AK_PREFIX].line == 0))
			continue; /* reported already */
		before = v->n;
		if (a->kind == ISOL_KIND_ISOLATE) {
			for (j = 0; j < p->primaries; j++)
				spec_check(v, p, a, &p->targets[j], NULL);
		} else if (!policy_action_needs_backup(a)) {
			spec_check(v, p, a, NULL, NULL);
		} else if (p->primaries < p->ntargets) {
			const struct policy_target *portless = NULL, *ported = NULL;

			for (j = 0; j < p->primaries && v->n == before; j++) {
				spec_check(v, p, a, &p->targets[j], &p->targets[p->primaries]);
				if (!portless && !isol_target_has_port(&p->targets[j].target))
					portless = &p->targets[j];
			}
			for (j = p->primaries; j < p->ntargets && v->n == before; j++) {
				if (j > p->primaries)
					spec_check(v, p, a, &p->targets[0], &p->targets[j]);
				if (!ported && isol_target_has_port(&p->targets[j].target))
					ported = &p->targets[j];
			}
			/* the one pairing neither pass meets: a primary without a
			 * port and a backup with one */
			if (portless && ported && v->n == before)
				spec_check(v, p, a, portless, ported);
		}
	}
}

/* Equal targets next to each other, in the order they were written. */
static int target_cmp(const void *a, const void *b)
{
	const struct policy_target *x = *(const struct policy_target *const *)a;
	const struct policy_target *y = *(const struct policy_target *const *)b;
	int c;

	if (x->target.family != y->target.family)
		return x->target.family < y->target.family ? -1 : 1;
	c = memcmp(x->target.addr, y->target.addr, sizeof(x->target.addr));
	if (c)
		return c;
	if (x->target.plen != y->target.plen)
		return x->target.plen < y->target.plen ? -1 : 1;
	if (x->target.proto != y->target.proto)
		return x->target.proto < y->target.proto ? -1 : 1;
	if (x->target.port_lo != y->target.port_lo)
		return x->target.port_lo < y->target.port_lo ? -1 : 1;
	if (x->target.port_hi != y->target.port_hi)
		return x->target.port_hi < y->target.port_hi ? -1 : 1;
	return x < y ? -1 : x > y; /* written order */
}

static void targets_check(struct vctx *v, const struct policy *p)
{
	const struct policy_target **order;
	char t[ISOL_TARGET_STRLEN];
	size_t i, first;

	for (i = 0; i < p->ntargets; i++) {
		const struct policy_target *pt = &p->targets[i];

		isol_target_format(&pt->target, t, sizeof(t));
		if (!isol_target_is_host(&pt->target))
			verr(v, pt->mark,
			     "target %s is a prefix: a policy target is one address (ADDR or "
			     "ADDR:PORT), so that it can be probed",
			     t);
		else if (isol_target_has_port(&pt->target) &&
			 pt->target.port_lo != pt->target.port_hi)
			verr(v, pt->mark, "target %s must name one port, not a range", t);
	}
	/* duplicates, in O(n log n): groups of thousands are normal */
	if (p->ntargets < 2)
		return;
	order = malloc(p->ntargets * sizeof(*order));
	if (order == NULL) {
		verr(v, p->mark, "out of memory checking targets");
		return;
	}
	for (i = 0; i < p->ntargets; i++)
		order[i] = &p->targets[i];
	qsort(order, p->ntargets, sizeof(*order), target_cmp);
	for (i = 1, first = 0; i < p->ntargets; i++) {
		if (!isol_target_equal(&order[i]->target, &order[first]->target)) {
			first = i;
			continue;
		}
		isol_target_format(&order[i]->target, t, sizeof(t));
		verr(v, order[i]->mark, "target %s is listed twice (first at %u:%u)", t,
		     order[first]->mark.line, order[first]->mark.col);
	}
	free(order);
}

static size_t default_primaries(const struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nactions; i++)
		if (action_known(&p->actions[i]) && policy_action_needs_backup(&p->actions[i]))
			return p->ntargets ? 1 : 0;
	return p->ntargets;
}

/* `one:` or `many:` (a list), exactly one of them, with something in it. */
static void list_check(struct vctx *v, const struct policy *p, int one, int many, size_t n)
{
	const char *o = policy_key_names[one], *m = policy_key_names[many];

	if (p->at[one].line && p->at[many].line)
		verr(v, p->at[many], "both '%s' and '%s': use one", o, m);
	else if (p->at[one].line == 0 && p->at[many].line == 0)
		verr(v, p->mark, "policy has no '%s' (or '%s', a list)", o, m);
	else if (n == 0 && p->at[many].line && !(p->bad & (1u << many)))
		verr(v, p->at[many], "%s is empty", m);
}

size_t policy_finish(struct policy *p, const char *file, struct policy_errors *errs)
{
	struct vctx v = {file, errs, 0};
	char a[32], b[32];
	size_t i;

	/* defaults first: the checks compare final values */
	if (!given(p->at, p->bad, POLICY_K_ENABLED))
		p->enabled = true;
	if (!given(p->at, p->bad, POLICY_K_RESTORE))
		p->restore = POLICY_RESTORE_AUTO;
	for (i = 0; i < p->nprobes; i++)
		probe_defaults(&p->probes[i]);
	for (i = 0; i < p->nactions; i++)
		action_defaults(&p->actions[i]);
	if (!given(p->at, p->bad, POLICY_K_PRIMARIES))
		p->primaries = default_primaries(p);
	if (!given(p->hold_at, p->hold_bad, POLICY_HK_BASE))
		p->hold_base_ms = POLICY_DEF_HOLD_BASE_MS;
	if (!given(p->hold_at, p->hold_bad, POLICY_HK_MAX))
		p->hold_max_ms = p->hold_base_ms > POLICY_DEF_HOLD_MAX_MS ? p->hold_base_ms
									  : POLICY_DEF_HOLD_MAX_MS;
	if (!given(p->hold_at, p->hold_bad, POLICY_HK_DECAY))
		p->hold_decay_ms = POLICY_DEF_HOLD_DECAY_MS;
	if (!given(p->hold_at, p->hold_bad, POLICY_HK_OBSERVE))
		p->hold_observe_ms = POLICY_DEF_HOLD_OBSERVE_MS;
	if (!given(p->guard_at, p->guard_bad, POLICY_GK_MAX_ISOLATED_PCT))
		p->max_isolated_pct = POLICY_DEF_MAX_ISOLATED_PCT;
	if (!given(p->guard_at, p->guard_bad, POLICY_GK_MIN_AVAILABLE))
		p->min_available = p->ntargets > 1 ? POLICY_DEF_MIN_AVAILABLE : 0;
	if (!given(p->guard_at, p->guard_bad, POLICY_GK_PANIC_PCT))
		p->panic_pct = POLICY_DEF_PANIC_PCT;

	/* required keys */
	if (p->at[POLICY_K_NAME].line == 0)
		verr(&v, p->mark, "policy has no 'name'");
	if (p->at[POLICY_K_TARGETS].line == 0)
		verr(&v, p->mark,
		     "policy has no 'targets' (a list: the primary first, then "
		     "backups)");
	else if (p->ntargets == 0 && !(p->bad & (1u << POLICY_K_TARGETS)))
		verr(&v, p->at[POLICY_K_TARGETS], "targets is empty");
	list_check(&v, p, POLICY_K_PROBE, POLICY_K_PROBES, p->nprobes);
	list_check(&v, p, POLICY_K_ACTION, POLICY_K_ACTIONS, p->nactions);

	/* relations */
	if (given(p->at, p->bad, POLICY_K_PRIMARIES) && p->primaries > p->ntargets &&
	    !(p->bad & (1u << POLICY_K_TARGETS)))
		verr(&v, p->at[POLICY_K_PRIMARIES], "primaries is %zu, but there are %zu targets",
		     p->primaries, p->ntargets);
	if (p->hold_base_ms > p->hold_max_ms)
		verr(&v, either(p->hold_at, POLICY_HK_BASE, POLICY_HK_MAX),
		     "hold: base %s is longer than max %s", dur(p->hold_base_ms, a, sizeof(a)),
		     dur(p->hold_max_ms, b, sizeof(b)));
	if (given(p->guard_at, p->guard_bad, POLICY_GK_MIN_AVAILABLE) && p->ntargets > 0 &&
	    p->min_available >= p->ntargets)
		verr(&v, p->guard_at[POLICY_GK_MIN_AVAILABLE],
		     "min_available %u leaves nothing to act on (%zu target%s)", p->min_available,
		     p->ntargets, p->ntargets == 1 ? "" : "s");

	targets_check(&v, p);
	for (i = 0; i < p->nprobes; i++) {
		probe_check(&v, &p->probes[i]);
		probe_check_targets(&v, p, &p->probes[i]);
	}
	for (i = 0; i < p->nactions; i++)
		action_check(&v, p, &p->actions[i], i);
	if (v.n == 0)
		actions_check_targets(&v, p);
	return v.n;
}

/* ---- what the agent applies ---- */

uint16_t policy_probe_port(const struct policy_probe *probe, const struct isol_target *target)
{
	if (probe->type == POLICY_PROBE_ICMP)
		return 0;
	if (probe->port)
		return probe->port;
	if (isol_target_has_port(target))
		return target->port_lo;
	if (probe->type == POLICY_PROBE_HTTP)
		return 80;
	if (probe->type == POLICY_PROBE_HTTPS)
		return 443;
	return 0;
}

void policy_timing(const struct policy *p, struct policy_timing *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < p->nprobes; i++) {
		const struct policy_probe *pr = &p->probes[i];

		if (i == 0 || pr->interval_ms < t->interval_ms)
			t->interval_ms = pr->interval_ms;
		if (i == 0 || pr->fast_interval_ms < t->fast_interval_ms)
			t->fast_interval_ms = pr->fast_interval_ms;
		if (i == 0 || pr->down_interval_ms < t->down_interval_ms)
			t->down_interval_ms = pr->down_interval_ms;
		if (pr->timeout_ms > t->timeout_ms)
			t->timeout_ms = pr->timeout_ms;
		if (pr->fall > t->fall)
			t->fall = pr->fall;
		if (pr->rise > t->rise)
			t->rise = pr->rise;
	}
}

int policy_origin(const struct policy *p, char *buf, size_t len)
{
	return snprintf(buf, len, "policy:%s", p->name);
}

static void set_to(struct isol_spec *spec, const struct isol_target *b, bool with_port)
{
	spec->to_family = b->family;
	memcpy(spec->to_addr, b->addr, sizeof(spec->to_addr));
	spec->to_port = with_port && isol_target_has_port(b) ? b->port_lo : 0;
}

/* "policy NAME: WHY" as one line of printable ASCII, cut to fit. */
static void set_reason(struct isol_spec *spec, const char *name, const char *why,
		       const struct isol_target *t)
{
	char ts[ISOL_TARGET_STRLEN];
	char *r;

	if (why && *why) {
		snprintf(spec->reason, sizeof(spec->reason), "policy %s: %s", name, why);
	} else if (t) {
		isol_target_format(t, ts, sizeof(ts));
		snprintf(spec->reason, sizeof(spec->reason), "policy %s: %s failed its probes",
			 name, ts);
	} else {
		snprintf(spec->reason, sizeof(spec->reason),
			 "policy %s: a target failed its probes", name);
	}
	/* journal and wire carry UTF-8 lines: keep it plain */
	for (r = spec->reason; *r; r++)
		if ((unsigned char)*r < 0x20 || (unsigned char)*r >= 0x7f)
			*r = (unsigned char)*r >= 0x80 ? '?' : ' ';
}

int policy_action_spec(const struct policy *p, const struct policy_action *a,
		       const struct isol_target *target, const struct isol_target *backup,
		       const char *why, struct isol_spec *spec, struct isol_err *err)
{
	struct isol_spec check;
	char line[1024];
	int n;

	isol_spec_init(spec);
	spec->kind = a->kind;
	spec->ttl_ms = a->ttl_ms;
	spec->force = false; /* protected targets stay protected from automation */
	if (a->kind != ISOL_KIND_ROUTE && a->kind != ISOL_KIND_PIN && target == NULL)
		return isol_err_set(err, -EINVAL, "%s needs a target", isol_kind_name(a->kind));
	if (policy_action_needs_backup(a) && backup == NULL)
		return isol_err_set(err, -EINVAL, "%s needs a backup", isol_kind_name(a->kind));
	switch (a->kind) {
	case ISOL_KIND_ISOLATE:
		spec->target = *target;
		spec->dirs = a->dirs;
		spec->mode = a->mode;
		break;
	case ISOL_KIND_STEER:
		spec->target = *target;
		set_to(spec, backup, true);
		spec->kill_flows = a->kill_flows;
		spec->no_check = !a->check;
		break;
	case ISOL_KIND_PIN:
		if (target)
			spec->target = *target;
		if (strlen(a->hostname) >= sizeof(spec->host))
			return isol_err_set(err, -EINVAL, "pin: hostname too long");
		strcpy(spec->host, a->hostname);
		set_to(spec, backup, false);
		if (a->check && isol_target_has_port(backup))
			spec->check_port = backup->port_lo;
		break;
	case ISOL_KIND_ROUTE:
		spec->target = a->prefix;
		if (a->has_via) {
			spec->route_type = a->route_type;
			if (a->route_type == ISOL_ROUTE_VIA) {
				spec->to_family = a->via_family;
				memcpy(spec->to_addr, a->via_addr, sizeof(spec->to_addr));
			}
		} else {
			spec->route_type = ISOL_ROUTE_VIA;
			set_to(spec, backup, false);
		}
		strcpy(spec->dev, a->dev);
		spec->metric = a->metric;
		break;
	default:
		return isol_err_set(err, -EINVAL, "unknown action kind");
	}
	/* the same rules as the CLI's words, so an automatic action can never
	 * be one a person could not type; the reason is ours and plain, and is
	 * left out so that the line stays short */
	check = *spec;
	check.reason[0] = '\0';
	n = isol_spec_format(&check, line, sizeof(line));
	if (n < 0 || (size_t)n >= sizeof(line))
		return isol_err_set(err, -EINVAL, "action too long");
	if (isol_spec_parse_line(line, &check, err) != 0)
		return -EINVAL;
	set_reason(spec, p->name, why, target);
	return 0;
}

/* ---- sets ---- */

struct policy_set *policy_set_new(void)
{
	return calloc(1, sizeof(struct policy_set));
}

void policy_set_free(struct policy_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		policy_free(set->v[i]);
	free(set->v);
	free(set);
}

int policy_set_add(struct policy_set *set, struct policy *p)
{
	struct policy **v;

	if (p->name[0] && policy_set_find(set, p->name))
		return -EEXIST;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 8;

		v = realloc(set->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		set->v = v;
		set->cap = cap;
	}
	set->v[set->n++] = p;
	return 0;
}

struct policy *policy_set_find(const struct policy_set *set, const char *name)
{
	size_t i;

	/* linear: sets are loaded once per reload, and looked up by people */
	for (i = 0; i < set->n; i++)
		if (strcmp(set->v[i]->name, name) == 0)
			return set->v[i];
	return NULL;
}

size_t policy_set_count(const struct policy_set *set)
{
	return set ? set->n : 0;
}

struct policy *policy_set_at(const struct policy_set *set, size_t i)
{
	return set && i < set->n ? set->v[i] : NULL;
}
