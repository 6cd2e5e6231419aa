/* verbs.c - what each control request means: parse the JSON request, check
 * the peer's rights, call the shared agent operations, write one response. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "apply_parse.h"
#include "check.h"
#include "policy_parse.h"
#include "probe.h"
#include "supervise.h"
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

static const char *hosts_path = "/etc/hosts";

static const char *hosts_file_of(const struct isol_action *a)
{
	return hosts_path;
}

static void action_json(struct strbuf *out, const struct isol_action *a)
{
	action_write_json(out, a, hosts_file_of(a));
}

/* Actions a "brief" removal answer lists (its "count" says how many). */
#define BRIEF_MAX 20

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
	size_t max; /* list at most this many (0: all) */
};

static void change_line(const char *line, void *data)
{
	struct changes *c = data;

	if (c->max && c->n >= c->max) { /* brief: counted, not listed */
		c->n++;
		return;
	}
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

/* Apply @n actions (made by the caller, spec filled; ownership passes, see
 * agent_add_actions) and write the success answer into @out: the action for
 * a single verb, the count and ids for an apply (@source set). */
static int commit_actions(struct isol_agent *ag, struct agent_req *req, struct isol_action **acts,
			  size_t n, const size_t *lineno, const char *source, struct strbuf *out,
			  struct isol_err *err)
{
	struct changes ch = { NULL, 0, 0 };
	struct isol_spec first;
	struct strbuf tmp;
	size_t bad = n;
	int rc;

	if (source == NULL) /* one action, not shrunk yet: the dry run shows it */
		first = acts[0]->spec;
	strbuf_init(&tmp);
	ch.out = &tmp;
	req->change_fn = change_line;
	req->change_data = &ch;
	rc = agent_add_actions(ag, acts, n, req, &bad, err);
	if (rc < 0) {
		if (source && bad < n)
			isol_err_prefix(err, "%s:%zu: ", source, lineno[bad]);
		strbuf_fini(&tmp);
		return rc;
	}
	if (source) {
		strbuf_printf(out, "{\"ok\":true,%s\"count\":%zu,\"first_id\":%llu,\"last_id\":%llu",
			      req->dry_run ? "\"dry_run\":true," : "", n,
			      (unsigned long long)(req->dry_run ? 0 : ag->actions.next_id - n),
			      (unsigned long long)(req->dry_run ? 0 : ag->actions.next_id - 1));
		if (req->dry_run && n <= 1000) {
			strbuf_puts(out, ",\"changes\":[");
			strbuf_append(out, tmp.buf ? tmp.buf : "", tmp.len);
			strbuf_puts(out, "]");
		}
		strbuf_puts(out, "}\n");
	} else if (req->dry_run) {
		struct isol_action shown;

		memset(&shown, 0, sizeof(shown));
		shown.spec = first;
		shown.id = ag->actions.next_id;
		shown.created_ms = isol_now_ms();
		shown.expires_ms = first.ttl_ms ? shown.created_ms + first.ttl_ms : 0;
		snprintf(shown.origin, sizeof(shown.origin), "%s", req->origin);
		shown.actor = req->actor;
		strbuf_puts(out, "{\"ok\":true,\"dry_run\":true,\"action\":");
		action_json(out, &shown);
		strbuf_puts(out, ",\"changes\":[");
		strbuf_append(out, tmp.buf ? tmp.buf : "", tmp.len);
		strbuf_puts(out, "]}\n");
	} else {
		strbuf_puts(out, "{\"ok\":true,\"action\":");
		action_json(out, acts[0]);
		strbuf_puts(out, "}\n");
	}
	strbuf_fini(&tmp);
	return 0;
}

/* --- checks before a change: the backup answers, the pinned address answers */

#define CHECK_TIMEOUT_S 2.0

struct pending {
	struct isol_agent *ag;
	struct control_defer *defer;
	struct agent_req req;
	char ssh_peer[64];
	struct isol_action **acts; /* owned until committed */
	size_t *lineno, n;
	char source[128];
	bool apply;
	size_t left;
	int rc;
	struct isol_err err;
};

struct check_arg {
	struct pending *p;
	size_t idx; /* the action checked */
};

static void free_actions(struct isol_action **acts, size_t n)
{
	size_t i;

	for (i = 0; acts && i < n; i++)
		action_free(acts[i]);
	free(acts);
}

/* The port a spec's address must answer on before it is applied; false
 * when it needs no check. */
static bool check_of(const struct isol_spec *s, uint16_t *port)
{
	if (s->kind == ISOL_KIND_STEER && !s->no_check) {
		*port = s->to_port ? s->to_port : s->target.port_lo;
		return true;
	}
	if (s->kind == ISOL_KIND_PIN && s->check_port) {
		*port = s->check_port;
		return true;
	}
	return false;
}

static void pending_finish(struct pending *p)
{
	struct strbuf out;

	strbuf_init(&out);
	if (p->rc == 0) {
		isol_err_clear(&p->err);
		p->rc = commit_actions(p->ag, &p->req, p->acts, p->n, p->lineno,
				       p->apply ? p->source : NULL, &out, &p->err);
		free(p->acts); /* the actions are the set's now, or freed */
		p->acts = NULL;
	}
	if (p->rc < 0) {
		out.len = 0;
		reply_err(&out, p->rc, &p->err);
	}
	control_resume(p->defer, out.buf, out.len);
	strbuf_fini(&out);
	free_actions(p->acts, p->n);
	free(p->lineno);
	free(p);
}

static void check_done(void *data, int rc, double ms)
{
	struct check_arg *arg = data;
	struct pending *p = arg->p;
	const struct isol_spec *s = &p->acts[arg->idx]->spec;

	if (rc < 0 && p->rc == 0) {
		char to[ISOL_TARGET_STRLEN];
		uint16_t port = 0;

		isol_spec_to_format(s, to, sizeof(to));
		check_of(s, &port);
		p->rc = -EHOSTUNREACH;
		if (s->kind == ISOL_KIND_STEER)
			isol_err_set(&p->err, p->rc,
				     "backup %s (port %u) does not answer: %s (after %.1f ms); nothing "
				     "changed (--no-check steers anyway)",
				     to, port, strerror(-rc), ms);
		else
			isol_err_set(&p->err, p->rc,
				     "%s does not answer on port %u: %s (after %.1f ms); nothing "
				     "changed",
				     to, port, strerror(-rc), ms);
		if (p->apply)
			isol_err_prefix(&p->err, "%s:%zu: ", p->source, p->lineno[arg->idx]);
	}
	free(arg); /* the check freed itself before reporting */
	if (--p->left == 0)
		pending_finish(p);
}

/* Commit now, or after the checks some actions need (then 1: deferred).
 * Takes the actions (and @lineno) in every case. */
static int add_actions(struct request *r, struct isol_action **acts, size_t *lineno, size_t n,
		       const char *source, struct isol_err *err)
{
	struct pending *p = NULL;
	size_t i, need = 0;
	uint16_t port;
	int rc;

	for (i = 0; i < n; i++) {
		const struct isol_spec *sp = &acts[i]->spec;

		if (sp->kind == ISOL_KIND_STEER && !sp->no_check &&
		    !isol_target_has_port(&sp->target)) {
			isol_err_set(err, -EINVAL,
				     "steering a whole host cannot be checked on a port: give the "
				     "target a port, or add --no-check");
			if (source)
				isol_err_prefix(err, "%s:%zu: ", source, lineno[i]);
			rc = -EINVAL;
			goto out_free;
		}
		need += check_of(sp, &port);
	}
	if (need == 0) {
		rc = commit_actions(r->ag, &r->req, acts, n, lineno, source, r->out, err);
		free(acts);
		free(lineno);
		return rc;
	}

	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		rc = isol_err_set(err, -ENOMEM, "out of memory");
		goto out_free;
	}
	p->ag = r->ag;
	p->req = r->req;
	if (r->req.ssh_peer) {
		snprintf(p->ssh_peer, sizeof(p->ssh_peer), "%s", r->req.ssh_peer);
		p->req.ssh_peer = p->ssh_peer;
	}
	p->acts = acts;
	p->lineno = lineno;
	p->n = n;
	p->apply = source != NULL;
	snprintf(p->source, sizeof(p->source), "%s", source ? source : "");
	p->defer = control_defer(r->ag->control);
	if (p->defer == NULL) {
		free(p);
		rc = isol_err_set(err, -ENOMEM, "out of memory");
		goto out_free;
	}
	p->left = 1; /* held until every check has started */
	for (i = 0; i < n; i++) {
		const struct isol_spec *sp = &acts[i]->spec;
		struct check_arg *arg;

		if (!check_of(sp, &port))
			continue;
		arg = malloc(sizeof(*arg));
		if (arg == NULL) {
			p->rc = isol_err_set(&p->err, -ENOMEM, "out of memory");
			break;
		}
		arg->p = p;
		arg->idx = i;
		if (check_tcp(r->ag->loop, sp->to_family, sp->to_addr, port, r->ag->o.table.mark,
			      CHECK_TIMEOUT_S, check_done, arg) == NULL) {
			p->rc = isol_err_set(&p->err, -errno, "cannot start a check: %s",
					     strerror(errno));
			free(arg);
			break;
		}
		p->left++;
	}
	if (--p->left == 0) /* every check reported already, or none started */
		pending_finish(p);
	return 1;

out_free:
	free_actions(acts, n);
	free(lineno);
	return rc;
}

static int do_add(struct request *r, struct isol_err *err)
{
	struct isol_action **acts;
	int rc;

	if (req_common(r, err) < 0)
		return -EINVAL;
	acts = calloc(1, sizeof(*acts));
	if (acts == NULL || (acts[0] = action_new()) == NULL) {
		free(acts);
		return isol_err_set(err, -ENOMEM, "out of memory");
	}
	if (isol_spec_from_json(r->root, &acts[0]->spec, err) < 0) {
		free_actions(acts, 1);
		return -EINVAL;
	}
	if (strcmp(r->op, isol_kind_name(acts[0]->spec.kind)) != 0 &&
	    !(strcmp(r->op, "isolate") == 0 && json_object_get(r->root, "kind"))) {
		rc = isol_err_set(err, -EINVAL, "op '%s' with kind '%s'", r->op,
				  isol_kind_name(acts[0]->spec.kind));
		free_actions(acts, 1);
		return rc;
	}
	rc = add_actions(r, acts, NULL, 1, NULL, err);
	return rc > 0 ? 0 : rc;
}

/* Every line becomes an action at once: no second array of specs for an
 * apply of 100,000 lines. */
/* "lines", an array of strings: joined into the text apply_parse() reads
 * (with a byte of room after it). A string with a newline would be two
 * lines: refused. */
static char *lines_text(json_t *lines, const char *source, size_t *len, struct isol_err *err)
{
	size_t i, total = 0;
	char *text, *p;
	json_t *l;

	json_array_foreach(lines, i, l) {
		if (!json_is_string(l) || memchr(json_string_value(l), '\n', json_string_length(l))) {
			isol_err_set(err, -EINVAL, "%s:%zu: %s", source, i + 1,
				     json_is_string(l) ? "a line holds a newline" : "not a string");
			return NULL;
		}
		total += json_string_length(l) + 1;
	}
	p = text = malloc(total + 1);
	if (text == NULL) {
		isol_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	json_array_foreach(lines, i, l) {
		memcpy(p, json_string_value(l), json_string_length(l));
		p += json_string_length(l);
		*p++ = '\n';
	}
	*len = total;
	return text;
}

/* Every line of @text (@len bytes and a byte of room; freed here), all or
 * nothing: each bad line is reported (one in the message, several as its
 * details: the answer is written here, and 1 returned); then the actions go
 * to add_actions(). */
static int apply_run(struct request *r, char *text, size_t len, const char *source, bool force,
		     struct isol_err *err)
{
	struct apply_parsed p;
	int rc;

	rc = apply_parse(text, len, source, force, 2, &p);
	free(text);
	if (rc < 0)
		return isol_err_set(err, rc, "out of memory");
	if (p.bad > 1) {
		char msg[256];

		if (p.bad > APPLY_ERRORS_MAX)
			strbuf_printf(&p.details, ",\"... and %zu more\"", p.bad - APPLY_ERRORS_MAX);
		snprintf(msg, sizeof(msg), "%s: %zu bad lines; nothing was applied", source, p.bad);
		strbuf_printf(r->out, "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":",
			      ISOL_E_INVALID);
		strbuf_json_str(r->out, msg);
		strbuf_puts(r->out, ",\"details\":[");
		strbuf_append(r->out, p.details.buf, p.details.len);
		strbuf_puts(r->out, "]}}\n");
		apply_parsed_fini(&p);
		return 1;
	}
	if (p.bad == 1) {
		*err = p.first;
		apply_parsed_fini(&p);
		return -EINVAL;
	}
	if (p.n == 0) {
		apply_parsed_fini(&p);
		return isol_err_set(err, -EINVAL, "%s: no actions in it", source);
	}
	strbuf_fini(&p.details);
	r->req.origin = "apply";
	rc = add_actions(r, p.acts, p.lineno, p.n, source, err); /* takes them */
	return rc > 0 ? 0 : rc;
}

/* An apply whose lines follow its request (control_expect_payload). */
struct apply_wait {
	struct isol_agent *ag;
	struct agent_req req;
	char ssh_peer[64];
	char source[128];
	bool force;
};

static void apply_payload_cb(void *data, const struct control_peer *peer, char *bytes, size_t n,
			     struct strbuf *out)
{
	struct apply_wait *w = data;
	struct isol_err err = { 0, "" };
	struct request r;
	char *text;
	int rc;

	if (bytes == NULL) { /* the client went before sending them */
		free(w);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.ag = w->ag;
	r.peer = peer;
	r.out = out;
	r.req = w->req;
	r.op = "apply";
	hosts_path = r.ag->o.hosts_file;
	text = malloc(n + 1); /* its own copy, with the byte of room */
	if (text == NULL) {
		rc = isol_err_set(&err, -ENOMEM, "out of memory");
	} else {
		memcpy(text, bytes, n);
		rc = apply_run(&r, text, n, w->source, w->force, &err);
	}
	if (rc < 0) {
		if (rc != -EINVAL)
			log_info("apply refused: %s", err.msg);
		reply_err(out, rc, &err);
	}
	free(w);
}

static int do_apply(struct request *r, struct isol_err *err)
{
	json_t *jsrc = json_object_get(r->root, "source"), *jp = json_object_get(r->root, "payload");
	const char *source = json_is_string(jsrc) ? json_string_value(jsrc) : "apply";
	struct apply_wait *w;
	bool force = false;
	int rc;

	if (req_common(r, err) < 0 || get_bool(r->root, "force", &force, err) < 0)
		return -EINVAL;
	if (jp == NULL) {
		json_t *lines = json_object_get(r->root, "lines");
		json_t *jtext = json_object_get(r->root, "text");
		char *text = NULL;
		size_t len = 0;

		if (json_is_string(jtext) && lines == NULL) {
			len = json_string_length(jtext);
			text = malloc(len + 1);
			if (text == NULL)
				return isol_err_set(err, -ENOMEM, "out of memory");
			memcpy(text, json_string_value(jtext), len);
		} else if (json_is_array(lines) && jtext == NULL) {
			text = lines_text(lines, source, &len, err);
			if (text == NULL)
				return err->code;
		} else {
			return isol_err_set(err, -EINVAL,
					    "an apply request needs one of 'payload' (the length of "
					    "the lines that follow the request), 'text' (a string of "
					    "lines) or 'lines' (an array of strings)");
		}
		return apply_run(r, text, len, source, force, err);
	}
	if (!json_is_integer(jp) || json_integer_value(jp) < 0)
		return isol_err_set(err, -EINVAL, "field 'payload' must be a byte count");
	if (json_object_get(r->root, "text") || json_object_get(r->root, "lines"))
		return isol_err_set(err, -EINVAL,
				    "an apply request carries its lines one way: 'payload', 'text' "
				    "or 'lines'");
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	w->ag = r->ag;
	w->req = r->req;
	if (r->req.ssh_peer) {
		snprintf(w->ssh_peer, sizeof(w->ssh_peer), "%s", r->req.ssh_peer);
		w->req.ssh_peer = w->ssh_peer;
	}
	snprintf(w->source, sizeof(w->source), "%s", source);
	w->force = force;
	rc = control_expect_payload(r->ag->control, (size_t)json_integer_value(jp),
				    apply_payload_cb, w);
	if (rc < 0) {
		free(w);
		return isol_err_set(err, -EINVAL,
				    "a payload of %lld bytes: over the agent's request limit of %u MiB",
				    (long long)json_integer_value(jp), ISOL_WIRE_MAX_LINE >> 20);
	}
	return 1; /* answered once the lines are in */
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
	struct changes ch = { NULL, 0, 0 };
	struct strbuf tmp;
	bool brief = false;
	size_t i;
	int rc;

	if (get_bool(r->root, "brief", &brief, err) < 0)
		return -EINVAL; /* nothing removed yet */
	strbuf_init(&tmp);
	ch.out = &tmp;
	ch.max = brief ? 2 * BRIEF_MAX : 0;
	r->req.change_fn = change_line;
	r->req.change_data = &ch;
	rc = agent_remove(r->ag, acts, n, why, &r->req, err);
	if (rc < 0) {
		strbuf_fini(&tmp);
		return rc;
	}
	strbuf_printf(r->out, "{\"ok\":true,%s\"removed\":", r->req.dry_run ? "\"dry_run\":true," : "");
	/* "brief": the first few (a person's terminal), and how many */
	actions_array(r->out, acts, brief && n > BRIEF_MAX ? BRIEF_MAX : n);
	strbuf_puts(r->out, ",\"count\":");
	strbuf_put_u64(r->out, n);
	if (r->req.dry_run) {
		strbuf_puts(r->out, ",\"changes\":[");
		strbuf_append(r->out, tmp.buf ? tmp.buf : "", tmp.len);
		strbuf_puts(r->out, "],\"changes_count\":");
		strbuf_put_u64(r->out, ch.n);
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
	bool is_target;
	size_t n = 0;
	int rc;

	if (req_common(r, err) < 0)
		return -EINVAL;
	if (jt == NULL) {
		if ((a = find_id(r, err)) == NULL)
			return err->code;
		return remove_and_reply(r, &a, 1, "restore", err);
	}
	if (!json_is_string(jt))
		return isol_err_set(err, -EINVAL, "field 'target' must be a target or a hostname");
	is_target = isol_target_parse(json_string_value(jt), &t, NULL) == 0;
	acts = calloc(r->ag->actions.count ? r->ag->actions.count : 1, sizeof(*acts));
	if (acts == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	for (a = r->ag->actions.head; a; a = a->next) {
		if (a->spec.kind == ISOL_KIND_PIN ? strcasecmp(a->spec.host, json_string_value(jt)) == 0
						  : is_target && isol_target_equal(&a->spec.target, &t))
			acts[n++] = a;
	}
	if (n == 0)
		rc = isol_err_set(err, -ENOENT, "no active action for %s", json_string_value(jt));
	else
		rc = remove_and_reply(r, acts, n, "restore", err);
	free(acts);
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
	strbuf_printf(r->out, ",\"events_seq\":%llu,\"watchers\":%zu,\"notify_pending\":%zu}\n",
		      (unsigned long long)events_last_seq(r->ag->events),
		      control_watchers(r->ag->control), events_notify_pending(r->ag->events));
	return 0;
}

static int do_version(struct request *r, struct isol_err *err)
{
	strbuf_printf(r->out, "{\"ok\":true,\"version\":\"%s\",\"protocol\":%d}\n", ISOL_VERSION,
		      ISOL_WIRE_VERSION);
	return 0;
}

/* --- automatic actions: health, pause, policies, probe -------------------- */

static int no_policies(struct isol_err *err)
{
	return isol_err_set(err, -ENOENT, "the agent runs no policies");
}

static int do_health(struct request *r, struct isol_err *err)
{
	if (r->ag->sv == NULL)
		return no_policies(err);
	strbuf_printf(r->out, "{\"ok\":true,\"paused\":%s,\"targets\":",
		      supervise_paused(r->ag->sv) ? "true" : "false");
	supervise_health_json(r->ag->sv, r->out);
	strbuf_puts(r->out, "}\n");
	return 0;
}

static int do_pause(struct request *r, struct isol_err *err)
{
	bool pause = strcmp(r->op, "pause") == 0;

	if (r->ag->sv == NULL)
		return no_policies(err);
	supervise_pause(r->ag->sv, pause);
	log_warn("automatic actions %s (uid %u)", pause ? "paused" : "resumed", r->peer->uid);
	events_emit(r->ag->events, pause ? EVENT_PAUSED : EVENT_RESUMED,
		    json_pack("{s:o}", "actor", agent_actor_json(&r->req.actor)),
		    pause ? "automatic actions paused by %s: probing goes on, nothing is applied"
			  : "automatic actions resumed by %s",
		    r->peer->user[0] ? r->peer->user : "a user");
	strbuf_printf(r->out, "{\"ok\":true,\"paused\":%s}\n", pause ? "true" : "false");
	return 0;
}

static void policy_errors_reply(struct strbuf *out, const char *msg,
				const struct policy_errors *errs)
{
	size_t i;

	strbuf_printf(out, "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":", ISOL_E_INVALID);
	strbuf_json_str(out, msg);
	strbuf_puts(out, ",\"details\":[");
	for (i = 0; i < errs->n; i++) {
		strbuf_puts(out, i ? "," : "");
		strbuf_json_str(out, errs->v[i].text);
	}
	strbuf_puts(out, "]}}\n");
}

static int do_policy_list(struct request *r, struct isol_err *err)
{
	if (r->ag->sv == NULL)
		return no_policies(err);
	strbuf_puts(r->out, "{\"ok\":true,\"policies\":");
	supervise_policies_json(r->ag->sv, r->out);
	strbuf_puts(r->out, "}\n");
	return 0;
}

static int do_policy_reload(struct request *r, struct isol_err *err)
{
	struct policy_errors errs;
	int rc;

	if (r->ag->sv == NULL)
		return no_policies(err);
	policy_errors_init(&errs);
	rc = supervise_reload(r->ag->sv, &errs, err);
	if (rc < 0 && errs.n) {
		policy_errors_reply(r->out, err->msg, &errs);
		rc = 0;
	} else if (rc == 0) {
		strbuf_printf(r->out, "{\"ok\":true,\"policies\":%zu}\n",
			      supervise_policy_count(r->ag->sv));
	}
	policy_errors_fini(&errs);
	return rc;
}

/* Validate a file's content sent by isolctl (read with the user's rights). */
static int do_policy_check(struct request *r, struct isol_err *err)
{
	json_t *jn = json_object_get(r->root, "name"), *jc = json_object_get(r->root, "content");
	struct policy_set *set = NULL;
	struct policy_errors errs;
	int rc;

	if (!json_is_string(jn) || !json_is_string(jc))
		return isol_err_set(err, -EINVAL, "policy_check needs 'name' and 'content' strings");
	policy_errors_init(&errs);
	rc = policy_set_load_buf(json_string_value(jn), json_string_value(jc),
				 json_string_length(jc), &set, &errs);
	if (rc == 0) {
		strbuf_printf(r->out, "{\"ok\":true,\"policies\":%zu}\n", policy_set_count(set));
	} else {
		char msg[128];

		snprintf(msg, sizeof(msg), "%zu error%s", errs.total, errs.total == 1 ? "" : "s");
		policy_errors_reply(r->out, msg, &errs);
	}
	policy_set_free(set);
	policy_errors_fini(&errs);
	return 0;
}

struct diag_ctx {
	struct control_defer *defer;
	char target[ISOL_TARGET_STRLEN];
};

static void diag_done(const struct probe_diag *d, void *data)
{
	struct diag_ctx *ctx = data;
	struct strbuf out, text;
	size_t i, k = 0;

	strbuf_init(&out);
	strbuf_init(&text);
	probe_diag_format(d, &text);
	strbuf_puts(&out, "{\"ok\":true,\"target\":");
	strbuf_json_str(&out, ctx->target);
	strbuf_puts(&out, ",\"results\":[");
	for (i = 0; i < __PROBE_TYPE_MAX; i++) {
		if (!(d->ran & (1u << i)))
			continue;
		strbuf_puts(&out, k++ ? "," : "");
		probe_result_json((enum probe_type)i, &d->res[i], &out);
	}
	strbuf_puts(&out, "],\"text\":");
	strbuf_json_str(&out, text.buf ? text.buf : "");
	strbuf_puts(&out, "}\n");
	control_resume(ctx->defer, out.buf, out.len);
	strbuf_fini(&out);
	strbuf_fini(&text);
	free(ctx);
}

/* isolctl probe TARGET: ping, port, http status, timings, from this host and
 * around isol's own rules. The answer comes when the probes are in. */
static int do_probe(struct request *r, struct isol_err *err)
{
	json_t *jt = json_object_get(r->root, "target"), *jtypes = json_object_get(r->root, "types");
	struct prober *pr = supervise_prober(r->ag->sv);
	struct isol_target t;
	struct probe_opts o;
	struct diag_ctx *ctx;
	unsigned types = 0;

	if (!json_is_string(jt))
		return isol_err_set(err, -EINVAL, "probe needs a 'target'");
	if (isol_target_parse(json_string_value(jt), &t, err) < 0)
		return -EINVAL;
	if (!isol_target_is_host(&t) || t.port_lo != t.port_hi)
		return isol_err_set(err, -EINVAL, "probe one address, with at most one port");
	if (jtypes && json_is_array(jtypes)) {
		size_t i;
		json_t *v;

		json_array_foreach(jtypes, i, v) {
			enum probe_type ty;

			if (!json_is_string(v) || probe_type_parse(json_string_value(v), &ty) < 0)
				return isol_err_set(err, -EINVAL,
						    "probe types are tcp, http, https, icmp");
			types |= 1u << ty;
		}
	}
	if (pr == NULL)
		return isol_err_set(err, -ENOENT, "the agent has no prober");
	memset(&o, 0, sizeof(o));
	o.family = t.family;
	memcpy(o.addr, t.addr, sizeof(o.addr));
	o.port = isol_target_has_port(&t) ? t.port_lo : 0;
	o.timeout_ms = 2000;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	isol_target_format(&t, ctx->target, sizeof(ctx->target));
	ctx->defer = control_defer(r->ag->control);
	if (ctx->defer == NULL) {
		free(ctx);
		return isol_err_set(err, -ENOMEM, "out of memory");
	}
	if (probe_diagnose(pr, &o, types, diag_done, ctx, err) == NULL) {
		struct strbuf out;

		strbuf_init(&out);
		reply_err(&out, err->code ? err->code : -EINVAL, err);
		control_resume(ctx->defer, out.buf, out.len);
		strbuf_fini(&out);
		free(ctx);
	}
	return 0;
}

/* --- events: watch, report ----------------------------------------------- */

static void backlog_line(const char *line, size_t len, void *data)
{
	strbuf_append(data, line, len);
}

/* The answer, then the last `backlog` events (or those after `after`), then
 * every new event as it happens, one JSON object per line. */
static int do_watch(struct request *r, struct isol_err *err)
{
	json_t *jb = json_object_get(r->root, "backlog"), *ja = json_object_get(r->root, "after");
	json_int_t backlog = 0;
	uint64_t after = 0;

	if (jb && (!json_is_integer(jb) || json_integer_value(jb) < 0))
		return isol_err_set(err, -EINVAL, "'backlog' must be a count of events");
	if (ja && (!json_is_integer(ja) || json_integer_value(ja) < 0))
		return isol_err_set(err, -EINVAL, "'after' must be an event seq");
	if (jb)
		backlog = json_integer_value(jb) > EVENTS_RING ? EVENTS_RING : json_integer_value(jb);
	if (ja) {
		after = (uint64_t)json_integer_value(ja);
		if (!jb)
			backlog = EVENTS_RING;
	}
	if (control_watch(r->ag->control) < 0)
		return isol_err_set(err, -EINVAL, "watch needs a control connection");
	strbuf_printf(r->out, "{\"ok\":true,\"watching\":true,\"seq\":%llu}\n",
		      (unsigned long long)events_last_seq(r->ag->events));
	events_backlog(r->ag->events, after, (size_t)backlog, backlog_line, r->out);
	return 0;
}

#define REPORT_MAX_EVENTS 20000

/* The events since `since_ms` (wall clock, ms), from the events files. */
static int do_report(struct request *r, struct isol_err *err)
{
	json_t *js = json_object_get(r->root, "since_ms"), *jm = json_object_get(r->root, "max");
	json_int_t max = REPORT_MAX_EVENTS;
	bool truncated;
	size_t bad;
	json_t *evs;
	char *dump;

	if (!json_is_integer(js) || json_integer_value(js) < 0)
		return isol_err_set(err, -EINVAL, "report needs 'since_ms' (ms since the epoch)");
	if (jm && (!json_is_integer(jm) || json_integer_value(jm) < 1))
		return isol_err_set(err, -EINVAL, "'max' must be a positive count");
	if (jm && json_integer_value(jm) < max)
		max = json_integer_value(jm);
	evs = events_read_since(r->ag->events, (uint64_t)json_integer_value(js), (size_t)max,
				&truncated, &bad, err);
	if (evs == NULL)
		return err->code ? err->code : -EIO;
	dump = json_dumps(evs, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(evs);
	if (dump == NULL)
		return isol_err_set(err, -ENOMEM, "out of memory");
	strbuf_printf(r->out,
		      "{\"ok\":true,\"since_ms\":%lld,\"now_ms\":%llu,\"truncated\":%s,"
		      "\"bad_lines\":%zu,\"events\":",
		      (long long)json_integer_value(js), (unsigned long long)isol_now_ms(),
		      truncated ? "true" : "false", bad);
	strbuf_puts(r->out, dump);
	strbuf_puts(r->out, "}\n");
	free(dump);
	return 0;
}

static const struct verb {
	const char *op;
	bool mutates;
	int (*fn)(struct request *r, struct isol_err *err);
} verbs[] = {
	{ "isolate", true, do_add },     { "steer", true, do_add },
	{ "pin", true, do_add },         { "route", true, do_add },
	{ "list", false, do_list },
	{ "show", false, do_show },      { "restore", true, do_restore },
	{ "rollback", true, do_rollback }, { "apply", true, do_apply },
	{ "status", false, do_status },  { "version", false, do_version },
	{ "health", false, do_health },  { "pause", true, do_pause },
	{ "resume", true, do_pause },    { "policy_list", false, do_policy_list },
	{ "policy_reload", true, do_policy_reload }, { "policy_check", false, do_policy_check },
	{ "probe", false, do_probe },	 { "watch", false, do_watch },
	{ "report", false, do_report },
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
	hosts_path = r.ag->o.hosts_file;
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
