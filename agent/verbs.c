/* verbs.c - what each control request means: parse the JSON request, check
 * the peer's rights, call the shared agent operations, write one response. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "isol/duration.h"
#include "isol/wire.h"
#include "log.h"
#include "verbs.h"

/* --- response helpers ------------------------------------------------------- */

static void reply_error(struct strbuf *out, const char *code, const char *msg)
{
	strbuf_printf(out, "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":", code);
	strbuf_json_str(out, msg);
	strbuf_puts(out, "}}\n");
}

static const char *code_for(int rc)
{
	switch (rc) {
	case -EINVAL:
		return ISOL_E_INVALID;
	case -EACCES:
		return ISOL_E_PROTECTED;
	case -EPERM:
		return ISOL_E_DENIED;
	case -ENOENT:
		return ISOL_E_NOT_FOUND;
	case -EEXIST:
		return ISOL_E_EXISTS;
	case -ENOMEM:
	case -EIO:
		return ISOL_E_INTERNAL;
	}
	return ISOL_E_KERNEL;
}

static void reply_err(struct strbuf *out, int rc, const struct isol_err *err)
{
	reply_error(out, code_for(rc), err->msg[0] ? err->msg : strerror(-rc));
}

/* One action as a JSON object (docs/PROTOCOL.md), written directly: list of
 * 100,000 actions must not build 100,000 jansson trees. */
static void action_json(struct strbuf *out, const struct isol_action *a)
{
	char target[ISOL_TARGET_STRLEN], dirs[32];

	isol_target_format(&a->spec.target, target, sizeof(target));
	isol_dirs_format(a->spec.dirs, dirs, sizeof(dirs));
	strbuf_printf(out,
		      "{\"id\":%llu,\"kind\":\"%s\",\"target\":\"%s\",\"direction\":\"%s\","
		      "\"mode\":\"%s\",\"created_ms\":%llu,\"expires_ms\":%llu,\"ttl_ms\":%llu,"
		      "\"force\":%s,\"origin\":",
		      (unsigned long long)a->id, isol_kind_name(a->spec.kind), target, dirs,
		      isol_mode_name(a->spec.mode), (unsigned long long)a->created_ms,
		      (unsigned long long)a->expires_ms, (unsigned long long)a->spec.ttl_ms,
		      a->spec.force ? "true" : "false");
	strbuf_json_str(out, a->origin);
	strbuf_puts(out, ",\"reason\":");
	strbuf_json_str(out, a->spec.reason);
	strbuf_printf(out, ",\"actor\":{\"uid\":%u,\"pid\":%d,\"comm\":", a->actor.uid,
		      a->actor.pid);
	strbuf_json_str(out, a->actor.comm);
	if (a->actor.user[0]) {
		strbuf_puts(out, ",\"user\":");
		strbuf_json_str(out, a->actor.user);
	}
	strbuf_printf(out, "},\"packets\":%llu,\"bytes\":%llu}", (unsigned long long)a->packets,
		      (unsigned long long)a->bytes);
}

static void actions_array(struct strbuf *out, struct isol_action **acts, size_t n)
{
	size_t i;

	strbuf_puts(out, "[");
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_puts(out, ",");
		action_json(out, acts[i]);
	}
	strbuf_puts(out, "]");
}

struct changes {
	struct strbuf *out;
	size_t n;
};

static void change_line(const char *line, void *data)
{
	struct changes *c = data;

	strbuf_puts(c->out, c->n++ ? "," : "");
	strbuf_json_str(c->out, line);
}

/* --- request helpers -------------------------------------------------------- */

struct request {
	struct isol_agent *ag;
	const struct control_peer *peer;
	json_t *root;
	struct strbuf *out;
	struct agent_req req;
	const char *op;
};

static int get_bool(json_t *root, const char *key, bool *v, struct isol_err *err)
{
	json_t *j = json_object_get(root, key);

	if (j == NULL)
		return 0;
	if (!json_is_boolean(j))
		return isol_err_set(err, -EINVAL, "field '%s' must be true or false", key);
	*v = json_is_true(j);
	return 0;
}

static int req_common(struct request *r, struct isol_err *err)
{
	json_t *j = json_object_get(r->root, "ssh_peer");

	if (get_bool(r->root, "dry_run", &r->req.dry_run, err) < 0)
		return -EINVAL;
	if (j && !json_is_string(j))
		return isol_err_set(err, -EINVAL, "field 'ssh_peer' must be a string");
	r->req.ssh_peer = j ? json_string_value(j) : NULL;
	return 0;
}

/* The actions a request names by id: NULL with an error if none. */
static struct isol_action *find_id(struct request *r, struct isol_err *err)
{
	json_t *j = json_object_get(r->root, "id");
	struct isol_action *a;

	if (!json_is_integer(j) || json_integer_value(j) <= 0) {
		isol_err_set(err, -EINVAL, "field 'id' must be a positive integer");
		return NULL;
	}
	a = actions_find(&r->ag->actions, (uint64_t)json_integer_value(j));
	if (a == NULL)
		isol_err_set(err, -ENOENT, "no active action with id %lld",
			     (long long)json_integer_value(j));
	return a;
}

/* --- verbs ---------------------------------------------------------------- */

static int do_isolate(struct request *r, struct isol_err *err)
{
	struct changes ch = { r->out, 0 };
	struct isol_action *a = NULL;
	struct isol_spec spec;
	struct strbuf tmp;
	int rc;

	if (req_common(r, err) < 0 || isol_spec_from_json(r->root, &spec, err) < 0)
		return -EINVAL;
	strbuf_init(&tmp);
	ch.out = &tmp;
	r->req.change_fn = change_line;
	r->req.change_data = &ch;
	rc = agent_add(r->ag, &spec, 1, &r->req, &a, NULL, err);
	if (rc < 0) {
		strbuf_fini(&tmp);
		return rc;
	}
	if (r->req.dry_run) {
		struct isol_action shown = { 0 };

		shown.spec = spec;
		shown.id = r->ag->actions.next_id;
		shown.created_ms = isol_now_ms();
		shown.expires_ms = spec.ttl_ms ? shown.created_ms + spec.ttl_ms : 0;
		snprintf(shown.origin, sizeof(shown.origin), "%s", r->req.origin);
		shown.actor = r->req.actor;
		strbuf_puts(r->out, "{\"ok\":true,\"dry_run\":true,\"action\":");
		action_json(r->out, &shown);
		strbuf_puts(r->out, ",\"changes\":[");
		strbuf_append(r->out, tmp.buf ? tmp.buf : "", tmp.len);
		strbuf_puts(r->out, "]}\n");
	} else {
		strbuf_puts(r->out, "{\"ok\":true,\"action\":");
		action_json(r->out, a);
		strbuf_puts(r->out, "}\n");
	}
	strbuf_fini(&tmp);
	return 0;
}

static int do_list(struct request *r, struct isol_err *err)
{
	struct isol_err cerr = { 0, "" };
	struct isol_action *a;
	size_t i = 0;

	if (reconcile_counters(&r->ag->rec, &r->ag->actions, &cerr) < 0)
		log_warn("list: %s", cerr.msg);
	strbuf_printf(r->out, "{\"ok\":true,\"now_ms\":%llu,\"actions\":[",
		      (unsigned long long)isol_now_ms());
	for (a = r->ag->actions.head; a; a = a->next) {
		if (i++)
			strbuf_puts(r->out, ",");
		action_json(r->out, a);
	}
	strbuf_puts(r->out, "]}\n");
	return 0;
}

static int do_show(struct request *r, struct isol_err *err)
{
	struct isol_err cerr = { 0, "" };
	struct isol_action *a = find_id(r, err);

	if (a == NULL)
		return err->code;
	reconcile_counters(&r->ag->rec, &r->ag->actions, &cerr);
	strbuf_printf(r->out, "{\"ok\":true,\"now_ms\":%llu,\"action\":",
		      (unsigned long long)isol_now_ms());
	action_json(r->out, a);
	strbuf_puts(r->out, "}\n");
	return 0;
}

/* Remove @acts, answer with them, free them. */
static int remove_and_reply(struct request *r, struct isol_action **acts, size_t n,
			    const char *why, struct isol_err *err)
{
	struct changes ch = { NULL, 0 };
	struct strbuf tmp;
	size_t i;
	int rc;

	strbuf_init(&tmp);
	ch.out = &tmp;
	r->req.change_fn = change_line;
	r->req.change_data = &ch;
	rc = agent_remove(r->ag, acts, n, why, &r->req, err);
	if (rc < 0) {
		strbuf_fini(&tmp);
		return rc;
	}
	strbuf_printf(r->out, "{\"ok\":true,%s\"removed\":", r->req.dry_run ? "\"dry_run\":true," : "");
	actions_array(r->out, acts, n);
	if (r->req.dry_run) {
		strbuf_puts(r->out, ",\"changes\":[");
		strbuf_append(r->out, tmp.buf ? tmp.buf : "", tmp.len);
		strbuf_puts(r->out, "]");
	}
	strbuf_puts(r->out, "}\n");
	strbuf_fini(&tmp);
	if (!r->req.dry_run)
		for (i = 0; i < n; i++)
			action_free(acts[i]);
	return 0;
}

static int do_rollback(struct request *r, struct isol_err *err)
{
	bool last = false, all = false;
	struct isol_action **acts, *a;
	size_t n = 0;
	int rc;

	if (req_common(r, err) < 0 || get_bool(r->root, "last", &last, err) < 0 ||
	    get_bool(r->root, "all", &all, err) < 0)
		return -EINVAL;
	if ((int)last + (int)all + (json_object_get(r->root, "id") != NULL) != 1)
		return isol_err_set(err, -EINVAL, "rollback needs exactly one of id, last, all");
	if (r->ag->actions.count == 0 && !json_object_get(r->root, "id"))
		return isol_err_set(err, -ENOENT, "no active actions to roll back");
	acts = calloc(r->ag->actions.count ? r->ag->actions.count : 1, sizeof(*acts));
	if (acts == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	if (all) {
		for (a = r->ag->actions.head; a; a = a->next)
			acts[n++] = a;
	} else if (last) {
		acts[n++] = r->ag->actions.tail;
	} else if ((a = find_id(r, err)) != NULL) {
		acts[n++] = a;
	}
	rc = n ? remove_and_reply(r, acts, n, "rollback", err) : err->code;
	free(acts);
	return rc;
}

static int do_restore(struct request *r, struct isol_err *err)
{
	json_t *jt = json_object_get(r->root, "target");
	struct isol_action **acts, *a;
	struct isol_target t;
	size_t n = 0;
	int rc;

	if (req_common(r, err) < 0)
		return -EINVAL;
	if (jt == NULL) {
		if ((a = find_id(r, err)) == NULL)
			return err->code;
		return remove_and_reply(r, &a, 1, "restore", err);
	}
	if (!json_is_string(jt) || isol_target_parse(json_string_value(jt), &t, err) < 0)
		return isol_err_set(err, -EINVAL, "field 'target' must be a target");
	acts = calloc(r->ag->actions.count ? r->ag->actions.count : 1, sizeof(*acts));
	if (acts == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	for (a = r->ag->actions.head; a; a = a->next)
		if (isol_target_equal(&a->spec.target, &t))
			acts[n++] = a;
	if (n == 0)
		rc = isol_err_set(err, -ENOENT, "no active action for %s", json_string_value(jt));
	else
		rc = remove_and_reply(r, acts, n, "restore", err);
	free(acts);
	return rc;
}

static int do_apply(struct request *r, struct isol_err *err)
{
	json_t *lines = json_object_get(r->root, "lines"), *jsrc = json_object_get(r->root, "source");
	const char *source = json_is_string(jsrc) ? json_string_value(jsrc) : "apply";
	struct isol_spec *specs;
	size_t *lineno, i, n = 0, bad = 0;
	bool force = false;
	int rc = 0;

	if (req_common(r, err) < 0 || get_bool(r->root, "force", &force, err) < 0)
		return -EINVAL;
	if (!json_is_array(lines))
		return isol_err_set(err, -EINVAL, "field 'lines' must be an array of strings");
	specs = malloc((json_array_size(lines) + 1) * sizeof(*specs));
	lineno = malloc((json_array_size(lines) + 1) * sizeof(*lineno));
	if (specs == NULL || lineno == NULL) {
		rc = isol_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i);

		if (!json_is_string(l)) {
			rc = isol_err_set(err, -EINVAL, "%s:%zu: not a string", source, i + 1);
			goto out;
		}
		rc = isol_spec_parse_line(json_string_value(l), &specs[n], err);
		if (rc < 0) {
			isol_err_prefix(err, "%s:%zu: ", source, i + 1);
			goto out;
		}
		if (rc == 1) {
			rc = 0;
			continue;
		}
		specs[n].force |= force;
		lineno[n++] = i + 1;
	}
	if (n == 0) {
		rc = isol_err_set(err, -EINVAL, "%s: no actions in it", source);
		goto out;
	}
	r->req.origin = "apply";
	rc = agent_add(r->ag, specs, n, &r->req, NULL, &bad, err);
	if (rc < 0) {
		if (bad < n && (rc == -EACCES || rc == -EEXIST))
			isol_err_prefix(err, "%s:%zu: ", source, lineno[bad]);
		goto out;
	}
	strbuf_printf(r->out, "{\"ok\":true,%s\"count\":%zu,\"first_id\":%llu,\"last_id\":%llu}\n",
		      r->req.dry_run ? "\"dry_run\":true," : "", n,
		      (unsigned long long)(r->req.dry_run ? 0 : r->ag->actions.next_id - n),
		      (unsigned long long)(r->req.dry_run ? 0 : r->ag->actions.next_id - 1));
out:
	free(specs);
	free(lineno);
	return rc;
}

static int do_status(struct request *r, struct isol_err *err)
{
	uint64_t now = isol_now_ms();

	strbuf_printf(r->out,
		      "{\"ok\":true,\"version\":\"%s\",\"protocol\":%d,\"pid\":%d,"
		      "\"uptime_ms\":%llu,\"actions\":%zu,\"next_id\":%llu,"
		      "\"table\":\"inet %s\",\"owner\":%s,\"persist\":%s,\"rebuilds\":%llu,"
		      "\"journal_bytes\":%llu,\"clients\":%zu,\"batch_us_p50\":%u,"
		      "\"batch_us_p99\":%u,\"batch_us_last\":%u,\"state_dir\":",
		      ISOL_VERSION, ISOL_WIRE_VERSION, (int)getpid(),
		      (unsigned long long)(now - r->ag->started_ms), r->ag->actions.count,
		      (unsigned long long)r->ag->actions.next_id, r->ag->o.table.table,
		      r->ag->rec.opts.owner ? "true" : "false",
		      r->ag->rec.opts.persist ? "true" : "false",
		      (unsigned long long)r->ag->rebuilds,
		      (unsigned long long)journal_size(r->ag->journal),
		      control_clients(r->ag->control), reconcile_batch_us(&r->ag->rec, 50),
		      reconcile_batch_us(&r->ag->rec, 99), reconcile_batch_us(&r->ag->rec, 0));
	strbuf_json_str(r->out, r->ag->o.state_dir);
	strbuf_puts(r->out, ",\"socket\":");
	strbuf_json_str(r->out, r->ag->o.socket_path);
	strbuf_puts(r->out, "}\n");
	return 0;
}

static int do_version(struct request *r, struct isol_err *err)
{
	strbuf_printf(r->out, "{\"ok\":true,\"version\":\"%s\",\"protocol\":%d}\n", ISOL_VERSION,
		      ISOL_WIRE_VERSION);
	return 0;
}

static const struct verb {
	const char *op;
	bool mutates;
	int (*fn)(struct request *r, struct isol_err *err);
} verbs[] = {
	{ "isolate", true, do_isolate }, { "list", false, do_list },
	{ "show", false, do_show },      { "restore", true, do_restore },
	{ "rollback", true, do_rollback }, { "apply", true, do_apply },
	{ "status", false, do_status },  { "version", false, do_version },
};

void verbs_handle(void *ctx, const struct control_peer *peer, char *line, size_t len,
		  struct strbuf *out)
{
	struct isol_err err = { 0, "" };
	struct request r;
	json_error_t jerr;
	const struct verb *v = NULL;
	json_t *jv, *jop;
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	r.ag = ctx;
	r.peer = peer;
	r.out = out;
	r.req.origin = "cli";
	r.req.actor.uid = peer->uid;
	r.req.actor.pid = peer->pid;
	snprintf(r.req.actor.comm, sizeof(r.req.actor.comm), "%s", peer->comm);
	snprintf(r.req.actor.user, sizeof(r.req.actor.user), "%s", peer->user);

	r.root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r.root == NULL || !json_is_object(r.root)) {
		char msg[256];

		snprintf(msg, sizeof(msg), "malformed request: %s",
			 r.root ? "not a JSON object" : jerr.text);
		reply_error(out, ISOL_E_INVALID, msg);
		goto out;
	}
	jv = json_object_get(r.root, "v");
	if (!json_is_integer(jv) || json_integer_value(jv) != ISOL_WIRE_VERSION) {
		reply_error(out, ISOL_E_INVALID, "unsupported protocol version (expected \"v\":1)");
		goto out;
	}
	jop = json_object_get(r.root, "op");
	r.op = json_is_string(jop) ? json_string_value(jop) : "";
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].op, r.op) == 0)
			v = &verbs[i];
	if (v == NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "unknown op '%.40s'", r.op);
		reply_error(out, ISOL_E_INVALID, msg);
		goto out;
	}
	if (v->mutates ? !peer->can_write : !peer->can_read) {
		char msg[160];

		snprintf(msg, sizeof(msg), "uid %u may not %s (root or the admin group only%s)",
			 peer->uid, v->op, v->mutates ? "" : ", or the read group");
		log_warn("refused %s from uid %u pid %d (%s)", v->op, peer->uid, peer->pid,
			 peer->comm);
		agent_refused(r.ag, v->op, msg, &r.req.actor);
		reply_error(out, ISOL_E_DENIED, msg);
		goto out;
	}
	rc = v->fn(&r, &err);
	if (rc < 0) {
		if (v->mutates && rc != -EINVAL)
			log_info("%s refused: %s", v->op, err.msg);
		reply_err(out, rc, &err);
	}
out:
	json_decref(r.root);
}
