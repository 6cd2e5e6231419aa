/* test_policy.c - policies: every example in policies/ loads clean; broken
 * YAML gives exactly the expected "file:line:col: message" lines, all of
 * them; directories load all-or-nothing with unique names; defaults; the
 * spec each action becomes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "isol/duration.h"
#include "policy_parse.h"

/* Paths in the repository: __FILE__ ends in tests/unit/test_policy.c, and
 * what comes before it is the root: "" when the Makefile compiled it from
 * the root (tests/run.sh runs the tests from there too), or an absolute
 * prefix when it was compiled by absolute path. */
#define THIS_FILE "tests/unit/test_policy.c"

static void repo_path(const char *rel, char *buf, size_t len)
{
	const char *self = __FILE__;
	size_t flen = strlen(self), tlen = strlen(THIS_FILE);

	assert_true(flen >= tlen);
	assert_string_equal(self + flen - tlen, THIS_FILE);
	/* the root is what comes before; "" when built from the root */
	snprintf(buf, len, "%.*s%s", (int)(flen - tlen), self, rel);
}

static void print_errors(const struct policy_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		print_message("  %s\n", errs->v[i].text);
}

/* ---- every example parses, and means what its comments say ---- */

static void test_examples_load(void **state)
{
	struct policy_errors errs;
	struct policy_set *set = NULL;
	struct isol_err err = {0, ""};
	struct policy_timing timing;
	struct isol_spec spec;
	const struct policy *p;
	char dir[4096], line[1024];
	size_t i, a;
	int rc;

	repo_path("policies", dir, sizeof(dir));
	policy_errors_init(&errs);
	rc = policy_set_load_dir(dir, &set, &errs);
	print_errors(&errs);
	assert_int_equal(rc, 0);
	assert_int_equal(errs.total, 0);
	assert_non_null(set);
	assert_true(policy_set_count(set) >= 4);

	/* each action of each policy builds for its first target (and backup) */
	for (i = 0; i < policy_set_count(set); i++) {
		p = policy_set_at(set, i);
		for (a = 0; a < p->nactions; a++) {
			const struct isol_target *b = NULL;

			if (policy_action_needs_backup(&p->actions[a]))
				b = &p->targets[p->primaries].target;
			assert_int_equal(policy_action_spec(p, &p->actions[a],
							    &p->targets[0].target, b, NULL, &spec,
							    &err),
					 0);
		}
	}

	/* the contract's example */
	p = policy_set_find(set, "rabbitmq");
	assert_non_null(p);
	assert_int_equal(p->ntargets, 2);
	assert_int_equal(p->primaries, 1);
	assert_int_equal(p->probes[0].type, POLICY_PROBE_TCP);
	assert_int_equal(p->probes[0].interval_ms, 5000);
	assert_int_equal(p->probes[0].fall, 3);
	assert_int_equal(p->actions[0].kind, ISOL_KIND_STEER);
	assert_int_equal(p->hold_base_ms, 30000);
	assert_int_equal(p->hold_max_ms, 300000);
	assert_int_equal(p->restore, POLICY_RESTORE_AUTO);
	assert_int_equal(p->max_isolated_pct, 50);
	assert_int_equal(p->min_available, 1);
	assert_int_equal(policy_action_spec(p, &p->actions[0], &p->targets[0].target,
					    &p->targets[1].target, "3 tcp probes failed", &spec,
					    &err),
			 0);
	isol_spec_format(&spec, line, sizeof(line));
	assert_string_equal(line, "steer 10.0.0.5:5672/tcp --to 10.0.0.6:5672 --ttl 30m "
				  "--reason 'policy rabbitmq: 3 tcp probes failed'");
	policy_origin(p, line, sizeof(line));
	assert_string_equal(line, "policy:rabbitmq");

	/* one of each kind and probe type is in there */
	assert_non_null(p = policy_set_find(set, "web"));
	assert_int_equal(p->nprobes, 2);
	assert_int_equal(p->probes[1].type, POLICY_PROBE_HTTP);
	assert_string_equal(p->probes[1].path, "/healthz");
	assert_int_equal(p->primaries, 3);
	/* one round of both probes: the shortest interval, the largest counts */
	policy_timing(p, &timing);
	assert_int_equal(timing.interval_ms, 2000);
	assert_int_equal(timing.fast_interval_ms, 1000);
	assert_int_equal(timing.down_interval_ms, 10000);
	assert_int_equal(timing.timeout_ms, 2000);
	assert_int_equal(timing.fall, 3);
	assert_int_equal(timing.rise, 3);
	assert_non_null(p = policy_set_find(set, "billing-api"));
	assert_string_equal(p->probes[0].ca_file, "/etc/ssl/certs/ca-certificates.crt");
	assert_int_equal(policy_probe_port(&p->probes[0], &p->targets[0].target), 8443);
	assert_int_equal(p->probes[0].type, POLICY_PROBE_HTTPS);
	assert_int_equal(p->restore, POLICY_RESTORE_MANUAL);
	assert_int_equal(p->min_available, 0);
	assert_non_null(p = policy_set_find(set, "pg-primary"));
	assert_int_equal(p->actions[0].kind, ISOL_KIND_PIN);
	assert_int_equal(p->probes[1].type, POLICY_PROBE_EXEC);
	assert_string_equal(p->probes[1].argv[0], "/usr/local/bin/pg-is-writable");
	assert_null(p->probes[1].argv[p->probes[1].argc]);
	assert_non_null(p = policy_set_find(set, "partner-uplink"));
	assert_int_equal(p->actions[0].kind, ISOL_KIND_ROUTE);
	assert_int_equal(p->probes[0].type, POLICY_PROBE_ICMP);
	assert_non_null(p = policy_set_find(set, "office-lte"));
	assert_true(p->actions[0].has_via);

	policy_set_free(set);
	policy_errors_fini(&errs);
}

/* Each file alone, too: `isolctl policy check FILE` on any of them. */
static void test_examples_each_file(void **state)
{
	static const char *const files[] = {"rabbitmq-steer.yaml", "web-isolate.yaml",
					    "db-pin.yaml", "uplink-route.yaml"};
	struct policy_errors errs;
	struct policy_set *set;
	char path[4096], rel[256];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), "policies/%s", files[i]);
		repo_path(rel, path, sizeof(path));
		policy_errors_init(&errs);
		assert_int_equal(policy_set_load_file(path, &set, &errs), 0);
		assert_int_equal(errs.n, 0);
		assert_true(policy_set_count(set) >= 1);
		policy_set_free(set);
		policy_errors_fini(&errs);
	}
}

/* ---- broken input: exactly these lines, in this order ---- */

struct broken {
	const char *yaml;
	const char *errors[12]; /* NULL-terminated */
};

/* A valid body to break one thing at a time. */
#define OK_TARGETS "targets: [10.0.0.5:5672, 10.0.0.6:5672]\n"
#define OK_PROBE   "probe: {type: tcp}\n"
#define OK_ACTION  "action: {kind: steer}\n"

static const struct broken broken[] = {
    /* several errors in one policy, all reported, in file order */
    {"name: rabbitmq\n"
     "targets: [10.0.0.5:5672]\n"
     "probe:\n"
     "  type: tcp\n"
     "  interval: 5\n"
     "  fall: 0\n"
     "  path: /x\n"
     "  bogus: 1\n"
     "action:\n"
     "  kind: steer\n"
     "  hostname: x\n"
     "hold: { base: 30s, max: 10s }\n"
     "restore: sometimes\n"
     "guard: { max_isolated_pct: 150, min_available: 1 }\n",
     {"t.yaml:5:13: interval: bad duration '5': missing or unknown unit at '' (units: ms, "
      "s, m, h, d)",
      "t.yaml:6:9: fall: 0 is out of range (1 to 100)",
      "t.yaml:7:3: 'path' is for http and https probes, not tcp",
      "t.yaml:8:3: unknown key 'bogus' in probe",
      "t.yaml:10:3: steer needs a backup: list at least 2 targets (the primary first)",
      "t.yaml:11:3: 'hostname' is for pin actions, not steer",
      "t.yaml:12:9: hold: base 30s is longer than max 10s",
      "t.yaml:13:10: restore: 'sometimes' is not auto or manual",
      "t.yaml:14:28: guard.max_isolated_pct: 150 is out of range (1 to 100)",
      "t.yaml:14:33: min_available 1 leaves nothing to act on (1 target)", NULL}},
    /* missing everything */
    {"description: nothing else\n",
     {"t.yaml:1:1: policy has no 'name'",
      "t.yaml:1:1: policy has no 'targets' (a list: the primary first, then backups)",
      "t.yaml:1:1: policy has no 'probe' (or 'probes', a list)",
      "t.yaml:1:1: policy has no 'action' (or 'actions', a list)", NULL}},
    /* wrong types */
    {"name: [a]\n"
     "targets: 10.0.0.5:5672\n"
     "probe: [tcp]\n"
     "action: [steer]\n"
     "hold: 30s\n"
     "enabled: maybe\n",
     {"t.yaml:1:7: name: expected a name, got a list",
      "t.yaml:2:10: targets: expected a list like [10.0.0.5:5672, 10.0.0.6:5672], got a "
      "single value",
      "t.yaml:3:8: probe: expected a mapping, got a list (use 'probes' for a list)",
      "t.yaml:4:9: action: expected an action (a mapping with kind: ..., or just the kind), "
      "got a list",
      "t.yaml:5:7: hold: expected a mapping (key: value), got a single value",
      "t.yaml:6:10: enabled: expected true or false, not 'maybe'", NULL}},
    /* targets: bad, prefix, range, twice, empty value */
    {"name: t\n"
     "targets: [10.0.0.0/24, 10.0.0.5:80-90, 10.0.0.5:80, foo, 10.0.0.5:80, ~]\n" OK_PROBE
     "action: isolate\n",
     {"t.yaml:2:11: target 10.0.0.0/24 is a prefix: a policy target is one address (ADDR "
      "or ADDR:PORT), so that it can be probed",
      "t.yaml:2:24: target 10.0.0.5:80-90/tcp must name one port, not a range",
      "t.yaml:2:53: targets: bad target 'foo': 'foo' is not an IPv4 address",
      "t.yaml:2:58: target 10.0.0.5:80/tcp is listed twice (first at 2:40)",
      "t.yaml:2:71: targets: missing value (expected a target like 10.0.0.5:5672)", NULL}},
    /* probe keys: type-specific, unknown type, relations */
    {"name: t\n" OK_TARGETS "probes:\n"
     "  - {type: udp, port: 53}\n"
     "  - {type: http, expect: 700, command: [/bin/true]}\n"
     "  - {type: exec}\n"
     "  - {type: tcp, timeout: 3s, interval: 1s, fast_interval: 2s, down_interval: 500ms}\n"
     "  - {type: icmp, port: 1, tls_verify: false}\n"
     "  - {interval: 10ms, rise: 101}\n" OK_ACTION,
     {"t.yaml:4:12: type: unknown probe type 'udp' (tcp, http, https, icmp or exec)",
      "t.yaml:5:26: expect: '700' is not within 100-599, low to high",
      "t.yaml:5:31: 'command' is for exec probes, not http",
      "t.yaml:6:5: exec probe has no 'command' (a list, e.g. [/usr/bin/check, -q])",
      "t.yaml:7:17: timeout 3s is longer than interval 1s (a probe would still run when the "
      "next is due)",
      "t.yaml:7:44: fast_interval 2s is longer than interval 1s",
      "t.yaml:7:63: down_interval 500ms is shorter than interval 1s",
      "t.yaml:8:18: 'port' is for tcp, http and https probes, not icmp",
      "t.yaml:8:27: 'tls_verify' is for https probes, not icmp",
      "t.yaml:9:5: probe has no 'type' (tcp, http, https, icmp or exec)",
      "t.yaml:9:16: interval: 10ms is out of range (50ms to 1h)",
      "t.yaml:9:28: rise: 101 is out of range (1 to 100)"}},
    /* a tcp probe with no port to check; http cannot check udp */
    {"name: t\n"
     "targets: [10.0.0.5, 10.0.0.6:53/udp]\n"
     "probes: [{type: tcp}, {type: http}, {type: icmp}, {type: tcp, port: 53}]\n"
     "action: isolate\n",
     {"t.yaml:3:10: tcp probe needs a port: target 10.0.0.5 has none (write ADDR:PORT or "
      "give the probe a 'port')",
      "t.yaml:3:23: http probe cannot check udp target 10.0.0.6:53/udp (give the probe a "
      "tcp 'port')",
      NULL}},
    /* http values */
    {"name: t\n" OK_TARGETS "probe:\n"
     "  type: https\n"
     "  path: health\n"
     "  host: 'a b'\n"
     "  expect: [200, 2xx, 399-200]\n"
     "  tls_verify: 1\n"
     "  ca_file: certs.pem\n" OK_ACTION,
     {"t.yaml:5:9: path: 'health' must start with '/'",
      "t.yaml:6:9: host: 'a b' is not a Host header value (NAME or NAME:PORT)",
      "t.yaml:7:17: expect: '2xx' is not a status or range like 200-399",
      "t.yaml:7:22: expect: '399-200' is not within 100-599, low to high",
      "t.yaml:8:15: tls_verify: expected true or false, not '1'",
      "t.yaml:9:12: ca_file: 'certs.pem' must be an absolute path", NULL}},
    /* exec values */
    {"name: t\n" OK_TARGETS "probes:\n"
     "  - {type: exec, command: check-it}\n"
     "  - {type: exec, command: [check-it, -q]}\n"
     "  - {type: exec, command: []}\n" OK_ACTION,
     {"t.yaml:4:27: command: expected a list of words (argv, no shell), e.g. "
      "[/usr/bin/check, -q], got a single value",
      "t.yaml:5:28: command: 'check-it' must be an absolute path (the agent does not search "
      "PATH)",
      "t.yaml:6:27: command: the list is empty", NULL}},
    /* actions: kinds, keys that do not belong, one of each, needs */
    {"name: t\n" OK_TARGETS OK_PROBE "actions:\n"
     "  - {kind: steer, mode: drop, kill_flows: yes}\n"
     "  - isolate\n"
     "  - {kind: pin, ttl: 1s}\n"
     "  - {kind: route, via: blackhole, dev: eth0}\n"
     "  - {kind: drain}\n",
     {"t.yaml:5:19: 'mode' is for isolate actions, not steer",
      "t.yaml:7:5: pin action has no 'hostname' (the name to point at the backup)",
      "t.yaml:7:22: ttl: 1s is out of range (5s to 30d)",
      "t.yaml:8:5: route action has no 'prefix' (the destination to re-route, e.g. "
      "10.20.0.0/16)",
      "t.yaml:8:35: 'dev' goes with a gateway, not with via blackhole",
      "t.yaml:9:5: actions: at most 4 actions (one of each kind)", NULL}},
    {"name: t\n" OK_TARGETS OK_PROBE "actions: [steer, {kind: steer, ttl: 1h}]\n",
     {"t.yaml:4:19: a second steer action (one of each kind at most)", NULL}},
    /* action values */
    {"name: t\n" OK_TARGETS OK_PROBE "actions:\n"
     "  - {kind: isolate, direction: up, mode: slow}\n"
     "  - {kind: pin, hostname: 'bad host', check: 2}\n"
     "  - {kind: route, prefix: 10.0.0.0/8:80, via: 2001:db8::1, metric: -1}\n"
     "  - {kind: drain}\n",
     {"t.yaml:5:32: direction: 'up' is not out, in, fwd, all or a list like out,in",
      "t.yaml:5:42: mode: 'slow' is not reject or drop",
      "t.yaml:6:27: hostname: 'bad host' is not a hostname (letters, digits, '-', '_', "
      "dots)",
      "t.yaml:6:46: check: expected true or false, not '2'",
      "t.yaml:7:27: prefix: '10.0.0.0/8:80' must be a prefix, without a port or protocol",
      "t.yaml:7:68: metric: expected a whole number, not '-1'",
      "t.yaml:8:12: kind: unknown action 'drain' (isolate, steer, pin or route)", NULL}},
    /* a backup of the other family; primaries leaving no backup */
    {"- name: fam\n"
     "  targets: [10.0.0.5:80, '[2001:db8::1]:80']\n"
     "  probe: {type: tcp}\n"
     "  action: steer\n"
     "- name: prim\n"
     "  targets: [10.0.0.5:80, 10.0.0.6:80]\n"
     "  primaries: 2\n"
     "  probe: {type: tcp}\n"
     "  action: pin\n"
     "- name: route\n"
     "  targets: [10.0.0.1, 10.0.0.2]\n"
     "  probe: {type: icmp}\n"
     "  action: {kind: route, prefix: '2001:db8::/32'}\n",
     {"t.yaml:2:26: steer 10.0.0.5:80/tcp to backup [2001:db8::1]:80/tcp: steer: --to must "
      "be of the same family as the target (IPv4 or IPv6)",
      "t.yaml:9:11: pin action has no 'hostname' (the name to point at the backup)",
      "t.yaml:9:11: pin needs a backup: primaries is 2 of 2 targets, none is left as a "
      "backup",
      "t.yaml:11:23: route 10.0.0.1 to backup 10.0.0.2: route: the gateway must be of the "
      "prefix's family",
      NULL}},
    /* keys: unknown, misplaced, repeated, probe and probes */
    {"name: t\n" OK_TARGETS OK_PROBE OK_ACTION "fall: 3\n"
     "name: u\n"
     "probes: []\n"
     "colour: blue\n",
     {"t.yaml:5:1: unknown key 'fall' in policy (it belongs in a probe)",
      "t.yaml:6:1: duplicate key 'name' in policy (first at 1:1)",
      "t.yaml:7:1: both 'probe' and 'probes': use one",
      "t.yaml:8:1: unknown key 'colour' in policy", NULL}},
    /* names: bad, duplicate in one file (a list and documents) */
    {"- name: 'a b'\n  " OK_TARGETS "  " OK_PROBE "  " OK_ACTION "- name: x\n  " OK_TARGETS
     "  " OK_PROBE "  " OK_ACTION "---\n"
     "name: x\n" OK_TARGETS OK_PROBE OK_ACTION,
     {"t.yaml:1:9: name 'a b': use letters, digits, '-', '_' and '.', starting with a letter "
      "or digit",
      "t.yaml:10:1: policy name 'x' is already used (at t.yaml:5:3)", NULL}},
    /* the guard and hold */
    {"name: t\n" OK_TARGETS OK_PROBE OK_ACTION
     "guard: {min_available: 2, panic_pct: 101, max_isolated_pct: 0, spare: 1}\n"
     "hold: {base: 2d, decay: 0s}\n"
     "primaries: 3\n",
     {"t.yaml:5:9: min_available 2 leaves nothing to act on (2 targets)",
      "t.yaml:5:38: guard.panic_pct: 101 is out of range (0 to 100)",
      "t.yaml:5:61: guard.max_isolated_pct: 0 is out of range (1 to 100)",
      "t.yaml:5:64: unknown key 'spare' in guard",
      "t.yaml:6:14: hold.base: 2d is out of range (1s to 1d)",
      "t.yaml:6:25: hold.decay: duration '0s' is zero",
      "t.yaml:7:1: primaries is 3, but there are 2 targets", NULL}},
    /* YAML syntax: what came before is reported, then the syntax error */
    {"name: t\n" OK_TARGETS "probe: {type: tcp, fall: x}\n" OK_ACTION "---\n"
     "name: [\n",
     {"t.yaml:3:26: fall: expected a whole number, not 'x'",
      "t.yaml:7:1: YAML: did not find expected node content (while parsing a flow node at "
      "7:1)",
      NULL}},
    {"name: t\n\tfoo: 1\n",
     {"t.yaml:2:1: YAML: found a tab character that violates indentation (while scanning a "
      "plain scalar at 1:7)",
      NULL}},
    {"name: x\n\xff\n", {"t.yaml:2:1: YAML: invalid leading UTF-8 octet (byte 0xFF)", NULL}},
    {"- 1\n- [a]\n",
     {"t.yaml:1:3: expected a policy (a mapping with name:, targets:, ...), got a single "
      "value",
      "t.yaml:2:3: expected a policy (a mapping with name:, targets:, ...), got a list", NULL}},
    {"just words\n",
     {"t.yaml:1:1: expected a policy (a mapping) or a list of policies, got a single value", NULL}},
    /* an alias that refers to itself is a shape error, not a hang */
    {"name: t\ntargets: &x [*x]\n" OK_PROBE OK_ACTION,
     {"t.yaml:2:10: targets: expected a target like 10.0.0.5:5672, got a list", NULL}},
    /* a NUL byte in a quoted scalar */
    {"name: \"a\\0b\"\n" OK_TARGETS OK_PROBE OK_ACTION,
     {"t.yaml:1:7: name: contains a NUL byte", NULL}},
};

static void check_broken(const struct broken *b)
{
	struct policy_errors errs;
	struct policy_set *set = (struct policy_set *)1;
	size_t i, n = 0;
	int rc;

	while (n < sizeof(b->errors) / sizeof(b->errors[0]) && b->errors[n])
		n++;
	policy_errors_init(&errs);
	rc = policy_set_load_buf("t.yaml", b->yaml, strlen(b->yaml), &set, &errs);
	if (errs.n != n) {
		print_message("for:\n%s\ngot %zu errors, expected %zu:\n", b->yaml, errs.n, n);
		print_errors(&errs);
	}
	assert_int_equal(rc, -EINVAL);
	assert_null(set);
	assert_int_equal(errs.n, n);
	assert_int_equal(errs.total, n);
	for (i = 0; i < n; i++) {
		if (strcmp(errs.v[i].text, b->errors[i]) != 0)
			print_message("for:\n%s\n", b->yaml);
		assert_string_equal(errs.v[i].text, b->errors[i]);
	}
	policy_errors_fini(&errs);
}

static void test_broken(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++)
		check_broken(&broken[i]);
}

/* Errors stop being recorded at POLICY_ERRORS_MAX, and the last line says so. */
static void test_error_cap(void **state)
{
	struct policy_errors errs;
	struct policy_set *set;
	size_t i, len = 0;
	char *yaml = malloc(2000 * 16);

	assert_non_null(yaml);
	for (i = 0; i < 1500; i++)
		len += (size_t)sprintf(yaml + len, "k%zu: 1\n", i);
	policy_errors_init(&errs);
	assert_int_equal(policy_set_load_buf("cap.yaml", yaml, len, &set, &errs), -EINVAL);
	assert_int_equal(errs.n, POLICY_ERRORS_MAX + 1);
	assert_int_equal(errs.total, 1500 + 4); /* + no name, targets, probe, action */
	assert_string_equal(errs.v[errs.n - 1].text,
			    "cap.yaml: too many errors, stopped reporting after 1000");
	assert_string_equal(errs.v[0].text, "cap.yaml:1:1: unknown key 'k0' in policy");
	policy_errors_fini(&errs);
	free(yaml);
}

/* ---- defaults ---- */

static struct policy_set *load_ok(const char *yaml)
{
	struct policy_errors errs;
	struct policy_set *set;
	int rc;

	policy_errors_init(&errs);
	rc = policy_set_load_buf("ok.yaml", yaml, strlen(yaml), &set, &errs);
	print_errors(&errs);
	assert_int_equal(rc, 0);
	assert_int_equal(errs.total, 0);
	policy_errors_fini(&errs);
	return set;
}

static void test_defaults(void **state)
{
	struct policy_set *set = load_ok("- name: min\n"
					 "  targets: [10.0.0.5:5672, 10.0.0.6:5672]\n"
					 "  probe: {type: http}\n"
					 "  action: steer\n"
					 "- name: fast\n"
					 "  targets: [10.0.0.5:80]\n"
					 "  probe: {type: tcp, interval: 500ms}\n"
					 "  action: isolate\n"
					 "- name: slow\n"
					 "  targets: [10.0.0.5, 10.0.0.6, 10.0.0.7]\n"
					 "  probe: {type: icmp, interval: 30s}\n"
					 "  actions: [isolate, {kind: route, prefix: 10.9.0.0/16, "
					 "via: 10.0.0.254}]\n"
					 "  hold: {base: 10m}\n"
					 "  enabled: no\n");
	const struct policy *p = policy_set_find(set, "min");
	const struct policy_probe *pr;
	const struct policy_action *a;

	assert_int_equal(policy_set_count(set), 3);
	assert_ptr_equal(policy_set_at(set, 0), p);
	assert_null(policy_set_at(set, 3));
	assert_null(policy_set_find(set, "nope"));
	assert_true(p->enabled);
	assert_int_equal(p->primaries, 1);
	assert_int_equal(p->restore, POLICY_RESTORE_AUTO);
	assert_int_equal(p->hold_base_ms, POLICY_DEF_HOLD_BASE_MS);
	assert_int_equal(p->hold_max_ms, POLICY_DEF_HOLD_MAX_MS);
	assert_int_equal(p->hold_decay_ms, POLICY_DEF_HOLD_DECAY_MS);
	assert_int_equal(p->hold_observe_ms, POLICY_DEF_HOLD_OBSERVE_MS);
	assert_int_equal(p->max_isolated_pct, 50);
	assert_int_equal(p->min_available, 1);
	assert_int_equal(p->panic_pct, 50);
	pr = &p->probes[0];
	assert_int_equal(pr->interval_ms, 5000);
	assert_int_equal(pr->fast_interval_ms, 1000);
	assert_int_equal(pr->down_interval_ms, 10000);
	assert_int_equal(pr->timeout_ms, 2000);
	assert_int_equal(pr->fall, 3);
	assert_int_equal(pr->rise, 2);
	assert_string_equal(pr->path, "/");
	assert_int_equal(pr->nexpect, 1);
	assert_int_equal(pr->expect[0].lo, 200);
	assert_int_equal(pr->expect[0].hi, 399);
	assert_string_equal(pr->host, "");
	assert_true(pr->tls_verify);
	assert_int_equal(policy_probe_port(pr, &p->targets[0].target), 5672);
	a = &p->actions[0];
	assert_int_equal(a->kind, ISOL_KIND_STEER);
	assert_int_equal(a->ttl_ms, POLICY_DEF_TTL_MS);
	assert_true(a->check);
	assert_false(a->kill_flows);

	/* short interval: fast and timeout shrink to it, down stays 10s */
	p = policy_set_find(set, "fast");
	pr = &p->probes[0];
	assert_int_equal(pr->interval_ms, 500);
	assert_int_equal(pr->fast_interval_ms, 500);
	assert_int_equal(pr->timeout_ms, 500);
	assert_int_equal(pr->down_interval_ms, 10000);
	assert_int_equal(p->primaries, 1);
	assert_int_equal(p->min_available, 0); /* one target */
	assert_int_equal(p->actions[0].dirs, ISOL_DIR_OUT);
	assert_int_equal(p->actions[0].mode, ISOL_MODE_REJECT);

	/* long interval: down grows to it; isolate + fixed via: all primaries */
	p = policy_set_find(set, "slow");
	pr = &p->probes[0];
	assert_false(p->enabled);
	assert_int_equal(pr->down_interval_ms, 30000);
	assert_int_equal(pr->fast_interval_ms, 1000);
	assert_int_equal(pr->timeout_ms, 2000);
	assert_int_equal(policy_probe_port(pr, &p->targets[0].target), 0);
	assert_int_equal(p->primaries, 3);
	assert_int_equal(p->hold_base_ms, 600000);
	assert_int_equal(p->hold_max_ms, 600000); /* never below base */
	assert_int_equal(p->min_available, 1);
	policy_set_free(set);
}

/* ---- the spec of each action ---- */

static void spec_line(const struct policy *p, size_t ai, const char *t, const char *b,
		      const char *why, const char *want)
{
	struct isol_target tt, bt;
	struct isol_err err = {0, ""};
	struct isol_spec spec;
	char line[1024];

	assert_int_equal(isol_target_parse(t, &tt, NULL), 0);
	if (b)
		assert_int_equal(isol_target_parse(b, &bt, NULL), 0);
	assert_int_equal(
	    policy_action_spec(p, &p->actions[ai], &tt, b ? &bt : NULL, why, &spec, &err), 0);
	assert_false(spec.force);
	isol_spec_format(&spec, line, sizeof(line));
	assert_string_equal(line, want);
}

static void test_action_spec(void **state)
{
	struct policy_set *set =
	    load_ok("- name: iso\n"
		    "  targets: [10.0.0.5:80, 10.0.0.6:80]\n"
		    "  probe: {type: tcp}\n"
		    "  action: {kind: isolate, direction: 'in,fwd', mode: drop, ttl: 1h}\n"
		    "- name: st\n"
		    "  targets: [10.0.0.5:5672, 10.0.0.6:5673, 10.0.0.7]\n"
		    "  probe: {type: icmp}\n"
		    "  actions: [{kind: steer, kill_flows: true, check: false}, isolate]\n"
		    "- name: pin\n"
		    "  targets: [10.0.0.5:5432, 10.0.0.6:5432]\n"
		    "  probe: {type: tcp}\n"
		    "  action: {kind: pin, hostname: db.internal}\n"
		    "- name: rt\n"
		    "  targets: [192.0.2.1, 192.0.2.2]\n"
		    "  probe: {type: icmp}\n"
		    "  action: {kind: route, prefix: 198.51.100.0/24, dev: eth1, metric: 7}\n"
		    "- name: bh\n"
		    "  targets: [192.0.2.1:53/udp]\n"
		    "  probe: {type: icmp}\n"
		    "  action: {kind: route, prefix: 198.51.100.0/24, via: unreachable}\n");
	const struct policy *p;
	struct isol_err err = {0, ""};
	struct isol_spec spec;
	struct isol_target t6, t4;
	char why[400];

	p = policy_set_find(set, "iso");
	spec_line(p, 0, "10.0.0.5:80", NULL, "connect: connection refused",
		  "isolate 10.0.0.5:80/tcp --direction in,fwd --mode drop --ttl 1h --reason "
		  "'policy iso: connect: connection refused'");
	spec_line(p, 0, "10.0.0.5:80", NULL, NULL,
		  "isolate 10.0.0.5:80/tcp --direction in,fwd --mode drop --ttl 1h --reason "
		  "'policy iso: 10.0.0.5:80/tcp failed its probes'");

	p = policy_set_find(set, "st");
	assert_int_equal(p->primaries, 1);
	spec_line(p, 0, "10.0.0.5:5672", "10.0.0.6:5673", "down",
		  "steer 10.0.0.5:5672/tcp --to 10.0.0.6:5673 --kill-flows --no-check --ttl 10m "
		  "--reason 'policy st: down'");
	/* a backup without a port keeps the target's port */
	spec_line(p, 0, "10.0.0.5:5672", "10.0.0.7", "down",
		  "steer 10.0.0.5:5672/tcp --to 10.0.0.7 --kill-flows --no-check --ttl 10m "
		  "--reason 'policy st: down'");
	spec_line(p, 1, "10.0.0.5:5672", NULL, "down",
		  "isolate 10.0.0.5:5672/tcp --direction out --mode reject --ttl 10m --reason "
		  "'policy st: down'");
	/* no backup, or one of the other family: refused with the CLI's words */
	assert_int_equal(isol_target_parse("10.0.0.5:5672", &t4, NULL), 0);
	assert_int_equal(isol_target_parse("[2001:db8::6]:5672", &t6, NULL), 0);
	assert_int_equal(policy_action_spec(p, &p->actions[0], &t4, NULL, NULL, &spec, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "steer needs a backup");
	isol_err_clear(&err);
	assert_int_equal(policy_action_spec(p, &p->actions[0], &t4, &t6, NULL, &spec, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "steer: --to must be of the same family as the target (IPv4 "
				     "or IPv6)");

	p = policy_set_find(set, "pin");
	spec_line(p, 0, "10.0.0.5:5432", "10.0.0.6:5432", "x",
		  "pin db.internal 10.0.0.6 --check-port 5432 --ttl 10m --reason 'policy pin: x'");

	p = policy_set_find(set, "rt");
	spec_line(p, 0, "192.0.2.1", "192.0.2.2", "x",
		  "route 198.51.100.0/24 via 192.0.2.2 dev eth1 --metric 7 --ttl 10m --reason "
		  "'policy rt: x'");
	p = policy_set_find(set, "bh");
	spec_line(p, 0, "192.0.2.1:53/udp", NULL, "x",
		  "route 198.51.100.0/24 unreachable --ttl 10m --reason 'policy bh: x'");

	/* the reason is one plain line, cut to fit */
	memset(why, 'w', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	why[3] = '\n';
	why[4] = '\xc3';
	assert_int_equal(policy_action_spec(p, &p->actions[0], NULL, NULL, why, &spec, &err), 0);
	assert_int_equal(strlen(spec.reason), ISOL_REASON_MAX);
	assert_int_equal(strncmp(spec.reason, "policy bh: www ?w", 17), 0);
	policy_set_free(set);
}

/* ---- directories ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(unlink(path), 0);
}

#define POLICY(name, target)                                                                       \
	"name: " name "\ntargets: [" target "]\nprobe: {type: tcp}\naction: isolate\n"

static void test_dir_all_or_nothing(void **state)
{
	char dir[] = "/tmp/test_policy.XXXXXX", line[4200], path[4096];
	struct policy_errors errs;
	struct policy_set *set;

	assert_non_null(mkdtemp(dir));
	/* empty: a valid, empty set */
	policy_errors_init(&errs);
	assert_int_equal(policy_set_load_dir(dir, &set, &errs), 0);
	assert_non_null(set);
	assert_int_equal(policy_set_count(set), 0);
	policy_set_free(set);

	/* files that are not policies are left alone */
	write_file(dir, "b.yml", POLICY("bee", "10.0.0.2:80"));
	write_file(dir, "a.yaml", POLICY("ay", "10.0.0.1:80"));
	write_file(dir, "README", "not yaml: [");
	write_file(dir, ".#a.yaml", "not yaml: [");
	write_file(dir, "c.yaml.bak", "not yaml: [");
	assert_int_equal(policy_set_load_dir(dir, &set, &errs), 0);
	assert_int_equal(errs.total, 0);
	assert_int_equal(policy_set_count(set), 2);
	assert_string_equal(policy_set_at(set, 0)->name, "ay"); /* in name order */
	assert_string_equal(policy_set_at(set, 1)->name, "bee");
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	assert_string_equal(policy_set_at(set, 0)->file, path);
	policy_set_free(set);

	/* one bad file: no policies at all, every error of every file */
	write_file(dir, "c.yaml", "name: c\ntargets: [10.0.0.3:80]\nprobe: {type: tcp}\n");
	write_file(dir, "d.yaml", POLICY("dee", "10.0.0.4:80") "ttl: 5m\n");
	set = (struct policy_set *)1;
	assert_int_equal(policy_set_load_dir(dir, &set, &errs), -EINVAL);
	assert_null(set);
	assert_int_equal(errs.n, 2);
	snprintf(line, sizeof(line), "%s/c.yaml:1:1: policy has no 'action' (or 'actions', a list)",
		 dir);
	assert_string_equal(errs.v[0].text, line);
	snprintf(line, sizeof(line),
		 "%s/d.yaml:5:1: unknown key 'ttl' in policy (it belongs in an action)", dir);
	assert_string_equal(errs.v[1].text, line);
	policy_errors_fini(&errs);

	/* names are unique across files */
	remove_file(dir, "c.yaml");
	remove_file(dir, "d.yaml");
	write_file(dir, "z.yaml", "# a comment first\n" POLICY("ay", "10.0.0.9:80"));
	policy_errors_init(&errs);
	assert_int_equal(policy_set_load_dir(dir, &set, &errs), -EINVAL);
	assert_null(set);
	assert_int_equal(errs.n, 1);
	snprintf(line, sizeof(line),
		 "%s/z.yaml:2:1: policy name 'ay' is already used (at %s/a.yaml:1:1)", dir, dir);
	assert_string_equal(errs.v[0].text, line);
	policy_errors_fini(&errs);

	/* a FIFO named like a policy does not hang the load */
	remove_file(dir, "z.yaml");
	snprintf(path, sizeof(path), "%s/f.yaml", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	policy_errors_init(&errs);
	assert_int_equal(policy_set_load_dir(dir, &set, &errs), -EINVAL);
	snprintf(line, sizeof(line), "%s/f.yaml: not a regular file", dir);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0].text, line);
	policy_errors_fini(&errs);
	remove_file(dir, "f.yaml");

	/* trailing slash on the directory: the same paths */
	snprintf(path, sizeof(path), "%s/", dir);
	policy_errors_init(&errs);
	assert_int_equal(policy_set_load_dir(path, &set, &errs), 0);
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	assert_string_equal(policy_set_at(set, 0)->file, path);
	policy_set_free(set);
	policy_errors_fini(&errs);

	remove_file(dir, "a.yaml");
	remove_file(dir, "b.yml");
	remove_file(dir, "README");
	remove_file(dir, ".#a.yaml");
	remove_file(dir, "c.yaml.bak");
	assert_int_equal(rmdir(dir), 0);

	/* gone: -ENOENT, said once */
	policy_errors_init(&errs);
	assert_int_equal(policy_set_load_dir(dir, &set, &errs), -ENOENT);
	assert_null(set);
	snprintf(line, sizeof(line), "%s: cannot open directory: No such file or directory", dir);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0].text, line);
	policy_errors_fini(&errs);
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	policy_errors_init(&errs);
	assert_int_equal(policy_set_load_file(path, &set, &errs), -ENOENT);
	assert_null(set);
	policy_errors_fini(&errs);
}

/* Lists, documents and empty documents all count; the set keeps file order. */
static void test_file_shapes(void **state)
{
	struct policy_set *set = load_ok("# nothing in the first document\n"
					 "---\n"
					 "---\n"
					 "- name: one\n"
					 "  targets: [10.0.0.1:80]\n"
					 "  probe: {type: tcp}\n"
					 "  action: isolate\n"
					 "---\n" POLICY("two", "10.0.0.2:80") "...\n"
									      "---\n"
									      "[]\n");

	assert_int_equal(policy_set_count(set), 2);
	assert_string_equal(policy_set_at(set, 0)->name, "one");
	assert_string_equal(policy_set_at(set, 1)->name, "two");
	policy_set_free(set);
	set = load_ok("");
	assert_int_equal(policy_set_count(set), 0);
	policy_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_examples_load),
	    cmocka_unit_test(test_examples_each_file),
	    cmocka_unit_test(test_broken),
	    cmocka_unit_test(test_error_cap),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_action_spec),
	    cmocka_unit_test(test_dir_all_or_nothing),
	    cmocka_unit_test(test_file_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
