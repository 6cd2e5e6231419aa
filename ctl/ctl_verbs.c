/* ctl_verbs.c - one function per isolctl verb: check the words locally (so a
 * typo never reaches the agent), write the request, call, print. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "isol/duration.h"
#include "isol/spec.h"
#include "isol/target.h"
#include "isol/wire.h"

/* ---- reporting */

static int vfail(struct ctl *ctl, int exit_code, const char *code, json_t *details, const char *fmt,
		 va_list ap) __attribute__((format(printf, 5, 0)));

static int vfail(struct ctl *ctl, int exit_code, const char *code, json_t *details, const char *fmt,
		 va_list ap)
{
	char msg[1024];
	json_t *doc;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fputs("isolctl: ", ctl->err);
	ctl_put_safe(ctl->err, msg);
	fputc('\n', ctl->err);
	if (!ctl->json) {
		json_decref(details);
		return exit_code;
	}
	ctl_utf8_force(msg); /* it may quote the user's bytes */
	doc = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", msg);
	if (doc && details)
		json_object_set(json_object_get(doc, "error"), "details", details);
	json_decref(details);
	if (doc)
		ctl_render_json(ctl->out, doc, ctl->pretty);
	json_decref(doc);
	return exit_code;
}

int ctl_fail(struct ctl *ctl, int exit_code, const char *code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(ctl, exit_code, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int ctl_fail_details(struct ctl *ctl, int exit_code, const char *code, json_t *details,
		     const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(ctl, exit_code, code, details, fmt, ap);
	va_end(ap);
	return rc;
}

int ctl_usage(struct ctl *ctl, const char *verb, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ctl_fail(ctl, CTL_EXIT_USAGE, ISOL_E_INVALID, "%s: %s; see isolctl %s --help", verb,
			msg, verb);
}

int ctl_unreachable(struct ctl *ctl, const struct isol_err *err)
{
	return ctl_fail(ctl, CTL_EXIT_UNREACHABLE, "unreachable", "%s", err->msg);
}

int ctl_answered(struct ctl *ctl, const char *verb, const struct ctl_resp *r)
{
	bool ok = json_is_true(json_object_get(r->obj, "ok"));

	if (ctl->json) {
		/* the agent's own text: exact, and no tree to build */
		if (ctl->pretty) {
			ctl_json_pretty(ctl->out, r->raw, r->raw_len);
		} else {
			fwrite(r->raw, 1, r->raw_len, ctl->out);
			fputc('\n', ctl->out);
		}
	}
	if (!ok)
		return ctl_render_error(ctl->err, r->obj, verb);
	return ctl->json ? CTL_EXIT_OK : -1;
}

/* ---- requests */

void ctl_req_begin(struct ctl_jw *w, const char *op)
{
	ctl_jw_lit(w, "{\"v\":");
	ctl_jw_int(w, ISOL_WIRE_VERSION);
	ctl_jw_key(w, "op", false);
	ctl_jw_str(w, op, strlen(op));
}

void ctl_req_mutating(struct ctl_jw *w, const struct ctl *ctl, bool dry_run)
{
	ctl_jw_key(w, "dry_run", false);
	ctl_jw_lit(w, dry_run ? "true" : "false");
	if (ctl->ssh_peer) {
		ctl_jw_key(w, "ssh_peer", false);
		ctl_jw_str(w, ctl->ssh_peer, strlen(ctl->ssh_peer));
	}
}

/* Send the request in @w (finished with "}\n" here) and take the answer.
 * Returns -1 with @r filled when the caller should print the success as
 * text (and then ctl_resp_fini it); otherwise everything is printed and the
 * exit code is returned. */
static int call(struct ctl *ctl, const char *verb, struct ctl_jw *w, unsigned timeout_ms,
		struct ctl_resp *r)
{
	struct isol_err err = {0};
	int rc;

	memset(r, 0, sizeof(*r));
	ctl_jw_lit(w, "}\n");
	if (w->error) {
		ctl_jw_fini(w);
		return ctl_fail(ctl, CTL_EXIT_FAILED, ISOL_E_INTERNAL,
				"cannot build the request: out of memory");
	}
	rc = ctl_call(ctl->socket, w->buf, w->len, timeout_ms, r, &err);
	ctl_jw_fini(w);
	if (rc < 0)
		return ctl_unreachable(ctl, &err);
	rc = ctl_answered(ctl, verb, r);
	if (rc != -1)
		ctl_resp_fini(r);
	return rc;
}

static int start(struct ctl *ctl, struct ctl_jw *w, const char *op)
{
	if (ctl_jw_init(w, 512, NULL, NULL) < 0)
		return ctl_fail(ctl, CTL_EXIT_FAILED, ISOL_E_INTERNAL, "out of memory");
	ctl_req_begin(w, op);
	return 0;
}

/* "7" -> 7. Ids are positive and fit a JSON integer. */
static int parse_id(const char *s, long long *id)
{
	unsigned long long v = 0;
	const char *p;

	if (*s == '\0' || strlen(s) > 18)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v == 0)
		return -EINVAL;
	*id = (long long)v;
	return 0;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int no_arguments(struct ctl *ctl, int argc, char **argv)
{
	if (argc > 1)
		return ctl_usage(ctl, argv[0], "unexpected argument '%s' (%s takes none)", argv[1],
				 argv[0]);
	return 0;
}

/* ---- verbs */

int ctl_verb_isolate(struct ctl *ctl, int argc, char **argv)
{
	struct isol_err err = {0};
	struct isol_spec spec;
	struct ctl_jw w;
	const char *key;
	json_t *fields, *v;
	struct ctl_resp resp;
	bool dry_run;
	int rc;

	/* the library's messages already name the verb */
	if (isol_spec_parse_argv(argc, argv, &spec, &dry_run, &err) < 0)
		return ctl_fail(ctl, CTL_EXIT_USAGE, ISOL_E_INVALID, "%s; see isolctl %s --help",
				err.msg, argv[0]);
	if (!ctl_utf8_valid(spec.reason, strlen(spec.reason)))
		return ctl_usage(ctl, argv[0], "--reason is not valid UTF-8 text");
	fields = isol_spec_to_json(&spec);
	if (fields == NULL || (spec.reason[0] && !json_object_get(fields, "reason"))) {
		json_decref(fields);
		return ctl_fail(ctl, CTL_EXIT_FAILED, ISOL_E_INTERNAL,
				"cannot build the request: out of memory");
	}
	if ((rc = start(ctl, &w, isol_kind_name(spec.kind))) != 0) {
		json_decref(fields);
		return rc;
	}
	json_object_foreach(fields, key, v)
	{
		ctl_jw_key(&w, key, false);
		ctl_jw_value(&w, v);
	}
	json_decref(fields);
	ctl_req_mutating(&w, ctl, dry_run);
	rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
	if (rc != -1)
		return rc;
	ctl_render_isolate(ctl->out, resp.obj, dry_run);
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}

int ctl_verb_list(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_jw w;
	struct ctl_resp resp;
	int rc;

	if ((rc = no_arguments(ctl, argc, argv)) != 0 || (rc = start(ctl, &w, "list")) != 0)
		return rc;
	rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
	if (rc != -1)
		return rc;
	ctl_render_list(ctl->out, &resp, isol_now_ms());
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}

int ctl_verb_show(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_jw w;
	struct ctl_resp resp;
	long long id;
	int rc;

	if (argc < 2)
		return ctl_usage(ctl, argv[0], "missing ID (the first column of isolctl list)");
	if (argc > 2)
		return ctl_usage(ctl, argv[0], "unexpected argument '%s' (one ID)", argv[2]);
	if (parse_id(argv[1], &id) < 0)
		return ctl_usage(ctl, argv[0],
				 "bad ID '%s' (ids are positive integers, see isolctl list)",
				 argv[1]);
	if ((rc = start(ctl, &w, "show")) != 0)
		return rc;
	ctl_jw_key(&w, "id", false);
	ctl_jw_int(&w, id);
	rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
	if (rc != -1)
		return rc;
	ctl_render_show(ctl->out, resp.obj, isol_now_ms());
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}

int ctl_verb_restore(struct ctl *ctl, int argc, char **argv)
{
	struct isol_err err = {0};
	struct isol_target t;
	char target[ISOL_TARGET_STRLEN];
	struct ctl_jw w;
	struct ctl_resp resp;
	long long id = 0;
	int rc;

	if (argc < 2)
		return ctl_usage(ctl, argv[0], "missing ID or TARGET (e.g. 7, or 10.0.0.5:5672)");
	if (argc > 2)
		return ctl_usage(ctl, argv[0], "unexpected argument '%s' (one ID or TARGET)",
				 argv[2]);
	if (all_digits(argv[1])) {
		if (parse_id(argv[1], &id) < 0)
			return ctl_usage(ctl, argv[0], "bad ID '%s' (ids are positive integers)",
					 argv[1]);
	} else if (isol_target_parse(argv[1], &t, &err) == 0) {
		isol_target_format(&t, target, sizeof(target));
	} else if (strchr(argv[1], ':') == NULL && strchr(argv[1], '/') == NULL &&
		   strchr(argv[1], '.') != NULL && strlen(argv[1]) < sizeof(target)) {
		/* not an address: a pinned hostname */
		snprintf(target, sizeof(target), "%s", argv[1]);
	} else {
		return ctl_usage(ctl, argv[0], "%s", err.msg);
	}
	if ((rc = start(ctl, &w, "restore")) != 0)
		return rc;
	if (id) {
		ctl_jw_key(&w, "id", false);
		ctl_jw_int(&w, id);
	} else {
		ctl_jw_key(&w, "target", false);
		ctl_jw_str(&w, target, strlen(target));
	}
	if (ctl->ssh_peer) {
		ctl_jw_key(&w, "ssh_peer", false);
		ctl_jw_str(&w, ctl->ssh_peer, strlen(ctl->ssh_peer));
	}
	if (!ctl->json) /* a terminal: the first few and a count (--json: all) */
		ctl_jw_lit(&w, ",\"brief\":true");
	rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
	if (rc != -1)
		return rc;
	ctl_render_removed(ctl->out, &resp, false);
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}

int ctl_verb_rollback(struct ctl *ctl, int argc, char **argv)
{
	bool last = false, all = false, dry_run = false;
	const char *sel = NULL;
	struct ctl_jw w;
	struct ctl_resp resp;
	long long id = 0;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--dry-run") == 0) {
			dry_run = true;
			continue;
		}
		if (strcmp(a, "--last") == 0)
			last = true;
		else if (strcmp(a, "--all") == 0)
			all = true;
		else if (a[0] == '-' && a[1] != '\0')
			return ctl_usage(ctl, argv[0],
					 "unknown option '%s' (ID, --last, --all, --dry-run)", a);
		else if (parse_id(a, &id) < 0)
			return ctl_usage(ctl, argv[0],
					 "bad ID '%s' (ids are positive integers; to undo by "
					 "target use isolctl restore TARGET)",
					 a);
		if (sel)
			return ctl_usage(ctl, argv[0],
					 "'%s' and '%s' together: give one of ID, "
					 "--last, --all",
					 sel, a);
		sel = a;
	}
	if (sel == NULL)
		return ctl_usage(ctl, argv[0], "say what to roll back: ID, --last or --all");
	if ((rc = start(ctl, &w, "rollback")) != 0)
		return rc;
	if (id) {
		ctl_jw_key(&w, "id", false);
		ctl_jw_int(&w, id);
	} else {
		ctl_jw_key(&w, last ? "last" : "all", false);
		ctl_jw_lit(&w, "true");
	}
	ctl_req_mutating(&w, ctl, dry_run);
	if (!ctl->json) /* a terminal: the first few and a count (--json: all) */
		ctl_jw_lit(&w, ",\"brief\":true");
	rc = call(ctl, argv[0], &w, all ? CTL_TIMEOUT_LONG_MS : CTL_TIMEOUT_MS, &resp);
	if (rc != -1)
		return rc;
	ctl_render_removed(ctl->out, &resp, dry_run);
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}

int ctl_verb_apply(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_apply_opts opts = {0};
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *file = NULL;

		if (strcmp(a, "--dry-run") == 0) {
			opts.dry_run = true;
		} else if (strcmp(a, "--force") == 0) {
			opts.force = true;
		} else if (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0) {
			if (i + 1 >= argc)
				return ctl_usage(ctl, argv[0],
						 "option '%s' needs a value (a file, or - for "
						 "standard input)",
						 a);
			file = argv[++i];
		} else if (strncmp(a, "--file=", 7) == 0) {
			file = a + 7;
		} else if (strncmp(a, "-f", 2) == 0) {
			file = a + 2;
		} else if (a[0] == '-' && a[1] != '\0') {
			return ctl_usage(ctl, argv[0],
					 "unknown option '%s' (-f FILE, --dry-run, --force)", a);
		} else {
			return ctl_usage(ctl, argv[0],
					 "unexpected argument '%s' (the file goes after -f: "
					 "isolctl apply -f %s)",
					 a, a);
		}
		if (file) {
			if (*file == '\0')
				return ctl_usage(ctl, argv[0], "empty file name after -f");
			if (opts.file)
				return ctl_usage(ctl, argv[0], "one -f FILE per apply");
			opts.file = file;
		}
	}
	if (opts.file == NULL)
		return ctl_usage(ctl, argv[0], "missing -f FILE (or -f - for standard input)");
	return ctl_apply_run(ctl, &opts);
}

int ctl_verb_status(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_jw w;
	struct ctl_resp resp;
	int rc;

	if ((rc = no_arguments(ctl, argc, argv)) != 0 || (rc = start(ctl, &w, "status")) != 0)
		return rc;
	rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
	if (rc != -1)
		return rc;
	ctl_render_status(ctl->out, resp.obj);
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}

/* Both versions; the agent's only when it answers. Always exit 0: this is
 * what people run to find out whether the agent is there at all. */
int ctl_verb_version(struct ctl *ctl, int argc, char **argv)
{
	static const char req[] = "{\"v\":1,\"op\":\"version\"}\n";
	struct isol_err err = {0};
	struct ctl_resp r;
	json_t *resp, *proto;
	const char *version, *msg;
	int rc;

	if ((rc = no_arguments(ctl, argc, argv)) != 0)
		return rc;
	rc = ctl_call(ctl->socket, req, sizeof(req) - 1, CTL_TIMEOUT_MS, &r, &err);
	resp = rc < 0 ? json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", "unreachable",
				  "message", err.msg)
		      : json_incref(r.obj);
	ctl_resp_fini(&r);
	if (ctl->json) {
		if (resp) {
			json_object_set_new(resp, "isolctl", json_string(ISOL_VERSION));
			ctl_render_json(ctl->out, resp, ctl->pretty);
		}
		json_decref(resp);
		return CTL_EXIT_OK;
	}
	fprintf(ctl->out, "isolctl %s\n", ISOL_VERSION);
	version = json_string_value(json_object_get(resp, "version"));
	proto = json_object_get(resp, "protocol");
	msg = json_string_value(json_object_get(json_object_get(resp, "error"), "message"));
	if (rc < 0) {
		fputs("isolagent: not reachable: ", ctl->out);
		ctl_put_safe(ctl->out, err.msg);
		fputc('\n', ctl->out);
	} else if (!json_is_true(json_object_get(resp, "ok"))) {
		fputs("isolagent: ", ctl->out);
		ctl_put_safe(ctl->out, msg ? msg : "refused the version request");
		fputc('\n', ctl->out);
	} else {
		fputs("isolagent ", ctl->out);
		ctl_put_safe(ctl->out, version ? version : "-");
		if (json_is_integer(proto))
			fprintf(ctl->out, " (protocol %lld)", (long long)json_integer_value(proto));
		fputc('\n', ctl->out);
		if (json_is_integer(proto) && json_integer_value(proto) != ISOL_WIRE_VERSION)
			fprintf(ctl->out, "warning: isolctl speaks protocol %d\n",
				ISOL_WIRE_VERSION);
	}
	json_decref(resp);
	return CTL_EXIT_OK;
}

/* ---- automatic actions */

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

int ctl_verb_health(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_jw w;
	struct ctl_resp resp;
	json_t *targets, *t;
	size_t i;
	int rc;

	if ((rc = no_arguments(ctl, argc, argv)) != 0 || (rc = start(ctl, &w, "health")) != 0)
		return rc;
	rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
	if (rc != -1)
		return rc;
	targets = json_object_get(resp.obj, "targets");
	if (json_is_true(json_object_get(resp.obj, "paused")))
		fprintf(ctl->out, "automatic actions are PAUSED (isolctl resume); probing goes on\n");
	if (json_array_size(targets) == 0)
		fprintf(ctl->out, "no targets watched (no policies)\n");
	else
		fprintf(ctl->out, "%-14s %-24s %-10s %-5s %-5s %-5s %-6s %-7s %s\n", "POLICY",
			"TARGET", "STATE", "LAST", "FAILS", "OKS", "LEVEL", "HOLD", "WHY");
	json_array_foreach(targets, i, t) {
		char hold[32] = "-", why[400];
		json_int_t left = json_integer_value(json_object_get(t, "hold_left_ms"));
		const char *refused = jstr(t, "refused"), *reason = jstr(t, "reason");

		if (left > 0)
			isol_duration_format((uint64_t)(left + 999) / 1000 * 1000, hold, sizeof(hold));
		if (strcmp(refused, "none") != 0)
			snprintf(why, sizeof(why), "refused (%s): %s", refused,
				 jstr(t, "refused_reason"));
		else
			snprintf(why, sizeof(why), "%s", strcmp(reason, "") ? reason : "-");
		fprintf(ctl->out, "%-14s %-24s %-10s %-5s %-5lld %-5lld %-6lld %-7s ",
			jstr(t, "policy"), jstr(t, "target"), jstr(t, "state"), jstr(t, "last"),
			(long long)json_integer_value(json_object_get(t, "fails")),
			(long long)json_integer_value(json_object_get(t, "passes")),
			(long long)json_integer_value(json_object_get(t, "level")), hold);
		ctl_put_safe(ctl->out, why);
		fputc('\n', ctl->out);
	}
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}

int ctl_verb_pause(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_jw w;
	struct ctl_resp resp;
	int rc;

	if ((rc = no_arguments(ctl, argc, argv)) != 0 || (rc = start(ctl, &w, argv[0])) != 0)
		return rc;
	rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
	if (rc != -1)
		return rc;
	fprintf(ctl->out, "%s\n",
		strcmp(argv[0], "pause") == 0
			? "automatic actions paused (probing goes on; isolctl resume to end)"
			: "automatic actions resumed");
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}

/* policy list | reload | check FILE|- */
int ctl_verb_policy(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_jw w;
	struct ctl_resp resp;
	const char *sub = argc > 1 ? argv[1] : "";
	int rc;

	if (strcmp(sub, "list") == 0 || strcmp(sub, "reload") == 0) {
		if (argc > 2)
			return ctl_usage(ctl, argv[0], "unexpected argument '%s'", argv[2]);
		if ((rc = start(ctl, &w, strcmp(sub, "list") == 0 ? "policy_list"
								     : "policy_reload")) != 0)
			return rc;
		rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
		if (rc != -1)
			return rc;
		if (strcmp(sub, "reload") == 0) {
			fprintf(ctl->out, "policies reloaded: %lld\n",
				(long long)json_integer_value(json_object_get(resp.obj, "policies")));
		} else {
			json_t *pols = json_object_get(resp.obj, "policies"), *p;
			size_t i;

			if (json_array_size(pols) == 0)
				fprintf(ctl->out, "no policies\n");
			json_array_foreach(pols, i, p) {
				char *t = json_dumps(json_object_get(p, "targets"), JSON_COMPACT);
				char *a = json_dumps(json_object_get(p, "actions"), JSON_COMPACT);
				char *pr = json_dumps(json_object_get(p, "probes"), JSON_COMPACT);

				fprintf(ctl->out, "%s%s  targets %s  probes %s  actions %s  restore %s  (%s)\n",
					jstr(p, "name"),
					json_is_false(json_object_get(p, "enabled")) ? " [disabled]" : "",
					t ? t : "-", pr ? pr : "-", a ? a : "-", jstr(p, "restore"),
					jstr(p, "file"));
				free(t);
				free(a);
				free(pr);
			}
		}
		ctl_resp_fini(&resp);
		return CTL_EXIT_OK;
	}
	if (strcmp(sub, "check") == 0) {
		const char *path = argc > 2 ? argv[2] : NULL;
		char *content = NULL;
		size_t len = 0;
		FILE *f;

		if (path == NULL || argc > 3)
			return ctl_usage(ctl, argv[0], "policy check needs one FILE (or - for stdin)");
		f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
		if (f == NULL)
			return ctl_fail(ctl, CTL_EXIT_USAGE, ISOL_E_INVALID, "cannot read %s: %s", path,
					strerror(errno));
		{
			char buf[65536];
			size_t n;

			while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
				char *c = realloc(content, len + n + 1);

				if (c == NULL || len + n > (4u << 20)) {
					free(c ? c : content);
					if (f != stdin)
						fclose(f);
					return ctl_fail(ctl, CTL_EXIT_USAGE, ISOL_E_INVALID,
							"%s is too large for a policy file", path);
				}
				content = c;
				memcpy(content + len, buf, n);
				len += n;
			}
		}
		if (f != stdin)
			fclose(f);
		if ((rc = start(ctl, &w, "policy_check")) != 0) {
			free(content);
			return rc;
		}
		ctl_jw_key(&w, "name", false);
		ctl_jw_str(&w, strcmp(path, "-") == 0 ? "<stdin>" : path,
			   strlen(strcmp(path, "-") == 0 ? "<stdin>" : path));
		ctl_jw_key(&w, "content", false);
		ctl_jw_str(&w, content ? content : "", len);
		free(content);
		rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
		if (rc != -1)
			return rc;
		fprintf(ctl->out, "%s: %lld polic%s, valid\n", path,
			(long long)json_integer_value(json_object_get(resp.obj, "policies")),
			json_integer_value(json_object_get(resp.obj, "policies")) == 1 ? "y" : "ies");
		ctl_resp_fini(&resp);
		return CTL_EXIT_OK;
	}
	return ctl_usage(ctl, argv[0], "expected: policy list | policy reload | policy check FILE");
}

/* probe TARGET [--type tcp|http|https|icmp]... */
int ctl_verb_probe(struct ctl *ctl, int argc, char **argv)
{
	struct isol_err err = {0};
	struct isol_target t;
	char target[ISOL_TARGET_STRLEN];
	const char *types[8];
	struct ctl_jw w;
	struct ctl_resp resp;
	int ntypes = 0, i, rc;
	const char *arg = NULL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--type") == 0 && i + 1 < argc && ntypes < 8) {
			const char *ty = argv[++i];

			if (strcmp(ty, "tcp") && strcmp(ty, "http") && strcmp(ty, "https") &&
			    strcmp(ty, "icmp"))
				return ctl_usage(ctl, argv[0], "bad --type '%s' (tcp, http, https, icmp)",
						 ty);
			types[ntypes++] = ty;
		} else if (argv[i][0] == '-') {
			return ctl_usage(ctl, argv[0], "unknown option '%s'", argv[i]);
		} else if (arg) {
			return ctl_usage(ctl, argv[0], "unexpected argument '%s'", argv[i]);
		} else {
			arg = argv[i];
		}
	}
	if (arg == NULL)
		return ctl_usage(ctl, argv[0], "probe needs a TARGET (e.g. 10.0.0.5:5672)");
	if (isol_target_parse(arg, &t, &err) < 0)
		return ctl_usage(ctl, argv[0], "%s", err.msg);
	isol_target_format(&t, target, sizeof(target));
	if ((rc = start(ctl, &w, "probe")) != 0)
		return rc;
	ctl_jw_key(&w, "target", false);
	ctl_jw_str(&w, target, strlen(target));
	if (ntypes) {
		ctl_jw_key(&w, "types", false);
		ctl_jw_lit(&w, "[");
		for (i = 0; i < ntypes; i++) {
			if (i)
				ctl_jw_lit(&w, ",");
			ctl_jw_str(&w, types[i], strlen(types[i]));
		}
		ctl_jw_lit(&w, "]");
	}
	rc = call(ctl, argv[0], &w, CTL_TIMEOUT_MS, &resp);
	if (rc != -1)
		return rc;
	fprintf(ctl->out, "%s (from this host, around isol's own rules)\n", target);
	{ /* line by line: control characters inside a line are not ours to print */
		const char *p = jstr(resp.obj, "text");

		while (*p) {
			size_t n = strcspn(p, "\n");
			char line[512];

			snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1), p);
			ctl_put_safe(ctl->out, line);
			fputc('\n', ctl->out);
			p += n + (p[n] == '\n');
		}
	}
	ctl_resp_fini(&resp);
	return CTL_EXIT_OK;
}
