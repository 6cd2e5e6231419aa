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
